use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::embed::QualityReport;
use crate::scoring::{Decision, InconclusiveReason};
use crate::separation::{AlertState, CheckInSignals, EvidenceDetail, ReplaySource, StateChange, StreakPolicy};

const MODEL: &str = "ge2e-resemblyzer@0.1.4";

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + seconds)
}

fn quality(speech_seconds: f64) -> QualityReport {
    QualityReport {
        format: "wav".into(),
        source_sample_rate: 16_000,
        source_channels: 1,
        duration_seconds: speech_seconds + 1.0,
        speech_seconds,
        clipping_ratio: 0.0,
        snr_db: 35.0,
    }
}

fn clip(index: usize, speech_seconds: f64) -> NewClip {
    NewClip {
        index,
        embedding: vec![0.6, 0.8],
        quality: quality(speech_seconds),
        agreement: Some(0.9),
        audio_sha256: [index as u8; 32],
        audio: Some(StoredAudio { bytes: vec![1, 2, 3], format: "container".into() }),
        fingerprint: vec![index as u8; 8],
    }
}

fn enrollment(subject_id: &str, embedding: Vec<f32>, enrolled_at: SystemTime) -> NewEnrollment {
    NewEnrollment {
        subject_id: subject_id.into(),
        model: MODEL.into(),
        embedding,
        clips: vec![clip(0, 4.0), clip(1, 5.0)],
        enrolled_at,
    }
}

fn check_in(subject_id: &str, voiceprint_id: i64, checked_in_at: SystemTime, decision: Decision) -> NewCheckIn {
    let score = decision.inconclusive_reason().is_none().then_some(0.8);
    NewCheckIn {
        subject_id: subject_id.into(),
        device_id: "phone-1".into(),
        checked_in_at,
        decision,
        score,
        threshold: 0.75,
        model: MODEL.into(),
        voiceprint_id,
        quality: quality(3.0),
        audio_sha256: [7; 32],
        embedding: score.map(|_| vec![0.6, 0.8]),
        audio: None,
        fingerprint: vec![9; 8],
    }
}

/// The default streak rule and no other signal.
fn no_signals() -> CheckInSignals {
    CheckInSignals { proxy: None, replay: None, streak: StreakPolicy { length: 3, window: Duration::from_secs(24 * 3600) } }
}

fn record(store: &Store, check_in: &NewCheckIn) -> CheckInRecord {
    store.record_check_in(check_in, &no_signals()).unwrap().check_in
}

fn open_temp() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = Store::open(&dir.path().join("data")).expect("store opens");
    (dir, store)
}

fn count(store: &Store, table: &str) -> i64 {
    store.lock().query_row(&format!("SELECT count(*) FROM {table}"), [], |row| row.get(0)).unwrap()
}

