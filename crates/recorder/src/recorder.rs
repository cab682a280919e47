//! The set of recorders: one task per camera stream (see [`crate::stream`]),
//! started, restarted after a settings change and stopped here, on a dedicated
//! thread; and the task that keeps them in line with the catalog's cameras.
//!
//! Several nodes may record for one catalog: a node records the cameras whose
//! lease it holds (`camera_lease`, see [`mimamori_catalog::nodes`]). Every round it
//! says it lives, renews its leases, and takes cameras nobody holds — a new one,
//! or one whose node stopped renewing — when no live node records fewer cameras
//! than it does. A camera taken from another node starts with a `node_handover`
//! gap naming both nodes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use mimamori_base::task::sleep_or_stop;
use mimamori_base::{CameraId, ErrorCode, TaskHandle, Timestamp};
use mimamori_catalog::nodes::Taken;
use mimamori_catalog::{Camera, CameraSource, Engine, StreamKind};
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
/// How long before midnight the next day's data keys are made.
const NEXT_DAY_KEYS_BEFORE_US: i64 = 3_600_000_000;

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
    started: Timestamp,
    /// Cameras just taken from another node, with that node's name.
    handed_over: std::sync::Mutex<HashMap<CameraId, String>>,
}

/// Starts one recorder per stream of every camera this node holds or takes (see
/// the module's comment). Stop them with [`RecorderSet::stop_all`]: each closes its
/// open segment durably and records a `recorder_stopped` gap.
pub async fn start_recorders(ctx: RecorderContext, cameras: &[Camera]) -> Arc<RecorderSet> {
    let set = Arc::new(RecorderSet {
        started: ctx.clock.now(),
        ctx,
        running: Mutex::new(HashMap::new()),
        handed_over: std::sync::Mutex::default(),
    });
    set.sync(cameras).await;
    set
}

impl RecorderSet {
    /// This node's name in the catalog.
    pub fn node(&self) -> &str {
        &self.ctx.config.node
    }

    /// One round with the catalog's leases: this node lives, keeps what it holds
    /// and takes cameras nobody holds while no live node holds fewer. Returns the
    /// cameras it holds.
    async fn lease_round(
        &self,
        cameras: &[Camera],
    ) -> Result<HashSet<CameraId>, mimamori_catalog::CatalogError> {
        if !self.ctx.config.records {
            return Ok(HashSet::new());
        }
        let catalog = &self.ctx.catalog;
        let node = self.ctx.config.node.as_str();
        let now = self.ctx.clock.now();
        let lease = i64::from(self.ctx.config.lease_seconds) * 1_000_000;
        let until = Timestamp(now.0 + lease);
        catalog
            .node_heartbeat(node, &self.ctx.config.node_address, self.started, now)
            .await?;
        // With the leases, what this node sees of its cameras, for the others'
        // pages. A SQLite catalog has one node, whose pages read the hub itself.
        let statuses: Vec<(CameraId, String)> = if catalog.engine() == Engine::Sqlite {
            Vec::new()
        } else {
            cameras
                .iter()
                .filter_map(|c| {
                    let s = self.ctx.hub.get(c.id, mimamori_catalog::StreamKind::Main)?;
                    Some((c.id, s.report()))
                })
                .collect()
        };
        let mut held: HashSet<CameraId> = catalog
            .renew_camera_leases(node, now, until, &statuses)
            .await?
            .into_iter()
            .collect();
        let leases = catalog.camera_leases().await?;
        let wanted: HashSet<CameraId> = cameras.iter().map(|c| c.id).collect();
        // What every other live node records: its live leases of cameras still here.
        let mut others: HashMap<String, usize> = HashMap::new();
        for n in catalog.recorder_nodes().await? {
            if n.name != node && n.heartbeat_at.0 >= now.0 - lease {
                others.insert(n.name, 0);
            }
        }
        for l in &leases {
            if l.node != node && l.until >= now && wanted.contains(&l.camera) {
                *others.entry(l.node.clone()).or_default() += 1;
            }
        }
        let fewest_elsewhere = others.values().copied().min().unwrap_or(usize::MAX);
        for c in cameras {
            let live_elsewhere = leases
                .iter()
                .any(|l| l.camera == c.id && l.node != node && l.until >= now);
            if held.contains(&c.id) || live_elsewhere || held.len() > fewest_elsewhere {
                continue;
            }
            match catalog.take_camera_lease(c.id, node, now, until).await? {
                Taken::New | Taken::Again => {}
                Taken::From(previous) => {
                    tracing::warn!(camera = %c.name, from = %previous, "camera taken over from a node that stopped renewing");
                    self.handed_over
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(c.id, previous);
                }
                Taken::Held(_) => continue,
            }
            held.insert(c.id);
        }
        Ok(held)
    }

    /// Starts (or restarts, after a settings change) the recorders of a camera.
    pub async fn start(&self, camera: &Camera) {
        self.stop(camera.id).await;
        let handed_over_from = self
            .handed_over
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&camera.id);
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
            let handover = handed_over_from.as_ref().map(|from| {
                format!(
                    "{from} stopped renewing its lease; {} records from here",
                    self.ctx.config.node
                )
            });
            tasks.push(self.ctx.runtime.spawn(async move {
                match opener {
                    Ok(o) => run_stream(ctx, id, name, stream, o, stop_rx, handover).await,
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

    /// Brings the running recorders in line with the catalog's cameras and this
    /// node's leases: starts cameras it holds or takes, restarts those whose source
    /// changed, stops removed ones and those another node took. With the catalog
    /// unreachable, the cameras recording go on recording.
    pub async fn sync(&self, cameras: &[Camera]) {
        let held = match self.lease_round(cameras).await {
            Ok(held) => held,
            Err(e) => {
                tracing::error!("camera leases: {e}; the cameras recording here go on");
                self.running.lock().await.keys().copied().collect()
            }
        };
        let mine: Vec<Camera> = cameras
            .iter()
            .filter(|c| held.contains(&c.id))
            .cloned()
            .collect();
        self.sync_running(&mine).await;
        self.prepare_next_day_keys(&held).await;
    }

    /// In the last hour of a (Japan-time) day, the next day's data keys of the
    /// cameras recorded here are made and kept, so that recording crosses
    /// midnight even when the catalog does not answer then.
    async fn prepare_next_day_keys(&self, cameras: &HashSet<CameraId>) {
        let now = self.ctx.clock.now();
        let (_, day_end) = mimamori_catalog::keys::key_period(now);
        if day_end.0 - now.0 > NEXT_DAY_KEYS_BEFORE_US {
            return;
        }
        for camera in cameras {
            if let Err(e) = self.ctx.keys.key_for_write(*camera, day_end, now).await {
                tracing::warn!(camera = %camera, "making the next day's data key: {e}");
            }
        }
    }

    /// Starts new cameras, restarts those whose source changed, stops the others.
    async fn sync_running(&self, cameras: &[Camera]) {
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

    /// Stops everything, durably closing open segments, and lets go of this
    /// node's cameras so that another node may take them at once.
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
        let now = self.ctx.clock.now();
        if let Err(e) = self
            .ctx
            .catalog
            .release_camera_leases(&self.ctx.config.node, now)
            .await
        {
            tracing::error!(
                "releasing this node's cameras: {e}; others take them when the leases run out"
            );
        }
    }

    pub fn hub(&self) -> &Arc<StatusHub> {
        &self.ctx.hub
    }

    /// What this node keeps for the catalog (rows waiting while it is unreachable).
    pub fn catalog_journal(&self) -> crate::rows::JournalHealth {
        self.ctx.rows.health()
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
