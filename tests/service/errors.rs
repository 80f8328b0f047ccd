//! Every row of the error table: the status, the reason code, and what the store records.
//! Rejected requests must leave every table as it was; INCONCLUSIVE, MATCH and NO_MATCH
//! decisions each add one check-in.

use std::fmt::Debug;
use std::future::Future;

use prost::bytes::Bytes;
use prost::Message;
use tonic::{Code, Status};

use crate::support::*;
use voiceprint::proto::v1 as pb;
use voiceprint::service::status::ENROLLMENT_REPORT_TYPE_URL;
use voiceprint::embed::QualityReport;
use voiceprint::store::{NewClip, NewEnrollment, Store};

/// Runs `call`, expecting it to fail with `code` and `reason` and to change no table.
async fn assert_rejected<T: Debug>(
    server: &TestServer,
    row: &str,
    code: Code,
    reason: &str,
    call: impl Future<Output = Result<T, Status>>,
) -> Status {
    let before = server.row_counts();
    let status = call.await.expect_err(row);
    assert_eq!(code_and_reason(&status), (code, reason.to_owned()), "{row}: {status:?}");
    assert_eq!(server.row_counts(), before, "{row}: the store changed");
    status
}

/// Verifies `content` as the enrolled p225, expecting an INCONCLUSIVE decision for `reason`
/// recorded as one new check-in.
async fn assert_inconclusive(server: &TestServer, content: Bytes, reason: pb::InconclusiveReason) {
    let before = server.row_counts();
    let response = server.verify(SPEAKERS[0].id, content).await.unwrap_or_else(|status| panic!("{reason:?}: {status:?}"));

    assert_eq!(response.decision(), pb::Decision::Inconclusive, "{reason:?}: quality {:?}", response.quality);
    assert_eq!(response.inconclusive_reason(), reason, "quality {:?}", response.quality);
    assert_eq!(response.score, None);
    assert_eq!(server.row_counts().check_ins, before.check_ins + 1, "{reason:?} is recorded");

    let list = pb::ListCheckInsRequest { subject_id: SPEAKERS[0].id.into(), ..Default::default() };
    let check_ins = server.check_ins().list_check_ins(list).await.unwrap().into_inner().check_ins;
    let recorded = check_ins.iter().find(|c| c.id == response.check_in_id).expect("check-in listed");
    assert_eq!(recorded.decision(), pb::Decision::Inconclusive);
    assert_eq!(recorded.inconclusive_reason(), reason);
}

