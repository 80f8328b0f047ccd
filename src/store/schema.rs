//! Versioned schema migrations. The database's `PRAGMA user_version` is the number of
//! migrations applied; each migration runs in its own transaction together with the version
//! bump, so a crash leaves the schema at one version or the next.

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// Migrations in order; the database version is the count applied. Never edit a released
/// migration: append a new one.
const MIGRATIONS: &[&str] = &[V1_INITIAL];

/// Subjects, voiceprints with their enrolment clips, and check-ins.
///
/// Times are Unix milliseconds. Embeddings are little-endian f32 vectors. Everything derived
/// from audio is nullable so that deleting a subject can erase it while the rows that record
/// what happened, and when, remain.
const V1_INITIAL: &str = r#"
CREATE TABLE subjects (
    subject_id      TEXT PRIMARY KEY NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    deleted_at_ms   INTEGER
) STRICT;

CREATE TABLE voiceprints (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_id      TEXT NOT NULL REFERENCES subjects (subject_id),
    model           TEXT NOT NULL,
    embedding       BLOB,
    clip_count      INTEGER NOT NULL CHECK (clip_count > 0),
    speech_seconds  REAL NOT NULL CHECK (speech_seconds >= 0),
    enrolled_at_ms  INTEGER NOT NULL,
    replaced_at_ms  INTEGER,
    erased_at_ms    INTEGER,
    CHECK ((embedding IS NULL) = (erased_at_ms IS NOT NULL))
) STRICT;

-- At most one voiceprint per subject is in use.
CREATE UNIQUE INDEX voiceprints_current ON voiceprints (subject_id)
    WHERE replaced_at_ms IS NULL AND erased_at_ms IS NULL;
CREATE INDEX voiceprints_model ON voiceprints (model)
    WHERE replaced_at_ms IS NULL AND erased_at_ms IS NULL;

CREATE TABLE enrollment_clips (
    voiceprint_id       INTEGER NOT NULL REFERENCES voiceprints (id),
    clip_index          INTEGER NOT NULL CHECK (clip_index >= 0),
    embedding           BLOB NOT NULL,
    format              TEXT NOT NULL,
    source_sample_rate  INTEGER NOT NULL,
    source_channels     INTEGER NOT NULL,
    duration_seconds    REAL NOT NULL CHECK (duration_seconds >= 0),
    speech_seconds      REAL NOT NULL CHECK (speech_seconds >= 0),
    clipping_ratio      REAL NOT NULL CHECK (clipping_ratio BETWEEN 0 AND 1),
    snr_db              REAL NOT NULL,
    agreement           REAL,
    audio_sha256        BLOB NOT NULL CHECK (length(audio_sha256) = 32),
    audio               BLOB,
    audio_format        TEXT,
    PRIMARY KEY (voiceprint_id, clip_index),
    CHECK ((audio IS NULL) = (audio_format IS NULL))
) STRICT;

CREATE TABLE check_ins (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_id           TEXT NOT NULL REFERENCES subjects (subject_id),
    device_id            TEXT NOT NULL,
    checked_in_at_ms     INTEGER NOT NULL,
    decision             TEXT NOT NULL CHECK (decision IN ('MATCH', 'NO_MATCH', 'INCONCLUSIVE')),
    inconclusive_reason  TEXT CHECK (inconclusive_reason IN ('TOO_SHORT', 'NO_SPEECH', 'CLIPPED', 'TOO_NOISY')),
    score                REAL,
    threshold            REAL NOT NULL,
    model                TEXT NOT NULL,
    voiceprint_id        INTEGER NOT NULL REFERENCES voiceprints (id),
    format               TEXT,
    source_sample_rate   INTEGER,
    source_channels      INTEGER,
    duration_seconds     REAL,
    speech_seconds       REAL,
    clipping_ratio       REAL,
    snr_db               REAL,
    audio_sha256         BLOB CHECK (length(audio_sha256) = 32),
    embedding            BLOB,
    audio                BLOB,
    audio_format         TEXT,
    erased_at_ms         INTEGER,
    CHECK ((decision = 'INCONCLUSIVE') = (inconclusive_reason IS NOT NULL)),
    CHECK ((audio IS NULL) = (audio_format IS NULL))
) STRICT;

CREATE INDEX check_ins_subject_time ON check_ins (subject_id, checked_in_at_ms, id);
CREATE INDEX check_ins_time ON check_ins (checked_in_at_ms, id);
"#;

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the database up to [`SCHEMA_VERSION`], refusing a database from a newer build.
pub fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let found: u32 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew { found, supported: SCHEMA_VERSION });
    }

    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = index as u32 + 1;
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        transaction.execute_batch(sql)?;
        transaction.pragma_update(None, "user_version", version)?;
        transaction.commit()?;
        tracing::info!(version, "migrated the store's schema");
    }
    Ok(())
}
