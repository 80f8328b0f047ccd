//! From untrusted audio to a speaker embedding: the one pipeline that the command line, the
//! gRPC service and the evaluation tool share.
//!
//! decode → downmix → resample to 16 kHz → raise the level to -30 dBFS → trim silence (WebRTC
//! VAD) → 40-band mel → partial windows of 160 frames → GE2E encoder → mean of the partial
//! embeddings, L2-normalised.

use std::ops::Range;
use std::path::Path;

use thiserror::Error;

use crate::audio::raw::RawPcm;
use crate::audio::{self, quality, vad, AudioError, DecodedAudio, Limits, MODEL_SAMPLE_RATE};
use crate::features::mel::Ge2eMel;
use crate::model::{Ge2eEncoder, ModelError, ModelInfo, Precision};

/// Samples per mel frame (10 ms at 16 kHz).
const HOP_SAMPLES: usize = 160;

/// A new partial window starts every 77 frames: 16000 / 1.3 / 160 = 76.9, rounded.
pub const PARTIAL_STEP_FRAMES: usize = 77;

/// The last partial window is dropped when less than this fraction of it holds signal.
pub const MIN_PARTIAL_COVERAGE: f64 = 0.75;

/// Settings of the pipeline that callers may change.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedderSettings {
    pub limits: Limits,
    /// Less speech than this after silence trimming is rejected as no speech: such a short
    /// signal would be mostly zero padding in the encoder's 1.6 s window.
    pub min_speech_seconds: f64,
    /// Arithmetic of the encoder. float32 (the default) matches Resemblyzer to rounding. The
    /// reduced precisions are faster and need AVX-512 extensions, which load checks.
    pub precision: Precision,
}

impl Default for EmbedderSettings {
    fn default() -> Self {
        EmbedderSettings { limits: Limits::default(), min_speech_seconds: 0.3, precision: Precision::Fp32 }
    }
}

/// Where the audio comes from: a container file, or headerless PCM described by the caller.
#[derive(Debug, Clone, Copy)]
pub enum AudioSource<'a> {
    Container(&'a [u8]),
    Raw { bytes: &'a [u8], format: RawPcm },
}

/// Measurements of one recording, reported to enrolment staff and used by quality gates.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityReport {
    /// Format that was decoded, such as "flac" or "pcm_s16le".
    pub format: String,
    pub source_sample_rate: u32,
    pub source_channels: u16,
    /// Length of the decoded recording.
    pub duration_seconds: f64,
    /// Length of the signal after silence trimming: what the encoder hears.
    pub speech_seconds: f64,
    /// Fraction of samples at full scale, before level normalisation.
    pub clipping_ratio: f64,
    /// Estimated signal-to-noise ratio from voiced against unvoiced windows.
    pub snr_db: f64,
}

/// The speech that remains after preprocessing, with its quality measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocessed {
    /// Normalised, trimmed 16 kHz samples: the encoder's input.
    pub samples: Vec<f32>,
    pub quality: QualityReport,
}

/// A speaker embedding with the model that made it and the quality of its recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    /// Unit-length vector of [`Ge2eEncoder::EMBEDDING_DIM`] values.
    pub vector: Vec<f32>,
    /// The model's "id@version" tag.
    pub model: String,
    pub quality: QualityReport,
}

#[derive(Debug, Error)]
pub enum EmbedError {
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl EmbedError {
    /// Stable reason code for clients.
    pub fn code(&self) -> &'static str {
        match self {
            EmbedError::Audio(error) => error.code(),
            EmbedError::Model(_) => "MODEL_ERROR",
        }
    }
}

/// The pipeline, built once and shared by all threads.
pub struct Embedder {
    encoder: Ge2eEncoder,
    mel: Ge2eMel,
    settings: EmbedderSettings,
}

impl Embedder {
    /// Loads the model for `settings.precision`, which fails with
    /// [`ModelError::Precision`] on a CPU without the instructions it needs.
    pub fn load(model_path: &Path, settings: EmbedderSettings) -> Result<Self, EmbedError> {
        let encoder = Ge2eEncoder::load_with_precision(model_path, settings.precision)?;
        Ok(Embedder { encoder, mel: Ge2eMel::new(), settings })
    }

    pub fn model(&self) -> &ModelInfo {
        self.encoder.info()
    }

    pub fn settings(&self) -> &EmbedderSettings {
        &self.settings
    }

    /// Decodes `source` within the configured limits, without resampling.
    pub fn decode(&self, source: AudioSource<'_>) -> Result<DecodedAudio, EmbedError> {
        let limits = &self.settings.limits;
        let decoded = match source {
            AudioSource::Container(bytes) => audio::decode::decode(bytes, limits)?,
            AudioSource::Raw { bytes, format } => audio::decode::decode_raw(bytes, &format, limits)?,
        };
        Ok(decoded)
    }

