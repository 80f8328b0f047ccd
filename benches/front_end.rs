//! Decoding, resampling, silence trimming and the mel spectrogram: everything before the
//! encoder. Run with `cargo bench --bench front_end`.

mod support;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use voiceprint::audio::{self, resample, vad, Limits};
use voiceprint::embed::AudioSource;
use voiceprint::features::mel::Ge2eMel;
use voiceprint::model::Precision;

fn decode_and_resample(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode_resample");

    let flac = support::read(support::CLIP);
    group.bench_function("decode_flac_15s", |b| {
        b.iter(|| audio::decode::decode(black_box(&flac), &Limits::default()).unwrap())
    });

    // The VCTK fixtures at 8 kHz and 48 kHz, repeated to 10 s.
    for (name, file, rate) in [
        ("resample_8k_10s", "fixtures/golden/vctk_p225_003_8k.wav", 8_000),
        ("resample_48k_10s", "fixtures/golden/vctk_p225_003_48k_stereo.wav", 48_000),
    ] {
        let decoded = support::decode(file);
        assert_eq!(decoded.sample_rate, rate);
        let samples = support::tiled(&decoded.samples, rate, 10.0);
        group.bench_function(name, |b| b.iter(|| resample::to_model_rate(black_box(&samples), rate).unwrap()));
    }
    group.finish();
}

fn vad_and_mel(c: &mut Criterion) {
    let mut group = c.benchmark_group("vad_mel");
    let samples = support::clip_samples(10.0);

    group.bench_function("normalize_trim_10s", |b| {
        b.iter(|| vad::trim_long_silences(&vad::normalize_volume(black_box(&samples))))
    });

    let mel = Ge2eMel::new();
    group.bench_function("mel_10s", |b| b.iter(|| mel.compute(black_box(&samples))));
    group.finish();
}

/// Times resampling, level, silence trimming and quality measures of raw 16 kHz audio, as
/// Resemblyzer's `preprocess_wav` of an array does them (without the quality measures).
fn preprocess(c: &mut Criterion) {
    let mut group = c.benchmark_group("preprocess");
    let embedder = support::embedder(Precision::Fp32);
    for seconds in [3.0, 10.0] {
        let bytes = support::wav_bytes(&support::clip_samples(seconds));
        let decoded = embedder.decode(AudioSource::Container(&bytes)).unwrap();
        group.bench_function(format!("{seconds}s"), |b| {
            b.iter(|| embedder.preprocess_decoded(black_box(&decoded)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, decode_and_resample, vad_and_mel, preprocess);
criterion_main!(benches);
