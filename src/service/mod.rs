//! The gRPC services. Each handler validates the request while converting it into registry
//! types, calls the [`Registry`](crate::registry::Registry), and converts the result back.
//! Every error goes through the one mapping in [`status`].

mod check_ins;
mod convert;
mod observe;
pub mod status;
mod subjects;
mod upload;
mod verification;

pub use check_ins::CheckInApi;
pub use convert::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use observe::{describe_metrics, DECISIONS_TOTAL, REQUESTS_TOTAL, REQUEST_DURATION_SECONDS};
pub use subjects::SubjectApi;
pub use verification::VerificationApi;
