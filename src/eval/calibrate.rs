//! Decision thresholds from measured error rates, written into the service's settings file.

use std::path::Path;

use toml_edit::{value, Decor, DocumentMut, Item, Table};

use super::metrics::{DetCurve, OperatingPoint};
use super::{files, EvalError};

/// The settings key the service reads its decision threshold from: a check-in is accepted
/// when its cosine score is at least this value.
pub const THRESHOLD_KEY: &str = "threshold";

/// Start of the comment lines that record where a calibrated threshold came from. Earlier
/// lines with this start are replaced on recalibration; other comments are kept.
pub const PROVENANCE_MARKER: &str = "# voiceprint calibrate:";

/// Largest settings file accepted, in bytes.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Finds the threshold with the lowest false-reject rate whose false-accept rate is at most
/// `target_far`.
pub fn threshold_for_far(curve: &DetCurve, target_far: f64) -> Result<OperatingPoint, EvalError> {
    if !(target_far > 0.0 && target_far < 1.0) {
        return Err(EvalError::InvalidSetting {
            name: "--target-far",
            value: target_far.to_string(),
            reason: "must be a fraction between 0 and 1, such as 0.01 for 1%".to_string(),
        });
    }

    let point = curve.at_false_alarm_rate(target_far);
    if !point.threshold.is_finite() {
        return Err(EvalError::UnreachableFar {
            target_far,
            non_targets: curve.non_targets(),
        });
    }
    Ok(point)
}

/// Sets the top-level `threshold` in the TOML settings file at `path`, creating the file if
/// needed, with one comment line per entry of `provenance` above it. Every other key and
/// comment of the file is kept as it was. The file is replaced atomically.
pub fn write_threshold(
    path: &Path,
    threshold: f64,
    provenance: &[String],
) -> Result<(), EvalError> {
    let text = match files::read_text(path, MAX_CONFIG_BYTES) {
        Ok(text) => text,
        Err(EvalError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            String::new()
        }
        Err(error) => return Err(error),
    };
    let updated =
        set_threshold(&text, threshold, provenance).map_err(|reason| EvalError::InvalidConfig {
            path: path.to_path_buf(),
            reason,
        })?;
    files::write_atomically(path, updated.as_bytes())
}

/// Returns `text` with the threshold and its provenance comment set.
pub fn set_threshold(text: &str, threshold: f64, provenance: &[String]) -> Result<String, String> {
    let mut document: DocumentMut = text
        .parse()
        .map_err(|error: toml_edit::TomlError| error.to_string())?;
    let root = document.as_table_mut();
    let old_prefix =
        match root.get(THRESHOLD_KEY) {
            Some(Item::Value(v)) if v.is_float() || v.is_integer() => root
                .key_mut(THRESHOLD_KEY)
                .and_then(|mut key| {
                    key.leaf_decor_mut()
                        .prefix()
                        .and_then(|p| p.as_str())
                        .map(str::to_string)
                })
                .unwrap_or_default(),
            Some(_) => return Err(format!(
                "the existing \"{THRESHOLD_KEY}\" is not a number, so it is left for you to fix"
            )),
            None => take_leading_comments(&mut document),
        };

    let mut prefix: String = old_prefix
        .split_inclusive('\n')
        .filter(|line| !line.trim_start().starts_with(PROVENANCE_MARKER))
        .collect();
    for line in provenance {
        let line: String = line
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        prefix.push_str(&format!("{PROVENANCE_MARKER} {line}\n"));
    }

    let root = document.as_table_mut();
    root.insert(THRESHOLD_KEY, value(threshold));
    root.key_mut(THRESHOLD_KEY)
        .expect("the key was just inserted")
        .leaf_decor_mut()
        .set_prefix(prefix);
    Ok(document.to_string())
}

/// Takes the comments at the top of a file that has no top-level keys, so that they stay
/// above a threshold inserted there. They belong to the first table header, or, in a file
/// of comments only, to the end of the document. A file with top-level keys keeps them with
/// its first key, and the threshold goes after its last key.
fn take_leading_comments(document: &mut DocumentMut) -> String {
    if document.as_table().iter().any(|(_, item)| item.is_value()) {
        return String::new();
    }
    if let Some(decor) = first_header_decor(document.as_table_mut()) {
        let leading = decor
            .prefix()
            .and_then(|p| p.as_str())
            .unwrap_or_default()
            .to_string();
        decor.set_prefix("\n");
        return leading;
    }
    let leading = document.trailing().as_str().unwrap_or_default().to_string();
    document.set_trailing("");
    leading
}

