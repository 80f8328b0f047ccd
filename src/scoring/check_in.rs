use crate::embed::QualityReport;

/// Reason a check-in recording was too poor to decide on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InconclusiveReason {
    /// Speech was found, but less than the policy's minimum.
    TooShort,
    /// Silence trimming left (almost) nothing.
    NoSpeech,
    Clipped,
    TooNoisy,
}

impl InconclusiveReason {
    pub const ALL: [InconclusiveReason; 4] =
        [InconclusiveReason::TooShort, InconclusiveReason::NoSpeech, InconclusiveReason::Clipped, InconclusiveReason::TooNoisy];

    /// Stable upper-case code, as the API and the store spell it.
    pub fn code(self) -> &'static str {
        match self {
            InconclusiveReason::TooShort => "TOO_SHORT",
            InconclusiveReason::NoSpeech => "NO_SPEECH",
            InconclusiveReason::Clipped => "CLIPPED",
            InconclusiveReason::TooNoisy => "TOO_NOISY",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.code() == code)
    }
}

/// Outcome of a check-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    Match,
    NoMatch,
    Inconclusive(InconclusiveReason),
}

impl Decision {
    /// "MATCH", "NO_MATCH" or "INCONCLUSIVE", as the API and the store spell it.
    pub fn label(self) -> &'static str {
        match self {
            Decision::Match => "MATCH",
            Decision::NoMatch => "NO_MATCH",
            Decision::Inconclusive(_) => "INCONCLUSIVE",
        }
    }

    pub fn inconclusive_reason(self) -> Option<InconclusiveReason> {
        match self {
            Decision::Inconclusive(reason) => Some(reason),
            Decision::Match | Decision::NoMatch => None,
        }
    }

    /// Rebuilds a decision from its label and reason, as [`Decision::label`] and
    /// [`InconclusiveReason::code`] wrote them; `None` for any other combination.
    pub fn from_parts(label: &str, reason: Option<&str>) -> Option<Self> {
        match (label, reason) {
            ("MATCH", None) => Some(Decision::Match),
            ("NO_MATCH", None) => Some(Decision::NoMatch),
            ("INCONCLUSIVE", Some(code)) => InconclusiveReason::from_code(code).map(Decision::Inconclusive),
            _ => None,
        }
    }
}

/// When a check-in recording is good enough to score, and which score is a match.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckInPolicy {
    /// Lowest cosine similarity to the voiceprint that counts as a match, in [-1, 1].
    pub threshold: f32,
    /// Less speech than this after silence trimming gives INCONCLUSIVE TOO_SHORT.
    pub min_speech_seconds: f64,
    /// A larger fraction of full-scale samples gives INCONCLUSIVE CLIPPED.
    pub max_clipping_ratio: f64,
    /// A lower estimated signal-to-noise ratio gives INCONCLUSIVE TOO_NOISY.
    pub min_snr_db: f64,
}

impl CheckInPolicy {
    /// Returns why a recording with speech is too poor to score, checking length, then
    /// clipping, then noise; `None` when it can be scored.
    pub fn assess(&self, quality: &QualityReport) -> Option<InconclusiveReason> {
        if quality.speech_seconds < self.min_speech_seconds {
            return Some(InconclusiveReason::TooShort);
        }
        if quality.clipping_ratio > self.max_clipping_ratio {
            return Some(InconclusiveReason::Clipped);
        }
        if quality.snr_db < self.min_snr_db {
            return Some(InconclusiveReason::TooNoisy);
        }
        None
    }

    /// MATCH when `score` reaches the threshold, NO_MATCH otherwise.
    pub fn decide(&self, score: f32) -> Decision {
        if score >= self.threshold {
            Decision::Match
        } else {
            Decision::NoMatch
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> CheckInPolicy {
        CheckInPolicy { threshold: 0.75, min_speech_seconds: 1.0, max_clipping_ratio: 0.01, min_snr_db: 10.0 }
    }

    fn quality(speech_seconds: f64, clipping_ratio: f64, snr_db: f64) -> QualityReport {
        QualityReport {
            format: "wav".into(),
            source_sample_rate: 16_000,
            source_channels: 1,
            duration_seconds: speech_seconds + 1.0,
            speech_seconds,
            clipping_ratio,
            snr_db,
        }
    }

    #[test]
    fn good_recording_is_scored() {
        assert_eq!(policy().assess(&quality(3.0, 0.0, 30.0)), None);
    }

    #[test]
    fn each_quality_problem_has_its_reason() {
        let policy = policy();
        assert_eq!(policy.assess(&quality(0.5, 0.0, 30.0)), Some(InconclusiveReason::TooShort));
        assert_eq!(policy.assess(&quality(3.0, 0.05, 30.0)), Some(InconclusiveReason::Clipped));
        assert_eq!(policy.assess(&quality(3.0, 0.0, 5.0)), Some(InconclusiveReason::TooNoisy));
    }

    #[test]
    fn length_is_checked_before_clipping_and_noise() {
        assert_eq!(policy().assess(&quality(0.5, 0.5, -5.0)), Some(InconclusiveReason::TooShort));
    }

    #[test]
    fn threshold_itself_is_a_match() {
        let policy = policy();
        assert_eq!(policy.decide(0.75), Decision::Match);
        assert_eq!(policy.decide(0.7499), Decision::NoMatch);
    }

    #[test]
    fn decision_round_trips_through_its_parts() {
        let decisions = [Decision::Match, Decision::NoMatch]
            .into_iter()
            .chain(InconclusiveReason::ALL.into_iter().map(Decision::Inconclusive));
        for decision in decisions {
            let reason = decision.inconclusive_reason().map(InconclusiveReason::code);
            assert_eq!(Decision::from_parts(decision.label(), reason), Some(decision));
        }
        assert_eq!(Decision::from_parts("INCONCLUSIVE", None), None);
        assert_eq!(Decision::from_parts("MATCH", Some("CLIPPED")), None);
    }
}
