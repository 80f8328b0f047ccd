//! Records that the store writes and reads back.

use std::time::SystemTime;

use crate::embed::QualityReport;
use crate::scoring::Decision;

/// A subject as the store keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectRecord {
    pub subject_id: String,
    pub created_at: SystemTime,
    /// Set while the subject is deleted; a later enrolment clears it.
    pub deleted_at: Option<SystemTime>,
}

/// One voiceprint, current or historical.
#[derive(Debug, Clone, PartialEq)]
pub struct VoiceprintRecord {
    pub id: i64,
    pub subject_id: String,
    /// The "id@version" tag of the model that made it.
    pub model: String,
    /// `None` once erased.
    pub embedding: Option<Vec<f32>>,
    pub clip_count: u32,
    pub speech_seconds: f64,
    pub enrolled_at: SystemTime,
    pub replaced_at: Option<SystemTime>,
    pub erased_at: Option<SystemTime>,
}

impl VoiceprintRecord {
    /// True for the voiceprint that check-ins are compared with.
    pub fn is_current(&self) -> bool {
        self.replaced_at.is_none() && self.erased_at.is_none()
    }
}

/// A subject with its current voiceprint and the earlier ones, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectView {
    pub subject: SubjectRecord,
    pub current: Option<VoiceprintRecord>,
    pub history: Vec<VoiceprintRecord>,
}

/// Original audio, kept only when the `store.keep_audio` setting is on.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAudio {
    pub bytes: Vec<u8>,
    /// How to read `bytes`: "container", or "encoding/rate/channels" for headerless PCM.
    pub format: String,
}

/// An accepted enrolment clip.
#[derive(Debug, Clone, PartialEq)]
pub struct NewClip {
    pub index: usize,
    pub embedding: Vec<f32>,
    pub quality: QualityReport,
    pub agreement: Option<f32>,
    pub audio_sha256: [u8; 32],
    pub audio: Option<StoredAudio>,
}

/// An enrolment that replaces the subject's voiceprint.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEnrollment {
    pub subject_id: String,
    pub model: String,
    /// The normalised mean of the clips' embeddings.
    pub embedding: Vec<f32>,
    pub clips: Vec<NewClip>,
    pub enrolled_at: SystemTime,
}

/// A check-in to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCheckIn {
    pub subject_id: String,
    pub device_id: String,
    pub checked_in_at: SystemTime,
    pub decision: Decision,
    /// `None` for INCONCLUSIVE check-ins, which are not scored.
    pub score: Option<f32>,
    pub threshold: f32,
    pub model: String,
    pub voiceprint_id: i64,
    pub quality: QualityReport,
    pub audio_sha256: [u8; 32],
    /// The recording's embedding, kept to recognise a replayed recording later.
    pub embedding: Option<Vec<f32>>,
    pub audio: Option<StoredAudio>,
}

/// A recorded check-in. Deleting the subject erases the score, the measurements, the
/// embedding and any audio, and sets `erased_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckInRecord {
    pub id: i64,
    pub subject_id: String,
    pub device_id: String,
    pub checked_in_at: SystemTime,
    pub decision: Decision,
    pub score: Option<f32>,
    pub threshold: f32,
    pub model: String,
    pub voiceprint_id: i64,
    pub quality: Option<QualityReport>,
    pub audio_sha256: Option<[u8; 32]>,
    pub erased_at: Option<SystemTime>,
}
