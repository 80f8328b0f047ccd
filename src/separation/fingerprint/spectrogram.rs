//! Log-power STFT of the 16 kHz signal, restricted to the fingerprint band.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

/// FFT length: 32 ms at 16 kHz, so one bin is 31.25 Hz wide.
pub(crate) const FFT_SIZE: usize = 512;

/// First bin of the band (312.5 Hz). Below about 300 Hz lie mains hum, handling noise and the
/// high-pass filters of phone microphones and telephone channels.
pub(crate) const BAND_FIRST_BIN: usize = 10;

/// One past the last bin of the band (3500 Hz). Audio that went through 8 kHz keeps nothing
/// above the 4 kHz Nyquist limit, and resampling filters roll off from about 3.6 kHz.
pub(crate) const BAND_END_BIN: usize = 112;

/// Bins in the band; every bin index in a peak is relative to [`BAND_FIRST_BIN`].
pub(crate) const BAND_BINS: usize = BAND_END_BIN - BAND_FIRST_BIN;

/// Power below this (in dB of squared FFT magnitude) counts as silence. A full-scale sine
/// reaches about +42 dB in its bin, and the rounding noise of 16-bit audio about -78 dB, so
/// only digital silence and near-silence lie below it.
pub(crate) const SILENCE_DB: f32 = -100.0;

/// Log power in dB, `frames` rows of [`BAND_BINS`] values.
pub(crate) struct Spectrogram {
    pub frames: usize,
    pub values: Vec<f32>,
}

impl Spectrogram {
    /// Computes the STFT with a periodic Hann window and no padding: frame `t` covers
    /// samples `t * hop .. t * hop + FFT_SIZE`, so input shorter than one window has no frames.
    ///
    /// Non-finite samples are read as zero.
    pub fn compute(samples: &[f32], hop: usize) -> Spectrogram {
        let frames = frame_count(samples.len(), hop);
        let window = hann_window();
        let fft: Arc<dyn Fft<f32>> = FftPlanner::new().plan_fft_forward(FFT_SIZE);
        let mut buffer = vec![Complex::new(0.0, 0.0); FFT_SIZE];
        let mut scratch = vec![Complex::new(0.0, 0.0); fft.get_inplace_scratch_len()];
        let mut values = Vec::with_capacity(frames * BAND_BINS);

        for frame in 0..frames {
            let start = frame * hop;
            let frame_samples = &samples[start..start + FFT_SIZE];
            for ((slot, &sample), &weight) in buffer.iter_mut().zip(frame_samples).zip(&window) {
                let sample = if sample.is_finite() { sample } else { 0.0 };
                *slot = Complex::new(sample * weight, 0.0);
            }

            fft.process_with_scratch(&mut buffer, &mut scratch);
            values.extend(buffer[BAND_FIRST_BIN..BAND_END_BIN].iter().map(|bin| power_db(bin.norm_sqr())));
        }

        Spectrogram { frames, values }
    }

    pub fn at(&self, frame: usize, bin: usize) -> f32 {
        self.values[frame * BAND_BINS + bin]
    }

    pub fn frame(&self, frame: usize) -> &[f32] {
        &self.values[frame * BAND_BINS..(frame + 1) * BAND_BINS]
    }
}

pub(crate) const fn frame_count(samples: usize, hop: usize) -> usize {
    if samples < FFT_SIZE {
        0
    } else {
        1 + (samples - FFT_SIZE) / hop
    }
}

fn hann_window() -> Vec<f32> {
    (0..FFT_SIZE)
        .map(|i| {
            let phase = 2.0 * std::f64::consts::PI * i as f64 / FFT_SIZE as f64;
            (0.5 - 0.5 * phase.cos()) as f32
        })
        .collect()
}

fn power_db(power: f32) -> f32 {
    // Floors at -120 dB so that silence gives a finite value below SILENCE_DB.
    10.0 * power.max(1e-12).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The band's log power by a direct DFT in f64, for one frame.
    fn naive_band_db(frame: &[f32]) -> Vec<f64> {
        (BAND_FIRST_BIN..BAND_END_BIN)
            .map(|bin| {
                let (mut re, mut im) = (0.0f64, 0.0f64);
                for (n, &x) in frame.iter().enumerate() {
                    let window = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / FFT_SIZE as f64).cos();
                    let angle = -2.0 * std::f64::consts::PI * (bin * n) as f64 / FFT_SIZE as f64;
                    re += f64::from(x) * window * angle.cos();
                    im += f64::from(x) * window * angle.sin();
                }
                10.0 * (re * re + im * im).max(1e-12).log10()
            })
            .collect()
    }

    #[test]
    fn band_power_matches_naive_dft() {
        // A deterministic mix of tones and a chirp-like term, so every bin carries power.
        let samples: Vec<f32> = (0..2_048)
            .map(|n| {
                let t = n as f32 / 16_000.0;
                0.3 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
                    + 0.2 * (2.0 * std::f32::consts::PI * (900.0 + 400_000.0 * t) * t).sin()
                    + 0.01 * ((n * 7919 % 1000) as f32 / 1000.0 - 0.5)
            })
            .collect();
        let hop = 128;
        let spectrogram = Spectrogram::compute(&samples, hop);
        assert_eq!(spectrogram.frames, frame_count(samples.len(), hop));

        for frame in [0, 5, spectrogram.frames - 1] {
            let expected = naive_band_db(&samples[frame * hop..frame * hop + FFT_SIZE]);
            for (bin, &want) in expected.iter().enumerate() {
                let got = f64::from(spectrogram.at(frame, bin));
                assert!((got - want).abs() < 0.01, "frame {frame}, bin {bin}: {got} dB, naive DFT {want} dB");
            }
        }
    }

    #[test]
    fn frames_need_one_whole_window() {
        assert_eq!(frame_count(FFT_SIZE - 1, 128), 0);
        assert_eq!(frame_count(FFT_SIZE, 128), 1);
        assert_eq!(frame_count(FFT_SIZE + 127, 128), 1);
        assert_eq!(frame_count(FFT_SIZE + 128, 128), 2);
    }
}
