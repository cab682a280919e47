//! Cameras over RTSP/1.0 through the `retina` crate: TCP interleaved transport,
//! Basic and Digest authentication, H.264 and H.265 video. Audio is not set up.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use retina::client::{Credentials, PlayOptions, SessionOptions, SetupOptions, Transport};
use retina::codec::{CodecItem, ParametersRef};

use crate::source::{Frame, FrameSource, StreamError, StreamErrorKind, StreamOpener, StreamParams};

/// How long DESCRIBE, SETUP and PLAY together may take before the camera counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens one RTSP stream of a camera.
pub struct RtspOpener {
    url: url::Url,
    creds: Option<Credentials>,
}

impl RtspOpener {
    /// `url` must be `rtsp://`; credentials given separately are used over any in the URL.
    pub fn new(
        url: &str,
        username: Option<&str>,
        password: Option<&str>,
    ) -> Result<Self, StreamError> {
        let parsed = mimamori_base::RtspUrl::parse(url)
            .map_err(|e| StreamError::new(StreamErrorKind::Unusable, e.0))?;
        // Credentials never stay in the URL (it is logged and shown); ones given
        // separately are used over any in the URL.
        let mut creds = parsed
            .credentials()
            .map(|(username, password)| Credentials { username, password });
        if let Some(u) = username.filter(|u| !u.is_empty()) {
            creds = Some(Credentials {
                username: u.to_string(),
                password: password.unwrap_or("").to_string(),
            });
        }
        Ok(RtspOpener {
            url: parsed.without_credentials().into_url(),
            creds,
        })
    }
}

/// Sorts a retina error into what the recorder and the user need to know.
fn classify(e: &retina::Error) -> StreamError {
    // retina's messages span lines (connection context); keep them on one line for logs and the UI.
    let msg = e
        .to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" / ");
    let kind = if e.status_code() == Some(401) || e.status_code() == Some(403) {
        StreamErrorKind::AuthFailed
    } else if msg.contains("Unable to connect")
        || msg.contains("Connection refused")
        || msg.contains("timed out")
        || msg.contains("failed to lookup")
    {
        StreamErrorKind::Unreachable
    } else if msg.contains("EOF") || msg.contains("reset by peer") || msg.contains("closed") {
        StreamErrorKind::Ended
    } else {
        StreamErrorKind::Unusable
    };
    StreamError::new(kind, msg)
}

impl StreamOpener for RtspOpener {
    fn open(&self) -> BoxFuture<'_, Result<Box<dyn FrameSource>, StreamError>> {
        Box::pin(async move {
            match tokio::time::timeout(CONNECT_TIMEOUT, self.connect()).await {
                Ok(r) => r,
                Err(_) => Err(StreamError::new(
                    StreamErrorKind::Unreachable,
                    format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
                )),
            }
        })
    }

    fn describe(&self) -> String {
        self.url.to_string()
    }
}

impl RtspOpener {
    async fn connect(&self) -> Result<Box<dyn FrameSource>, StreamError> {
        let opts = SessionOptions::default()
            .creds(self.creds.clone())
            .user_agent("mimamori".to_string());
        let mut session = retina::client::Session::describe(self.url.clone(), opts)
            .await
            .map_err(|e| classify(&e))?;
        let video = session
            .streams()
            .iter()
            .position(|s| {
                s.media() == "video"
                    && (s.encoding_name().eq_ignore_ascii_case("h264")
                        || s.encoding_name().eq_ignore_ascii_case("h265"))
            })
            .ok_or_else(|| {
                StreamError::new(
                    StreamErrorKind::Unusable,
                    "the camera offers no H.264 or H.265 video",
                )
            })?;
        let h265 = session.streams()[video]
            .encoding_name()
            .eq_ignore_ascii_case("h265");
        session
            .setup(
                video,
                SetupOptions::default().transport(Transport::Tcp(Default::default())),
            )
            .await
            .map_err(|e| classify(&e))?;
        let playing = session
            .play(PlayOptions::default())
            .await
            .map_err(|e| classify(&e))?;
        let demuxed = playing.demuxed().map_err(|e| classify(&e))?;
        Ok(Box::new(RtspSource {
            demuxed,
            video,
            h265,
            params: None,
        }))
    }
}

