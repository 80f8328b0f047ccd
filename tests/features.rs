//! The feature extractors against golden values computed by their reference implementations
//! (librosa 0.11 and kaldi-native-fbank 1.23) with `tools/make_feature_fixtures.py`, on a 3 s
//! excerpt of VCTK p225_003.

use std::path::{Path, PathBuf};

use voiceprint::features::fbank::{KaldiFbank, KaldiFbankOptions};
use voiceprint::features::mel::{Ge2eMel, MelFilterbank};
use voiceprint::features::mfcc::{Mfcc, MfccOptions};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/features")
        .join(name)
}

/// A golden array: its shape and its values in C order.
struct Golden {
    shape: Vec<usize>,
    values: Vec<f32>,
}

/// Reads a `.npy` file of little-endian `float32` in C order, the only kind the fixture
/// script writes.
fn read_npy(name: &str) -> Golden {
    let bytes = std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
    assert_eq!(&bytes[..6], b"\x93NUMPY", "{name} is not a .npy file");

    let (header_len, header_start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => (
            u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
            12,
        ),
        version => panic!("{name}: unsupported .npy version {version}"),
    };
    let header = std::str::from_utf8(&bytes[header_start..header_start + header_len]).unwrap();
    assert!(
        header.contains("'descr': '<f4'"),
        "{name}: not little-endian float32: {header}"
    );
    assert!(
        header.contains("'fortran_order': False"),
        "{name}: not C order: {header}"
    );

    let shape_text = header
        .split("'shape': (")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap();
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();

    let data = &bytes[header_start + header_len..];
    let values: Vec<f32> = data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(
        values.len(),
        shape.iter().product::<usize>(),
        "{name}: data does not match shape {shape:?}"
    );
    Golden { shape, values }
}

/// Reads the excerpt as the fixture script does: int16 / 32768.
fn speech_samples() -> Vec<f32> {
    let mut reader = hound::WavReader::open(fixture("vctk_p225_003.wav")).unwrap();
    assert_eq!(reader.spec().sample_rate, 16_000);
    reader
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect()
}

#[test]
fn slaney_filterbank_matches_librosa() {
    let golden = read_npy("slaney_filterbank_16k_400_40.npy");
    let filterbank = MelFilterbank::slaney(16_000.0, 400, 40, 0.0, 8000.0).unwrap();
    assert_eq!(
        golden.shape,
        vec![filterbank.n_mels(), filterbank.n_fft_bins()]
    );

    // Built in float64 and rounded to float32 like librosa, so at most one float32 step
    // apart where the platforms' logarithms differ in the last bit.
    for (i, (&actual, &expected)) in filterbank.to_dense().iter().zip(&golden.values).enumerate() {
        let tolerance = expected.abs() * f32::EPSILON;
        assert!(
            (actual - expected).abs() <= tolerance,
            "weight {i} (mel bin {}, FFT bin {}): {actual} vs {expected}",
            i / filterbank.n_fft_bins(),
            i % filterbank.n_fft_bins()
        );
    }
}

#[test]
fn ge2e_mel_matches_librosa() {
    let golden = read_npy("ge2e_mel.npy");
    let samples = speech_samples();
    let mel = Ge2eMel::new().compute(&samples);
    assert_eq!(golden.shape, vec![1 + samples.len() / 160, Ge2eMel::N_MELS]);
    assert_eq!(mel.len(), golden.values.len());

    // librosa rounds a double-precision FFT to complex64 and sums the filterbank in float32,
    // as this crate does, so the two differ only by float32 rounding (measured: 3.6e-7).
    for (i, (&actual, &expected)) in mel.iter().zip(&golden.values).enumerate() {
        assert!(
            (actual - expected).abs() <= 1e-5 * expected.abs() + 1e-12,
            "frame {}, mel bin {}: {actual} vs {expected}",
            i / Ge2eMel::N_MELS,
            i % Ge2eMel::N_MELS
        );
    }
}

