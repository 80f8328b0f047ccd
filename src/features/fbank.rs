//! Kaldi's log-mel filterbank (`compute-fbank-feats`), as kaldi-native-fbank 1.23 and
//! `torchaudio.compliance.kaldi.fbank` compute it, the input of WeSpeaker and 3D-Speaker
//! speaker models.
//!
//! Each frame goes through Kaldi's steps in Kaldi's order: dither, removal of the DC offset,
//! pre-emphasis, the window, zero padding to the FFT length, the FFT, the power spectrum,
//! triangular filters on the mel scale `1127 ln(1 + f / 700)` and the natural logarithm.
//! Every step runs in single precision as in Kaldi, except the FFT. Kaldi, kaldi-native-fbank
//! 1.23 and torchaudio transform in single precision, and this module in double precision.
//! Their rounding error is about 1e-7 of a frame's spectral norm in every bin, so log values
//! agree within 1e-4 except in mel bins far below the loudest bin of their frame. Bins 80 dB
//! below it differ by up to about 6e-4.
//!
//! VTLN warping is not implemented. The output equals Kaldi's with its default warp factor of
//! 1.0, which is what WeSpeaker and 3D-Speaker use.

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rustfft::num_complex::Complex64;

use super::mel::MelFilterbank;
use super::stft::{power_spectrum, FftScratch, RealFft, WindowFunction};
use super::FeatureError;

/// Options of [`KaldiFbank`], named after Kaldi's command-line options.
///
/// The defaults are those of kaldi-native-fbank's `FbankOptions` and of
/// `torchaudio.compliance.kaldi.fbank`, with two changes for speaker models: 80 mel bins (as
/// WeSpeaker and 3D-Speaker models are trained with) in place of 23, and no dither. Dither
/// makes features random, so the same recording would not give the same embedding twice.
///
/// A model needs the options it was trained with. WeSpeaker's recipes, for example, call
/// torchaudio with `window_type='hamming'` ([`WindowFunction::Hamming`]) on samples scaled
/// by 32768, while 3D-Speaker keeps the Povey window and passes samples in [-1, 1]
/// (`sample_scale` 1.0).
#[derive(Debug, Clone, PartialEq)]
pub struct KaldiFbankOptions {
    /// Sample rate of the input, in hertz (`--sample-frequency`, 16000).
    pub sample_rate: f32,
    /// Frame length in milliseconds (`--frame-length`, 25).
    pub frame_length_ms: f32,
    /// Frame shift in milliseconds (`--frame-shift`, 10).
    pub frame_shift_ms: f32,
    /// Standard deviation of the Gaussian noise added to each sample, in the scaled units
    /// that `sample_scale` produces (`--dither`, 0 here and in torchaudio, 1 in Kaldi,
    /// 0.00003 in kaldi-native-fbank).
    pub dither: f32,
    /// Seed of the noise generator for `dither`. Each call to [`KaldiFbank::compute`] starts
    /// from this seed, so a recording always gets the same features.
    pub dither_seed: u64,
    /// Pre-emphasis coefficient, 0 to 1 (`--preemphasis-coefficient`, 0.97).
    pub preemphasis_coefficient: f32,
    /// Removal of each frame's mean before pre-emphasis (`--remove-dc-offset`, true).
    pub remove_dc_offset: bool,
    /// The window (`--window-type`, povey).
    pub window: WindowFunction,
    /// Zero padding of each frame to the next power of two for the FFT (`--round-to-power-of-two`,
    /// true, giving 512 points for 400-sample frames).
    pub round_to_power_of_two: bool,
    /// Only frames that fit entirely in the signal (`--snip-edges`, true). When false,
    /// frames are centred on multiples of the shift, and the signal is reflected at its ends
    /// to fill them.
    pub snip_edges: bool,
    /// Number of triangular mel bins, at least 3 (`--num-mel-bins`, 80 here, 23 in Kaldi).
    pub num_mel_bins: usize,
    /// Low edge of the lowest mel bin, in hertz (`--low-freq`, 20).
    pub low_freq: f32,
    /// High edge of the highest mel bin, in hertz; 0 or less is added to the Nyquist
    /// frequency (`--high-freq`, 0).
    pub high_freq: f32,
    /// An extra value with the log energy of the frame (`--use-energy`, false).
    pub use_energy: bool,
    /// Energy measured before pre-emphasis and the window (`--raw-energy`, true).
    pub raw_energy: bool,
    /// Floor on the energy value, not on its log; 0 means no floor (`--energy-floor`, 0).
    pub energy_floor: f32,
    /// Energy placed last instead of first (`--htk-compat`, false).
    pub htk_compat: bool,
    /// Natural log of each mel energy, floored at `f32::EPSILON` before the log
    /// (`--use-log-fbank`, true).
    pub use_log_fbank: bool,
    /// Filters applied to the power spectrum, or to the magnitude spectrum when false
    /// (`--use-power`, true).
    pub use_power: bool,
    /// Factor applied to each input sample before anything else, 32768.
    ///
    /// Kaldi reads WAV files as int16 values without scaling them, so features of Kaldi
    /// recipes are computed on samples in the int16 range. kaldi-native-fbank and torchaudio
    /// take samples as given, and callers that follow Kaldi (WeSpeaker, for one) multiply
    /// floats in [-1, 1] by 32768 first. [`KaldiFbank::compute`] takes floats in [-1, 1]
    /// like the rest of this crate and multiplies them by this factor. Use 1.0 for models
    /// trained on unscaled floats, or for input already in the int16 range. The scale adds
    /// `2 ln(sample_scale)` to every log-mel value that is above the floor.
    pub sample_scale: f32,
}

