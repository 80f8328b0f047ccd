//! Resemblyzer 0.1.4's preprocessing: level normalisation and silence trimming.
//!
//! Each step reproduces the package's `normalize_volume` and `trim_long_silences` in the
//! precision that numpy computes them in, so that the trimmed signal has the same length as
//! the reference and the same samples to float32 rounding.

use webrtc_vad::{SampleRate, Vad, VadMode};

use super::MODEL_SAMPLE_RATE;

/// Target level of the normalisation; quieter recordings are raised to it, louder ones kept.
pub const TARGET_DBFS: f32 = -30.0;

/// WebRTC VAD window: 30 ms at 16 kHz.
pub const VAD_WINDOW_SAMPLES: usize = 480;

/// Width of the moving average over the per-window VAD flags.
const MOVING_AVERAGE_WIDTH: usize = 8;

/// Voiced regions grow by this many windows on each side, so pauses shorter than
/// 2 × 3 + 1 windows inside speech are kept.
const DILATION_WINDOWS: usize = 3;

const INT16_MAX: f32 = 32767.0;

/// The outcome of silence trimming.
#[derive(Debug, Clone, PartialEq)]
pub struct Trimmed {
    /// The kept samples, at 16 kHz, after level normalisation.
    pub samples: Vec<f32>,
    /// One flag per 30 ms window of the normalised input: the raw VAD decision.
    pub vad_flags: Vec<bool>,
    /// One flag per window: whether the window was kept after smoothing and dilation.
    pub kept_windows: Vec<bool>,
}

/// Raises the level of `samples` to -30 dBFS RMS, never lowering it.
///
/// The arithmetic is numpy's for a float32 array: squares and mean in float32 with pairwise
/// summation, then the gain as a float32 power of ten.
pub fn normalize_volume(samples: &[f32]) -> Vec<f32> {
    if samples.is_empty() {
        return Vec::new();
    }

    let squares: Vec<f32> = samples.iter().map(|&x| (x * INT16_MAX) * (x * INT16_MAX)).collect();
    let mean_square = numpy_pairwise_sum(&squares) / samples.len() as f32;
    let rms = mean_square.sqrt();
    let wave_dbfs = 20.0 * (rms / INT16_MAX).log10();
    let change_db = TARGET_DBFS - wave_dbfs;

    // Digital silence gives -inf dBFS and an infinite gain; numpy would return NaN samples.
    // Silence is left as it is, and the VAD then finds no speech in it.
    if !(change_db > 0.0) || !change_db.is_finite() {
        return samples.to_vec();
    }

    let gain = 10f32.powf(change_db / 20.0);
    if !gain.is_finite() {
        return samples.to_vec();
    }
    samples.iter().map(|&x| x * gain).collect()
}

/// Sums float32 values in the order numpy's `add.reduce` does for a contiguous array, so the
/// result matches it bit for bit.
fn numpy_pairwise_sum(values: &[f32]) -> f32 {
    const BLOCK: usize = 128;
    let n = values.len();

    if n < 8 {
        let mut sum = -0.0f32;
        for &v in values {
            sum += v;
        }
        return sum;
    }

    if n <= BLOCK {
        let mut r = [0f32; 8];
        r.copy_from_slice(&values[..8]);
        let mut i = 8;
        while i < n - (n % 8) {
            for (lane, acc) in r.iter_mut().enumerate() {
                *acc += values[i + lane];
            }
            i += 8;
        }
        let mut sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &values[i..] {
            sum += v;
        }
        return sum;
    }

    let mut half = n / 2;
    half -= half % 8;
    numpy_pairwise_sum(&values[..half]) + numpy_pairwise_sum(&values[half..])
}

/// Trims long silences from normalised 16 kHz samples as Resemblyzer does.
///
/// The input is cut to a whole number of 30 ms windows; each window is quantised to int16
/// and classified by WebRTC VAD in its most aggressive mode (3); the flags are smoothed by a
/// moving average over 8 windows rounded half to even (5 of 8 voiced windows make a voiced
/// window, 4 do not) and dilated by 3 windows on each side; the samples of voiced windows are
/// kept.
pub fn trim_long_silences(samples: &[f32]) -> Trimmed {
    debug_assert_eq!(MODEL_SAMPLE_RATE, 16_000);
    let whole_windows = samples.len() / VAD_WINDOW_SAMPLES;
    let usable = &samples[..whole_windows * VAD_WINDOW_SAMPLES];

    let vad_flags = classify_windows(usable);
    let smoothed = smooth_flags(&vad_flags);
    let kept_windows = dilate(&smoothed, DILATION_WINDOWS);

    let kept_count = kept_windows.iter().filter(|&&kept| kept).count();
    let mut kept = Vec::with_capacity(kept_count * VAD_WINDOW_SAMPLES);
    for (window, &keep) in usable.chunks_exact(VAD_WINDOW_SAMPLES).zip(&kept_windows) {
        if keep {
            kept.extend_from_slice(window);
        }
    }

    Trimmed { samples: kept, vad_flags, kept_windows }
}