struct RtspSource {
    demuxed: retina::client::Demuxed,
    video: usize,
    h265: bool,
    params: Option<Arc<StreamParams>>,
}

impl RtspSource {
    fn current_params(&mut self, refresh: bool) -> Result<Arc<StreamParams>, StreamError> {
        if let (Some(p), false) = (&self.params, refresh) {
            return Ok(p.clone());
        }
        let p = Arc::new(stream_params(
            self.demuxed.streams()[self.video].parameters(),
        )?);
        self.params = Some(p.clone());
        Ok(p)
    }
}

/// What we record a stream with, from the codec parameters the camera sent (its
/// SDP and in-band SPS/PPS, as retina read them).
fn stream_params(params: Option<ParametersRef<'_>>) -> Result<StreamParams, StreamError> {
    let Some(ParametersRef::Video(v)) = params else {
        return Err(StreamError::new(
            StreamErrorKind::Unusable,
            "the camera sent video without codec parameters (SPS/PPS)",
        ));
    };
    let sample_entry = v.mp4_sample_entry().build().map_err(|e| {
        StreamError::new(
            StreamErrorKind::Unusable,
            format!("unusable codec parameters: {e}"),
        )
    })?;
    let (width, height) = v.pixel_dimensions();
    Ok(StreamParams {
        rfc6381_codec: v.rfc6381_codec().to_string(),
        width,
        height,
        sample_entry,
    })
}

/// H.265 random access points: IDR, and also CRA and BLA, which many cameras
/// (and x265) send instead of IDR. retina flags only IDR.
fn h265_is_random_access(data: &[u8]) -> bool {
    let mut rest = data;
    while rest.len() >= 5 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let t = (rest[4] >> 1) & 0x3f;
        if (16..=21).contains(&t) {
            return true;
        }
        if len + 4 > rest.len() {
            break;
        }
        rest = &rest[4 + len..];
    }
    false
}