#[test]
fn ge2e_mel_is_shared_across_threads() {
    let samples = speech_samples();
    let mel = Ge2eMel::new();
    let expected = mel.compute(&samples);

    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| mel.compute(&samples)))
            .collect();
        for worker in workers {
            assert_eq!(worker.join().unwrap(), expected);
        }
    });
}

#[test]
fn mfcc_matches_librosa() {
    let golden = read_npy("mfcc_20.npy");
    let samples = speech_samples();
    let mfcc = Mfcc::new(MfccOptions::default()).unwrap().compute(&samples);
    assert_eq!(golden.shape, vec![1 + samples.len() / 512, 20]);
    assert_eq!(mfcc.len(), golden.values.len());

    // scipy.fft.dct keeps float32 input in float32, so librosa's coefficients carry a few
    // float32 rounding steps of the largest ones (|c0| reaches 500 here, where one step is
    // 3e-5). This crate sums the DCT in f64. Measured difference: 6.1e-5.
    for (i, (&actual, &expected)) in mfcc.iter().zip(&golden.values).enumerate() {
        assert!(
            (actual - expected).abs() <= 2e-4,
            "frame {}, coefficient {}: {actual} vs {expected}",
            i / 20,
            i % 20
        );
    }
}

/// Compares log-mel filterbank frames with kaldi-native-fbank's.
///
/// kaldi-native-fbank 1.23 runs KissFFT in single precision, as Kaldi and torchaudio also
/// transform in `float`, while this crate uses a double-precision FFT. A single-precision
/// FFT adds an error of about 1e-7 of the frame's spectral norm to every bin. A mel bin far
/// below the loudest ones in its frame therefore has a log error that grows as
/// `sqrt(frame energy / bin energy)`. Measured on this clip: at most 1.3e-6 times that ratio,
/// and below 4e-5 for every bin within 60 dB of its frame's loudest bin.
fn assert_matches_kaldi(actual: &[f32], golden: &Golden, energy_column: Option<usize>) {
    let dim = golden.shape[1];
    assert_eq!(actual.len(), golden.values.len());

    for (t, (frame, expected_frame)) in actual
        .chunks(dim)
        .zip(golden.values.chunks(dim))
        .enumerate()
    {
        let mel_columns = || (0..dim).filter(|&c| Some(c) != energy_column);
        let frame_energy: f32 = mel_columns().map(|c| expected_frame[c].exp()).sum();

        for c in 0..dim {
            let (actual, expected) = (frame[c], expected_frame[c]);
            let tolerance = if Some(c) == energy_column {
                // The energy is summed in float32 before the FFT, as in Kaldi.
                1e-5 * expected.abs().max(1.0)
            } else {
                1e-4 + 5e-6 * (frame_energy / expected.exp()).sqrt()
            };
            assert!(
                (actual - expected).abs() <= tolerance,
                "frame {t}, column {c}: {actual} vs {expected} (tolerance {tolerance:e})"
            );
        }
    }
}

#[test]
fn kaldi_fbank_matches_kaldi_native_fbank() {
    let golden = read_npy("kaldi_fbank_80.npy");
    let samples = speech_samples();
    let fbank = KaldiFbank::new(KaldiFbankOptions::default()).unwrap();
    assert_eq!(golden.shape, vec![1 + (samples.len() - 400) / 160, 80]);

    assert_matches_kaldi(&fbank.compute(&samples), &golden, None);
}

