//! Score files: one trial per line, `label score [enroll test]`, whitespace-separated, with
//! the label `1`/`target` or `0`/`nontarget`. Other tools' scores of the same trials can be
//! written in this layout and measured with the same metric code.

use std::fmt::Write as _;
use std::path::Path;

use super::metrics::ScoredTrial;
use super::{files, EvalError};

/// Reads a score file.
pub fn read_scores(path: &Path) -> Result<Vec<ScoredTrial>, EvalError> {
    let text = files::read_text(path, files::MAX_LIST_BYTES)?;
    parse_scores(&text, path)
}

/// Parses score file text; `path` only names the source in errors. Blank lines are skipped.
pub fn parse_scores(text: &str, path: &Path) -> Result<Vec<ScoredTrial>, EvalError> {
    let mut trials = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let invalid = |reason: String| EvalError::InvalidLine { path: path.to_path_buf(), line: index + 1, reason };

        if fields.len() != 2 && fields.len() != 4 {
            return Err(invalid(format!("expected 2 or 4 fields (label score [enroll test]), found {}", fields.len())));
        }
        let target = match fields[0] {
            "1" | "target" => true,
            "0" | "nontarget" => false,
            other => return Err(invalid(format!("invalid label \"{other}\": expected 1, 0, target or nontarget"))),
        };
        let score: f64 = fields[1].parse().map_err(|_| invalid(format!("invalid score \"{}\"", fields[1])))?;
        if !score.is_finite() {
            return Err(invalid(format!("score \"{}\" is not a finite number", fields[1])));
        }
        trials.push(ScoredTrial { target, score });
    }
    Ok(trials)
}

/// Writes `label score enroll test` lines, atomically. Scores keep enough digits to read
/// back the same `f64`.
pub fn write_scores<'a>(
    path: &Path,
    rows: impl IntoIterator<Item = (bool, f64, &'a str, &'a str)>,
) -> Result<(), EvalError> {
    let mut text = String::new();
    for (target, score, enroll, test) in rows {
        writeln!(text, "{} {score} {enroll} {test}", u8::from(target)).expect("writing to a String cannot fail");
    }
    files::write_atomically(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_layouts_parse() {
        let trials = parse_scores("1 0.75 a b\n0 -0.125\n\ntarget 0.5\n", Path::new("s")).unwrap();
        assert_eq!(
            trials,
            vec![
                ScoredTrial { target: true, score: 0.75 },
                ScoredTrial { target: false, score: -0.125 },
                ScoredTrial { target: true, score: 0.5 },
            ]
        );
    }

    #[test]
    fn nan_score_is_rejected() {
        let error = parse_scores("1 NaN\n", Path::new("s")).unwrap_err();
        assert!(matches!(error, EvalError::InvalidLine { line: 1, .. }));
    }

    #[test]
    fn three_fields_are_rejected() {
        let error = parse_scores("1 0.5 a\n", Path::new("s")).unwrap_err();
        assert!(matches!(error, EvalError::InvalidLine { line: 1, .. }));
    }

    #[test]
    fn written_scores_read_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scores.txt");
        let score = 0.1f64 + 0.2;
        write_scores(&path, [(true, score, "a+b", "c")]).unwrap();

        assert_eq!(read_scores(&path).unwrap(), vec![ScoredTrial { target: true, score }]);
    }
}
