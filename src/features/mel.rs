//! Mel filterbanks and librosa's mel spectrogram, including the GE2E front end.
//!
//! The Slaney filterbank and the spectrogram follow librosa 0.11: `librosa.filters.mel`
//! with `htk=False, norm="slaney"` and `librosa.feature.melspectrogram` with a periodic Hann
//! window, centre padding with zeros and power 2.

use super::stft::{Stft, WindowFunction};
use super::FeatureError;

/// A mel filterbank stored as one run of non-zero weights per mel bin.
#[derive(Debug, Clone, PartialEq)]
pub struct MelFilterbank {
    n_fft_bins: usize,
    bins: Vec<MelBin>,
}

#[derive(Debug, Clone, PartialEq)]
struct MelBin {
    /// The FFT bin that `weights[0]` applies to.
    first_fft_bin: usize,
    weights: Vec<f32>,
}

impl MelFilterbank {
    /// Builds the filterbank from dense rows of `n_fft_bins` weights each, keeping only the
    /// span from the first to the last non-zero weight of each row.
    ///
    /// # Panics
    ///
    /// Panics if a row is not `n_fft_bins` long.
    pub fn from_dense_rows(rows: &[Vec<f32>], n_fft_bins: usize) -> Self {
        let bins = rows
            .iter()
            .map(|row| {
                assert_eq!(row.len(), n_fft_bins, "mel filterbank row length");
                let first = row.iter().position(|&w| w != 0.0).unwrap_or(0);
                let end = row
                    .iter()
                    .rposition(|&w| w != 0.0)
                    .map_or(first, |last| last + 1);
                MelBin {
                    first_fft_bin: first,
                    weights: row[first..end].to_vec(),
                }
            })
            .collect();
        MelFilterbank { n_fft_bins, bins }
    }

    /// Builds librosa's Slaney filterbank: `librosa.filters.mel(sr, n_fft, n_mels, fmin,
    /// fmax, htk=False, norm="slaney")`.
    ///
    /// Valid ranges: `sample_rate` > 0, `n_fft` ≥ 1, `n_mels` ≥ 1 and `0 ≤ fmin < fmax`, all
    /// finite. As in librosa, `fmax` may exceed the Nyquist frequency, and a mel bin that
    /// falls between two FFT bins is kept with all-zero weights and logged as a warning.
    pub fn slaney(
        sample_rate: f64,
        n_fft: usize,
        n_mels: usize,
        fmin: f64,
        fmax: f64,
    ) -> Result<Self, FeatureError> {
        validate_slaney_options(sample_rate, n_fft, n_mels, fmin, fmax)?;

        let n_fft_bins = n_fft / 2 + 1;
        let fft_frequencies = fft_frequencies(sample_rate, n_fft);
        let mel_edges = slaney_mel_frequencies(n_mels + 2, fmin, fmax);

        let rows: Vec<Vec<f32>> = (0..n_mels)
            .map(|m| slaney_row(&fft_frequencies, &mel_edges[m..m + 3]))
            .collect();
        warn_about_empty_rows(&rows, &mel_edges, n_fft);
        Ok(MelFilterbank::from_dense_rows(&rows, n_fft_bins))
    }

    /// Returns the number of mel bins (rows).
    pub fn n_mels(&self) -> usize {
        self.bins.len()
    }

    /// Returns the number of FFT bins each row spans, `n_fft / 2 + 1`.
    pub fn n_fft_bins(&self) -> usize {
        self.n_fft_bins
    }

    /// Returns the weights as a dense, row-major `n_mels × n_fft_bins` matrix.
    pub fn to_dense(&self) -> Vec<f32> {
        let mut dense = vec![0.0; self.n_mels() * self.n_fft_bins];
        for (row, bin) in dense.chunks_exact_mut(self.n_fft_bins).zip(&self.bins) {
            row[bin.first_fft_bin..bin.first_fft_bin + bin.weights.len()]
                .copy_from_slice(&bin.weights);
        }
        dense
    }

    /// Writes the weighted sum of `power` for each mel bin into `mel`, accumulating in `f32`
    /// from the lowest FFT bin up, as kaldi-native-fbank does.
    ///
    /// # Panics
    ///
    /// Panics if `power` is not `n_fft_bins` long or `mel` is not `n_mels` long.
    pub fn apply(&self, power: &[f32], mel: &mut [f32]) {
        assert_eq!(power.len(), self.n_fft_bins, "power spectrum length");
        assert_eq!(mel.len(), self.n_mels(), "mel output length");

        for (out, bin) in mel.iter_mut().zip(&self.bins) {
            let span = &power[bin.first_fft_bin..bin.first_fft_bin + bin.weights.len()];
            *out = span.iter().zip(&bin.weights).map(|(p, w)| p * w).sum();
        }
    }
}

