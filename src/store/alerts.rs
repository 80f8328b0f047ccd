//! Person-device separation alerts: raised in the transaction that records the check-in
//! behind them, listed, and moved through their states by officers.

use std::time::SystemTime;

use rusqlite::types::{ToSql, Type};
use rusqlite::{params, OptionalExtension, Row, Transaction};

use super::records::CheckInRecord;
use super::{Store, StoreError};
use crate::clock::{from_unix_millis, to_unix_millis};
use crate::scoring::Decision;
use crate::separation::policy::{RunEntry, StreakHistory, StreakOutcome};
use crate::separation::{
    Alert, AlertEvent, AlertEventKind, AlertState, CheckInSignals, Evidence, EvidenceDetail, ReplaySource, Signal,
    StateChange,
};

const ALERT_COLUMNS: &str = "id, subject_id, signal, state, raised_at_ms, updated_at_ms, acknowledged_at_ms, \
     acknowledged_by, acknowledgement_note, closed_at_ms, closed_by, closing_note";

/// The position after which a page of alerts continues: alerts are ordered by the time they
/// were raised, then by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertCursor {
    pub raised_at_ms: i64,
    pub id: i64,
}

/// Filter and page size of an alert listing.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertFilter {
    /// `None` for every subject.
    pub subject_id: Option<String>,
    /// Only alerts in these states; empty for every state.
    pub states: Vec<AlertState>,
    /// Earliest raising time included.
    pub start: Option<SystemTime>,
    /// Earliest raising time excluded.
    pub end: Option<SystemTime>,
    /// Continue after this alert.
    pub after: Option<AlertCursor>,
    /// Maximum number of alerts to return; at least 1.
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertPage {
    pub alerts: Vec<Alert>,
    /// Start of the next page; `None` on the last page.
    pub next: Option<AlertCursor>,
}

/// A check-in as recorded, with the alert changes it caused.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCheckIn {
    pub check_in: CheckInRecord,
    pub alert_events: Vec<AlertEvent>,
}

/// An officer's request to move an alert to another state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertAction {
    Acknowledge,
    Close,
}

/// The outcome of an [`AlertAction`].
#[derive(Debug, Clone, PartialEq)]
pub enum AlertUpdate {
    Updated(Box<Alert>),
    NotFound,
    /// The alert's state does not allow the action: a closed alert cannot be acknowledged
    /// or closed again, and an acknowledged alert cannot be acknowledged again.
    Rejected { state: AlertState },
}

impl Store {
    /// Lists alerts matching `filter`, oldest first.
    pub fn list_alerts(&self, filter: &AlertFilter) -> Result<AlertPage, StoreError> {
        let mut conditions: Vec<String> = Vec::new();
        let mut values: Vec<Box<dyn ToSql>> = Vec::new();

        if let Some(subject_id) = &filter.subject_id {
            conditions.push("subject_id = ?".into());
            values.push(Box::new(subject_id.clone()));
        }
        if !filter.states.is_empty() {
            let placeholders = vec!["?"; filter.states.len()].join(", ");
            conditions.push(format!("state IN ({placeholders})"));
            values.extend(filter.states.iter().map(|state| Box::new(state.code()) as Box<dyn ToSql>));
        }
        if let Some(start) = filter.start {
            conditions.push("raised_at_ms >= ?".into());
            values.push(Box::new(to_unix_millis(start)));
        }
        if let Some(end) = filter.end {
            conditions.push("raised_at_ms < ?".into());
            values.push(Box::new(to_unix_millis(end)));
        }
        if let Some(after) = filter.after {
            conditions.push("(raised_at_ms, id) > (?, ?)".into());
            values.push(Box::new(after.raised_at_ms));
            values.push(Box::new(after.id));
        }

        // Reading one row past the page shows whether another page follows.
        let limit = filter.limit.max(1);
        values.push(Box::new(limit as i64 + 1));

        let where_clause = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts {where_clause} ORDER BY raised_at_ms, id LIMIT ?");

        let mut alerts = self.read(|transaction| {
            let mut statement = transaction.prepare(&sql)?;
            let rows = statement.query_map(rusqlite::params_from_iter(values.iter()), alert_row)?;
            let mut alerts = rows.collect::<Result<Vec<_>, _>>()?;
            for alert in &mut alerts {
                alert.evidence = load_evidence(transaction, alert.id)?;
            }
            Ok(alerts)
        })?;

        let next = if alerts.len() > limit {
            alerts.truncate(limit);
            alerts.last().map(|last| AlertCursor { raised_at_ms: to_unix_millis(last.raised_at), id: last.id })
        } else {
            None
        };
        Ok(AlertPage { alerts, next })
    }

