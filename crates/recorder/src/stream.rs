//! One camera stream's life, as a small state machine: starting, connecting,
//! recording, a gap with its reason, backing off. [`StreamMachine`] decides (which
//! gap to open or close, what the status says, how long to wait); [`run_stream`]
//! carries its decisions out against the camera, the segmenter, the catalog and
//! the status hub. The machine is tested alone with fed events and a simulated
//! clock; the driver with fed frames.

use std::time::Duration;

use mimamori_base::{CameraId, ErrorCode, Timestamp};
use mimamori_catalog::{GapReason, StreamKind};
use tokio::sync::watch;

use crate::context::RecorderContext;
use crate::hub::CameraState;
use crate::rows::CatalogRow;
use crate::segmenter::{Pushed, Segmenter};
use crate::source::{StreamErrorKind, StreamOpener, next_frame};

/// How often the status hub hears of arriving frames.
const STATUS_EVERY_MICROS: i64 = 500_000;
/// The wait before reconnecting after a run ended.
const AFTER_RUN: Duration = Duration::from_millis(250);
/// Watchdog ticks in a row without a frame before a stream counts as frozen.
const WATCHDOG_TICKS: u32 = 5;

/// Where a stream stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Opening the stream (first time, or again).
    Connecting,
    /// Frames arrive; a run is being recorded.
    Recording,
    /// Waiting before the next attempt.
    Backoff,
    /// Told to stop; the open segment is closed.
    Stopped,
}

/// What to do with the stream's gap record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GapChange {
    /// Open a gap from `from` (no-op if one is open) and set its reason.
    Open {
        from: Timestamp,
        reason: GapReason,
        detail: String,
    },
    /// Recording resumed at `at`.
    Close { at: Timestamp },
}

/// What the status should say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusChange {
    /// A state with its reason (a stable code and a message), or none.
    State {
        state: CameraState,
        reason: Option<(ErrorCode, String)>,
    },
    /// Frames are arriving: recording, with the frame's time and codec.
    Frame {
        at: Timestamp,
        codec: String,
        dimensions: (u32, u32),
        /// Whether to clear a failing state (not while failures are still counted).
        clear: bool,
    },
}

/// The effects of one event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    pub gap: Option<GapChange>,
    pub status: Option<StatusChange>,
    /// Wait this long before the next attempt.
    pub wait: Option<Duration>,
    /// Worth a warning in the log (the first failure, a refused password).
    pub warn: bool,
}

/// The decisions of one stream's recorder.
#[derive(Debug)]
pub struct StreamMachine {
    phase: Phase,
    failures: u32,
    /// Where the current gap starts.
    gap_from: Timestamp,
    /// When the status last heard of a frame.
    status_at: Option<Timestamp>,
    auth_retry: Duration,
    /// The open gap's reason and detail as last told to the catalog: a retry
    /// that fails the same way tells it nothing new (a camera that does not
    /// answer retries every two seconds).
    gap_stated: Option<(GapReason, String)>,
}

fn gap_reason(kind: &StreamErrorKind) -> GapReason {
    match kind {
        StreamErrorKind::Unreachable => GapReason::Unreachable,
        StreamErrorKind::AuthFailed => GapReason::AuthFailed,
        StreamErrorKind::Ended => GapReason::StreamEnded,
        StreamErrorKind::Unusable => GapReason::StreamError,
    }
}

fn error_code(kind: &StreamErrorKind) -> ErrorCode {
    match kind {
        StreamErrorKind::Unreachable => ErrorCode::CameraUnreachable,
        StreamErrorKind::AuthFailed => ErrorCode::CameraAuth,
        StreamErrorKind::Ended | StreamErrorKind::Unusable => ErrorCode::CameraStream,
    }
}

