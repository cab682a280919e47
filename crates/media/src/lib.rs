//! Video as bytes: the per-segment sample index, H.264 parameter sets and sample
//! entries, and assembly of `.mp4` (moov first, for download and seeking) and
//! fragmented `.mp4` (for Media Source Extensions and live view). No I/O here:
//! assembly produces a plan of byte ranges that the web layer streams.

pub mod fmp4;
pub mod h264;
pub mod mp4;
pub mod mp4box;
pub mod sample_index;

pub use sample_index::{SampleIndex, SampleInfo};
