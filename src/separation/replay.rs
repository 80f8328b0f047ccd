//! The replay check: a check-in's audio fingerprint against the fingerprints of the
//! subject's earlier check-ins and enrolment clips.
//!
//! The fingerprints themselves are built and compared by [`super::fingerprint`]; this module
//! is the one place the service calls it from, so that the stored bytes, the threshold and
//! the choice among several matching recordings are decided here.

use super::alerts::ReplaySource;
use super::fingerprint::{match_score, Fingerprint, ReplayThreshold};
use super::policy::{ReplayFinding, SeparationPolicy};

/// Fingerprints mono 16 kHz audio, before level normalisation and silence trimming, and
/// returns the bytes the store keeps.
pub fn fingerprint(samples_16k: &[f32]) -> Vec<u8> {
    Fingerprint::compute(samples_16k).to_bytes()
}

/// Looks for the earlier recording that a check-in replays, one stored fingerprint at a
/// time, keeping the best match that passes the threshold.
pub struct ReplaySearch {
    query: Fingerprint,
    threshold: ReplayThreshold,
    best: Option<ReplayFinding>,
    unreadable: usize,
}

impl ReplaySearch {
    /// Starts a search for the check-in fingerprinted as `query`, which [`fingerprint`]
    /// wrote.
    pub fn new(query: &[u8], policy: &SeparationPolicy) -> Option<ReplaySearch> {
        let query = Fingerprint::from_bytes(query).ok()?;
        let threshold =
            ReplayThreshold { min_score: policy.replay_min_score, min_matched_hashes: policy.replay_min_matched_hashes };
        Some(ReplaySearch { query, threshold, best: None, unreadable: 0 })
    }

    /// Compares the query with one earlier recording's stored fingerprint.
    pub fn consider(&mut self, source: ReplaySource, stored: &[u8]) {
        let Ok(reference) = Fingerprint::from_bytes(stored) else {
            self.unreadable += 1;
            return;
        };

        let found = match_score(&self.query, &reference);
        if !found.is_replay(&self.threshold) {
            return;
        }
        let better = self.best.is_none_or(|best| found.score > best.match_score);
        if better {
            let matched_hashes = u32::try_from(found.matched_hashes).unwrap_or(u32::MAX);
            self.best = Some(ReplayFinding { source, match_score: found.score, matched_hashes });
        }
    }

    /// Returns the best match, and how many stored fingerprints could not be read (written
    /// by a build with another fingerprint format, for example).
    pub fn finish(self) -> (Option<ReplayFinding>, usize) {
        (self.best, self.unreadable)
    }
}
