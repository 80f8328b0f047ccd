//! Signal quality measures for the enrolment and check-in gates.

/// Samples at or beyond this magnitude count as clipped. 32767/32768 is the largest value a
/// 16-bit recording can hold; one step below it absorbs dithering and codec overshoot.
pub const CLIPPING_LEVEL: f32 = 32766.0 / 32768.0;

/// Fraction of samples whose magnitude reaches the clipping level.
pub fn clipping_ratio(samples: &[f32]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let clipped = samples.iter().filter(|x| x.abs() >= CLIPPING_LEVEL).count();
    clipped as f64 / samples.len() as f64
}

/// Upper bound reported when a recording has no measurable noise.
pub const MAX_SNR_DB: f64 = 100.0;

/// Fewer unvoiced windows than this fraction of all windows are too few to represent the
/// noise. Noise throughout a recording can make the VAD call every window voiced, and
/// clean speech without pauses leaves no unvoiced window either.
pub const MIN_NOISE_WINDOW_FRACTION: f64 = 0.1;

/// Estimates the signal-to-noise ratio in dB from the VAD's decision per window: the mean
/// power of voiced windows (speech plus noise) against that of the noise.
///
/// The noise is the mean power of the unvoiced windows when they make up at least
/// [`MIN_NOISE_WINDOW_FRACTION`] of the recording. Otherwise it is the mean power of that
/// fraction of windows with the least power, whether voiced or not, so a recording drowned
/// in noise is not mistaken for one without noise.
///
/// `samples` contains whole windows of `window_len` samples, one per flag. A recording without
/// voiced windows gives 0 dB, and one whose noise windows are digital silence gives
/// [`MAX_SNR_DB`].
pub fn estimate_snr_db(samples: &[f32], window_len: usize, voiced: &[bool]) -> f64 {
    let windows: Vec<(f64, bool)> = samples
        .chunks_exact(window_len)
        .zip(voiced)
        .map(|(window, &is_voiced)| (mean_power(window), is_voiced))
        .collect();

    let mut speech = PowerSum::default();
    let mut unvoiced = PowerSum::default();
    for &(power, is_voiced) in &windows {
        if is_voiced {
            speech.add(power);
        } else {
            unvoiced.add(power);
        }
    }
    let Some(speech_power) = speech.mean() else {
        return 0.0;
    };

    let min_noise_windows = ((windows.len() as f64 * MIN_NOISE_WINDOW_FRACTION).ceil() as usize).max(1);
    let noise_power = if unvoiced.count >= min_noise_windows {
        unvoiced.total / unvoiced.count as f64
    } else {
        quietest_mean_power(&windows, min_noise_windows)
    };
    if noise_power <= 0.0 {
        return MAX_SNR_DB;
    }

    // Voiced windows carry noise too; subtract it to estimate the speech power alone.
    let clean_speech_power = (speech_power - noise_power).max(0.0);
    if clean_speech_power == 0.0 {
        return 0.0;
    }
    (10.0 * (clean_speech_power / noise_power).log10()).clamp(-MAX_SNR_DB, MAX_SNR_DB)
}

fn mean_power(window: &[f32]) -> f64 {
    window.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>() / window.len() as f64
}

/// Averages the power of the `count` windows with the least power.
fn quietest_mean_power(windows: &[(f64, bool)], count: usize) -> f64 {
    let mut powers: Vec<f64> = windows.iter().map(|&(power, _)| power).collect();
    powers.sort_by(f64::total_cmp);
    let quietest = &powers[..count.min(powers.len())];
    quietest.iter().sum::<f64>() / quietest.len() as f64
}

#[derive(Default)]
struct PowerSum {
    total: f64,
    count: usize,
}

impl PowerSum {
    fn add(&mut self, power: f64) {
        self.total += power;
        self.count += 1;
    }

    fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.total / self.count as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_counts_full_scale_samples() {
        let samples = [0.0, 1.0, -1.0, 0.5];
        assert_eq!(clipping_ratio(&samples), 0.5);
    }

    #[test]
    fn snr_of_known_powers() {
        // Noise windows at power 0.0001, speech windows at 0.0101: clean speech 0.01, 20 dB.
        let noise = 0.01f32;
        let speech = (0.0101f32).sqrt();
        let mut samples = vec![noise; 4];
        samples.extend(vec![speech; 4]);
        let snr = estimate_snr_db(&samples, 4, &[false, true]);
        assert!((snr - 20.0).abs() < 1e-3, "snr {snr}");
    }

    #[test]
    fn snr_of_digital_silence_noise_is_capped() {
        let mut samples = vec![0.0f32; 4];
        samples.extend(vec![0.1f32; 36]);
        let voiced = [false, true, true, true, true, true, true, true, true, true];
        assert_eq!(estimate_snr_db(&samples, 4, &voiced), MAX_SNR_DB);
    }

    #[test]
    fn snr_without_unvoiced_windows_uses_quietest_windows() {
        // Every window voiced, as a VAD decides under heavy noise: one window in ten at the
        // noise power 0.01 and the rest at 0.02 give (0.019 - 0.01) / 0.01, 0.9 or -0.46 dB.
        let mut samples = vec![0.1f32; 4];
        samples.extend(vec![0.02f32.sqrt(); 36]);
        let snr = estimate_snr_db(&samples, 4, &[true; 10]);
        assert!((snr - 10.0 * 0.9f64.log10()).abs() < 1e-3, "snr {snr}");
    }
}
