//! The `voiceprint` binary as scripts use it: output formats and exit statuses.

mod common;

use std::process::{Command, Output};

use common::fixture;

fn voiceprint(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_voiceprint")).args(args).output().expect("the binary runs")
}

fn stdout_lines(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON: {line}: {error}")))
        .collect()
}

#[test]
fn embed_json_reports_each_file() {
    let good = fixture("golden/vctk_p225_003.wav");
    let bad = fixture("README.md");
    let output = voiceprint(&["embed", "--json", good.to_str().unwrap(), bad.to_str().unwrap()]);

    assert_eq!(output.status.code(), Some(1), "one file failed");
    let lines = stdout_lines(&output);
    assert_eq!(lines.len(), 2);

    assert_eq!(lines[0]["file"], good.to_str().unwrap());
    assert_eq!(lines[0]["embedding"].as_array().unwrap().len(), 256);
    assert_eq!(lines[0]["model"], "ge2e-resemblyzer@0.1.4");
    let speech_seconds = lines[0]["speech_seconds"].as_f64().unwrap();
    assert!((speech_seconds - 90_720.0 / 16_000.0).abs() < 1e-9, "{speech_seconds}");

    assert_eq!(lines[1]["file"], bad.to_str().unwrap());
    assert_eq!(lines[1]["error"]["code"], "AUDIO_UNSUPPORTED");
    assert!(lines[1]["error"]["message"].as_str().unwrap().contains("unsupported"));
}

#[test]
fn embed_succeeds_on_good_files() {
    let clip = fixture("golden/aishell_S0150W0001.wav");
    let output = voiceprint(&["embed", clip.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));

    let text = String::from_utf8(output.stdout).unwrap();
    let fields: Vec<&str> = text.trim_end().split('\t').collect();
    assert_eq!(fields.len(), 4, "file, model, speech seconds, values");
    assert_eq!(fields[3].split(' ').count(), 256);
}

#[test]
fn compare_scores_same_and_other_speaker() {
    let first = fixture("golden/vctk_p225_003.wav");
    let same = fixture("golden/vctk_p225_003_44k_float.wav");
    let other = fixture("golden/aishell_S0150W0001.wav");

    let score = |a: &std::path::Path, b: &std::path::Path| {
        let output = voiceprint(&["compare", "--json", a.to_str().unwrap(), b.to_str().unwrap()]);
        assert_eq!(output.status.code(), Some(0));
        stdout_lines(&output)[0]["score"].as_f64().unwrap()
    };

    let same_score = score(&first, &same);
    let other_score = score(&first, &other);
    assert!(same_score > 0.99, "same recording at 44.1 kHz: {same_score}");
    assert!(other_score < same_score - 0.2, "other speaker: {other_score}");
}

#[test]
fn compare_fails_on_bad_file() {
    let good = fixture("golden/vctk_p225_003.wav");
    let bad = fixture("README.md");
    let output = voiceprint(&["compare", good.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("AUDIO_UNSUPPORTED"));
}

#[test]
fn usage_error_exits_with_two() {
    assert_eq!(voiceprint(&["embed"]).status.code(), Some(2));
    assert_eq!(voiceprint(&["no-such-command"]).status.code(), Some(2));
}

#[test]
fn import_rejects_other_checkpoint() {
    let tiny = fixture("model/tiny_legacy.pt");
    let output_dir = tempfile::tempdir().unwrap();
    let target = output_dir.path().join("model.safetensors");
    let output = voiceprint(&["model", "import-resemblyzer", tiny.to_str().unwrap(), "--output", target.to_str().unwrap()]);

    assert_eq!(output.status.code(), Some(1));
    assert!(!target.exists(), "no model file is written");
    assert!(!String::from_utf8_lossy(&output.stderr).is_empty());
}