impl StreamMachine {
    /// A recorder starting at `now`. Whatever happened since the newest stored
    /// segment (`last_end`: a stop, a crash) is a gap; `handover` says that the
    /// camera was taken from another node, and how.
    pub fn start(
        last_end: Option<Timestamp>,
        now: Timestamp,
        auth_retry: Duration,
        handover: Option<String>,
    ) -> (StreamMachine, Step) {
        let mut m = StreamMachine {
            phase: Phase::Connecting,
            failures: 0,
            gap_from: last_end.unwrap_or(now),
            status_at: None,
            auth_retry,
            gap_stated: None,
        };
        let step = Step {
            gap: last_end.map(|from| match handover {
                Some(detail) => GapChange::Open {
                    from,
                    reason: GapReason::NodeHandover,
                    detail,
                },
                None => GapChange::Open {
                    from,
                    reason: GapReason::RecorderStopped,
                    detail: "recorder was not running".into(),
                },
            }),
            status: Some(StatusChange::State {
                state: CameraState::Starting,
                reason: None,
            }),
            ..Step::default()
        };
        if let Some(GapChange::Open { reason, detail, .. }) = &step.gap {
            m.gap_stated = Some((*reason, detail.clone()));
        }
        (m, step)
    }

    /// The gap opening (or its reason changing) to tell the catalog, unless it
    /// was told exactly this already.
    fn gap_open(&mut self, from: Timestamp, reason: GapReason, detail: &str) -> Option<GapChange> {
        if self
            .gap_stated
            .as_ref()
            .is_some_and(|(r, d)| *r == reason && d == detail)
        {
            return None;
        }
        self.gap_stated = Some((reason, detail.to_string()));
        Some(GapChange::Open {
            from,
            reason,
            detail: detail.to_string(),
        })
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Opening the stream failed: the gap gets the reason; back off 250 ms doubling
    /// to 2 s, or `auth_retry` after refused credentials (so a wrong password does
    /// not hammer the camera).
    pub fn open_failed(&mut self, kind: &StreamErrorKind, message: &str) -> Step {
        self.failures += 1;
        self.phase = Phase::Backoff;
        let auth = *kind == StreamErrorKind::AuthFailed;
        let state = if auth || self.failures >= 3 {
            CameraState::Failing
        } else {
            CameraState::Reconnecting
        };
        Step {
            gap: self.gap_open(self.gap_from, gap_reason(kind), message),
            status: Some(StatusChange::State {
                state,
                reason: Some((error_code(kind), message.to_string())),
            }),
            wait: Some(if auth {
                self.auth_retry
            } else {
                Duration::from_millis((250u64 << self.failures.min(3)).min(2_000))
            }),
            warn: self.failures == 1 || auth,
        }
    }

    /// The stream is open; frames are awaited.
    pub fn opened(&mut self) {
        self.phase = Phase::Recording;
    }

    /// A run began at `at` (its first key frame): the gap closes and failures are forgotten.
    pub fn run_started(&mut self, at: Timestamp) -> Step {
        self.status_at = None;
        self.gap_stated = None;
        let recovered = self.failures > 0;
        self.failures = 0;
        Step {
            gap: Some(GapChange::Close { at }),
            warn: recovered,
            ..Step::default()
        }
    }

    /// A frame arrived at `now`: the status hears of it a few times a second, no more.
    pub fn frame(
        &mut self,
        now: Timestamp,
        codec: &str,
        dimensions: (u32, u32),
    ) -> Option<StatusChange> {
        if self
            .status_at
            .is_some_and(|t| now.0 - t.0 < STATUS_EVERY_MICROS)
        {
            return None;
        }
        self.status_at = Some(now);
        Some(StatusChange::Frame {
            at: now,
            codec: codec.to_string(),
            dimensions,
            clear: self.failures == 0,
        })
    }

    /// Storing a frame failed: the run ends and the status says why.
    pub fn storing_failed(&mut self, message: &str) -> StatusChange {
        StatusChange::State {
            state: CameraState::Failing,
            reason: Some((ErrorCode::StorageIo, message.to_string())),
        }
    }

    /// The run ended (`end`: the end of what was stored, if known) for `reason`.
    /// A stop ends the machine; anything else opens a gap and retries shortly.
    pub fn run_ended(&mut self, reason: GapReason, detail: &str, end: Timestamp) -> Step {
        self.gap_from = end;
        self.gap_stated = None;
        let gap = self.gap_open(end, reason, detail);
        if reason == GapReason::RecorderStopped {
            self.phase = Phase::Stopped;
            return Step {
                gap,
                ..Step::default()
            };
        }
        self.failures += 1;
        self.phase = Phase::Backoff;
        let code = match reason {
            GapReason::Stalled | GapReason::StreamEnded | GapReason::StreamError => {
                ErrorCode::CameraStream
            }
            GapReason::AuthFailed => ErrorCode::CameraAuth,
            _ => ErrorCode::CameraUnreachable,
        };
        Step {
            gap,
            status: Some(StatusChange::State {
                state: CameraState::Reconnecting,
                reason: Some((code, detail.to_string())),
            }),
            wait: Some(AFTER_RUN),
            warn: true,
        }
    }

    /// The recorder stops for good.
    pub fn stopped(&mut self) -> StatusChange {
        self.phase = Phase::Stopped;
        StatusChange::State {
            state: CameraState::Stopped,
            reason: None,
        }
    }
}

/// Sleeps `d` unless told to stop first; returns whether to stop.
async fn sleep_or_stop(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    mimamori_base::task::sleep_or_stop(d, stop).await
}

/// Carries out a machine's decisions for one stream.
struct Driver<'a> {
    ctx: &'a RecorderContext,
    camera: CameraId,
    name: &'a str,
    stream: StreamKind,
}

