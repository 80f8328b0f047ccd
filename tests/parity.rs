//! The pipeline against Resemblyzer 0.1.4's own outputs for the clips in fixtures/golden,
//! written by tools/make_golden_fixtures.py with the reference package.

mod common;

use std::sync::OnceLock;

use common::{cosine, extensible_wav, fixture, pcm16_wav_with_extras, read_fixture, read_npy, read_pcm16, WavSamples};
use voiceprint::embed::{AudioSource, Embedder, EmbedderSettings};
use voiceprint::model::default_model_path;

fn embedder() -> &'static Embedder {
    static EMBEDDER: OnceLock<Embedder> = OnceLock::new();
    EMBEDDER.get_or_init(|| Embedder::load(&default_model_path(), EmbedderSettings::default()).expect("default model loads"))
}

fn golden_preprocessed_samples(clip: &str) -> usize {
    let summary: serde_json::Value = serde_json::from_slice(&read_fixture("golden/golden.json")).unwrap();
    summary["clips"][clip]["preprocessed_samples"].as_u64().unwrap() as usize
}

fn golden_embedding(stem: &str) -> Vec<f32> {
    read_npy(&fixture(&format!("golden/{stem}.embed.npy")))
}

fn embed_fixture(file: &str) -> Vec<f32> {
    let bytes = read_fixture(&format!("golden/{file}"));
    embedder().embed(AudioSource::Container(&bytes)).unwrap_or_else(|error| panic!("{file}: {error}")).vector
}

#[test]
fn clips_at_16k_match_reference() {
    let clips = [
        "aishell_S0150W0001.wav",
        "aishell_S0150W0001_24bit.wav",
        "dspspeech_15307110189-00-01.wav",
        "librispeech_1688-142285-0000.flac",
        "vctk_p225_003.wav",
    ];
    for file in clips {
        let bytes = read_fixture(&format!("golden/{file}"));
        let preprocessed = embedder().preprocess(AudioSource::Container(&bytes)).unwrap();
        assert_eq!(preprocessed.samples.len(), golden_preprocessed_samples(file), "{file}: trimmed length");

        let stem = file.rsplit_once('.').unwrap().0;
        let similarity = cosine(&embed_fixture(file), &golden_embedding(stem));
        assert!(similarity >= 0.9999, "{file}: cosine {similarity}");
    }
}

#[test]
fn resampled_clips_match_reference() {
    // The reference resampled with soxr; a different resampler agrees closely, not exactly.
    for file in ["vctk_p225_003_8k.wav", "vctk_p225_003_44k_float.wav", "vctk_p225_003_48k_stereo.wav"] {
        let stem = file.rsplit_once('.').unwrap().0;
        let similarity = cosine(&embed_fixture(file), &golden_embedding(stem));
        assert!(similarity >= 0.99, "{file}: cosine {similarity}");
    }
}

#[test]
fn signal_past_window_step_is_embedded() {
    // 3 steps of 77 frames plus 0.002 s: the case where a nearly empty last window is dropped.
    let signal = read_npy(&fixture("golden/vctk_p225_003_cut.preprocessed_wav.npy"));
    assert_eq!(signal.len(), 3 * 77 * 160 + 32);

    let embedding = embedder().embed_signal(&signal).unwrap();
    let similarity = cosine(&embedding, &golden_embedding("vctk_p225_003_cut"));
    assert!(similarity >= 0.9999, "cosine {similarity}");
}

#[test]
fn extensible_wavs_match_16bit_file() {
    let (rate, channels, pcm) = read_pcm16("golden/aishell_S0150W0001.wav");
    assert_eq!(channels, 1);
    let samples: Vec<f32> = pcm.iter().map(|&s| f32::from(s) / 32768.0).collect();
    let reference = embed_fixture("aishell_S0150W0001.wav");

    for format in [WavSamples::Int24, WavSamples::Float32] {
        let bytes = extensible_wav(rate, &samples, format);
        let embedding = embedder().embed(AudioSource::Container(&bytes)).unwrap().vector;
        let similarity = cosine(&embedding, &reference);
        assert!(similarity >= 0.9999, "cosine {similarity}");
    }
}

#[test]
fn streaming_wav_sizes_are_read_to_end() {
    let (rate, channels, pcm) = read_pcm16("golden/aishell_S0150W0001.wav");
    let reference = golden_embedding("aishell_S0150W0001");

    for data_size in [u32::MAX, 0] {
        let bytes = pcm16_wav_with_extras(rate, channels, &pcm, data_size);
        let embedding = embedder().embed(AudioSource::Container(&bytes)).unwrap().vector;
        let similarity = cosine(&embedding, &reference);
        assert!(similarity >= 0.9999, "data size {data_size:#x}: cosine {similarity}");
    }
}

#[test]
fn embeddings_are_bit_identical_across_threads() {
    let bytes = read_fixture("golden/vctk_p225_003.wav");
    let alone = embedder().embed(AudioSource::Container(&bytes)).unwrap().vector;

    let concurrent: Vec<Vec<f32>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| scope.spawn(|| embedder().embed(AudioSource::Container(&bytes)).unwrap().vector))
            .collect();
        handles.into_iter().map(|handle| handle.join().unwrap()).collect()
    });

    for embedding in concurrent {
        let identical = embedding.iter().zip(&alone).all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(identical, "an embedding from 8 threads differs from the one computed alone");
    }
}

#[test]
fn embedding_is_tagged_with_model() {
    let bytes = read_fixture("golden/vctk_p225_003.wav");
    let embedding = embedder().embed(AudioSource::Container(&bytes)).unwrap();
    assert_eq!(embedding.model, "ge2e-resemblyzer@0.1.4");
    assert_eq!(embedding.vector.len(), 256);
}
