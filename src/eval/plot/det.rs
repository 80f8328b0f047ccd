//! DET curves: miss rate against false-alarm rate, both on normal-deviate (probit) axes, as
//! NIST speaker recognition evaluations draw them. Normally distributed target and
//! non-target scores give a straight line on these axes.

use super::svg::{Anchor, Svg, RUN_COLOURS, RUN_DASHES};
use super::PlotRun;

/// Axis ticks as fractions, the values NIST evaluation plans label.
const TICKS: [f64; 20] = [
    0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6,
    0.7, 0.8, 0.9, 0.95, 0.99,
];

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 720.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 70.0;
const CLIP_ID: &str = "det-area";
const LEGEND_FONT_SIZE: f64 = 12.5;

/// Computes the standard normal quantile Φ⁻¹(p) by Wichura's algorithm AS 241 (PPND16),
/// accurate to about 1e-16 ("The percentage points of the normal distribution", Applied
/// Statistics 37(3), 1988). Returns ∓∞ at 0 and 1 and NaN outside [0, 1].
pub fn normal_deviate(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }

    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * polynomial(r, &CENTRAL_NUMERATOR) / polynomial(r, &CENTRAL_DENOMINATOR);
    }

    let tail = if q < 0.0 { p } else { 1.0 - p };
    let r = (-tail.ln()).sqrt();
    let value = if r <= 5.0 {
        let r = r - 1.6;
        polynomial(r, &INTERMEDIATE_NUMERATOR) / polynomial(r, &INTERMEDIATE_DENOMINATOR)
    } else {
        let r = r - 5.0;
        polynomial(r, &FAR_NUMERATOR) / polynomial(r, &FAR_DENOMINATOR)
    };
    if q < 0.0 {
        -value
    } else {
        value
    }
}

/// Evaluates the polynomial with `coefficients` (constant term first) at `x`.
fn polynomial(x: f64, coefficients: &[f64; 8]) -> f64 {
    coefficients.iter().rev().fold(0.0, |sum, c| sum * x + c)
}

// Coefficients of AS 241, for |p − 0.5| ≤ 0.425, for r = √(−ln(min(p, 1 − p))) ≤ 5, and beyond,
// with the digits the algorithm publishes.
#[allow(clippy::excessive_precision)]
const CENTRAL_NUMERATOR: [f64; 8] = [
    3.387_132_872_796_366_608e0,
    1.331_416_678_917_843_774_5e2,
    1.971_590_950_306_551_442_7e3,
    1.373_169_376_550_946_112_5e4,
    4.592_195_393_154_987_145_7e4,
    6.726_577_092_700_870_085_3e4,
    3.343_057_558_358_812_810_5e4,
    2.509_080_928_730_122_672_7e3,
];
#[allow(clippy::excessive_precision)]
const CENTRAL_DENOMINATOR: [f64; 8] = [
    1.0,
    4.231_333_070_160_091_125_2e1,
    6.871_870_074_920_579_083e2,
    5.394_196_021_424_751_107_7e3,
    2.121_379_430_158_659_586_7e4,
    3.930_789_580_009_271_061e4,
    2.872_908_573_572_194_267_4e4,
    5.226_495_278_852_854_561e3,
];
#[allow(clippy::excessive_precision)]
const INTERMEDIATE_NUMERATOR: [f64; 8] = [
    1.423_437_110_749_683_577_34e0,
    4.630_337_846_156_545_295_9e0,
    5.769_497_221_460_691_405_5e0,
    3.647_848_324_763_204_605_04e0,
    1.270_458_252_452_368_382_58e0,
    2.417_807_251_774_506_117_7e-1,
    2.272_384_498_926_918_458_33e-2,
    7.745_450_142_783_414_076_4e-4,
];
#[allow(clippy::excessive_precision)]
const INTERMEDIATE_DENOMINATOR: [f64; 8] = [
    1.0,
    2.053_191_626_637_758_821_87e0,
    1.676_384_830_183_803_849_4e0,
    6.897_673_349_851_000_045_5e-1,
    1.481_039_764_274_800_745_9e-1,
    1.519_866_656_361_645_719_66e-2,
    5.475_938_084_995_344_946e-4,
    1.050_750_071_644_416_843_24e-9,
];
#[allow(clippy::excessive_precision)]
const FAR_NUMERATOR: [f64; 8] = [
    6.657_904_643_501_103_777_2e0,
    5.463_784_911_164_114_369_9e0,
    1.784_826_539_917_291_335_8e0,
    2.965_605_718_285_048_912_3e-1,
    2.653_218_952_657_612_309_3e-2,
    1.242_660_947_388_078_438_6e-3,
    2.711_555_568_743_487_578_15e-5,
    2.010_334_399_292_288_132_65e-7,
];
#[allow(clippy::excessive_precision)]
const FAR_DENOMINATOR: [f64; 8] = [
    1.0,
    5.998_322_065_558_879_376_9e-1,
    1.369_298_809_227_358_053_1e-1,
    1.487_536_129_085_061_485_25e-2,
    7.868_691_311_456_132_591e-4,
    1.846_318_317_510_054_681_8e-5,
    1.421_511_758_316_445_888_7e-7,
    2.044_263_103_389_939_785_64e-15,
];

