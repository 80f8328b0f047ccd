//! Enrolment: every clip through the quality gate, then the normalised mean of the clip
//! embeddings as the new voiceprint, written in one transaction.

use std::sync::Arc;

use super::analysis::{embed, find_speech, sha256, Speech};
use super::pool::Admission;
use super::request::{AudioInput, EnrollmentRequest, FieldViolation};
use super::{Registry, RegistryError};
use crate::embed::{mean_embedding, Embedder};
use crate::scoring::{ClipProblem, ClipReport, EnrollmentPolicy, EnrollmentReport};
use crate::store::{NewClip, NewEnrollment, StoredAudio, SubjectView};

/// A completed enrolment.
#[derive(Debug, Clone, PartialEq)]
pub struct Enrollment {
    pub subject: SubjectView,
    pub report: EnrollmentReport,
}

/// Findings of the gate, with the embedding of every clip that passed the per-clip checks.
struct GateResult {
    report: EnrollmentReport,
    /// Pairs of (position in the request, embedding).
    embedded: Vec<(usize, Vec<f32>)>,
}

impl Registry {
    /// Enrols the subject, replacing any earlier voiceprint. Fails with
    /// [`RegistryError::EnrollmentQuality`] and the full report when any clip, or the total
    /// speech, fails the gate.
    pub async fn enroll(&self, request: EnrollmentRequest, admission: Admission) -> Result<Enrollment, RegistryError> {
        let max_clips = self.settings.limits.max_enrollment_clips;
        if request.clips.len() > max_clips {
            let description = format!("{} clips, over the limit of {max_clips}", request.clips.len());
            return Err(FieldViolation::new("clips", description).into());
        }
        for (index, clip) in request.clips.iter().enumerate() {
            self.check_size(clip, &format!("clips[{index}]"))?;
        }

        let embedder = self.embedder()?;
        let model = embedder.model().tag();
        let policy = self.settings.enrollment.clone();
        let clips = Arc::new(request.clips);

        let job_clips = clips.clone();
        let gate = admission.run(move || run_gate(&embedder, &policy, &job_clips)).await??;
        drop(admission);

        if !gate.report.accepted() {
            return Err(RegistryError::EnrollmentQuality(gate.report));
        }

        let enrollment = self.new_enrollment(request.subject_id.as_str(), model, &clips, &gate);
        let subject = self.with_store(move |store| store.save_enrollment(&enrollment)).await?;
        Ok(Enrollment { subject, report: gate.report })
    }

    fn new_enrollment(&self, subject_id: &str, model: String, clips: &[AudioInput], gate: &GateResult) -> NewEnrollment {
        let embeddings: Vec<Vec<f32>> = gate.embedded.iter().map(|(_, vector)| vector.clone()).collect();

        let new_clips = gate
            .embedded
            .iter()
            .map(|(position, vector)| {
                let audio = &clips[*position];
                let report = &gate.report.clips[*position];
                NewClip {
                    index: *position,
                    embedding: vector.clone(),
                    quality: report.quality.clone(),
                    agreement: report.agreement,
                    audio_sha256: sha256(&audio.content),
                    audio: self.settings.keep_audio.then(|| StoredAudio {
                        bytes: audio.content.to_vec(),
                        format: audio.format_label(),
                    }),
                }
            })
            .collect();

        NewEnrollment {
            subject_id: subject_id.to_owned(),
            model,
            embedding: mean_embedding(&embeddings),
            clips: new_clips,
            enrolled_at: self.now(),
        }
    }
}

/// Measures every clip, embeds those that pass the per-clip checks, then checks agreement
/// among them. A clip that cannot be decoded fails the whole request with its audio error.
fn run_gate(embedder: &Embedder, policy: &EnrollmentPolicy, clips: &[AudioInput]) -> Result<GateResult, RegistryError> {
    let mut reports = Vec::with_capacity(clips.len());
    let mut embedded = Vec::new();

    for (index, clip) in clips.iter().enumerate() {
        let field = format!("clips[{index}]");
        match find_speech(embedder, clip, &field)? {
            Speech::Missing(quality) => {
                reports.push(ClipReport { index, quality, agreement: None, problems: vec![ClipProblem::NoSpeech] });
            }
            Speech::Found(preprocessed) => {
                let quality = preprocessed.quality.clone();
                let problems = policy.clip_problems(&quality);
                if problems.is_empty() {
                    embedded.push((index, embed(embedder, preprocessed, &field)?.vector));
                }
                reports.push(ClipReport { index, quality, agreement: None, problems });
            }
        }
    }

    policy.check_agreement(&mut reports, &embedded);
    Ok(GateResult { report: EnrollmentReport::new(reports, policy), embedded })
}
