//! Scores trials from recording embeddings: cosine similarity of the sides' embeddings, and
//! optionally AS-norm against a cohort.

use std::collections::{BTreeMap, HashMap};

use super::cache::Outcome;
use super::cohort::{self, CohortEntry};
use super::embedding::{EmbeddedRecordings, RecordingEmbedder};
use super::metrics::ScoredTrial;
use super::protocol::{Recording, TrialSet};
use super::EvalError;
use crate::embed::{cosine_similarity, mean_embedding};
use crate::scoring::{AsNorm, CohortStatistics};

/// The trials and cohort of one evaluation.
#[derive(Debug, Clone)]
pub struct EvaluationRequest {
    pub trial_set: TrialSet,
    /// AS-norm cohort; empty for raw cosine scores only.
    pub cohort: Vec<CohortEntry>,
    /// Cohort recordings each side is normalised by, capped at the number of cohort
    /// recordings the pipeline accepted.
    pub top_n: usize,
}

/// One scored trial.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrialScore {
    /// Index into the request's trials.
    pub trial: usize,
    pub target: bool,
    /// Cosine similarity of the two sides.
    pub cosine: f64,
    /// The AS-norm score, when a cohort was given.
    pub as_norm: Option<f64>,
}

/// The size of the cohort actually used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CohortSummary {
    pub recordings: usize,
    pub speakers: usize,
    pub top_n: usize,
}

/// Scores of the trials that could be scored, and why the others could not.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub trials: usize,
    pub scores: Vec<TrialScore>,
    /// Trials left unscored because the pipeline rejected a recording of a side, by the
    /// rejection's reason code.
    pub skipped_trials: BTreeMap<String, usize>,
    /// Recordings the pipeline rejected, by reason code.
    pub rejected_recordings: BTreeMap<String, usize>,
    pub recordings: usize,
    pub cache_hits: usize,
    pub cohort: Option<CohortSummary>,
}

impl Evaluation {
    pub fn cosine_trials(&self) -> Vec<ScoredTrial> {
        self.scores
            .iter()
            .map(|s| ScoredTrial {
                target: s.target,
                score: s.cosine,
            })
            .collect()
    }

    pub fn as_norm_trials(&self) -> Option<Vec<ScoredTrial>> {
        self.cohort?;
        Some(
            self.scores
                .iter()
                .filter_map(|s| {
                    Some(ScoredTrial {
                        target: s.target,
                        score: s.as_norm?,
                    })
                })
                .collect(),
        )
    }
}

/// Embeds what `request` needs and scores its trials.
pub fn evaluate(
    request: &EvaluationRequest,
    embedder: &RecordingEmbedder<'_>,
) -> Result<Evaluation, EvalError> {
    if !request.cohort.is_empty() {
        cohort::check_speakers_disjoint(&request.cohort, &request.trial_set)?;
    }

    let mut recordings = request.trial_set.recordings();
    recordings.extend(request.cohort.iter().map(|entry| entry.recording.clone()));
    recordings.sort();
    recordings.dedup();
    let embedded = embedder.embed_all(&recordings)?;

    let as_norm = if request.cohort.is_empty() {
        None
    } else {
        cohort::check_contents_disjoint(&request.cohort, &request.trial_set, &embedded.digests)?;
        Some(build_as_norm(
            &request.cohort,
            &embedded.outcomes,
            request.top_n,
        )?)
    };

    let mut evaluation = score(
        &request.trial_set,
        &embedded.outcomes,
        as_norm.as_ref().map(|(norm, _)| norm),
    )?;
    evaluation.recordings = recordings.len();
    evaluation.cache_hits = embedded.cache_hits;
    evaluation.cohort = as_norm.map(|(_, summary)| summary);
    evaluation.rejected_recordings = rejected_by_code(&embedded);
    Ok(evaluation)
}

fn rejected_by_code(embedded: &EmbeddedRecordings) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for outcome in embedded.outcomes.values() {
        if let Outcome::Rejected { code, .. } = outcome {
            *counts.entry(code.clone()).or_insert(0) += 1;
        }
    }
    counts
}

/// Builds AS-norm from the cohort recordings the pipeline accepted.
fn build_as_norm(
    cohort: &[CohortEntry],
    outcomes: &HashMap<Recording, Outcome>,
    top_n: usize,
) -> Result<(AsNorm, CohortSummary), EvalError> {
    let accepted: Vec<(&CohortEntry, &Vec<f32>)> = cohort
        .iter()
        .filter_map(|entry| match outcomes.get(&entry.recording) {
            Some(Outcome::Embedded(vector)) => Some((entry, vector)),
            _ => None,
        })
        .collect();

    let speakers: std::collections::BTreeSet<&str> =
        accepted.iter().map(|(e, _)| e.speaker.as_str()).collect();
    let top_n = top_n.min(accepted.len());
    let embeddings = accepted
        .into_iter()
        .map(|(_, vector)| vector.clone())
        .collect::<Vec<_>>();
    let summary = CohortSummary {
        recordings: embeddings.len(),
        speakers: speakers.len(),
        top_n,
    };
    Ok((AsNorm::new(embeddings, top_n)?, summary))
}

