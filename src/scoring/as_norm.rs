//! Adaptive symmetric score normalisation (AS-norm).
//!
//! A raw cosine score means more for a speaker whose voice is unlike most others than for one
//! who sounds like many. AS-norm measures that from a cohort of recordings of other speakers:
//! for each side of a trial, the mean μ and standard deviation σ of its scores against the N
//! cohort recordings most similar to it. The normalised score is
//!
//! ```text
//! s' = ½ · ((s − μ_enroll) / σ_enroll + (s − μ_test) / σ_test)
//! ```
//!
//! with σ the population standard deviation, as WeSpeaker's `bin/score_norm.py` computes it.
//! The score is symmetric in the two sides. The cohort must not contain the trial speakers,
//! or impostor trials against a cohort member are pushed down unfairly.

use thiserror::Error;

use crate::embed::cosine_similarity;

/// Smallest standard deviation divided by: a cohort whose top scores are all equal would
/// otherwise divide by zero.
const MIN_STANDARD_DEVIATION: f64 = 1e-6;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ScoringError {
    #[error("the AS-norm cohort is empty")]
    EmptyCohort,

    #[error("AS-norm top-N is {top_n}, outside 2..={cohort_size} for a cohort of {cohort_size} recordings")]
    TopNOutOfRange { top_n: usize, cohort_size: usize },

    #[error("embedding has {found} dimensions, the cohort has {expected}")]
    DimensionMismatch { expected: usize, found: usize },

    #[error("cohort embedding {index} contains a value that is not a finite number")]
    NonFinite { index: usize },
}

/// The statistics of one embedding's top-N cohort scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CohortStatistics {
    pub mean: f64,
    /// Population standard deviation, at least [`MIN_STANDARD_DEVIATION`].
    pub standard_deviation: f64,
}

/// A cohort and the number of its closest recordings that each side is normalised by.
#[derive(Debug, Clone)]
pub struct AsNorm {
    cohort: Vec<Vec<f32>>,
    top_n: usize,
}

impl AsNorm {
    /// `top_n` must be between 2 (a standard deviation needs two scores) and the cohort size.
    pub fn new(cohort: Vec<Vec<f32>>, top_n: usize) -> Result<Self, ScoringError> {
        let Some(first) = cohort.first() else {
            return Err(ScoringError::EmptyCohort);
        };
        let dimension = first.len();
        for (index, embedding) in cohort.iter().enumerate() {
            if embedding.len() != dimension {
                return Err(ScoringError::DimensionMismatch {
                    expected: dimension,
                    found: embedding.len(),
                });
            }
            if embedding.iter().any(|v| !v.is_finite()) {
                return Err(ScoringError::NonFinite { index });
            }
        }
        if top_n < 2 || top_n > cohort.len() {
            return Err(ScoringError::TopNOutOfRange {
                top_n,
                cohort_size: cohort.len(),
            });
        }
        Ok(AsNorm { cohort, top_n })
    }

    pub fn cohort_size(&self) -> usize {
        self.cohort.len()
    }

    pub fn top_n(&self) -> usize {
        self.top_n
    }

    /// Scores `embedding` against the cohort and summarises its `top_n` highest scores.
    pub fn statistics(&self, embedding: &[f32]) -> Result<CohortStatistics, ScoringError> {
        let expected = self.cohort[0].len();
        if embedding.len() != expected {
            return Err(ScoringError::DimensionMismatch {
                expected,
                found: embedding.len(),
            });
        }

        let mut scores: Vec<f64> = self
            .cohort
            .iter()
            .map(|member| f64::from(cosine_similarity(embedding, member)))
            .collect();
        scores.sort_unstable_by(|a, b| b.total_cmp(a));
        let top = &scores[..self.top_n];

        let mean = top.iter().sum::<f64>() / top.len() as f64;
        let variance = top.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / top.len() as f64;
        Ok(CohortStatistics {
            mean,
            standard_deviation: variance.sqrt().max(MIN_STANDARD_DEVIATION),
        })
    }

    /// Normalises the raw `score` of a trial whose sides have the given statistics.
    pub fn normalize(&self, score: f64, enroll: &CohortStatistics, test: &CohortStatistics) -> f64 {
        0.5 * ((score - enroll.mean) / enroll.standard_deviation
            + (score - test.mean) / test.standard_deviation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_is_symmetric() {
        let as_norm = AsNorm::new(vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![0.6, 0.8]], 2).unwrap();
        let a = as_norm.statistics(&[0.8, 0.6]).unwrap();
        let b = as_norm.statistics(&[1.0, 0.0]).unwrap();
        assert_eq!(
            as_norm.normalize(0.8, &a, &b),
            as_norm.normalize(0.8, &b, &a)
        );
    }

    #[test]
    fn top_n_must_fit_cohort() {
        let cohort = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        assert_eq!(
            AsNorm::new(cohort.clone(), 3).unwrap_err(),
            ScoringError::TopNOutOfRange {
                top_n: 3,
                cohort_size: 2
            }
        );
        assert!(matches!(
            AsNorm::new(cohort, 1),
            Err(ScoringError::TopNOutOfRange { top_n: 1, .. })
        ));
    }

    #[test]
    fn empty_cohort_is_rejected() {
        assert_eq!(
            AsNorm::new(Vec::new(), 2).unwrap_err(),
            ScoringError::EmptyCohort
        );
    }

    #[test]
    fn wrong_dimension_is_rejected() {
        let as_norm = AsNorm::new(vec![vec![1.0, 0.0], vec![0.0, 1.0]], 2).unwrap();
        assert_eq!(
            as_norm.statistics(&[1.0, 0.0, 0.0]).unwrap_err(),
            ScoringError::DimensionMismatch {
                expected: 2,
                found: 3
            }
        );
    }

    #[test]
    fn equal_cohort_scores_do_not_divide_by_zero() {
        let as_norm = AsNorm::new(vec![vec![1.0, 0.0], vec![1.0, 0.0]], 2).unwrap();
        let statistics = as_norm.statistics(&[1.0, 0.0]).unwrap();
        assert!(as_norm.normalize(0.5, &statistics, &statistics).is_finite());
    }
}
