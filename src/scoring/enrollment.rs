use crate::embed::{cosine_similarity, mean_embedding, QualityReport};

/// Reason an enrolment clip was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClipProblem {
    NoSpeech,
    TooShort,
    Clipped,
    TooNoisy,
    /// The clip's embedding is too unlike the other clips': likely a different speaker.
    UnlikeOtherClips,
}

impl ClipProblem {
    pub fn code(self) -> &'static str {
        match self {
            ClipProblem::NoSpeech => "NO_SPEECH",
            ClipProblem::TooShort => "TOO_SHORT",
            ClipProblem::Clipped => "CLIPPED",
            ClipProblem::TooNoisy => "TOO_NOISY",
            ClipProblem::UnlikeOtherClips => "UNLIKE_OTHER_CLIPS",
        }
    }
}

/// The enrolment quality gate. Stricter than the check-in policy, because every later
/// check-in is compared with the voiceprint these clips make.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrollmentPolicy {
    /// Minimum speech per clip after silence trimming.
    pub min_clip_speech_seconds: f64,
    /// Minimum speech in all clips together.
    pub min_total_speech_seconds: f64,
    /// Largest fraction of full-scale samples per clip.
    pub max_clipping_ratio: f64,
    /// Lowest estimated signal-to-noise ratio per clip.
    pub min_snr_db: f64,
    /// Lowest cosine similarity of a clip to the mean of the other clips.
    pub min_clip_agreement: f32,
}

/// The gate's findings for one clip.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipReport {
    /// Position of the clip in the request, from 0.
    pub index: usize,
    pub quality: QualityReport,
    /// Similarity to the mean of the other clips; `None` for a single clip or a clip that
    /// failed an earlier check and was not embedded.
    pub agreement: Option<f32>,
    pub problems: Vec<ClipProblem>,
}

/// The gate's findings for a whole enrolment.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrollmentReport {
    pub clips: Vec<ClipReport>,
    pub total_speech_seconds: f64,
    pub min_total_speech_seconds: f64,
}

impl EnrollmentReport {
    pub fn new(clips: Vec<ClipReport>, policy: &EnrollmentPolicy) -> Self {
        let total_speech_seconds = clips.iter().map(|clip| clip.quality.speech_seconds).sum();
        EnrollmentReport { clips, total_speech_seconds, min_total_speech_seconds: policy.min_total_speech_seconds }
    }

    pub fn has_enough_speech(&self) -> bool {
        self.total_speech_seconds >= self.min_total_speech_seconds
    }

    /// True when every clip passed and there is enough speech in all.
    pub fn accepted(&self) -> bool {
        self.has_enough_speech() && self.clips.iter().all(|clip| clip.problems.is_empty())
    }
}

impl EnrollmentPolicy {
    /// Lists every per-clip check that a recording with speech fails. Agreement with the
    /// other clips needs their embeddings and is checked by [`EnrollmentPolicy::check_agreement`].
    pub fn clip_problems(&self, quality: &QualityReport) -> Vec<ClipProblem> {
        let mut problems = Vec::new();
        if quality.speech_seconds < self.min_clip_speech_seconds {
            problems.push(ClipProblem::TooShort);
        }
        if quality.clipping_ratio > self.max_clipping_ratio {
            problems.push(ClipProblem::Clipped);
        }
        if quality.snr_db < self.min_snr_db {
            problems.push(ClipProblem::TooNoisy);
        }
        problems
    }

    /// Records each embedded clip's agreement with the others and rejects the clips below
    /// the minimum. `embedded` pairs a clip's position in `clips` with its embedding.
    ///
    /// Clips are rejected one at a time, the least agreeing first, and the agreements of the
    /// rest are measured again without it. One recording of another speaker drags down the
    /// mean that every other clip is compared with, so rejecting all low clips at once would
    /// reject good clips with it. When two clips remain that disagree, both are rejected,
    /// because there is no telling which of them is the other speaker.
    pub fn check_agreement(&self, clips: &mut [ClipReport], embedded: &[(usize, Vec<f32>)]) {
        let mut remaining: Vec<&(usize, Vec<f32>)> = embedded.iter().collect();

        while remaining.len() >= 2 {
            let vectors: Vec<&[f32]> = remaining.iter().map(|(_, vector)| vector.as_slice()).collect();
            let agreements = leave_one_out_agreement(&vectors);
            for ((position, _), agreement) in remaining.iter().zip(&agreements) {
                clips[*position].agreement = Some(*agreement);
            }

            let (worst, lowest) = agreements
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(b.1))
                .map(|(index, agreement)| (index, *agreement))
                .expect("at least two clips remain");
            if lowest >= self.min_clip_agreement {
                break;
            }

            let rejected: Vec<usize> = if remaining.len() == 2 { vec![0, 1] } else { vec![worst] };
            for &index in rejected.iter().rev() {
                let (position, _) = remaining.remove(index);
                clips[*position].problems.push(ClipProblem::UnlikeOtherClips);
            }
        }
    }
}

