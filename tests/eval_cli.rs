//! `voiceprint eval` and `voiceprint calibrate` on score files, run as the real binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use voiceprint::config::{FlagValue, LoadedSettings, SettingSources, Settings};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/eval")
        .join(name)
}

fn voiceprint(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_voiceprint"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn golden(list: &str) -> Value {
    let text = std::fs::read_to_string(fixture("golden.json")).unwrap();
    let golden: Value = serde_json::from_str(&text).unwrap();
    golden["score_lists"][list].clone()
}

fn stdout_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON object")
}

#[test]
fn eval_json_matches_golden() {
    let scores = fixture("scores_large.txt");
    let json = stdout_json(&voiceprint(&[
        "eval",
        "--scores",
        scores.to_str().unwrap(),
        "--json",
    ]));
    let expected = golden("scores_large.txt");

    for key in [
        "eer",
        "eer_threshold",
        "min_dcf_0.01",
        "min_dcf_0.05",
        "frr_at_far_1pct",
        "frr_at_far_0.1pct",
    ] {
        let (actual, want) = (json[key].as_f64().unwrap(), expected[key].as_f64().unwrap());
        assert!((actual - want).abs() < 1e-6, "{key}: {actual} != {want}");
    }
    assert_eq!(json["trials"], 2000);
    assert_eq!(json["targets"], 400);
}

#[test]
fn compared_runs_keep_their_names() {
    let large = format!("large={}", fixture("scores_large.txt").display());
    let small = fixture("scores_small.txt");
    let json = stdout_json(&voiceprint(&[
        "eval",
        "--scores",
        &large,
        "--scores",
        small.to_str().unwrap(),
        "--json",
    ]));

    assert_eq!(json["name"], "large");
    assert_eq!(json["compared"][0]["name"], "scores_small");
    assert!(json["compared"][0]["frr_at_far_0.1pct"].is_null());
}

#[test]
fn plots_are_written_as_svg_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("fixture");
    let scores = fixture("scores_small.txt");
    let output = voiceprint(&[
        "eval",
        "--scores",
        scores.to_str().unwrap(),
        "--plot",
        prefix.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    for name in ["fixture-det.svg", "fixture-hist.svg"] {
        let svg = std::fs::read_to_string(dir.path().join(name)).unwrap();
        assert!(svg.starts_with("<svg"), "{name} is not an SVG document");
    }
    for name in ["fixture-det.png", "fixture-hist.png"] {
        let png = std::fs::read(dir.path().join(name)).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name} is not a PNG file");
    }
}

#[test]
fn eval_without_input_is_usage_error() {
    let output = voiceprint(&["eval"]);
    assert_eq!(output.status.code(), Some(2));
}

/// Loads `config` as `voiceprint serve` does, with a stand-in model file.
fn service_settings(config: &Path) -> LoadedSettings {
    let model = tempfile::NamedTempFile::new().unwrap();
    let flags = vec![FlagValue {
        name: "model.path",
        flag: "--model",
        value: model.path().display().to_string(),
    }];
    let sources = SettingSources {
        file: Some(config),
        env: BTreeMap::new(),
        flags,
    };
    Settings::load(&sources).expect("the service accepts the calibrated settings")
}

#[test]
fn calibrate_writes_threshold_the_service_reads() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("voiceprint.toml");
    std::fs::write(
        &config,
        "# Service settings\n[server]\nlisten = \"127.0.0.1:0\"\n\n[verification]\nmin_snr_db = 7\n",
    )
    .unwrap();
    let scores = fixture("scores_large.txt");

    let output = voiceprint(&[
        "calibrate",
        "--scores",
        scores.to_str().unwrap(),
        "--target-far",
        "0.01",
        "--config",
        config.to_str().unwrap(),
        "--json",
    ]);
    let json = stdout_json(&output);
    let expected = golden("scores_large.txt")["frr_at_far_1pct_threshold"]
        .as_f64()
        .unwrap();
    assert_eq!(json["threshold"].as_f64().unwrap(), expected);

    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.starts_with("# Service settings\n[server]\nlisten = \"127.0.0.1:0\"\n"));
    assert!(text.contains("# voiceprint calibrate: FAR 1.00% (target 1.00%)"));

    let loaded = service_settings(&config);
    assert_eq!(loaded.settings.verification.threshold, expected as f32);
    assert_eq!(loaded.settings.verification.min_snr_db, 7.0);
    assert!(
        loaded.warnings.is_empty(),
        "warnings: {:?}",
        loaded.warnings
    );
}

#[test]
fn calibrate_rejects_far_of_one() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("voiceprint.toml");
    let scores = fixture("scores_small.txt");
    let output = voiceprint(&[
        "calibrate",
        "--scores",
        scores.to_str().unwrap(),
        "--target-far",
        "1",
        "--config",
        config.to_str().unwrap(),
    ]);

    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--target-far"));
    assert!(
        !config.exists(),
        "a failed calibration must not write the settings file"
    );
}
