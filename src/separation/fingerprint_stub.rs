//! NOTE: placeholder with the interface of the landmark fingerprint, so that the alert
//! pipeline builds before the fingerprint lands. It fingerprints nothing and matches
//! nothing; the real module replaces it.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("not a fingerprint")]
pub struct FingerprintError;

impl Fingerprint {
    pub fn compute(_samples_16k: &[f32]) -> Fingerprint {
        Fingerprint
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        b"VPFP".to_vec()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Fingerprint, FingerprintError> {
        if bytes == b"VPFP" {
            Ok(Fingerprint)
        } else {
            Err(FingerprintError)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayMatch {
    pub score: f64,
    pub matched_hashes: usize,
}

impl ReplayMatch {
    pub fn is_replay(&self, threshold: &ReplayThreshold) -> bool {
        self.score >= threshold.min_score && self.matched_hashes >= threshold.min_matched_hashes
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayThreshold {
    pub min_score: f64,
    pub min_matched_hashes: usize,
}

impl ReplayThreshold {
    pub const DEFAULT: ReplayThreshold = ReplayThreshold { min_score: 0.10, min_matched_hashes: 10 };
}

pub fn match_score(_query: &Fingerprint, _reference: &Fingerprint) -> ReplayMatch {
    ReplayMatch { score: 0.0, matched_hashes: 0 }
}
