//! Subjects and their voiceprints: enrolment, look-up and deletion.

use std::time::SystemTime;

use rusqlite::{params, OptionalExtension, Row, Transaction};

use super::records::{NewClip, NewEnrollment, SubjectRecord, SubjectView, VoiceprintRecord};
use super::{embedding_column, encode_embedding, Store, StoreError};
use crate::clock::{from_unix_millis, to_unix_millis};

const VOICEPRINT_COLUMNS: &str = "id, subject_id, model, embedding, clip_count, speech_seconds, \
     enrolled_at_ms, replaced_at_ms, erased_at_ms";

impl Store {
    /// Returns the subject with its current voiceprint and history, or `None` if unknown.
    pub fn subject(&self, subject_id: &str) -> Result<Option<SubjectView>, StoreError> {
        self.read(|transaction| load_subject_view(transaction, subject_id))
    }

    /// Records an enrolment: creates the subject if new (or clears its deletion), marks the
    /// current voiceprint as replaced, and inserts the new voiceprint with its clips, all in
    /// one transaction.
    pub fn save_enrollment(&self, enrollment: &NewEnrollment) -> Result<SubjectView, StoreError> {
        self.write(|transaction| {
            let subject_id = enrollment.subject_id.as_str();
            let enrolled_at = to_unix_millis(enrollment.enrolled_at);

            transaction.execute(
                "INSERT INTO subjects (subject_id, created_at_ms) VALUES (?1, ?2)
                 ON CONFLICT (subject_id) DO UPDATE SET deleted_at_ms = NULL",
                params![subject_id, enrolled_at],
            )?;
            transaction.execute(
                "UPDATE voiceprints SET replaced_at_ms = ?2
                 WHERE subject_id = ?1 AND replaced_at_ms IS NULL AND erased_at_ms IS NULL",
                params![subject_id, enrolled_at],
            )?;

            let speech_seconds: f64 = enrollment.clips.iter().map(|clip| clip.quality.speech_seconds).sum();
            transaction.execute(
                "INSERT INTO voiceprints (subject_id, model, embedding, clip_count, speech_seconds, enrolled_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    subject_id,
                    enrollment.model,
                    encode_embedding(&enrollment.embedding),
                    enrollment.clips.len() as i64,
                    speech_seconds,
                    enrolled_at,
                ],
            )?;
            let voiceprint_id = transaction.last_insert_rowid();

            for clip in &enrollment.clips {
                insert_clip(transaction, voiceprint_id, clip)?;
            }

            load_subject_view(transaction, subject_id)?
                .ok_or_else(|| StoreError::Corrupt(format!("subject {subject_id} vanished while it was enrolled")))
        })
    }

    /// Marks the subject deleted at `deleted_at` and erases every datum derived from its audio:
    /// voiceprint vectors, enrolment clips, and the scores, measurements, embeddings and audio
    /// of its check-ins. Returns `None` for an unknown subject. Deleting a deleted subject
    /// changes nothing and keeps the first deletion time.
    pub fn delete_subject(&self, subject_id: &str, deleted_at: SystemTime) -> Result<Option<SubjectView>, StoreError> {
        let view = self.write(|transaction| {
            let Some(subject) = load_subject(transaction, subject_id)? else {
                return Ok(None);
            };
            if subject.deleted_at.is_none() {
                erase_subject(transaction, subject_id, to_unix_millis(deleted_at))?;
            }
            load_subject_view(transaction, subject_id)
        })?;

        if view.is_some() {
            self.checkpoint()?;
        }
        Ok(view)
    }

    /// Returns the current voiceprints made by `model`, for identification.
    pub fn current_voiceprints(&self, model: &str) -> Result<Vec<VoiceprintRecord>, StoreError> {
        self.read(|transaction| {
            let mut statement = transaction.prepare(&format!(
                "SELECT {VOICEPRINT_COLUMNS} FROM voiceprints
                 WHERE model = ?1 AND replaced_at_ms IS NULL AND erased_at_ms IS NULL
                 ORDER BY subject_id"
            ))?;
            let rows = statement.query_map([model], voiceprint_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }
}

fn insert_clip(transaction: &Transaction<'_>, voiceprint_id: i64, clip: &NewClip) -> Result<(), StoreError> {
    let quality = &clip.quality;
    let (audio, audio_format) = match &clip.audio {
        Some(audio) => (Some(audio.bytes.as_slice()), Some(audio.format.as_str())),
        None => (None, None),
    };

    transaction.execute(
        "INSERT INTO enrollment_clips (voiceprint_id, clip_index, embedding, format, source_sample_rate,
             source_channels, duration_seconds, speech_seconds, clipping_ratio, snr_db, agreement,
             audio_sha256, audio, audio_format)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            voiceprint_id,
            clip.index as i64,
            encode_embedding(&clip.embedding),
            quality.format,
            quality.source_sample_rate,
            quality.source_channels,
            quality.duration_seconds,
            quality.speech_seconds,
            quality.clipping_ratio,
            quality.snr_db,
            clip.agreement.map(f64::from),
            clip.audio_sha256.as_slice(),
            audio,
            audio_format,
        ],
    )?;
    Ok(())
}

