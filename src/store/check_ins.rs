//! The check-in log: one row per verification that reached a decision.

use std::time::SystemTime;

use rusqlite::types::{ToSql, Type};
use rusqlite::{params, Row};

use super::records::{CheckInRecord, NewCheckIn};
use super::{encode_embedding, Store, StoreError};
use crate::clock::{from_unix_millis, to_unix_millis};
use crate::embed::QualityReport;
use crate::scoring::Decision;

const CHECK_IN_COLUMNS: &str = "id, subject_id, device_id, checked_in_at_ms, decision, inconclusive_reason, \
     score, threshold, model, voiceprint_id, format, source_sample_rate, source_channels, duration_seconds, \
     speech_seconds, clipping_ratio, snr_db, audio_sha256, erased_at_ms";

/// The position after which a page of check-ins continues: check-ins are ordered by time,
/// then by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckInCursor {
    pub checked_in_at_ms: i64,
    pub id: i64,
}

/// Filter and page size of a check-in listing.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckInFilter {
    /// `None` for every subject.
    pub subject_id: Option<String>,
    /// Earliest time included.
    pub start: Option<SystemTime>,
    /// Earliest time excluded.
    pub end: Option<SystemTime>,
    /// Continue after this check-in.
    pub after: Option<CheckInCursor>,
    /// Most check-ins to return; at least 1.
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckInPage {
    pub check_ins: Vec<CheckInRecord>,
    /// Start of the next page; `None` on the last page.
    pub next: Option<CheckInCursor>,
}

impl Store {
    /// Inserts a check-in and returns it with its id.
    pub fn record_check_in(&self, check_in: &NewCheckIn) -> Result<CheckInRecord, StoreError> {
        let id = self.write(|transaction| {
            insert_check_in(transaction, check_in)?;
            Ok(transaction.last_insert_rowid())
        })?;

        Ok(CheckInRecord {
            id,
            subject_id: check_in.subject_id.clone(),
            device_id: check_in.device_id.clone(),
            checked_in_at: check_in.checked_in_at,
            decision: check_in.decision,
            score: check_in.score,
            threshold: check_in.threshold,
            model: check_in.model.clone(),
            voiceprint_id: check_in.voiceprint_id,
            quality: Some(check_in.quality.clone()),
            audio_sha256: Some(check_in.audio_sha256),
            erased_at: None,
        })
    }

    /// Lists check-ins matching `filter`, oldest first.
    pub fn list_check_ins(&self, filter: &CheckInFilter) -> Result<CheckInPage, StoreError> {
        let mut conditions: Vec<&str> = Vec::new();
        let mut values: Vec<Box<dyn ToSql>> = Vec::new();

        if let Some(subject_id) = &filter.subject_id {
            conditions.push("subject_id = ?");
            values.push(Box::new(subject_id.clone()));
        }
        if let Some(start) = filter.start {
            conditions.push("checked_in_at_ms >= ?");
            values.push(Box::new(to_unix_millis(start)));
        }
        if let Some(end) = filter.end {
            conditions.push("checked_in_at_ms < ?");
            values.push(Box::new(to_unix_millis(end)));
        }
        if let Some(after) = filter.after {
            conditions.push("(checked_in_at_ms, id) > (?, ?)");
            values.push(Box::new(after.checked_in_at_ms));
            values.push(Box::new(after.id));
        }

        // Reading one row past the page shows whether another page follows.
        let limit = filter.limit.max(1);
        values.push(Box::new(limit as i64 + 1));

        let where_clause = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        let sql = format!("SELECT {CHECK_IN_COLUMNS} FROM check_ins {where_clause} ORDER BY checked_in_at_ms, id LIMIT ?");

        let mut check_ins = self.read(|transaction| {
            let mut statement = transaction.prepare(&sql)?;
            let rows = statement.query_map(rusqlite::params_from_iter(values.iter()), check_in_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })?;

        let next = if check_ins.len() > limit {
            check_ins.truncate(limit);
            check_ins.last().map(|last| CheckInCursor { checked_in_at_ms: to_unix_millis(last.checked_in_at), id: last.id })
        } else {
            None
        };
        Ok(CheckInPage { check_ins, next })
    }
}

fn insert_check_in(transaction: &rusqlite::Transaction<'_>, check_in: &NewCheckIn) -> Result<(), StoreError> {
    let quality = &check_in.quality;
    let (audio, audio_format) = match &check_in.audio {
        Some(audio) => (Some(audio.bytes.as_slice()), Some(audio.format.as_str())),
        None => (None, None),
    };

    transaction.execute(
        "INSERT INTO check_ins (subject_id, device_id, checked_in_at_ms, decision, inconclusive_reason, score,
             threshold, model, voiceprint_id, format, source_sample_rate, source_channels, duration_seconds,
             speech_seconds, clipping_ratio, snr_db, audio_sha256, embedding, audio, audio_format)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
        params![
            check_in.subject_id,
            check_in.device_id,
            to_unix_millis(check_in.checked_in_at),
            check_in.decision.label(),
            check_in.decision.inconclusive_reason().map(|reason| reason.code()),
            check_in.score.map(f64::from),
            f64::from(check_in.threshold),
            check_in.model,
            check_in.voiceprint_id,
            quality.format,
            quality.source_sample_rate,
            quality.source_channels,
            quality.duration_seconds,
            quality.speech_seconds,
            quality.clipping_ratio,
            quality.snr_db,
            check_in.audio_sha256.as_slice(),
            check_in.embedding.as_deref().map(encode_embedding),
            audio,
            audio_format,
        ],
    )?;
    Ok(())
}

fn check_in_row(row: &Row<'_>) -> rusqlite::Result<CheckInRecord> {
    let label: String = row.get(4)?;
    let reason: Option<String> = row.get(5)?;
    let decision = Decision::from_parts(&label, reason.as_deref()).ok_or_else(|| {
        let error = StoreError::Corrupt(format!("unknown decision {label} with reason {reason:?}"));
        rusqlite::Error::FromSqlConversionFailure(4, Type::Text, Box::new(error))
    })?;

    let audio_sha256: Option<Vec<u8>> = row.get(17)?;
    let audio_sha256 = audio_sha256
        .map(|bytes| <[u8; 32]>::try_from(bytes.as_slice()))
        .transpose()
        .map_err(|error| rusqlite::Error::FromSqlConversionFailure(17, Type::Blob, Box::new(error)))?;

    Ok(CheckInRecord {
        id: row.get(0)?,
        subject_id: row.get(1)?,
        device_id: row.get(2)?,
        checked_in_at: from_unix_millis(row.get(3)?),
        decision,
        score: row.get::<_, Option<f64>>(6)?.map(|score| score as f32),
        threshold: row.get::<_, f64>(7)? as f32,
        model: row.get(8)?,
        voiceprint_id: row.get(9)?,
        quality: quality_columns(row)?,
        audio_sha256,
        erased_at: row.get::<_, Option<i64>>(18)?.map(from_unix_millis),
    })
}

/// Reads the measurements in columns 10 to 16; `None` once erased.
fn quality_columns(row: &Row<'_>) -> rusqlite::Result<Option<QualityReport>> {
    let Some(format) = row.get::<_, Option<String>>(10)? else {
        return Ok(None);
    };
    Ok(Some(QualityReport {
        format,
        source_sample_rate: row.get(11)?,
        source_channels: row.get(12)?,
        duration_seconds: row.get(13)?,
        speech_seconds: row.get(14)?,
        clipping_ratio: row.get(15)?,
        snr_db: row.get(16)?,
    }))
}
