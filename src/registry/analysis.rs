//! The pipeline steps that run on the model pool: decode, measure, gate and embed one
//! recording.

use sha2::{Digest, Sha256};

use super::request::AudioInput;
use super::RegistryError;
use crate::audio::{quality, AudioError, DecodedAudio};
use crate::embed::{EmbedError, Embedder, Embedding, Preprocessed, QualityReport};

/// A decoded recording after silence trimming, or the finding that it contains no speech.
pub(super) enum Speech {
    Found(Preprocessed),
    /// Silence trimming left less than the pipeline's minimum. The report has the speech that
    /// was found, and an SNR of 0 because that is the estimator's value without voiced windows.
    Missing(QualityReport),
}

/// Decodes and trims `audio`, the value of the request field `field`.
pub(super) fn find_speech(embedder: &Embedder, audio: &AudioInput, field: &str) -> Result<Speech, RegistryError> {
    let decoded = embedder.decode(audio.source()).map_err(|error| embed_error(field, error))?;

    match embedder.preprocess_decoded(&decoded) {
        Ok(preprocessed) => Ok(Speech::Found(preprocessed)),
        Err(EmbedError::Audio(AudioError::NoSpeech { speech_seconds, .. })) => {
            Ok(Speech::Missing(no_speech_report(&decoded, speech_seconds)))
        }
        Err(error) => Err(embed_error(field, error)),
    }
}

/// Runs the encoder on trimmed speech.
pub(super) fn embed(embedder: &Embedder, preprocessed: Preprocessed, field: &str) -> Result<Embedding, RegistryError> {
    embedder.embed_preprocessed(preprocessed).map_err(|error| embed_error(field, error))
}

pub(super) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn no_speech_report(decoded: &DecodedAudio, speech_seconds: f64) -> QualityReport {
    QualityReport {
        format: decoded.format.clone(),
        source_sample_rate: decoded.sample_rate,
        source_channels: decoded.source_channels,
        duration_seconds: decoded.duration_seconds(),
        speech_seconds,
        clipping_ratio: quality::clipping_ratio(&decoded.samples),
        snr_db: 0.0,
    }
}

fn embed_error(field: &str, error: EmbedError) -> RegistryError {
    match error {
        EmbedError::Audio(error) => RegistryError::Audio { field: field.to_owned(), error },
        EmbedError::Model(error) => RegistryError::Model(error),
    }
}
