//! The on-disk embedding cache, so that a second run over the same audio only scores.
//!
//! Entries are keyed by the SHA-256 of the audio content (not its path), the model tag, the
//! numeric precision and a fingerprint of the pipeline settings and crate version. A
//! recording that the pipeline rejects (no speech, say) is cached with its reason, because
//! it would be rejected again. The store is one SQLite file: each entry is written in one
//! statement, so an interrupted run leaves whole entries only.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest as _, Sha256};

use super::EvalError;

/// SHA-256 of audio content.
pub type Digest = [u8; 32];

/// The vector, rejection code and rejection message columns of one cache row.
type CachedRow = (Option<Vec<u8>>, Option<String>, Option<String>);

/// Version of the key derivation and table layout; a change starts a new set of keys.
const CACHE_FORMAT: &str = "voiceprint-embedding-cache/1";

/// The identity of one embedding.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey(String);

/// The pipeline's result for one recording.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Embedded(Vec<f32>),
    /// The pipeline rejected the recording; `code` is the stable reason code.
    Rejected {
        code: String,
        message: String,
    },
}

/// What, besides the audio, an embedding depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingIdentity {
    /// The model's "id@version" tag.
    pub model: String,
    /// Numeric precision of the model's weights, such as "fp32".
    pub precision: String,
    /// Anything else that changes the output: settings and the crate version.
    pub pipeline: String,
}