    /// Returns one alert with its evidence, or `None` if unknown.
    pub fn alert(&self, alert_id: i64) -> Result<Option<Alert>, StoreError> {
        self.read(|transaction| load_alert(transaction, alert_id))
    }

    /// Acknowledges or closes an alert with the officer's note.
    pub fn update_alert(&self, alert_id: i64, action: AlertAction, change: &StateChange) -> Result<AlertUpdate, StoreError> {
        self.write(|transaction| {
            let Some(alert) = load_alert(transaction, alert_id)? else {
                return Ok(AlertUpdate::NotFound);
            };
            let allowed = match action {
                AlertAction::Acknowledge => alert.state == AlertState::Open,
                AlertAction::Close => alert.state != AlertState::Closed,
            };
            if !allowed {
                return Ok(AlertUpdate::Rejected { state: alert.state });
            }

            let at = to_unix_millis(change.at);
            let sql = match action {
                AlertAction::Acknowledge => {
                    "UPDATE alerts SET state = 'ACKNOWLEDGED', acknowledged_at_ms = ?2, acknowledged_by = ?3,
                         acknowledgement_note = ?4, updated_at_ms = max(updated_at_ms, ?2)
                     WHERE id = ?1"
                }
                AlertAction::Close => {
                    "UPDATE alerts SET state = 'CLOSED', closed_at_ms = ?2, closed_by = ?3, closing_note = ?4,
                         updated_at_ms = max(updated_at_ms, ?2)
                     WHERE id = ?1"
                }
            };
            transaction.execute(sql, params![alert_id, at, change.officer_id, change.note])?;

            let updated = load_alert(transaction, alert_id)?
                .ok_or_else(|| StoreError::Corrupt(format!("alert {alert_id} vanished while it was updated")))?;
            Ok(AlertUpdate::Updated(Box::new(updated)))
        })
    }

    /// Calls `visit` with every stored fingerprint of the subject's check-ins and enrolment
    /// clips, one row at a time, so that a long history is never held in memory at once.
    pub fn for_each_fingerprint(&self, subject_id: &str, mut visit: impl FnMut(ReplaySource, &[u8])) -> Result<(), StoreError> {
        self.read(|transaction| {
            let mut check_ins = transaction.prepare(
                "SELECT id, checked_in_at_ms, fingerprint FROM check_ins
                 WHERE subject_id = ?1 AND fingerprint IS NOT NULL ORDER BY id",
            )?;
            let mut rows = check_ins.query([subject_id])?;
            while let Some(row) = rows.next()? {
                let source = ReplaySource::CheckIn { check_in_id: row.get(0)?, checked_in_at: from_unix_millis(row.get(1)?) };
                let fingerprint: Vec<u8> = row.get(2)?;
                visit(source, &fingerprint);
            }

            let mut clips = transaction.prepare(
                "SELECT c.voiceprint_id, c.clip_index, v.enrolled_at_ms, c.fingerprint
                 FROM enrollment_clips c JOIN voiceprints v ON v.id = c.voiceprint_id
                 WHERE v.subject_id = ?1 AND c.fingerprint IS NOT NULL ORDER BY c.voiceprint_id, c.clip_index",
            )?;
            let mut rows = clips.query([subject_id])?;
            while let Some(row) = rows.next()? {
                let source = ReplaySource::EnrollmentClip {
                    voiceprint_id: row.get(0)?,
                    clip_index: row.get(1)?,
                    enrolled_at: from_unix_millis(row.get(2)?),
                };
                let fingerprint: Vec<u8> = row.get(3)?;
                visit(source, &fingerprint);
            }
            Ok(())
        })
    }
}

