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

/// Estimates the signal-to-noise ratio in dB from the VAD's decision per window: the mean
/// power of voiced windows (speech plus noise) against that of unvoiced windows (noise).
///
/// `samples` holds whole windows of `window_len` samples, one per flag. A recording without
/// unvoiced windows gives [`MAX_SNR_DB`], and one without voiced windows gives 0 dB.
pub fn estimate_snr_db(samples: &[f32], window_len: usize, voiced: &[bool]) -> f64 {
    let mut speech = PowerSum::default();
    let mut noise = PowerSum::default();

    for (window, &is_voiced) in samples.chunks_exact(window_len).zip(voiced) {
        let power = window.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>() / window_len as f64;
        if is_voiced {
            speech.add(power);
        } else {
            noise.add(power);
        }
    }

    let (Some(speech_power), Some(noise_power)) = (speech.mean(), noise.mean()) else {
        return if speech.count == 0 { 0.0 } else { MAX_SNR_DB };
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
    fn snr_without_noise_windows_is_capped() {
        assert_eq!(estimate_snr_db(&[0.1; 8], 4, &[true, true]), MAX_SNR_DB);
    }
}
