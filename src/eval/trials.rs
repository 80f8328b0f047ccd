//! Trial lists and enrolment maps.
//!
//! A trial list has one trial per line, three whitespace-separated fields. VoxCeleb's
//! `veri_test.txt` puts the label first (`1 enroll test`); CN-Celeb's `trials.lst` puts it
//! last (`enroll test 1`). The label is `1` or `target` for a same-speaker trial and `0` or
//! `nontarget` otherwise. The position of the label is taken from the first line and must
//! hold for all lines. A side may name several files joined by `+`.
//!
//! An enrolment map (CN-Celeb's `enroll.map`) has an enrolment id followed by its files on
//! each line. With a map, the enrolment column of the trial list names those ids.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::{files, EvalError};

/// Maximum number of files that one side of a trial or one enrolment may name. It is more
/// than any enrolment a service would take, and it bounds the work one line can request.
pub const MAX_FILES_PER_SIDE: usize = 100;

/// Separator of the files of one side.
pub const SIDE_SEPARATOR: char = '+';

/// One line of a trial list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrialEntry {
    /// 1-based line number, for messages.
    pub line: usize,
    pub target: bool,
    pub enroll: String,
    pub test: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LabelPosition {
    First,
    Last,
}

/// Reads a trial list from `path`.
pub fn read_trial_list(path: &Path) -> Result<Vec<TrialEntry>, EvalError> {
    let text = files::read_text(path, files::MAX_LIST_BYTES)?;
    parse_trial_list(&text, path)
}

/// Parses trial list text; `path` only names the source in errors. Blank lines are skipped.
pub fn parse_trial_list(text: &str, path: &Path) -> Result<Vec<TrialEntry>, EvalError> {
    let mut label_position = None;
    let mut entries = Vec::new();

    for (index, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let invalid = |reason: String| EvalError::InvalidLine {
            path: path.to_path_buf(),
            line: index + 1,
            reason,
        };
        let [first, second, third] = fields[..] else {
            return Err(invalid(format!(
                "expected 3 fields (label enroll test), found {}",
                fields.len()
            )));
        };

        let position = match label_position {
            Some(position) => position,
            None if parse_label(first).is_some() => *label_position.insert(LabelPosition::First),
            None if parse_label(third).is_some() => *label_position.insert(LabelPosition::Last),
            None => {
                return Err(invalid(format!(
                    "found no label (1, 0, target or nontarget) in the first or last field of \"{line}\""
                )))
            }
        };
        let (label, enroll, test) = match position {
            LabelPosition::First => (first, second, third),
            LabelPosition::Last => (third, first, second),
        };
        let target = parse_label(label).ok_or_else(|| {
            invalid(format!(
                "invalid label \"{label}\": expected 1, 0, target or nontarget"
            ))
        })?;

        for side in [enroll, test] {
            let count = side.split(SIDE_SEPARATOR).count();
            if count > MAX_FILES_PER_SIDE {
                return Err(EvalError::TooManyFiles {
                    path: path.to_path_buf(),
                    line: index + 1,
                    files: count,
                    limit: MAX_FILES_PER_SIDE,
                });
            }
            if side.split(SIDE_SEPARATOR).any(str::is_empty) {
                return Err(invalid(format!("\"{side}\" has an empty file name")));
            }
        }
        entries.push(TrialEntry {
            line: index + 1,
            target,
            enroll: enroll.to_string(),
            test: test.to_string(),
        });
    }
    Ok(entries)
}

fn parse_label(field: &str) -> Option<bool> {
    match field {
        "1" | "target" => Some(true),
        "0" | "nontarget" => Some(false),
        _ => None,
    }
}

/// The files of each enrolment id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnrollMap {
    enrolments: BTreeMap<String, Vec<String>>,
}

impl EnrollMap {
    pub fn read(path: &Path) -> Result<Self, EvalError> {
        let text = files::read_text(path, files::MAX_LIST_BYTES)?;
        Self::parse(&text, path)
    }

