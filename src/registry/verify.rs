//! Verification (1:1, recorded as a check-in, with the person-device separation checks) and
//! identification (1:N, not recorded).

use std::cmp::Ordering;
use std::sync::Arc;

use super::analysis::{embed, find_speech, find_speech_and_fingerprint, sha256, Speech};
use super::pool::Admission;
use super::request::{AudioInput, IdentificationRequest, VerificationRequest};
use super::{Registry, RegistryError};
use crate::embed::{cosine_similarity, Embedder, QualityReport};
use crate::scoring::{CheckInPolicy, Decision, InconclusiveReason};
use crate::separation::policy::{find_proxy, RivalScore};
use crate::separation::replay::ReplaySearch;
use crate::separation::{CheckInSignals, ProxyFinding, ReplayFinding, SeparationPolicy};
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

/// Everything the model pool learns about a check-in recording.
struct Examination {
    assessment: Assessment,
    /// `None` for INCONCLUSIVE check-ins, which are not scored.
    score: Option<f32>,
    fingerprint: Vec<u8>,
    proxy: Option<ProxyFinding>,
    replay: Option<ReplayFinding>,
}

impl Registry {
    /// Decides whether the subject spoke the recording and records the check-in, stamped with
    /// the server's time on arrival of the whole recording. The person-device separation
    /// alerts that the check-in raises are written with it and then published.
    pub async fn verify(&self, request: VerificationRequest, admission: Admission) -> Result<Verification, RegistryError> {
        let checked_in_at = self.now();
        self.check_size(&request.audio, "audio")?;
        let embedder = self.embedder()?;

        // Held until the check-in is written, so that the replay search of the subject's next
        // check-in includes this recording's fingerprint.
        let _subject_check_ins = self.check_in_locks.lock(request.subject_id.as_str()).await;
        let model = embedder.model().tag();
        let voiceprint = self.enrolled_voiceprint(&request.subject_id, &model).await?;
        let audio = Arc::new(request.audio);

        let context = ExaminationContext {
            store: self.store.clone(),
            verification: self.settings.verification.clone(),
            separation: self.settings.separation.clone(),
            subject_id: request.subject_id.to_string(),
            model: model.clone(),
            voiceprint: voiceprint.embedding.clone().unwrap_or_default(),
        };
        let job_audio = audio.clone();
        let examination = admission.run(move || context.examine(&embedder, &job_audio)).await??;
        drop(admission);

        let decision = match (&examination.assessment.outcome, examination.score) {
            (Ok(_), Some(score)) => self.settings.verification.decide(score),
            (Err(reason), _) => Decision::Inconclusive(*reason),
            (Ok(_), None) => return Err(RegistryError::Internal("an embedded check-in has no score".into())),
        };

        let signals = CheckInSignals {
            proxy: examination.proxy,
            replay: examination.replay,
            streak: self.settings.separation.streak,
        };
        let check_in = NewCheckIn {
            subject_id: request.subject_id.to_string(),
            device_id: request.device_id.to_string(),
            checked_in_at,
            decision,
            score: examination.score,
            threshold: self.settings.verification.threshold,
            model,
            voiceprint_id: voiceprint.id,
            quality: examination.assessment.quality.clone(),
            audio_sha256: sha256(&audio.content),
            embedding: examination.assessment.outcome.ok(),
            audio: self.stored_audio(&audio),
            fingerprint: examination.fingerprint,
        };
        let recorded = self.with_store(move |store| store.record_check_in(&check_in, &signals)).await?;

        self.publish_alert_events(recorded.alert_events);
        Ok(Verification { check_in: recorded.check_in, quality: examination.assessment.quality })
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

/// The inputs of a check-in's examination besides the recording, owned so that they can
/// move to the model pool.
struct ExaminationContext {
    store: Store,
    verification: CheckInPolicy,
    separation: SeparationPolicy,
    subject_id: String,
    model: String,
    /// The claimed subject's voiceprint vector.
    voiceprint: Vec<f32>,
}

impl ExaminationContext {
    /// Fingerprints, measures and embeds the recording, scores it against the claimed
    /// subject, and looks for the proxy and replay signals.
    fn examine(&self, embedder: &Embedder, audio: &AudioInput) -> Result<Examination, RegistryError> {
        let (speech, fingerprint) = find_speech_and_fingerprint(embedder, audio, "audio")?;
        let assessment = assess_speech(embedder, &self.verification, speech)?;
        let replay = self.find_replay(&fingerprint)?;

        let Ok(vector) = &assessment.outcome else {
            return Ok(Examination { assessment, score: None, fingerprint, proxy: None, replay });
        };
        let score = cosine_similarity(vector, &self.voiceprint);
        let rivals = rival_scores(&self.store, &self.model, vector, &self.subject_id)?;
        let proxy = find_proxy(score, &rivals, self.verification.threshold, self.separation.proxy_margin);

        Ok(Examination { assessment, score: Some(score), fingerprint, proxy, replay })
    }

    /// Returns the best match of `fingerprint` among the subject's earlier recordings that
    /// passes the replay threshold. The registry runs a subject's check-ins one at a time,
    /// so the history includes every check-in that arrived before this one.
    fn find_replay(&self, fingerprint: &[u8]) -> Result<Option<ReplayFinding>, RegistryError> {
        let Some(mut search) = ReplaySearch::new(fingerprint, &self.separation) else {
            return Ok(None);
        };
        self.store.for_each_fingerprint(&self.subject_id, |source, stored| search.consider(source, stored))?;

        let (found, unreadable) = search.finish();
        if unreadable > 0 {
            tracing::warn!(subject_id = %self.subject_id, unreadable, "stored fingerprints could not be read; the replay check skipped them");
        }
        Ok(found)
    }
}

/// Measures a recording against the check-in policy and embeds it when it passes.
fn assess(embedder: &Embedder, policy: &CheckInPolicy, audio: &AudioInput) -> Result<Assessment, RegistryError> {
    assess_speech(embedder, policy, find_speech(embedder, audio, "audio")?)
}

fn assess_speech(embedder: &Embedder, policy: &CheckInPolicy, speech: Speech) -> Result<Assessment, RegistryError> {
    let preprocessed = match speech {
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

/// Scores the current voiceprints of `model` of every subject but `claimed` against
/// `vector`, for the proxy check.
fn rival_scores(store: &Store, model: &str, vector: &[f32], claimed: &str) -> Result<Vec<RivalScore>, RegistryError> {
    let voiceprints = store.current_voiceprints(model)?;
    let rivals = voiceprints
        .into_iter()
        .filter(|voiceprint| voiceprint.subject_id != claimed)
        .filter_map(|voiceprint| {
            let score = cosine_similarity(vector, voiceprint.embedding.as_deref()?);
            Some(RivalScore { subject_id: voiceprint.subject_id, score })
        })
        .collect();
    Ok(rivals)
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