async fn server_with_p225(dir: &std::path::Path) -> TestServer {
    let server = TestServer::start(dir).await;
    server.enroll(&SPEAKERS[0]).await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_audio_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_p225(dir.path()).await;

    let mut zero_channels = fixture(SPEAKERS[0].check_in).to_vec();
    zero_channels[22] = 0;
    let status = assert_rejected(
        &server,
        "WAV whose fmt chunk states 0 channels",
        Code::InvalidArgument,
        "AUDIO_UNDECODABLE",
        server.verify(SPEAKERS[0].id, zero_channels.into()),
    )
    .await;
    assert_eq!(violated_fields(&status), vec!["audio"]);

    let cut_header = fixture(SPEAKERS[0].check_in).slice(..30);
    assert_rejected(&server, "WAV cut inside its header", Code::InvalidArgument, "AUDIO_UNDECODABLE", server.verify(SPEAKERS[0].id, cut_header))
        .await;

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_audio_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_p225(dir.path()).await;

    let aiff = Bytes::from_static(b"FORM\x00\x00\x00\x2eAIFFCOMM\x00\x00\x00\x12\x00\x01\x00\x00\x00\x00\x00\x10\x40\x0c\xfa\x00\x00\x00\x00\x00\x00\x00");
    assert_rejected(&server, "AIFF", Code::InvalidArgument, "AUDIO_UNSUPPORTED", server.verify(SPEAKERS[0].id, aiff)).await;

    // A WAV file whose format tag 0x0031 is GSM 6.10, a codec the decoder lacks.
    let mut gsm = fixture(SPEAKERS[0].check_in).to_vec();
    gsm[20] = 0x31;
    gsm[21] = 0x00;
    assert_rejected(&server, "GSM in WAV", Code::InvalidArgument, "AUDIO_UNSUPPORTED", server.verify(SPEAKERS[0].id, gsm.into()))
        .await;

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_over_duration_limit_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.limits.audio.max_seconds = 10.0;
    let server = TestServer::start_with(settings).await;
    server.enroll(&SPEAKERS[0]).await;

    let mut long = fixture_samples(SPEAKERS[0].check_in);
    long.extend(fixture_samples(SPEAKERS[0].enroll[0]));
    assert!(long.len() > 10 * 16_000);
    assert_rejected(&server, "12 s of audio", Code::InvalidArgument, "AUDIO_TOO_LONG", server.verify(SPEAKERS[0].id, wav(&long)))
        .await;

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_over_size_limit_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_p225(dir.path()).await;

    // One byte over the default limit of 32 MiB: inside the gRPC message limit, so the
    // service's own size check rejects it.
    let oversized = Bytes::from(vec![0u8; 32 * 1024 * 1024 + 1]);
    let status = assert_rejected(
        &server,
        "unary",
        Code::ResourceExhausted,
        "AUDIO_TOO_LARGE",
        server.verify(SPEAKERS[0].id, oversized.clone()),
    )
    .await;
    assert_eq!(violated_fields(&status), vec!["audio"]);

    let start = pb::VerifyStart { subject_id: SPEAKERS[0].id.into(), device_id: "phone-1".into(), format: None };
    let mut messages = vec![pb::StreamVerifyRequest { message: Some(pb::stream_verify_request::Message::Start(start)) }];
    for chunk in oversized.chunks(4 * 1024 * 1024) {
        let chunk = Bytes::copy_from_slice(chunk);
        messages.push(pb::StreamVerifyRequest { message: Some(pb::stream_verify_request::Message::AudioContent(chunk)) });
    }
    let mut client = server.verification();
    assert_rejected(
        &server,
        "streamed",
        Code::ResourceExhausted,
        "AUDIO_TOO_LARGE",
        client.stream_verify(tokio_stream::iter(messages)),
    )
    .await;

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_malformed_fields_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_p225(dir.path()).await;

    let missing = pb::VerifyRequest { subject_id: SPEAKERS[0].id.into(), device_id: String::new(), audio: None };
    let status = assert_rejected(
        &server,
        "missing device and audio",
        Code::InvalidArgument,
        "INVALID_FIELD",
        server.verification().verify(missing),
    )
    .await;
    assert_eq!(violated_fields(&status), vec!["device_id", "audio"]);

    let format = pb::AudioFormat { encoding: pb::audio_format::Encoding::Linear16 as i32, sample_rate_hertz: -8000, audio_channel_count: 1 };
    let malformed = pb::VerifyRequest {
        subject_id: "bad\nid".into(),
        device_id: "phone-1".into(),
        audio: Some(pb::Audio { content: Bytes::from_static(&[0, 0]), format: Some(format) }),
    };
    let status = assert_rejected(
        &server,
        "control character and negative rate",
        Code::InvalidArgument,
        "INVALID_FIELD",
        server.verification().verify(malformed),
    )
    .await;
    assert_eq!(violated_fields(&status), vec!["subject_id", "audio.format.sample_rate_hertz"]);

    let empty_enrolment = pb::EnrollRequest { subject_id: "new".into(), clips: Vec::new() };
    let status =
        assert_rejected(&server, "enrolment without clips", Code::InvalidArgument, "INVALID_FIELD", server.subjects().enroll(empty_enrolment))
            .await;
    assert_eq!(violated_fields(&status), vec!["clips"]);

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_subject_is_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_p225(dir.path()).await;

    assert_rejected(&server, "verify", Code::NotFound, "SUBJECT_NOT_FOUND", server.verify("nobody", fixture(SPEAKERS[0].check_in))).await;
    assert_rejected(
        &server,
        "get",
        Code::NotFound,
        "SUBJECT_NOT_FOUND",
        server.subjects().get_subject(pb::GetSubjectRequest { subject_id: "nobody".into() }),
    )
    .await;
    assert_rejected(
        &server,
        "delete",
        Code::NotFound,
        "SUBJECT_NOT_FOUND",
        server.subjects().delete_subject(pb::DeleteSubjectRequest { subject_id: "nobody".into() }),
    )
    .await;

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_subject_is_not_enrolled() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_p225(dir.path()).await;
    server.subjects().delete_subject(pb::DeleteSubjectRequest { subject_id: SPEAKERS[0].id.into() }).await.unwrap();

    assert_rejected(
        &server,
        "verify after deletion",
        Code::FailedPrecondition,
        "NOT_ENROLLED",
        server.verify(SPEAKERS[0].id, fixture(SPEAKERS[0].check_in)),
    )
    .await;

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voiceprint_of_another_model_is_a_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    // A voiceprint made by another model, as a store kept from an earlier deployment holds.
    let store = Store::open(dir.path()).unwrap();
    let quality = QualityReport {
        format: "wav".into(),
        source_sample_rate: 16_000,
        source_channels: 1,
        duration_seconds: 10.0,
        speech_seconds: 9.0,
        clipping_ratio: 0.0,
        snr_db: 40.0,
    };
    let clip = NewClip {
        index: 0,
        embedding: vec![1.0 / 16.0; 256],
        quality,
        agreement: None,
        audio_sha256: [0; 32],
        audio: None,
    };
    store
        .save_enrollment(&NewEnrollment {
            subject_id: "legacy".into(),
            model: "other-encoder@2.0".into(),
            embedding: vec![1.0 / 16.0; 256],
            clips: vec![clip],
            enrolled_at: time(std::time::Duration::ZERO),
        })
        .unwrap();
    drop(store);

    let server = TestServer::start(dir.path()).await;
    let status = assert_rejected(
        &server,
        "voiceprint of another model",
        Code::FailedPrecondition,
        "MODEL_MISMATCH",
        server.verify("legacy", fixture(SPEAKERS[0].check_in)),
    )
    .await;
    let info = tonic_types::StatusExt::get_error_details(&status).error_info().cloned().unwrap();
    assert_eq!(info.metadata.get("voiceprint_model").map(String::as_str), Some("other-encoder@2.0"));

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolment_failing_the_gate_reports_each_clip() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_p225(dir.path()).await;
    let original = server.subjects().get_subject(pb::GetSubjectRequest { subject_id: SPEAKERS[0].id.into() }).await.unwrap().into_inner();

    // Two clips of p225 and one of p226: the p226 clip is unlike the others.
    let mixed = pb::EnrollRequest {
        subject_id: SPEAKERS[0].id.into(),
        clips: vec![
            container(fixture(SPEAKERS[0].enroll[0])),
            container(fixture(SPEAKERS[0].enroll[1])),
            container(fixture(SPEAKERS[1].enroll[0])),
            container(fixture(SPEAKERS[0].enroll[2])),
        ],
    };
    let status = assert_rejected(&server, "mixed speakers", Code::InvalidArgument, "ENROLLMENT_QUALITY", server.subjects().enroll(mixed)).await;
    assert_eq!(violated_fields(&status), vec!["clips[2]"]);

    let report = enrollment_report(&status);
    assert!(!report.accepted);
    assert_eq!(report.clips[2].problems().collect::<Vec<_>>(), vec![pb::clip_report::Problem::UnlikeOtherClips]);
    assert!(report.clips.iter().enumerate().all(|(i, clip)| i == 2 || clip.problems.is_empty()));

    // One clip of 1.5 s: too short on its own and too little speech in all.
    let mut short = fixture_samples(SPEAKERS[1].enroll[0]);
    short.truncate(16_000 * 3 / 2);
    let short = pb::EnrollRequest { subject_id: SPEAKERS[1].id.into(), clips: vec![container(wav(&short))] };
    let status = assert_rejected(&server, "one short clip", Code::InvalidArgument, "ENROLLMENT_QUALITY", server.subjects().enroll(short)).await;
    assert_eq!(violated_fields(&status), vec!["clips[0]", "clips"]);
    let report = enrollment_report(&status);
    // Continuous speech this short has too few pauses for the SNR estimate to be reliable,
    // so the clip may be reported as too noisy as well.
    assert!(report.clips[0].problems().any(|problem| problem == pb::clip_report::Problem::TooShort));

    let unchanged = server.subjects().get_subject(pb::GetSubjectRequest { subject_id: SPEAKERS[0].id.into() }).await.unwrap().into_inner();
    assert_eq!(unchanged, original, "the earlier voiceprint stays in use");
    server.stop().await;
}

