//! The clock, injected everywhere time matters (recording timestamps, sessions,
//! retention). Production uses [`SystemClock`]; unit tests drive a [`SimClock`];
//! the binary's own tests move a running server's days on with an [`AheadClock`].

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

/// The wall clock plus an offset that only grows: days pass for a running server
/// (retention, due dates, expiry) while its cameras still record in real time.
/// Never backwards, so audit entries and chains stay in order.
#[derive(Debug, Default)]
pub struct AheadClock {
    offset_us: AtomicI64,
}

impl AheadClock {
    /// Moves the clock to `offset_us` ahead of the wall clock; an offset smaller
    /// than the current one is refused (returns false).
    pub fn set_ahead(&self, offset_us: i64) -> bool {
        let mut ok = true;
        let _ = self
            .offset_us
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |old| {
                ok = offset_us >= old;
                ok.then_some(offset_us)
            });
        ok
    }

    pub fn ahead_us(&self) -> i64 {
        self.offset_us.load(Ordering::SeqCst)
    }
}

impl Clock for AheadClock {
    fn now(&self) -> Timestamp {
        Timestamp(SystemClock.now().0.saturating_add(self.ahead_us()))
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

    #[test]
    fn ahead_clock_moves_forward_only() {
        let c = AheadClock::default();
        let before = SystemClock.now();
        assert!(c.set_ahead(86_400_000_000));
        assert!(c.now().0 >= before.0 + 86_400_000_000);
        assert!(!c.set_ahead(1), "never backwards");
        assert_eq!(c.ahead_us(), 86_400_000_000);
    }
}