#[test]
fn open_creates_wal_database_at_current_version() {
    let (dir, store) = open_temp();
    assert!(dir.path().join("data").join(DATABASE_FILE).is_file());

    let connection = store.lock();
    let mode: String = connection.pragma_query_value(None, "journal_mode", |row| row.get(0)).unwrap();
    let version: u32 = connection.pragma_query_value(None, "user_version", |row| row.get(0)).unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn newer_schema_is_refused() {
    let (dir, store) = open_temp();
    store.lock().pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
    drop(store);

    let error = Store::open(&dir.path().join("data")).unwrap_err();
    assert!(matches!(error, StoreError::SchemaTooNew { found, .. } if found == SCHEMA_VERSION + 1));
}

#[test]
fn enrollment_survives_reopen() {
    let (dir, store) = open_temp();
    store.save_enrollment(&enrollment("s1", vec![0.6, 0.8], at(0))).unwrap();
    drop(store);

    let reopened = Store::open(&dir.path().join("data")).unwrap();
    let view = reopened.subject("s1").unwrap().expect("subject kept");
    let current = view.current.expect("voiceprint kept");
    assert_eq!(current.embedding, Some(vec![0.6, 0.8]));
    assert_eq!(current.model, MODEL);
    assert_eq!(current.clip_count, 2);
    assert_eq!(current.speech_seconds, 9.0);
    assert_eq!(current.enrolled_at, at(0));
}

#[test]
fn re_enrollment_replaces_voiceprint_and_keeps_history() {
    let (_dir, store) = open_temp();
    let first = store.save_enrollment(&enrollment("s1", vec![1.0, 0.0], at(0))).unwrap();
    let second = store.save_enrollment(&enrollment("s1", vec![0.0, 1.0], at(60))).unwrap();

    let current = second.current.expect("new voiceprint");
    assert_eq!(current.embedding, Some(vec![0.0, 1.0]));
    assert!(current.id > first.current.unwrap().id);

    assert_eq!(second.history.len(), 1);
    assert_eq!(second.history[0].replaced_at, Some(at(60)));
    assert_eq!(second.history[0].embedding, Some(vec![1.0, 0.0]));
    assert_eq!(second.subject.created_at, at(0));
}

#[test]
fn failed_enrollment_leaves_old_voiceprint() {
    let (_dir, store) = open_temp();
    store.save_enrollment(&enrollment("s1", vec![1.0, 0.0], at(0))).unwrap();
    let clips_before = count(&store, "enrollment_clips");

    // The second clip breaks a CHECK constraint after the voiceprint and the first clip were
    // written, so the transaction must undo both.
    let mut broken = enrollment("s1", vec![0.0, 1.0], at(60));
    broken.clips[1].quality.clipping_ratio = 2.0;
    assert!(store.save_enrollment(&broken).is_err());

    let view = store.subject("s1").unwrap().unwrap();
    assert_eq!(view.current.unwrap().embedding, Some(vec![1.0, 0.0]));
    assert!(view.history.is_empty());
    assert_eq!(count(&store, "voiceprints"), 1);
    assert_eq!(count(&store, "enrollment_clips"), clips_before);
}

#[test]
fn delete_erases_audio_derived_data() {
    let (_dir, store) = open_temp();
    store.save_enrollment(&enrollment("s1", vec![1.0, 0.0], at(0))).unwrap();
    let view = store.save_enrollment(&enrollment("s1", vec![0.0, 1.0], at(10))).unwrap();
    let voiceprint_id = view.current.unwrap().id;
    record(&store, &check_in("s1", voiceprint_id, at(20), Decision::Match));

    let deleted = store.delete_subject("s1", at(30)).unwrap().expect("known subject");

    assert_eq!(deleted.subject.deleted_at, Some(at(30)));
    assert!(deleted.current.is_none());
    assert_eq!(deleted.history.len(), 2);
    assert!(deleted.history.iter().all(|v| v.embedding.is_none() && v.erased_at == Some(at(30))));
    assert_eq!(count(&store, "enrollment_clips"), 0);

    let filter = CheckInFilter { subject_id: Some("s1".into()), start: None, end: None, after: None, limit: 10 };
    let check_ins = store.list_check_ins(&filter).unwrap().check_ins;
    assert_eq!(check_ins.len(), 1);
    let erased = &check_ins[0];
    assert_eq!(erased.decision, Decision::Match);
    assert_eq!(erased.checked_in_at, at(20));
    assert_eq!(erased.score, None);
    assert_eq!(erased.quality, None);
    assert_eq!(erased.audio_sha256, None);
    assert_eq!(erased.erased_at, Some(at(30)));

    let leftover: i64 = store
        .lock()
        .query_row(
            "SELECT count(*) FROM check_ins WHERE embedding IS NOT NULL OR audio IS NOT NULL OR snr_db IS NOT NULL",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(leftover, 0);
}

#[test]
fn delete_twice_keeps_first_time() {
    let (_dir, store) = open_temp();
    store.save_enrollment(&enrollment("s1", vec![1.0, 0.0], at(0))).unwrap();
    store.delete_subject("s1", at(30)).unwrap();
    let again = store.delete_subject("s1", at(90)).unwrap().unwrap();
    assert_eq!(again.subject.deleted_at, Some(at(30)));
}

#[test]
fn delete_unknown_subject_is_none() {
    let (_dir, store) = open_temp();
    assert_eq!(store.delete_subject("nobody", at(0)).unwrap(), None);
    assert_eq!(count(&store, "subjects"), 0);
}

#[test]
fn enrollment_after_delete_restores_subject() {
    let (_dir, store) = open_temp();
    store.save_enrollment(&enrollment("s1", vec![1.0, 0.0], at(0))).unwrap();
    store.delete_subject("s1", at(30)).unwrap();

    let view = store.save_enrollment(&enrollment("s1", vec![0.0, 1.0], at(60))).unwrap();
    assert_eq!(view.subject.deleted_at, None);
    assert_eq!(view.current.unwrap().embedding, Some(vec![0.0, 1.0]));
    assert_eq!(view.history[0].erased_at, Some(at(30)));
}

#[test]
fn current_voiceprints_filter_by_model() {
    let (_dir, store) = open_temp();
    store.save_enrollment(&enrollment("s1", vec![1.0, 0.0], at(0))).unwrap();
    store.save_enrollment(&enrollment("s1", vec![0.0, 1.0], at(5))).unwrap();
    let mut other = enrollment("s2", vec![1.0, 0.0], at(0));
    other.model = "other-model@1".into();
    store.save_enrollment(&other).unwrap();
    store.save_enrollment(&enrollment("s3", vec![1.0, 0.0], at(0))).unwrap();
    store.delete_subject("s3", at(9)).unwrap();

    let current = store.current_voiceprints(MODEL).unwrap();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].subject_id, "s1");
    assert_eq!(current[0].embedding, Some(vec![0.0, 1.0]));
}

