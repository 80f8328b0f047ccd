//! Dataset manifests: a tab-separated table with a header line and at least the columns
//! `relative_path` (relative to the manifest's folder) and `speaker_id`. Other columns, such
//! as `duration_seconds`, are ignored.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::{files, EvalError};

const PATH_COLUMN: &str = "relative_path";
const SPEAKER_COLUMN: &str = "speaker_id";

/// One recording of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    /// Path relative to the manifest's folder, as written in the manifest.
    pub relative_path: String,
    pub speaker: String,
}

/// A parsed manifest with the folder its paths are relative to.
#[derive(Debug, Clone)]
pub struct Manifest {
    path: PathBuf,
    root: PathBuf,
    entries: Vec<ManifestEntry>,
}

impl Manifest {
    /// Reads the manifest at `path`; its paths are relative to the folder that contains it.
    pub fn read(path: &Path) -> Result<Self, EvalError> {
        let text = files::read_text(path, files::MAX_LIST_BYTES)?;
        let root = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&text, path, &root)
    }

    /// Parses manifest text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path, root: &Path) -> Result<Self, EvalError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty());
        let (_, header) = lines.next().ok_or_else(|| EvalError::MissingColumn {
            path: path.to_path_buf(),
            column: PATH_COLUMN.to_string(),
        })?;
        let columns: Vec<&str> = header.split('\t').map(str::trim).collect();
        let column_index = |name: &str| {
            columns
                .iter()
                .position(|c| *c == name)
                .ok_or_else(|| EvalError::MissingColumn {
                    path: path.to_path_buf(),
                    column: name.to_string(),
                })
        };
        let path_index = column_index(PATH_COLUMN)?;
        let speaker_index = column_index(SPEAKER_COLUMN)?;

        let mut entries = Vec::new();
        let mut seen = HashSet::new();
        for (index, line) in lines {
            let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
            let invalid = |reason: String| EvalError::InvalidLine {
                path: path.to_path_buf(),
                line: index + 1,
                reason,
            };

            let (Some(&relative_path), Some(&speaker)) =
                (fields.get(path_index), fields.get(speaker_index))
            else {
                return Err(invalid(format!(
                    "expected {} tab-separated columns, found {}",
                    columns.len(),
                    fields.len()
                )));
            };
            if relative_path.is_empty() || speaker.is_empty() {
                return Err(invalid(
                    "the path and the speaker must not be empty".to_string(),
                ));
            }
            if !seen.insert(relative_path) {
                return Err(invalid(format!("{relative_path} is listed twice")));
            }
            entries.push(ManifestEntry {
                relative_path: relative_path.to_string(),
                speaker: speaker.to_string(),
            });
        }

        Ok(Manifest {
            path: path.to_path_buf(),
            root: root.to_path_buf(),
            entries,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the folder the entries' paths are relative to.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn entries(&self) -> &[ManifestEntry] {
        &self.entries
    }

    pub fn resolve(&self, entry: &ManifestEntry) -> PathBuf {
        self.root.join(&entry.relative_path)
    }

    /// Groups the entries by speaker, with speakers and each speaker's entries sorted, so that
    /// draws from this grouping do not depend on the order of the manifest's lines.
    pub fn by_speaker(&self) -> BTreeMap<&str, Vec<&ManifestEntry>> {
        let mut groups: BTreeMap<&str, Vec<&ManifestEntry>> = BTreeMap::new();
        for entry in &self.entries {
            groups
                .entry(entry.speaker.as_str())
                .or_default()
                .push(entry);
        }
        for entries in groups.values_mut() {
            entries.sort_by(|a, b| a.relative_path.cmp(&b.relative_path));
        }
        groups
    }

    /// Returns the speaker of each entry, keyed by its relative path.
    pub fn speakers_by_path(&self) -> HashMap<&str, &str> {
        self.entries
            .iter()
            .map(|e| (e.relative_path.as_str(), e.speaker.as_str()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, EvalError> {
        Manifest::parse(text, Path::new("MANIFEST.tsv"), Path::new("data"))
    }

    #[test]
    fn columns_are_found_by_name() {
        let manifest = parse(
            "speaker_id\tduration_seconds\trelative_path\nb\t1.0\tb/2.wav\na\t2.0\ta/1.wav\n",
        )
        .unwrap();
        let groups = manifest.by_speaker();
        assert_eq!(groups.keys().copied().collect::<Vec<_>>(), vec!["a", "b"]);
        assert_eq!(manifest.resolve(groups["a"][0]), Path::new("data/a/1.wav"));
    }

    #[test]
    fn missing_speaker_column_is_rejected() {
        let error = parse("relative_path\tduration_seconds\na.wav\t1\n").unwrap_err();
        assert!(matches!(error, EvalError::MissingColumn { column, .. } if column == "speaker_id"));
    }

    #[test]
    fn short_line_names_its_number() {
        let error = parse("relative_path\tspeaker_id\na.wav\ta\nb.wav\n").unwrap_err();
        assert!(matches!(error, EvalError::InvalidLine { line: 3, .. }));
    }

    #[test]
    fn duplicate_path_is_rejected() {
        let error = parse("relative_path\tspeaker_id\na.wav\ta\na.wav\tb\n").unwrap_err();
        assert!(matches!(error, EvalError::InvalidLine { line: 3, .. }));
    }
}
