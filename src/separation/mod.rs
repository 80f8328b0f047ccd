//! Person-device separation: signs that the person holding the registered phone is not the
//! supervised person, and the alerts that tell officers so.
//!
//! Three signals raise an alert for a subject: a streak of NO_MATCH check-ins
//! ([`policy::StreakPolicy`]), a proxy check-in whose voice resembles another enrolled
//! subject more than the claimed one ([`policy::find_proxy`]), and a replay of one of the
//! subject's earlier recordings ([`replay`]).
//!
//! [`fingerprint`] recognises a replayed recording. The service fingerprints every
//! enrolment and check-in clip it accepts, and a new check-in whose fingerprint matches one of
//! the subject's earlier clips is a replay of that clip, not a new recording, even after it
//! was re-encoded, resampled, made louder or quieter, or mixed with noise.
//!
//! [`alerts`] defines the alerts and their evidence, and [`watch`] delivers their changes to
//! live subscribers.

pub mod alerts;
pub mod fingerprint;
pub mod policy;
pub mod replay;
pub mod watch;

pub use alerts::{Alert, AlertEvent, AlertEventKind, AlertState, Evidence, EvidenceDetail, ReplaySource, Signal, StateChange};
pub use fingerprint::{
    best_match, match_score, Fingerprint, FingerprintError, HistoryMatch, ReplayMatch, ReplayThreshold,
};
pub use policy::{CheckInSignals, ProxyFinding, ReplayFinding, SeparationPolicy, StreakPolicy};
pub use watch::{AlertHub, WatchItem};

#[cfg(test)]
mod evaluation;
#[cfg(test)]
mod simulate;
#[cfg(test)]
mod tests;