impl Default for KaldiFbankOptions {
    fn default() -> Self {
        KaldiFbankOptions {
            sample_rate: 16_000.0,
            frame_length_ms: 25.0,
            frame_shift_ms: 10.0,
            dither: 0.0,
            dither_seed: 0,
            preemphasis_coefficient: 0.97,
            remove_dc_offset: true,
            window: WindowFunction::Povey,
            round_to_power_of_two: true,
            snip_edges: true,
            num_mel_bins: 80,
            low_freq: 20.0,
            high_freq: 0.0,
            use_energy: false,
            raw_energy: true,
            energy_floor: 0.0,
            htk_compat: false,
            use_log_fbank: true,
            use_power: true,
            sample_scale: 32_768.0,
        }
    }
}

/// Kaldi-compatible filterbank features, built once and shared by any number of threads.
pub struct KaldiFbank {
    options: KaldiFbankOptions,
    frame_length: usize,
    frame_shift: usize,
    /// `frame_length` coefficients, rounded to `f32` as Kaldi stores them.
    window: Vec<f32>,
    fft: RealFft,
    filterbank: MelFilterbank,
}

/// Per-call working memory, so that frames cost no allocation.
struct FrameBuffers {
    frame: Vec<f32>,
    fft_input: Vec<f64>,
    spectrum: Vec<Complex64>,
    power: Vec<f32>,
    fft_scratch: FftScratch,
}

impl KaldiFbank {
    /// Builds the extractor, checking the options as Kaldi does.
    pub fn new(options: KaldiFbankOptions) -> Result<Self, FeatureError> {
        validate_frame_options(&options)?;
        let frame_length = samples_in(options.sample_rate, options.frame_length_ms);
        let frame_shift = samples_in(options.sample_rate, options.frame_shift_ms);
        if frame_length == 0 {
            return Err(FeatureError::invalid(
                "frame length",
                options.frame_length_ms,
                "at least one sample long",
            ));
        }
        if frame_shift == 0 {
            return Err(FeatureError::invalid(
                "frame shift",
                options.frame_shift_ms,
                "at least one sample long",
            ));
        }

        let fft_len = if options.round_to_power_of_two {
            frame_length.next_power_of_two()
        } else {
            frame_length
        };
        let fft = RealFft::new(fft_len)?;
        let filterbank = kaldi_mel_filterbank(&options, fft_len)?;
        let window = options
            .window
            .coefficients(frame_length)
            .into_iter()
            .map(|w| w as f32)
            .collect();

        Ok(KaldiFbank {
            options,
            frame_length,
            frame_shift,
            window,
            fft,
            filterbank,
        })
    }