/// The range of rates the axes show.
#[derive(Debug, Clone, Copy, PartialEq)]
struct AxisRange {
    low: f64,
    high: f64,
}

impl AxisRange {
    /// Down to the lowest tick at or below the smallest non-zero error rate of any run (at
    /// most 1%, at least 0.01%), and up to the first tick at or above twice the largest EER
    /// (at least 40%).
    fn fit(runs: &[PlotRun<'_>]) -> Self {
        let smallest_rate = runs
            .iter()
            .flat_map(|run| run.curve.points())
            .flat_map(|p| [p.miss_rate, p.false_alarm_rate])
            .filter(|&rate| rate > 0.0)
            .fold(0.01f64, f64::min);
        let low = TICKS
            .iter()
            .rev()
            .copied()
            .find(|&t| t <= smallest_rate)
            .unwrap_or(TICKS[0]);

        let largest_eer = runs.iter().map(|run| run.metrics.eer).fold(0.0, f64::max);
        let min_high = (2.0 * largest_eer).max(0.4);
        let high = TICKS
            .iter()
            .copied()
            .find(|&t| t >= min_high)
            .unwrap_or(0.99);
        AxisRange { low, high }
    }
}

struct Frame {
    range: AxisRange,
    plot_width: f64,
    plot_height: f64,
}

impl Frame {
    fn fraction(&self, rate: f64) -> f64 {
        let low = normal_deviate(self.range.low);
        let high = normal_deviate(self.range.high);
        // A rate of exactly 0 or 1 has an infinite deviate. A finite stand-in far outside
        // the axes keeps the line's direction, and the clipping region hides it.
        let deviate = normal_deviate(rate.clamp(1e-9, 1.0 - 1e-9));
        (deviate - low) / (high - low)
    }

    fn x(&self, false_alarm_rate: f64) -> f64 {
        LEFT + self.fraction(false_alarm_rate) * self.plot_width
    }