    /// Decodes, resamples, normalises and trims `source`.
    pub fn preprocess(&self, source: AudioSource<'_>) -> Result<Preprocessed, EmbedError> {
        let decoded = self.decode(source)?;
        self.preprocess_decoded(&decoded)
    }

    /// Resamples, normalises and trims decoded audio.
    pub fn preprocess_decoded(&self, decoded: &DecodedAudio) -> Result<Preprocessed, EmbedError> {
        let resampled = self.resample_decoded(decoded)?;
        self.preprocess_resampled(decoded, &resampled)
    }

    /// Checks decoded audio for samples the pipeline cannot read and resamples it to the
    /// model's 16 kHz, the signal that audio fingerprints are computed from.
    pub fn resample_decoded(&self, decoded: &DecodedAudio) -> Result<Vec<f32>, EmbedError> {
        if decoded.samples.is_empty() {
            return Err(AudioError::Empty.into());
        }
        if let Some(index) = decoded.samples.iter().position(|x| !x.is_finite()) {
            return Err(AudioError::NonFinite { index }.into());
        }
        Ok(audio::resample::to_model_rate(&decoded.samples, decoded.sample_rate)?)
    }

    /// Normalises and trims `resampled`, which [`Embedder::resample_decoded`] made from
    /// `decoded`.
    pub fn preprocess_resampled(&self, decoded: &DecodedAudio, resampled: &[f32]) -> Result<Preprocessed, EmbedError> {
        let clipping_ratio = quality::clipping_ratio(&decoded.samples);
        let normalized = vad::normalize_volume(resampled);
        let trimmed = vad::trim_long_silences(&normalized);

        let speech_seconds = trimmed.samples.len() as f64 / f64::from(MODEL_SAMPLE_RATE);
        if speech_seconds < self.settings.min_speech_seconds || trimmed.samples.is_empty() {
            return Err(AudioError::NoSpeech {
                speech_seconds,
                min_seconds: self.settings.min_speech_seconds,
            }
            .into());
        }

        let quality = QualityReport {
            format: decoded.format.clone(),
            source_sample_rate: decoded.sample_rate,
            source_channels: decoded.source_channels,
            duration_seconds: decoded.duration_seconds(),
            speech_seconds,
            clipping_ratio,
            snr_db: quality::estimate_snr_db(&normalized, vad::VAD_WINDOW_SAMPLES, &trimmed.vad_flags),
        };
        Ok(Preprocessed { samples: trimmed.samples, quality })
    }

    /// Embeds one recording.
    pub fn embed(&self, source: AudioSource<'_>) -> Result<Embedding, EmbedError> {
        let preprocessed = self.preprocess(source)?;
        self.embed_preprocessed(preprocessed)
    }

    /// Embeds already decoded audio at any allowed sample rate.
    pub fn embed_decoded(&self, decoded: &DecodedAudio) -> Result<Embedding, EmbedError> {
        let preprocessed = self.preprocess_decoded(decoded)?;
        self.embed_preprocessed(preprocessed)
    }

    /// Runs the mel front end and the encoder on a preprocessed signal.
    pub fn embed_preprocessed(&self, preprocessed: Preprocessed) -> Result<Embedding, EmbedError> {
        let vector = self.embed_signal(&preprocessed.samples)?;
        Ok(Embedding { vector, model: self.model().tag(), quality: preprocessed.quality })
    }

    /// Embeds a normalised, trimmed 16 kHz signal as Resemblyzer's `embed_utterance` does.
    pub fn embed_signal(&self, samples: &[f32]) -> Result<Vec<f32>, EmbedError> {
        let mut mels = Vec::new();
        let windows = self.append_partial_mels(samples, &mut mels);
        let partials = self.encoder.embed_partials(&mels, windows)?;
        Ok(mean_embedding(&partials))
    }

    /// Embeds several preprocessed recordings with the partial windows of all of them in one
    /// encoder batch, as a server does with concurrent requests: a larger batch reads each
    /// weight once for more windows. Each result is bit for bit the one that
    /// [`Embedder::embed_preprocessed`] returns for the same recording.
    ///
    /// The caller bounds the batch: the mel windows of all items are held at once, about
    /// 33 KB per second of speech.
    pub fn embed_batch(&self, items: &[Preprocessed]) -> Vec<Result<Embedding, EmbedError>> {
        let mut mels = Vec::new();
        let windows: Vec<usize> = items.iter().map(|item| self.append_partial_mels(&item.samples, &mut mels)).collect();

        let partials = match self.encoder.embed_partials(&mels, windows.iter().sum()) {
            Ok(partials) => partials,
            // One bad item (a signal whose embedding cannot be normalised) fails the whole
            // batch; embedding the items one by one gives each its own result.
            Err(_) => return items.iter().map(|item| self.embed_preprocessed(item.clone())).collect(),
        };

        let mut partials = partials.as_slice();
        items
            .iter()
            .zip(windows)
            .map(|(item, count)| {
                let (own, rest) = partials.split_at(count);
                partials = rest;
                let vector = mean_embedding(own);
                Ok(Embedding { vector, model: self.model().tag(), quality: item.quality.clone() })
            })
            .collect()
    }

