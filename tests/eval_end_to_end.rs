//! `voiceprint eval` and `calibrate` on real speech with the real model, run as the binary.
//!
//! The trial list `fixtures/eval/golden_trials.txt` pairs the clips of `fixtures/golden/`,
//! whose Resemblyzer 0.1.4 embeddings are stored beside them. The prompted protocol runs on
//! `fixtures/eval/prompted/`: three words of each of four DSPSpeech-20 speakers.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn voiceprint(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_voiceprint"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn succeed(args: &[&str]) -> Output {
    let output = voiceprint(args);
    assert!(
        output.status.success(),
        "voiceprint {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

fn prompted_manifest() -> PathBuf {
    common::fixture("eval/prompted/MANIFEST.tsv")
}

/// Builds the arguments of a small prompted run: K = 2, M = 1, 40 trials.
fn prompted_args(manifest: &Path) -> Vec<String> {
    [
        "--manifest",
        path_str(manifest),
        "--enroll-utts",
        "2",
        "--test-utts",
        "1",
        "--num-trials",
        "40",
        "--seed",
        "59",
        "--quiet",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn run_eval(extra: &[String]) -> Value {
    let mut args = vec!["eval".to_string(), "--json".to_string()];
    args.extend_from_slice(extra);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    serde_json::from_slice(&succeed(&refs).stdout).expect("stdout is one JSON object")
}

/// Reads a score file into (label, enroll, test) → score.
fn read_scores(path: &Path) -> HashMap<(String, String, String), f64> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (
                (
                    fields[0].to_string(),
                    fields[2].to_string(),
                    fields[3].to_string(),
                ),
                fields[1].parse().unwrap(),
            )
        })
        .collect()
}

/// Computes the Resemblyzer embedding of a side: the normalised mean of its clips'
/// embeddings.
fn resemblyzer_side(side: &str) -> Vec<f32> {
    let mut sum = vec![0.0f32; 256];
    for clip in side.split('+') {
        let stem = clip.rsplit_once('.').unwrap().0;
        let embedding = common::read_npy(&common::fixture(&format!("golden/{stem}.embed.npy")));
        for (total, value) in sum.iter_mut().zip(embedding) {
            *total += value;
        }
    }
    let norm = sum.iter().map(|v| v * v).sum::<f32>().sqrt();
    sum.iter().map(|v| v / norm).collect()
}

#[test]
fn trial_list_scores_match_resemblyzer() {
    let dir = tempfile::tempdir().unwrap();
    let scores = dir.path().join("scores.txt");
    let trials = common::fixture("eval/golden_trials.txt");
    let audio_root = common::fixture("golden");

    let report = run_eval(&[
        "--trials".into(),
        path_str(&trials).into(),
        "--audio-root".into(),
        path_str(&audio_root).into(),
        "--no-cache".into(),
        "--quiet".into(),
        "--save-scores".into(),
        path_str(&scores).into(),
    ]);
    assert_eq!(report["trials"], 8);
    assert_eq!(report["targets"], 4);
    assert_eq!(report["eer"], 0.0);

    for ((_, enroll, test), score) in read_scores(&scores) {
        let expected: f32 = resemblyzer_side(&enroll)
            .iter()
            .zip(resemblyzer_side(&test))
            .map(|(a, b)| a * b)
            .sum();
        // Clips at other rates go through rubato here and soxr in Resemblyzer, which moved
        // these scores by up to 0.003; 16 kHz clips agree to float rounding.
        let resampled = [&enroll, &test]
            .iter()
            .any(|side| ["_8k", "_44k", "_48k"].iter().any(|tag| side.contains(tag)));
        let tolerance = if resampled { 0.005 } else { 1e-5 };
        assert!(
            (score - f64::from(expected)).abs() < tolerance,
            "{enroll} vs {test}: {score} vs Resemblyzer {expected}"
        );
    }
}