#[test]
fn check_ins_page_by_subject_and_time() {
    let (_dir, store) = open_temp();
    let s1 = store.save_enrollment(&enrollment("s1", vec![1.0, 0.0], at(0))).unwrap().current.unwrap().id;
    let s2 = store.save_enrollment(&enrollment("s2", vec![1.0, 0.0], at(0))).unwrap().current.unwrap().id;
    for minute in 0..5 {
        record(&store, &check_in("s1", s1, at(60 * minute), Decision::NoMatch));
        record(&store, &check_in("s2", s2, at(60 * minute), Decision::Match));
    }
    let inconclusive = Decision::Inconclusive(InconclusiveReason::TooNoisy);
    record(&store, &check_in("s1", s1, at(120), inconclusive));

    let mut filter =
        CheckInFilter { subject_id: Some("s1".into()), start: Some(at(60)), end: Some(at(240)), after: None, limit: 2 };
    let first = store.list_check_ins(&filter).unwrap();
    let times: Vec<_> = first.check_ins.iter().map(|c| c.checked_in_at).collect();
    assert_eq!(times, vec![at(60), at(120)]);
    assert!(first.next.is_some());

    filter.after = first.next;
    let second = store.list_check_ins(&filter).unwrap();
    let times: Vec<_> = second.check_ins.iter().map(|c| c.checked_in_at).collect();
    assert_eq!(times, vec![at(120), at(180)]);
    assert_eq!(second.check_ins[0].decision, inconclusive);
    assert_eq!(second.check_ins[0].score, None);
    assert_eq!(second.next, None);

    let everyone = CheckInFilter { subject_id: None, start: None, end: None, after: None, limit: 100 };
    assert_eq!(store.list_check_ins(&everyone).unwrap().check_ins.len(), 11);
}

#[test]
fn check_in_round_trips_every_field() {
    let (_dir, store) = open_temp();
    let voiceprint_id = store.save_enrollment(&enrollment("s1", vec![1.0, 0.0], at(0))).unwrap().current.unwrap().id;
    let written = record(&store, &check_in("s1", voiceprint_id, at(5), Decision::Match));

    let filter = CheckInFilter { subject_id: None, start: None, end: None, after: None, limit: 1 };
    let read = store.list_check_ins(&filter).unwrap().check_ins.remove(0);
    assert_eq!(read, written);
}

fn streak_alerts(store: &Store, subject_id: &str) -> Vec<crate::separation::Alert> {
    let filter = AlertFilter { subject_id: Some(subject_id.into()), states: Vec::new(), start: None, end: None, after: None, limit: 100 };
    store.list_alerts(&filter).unwrap().alerts.into_iter().filter(|a| a.signal == crate::separation::Signal::MismatchStreak).collect()
}

fn evidence_ids(alert: &crate::separation::Alert) -> Vec<i64> {
    alert.evidence.iter().map(|e| e.check_in_id).collect()
}

