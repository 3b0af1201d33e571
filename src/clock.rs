//! Time. This module is the only place that reads the system clock; everything else asks a [`Clock`].

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time. Injected so that recovery windows and schedules can be tested
/// by advancing a manual clock instead of sleeping.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The operating system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[expect(
        clippy::disallowed_methods,
        reason = "the one place that reads the system time"
    )]
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// The monotonic clock, for deadlines of waits (how long a caller may block), never for the
/// store's notion of time, which comes from its [`Clock`].
#[expect(
    clippy::disallowed_methods,
    reason = "deadlines of blocking waits are real time, whatever the store's clock says"
)]
pub(crate) fn monotonic_now() -> std::time::Instant {
    std::time::Instant::now()
}

/// A clock that only moves when told to. For tests.
#[cfg(any(test, feature = "test-util"))]
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<SystemTime>);

#[cfg(any(test, feature = "test-util"))]
impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: SystemTime) -> Self {
        Self(std::sync::Mutex::new(start))
    }

    /// A clock standing at `secs` seconds after the Unix epoch.
    pub fn at_unix_seconds(secs: u64) -> Self {
        Self::new(UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: SystemTime) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = to;
    }
}

#[cfg(any(test, feature = "test-util"))]
impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Milliseconds since the Unix epoch (0 for times before it).
pub(crate) fn to_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The time `ms` milliseconds after the Unix epoch.
pub(crate) fn from_millis(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

pub(crate) const DAY_MS: u64 = 86_400_000;

/// The start (00:00 UTC) of the day holding `ms`, in milliseconds.
pub(crate) fn day_start(ms: u64) -> u64 {
    ms - ms % DAY_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::at_unix_seconds(100);
        assert_eq!(to_millis(c.now()), 100_000);
        c.advance(Duration::from_millis(5));
        assert_eq!(to_millis(c.now()), 100_005);
        assert_eq!(from_millis(100_005), c.now());
    }

    #[test]
    fn day_start_truncates_to_midnight_utc() {
        assert_eq!(day_start(DAY_MS * 3 + 5), DAY_MS * 3);
        assert_eq!(day_start(DAY_MS * 3), DAY_MS * 3);
    }
}