    pub fn options(&self) -> &KaldiFbankOptions {
        &self.options
    }

    /// Returns the frame length in samples (400 by default).
    pub fn frame_length(&self) -> usize {
        self.frame_length
    }

    /// Returns the frame shift in samples (160 by default).
    pub fn frame_shift(&self) -> usize {
        self.frame_shift
    }

    /// Returns the number of values per frame: the mel bins, plus one with `use_energy`.
    pub fn feature_dim(&self) -> usize {
        self.options.num_mel_bins + usize::from(self.options.use_energy)
    }

    /// Returns Kaldi's frame count. With `snip_edges` it is `1 + (n_samples - frame_length)
    /// / frame_shift`, and 0 for a signal shorter than one frame. Without it, `n_samples /
    /// frame_shift` rounded to the nearest integer, halves up.
    pub fn frame_count(&self, n_samples: usize) -> usize {
        if self.options.snip_edges {
            if n_samples < self.frame_length {
                0
            } else {
                1 + (n_samples - self.frame_length) / self.frame_shift
            }
        } else {
            (n_samples + self.frame_shift / 2) / self.frame_shift
        }
    }

    /// Computes `frame_count(samples.len())` frames of `feature_dim()` values each,
    /// frame-major. Samples are floats in [-1, 1], scaled by `sample_scale`.
    pub fn compute(&self, samples: &[f32]) -> Vec<f32> {
        let dim = self.feature_dim();
        let mut features = vec![0.0; self.frame_count(samples.len()) * dim];
        let mut buffers = self.make_buffers();
        let mut noise = (self.options.dither != 0.0)
            .then(|| ChaCha8Rng::seed_from_u64(self.options.dither_seed));

        for (frame_index, output) in features.chunks_exact_mut(dim).enumerate() {
            self.extract_frame(
                samples,
                frame_index,
                &mut buffers.frame[..self.frame_length],
            );
            let raw_log_energy = self.process_frame(&mut buffers.frame, noise.as_mut());
            self.compute_features(&mut buffers, raw_log_energy, output);
        }
        features
    }

    fn make_buffers(&self) -> FrameBuffers {
        FrameBuffers {
            frame: vec![0.0; self.fft.input_len()],
            fft_input: vec![0.0; self.fft.input_len()],
            spectrum: vec![Complex64::default(); self.fft.spectrum_len()],
            power: vec![0.0; self.fft.spectrum_len()],
            fft_scratch: self.fft.make_scratch(),
        }
    }

    /// Copies frame `frame_index` of the scaled signal into `frame` (`frame_length` long),
    /// reflecting the signal at its ends where the frame extends past them, as Kaldi's
    /// `ExtractWindow` does.
    fn extract_frame(&self, samples: &[f32], frame_index: usize, frame: &mut [f32]) {
        let scale = self.options.sample_scale;
        let start = self.first_sample_of_frame(frame_index);

        let inside = usize::try_from(start)
            .ok()
            .filter(|&s| s + self.frame_length <= samples.len());
        if let Some(start) = inside {
            for (out, &x) in frame
                .iter_mut()
                .zip(&samples[start..start + self.frame_length])
            {
                *out = x * scale;
            }
            return;
        }

        let len = samples.len() as i64;
        for (offset, out) in frame.iter_mut().enumerate() {
            let mut index = start + offset as i64;
            while index < 0 || index >= len {
                index = if index < 0 {
                    -index - 1
                } else {
                    2 * len - 1 - index
                };
            }
            *out = samples[index as usize] * scale;
        }
    }