    /// Parses `id file [file ...]` lines. Lines that repeat an id add files to it, as maps
    /// with one file per line do.
    pub fn parse(text: &str, path: &Path) -> Result<Self, EvalError> {
        let mut enrolments: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (index, line) in text.lines().enumerate() {
            let mut fields = line.split_whitespace();
            let Some(id) = fields.next() else { continue };

            let files = enrolments.entry(id.to_string()).or_default();
            let before = files.len();
            files.extend(fields.map(str::to_string));
            if files.len() == before {
                return Err(EvalError::InvalidLine {
                    path: path.to_path_buf(),
                    line: index + 1,
                    reason: format!("enrolment {id} names no files"),
                });
            }
            if files.len() > MAX_FILES_PER_SIDE {
                return Err(EvalError::TooManyFiles {
                    path: path.to_path_buf(),
                    line: index + 1,
                    files: files.len(),
                    limit: MAX_FILES_PER_SIDE,
                });
            }
        }
        Ok(EnrollMap { enrolments })
    }

    pub fn files(&self, id: &str) -> Option<&[String]> {
        self.enrolments.get(id).map(Vec::as_slice)
    }
}

/// Writes trials as `label enroll test` lines (the VoxCeleb layout), atomically.
pub fn write_trial_list<'a>(
    path: &Path,
    trials: impl IntoIterator<Item = (bool, &'a str, &'a str)>,
) -> Result<(), EvalError> {
    let mut text = String::new();
    for (target, enroll, test) in trials {
        writeln!(text, "{} {enroll} {test}", u8::from(target))
            .expect("writing to a String cannot fail");
    }
    files::write_atomically(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<TrialEntry>, EvalError> {
        parse_trial_list(text, Path::new("trials.txt"))
    }

    #[test]
    fn voxceleb_layout_puts_label_first() {
        let entries = parse("1 a/1.wav a/2.wav\n\n0 a/1.wav b/1.wav\n").unwrap();
        assert_eq!(entries.len(), 2);
        assert!(entries[0].target);
        assert_eq!(entries[1].line, 3);
        assert_eq!(entries[1].test, "b/1.wav");
    }

    #[test]
    fn cnceleb_layout_puts_label_last() {
        let entries =
            parse("id00800-enroll test/id00800-a.wav 1\nid00800-enroll test/id00801-b.wav 0\n")
                .unwrap();
        assert_eq!(entries[0].enroll, "id00800-enroll");
        assert_eq!(entries[0].test, "test/id00800-a.wav");
        assert!(entries[0].target);
        assert!(!entries[1].target);
    }

    #[test]
    fn word_labels_are_accepted() {
        let entries = parse("target a b\nnontarget a c\n").unwrap();
        assert!(entries[0].target);
        assert!(!entries[1].target);
    }

    #[test]
    fn label_position_holds_for_all_lines() {
        let error = parse("1 a b\na c 0\n").unwrap_err();
        assert!(matches!(error, EvalError::InvalidLine { line: 2, .. }));
    }

    #[test]
    fn two_fields_are_rejected() {
        let error = parse("1 a\n").unwrap_err();
        assert!(matches!(error, EvalError::InvalidLine { line: 1, .. }));
    }

    #[test]
    fn empty_file_in_side_is_rejected() {
        let error = parse("1 a++b c\n").unwrap_err();
        assert!(matches!(error, EvalError::InvalidLine { line: 1, .. }));
    }

    #[test]
    fn too_many_files_in_side_are_rejected() {
        let side = vec!["x.wav"; MAX_FILES_PER_SIDE + 1].join("+");
        let error = parse(&format!("1 {side} y.wav\n")).unwrap_err();
        assert!(
            matches!(error, EvalError::TooManyFiles { files, .. } if files == MAX_FILES_PER_SIDE + 1)
        );
    }

    #[test]
    fn enroll_map_joins_repeated_ids() {
        let map = EnrollMap::parse(
            "e1 a.wav b.wav\ne2 c.wav\ne1 d.wav\n",
            Path::new("enroll.map"),
        )
        .unwrap();
        assert_eq!(map.files("e1").unwrap(), ["a.wav", "b.wav", "d.wav"]);
        assert_eq!(map.files("e3"), None);
    }

    #[test]
    fn enroll_map_line_without_files_is_rejected() {
        let error = EnrollMap::parse("e1\n", Path::new("enroll.map")).unwrap_err();
        assert!(matches!(error, EvalError::InvalidLine { line: 1, .. }));
    }

    #[test]
    fn written_trials_parse_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trials.txt");
        write_trial_list(&path, [(true, "a+b", "c"), (false, "a+b", "d")]).unwrap();

        let entries = read_trial_list(&path).unwrap();
        assert_eq!(entries[0].enroll, "a+b");
        assert!(entries[0].target);
        assert!(!entries[1].target);
    }
}