#[test]
fn streak_raises_one_alert_and_collects_later_no_matches() {
    let (_dir, store) = open_temp();
    let voiceprint = store.save_enrollment(&enrollment("s1", vec![1.0, 0.0], at(0))).unwrap().current.unwrap().id;

    let first = store.record_check_in(&check_in("s1", voiceprint, at(60), Decision::NoMatch), &no_signals()).unwrap();
    let second = store.record_check_in(&check_in("s1", voiceprint, at(120), Decision::NoMatch), &no_signals()).unwrap();
    assert!(first.alert_events.is_empty() && second.alert_events.is_empty());

    let third = store.record_check_in(&check_in("s1", voiceprint, at(180), Decision::NoMatch), &no_signals()).unwrap();
    assert_eq!(third.alert_events.len(), 1);
    let raised = &third.alert_events[0];
    assert_eq!(raised.kind, crate::separation::AlertEventKind::Raised);
    assert_eq!(evidence_ids(&raised.alert), vec![first.check_in.id, second.check_in.id, third.check_in.id]);
    assert_eq!(raised.alert.raised_at, at(180));

    let fourth = store.record_check_in(&check_in("s1", voiceprint, at(240), Decision::NoMatch), &no_signals()).unwrap();
    assert_eq!(fourth.alert_events.len(), 1);
    assert_eq!(fourth.alert_events[0].kind, crate::separation::AlertEventKind::EvidenceAdded);
    assert_eq!(fourth.alert_events[0].alert.id, raised.alert.id);
    assert_eq!(fourth.alert_events[0].alert.evidence.len(), 4);
    assert_eq!(fourth.alert_events[0].alert.updated_at, at(240));
    assert_eq!(streak_alerts(&store, "s1").len(), 1);
}

#[test]
fn match_ends_a_streak() {
    let (_dir, store) = open_temp();
    let voiceprint = store.save_enrollment(&enrollment("s1", vec![1.0, 0.0], at(0))).unwrap().current.unwrap().id;
    let decisions = [Decision::NoMatch, Decision::NoMatch, Decision::Match, Decision::NoMatch, Decision::NoMatch];
    for (minute, decision) in decisions.into_iter().enumerate() {
        record(&store, &check_in("s1", voiceprint, at(60 * minute as u64), decision));
    }
    assert!(streak_alerts(&store, "s1").is_empty());

    // A MATCH after an alert ends that streak: the next NO_MATCH starts a new count.
    record(&store, &check_in("s1", voiceprint, at(600), Decision::NoMatch));
    assert_eq!(streak_alerts(&store, "s1").len(), 1);
    record(&store, &check_in("s1", voiceprint, at(660), Decision::Match));
    let after = store.record_check_in(&check_in("s1", voiceprint, at(720), Decision::NoMatch), &no_signals()).unwrap();
    assert!(after.alert_events.is_empty());
    assert_eq!(streak_alerts(&store, "s1")[0].evidence.len(), 3);
}

#[test]
fn inconclusive_neither_ends_nor_extends_a_streak() {
    let (_dir, store) = open_temp();
    let voiceprint = store.save_enrollment(&enrollment("s1", vec![1.0, 0.0], at(0))).unwrap().current.unwrap().id;
    let noisy = Decision::Inconclusive(InconclusiveReason::TooNoisy);
    let decisions = [Decision::NoMatch, noisy, Decision::NoMatch, noisy];
    for (minute, decision) in decisions.into_iter().enumerate() {
        record(&store, &check_in("s1", voiceprint, at(60 * minute as u64), decision));
    }
    assert!(streak_alerts(&store, "s1").is_empty(), "two NO_MATCHes are not a streak");

    record(&store, &check_in("s1", voiceprint, at(300), Decision::NoMatch));
    let alerts = streak_alerts(&store, "s1");
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].evidence.iter().all(|e| e.decision == Decision::NoMatch));
}

#[test]
fn closed_streak_alert_is_not_extended() {
    let (_dir, store) = open_temp();
    let voiceprint = store.save_enrollment(&enrollment("s1", vec![1.0, 0.0], at(0))).unwrap().current.unwrap().id;
    for minute in 0..3 {
        record(&store, &check_in("s1", voiceprint, at(60 * minute), Decision::NoMatch));
    }
    let alert_id = streak_alerts(&store, "s1")[0].id;
    let change = StateChange { officer_id: "officer-1".into(), note: "seen in person".into(), at: at(200) };
    store.update_alert(alert_id, AlertAction::Close, &change).unwrap();

    // After the closure, the NO_MATCHes of the closed alert no longer count.
    for minute in 4..6 {
        record(&store, &check_in("s1", voiceprint, at(60 * minute), Decision::NoMatch));
    }
    assert_eq!(streak_alerts(&store, "s1").len(), 1);
    record(&store, &check_in("s1", voiceprint, at(360), Decision::NoMatch));
    let alerts = streak_alerts(&store, "s1");
    assert_eq!(alerts.len(), 2);
    assert_eq!(alerts[0].evidence.len(), 3);
    assert_eq!(alerts[1].evidence.len(), 3);
}

