//! The real-input FFT, window functions and centred short-time Fourier transform that every
//! feature in this module is built on.
//!
//! The FFT runs in `f64`. librosa 0.11 multiplies `float32` frames by a `float64` window, so
//! SciPy transforms them in double precision before librosa stores `complex64`, and this
//! module rounds the same way: power spectra come out as `f32`, computed from the spectrum
//! rounded to `f32`. Kaldi, kaldi-native-fbank 1.23 (KissFFT) and torchaudio transform in
//! single precision instead, so against them the results differ by their rounding error.

use std::f64::consts::PI;
use std::sync::Arc;

use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};

use super::FeatureError;

/// Window functions of librosa (through SciPy) and Kaldi.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WindowFunction {
    /// `scipy.signal.get_window("hann", n, fftbins=True)`, which librosa's `"hann"` uses:
    /// `0.5 - 0.5 cos(2πi / n)`, the first `n` points of an `n + 1`-point Hann window.
    PeriodicHann,
    /// Kaldi's `hanning`: the symmetric Hann window `0.5 - 0.5 cos(2πi / (n - 1))`.
    Hanning,
    /// Kaldi's `hamming`: `0.54 - 0.46 cos(2πi / (n - 1))`.
    Hamming,
    /// Kaldi's `povey`: the symmetric Hann window raised to the power 0.85, which is zero at
    /// both ends like Hann but flatter in the middle like Hamming.
    Povey,
    /// Kaldi's `rectangular`: all ones.
    Rectangular,
    /// Kaldi's `blackman`: `c - 0.5 cos(2πi / (n - 1)) + (0.5 - c) cos(4πi / (n - 1))`, with
    /// `c` = `coefficient` (Kaldi's `blackman_coeff`, 0.42 by default).
    Blackman { coefficient: f64 },
}

impl WindowFunction {
    /// Computes the `len` window coefficients.
    ///
    /// A window of one point is `[1.0]` for every function, as in SciPy. Kaldi's symmetric
    /// formulas would divide by zero there.
    pub fn coefficients(self, len: usize) -> Vec<f64> {
        if len <= 1 {
            return vec![1.0; len];
        }

        // Kaldi computes `a` in double precision and casts each coefficient to float.
        let a = 2.0 * PI / (len - 1) as f64;
        (0..len)
            .map(|i| {
                let i = i as f64;
                match self {
                    WindowFunction::PeriodicHann => periodic_hann_point(i, len),
                    WindowFunction::Hanning => 0.5 - 0.5 * (a * i).cos(),
                    WindowFunction::Hamming => 0.54 - 0.46 * (a * i).cos(),
                    WindowFunction::Povey => (0.5 - 0.5 * (a * i).cos()).powf(0.85),
                    WindowFunction::Rectangular => 1.0,
                    WindowFunction::Blackman { coefficient } => {
                        coefficient - 0.5 * (a * i).cos()
                            + (0.5 - coefficient) * (2.0 * a * i).cos()
                    }
                }
            })
            .collect()
    }
}

/// Computes one point of SciPy's periodic Hann window in SciPy's own arithmetic: `0.5 + 0.5 cos(x)`
/// where `x` steps through `numpy.linspace(-π, π, len + 1)`.
fn periodic_hann_point(i: f64, len: usize) -> f64 {
    let step = (PI - -PI) / len as f64;
    0.5 + 0.5 * (i * step + -PI).cos()
}

/// A forward FFT of real input, planned once and shared by any number of threads.
///
/// An even length `n` runs as one complex FFT of `n / 2` points over the even and odd
/// samples packed as real and imaginary parts, and the halves are separated afterwards. An
/// odd length runs as a complex FFT of `n` points.
pub struct RealFft {
    len: usize,
    plan: RealFftPlan,
}

enum RealFftPlan {
    HalfLength {
        fft: Arc<dyn Fft<f64>>,
        /// `exp(-2πik / n)` for `k` in `0..n / 2`.
        twiddles: Vec<Complex64>,
    },
    FullLength {
        fft: Arc<dyn Fft<f64>>,
    },
}

/// Working memory for [`RealFft::forward`]. Each thread keeps its own, so that transforming
/// a frame allocates nothing.
pub struct FftScratch {
    buffer: Vec<Complex64>,
    fft_scratch: Vec<Complex64>,
}

