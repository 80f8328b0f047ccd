//! Every clip of the Resemblyzer 0.1.4 reference set, step by step. The set is not part of
//! the repository: point VOICEPRINT_REFERENCE_DIR at its `resemblyzer-0.1.4` folder, or keep
//! it at `../shared/golden/resemblyzer-0.1.4` beside the checkout. Without it the test only
//! reports that it was skipped; tests/parity.rs covers the committed subset.

mod common;

use std::path::{Path, PathBuf};

use common::{cosine, read_npy};
use voiceprint::audio::vad;
use voiceprint::embed::{AudioSource, Embedder, EmbedderSettings};
use voiceprint::model::default_model_path;

fn reference_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("VOICEPRINT_REFERENCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/golden/resemblyzer-0.1.4"));
    dir.is_dir().then_some(dir)
}

fn embedder() -> Embedder {
    Embedder::load(&default_model_path(), EmbedderSettings::default()).expect("default model loads")
}

#[test]
fn synthetic_clips_match_every_step() {
    let Some(dir) = reference_dir() else {
        eprintln!("skipped: reference set not found (set VOICEPRINT_REFERENCE_DIR)");
        return;
    };
    let dir = dir.join("synthetic");
    let embedder = embedder();

    for name in ["en-us", "en+f3", "en+m7", "en-us_b", "en-us_quiet"] {
        let golden = |step: &str| read_npy(&dir.join(format!("{name}.{step}.npy")));
        let raw = golden("raw_wav");

        let normalized = vad::normalize_volume(&raw);
        let expected_normalized = golden("normalized_wav");
        let max_difference = normalized.iter().zip(&expected_normalized).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(max_difference <= 1e-7, "{name}: normalised samples differ by {max_difference}");

        let trimmed = vad::trim_long_silences(&normalized);
        let expected_flags: Vec<bool> = golden("vad_flags").iter().map(|&f| f != 0.0).collect();
        assert_eq!(trimmed.vad_flags, expected_flags, "{name}: VAD flags");
        assert_eq!(trimmed.samples.len(), golden("preprocessed_wav").len(), "{name}: trimmed length");

        let bytes = std::fs::read(dir.join(format!("utt_{name}.wav"))).unwrap();
        let embedding = embedder.embed(AudioSource::Container(&bytes)).unwrap().vector;
        let similarity = cosine(&embedding, &golden("embed"));
        assert!(similarity >= 0.9999, "{name}: cosine {similarity}");
    }
}

#[test]
fn real_clips_match_reference() {
    let Some(dir) = reference_dir() else {
        eprintln!("skipped: reference set not found (set VOICEPRINT_REFERENCE_DIR)");
        return;
    };
    let dir = dir.join("real");
    let embedder = embedder();

    let clips = [
        ("aishell_S0150W0001.wav", 0.9999),
        ("aishell_S0150W0001_24bit.wav", 0.9999),
        ("dspspeech_15307110189-00-01.wav", 0.9999),
        ("librispeech_1688-142285-0000.flac", 0.9999),
        ("vctk_p225_003.wav", 0.9999),
        // Resampled by soxr in the reference: a different resampler agrees closely.
        ("fsdd_7_jackson_32_8k.wav", 0.99),
        ("vctk_p225_003_44k_float.wav", 0.99),
        ("librispeech_1688_48k_stereo.wav", 0.99),
    ];
    for (file, min_cosine) in clips {
        let stem = file.rsplit_once('.').unwrap().0;
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let embedding = embedder.embed(AudioSource::Container(&bytes)).unwrap();

        if min_cosine > 0.999 {
            let expected_len = read_npy(&dir.join(format!("{stem}.preprocessed_wav.npy"))).len();
            let actual_len = (embedding.quality.speech_seconds * 16_000.0).round() as usize;
            assert_eq!(actual_len, expected_len, "{file}: trimmed length");
        }
        let similarity = cosine(&embedding.vector, &read_npy(&dir.join(format!("{stem}.embed.npy"))));
        assert!(similarity >= min_cosine, "{file}: cosine {similarity} below {min_cosine}");
        eprintln!("{file}: cosine {similarity:.6}");
    }
}
