//! The catalog: the SQL database that knows which cameras exist, which segment
//! files hold which time, where recording stopped and why, who may log in, and
//! the audit log. It stores and answers; it decides nothing (what to erase, who
//! may see what): that is the governance layer.
//!
//! One module per table group, each with its own `impl Catalog`: [`cameras`],
//! [`video_params`], [`segments`], [`gaps`], [`users`] (accounts and sessions),
//! [`people`] (designations, pledges, instructions), [`retention`] (holds,
//! erasures, chain heads), [`keys`] (data keys), [`audit`].
//!
//! SQLite is the embedded default. Queries are plain SQL strings with `?`
//! placeholders; [`dialect`] is the one place where SQLite and PostgreSQL differ.

pub mod agreements;
pub mod audit;
pub mod cameras;
pub mod dialect;
pub mod gaps;
pub mod hold_copies;
pub mod keys;
mod migrate;
pub mod people;
pub mod provisions;
pub mod records;
pub mod retention;
pub mod segments;
pub mod users;
pub mod video_params;

use std::path::Path;
use std::str::FromStr;

use mimamori_base::ErrorCode;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use cameras::{Camera, CameraDescription, CameraSource, NewCamera};
pub use gaps::{Gap, GapReason};
pub use segments::{ChainLink, NewSegment, Segment, segment_record};
pub use users::{Session, User};
pub use video_params::VideoParams;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{code}: catalog database error: {0}", code = ErrorCode::CatalogIo)]
    Db(#[from] sqlx::Error),
    #[error("{code}: {0} not found", code = ErrorCode::NotFound)]
    NotFound(String),
    #[error("{code}: {0} already exists", code = ErrorCode::Conflict)]
    Conflict(String),
    /// A record is no longer in the state an update expected (another change came first).
    #[error("{code}: {0}", code = ErrorCode::Conflict)]
    Stale(String),
    #[error("{code}: migration {0} failed: {1}", code = ErrorCode::CatalogIo)]
    Migration(String, sqlx::Error),
    #[error("{code}: {0}", code = ErrorCode::Inconsistent)]
    Key(String),
}

impl CatalogError {
    pub fn code(&self) -> ErrorCode {
        match self {
            CatalogError::Db(_) | CatalogError::Migration(..) => ErrorCode::CatalogIo,
            CatalogError::NotFound(_) => ErrorCode::NotFound,
            CatalogError::Conflict(_) | CatalogError::Stale(_) => ErrorCode::Conflict,
            CatalogError::Key(_) => ErrorCode::Inconsistent,
        }
    }
}

pub type Result<T> = std::result::Result<T, CatalogError>;

/// Which stream of a camera.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum StreamKind {
    Main,
    Sub,
}

impl StreamKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamKind::Main => "main",
            StreamKind::Sub => "sub",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "main" => Some(StreamKind::Main),
            "sub" => Some(StreamKind::Sub),
            _ => None,
        }
    }
}

/// `catalog.db-wal` beside `catalog.db`.
fn wal_path(db: &Path, suffix: &str) -> std::path::PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(suffix);
    std::path::PathBuf::from(s)
}

/// A handle on the catalog database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Catalog {
    pool: SqlitePool,
}

