//! Error rates of scored verification trials: the DET curve, the equal error rate, the minimum
//! detection cost and the false-reject rate at a fixed false-accept rate.
//!
//! A trial is accepted when its score is at least the threshold. The curve has one point per
//! distinct score plus a first point at +∞ that accepts nothing, the same points as
//! scikit-learn's `roc_curve(..., drop_intermediate=False)`.

use super::EvalError;

/// Prior probabilities of a target trial at which the minimum detection cost is reported.
pub const DCF_TARGET_PRIORS: [f64; 2] = [0.01, 0.05];

/// Minimum number of non-target trials for an FRR at 0.1% FAR to be reported: below 1,000, a single
/// false accept already exceeds 0.1%, so the rate would rest on no observed false accepts.
pub const MIN_NON_TARGETS_FOR_FAR_0_1PCT: usize = 1_000;

/// One scored trial.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredTrial {
    pub target: bool,
    pub score: f64,
}

/// Miss and false-alarm counts at every distinct threshold, highest threshold first.
#[derive(Debug, Clone, PartialEq)]
pub struct DetCurve {
    thresholds: Vec<f64>,
    misses: Vec<usize>,
    false_alarms: Vec<usize>,
    targets: usize,
    non_targets: usize,
}

/// A threshold with the error rates it gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OperatingPoint {
    /// Accept when the score is at least this value; +∞ accepts nothing.
    pub threshold: f64,
    /// Fraction of target trials rejected (false-reject rate).
    pub miss_rate: f64,
    /// Fraction of non-target trials accepted (false-accept rate).
    pub false_alarm_rate: f64,
}

/// The summary reported for one set of scored trials.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    pub trials: usize,
    pub targets: usize,
    pub non_targets: usize,
    /// Equal error rate as a fraction, with the threshold where it was read.
    pub eer: f64,
    pub eer_threshold: f64,
    /// Normalised minimum detection cost at each prior of [`DCF_TARGET_PRIORS`].
    pub min_dcf: [f64; 2],
    /// The lowest FRR with FAR at most 1%.
    pub at_far_1pct: OperatingPoint,
    /// The lowest FRR with FAR at most 0.1%, present from
    /// [`MIN_NON_TARGETS_FOR_FAR_0_1PCT`] non-target trials on.
    pub at_far_0_1pct: Option<OperatingPoint>,
}

impl DetCurve {
    /// Builds the curve; scores must be finite and both classes present.
    pub fn new(trials: &[ScoredTrial]) -> Result<Self, EvalError> {
        if let Some(index) = trials.iter().position(|t| !t.score.is_finite()) {
            return Err(EvalError::NonFiniteScore {
                index,
                score: trials[index].score,
            });
        }
        let targets = trials.iter().filter(|t| t.target).count();
        let non_targets = trials.len() - targets;
        if targets == 0 || non_targets == 0 {
            return Err(EvalError::MissingTrialClass {
                targets,
                non_targets,
            });
        }

        let mut sorted = trials.to_vec();
        sorted.sort_by(|a, b| b.score.total_cmp(&a.score));

        let mut curve = DetCurve {
            thresholds: vec![f64::INFINITY],
            misses: vec![targets],
            false_alarms: vec![0],
            targets,
            non_targets,
        };
        let (mut accepted_targets, mut accepted_non_targets) = (0, 0);
        for (i, trial) in sorted.iter().enumerate() {
            if trial.target {
                accepted_targets += 1;
            } else {
                accepted_non_targets += 1;
            }

            // Trials with equal scores are accepted together, so a point is added only after
            // the last of a run of ties.
            let last_of_ties = sorted
                .get(i + 1)
                .is_none_or(|next| next.score != trial.score);
            if last_of_ties {
                curve.thresholds.push(trial.score);
                curve.misses.push(targets - accepted_targets);
                curve.false_alarms.push(accepted_non_targets);
            }
        }
        Ok(curve)
    }

    pub fn targets(&self) -> usize {
        self.targets
    }

    pub fn non_targets(&self) -> usize {
        self.non_targets
    }

    /// Number of points, including the one at +∞.
    pub fn len(&self) -> usize {
        self.thresholds.len()
    }

    /// Always false: a curve has at least the point at +∞ and one score.
    pub fn is_empty(&self) -> bool {
        self.thresholds.is_empty()
    }

    /// Returns the operating point at index `i`, in order of decreasing threshold.
    pub fn point(&self, i: usize) -> OperatingPoint {
        OperatingPoint {
            threshold: self.thresholds[i],
            miss_rate: self.misses[i] as f64 / self.targets as f64,
            false_alarm_rate: self.false_alarms[i] as f64 / self.non_targets as f64,
        }
    }