impl Driver<'_> {
    async fn gap(&self, change: GapChange) {
        let (camera, stream) = (self.camera, self.stream);
        let row = match change {
            GapChange::Open {
                from,
                reason,
                detail,
            } => {
                let now = self.ctx.clock.now();
                self.ctx.hub.update(camera, stream, now, |s| {
                    *s.gaps.entry(reason.as_str()).or_default() += 1;
                });
                CatalogRow::GapOpen {
                    camera,
                    stream,
                    from,
                    reason,
                    detail,
                }
            }
            GapChange::Close { at } => CatalogRow::GapClose { camera, stream, at },
        };
        if let Err(e) = self.ctx.rows.hand_over(row).await {
            tracing::error!(camera = %self.name, stream = stream.as_str(), "recording a gap: {e}");
        }
    }

    fn status(&self, change: StatusChange) {
        let now = self.ctx.clock.now();
        self.ctx
            .hub
            .update(self.camera, self.stream, now, |s| match change {
                StatusChange::State { state, reason } => {
                    s.state = state;
                    s.reason = reason.map(|(code, m)| (code.to_string(), m));
                }
                StatusChange::Frame {
                    at,
                    codec,
                    dimensions,
                    clear,
                } => {
                    if s.state != CameraState::Failing || clear {
                        s.state = CameraState::Recording;
                        s.reason = None;
                    }
                    s.last_frame_at = Some(at);
                    s.codec = Some(codec);
                    s.dimensions = Some(dimensions);
                }
            });
    }

    /// Adds frames and bytes received to the stream's counters.
    fn count(&self, tally: &mut Tally) {
        if tally.frames == 0 {
            return;
        }
        let now = self.ctx.clock.now();
        self.ctx.hub.update(self.camera, self.stream, now, |s| {
            s.frames += tally.frames;
            s.bytes += tally.bytes;
        });
        *tally = Tally::default();
    }

    async fn apply(&self, step: Step) -> Option<Duration> {
        if let Some(g) = step.gap {
            self.gap(g).await;
        }
        if let Some(s) = step.status {
            self.status(s);
        }
        step.wait
    }
}

/// Frames and bytes received but not yet added to the status (it hears of them
/// a few times a second, not per frame).
#[derive(Default)]
struct Tally {
    frames: u64,
    bytes: u64,
}