    /// Returns Kaldi's `FirstSampleOfFrame`, which is negative for the first frames when
    /// `snip_edges` is false.
    fn first_sample_of_frame(&self, frame_index: usize) -> i64 {
        let shift = self.frame_shift as i64;
        let frame_index = frame_index as i64;
        if self.options.snip_edges {
            frame_index * shift
        } else {
            frame_index * shift + shift / 2 - (self.frame_length / 2) as i64
        }
    }

    /// Applies Kaldi's `ProcessWindow` to the first `frame_length` samples of `frame` and
    /// zeroes the FFT padding. Returns the log energy before pre-emphasis when the options
    /// ask for it.
    fn process_frame(&self, frame: &mut [f32], noise: Option<&mut ChaCha8Rng>) -> Option<f32> {
        let (samples, padding) = frame.split_at_mut(self.frame_length);
        padding.fill(0.0);

        if let Some(rng) = noise {
            for x in samples.iter_mut() {
                let gaussian: f32 = StandardNormal.sample(rng);
                *x += gaussian * self.options.dither;
            }
        }

        if self.options.remove_dc_offset {
            let mean = samples.iter().sum::<f32>() / self.frame_length as f32;
            samples.iter_mut().for_each(|x| *x -= mean);
        }

        let raw_log_energy =
            (self.options.use_energy && self.options.raw_energy).then(|| log_energy(samples));

        let coefficient = self.options.preemphasis_coefficient;
        if coefficient != 0.0 {
            for i in (1..samples.len()).rev() {
                samples[i] -= coefficient * samples[i - 1];
            }
            samples[0] -= coefficient * samples[0];
        }

        for (x, w) in samples.iter_mut().zip(&self.window) {
            *x *= w;
        }
        raw_log_energy
    }

    /// Turns a processed frame into its features, following kaldi-native-fbank's
    /// `FbankComputer::Compute`.
    fn compute_features(
        &self,
        buffers: &mut FrameBuffers,
        raw_log_energy: Option<f32>,
        output: &mut [f32],
    ) {
        let options = &self.options;
        let log_energy = if options.use_energy && !options.raw_energy {
            Some(log_energy(&buffers.frame))
        } else {
            raw_log_energy
        };

        for (wide, &x) in buffers.fft_input.iter_mut().zip(&buffers.frame) {
            *wide = f64::from(x);
        }
        self.fft.forward(
            &buffers.fft_input,
            &mut buffers.spectrum,
            &mut buffers.fft_scratch,
        );
        power_spectrum(&buffers.spectrum, &mut buffers.power);
        if !options.use_power {
            buffers.power.iter_mut().for_each(|p| *p = p.sqrt());
        }

        let (mel, energy_slot) = match (options.use_energy, options.htk_compat) {
            (false, _) => (&mut output[..], None),
            (true, false) => {
                let (energy, mel) = output.split_at_mut(1);
                (mel, Some(&mut energy[0]))
            }
            (true, true) => {
                let (mel, energy) = output.split_at_mut(options.num_mel_bins);
                (mel, Some(&mut energy[0]))
            }
        };

        self.filterbank.apply(&buffers.power, mel);
        if options.use_log_fbank {
            mel.iter_mut().for_each(|m| *m = m.max(f32::EPSILON).ln());
        }
        if let (Some(slot), Some(energy)) = (energy_slot, log_energy) {
            *slot = self.floor_log_energy(energy);
        }
    }

    fn floor_log_energy(&self, log_energy: f32) -> f32 {
        let floor = self.options.energy_floor;
        if floor > 0.0 {
            log_energy.max(floor.ln())
        } else {
            log_energy
        }
    }
}

/// Computes the natural log of the frame's energy, floored at `f32::EPSILON` before the log.
fn log_energy(frame: &[f32]) -> f32 {
    let energy: f32 = frame.iter().map(|x| x * x).sum();
    energy.max(f32::EPSILON).ln()
}

