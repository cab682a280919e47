//! The clock, injected everywhere time matters (recording timestamps, sessions,
//! retention). Production uses [`SystemClock`]; tests drive a [`SimClock`].

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::time::Timestamp;

/// Where library code gets "now" from. Never call `SystemTime::now` directly.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
}

pub type SharedClock = Arc<dyn Clock>;

/// The real wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place allowed to read the system clock
    fn now(&self) -> Timestamp {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct SimClock {
    now: AtomicI64,
}

impl SimClock {
    pub fn new(start: Timestamp) -> Self {
        SimClock {
            now: AtomicI64::new(start.0),
        }
    }

    pub fn advance_micros(&self, us: i64) {
        self.now.fetch_add(us, Ordering::SeqCst);
    }

    pub fn set(&self, t: Timestamp) {
        self.now.store(t.0, Ordering::SeqCst);
    }
}

impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.now.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_clock_moves_only_when_told() {
        let c = SimClock::new(Timestamp(10));
        assert_eq!(c.now(), Timestamp(10));
        c.advance_micros(5);
        assert_eq!(c.now(), Timestamp(15));
    }
}