/// Computes the cosine similarity of each embedding to the normalised mean of all the others.
/// Returns an empty vector for fewer than two embeddings, which have nothing to agree with.
pub fn leave_one_out_agreement(embeddings: &[&[f32]]) -> Vec<f32> {
    if embeddings.len() < 2 {
        return Vec::new();
    }

    (0..embeddings.len())
        .map(|left_out| {
            let others: Vec<Vec<f32>> = embeddings
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != left_out)
                .map(|(_, vector)| vector.to_vec())
                .collect();
            cosine_similarity(embeddings[left_out], &mean_embedding(&others))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> EnrollmentPolicy {
        EnrollmentPolicy {
            min_clip_speech_seconds: 2.0,
            min_total_speech_seconds: 8.0,
            max_clipping_ratio: 0.01,
            min_snr_db: 15.0,
            min_clip_agreement: 0.7,
        }
    }

    fn quality(speech_seconds: f64) -> QualityReport {
        QualityReport {
            format: "wav".into(),
            source_sample_rate: 16_000,
            source_channels: 1,
            duration_seconds: speech_seconds + 1.0,
            speech_seconds,
            clipping_ratio: 0.0,
            snr_db: 40.0,
        }
    }

    fn clip(index: usize, speech_seconds: f64) -> ClipReport {
        ClipReport { index, quality: quality(speech_seconds), agreement: None, problems: Vec::new() }
    }

    fn unit(angle: f32) -> Vec<f32> {
        vec![angle.cos(), angle.sin()]
    }

    #[test]
    fn clip_lists_every_failed_check() {
        let mut poor = quality(1.0);
        poor.clipping_ratio = 0.2;
        poor.snr_db = 3.0;
        assert_eq!(
            policy().clip_problems(&poor),
            vec![ClipProblem::TooShort, ClipProblem::Clipped, ClipProblem::TooNoisy]
        );
        assert!(policy().clip_problems(&quality(3.0)).is_empty());
    }

    #[test]
    fn total_speech_below_minimum_is_rejected() {
        let report = EnrollmentReport::new(vec![clip(0, 3.0), clip(1, 3.0)], &policy());
        assert_eq!(report.total_speech_seconds, 6.0);
        assert!(!report.accepted());

        let report = EnrollmentReport::new(vec![clip(0, 4.0), clip(1, 4.0)], &policy());
        assert!(report.accepted());
    }

    #[test]
    fn outlier_clip_is_unlike_the_others() {
        let mut clips = vec![clip(0, 3.0), clip(1, 3.0), clip(2, 3.0)];
        let embedded = vec![(0, unit(0.0)), (1, unit(0.1)), (2, unit(1.5))];

        policy().check_agreement(&mut clips, &embedded);

        assert!(clips[0].problems.is_empty());
        assert!(clips[1].problems.is_empty());
        assert_eq!(clips[2].problems, vec![ClipProblem::UnlikeOtherClips]);
        assert!(clips[2].agreement.unwrap() < 0.7);
    }

    #[test]
    fn two_disagreeing_clips_are_both_rejected() {
        let mut clips = vec![clip(0, 5.0), clip(1, 5.0)];
        policy().check_agreement(&mut clips, &[(0, unit(0.0)), (1, unit(1.2))]);
        assert_eq!(clips[0].problems, vec![ClipProblem::UnlikeOtherClips]);
        assert_eq!(clips[1].problems, vec![ClipProblem::UnlikeOtherClips]);
    }

    #[test]
    fn agreement_skips_clips_that_were_not_embedded() {
        let mut clips = vec![clip(0, 3.0), clip(1, 1.0), clip(2, 3.0)];
        policy().check_agreement(&mut clips, &[(0, unit(0.0)), (2, unit(0.1))]);
        assert_eq!(clips[1].agreement, None);
        assert!(clips[0].agreement.unwrap() > 0.99);
    }

    #[test]
    fn single_clip_has_no_agreement() {
        let mut clips = vec![clip(0, 9.0)];
        policy().check_agreement(&mut clips, &[(0, unit(0.0))]);
        assert_eq!(clips[0].agreement, None);
        assert!(clips[0].problems.is_empty());
    }

    #[test]
    fn agreement_is_cosine_to_mean_of_others() {
        let a = unit(0.0);
        let b = unit(0.2);
        let c = unit(0.4);
        let agreements = leave_one_out_agreement(&[&a, &b, &c]);
        // The mean of b and c points at angle 0.3, so a's agreement is cos(0.3).
        assert!((agreements[0] - 0.3f32.cos()).abs() < 1e-6);
        assert!((agreements[1] - 1.0).abs() < 1e-6);
    }
}