/// Applies the separation signals of a check-in that was just inserted: raises or extends
/// alerts in the same transaction, and returns the changes.
pub(super) fn apply_signals(
    transaction: &Transaction<'_>,
    check_in: &CheckInRecord,
    signals: &CheckInSignals,
) -> Result<Vec<AlertEvent>, StoreError> {
    let mut events = Vec::new();
    let raised_at = to_unix_millis(check_in.checked_in_at);

    let history = streak_history(transaction, &check_in.subject_id, signals.streak.length)?;
    match signals.streak.assess(check_in.decision, check_in.checked_in_at, &history) {
        StreakOutcome::Unchanged => {}
        StreakOutcome::Raise { check_in_ids } => {
            let alert_id = insert_alert(transaction, &check_in.subject_id, Signal::MismatchStreak, raised_at)?;
            for check_in_id in check_in_ids {
                insert_evidence(transaction, alert_id, check_in_id, &EvidenceColumns::default())?;
            }
            events.push((AlertEventKind::Raised, alert_id));
        }
        StreakOutcome::Extend { alert_id } => {
            insert_evidence(transaction, alert_id, check_in.id, &EvidenceColumns::default())?;
            transaction.execute(
                "UPDATE alerts SET updated_at_ms = max(updated_at_ms, ?2) WHERE id = ?1",
                params![alert_id, raised_at],
            )?;
            events.push((AlertEventKind::EvidenceAdded, alert_id));
        }
    }

    if let Some(proxy) = &signals.proxy {
        let alert_id = insert_alert(transaction, &check_in.subject_id, Signal::ProxyCheckIn, raised_at)?;
        let columns = EvidenceColumns {
            proxy_subject_id: Some(proxy.subject_id.clone()),
            proxy_score: Some(f64::from(proxy.score)),
            ..EvidenceColumns::default()
        };
        insert_evidence(transaction, alert_id, check_in.id, &columns)?;
        events.push((AlertEventKind::Raised, alert_id));
    }

    if let Some(replay) = &signals.replay {
        let alert_id = insert_alert(transaction, &check_in.subject_id, Signal::Replay, raised_at)?;
        let mut columns = EvidenceColumns {
            replay_recorded_at_ms: Some(to_unix_millis(replay.source.recorded_at())),
            replay_match_score: Some(replay.match_score),
            replay_matched_hashes: Some(i64::from(replay.matched_hashes)),
            ..EvidenceColumns::default()
        };
        match replay.source {
            ReplaySource::CheckIn { check_in_id, .. } => columns.replay_check_in_id = Some(check_in_id),
            ReplaySource::EnrollmentClip { voiceprint_id, clip_index, .. } => {
                columns.replay_voiceprint_id = Some(voiceprint_id);
                columns.replay_clip_index = Some(i64::from(clip_index));
            }
        }
        insert_evidence(transaction, alert_id, check_in.id, &columns)?;
        events.push((AlertEventKind::Raised, alert_id));
    }

    events
        .into_iter()
        .map(|(kind, alert_id)| {
            let alert = load_alert(transaction, alert_id)?
                .ok_or_else(|| StoreError::Corrupt(format!("alert {alert_id} vanished while it was written")))?;
            Ok(AlertEvent { kind, alert })
        })
        .collect()
}

/// Erases the scores and fingerprint matches in the evidence of the subject's alerts, and
/// the proxy scores that other subjects' alerts hold against the subject's voiceprint.
pub(super) fn erase_evidence(transaction: &Transaction<'_>, subject_id: &str, erased_at: i64) -> Result<(), StoreError> {
    transaction.execute(
        "UPDATE alert_evidence SET proxy_score = NULL, replay_match_score = NULL, replay_matched_hashes = NULL,
             erased_at_ms = ?2
         WHERE erased_at_ms IS NULL
           AND (alert_id IN (SELECT id FROM alerts WHERE subject_id = ?1) OR proxy_subject_id = ?1)",
        params![subject_id, erased_at],
    )?;
    Ok(())
}