impl RealFft {
    /// Plans an FFT of `len` real samples.
    pub fn new(len: usize) -> Result<Self, FeatureError> {
        if len == 0 {
            return Err(FeatureError::invalid("FFT length", len, "at least 1"));
        }

        let mut planner = FftPlanner::new();
        let plan = if len.is_multiple_of(2) {
            let half = len / 2;
            let twiddles = (0..half)
                .map(|k| Complex64::from_polar(1.0, -2.0 * PI * k as f64 / len as f64))
                .collect();
            RealFftPlan::HalfLength {
                fft: planner.plan_fft_forward(half),
                twiddles,
            }
        } else {
            RealFftPlan::FullLength {
                fft: planner.plan_fft_forward(len),
            }
        };

        Ok(RealFft { len, plan })
    }

    /// Returns the number of real input samples.
    pub fn input_len(&self) -> usize {
        self.len
    }

    /// Returns the number of non-negative frequency bins, `len / 2 + 1`.
    pub fn spectrum_len(&self) -> usize {
        self.len / 2 + 1
    }

    /// Allocates the working memory that [`RealFft::forward`] needs.
    pub fn make_scratch(&self) -> FftScratch {
        let (fft, buffer_len) = match &self.plan {
            RealFftPlan::HalfLength { fft, .. } => (fft, self.len / 2),
            RealFftPlan::FullLength { fft } => (fft, self.len),
        };
        FftScratch {
            buffer: vec![Complex64::default(); buffer_len],
            fft_scratch: vec![Complex64::default(); fft.get_inplace_scratch_len()],
        }
    }

    /// Computes bins `0..=len / 2` of the DFT `X[k] = Σ x[j] exp(-2πi jk / len)`, unscaled.
    ///
    /// # Panics
    ///
    /// Panics if `input` is not [`input_len`](Self::input_len) long, if `spectrum` is not
    /// [`spectrum_len`](Self::spectrum_len) long, or if `scratch` was made by an FFT of
    /// another length.
    pub fn forward(&self, input: &[f64], spectrum: &mut [Complex64], scratch: &mut FftScratch) {
        assert_eq!(input.len(), self.len, "FFT input length");
        assert_eq!(spectrum.len(), self.spectrum_len(), "FFT output length");

        match &self.plan {
            RealFftPlan::HalfLength { fft, twiddles } => {
                let packed = &mut scratch.buffer[..];
                for (z, pair) in packed.iter_mut().zip(input.chunks_exact(2)) {
                    *z = Complex64::new(pair[0], pair[1]);
                }
                fft.process_with_scratch(packed, &mut scratch.fft_scratch);
                unpack_half_length(packed, twiddles, spectrum);
            }
            RealFftPlan::FullLength { fft } => {
                let buffer = &mut scratch.buffer[..];
                for (z, &x) in buffer.iter_mut().zip(input) {
                    *z = Complex64::new(x, 0.0);
                }
                fft.process_with_scratch(buffer, &mut scratch.fft_scratch);
                spectrum.copy_from_slice(&buffer[..spectrum.len()]);
            }
        }
    }
}

/// Separates the spectra of the even samples `E` and the odd samples `O` from `Z`, the FFT
/// of `z[m] = x[2m] + i x[2m + 1]`, and combines them into `X[k] = E[k] + w^k O[k]`, where
/// `E[k] = (Z[k] + conj Z[m - k]) / 2` and `O[k] = (Z[k] - conj Z[m - k]) / 2i`.
fn unpack_half_length(packed: &[Complex64], twiddles: &[Complex64], spectrum: &mut [Complex64]) {
    let half = packed.len();
    let z0 = packed[0];
    spectrum[0] = Complex64::new(z0.re + z0.im, 0.0);
    spectrum[half] = Complex64::new(z0.re - z0.im, 0.0);

    let minus_half_i = Complex64::new(0.0, -0.5);
    for k in 1..half {
        let a = packed[k];
        let b = packed[half - k].conj();
        let even = (a + b) * 0.5;
        let odd = (a - b) * minus_half_i;
        spectrum[k] = even + twiddles[k] * odd;
    }
}