/// Converts a duration to samples as Kaldi's `WindowSize` and `WindowShift` do: in `f32`,
/// truncated toward zero.
fn samples_in(sample_rate: f32, milliseconds: f32) -> usize {
    (sample_rate * 0.001 * milliseconds) as usize
}

fn validate_frame_options(options: &KaldiFbankOptions) -> Result<(), FeatureError> {
    if !(options.sample_rate.is_finite() && options.sample_rate > 0.0) {
        return Err(FeatureError::invalid(
            "sample rate",
            options.sample_rate,
            "a positive number of hertz",
        ));
    }
    if !(options.frame_length_ms.is_finite() && options.frame_length_ms > 0.0) {
        return Err(FeatureError::invalid(
            "frame length",
            options.frame_length_ms,
            "a positive number of milliseconds",
        ));
    }
    if !(options.frame_shift_ms.is_finite() && options.frame_shift_ms > 0.0) {
        return Err(FeatureError::invalid(
            "frame shift",
            options.frame_shift_ms,
            "a positive number of milliseconds",
        ));
    }
    if !(options.dither.is_finite() && options.dither >= 0.0) {
        return Err(FeatureError::invalid(
            "dither",
            options.dither,
            "a standard deviation of at least 0",
        ));
    }
    if !(0.0..=1.0).contains(&options.preemphasis_coefficient) {
        return Err(FeatureError::invalid(
            "pre-emphasis coefficient",
            options.preemphasis_coefficient,
            "0 to 1",
        ));
    }
    if !(options.energy_floor.is_finite() && options.energy_floor >= 0.0) {
        return Err(FeatureError::invalid(
            "energy floor",
            options.energy_floor,
            "at least 0",
        ));
    }
    if !(options.sample_scale.is_finite() && options.sample_scale > 0.0) {
        return Err(FeatureError::invalid(
            "sample scale",
            options.sample_scale,
            "a positive factor",
        ));
    }
    if let WindowFunction::Blackman { coefficient } = options.window {
        if !coefficient.is_finite() {
            return Err(FeatureError::invalid(
                "Blackman coefficient",
                coefficient,
                "a finite number",
            ));
        }
    }
    Ok(())
}

/// Converts hertz to Kaldi's mel scale, in `f32` as Kaldi computes it.
fn kaldi_mel(hz: f32) -> f32 {
    1127.0 * (1.0 + hz / 700.0).ln()
}

/// Builds Kaldi's mel banks (`MelBanks` without VTLN) for an FFT of `fft_len` points.
///
/// The triangles are evenly spaced on the mel scale between `low_freq` and `high_freq`, have
/// a peak of 1 and no area normalisation, and never weight the Nyquist bin.
fn kaldi_mel_filterbank(
    options: &KaldiFbankOptions,
    fft_len: usize,
) -> Result<MelFilterbank, FeatureError> {
    let num_bins = options.num_mel_bins;
    if num_bins < 3 {
        return Err(FeatureError::invalid(
            "number of mel bins",
            num_bins,
            "at least 3",
        ));
    }
    let (low_freq, high_freq) = kaldi_frequency_range(options)?;

    let fft_bin_width = options.sample_rate / fft_len as f32;
    let mel_low = kaldi_mel(low_freq);
    let mel_delta = (kaldi_mel(high_freq) - mel_low) / (num_bins + 1) as f32;
    let fft_bin_mels: Vec<f32> = (0..fft_len / 2)
        .map(|i| kaldi_mel(fft_bin_width * i as f32))
        .collect();

    let mut rows = Vec::with_capacity(num_bins);
    for bin in 0..num_bins {
        let left = mel_low + bin as f32 * mel_delta;
        let centre = mel_low + (bin + 1) as f32 * mel_delta;
        let right = mel_low + (bin + 2) as f32 * mel_delta;

        let mut row = vec![0.0f32; fft_len / 2 + 1];
        for (weight, &mel) in row.iter_mut().zip(&fft_bin_mels) {
            if mel > left && mel < right {
                *weight = if mel <= centre {
                    (mel - left) / (centre - left)
                } else {
                    (right - mel) / (right - centre)
                };
            }
        }
        if row.iter().all(|&w| w == 0.0) {
            return Err(FeatureError::EmptyMelBin {
                bin,
                num_bins,
                fft_len,
            });
        }
        rows.push(row);
    }
    Ok(MelFilterbank::from_dense_rows(&rows, fft_len / 2 + 1))
}