/// Logs the mel bins that cover no FFT bin, with librosa's exception for a bin whose lower
/// edge is 0 Hz.
fn warn_about_empty_rows(rows: &[Vec<f32>], mel_edges: &[f64], n_fft: usize) {
    for (bin, row) in rows.iter().enumerate() {
        if mel_edges[bin] != 0.0 && row.iter().all(|&w| w == 0.0) {
            tracing::warn!(
                bin,
                n_mels = rows.len(),
                n_fft,
                "empty mel filter: this mel bin covers no FFT bin and will always be 0; \
                 use more FFT points or fewer mel bins"
            );
        }
    }
}

fn validate_slaney_options(
    sample_rate: f64,
    n_fft: usize,
    n_mels: usize,
    fmin: f64,
    fmax: f64,
) -> Result<(), FeatureError> {
    if !(sample_rate.is_finite() && sample_rate > 0.0) {
        return Err(FeatureError::invalid(
            "sample rate",
            sample_rate,
            "a positive number of hertz",
        ));
    }
    if n_fft == 0 {
        return Err(FeatureError::invalid("n_fft", n_fft, "at least 1"));
    }
    if n_mels == 0 {
        return Err(FeatureError::invalid(
            "number of mel bins",
            n_mels,
            "at least 1",
        ));
    }
    if !(fmin.is_finite() && fmin >= 0.0) {
        return Err(FeatureError::invalid(
            "fmin",
            fmin,
            "a frequency of at least 0 Hz",
        ));
    }
    if !(fmax.is_finite() && fmax > fmin) {
        return Err(FeatureError::invalid(
            "fmax",
            fmax,
            format!("a frequency above fmin = {fmin} Hz"),
        ));
    }
    Ok(())
}

/// Computes one row of librosa's Slaney filterbank: the triangle over `edges = [left, centre, right]`
/// (in hertz) at each FFT bin, scaled to unit area.
///
/// librosa stores the triangle in a `float32` array and then multiplies it in place by the
/// `float64` area factor, so the triangle is rounded to `f32` before the scaling and again
/// after it. This reproduces both roundings.
fn slaney_row(fft_frequencies: &[f64], edges: &[f64]) -> Vec<f32> {
    let (left, centre, right) = (edges[0], edges[1], edges[2]);
    let lower_width = centre - left;
    let upper_width = right - centre;
    let area_factor = 2.0 / (right - left);

    fft_frequencies
        .iter()
        .map(|&f| {
            let rising = -(left - f) / lower_width;
            let falling = (right - f) / upper_width;
            let triangle = rising.min(falling).max(0.0) as f32;
            (f64::from(triangle) * area_factor) as f32
        })
        .collect()
}

/// Computes `numpy.fft.rfftfreq(n_fft, 1 / sample_rate)` in NumPy's arithmetic.
fn fft_frequencies(sample_rate: f64, n_fft: usize) -> Vec<f64> {
    let bin_width = 1.0 / (n_fft as f64 * (1.0 / sample_rate));
    (0..n_fft / 2 + 1).map(|k| k as f64 * bin_width).collect()
}

/// Computes `librosa.mel_frequencies(n, fmin, fmax, htk=False)`: `n` frequencies evenly spaced on the
/// Slaney mel scale, from `fmin` to `fmax` inclusive.
fn slaney_mel_frequencies(n: usize, fmin: f64, fmax: f64) -> Vec<f64> {
    let min_mel = hz_to_slaney_mel(fmin);
    let max_mel = hz_to_slaney_mel(fmax);

    // numpy.linspace: start + i * step, with the last point set to the stop value.
    let step = (max_mel - min_mel) / (n - 1) as f64;
    (0..n)
        .map(|i| {
            let mel = if i == n - 1 {
                max_mel
            } else {
                i as f64 * step + min_mel
            };
            slaney_mel_to_hz(mel)
        })
        .collect()
}

/// Frequency of 1000 Hz, where the Slaney mel scale turns from linear to logarithmic.
const SLANEY_MIN_LOG_HZ: f64 = 1000.0;
/// Hertz per mel in the linear part of the Slaney scale.
const SLANEY_HZ_PER_MEL: f64 = 200.0 / 3.0;

/// Returns the mels per natural-log step in the logarithmic part: `ln(6.4) / 27`, as librosa computes it.
fn slaney_log_step() -> f64 {
    6.4_f64.ln() / 27.0
}

