use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::embed::QualityReport;
use crate::scoring::{Decision, InconclusiveReason};

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
    }
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
    store.record_check_in(&check_in("s1", voiceprint_id, at(20), Decision::Match)).unwrap();

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
        store.record_check_in(&check_in("s1", s1, at(60 * minute), Decision::NoMatch)).unwrap();
        store.record_check_in(&check_in("s2", s2, at(60 * minute), Decision::Match)).unwrap();
    }
    let inconclusive = Decision::Inconclusive(InconclusiveReason::TooNoisy);
    store.record_check_in(&check_in("s1", s1, at(120), inconclusive)).unwrap();

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
    let written = store.record_check_in(&check_in("s1", voiceprint_id, at(5), Decision::Match)).unwrap();

    let filter = CheckInFilter { subject_id: None, start: None, end: None, after: None, limit: 1 };
    let read = store.list_check_ins(&filter).unwrap().check_ins.remove(0);
    assert_eq!(read, written);
}
