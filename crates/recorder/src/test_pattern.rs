//! The built-in test-pattern camera of `mimamori demo`: moving colour bars with a
//! burnt-in clock (Japan time) and the words TEST PATTERN, encoded as H.264 by
//! OpenH264 on its own thread at real-time pace. Its frames go through the same
//! segmenter as a real camera's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use mimamori_base::SharedClock;
use mimamori_base::time::jst;
use mimamori_media::h264;
use openh264::OpenH264API;
use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, QpRange, RateControlMode,
};
use openh264::formats::YUVBuffer;
use tokio::sync::mpsc;

use crate::source::{Frame, FrameSource, StreamError, StreamErrorKind, StreamOpener, StreamParams};

pub const WIDTH: usize = 640;
pub const HEIGHT: usize = 360;
pub const FPS: u32 = 10;
/// A key frame every two seconds, like a typical camera.
pub const GOP: u32 = 2 * FPS;

pub struct TestPatternOpener {
    clock: SharedClock,
}

impl TestPatternOpener {
    pub fn new(clock: SharedClock) -> Self {
        TestPatternOpener { clock }
    }
}

impl StreamOpener for TestPatternOpener {
    fn open(&self) -> BoxFuture<'_, Result<Box<dyn FrameSource>, StreamError>> {
        let clock = self.clock.clone();
        Box::pin(async move {
            let (tx, rx) = mpsc::channel(8);
            std::thread::Builder::new()
                .name("test-pattern".into())
                .spawn(move || generate(clock, tx))
                .map_err(|e| {
                    StreamError::new(
                        StreamErrorKind::Unusable,
                        format!("cannot start the test pattern: {e}"),
                    )
                })?;
            Ok(Box::new(TestPatternSource { rx }) as Box<dyn FrameSource>)
        })
    }

    fn describe(&self) -> String {
        "test pattern (built in)".to_string()
    }
}

struct TestPatternSource {
    rx: mpsc::Receiver<Result<Frame, StreamError>>,
}