#[test]
fn proxy_and_replay_alerts_carry_their_evidence() {
    let (_dir, store) = open_temp();
    let voiceprint = store.save_enrollment(&enrollment("s1", vec![1.0, 0.0], at(0))).unwrap().current.unwrap().id;
    let earlier = record(&store, &check_in("s1", voiceprint, at(10), Decision::Match));

    let signals = CheckInSignals {
        proxy: Some(crate::separation::ProxyFinding { subject_id: "s2".into(), score: 0.9 }),
        replay: Some(crate::separation::ReplayFinding {
            source: ReplaySource::CheckIn { check_in_id: earlier.id, checked_in_at: at(10) },
            match_score: 0.6,
            matched_hashes: 120,
        }),
        ..no_signals()
    };
    let recorded = store.record_check_in(&check_in("s1", voiceprint, at(20), Decision::NoMatch), &signals).unwrap();
    assert_eq!(recorded.alert_events.len(), 2);

    let proxy = &recorded.alert_events[0].alert;
    assert_eq!(proxy.signal, crate::separation::Signal::ProxyCheckIn);
    assert_eq!(proxy.evidence[0].check_in_id, recorded.check_in.id);
    assert_eq!(proxy.evidence[0].score, Some(0.8));
    assert_eq!(proxy.evidence[0].detail, EvidenceDetail::Proxy { subject_id: "s2".into(), score: Some(0.9) });

    let replay = &recorded.alert_events[1].alert;
    assert_eq!(replay.signal, crate::separation::Signal::Replay);
    let expected = EvidenceDetail::Replay {
        source: ReplaySource::CheckIn { check_in_id: earlier.id, checked_in_at: at(10) },
        match_score: Some(0.6),
        matched_hashes: Some(120),
    };
    assert_eq!(replay.evidence[0].detail, expected);
    assert_eq!(store.alert(replay.id).unwrap().as_ref(), Some(replay));
}

#[test]
fn alert_moves_from_open_to_acknowledged_to_closed() {
    let (_dir, store) = open_temp();
    let voiceprint = store.save_enrollment(&enrollment("s1", vec![1.0, 0.0], at(0))).unwrap().current.unwrap().id;
    for minute in 0..3 {
        record(&store, &check_in("s1", voiceprint, at(60 * minute), Decision::NoMatch));
    }
    let alert_id = streak_alerts(&store, "s1")[0].id;
    let acknowledgement = StateChange { officer_id: "officer-1".into(), note: String::new(), at: at(300) };
    let closure = StateChange { officer_id: "officer-2".into(), note: "phone was lent to a relative".into(), at: at(400) };

    let AlertUpdate::Updated(acknowledged) = store.update_alert(alert_id, AlertAction::Acknowledge, &acknowledgement).unwrap() else {
        panic!("acknowledgement rejected");
    };
    assert_eq!(acknowledged.state, AlertState::Acknowledged);
    assert_eq!(acknowledged.acknowledged.as_ref(), Some(&acknowledgement));
    assert_eq!(
        store.update_alert(alert_id, AlertAction::Acknowledge, &acknowledgement).unwrap(),
        AlertUpdate::Rejected { state: AlertState::Acknowledged }
    );

    let AlertUpdate::Updated(closed) = store.update_alert(alert_id, AlertAction::Close, &closure).unwrap() else {
        panic!("closure rejected");
    };
    assert_eq!(closed.state, AlertState::Closed);
    assert_eq!(closed.closed.as_ref(), Some(&closure));
    assert_eq!(closed.acknowledged.as_ref(), Some(&acknowledgement));
    assert_eq!(closed.updated_at, at(400));
    assert_eq!(
        store.update_alert(alert_id, AlertAction::Close, &closure).unwrap(),
        AlertUpdate::Rejected { state: AlertState::Closed }
    );
    assert_eq!(store.update_alert(alert_id + 1, AlertAction::Close, &closure).unwrap(), AlertUpdate::NotFound);
}

