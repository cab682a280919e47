//! Shared, in-memory view of the recorders: each stream's status for the UI and
//! API, and a broadcast of frames for live viewers. Holds nothing durable.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use mimamori_base::{CameraId, Timestamp};
use mimamori_catalog::StreamKind;
use tokio::sync::broadcast;

use crate::source::StreamParams;

/// What a stream's recorder is doing.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CameraState {
    /// Connecting for the first time.
    Starting,
    /// Frames are arriving and being stored.
    Recording,
    /// Lost the stream; trying again shortly.
    Reconnecting,
    /// Repeated failures or refused credentials; retrying slowly.
    Failing,
    /// Not recording (camera removed or recorder shut down).
    Stopped,
}

impl CameraState {
    pub fn as_str(self) -> &'static str {
        match self {
            CameraState::Starting => "starting",
            CameraState::Recording => "recording",
            CameraState::Reconnecting => "reconnecting",
            CameraState::Failing => "failing",
            CameraState::Stopped => "stopped",
        }
    }
}

#[derive(Clone, Debug)]
pub struct CameraStatus {
    pub state: CameraState,
    /// Why it is not recording: a stable code and a message (no credentials).
    pub reason: Option<(String, String)>,
    pub last_frame_at: Option<Timestamp>,
    pub since: Timestamp,
    pub codec: Option<String>,
    pub dimensions: Option<(u32, u32)>,
    /// Frames and bytes received since this process started (for `/metrics`).
    pub frames: u64,
    pub bytes: u64,
    /// Gaps opened since this process started, by reason code.
    pub gaps: BTreeMap<&'static str, u64>,
}

/// One frame for live viewers, with its duration known.
#[derive(Clone, Debug)]
pub struct LiveFrame {
    pub pts_90k: i64,
    pub duration_90k: u32,
    pub key: bool,
    pub data: Arc<Vec<u8>>,
    pub params: Arc<StreamParams>,
}

#[derive(Debug, Default)]
pub struct StatusHub {
    statuses: RwLock<HashMap<(CameraId, StreamKind), CameraStatus>>,
    live: Mutex<HashMap<CameraId, broadcast::Sender<Arc<LiveFrame>>>>,
}

impl StatusHub {
    pub fn new() -> Arc<StatusHub> {
        Arc::new(StatusHub::default())
    }

    pub fn set(&self, camera: CameraId, stream: StreamKind, status: CameraStatus) {
        self.statuses
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((camera, stream), status);
    }

    /// Updates a status in place (creating a `Starting` one if absent).
    pub fn update(
        &self,
        camera: CameraId,
        stream: StreamKind,
        now: Timestamp,
        f: impl FnOnce(&mut CameraStatus),
    ) {
        let mut map = self
            .statuses
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let s = map.entry((camera, stream)).or_insert_with(|| CameraStatus {
            state: CameraState::Starting,
            reason: None,
            last_frame_at: None,
            since: now,
            codec: None,
            dimensions: None,
            frames: 0,
            bytes: 0,
            gaps: BTreeMap::new(),
        });
        let before = s.state;
        f(s);
        if s.state != before {
            s.since = now;
        }
    }

    pub fn get(&self, camera: CameraId, stream: StreamKind) -> Option<CameraStatus> {
        self.statuses
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(camera, stream))
            .cloned()
    }

    /// Every stream's status, by camera and stream.
    pub fn all(&self) -> Vec<(CameraId, StreamKind, CameraStatus)> {
        let mut v: Vec<_> = self
            .statuses
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|((c, k), s)| (*c, *k, s.clone()))
            .collect();
        v.sort_by_key(|(c, k, _)| (*c, k.as_str()));
        v
    }

    pub fn remove(&self, camera: CameraId) {
        self.statuses
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(c, _), _| *c != camera);
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&camera);
    }

    /// The sender live frames of a camera's main stream go to.
    pub fn live_sender(&self, camera: CameraId) -> broadcast::Sender<Arc<LiveFrame>> {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(camera)
            .or_insert_with(|| broadcast::channel(64).0)
            .clone()
    }

    pub fn subscribe_live(&self, camera: CameraId) -> broadcast::Receiver<Arc<LiveFrame>> {
        self.live_sender(camera).subscribe()
    }
}
