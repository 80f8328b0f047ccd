//! Person-device separation: evidence about where a check-in recording came from, apart
//! from who is speaking in it.
//!
//! [`fingerprint`] recognises a replayed recording. The service fingerprints every
//! enrolment and check-in clip it accepts, and a new check-in whose fingerprint matches one of
//! the subject's earlier clips is a replay of that clip, not a new recording, even after it
//! was re-encoded, resampled, made louder or quieter, or mixed with noise.

pub mod fingerprint;

pub use fingerprint::{
    best_match, match_score, Fingerprint, FingerprintError, HistoryMatch, ReplayMatch, ReplayThreshold,
};

#[cfg(test)]
mod evaluation;
#[cfg(test)]
mod simulate;
#[cfg(test)]
mod tests;
