//! The one mapping from registry errors to gRPC statuses, with the rich error model:
//! every error carries a `google.rpc.ErrorInfo` whose reason is a stable code that apps
//! translate, and request problems carry `google.rpc.BadRequest` field violations.

use std::collections::HashMap;

use prost::Message;
use prost_types::Any;
use tonic::{Code, Status};
use tonic_types::{pb, BadRequest, ErrorInfo, FieldViolation};

use super::convert;
use crate::audio::AudioError;
use crate::registry::{self, RegistryError};
use crate::scoring::EnrollmentReport;

/// `ErrorInfo.domain` of every error this service returns.
pub const ERROR_DOMAIN: &str = "voiceprint";

/// Type URL of the `voiceprint.v1.EnrollmentReport` detail on ENROLLMENT_QUALITY errors.
pub const ENROLLMENT_REPORT_TYPE_URL: &str = "type.googleapis.com/voiceprint.v1.EnrollmentReport";

/// Stable reason codes besides the audio codes of [`AudioError::code`].
pub mod reason {
    pub const INVALID_FIELD: &str = "INVALID_FIELD";
    pub const SUBJECT_NOT_FOUND: &str = "SUBJECT_NOT_FOUND";
    pub const NOT_ENROLLED: &str = "NOT_ENROLLED";
    pub const MODEL_MISMATCH: &str = "MODEL_MISMATCH";
    pub const ENROLLMENT_QUALITY: &str = "ENROLLMENT_QUALITY";
    pub const OVERLOADED: &str = "OVERLOADED";
    pub const MODEL_NOT_READY: &str = "MODEL_NOT_READY";
    pub const MODEL_ERROR: &str = "MODEL_ERROR";
    pub const STORE_ERROR: &str = "STORE_ERROR";
    pub const INTERNAL: &str = "INTERNAL";
}

impl From<RegistryError> for Status {
    fn from(error: RegistryError) -> Status {
        let message = error.to_string();
        match error {
            RegistryError::InvalidRequest(violations) => {
                rich_status(Code::InvalidArgument, message, reason::INVALID_FIELD, metadata([]), violations)
            }
            RegistryError::Audio { field, error } => audio_status(message, field, &error),
            RegistryError::SubjectNotFound { subject_id } => rich_status(
                Code::NotFound,
                message,
                reason::SUBJECT_NOT_FOUND,
                metadata([("subject_id", subject_id)]),
                Vec::new(),
            ),
            RegistryError::NotEnrolled { subject_id, deleted_at } => {
                let mut details = metadata([("subject_id", subject_id)]);
                if let Some(deleted_at) = deleted_at {
                    details.insert("deleted_at".into(), prost_types::Timestamp::from(deleted_at).to_string());
                }
                rich_status(Code::FailedPrecondition, message, reason::NOT_ENROLLED, details, Vec::new())
            }
            RegistryError::ModelMismatch { subject_id, voiceprint_model, server_model } => rich_status(
                Code::FailedPrecondition,
                message,
                reason::MODEL_MISMATCH,
                metadata([
                    ("subject_id", subject_id),
                    ("voiceprint_model", voiceprint_model),
                    ("server_model", server_model),
                ]),
                Vec::new(),
            ),
            RegistryError::EnrollmentQuality(report) => enrollment_quality_status(message, &report),
            RegistryError::Overloaded { capacity } => rich_status(
                Code::ResourceExhausted,
                message,
                reason::OVERLOADED,
                metadata([("capacity", capacity.to_string())]),
                Vec::new(),
            ),
            RegistryError::ModelNotReady => {
                rich_status(Code::Unavailable, message, reason::MODEL_NOT_READY, metadata([]), Vec::new())
            }
            RegistryError::Model(_) => rich_status(Code::Internal, message, reason::MODEL_ERROR, metadata([]), Vec::new()),
            RegistryError::Store(_) => rich_status(Code::Internal, message, reason::STORE_ERROR, metadata([]), Vec::new()),
            RegistryError::Internal(_) => rich_status(Code::Internal, message, reason::INTERNAL, metadata([]), Vec::new()),
        }
    }
}

