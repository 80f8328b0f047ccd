//! Person-device separation alerts as the store keeps them and the service sends them: the
//! signal that raised an alert, its evidence, and its handling by officers.

use std::time::SystemTime;

use crate::scoring::Decision;

/// The sign of person-device separation that raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signal {
    /// Consecutive NO_MATCH check-ins within the streak window.
    MismatchStreak,
    /// The check-in voice scored higher against another enrolled subject than against the
    /// claimed one.
    ProxyCheckIn,
    /// The check-in audio is a replay of one of the subject's earlier recordings.
    Replay,
}

impl Signal {
    pub const ALL: [Signal; 3] = [Signal::MismatchStreak, Signal::ProxyCheckIn, Signal::Replay];

    /// Stable upper-case code, as the API and the store spell it.
    pub fn code(self) -> &'static str {
        match self {
            Signal::MismatchStreak => "MISMATCH_STREAK",
            Signal::ProxyCheckIn => "PROXY_CHECK_IN",
            Signal::Replay => "REPLAY",
        }
    }

    pub fn from_code(code: &str) -> Option<Signal> {
        Self::ALL.into_iter().find(|signal| signal.code() == code)
    }
}

/// The handling stage of an alert: OPEN until an officer acknowledges it, CLOSED once an
/// officer has dealt with it. An alert may be closed without being acknowledged first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertState {
    Open,
    Acknowledged,
    Closed,
}

impl AlertState {
    pub const ALL: [AlertState; 3] = [AlertState::Open, AlertState::Acknowledged, AlertState::Closed];

    /// Stable upper-case code, as the API and the store spell it.
    pub fn code(self) -> &'static str {
        match self {
            AlertState::Open => "OPEN",
            AlertState::Acknowledged => "ACKNOWLEDGED",
            AlertState::Closed => "CLOSED",
        }
    }

    pub fn from_code(code: &str) -> Option<AlertState> {
        Self::ALL.into_iter().find(|state| state.code() == code)
    }
}

/// An officer's acknowledgement or closure of an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    pub officer_id: String,
    /// May be empty for an acknowledgement.
    pub note: String,
    pub at: SystemTime,
}

/// The earlier recording that a replayed check-in reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplaySource {
    CheckIn { check_in_id: i64, checked_in_at: SystemTime },
    EnrollmentClip { voiceprint_id: i64, clip_index: u32, enrolled_at: SystemTime },
}

impl ReplaySource {
    /// Returns the source's arrival time at the server, the closest known time of recording.
    pub fn recorded_at(&self) -> SystemTime {
        match *self {
            ReplaySource::CheckIn { checked_in_at, .. } => checked_in_at,
            ReplaySource::EnrollmentClip { enrolled_at, .. } => enrolled_at,
        }
    }
}

/// The signal-specific part of a check-in's evidence, beyond its decision and score.
#[derive(Debug, Clone, PartialEq)]
pub enum EvidenceDetail {
    /// A NO_MATCH of a mismatch streak.
    Mismatch,
    /// The other enrolled subject that the voice resembles more. The score is `None` once
    /// erased.
    Proxy { subject_id: String, score: Option<f32> },
    /// The recording that was replayed, with the fingerprint match. The match values are
    /// `None` once erased.
    Replay { source: ReplaySource, match_score: Option<f64>, matched_hashes: Option<u32> },
}

/// One check-in cited by an alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    pub check_in_id: i64,
    pub checked_in_at: SystemTime,
    pub decision: Decision,
    /// The check-in's score against the claimed subject; `None` for INCONCLUSIVE check-ins
    /// and once erased.
    pub score: Option<f32>,
    pub detail: EvidenceDetail,
    /// Set when deleting a subject erased the scores of this evidence.
    pub erased_at: Option<SystemTime>,
}

/// A person-device separation alert for one subject.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub id: i64,
    pub subject_id: String,
    pub signal: Signal,
    pub state: AlertState,
    /// Arrival time of the check-in that raised the alert.
    pub raised_at: SystemTime,
    /// Time of the latest evidence or state change.
    pub updated_at: SystemTime,
    pub acknowledged: Option<StateChange>,
    pub closed: Option<StateChange>,
    /// Oldest check-in first.
    pub evidence: Vec<Evidence>,
}

/// The kind of change to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertEventKind {
    Raised,
    /// A later NO_MATCH check-in of the same streak was added.
    EvidenceAdded,
    Acknowledged,
    Closed,
}

/// A change to an alert, with the alert as it is after the change.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertEvent {
    pub kind: AlertEventKind,
    pub alert: Alert,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for signal in Signal::ALL {
            assert_eq!(Signal::from_code(signal.code()), Some(signal));
        }
        for state in AlertState::ALL {
            assert_eq!(AlertState::from_code(state.code()), Some(state));
        }
        assert_eq!(Signal::from_code("open"), None);
    }
}
