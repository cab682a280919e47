//! Foundations every other mimamori crate stands on: time as a value, the clock
//! that produces it and the parsing of times people type, validated identifiers
//! and camera addresses, stable error codes, and handles of background tasks.
//! Owns no I/O and no policy.

pub mod clock;
pub mod error;
pub mod id;
pub mod rtsp;
pub mod task;
pub mod time;

pub use clock::{AheadClock, Clock, SharedClock, SimClock, SystemClock};
pub use error::ErrorCode;
pub use id::{CameraId, SegmentId, UserId};
pub use rtsp::RtspUrl;
pub use task::{StopSignal, TaskHandle};
pub use time::{Duration90k, Timestamp};