/// Quantises each 30 ms window to int16 as `np.round(x * 32767).astype(np.int16)` does
/// (round half to even, wrapping on overflow) and runs the VAD on it.
fn classify_windows(samples: &[f32]) -> Vec<bool> {
    // The VAD keeps state between windows, exactly as one `webrtcvad.Vad` object does when
    // it is fed the windows of one recording in order.
    let mut vad = Vad::new_with_rate_and_mode(SampleRate::Rate16kHz, VadMode::VeryAggressive);
    let mut pcm = [0i16; VAD_WINDOW_SAMPLES];

    samples
        .chunks_exact(VAD_WINDOW_SAMPLES)
        .map(|window| {
            for (out, &x) in pcm.iter_mut().zip(window) {
                *out = quantize_int16(x);
            }
            // A 480-sample window at 16 kHz is always a valid frame length for the VAD.
            vad.is_voice_segment(&pcm).unwrap_or(false)
        })
        .collect()
}

fn quantize_int16(x: f32) -> i16 {
    let rounded = (x * INT16_MAX).round_ties_even();
    if rounded.is_finite() {
        // numpy's float-to-int16 cast goes through a wider integer and keeps the low 16 bits.
        (rounded as i64) as i16
    } else {
        0
    }
}

/// Moving average of width 8 over the flags padded with 3 zeros before and 4 after, rounded
/// half to even.
fn smooth_flags(flags: &[bool]) -> Vec<bool> {
    let before = (MOVING_AVERAGE_WIDTH - 1) / 2;
    let after = MOVING_AVERAGE_WIDTH / 2;

    (0..flags.len())
        .map(|center| {
            let start = center.saturating_sub(before);
            let end = (center + after + 1).min(flags.len());
            let voiced = flags[start..end].iter().filter(|&&f| f).count();
            // voiced / 8 rounded half to even: 4/8 = 0.5 rounds to 0, 5/8 to 1.
            2 * voiced > MOVING_AVERAGE_WIDTH
        })
        .collect()
}

/// Binary dilation with a structuring element of `2 * radius + 1` ones and zero borders.
fn dilate(mask: &[bool], radius: usize) -> Vec<bool> {
    (0..mask.len())
        .map(|i| {
            let start = i.saturating_sub(radius);
            let end = (i + radius + 1).min(mask.len());
            mask[start..end].iter().any(|&m| m)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_needs_five_of_eight() {
        // Window 3 sees flags[0..=7]: four voiced flags round to unvoiced, five to voiced.
        let four = [true, true, true, true, false, false, false, false, false, false];
        assert!(!smooth_flags(&four)[3]);

        let five = [true, true, true, true, true, false, false, false, false, false];
        assert!(smooth_flags(&five)[3]);
    }

    #[test]
    fn dilation_grows_by_radius() {
        let mut mask = vec![false; 11];
        mask[5] = true;
        let dilated = dilate(&mask, 3);
        let expected: Vec<bool> = (0..11).map(|i| (2..=8).contains(&i)).collect();
        assert_eq!(dilated, expected);
    }

    #[test]
    fn quantization_rounds_half_to_even_and_wraps() {
        assert_eq!(quantize_int16(0.5 / INT16_MAX), 0);
        assert_eq!(quantize_int16(1.5 / INT16_MAX), 2);
        assert_eq!(quantize_int16(-1.0), -32767);
        // 1.1 × 32767 = 36043.7 → 36044, which wraps to 36044 - 65536.
        assert_eq!(quantize_int16(1.1), (36044i64 - 65536) as i16);
    }

    #[test]
    fn pairwise_sum_matches_sequential_on_small_input() {
        let values: Vec<f32> = (1..=7).map(|v| v as f32).collect();
        assert_eq!(numpy_pairwise_sum(&values), 28.0);
    }

    #[test]
    fn silence_is_not_amplified() {
        let silence = vec![0.0f32; 1600];
        let normalized = normalize_volume(&silence);
        assert!(normalized.iter().all(|&x| x == 0.0));
    }

    #[test]
    fn loud_audio_is_not_lowered() {
        let loud: Vec<f32> = (0..1600).map(|i| if i % 2 == 0 { 0.5 } else { -0.5 }).collect();
        assert_eq!(normalize_volume(&loud), loud);
    }
}
