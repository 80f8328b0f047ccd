//! Enrolment, verification, identification and restart on real speech.

use tonic::Code;

use crate::support::{container, fixture, test_settings, TestServer, SPEAKERS};
use voiceprint::config::DEFAULT_THRESHOLD;
use voiceprint::model::precision::{select_isa, CpuFeatures, Precision};
use voiceprint::proto::v1 as pb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrolment_reports_quality_and_model() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;

    let response = server.enroll(&SPEAKERS[0]).await;

    let report = response.report.expect("report");
    assert!(report.accepted);
    assert_eq!(report.clips.len(), 3);
    assert!(report.total_speech_seconds >= 8.0, "total speech {}", report.total_speech_seconds);
    for clip in &report.clips {
        assert!(clip.problems.is_empty(), "clip {} problems {:?}", clip.index, clip.problems);
        assert!(clip.agreement.unwrap() > 0.7, "clip {} agreement {:?}", clip.index, clip.agreement);
    }
    let voiceprint = response.subject.unwrap().voiceprint.expect("voiceprint");
    assert_eq!(voiceprint.model, "ge2e-resemblyzer@0.1.4");
    assert_eq!(voiceprint.clip_count, 3);

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genuine_check_ins_match_and_others_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    for speaker in &SPEAKERS {
        server.enroll(speaker).await;
    }

    for claimed in &SPEAKERS {
        for speaker in &SPEAKERS {
            let response = server.verify(claimed.id, fixture(speaker.check_in)).await.expect("verify succeeds");
            let expected = if claimed.id == speaker.id { pb::Decision::Match } else { pb::Decision::NoMatch };
            assert_eq!(
                response.decision(),
                expected,
                "{} claiming to be {}: score {:?}",
                speaker.id,
                claimed.id,
                response.score
            );
            assert_eq!(response.threshold, DEFAULT_THRESHOLD);
            assert_eq!(response.model, "ge2e-resemblyzer@0.1.4");
        }
    }
    assert_eq!(server.row_counts().check_ins, 9);

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identification_returns_the_speaker() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    for speaker in &SPEAKERS {
        server.enroll(speaker).await;
    }

    for speaker in &SPEAKERS {
        let request = pb::IdentifyRequest { audio: Some(container(fixture(speaker.check_in))), max_results: 3, min_score: Some(-1.0) };
        let response = server.verification().identify(request).await.unwrap().into_inner();

        assert_eq!(response.candidates.len(), 3);
        assert_eq!(response.candidates[0].subject_id, speaker.id, "candidates {:?}", response.candidates);
        assert!(response.candidates[0].score > response.candidates[1].score);
    }

    // With the default minimum, only voiceprints at or above the threshold are listed.
    let request = pb::IdentifyRequest { audio: Some(container(fixture(SPEAKERS[1].check_in))), max_results: 0, min_score: None };
    let response = server.verification().identify(request).await.unwrap().into_inner();
    assert_eq!(response.min_score, DEFAULT_THRESHOLD);
    assert!(response.candidates.iter().all(|c| c.score >= DEFAULT_THRESHOLD));
    assert_eq!(response.candidates[0].subject_id, SPEAKERS[1].id);

    // Identification is not a check-in.
    assert_eq!(server.row_counts().check_ins, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_uploads_decide_like_unary_calls() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let speaker = &SPEAKERS[2];

    let mut messages = vec![pb::StreamEnrollRequest { message: Some(pb::stream_enroll_request::Message::SubjectId(speaker.id.into())) }];
    for name in speaker.enroll {
        let content = fixture(name);
        for chunk in content.chunks(10_000) {
            let chunk = pb::AudioChunk { content: prost::bytes::Bytes::copy_from_slice(chunk), format: None };
            messages.push(pb::StreamEnrollRequest { message: Some(pb::stream_enroll_request::Message::Chunk(chunk)) });
        }
        messages.push(pb::StreamEnrollRequest { message: Some(pb::stream_enroll_request::Message::EndOfClip(pb::EndOfClip {})) });
    }
    let enrolled = server.subjects().stream_enroll(tokio_stream::iter(messages)).await.unwrap().into_inner();
    assert_eq!(enrolled.report.unwrap().clips.len(), 3);

    let unary = server.verify(speaker.id, fixture(speaker.check_in)).await.unwrap();

    let start = pb::VerifyStart { subject_id: speaker.id.into(), device_id: "phone-1".into(), format: None };
    let mut messages = vec![pb::StreamVerifyRequest { message: Some(pb::stream_verify_request::Message::Start(start)) }];
    let content = fixture(speaker.check_in);
    for chunk in content.chunks(8_192) {
        let chunk = prost::bytes::Bytes::copy_from_slice(chunk);
        messages.push(pb::StreamVerifyRequest { message: Some(pb::stream_verify_request::Message::AudioContent(chunk)) });
    }
    let streamed = server.verification().stream_verify(tokio_stream::iter(messages)).await.unwrap().into_inner();

    assert_eq!(streamed.decision(), pb::Decision::Match);
    assert_eq!(streamed.score, unary.score);
    assert_eq!(server.row_counts().check_ins, 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headerless_pcm_decides_like_the_container() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let speaker = &SPEAKERS[0];
    server.enroll(speaker).await;

    let wav = fixture(speaker.check_in);
    let pcm = wav.slice(44..);
    let format = pb::AudioFormat { encoding: pb::audio_format::Encoding::Linear16 as i32, sample_rate_hertz: 16_000, audio_channel_count: 1 };
    let request = pb::VerifyRequest {
        subject_id: speaker.id.into(),
        device_id: "phone-1".into(),
        audio: Some(pb::Audio { content: pcm, format: Some(format) }),
    };
    let raw = server.verification().verify(request).await.unwrap().into_inner();
    let container = server.verify(speaker.id, wav).await.unwrap();

    assert_eq!(raw.decision(), pb::Decision::Match);
    let difference = (raw.score.unwrap() - container.score.unwrap()).abs();
    assert!(difference < 1e-4, "raw {:?} container {:?}", raw.score, container.score);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let speaker = &SPEAKERS[0];
    server.enroll(speaker).await;
    server.enroll(speaker).await;
    let first = server.verify(speaker.id, fixture(speaker.check_in)).await.unwrap();

    let subject_before = server.subjects().get_subject(pb::GetSubjectRequest { subject_id: speaker.id.into() }).await.unwrap().into_inner();
    let list = pb::ListCheckInsRequest { subject_id: speaker.id.into(), ..Default::default() };
    let check_ins_before = server.check_ins().list_check_ins(list.clone()).await.unwrap().into_inner();
    let counts_before = server.row_counts();
    server.stop().await;

    let restarted = TestServer::start(dir.path()).await;
    let subject_after = restarted.subjects().get_subject(pb::GetSubjectRequest { subject_id: speaker.id.into() }).await.unwrap().into_inner();
    let check_ins_after = restarted.check_ins().list_check_ins(list).await.unwrap().into_inner();

    assert_eq!(subject_after, subject_before);
    assert_eq!(subject_after.history.len(), 1, "the replaced voiceprint stays in the history");
    assert_eq!(check_ins_after, check_ins_before);
    assert_eq!(restarted.row_counts(), counts_before);

    let second = restarted.verify(speaker.id, fixture(speaker.check_in)).await.unwrap();
    assert_eq!(second.decision(), pb::Decision::Match);
    assert_eq!(second.score, first.score);
    assert!(second.check_in_id > first.check_in_id);
    restarted.stop().await;
}

/// Voiceprints enrolled in fp32 serve check-ins embedded in bf16 or int8: the decisions stay
/// and the scores move by rounding only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reduced_precision_setting_scores_fp32_voiceprints() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    server.enroll(&SPEAKERS[0]).await;
    let mut fp32_responses = Vec::new();
    for speaker in &SPEAKERS {
        fp32_responses.push(server.verify(SPEAKERS[0].id, fixture(speaker.check_in)).await.unwrap());
    }
    server.stop().await;

    let runnable = [Precision::Bf16, Precision::Int8]
        .into_iter()
        .filter(|precision| select_isa(*precision, CpuFeatures::detect()).is_ok());
    for precision in runnable {
        let mut settings = test_settings(dir.path());
        settings.model.precision = precision;
        let restarted = TestServer::start_with(settings).await;

        for (speaker, fp32) in SPEAKERS.iter().zip(&fp32_responses) {
            let response = restarted.verify(SPEAKERS[0].id, fixture(speaker.check_in)).await.unwrap();
            let (score, fp32_score) = (response.score.unwrap(), fp32.score.unwrap());

            assert_eq!(response.decision(), fp32.decision(), "{precision}, check-in of {}", speaker.id);
            assert!((score - fp32_score).abs() < 2e-3, "{precision}, {}: {score} against fp32 {fp32_score}", speaker.id);
            assert_ne!(score, fp32_score, "{precision} gave fp32's score exactly: the setting was not applied");
        }
        restarted.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_enrolment_replaces_the_voiceprint() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;

    // Enrol p226's recordings under p225's id, then re-enrol with p225's own.
    let impostor = pb::EnrollRequest {
        subject_id: SPEAKERS[0].id.into(),
        clips: SPEAKERS[1].enroll.iter().map(|name| container(fixture(name))).collect(),
    };
    server.subjects().enroll(impostor).await.unwrap();
    let before = server.verify(SPEAKERS[0].id, fixture(SPEAKERS[0].check_in)).await.unwrap();
    assert_eq!(before.decision(), pb::Decision::NoMatch);

    let response = server.enroll(&SPEAKERS[0]).await;
    let subject = response.subject.unwrap();
    assert_eq!(subject.history.len(), 1);
    assert!(subject.history[0].replaced_at.is_some());

    let after = server.verify(SPEAKERS[0].id, fixture(SPEAKERS[0].check_in)).await.unwrap();
    assert_eq!(after.decision(), pb::Decision::Match);
    assert_ne!(after.check_in_id, before.check_in_id);
    let unknown = server.verify("p999", fixture(SPEAKERS[0].check_in)).await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    server.stop().await;
}