/// Reads the subject's NO_MATCH run and the streak alert it may already have raised. The
/// check-in just inserted is part of the run.
fn streak_history(transaction: &Transaction<'_>, subject_id: &str, length: usize) -> Result<StreakHistory, StoreError> {
    let last_match: i64 = transaction.query_row(
        "SELECT coalesce(max(id), 0) FROM check_ins WHERE subject_id = ?1 AND decision = 'MATCH'",
        [subject_id],
        |row| row.get(0),
    )?;

    // The latest streak alert, with the first and last check-in it cites.
    let latest: Option<(i64, String, i64, i64)> = transaction
        .query_row(
            "SELECT a.id, a.state, min(e.check_in_id), max(e.check_in_id)
             FROM alerts a JOIN alert_evidence e ON e.alert_id = a.id
             WHERE a.subject_id = ?1 AND a.signal = 'MISMATCH_STREAK'
             GROUP BY a.id ORDER BY a.id DESC LIMIT 1",
            [subject_id],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .optional()?;

    let active_alert = latest
        .as_ref()
        .filter(|(_, state, first, _)| state != AlertState::Closed.code() && *first > last_match)
        .map(|(id, ..)| *id);
    let boundary = latest.map_or(last_match, |(_, _, _, last)| last.max(last_match));

    // Only the newest `length` NO_MATCH check-ins can complete a streak.
    let mut statement = transaction.prepare(
        "SELECT id, checked_in_at_ms FROM check_ins
         WHERE subject_id = ?1 AND decision = 'NO_MATCH' AND id > ?2
         ORDER BY id DESC LIMIT ?3",
    )?;
    let rows = statement.query_map(params![subject_id, boundary, length as i64], |row| {
        Ok(RunEntry { check_in_id: row.get(0)?, checked_in_at: from_unix_millis(row.get(1)?) })
    })?;
    let mut run = rows.collect::<Result<Vec<_>, _>>()?;
    run.reverse();

    Ok(StreakHistory { active_alert, run })
}

fn insert_alert(transaction: &Transaction<'_>, subject_id: &str, signal: Signal, raised_at: i64) -> Result<i64, StoreError> {
    transaction.execute(
        "INSERT INTO alerts (subject_id, signal, state, raised_at_ms, updated_at_ms) VALUES (?1, ?2, 'OPEN', ?3, ?3)",
        params![subject_id, signal.code(), raised_at],
    )?;
    Ok(transaction.last_insert_rowid())
}

/// The signal-specific columns of an evidence row; all `None` for a mismatch.
#[derive(Default)]
struct EvidenceColumns {
    proxy_subject_id: Option<String>,
    proxy_score: Option<f64>,
    replay_check_in_id: Option<i64>,
    replay_voiceprint_id: Option<i64>,
    replay_clip_index: Option<i64>,
    replay_recorded_at_ms: Option<i64>,
    replay_match_score: Option<f64>,
    replay_matched_hashes: Option<i64>,
}

fn insert_evidence(
    transaction: &Transaction<'_>,
    alert_id: i64,
    check_in_id: i64,
    columns: &EvidenceColumns,
) -> Result<(), StoreError> {
    transaction.execute(
        "INSERT INTO alert_evidence (alert_id, check_in_id, proxy_subject_id, proxy_score, replay_source_check_in_id,
             replay_source_voiceprint_id, replay_source_clip_index, replay_source_recorded_at_ms, replay_match_score,
             replay_matched_hashes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            alert_id,
            check_in_id,
            columns.proxy_subject_id,
            columns.proxy_score,
            columns.replay_check_in_id,
            columns.replay_voiceprint_id,
            columns.replay_clip_index,
            columns.replay_recorded_at_ms,
            columns.replay_match_score,
            columns.replay_matched_hashes,
        ],
    )?;
    Ok(())
}

