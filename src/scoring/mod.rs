//! Decisions from scores and quality measurements: the check-in decision (MATCH, NO_MATCH or
//! INCONCLUSIVE with a reason) and the enrolment quality gate. Pure functions, no I/O.

mod check_in;
mod enrollment;

pub use check_in::{CheckInPolicy, Decision, InconclusiveReason};
pub use enrollment::{leave_one_out_agreement, ClipProblem, ClipReport, EnrollmentPolicy, EnrollmentReport};
