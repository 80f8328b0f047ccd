//! Health, reflection, metrics, deletion and the check-in log.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::ServerReflectionRequest;

use crate::support::*;
use voiceprint::proto::v1 as pb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_not_serving_without_a_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("broken.safetensors");
    std::fs::write(&model, b"not a safetensors file").unwrap();
    let mut settings = test_settings(&dir.path().join("data"));
    settings.model.path = model;
    let server = TestServer::start_unready(settings).await;

    let mut health = HealthClient::new(server.channel.clone());
    for service in ["", "voiceprint.v1.VerificationService", "voiceprint.v1.SubjectService"] {
        let response = health.check(HealthCheckRequest { service: service.into() }).await.unwrap().into_inner();
        assert_eq!(response.status(), ServingStatus::NotServing, "service {service:?}");
    }

    let status = server.verify("p225", fixture(SPEAKERS[0].check_in)).await.unwrap_err();
    assert_eq!(code_and_reason(&status), (Code::Unavailable, "MODEL_NOT_READY".to_owned()));

    // Calls that need no model are served meanwhile.
    let status = server.subjects().get_subject(pb::GetSubjectRequest { subject_id: "p225".into() }).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_lists_every_service() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;

    let request = ServerReflectionRequest { host: String::new(), message_request: Some(MessageRequest::ListServices(String::new())) };
    let mut responses = ServerReflectionClient::new(server.channel.clone())
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.next().await.expect("one response").unwrap();

    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("expected a service list, got {:?}", response.message_response);
    };
    let mut names: Vec<String> = list.service.into_iter().map(|service| service.name).collect();
    names.sort();
    for expected in [
        "grpc.health.v1.Health",
        "voiceprint.v1.CheckInService",
        "voiceprint.v1.SubjectService",
        "voiceprint.v1.VerificationService",
    ] {
        assert!(names.iter().any(|name| name == expected), "{expected} missing from {names:?}");
    }

    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::FileContainingSymbol("voiceprint.v1.VerificationService".into())),
    };
    let mut responses = ServerReflectionClient::new(server.channel.clone())
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.next().await.expect("one response").unwrap();
    assert!(matches!(response.message_response, Some(MessageResponse::FileDescriptorResponse(ref files)) if !files.file_descriptor_proto.is_empty()));

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_and_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    server.enroll(&SPEAKERS[0]).await;
    server.verify(SPEAKERS[0].id, fixture(SPEAKERS[0].check_in)).await.unwrap();
    server.verify("nobody", fixture(SPEAKERS[0].check_in)).await.unwrap_err();

    let address = server.server.metrics_address().expect("metrics endpoint");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();

    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    // The recorder is shared by every server in this process, so counts are at least ours.
    for expected in [
        r#"voiceprint_requests_total{method="Verify",status="OK",reason=""}"#,
        r#"voiceprint_requests_total{method="Verify",status="NOT_FOUND",reason="SUBJECT_NOT_FOUND"}"#,
        r#"voiceprint_requests_total{method="Enroll",status="OK",reason=""}"#,
        r#"voiceprint_decisions_total{decision="MATCH",reason=""}"#,
        r#"voiceprint_request_duration_seconds_bucket{method="Verify",le="+Inf"}"#,
    ] {
        assert!(response.contains(expected), "{expected} missing from\n{response}");
    }

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_erases_audio_data_and_keeps_the_id() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    server.enroll(&SPEAKERS[0]).await;
    server.verify(SPEAKERS[0].id, fixture(SPEAKERS[0].check_in)).await.unwrap();
    server.clock.advance(Duration::from_secs(3600));

    let deleted = server.subjects().delete_subject(pb::DeleteSubjectRequest { subject_id: SPEAKERS[0].id.into() }).await.unwrap().into_inner();
    assert_eq!(deleted.subject_id, SPEAKERS[0].id);
    assert_eq!(deleted.deleted_at, Some(time(Duration::from_secs(3600)).into()));
    assert_eq!(deleted.voiceprint, None);
    assert!(deleted.history.iter().all(|voiceprint| voiceprint.erased_at.is_some()));

    let fetched = server.subjects().get_subject(pb::GetSubjectRequest { subject_id: SPEAKERS[0].id.into() }).await.unwrap().into_inner();
    assert_eq!(fetched, deleted);

    let list = pb::ListCheckInsRequest { subject_id: SPEAKERS[0].id.into(), ..Default::default() };
    let check_ins = server.check_ins().list_check_ins(list).await.unwrap().into_inner().check_ins;
    assert_eq!(check_ins.len(), 1);
    assert_eq!(check_ins[0].decision(), pb::Decision::Match, "the decision stays in the log");
    assert_eq!(check_ins[0].score, None);
    assert_eq!(check_ins[0].quality, None);
    assert!(check_ins[0].erased_at.is_some());

    let connection = rusqlite::Connection::open(dir.path().join(voiceprint::store::DATABASE_FILE)).unwrap();
    let audio_derived: i64 = connection
        .query_row(
            "SELECT (SELECT count(*) FROM voiceprints WHERE embedding IS NOT NULL)
                  + (SELECT count(*) FROM enrollment_clips)
                  + (SELECT count(*) FROM check_ins WHERE embedding IS NOT NULL OR audio_sha256 IS NOT NULL OR score IS NOT NULL)",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(audio_derived, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_ins_page_by_subject_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    server.enroll(&SPEAKERS[0]).await;
    server.enroll(&SPEAKERS[1]).await;

    // One check-in of each subject every ten minutes, by the server's clock.
    for _ in 0..3 {
        server.verify(SPEAKERS[0].id, fixture(SPEAKERS[0].check_in)).await.unwrap();
        server.verify(SPEAKERS[1].id, fixture(SPEAKERS[1].check_in)).await.unwrap();
        server.clock.advance(Duration::from_secs(600));
    }

    let mut request = pb::ListCheckInsRequest {
        subject_id: SPEAKERS[0].id.into(),
        start_time: Some(time(Duration::from_secs(600)).into()),
        end_time: Some(time(Duration::from_secs(1800)).into()),
        page_size: 1,
        page_token: String::new(),
    };
    let first = server.check_ins().list_check_ins(request.clone()).await.unwrap().into_inner();
    assert_eq!(first.check_ins.len(), 1);
    assert_eq!(first.check_ins[0].checked_in_at, Some(time(Duration::from_secs(600)).into()));
    assert_eq!(first.check_ins[0].subject_id, SPEAKERS[0].id);
    assert_eq!(first.check_ins[0].device_id, "phone-1");
    assert!(!first.next_page_token.is_empty());

    request.page_token = first.next_page_token;
    let second = server.check_ins().list_check_ins(request.clone()).await.unwrap().into_inner();
    assert_eq!(second.check_ins.len(), 1);
    assert_eq!(second.check_ins[0].checked_in_at, Some(time(Duration::from_secs(1200)).into()));
    assert!(second.next_page_token.is_empty());

    let everyone = pb::ListCheckInsRequest::default();
    let all = server.check_ins().list_check_ins(everyone).await.unwrap().into_inner();
    assert_eq!(all.check_ins.len(), 6);

    request.page_token = "not-a-token".into();
    let status = server.check_ins().list_check_ins(request).await.unwrap_err();
    assert_eq!(violated_fields(&status), vec!["page_token"]);
    server.stop().await;
}