fn load_alert(transaction: &Transaction<'_>, alert_id: i64) -> Result<Option<Alert>, StoreError> {
    let alert = transaction
        .query_row(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?1"), [alert_id], alert_row)
        .optional()?;
    let Some(mut alert) = alert else {
        return Ok(None);
    };
    alert.evidence = load_evidence(transaction, alert_id)?;
    Ok(Some(alert))
}

/// Reads an alert row; the evidence is filled in separately.
fn alert_row(row: &Row<'_>) -> rusqlite::Result<Alert> {
    let signal: String = row.get(2)?;
    let signal = Signal::from_code(&signal).ok_or_else(|| corrupt(2, Type::Text, format!("unknown alert signal {signal}")))?;
    let state: String = row.get(3)?;
    let state = AlertState::from_code(&state).ok_or_else(|| corrupt(3, Type::Text, format!("unknown alert state {state}")))?;

    Ok(Alert {
        id: row.get(0)?,
        subject_id: row.get(1)?,
        signal,
        state,
        raised_at: from_unix_millis(row.get(4)?),
        updated_at: from_unix_millis(row.get(5)?),
        acknowledged: state_change(row, 6)?,
        closed: state_change(row, 9)?,
        evidence: Vec::new(),
    })
}

/// Reads the time, officer and note in columns `first` to `first + 2`; `None` when unset.
fn state_change(row: &Row<'_>, first: usize) -> rusqlite::Result<Option<StateChange>> {
    let Some(at) = row.get::<_, Option<i64>>(first)? else {
        return Ok(None);
    };
    Ok(Some(StateChange { at: from_unix_millis(at), officer_id: row.get(first + 1)?, note: row.get(first + 2)? }))
}

fn load_evidence(transaction: &Transaction<'_>, alert_id: i64) -> Result<Vec<Evidence>, StoreError> {
    let mut statement = transaction.prepare(
        "SELECT e.check_in_id, c.checked_in_at_ms, c.decision, c.inconclusive_reason, c.score, a.signal,
             e.proxy_subject_id, e.proxy_score, e.replay_source_check_in_id, e.replay_source_voiceprint_id,
             e.replay_source_clip_index, e.replay_source_recorded_at_ms, e.replay_match_score,
             e.replay_matched_hashes, e.erased_at_ms
         FROM alert_evidence e
         JOIN check_ins c ON c.id = e.check_in_id
         JOIN alerts a ON a.id = e.alert_id
         WHERE e.alert_id = ?1
         ORDER BY e.check_in_id",
    )?;
    let rows = statement.query_map([alert_id], evidence_row)?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

fn evidence_row(row: &Row<'_>) -> rusqlite::Result<Evidence> {
    let label: String = row.get(2)?;
    let reason: Option<String> = row.get(3)?;
    let decision = Decision::from_parts(&label, reason.as_deref())
        .ok_or_else(|| corrupt(2, Type::Text, format!("unknown decision {label} with reason {reason:?}")))?;

    let signal: String = row.get(5)?;
    let detail = match Signal::from_code(&signal) {
        Some(Signal::MismatchStreak) => EvidenceDetail::Mismatch,
        Some(Signal::ProxyCheckIn) => EvidenceDetail::Proxy {
            subject_id: row.get::<_, Option<String>>(6)?.unwrap_or_default(),
            score: row.get::<_, Option<f64>>(7)?.map(|score| score as f32),
        },
        Some(Signal::Replay) => EvidenceDetail::Replay {
            source: replay_source(row)?,
            match_score: row.get(12)?,
            matched_hashes: row.get(13)?,
        },
        None => return Err(corrupt(5, Type::Text, format!("unknown alert signal {signal}"))),
    };

    Ok(Evidence {
        check_in_id: row.get(0)?,
        checked_in_at: from_unix_millis(row.get(1)?),
        decision,
        score: row.get::<_, Option<f64>>(4)?.map(|score| score as f32),
        detail,
        erased_at: row.get::<_, Option<i64>>(14)?.map(from_unix_millis),
    })
}

/// Reads the replay source in columns 8 to 11: a check-in, or a voiceprint's clip.
fn replay_source(row: &Row<'_>) -> rusqlite::Result<ReplaySource> {
    let recorded_at = row
        .get::<_, Option<i64>>(11)?
        .map(from_unix_millis)
        .ok_or_else(|| corrupt(11, Type::Integer, "replay evidence without the source's time".into()))?;

    if let Some(check_in_id) = row.get::<_, Option<i64>>(8)? {
        return Ok(ReplaySource::CheckIn { check_in_id, checked_in_at: recorded_at });
    }
    match (row.get::<_, Option<i64>>(9)?, row.get::<_, Option<u32>>(10)?) {
        (Some(voiceprint_id), Some(clip_index)) => {
            Ok(ReplaySource::EnrollmentClip { voiceprint_id, clip_index, enrolled_at: recorded_at })
        }
        _ => Err(corrupt(8, Type::Integer, "replay evidence without a source recording".into())),
    }
}

fn corrupt(column: usize, kind: Type, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, kind, Box::new(StoreError::Corrupt(message)))
}
