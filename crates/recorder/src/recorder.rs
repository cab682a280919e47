//! The long-lived recording tasks: one per camera stream. Each connects,
//! records, watches for frozen streams, records gaps with their reasons, and
//! reconnects with a backoff capped at 2 s (slower after refused credentials, so
//! a wrong password does not hammer the camera).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use mimamori_base::{CameraId, ErrorCode, SharedClock};
use mimamori_catalog::{Camera, CameraSource, Catalog, GapReason, StreamKind};
use mimamori_storage::SegmentStore;
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use crate::hub::{CameraState, StatusHub};
use crate::rtsp::RtspOpener;
use crate::segmenter::Segmenter;
use crate::source::{StreamErrorKind, StreamOpener};
use crate::test_pattern::TestPatternOpener;

/// How often the status hub hears of arriving frames.
const STATUS_EVERY_MICROS: i64 = 500_000;

/// Recorder settings (from the config file).
#[derive(Clone, Debug)]
pub struct RecorderConfig {
    /// Target segment length; segments are cut at the first key frame after it.
    pub segment_seconds: u32,
    /// A stream with no frame for this long is declared stalled.
    pub watchdog_seconds: u32,
    /// Wait after the camera refused our credentials.
    pub auth_retry_seconds: u32,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig {
            segment_seconds: 60,
            watchdog_seconds: 5,
            auth_retry_seconds: 30,
        }
    }
}

/// Everything a recorder task needs.
#[derive(Clone)]
pub struct RecorderContext {
    pub catalog: Catalog,
    pub store: SegmentStore,
    pub keys: Arc<mimamori_catalog::keys::KeyRing>,
    pub clock: SharedClock,
    pub hub: Arc<StatusHub>,
    pub config: RecorderConfig,
    /// Where recorder tasks run (see [`dedicated_runtime`]).
    pub runtime: tokio::runtime::Handle,
}

/// A single-threaded runtime on its own OS thread for the recorder tasks: they are
/// many, small and I/O-bound, and one thread avoids the cross-thread wake-ups of a
/// work-stealing scheduler (measured: about a seventh less CPU per stream). The
/// thread lives as long as the process.
pub fn dedicated_runtime() -> std::io::Result<tokio::runtime::Handle> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let handle = rt.handle().clone();
    std::thread::Builder::new()
        .name("recorders".into())
        .spawn(move || rt.block_on(std::future::pending::<()>()))?;
    Ok(handle)
}

/// A stream's opener, or why its URL can never work.
type OpenerOrError = Result<Box<dyn StreamOpener>, String>;

struct Running {
    source: CameraSource,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// The set of running recorders. Cameras are started, restarted and stopped here.
pub struct RecorderSet {
    ctx: RecorderContext,
    running: Mutex<HashMap<CameraId, Running>>,
}

/// Starts one recorder per stream of every camera. Stop them with [`RecorderSet::stop_all`]:
/// each closes its open segment durably and records a `recorder_stopped` gap.
pub async fn start_recorders(ctx: RecorderContext, cameras: &[Camera]) -> Arc<RecorderSet> {
    let set = Arc::new(RecorderSet {
        ctx,
        running: Mutex::new(HashMap::new()),
    });
    for c in cameras {
        set.start(c).await;
    }
    set
}

impl RecorderSet {
    /// Starts (or restarts, after a settings change) the recorders of a camera.
    pub async fn start(&self, camera: &Camera) {
        self.stop(camera.id).await;
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let streams: Vec<(StreamKind, OpenerOrError)> = match &camera.source {
            CameraSource::TestPattern => vec![(
                StreamKind::Main,
                Ok(Box::new(TestPatternOpener::new(self.ctx.clock.clone()))
                    as Box<dyn StreamOpener>),
            )],
            CameraSource::Rtsp {
                main_url,
                sub_url,
                username,
                password,
            } => {
                // Stored sealed with the master key; opened only here, in memory.
                let password = match password.as_deref().map(|p| self.ctx.keys.open_secret(p)) {
                    Some(Ok(p)) => Some(p),
                    Some(Err(e)) => {
                        tracing::error!(camera = %camera.id, "{e}");
                        None
                    }
                    None => None,
                };
                let mut v = vec![(
                    StreamKind::Main,
                    RtspOpener::new(main_url, username.as_deref(), password.as_deref())
                        .map(|o| Box::new(o) as Box<dyn StreamOpener>)
                        .map_err(|e| e.message),
                )];
                if let Some(sub) = sub_url.as_deref().filter(|s| !s.is_empty()) {
                    v.push((
                        StreamKind::Sub,
                        RtspOpener::new(sub, username.as_deref(), password.as_deref())
                            .map(|o| Box::new(o) as Box<dyn StreamOpener>)
                            .map_err(|e| e.message),
                    ));
                }
                v
            }
        };
        for (stream, opener) in streams {
            let ctx = self.ctx.clone();
            let stop_rx = stop_rx.clone();
            let id = camera.id;
            let name = camera.name.clone();
            tasks.push(self.ctx.runtime.spawn(async move {
                match opener {
                    Ok(o) => run_stream(ctx, id, name, stream, o, stop_rx).await,
                    Err(msg) => {
                        // A URL we can never use: say so and do not retry.
                        let now = ctx.clock.now();
                        tracing::error!(camera = %name, stream = stream.as_str(), "{msg}");
                        ctx.hub.update(id, stream, now, |s| {
                            s.state = CameraState::Failing;
                            s.reason = Some((ErrorCode::CameraStream.to_string(), msg.clone()));
                        });
                    }
                }
            }));
        }
        self.running.lock().await.insert(
            camera.id,
            Running {
                source: camera.source.clone(),
                stop,
                tasks,
            },
        );
    }