fn erase_subject(transaction: &Transaction<'_>, subject_id: &str, deleted_at: i64) -> Result<(), StoreError> {
    transaction.execute("UPDATE subjects SET deleted_at_ms = ?2 WHERE subject_id = ?1", params![subject_id, deleted_at])?;
    transaction.execute(
        "UPDATE voiceprints SET embedding = NULL, erased_at_ms = ?2
         WHERE subject_id = ?1 AND erased_at_ms IS NULL",
        params![subject_id, deleted_at],
    )?;
    transaction.execute(
        "DELETE FROM enrollment_clips
         WHERE voiceprint_id IN (SELECT id FROM voiceprints WHERE subject_id = ?1)",
        params![subject_id],
    )?;
    transaction.execute(
        "UPDATE check_ins SET score = NULL, format = NULL, source_sample_rate = NULL, source_channels = NULL,
             duration_seconds = NULL, speech_seconds = NULL, clipping_ratio = NULL, snr_db = NULL,
             audio_sha256 = NULL, embedding = NULL, audio = NULL, audio_format = NULL, erased_at_ms = ?2
         WHERE subject_id = ?1 AND erased_at_ms IS NULL",
        params![subject_id, deleted_at],
    )?;
    Ok(())
}

pub(super) fn load_subject(transaction: &Transaction<'_>, subject_id: &str) -> Result<Option<SubjectRecord>, StoreError> {
    let subject = transaction
        .query_row(
            "SELECT subject_id, created_at_ms, deleted_at_ms FROM subjects WHERE subject_id = ?1",
            [subject_id],
            |row| {
                Ok(SubjectRecord {
                    subject_id: row.get(0)?,
                    created_at: from_unix_millis(row.get(1)?),
                    deleted_at: row.get::<_, Option<i64>>(2)?.map(from_unix_millis),
                })
            },
        )
        .optional()?;
    Ok(subject)
}

fn load_subject_view(transaction: &Transaction<'_>, subject_id: &str) -> Result<Option<SubjectView>, StoreError> {
    let Some(subject) = load_subject(transaction, subject_id)? else {
        return Ok(None);
    };

    let mut statement =
        transaction.prepare(&format!("SELECT {VOICEPRINT_COLUMNS} FROM voiceprints WHERE subject_id = ?1 ORDER BY id DESC"))?;
    let voiceprints = statement.query_map([subject_id], voiceprint_row)?.collect::<Result<Vec<_>, _>>()?;

    let (current, history): (Vec<_>, Vec<_>) = voiceprints.into_iter().partition(VoiceprintRecord::is_current);
    Ok(Some(SubjectView { subject, current: current.into_iter().next(), history }))
}

fn voiceprint_row(row: &Row<'_>) -> rusqlite::Result<VoiceprintRecord> {
    Ok(VoiceprintRecord {
        id: row.get(0)?,
        subject_id: row.get(1)?,
        model: row.get(2)?,
        embedding: embedding_column(row, 3)?,
        clip_count: row.get(4)?,
        speech_seconds: row.get(5)?,
        enrolled_at: from_unix_millis(row.get(6)?),
        replaced_at: row.get::<_, Option<i64>>(7)?.map(from_unix_millis),
        erased_at: row.get::<_, Option<i64>>(8)?.map(from_unix_millis),
    })
}
