//! Person-device separation alerts on real speech, with the server's clock under the test's
//! control: mismatch streaks, proxy check-ins, replays, their delivery and their handling.

use std::time::Duration;

use prost::bytes::Bytes;
use tokio_stream::StreamExt;
use tonic::Code;

use crate::support::*;
use voiceprint::proto::v1 as pb;

const HOUR: Duration = Duration::from_secs(3600);

/// Recordings of p226 and p228, none of which is a copy of another, to check in as someone
/// else without also replaying an earlier check-in.
const IMPOSTOR_CLIPS: [&str; 8] = [
    "p226_003.wav",
    "p226_005.wav",
    "p226_008.wav",
    "p226_011.wav",
    "p228_003.wav",
    "p228_005.wav",
    "p228_008.wav",
    "p228_011.wav",
];

/// Enrols p225 from two of its clips, so that p225_016 and p225_019 remain as genuine
/// check-ins that no enrolment clip reproduces.
async fn enroll_p225(server: &TestServer) {
    let clips = ["p225_008.wav", "p225_011.wav"].iter().map(|name| container(fixture(name))).collect();
    let request = pb::EnrollRequest { subject_id: "p225".into(), clips };
    server.subjects().enroll(request).await.expect("p225 enrols from two clips");
}

/// Sets the server's clock to `offset` after the test start, then checks in.
async fn check_in_at(server: &TestServer, offset: Duration, subject_id: &str, content: Bytes) -> pb::VerifyResponse {
    server.clock.set(time(offset));
    server.verify(subject_id, content).await.unwrap_or_else(|status| panic!("check-in at {offset:?} failed: {status:?}"))
}

fn signal_of(alert: &pb::Alert) -> pb::AlertSignal {
    alert.signal()
}

fn evidence_ids(alert: &pb::Alert) -> Vec<u64> {
    alert.evidence.iter().map(|evidence| evidence.check_in_id).collect()
}