    /// Stops a camera's recorders and waits until their segments are closed.
    pub async fn stop(&self, camera: CameraId) {
        let running = self.running.lock().await.remove(&camera);
        if let Some(r) = running {
            let _ = r.stop.send(true);
            for t in r.tasks {
                let _ = t.await;
            }
        }
    }

    /// Brings the running recorders in line with the catalog's cameras: starts new
    /// ones, restarts those whose source changed, stops removed ones.
    pub async fn sync(&self, cameras: &[Camera]) {
        let (stale, missing): (Vec<CameraId>, Vec<&Camera>) = {
            let running = self.running.lock().await;
            let stale = running
                .iter()
                .filter(|(id, r)| !cameras.iter().any(|c| c.id == **id && c.source == r.source))
                .map(|(id, _)| *id)
                .collect();
            let missing = cameras
                .iter()
                .filter(|c| running.get(&c.id).is_none_or(|r| r.source != c.source))
                .collect();
            (stale, missing)
        };
        for id in stale {
            self.stop(id).await;
            if !cameras.iter().any(|c| c.id == id) {
                self.ctx.hub.remove(id);
            }
        }
        for c in missing {
            self.start(c).await;
        }
    }

    /// Stops everything, durably closing open segments.
    pub async fn stop_all(&self) {
        let all: Vec<Running> = self.running.lock().await.drain().map(|(_, r)| r).collect();
        for r in &all {
            let _ = r.stop.send(true);
        }
        for r in all {
            for t in r.tasks {
                let _ = t.await;
            }
        }
    }