impl FrameSource for TestPatternSource {
    fn poll_frame(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<Option<Frame>, StreamError>> {
        self.rx.poll_recv(cx).map(Option::transpose)
    }
}

/// Runs until the receiver is dropped.
fn generate(clock: SharedClock, tx: mpsc::Sender<Result<Frame, StreamError>>) {
    let config = EncoderConfig::new()
        .bitrate(BitRate::from_bps(400_000))
        .max_frame_rate(FrameRate::from_hz(FPS as f32))
        .rate_control_mode(RateControlMode::Off)
        .qp(QpRange::new(26, 32))
        .intra_frame_period(IntraFramePeriod::from_num_frames(GOP))
        .skip_frames(false);
    let mut encoder = match Encoder::with_api_config(OpenH264API::from_source(), config) {
        Ok(e) => e,
        Err(e) => {
            let _ = tx.blocking_send(Err(StreamError::new(
                StreamErrorKind::Unusable,
                format!("H.264 encoder failed to start: {e}"),
            )));
            return;
        }
    };
    let started = Instant::now();
    let mut params: Option<Arc<StreamParams>> = None;
    let mut yuv = vec![0u8; WIDTH * HEIGHT * 3 / 2];
    for n in 0u64.. {
        let due = started + Duration::from_millis(n * 1000 / u64::from(FPS));
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let now = clock.now();
        let text = now
            .to_datetime()
            .with_timezone(&jst())
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
        draw(&mut yuv, n, &text);
        if n % u64::from(GOP) == 0 {
            encoder.force_intra_frame();
        }
        let src = YUVBuffer::from_vec(yuv.clone(), WIDTH, HEIGHT);
        let bitstream = match encoder.encode(&src) {
            Ok(b) => b.to_vec(),
            Err(e) => {
                let _ = tx.blocking_send(Err(StreamError::new(
                    StreamErrorKind::Unusable,
                    format!("encoding failed: {e}"),
                )));
                return;
            }
        };
        let nals = h264::split_annexb(&bitstream);
        if nals.is_empty() {
            continue;
        }
        let key = nals.iter().any(|n| h264::nal_type(n) == h264::NAL_IDR);
        let sps = nals.iter().find(|n| h264::nal_type(n) == h264::NAL_SPS);
        let pps = nals.iter().find(|n| h264::nal_type(n) == h264::NAL_PPS);
        if let (Some(sps), Some(pps)) = (sps, pps) {
            let entry = h264::avc1_sample_entry(sps, pps, WIDTH as u16, HEIGHT as u16);
            if params.as_ref().is_none_or(|p| p.sample_entry != entry) {
                params = Some(Arc::new(StreamParams {
                    rfc6381_codec: h264::rfc6381_codec(sps),
                    width: WIDTH as u32,
                    height: HEIGHT as u32,
                    sample_entry: entry,
                }));
            }
        }
        let Some(p) = params.clone() else { continue };
        let frame = Frame {
            pts_90k: i64::try_from(n).unwrap_or(i64::MAX) * 90_000 / i64::from(FPS),
            key,
            data: h264::to_avcc(&nals),
            params: p,
        };
        if tx.blocking_send(Ok(frame)).is_err() {
            return; // the recorder stopped
        }
    }
}

/// Paints frame `n`: scrolling colour bars, a dark band, and `text` plus "TEST PATTERN".
fn draw(yuv: &mut [u8], n: u64, text: &str) {
    let (w, h) = (WIDTH, HEIGHT);
    let (y_plane, chroma) = yuv.split_at_mut(w * h);
    let (u_plane, v_plane) = chroma.split_at_mut(w * h / 4);
    // Seven bars (white, yellow, cyan, green, magenta, red, blue) in Y/U/V.
    const BARS: [(u8, u8, u8); 7] = [
        (235, 128, 128),
        (210, 16, 146),
        (170, 166, 16),
        (145, 54, 34),
        (106, 202, 222),
        (81, 90, 240),
        (41, 240, 110),
    ];
    let shift = (n as usize * 4) % w;
    for y in 0..h {
        for x in 0..w {
            let bar = BARS[((x + shift) % w) * 7 / w];
            y_plane[y * w + x] = if y >= h * 2 / 3 { 16 } else { bar.0 };
        }
    }
    for y in 0..h / 2 {
        for x in 0..w / 2 {
            let bar = BARS[((x * 2 + shift) % w) * 7 / w];
            let dark = y * 2 >= h * 2 / 3;
            u_plane[y * (w / 2) + x] = if dark { 128 } else { bar.1 };
            v_plane[y * (w / 2) + x] = if dark { 128 } else { bar.2 };
        }
    }
    draw_text(y_plane, w, 20, h * 2 / 3 + 16, 4, text);
    draw_text(y_plane, w, 20, h * 2 / 3 + 64, 3, "TEST PATTERN");
}

fn glyph(c: char) -> [u8; 7] {
    match c {
        '0' => [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e],
        '1' => [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
        '2' => [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f],
        '3' => [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e],
        '4' => [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02],
        '5' => [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
        '6' => [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e],
        '7' => [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e],
        '9' => [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c],
        '-' => [0, 0, 0, 0x1f, 0, 0, 0],
        ':' => [0, 0x0c, 0x0c, 0, 0x0c, 0x0c, 0],
        'T' => [0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'E' => [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f],
        'S' => [0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e],
        'P' => [0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10],
        'A' => [0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
        'R' => [0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11],
        'N' => [0x11, 0x19, 0x15, 0x13, 0x11, 0x11, 0x11],
        _ => [0; 7],
    }
}

fn draw_text(y_plane: &mut [u8], stride: usize, x0: usize, y0: usize, scale: usize, text: &str) {
    for (i, c) in text.chars().enumerate() {
        let g = glyph(c);
        let cx = x0 + i * 6 * scale;
        for (row, bits) in g.iter().enumerate() {
            for col in 0..5 {
                if bits & (0x10 >> col) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let (x, y) = (cx + col * scale + dx, y0 + row * scale + dy);
                        if let Some(p) = y_plane.get_mut(y * stride + x)
                            && x < stride
                        {
                            *p = 235;
                        }
                    }
                }
            }
        }
    }
}
