//! Interleaved frames in, bounded mono samples out.

use super::{AudioError, Limits};

/// Collects decoded frames as mono samples, averaging the channels of each frame as
/// librosa's `to_mono` does, and stops with [`AudioError::TooLong`] as soon as the frames
/// pushed pass the duration limit. Every decoder stores its samples here, so the memory of a
/// decode is bounded by `max_seconds` at the stream's rate.
pub(super) struct Downmixer {
    mono: Vec<f32>,
    sample_rate: u32,
    max_frames: u64,
    /// Interleaved input samples seen so far, so a non-finite one can be located.
    samples_seen: usize,
    limits: Limits,
}

impl Downmixer {
    /// Creates a downmixer for a stream at `sample_rate`. `expected_frames` reserves memory
    /// up front and must be bounded by the input's size, never taken from a header alone.
    pub(super) fn new(sample_rate: u32, limits: &Limits, expected_frames: usize) -> Downmixer {
        let max_frames = limits.max_frames(sample_rate);
        let reserved = expected_frames.min(usize::try_from(max_frames).unwrap_or(usize::MAX));
        Downmixer {
            mono: Vec::with_capacity(reserved),
            sample_rate,
            max_frames,
            samples_seen: 0,
            limits: limits.clone(),
        }
    }

    pub(super) fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Appends whole frames of `channels` interleaved samples and ignores a trailing partial
    /// frame. Rejects NaN and infinities, and clamps finite samples to [-1, 1].
    ///
    /// The `seconds` of a [`AudioError::TooLong`] from here is the length decoded so far,
    /// so the whole input is at least that long.
    pub(super) fn push_interleaved(
        &mut self,
        interleaved: &[f32],
        channels: usize,
    ) -> Result<(), AudioError> {
        if channels == 0 {
            return Ok(());
        }
        let frames = interleaved.len() / channels;
        let total_frames = (self.mono.len() + frames) as u64;
        if total_frames > self.max_frames {
            return Err(self.limits.too_long(total_frames, self.sample_rate));
        }

        for (frame_index, frame) in interleaved.chunks_exact(channels).enumerate() {
            // f64 keeps the sum of large finite float samples from overflowing.
            let mut sum = 0.0f64;
            for (channel, &sample) in frame.iter().enumerate() {
                if !sample.is_finite() {
                    let index = self.samples_seen + frame_index * channels + channel;
                    return Err(AudioError::NonFinite { index });
                }
                sum += f64::from(sample);
            }
            let mean = sum / channels as f64;
            self.mono.push(mean.clamp(-1.0, 1.0) as f32);
        }
        self.samples_seen += frames * channels;
        Ok(())
    }

    pub(super) fn frames(&self) -> usize {
        self.mono.len()
    }

    pub(super) fn into_samples(self) -> Vec<f32> {
        self.mono
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_are_averaged() {
        let mut downmixer = Downmixer::new(16_000, &Limits::default(), 0);

        downmixer
            .push_interleaved(&[0.5, -0.5, 0.25, 0.75, -1.0, -0.5], 2)
            .unwrap();

        assert_eq!(downmixer.into_samples(), vec![0.0, 0.5, -0.75]);
    }

    #[test]
    fn partial_frame_is_dropped() {
        let mut downmixer = Downmixer::new(16_000, &Limits::default(), 0);

        downmixer.push_interleaved(&[0.5, 0.5, 0.25], 2).unwrap();

        assert_eq!(downmixer.into_samples(), vec![0.5]);
    }

    #[test]
    fn large_float_samples_are_clamped() {
        let mut downmixer = Downmixer::new(16_000, &Limits::default(), 0);

        downmixer
            .push_interleaved(&[f32::MAX, f32::MAX, -3.0, -3.0, 0.5, 0.5], 2)
            .unwrap();

        assert_eq!(downmixer.into_samples(), vec![1.0, -1.0, 0.5]);
    }

    #[test]
    fn non_finite_sample_is_located() {
        let mut downmixer = Downmixer::new(16_000, &Limits::default(), 0);
        downmixer.push_interleaved(&[0.0; 4], 2).unwrap();

        let error = downmixer
            .push_interleaved(&[0.0, 0.0, 0.0, f32::NAN], 2)
            .unwrap_err();

        assert_eq!(error, AudioError::NonFinite { index: 7 });
    }

    #[test]
    fn duration_limit_stops_before_storing() {
        let limits = Limits {
            max_seconds: 1.0,
            ..Limits::default()
        };
        let mut downmixer = Downmixer::new(8_000, &limits, 0);
        downmixer.push_interleaved(&vec![0.0; 8_000], 1).unwrap();

        let error = downmixer.push_interleaved(&[0.0; 100], 1).unwrap_err();

        assert_eq!(
            error,
            AudioError::TooLong {
                seconds: 8_100.0 / 8_000.0,
                limit: 1.0
            }
        );
        assert_eq!(downmixer.frames(), 8_000);
    }
}
