//! Which clock an installation runs on: the system's, or (in debug builds only,
//! for the binary's own tests) the system's plus the seconds a test has moved it
//! on, read from the file `MIMAMORI_TEST_CLOCK_FILE` names. A test lets days pass
//! for a running server (retention, holds, due dates) by writing a larger number
//! into that file; the clock never goes back. A release build ignores the
//! variable and says so.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mimamori_base::{AheadClock, SharedClock, SystemClock};

pub const TEST_CLOCK_ENV: &str = "MIMAMORI_TEST_CLOCK_FILE";

/// The clock for this process.
pub fn installation_clock() -> SharedClock {
    let Some(file) = std::env::var_os(TEST_CLOCK_ENV) else {
        return Arc::new(SystemClock);
    };
    if !cfg!(debug_assertions) {
        tracing::warn!("{TEST_CLOCK_ENV} is ignored: only test builds run ahead of the wall clock");
        return Arc::new(SystemClock);
    }
    let file = std::path::PathBuf::from(file);
    let clock = Arc::new(AheadClock::default());
    follow(&clock, &file);
    tracing::warn!(
        "test build: the clock runs {} s ahead of the wall clock, as {} says",
        clock.ahead_us() / 1_000_000,
        file.display()
    );
    let watched = clock.clone();
    let spawned = std::thread::Builder::new()
        .name("test-clock".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(100));
                follow(&watched, &file);
            }
        });
    if let Err(e) = spawned {
        tracing::error!("the test clock cannot follow its file: {e}");
    }
    clock
}

/// Sets the clock to the file's seconds ahead; a missing or unreadable file
/// changes nothing, a smaller number is refused.
fn follow(clock: &AheadClock, file: &Path) {
    let Ok(text) = std::fs::read_to_string(file) else {
        return;
    };
    let Ok(secs) = text.trim().parse::<i64>() else {
        return;
    };
    let us = secs.saturating_mul(1_000_000);
    if us != clock.ahead_us() && !clock.set_ahead(us) {
        tracing::warn!("the test clock does not go back ({secs} s ahead refused)");
    }
}
