//! Hostile and degenerate inputs through the whole pipeline: each gives an embedding or a
//! typed error, never a panic and never a NaN.

mod common;

use std::sync::OnceLock;

use common::{pcm16_wav_with_extras, read_fixture, read_pcm16};
use voiceprint::audio::raw::{RawEncoding, RawPcm};
use voiceprint::audio::AudioError;
use voiceprint::embed::{AudioSource, EmbedError, Embedder, EmbedderSettings};
use voiceprint::model::default_model_path;

fn embedder() -> &'static Embedder {
    static EMBEDDER: OnceLock<Embedder> = OnceLock::new();
    EMBEDDER.get_or_init(|| Embedder::load(&default_model_path(), EmbedderSettings::default()).expect("default model loads"))
}

fn raw16(samples: &[f32]) -> Vec<u8> {
    samples.iter().flat_map(|&x| ((x * 32767.0).round() as i16).to_le_bytes()).collect()
}

fn embed_raw(samples: &[f32]) -> Result<Vec<f32>, EmbedError> {
    let bytes = raw16(samples);
    let format = RawPcm { encoding: RawEncoding::Linear16, sample_rate: 16_000, channels: 1 };
    embedder().embed(AudioSource::Raw { bytes: &bytes, format }).map(|embedding| embedding.vector)
}

fn audio_error(result: Result<Vec<f32>, EmbedError>) -> AudioError {
    match result {
        Err(EmbedError::Audio(error)) => error,
        other => panic!("expected an audio error, got {other:?}"),
    }
}

fn assert_no_speech(result: Result<Vec<f32>, EmbedError>) {
    match audio_error(result) {
        AudioError::NoSpeech { speech_seconds, .. } => assert!(speech_seconds.is_finite()),
        other => panic!("expected no speech, got {other:?}"),
    }
}

#[test]
fn zero_samples_is_empty_input() {
    assert_eq!(audio_error(embed_raw(&[])), AudioError::Empty);
}

#[test]
fn short_speech_is_no_speech() {
    let (_, _, pcm) = read_pcm16("golden/aishell_S0150W0001.wav");
    let middle = pcm.len() / 2;
    let speech: Vec<f32> = pcm[middle..middle + 350].iter().map(|&s| f32::from(s) / 32768.0).collect();
    assert_no_speech(embed_raw(&speech));
}

#[test]
fn digital_silence_is_no_speech() {
    assert_no_speech(embed_raw(&vec![0.0; 5 * 16_000]));
}

#[test]
fn quiet_white_noise_is_no_speech() {
    // Uniform noise from a fixed linear congruential generator, scaled to -60 dBFS RMS.
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let noise: Vec<f32> = (0..3 * 16_000)
        .map(|_| {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    let rms = (noise.iter().map(|x| x * x).sum::<f32>() / noise.len() as f32).sqrt();
    let target_rms = 10f32.powf(-60.0 / 20.0);
    let scaled: Vec<f32> = noise.iter().map(|x| x * target_rms / rms).collect();

    assert_no_speech(embed_raw(&scaled));
}

#[test]
fn truncated_file_embeds_what_is_there() {
    let bytes = read_fixture("golden/vctk_p225_003.wav");
    // An odd length ends in the middle of a 16-bit sample.
    let truncated = &bytes[..bytes.len() / 2 + 1];
    let embedding = embedder().embed(AudioSource::Container(truncated)).unwrap();
    assert!(embedding.vector.iter().all(|v| v.is_finite()));
}

#[test]
fn implausible_sample_rates_are_rejected() {
    let (_, _, pcm) = read_pcm16("golden/aishell_S0150W0001.wav");
    for claimed_rate in [1u32, 4_000_000_000] {
        let bytes = pcm16_wav_with_extras(claimed_rate, 1, &pcm[..16_000], 32_000);
        let error = audio_error(embedder().embed(AudioSource::Container(&bytes)).map(|e| e.vector));
        assert!(matches!(error, AudioError::SampleRateOutOfRange { .. }), "{claimed_rate} Hz: {error:?}");
        let message = error.to_string();
        assert!(message.contains(&claimed_rate.to_string()), "{message}");
        assert!(message.contains("8000") && message.contains("192000"), "{message}");
    }
}

#[test]
fn thirty_minutes_is_too_long() {
    // 30 minutes of 8-bit audio at 8 kHz fit under the size limit, so the duration limit
    // answers, both when the header states the length and when it does not.
    let seconds = 30 * 60;
    let data = vec![128u8; seconds * 8_000];
    for data_size in [data.len() as u32, u32::MAX] {
        let mut bytes = Vec::with_capacity(data.len() + 44);
        bytes.extend_from_slice(b"RIFF");
        bytes.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
        bytes.extend_from_slice(b"WAVEfmt ");
        bytes.extend_from_slice(&16u32.to_le_bytes());
        bytes.extend_from_slice(&1u16.to_le_bytes());
        bytes.extend_from_slice(&1u16.to_le_bytes());
        bytes.extend_from_slice(&8_000u32.to_le_bytes());
        bytes.extend_from_slice(&8_000u32.to_le_bytes());
        bytes.extend_from_slice(&1u16.to_le_bytes());
        bytes.extend_from_slice(&8u16.to_le_bytes());
        bytes.extend_from_slice(b"data");
        bytes.extend_from_slice(&data_size.to_le_bytes());
        bytes.extend_from_slice(&data);

        let error = audio_error(embedder().embed(AudioSource::Container(&bytes)).map(|e| e.vector));
        match error {
            AudioError::TooLong { seconds, limit } => {
                assert_eq!(limit, 300.0);
                assert!(seconds > limit, "reported {seconds} s");
            }
            other => panic!("data size {data_size:#x}: expected too long, got {other:?}"),
        }
    }
}

#[test]
fn non_audio_is_unsupported() {
    let png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00";
    let text = b"This is a text file, not a recording.\n".repeat(20);
    for bytes in [&png[..], &text[..]] {
        let error = audio_error(embedder().embed(AudioSource::Container(bytes)).map(|e| e.vector));
        assert!(matches!(error, AudioError::UnsupportedFormat { .. }), "{error:?}");
    }
}
