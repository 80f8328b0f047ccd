//! Person-device separation: signs that the person holding the registered phone is not the
//! supervised person, and the alerts that tell officers so.
//!
//! Three signals raise an alert for a subject: a streak of NO_MATCH check-ins
//! ([`policy::StreakPolicy`]), a proxy check-in whose voice resembles another enrolled
//! subject more than the claimed one ([`policy::find_proxy`]), and a replay of one of the
//! subject's earlier recordings ([`replay`]). [`alerts`] defines the alerts and their
//! evidence, and [`watch`] delivers their changes to live subscribers.

pub mod alerts;
// NOTE: stands in for the landmark fingerprint module until it is merged.
mod fingerprint_stub;
use fingerprint_stub as fingerprint;
pub mod policy;
pub mod replay;
pub mod watch;

pub use fingerprint::ReplayThreshold;
pub use alerts::{Alert, AlertEvent, AlertEventKind, AlertState, Evidence, EvidenceDetail, ReplaySource, Signal, StateChange};
pub use policy::{CheckInSignals, ProxyFinding, ReplayFinding, SeparationPolicy, StreakPolicy};
pub use watch::{AlertHub, WatchItem};
