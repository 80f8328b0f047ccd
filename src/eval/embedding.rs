//! Embeds the recordings of an evaluation on all cores, through the on-disk cache.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use super::cache::{self, CacheKey, Digest, EmbeddingCache, EmbeddingIdentity, Outcome};
use super::files;
use super::protocol::Recording;
use super::EvalError;
use crate::audio::{self, AudioError, DecodedAudio, MODEL_SAMPLE_RATE};
use crate::embed::{AudioSource, EmbedError, Embedder};

/// Embeds recordings with one shared [`Embedder`].
pub struct RecordingEmbedder<'a> {
    embedder: &'a Embedder,
    cache: Option<&'a EmbeddingCache>,
    identity: EmbeddingIdentity,
    show_progress: bool,
}

/// The outcome of every recording, with the digest of every file read.
#[derive(Debug, Default)]
pub struct EmbeddedRecordings {
    pub outcomes: HashMap<Recording, Outcome>,
    pub digests: HashMap<PathBuf, Digest>,
    /// Recordings found in the cache.
    pub cache_hits: usize,
}

struct RecordingResult {
    outcome: Outcome,
    digests: Vec<(PathBuf, Digest)>,
    cache_hit: bool,
}

impl<'a> RecordingEmbedder<'a> {
    pub fn new(
        embedder: &'a Embedder,
        cache: Option<&'a EmbeddingCache>,
        show_progress: bool,
    ) -> Self {
        let identity = EmbeddingIdentity {
            model: embedder.model().tag(),
            // Part of every cache key, so that each precision's embeddings are cached apart.
            precision: embedder.settings().precision.name().to_string(),
            // NOTE: a change to the pipeline's code that keeps the crate version reuses the old
            // entries. Run with --no-cache or delete the cache file after such a change.
            pipeline: format!(
                "voiceprint {} {:?}",
                env!("CARGO_PKG_VERSION"),
                embedder.settings()
            ),
        };
        RecordingEmbedder {
            embedder,
            cache,
            identity,
            show_progress,
        }
    }

    pub fn identity(&self) -> &EmbeddingIdentity {
        &self.identity
    }

    /// Embeds every recording, in parallel on the current rayon pool. A recording the
    /// pipeline rejects gets an [`Outcome::Rejected`]; an unreadable file, a model failure or
    /// a cache failure stops the run.
    pub fn embed_all(&self, recordings: &[Recording]) -> Result<EmbeddedRecordings, EvalError> {
        let progress = self.progress_bar(recordings.len() as u64);
        let results: Vec<RecordingResult> = recordings
            .par_iter()
            .map(|recording| {
                let result = self.embed_one(recording);
                progress.inc(1);
                result
            })
            .collect::<Result<_, _>>()?;
        progress.finish_and_clear();

        let mut embedded = EmbeddedRecordings::default();
        for (recording, result) in recordings.iter().zip(results) {
            embedded.cache_hits += usize::from(result.cache_hit);
            embedded.digests.extend(result.digests);
            embedded.outcomes.insert(recording.clone(), result.outcome);
        }
        Ok(embedded)
    }

    fn progress_bar(&self, len: u64) -> ProgressBar {
        if !self.show_progress {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{elapsed_precise} [{wide_bar}] {pos}/{len} recordings, {per_sec}, {eta} left",
        )
        .expect("the progress template is valid");
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(500));
        bar
    }

    fn embed_one(&self, recording: &Recording) -> Result<RecordingResult, EvalError> {
        let mut contents = Vec::new();
        for path in recording.files() {
            match self.read_audio(path)? {
                Ok(bytes) => contents.push(bytes),
                Err(rejection) => {
                    return Ok(RecordingResult {
                        outcome: rejection,
                        digests: Vec::new(),
                        cache_hit: false,
                    })
                }
            }
        }

        let digests: Vec<Digest> = contents
            .iter()
            .map(|bytes| cache::file_digest(bytes))
            .collect();
        let content_digest = match recording {
            Recording::File(_) => digests[0],
            Recording::Concatenation(_) => cache::concatenation_digest(&digests),
        };
        let key = CacheKey::new(&content_digest, &self.identity);
        let file_digests = recording.files().iter().cloned().zip(digests).collect();

        if let Some(outcome) = self
            .cache
            .map(|cache| cache.get(&key))
            .transpose()?
            .flatten()
        {
            return Ok(RecordingResult {
                outcome,
                digests: file_digests,
                cache_hit: true,
            });
        }

        let outcome = self.run_pipeline(&contents)?;
        if let Some(cache) = self.cache {
            cache.put(&key, &self.identity, &outcome)?;
        }
        Ok(RecordingResult {
            outcome,
            digests: file_digests,
            cache_hit: false,
        })
    }

    /// Reads an audio file within the pipeline's size limit. A file over the limit is a
    /// rejection of that recording, as the service would reject it, not an error of the run.
    fn read_audio(&self, path: &Path) -> Result<Result<Vec<u8>, Outcome>, EvalError> {
        let limit = self.embedder.settings().limits.max_bytes;
        match files::read_bytes(path, limit as u64) {
            Ok(bytes) => Ok(Ok(bytes)),
            Err(EvalError::FileTooLarge { bytes, .. }) => {
                let error = AudioError::TooLarge {
                    bytes: usize::try_from(bytes).unwrap_or(usize::MAX),
                    limit,
                };
                Ok(Err(rejection(&error)))
            }
            Err(error) => Err(error),
        }
    }

    /// Embeds one file, or several files decoded, resampled to 16 kHz and joined into one
    /// signal before the rest of the pipeline runs on it.
    fn run_pipeline(&self, contents: &[Vec<u8>]) -> Result<Outcome, EvalError> {
        let result = if let [bytes] = contents {
            self.embedder.embed(AudioSource::Container(bytes))
        } else {
            self.concatenate(contents)
                .and_then(|decoded| self.embedder.embed_decoded(&decoded))
        };

        match result {
            Ok(embedding) => Ok(Outcome::Embedded(embedding.vector)),
            Err(EmbedError::Audio(error)) => Ok(rejection(&error)),
            Err(EmbedError::Model(error)) => Err(EvalError::Model(error)),
        }
    }

    fn concatenate(&self, contents: &[Vec<u8>]) -> Result<DecodedAudio, EmbedError> {
        let mut samples = Vec::new();
        let mut source_channels = 1;
        for bytes in contents {
            let decoded = self.embedder.decode(AudioSource::Container(bytes))?;
            samples.extend(audio::resample::to_model_rate(
                &decoded.samples,
                decoded.sample_rate,
            )?);
            source_channels = source_channels.max(decoded.source_channels);
        }
        Ok(DecodedAudio {
            samples,
            sample_rate: MODEL_SAMPLE_RATE,
            source_channels,
            format: "concatenation".to_string(),
        })
    }
}

fn rejection(error: &AudioError) -> Outcome {
    Outcome::Rejected {
        code: error.code().to_string(),
        message: error.to_string(),
    }
}
