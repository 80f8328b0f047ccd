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
    assert_eq!(stderr.matches("subject_id: ").count(), 1, "each violation is printed once: {stderr}");

    server.stop().await;
}

/// Reads one line of a running client's output off the async runtime.
async fn next_line(reader: std::io::BufReader<std::process::ChildStdout>) -> (String, std::io::BufReader<std::process::ChildStdout>) {
    tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut reader = reader;
        let mut line = String::new();
        reader.read_line(&mut line).expect("the client's output is readable");
        (line, reader)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_prints_open_alerts_and_follows_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    server.enroll(&SPEAKERS[0]).await;
    server.enroll(&SPEAKERS[1]).await;

    // p226 checks in as p225: a proxy check-in.
    server.verify(SPEAKERS[0].id, fixture(SPEAKERS[1].check_in)).await.unwrap();
    let listed = json_output(&client(&server, &["alerts"]).await);
    assert_eq!(listed["subject_id"], "p225");
    assert_eq!(listed["signal"], "PROXY_CHECK_IN");
    assert_eq!(listed["state"], "OPEN");
    assert_eq!(listed["evidence"][0]["decision"], "NO_MATCH");
    assert_eq!(listed["evidence"][0]["proxy"]["subject_id"], "p226");
    assert!(listed["evidence"][0]["score"].is_number());
    let first_id = listed["id"].as_u64().unwrap();

    let mut follower = Command::new(env!("CARGO_BIN_EXE_voiceprint"))
        .args(["client", "--server", &format!("http://{}", server.address()), "alerts", "--follow"])
        .env_remove("VOICEPRINT_SERVER")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let reader = std::io::BufReader::new(follower.stdout.take().unwrap());

    // The open alert comes first; once it is printed, the watch is subscribed.
    let (line, reader) = next_line(reader).await;
    let existing: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(existing["event"], "EXISTING");
    assert_eq!(existing["id"], first_id);

    server.verify(SPEAKERS[0].id, fixture("p226_005.wav")).await.unwrap();
    let (line, _reader) = next_line(reader).await;
    let raised: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(raised["event"], "RAISED");
    assert_eq!(raised["signal"], "PROXY_CHECK_IN");
    assert_ne!(raised["id"], first_id);
    follower.kill().unwrap();
    follower.wait().unwrap();

    let id = first_id.to_string();
    let acknowledged = json_output(&client(&server, &["ack", "--alert", &id, "--officer", "officer-7"]).await);
    assert_eq!(acknowledged["state"], "ACKNOWLEDGED");
    let output = client(&server, &["close", "--alert", &id, "--officer", "officer-7"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("  note: "));
    let closed = json_output(&client(&server, &["close", "--alert", &id, "--officer", "officer-7", "--note", "seen in person"]).await);
    assert_eq!(closed["state"], "CLOSED");
    assert_eq!(closed["closure"]["note"], "seen in person");

    let open = json_output(&client(&server, &["alerts"]).await);
    assert_eq!(open["event"], Value::Null);
    assert_ne!(open["id"], first_id, "only the second alert is still open");
    let output = client(&server, &["alerts", "--state", "all"]).await;
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 2);

    server.stop().await;
}

#[test]
fn unreachable_server_is_named() {
    // A port that was just free: nothing listens on it once the listener is dropped.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);

    let output = Command::new(env!("CARGO_BIN_EXE_voiceprint"))
        .args(["client", "--server", &url, "get", "--subject", "p225"])
        .env_remove("VOICEPRINT_SERVER")
        .output()
        .expect("the binary runs");

    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with(&format!("error: UNAVAILABLE: cannot reach the server at {url}: ")), "{stderr}");
    assert!(stderr.to_lowercase().contains("connection refused"), "the cause is given: {stderr}");
}