/// Converts `hz` to the Slaney mel scale: linear below 1000 Hz (15 mels), logarithmic above, as
/// `librosa.hz_to_mel(hz, htk=False)` computes it.
pub fn hz_to_slaney_mel(hz: f64) -> f64 {
    let min_log_mel = SLANEY_MIN_LOG_HZ / SLANEY_HZ_PER_MEL;
    if hz >= SLANEY_MIN_LOG_HZ {
        min_log_mel + (hz / SLANEY_MIN_LOG_HZ).ln() / slaney_log_step()
    } else {
        hz / SLANEY_HZ_PER_MEL
    }
}

/// Converts a Slaney mel value back to hertz, the inverse of [`hz_to_slaney_mel`], as `librosa.mel_to_hz(mel, htk=False)` computes it.
pub fn slaney_mel_to_hz(mel: f64) -> f64 {
    let min_log_mel = SLANEY_MIN_LOG_HZ / SLANEY_HZ_PER_MEL;
    if mel >= min_log_mel {
        SLANEY_MIN_LOG_HZ * (slaney_log_step() * (mel - min_log_mel)).exp()
    } else {
        SLANEY_HZ_PER_MEL * mel
    }
}

/// Options of [`MelSpectrogram`], named as in `librosa.feature.melspectrogram`.
#[derive(Debug, Clone, PartialEq)]
pub struct MelSpectrogramOptions {
    /// Sample rate of the input, in hertz.
    pub sample_rate: u32,
    /// FFT and window length, in samples.
    pub n_fft: usize,
    /// Samples between the starts of consecutive frames.
    pub hop_length: usize,
    pub n_mels: usize,
    /// Lowest frequency of the filterbank, in hertz.
    pub fmin: f64,
    /// Highest frequency of the filterbank, in hertz; `None` means the Nyquist frequency.
    pub fmax: Option<f64>,
}

impl Default for MelSpectrogramOptions {
    /// librosa's defaults, except the sample rate: 16 kHz, which every model in this crate
    /// uses, in place of librosa's 22,050 Hz.
    fn default() -> Self {
        MelSpectrogramOptions {
            sample_rate: crate::audio::MODEL_SAMPLE_RATE,
            n_fft: 2048,
            hop_length: 512,
            n_mels: 128,
            fmin: 0.0,
            fmax: None,
        }
    }
}

/// librosa's power mel spectrogram (not log): a periodic Hann STFT with centre padding of
/// zeros, squared magnitudes, and the Slaney filterbank.
pub struct MelSpectrogram {
    stft: Stft,
    filterbank: MelFilterbank,
}

impl MelSpectrogram {
    pub fn new(options: &MelSpectrogramOptions) -> Result<Self, FeatureError> {
        if options.n_fft == 0 {
            return Err(FeatureError::invalid("n_fft", options.n_fft, "at least 1"));
        }
        let window = WindowFunction::PeriodicHann.coefficients(options.n_fft);
        let stft = Stft::new(options.n_fft, options.hop_length, &window)?;

        let sample_rate = f64::from(options.sample_rate);
        let fmax = options.fmax.unwrap_or(sample_rate / 2.0);
        let filterbank = MelFilterbank::slaney(
            sample_rate,
            options.n_fft,
            options.n_mels,
            options.fmin,
            fmax,
        )?;

        Ok(MelSpectrogram { stft, filterbank })
    }

    pub fn n_mels(&self) -> usize {
        self.filterbank.n_mels()
    }

    pub fn filterbank(&self) -> &MelFilterbank {
        &self.filterbank
    }

    /// Returns the number of frames for `n_samples` samples, `1 + n_samples / hop_length` for an
    /// even `n_fft`.
    pub fn frame_count(&self, n_samples: usize) -> usize {
        self.stft.frame_count(n_samples)
    }

    /// Computes `frame_count(samples.len())` frames of `n_mels` values each, frame-major
    /// (the transpose of librosa's layout).
    pub fn compute(&self, samples: &[f32]) -> Vec<f32> {
        let n_mels = self.n_mels();
        let mut mel = vec![0.0; self.frame_count(samples.len()) * n_mels];
        self.stft.for_each_power_frame(samples, |t, power| {
            self.filterbank
                .apply(power, &mut mel[t * n_mels..(t + 1) * n_mels]);
        });
        mel
    }
}

/// The GE2E front end: 40 Slaney mel bands of the power spectrum, n_fft 400, hop 160,
/// periodic Hann window, 200 zeros of centre padding on each side, no log.
///
/// It equals `librosa.feature.melspectrogram(y, sr=16000, n_fft=400, hop_length=160,
/// n_mels=40)` of librosa 0.11, which Resemblyzer's `wav_to_mel_spectrogram` calls.
pub struct Ge2eMel {
    spectrogram: MelSpectrogram,
}

