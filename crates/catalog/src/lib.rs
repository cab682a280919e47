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
//! SQLite is the embedded default; PostgreSQL holds one catalog for several
//! machines. Both run the same SQL (plain strings with `$n` placeholders, through
//! sqlx's `Any` driver, so the engine is chosen at run time by the catalog URL);
//! [`dialect`] is the one place where they differ.

pub mod agreements;
pub mod audit;
pub mod cameras;
pub mod copy;
pub mod dialect;
pub mod gaps;
pub mod hold_copies;
pub mod keys;
mod migrate;
pub mod nodes;
pub mod people;
pub mod provisions;
pub mod records;
pub mod retention;
pub mod scratch;
pub mod segments;
pub mod users;
pub mod video_params;

use std::path::{Path, PathBuf};

use mimamori_base::ErrorCode;
use sqlx::AnyPool;

pub use dialect::{DutyLease, Engine};

pub use cameras::{Camera, CameraDescription, CameraSource, NewCamera};
pub use gaps::{Gap, GapReason};
pub use segments::{ChainLink, MAX_SEGMENT_MICROS, NewSegment, Segment, segment_record};
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
    /// A catalog URL that names no engine we have.
    #[error("{code}: {0}", code = ErrorCode::BadInput)]
    Url(String),
}

impl CatalogError {
    pub fn code(&self) -> ErrorCode {
        match self {
            CatalogError::Db(_) | CatalogError::Migration(..) => ErrorCode::CatalogIo,
            CatalogError::NotFound(_) => ErrorCode::NotFound,
            CatalogError::Conflict(_) | CatalogError::Stale(_) => ErrorCode::Conflict,
            CatalogError::Key(_) => ErrorCode::Inconsistent,
            CatalogError::Url(_) => ErrorCode::BadInput,
        }
    }

    /// The catalog's pool is closed (or the runtime that drove it has shut down):
    /// unreachable, see [`CatalogError::is_unreachable`].
    pub fn closed() -> CatalogError {
        CatalogError::Db(sqlx::Error::PoolClosed)
    }

    /// Whether the catalog could not be reached (the server down, the network
    /// cut, no connection within the pool's wait), as opposed to a refused
    /// change: what was asked may succeed unchanged later.
    pub fn is_unreachable(&self) -> bool {
        let CatalogError::Db(e) = self else {
            return false;
        };
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            // PostgreSQL's connection exceptions (08…) and operator interventions
            // (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now).
            sqlx::Error::Database(d) => d
                .code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
            _ => false,
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

/// The file an SQLite catalog URL names (`sqlite:///srv/catalog.db`,
/// `sqlite:catalog.db?mode=rwc`), or `None` for another engine.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let file = rest.split('?').next().unwrap_or_default();
    let file = percent_encoding::percent_decode_str(file).decode_utf8_lossy();
    Some(PathBuf::from(file.as_ref()))
}

/// The URL of the SQLite catalog file at `path` (created if missing).
pub fn sqlite_url(path: &Path) -> String {
    const PATH: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'.')
        .remove(b'-')
        .remove(b'_');
    let file = percent_encoding::utf8_percent_encode(&path.to_string_lossy(), PATH).to_string();
    format!("sqlite://{file}?mode=rwc")
}

/// A handle on the catalog database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Catalog {
    pool: AnyPool,
    engine: Engine,
    /// Codec parameters' ids by the SHA-256 of their sample entry (rows never
    /// change): a recorder opens segments without asking, also while the
    /// catalog is unreachable.
    video_params: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<Vec<u8>, i64>>>,
}

impl Catalog {
    /// One trivial query: whether the catalog answers (readiness, latency).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Opens the catalog a URL names (`sqlite://…` or `postgres://…`) and brings its
    /// schema up to date. An SQLite file is created if missing; a PostgreSQL
    /// database must exist (its tables are created).
    pub async fn open(url: &str) -> Result<Catalog> {
        match Engine::of_url(url)? {
            Engine::Sqlite => {
                let path = sqlite_path(url).unwrap_or_default();
                Catalog::open_sqlite(&path).await
            }
            Engine::Postgres => Catalog::open_postgres(url).await,
        }
    }

    /// Opens (creating if needed) the SQLite catalog at `path` and brings its schema up to date.
    pub async fn open_sqlite(path: &Path) -> Result<Catalog> {
        let pool = dialect::connect(&sqlite_url(path), Engine::Sqlite).await?;
        let catalog = Catalog {
            pool,
            engine: Engine::Sqlite,
            video_params: Default::default(),
        };
        migrate::run(&catalog).await?;
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
        Ok(catalog)
    }