#[test]
fn kaldi_fbank_reflected_edges_match() {
    let golden = read_npy("kaldi_fbank_80_reflected_edges.npy");
    let samples = &speech_samples()[..8000];
    let fbank = KaldiFbank::new(KaldiFbankOptions {
        snip_edges: false,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(golden.shape, vec![50, 80]);

    assert_matches_kaldi(&fbank.compute(samples), &golden, None);
}

#[test]
fn kaldi_fbank_energy_column_matches() {
    let golden = read_npy("kaldi_fbank_80_with_energy.npy");
    let samples = &speech_samples()[..8000];
    let fbank = KaldiFbank::new(KaldiFbankOptions {
        use_energy: true,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(golden.shape, vec![48, 81]);

    assert_matches_kaldi(&fbank.compute(samples), &golden, Some(0));
}

mod properties {
    use proptest::prelude::*;

    use voiceprint::features::fbank::{KaldiFbank, KaldiFbankOptions};
    use voiceprint::features::mel::{Ge2eMel, MelSpectrogram, MelSpectrogramOptions};
    use voiceprint::features::mfcc::{Mfcc, MfccOptions};

    fn signal(max_len: usize) -> impl Strategy<Value = Vec<f32>> {
        proptest::collection::vec(-1.0f32..=1.0, 0..max_len)
    }

    /// Counts the frames `t` whose span `t * hop .. t * hop + frame_len` fits in `len`.
    fn frames_that_fit(len: usize, frame_len: usize, hop: usize) -> usize {
        (0..).take_while(|t| t * hop + frame_len <= len).count()
    }

    proptest! {
        #[test]
        fn ge2e_mel_frames_are_finite_power(samples in signal(2000)) {
            let mel = Ge2eMel::new().compute(&samples);
            prop_assert_eq!(mel.len(), (1 + samples.len() / 160) * Ge2eMel::N_MELS);
            prop_assert!(mel.iter().all(|x| x.is_finite() && *x >= 0.0));
        }

        #[test]
        fn mel_frame_count_follows_centring(
            samples in signal(1000),
            n_fft in 1usize..600,
            hop_length in 1usize..300,
        ) {
            let options = MelSpectrogramOptions { n_fft, hop_length, n_mels: 8, ..Default::default() };
            let spectrogram = MelSpectrogram::new(&options).unwrap();
            let padded_len = samples.len() + 2 * (n_fft / 2);
            let expected_frames = frames_that_fit(padded_len, n_fft, hop_length);

            let mel = spectrogram.compute(&samples);
            prop_assert_eq!(spectrogram.frame_count(samples.len()), expected_frames);
            prop_assert_eq!(mel.len(), expected_frames * 8);
            prop_assert!(mel.iter().all(|x| x.is_finite() && *x >= 0.0));
        }

        #[test]
        fn kaldi_fbank_snipped_frames_are_finite(samples in signal(2000)) {
            let fbank = KaldiFbank::new(KaldiFbankOptions::default()).unwrap();
            let features = fbank.compute(&samples);
            prop_assert_eq!(features.len(), frames_that_fit(samples.len(), 400, 160) * 80);
            prop_assert!(features.iter().all(|x| x.is_finite() && *x >= f32::EPSILON.ln()));
        }

        #[test]
        fn kaldi_fbank_reflected_frames_are_finite(samples in signal(2000)) {
            let options = KaldiFbankOptions { snip_edges: false, use_energy: true, ..Default::default() };
            let features = KaldiFbank::new(options).unwrap().compute(&samples);
            // Frames are centred on t * 160 + 80, and Kaldi keeps those up to the end.
            prop_assert_eq!(features.len(), frames_that_fit(samples.len(), 80, 160) * 81);
            prop_assert!(features.iter().all(|x| x.is_finite()));
        }

        #[test]
        fn kaldi_power_fbank_is_non_negative(samples in signal(2000), dither in 0.0f32..2.0) {
            let options = KaldiFbankOptions { use_log_fbank: false, dither, ..Default::default() };
            let features = KaldiFbank::new(options).unwrap().compute(&samples);
            prop_assert!(features.iter().all(|x| x.is_finite() && *x >= 0.0));
        }

        #[test]
        fn mfcc_frames_are_finite(samples in signal(3000)) {
            let mfcc = Mfcc::new(MfccOptions::default()).unwrap().compute(&samples);
            prop_assert_eq!(mfcc.len(), (1 + samples.len() / 512) * 20);
            prop_assert!(mfcc.iter().all(|x| x.is_finite()));
        }
    }
}