impl FrameSource for RtspSource {
    fn poll_frame(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<Option<Frame>, StreamError>> {
        use std::task::Poll;
        Poll::Ready({
            loop {
                let item = match futures::ready!(self.demuxed.poll_next_unpin(cx)) {
                    None => break Ok(None),
                    Some(Err(e)) => break Err(classify(&e)),
                    Some(Ok(i)) => i,
                };
                match item {
                    CodecItem::VideoFrame(f) => {
                        if f.stream_id() != self.video {
                            continue;
                        }
                        let params = match self.current_params(f.has_new_parameters()) {
                            Ok(p) => p,
                            Err(e) => break Err(e),
                        };
                        let key = if self.h265 {
                            f.is_random_access_point() || h265_is_random_access(f.data())
                        } else {
                            f.is_random_access_point()
                        };
                        break Ok(Some(Frame {
                            pts_90k: f.timestamp().elapsed(),
                            key,
                            data: f.into_data(),
                            params,
                        }));
                    }
                    // RTCP BYE (PT 203): the camera ended the stream, though
                    // the RTSP session may stay open.
                    CodecItem::Rtcp(r) if r.pkts().any(|p| p.payload_type() == 203) => {
                        break Err(StreamError::new(
                            StreamErrorKind::Ended,
                            "the camera sent RTCP BYE",
                        ));
                    }
                    _ => {}
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_rtsp_urls_with_a_clear_message() {
        let e = RtspOpener::new("http://example/cam", None, None)
            .err()
            .unwrap();
        assert_eq!(e.kind, StreamErrorKind::Unusable);
        assert!(e.message.contains("not an RTSP URL"), "{}", e.message);
        assert!(RtspOpener::new("not a url", None, None).is_err());
    }

    #[test]
    fn credentials_are_moved_out_of_the_url() {
        let o = RtspOpener::new("rtsp://admin:p%40ss@127.0.0.1:8554/cam1", None, None).unwrap();
        assert_eq!(o.describe(), "rtsp://127.0.0.1:8554/cam1");
        let c = o.creds.unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("admin", "p@ss")
        );
    }

    #[test]
    fn h265_cra_counts_as_key() {
        // length 2, NAL type 21 (CRA): first byte = 21 << 1
        assert!(h265_is_random_access(&[0, 0, 0, 2, 42, 1]));
        // type 1 (TRAIL_R)
        assert!(!h265_is_random_access(&[0, 0, 0, 2, 2, 1]));
        assert!(!h265_is_random_access(&[0, 0]));
    }
}

#[cfg(test)]
mod properties {
    //! Issue 13: what a camera sends (the codec parameters of its SDP, its frames)
    //! never panics the recorder; a camera with bad parameters is refused with a reason.

    use base64::Engine;
    use proptest::prelude::*;
    use retina::codec::Depacketizer;

    use super::{h265_is_random_access, stream_params};

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// A real SPS and PPS (704x480 High profile) with some bytes changed.
    fn mutated(base: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4).prop_map(
            move |changes| {
                let mut v = base.to_vec();
                for (at, b) in changes {
                    let i = at.index(v.len());
                    v[i] = b;
                }
                v
            },
        )
    }

    const SPS: &[u8] = &[
        0x67, 0x64, 0x00, 0x1e, 0xac, 0x2c, 0x6a, 0x82, 0xc0, 0xf6, 0x9b, 0x82, 0x80, 0x82, 0xa0,
        0x00, 0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x03, 0x03, 0xd0, 0x80, 0x00,
    ];
    const PPS: &[u8] = &[0x68, 0xee, 0x31, 0xb2, 0x1b, 0x00];

    fn fmtp() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,80}",
            (
                prop_oneof![mutated(SPS), proptest::collection::vec(any::<u8>(), 0..40)],
                prop_oneof![mutated(PPS), proptest::collection::vec(any::<u8>(), 0..12)],
                "[0-9A-Fa-f]{0,8}",
            )
                .prop_map(|(sps, pps, level)| format!(
                    "packetization-mode=1;profile-level-id={level};sprop-parameter-sets={},{}",
                    b64(&sps),
                    b64(&pps)
                )),
        ]
    }

    proptest! {
        #[test]
        fn any_codec_parameters_from_a_camera_give_an_answer(fmtp in fmtp(), h265 in any::<bool>()) {
            let codec = if h265 { "h265" } else { "h264" };
            if let Ok(d) = Depacketizer::new("video", codec, 90_000, None, Some(&fmtp))
                && let Ok(p) = stream_params(d.parameters())
            {
                prop_assert!(!p.sample_entry.is_empty());
                let c = &p.rfc6381_codec;
                prop_assert!(c.starts_with("avc1") || c.starts_with("hvc1") || c.starts_with("hev1"), "{}", c);
            }
        }

        #[test]
        fn any_frame_is_looked_at_for_a_random_access_point_without_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = h265_is_random_access(&data);
        }

        // A CRA, BLA or IDR unit anywhere in a frame's length-prefixed units is found.
        #[test]
        fn an_h265_random_access_unit_is_found(
            before in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 2..20), 0..3),
            kind in 16u8..=21,
        ) {
            let mut data = Vec::new();
            for mut nal in before {
                nal[0] = (1 << 1) | (nal[0] & 0x81); // a trailing picture, type 1
                data.extend_from_slice(&u32::try_from(nal.len()).unwrap().to_be_bytes());
                data.extend_from_slice(&nal);
            }
            let rap = [kind << 1, 1, 0xaf];
            data.extend_from_slice(&3u32.to_be_bytes());
            data.extend_from_slice(&rap);
            prop_assert!(h265_is_random_access(&data));
        }
    }

    #[test]
    fn the_real_parameters_are_accepted() {
        let fmtp = format!(
            "packetization-mode=1;profile-level-id=64001E;sprop-parameter-sets={},{}",
            b64(SPS),
            b64(PPS)
        );
        let d = Depacketizer::new("video", "h264", 90_000, None, Some(&fmtp)).unwrap();
        let p = stream_params(d.parameters()).unwrap();
        assert_eq!((p.width, p.height), (704, 480));
        assert_eq!(p.rfc6381_codec, "avc1.64001E");
    }
}