impl Catalog {
    /// Opens (creating if needed) the SQLite catalog at `path` and brings its schema up to date.
    pub async fn open_sqlite(path: &Path) -> Result<Catalog> {
        let opts = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a committed row survives power loss; the recorder relies on it.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // Deleted rows (destroyed keys among them) are overwritten, not left in free pages.
            .pragma("secure_delete", "ON")
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        migrate::run(&pool).await?;
        // It holds password hashes and sealed secrets: readable by the service alone.
        // SQLite gives its -wal and -shm files the database file's mode.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for p in [
                path.to_path_buf(),
                wal_path(path, "-wal"),
                wal_path(path, "-shm"),
            ] {
                if p.exists() {
                    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
                        .map_err(|e| CatalogError::Key(format!("{}: {e}", p.display())))?;
                }
            }
        }
        Ok(Catalog { pool })
    }

    /// A write transaction that takes the write lock at once (`BEGIN IMMEDIATE`), so
    /// that concurrent writers wait for each other (busy timeout) instead of failing
    /// when a read lock cannot be upgraded.
    pub(crate) async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i64> {
        migrate::current_version(&self.pool).await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mimamori_base::Timestamp;

    async fn temp_catalog() -> (Catalog, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "mimamori-catalog-test-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        (
            Catalog::open_sqlite(&dir.join("catalog.db")).await.unwrap(),
            dir,
        )
    }

    fn rand_suffix() -> u64 {
        use std::hash::{BuildHasher, RandomState};
        RandomState::new().hash_one(0u8)
    }

    #[tokio::test]
    async fn reopening_keeps_schema_and_data() {
        let (cat, dir) = temp_catalog().await;
        let v = cat.schema_version().await.unwrap();
        assert!(v >= 1);
        cat.camera_insert(
            &NewCamera {
                name: "entrance".into(),
                source: CameraSource::TestPattern,
                record_audio: false,
            },
            Timestamp(1),
        )
        .await
        .unwrap();
        cat.close().await;
        let cat = Catalog::open_sqlite(&dir.join("catalog.db")).await.unwrap();
        assert_eq!(cat.schema_version().await.unwrap(), v);
        assert_eq!(cat.cameras().await.unwrap().len(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn duplicate_camera_name_is_a_conflict() {
        let (cat, dir) = temp_catalog().await;
        let cam = NewCamera {
            name: "x".into(),
            source: CameraSource::TestPattern,
            record_audio: false,
        };
        cat.camera_insert(&cam, Timestamp(1)).await.unwrap();
        let err = cat.camera_insert(&cam, Timestamp(1)).await.unwrap_err();
        assert!(matches!(err, CatalogError::Conflict(_)));
        std::fs::remove_dir_all(dir).unwrap();
    }

    // Many recorders close segments at the same instant: every insert must succeed
    // and each stream's chain must stay consistent.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_segment_inserts_all_succeed() {
        let (cat, dir) = temp_catalog().await;
        let mut cams = Vec::new();
        for i in 0..16 {
            cams.push(
                cat.camera_insert(
                    &NewCamera {
                        name: format!("c{i}"),
                        source: CameraSource::TestPattern,
                        record_audio: false,
                    },
                    Timestamp(1),
                )
                .await
                .unwrap(),
            );
        }
        let params = cat
            .video_params_id("avc1", 1, 1, b"e", &[0; 32])
            .await
            .unwrap();
        let keys = keys::KeyRing::new(cat.clone(), mimamori_crypto::Key::generate());
        let keys = std::sync::Arc::new(keys);
        let mut tasks = Vec::new();
        for (i, cam) in cams.iter().copied().enumerate() {
            let cat = cat.clone();
            let keys = keys.clone();
            tasks.push(tokio::spawn(async move {
                for n in 0..10i64 {
                    let start = Timestamp(n * 1_000_000);
                    let (key_id, _) = keys.key_for_write(cam, start, start).await.unwrap();
                    cat.segment_insert(&NewSegment {
                        camera_id: cam,
                        stream: StreamKind::Main,
                        run_start: Timestamp(0),
                        start,
                        end: Timestamp((n + 1) * 1_000_000),
                        duration_90k: 90_000,
                        frames: 1,
                        key_frames: 1,
                        bytes: 1,
                        video_params_id: params,
                        file_name: format!("{i}/{n}.seg"),
                        sample_index: vec![],
                        stored_digest: vec![0; 32],
                        stored_bytes: 17,
                        data_key_id: key_id,
                        nonce_prefix: vec![0; 8],
                        frames_digest: Vec::new(),
                        digest_kind: mimamori_crypto::frames::DigestKind::Blake3,
                    })
                    .await
                    .unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(cat.all_segments().await.unwrap().len(), 160);
        for cam in cams {
            let segs = cat.stream_segments(cam, StreamKind::Main).await.unwrap();
            for w in segs.windows(2) {
                assert_eq!(w[1].link.prev, w[0].link.hash);
                assert_eq!(w[1].link.seq, w[0].link.seq + 1);
            }
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    // REQ-RET-5 (expired images erased promptly and surely, every time): the newest segment
    // erased (a hold's footage once the hold ended), the next one recorded is
    // erased in its turn — its id is never the erased one's, whose record keeps it.
    #[tokio::test]
    async fn a_segment_recorded_after_the_newest_was_erased_can_be_erased_too() {
        let (cat, dir) = temp_catalog().await;
        let cam = cat
            .camera_insert(
                &NewCamera {
                    name: "c".into(),
                    source: CameraSource::TestPattern,
                    record_audio: false,
                },
                Timestamp(1),
            )
            .await
            .unwrap();
        let params = cat
            .video_params_id("avc1", 1, 1, b"e", &[0; 32])
            .await
            .unwrap();
        let keys = keys::KeyRing::new(cat.clone(), mimamori_crypto::Key::generate());
        let mut ids = Vec::new();
        for n in 0..2i64 {
            let start = Timestamp(n * 1_000_000);
            let (key_id, _) = keys.key_for_write(cam, start, start).await.unwrap();
            let id = cat
                .segment_insert(&NewSegment {
                    camera_id: cam,
                    stream: StreamKind::Main,
                    run_start: Timestamp(0),
                    start,
                    end: Timestamp((n + 1) * 1_000_000),
                    duration_90k: 90_000,
                    frames: 1,
                    key_frames: 1,
                    bytes: 1,
                    video_params_id: params,
                    file_name: format!("{n}.seg"),
                    sample_index: vec![],
                    stored_digest: vec![0; 32],
                    stored_bytes: 17,
                    data_key_id: key_id,
                    nonce_prefix: vec![0; 8],
                    frames_digest: Vec::new(),
                    digest_kind: mimamori_crypto::frames::DigestKind::Blake3,
                })
                .await
                .unwrap();
            ids.push(id);
            let newest = cat
                .segments_ending_by(cam, Timestamp(i64::MAX), 10)
                .await
                .unwrap();
            assert_eq!(newest.len(), 1);
            cat.erase(&newest, "retention", "", Timestamp(10_000_000))
                .await
                .unwrap();
        }
        assert_ne!(ids[0], ids[1], "an erased segment's id is not given again");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn only_one_gap_is_open_per_stream() {
        let (cat, dir) = temp_catalog().await;
        let id = cat
            .camera_insert(
                &NewCamera {
                    name: "x".into(),
                    source: CameraSource::TestPattern,
                    record_audio: false,
                },
                Timestamp(1),
            )
            .await
            .unwrap();
        let a = cat
            .gap_open(
                id,
                StreamKind::Main,
                Timestamp(10),
                GapReason::Unreachable,
                "",
            )
            .await
            .unwrap();
        let b = cat
            .gap_open(id, StreamKind::Main, Timestamp(20), GapReason::Stalled, "")
            .await
            .unwrap();
        assert_eq!(a, b);
        cat.gap_close(id, StreamKind::Main, Timestamp(30))
            .await
            .unwrap();
        let gaps = cat
            .gaps_overlapping(id, StreamKind::Main, Timestamp(0), Timestamp(100))
            .await
            .unwrap();
        assert_eq!(gaps.len(), 1);
        assert_eq!(gaps[0].end, Some(Timestamp(30)));
        assert_eq!(gaps[0].reason, GapReason::Unreachable);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
