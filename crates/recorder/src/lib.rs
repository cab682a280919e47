//! Recording. One long-lived task per camera stream pulls frames from a
//! [`source::StreamOpener`] (RTSP through retina, or the built-in test pattern),
//! cuts them into segments of about a minute at key frames, writes them durably
//! and only then tells the catalog. It records every gap with its reason, keeps
//! each camera's status, and hands frames to live viewers. It never transcodes.

pub mod context;
#[cfg(test)]
mod fixture;
pub mod hub;
pub mod recorder;
pub mod recovery;
pub mod rows;
pub mod rtsp;
pub mod segmenter;
pub mod source;
pub mod stream;
pub mod test_pattern;

pub use context::{RecorderConfig, RecorderContext, dedicated_runtime};
pub use hub::{CameraState, CameraStatus, LiveFrame, StatusHub};
pub use recorder::{RecorderSet, start_camera_sync, start_recorders};
pub use rows::{JournalHealth, RowJournal};
