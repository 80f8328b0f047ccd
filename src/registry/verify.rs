//! Verification (1:1, recorded as a check-in) and identification (1:N, not recorded).

use std::cmp::Ordering;
use std::sync::Arc;

use super::analysis::{embed, find_speech, sha256, Speech};
use super::pool::Admission;
use super::request::{AudioInput, IdentificationRequest, VerificationRequest};
use super::{Registry, RegistryError};
use crate::embed::{cosine_similarity, Embedder, QualityReport};
use crate::scoring::{CheckInPolicy, Decision, InconclusiveReason};
use crate::store::{CheckInRecord, NewCheckIn, Store, StoredAudio};

/// The outcome of a verification, as recorded in the check-in log.
#[derive(Debug, Clone, PartialEq)]
pub struct Verification {
    pub check_in: CheckInRecord,
    pub quality: QualityReport,
}

/// An enrolled subject and the score of its voiceprint against the recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub subject_id: String,
    pub score: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Identification {
    /// Best first.
    pub candidates: Vec<Candidate>,
    pub min_score: f32,
    pub model: String,
    /// Set, with no candidates, when the recording was too poor to compare.
    pub inconclusive: Option<InconclusiveReason>,
    pub quality: QualityReport,
}

/// A recording measured against the check-in policy, and embedded when it passed.
struct Assessment {
    quality: QualityReport,
    outcome: Result<Vec<f32>, InconclusiveReason>,
}

impl Registry {
    /// Decides whether the subject spoke the recording and records the check-in, stamped with
    /// the server's time on arrival of the whole recording.
    pub async fn verify(&self, request: VerificationRequest, admission: Admission) -> Result<Verification, RegistryError> {
        let checked_in_at = self.now();
        self.check_size(&request.audio, "audio")?;
        let embedder = self.embedder()?;
        let model = embedder.model().tag();
        let voiceprint = self.enrolled_voiceprint(&request.subject_id, &model).await?;
        let policy = self.settings.verification.clone();
        let audio = Arc::new(request.audio);

        let job_audio = audio.clone();
        let assessment = admission.run(move || assess(&embedder, &policy, &job_audio)).await??;
        drop(admission);

        let stored_vector = voiceprint.embedding.as_deref().unwrap_or_default();
        let (decision, score) = match &assessment.outcome {
            Ok(vector) => {
                let score = cosine_similarity(vector, stored_vector);
                (self.settings.verification.decide(score), Some(score))
            }
            Err(reason) => (Decision::Inconclusive(*reason), None),
        };

        let check_in = NewCheckIn {
            subject_id: request.subject_id.to_string(),
            device_id: request.device_id.to_string(),
            checked_in_at,
            decision,
            score,
            threshold: self.settings.verification.threshold,
            model,
            voiceprint_id: voiceprint.id,
            quality: assessment.quality.clone(),
            audio_sha256: sha256(&audio.content),
            embedding: assessment.outcome.ok(),
            audio: self.stored_audio(&audio),
        };
        let check_in = self.with_store(move |store| store.record_check_in(&check_in)).await?;
        Ok(Verification { check_in, quality: assessment.quality })
    }

    /// Returns the enrolled subjects whose voiceprints, made by the loaded model, score at
    /// least the minimum against the recording, best first.
    pub async fn identify(
        &self,
        request: IdentificationRequest,
        admission: Admission,
    ) -> Result<Identification, RegistryError> {
        self.check_size(&request.audio, "audio")?;
        let embedder = self.embedder()?;
        let model = embedder.model().tag();
        let policy = self.settings.verification.clone();
        let min_score = request.min_score.unwrap_or(policy.threshold);
        let store = self.store.clone();

        let job_model = model.clone();
        let ranked = admission
            .run(move || -> Result<_, RegistryError> {
                let assessment = assess(&embedder, &policy, &request.audio)?;
                let candidates = match &assessment.outcome {
                    Ok(vector) => rank(&store, &job_model, vector, min_score, request.max_results)?,
                    Err(_) => Vec::new(),
                };
                Ok((assessment, candidates))
            })
            .await??;

        let (assessment, candidates) = ranked;
        Ok(Identification {
            candidates,
            min_score,
            model,
            inconclusive: assessment.outcome.err(),
            quality: assessment.quality,
        })
    }

    fn stored_audio(&self, audio: &AudioInput) -> Option<StoredAudio> {
        self.settings
            .keep_audio
            .then(|| StoredAudio { bytes: audio.content.to_vec(), format: audio.format_label() })
    }
}

/// Measures a recording against the check-in policy and embeds it when it passes.
fn assess(embedder: &Embedder, policy: &CheckInPolicy, audio: &AudioInput) -> Result<Assessment, RegistryError> {
    let preprocessed = match find_speech(embedder, audio, "audio")? {
        Speech::Missing(quality) => {
            return Ok(Assessment { quality, outcome: Err(InconclusiveReason::NoSpeech) });
        }
        Speech::Found(preprocessed) => preprocessed,
    };

    let quality = preprocessed.quality.clone();
    if let Some(reason) = policy.assess(&quality) {
        return Ok(Assessment { quality, outcome: Err(reason) });
    }

    let embedding = embed(embedder, preprocessed, "audio")?;
    Ok(Assessment { quality, outcome: Ok(embedding.vector) })
}

/// Scores every current voiceprint of `model` against `vector` and keeps the best
/// `max_results` that reach `min_score`.
fn rank(store: &Store, model: &str, vector: &[f32], min_score: f32, max_results: usize) -> Result<Vec<Candidate>, RegistryError> {
    // NOTE: a linear scan over every voiceprint, read from the store per request. Fine for the
    // thousands of subjects of one district; a larger deployment needs an in-memory index.
    let voiceprints = store.current_voiceprints(model)?;

    let mut candidates: Vec<Candidate> = voiceprints
        .into_iter()
        .filter_map(|voiceprint| {
            let score = cosine_similarity(vector, voiceprint.embedding.as_deref()?);
            (score >= min_score).then_some(Candidate { subject_id: voiceprint.subject_id, score })
        })
        .collect();

    candidates.sort_by(|a, b| b.score.partial_cmp(&a.score).unwrap_or(Ordering::Equal).then_with(|| a.subject_id.cmp(&b.subject_id)));
    candidates.truncate(max_results);
    Ok(candidates)
}
