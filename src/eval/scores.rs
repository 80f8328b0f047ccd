//! Score files: one trial per line, `label score [enroll test]`, whitespace-separated, with
//! the label `1`/`target` or `0`/`nontarget`. Other tools' scores of the same trials can be
//! written in this layout and measured with the same metric code.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use super::metrics::ScoredTrial;
use super::{files, EvalError};

/// One line of a score file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreLine {
    pub target: bool,
    pub score: f64,
    /// The enrolment and test sides, when the line names them.
    pub sides: Option<(String, String)>,
}

impl ScoreLine {
    pub fn scored_trial(&self) -> ScoredTrial {
        ScoredTrial {
            target: self.target,
            score: self.score,
        }
    }
}

/// Reads the labels and scores of a score file.
pub fn read_scores(path: &Path) -> Result<Vec<ScoredTrial>, EvalError> {
    Ok(read_score_lines(path)?
        .iter()
        .map(ScoreLine::scored_trial)
        .collect())
}

/// Reads a score file with the sides its lines name.
pub fn read_score_lines(path: &Path) -> Result<Vec<ScoreLine>, EvalError> {
    let text = files::read_text(path, files::MAX_LIST_BYTES)?;
    parse_scores(&text, path)
}

/// Parses score file text; `path` only names the source in errors. Blank lines are skipped.
pub fn parse_scores(text: &str, path: &Path) -> Result<Vec<ScoreLine>, EvalError> {
    let mut trials = Vec::new();
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

        if fields.len() != 2 && fields.len() != 4 {
            return Err(invalid(format!(
                "expected 2 or 4 fields (label score [enroll test]), found {}",
                fields.len()
            )));
        }
        let target = match fields[0] {
            "1" | "target" => true,
            "0" | "nontarget" => false,
            other => {
                return Err(invalid(format!(
                    "invalid label \"{other}\": expected 1, 0, target or nontarget"
                )))
            }
        };
        let score: f64 = fields[1]
            .parse()
            .map_err(|_| invalid(format!("invalid score \"{}\"", fields[1])))?;
        if !score.is_finite() {
            return Err(invalid(format!(
                "score \"{}\" is not a finite number",
                fields[1]
            )));
        }
        let sides = (fields.len() == 4).then(|| (fields[2].to_string(), fields[3].to_string()));
        trials.push(ScoreLine {
            target,
            score,
            sides,
        });
    }
    Ok(trials)
}

/// Keeps in each run only the trials that every run scored, matched by label and sides. A
/// trial listed twice matches twice. Every line must name its sides; `runs` pairs each
/// run's name, used in errors, with its lines.
pub fn keep_common_trials(runs: &mut [(String, Vec<ScoreLine>)]) -> Result<(), EvalError> {
    type Key<'a> = (bool, &'a str, &'a str);

    let mut counts: Vec<HashMap<Key<'_>, usize>> = Vec::with_capacity(runs.len());
    for (name, lines) in runs.iter() {
        let mut run_counts = HashMap::new();
        for line in lines {
            let Some((enroll, test)) = &line.sides else {
                return Err(EvalError::InvalidSetting {
                    name: "--common-trials",
                    value: name.clone(),
                    reason: "its scores do not name the enrolment and test sides of each trial"
                        .to_string(),
                });
            };
            *run_counts
                .entry((line.target, enroll.as_str(), test.as_str()))
                .or_insert(0) += 1;
        }
        counts.push(run_counts);
    }

    let common: HashMap<(bool, String, String), usize> = counts[0]
        .keys()
        .map(|key| {
            let shared = counts
                .iter()
                .map(|c| c.get(key).copied().unwrap_or(0))
                .min()
                .unwrap_or(0);
            ((key.0, key.1.to_string(), key.2.to_string()), shared)
        })
        .collect();

    for (_, lines) in runs.iter_mut() {
        let mut remaining = common.clone();
        lines.retain(|line| {
            let (enroll, test) = line.sides.clone().expect("checked above");
            match remaining.get_mut(&(line.target, enroll, test)) {
                Some(left) if *left > 0 => {
                    *left -= 1;
                    true
                }
                _ => false,
            }
        });
    }
    Ok(())
}

/// Writes `label score enroll test` lines, atomically. Scores keep enough digits to read
/// back the same `f64`.
pub fn write_scores<'a>(
    path: &Path,
    rows: impl IntoIterator<Item = (bool, f64, &'a str, &'a str)>,
) -> Result<(), EvalError> {
    let mut text = String::new();
    for (target, score, enroll, test) in rows {
        writeln!(text, "{} {score} {enroll} {test}", u8::from(target))
            .expect("writing to a String cannot fail");
    }
    files::write_atomically(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_layouts_parse() {
        let lines = parse_scores("1 0.75 a b\n0 -0.125\n\ntarget 0.5\n", Path::new("s")).unwrap();
        assert_eq!(
            lines,
            vec![
                ScoreLine {
                    target: true,
                    score: 0.75,
                    sides: Some(("a".to_string(), "b".to_string()))
                },
                ScoreLine {
                    target: false,
                    score: -0.125,
                    sides: None
                },
                ScoreLine {
                    target: true,
                    score: 0.5,
                    sides: None
                },
            ]
        );
    }

    fn line(target: bool, score: f64, enroll: &str, test: &str) -> ScoreLine {
        ScoreLine {
            target,
            score,
            sides: Some((enroll.to_string(), test.to_string())),
        }
    }

    #[test]
    fn common_trials_drop_unshared_lines() {
        let mut runs = vec![
            (
                "ours".to_string(),
                vec![line(true, 0.9, "a", "b"), line(false, 0.1, "a", "c")],
            ),
            (
                "theirs".to_string(),
                vec![
                    line(true, 0.8, "a", "b"),
                    line(false, 0.2, "a", "d"),
                    line(false, 0.3, "a", "c"),
                ],
            ),
        ];
        keep_common_trials(&mut runs).unwrap();

        assert_eq!(
            runs[0].1,
            vec![line(true, 0.9, "a", "b"), line(false, 0.1, "a", "c")]
        );
        assert_eq!(
            runs[1].1,
            vec![line(true, 0.8, "a", "b"), line(false, 0.3, "a", "c")]
        );
    }

    #[test]
    fn common_trials_count_repeats() {
        let mut runs = vec![
            (
                "ours".to_string(),
                vec![line(true, 0.9, "a", "b"), line(true, 0.9, "a", "b")],
            ),
            ("theirs".to_string(), vec![line(true, 0.8, "a", "b")]),
        ];
        keep_common_trials(&mut runs).unwrap();

        assert_eq!(runs[0].1.len(), 1);
        assert_eq!(runs[1].1.len(), 1);
    }

    #[test]
    fn common_trials_need_side_names() {
        let mut runs = vec![
            ("ours".to_string(), vec![line(true, 0.9, "a", "b")]),
            (
                "theirs".to_string(),
                vec![ScoreLine {
                    target: true,
                    score: 0.8,
                    sides: None,
                }],
            ),
        ];
        let error = keep_common_trials(&mut runs).unwrap_err();
        assert!(matches!(error, EvalError::InvalidSetting { value, .. } if value == "theirs"));
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

        assert_eq!(
            read_scores(&path).unwrap(),
            vec![ScoredTrial {
                target: true,
                score
            }]
        );
    }
}
