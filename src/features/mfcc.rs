//! librosa's MFCC: `librosa.feature.mfcc` of librosa 0.11, which takes the DCT-II (orthonormal)
//! of `power_to_db` of the Slaney mel spectrogram.

use std::f64::consts::PI;

use super::mel::{MelSpectrogram, MelSpectrogramOptions};
use super::FeatureError;

/// Options of [`Mfcc`], with librosa's names and defaults except the sample rate.
#[derive(Debug, Clone, PartialEq)]
pub struct MfccOptions {
    /// Sample rate of the input in hertz: 16000, the rate of every model in this crate, in
    /// place of librosa's 22,050.
    pub sample_rate: u32,
    /// Coefficients per frame, 1 to `n_mels` (20).
    pub n_mfcc: usize,
    /// Mel bands of the underlying spectrogram (128).
    pub n_mels: usize,
    /// FFT and window length in samples (2048).
    pub n_fft: usize,
    /// Samples between the starts of consecutive frames (512).
    pub hop_length: usize,
    /// Lowest mel frequency in hertz (0).
    pub fmin: f64,
    /// Highest mel frequency in hertz; `None` is the Nyquist frequency.
    pub fmax: Option<f64>,
    /// Power below which the spectrum is clipped before the log (`amin`, 1e-10).
    pub amin: f32,
    /// Power that maps to 0 dB (`ref`, 1.0).
    pub reference_power: f32,
    /// Dynamic range kept below the loudest value of the whole signal, in decibels
    /// (`top_db`, 80). `None` keeps everything.
    pub top_db: Option<f32>,
    /// Sinusoidal liftering parameter; 0 means none (`lifter`, 0).
    pub lifter: f32,
}

impl Default for MfccOptions {
    fn default() -> Self {
        MfccOptions {
            sample_rate: crate::audio::MODEL_SAMPLE_RATE,
            n_mfcc: 20,
            n_mels: 128,
            n_fft: 2048,
            hop_length: 512,
            fmin: 0.0,
            fmax: None,
            amin: 1e-10,
            reference_power: 1.0,
            top_db: Some(80.0),
            lifter: 0.0,
        }
    }
}

/// librosa-compatible MFCC, built once and shared by any number of threads.
pub struct Mfcc {
    options: MfccOptions,
    spectrogram: MelSpectrogram,
    /// Row-major `n_mfcc × n_mels` orthonormal DCT-II basis.
    dct_basis: Vec<f64>,
    /// One factor per coefficient, when liftering is on.
    lifter_weights: Option<Vec<f32>>,
}

impl Mfcc {
    pub fn new(options: MfccOptions) -> Result<Self, FeatureError> {
        validate_options(&options)?;
        let spectrogram = MelSpectrogram::new(&MelSpectrogramOptions {
            sample_rate: options.sample_rate,
            n_fft: options.n_fft,
            hop_length: options.hop_length,
            n_mels: options.n_mels,
            fmin: options.fmin,
            fmax: options.fmax,
        })?;
        let dct_basis = orthonormal_dct_basis(options.n_mfcc, options.n_mels);
        let lifter_weights =
            (options.lifter > 0.0).then(|| lifter_weights(options.n_mfcc, options.lifter));

        Ok(Mfcc {
            options,
            spectrogram,
            dct_basis,
            lifter_weights,
        })
    }

    pub fn options(&self) -> &MfccOptions {
        &self.options
    }

    /// Returns the number of frames for `n_samples` samples, `1 + n_samples / hop_length`
    /// for an even `n_fft`.
    pub fn frame_count(&self, n_samples: usize) -> usize {
        self.spectrogram.frame_count(n_samples)
    }