impl CacheKey {
    pub fn new(content: &Digest, identity: &EmbeddingIdentity) -> Self {
        let mut hasher = Sha256::new();
        for part in [
            CACHE_FORMAT,
            &identity.model,
            &identity.precision,
            &identity.pipeline,
        ] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        hasher.update(content);
        CacheKey(hex(&hasher.finalize()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// SHA-256 of one file's bytes.
pub fn file_digest(bytes: &[u8]) -> Digest {
    Sha256::digest(bytes).into()
}

/// Computes the content digest of several files played one after the other. It changes
/// with any file's content and with their order.
pub fn concatenation_digest(files: &[Digest]) -> Digest {
    let mut hasher = Sha256::new();
    hasher.update(b"concatenation at 16 kHz");
    hasher.update((files.len() as u64).to_le_bytes());
    for digest in files {
        hasher.update(digest);
    }
    hasher.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A cache file, shared by all threads of a run.
pub struct EmbeddingCache {
    path: PathBuf,
    connection: Mutex<Connection>,
}

impl EmbeddingCache {
    /// Opens or creates the cache at `path`, creating its folder as needed.
    pub fn open(path: &Path) -> Result<Self, EvalError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| EvalError::Write {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let cache_error = |source| EvalError::Cache {
            path: path.to_path_buf(),
            source,
        };

        let connection = Connection::open(path).map_err(cache_error)?;
        // Write-ahead logging lets a second run read while another writes, and the busy
        // timeout makes concurrent runs wait for each other instead of failing.
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(cache_error)?;
        connection
            .busy_timeout(std::time::Duration::from_secs(30))
            .map_err(cache_error)?;
        connection
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS embeddings (
                    key TEXT PRIMARY KEY,
                    model TEXT NOT NULL,
                    precision TEXT NOT NULL,
                    vector BLOB,
                    rejection_code TEXT,
                    rejection_message TEXT,
                    CHECK ((vector IS NULL) <> (rejection_code IS NULL))
                )",
            )
            .map_err(cache_error)?;
        Ok(EmbeddingCache {
            path: path.to_path_buf(),
            connection: Mutex::new(connection),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Looks up the cached outcome for `key`. An entry whose vector is not a whole number
    /// of finite `f32` values counts as absent, so it is computed and written again.
    pub fn get(&self, key: &CacheKey) -> Result<Option<Outcome>, EvalError> {
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let row: Option<CachedRow> = connection
            .query_row(
                "SELECT vector, rejection_code, rejection_message FROM embeddings WHERE key = ?1",
                params![key.as_str()],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()
            .map_err(|source| EvalError::Cache {
                path: self.path.clone(),
                source,
            })?;

        Ok(match row {
            Some((Some(bytes), _, _)) => decode_vector(&bytes).map(Outcome::Embedded),
            Some((None, Some(code), message)) => Some(Outcome::Rejected {
                code,
                message: message.unwrap_or_default(),
            }),
            _ => None,
        })
    }

    /// Stores `outcome` under `key`, replacing any earlier entry.
    pub fn put(
        &self,
        key: &CacheKey,
        identity: &EmbeddingIdentity,
        outcome: &Outcome,
    ) -> Result<(), EvalError> {
        let (vector, code, message) = match outcome {
            Outcome::Embedded(vector) => (Some(encode_vector(vector)), None, None),
            Outcome::Rejected { code, message } => {
                (None, Some(code.as_str()), Some(message.as_str()))
            }
        };
        let connection = self
            .connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        connection
            .execute(
                "INSERT OR REPLACE INTO embeddings (key, model, precision, vector, rejection_code, rejection_message)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![key.as_str(), identity.model, identity.precision, vector, code, message],
            )
            .map_err(|source| EvalError::Cache { path: self.path.clone(), source })?;
        Ok(())
    }
}

fn encode_vector(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn decode_vector(bytes: &[u8]) -> Option<Vec<f32>> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(4) {
        return None;
    }
    let vector: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|chunk| f32::from_le_bytes(chunk.try_into().expect("chunks of 4")))
        .collect();
    vector.iter().all(|v| v.is_finite()).then_some(vector)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(precision: &str) -> EmbeddingIdentity {
        EmbeddingIdentity {
            model: "ge2e-resemblyzer@0.1.4".to_string(),
            precision: precision.to_string(),
            pipeline: "test".to_string(),
        }
    }

    #[test]
    fn outcomes_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let cache = EmbeddingCache::open(&dir.path().join("sub/cache.sqlite3")).unwrap();
        let embedded = CacheKey::new(&file_digest(b"a"), &identity("fp32"));
        let rejected = CacheKey::new(&file_digest(b"b"), &identity("fp32"));

        cache
            .put(
                &embedded,
                &identity("fp32"),
                &Outcome::Embedded(vec![0.5, -0.25]),
            )
            .unwrap();
        let rejection = Outcome::Rejected {
            code: "NO_SPEECH".to_string(),
            message: "no speech found".to_string(),
        };
        cache.put(&rejected, &identity("fp32"), &rejection).unwrap();

        assert_eq!(
            cache.get(&embedded).unwrap(),
            Some(Outcome::Embedded(vec![0.5, -0.25]))
        );
        assert_eq!(cache.get(&rejected).unwrap(), Some(rejection));
    }

    #[test]
    fn entries_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.sqlite3");
        let key = CacheKey::new(&file_digest(b"a"), &identity("fp32"));
        EmbeddingCache::open(&path)
            .unwrap()
            .put(&key, &identity("fp32"), &Outcome::Embedded(vec![1.0]))
            .unwrap();

        assert_eq!(
            EmbeddingCache::open(&path).unwrap().get(&key).unwrap(),
            Some(Outcome::Embedded(vec![1.0]))
        );
    }

    #[test]
    fn precision_is_part_of_key() {
        let digest = file_digest(b"a");
        assert_ne!(
            CacheKey::new(&digest, &identity("fp32")),
            CacheKey::new(&digest, &identity("int8"))
        );
    }

    #[test]
    fn concatenation_order_changes_digest() {
        let (a, b) = (file_digest(b"a"), file_digest(b"b"));
        assert_ne!(concatenation_digest(&[a, b]), concatenation_digest(&[b, a]));
        assert_ne!(concatenation_digest(&[a]), a);
    }

    #[test]
    fn corrupt_vector_counts_as_absent() {
        assert_eq!(decode_vector(&[0, 0, 128]), None);
        assert_eq!(decode_vector(&f32::NAN.to_le_bytes()), None);
    }
}
