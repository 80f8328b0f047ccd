//! Decision thresholds from measured error rates, written into the service's settings file.

use std::path::Path;

use toml_edit::{value, DocumentMut, Item, Table};

use super::metrics::{DetCurve, OperatingPoint};
use super::{files, EvalError};

/// The settings table and key the service reads its decision threshold from
/// (`verification.threshold`): a check-in is accepted when its cosine score is at least this
/// value.
pub const THRESHOLD_TABLE: &str = "verification";
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

/// Sets `threshold` in the `[verification]` table of the TOML settings file at `path`,
/// creating the table or the file if needed, with one comment line per entry of `provenance`
/// above it. Every other key and
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
    let leading = take_comments_of_empty_document(&mut document);
    let table = verification_table(&mut document, leading)?;

    let old_prefix = match table.get(THRESHOLD_KEY) {
        Some(Item::Value(v)) if v.is_float() || v.is_integer() => table
            .key_mut(THRESHOLD_KEY)
            .and_then(|mut key| {
                let prefix = key.leaf_decor_mut().prefix().and_then(|p| p.as_str());
                prefix.map(str::to_string)
            })
            .unwrap_or_default(),
        Some(_) => {
            return Err(format!(
                "the existing {THRESHOLD_TABLE}.{THRESHOLD_KEY} is not a number, so it is left for you to fix"
            ))
        }
        None => String::new(),
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

    table.insert(THRESHOLD_KEY, value(threshold));
    table
        .key_mut(THRESHOLD_KEY)
        .expect("the key was just inserted")
        .leaf_decor_mut()
        .set_prefix(prefix);
    Ok(document.to_string())
}

/// Takes the comments of a document that has no keys or tables. They are the document's
/// trailing text, which would otherwise end up below a newly added table.
fn take_comments_of_empty_document(document: &mut DocumentMut) -> String {
    if !document.as_table().is_empty() {
        return String::new();
    }
    let comments = document.trailing().as_str().unwrap_or_default().to_string();
    document.set_trailing("");
    comments
}

/// Returns the `[verification]` table, adding it at the end of the document if it is
/// missing, with `leading` above its header.
fn verification_table(document: &mut DocumentMut, leading: String) -> Result<&mut Table, String> {
    let root = document.as_table_mut();
    if !root.contains_key(THRESHOLD_TABLE) {
        let mut table = Table::new();
        let separator = if root.is_empty() && leading.is_empty() {
            ""
        } else {
            "\n"
        };
        table
            .decor_mut()
            .set_prefix(format!("{leading}{separator}"));
        root.insert(THRESHOLD_TABLE, Item::Table(table));
    }
    match root.get_mut(THRESHOLD_TABLE) {
        Some(Item::Table(table)) => Ok(table),
        _ => Err(format!(
            "\"{THRESHOLD_TABLE}\" is not a table; write the settings as a [{THRESHOLD_TABLE}] table"
        )),
    }
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
        let text = "# Service settings\n[server]\nlisten = \"127.0.0.1:0\" # loopback only\n\n[verification]\nmin_snr_db = 7\n";
        let updated = set_threshold(text, 0.75, &provenance("prompted protocol, seed 59")).unwrap();

        assert_eq!(
            updated,
            "# Service settings\n[server]\nlisten = \"127.0.0.1:0\" # loopback only\n\n[verification]\nmin_snr_db = 7\n\
             # voiceprint calibrate: prompted protocol, seed 59\nthreshold = 0.75\n"
        );
        let parsed: toml::Table = toml::from_str(&updated).unwrap();
        assert_eq!(parsed["verification"]["threshold"].as_float(), Some(0.75));
    }

    #[test]
    fn recalibration_replaces_value_and_provenance() {
        let text = "[verification]\n# Decision threshold, cosine.\n# voiceprint calibrate: old data\nthreshold = 0.5\nmin_snr_db = 7\n";
        let updated = set_threshold(text, 0.8125, &provenance("new data")).unwrap();

        assert_eq!(
            updated,
            "[verification]\n# Decision threshold, cosine.\n# voiceprint calibrate: new data\nthreshold = 0.8125\nmin_snr_db = 7\n"
        );
    }

    #[test]
    fn missing_table_is_appended() {
        let text = "[server]\nlisten = \"127.0.0.1:0\"\n";
        let updated = set_threshold(text, 0.75, &provenance("data")).unwrap();

        assert_eq!(
            updated,
            "[server]\nlisten = \"127.0.0.1:0\"\n\n[verification]\n# voiceprint calibrate: data\nthreshold = 0.75\n"
        );
    }

    #[test]
    fn comment_only_file_keeps_comment_first() {
        let updated = set_threshold("# Service settings\n", 0.75, &provenance("data")).unwrap();

        assert_eq!(
            updated,
            "# Service settings\n\n[verification]\n# voiceprint calibrate: data\nthreshold = 0.75\n"
        );
    }

    #[test]
    fn non_numeric_threshold_is_rejected() {
        let error = set_threshold("[verification]\nthreshold = \"high\"\n", 0.7, &[]).unwrap_err();
        assert!(error.contains("not a number"), "{error}");
    }

    #[test]
    fn verification_value_is_rejected() {
        let error = set_threshold("verification = 3\n", 0.7, &[]).unwrap_err();
        assert!(error.contains("is not a table"), "{error}");
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
        assert_eq!(parsed["verification"]["threshold"].as_float(), Some(0.7));
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