fn audio_status(message: String, field: String, error: &AudioError) -> Status {
    // Exhaustive on purpose: a new audio error must be given its status here.
    let code = match error {
        AudioError::TooLarge { .. } => Code::ResourceExhausted,
        AudioError::Empty
        | AudioError::UnsupportedFormat { .. }
        | AudioError::UnsupportedCodec { .. }
        | AudioError::Undecodable { .. }
        | AudioError::TooLong { .. }
        | AudioError::TooManyChannels { .. }
        | AudioError::SampleRateOutOfRange { .. }
        | AudioError::NonFinite { .. }
        | AudioError::NoSpeech { .. } => Code::InvalidArgument,
    };
    let violation = registry::FieldViolation::new(field.clone(), error.to_string());
    rich_status(code, message, error.code(), metadata([("field", field)]), vec![violation])
}

/// INVALID_ARGUMENT with a field violation for each failed clip (and for the total speech),
/// and the whole report as a `voiceprint.v1.EnrollmentReport` detail.
fn enrollment_quality_status(message: String, report: &EnrollmentReport) -> Status {
    let mut violations: Vec<registry::FieldViolation> = report
        .clips
        .iter()
        .filter(|clip| !clip.problems.is_empty())
        .map(|clip| registry::FieldViolation::new(format!("clips[{}]", clip.index), convert::describe_clip_problems(clip)))
        .collect();
    if !report.has_enough_speech() {
        violations.push(registry::FieldViolation::new(
            "clips",
            format!(
                "{:.2} s of speech in all clips, at least {:.2} s needed",
                report.total_speech_seconds, report.min_total_speech_seconds
            ),
        ));
    }

    let report_detail = Any {
        type_url: ENROLLMENT_REPORT_TYPE_URL.to_owned(),
        value: convert::enrollment_report(report).encode_to_vec(),
    };
    let mut details = standard_details(reason::ENROLLMENT_QUALITY, metadata([]), violations);
    details.push(report_detail);
    status_with_details(Code::InvalidArgument, message, details)
}

fn rich_status(
    code: Code,
    message: String,
    reason: &str,
    metadata: HashMap<String, String>,
    violations: Vec<registry::FieldViolation>,
) -> Status {
    status_with_details(code, message, standard_details(reason, metadata, violations))
}

/// Builds an `ErrorInfo`, and a `BadRequest` when there are violations.
fn standard_details(reason: &str, metadata: HashMap<String, String>, violations: Vec<registry::FieldViolation>) -> Vec<Any> {
    let info = pb::ErrorInfo::from(ErrorInfo::new(reason, ERROR_DOMAIN, metadata));
    let mut details = vec![Any { type_url: ErrorInfo::TYPE_URL.to_owned(), value: info.encode_to_vec() }];

    if !violations.is_empty() {
        let violations: Vec<FieldViolation> =
            violations.into_iter().map(|v| FieldViolation::new(v.field, v.description)).collect();
        let bad_request = pb::BadRequest::from(BadRequest::new(violations));
        details.push(Any { type_url: BadRequest::TYPE_URL.to_owned(), value: bad_request.encode_to_vec() });
    }
    details
}

fn status_with_details(code: Code, message: String, details: Vec<Any>) -> Status {
    let encoded = pb::Status { code: code as i32, message: message.clone(), details }.encode_to_vec();
    Status::with_details(code, message, encoded.into())
}

fn metadata<const N: usize>(entries: [(&str, String); N]) -> HashMap<String, String> {
    entries.into_iter().map(|(key, value)| (key.to_owned(), value)).collect()
}

/// Returns the canonical upper-case name of a status code, as gRPC's documentation and
/// other implementations spell it.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Returns the `ErrorInfo` reason of a status from this service, or "" when it has none.
pub fn reason_of(status: &Status) -> String {
    use tonic_types::StatusExt;
    status.get_error_details().error_info().map(|info| info.reason.clone()).unwrap_or_default()
}
