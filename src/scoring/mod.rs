//! From two embeddings to a score: cosine similarity, and adaptive symmetric score
//! normalisation against a cohort of other speakers.

pub mod as_norm;

pub use crate::embed::cosine_similarity;
pub use as_norm::{AsNorm, CohortStatistics, ScoringError};