    /// Computes `frame_count(samples.len())` frames of `n_mfcc` coefficients, frame-major
    /// (the transpose of librosa's layout).
    ///
    /// With `top_db` set, the floor depends on the loudest mel value of the whole signal, so
    /// a frame's coefficients can change when other frames change, exactly as in librosa.
    pub fn compute(&self, samples: &[f32]) -> Vec<f32> {
        let n_mels = self.options.n_mels;
        let n_mfcc = self.options.n_mfcc;

        let mut decibels = self.spectrogram.compute(samples);
        self.power_to_db(&mut decibels);

        let mut coefficients = vec![0.0; decibels.len() / n_mels * n_mfcc];
        for (frame, output) in decibels
            .chunks_exact(n_mels)
            .zip(coefficients.chunks_exact_mut(n_mfcc))
        {
            self.transform_frame(frame, output);
        }
        coefficients
    }

    /// Applies `librosa.power_to_db` in place, in `float32` as librosa computes it for `float32`
    /// input.
    fn power_to_db(&self, mel: &mut [f32]) {
        let amin = self.options.amin;
        let reference_db = 10.0 * self.options.reference_power.abs().max(amin).log10();
        for value in mel.iter_mut() {
            *value = 10.0 * value.max(amin).log10() - reference_db;
        }

        if let Some(top_db) = self.options.top_db {
            let Some(loudest) = mel.iter().copied().reduce(f32::max) else {
                return;
            };
            let floor = loudest - top_db;
            mel.iter_mut().for_each(|value| *value = value.max(floor));
        }
    }

    fn transform_frame(&self, decibels: &[f32], output: &mut [f32]) {
        let n_mels = decibels.len();
        for (k, out) in output.iter_mut().enumerate() {
            let basis = &self.dct_basis[k * n_mels..(k + 1) * n_mels];
            let sum: f64 = basis
                .iter()
                .zip(decibels)
                .map(|(b, &x)| b * f64::from(x))
                .sum();
            *out = sum as f32;
        }
        if let Some(weights) = &self.lifter_weights {
            output.iter_mut().zip(weights).for_each(|(c, w)| *c *= w);
        }
    }
}

fn validate_options(options: &MfccOptions) -> Result<(), FeatureError> {
    if options.n_mfcc == 0 || options.n_mfcc > options.n_mels {
        return Err(FeatureError::invalid(
            "n_mfcc",
            options.n_mfcc,
            format!("1 to n_mels = {}", options.n_mels),
        ));
    }
    if !(options.amin.is_finite() && options.amin > 0.0) {
        return Err(FeatureError::invalid(
            "amin",
            options.amin,
            "a positive power",
        ));
    }
    if !options.reference_power.is_finite() {
        return Err(FeatureError::invalid(
            "reference power",
            options.reference_power,
            "a finite power",
        ));
    }
    if let Some(top_db) = options.top_db {
        if !(top_db.is_finite() && top_db >= 0.0) {
            return Err(FeatureError::invalid("top_db", top_db, "at least 0 dB"));
        }
    }
    if !(options.lifter.is_finite() && options.lifter >= 0.0) {
        return Err(FeatureError::invalid(
            "lifter",
            options.lifter,
            "at least 0",
        ));
    }
    Ok(())
}

/// Computes the first `n_mfcc` rows of the orthonormal DCT-II of size `n`, as `scipy.fft.dct(type=2,
/// norm="ortho")` defines it: `sqrt(1/n)` for row 0 and `sqrt(2/n) cos(πk(2i + 1) / 2n)`
/// for row `k`.
fn orthonormal_dct_basis(n_mfcc: usize, n: usize) -> Vec<f64> {
    let mut basis = Vec::with_capacity(n_mfcc * n);
    for k in 0..n_mfcc {
        let scale = if k == 0 {
            (1.0 / n as f64).sqrt()
        } else {
            (2.0 / n as f64).sqrt()
        };
        for i in 0..n {
            basis.push(scale * (PI * k as f64 * (2 * i + 1) as f64 / (2 * n) as f64).cos());
        }
    }
    basis
}

