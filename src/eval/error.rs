use std::path::PathBuf;

use thiserror::Error;

use crate::embed::EmbedError;
use crate::model::ModelError;
use crate::scoring::ScoringError;

/// Failures of an evaluation or calibration run. Each variant names the file, line or
/// setting at fault and the value found.
#[derive(Debug, Error)]
pub enum EvalError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("{path} is {bytes} bytes, over the limit of {limit} bytes")]
    FileTooLarge {
        path: PathBuf,
        bytes: u64,
        limit: u64,
    },

    #[error("{path} is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 { path: PathBuf, offset: usize },

    #[error("{path}, line {line}: {reason}")]
    InvalidLine {
        path: PathBuf,
        line: usize,
        reason: String,
    },

    #[error("{path} has no column \"{column}\" in its header line")]
    MissingColumn { path: PathBuf, column: String },

    #[error("{path}, line {line}: a side names {files} files, over the limit of {limit}")]
    TooManyFiles {
        path: PathBuf,
        line: usize,
        files: usize,
        limit: usize,
    },

    #[error("{path}, line {line}: enrolment \"{id}\" is not in the enrolment map")]
    UnknownEnrollment {
        path: PathBuf,
        line: usize,
        id: String,
    },

    #[error("{file} is not listed in the speaker manifest {manifest}")]
    UnknownSpeaker { file: String, manifest: PathBuf },

    #[error("invalid {name} {value}: {reason}")]
    InvalidSetting {
        name: &'static str,
        value: String,
        reason: String,
    },

    #[error(
        "{found} speakers have at least {utterances} utterances, and the protocol needs {needed}"
    )]
    NotEnoughSpeakers {
        found: usize,
        needed: usize,
        utterances: usize,
    },

    #[error("the speaker of trial side \"{side}\" is unknown, so the AS-norm cohort cannot be checked for overlap; pass --speakers with a manifest of the audio root")]
    TrialSpeakersUnknown { side: String },

    #[error("the AS-norm cohort contains trial speakers: {}", speakers.join(", "))]
    CohortSpeakersInTrials { speakers: Vec<String> },

    #[error("cohort file {cohort_file} has the same content as trial file {trial_file}")]
    CohortFileInTrials {
        cohort_file: PathBuf,
        trial_file: PathBuf,
    },

    #[error("score {index} is {score}, not a finite number")]
    NonFiniteScore { index: usize, score: f64 },

    #[error("error rates need target and non-target trials; found {targets} target and {non_targets} non-target trials")]
    MissingTrialClass { targets: usize, non_targets: usize },

    #[error("no threshold keeps the false-accept rate at or below {target_far} with {non_targets} non-target trials, because the highest non-target scores are above every target score; use more trials or a higher --target-far")]
    UnreachableFar { target_far: f64, non_targets: usize },

    #[error("cannot update the settings file {path}: {reason}")]
    InvalidConfig { path: PathBuf, reason: String },

    #[error("embedding cache {path}: {source}")]
    Cache {
        path: PathBuf,
        source: rusqlite::Error,
    },

    #[error("cannot draw plot {path}: {reason}")]
    Plot { path: PathBuf, reason: String },

    #[error(transparent)]
    Model(#[from] ModelError),

    #[error("cannot load the embedding pipeline: {0}")]
    Embed(#[from] EmbedError),

    #[error(transparent)]
    Scoring(#[from] ScoringError),
}