/// Writes `|X[k]|²` of each bin as `f32`. Like both references, it rounds the real and
/// imaginary parts to `f32` first and squares in single precision.
pub fn power_spectrum(spectrum: &[Complex64], power: &mut [f32]) {
    for (p, x) in power.iter_mut().zip(spectrum) {
        let (re, im) = (x.re as f32, x.im as f32);
        *p = re * re + im * im;
    }
}

/// A short-time Fourier transform with librosa's centring: `librosa.stft(center=True,
/// pad_mode="constant")`. The signal is padded with `n_fft / 2` zeros on each side, and
/// frame `t` covers padded samples `t * hop_length .. t * hop_length + n_fft`.
pub struct Stft {
    fft: RealFft,
    /// `n_fft` coefficients: the window, padded with zeros on both sides to `n_fft` as
    /// `librosa.util.pad_center` does.
    window: Vec<f64>,
    hop_length: usize,
}

impl Stft {
    /// Plans a centred STFT.
    ///
    /// `n_fft` is at least 1, `hop_length` at least 1, and `window` has 1 to `n_fft`
    /// coefficients. A shorter window is centred in the frame, as librosa does when
    /// `win_length < n_fft`.
    pub fn new(n_fft: usize, hop_length: usize, window: &[f64]) -> Result<Self, FeatureError> {
        if hop_length == 0 {
            return Err(FeatureError::invalid(
                "hop length",
                hop_length,
                "at least 1 sample",
            ));
        }
        if window.is_empty() || window.len() > n_fft {
            return Err(FeatureError::invalid(
                "window length",
                window.len(),
                format!("1 to n_fft = {n_fft}"),
            ));
        }

        let fft = RealFft::new(n_fft)?;
        let left = (n_fft - window.len()) / 2;
        let mut padded_window = vec![0.0; n_fft];
        padded_window[left..left + window.len()].copy_from_slice(window);

        Ok(Stft {
            fft,
            window: padded_window,
            hop_length,
        })
    }

    pub fn n_fft(&self) -> usize {
        self.fft.input_len()
    }

    pub fn hop_length(&self) -> usize {
        self.hop_length
    }

    /// Returns the number of frequency bins per frame, `n_fft / 2 + 1`.
    pub fn n_bins(&self) -> usize {
        self.fft.spectrum_len()
    }

    /// Returns the number of frames librosa returns for `n_samples` samples: `1 + n_samples /
    /// hop_length` for an even `n_fft`. An odd `n_fft` is padded to `n_samples + n_fft - 1`,
    /// so an empty signal gets no frame there.
    pub fn frame_count(&self, n_samples: usize) -> usize {
        let n_fft = self.n_fft();
        let padded_len = n_samples + 2 * (n_fft / 2);
        if padded_len < n_fft {
            return 0;
        }
        1 + (padded_len - n_fft) / self.hop_length
    }

    /// Calls `visit(frame_index, power)` with the power spectrum of each frame in order.
    ///
    /// The working memory is allocated once per call, so frames cost no allocation, and
    /// one `Stft` can serve several threads at once.
    pub fn for_each_power_frame(&self, samples: &[f32], mut visit: impl FnMut(usize, &[f32])) {
        let mut frame = vec![0.0; self.n_fft()];
        let mut spectrum = vec![Complex64::default(); self.n_bins()];
        let mut power = vec![0.0; self.n_bins()];
        let mut scratch = self.fft.make_scratch();

        for frame_index in 0..self.frame_count(samples.len()) {
            self.window_frame(samples, frame_index, &mut frame);
            self.fft.forward(&frame, &mut spectrum, &mut scratch);
            power_spectrum(&spectrum, &mut power);
            visit(frame_index, &power);
        }
    }