impl Ge2eMel {
    pub const N_MELS: usize = 40;
    /// 25 ms at 16 kHz.
    pub const N_FFT: usize = 400;
    /// 10 ms at 16 kHz.
    pub const HOP_LENGTH: usize = 160;

    pub fn new() -> Self {
        let options = MelSpectrogramOptions {
            sample_rate: crate::audio::MODEL_SAMPLE_RATE,
            n_fft: Self::N_FFT,
            hop_length: Self::HOP_LENGTH,
            n_mels: Self::N_MELS,
            fmin: 0.0,
            fmax: None,
        };
        let spectrogram =
            MelSpectrogram::new(&options).expect("the GE2E mel options are valid constants");
        Ge2eMel { spectrogram }
    }

    /// Returns the number of frames for `n_samples` samples: `1 + n_samples / 160`.
    pub fn frame_count(&self, n_samples: usize) -> usize {
        self.spectrogram.frame_count(n_samples)
    }

    /// Returns `1 + samples.len() / 160` frames of 40 values each, frame-major.
    pub fn compute(&self, samples: &[f32]) -> Vec<f32> {
        self.spectrogram.compute(samples)
    }
}

impl Default for Ge2eMel {
    fn default() -> Self {
        Ge2eMel::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_scale_round_trips() {
        for hz in [0.0, 20.0, 999.0, 1000.0, 1001.0, 4000.0, 8000.0, 11_025.0] {
            let back = slaney_mel_to_hz(hz_to_slaney_mel(hz));
            assert!(
                (back - hz).abs() < 1e-9 * hz.max(1.0),
                "{hz} Hz came back as {back}"
            );
        }
        assert!((hz_to_slaney_mel(1000.0) - 15.0).abs() < 1e-12);
    }

    #[test]
    fn slaney_rows_have_unit_area() {
        // Away from the low end, where bins are wide relative to the triangles, each row's
        // weights times the bin width sum to about 1.
        let filterbank = MelFilterbank::slaney(16_000.0, 2048, 40, 0.0, 8000.0).unwrap();
        let bin_width = 16_000.0 / 2048.0;
        let dense = filterbank.to_dense();
        for (m, row) in dense
            .chunks_exact(filterbank.n_fft_bins())
            .enumerate()
            .skip(5)
        {
            let area: f64 = row.iter().map(|&w| f64::from(w) * bin_width).sum();
            assert!((area - 1.0).abs() < 0.02, "mel bin {m} has area {area}");
        }
    }

    #[test]
    fn sparse_filterbank_keeps_dense_weights() {
        let rows = vec![
            vec![0.0, 0.5, 1.0, 0.0],
            vec![0.0, 0.0, 0.0, 0.0],
            vec![2.0, 0.0, 0.0, 3.0],
        ];
        let filterbank = MelFilterbank::from_dense_rows(&rows, 4);
        assert_eq!(filterbank.to_dense(), rows.concat());

        let mut mel = vec![0.0; 3];
        filterbank.apply(&[1.0, 2.0, 3.0, 4.0], &mut mel);
        assert_eq!(mel, vec![4.0, 0.0, 14.0]);
    }

    #[test]
    fn slaney_invalid_options_are_rejected() {
        assert!(MelFilterbank::slaney(0.0, 400, 40, 0.0, 8000.0).is_err());
        assert!(MelFilterbank::slaney(16_000.0, 0, 40, 0.0, 8000.0).is_err());
        assert!(MelFilterbank::slaney(16_000.0, 400, 0, 0.0, 8000.0).is_err());
        assert!(MelFilterbank::slaney(16_000.0, 400, 40, -1.0, 8000.0).is_err());
        assert!(MelFilterbank::slaney(16_000.0, 400, 40, 100.0, 100.0).is_err());
        assert!(MelFilterbank::slaney(16_000.0, 400, 40, 0.0, f64::NAN).is_err());
    }

    #[test]
    fn ge2e_frame_count_follows_contract() {
        let mel = Ge2eMel::new();
        for n_samples in [0, 1, 159, 160, 399, 400, 401, 16_000] {
            let frames = mel.compute(&vec![0.1; n_samples]);
            assert_eq!(
                frames.len(),
                (1 + n_samples / 160) * Ge2eMel::N_MELS,
                "{n_samples} samples"
            );
        }
    }

    #[test]
    fn ge2e_mel_of_silence_is_zero() {
        let mel = Ge2eMel::new().compute(&[0.0; 1000]);
        assert!(mel.iter().all(|&x| x == 0.0));
    }
}