fn enrollment_report(status: &Status) -> pb::EnrollmentReport {
    let details = tonic_types::pb::Status::decode(status.details()).expect("status details");
    let detail = details.details.iter().find(|any| any.type_url == ENROLLMENT_REPORT_TYPE_URL).expect("report detail");
    pb::EnrollmentReport::decode(detail.value.as_slice()).expect("report decodes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_queue_is_overloaded() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_p225(dir.path()).await;

    let hold = server.server.registry().pool().hold_all().await;
    assert_rejected(
        &server,
        "verify while every place is held",
        Code::ResourceExhausted,
        "OVERLOADED",
        server.verify(SPEAKERS[0].id, fixture(SPEAKERS[0].check_in)),
    )
    .await;
    assert_rejected(&server, "enrol while every place is held", Code::ResourceExhausted, "OVERLOADED", async {
        let clips = SPEAKERS[1].enroll.iter().map(|name| container(fixture(name))).collect();
        server.subjects().enroll(pb::EnrollRequest { subject_id: "p226".into(), clips }).await
    })
    .await;
    drop(hold);

    let response = server.verify(SPEAKERS[0].id, fixture(SPEAKERS[0].check_in)).await.expect("served once released");
    assert_eq!(response.decision(), pb::Decision::Match);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_is_inconclusive_no_speech() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_p225(dir.path()).await;
    assert_inconclusive(&server, wav(&vec![0.0; 3 * 16_000]), pb::InconclusiveReason::NoSpeech).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_speech_is_inconclusive_too_short() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_p225(dir.path()).await;

    // The first 0.8 s of the clip: less speech than the 1 s minimum, more than the 0.3 s
    // below which the pipeline finds no speech.
    let mut samples = fixture_samples(SPEAKERS[0].check_in);
    samples.truncate(16_000 * 4 / 5);
    assert_inconclusive(&server, wav(&samples), pb::InconclusiveReason::TooShort).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clipped_speech_is_inconclusive_clipped() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_p225(dir.path()).await;

    let amplified: Vec<f32> = fixture_samples(SPEAKERS[0].check_in).iter().map(|x| x * 30.0).collect();
    assert_inconclusive(&server, wav(&amplified), pb::InconclusiveReason::Clipped).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noisy_speech_is_inconclusive_too_noisy() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_p225(dir.path()).await;

    let speech = fixture_samples(SPEAKERS[0].check_in);
    let noise = white_noise(speech.len(), rms(&speech), 7);
    let noisy: Vec<f32> = speech.iter().zip(&noise).map(|(s, n)| s + n).collect();
    assert_inconclusive(&server, wav(&noisy), pb::InconclusiveReason::TooNoisy).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_p225(dir.path()).await;
    server.enroll(&SPEAKERS[1]).await;

    for (speaker, expected) in [(&SPEAKERS[0], pb::Decision::Match), (&SPEAKERS[1], pb::Decision::NoMatch)] {
        let before = server.row_counts();
        let response = server.verify(SPEAKERS[0].id, fixture(speaker.check_in)).await.unwrap();
        assert_eq!(response.decision(), expected);
        assert_eq!(server.row_counts().check_ins, before.check_ins + 1, "{expected:?} is recorded");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_enrolment_checks_its_framing() {
    use pb::stream_enroll_request::Message;

    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let message = |message: Message| pb::StreamEnrollRequest { message: Some(message) };
    let chunk = |name: &str| message(Message::Chunk(pb::AudioChunk { content: fixture(name), format: None }));
    let end = || message(Message::EndOfClip(pb::EndOfClip {}));
    let subject = || message(Message::SubjectId("p225".into()));

    let cases = [
        ("chunk before the subject", vec![chunk(SPEAKERS[0].enroll[0]), end()], "subject_id"),
        ("subject twice", vec![subject(), subject()], "subject_id"),
        ("clip never closed", vec![subject(), chunk(SPEAKERS[0].enroll[0])], "clips[0]"),
        ("end of clip without chunks", vec![subject(), end()], "clips[0]"),
        ("no clip", vec![subject()], "clips"),
    ];
    for (row, messages, field) in cases {
        let mut client = server.subjects();
        let status =
            assert_rejected(&server, row, Code::InvalidArgument, "INVALID_FIELD", client.stream_enroll(tokio_stream::iter(messages))).await;
        assert_eq!(violated_fields(&status), vec![field], "{row}");
    }
    server.stop().await;
}
