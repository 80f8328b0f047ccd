//! The checks behind [`Limits`], shared by every decoder.

use super::{AudioError, Limits};

impl Limits {
    pub(super) fn check_size(&self, bytes: usize) -> Result<(), AudioError> {
        if bytes > self.max_bytes {
            return Err(AudioError::TooLarge {
                bytes,
                limit: self.max_bytes,
            });
        }
        Ok(())
    }

    pub(super) fn check_sample_rate(&self, rate: u64) -> Result<u32, AudioError> {
        let in_range =
            rate >= u64::from(self.min_sample_rate) && rate <= u64::from(self.max_sample_rate);
        match u32::try_from(rate) {
            Ok(rate) if in_range => Ok(rate),
            _ => Err(AudioError::SampleRateOutOfRange {
                rate,
                min: self.min_sample_rate,
                max: self.max_sample_rate,
            }),
        }
    }

    pub(super) fn check_channels(&self, channels: u32) -> Result<u16, AudioError> {
        match u16::try_from(channels) {
            Ok(count) if count <= self.max_channels => Ok(count),
            _ => Err(AudioError::TooManyChannels {
                channels,
                limit: self.max_channels,
            }),
        }
    }

    /// Rejects `frames` at `rate` when they last longer than `max_seconds`.
    pub(super) fn check_duration(&self, frames: u64, rate: u32) -> Result<(), AudioError> {
        if frames > self.max_frames(rate) {
            return Err(self.too_long(frames, rate));
        }
        Ok(())
    }

    /// Computes the maximum number of frames at `rate` that fit in `max_seconds`.
    pub(super) fn max_frames(&self, rate: u32) -> u64 {
        // A float-to-integer `as` saturates, and a NaN setting gives 0 (nothing accepted).
        (self.max_seconds * f64::from(rate)).floor() as u64
    }

    pub(super) fn too_long(&self, frames: u64, rate: u32) -> AudioError {
        AudioError::TooLong {
            seconds: frames as f64 / f64::from(rate),
            limit: self.max_seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_limit_is_inclusive() {
        let limits = Limits {
            max_bytes: 100,
            ..Limits::default()
        };

        assert_eq!(limits.check_size(100), Ok(()));
        assert_eq!(
            limits.check_size(101),
            Err(AudioError::TooLarge {
                bytes: 101,
                limit: 100
            })
        );
    }

    #[test]
    fn sample_rate_range_is_inclusive() {
        let limits = Limits::default();

        assert_eq!(limits.check_sample_rate(8_000), Ok(8_000));
        assert_eq!(limits.check_sample_rate(192_000), Ok(192_000));
        for rate in [0, 1, 7_999, 192_001, 4_000_000_000, u64::MAX] {
            assert_eq!(
                limits.check_sample_rate(rate),
                Err(AudioError::SampleRateOutOfRange {
                    rate,
                    min: 8_000,
                    max: 192_000
                }),
            );
        }
    }

    #[test]
    fn channel_limit_is_inclusive() {
        let limits = Limits::default();

        assert_eq!(limits.check_channels(8), Ok(8));
        assert_eq!(
            limits.check_channels(9),
            Err(AudioError::TooManyChannels {
                channels: 9,
                limit: 8
            })
        );
        assert_eq!(
            limits.check_channels(70_000),
            Err(AudioError::TooManyChannels {
                channels: 70_000,
                limit: 8
            }),
        );
    }

    #[test]
    fn duration_limit_is_inclusive() {
        let limits = Limits::default();

        assert_eq!(limits.check_duration(300 * 16_000, 16_000), Ok(()));
        assert_eq!(
            limits.check_duration(300 * 16_000 + 1, 16_000),
            Err(AudioError::TooLong {
                seconds: 300.0 + 1.0 / 16_000.0,
                limit: 300.0
            }),
        );
    }
}
