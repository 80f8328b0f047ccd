//! Decisions from scores and quality measurements: the check-in decision (MATCH, NO_MATCH or
//! INCONCLUSIVE with a reason) and the enrolment quality gate. Also adaptive symmetric score
//! normalisation (AS-norm) against a cohort of other speakers. Pure functions, no I/O.

pub mod as_norm;
mod check_in;
mod enrollment;

pub use as_norm::{AsNorm, CohortStatistics, ScoringError};
pub use check_in::{CheckInPolicy, Decision, InconclusiveReason};
pub use enrollment::{leave_one_out_agreement, ClipProblem, ClipReport, EnrollmentPolicy, EnrollmentReport};
