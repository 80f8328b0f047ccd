//! Histograms of target and non-target scores, one panel per run.

use super::svg::{nice_ticks, Anchor, Svg};
use super::PlotRun;

const WIDTH: f64 = 760.0;
const PANEL_HEIGHT: f64 = 280.0;
const TITLE_HEIGHT: f64 = 40.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 30.0;
const PANEL_TOP: f64 = 34.0;
const PANEL_BOTTOM: f64 = 50.0;
const BINS: usize = 50;
const TARGET_COLOUR: &str = "#1f77b4";
const NON_TARGET_COLOUR: &str = "#d62728";

/// Draws one histogram panel per run. Each class is normalised to its own trial count, so
/// the bars show the fraction of that class's trials per bin even when the classes differ
/// in size.
pub fn histogram_svg(title: &str, runs: &[PlotRun<'_>]) -> String {
    let height = TITLE_HEIGHT + PANEL_HEIGHT * runs.len() as f64;
    let mut svg = Svg::new(WIDTH, height);
    svg.text(WIDTH / 2.0, 26.0, title, 16.0, Anchor::Middle);
    for (index, run) in runs.iter().enumerate() {
        draw_panel(&mut svg, run, TITLE_HEIGHT + PANEL_HEIGHT * index as f64);
    }
    svg.finish()
}

struct Bins {
    low: f64,
    width: f64,
    targets: Vec<f64>,
    non_targets: Vec<f64>,
}

impl Bins {
    fn of(run: &PlotRun<'_>) -> Self {
        let (mut low, mut high) = run
            .trials
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), t| {
                (lo.min(t.score), hi.max(t.score))
            });
        if high.is_nan() || low.is_nan() || high <= low {
            (low, high) = (low - 0.5, low + 0.5);
        }
        let width = (high - low) / BINS as f64;

        let mut bins = Bins {
            low,
            width,
            targets: vec![0.0; BINS],
            non_targets: vec![0.0; BINS],
        };
        let targets = run.trials.iter().filter(|t| t.target).count().max(1) as f64;
        let non_targets = run.trials.iter().filter(|t| !t.target).count().max(1) as f64;
        for trial in run.trials {
            let bin = (((trial.score - low) / width) as usize).min(BINS - 1);
            if trial.target {
                bins.targets[bin] += 1.0 / targets;
            } else {
                bins.non_targets[bin] += 1.0 / non_targets;
            }
        }
        bins
    }

    fn high(&self) -> f64 {
        self.low + self.width * BINS as f64
    }

    fn tallest(&self) -> f64 {
        self.targets
            .iter()
            .chain(&self.non_targets)
            .copied()
            .fold(0.0, f64::max)
    }
}

fn draw_panel(svg: &mut Svg, run: &PlotRun<'_>, top: f64) {
    let bins = Bins::of(run);
    let plot_top = top + PANEL_TOP;
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = PANEL_HEIGHT - PANEL_TOP - PANEL_BOTTOM;
    let plot_bottom = plot_top + plot_height;
    let tallest = bins.tallest().max(1e-9) * 1.1;
    let x = |score: f64| LEFT + (score - bins.low) / (bins.high() - bins.low) * plot_width;
    let y = |fraction: f64| plot_bottom - fraction / tallest * plot_height;

    for tick in nice_ticks(0.0, tallest, 4) {
        svg.line(
            LEFT,
            y(tick),
            LEFT + plot_width,
            y(tick),
            "#e5e5e5",
            1.0,
            None,
        );
        svg.text(
            LEFT - 6.0,
            y(tick) + 4.0,
            &format!("{:.0}%", 100.0 * tick),
            11.0,
            Anchor::End,
        );
    }
    for tick in nice_ticks(bins.low, bins.high(), 8) {
        svg.line(
            x(tick),
            plot_bottom,
            x(tick),
            plot_bottom + 4.0,
            "#444444",
            1.0,
            None,
        );
        svg.text(
            x(tick),
            plot_bottom + 17.0,
            &format_tick(tick),
            11.0,
            Anchor::Middle,
        );
    }

    for (counts, colour) in [
        (&bins.non_targets, NON_TARGET_COLOUR),
        (&bins.targets, TARGET_COLOUR),
    ] {
        for (i, &fraction) in counts.iter().enumerate() {
            if fraction > 0.0 {
                let left = x(bins.low + bins.width * i as f64);
                let bar_width = x(bins.low + bins.width * (i + 1) as f64) - left;
                svg.rect(
                    left,
                    y(fraction),
                    bar_width,
                    plot_bottom - y(fraction),
                    colour,
                    None,
                    0.45,
                );
            }
        }
    }

    let threshold = run.metrics.eer_threshold;
    if threshold.is_finite() {
        svg.line(
            x(threshold),
            plot_top,
            x(threshold),
            plot_bottom,
            "#333333",
            1.2,
            Some("5 3"),
        );
        svg.text(
            x(threshold) + 4.0,
            plot_top + 12.0,
            &format!("EER threshold {threshold:.3}"),
            11.0,
            Anchor::Start,
        );
    }
    svg.rect(
        LEFT,
        plot_top,
        plot_width,
        plot_height,
        "none",
        Some("#444444"),
        1.0,
    );

    let heading = format!(
        "{}: {} target and {} non-target trials, EER {:.2}%",
        run.name,
        run.metrics.targets,
        run.metrics.non_targets,
        100.0 * run.metrics.eer
    );
    svg.text(LEFT, top + 22.0, &heading, 13.0, Anchor::Start);
    // The key sits on the axis-label row, where no heading or bar can reach it.
    draw_key(svg, LEFT + plot_width - 170.0, plot_bottom + 26.0);
    svg.text(
        LEFT + plot_width / 2.0,
        plot_bottom + 36.0,
        "Score",
        12.0,
        Anchor::Middle,
    );
}

fn draw_key(svg: &mut Svg, x: f64, y: f64) {
    svg.rect(x, y, 12.0, 12.0, TARGET_COLOUR, None, 0.6);
    svg.text(x + 16.0, y + 10.5, "target", 11.5, Anchor::Start);
    svg.rect(x + 80.0, y, 12.0, 12.0, NON_TARGET_COLOUR, None, 0.6);
    svg.text(x + 96.0, y + 10.5, "non-target", 11.5, Anchor::Start);
}

/// Formats a tick value with at most two decimals and no negative zero.
fn format_tick(value: f64) -> String {
    let text = format!("{:.2}", value);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}