/// Two seconds of digital silence: decodable, but INCONCLUSIVE NO_SPEECH.
fn silence() -> Bytes {
    wav(&vec![0.0; 32_000])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streak_raises_one_alert_match_resets() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    enroll_p225(&server).await;

    let mut streak = Vec::new();
    for (hour, clip) in IMPOSTOR_CLIPS[..3].iter().enumerate() {
        let response = check_in_at(&server, HOUR * hour as u32, "p225", fixture(clip)).await;
        assert_eq!(response.decision(), pb::Decision::NoMatch, "{clip}");
        streak.push(response);
        let expected = if hour < 2 { 0 } else { 1 };
        assert_eq!(server.list_alerts("p225").await.len(), expected, "alerts after {} NO_MATCH", hour + 1);
    }

    let alerts = server.list_alerts("p225").await;
    let alert = &alerts[0];
    assert_eq!(signal_of(alert), pb::AlertSignal::MismatchStreak);
    assert_eq!(alert.state(), pb::AlertState::Open);
    assert_eq!(alert.subject_id, "p225");
    assert_eq!(alert.raised_at, streak[2].checked_in_at);
    assert_eq!(evidence_ids(alert), streak.iter().map(|r| r.check_in_id).collect::<Vec<_>>());
    for (evidence, response) in alert.evidence.iter().zip(&streak) {
        assert_eq!(evidence.decision(), pb::Decision::NoMatch);
        assert_eq!(evidence.score, response.score);
        assert_eq!(evidence.checked_in_at, response.checked_in_at);
        assert!(evidence.detail.is_none());
    }

    // A fourth NO_MATCH belongs to the same streak: it joins the alert instead of raising one.
    let fourth = check_in_at(&server, 3 * HOUR, "p225", fixture(IMPOSTOR_CLIPS[3])).await;
    let alerts = server.list_alerts("p225").await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].evidence.len(), 4);
    assert_eq!(alerts[0].evidence[3].check_in_id, fourth.check_in_id);
    assert_eq!(alerts[0].updated_at, fourth.checked_in_at);

    // A MATCH ends the streak: two more NO_MATCHes are not enough, the third starts a new alert.
    let genuine = check_in_at(&server, 4 * HOUR, "p225", fixture("p225_019.wav")).await;
    assert_eq!(genuine.decision(), pb::Decision::Match);
    check_in_at(&server, 5 * HOUR, "p225", fixture(IMPOSTOR_CLIPS[4])).await;
    check_in_at(&server, 6 * HOUR, "p225", fixture(IMPOSTOR_CLIPS[5])).await;
    assert_eq!(server.list_alerts("p225").await.len(), 1);

    let last = check_in_at(&server, 7 * HOUR, "p225", fixture(IMPOSTOR_CLIPS[6])).await;
    let alerts = server.list_alerts("p225").await;
    assert_eq!(alerts.len(), 2);
    assert_eq!(signal_of(&alerts[1]), pb::AlertSignal::MismatchStreak);
    assert_eq!(alerts[1].evidence.len(), 3);
    assert_eq!(alerts[1].evidence[2].check_in_id, last.check_in_id);
    assert_eq!(alerts[0].evidence.len(), 4, "the first streak's alert is not extended");

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inconclusive_leaves_streak_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    enroll_p225(&server).await;

    let first = check_in_at(&server, Duration::ZERO, "p225", fixture(IMPOSTOR_CLIPS[0])).await;
    let inconclusive = check_in_at(&server, HOUR, "p225", silence()).await;
    assert_eq!(inconclusive.decision(), pb::Decision::Inconclusive);
    let second = check_in_at(&server, 2 * HOUR, "p225", fixture(IMPOSTOR_CLIPS[1])).await;
    check_in_at(&server, 3 * HOUR, "p225", silence()).await;
    assert!(server.list_alerts("p225").await.is_empty(), "two NO_MATCHes and two INCONCLUSIVEs are no streak");

    let third = check_in_at(&server, 4 * HOUR, "p225", fixture(IMPOSTOR_CLIPS[2])).await;
    let alerts = server.list_alerts("p225").await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(signal_of(&alerts[0]), pb::AlertSignal::MismatchStreak);
    assert_eq!(evidence_ids(&alerts[0]), vec![first.check_in_id, second.check_in_id, third.check_in_id]);

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spread_no_matches_raise_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    enroll_p225(&server).await;

    // Three NO_MATCHes 13 hours apart: any two fall within 24 h, never all three.
    for (index, clip) in IMPOSTOR_CLIPS[..3].iter().enumerate() {
        check_in_at(&server, 13 * HOUR * index as u32, "p225", fixture(clip)).await;
    }
    assert!(server.list_alerts("p225").await.is_empty());

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_check_in_raises_an_alert() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    enroll_p225(&server).await;
    server.enroll(&SPEAKERS[1]).await;

    // p226 checks in for p225 with a recording that is not one of p226's enrolment clips.
    let proxy = check_in_at(&server, Duration::ZERO, "p225", fixture(SPEAKERS[1].check_in)).await;
    assert_eq!(proxy.decision(), pb::Decision::NoMatch);

    let alerts = server.list_alerts("p225").await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(signal_of(&alerts[0]), pb::AlertSignal::ProxyCheckIn);
    let evidence = &alerts[0].evidence[0];
    assert_eq!(evidence.check_in_id, proxy.check_in_id);
    assert_eq!(evidence.score, proxy.score);
    let Some(pb::alert_evidence::Detail::Proxy(found)) = &evidence.detail else {
        panic!("proxy evidence expected, got {:?}", evidence.detail);
    };
    assert_eq!(found.subject_id, "p226");
    let rival_score = found.score.expect("rival score");
    assert!(rival_score >= proxy.threshold, "rival {rival_score} below the threshold {}", proxy.threshold);
    assert!(rival_score > proxy.score.unwrap(), "rival {rival_score} not above the claimed subject's {:?}", proxy.score);

    // Genuine check-ins of either subject raise nothing.
    let genuine = check_in_at(&server, HOUR, "p225", fixture("p225_019.wav")).await;
    assert_eq!(genuine.decision(), pb::Decision::Match);
    assert_eq!(server.list_alerts("p225").await.len(), 1);
    assert!(server.list_alerts("p226").await.is_empty());

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_receives_raised_alert() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    enroll_p225(&server).await;
    server.enroll(&SPEAKERS[1]).await;

    // The call returns once the server has subscribed, so nothing raised after it is missed.
    let request = pb::WatchAlertsRequest { subject_id: String::new(), include_open: false };
    let mut updates = server.alerts().watch_alerts(request).await.unwrap().into_inner();

    let proxy = check_in_at(&server, Duration::ZERO, "p225", fixture(SPEAKERS[1].check_in)).await;
    let update = updates.next().await.expect("an update").expect("not an error");
    let Some(pb::watch_alerts_response::Update::Event(event)) = update.update else {
        panic!("an alert event expected, got {update:?}");
    };
    assert_eq!(event.kind(), pb::alert_event::Kind::Raised);
    let alert = event.alert.expect("the alert");
    assert_eq!(alert.subject_id, "p225");
    assert_eq!(signal_of(&alert), pb::AlertSignal::ProxyCheckIn);
    assert_eq!(evidence_ids(&alert), vec![proxy.check_in_id]);

    // Officers' changes reach the subscriber too.
    let acknowledge = pb::AcknowledgeAlertRequest { alert_id: alert.id, officer_id: "officer-7".into(), note: String::new() };
    server.alerts().acknowledge_alert(acknowledge).await.unwrap();
    let update = updates.next().await.expect("an update").expect("not an error");
    let Some(pb::watch_alerts_response::Update::Event(event)) = update.update else {
        panic!("an alert event expected, got {update:?}");
    };
    assert_eq!(event.kind(), pb::alert_event::Kind::Acknowledged);
    assert_eq!(event.alert.unwrap().acknowledgement.unwrap().officer_id, "officer-7");

    // A subject filter and the open alerts at the start.
    let request = pb::WatchAlertsRequest { subject_id: "p225".into(), include_open: true };
    let mut filtered = server.alerts().watch_alerts(request).await.unwrap().into_inner();
    check_in_at(&server, HOUR, "p226", fixture("p225_019.wav")).await;
    let second = check_in_at(&server, 2 * HOUR, "p225", fixture("p226_005.wav")).await;
    let update = filtered.next().await.expect("an update").expect("not an error");
    let Some(pb::watch_alerts_response::Update::Event(event)) = update.update else {
        panic!("an alert event expected, got {update:?}");
    };
    assert_eq!(event.kind(), pb::alert_event::Kind::Raised, "the acknowledged alert is not open, and p226's alert is filtered out");
    assert_eq!(evidence_ids(event.alert.as_ref().unwrap()), vec![second.check_in_id]);

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officers_acknowledge_and_close() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    enroll_p225(&server).await;
    server.enroll(&SPEAKERS[1]).await;
    check_in_at(&server, Duration::ZERO, "p225", fixture(SPEAKERS[1].check_in)).await;
    let alert_id = server.list_alerts("p225").await[0].id;

    server.clock.set(time(HOUR));
    let request = pb::AcknowledgeAlertRequest { alert_id, officer_id: "officer-7".into(), note: "calling the subject".into() };
    let acknowledged = server.alerts().acknowledge_alert(request.clone()).await.unwrap().into_inner();
    assert_eq!(acknowledged.state(), pb::AlertState::Acknowledged);
    let change = acknowledged.acknowledgement.unwrap();
    assert_eq!((change.officer_id.as_str(), change.note.as_str()), ("officer-7", "calling the subject"));
    assert_eq!(change.changed_at, Some(time(HOUR).into()));

    let status = server.alerts().acknowledge_alert(request).await.unwrap_err();
    assert_eq!(code_and_reason(&status), (Code::FailedPrecondition, "ALERT_STATE_CONFLICT".to_owned()));

    let without_note = pb::CloseAlertRequest { alert_id, officer_id: "officer-7".into(), note: String::new() };
    let status = server.alerts().close_alert(without_note).await.unwrap_err();
    assert_eq!(code_and_reason(&status), (Code::InvalidArgument, "INVALID_FIELD".to_owned()));
    assert_eq!(violated_fields(&status), vec!["note"]);

    server.clock.set(time(2 * HOUR));
    let close = pb::CloseAlertRequest { alert_id, officer_id: "officer-9".into(), note: "phone lent to a relative".into() };
    let closed = server.alerts().close_alert(close.clone()).await.unwrap().into_inner();
    assert_eq!(closed.state(), pb::AlertState::Closed);
    assert_eq!(closed.closure.unwrap().officer_id, "officer-9");
    assert_eq!(closed.updated_at, Some(time(2 * HOUR).into()));

    let status = server.alerts().close_alert(close).await.unwrap_err();
    assert_eq!(code_and_reason(&status), (Code::FailedPrecondition, "ALERT_STATE_CONFLICT".to_owned()));
    let unknown = pb::CloseAlertRequest { alert_id: alert_id + 100, officer_id: "officer-9".into(), note: "n".into() };
    let status = server.alerts().close_alert(unknown).await.unwrap_err();
    assert_eq!(code_and_reason(&status), (Code::NotFound, "ALERT_NOT_FOUND".to_owned()));

    // Listing by state.
    let open = pb::ListAlertsRequest { states: vec![pb::AlertState::Open as i32], ..Default::default() };
    assert!(server.alerts().list_alerts(open).await.unwrap().into_inner().alerts.is_empty());
    let closed = pb::ListAlertsRequest { states: vec![pb::AlertState::Closed as i32], ..Default::default() };
    assert_eq!(server.alerts().list_alerts(closed).await.unwrap().into_inner().alerts.len(), 1);
    let unknown_subject = pb::ListAlertsRequest { subject_id: "p999".into(), ..Default::default() };
    assert_eq!(server.alerts().list_alerts(unknown_subject).await.unwrap_err().code(), Code::NotFound);

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    enroll_p225(&server).await;
    for (hour, clip) in IMPOSTOR_CLIPS[..3].iter().enumerate() {
        check_in_at(&server, HOUR * hour as u32, "p225", fixture(clip)).await;
    }
    let before = server.list_alerts("p225").await;
    assert_eq!(before.len(), 1);
    server.stop().await;

    let restarted = TestServer::start(dir.path()).await;
    assert_eq!(restarted.list_alerts("p225").await, before);

    // The streak continues across the restart: the next NO_MATCH joins the same alert.
    let fourth = check_in_at(&restarted, 3 * HOUR, "p225", fixture(IMPOSTOR_CLIPS[3])).await;
    let after = restarted.list_alerts("p225").await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].id, before[0].id);
    assert_eq!(after[0].evidence.last().unwrap().check_in_id, fourth.check_in_id);

    restarted.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_erases_the_scores_in_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    enroll_p225(&server).await;
    server.enroll(&SPEAKERS[1]).await;
    check_in_at(&server, Duration::ZERO, "p225", fixture(SPEAKERS[1].check_in)).await;

    server.subjects().delete_subject(pb::DeleteSubjectRequest { subject_id: "p225".into() }).await.unwrap();

    let alerts = server.list_alerts("p225").await;
    let evidence = &alerts[0].evidence[0];
    assert!(evidence.erased_at.is_some());
    assert_eq!(evidence.score, None);
    let Some(pb::alert_evidence::Detail::Proxy(proxy)) = &evidence.detail else {
        panic!("proxy evidence expected, got {:?}", evidence.detail);
    };
    assert_eq!(proxy.subject_id, "p226");
    assert_eq!(proxy.score, None);
    assert_eq!(evidence.decision(), pb::Decision::NoMatch, "the decision and time remain");

    server.stop().await;
}

