//! The rules that turn check-ins into alerts. Pure functions: the registry gathers the
//! scores and fingerprint matches, the store supplies the streak history inside the
//! transaction that records the check-in.

use std::time::{Duration, SystemTime};

use super::alerts::ReplaySource;
use crate::scoring::Decision;

/// Every parameter of the separation policy.
#[derive(Debug, Clone, PartialEq)]
pub struct SeparationPolicy {
    pub streak: StreakPolicy,
    /// How much more another subject must score than the claimed one for a proxy alert.
    pub proxy_margin: f32,
    /// Lowest fingerprint match score that counts as a replay, from 0 to 1.
    pub replay_min_score: f64,
    /// Fewest matching fingerprint hashes that count as a replay.
    pub replay_min_matched_hashes: usize,
    /// Alert events the broadcast keeps for WatchAlerts subscribers. A subscriber that falls
    /// further behind receives the count of events it missed.
    pub watch_buffer: usize,
}

/// The mismatch-streak rule: `length` NO_MATCH check-ins within `window`, with no MATCH
/// between them, raise one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreakPolicy {
    pub length: usize,
    pub window: Duration,
}

impl StreakPolicy {
    /// Decides the effect of the check-in just recorded on the subject's streak.
    ///
    /// A MATCH ends a streak and an INCONCLUSIVE leaves it as it was. The store applies both
    /// when it builds `history`, so only a NO_MATCH can raise or extend an alert here.
    pub fn assess(&self, decision: Decision, checked_in_at: SystemTime, history: &StreakHistory) -> StreakOutcome {
        if decision != Decision::NoMatch {
            return StreakOutcome::Unchanged;
        }
        if let Some(alert_id) = history.active_alert {
            return StreakOutcome::Extend { alert_id };
        }

        let window_start = checked_in_at.checked_sub(self.window).unwrap_or(SystemTime::UNIX_EPOCH);
        let in_window: Vec<i64> =
            history.run.iter().filter(|entry| entry.checked_in_at >= window_start).map(|entry| entry.check_in_id).collect();
        if in_window.len() >= self.length {
            StreakOutcome::Raise { check_in_ids: in_window }
        } else {
            StreakOutcome::Unchanged
        }
    }
}

/// One NO_MATCH check-in of the current run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunEntry {
    pub check_in_id: i64,
    pub checked_in_at: SystemTime,
}

/// A subject's NO_MATCH run as the streak rule needs it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreakHistory {
    /// The streak alert the current run already raised: the subject's latest streak alert,
    /// when it is not closed and no MATCH came after its first check-in.
    pub active_alert: Option<i64>,
    /// The NO_MATCH check-ins after the subject's last MATCH and after the last check-in
    /// of any earlier streak alert, the new check-in included, oldest first.
    pub run: Vec<RunEntry>,
}

/// The effect of a check-in on the subject's mismatch streak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreakOutcome {
    Unchanged,
    /// Raise an alert citing these check-ins, oldest first.
    Raise { check_in_ids: Vec<i64> },
    /// Add the check-in to the alert the streak already raised.
    Extend { alert_id: i64 },
}

/// An enrolled subject's score against a check-in.
#[derive(Debug, Clone, PartialEq)]
pub struct RivalScore {
    pub subject_id: String,
    pub score: f32,
}

/// A proxy check-in: the voice resembles another enrolled subject more than the claimed one.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyFinding {
    pub subject_id: String,
    pub score: f32,
}

/// Returns the best-scoring rival that reaches `threshold` and beats `claimed_score` by more
/// than `margin`, or `None` when no rival does.
pub fn find_proxy(claimed_score: f32, rivals: &[RivalScore], threshold: f32, margin: f32) -> Option<ProxyFinding> {
    rivals
        .iter()
        .filter(|rival| rival.score >= threshold && rival.score > claimed_score + margin)
        .max_by(|a, b| a.score.total_cmp(&b.score).then_with(|| b.subject_id.cmp(&a.subject_id)))
        .map(|rival| ProxyFinding { subject_id: rival.subject_id.clone(), score: rival.score })
}