#[test]
fn second_run_reads_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache.sqlite3");
    let mut args = prompted_args(&prompted_manifest());
    args.extend(["--cache".to_string(), path_str(&cache).to_string()]);

    let first = run_eval(&args);
    let second = run_eval(&args);

    assert_eq!(first["cache_hits"], 0);
    assert_eq!(second["cache_hits"], second["recordings"]);
    assert_eq!(first["eer"], second["eer"]);
    assert_eq!(first["trials"], 40);
}

#[test]
fn written_trials_rescore_identically() {
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("trials.txt");
    let prompted_scores = dir.path().join("prompted.txt");
    let list_scores = dir.path().join("list.txt");

    let mut args = prompted_args(&prompted_manifest());
    args.extend(
        [
            "--no-cache",
            "--write-trials",
            path_str(&written),
            "--save-scores",
            path_str(&prompted_scores),
        ]
        .map(String::from),
    );
    run_eval(&args);

    let audio_root = common::fixture("eval/prompted");
    run_eval(
        &[
            "--trials",
            path_str(&written),
            "--audio-root",
            path_str(&audio_root),
            "--join",
            "concat",
            "--no-cache",
            "--quiet",
            "--save-scores",
            path_str(&list_scores),
        ]
        .map(String::from),
    );

    let prompted = std::fs::read_to_string(&prompted_scores).unwrap();
    assert_eq!(prompted.lines().count(), 40);
    assert_eq!(prompted, std::fs::read_to_string(&list_scores).unwrap());
}

#[test]
fn held_out_speakers_form_cohort() {
    let mut args = prompted_args(&prompted_manifest());
    args.extend(["--no-cache", "--cohort-speakers", "2", "--top-n", "4"].map(String::from));
    let report = run_eval(&args);

    let as_norm = &report["as_norm"];
    assert_eq!(as_norm["cohort_speakers"], 2);
    // Each held-out speaker's three words make three one-word recordings.
    assert_eq!(as_norm["cohort_recordings"], 6);
    assert_eq!(as_norm["top_n"], 4);
    assert_eq!(as_norm["trials"], report["trials"]);
}

#[test]
fn cohort_sharing_trial_speakers_is_rejected() {
    let manifest = prompted_manifest();
    let dir = tempfile::tempdir().unwrap();
    let trials = dir.path().join("trials.txt");
    std::fs::write(
        &trials,
        "1 15307110252/15307110252-00-01.flac 15307110252/15307110252-05-01.flac\n",
    )
    .unwrap();

    let output = voiceprint(&[
        "eval",
        "--trials",
        path_str(&trials),
        "--audio-root",
        path_str(manifest.parent().unwrap()),
        "--speakers",
        path_str(&manifest),
        "--cohort",
        path_str(&manifest),
        "--no-cache",
        "--quiet",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cohort contains trial speakers: 15307110252"),
        "{stderr}"
    );
}

#[test]
fn calibrate_on_prompted_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("voiceprint.toml");
    std::fs::write(
        &config,
        "[verification]\n# Decision threshold on the cosine score.\nthreshold = 0.75\n",
    )
    .unwrap();

    let mut args = vec!["calibrate".to_string(), "--json".to_string()];
    args.extend(prompted_args(&prompted_manifest()));
    args.extend(
        [
            "--no-cache",
            "--target-far",
            "0.05",
            "--config",
            path_str(&config),
        ]
        .map(String::from),
    );
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let result: Value = serde_json::from_slice(&succeed(&refs).stdout).unwrap();

    let text = std::fs::read_to_string(&config).unwrap();
    let settings: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(
        settings["verification"]["threshold"].as_float(),
        result["threshold"].as_f64()
    );
    assert!(result["far"].as_f64().unwrap() <= 0.05);
    assert!(text.starts_with("[verification]\n# Decision threshold on the cosine score.\n"));
    assert!(
        text.contains("# voiceprint calibrate: prompted protocol on "),
        "{text}"
    );
    assert!(text.contains("K=2, M=1, 40 trials, seed 59"), "{text}");
}