fn separation_fixture(name: &str) -> Bytes {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/separation").join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display())).into()
}

fn replay_alerts(alerts: &[pb::Alert]) -> Vec<&pb::Alert> {
    alerts.iter().filter(|alert| signal_of(alert) == pb::AlertSignal::Replay).collect()
}

fn replay_evidence(alert: &pb::Alert) -> &pb::ReplayEvidence {
    match &alert.evidence[0].detail {
        Some(pb::alert_evidence::Detail::Replay(replay)) => replay,
        other => panic!("replay evidence expected, got {other:?}"),
    }
}

/// `samples` scaled by `decibels`.
fn level_changed(samples: &[f32], decibels: f32) -> Bytes {
    let gain = 10f32.powf(decibels / 20.0);
    wav(&samples.iter().map(|sample| sample * gain).collect::<Vec<_>>())
}

/// `samples` with white noise added at `snr_db` below the signal's RMS level.
fn with_noise(samples: &[f32], snr_db: f32, seed: u64) -> Bytes {
    let noise = white_noise(samples.len(), rms(samples) / 10f32.powf(snr_db / 20.0), seed);
    wav(&samples.iter().zip(&noise).map(|(sample, noise)| sample + noise).collect::<Vec<_>>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transformed_replays_raise_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    enroll_p225(&server).await;

    let original = check_in_at(&server, Duration::ZERO, "p225", fixture("p225_019.wav")).await;
    assert_eq!(original.decision(), pb::Decision::Match);
    assert!(server.list_alerts("p225").await.is_empty(), "a first recording is no replay");

    let samples = fixture_samples("p225_019.wav");
    let replays = [
        ("MP3 at 32 kb/s", separation_fixture("p225_019.mp3")),
        ("AAC at 32 kb/s", separation_fixture("p225_019.m4a")),
        ("resampled to 8 kHz", separation_fixture("p225_019_8k.wav")),
        ("6 dB quieter", level_changed(&samples, -6.0)),
        ("20 dB quieter", level_changed(&samples, -20.0)),
        ("white noise at 20 dB SNR", with_noise(&samples, 20.0, 7)),
    ];

    // Every replay derives from the original, so its source may be the original or any
    // earlier replay of it.
    let mut derived = vec![original.check_in_id];
    for (index, (transform, audio)) in replays.into_iter().enumerate() {
        let replay = check_in_at(&server, HOUR * (index as u32 + 1), "p225", audio).await;
        let alerts = server.list_alerts("p225").await;
        let found = replay_alerts(&alerts);
        assert_eq!(found.len(), index + 1, "{transform}: replay alerts {found:?}");

        let alert = found[index];
        assert_eq!(alert.evidence.len(), 1, "{transform}");
        assert_eq!(alert.evidence[0].check_in_id, replay.check_in_id, "{transform}");
        let evidence = replay_evidence(alert);
        let Some(pb::replay_evidence::Source::SourceCheckInId(source)) = evidence.source else {
            panic!("{transform}: a check-in source expected, got {:?}", evidence.source);
        };
        assert!(derived.contains(&source), "{transform}: source {source} is not the original or a replay of it");
        assert!(evidence.match_score.unwrap() > 0.0, "{transform}: {evidence:?}");
        assert!(evidence.matched_hashes.unwrap() > 0, "{transform}: {evidence:?}");
        derived.push(replay.check_in_id);
    }
    assert_eq!(server.list_alerts("p225").await.len(), 6, "no other signal fired");

    // A replay of an enrolment clip names the clip.
    let enrolled = fixture_samples("p225_011.wav");
    let replay = check_in_at(&server, 10 * HOUR, "p225", with_noise(&enrolled, 20.0, 11)).await;
    let alerts = server.list_alerts("p225").await;
    let alert = replay_alerts(&alerts).into_iter().last().unwrap();
    assert_eq!(alert.evidence[0].check_in_id, replay.check_in_id);
    let evidence = replay_evidence(alert);
    let Some(pb::replay_evidence::Source::SourceEnrollmentClip(clip)) = &evidence.source else {
        panic!("an enrolment clip source expected, got {:?}", evidence.source);
    };
    assert_eq!(clip.clip_index, 1, "p225_011 is the second enrolment clip");
    assert_eq!(evidence.source_recorded_at, Some(time(Duration::ZERO).into()));

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_take_is_not_a_replay() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let clips = (1..=3).map(|n| container(separation_fixture(&format!("dspspeech_15307110252_enroll_{n}.flac")))).collect();
    let request = pb::EnrollRequest { subject_id: "s252".into(), clips };
    server.subjects().enroll(request).await.expect("the DSPSpeech-20 speaker enrols");

    // Two takes of the same six prompted words by the same speaker.
    let first = check_in_at(&server, Duration::ZERO, "s252", separation_fixture("dspspeech_15307110252_words_00-05_take_01.flac")).await;
    let second = check_in_at(&server, HOUR, "s252", separation_fixture("dspspeech_15307110252_words_00-05_take_02.flac")).await;
    for response in [&first, &second] {
        assert_ne!(response.decision(), pb::Decision::Inconclusive, "{response:?}");
    }
    assert!(replay_alerts(&server.list_alerts("s252").await).is_empty(), "a new take is not a replay");

    // The first take played back again is one.
    let replay = check_in_at(&server, 2 * HOUR, "s252", separation_fixture("dspspeech_15307110252_words_00-05_take_01.flac")).await;
    let alerts = server.list_alerts("s252").await;
    let found = replay_alerts(&alerts);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].evidence[0].check_in_id, replay.check_in_id);
    assert_eq!(replay_evidence(found[0]).source, Some(pb::replay_evidence::Source::SourceCheckInId(first.check_in_id)));

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_copies_raise_replay_alert() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    enroll_p225(&server).await;
    server.clock.set(time(Duration::ZERO));

    // Both calls are in flight together, and the server has a model worker for each. Over one
    // connection the uploads arrive a little apart, so this outcome often held before a
    // subject's check-ins were serialised. The serialisation makes it hold whatever the timing.
    let recording = fixture("p225_019.wav");
    let (first, second) = tokio::join!(server.verify("p225", recording.clone()), server.verify("p225", recording));
    let (first, second) = (first.expect("first check-in"), second.expect("second check-in"));

    let alerts = server.list_alerts("p225").await;
    let replays = replay_alerts(&alerts);
    assert_eq!(replays.len(), 1, "replay alerts {replays:?}");
    let later = first.check_in_id.max(second.check_in_id);
    assert_eq!(replays[0].evidence[0].check_in_id, later);
}