    fn y(&self, miss_rate: f64) -> f64 {
        TOP + (1.0 - self.fraction(miss_rate)) * self.plot_height
    }
}

/// Draws the DET curves of `runs` on one plot.
pub fn det_svg(title: &str, runs: &[PlotRun<'_>]) -> String {
    let frame = Frame {
        range: AxisRange::fit(runs),
        plot_width: WIDTH - LEFT - RIGHT,
        plot_height: HEIGHT - TOP - BOTTOM,
    };
    let mut svg = Svg::new(WIDTH, HEIGHT);
    svg.clip_rect(CLIP_ID, LEFT, TOP, frame.plot_width, frame.plot_height);
    draw_axes(&mut svg, &frame, title);

    for (index, run) in runs.iter().enumerate() {
        let colour = RUN_COLOURS[index % RUN_COLOURS.len()];
        let points: Vec<(f64, f64)> = run
            .curve
            .points()
            .map(|p| (frame.x(p.false_alarm_rate), frame.y(p.miss_rate)))
            .collect();
        svg.polyline(
            &points,
            colour,
            2.0,
            RUN_DASHES[index % RUN_DASHES.len()],
            CLIP_ID,
        );

        let eer_point = run.curve.equal_error_point();
        let (x, y) = (
            frame.x(eer_point.false_alarm_rate),
            frame.y(eer_point.miss_rate),
        );
        if (LEFT..=LEFT + frame.plot_width).contains(&x)
            && (TOP..=TOP + frame.plot_height).contains(&y)
        {
            svg.circle(x, y, 4.0, "#ffffff", colour);
        }
    }
    draw_legend(&mut svg, &frame, runs);
    svg.finish()
}

fn draw_axes(svg: &mut Svg, frame: &Frame, title: &str) {
    let (right, bottom) = (LEFT + frame.plot_width, TOP + frame.plot_height);
    let ticks = TICKS
        .iter()
        .copied()
        .filter(|t| (frame.range.low..=frame.range.high).contains(t));
    for tick in ticks {
        let (x, y) = (frame.x(tick), frame.y(tick));
        svg.line(x, TOP, x, bottom, "#dddddd", 1.0, None);
        svg.line(LEFT, y, right, y, "#dddddd", 1.0, None);
        svg.text(
            x,
            bottom + 18.0,
            &format_percent(tick),
            12.0,
            Anchor::Middle,
        );
        svg.text(
            LEFT - 8.0,
            y + 4.0,
            &format_percent(tick),
            12.0,
            Anchor::End,
        );
    }

    // Points on this diagonal have equal miss and false-alarm rates: a curve crosses it at its EER.
    let (low, high) = (frame.range.low, frame.range.high);
    svg.line(
        frame.x(low),
        frame.y(low),
        frame.x(high),
        frame.y(high),
        "#999999",
        1.0,
        Some("6 4"),
    );
    svg.rect(
        LEFT,
        TOP,
        frame.plot_width,
        frame.plot_height,
        "none",
        Some("#444444"),
        1.0,
    );

    svg.text(WIDTH / 2.0, 30.0, title, 16.0, Anchor::Middle);
    svg.text(
        LEFT + frame.plot_width / 2.0,
        HEIGHT - 22.0,
        "False-accept rate (%)",
        14.0,
        Anchor::Middle,
    );
    svg.text_rotated(
        24.0,
        TOP + frame.plot_height / 2.0,
        "False-reject rate (%)",
        14.0,
        Anchor::Middle,
        -90.0,
    );
}

fn draw_legend(svg: &mut Svg, frame: &Frame, runs: &[PlotRun<'_>]) {
    let labels: Vec<String> = runs
        .iter()
        .map(|run| format!("{} (EER {:.2}%)", run.name, 100.0 * run.metrics.eer))
        .collect();
    // DejaVu Sans averages about 0.6 em per character of such labels.
    let longest = labels
        .iter()
        .map(|label| label.chars().count())
        .max()
        .unwrap_or(0);
    let line_height = 20.0;
    let width = 56.0 + 0.6 * LEGEND_FONT_SIZE * longest as f64;
    let height = line_height * runs.len() as f64 + 10.0;

    // A DET curve falls from high miss rates to high false-alarm rates, so only a system
    // near chance reaches the upper-right corner where both rates are high.
    let (x, y) = (LEFT + frame.plot_width - width - 10.0, TOP + 10.0);
    svg.rect(x, y, width, height, "#ffffff", Some("#bbbbbb"), 0.9);

    for (index, label) in labels.iter().enumerate() {
        let colour = RUN_COLOURS[index % RUN_COLOURS.len()];
        let row_y = y + 5.0 + line_height * (index as f64 + 0.5);
        svg.line(
            x + 8.0,
            row_y,
            x + 40.0,
            row_y,
            colour,
            2.5,
            RUN_DASHES[index % RUN_DASHES.len()],
        );
        svg.text(
            x + 48.0,
            row_y + 4.5,
            label,
            LEGEND_FONT_SIZE,
            Anchor::Start,
        );
    }
}

/// Formats a rate as a percentage with no trailing zeros: 0.001 → "0.1", 0.2 → "20".
fn format_percent(rate: f64) -> String {
    let text = format!("{:.2}", 100.0 * rate);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deviate_is_odd_around_half() {
        for p in [0.001, 0.01, 0.2, 0.4] {
            assert!((normal_deviate(p) + normal_deviate(1.0 - p)).abs() < 1e-12);
        }
        assert_eq!(normal_deviate(0.5), 0.0);
    }

    #[test]
    fn deviate_edges_are_infinite() {
        assert_eq!(normal_deviate(0.0), f64::NEG_INFINITY);
        assert_eq!(normal_deviate(1.0), f64::INFINITY);
        assert!(normal_deviate(1.5).is_nan());
    }

    #[test]
    fn percent_labels_drop_trailing_zeros() {
        assert_eq!(format_percent(0.001), "0.1");
        assert_eq!(format_percent(0.2), "20");
        assert_eq!(format_percent(0.0005), "0.05");
    }
}
