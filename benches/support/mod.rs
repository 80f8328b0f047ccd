//! Inputs shared by the benchmarks: real speech from the LibriSpeech fixture, cut to the
//! lengths that the benchmarks and tools/bench_resemblyzer.py use.

#![allow(dead_code)]

use std::io::Cursor;
use std::path::Path;

use voiceprint::audio::{self, DecodedAudio, Limits};
use voiceprint::embed::{AudioSource, Embedder, EmbedderSettings, Preprocessed};
use voiceprint::model::precision::select_isa;
use voiceprint::model::{default_model_path, CpuFeatures, Precision};

/// 15 s of read speech (LibriSpeech test-other 1688-142285-0000, 16 kHz FLAC, CC BY 4.0).
pub const CLIP: &str = "fixtures/golden/librispeech_1688-142285-0000.flac";

pub fn read(relative: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

pub fn decode(relative: &str) -> DecodedAudio {
    audio::decode::decode(&read(relative), &Limits::default()).unwrap()
}

/// Returns the first `seconds` of the LibriSpeech clip, 16 kHz, as decoded (not trimmed).
pub fn clip_samples(seconds: f64) -> Vec<f32> {
    let decoded = decode(CLIP);
    let len = (seconds * f64::from(decoded.sample_rate)) as usize;
    decoded.samples[..len].to_vec()
}

/// Repeats `samples` until they last `seconds` at `rate`.
pub fn tiled(samples: &[f32], rate: u32, seconds: f64) -> Vec<f32> {
    let len = (seconds * f64::from(rate)) as usize;
    samples.iter().copied().cycle().take(len).collect()
}

/// Writes `samples` as a 16-bit mono WAV file at 16 kHz, in memory.
pub fn wav_bytes(samples: &[f32]) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut bytes = Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut bytes, spec).unwrap();
    for &sample in samples {
        writer.write_sample((sample * 32767.0).round().clamp(-32768.0, 32767.0) as i16).unwrap();
    }
    writer.finalize().unwrap();
    bytes.into_inner()
}

pub fn embedder(precision: Precision) -> Embedder {
    let settings = EmbedderSettings { precision, ..EmbedderSettings::default() };
    Embedder::load(&default_model_path(), settings).unwrap()
}

/// Lists fp32 and the reduced precisions that this CPU runs.
pub fn precisions() -> Vec<Precision> {
    Precision::ALL.into_iter().filter(|&precision| select_isa(precision, CpuFeatures::detect()).is_ok()).collect()
}

/// Returns `seconds` of speech: the start of the whole clip after level normalisation and
/// silence trimming, as Resemblyzer's `preprocess_wav` leaves it (11.3 s in all).
pub fn speech(embedder: &Embedder, seconds: f64) -> Preprocessed {
    let mut preprocessed = embedder.preprocess(AudioSource::Container(&read(CLIP))).unwrap();
    preprocessed.samples.truncate((seconds * 16_000.0) as usize);
    preprocessed
}