    /// Opens the PostgreSQL catalog at `url` and brings its schema up to date.
    pub async fn open_postgres(url: &str) -> Result<Catalog> {
        let pool = dialect::connect(url, Engine::Postgres).await?;
        let catalog = Catalog {
            pool,
            engine: Engine::Postgres,
            video_params: Default::default(),
        };
        migrate::run(&catalog).await?;
        Ok(catalog)
    }

    /// The engine behind this catalog.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// A write transaction; writers take their turns (see [`dialect::write_tx`]).
    pub(crate) async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        dialect::write_tx(&self.pool, self.engine).await
    }

    /// The installation's duties (sweeper, head signer), or `None` while another
    /// node does them.
    pub async fn duty_lease(&self) -> Result<Option<DutyLease>> {
        dialect::duty_lease(&self.pool, self.engine).await
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

    /// A new catalog on the test run's engine (see [`scratch`]), its directory and URL.
    async fn temp_catalog_at() -> (Catalog, std::path::PathBuf, String) {
        let dir = std::env::temp_dir().join(format!(
            "mimamori-catalog-test-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let url = scratch::new_catalog_url(&dir).await;
        (Catalog::open(&url).await.unwrap(), dir, url)
    }

    async fn temp_catalog() -> (Catalog, std::path::PathBuf) {
        let (catalog, dir, _) = temp_catalog_at().await;
        (catalog, dir)
    }

    fn rand_suffix() -> u64 {
        use std::hash::{BuildHasher, RandomState};
        RandomState::new().hash_one(0u8)
    }

    /// Every table's columns, in order: (table, column, type, nullable). Types are
    /// named as SQLite names them; a primary key column counts as not nullable.
    async fn columns(catalog: &Catalog) -> Vec<(String, String, String, bool)> {
        let sql = match catalog.engine() {
            Engine::Sqlite => {
                "SELECT m.name AS t, p.name AS c, upper(p.type) AS ty, \
                 CASE WHEN p.\"notnull\" = 1 OR p.pk > 0 THEN 0 ELSE 1 END AS nullable \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name <> 'schema_migration' ORDER BY m.name, p.cid"
            }
            Engine::Postgres => {
                "SELECT c.table_name::text AS t, c.column_name::text AS c, \
                 CASE c.data_type WHEN 'bigint' THEN 'INTEGER' WHEN 'text' THEN 'TEXT' \
                 WHEN 'bytea' THEN 'BLOB' ELSE c.data_type::text END AS ty, \
                 CASE WHEN c.is_nullable::text = 'YES' THEN 1 ELSE 0 END AS nullable \
                 FROM information_schema.columns c \
                 WHERE c.table_schema = current_schema() AND c.table_name <> 'schema_migration' \
                 ORDER BY c.table_name::text COLLATE \"C\", c.ordinal_position"
            }
        };
        sqlx::query(sql)
            .fetch_all(&catalog.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| {
                use sqlx::Row;
                (
                    r.get("t"),
                    r.get("c"),
                    r.get("ty"),
                    r.get::<i64, _>("nullable") == 1,
                )
            })
            .collect()
    }

    /// The PostgreSQL schema (its baseline and later migrations) has exactly the
    /// tables and columns the SQLite migrations make, with the same types and
    /// nullability: one set of queries serves both. Needs the PostgreSQL test
    /// server (scripts/test.sh starts it for every run).
    #[tokio::test]
    async fn both_engines_have_the_same_tables_and_columns() {
        let (_, dir) = temp_catalog().await;
        let sqlite = Catalog::open(&scratch::new_catalog_url_on(Engine::Sqlite, &dir).await)
            .await
            .unwrap();
        let postgres = Catalog::open(&scratch::new_catalog_url_on(Engine::Postgres, &dir).await)
            .await
            .unwrap();
        assert_eq!(
            sqlite.schema_version().await.unwrap(),
            postgres.schema_version().await.unwrap()
        );
        let (a, b) = (columns(&sqlite).await, columns(&postgres).await);
        assert!(a.len() > 100, "{a:?}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x, y, "SQLite and PostgreSQL differ");
        }
        assert_eq!(a.len(), b.len());
        // The copy of `mimamori migrate` knows every table.
        let mut tables: Vec<&str> = a.iter().map(|c| c.0.as_str()).collect();
        tables.dedup();
        let mut known = [copy::TABLES, copy::DERIVED_TABLES].concat();
        known.sort_unstable();
        assert_eq!(tables, known);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn reopening_keeps_schema_and_data() {
        let (cat, dir, url) = temp_catalog_at().await;
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
        let cat = Catalog::open(&url).await.unwrap();
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
                        file_name: format!("{i}/{n}.seg"),
                        ..nth_segment(cam, params, key_id, n)
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
            // Where a restarted stream's recording resumes from: the newest end.
            assert_eq!(
                cat.last_segment_end(cam, StreamKind::Main).await.unwrap(),
                Some(Timestamp(10_000_000))
            );
            assert_eq!(
                cat.last_segment_end(cam, StreamKind::Sub).await.unwrap(),
                None
            );
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A batch (imports, benchmarks) makes the same rows and chain as inserting
    /// one by one: across its statements' boundaries, two streams interleaved,
    /// between single inserts, each link covering its row.
    #[tokio::test]
    async fn a_batch_insert_links_each_row_into_its_stream_s_chain() {
        let (cat, dir) = temp_catalog().await;
        let mut cams = Vec::new();
        for name in ["a", "b"] {
            cams.push(
                cat.camera_insert(
                    &NewCamera {
                        name: name.into(),
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
        let (key_id, _) = keys
            .key_for_write(cams[0], Timestamp(0), Timestamp(0))
            .await
            .unwrap();
        let row = |c: usize, n: i64| NewSegment {
            file_name: format!("{c}/{n}.seg"),
            ..nth_segment(cams[c], params, key_id, n)
        };
        cat.segment_insert(&row(0, 0)).await.unwrap();
        let batch: Vec<NewSegment> = (1..=450).flat_map(|n| [row(0, n), row(1, n)]).collect();
        cat.segment_insert_batch(&batch).await.unwrap();
        cat.segment_insert(&row(0, 451)).await.unwrap();
        let mut ids = std::collections::HashSet::new();
        for (c, cam) in cams.iter().enumerate() {
            let segs = cat.stream_segments(*cam, StreamKind::Main).await.unwrap();
            assert_eq!(segs.len(), if c == 0 { 452 } else { 450 });
            let mut prev = vec![0u8; 32];
            for (i, s) in segs.iter().enumerate() {
                assert_eq!(s.link.seq, i as i64 + 1);
                assert_eq!(s.link.prev, prev);
                assert_eq!(
                    s.link.hash,
                    mimamori_crypto::chain_link(&prev, &s.canonical()).to_vec()
                );
                prev = s.link.hash.clone();
                assert!(ids.insert(s.id), "{:?} twice", s.id);
            }
            assert_eq!(
                cat.chain_head(*cam, StreamKind::Main).await.unwrap(),
                Some((segs.len() as i64, prev))
            );
        }
        assert_eq!(cat.stored_bytes_total().await.unwrap(), 902 * 17);
        std::fs::remove_dir_all(dir).unwrap();
    }

    // REQ-RET-5 (expired images erased promptly and surely, every time): the newest segment
    // erased (a hold's footage once the hold ended), the next one recorded is
    // erased in its turn — its id is never the erased one's, whose record keeps it.
    /// Segment `n` of a test stream: one second from second `n`, one frame.
    fn nth_segment(cam: mimamori_base::CameraId, params: i64, key_id: i64, n: i64) -> NewSegment {
        NewSegment {
            camera_id: cam,
            stream: StreamKind::Main,
            run_start: Timestamp(0),
            start: Timestamp(n * 1_000_000),
            end: Timestamp((n + 1) * 1_000_000),
            duration_90k: 90_000,
            frames: 1,
            key_frames: 1,
            bytes: 1,
            video_params_id: params,
            file_name: format!("{n}.seg"),
            sample_index: vec![n as u8; 3],
            stored_digest: vec![7; 32],
            stored_bytes: 17,
            data_key_id: key_id,
            nonce_prefix: vec![0; 8],
            frames_digest: Vec::new(),
            digest_kind: mimamori_crypto::frames::DigestKind::Blake3,
        }
    }

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
                .segment_insert(&nth_segment(cam, params, key_id, n))
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

    /// `mimamori migrate`'s copy: an SQLite catalog with segments (one erased), a
    /// gap, a hold and audit entries, copied into an empty catalog of the run's
    /// engine, arrives whole, and the copy goes on handing out ids after the
    /// copied ones.
    #[tokio::test]
    async fn a_catalog_copied_into_an_empty_one_arrives_whole_and_goes_on() {
        let (target, dir) = temp_catalog().await;
        let source_dir = dir.join("source");
        std::fs::create_dir_all(&source_dir).unwrap();
        let source = Catalog::open(&scratch::new_catalog_url_on(Engine::Sqlite, &source_dir).await)
            .await
            .unwrap();
        let camera = |name: &str| NewCamera {
            name: name.into(),
            source: CameraSource::TestPattern,
            record_audio: true,
        };
        let cam = source
            .camera_insert(&camera("c"), Timestamp(1))
            .await
            .unwrap();
        let params = source
            .video_params_id("avc1", 1, 1, b"e", &[0; 32])
            .await
            .unwrap();
        let keys = keys::KeyRing::new(source.clone(), mimamori_crypto::Key::generate());
        for n in 0..3i64 {
            let start = Timestamp(n * 1_000_000);
            let (key_id, _) = keys.key_for_write(cam, start, start).await.unwrap();
            source
                .segment_insert(&nth_segment(cam, params, key_id, n))
                .await
                .unwrap();
        }
        // The store's total follows every insert and erasure (migration 17's triggers).
        assert_eq!(source.stored_bytes_total().await.unwrap(), 3 * 17);
        let oldest = source
            .segments_ending_by(cam, Timestamp(1_000_000), 1)
            .await
            .unwrap();
        source
            .erase(&oldest, "retention", "", Timestamp(9))
            .await
            .unwrap();
        assert_eq!(source.stored_bytes_total().await.unwrap(), 2 * 17);
        source
            .gap_open(
                cam,
                StreamKind::Main,
                Timestamp(5_000_000),
                GapReason::Unreachable,
                "x",
            )
            .await
            .unwrap();
        source
            .hold_create(&retention::NewHold {
                cameras: &[cam],
                from: Timestamp(0),
                to: Timestamp(9),
                until: Timestamp(99),
                reason: "捜査",
                medium: None,
                created_by: None,
                created_at: Timestamp(9),
                ground: "",
            })
            .await
            .unwrap();
        for i in 0..3 {
            source
                .audit_append(&audit::AuditRecord {
                    at: Timestamp(i),
                    user_id: None,
                    username: "console".into(),
                    action: "playback".into(),
                    camera_id: Some(cam),
                    range: None,
                    client: String::new(),
                    purpose: String::new(),
                    detail: format!("{i}"),
                })
                .await
                .unwrap();
        }

        assert!(target.is_empty().await.unwrap());
        let copied = source.copy_into(&target).await.unwrap();
        assert_eq!(copied, source.row_counts().await.unwrap());
        assert_eq!(target.row_counts().await.unwrap(), copied);
        assert!(
            copied
                .iter()
                .any(|(t, n)| *t == "erased_segment" && *n == 1)
        );
        assert_eq!(
            format!("{:?}", source.all_segments().await.unwrap()),
            format!("{:?}", target.all_segments().await.unwrap())
        );
        assert_eq!(
            format!("{:?}", source.audit_all().await.unwrap()),
            format!("{:?}", target.audit_all().await.unwrap())
        );
        assert!(target.cameras().await.unwrap()[0].record_audio);
        // Derived, not copied: the target's triggers made its total from the rows.
        assert_eq!(target.stored_bytes_total().await.unwrap(), 2 * 17);
        // A second copy into the same target is refused: it is not empty any more.
        assert!(source.copy_into(&target).await.is_err());
        // New rows get new ids.
        let next = target
            .camera_insert(&camera("d"), Timestamp(2))
            .await
            .unwrap();
        assert!(next.0 > cam.0, "{next:?} after {cam:?}");
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
        // A reason restated (each retry of a camera that does not answer) changes
        // nothing; a new one replaces it.
        for _ in 0..2 {
            cat.gap_set_reason(id, StreamKind::Main, GapReason::Stalled, "no frames")
                .await
                .unwrap();
        }
        let open = cat
            .gaps_overlapping(id, StreamKind::Main, Timestamp(0), Timestamp(100))
            .await
            .unwrap();
        assert_eq!(
            (open[0].reason, open[0].detail.as_str()),
            (GapReason::Stalled, "no frames")
        );
        cat.gap_set_reason(id, StreamKind::Main, GapReason::Unreachable, "")
            .await
            .unwrap();
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
