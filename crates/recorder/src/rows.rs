//! Rows on their way to the catalog (issue 12 "The catalog down"): a closed
//! segment's row and a stream's gap changes go to the catalog at once when it
//! answers. When it does not answer within [`CATALOG_PATIENCE`], or while earlier
//! rows still wait, they are kept durably in this node's local journal
//! (`catalog-journal/` in the data directory, one file per row, numbered in the
//! order they were made) and handed over in that order as soon as the catalog
//! answers again ([`RowJournal::start_replayer`], and at start before recovery).
//!
//! Recording therefore never waits on the catalog longer than that, and nothing
//! recorded is lost while it is away: a segment's file is durable (on an object
//! store, uploaded) before its row exists, and the row stays here until the
//! catalog holds it. Handing a row over again is harmless: a segment the catalog
//! already holds (its reply lost with the connection) is recognised by its file
//! name, and gap changes repeated in order change nothing. A row the catalog
//! refuses for a reason other than being away is moved to `catalog-journal/refused/`
//! and logged, never retried for ever and never deleted.
//!
//! While the installation moves to another catalog (`mimamori migrate` on a
//! running site), [`RowJournal::hold`] keeps every row here, as if the catalog
//! were away, so that the old catalog stays as it was copied; the rows go to the
//! new catalog when the server starts on it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use mimamori_base::task::sleep_or_stop;
use mimamori_base::{CameraId, SharedClock, TaskHandle, Timestamp};
use mimamori_catalog::{Catalog, CatalogError, GapReason, NewSegment, StreamKind};
use mimamori_crypto::frames::DigestKind;
use mimamori_storage::SegmentStore;
use serde::{Deserialize, Serialize};

use crate::context::CatalogRuntime;

/// How long recording waits for the catalog before keeping a row locally.
pub const CATALOG_PATIENCE: Duration = Duration::from_secs(2);
/// Why a row went to the journal instead of the catalog.
enum Kept {
    /// The installation is moving to another catalog ([`RowJournal::hold`]).
    Held,
    /// The catalog did not answer in time (the error).
    Unreachable(String),
    /// Earlier rows still wait: this one goes after them.
    EarlierRowsWait,
}
/// How often the replayer looks whether the catalog answers again.
const REPLAY_EVERY: Duration = Duration::from_secs(1);
/// The journal's directory inside the data directory.
pub const JOURNAL_DIR: &str = "catalog-journal";
const REFUSED_DIR: &str = "refused";
const FORMAT: u32 = 1;

/// A change for the catalog made by a recorder.
#[derive(Clone, Debug)]
pub enum CatalogRow {
    /// A segment closed (its file durable).
    Segment(NewSegment),
    /// A stream stopped being recorded at `from` for `reason`.
    GapOpen {
        camera: CameraId,
        stream: StreamKind,
        from: Timestamp,
        reason: GapReason,
        detail: String,
    },
    /// The stream's open gap ended at `at`.
    GapClose {
        camera: CameraId,
        stream: StreamKind,
        at: Timestamp,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum RowError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("keeping a row for the catalog in {path}: {source}")]
    Journal {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What the journal says about the catalog, for the status and `/readyz`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JournalHealth {
    /// Rows kept here that the catalog does not hold yet.
    pub waiting: u64,
    /// Since when the catalog has not answered (none while it answers).
    pub unreachable_since: Option<Timestamp>,
    /// Why, last time.
    pub last_error: Option<String>,
}

struct State {
    next: u64,
    health: JournalHealth,
}

/// This node's journal of rows for the catalog (see the module's comment).
pub struct RowJournal {
    catalog: Catalog,
    catalog_runtime: CatalogRuntime,
    store: SegmentStore,
    clock: SharedClock,
    dir: PathBuf,
    state: Mutex<State>,
    /// One replay at a time, in order.
    replaying: tokio::sync::Mutex<()>,
    kick: tokio::sync::Notify,
    /// Held: every row is kept here, none goes to the catalog. A row being
    /// handed over directly holds the read side, so holding waits for it.
    held: tokio::sync::RwLock<bool>,
}

impl std::fmt::Debug for RowJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowJournal")
            .field("dir", &self.dir)
            .finish()
    }
}

