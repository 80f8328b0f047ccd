//! The evaluation metrics against golden values from an independent computation:
//! `tools/eval_golden.py` (scikit-learn's `roc_curve`, SciPy's `norm.ppf` and a NumPy
//! transcription of AS-norm) wrote `fixtures/eval/golden.json` from the score lists beside it.

use std::path::{Path, PathBuf};

use serde_json::Value;
use voiceprint::eval::metrics::DetCurve;
use voiceprint::eval::plot::normal_deviate;
use voiceprint::eval::report::{Report, RunReport};
use voiceprint::eval::scores::read_scores;
use voiceprint::scoring::AsNorm;

const TOLERANCE: f64 = 1e-6;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/eval")
        .join(name)
}

fn golden() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture("golden.json")).unwrap()).unwrap()
}

fn assert_close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= TOLERANCE,
        "{what}: {actual} != {expected}"
    );
}

fn vectors(value: &Value) -> Vec<Vec<f32>> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect()
        })
        .collect()
}

#[test]
fn metrics_match_scikit_learn() {
    let golden = golden();
    for (file, expected) in golden["score_lists"].as_object().unwrap() {
        let trials = read_scores(&fixture(file)).unwrap();
        let curve = DetCurve::new(&trials).unwrap();
        let report = Report {
            main: RunReport {
                name: "cosine".to_string(),
                metrics: curve.metrics(),
                at_threshold: None,
            },
            as_norm: None,
            compared: Vec::new(),
            details: None,
        };
        let json: Value = serde_json::from_str(&report.to_json()).unwrap();

        for (key, want) in expected.as_object().unwrap() {
            let what = format!("{file} {key}");
            match want {
                Value::Null => assert!(
                    json[key].is_null(),
                    "{what}: expected null, found {}",
                    json[key]
                ),
                Value::Number(number) => {
                    let actual = json[key]
                        .as_f64()
                        .unwrap_or_else(|| panic!("{what}: missing from the report"));
                    assert_close(actual, number.as_f64().unwrap(), &what);
                }
                other => panic!("{what}: unexpected golden value {other}"),
            }
        }
    }
}

#[test]
fn det_points_match_scikit_learn() {
    let golden = golden();
    let curve = DetCurve::new(&read_scores(&fixture("scores_small.txt")).unwrap()).unwrap();
    let false_alarms = golden["det_small"]["false_alarm"].as_array().unwrap();
    let misses = golden["det_small"]["miss"].as_array().unwrap();

    assert_eq!(curve.len(), false_alarms.len());
    for (i, point) in curve.points().enumerate() {
        assert_close(
            point.false_alarm_rate,
            false_alarms[i].as_f64().unwrap(),
            &format!("false alarms at {i}"),
        );
        assert_close(
            point.miss_rate,
            misses[i].as_f64().unwrap(),
            &format!("misses at {i}"),
        );
    }
}

#[test]
fn normal_deviates_match_scipy() {
    for pair in golden()["normal_deviates"].as_array().unwrap() {
        let (p, expected) = (pair[0].as_f64().unwrap(), pair[1].as_f64().unwrap());
        let actual = normal_deviate(p);
        assert!(
            (actual - expected).abs() <= 1e-12 * expected.abs().max(1.0),
            "Φ⁻¹({p}) = {actual}, expected {expected}"
        );
    }
}

#[test]
fn as_norm_matches_numpy() {
    let golden = golden();
    let reference = &golden["as_norm"];
    let top_n = reference["top_n"].as_u64().unwrap() as usize;
    let as_norm = AsNorm::new(vectors(&reference["cohort"]), top_n).unwrap();

    let enroll = vectors(&reference["enroll"]);
    let test = vectors(&reference["test"]);
    let expected = reference["normalized"].as_array().unwrap();
    for (i, (e, t)) in enroll.iter().zip(&test).enumerate() {
        let score = f64::from(voiceprint::embed::cosine_similarity(e, t));
        let normalized = as_norm.normalize(
            score,
            &as_norm.statistics(e).unwrap(),
            &as_norm.statistics(t).unwrap(),
        );
        // The embeddings pass through f32, so agreement is to single precision.
        assert!(
            (normalized - expected[i].as_f64().unwrap()).abs() < 1e-4,
            "pair {i}: {normalized} vs {}",
            expected[i]
        );
    }
}
