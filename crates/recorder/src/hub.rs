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
    const ALL: [CameraState; 5] = [
        CameraState::Starting,
        CameraState::Recording,
        CameraState::Reconnecting,
        CameraState::Failing,
        CameraState::Stopped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CameraState::Starting => "starting",
            CameraState::Recording => "recording",
            CameraState::Reconnecting => "reconnecting",
            CameraState::Failing => "failing",
            CameraState::Stopped => "stopped",
        }
    }

    pub fn parse(s: &str) -> Option<CameraState> {
        CameraState::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// A stream's status as its node reports it to the other nodes (JSON in the
/// camera's lease, renewed every round): what the camera pages show. Counters
/// stay with the node (its `/metrics`).
#[derive(serde::Serialize, serde::Deserialize)]
struct Reported {
    state: String,
    reason: Option<(String, String)>,
    since: i64,
    last_frame_at: Option<i64>,
    codec: Option<String>,
    dimensions: Option<(u32, u32)>,
}

impl CameraStatus {
    /// This status as reported to the other nodes.
    pub fn report(&self) -> String {
        serde_json::to_string(&Reported {
            state: self.state.as_str().into(),
            reason: self.reason.clone(),
            since: self.since.0,
            last_frame_at: self.last_frame_at.map(|t| t.0),
            codec: self.codec.clone(),
            dimensions: self.dimensions,
        })
        .unwrap_or_default()
    }

    /// A status another node reported (`None` for none, or one not understood).
    pub fn from_report(json: &str) -> Option<CameraStatus> {
        let r: Reported = serde_json::from_str(json).ok()?;
        Some(CameraStatus {
            state: CameraState::parse(&r.state)?,
            reason: r.reason,
            last_frame_at: r.last_frame_at.map(Timestamp),
            since: Timestamp(r.since),
            codec: r.codec,
            dimensions: r.dimensions,
            frames: 0,
            bytes: 0,
            gaps: BTreeMap::new(),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    // Issue 12: a node's pages show the status of cameras another node records,
    // as that node reported it.
    #[test]
    fn a_reported_status_reads_back_as_it_was() {
        let status = CameraStatus {
            state: CameraState::Reconnecting,
            reason: Some(("camera_unreachable".into(), "接続できません".into())),
            last_frame_at: Some(Timestamp(1_700_000_000_000_000)),
            since: Timestamp(1_700_000_001_000_000),
            codec: Some("avc1.640028".into()),
            dimensions: Some((1280, 720)),
            frames: 9,
            bytes: 99,
            gaps: BTreeMap::new(),
        };
        let back = CameraStatus::from_report(&status.report()).unwrap();
        assert_eq!(back.state, CameraState::Reconnecting);
        assert_eq!(back.reason, status.reason);
        assert_eq!(
            (back.last_frame_at, back.since),
            (status.last_frame_at, status.since)
        );
        assert_eq!(
            (back.codec, back.dimensions),
            (status.codec, status.dimensions)
        );
        assert!(CameraStatus::from_report("").is_none());
        assert!(CameraStatus::from_report(r#"{"state":"dancing","since":0}"#).is_none());
    }
}