#[test]
fn alerts_page_by_subject_state_and_time() {
    let (_dir, store) = open_temp();
    let s1 = store.save_enrollment(&enrollment("s1", vec![1.0, 0.0], at(0))).unwrap().current.unwrap().id;
    let s2 = store.save_enrollment(&enrollment("s2", vec![1.0, 0.0], at(0))).unwrap().current.unwrap().id;
    let proxy = CheckInSignals { proxy: Some(crate::separation::ProxyFinding { subject_id: "s2".into(), score: 0.9 }), ..no_signals() };
    for minute in 0..4 {
        store.record_check_in(&check_in("s1", s1, at(60 * minute), Decision::Match), &proxy).unwrap();
    }
    store.record_check_in(&check_in("s2", s2, at(90), Decision::Match), &proxy).unwrap();
    let change = StateChange { officer_id: "officer-1".into(), note: "checked".into(), at: at(500) };
    let first = store.list_alerts(&AlertFilter { subject_id: None, states: vec![], start: None, end: None, after: None, limit: 1 }).unwrap();
    store.update_alert(first.alerts[0].id, AlertAction::Close, &change).unwrap();

    let mut filter =
        AlertFilter { subject_id: Some("s1".into()), states: vec![AlertState::Open], start: Some(at(60)), end: None, after: None, limit: 2 };
    let page = store.list_alerts(&filter).unwrap();
    let times: Vec<_> = page.alerts.iter().map(|a| a.raised_at).collect();
    assert_eq!(times, vec![at(60), at(120)]);
    assert!(page.next.is_some());

    filter.after = page.next;
    let page = store.list_alerts(&filter).unwrap();
    assert_eq!(page.alerts.iter().map(|a| a.raised_at).collect::<Vec<_>>(), vec![at(180)]);
    assert_eq!(page.next, None);

    let closed = AlertFilter { subject_id: None, states: vec![AlertState::Closed], start: None, end: None, after: None, limit: 10 };
    assert_eq!(store.list_alerts(&closed).unwrap().alerts.len(), 1);
    let everyone = AlertFilter { subject_id: None, states: vec![], start: None, end: Some(at(100)), after: None, limit: 10 };
    assert_eq!(store.list_alerts(&everyone).unwrap().alerts.len(), 3);
}

#[test]
fn fingerprints_are_visited_and_erased_with_the_subject() {
    let (_dir, store) = open_temp();
    let voiceprint = store.save_enrollment(&enrollment("s1", vec![1.0, 0.0], at(0))).unwrap().current.unwrap().id;
    let earlier = record(&store, &check_in("s1", voiceprint, at(10), Decision::Match));
    let replay = CheckInSignals {
        replay: Some(crate::separation::ReplayFinding {
            source: ReplaySource::EnrollmentClip { voiceprint_id: voiceprint, clip_index: 1, enrolled_at: at(0) },
            match_score: 0.5,
            matched_hashes: 40,
        }),
        ..no_signals()
    };
    let replayed = store.record_check_in(&check_in("s1", voiceprint, at(20), Decision::Match), &replay).unwrap();

    let mut visited = Vec::new();
    store.for_each_fingerprint("s1", |source, bytes| visited.push((source, bytes.to_vec()))).unwrap();
    assert_eq!(visited.len(), 4);
    assert_eq!(visited[0], (ReplaySource::CheckIn { check_in_id: earlier.id, checked_in_at: at(10) }, vec![9; 8]));
    assert_eq!(visited[3], (ReplaySource::EnrollmentClip { voiceprint_id: voiceprint, clip_index: 1, enrolled_at: at(0) }, vec![1; 8]));

    store.delete_subject("s1", at(30)).unwrap();
    let mut left = 0;
    store.for_each_fingerprint("s1", |_, _| left += 1).unwrap();
    assert_eq!(left, 0);

    let alert = store.alert(replayed.alert_events[0].alert.id).unwrap().unwrap();
    let evidence = &alert.evidence[0];
    assert_eq!(evidence.erased_at, Some(at(30)));
    assert_eq!(evidence.score, None);
    let EvidenceDetail::Replay { source, match_score, matched_hashes } = &evidence.detail else {
        panic!("replay evidence expected, got {:?}", evidence.detail);
    };
    assert_eq!(*source, ReplaySource::EnrollmentClip { voiceprint_id: voiceprint, clip_index: 1, enrolled_at: at(0) });
    assert_eq!((*match_score, *matched_hashes), (None, None));
}
