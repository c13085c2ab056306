//! "Now" for the server, in Unix seconds. Everything that stamps or compares a time (events,
//! entries and their expiry, sessions, keys, monitoring windows, imports, the outbox) reads it from
//! the application state's `Clock`, never from the system directly, so that a test can move time
//! forward by days (`advance`) and see windows close and entries expire without sleeping. A
//! server's clock is the system clock: nothing but a test ever advances it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The system clock, plus an offset that every clone shares.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset: Arc<AtomicI64>,
}

impl Clock {
    /// The current time in Unix seconds.
    pub fn now(&self) -> i64 {
        system_now().saturating_add(self.offset.load(Ordering::Relaxed))
    }

    /// Moves this clock and all its clones `seconds` forward (for tests).
    pub fn advance(&self, seconds: i64) {
        self.offset.fetch_add(seconds, Ordering::Relaxed);
    }
}

/// The system's current time in Unix seconds, for commands that run without a server state.
pub fn system_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_move_together_and_time_still_flows() {
        let clock = Clock::default();
        let clone = clock.clone();
        let before = clock.now();
        clone.advance(86_400);
        assert!(clock.now() >= before + 86_400);
        assert!(clock.now() - system_now() >= 86_400);
    }
}
