//! The set of recorders: one task per camera stream (see [`crate::stream`]),
//! started, restarted after a settings change and stopped here, on a dedicated
//! thread; and the task that keeps them in line with the catalog's cameras.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use mimamori_base::task::sleep_or_stop;
use mimamori_base::{CameraId, ErrorCode, TaskHandle};
use mimamori_catalog::{Camera, CameraSource, StreamKind};
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use crate::context::RecorderContext;
use crate::hub::{CameraState, StatusHub};
use crate::rtsp::RtspOpener;
use crate::source::StreamOpener;
use crate::stream::run_stream;
use crate::test_pattern::TestPatternOpener;

/// How often the camera sync looks for cameras added or changed elsewhere.
const SYNC_EVERY: Duration = Duration::from_secs(3);

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

/// Starts the camera sync: every few seconds the recorders are brought in line
/// with the catalog's cameras, so that changes made by the command line while
/// the server runs are recorded. [`TaskHandle::stop`] ends it.
pub fn start_camera_sync(set: Arc<RecorderSet>) -> TaskHandle {
    TaskHandle::spawn(move |mut stop| async move {
        loop {
            if sleep_or_stop(SYNC_EVERY, &mut stop).await {
                return;
            }
            match set.ctx.catalog.cameras().await {
                Ok(c) => set.sync(&c).await,
                Err(e) => tracing::error!("{e}"),
            }
        }
    })
}