/// The decoration of the first table header in `table`, looking inside implicit tables,
/// which have no header of their own.
fn first_header_decor(table: &mut Table) -> Option<&mut Decor> {
    let path = first_header_path(table)?;
    let (last, parents) = path.split_last()?;
    let mut current = table;
    for key in parents {
        current = current.get_mut(key)?.as_table_mut()?;
    }
    match current.get_mut(last)? {
        Item::Table(child) => Some(child.decor_mut()),
        Item::ArrayOfTables(array) => array.get_mut(0).map(Table::decor_mut),
        _ => None,
    }
}

/// The keys leading to the first table with a header of its own.
fn first_header_path(table: &Table) -> Option<Vec<String>> {
    for (key, item) in table.iter() {
        match item {
            Item::Table(child) if child.is_implicit() => {
                if let Some(mut path) = first_header_path(child) {
                    path.insert(0, key.to_string());
                    return Some(path);
                }
            }
            Item::Table(_) | Item::ArrayOfTables(_) => return Some(vec![key.to_string()]),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::metrics::ScoredTrial;

    fn provenance(line: &str) -> Vec<String> {
        vec![line.to_string()]
    }

    #[test]
    fn other_keys_and_comments_are_kept() {
        let text = "# Service settings\nlisten = \"127.0.0.1:0\" # loopback only\n\n[limits]\nmax_seconds = 30\n";
        let updated = set_threshold(text, 0.75, &provenance("prompted protocol, seed 59")).unwrap();

        assert!(updated.contains("# Service settings\n"));
        assert!(updated.contains("listen = \"127.0.0.1:0\" # loopback only\n"));
        assert!(updated.contains("[limits]\nmax_seconds = 30\n"));
        assert!(updated
            .contains("# voiceprint calibrate: prompted protocol, seed 59\nthreshold = 0.75\n"));

        let parsed: toml::Table = toml::from_str(&updated).unwrap();
        assert_eq!(parsed["threshold"].as_float(), Some(0.75));
        assert!(
            parsed["limits"].get("threshold").is_none(),
            "the threshold must be a top-level key"
        );
    }

    #[test]
    fn recalibration_replaces_value_and_provenance() {
        let text =
            "# Decision threshold, cosine.\n# voiceprint calibrate: old data\nthreshold = 0.5\n";
        let updated = set_threshold(text, 0.8125, &provenance("new data")).unwrap();

        assert_eq!(
            updated,
            "# Decision threshold, cosine.\n# voiceprint calibrate: new data\nthreshold = 0.8125\n"
        );
    }

    #[test]
    fn leading_comment_stays_on_top() {
        let text = "# Service settings\n\n[limits]\nmax_seconds = 30\n";
        let updated = set_threshold(text, 0.75, &provenance("data")).unwrap();

        assert_eq!(
            updated,
            "# Service settings\n\n# voiceprint calibrate: data\nthreshold = 0.75\n\n[limits]\nmax_seconds = 30\n"
        );
    }

    #[test]
    fn comment_only_file_keeps_comment_first() {
        let updated = set_threshold("# Service settings\n", 0.75, &provenance("data")).unwrap();

        assert_eq!(
            updated,
            "# Service settings\n# voiceprint calibrate: data\nthreshold = 0.75\n"
        );
    }

    #[test]
    fn non_numeric_threshold_is_rejected() {
        let error = set_threshold("threshold = \"high\"\n", 0.7, &[]).unwrap_err();
        assert!(error.contains("not a number"));
    }

    #[test]
    fn invalid_toml_is_rejected() {
        assert!(set_threshold("threshold = = 1\n", 0.7, &[]).is_err());
    }

    #[test]
    fn missing_file_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("voiceprint.toml");
        write_threshold(&path, 0.7, &provenance("test")).unwrap();

        let parsed: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(parsed["threshold"].as_float(), Some(0.7));
    }

    #[test]
    fn threshold_keeps_far_within_target() {
        let mut trials: Vec<ScoredTrial> = (0..200)
            .map(|i| ScoredTrial {
                target: false,
                score: i as f64 / 200.0,
            })
            .collect();
        trials.extend((0..50).map(|i| ScoredTrial {
            target: true,
            score: 0.5 + i as f64 / 100.0,
        }));
        let curve = DetCurve::new(&trials).unwrap();

        let point = threshold_for_far(&curve, 0.01).unwrap();
        let accepted = trials
            .iter()
            .filter(|t| !t.target && t.score >= point.threshold)
            .count();
        assert!(accepted <= 2, "{accepted} of 200 non-targets accepted");
        assert!(point.false_alarm_rate <= 0.01);
    }

    #[test]
    fn far_target_outside_0_1_is_rejected() {
        let curve = DetCurve::new(&[
            ScoredTrial {
                target: true,
                score: 0.9,
            },
            ScoredTrial {
                target: false,
                score: 0.1,
            },
        ])
        .unwrap();
        assert!(matches!(
            threshold_for_far(&curve, 1.0),
            Err(EvalError::InvalidSetting { .. })
        ));
    }
}
