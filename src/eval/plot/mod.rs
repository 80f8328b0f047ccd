//! DET curves and score histograms, as SVG and as PNG.
//!
//! This module writes the SVG. The PNG is the same SVG rendered by resvg with DejaVu Sans
//! loaded from the copy under `assets/fonts/`, so text renders without system fonts.

mod det;
mod histogram;
mod svg;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use resvg::{tiny_skia, usvg};

pub use det::normal_deviate;

use super::metrics::{DetCurve, Metrics, ScoredTrial};
use super::{files, EvalError};

/// DejaVu Sans 2.37, under the Bitstream Vera licence (`assets/fonts/LICENSE-DejaVu.txt`).
static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// PNG pixels per SVG unit: 2 gives sharp text on high-density screens and in print.
const PNG_SCALE: f32 = 2.0;

/// One run to draw.
#[derive(Debug, Clone, Copy)]
pub struct PlotRun<'a> {
    pub name: &'a str,
    pub trials: &'a [ScoredTrial],
    pub curve: &'a DetCurve,
    pub metrics: &'a Metrics,
}

/// Writes `PREFIX-det.svg`, `PREFIX-det.png`, `PREFIX-hist.svg` and `PREFIX-hist.png` and
/// returns their paths.
pub fn write_plots(
    prefix: &Path,
    title: &str,
    runs: &[PlotRun<'_>],
) -> Result<Vec<PathBuf>, EvalError> {
    let documents = [
        ("det", det::det_svg(title, runs)),
        ("hist", histogram::histogram_svg(title, runs)),
    ];

    let mut written = Vec::new();
    for (kind, svg) in documents {
        let svg_path = with_suffix(prefix, &format!("-{kind}.svg"));
        files::write_atomically(&svg_path, svg.as_bytes())?;
        written.push(svg_path);

        let png_path = with_suffix(prefix, &format!("-{kind}.png"));
        let png = render_png(&svg).map_err(|reason| EvalError::Plot {
            path: png_path.clone(),
            reason,
        })?;
        files::write_atomically(&png_path, &png)?;
        written.push(png_path);
    }
    Ok(written)
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Renders an SVG document to PNG bytes.
pub fn render_png(svg: &str) -> Result<Vec<u8>, String> {
    let mut fonts = usvg::fontdb::Database::new();
    fonts.load_font_data(FONT.to_vec());
    let options = usvg::Options {
        font_family: svg::FONT_FAMILY.to_string(),
        fontdb: Arc::new(fonts),
        ..usvg::Options::default()
    };

    let tree = usvg::Tree::from_str(svg, &options).map_err(|error| error.to_string())?;
    let size = tree
        .size()
        .to_int_size()
        .scale_by(PNG_SCALE)
        .ok_or("the plot has no area")?;
    let mut pixmap =
        tiny_skia::Pixmap::new(size.width(), size.height()).ok_or("the plot is too large")?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(PNG_SCALE, PNG_SCALE),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_renders_without_system_fonts() {
        let blank =
            render_png(r#"<svg xmlns="http://www.w3.org/2000/svg" width="60" height="20"></svg>"#)
                .unwrap();
        let with_text = render_png(&format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="60" height="20"><text x="2" y="15" font-family="{}" font-size="14">EER</text></svg>"#,
            svg::FONT_FAMILY
        ))
        .unwrap();
        assert_ne!(blank, with_text, "the text drew no pixels");
    }
}