impl RowJournal {
    /// Opens (creating) the journal in `dir`, counting the rows a previous run left.
    pub fn open(
        catalog: Catalog,
        catalog_runtime: CatalogRuntime,
        store: SegmentStore,
        clock: SharedClock,
        dir: &Path,
    ) -> std::io::Result<Arc<RowJournal>> {
        std::fs::create_dir_all(dir)?;
        let kept = kept_rows(dir)?;
        let next = kept.last().map_or(1, |(seq, _)| seq + 1);
        Ok(Arc::new(RowJournal {
            catalog,
            catalog_runtime,
            store,
            clock,
            dir: dir.to_path_buf(),
            state: Mutex::new(State {
                next,
                health: JournalHealth {
                    waiting: kept.len() as u64,
                    ..JournalHealth::default()
                },
            }),
            replaying: tokio::sync::Mutex::new(()),
            kick: tokio::sync::Notify::new(),
            held: tokio::sync::RwLock::new(false),
        }))
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn health(&self) -> JournalHealth {
        self.lock().health.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands a row to the catalog, or keeps it here when the catalog does not
    /// answer in time or earlier rows still wait. An error is a row the catalog
    /// refused (not kept), or one that could not be kept.
    pub async fn hand_over(&self, row: CatalogRow) -> Result<(), RowError> {
        let held = self.held.read().await;
        let why = if *held {
            Kept::Held
        } else if self.lock().health.waiting == 0 {
            match tokio::time::timeout(CATALOG_PATIENCE, self.apply(&row)).await {
                Ok(Ok(())) => {
                    self.answered();
                    return Ok(());
                }
                Ok(Err(e)) if !e.is_unreachable() => return Err(e.into()),
                Ok(Err(e)) => Kept::Unreachable(format!("catalog unreachable: {e}")),
                Err(_) => Kept::Unreachable(format!(
                    "catalog unreachable: no answer within {} s",
                    CATALOG_PATIENCE.as_secs()
                )),
            }
        } else {
            Kept::EarlierRowsWait
        };
        drop(held);
        self.keep(&row).await?;
        let waiting = {
            let mut s = self.lock();
            if let Kept::Unreachable(error) = &why {
                s.health.unreachable_since.get_or_insert(self.clock.now());
                s.health.last_error = Some(error.clone());
            }
            s.health.waiting
        };
        match why {
            Kept::Held => tracing::info!(
                waiting,
                "the installation is moving to another catalog: a row for the catalog is kept in the local journal"
            ),
            Kept::EarlierRowsWait => tracing::warn!(
                waiting,
                "earlier rows wait for the catalog: a row for the catalog is kept in the local journal"
            ),
            Kept::Unreachable(error) => tracing::warn!(
                waiting,
                "{error}: a row for the catalog is kept in the local journal"
            ),
        }
        self.kick.notify_one();
        Ok(())
    }

    /// Hands every kept row to the catalog, oldest first, until none is left or
    /// the catalog stops answering. Returns how many it took.
    pub async fn replay(&self) -> Result<u64, RowError> {
        let _one = self.replaying.lock().await;
        if *self.held.read().await {
            return Ok(0);
        }
        let rows = kept_rows(&self.dir).map_err(|source| RowError::Journal {
            path: self.dir.clone(),
            source,
        })?;
        let mut taken = 0;
        for (_, path) in rows {
            let row = match read_row(&path) {
                Ok(row) => row,
                Err(why) => {
                    self.refuse(&path, &why);
                    continue;
                }
            };
            match self.apply(&row).await {
                Ok(()) => {
                    std::fs::remove_file(&path).map_err(|source| RowError::Journal {
                        path: path.clone(),
                        source,
                    })?;
                    let mut s = self.lock();
                    s.health.waiting = s.health.waiting.saturating_sub(1);
                    taken += 1;
                }
                Err(e) if e.is_unreachable() => {
                    let mut s = self.lock();
                    s.health.unreachable_since.get_or_insert(self.clock.now());
                    s.health.last_error = Some(format!("catalog unreachable: {e}"));
                    return Err(e.into());
                }
                Err(e) => self.refuse(&path, &e.to_string()),
            }
        }
        if taken > 0 {
            tracing::info!(
                rows = taken,
                "the rows kept in the local journal are in the catalog"
            );
        }
        self.answered();
        Ok(taken)
    }

    /// From now on every row is kept here and none goes to the catalog (nor is
    /// replayed into it), until this process ends: the installation is moving
    /// to another catalog, and the rows go to that one when the server starts
    /// on it. Returns once no row is on its way to the catalog any more.
    pub async fn hold(&self) {
        *self.held.write().await = true;
        // A replay under way finishes first.
        drop(self.replaying.lock().await);
    }

    /// Replays whenever rows wait and the catalog answers, until stopped.
    pub fn start_replayer(self: &Arc<Self>) -> TaskHandle {
        let journal = self.clone();
        TaskHandle::spawn(move |mut stop| async move {
            loop {
                tokio::select! {
                    _ = journal.kick.notified() => {}
                    s = sleep_or_stop(REPLAY_EVERY, &mut stop) => if s { return },
                }
                if journal.lock().health.waiting == 0 {
                    continue;
                }
                // A short question first: the pool itself waits long for a
                // connection, and the catalog's return should be noticed at once.
                let answers = tokio::time::timeout(CATALOG_PATIENCE, journal.catalog.ping()).await;
                if matches!(answers, Ok(Ok(())))
                    && let Err(e) = journal.replay().await
                {
                    tracing::warn!("handing the local journal to the catalog: {e}");
                }
            }
        })
    }

    fn answered(&self) {
        let mut s = self.lock();
        if s.health.waiting == 0 {
            s.health.unreachable_since = None;
            s.health.last_error = None;
        }
    }

    async fn apply(&self, row: &CatalogRow) -> Result<(), CatalogError> {
        let catalog = self.catalog.clone();
        let owned = row.clone();
        self.ask(async move {
            match owned {
                CatalogRow::Segment(seg) => catalog.segment_insert_once(&seg).await.map(drop),
                CatalogRow::GapOpen {
                    camera,
                    stream,
                    from,
                    reason,
                    detail,
                } => {
                    catalog
                        .gap_open(camera, stream, from, reason, &detail)
                        .await?;
                    catalog
                        .gap_set_reason(camera, stream, reason, &detail)
                        .await
                }
                CatalogRow::GapClose { camera, stream, at } => {
                    catalog.gap_close(camera, stream, at).await
                }
            }
        })
        .await?;
        if let CatalogRow::Segment(seg) = row {
            // Only now that the catalog holds it: until here the segment's
            // own journal is how readers see it and how a crash recovers it.
            if let Err(e) = self.store.forget_journal(&seg.file_name) {
                tracing::warn!(file = %seg.file_name, "{e}");
            }
        }
        Ok(())
    }

    /// Runs a question to the catalog on the catalog's runtime (see
    /// [`CatalogRuntime`]): every question a recorder task asks goes this way.
    pub(crate) async fn ask<T, Q>(&self, question: Q) -> Result<T, CatalogError>
    where
        T: Send + 'static,
        Q: std::future::Future<Output = Result<T, CatalogError>> + Send + 'static,
    {
        self.catalog_runtime.ask(question).await
    }

    /// Writes a row durably as the next file of the journal.
    async fn keep(&self, row: &CatalogRow) -> Result<(), RowError> {
        let seq = {
            let mut s = self.lock();
            let seq = s.next;
            s.next += 1;
            seq
        };
        let path = self.dir.join(format!("{seq:016}.json"));
        let text = serde_json::to_vec(&StoredRow::from(row)).map_err(|e| RowError::Journal {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        let dir = self.dir.clone();
        let target = path.clone();
        tokio::task::spawn_blocking(move || write_durably(&dir, &target, &text))
            .await
            .map_err(|e| RowError::Journal {
                path: path.clone(),
                source: std::io::Error::other(e.to_string()),
            })?
            .map_err(|source| RowError::Journal { path, source })?;
        self.lock().health.waiting += 1;
        Ok(())
    }

    fn refuse(&self, path: &Path, why: &str) {
        let refused = self.dir.join(REFUSED_DIR);
        let moved = std::fs::create_dir_all(&refused).and_then(|()| {
            std::fs::rename(path, refused.join(path.file_name().unwrap_or_default()))
        });
        match moved {
            Ok(()) => {
                let mut s = self.lock();
                s.health.waiting = s.health.waiting.saturating_sub(1);
                drop(s);
                tracing::error!(file = %path.display(), "the catalog refused a row kept in the local journal ({why}); it is kept in {}", refused.display());
            }
            Err(e) => {
                tracing::error!(file = %path.display(), "the catalog refused a row kept in the local journal ({why}), and moving it aside failed: {e}")
            }
        }
    }
}

/// The journal's row files, oldest first.
fn kept_rows(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut rows = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        let Some(seq) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        rows.push((seq, e.path()));
    }
    rows.sort();
    Ok(rows)
}

fn write_durably(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

fn read_row(path: &Path) -> Result<CatalogRow, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let stored: StoredRow = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    if stored.format != FORMAT {
        return Err(format!("unknown journal format {}", stored.format));
    }
    stored.row.try_into()
}

/// A row as the journal's file holds it (JSON; bytes in hex).
#[derive(Serialize, Deserialize)]
struct StoredRow {
    format: u32,
    #[serde(flatten)]
    row: StoredKind,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "row", rename_all = "snake_case")]
enum StoredKind {
    Segment {
        camera: i64,
        stream: String,
        run_start: i64,
        start: i64,
        end: i64,
        duration_90k: i64,
        frames: i64,
        key_frames: i64,
        bytes: i64,
        video_params_id: i64,
        file_name: String,
        sample_index: String,
        stored_digest: String,
        stored_bytes: i64,
        data_key_id: i64,
        nonce_prefix: String,
        frames_digest: String,
        digest_kind: i64,
    },
    GapOpen {
        camera: i64,
        stream: String,
        from: i64,
        reason: String,
        detail: String,
    },
    GapClose {
        camera: i64,
        stream: String,
        at: i64,
    },
}

impl From<&CatalogRow> for StoredRow {
    fn from(row: &CatalogRow) -> StoredRow {
        let row = match row {
            CatalogRow::Segment(s) => StoredKind::Segment {
                camera: s.camera_id.0,
                stream: s.stream.as_str().into(),
                run_start: s.run_start.0,
                start: s.start.0,
                end: s.end.0,
                duration_90k: s.duration_90k,
                frames: s.frames,
                key_frames: s.key_frames,
                bytes: s.bytes,
                video_params_id: s.video_params_id,
                file_name: s.file_name.clone(),
                sample_index: hex::encode(&s.sample_index),
                stored_digest: hex::encode(&s.stored_digest),
                stored_bytes: s.stored_bytes,
                data_key_id: s.data_key_id,
                nonce_prefix: hex::encode(&s.nonce_prefix),
                frames_digest: hex::encode(&s.frames_digest),
                digest_kind: s.digest_kind.code(),
            },
            CatalogRow::GapOpen {
                camera,
                stream,
                from,
                reason,
                detail,
            } => StoredKind::GapOpen {
                camera: camera.0,
                stream: stream.as_str().into(),
                from: from.0,
                reason: reason.as_str().into(),
                detail: detail.clone(),
            },
            CatalogRow::GapClose { camera, stream, at } => StoredKind::GapClose {
                camera: camera.0,
                stream: stream.as_str().into(),
                at: at.0,
            },
        };
        StoredRow {
            format: FORMAT,
            row,
        }
    }
}

impl TryFrom<StoredKind> for CatalogRow {
    type Error = String;

    fn try_from(k: StoredKind) -> Result<CatalogRow, String> {
        let stream = |s: &str| StreamKind::parse(s).ok_or_else(|| format!("unknown stream {s}"));
        let bytes = |h: &str| hex::decode(h).map_err(|e| format!("not hex: {e}"));
        Ok(match k {
            StoredKind::Segment {
                camera,
                stream: s,
                run_start,
                start,
                end,
                duration_90k,
                frames,
                key_frames,
                bytes: media_bytes,
                video_params_id,
                file_name,
                sample_index,
                stored_digest,
                stored_bytes,
                data_key_id,
                nonce_prefix,
                frames_digest,
                digest_kind,
            } => CatalogRow::Segment(NewSegment {
                camera_id: CameraId(camera),
                stream: stream(&s)?,
                run_start: Timestamp(run_start),
                start: Timestamp(start),
                end: Timestamp(end),
                duration_90k,
                frames,
                key_frames,
                bytes: media_bytes,
                video_params_id,
                file_name,
                sample_index: bytes(&sample_index)?,
                stored_digest: bytes(&stored_digest)?,
                stored_bytes,
                data_key_id,
                nonce_prefix: bytes(&nonce_prefix)?,
                frames_digest: bytes(&frames_digest)?,
                digest_kind: DigestKind::from_code(digest_kind)
                    .ok_or_else(|| format!("unknown digest kind {digest_kind}"))?,
            }),
            StoredKind::GapOpen {
                camera,
                stream: s,
                from,
                reason,
                detail,
            } => CatalogRow::GapOpen {
                camera: CameraId(camera),
                stream: stream(&s)?,
                from: Timestamp(from),
                reason: GapReason::parse(&reason),
                detail,
            },
            StoredKind::GapClose {
                camera,
                stream: s,
                at,
            } => CatalogRow::GapClose {
                camera: CameraId(camera),
                stream: stream(&s)?,
                at: Timestamp(at),
            },
        })
    }
}