/// Computes librosa's liftering factors `1 + (lifter / 2) sin(π(k + 1) / lifter)` for coefficient
/// `k`.
fn lifter_weights(n_mfcc: usize, lifter: f32) -> Vec<f32> {
    (1..=n_mfcc)
        .map(|k| {
            let sine = (std::f32::consts::PI * k as f32 / lifter).sin();
            1.0 + (lifter / 2.0) * sine
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dct_basis_is_orthonormal() {
        let n = 16;
        let basis = orthonormal_dct_basis(n, n);
        for a in 0..n {
            for b in 0..n {
                let dot: f64 = (0..n).map(|i| basis[a * n + i] * basis[b * n + i]).sum();
                let expected = if a == b { 1.0 } else { 0.0 };
                assert!((dot - expected).abs() < 1e-12, "rows {a} and {b}: {dot}");
            }
        }
    }

    #[test]
    fn frame_count_follows_librosa() {
        let mfcc = Mfcc::new(MfccOptions::default()).unwrap();
        for n_samples in [0, 1, 511, 512, 2047, 16_000] {
            assert_eq!(
                mfcc.frame_count(n_samples),
                1 + n_samples / 512,
                "{n_samples} samples"
            );
            assert_eq!(
                mfcc.compute(&vec![0.05; n_samples]).len(),
                (1 + n_samples / 512) * 20
            );
        }
    }

    #[test]
    fn silence_gives_constant_c0() {
        // Every mel value is 10 log10(amin) = -100 dB, so only c0 is non-zero: -100 sqrt(128).
        let coefficients = Mfcc::new(MfccOptions::default())
            .unwrap()
            .compute(&[0.0; 4000]);
        for frame in coefficients.chunks(20) {
            assert!(
                (frame[0] - (-100.0 * 128f32.sqrt())).abs() < 1e-3,
                "c0 = {}",
                frame[0]
            );
            assert!(frame[1..].iter().all(|c| c.abs() < 1e-3), "{frame:?}");
        }
    }

    #[test]
    fn top_db_floors_relative_to_loudest_value() {
        let mfcc = Mfcc::new(MfccOptions::default()).unwrap();
        let mut mel = vec![1.0, 1e-3, 1e-12, 100.0];
        mfcc.power_to_db(&mut mel);

        // 1e-12 is below amin (-100 dB) and then below the floor of 20 - 80 dB.
        for (actual, expected) in mel.iter().zip([0.0, -30.0, -60.0, 20.0]) {
            assert!(
                (actual - expected).abs() < 1e-5,
                "{actual} dB vs {expected} dB"
            );
        }
    }

    #[test]
    fn lifter_scales_coefficients() {
        let samples: Vec<f32> = (0..4000).map(|i| (i as f32 * 0.07).sin() * 0.2).collect();
        let plain = Mfcc::new(MfccOptions::default()).unwrap().compute(&samples);
        let liftered = Mfcc::new(MfccOptions {
            lifter: 22.0,
            ..Default::default()
        })
        .unwrap()
        .compute(&samples);
        let weights = lifter_weights(20, 22.0);
        for (i, (p, l)) in plain.iter().zip(&liftered).enumerate() {
            assert_eq!(p * weights[i % 20], *l);
        }
    }

    #[test]
    fn invalid_options_are_rejected() {
        let invalid = [
            MfccOptions {
                n_mfcc: 0,
                ..Default::default()
            },
            MfccOptions {
                n_mfcc: 129,
                ..Default::default()
            },
            MfccOptions {
                amin: 0.0,
                ..Default::default()
            },
            MfccOptions {
                top_db: Some(-1.0),
                ..Default::default()
            },
            MfccOptions {
                lifter: -1.0,
                ..Default::default()
            },
            MfccOptions {
                hop_length: 0,
                ..Default::default()
            },
            MfccOptions {
                n_fft: 0,
                ..Default::default()
            },
        ];
        for options in invalid {
            assert!(
                Mfcc::new(options.clone()).is_err(),
                "{options:?} was accepted"
            );
        }
    }
}
