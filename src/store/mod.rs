//! The SQLite store: subjects, voiceprints with their model and history, enrolment clips and
//! check-ins, in one database file under the data directory.
//!
//! The database runs in WAL mode with `synchronous = FULL`, so a committed request survives a
//! crash or power loss. Every method that writes does so in one immediate transaction: a
//! process killed part-way leaves the state from before the request. `secure_delete` zeroes
//! the bytes of erased embeddings and audio in the database file instead of leaving them in
//! free pages.
//!
//! The methods block; async callers run them on a blocking thread.

mod check_ins;
mod records;
mod schema;
mod subjects;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, Transaction, TransactionBehavior};
use thiserror::Error;

pub use check_ins::{CheckInCursor, CheckInFilter, CheckInPage};
pub use records::{
    CheckInRecord, NewCheckIn, NewClip, NewEnrollment, StoredAudio, SubjectRecord, SubjectView, VoiceprintRecord,
};
pub use schema::SCHEMA_VERSION;

/// Name of the database file inside the data directory.
pub const DATABASE_FILE: &str = "voiceprint.sqlite3";

/// How long a statement waits for a lock held by another connection to the same file.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("cannot create the data directory {path}: {reason}")]
    DataDir { path: PathBuf, reason: String },

    #[error("the database has schema version {found}, newer than version {supported} that this build supports")]
    SchemaTooNew { found: u32, supported: u32 },

    #[error("corrupt record in the database: {0}")]
    Corrupt(String),

    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// A handle to the database; clones share one connection.
#[derive(Clone)]
pub struct Store {
    connection: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish_non_exhaustive()
    }
}

impl Store {
    /// Opens, or creates, the database in `data_dir`, creating the directory when missing,
    /// and migrates its schema.
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|error| StoreError::DataDir { path: data_dir.to_owned(), reason: error.to_string() })?;
        Self::open_file(&data_dir.join(DATABASE_FILE))
    }

    /// Opens, or creates, the database file at `path` and migrates its schema.
    pub fn open_file(path: &Path) -> Result<Store, StoreError> {
        let mut connection = Connection::open(path)?;
        connection.busy_timeout(BUSY_TIMEOUT)?;

        let journal_mode: String = connection.pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))?;
        if !journal_mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt(format!("cannot switch the journal to WAL mode, still {journal_mode}")));
        }
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.pragma_update(None, "foreign_keys", true)?;
        connection.pragma_update(None, "secure_delete", true)?;

        schema::migrate(&mut connection)?;
        Ok(Store { connection: Arc::new(Mutex::new(connection)), path: path.to_owned() })
    }

    /// Returns the path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held dropped its transaction, which rolled back, so the
        // connection is in a clean state.
        self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `work` in one immediate transaction, committed only when `work` succeeds.
    fn write<T>(&self, work: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = work(&transaction)?;
        transaction.commit()?;
        Ok(value)
    }

    /// Runs `work` in one deferred transaction, so that all its reads see one snapshot.
    fn read<T>(&self, work: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let mut connection = self.lock();
        let transaction = connection.transaction()?;
        work(&transaction)
    }

    /// Copies the write-ahead log into the database file and truncates the log, so that erased
    /// data no longer sits in earlier log frames.
    fn checkpoint(&self) -> Result<(), StoreError> {
        self.lock().query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}

/// Encodes an embedding as little-endian f32 values.
fn encode_embedding(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|value| value.to_le_bytes()).collect()
}

/// Reads an embedding column written by [`encode_embedding`]; NULL once erased.
fn embedding_column(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Option<Vec<f32>>> {
    let Some(bytes) = row.get::<_, Option<Vec<u8>>>(index)? else {
        return Ok(None);
    };
    if bytes.len() % 4 != 0 {
        let error = StoreError::Corrupt(format!("an embedding of {} bytes is not a whole number of f32 values", bytes.len()));
        return Err(rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Blob, Box::new(error)));
    }
    let values = bytes.chunks_exact(4).map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]));
    Ok(Some(values.collect()))
}

#[cfg(test)]
mod tests;