/// A replayed check-in: its audio matches an earlier recording of the subject.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayFinding {
    pub source: ReplaySource,
    pub match_score: f64,
    pub matched_hashes: u32,
}

/// The policy's findings about a check-in before it is recorded, and the streak rule that
/// the store applies while recording it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckInSignals {
    pub proxy: Option<ProxyFinding>,
    pub replay: Option<ReplayFinding>,
    pub streak: StreakPolicy,
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::scoring::InconclusiveReason;

    const HOUR: Duration = Duration::from_secs(3600);

    fn policy() -> StreakPolicy {
        StreakPolicy { length: 3, window: 24 * HOUR }
    }

    fn at(hours: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000) + HOUR * hours as u32
    }

    fn run(hours: &[u64]) -> StreakHistory {
        let run = hours.iter().zip(1..).map(|(&h, id)| RunEntry { check_in_id: id, checked_in_at: at(h) }).collect();
        StreakHistory { active_alert: None, run }
    }

    #[test]
    fn third_no_match_in_window_raises() {
        let outcome = policy().assess(Decision::NoMatch, at(10), &run(&[0, 5, 10]));
        assert_eq!(outcome, StreakOutcome::Raise { check_in_ids: vec![1, 2, 3] });
    }

    #[test]
    fn two_no_matches_do_not_raise() {
        assert_eq!(policy().assess(Decision::NoMatch, at(5), &run(&[0, 5])), StreakOutcome::Unchanged);
    }

    #[test]
    fn no_matches_outside_window_do_not_count() {
        assert_eq!(policy().assess(Decision::NoMatch, at(30), &run(&[0, 20, 30])), StreakOutcome::Unchanged);
        let outcome = policy().assess(Decision::NoMatch, at(40), &run(&[0, 20, 30, 40]));
        assert_eq!(outcome, StreakOutcome::Raise { check_in_ids: vec![2, 3, 4] });
    }

    #[test]
    fn window_edge_is_included() {
        let outcome = policy().assess(Decision::NoMatch, at(24), &run(&[0, 12, 24]));
        assert_eq!(outcome, StreakOutcome::Raise { check_in_ids: vec![1, 2, 3] });
    }

    #[test]
    fn active_alert_is_extended() {
        let history = StreakHistory { active_alert: Some(9), run: run(&[30]).run };
        assert_eq!(policy().assess(Decision::NoMatch, at(30), &history), StreakOutcome::Extend { alert_id: 9 });
    }

    #[test]
    fn only_no_match_changes_a_streak() {
        let history = StreakHistory { active_alert: Some(9), run: run(&[0, 5, 10]).run };
        let inconclusive = Decision::Inconclusive(InconclusiveReason::TooNoisy);
        for decision in [Decision::Match, inconclusive] {
            assert_eq!(policy().assess(decision, at(10), &history), StreakOutcome::Unchanged, "{decision:?}");
        }
    }

    fn rivals(scores: &[(&str, f32)]) -> Vec<RivalScore> {
        scores.iter().map(|&(subject_id, score)| RivalScore { subject_id: subject_id.into(), score }).collect()
    }

    #[test]
    fn proxy_needs_threshold_and_margin() {
        let found = find_proxy(0.60, &rivals(&[("a", 0.70), ("b", 0.82), ("c", 0.80)]), 0.75, 0.0);
        assert_eq!(found, Some(ProxyFinding { subject_id: "b".into(), score: 0.82 }));

        assert_eq!(find_proxy(0.60, &rivals(&[("a", 0.74)]), 0.75, 0.0), None, "below the threshold");
        assert_eq!(find_proxy(0.80, &rivals(&[("a", 0.80)]), 0.75, 0.0), None, "a tie is not higher");
        assert_eq!(find_proxy(0.78, &rivals(&[("a", 0.80)]), 0.75, 0.05), None, "within the margin");
        assert!(find_proxy(0.70, &rivals(&[("a", 0.80)]), 0.75, 0.05).is_some());
    }

    #[test]
    fn proxy_fires_above_a_matching_claim() {
        let found = find_proxy(0.80, &rivals(&[("a", 0.90)]), 0.75, 0.0);
        assert_eq!(found.map(|f| f.subject_id), Some("a".to_owned()));
    }
}
