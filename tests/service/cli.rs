//! The `voiceprint client` binary against an in-process server.

use std::process::{Command, Output};

use serde_json::Value;

use crate::support::*;

/// Runs `voiceprint client --server URL ARGS...` off the async runtime.
async fn client(server: &TestServer, args: &[&str]) -> Output {
    let url = format!("http://{}", server.address());
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_voiceprint"))
            .arg("client")
            .arg("--server")
            .arg(url)
            .args(args)
            .env_remove("VOICEPRINT_SERVER")
            .output()
            .expect("the binary runs")
    })
    .await
    .unwrap()
}

fn json_output(output: &Output) -> Value {
    assert!(output.status.success(), "exit {:?}, stderr:\n{}", output.status, String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one JSON object per call:\n{stdout}");
    serde_json::from_str(&stdout).expect("stdout is JSON")
}

fn path(name: &str) -> String {
    fixture_path(name).display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_enrolls_verifies_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let speaker = &SPEAKERS[0];

    let mut enroll = vec!["enroll", "--subject", speaker.id];
    let files: Vec<String> = speaker.enroll.iter().map(|name| path(name)).collect();
    enroll.extend(files.iter().map(String::as_str));
    let enrolled = json_output(&client(&server, &enroll).await);
    assert_eq!(enrolled["subject_id"], speaker.id);
    assert_eq!(enrolled["report"]["accepted"], true);
    assert_eq!(enrolled["voiceprint"]["model"], "ge2e-resemblyzer@0.1.4");

    let genuine = path(speaker.check_in);
    let verified = json_output(&client(&server, &["verify", "--subject", speaker.id, "--device", "phone-7", &genuine]).await);
    assert_eq!(verified["decision"], "MATCH");
    assert!(verified["score"].as_f64().unwrap() >= verified["threshold"].as_f64().unwrap());

    // A decision of NO_MATCH is a successful call too.
    let impostor = path(SPEAKERS[1].check_in);
    let rejected = json_output(&client(&server, &["verify", "--subject", speaker.id, "--device", "phone-7", &impostor, "--stream"]).await);
    assert_eq!(rejected["decision"], "NO_MATCH");

    let identified = json_output(&client(&server, &["identify", &genuine]).await);
    assert_eq!(identified["candidates"][0]["subject_id"], speaker.id);

    let deleted = json_output(&client(&server, &["delete", "--subject", speaker.id]).await);
    assert!(deleted["deleted_at"].is_string());
    assert!(deleted["voiceprint"].is_null());

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_error_exits_one_with_status_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;

    let output = client(&server, &["verify", "--subject", "nobody", "--device", "phone-7", &path(SPEAKERS[0].check_in)]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("NOT_FOUND SUBJECT_NOT_FOUND"), "{stderr}");

    let output = client(&server, &["enroll", "--subject", "bad\tid", &path(SPEAKERS[0].enroll[0])]).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("INVALID_ARGUMENT INVALID_FIELD"), "{stderr}");
    assert!(stderr.contains("  subject_id: "), "field violations are listed: {stderr}");

    server.stop().await;
}
