//! The server's clock, behind a trait so that tests can set the time of a check-in.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current wall-clock time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> SystemTime;
}

/// The operating system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when a test sets or advances it.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    pub fn new(start: SystemTime) -> Self {
        ManualClock { now: Mutex::new(start) }
    }

    /// Starts at `unix_millis` milliseconds after the Unix epoch.
    pub fn at_unix_millis(unix_millis: u64) -> Self {
        Self::new(UNIX_EPOCH + Duration::from_millis(unix_millis))
    }

    pub fn set(&self, time: SystemTime) {
        *self.now.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = time;
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Milliseconds since the Unix epoch, negative before it: the form the store keeps times in.
pub fn to_unix_millis(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

/// The inverse of [`to_unix_millis`].
pub fn from_unix_millis(millis: i64) -> SystemTime {
    let magnitude = Duration::from_millis(millis.unsigned_abs());
    if millis >= 0 {
        UNIX_EPOCH + magnitude
    } else {
        UNIX_EPOCH - magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_millis_round_trip() {
        for millis in [0, 1, 1_733_000_000_123, -86_400_000] {
            assert_eq!(to_unix_millis(from_unix_millis(millis)), millis);
        }
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at_unix_millis(1_000);
        assert_eq!(to_unix_millis(clock.now()), 1_000);

        clock.advance(Duration::from_millis(250));
        assert_eq!(to_unix_millis(clock.now()), 1_250);
    }
}
