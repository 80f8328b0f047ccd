//! The evaluation report, as text for people and as one JSON object for tools.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::evaluate::{CohortSummary, Evaluation};
use super::metrics::{Metrics, OperatingPoint};

/// The metrics of one set of scores.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    pub name: String,
    pub metrics: Metrics,
    /// Error rates at a threshold given by the caller, such as the service's setting.
    pub at_threshold: Option<OperatingPoint>,
}

/// Provenance of the main run's scores, when they came from audio.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDetails {
    pub model: String,
    pub precision: String,
    pub trials_listed: usize,
    pub recordings: usize,
    pub cache_hits: usize,
    pub skipped_trials: BTreeMap<String, usize>,
    pub rejected_recordings: BTreeMap<String, usize>,
    pub cohort: Option<CohortSummary>,
}

impl RunDetails {
    pub fn new(evaluation: &Evaluation, model: String, precision: String) -> Self {
        RunDetails {
            model,
            precision,
            trials_listed: evaluation.trials,
            recordings: evaluation.recordings,
            cache_hits: evaluation.cache_hits,
            skipped_trials: evaluation.skipped_trials.clone(),
            rejected_recordings: evaluation.rejected_recordings.clone(),
            cohort: evaluation.cohort,
        }
    }
}

/// Everything one `eval` invocation reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Raw cosine scores of the audio run, or the first score file.
    pub main: RunReport,
    pub as_norm: Option<RunReport>,
    /// Further score files, such as another system's scores of the same trials.
    pub compared: Vec<RunReport>,
    pub details: Option<RunDetails>,
}

#[derive(Serialize)]
struct MetricsJson<'a> {
    name: &'a str,
    trials: usize,
    targets: usize,
    non_targets: usize,
    eer: f64,
    eer_threshold: Option<f64>,
    #[serde(rename = "min_dcf_0.01")]
    min_dcf_0_01: f64,
    #[serde(rename = "min_dcf_0.05")]
    min_dcf_0_05: f64,
    frr_at_far_1pct: f64,
    frr_at_far_1pct_threshold: Option<f64>,
    #[serde(rename = "frr_at_far_0.1pct")]
    frr_at_far_0_1pct: Option<f64>,
    #[serde(rename = "frr_at_far_0.1pct_threshold")]
    frr_at_far_0_1pct_threshold: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at_threshold: Option<ThresholdJson>,
}

#[derive(Serialize)]
struct ThresholdJson {
    threshold: f64,
    frr: f64,
    far: f64,
}

#[derive(Serialize)]
struct AsNormJson<'a> {
    #[serde(flatten)]
    metrics: MetricsJson<'a>,
    cohort_recordings: usize,
    cohort_speakers: usize,
    top_n: usize,
}

#[derive(Serialize)]
struct DetailsJson<'a> {
    model: &'a str,
    precision: &'a str,
    trials_listed: usize,
    recordings: usize,
    cache_hits: usize,
    skipped_trials: &'a BTreeMap<String, usize>,
    rejected_recordings: &'a BTreeMap<String, usize>,
}

#[derive(Serialize)]
struct ReportJson<'a> {
    #[serde(flatten)]
    main: MetricsJson<'a>,
    as_norm: Option<AsNormJson<'a>>,
    compared: Vec<MetricsJson<'a>>,
    #[serde(flatten)]
    details: Option<DetailsJson<'a>>,
}

/// Converts a threshold to a JSON number, or to null for +∞ (reject everything), which JSON
/// cannot represent.
fn finite(threshold: f64) -> Option<f64> {
    threshold.is_finite().then_some(threshold)
}

fn metrics_json<'a>(run: &'a RunReport) -> MetricsJson<'a> {
    let m = &run.metrics;
    MetricsJson {
        name: &run.name,
        trials: m.trials,
        targets: m.targets,
        non_targets: m.non_targets,
        eer: m.eer,
        eer_threshold: finite(m.eer_threshold),
        min_dcf_0_01: m.min_dcf[0],
        min_dcf_0_05: m.min_dcf[1],
        frr_at_far_1pct: m.at_far_1pct.miss_rate,
        frr_at_far_1pct_threshold: finite(m.at_far_1pct.threshold),
        frr_at_far_0_1pct: m.at_far_0_1pct.map(|p| p.miss_rate),
        frr_at_far_0_1pct_threshold: m.at_far_0_1pct.and_then(|p| finite(p.threshold)),
        at_threshold: run.at_threshold.map(|p| ThresholdJson {
            threshold: p.threshold,
            frr: p.miss_rate,
            far: p.false_alarm_rate,
        }),
    }
}

impl Report {
    /// Renders the report as one JSON object. The main run's metrics are at the top level,
    /// with `as_norm` and `compared` beside them, and the provenance of audio runs.
    pub fn to_json(&self) -> String {
        let as_norm = self.as_norm.as_ref().map(|run| {
            let cohort = self.details.as_ref().and_then(|d| d.cohort);
            AsNormJson {
                metrics: metrics_json(run),
                cohort_recordings: cohort.map_or(0, |c| c.recordings),
                cohort_speakers: cohort.map_or(0, |c| c.speakers),
                top_n: cohort.map_or(0, |c| c.top_n),
            }
        });
        let details = self.details.as_ref().map(|d| DetailsJson {
            model: &d.model,
            precision: &d.precision,
            trials_listed: d.trials_listed,
            recordings: d.recordings,
            cache_hits: d.cache_hits,
            skipped_trials: &d.skipped_trials,
            rejected_recordings: &d.rejected_recordings,
        });
        let report = ReportJson {
            main: metrics_json(&self.main),
            as_norm,
            compared: self.compared.iter().map(metrics_json).collect(),
            details,
        };
        serde_json::to_string_pretty(&report).expect("the report serialises")
    }