    pub fn points(&self) -> impl Iterator<Item = OperatingPoint> + '_ {
        (0..self.len()).map(|i| self.point(i))
    }

    /// Finds the point where the miss and false-alarm rates are closest; the equal error rate
    /// is the mean of the two there. Of equally close thresholds the highest is taken. The
    /// distance is compared in exact integer arithmetic, so that ties are found as ties.
    pub fn equal_error_point(&self) -> OperatingPoint {
        let distance = |i: usize| {
            let miss = self.misses[i] as i128 * self.non_targets as i128;
            let false_alarm = self.false_alarms[i] as i128 * self.targets as i128;
            (miss - false_alarm).unsigned_abs()
        };
        let closest = (0..self.len())
            .min_by_key(|&i| distance(i))
            .expect("a curve has at least one point");
        self.point(closest)
    }

    /// Returns the equal error rate as a fraction, with its threshold.
    pub fn equal_error_rate(&self) -> (f64, f64) {
        let point = self.equal_error_point();
        (
            (point.miss_rate + point.false_alarm_rate) / 2.0,
            point.threshold,
        )
    }

    /// Finds the minimum over thresholds of the detection cost
    /// `C_miss·P_miss·p + C_fa·P_fa·(1 − p)` with `C_miss = C_fa = 1`, divided by the cost of
    /// the better trivial system, `min(p, 1 − p)`. Returns the cost and the first threshold
    /// (from the top) that reaches it.
    pub fn min_detection_cost(&self, target_prior: f64) -> (f64, f64) {
        let default_cost = target_prior.min(1.0 - target_prior);
        let mut best = (f64::INFINITY, f64::INFINITY);
        for point in self.points() {
            let cost = (target_prior * point.miss_rate
                + (1.0 - target_prior) * point.false_alarm_rate)
                / default_cost;
            if cost < best.0 {
                best = (cost, point.threshold);
            }
        }
        best
    }

    /// Finds the lowest threshold whose false-alarm rate is at most `max_false_alarm_rate`: the point
    /// with the fewest misses that meets the false-accept target. The point at +∞ always
    /// qualifies, so this returns a miss rate of 1 when no score is high enough.
    pub fn at_false_alarm_rate(&self, max_false_alarm_rate: f64) -> OperatingPoint {
        // The false-alarm rate never decreases along the curve.
        let last_within = self
            .points()
            .take_while(|p| p.false_alarm_rate <= max_false_alarm_rate)
            .count();
        self.point(last_within.max(1) - 1)
    }

    /// Returns the error rates when accepting scores of at least `threshold`.
    pub fn at_threshold(&self, threshold: f64) -> OperatingPoint {
        // Thresholds decrease along the curve, so the last point at or above `threshold`
        // accepts exactly the scores at or above it.
        let at_or_above = self
            .thresholds
            .iter()
            .take_while(|&&t| t >= threshold)
            .count();
        OperatingPoint {
            threshold,
            ..self.point(at_or_above.max(1) - 1)
        }
    }

    /// Computes all reported metrics.
    pub fn metrics(&self) -> Metrics {
        let (eer, eer_threshold) = self.equal_error_rate();
        let at_far_0_1pct = (self.non_targets >= MIN_NON_TARGETS_FOR_FAR_0_1PCT)
            .then(|| self.at_false_alarm_rate(0.001));
        Metrics {
            trials: self.targets + self.non_targets,
            targets: self.targets,
            non_targets: self.non_targets,
            eer,
            eer_threshold,
            min_dcf: DCF_TARGET_PRIORS.map(|prior| self.min_detection_cost(prior).0),
            at_far_1pct: self.at_false_alarm_rate(0.01),
            at_far_0_1pct,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trials(targets: &[f64], non_targets: &[f64]) -> Vec<ScoredTrial> {
        let mut all: Vec<ScoredTrial> = targets
            .iter()
            .map(|&score| ScoredTrial {
                target: true,
                score,
            })
            .collect();
        all.extend(non_targets.iter().map(|&score| ScoredTrial {
            target: false,
            score,
        }));
        all
    }

    #[test]
    fn separable_scores_have_zero_eer() {
        let curve = DetCurve::new(&trials(&[0.9, 0.8], &[0.1, 0.2, 0.3])).unwrap();
        let (eer, threshold) = curve.equal_error_rate();
        assert_eq!(eer, 0.0);
        assert_eq!(threshold, 0.8);
    }

    #[test]
    fn tied_scores_make_one_point() {
        let curve = DetCurve::new(&trials(&[0.5, 0.5], &[0.5, 0.1])).unwrap();
        assert_eq!(curve.len(), 3);
        let tied = curve.point(1);
        assert_eq!(tied.threshold, 0.5);
        assert_eq!(tied.miss_rate, 0.0);
        assert_eq!(tied.false_alarm_rate, 0.5);
    }

    #[test]
    fn unreachable_far_target_rejects_everything() {
        let curve = DetCurve::new(&trials(&[0.5], &[0.9, 0.1])).unwrap();
        let point = curve.at_false_alarm_rate(0.01);
        assert_eq!(point.threshold, f64::INFINITY);
        assert_eq!(point.miss_rate, 1.0);
    }

    #[test]
    fn fixed_threshold_counts_scores_at_or_above() {
        let curve = DetCurve::new(&trials(&[0.9, 0.7, 0.5], &[0.6, 0.4])).unwrap();

        let point = curve.at_threshold(0.6);
        assert_eq!(point.threshold, 0.6);
        assert!((point.miss_rate - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(point.false_alarm_rate, 0.5);

        let above_all = curve.at_threshold(0.95);
        assert_eq!(above_all.miss_rate, 1.0);
        assert_eq!(above_all.false_alarm_rate, 0.0);

        let below_all = curve.at_threshold(0.0);
        assert_eq!(below_all.miss_rate, 0.0);
        assert_eq!(below_all.false_alarm_rate, 1.0);
    }

    #[test]
    fn one_class_is_rejected() {
        let error = DetCurve::new(&trials(&[0.5, 0.6], &[])).unwrap_err();
        assert!(matches!(
            error,
            EvalError::MissingTrialClass {
                targets: 2,
                non_targets: 0
            }
        ));
    }

    #[test]
    fn nan_score_is_rejected() {
        let error = DetCurve::new(&trials(&[0.5, f64::NAN], &[0.1])).unwrap_err();
        assert!(matches!(error, EvalError::NonFiniteScore { index: 1, .. }));
    }

    #[test]
    fn far_0_1pct_needs_1000_non_targets() {
        let non_targets: Vec<f64> = (0..999).map(|i| i as f64 / 1000.0).collect();
        let curve = DetCurve::new(&trials(&[0.99], &non_targets)).unwrap();
        assert_eq!(curve.metrics().at_far_0_1pct, None);
    }
}