/// Records one stream until told to stop: connects, records runs through the
/// segmenter, watches for a frozen stream (`watchdog_seconds` without a frame
/// while the connection stays open), records every gap with its reason and
/// reconnects as the machine decides. On stop the open segment is closed durably.
pub(crate) async fn run_stream(
    ctx: RecorderContext,
    camera: CameraId,
    name: String,
    stream: StreamKind,
    opener: Box<dyn StreamOpener>,
    mut stop: watch::Receiver<bool>,
    handover: Option<String>,
) {
    let d = Driver {
        ctx: &ctx,
        camera,
        name: &name,
        stream,
    };
    let target = opener.describe();
    let live = (stream == StreamKind::Main).then(|| ctx.hub.live_sender(camera));
    let mut seg = Segmenter::new(
        camera,
        stream,
        ctx.store.clone(),
        ctx.rows.clone(),
        ctx.keys.clone(),
        ctx.config.segment_seconds,
        live,
    );
    let catalog = ctx.catalog.clone();
    let asked = tokio::time::timeout(
        crate::rows::CATALOG_PATIENCE,
        ctx.rows
            .ask(async move { catalog.last_segment_end(camera, stream).await }),
    );
    let last_end = match asked.await {
        Ok(Ok(end)) => end,
        Ok(Err(e)) => {
            tracing::error!(camera = %name, "{e}");
            None
        }
        Err(_) => {
            tracing::error!(camera = %name, "catalog unreachable: where this stream's footage ends is not known");
            None
        }
    };
    let auth_retry = Duration::from_secs(u64::from(ctx.config.auth_retry_seconds));
    let (mut m, step) = StreamMachine::start(last_end, ctx.clock.now(), auth_retry, handover);
    d.apply(step).await;
    let watchdog = Duration::from_secs(u64::from(ctx.config.watchdog_seconds.max(1)));
    let mut tally = Tally::default();
    while !*stop.borrow() {
        let opened = tokio::select! {
            r = opener.open() => r,
            _ = stop.changed() => break,
        };
        let mut source = match opened {
            Ok(s) => s,
            Err(e) => {
                let step = m.open_failed(&e.kind, &e.message);
                if step.warn {
                    tracing::warn!(camera = %d.name, stream = stream.as_str(), url = %target, "cannot open stream: {}", e.message);
                }
                let wait = d.apply(step).await.unwrap_or(AFTER_RUN);
                if sleep_or_stop(wait, &mut stop).await {
                    break;
                }
                continue;
            }
        };
        m.opened();
        // The watchdog is one timer per stream ticking at a fraction of its period
        // (not a timer armed and cancelled per frame): the stream counts as frozen
        // after WATCHDOG_TICKS ticks in a row without a frame, that is after
        // between `watchdog` and 5/4 of it.
        let mut watch = tokio::time::interval(watchdog / (WATCHDOG_TICKS - 1));
        watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        watch.reset();
        let mut quiet_ticks = 0u32;
        // Receive frames until the stream ends, fails, freezes or we are told to stop.
        let (reason, detail) = loop {
            let next = tokio::select! {
                biased;
                _ = stop.changed() => break (GapReason::RecorderStopped, "recorder stopped".to_string()),
                r = next_frame(&mut *source) => r,
                _ = watch.tick() => {
                    quiet_ticks += 1;
                    if quiet_ticks >= WATCHDOG_TICKS {
                        break (
                            GapReason::Stalled,
                            format!(
                                "no frame for {} s although the connection is open",
                                watchdog.as_secs()
                            ),
                        );
                    }
                    continue;
                }
            };
            quiet_ticks = 0;
            let frame = match next {
                Ok(None) => {
                    break (
                        GapReason::StreamEnded,
                        "the camera ended the stream".to_string(),
                    );
                }
                Err(e) => break (gap_reason(&e.kind), e.message),
                Ok(Some(frame)) => frame,
            };
            let now = ctx.clock.now();
            let params = frame.params.clone();
            tally.frames += 1;
            tally.bytes += frame.data.len() as u64;
            match seg.push(frame, now).await {
                Ok(Pushed::RunStarted(at)) => {
                    let step = m.run_started(at);
                    if step.warn {
                        tracing::info!(camera = %d.name, stream = stream.as_str(), "recording again");
                    }
                    d.apply(step).await;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(camera = %d.name, stream = stream.as_str(), "storing failed: {e}");
                    seg.abandon_run();
                    d.status(m.storing_failed(&e.to_string()));
                    break (GapReason::StreamError, format!("storing failed: {e}"));
                }
            }
            if let Some(s) = m.frame(now, &params.rfc6381_codec, (params.width, params.height)) {
                d.count(&mut tally);
                d.status(s);
            }
        };
        d.count(&mut tally);
        drop(source);
        let end = match seg.finish_run().await {
            Ok(end) => end,
            Err(e) => {
                tracing::error!(camera = %d.name, stream = stream.as_str(), "closing segment failed: {e}");
                seg.abandon_run();
                None
            }
        };
        let end = end.or(seg.last_end()).unwrap_or(ctx.clock.now());
        let step = m.run_ended(reason, &detail, end);
        if m.phase() == Phase::Stopped {
            d.apply(step).await;
            break;
        }
        tracing::warn!(camera = %d.name, stream = stream.as_str(), reason = reason.as_str(), "{detail}");
        let wait = d.apply(step).await.unwrap_or(AFTER_RUN);
        if sleep_or_stop(wait, &mut stop).await {
            break;
        }
    }
    // The last segments into the object store and the catalog before the
    // stream counts as stopped (a stop commits what was recorded).
    seg.settle(SETTLE_AT_STOP).await;
    d.status(m.stopped());
}