    /// Appends the mel frames of the partial windows of `samples` to `mels`, as
    /// Resemblyzer's `embed_utterance` cuts them, and returns the number of windows.
    fn append_partial_mels(&self, samples: &[f32], mels: &mut Vec<f32>) -> usize {
        let windows = partial_windows(samples.len());
        let padded_len = windows.last().map_or(0, |w| w.end * HOP_SAMPLES);

        let mut padded = samples.to_vec();
        if padded_len > padded.len() {
            padded.resize(padded_len, 0.0);
        }
        let mel = self.mel.compute(&padded);

        let frame_values = Ge2eMel::N_MELS;
        mels.reserve(windows.len() * Ge2eEncoder::PARTIAL_FRAMES * frame_values);
        for window in &windows {
            mels.extend_from_slice(&mel[window.start * frame_values..window.end * frame_values]);
        }
        windows.len()
    }
}

/// The mel frame ranges of the partial windows for a signal of `n_samples`, as Resemblyzer's
/// `compute_partial_slices` with rate 1.3 and minimum coverage 0.75 gives them.
pub fn partial_windows(n_samples: usize) -> Vec<Range<usize>> {
    let frames = Ge2eEncoder::PARTIAL_FRAMES;
    let n_frames = (n_samples + 1).div_ceil(HOP_SAMPLES);
    let steps = (n_frames + PARTIAL_STEP_FRAMES + 1).saturating_sub(frames).max(1);

    let mut windows: Vec<Range<usize>> =
        (0..steps).step_by(PARTIAL_STEP_FRAMES).map(|start| start..start + frames).collect();

    let last = windows.last().expect("steps is at least 1, so one window exists").clone();
    let last_start_sample = last.start * HOP_SAMPLES;
    let coverage = (n_samples as f64 - last_start_sample as f64) / (frames * HOP_SAMPLES) as f64;
    if coverage < MIN_PARTIAL_COVERAGE && windows.len() > 1 {
        windows.pop();
    }
    windows
}

/// The L2-normalised mean of unit embeddings: an utterance from its partials, or a
/// voiceprint from its enrolment clips. Returns an empty vector for no input.
pub fn mean_embedding(embeddings: &[Vec<f32>]) -> Vec<f32> {
    let Some(first) = embeddings.first() else {
        return Vec::new();
    };

    let mut mean = vec![0f32; first.len()];
    for embedding in embeddings {
        for (sum, &value) in mean.iter_mut().zip(embedding) {
            *sum += value;
        }
    }
    for value in &mut mean {
        *value /= embeddings.len() as f32;
    }

    let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        for value in &mut mean {
            *value /= norm;
        }
    }
    mean
}

/// Cosine similarity of two embeddings, in [-1, 1]; 0 when either has zero length.
pub fn cosine_similarity(a: &[f32], b: &[f32]) -> f32 {
    let dot: f64 = a.iter().zip(b).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum();
    let norm_a: f64 = a.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
    let norm_b: f64 = b.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
    if norm_a == 0.0 || norm_b == 0.0 {
        return 0.0;
    }
    ((dot / (norm_a * norm_b)) as f32).clamp(-1.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_windows_match_reference_slices() {
        // 70080 samples give five windows starting every 77 frames; the last covers 81%.
        let windows = partial_windows(70_080);
        let starts: Vec<usize> = windows.iter().map(|w| w.start).collect();
        assert_eq!(starts, vec![0, 77, 154, 231, 308]);
        assert_eq!(windows[4].end * HOP_SAMPLES, 74_880);
    }

    #[test]
    fn short_signal_keeps_one_window() {
        assert_eq!(partial_windows(4_800), vec![0..160]);
    }

    #[test]
    fn poorly_covered_last_window_is_dropped() {
        // With 30,000 samples, the window at frame 77 starts at sample 12,320 and holds 17,680
        // samples of signal: 69% of its 25,600, below the 75% minimum.
        assert_eq!(partial_windows(30_000), vec![0..160]);
    }

    #[test]
    fn mean_embedding_is_unit_length() {
        let mean = mean_embedding(&[vec![1.0, 0.0], vec![0.0, 1.0]]);
        let norm = (mean[0] * mean[0] + mean[1] * mean[1]).sqrt();
        assert!((norm - 1.0).abs() < 1e-6);
    }

    #[test]
    fn cosine_of_zero_vector_is_zero() {
        assert_eq!(cosine_similarity(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }
}
