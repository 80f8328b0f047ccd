use std::time::SystemTime;

use thiserror::Error;

use super::pool::PoolError;
use super::request::FieldViolation;
use crate::audio::AudioError;
use crate::model::ModelError;
use crate::scoring::EnrollmentReport;
use crate::store::StoreError;

/// Cause of a rejected or failed registry request. Nothing is written to the store for any
/// of these.
#[derive(Debug, Error)]
pub enum RegistryError {
    #[error("invalid request: {}", describe_violations(.0))]
    InvalidRequest(Vec<FieldViolation>),

    /// The recording in `field` ("audio", or "clips[2]" in an enrolment) was rejected.
    #[error("{field}: {error}")]
    Audio { field: String, error: AudioError },

    #[error("subject {subject_id} not found")]
    SubjectNotFound { subject_id: String },

    #[error("subject {subject_id} has no voiceprint{}", deleted_note(.deleted_at))]
    NotEnrolled { subject_id: String, deleted_at: Option<SystemTime> },

    #[error("the voiceprint of subject {subject_id} was made by model {voiceprint_model}, but the server runs {server_model}; enrol the subject again")]
    ModelMismatch { subject_id: String, voiceprint_model: String, server_model: String },

    #[error("the enrolment failed the quality gate")]
    EnrollmentQuality(EnrollmentReport),

    #[error("the server is busy: {capacity} requests are already running or queued; retry later")]
    Overloaded { capacity: usize },

    #[error("the speaker model is still loading; retry later")]
    ModelNotReady,

    #[error(transparent)]
    Model(#[from] ModelError),

    #[error(transparent)]
    Store(#[from] StoreError),

    #[error("internal error: {0}")]
    Internal(String),
}

impl From<PoolError> for RegistryError {
    fn from(error: PoolError) -> Self {
        match error {
            PoolError::Overloaded { capacity } => RegistryError::Overloaded { capacity },
            PoolError::JobPanicked(message) => RegistryError::Internal(message),
        }
    }
}

impl From<FieldViolation> for RegistryError {
    fn from(violation: FieldViolation) -> Self {
        RegistryError::InvalidRequest(vec![violation])
    }
}

fn describe_violations(violations: &[FieldViolation]) -> String {
    violations.iter().map(|v| v.description.as_str()).collect::<Vec<_>>().join("; ")
}

fn deleted_note(deleted_at: &Option<SystemTime>) -> String {
    match deleted_at {
        Some(time) => format!(": it was deleted at {}", prost_types::Timestamp::from(*time)),
        None => String::new(),
    }
}
