//! What a camera stream delivers, behind a trait so that unit tests can feed
//! frames while integration tests use a real RTSP server.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;

/// Codec parameters of a stream: what an MP4 sample entry needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamParams {
    pub rfc6381_codec: String,
    pub width: u32,
    pub height: u32,
    /// The complete `avc1`/`hvc1` box.
    pub sample_entry: Vec<u8>,
}

/// One video frame (access unit) as received, in MP4 framing (4-byte NAL lengths).
#[derive(Clone, Debug)]
pub struct Frame {
    /// Presentation time in 90 kHz ticks since the stream started.
    pub pts_90k: i64,
    pub key: bool,
    pub data: Vec<u8>,
    /// Parameters in force for this frame.
    pub params: Arc<StreamParams>,
}

/// Why a stream could not be opened or went away.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamErrorKind {
    /// Connection refused, timed out, host unknown.
    Unreachable,
    /// The camera refused our credentials.
    AuthFailed,
    /// The camera ended the stream (RTSP closed, RTCP BYE).
    Ended,
    /// The stream could not be used: not RTSP, no video, unsupported codec, malformed data.
    Unusable,
}

#[derive(Clone, Debug, thiserror::Error)]
#[error("{message}")]
pub struct StreamError {
    pub kind: StreamErrorKind,
    pub message: String,
}

impl StreamError {
    pub fn new(kind: StreamErrorKind, message: impl Into<String>) -> Self {
        StreamError {
            kind,
            message: message.into(),
        }
    }
}

/// An open stream, polled for its next frame: `Ok(None)` when the stream ended
/// cleanly. A poll method rather than a boxed future per frame, so that receiving
/// a frame allocates nothing of ours (issue 11).
pub trait FrameSource: Send {
    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Frame>, StreamError>>;
}

/// The next frame of a source.
pub fn next_frame(
    source: &mut dyn FrameSource,
) -> impl Future<Output = Result<Option<Frame>, StreamError>> + '_ {
    std::future::poll_fn(move |cx| source.poll_frame(cx))
}

/// Opens a camera stream.
pub trait StreamOpener: Send + Sync {
    fn open(&self) -> BoxFuture<'_, Result<Box<dyn FrameSource>, StreamError>>;
    /// A description for logs and the UI, without credentials.
    fn describe(&self) -> String;
}