/// Resolves `low_freq` and `high_freq` as Kaldi does and checks them against the Nyquist
/// frequency.
fn kaldi_frequency_range(options: &KaldiFbankOptions) -> Result<(f32, f32), FeatureError> {
    let nyquist = 0.5 * options.sample_rate;
    let low_freq = options.low_freq;
    let high_freq = if options.high_freq > 0.0 {
        options.high_freq
    } else {
        nyquist + options.high_freq
    };

    if !(low_freq >= 0.0 && low_freq < nyquist) {
        return Err(FeatureError::invalid(
            "low frequency",
            low_freq,
            format!("0 Hz up to the Nyquist frequency {nyquist} Hz"),
        ));
    }
    if !(high_freq > low_freq && high_freq <= nyquist) {
        return Err(FeatureError::invalid(
            "high frequency",
            high_freq,
            format!("above the low frequency {low_freq} Hz and at most the Nyquist frequency {nyquist} Hz"),
        ));
    }
    Ok((low_freq, high_freq))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fbank(options: KaldiFbankOptions) -> KaldiFbank {
        KaldiFbank::new(options).unwrap()
    }

    #[test]
    fn defaults_give_kaldi_sizes() {
        let fbank = fbank(KaldiFbankOptions::default());
        assert_eq!(fbank.frame_length(), 400);
        assert_eq!(fbank.frame_shift(), 160);
        assert_eq!(fbank.fft.input_len(), 512);
        assert_eq!(fbank.feature_dim(), 80);
    }

    #[test]
    fn snipped_frame_count_follows_kaldi() {
        let fbank = fbank(KaldiFbankOptions::default());
        for (n_samples, frames) in [
            (0, 0),
            (1, 0),
            (399, 0),
            (400, 1),
            (559, 1),
            (560, 2),
            (16_000, 98),
        ] {
            assert_eq!(fbank.frame_count(n_samples), frames, "{n_samples} samples");
            assert_eq!(
                fbank.compute(&vec![0.01; n_samples]).len(),
                frames * 80,
                "{n_samples} samples"
            );
        }
    }

    #[test]
    fn reflected_frame_count_follows_kaldi() {
        let fbank = fbank(KaldiFbankOptions {
            snip_edges: false,
            ..Default::default()
        });
        for (n_samples, frames) in [
            (0, 0),
            (1, 0),
            (79, 0),
            (80, 1),
            (239, 1),
            (240, 2),
            (16_000, 100),
        ] {
            assert_eq!(fbank.frame_count(n_samples), frames, "{n_samples} samples");
            assert_eq!(
                fbank.compute(&vec![0.01; n_samples]).len(),
                frames * 80,
                "{n_samples} samples"
            );
        }
    }

    #[test]
    fn reflection_repeats_for_tiny_signals() {
        // 80 samples give one frame of 400 that needs the signal reflected several times.
        let fbank = fbank(KaldiFbankOptions {
            snip_edges: false,
            ..Default::default()
        });
        let samples: Vec<f32> = (0..80).map(|i| (i as f32 * 0.1).sin() * 0.1).collect();
        let features = fbank.compute(&samples);
        assert_eq!(features.len(), 80);
        assert!(features.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn silence_gives_log_epsilon() {
        let features = fbank(KaldiFbankOptions::default()).compute(&[0.0; 800]);
        assert!(features.iter().all(|&x| x == f32::EPSILON.ln()));
    }

    #[test]
    fn dither_is_seeded() {
        let options = KaldiFbankOptions {
            dither: 1.0,
            dither_seed: 7,
            ..Default::default()
        };
        let silence = [0.0; 1600];
        let first = fbank(options.clone()).compute(&silence);
        let second = fbank(options.clone()).compute(&silence);
        let other_seed = fbank(KaldiFbankOptions {
            dither_seed: 8,
            ..options
        })
        .compute(&silence);

        assert_eq!(first, second);
        assert_ne!(first, other_seed);
        assert!(first.iter().all(|&x| x > f32::EPSILON.ln()));
    }

    #[test]
    fn energy_goes_first_or_last() {
        let samples: Vec<f32> = (0..1600).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
        let plain = fbank(KaldiFbankOptions::default()).compute(&samples);
        let first = fbank(KaldiFbankOptions {
            use_energy: true,
            ..Default::default()
        })
        .compute(&samples);
        let last = fbank(KaldiFbankOptions {
            use_energy: true,
            htk_compat: true,
            ..Default::default()
        })
        .compute(&samples);

        for ((plain, first), last) in plain.chunks(80).zip(first.chunks(81)).zip(last.chunks(81)) {
            assert_eq!(&first[1..], plain);
            assert_eq!(&last[..80], plain);
            assert_eq!(first[0], last[80]);
        }
    }

    #[test]
    fn energy_floor_applies_to_silence() {
        let options = KaldiFbankOptions {
            use_energy: true,
            energy_floor: 1.0,
            ..Default::default()
        };
        let features = fbank(options).compute(&[0.0; 400]);
        assert_eq!(features[0], 0.0);
    }

    #[test]
    fn filterbank_skips_nyquist_bin() {
        let fbank = fbank(KaldiFbankOptions::default());
        let dense = fbank.filterbank.to_dense();
        let n_fft_bins = fbank.filterbank.n_fft_bins();
        assert!(dense
            .chunks(n_fft_bins)
            .all(|row| row[n_fft_bins - 1] == 0.0));
    }

    #[test]
    fn invalid_options_are_rejected() {
        let invalid = [
            KaldiFbankOptions {
                sample_rate: 0.0,
                ..Default::default()
            },
            KaldiFbankOptions {
                frame_length_ms: 0.01,
                ..Default::default()
            },
            KaldiFbankOptions {
                frame_shift_ms: f32::NAN,
                ..Default::default()
            },
            KaldiFbankOptions {
                dither: -1.0,
                ..Default::default()
            },
            KaldiFbankOptions {
                preemphasis_coefficient: 1.5,
                ..Default::default()
            },
            KaldiFbankOptions {
                num_mel_bins: 2,
                ..Default::default()
            },
            KaldiFbankOptions {
                low_freq: 8000.0,
                ..Default::default()
            },
            KaldiFbankOptions {
                high_freq: 9000.0,
                ..Default::default()
            },
            KaldiFbankOptions {
                high_freq: -8000.0,
                ..Default::default()
            },
            KaldiFbankOptions {
                sample_scale: 0.0,
                ..Default::default()
            },
            KaldiFbankOptions {
                energy_floor: -1.0,
                ..Default::default()
            },
        ];
        for options in invalid {
            assert!(
                KaldiFbank::new(options.clone()).is_err(),
                "{options:?} was accepted"
            );
        }
    }

    #[test]
    fn too_many_mel_bins_are_rejected() {
        let options = KaldiFbankOptions {
            num_mel_bins: 400,
            ..Default::default()
        };
        assert!(matches!(
            KaldiFbank::new(options),
            Err(FeatureError::EmptyMelBin { .. })
        ));
    }

    #[test]
    fn unrounded_fft_length_is_supported() {
        let options = KaldiFbankOptions {
            round_to_power_of_two: false,
            ..Default::default()
        };
        let fbank = fbank(options);
        assert_eq!(fbank.fft.input_len(), 400);
        assert!(fbank.compute(&[0.1; 1000]).iter().all(|x| x.is_finite()));
    }
}