    /// Writes frame `frame_index` of the zero-padded signal, multiplied by the window.
    fn window_frame(&self, samples: &[f32], frame_index: usize, frame: &mut [f64]) {
        let n_fft = self.n_fft() as isize;

        // Position of the frame's first point in `samples`. It is negative inside the left
        // padding.
        let start = (frame_index * self.hop_length) as isize - n_fft / 2;
        let first = (-start).clamp(0, n_fft);
        let end = (samples.len() as isize - start).clamp(0, n_fft);

        if end <= first {
            frame.fill(0.0);
            return;
        }
        let (first, end) = (first as usize, end as usize);
        frame[..first].fill(0.0);
        frame[end..].fill(0.0);

        let source_start = (start + first as isize) as usize;
        let source = &samples[source_start..source_start + (end - first)];
        for ((out, &x), &w) in frame[first..end]
            .iter_mut()
            .zip(source)
            .zip(&self.window[first..end])
        {
            *out = f64::from(x) * w;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Computes the DFT by its definition, in O(n²), as an independent reference for the FFT.
    fn naive_dft(input: &[f64]) -> Vec<Complex64> {
        let n = input.len();
        (0..=n / 2)
            .map(|k| {
                input
                    .iter()
                    .enumerate()
                    .map(|(i, &x)| {
                        // Reduce k * i modulo n first so that the angle stays accurate.
                        let angle = -2.0 * PI * ((k * i) % n) as f64 / n as f64;
                        Complex64::from_polar(x, angle)
                    })
                    .sum()
            })
            .collect()
    }

    /// Builds a deterministic test signal: two tones, a square wave and a ramp.
    fn test_signal(len: usize) -> Vec<f64> {
        (0..len)
            .map(|i| {
                let t = i as f64;
                0.6 * (0.031 * t).sin()
                    + 0.3 * (1.7 * t + 0.4).cos()
                    + if i % 7 < 3 { 0.05 } else { -0.02 }
                    + 1e-4 * t
            })
            .collect()
    }

    fn max_relative_error(actual: &[Complex64], expected: &[Complex64]) -> f64 {
        let scale = expected
            .iter()
            .map(|x| x.norm())
            .fold(0.0, f64::max)
            .max(f64::MIN_POSITIVE);
        actual
            .iter()
            .zip(expected)
            .map(|(a, e)| (a - e).norm() / scale)
            .fold(0.0, f64::max)
    }

    #[test]
    fn real_fft_matches_naive_dft() {
        for len in [1, 2, 3, 4, 7, 16, 60, 199, 400, 401, 512, 2048] {
            let fft = RealFft::new(len).unwrap();
            let input = test_signal(len);
            let mut spectrum = vec![Complex64::default(); fft.spectrum_len()];
            fft.forward(&input, &mut spectrum, &mut fft.make_scratch());

            let error = max_relative_error(&spectrum, &naive_dft(&input));
            assert!(error < 1e-12, "length {len}: relative error {error:e}");
        }
    }

    #[test]
    fn real_fft_scratch_is_reusable() {
        let fft = RealFft::new(400).unwrap();
        let mut scratch = fft.make_scratch();
        let mut first = vec![Complex64::default(); fft.spectrum_len()];
        let mut second = first.clone();

        fft.forward(&test_signal(400), &mut first, &mut scratch);
        fft.forward(&vec![0.25; 400], &mut second, &mut scratch);
        fft.forward(&test_signal(400), &mut second, &mut scratch);

        assert_eq!(first, second);
    }

    #[test]
    fn power_spectrum_matches_naive_dft() {
        let len = 400;
        let input = test_signal(len);
        let fft = RealFft::new(len).unwrap();
        let mut spectrum = vec![Complex64::default(); fft.spectrum_len()];
        fft.forward(&input, &mut spectrum, &mut fft.make_scratch());
        let mut power = vec![0.0; fft.spectrum_len()];
        power_spectrum(&spectrum, &mut power);

        let expected: Vec<f64> = naive_dft(&input).iter().map(|x| x.norm_sqr()).collect();
        let peak = expected.iter().cloned().fold(0.0, f64::max);
        for (k, (&p, &e)) in power.iter().zip(&expected).enumerate() {
            assert!(
                (f64::from(p) - e).abs() <= 1e-5 * e.max(1e-3 * peak),
                "bin {k}: {p} vs {e}"
            );
        }
    }

    #[test]
    fn fft_zero_length_is_rejected() {
        assert!(matches!(
            RealFft::new(0),
            Err(FeatureError::InvalidOption { .. })
        ));
    }

    #[test]
    fn periodic_hann_matches_scipy() {
        // scipy.signal.get_window("hann", 8, fftbins=True)
        let expected = [
            0.0,
            0.146_446_609_406_726_2,
            0.5,
            0.853_553_390_593_273_8,
            1.0,
            0.853_553_390_593_273_8,
            0.5,
            0.146_446_609_406_726_2,
        ];
        let window = WindowFunction::PeriodicHann.coefficients(8);
        for (i, (w, e)) in window.iter().zip(expected).enumerate() {
            assert!((w - e).abs() < 1e-15, "point {i}: {w} vs {e}");
        }
    }

    #[test]
    fn kaldi_windows_are_symmetric_with_kaldi_ends() {
        let len = 400;
        for (function, end_value) in [
            (WindowFunction::Hanning, 0.0),
            (WindowFunction::Povey, 0.0),
            (WindowFunction::Hamming, 0.08),
            (WindowFunction::Rectangular, 1.0),
            (WindowFunction::Blackman { coefficient: 0.42 }, 0.0),
        ] {
            let window = function.coefficients(len);
            assert!(
                (window[0] - end_value).abs() < 1e-12,
                "{function:?} starts at {}",
                window[0]
            );
            for i in 0..len {
                assert!(
                    (window[i] - window[len - 1 - i]).abs() < 1e-12,
                    "{function:?} asymmetric at {i}"
                );
            }
        }
    }

    #[test]
    fn povey_is_hanning_to_the_power_085() {
        let hanning = WindowFunction::Hanning.coefficients(400);
        let povey = WindowFunction::Povey.coefficients(400);
        for (h, p) in hanning.iter().zip(&povey) {
            assert!((h.powf(0.85) - p).abs() < 1e-15);
        }
    }

    #[test]
    fn one_point_windows_are_one() {
        for function in [
            WindowFunction::PeriodicHann,
            WindowFunction::Povey,
            WindowFunction::Hamming,
        ] {
            assert_eq!(function.coefficients(1), vec![1.0]);
        }
    }

    #[test]
    fn stft_frame_count_follows_librosa() {
        let window = WindowFunction::PeriodicHann.coefficients(400);
        let stft = Stft::new(400, 160, &window).unwrap();
        for (n_samples, frames) in [(0, 1), (1, 1), (159, 1), (160, 2), (399, 3), (16_000, 101)] {
            assert_eq!(stft.frame_count(n_samples), frames, "{n_samples} samples");
        }

        let odd = Stft::new(5, 2, &WindowFunction::PeriodicHann.coefficients(5)).unwrap();
        assert_eq!(odd.frame_count(0), 0);
        assert_eq!(odd.frame_count(1), 1);
    }

    #[test]
    fn stft_frames_match_naive_dft_of_padded_signal() {
        let (n_fft, hop) = (64, 16);
        let window = WindowFunction::PeriodicHann.coefficients(n_fft);
        let stft = Stft::new(n_fft, hop, &window).unwrap();
        let samples: Vec<f32> = test_signal(150).iter().map(|&x| x as f32).collect();

        let mut padded = vec![0.0; n_fft / 2];
        padded.extend(samples.iter().map(|&x| f64::from(x)));
        padded.extend(vec![0.0; n_fft / 2]);

        let mut visited = 0;
        stft.for_each_power_frame(&samples, |t, power| {
            let frame: Vec<f64> = (0..n_fft)
                .map(|i| padded[t * hop + i] * window[i])
                .collect();
            let expected: Vec<f64> = naive_dft(&frame).iter().map(|x| x.norm_sqr()).collect();
            let peak = expected.iter().cloned().fold(0.0, f64::max);
            for (k, (&p, &e)) in power.iter().zip(&expected).enumerate() {
                assert!(
                    (f64::from(p) - e).abs() <= 1e-5 * e.max(1e-3 * peak),
                    "frame {t} bin {k}: {p} vs {e}"
                );
            }
            visited += 1;
        });
        assert_eq!(visited, stft.frame_count(samples.len()));
    }

    #[test]
    fn stft_short_window_is_centred() {
        let stft = Stft::new(8, 4, &[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(stft.window, vec![0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 0.0]);
    }

    #[test]
    fn stft_invalid_options_are_rejected() {
        assert!(Stft::new(400, 0, &[1.0; 400]).is_err());
        assert!(Stft::new(400, 160, &[]).is_err());
        assert!(Stft::new(400, 160, &[1.0; 401]).is_err());
    }

    #[test]
    fn stft_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Stft>();
        assert_send_sync::<RealFft>();
    }
}