/// Averages the recording embeddings of each side, or returns the reason code of the side's
/// first rejected recording.
fn side_embeddings(
    set: &TrialSet,
    outcomes: &HashMap<Recording, Outcome>,
) -> Vec<Result<Vec<f32>, String>> {
    set.sides
        .iter()
        .map(|side| {
            let mut vectors = Vec::with_capacity(side.recordings.len());
            for recording in &side.recordings {
                match outcomes.get(recording) {
                    Some(Outcome::Embedded(vector)) => vectors.push(vector.clone()),
                    Some(Outcome::Rejected { code, .. }) => return Err(code.clone()),
                    None => unreachable!("every recording of a side was embedded"),
                }
            }
            Ok(mean_embedding(&vectors))
        })
        .collect()
}

fn score(
    set: &TrialSet,
    outcomes: &HashMap<Recording, Outcome>,
    as_norm: Option<&AsNorm>,
) -> Result<Evaluation, EvalError> {
    let sides = side_embeddings(set, outcomes);
    let statistics: Vec<Option<CohortStatistics>> = match as_norm {
        Some(norm) => sides
            .iter()
            .map(|side| {
                side.as_ref()
                    .ok()
                    .map(|embedding| norm.statistics(embedding))
                    .transpose()
            })
            .collect::<Result<_, _>>()?,
        None => vec![None; sides.len()],
    };

    let mut evaluation = Evaluation {
        trials: set.trials.len(),
        scores: Vec::with_capacity(set.trials.len()),
        skipped_trials: BTreeMap::new(),
        rejected_recordings: BTreeMap::new(),
        recordings: 0,
        cache_hits: 0,
        cohort: None,
    };
    for (index, trial) in set.trials.iter().enumerate() {
        let (enroll, test) = match (&sides[trial.enroll], &sides[trial.test]) {
            (Ok(enroll), Ok(test)) => (enroll, test),
            (Err(code), _) | (_, Err(code)) => {
                *evaluation.skipped_trials.entry(code.clone()).or_insert(0) += 1;
                continue;
            }
        };

        let cosine = f64::from(cosine_similarity(enroll, test));
        let normalized = match (as_norm, &statistics[trial.enroll], &statistics[trial.test]) {
            (Some(norm), Some(e), Some(t)) => Some(norm.normalize(cosine, e, t)),
            _ => None,
        };
        evaluation.scores.push(TrialScore {
            trial: index,
            target: trial.target,
            cosine,
            as_norm: normalized,
        });
    }
    Ok(evaluation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::protocol::{Side, Trial};

    fn side(name: &str) -> Side {
        Side {
            name: name.to_string(),
            recordings: vec![Recording::File(name.into())],
            speakers: Default::default(),
        }
    }

    fn embedded(vector: &[f32]) -> Outcome {
        Outcome::Embedded(vector.to_vec())
    }

    #[test]
    fn rejected_side_skips_its_trials() {
        let set = TrialSet {
            sides: vec![side("a"), side("b"), side("c")],
            trials: vec![
                Trial {
                    target: true,
                    enroll: 0,
                    test: 1,
                },
                Trial {
                    target: false,
                    enroll: 0,
                    test: 2,
                },
            ],
        };
        let outcomes = HashMap::from([
            (Recording::File("a".into()), embedded(&[1.0, 0.0])),
            (Recording::File("b".into()), embedded(&[0.6, 0.8])),
            (
                Recording::File("c".into()),
                Outcome::Rejected {
                    code: "NO_SPEECH".to_string(),
                    message: String::new(),
                },
            ),
        ]);

        let evaluation = score(&set, &outcomes, None).unwrap();
        assert_eq!(evaluation.scores.len(), 1);
        assert!((evaluation.scores[0].cosine - 0.6).abs() < 1e-6);
        assert_eq!(evaluation.skipped_trials["NO_SPEECH"], 1);
    }

    #[test]
    fn mean_side_averages_its_recordings() {
        let mut enroll = side("a");
        enroll.recordings.push(Recording::File("b".into()));
        let set = TrialSet {
            sides: vec![enroll, side("c")],
            trials: vec![Trial {
                target: true,
                enroll: 0,
                test: 1,
            }],
        };
        let outcomes = HashMap::from([
            (Recording::File("a".into()), embedded(&[1.0, 0.0])),
            (Recording::File("b".into()), embedded(&[0.0, 1.0])),
            (Recording::File("c".into()), embedded(&[1.0, 1.0])),
        ]);

        let evaluation = score(&set, &outcomes, None).unwrap();
        assert!((evaluation.scores[0].cosine - 1.0).abs() < 1e-6);
    }
}
