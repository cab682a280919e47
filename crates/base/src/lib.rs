//! Foundations every other mimamori crate stands on: time as a value and the
//! clock that produces it, validated identifiers, and stable error codes.
//! Owns no I/O and no policy.

pub mod clock;
pub mod error;
pub mod id;
pub mod time;

pub use clock::{Clock, SharedClock, SimClock, SystemClock};
pub use error::ErrorCode;
pub use id::{CameraId, SegmentId, UserId};
pub use time::{Duration90k, Timestamp};
