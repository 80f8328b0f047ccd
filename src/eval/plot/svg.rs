//! A small SVG writer for the evaluation plots.

use std::fmt::Write as _;

/// The font the plots name; the PNG renderer loads it from the repository's copy.
pub const FONT_FAMILY: &str = "DejaVu Sans";

/// Colours of successive runs, distinguishable in print and by most colour-blind readers
/// (the Tableau 10 palette).
pub const RUN_COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
];

/// Dash patterns of successive runs, so that curves that coincide all stay visible.
pub const RUN_DASHES: [Option<&str>; 4] = [None, Some("9 5"), Some("2 4"), Some("12 4 2 4")];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

/// An SVG document being written.
pub struct Svg {
    width: f64,
    height: f64,
    body: String,
}

impl Svg {
    pub fn new(width: f64, height: f64) -> Self {
        let mut svg = Svg {
            width,
            height,
            body: String::new(),
        };
        svg.rect(0.0, 0.0, width, height, "#ffffff", None, 1.0);
        svg
    }

    /// Defines a rectangular clipping region that later elements may name.
    pub fn clip_rect(&mut self, id: &str, x: f64, y: f64, width: f64, height: f64) {
        writeln!(
            self.body,
            r#"<clipPath id="{id}"><rect x="{x:.2}" y="{y:.2}" width="{width:.2}" height="{height:.2}"/></clipPath>"#
        )
        .unwrap();
    }

    #[allow(clippy::too_many_arguments)]
    pub fn rect(
        &mut self,
        x: f64,
        y: f64,
        width: f64,
        height: f64,
        fill: &str,
        stroke: Option<&str>,
        opacity: f64,
    ) {
        let stroke = stroke.map_or(String::new(), |s| {
            format!(r#" stroke="{s}" stroke-width="1""#)
        });
        writeln!(
            self.body,
            r#"<rect x="{x:.2}" y="{y:.2}" width="{width:.2}" height="{height:.2}" fill="{fill}" fill-opacity="{opacity}"{stroke}/>"#
        )
        .unwrap();
    }

    #[allow(clippy::too_many_arguments)]
    pub fn line(
        &mut self,
        x1: f64,
        y1: f64,
        x2: f64,
        y2: f64,
        stroke: &str,
        width: f64,
        dash: Option<&str>,
    ) {
        let dash = dash.map_or(String::new(), |d| format!(r#" stroke-dasharray="{d}""#));
        writeln!(
            self.body,
            r#"<line x1="{x1:.2}" y1="{y1:.2}" x2="{x2:.2}" y2="{y2:.2}" stroke="{stroke}" stroke-width="{width}"{dash}/>"#
        )
        .unwrap();
    }

    /// Draws a polyline clipped to the region `clip`.
    pub fn polyline(
        &mut self,
        points: &[(f64, f64)],
        stroke: &str,
        width: f64,
        dash: Option<&str>,
        clip: &str,
    ) {
        let mut coordinates = String::new();
        for (x, y) in points {
            write!(coordinates, "{x:.2},{y:.2} ").unwrap();
        }
        let dash = dash.map_or(String::new(), |d| format!(r#" stroke-dasharray="{d}""#));
        writeln!(
            self.body,
            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="{width}"{dash} stroke-linejoin="round" clip-path="url(#{clip})"/>"#,
            coordinates.trim_end()
        )
        .unwrap();
    }

    pub fn circle(&mut self, cx: f64, cy: f64, radius: f64, fill: &str, stroke: &str) {
        writeln!(
            self.body,
            r#"<circle cx="{cx:.2}" cy="{cy:.2}" r="{radius}" fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>"#
        )
        .unwrap();
    }

    pub fn text(&mut self, x: f64, y: f64, content: &str, size: f64, anchor: Anchor) {
        self.text_rotated(x, y, content, size, anchor, 0.0);
    }

    /// Text rotated by `degrees` about its anchor point.
    pub fn text_rotated(
        &mut self,
        x: f64,
        y: f64,
        content: &str,
        size: f64,
        anchor: Anchor,
        degrees: f64,
    ) {
        let anchor = match anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let rotation = if degrees == 0.0 {
            String::new()
        } else {
            format!(r#" transform="rotate({degrees} {x:.2} {y:.2})""#)
        };
        writeln!(
            self.body,
            r##"<text x="{x:.2}" y="{y:.2}" font-family="{FONT_FAMILY}" font-size="{size}" text-anchor="{anchor}" fill="#222222"{rotation}>{}</text>"##,
            escape(content)
        )
        .unwrap();
    }

    pub fn finish(self) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n{}</svg>\n",
            self.body,
            w = self.width,
            h = self.height
        )
    }
}

/// Escapes text for an XML text node or attribute.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// Round tick values covering `min..=max`, about `target` of them: steps of 1, 2 or 5 times a
/// power of ten.
pub fn nice_ticks(min: f64, max: f64, target: usize) -> Vec<f64> {
    if !min.is_finite() || !max.is_finite() || max <= min {
        return vec![min];
    }
    let raw_step = (max - min) / target.max(1) as f64;
    let magnitude = 10f64.powf(raw_step.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw_step)
        .unwrap_or(10.0 * magnitude);

    let first = (min / step).ceil() as i64;
    let last = (max / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        let mut svg = Svg::new(10.0, 10.0);
        svg.text(0.0, 0.0, "a < b & \"c\"", 10.0, Anchor::Start);
        let document = svg.finish();
        assert!(document.contains("a &lt; b &amp; &quot;c&quot;"));
    }

    #[test]
    fn ticks_are_round() {
        let cases: [(f64, f64, usize, &[f64]); 2] = [
            (0.0, 1.0, 5, &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
            (-0.3, 0.9, 4, &[0.0, 0.5]),
        ];
        for (min, max, target, expected) in cases {
            let ticks = nice_ticks(min, max, target);
            assert_eq!(
                ticks.len(),
                expected.len(),
                "ticks of {min}..{max}: {ticks:?}"
            );
            for (tick, want) in ticks.iter().zip(expected) {
                assert!(
                    (tick - want).abs() < 1e-12,
                    "ticks of {min}..{max}: {ticks:?}"
                );
            }
        }
    }
}