    /// Renders the report as a table with one row per run.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        if let Some(details) = &self.details {
            write_details(&mut text, details);
        }

        let runs: Vec<&RunReport> = std::iter::once(&self.main)
            .chain(&self.as_norm)
            .chain(&self.compared)
            .collect();
        let name_width = runs
            .iter()
            .map(|r| r.name.chars().count())
            .max()
            .unwrap_or(0)
            .max(4);
        writeln!(
            text,
            "{:<name_width$}  {:>7}  {:>7}  {:>7}  {:>8}  {:>8}  {:>8}  {:>17}  {:>17}",
            "run",
            "trials",
            "targets",
            "EER",
            "EER thr",
            "minDCF1",
            "minDCF5",
            "FRR@FAR1% (thr)",
            "FRR@FAR0.1% (thr)"
        )
        .unwrap();
        for run in &runs {
            let m = &run.metrics;
            writeln!(
                text,
                "{:<name_width$}  {:>7}  {:>7}  {:>6.2}%  {:>8.4}  {:>8.4}  {:>8.4}  {:>17}  {:>17}",
                run.name,
                m.trials,
                m.targets,
                100.0 * m.eer,
                m.eer_threshold,
                m.min_dcf[0],
                m.min_dcf[1],
                format_point(Some(m.at_far_1pct)),
                format_point(m.at_far_0_1pct),
            )
            .unwrap();
        }
        text.push_str(
            "minDCF1 and minDCF5: normalised minimum detection cost at P_target 0.01 and 0.05.\n",
        );

        let fixed: Vec<&RunReport> = runs
            .iter()
            .copied()
            .filter(|run| run.at_threshold.is_some())
            .collect();
        for run in fixed {
            let point = run.at_threshold.expect("filtered on presence");
            writeln!(
                text,
                "{}: at threshold {:.4}, FRR {:.2}% and FAR {:.2}%",
                run.name,
                point.threshold,
                100.0 * point.miss_rate,
                100.0 * point.false_alarm_rate
            )
            .unwrap();
        }
        text
    }
}

fn format_point(point: Option<OperatingPoint>) -> String {
    match point {
        Some(p) => format!("{:.2}% ({:.4})", 100.0 * p.miss_rate, p.threshold),
        None => "-".to_string(),
    }
}

fn write_details(text: &mut String, details: &RunDetails) {
    writeln!(
        text,
        "model {} ({}); {} recordings, {} from the cache",
        details.model, details.precision, details.recordings, details.cache_hits
    )
    .unwrap();
    let skipped: usize = details.skipped_trials.values().sum();
    writeln!(
        text,
        "{} trials listed, {} scored",
        details.trials_listed,
        details.trials_listed - skipped
    )
    .unwrap();
    if !details.rejected_recordings.is_empty() {
        writeln!(
            text,
            "recordings rejected by the pipeline: {}",
            format_counts(&details.rejected_recordings)
        )
        .unwrap();
        writeln!(
            text,
            "trials skipped for them: {}",
            format_counts(&details.skipped_trials)
        )
        .unwrap();
    }
    if let Some(cohort) = details.cohort {
        writeln!(
            text,
            "AS-norm cohort: {} recordings of {} speakers, top {}",
            cohort.recordings, cohort.speakers, cohort.top_n
        )
        .unwrap();
    }
    text.push('\n');
}

fn format_counts(counts: &BTreeMap<String, usize>) -> String {
    counts
        .iter()
        .map(|(code, n)| format!("{n} {code}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::metrics::{DetCurve, ScoredTrial};

    fn run(name: &str, non_targets: usize) -> RunReport {
        let mut trials = vec![
            ScoredTrial {
                target: true,
                score: 0.9,
            },
            ScoredTrial {
                target: true,
                score: 0.4,
            },
        ];
        trials.extend((0..non_targets).map(|i| ScoredTrial {
            target: false,
            score: i as f64 / non_targets as f64 / 2.0,
        }));
        RunReport {
            name: name.to_string(),
            metrics: DetCurve::new(&trials).unwrap().metrics(),
            at_threshold: None,
        }
    }

    #[test]
    fn json_has_required_keys() {
        let report = Report {
            main: run("cosine", 10),
            as_norm: None,
            compared: vec![],
            details: None,
        };
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        for key in [
            "trials",
            "targets",
            "eer",
            "eer_threshold",
            "min_dcf_0.01",
            "min_dcf_0.05",
            "frr_at_far_1pct",
            "frr_at_far_1pct_threshold",
            "frr_at_far_0.1pct",
        ] {
            assert!(json.get(key).is_some(), "missing key {key}");
        }
        assert!(json["frr_at_far_0.1pct"].is_null());
        assert!(json["as_norm"].is_null());
    }

    #[test]
    fn json_far_0_1pct_from_1000_non_targets() {
        let report = Report {
            main: run("cosine", 1000),
            as_norm: None,
            compared: vec![],
            details: None,
        };
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert!(json["frr_at_far_0.1pct"].is_number());
    }

    #[test]
    fn text_has_one_row_per_run() {
        let report = Report {
            main: run("cosine", 10),
            as_norm: Some(run("AS-norm", 10)),
            compared: vec![run("resemblyzer", 10)],
            details: None,
        };
        let text = report.to_text();
        for name in ["cosine", "AS-norm", "resemblyzer"] {
            assert!(
                text.lines().any(|line| line.starts_with(name)),
                "no row for {name}"
            );
        }
    }
}