/// How long a stopping stream waits for its segments still on their way to the
/// object store (then they are recovered at the next start, if need be).
const SETTLE_AT_STOP: Duration = Duration::from_secs(20);

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    fn t(secs: i64) -> Timestamp {
        Timestamp::from_secs(1_795_395_600 + secs)
    }

    fn state_of(step: &Step) -> Option<CameraState> {
        match &step.status {
            Some(StatusChange::State { state, .. }) => Some(*state),
            _ => None,
        }
    }

    #[test]
    fn a_restart_after_stored_footage_opens_a_gap_from_its_end() {
        let (m, step) = StreamMachine::start(Some(t(-30)), t(0), Duration::from_secs(30), None);
        assert_eq!(m.phase(), Phase::Connecting);
        assert_eq!(
            step.gap,
            Some(GapChange::Open {
                from: t(-30),
                reason: GapReason::RecorderStopped,
                detail: "recorder was not running".into()
            })
        );
        assert_eq!(state_of(&step), Some(CameraState::Starting));
        let (_, first) = StreamMachine::start(None, t(0), Duration::from_secs(30), None);
        assert_eq!(first.gap, None, "a new camera has no gap yet");
    }

    #[test]
    fn unreachable_cameras_back_off_to_two_seconds_then_fail() {
        let (mut m, _) = StreamMachine::start(None, t(0), Duration::from_secs(30), None);
        let waits: Vec<(u128, Option<CameraState>, bool)> = (0..5)
            .map(|i| {
                let s = m.open_failed(&StreamErrorKind::Unreachable, "connection refused");
                if i == 0 {
                    assert!(matches!(
                        &s.gap,
                        Some(GapChange::Open { from, reason: GapReason::Unreachable, .. }) if *from == t(0)
                    ));
                } else {
                    assert_eq!(s.gap, None, "the catalog was told this already");
                }
                (s.wait.unwrap().as_millis(), state_of(&s), s.warn)
            })
            .collect();
        // Failing another way is told.
        let s = m.open_failed(&StreamErrorKind::AuthFailed, "401 Unauthorized");
        assert!(matches!(
            &s.gap,
            Some(GapChange::Open { from, reason: GapReason::AuthFailed, .. }) if *from == t(0)
        ));
        assert_eq!(
            waits,
            vec![
                (500, Some(CameraState::Reconnecting), true),
                (1000, Some(CameraState::Reconnecting), false),
                (2000, Some(CameraState::Failing), false),
                (2000, Some(CameraState::Failing), false),
                (2000, Some(CameraState::Failing), false),
            ]
        );
        assert_eq!(m.phase(), Phase::Backoff);
    }

    #[test]
    fn refused_credentials_fail_at_once_and_wait_long() {
        let (mut m, _) = StreamMachine::start(None, t(0), Duration::from_secs(30), None);
        let s = m.open_failed(&StreamErrorKind::AuthFailed, "401 Unauthorized");
        assert_eq!(s.wait, Some(Duration::from_secs(30)));
        assert_eq!(state_of(&s), Some(CameraState::Failing));
        assert!(s.warn, "every refusal is logged");
        match s.status {
            Some(StatusChange::State {
                reason: Some((code, _)),
                ..
            }) => {
                assert_eq!(code, ErrorCode::CameraAuth)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_run_closes_the_gap_and_frames_update_the_status_twice_a_second() {
        let (mut m, _) = StreamMachine::start(None, t(0), Duration::from_secs(30), None);
        m.open_failed(&StreamErrorKind::Unreachable, "refused");
        m.opened();
        assert_eq!(m.phase(), Phase::Recording);
        let s = m.run_started(t(3));
        assert_eq!(s.gap, Some(GapChange::Close { at: t(3) }));
        assert!(s.warn, "recovery is logged");
        let mut updates = 0;
        for i in 0..30 {
            // 15 frames a second for two seconds.
            let now = t(3).add_micros(i * S / 15);
            if let Some(StatusChange::Frame { clear, .. }) = m.frame(now, "avc1.64001f", (640, 360))
            {
                assert!(clear, "failures were forgotten when the run began");
                updates += 1;
            }
        }
        assert_eq!(updates, 4);
    }

    #[test]
    fn a_frozen_stream_is_a_stalled_gap_then_a_short_wait() {
        let (mut m, _) = StreamMachine::start(None, t(0), Duration::from_secs(30), None);
        m.opened();
        m.run_started(t(1));
        let s = m.run_ended(GapReason::Stalled, "no frame for 5 s", t(60));
        assert_eq!(
            s.gap,
            Some(GapChange::Open {
                from: t(60),
                reason: GapReason::Stalled,
                detail: "no frame for 5 s".into()
            })
        );
        assert_eq!(s.wait, Some(AFTER_RUN));
        assert_eq!(state_of(&s), Some(CameraState::Reconnecting));
        // The next failure to connect continues the same gap.
        let s = m.open_failed(&StreamErrorKind::Unreachable, "refused");
        assert!(matches!(s.gap, Some(GapChange::Open { from, .. }) if from == t(60)));
    }

    #[test]
    fn stopping_records_the_stop_and_ends_the_machine() {
        let (mut m, _) = StreamMachine::start(None, t(0), Duration::from_secs(30), None);
        m.opened();
        let s = m.run_ended(GapReason::RecorderStopped, "recorder stopped", t(9));
        assert_eq!(m.phase(), Phase::Stopped);
        assert_eq!(s.wait, None);
        assert!(matches!(
            s.gap,
            Some(GapChange::Open {
                reason: GapReason::RecorderStopped,
                ..
            })
        ));
        assert_eq!(
            m.stopped(),
            StatusChange::State {
                state: CameraState::Stopped,
                reason: None
            }
        );
    }
}

/// The driver with fed frames: a scripted camera, the real segmenter, catalog and
/// files in a temporary directory, a simulated wall clock.
#[cfg(test)]
mod driver_tests {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    use futures::future::BoxFuture;
    use mimamori_base::{SimClock, Timestamp};
    use mimamori_catalog::keys::KeyRing;
    use mimamori_catalog::{CameraSource, GapReason, NewCamera, StreamKind};
    use mimamori_storage::SegmentStore;

    use super::*;
    use crate::context::{RecorderConfig, RecorderContext};
    use crate::hub::StatusHub;
    use crate::source::{Frame, FrameSource, StreamError, StreamErrorKind, StreamParams};

    /// What the camera does at each connection attempt.
    enum Attempt {
        Refuse(StreamErrorKind),
        /// Sends these frames, then ends the stream (`true`) or falls silent.
        Send(Vec<Frame>, bool),
    }

    struct ScriptedCamera {
        attempts: Mutex<VecDeque<Attempt>>,
        clock: Arc<SimClock>,
    }

    struct ScriptedStream {
        frames: VecDeque<Frame>,
        ends: bool,
        clock: Arc<SimClock>,
    }

    impl FrameSource for ScriptedStream {
        fn poll_frame(
            &mut self,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<Option<Frame>, StreamError>> {
            use std::task::Poll;
            match self.frames.pop_front() {
                Some(f) => {
                    // A frame every 1/15 s of camera time.
                    self.clock.advance_micros(66_667);
                    Poll::Ready(Ok(Some(f)))
                }
                None if self.ends => Poll::Ready(Ok(None)),
                None => Poll::Pending,
            }
        }
    }

    impl StreamOpener for ScriptedCamera {
        fn open(&self) -> BoxFuture<'_, Result<Box<dyn FrameSource>, StreamError>> {
            Box::pin(async move {
                let next = self.attempts.lock().unwrap().pop_front();
                match next {
                    Some(Attempt::Refuse(kind)) => {
                        Err(StreamError::new(kind, "connection refused"))
                    }
                    Some(Attempt::Send(frames, ends)) => Ok(Box::new(ScriptedStream {
                        frames: frames.into(),
                        ends,
                        clock: self.clock.clone(),
                    })
                        as Box<dyn FrameSource>),
                    // The script is over: the camera never answers again.
                    None => std::future::pending().await,
                }
            })
        }

        fn describe(&self) -> String {
            "scripted".into()
        }
    }

    fn frames(n: i64) -> Vec<Frame> {
        let p = Arc::new(StreamParams {
            rfc6381_codec: "avc1.64001F".into(),
            width: 640,
            height: 360,
            sample_entry: vec![1; 8],
        });
        (0..n)
            .map(|i| Frame {
                pts_90k: i * 6_000,
                key: i % 15 == 0,
                data: vec![i as u8; 200],
                params: p.clone(),
            })
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_refusal_a_run_an_end_and_a_silence_leave_the_right_gaps_and_segments() {
        use std::hash::{BuildHasher, RandomState};
        let dir = std::env::temp_dir().join(format!(
            "mimamori-stream-{}-{}",
            std::process::id(),
            RandomState::new().hash_one(0u8)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let catalog = mimamori_catalog::scratch::new_catalog(&dir).await;
        let t0 = Timestamp::from_secs(1_795_395_600);
        let camera = catalog
            .camera_insert(
                &NewCamera {
                    name: "c".into(),
                    source: CameraSource::TestPattern,
                    record_audio: false,
                },
                t0,
            )
            .await
            .unwrap();
        let clock = Arc::new(SimClock::new(t0));
        let hub = StatusHub::new();
        let store = SegmentStore::open(&dir).unwrap();
        let ctx = RecorderContext {
            catalog: catalog.clone(),
            rows: crate::rows::RowJournal::open(
                catalog.clone(),
                crate::context::CatalogRuntime::new(tokio::runtime::Handle::current()),
                store.clone(),
                clock.clone(),
                &dir.join(crate::rows::JOURNAL_DIR),
            )
            .unwrap(),
            store,
            keys: Arc::new(KeyRing::new(
                catalog.clone(),
                mimamori_crypto::Key::generate(),
            )),
            clock: clock.clone(),
            hub: hub.clone(),
            config: RecorderConfig {
                segment_seconds: 1,
                watchdog_seconds: 1,
                auth_retry_seconds: 30,
                ..RecorderConfig::default()
            },
            runtime: tokio::runtime::Handle::current(),
        };
        let camera_script = ScriptedCamera {
            attempts: Mutex::new(VecDeque::from([
                Attempt::Refuse(StreamErrorKind::Unreachable),
                Attempt::Send(frames(45), true),
                Attempt::Send(Vec::new(), false),
            ])),
            clock: clock.clone(),
        };
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run_stream(
            ctx,
            camera,
            "c".into(),
            StreamKind::Main,
            Box::new(camera_script),
            stop_rx,
            None,
        ));
        // Wait until the silent connection has been declared stalled.
        let all = (Timestamp(0), Timestamp(i64::MAX));
        for _ in 0..100 {
            let gaps = catalog
                .gaps_overlapping(camera, StreamKind::Main, all.0, all.1)
                .await
                .unwrap();
            if gaps.last().is_some_and(|g| g.reason == GapReason::Stalled) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        stop.send(true).unwrap();
        task.await.unwrap();

        let gaps = catalog
            .gaps_overlapping(camera, StreamKind::Main, all.0, all.1)
            .await
            .unwrap();
        let segments = catalog
            .stream_segments(camera, StreamKind::Main)
            .await
            .unwrap();
        assert!(
            segments.len() >= 2,
            "segments of about a second: {}",
            segments.len()
        );
        let recorded: i64 = segments.iter().map(|s| s.recorded.frames).sum();
        assert_eq!(recorded, 45, "every fed frame is stored");
        let run_start = segments[0].recorded.start;
        let run_end = segments.last().unwrap().recorded.end;
        assert_eq!(gaps.len(), 2, "{gaps:?}");
        // The refusal: from the start until the run began.
        assert_eq!(gaps[0].reason, GapReason::Unreachable);
        assert_eq!((gaps[0].start, gaps[0].end), (t0, Some(run_start)));
        // The end of the stream, then the silence: one gap from the end of the run,
        // still open, with the latest reason.
        assert_eq!(gaps[1].reason, GapReason::Stalled);
        assert_eq!((gaps[1].start, gaps[1].end), (run_end, None));
        let status = hub.get(camera, StreamKind::Main).unwrap();
        assert_eq!(status.state, CameraState::Stopped);
        let _ = std::fs::remove_dir_all(dir);
    }
}