    pub fn hub(&self) -> &Arc<StatusHub> {
        &self.ctx.hub
    }
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

/// Sleeps `d` unless told to stop first; returns whether to stop.
async fn sleep_or_stop(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

async fn run_stream(
    ctx: RecorderContext,
    camera: CameraId,
    name: String,
    stream: StreamKind,
    opener: Box<dyn StreamOpener>,
    mut stop: watch::Receiver<bool>,
) {
    let target = opener.describe();
    let live = (stream == StreamKind::Main).then(|| ctx.hub.live_sender(camera));
    let mut seg = Segmenter::new(
        camera,
        stream,
        ctx.store.clone(),
        ctx.catalog.clone(),
        ctx.keys.clone(),
        ctx.config.segment_seconds,
        live,
    );
    let now = ctx.clock.now();
    ctx.hub
        .update(camera, stream, now, |s| s.state = CameraState::Starting);
    // Whatever happened since the newest stored segment (a stop, a crash) is a gap.
    let mut gap_from = match ctx.catalog.last_segment_end(camera, stream).await {
        Ok(Some(end)) => {
            log_catalog(
                ctx.catalog
                    .gap_open(
                        camera,
                        stream,
                        end,
                        GapReason::RecorderStopped,
                        "recorder was not running",
                    )
                    .await,
            );
            end
        }
        Ok(None) => now,
        Err(e) => {
            tracing::error!(camera = %name, "{e}");
            now
        }
    };
    let watchdog = Duration::from_secs(u64::from(ctx.config.watchdog_seconds.max(1)));
    let mut failures: u32 = 0;
    loop {
        if *stop.borrow() {
            break;
        }
        let opened = tokio::select! {
            r = opener.open() => r,
            _ = stop.changed() => break,
        };
        let mut source = match opened {
            Ok(s) => s,
            Err(e) => {
                failures += 1;
                let now = ctx.clock.now();
                let reason = gap_reason(&e.kind);
                log_catalog(
                    ctx.catalog
                        .gap_open(camera, stream, gap_from, reason, &e.message)
                        .await,
                );
                log_catalog(
                    ctx.catalog
                        .gap_set_reason(camera, stream, reason, &e.message)
                        .await,
                );
                let auth = e.kind == StreamErrorKind::AuthFailed;
                if failures == 1 || auth {
                    tracing::warn!(camera = %name, stream = stream.as_str(), url = %target, "cannot open stream: {}", e.message);
                }
                ctx.hub.update(camera, stream, now, |s| {
                    s.state = if auth || failures >= 3 {
                        CameraState::Failing
                    } else {
                        CameraState::Reconnecting
                    };
                    s.reason = Some((error_code(&e.kind).to_string(), e.message.clone()));
                });
                let backoff = if auth {
                    Duration::from_secs(u64::from(ctx.config.auth_retry_seconds))
                } else {
                    Duration::from_millis((250u64 << failures.min(3)).min(2_000))
                };
                if sleep_or_stop(backoff, &mut stop).await {
                    break;
                }
                continue;
            }
        };
        // Receive frames until the stream ends, fails, freezes or we are told to stop.
        let mut status_at: Option<mimamori_base::Timestamp> = None;
        let (reason, detail) = loop {
            let next = tokio::select! {
                r = tokio::time::timeout(watchdog, source.next_frame()) => r,
                _ = stop.changed() => break (GapReason::RecorderStopped, "recorder stopped".to_string()),
            };
            match next {
                Err(_) => {
                    break (
                        GapReason::Stalled,
                        format!(
                            "no frame for {} s although the connection is open",
                            watchdog.as_secs()
                        ),
                    );
                }
                Ok(Ok(None)) => {
                    break (
                        GapReason::StreamEnded,
                        "the camera ended the stream".to_string(),
                    );
                }
                Ok(Err(e)) => break (gap_reason(&e.kind), e.message),
                Ok(Ok(Some(frame))) => {
                    let now = ctx.clock.now();
                    let params = frame.params.clone();
                    match seg.push(frame, now).await {
                        Ok(crate::segmenter::Pushed::RunStarted(at)) => {
                            status_at = None;
                            log_catalog(ctx.catalog.gap_close(camera, stream, at).await);
                            if failures > 0 {
                                tracing::info!(camera = %name, stream = stream.as_str(), "recording again");
                            }
                            failures = 0;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::error!(camera = %name, stream = stream.as_str(), "storing failed: {e}");
                            seg.abandon_run();
                            ctx.hub.update(camera, stream, now, |s| {
                                s.state = CameraState::Failing;
                                s.reason = Some((ErrorCode::StorageIo.to_string(), e.to_string()));
                            });
                            break (GapReason::StreamError, format!("storing failed: {e}"));
                        }
                    }
                    // The status needs no more than a few updates a second.
                    if status_at.is_none_or(|t| now.0 - t.0 >= STATUS_EVERY_MICROS) {
                        status_at = Some(now);
                        ctx.hub.update(camera, stream, now, |s| {
                            if s.state != CameraState::Failing || failures == 0 {
                                s.state = CameraState::Recording;
                                s.reason = None;
                            }
                            s.last_frame_at = Some(now);
                            s.codec = Some(params.rfc6381_codec.clone());
                            s.dimensions = Some((params.width, params.height));
                        });
                    }
                }
            }
        };
        drop(source);
        let now = ctx.clock.now();
        let end = match seg.finish_run().await {
            Ok(end) => end,
            Err(e) => {
                tracing::error!(camera = %name, stream = stream.as_str(), "closing segment failed: {e}");
                seg.abandon_run();
                None
            }
        };
        gap_from = end.or(seg.last_end()).unwrap_or(now);
        log_catalog(
            ctx.catalog
                .gap_open(camera, stream, gap_from, reason, &detail)
                .await,
        );
        if reason == GapReason::RecorderStopped {
            break;
        }
        tracing::warn!(camera = %name, stream = stream.as_str(), reason = reason.as_str(), "{detail}");
        failures += 1;
        let code = match reason {
            GapReason::Stalled | GapReason::StreamEnded | GapReason::StreamError => {
                ErrorCode::CameraStream
            }
            GapReason::AuthFailed => ErrorCode::CameraAuth,
            _ => ErrorCode::CameraUnreachable,
        };
        ctx.hub.update(camera, stream, now, |s| {
            s.state = CameraState::Reconnecting;
            s.reason = Some((code.to_string(), detail.clone()));
        });
        if sleep_or_stop(Duration::from_millis(250), &mut stop).await {
            break;
        }
    }
    let now = ctx.clock.now();
    ctx.hub.update(camera, stream, now, |s| {
        s.state = CameraState::Stopped;
        s.reason = None;
    });
}

fn log_catalog<T>(r: Result<T, mimamori_catalog::CatalogError>) {
    if let Err(e) = r {
        tracing::error!("catalog: {e}");
    }
}
