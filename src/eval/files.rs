//! Bounded reads and atomic writes of the evaluator's list and report files.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use super::EvalError;

/// Largest trial list, manifest, enrolment map or score file accepted, in bytes. The largest
/// public trial lists (VoxCeleb1-E and -H, about 580,000 trials) are under 40 MB.
pub const MAX_LIST_BYTES: u64 = 256 * 1024 * 1024;

/// Reads a UTF-8 text file of at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, EvalError> {
    let bytes = read_bytes(path, limit)?;
    String::from_utf8(bytes).map_err(|error| EvalError::NotUtf8 {
        path: path.to_path_buf(),
        offset: error.utf8_error().valid_up_to(),
    })
}

/// Reads a file of at most `limit` bytes, checking the size before allocating.
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, EvalError> {
    let read_error = |source| EvalError::Read {
        path: path.to_path_buf(),
        source,
    };

    let file = fs::File::open(path).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    if size > limit {
        return Err(EvalError::FileTooLarge {
            path: path.to_path_buf(),
            bytes: size,
            limit,
        });
    }

    // The file may grow between the size check and the read, so the read is bounded too.
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > limit {
        return Err(EvalError::FileTooLarge {
            path: path.to_path_buf(),
            bytes: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// Writes `contents` to a temporary file beside `path` and renames it over `path`, so that a
/// reader never sees a half-written file.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), EvalError> {
    let write_error = |source| EvalError::Write {
        path: path.to_path_buf(),
        source,
    };

    let file_name = path.file_name().ok_or_else(|| EvalError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file"),
    })?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(file_name);
    temporary_name.push(format!(".{}.tmp", std::process::id()));
    let temporary = path.with_file_name(temporary_name);

    let result = (|| {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if result.is_err() {
        // The temporary file is useless after a failed write; failing to remove it changes nothing.
        let _ = fs::remove_file(&temporary);
    }
    result.map_err(write_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_file_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.txt");
        fs::write(&path, "0123456789").unwrap();

        let error = read_text(&path, 4).unwrap_err();
        assert!(matches!(
            error,
            EvalError::FileTooLarge {
                bytes: 10,
                limit: 4,
                ..
            }
        ));
    }

    #[test]
    fn atomic_write_replaces_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        fs::write(&path, "old").unwrap();

        write_atomically(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
