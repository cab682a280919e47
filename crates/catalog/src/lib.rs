//! The catalog: the SQL database that knows which cameras exist, which segment
//! files hold which time, where recording stopped and why, and who may log in.
//! It stores and answers; it decides nothing (what to erase, who may see what).
//!
//! SQLite is the embedded default. Queries are plain SQL strings with `?`
//! placeholders; [`dialect`] is the one place where SQLite and PostgreSQL differ.

pub mod audit;
pub mod dialect;
pub mod keys;
mod migrate;
pub mod people;
pub mod retention;

use std::path::Path;
use std::str::FromStr;

use mimamori_base::{CameraId, ErrorCode, SegmentId, Timestamp, UserId};
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{code}: catalog database error: {0}", code = ErrorCode::CatalogIo)]
    Db(#[from] sqlx::Error),
    #[error("{code}: {0} not found", code = ErrorCode::NotFound)]
    NotFound(String),
    #[error("{code}: {0} already exists", code = ErrorCode::Conflict)]
    Conflict(String),
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
            CatalogError::Conflict(_) => ErrorCode::Conflict,
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

/// How a camera is reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CameraSource {
    Rtsp {
        main_url: String,
        sub_url: Option<String>,
        username: Option<String>,
        password: Option<String>,
    },
    /// The built-in synthetic camera (a test pattern with a burnt-in clock).
    TestPattern,
}

#[derive(Clone, Debug)]
pub struct Camera {
    pub id: CameraId,
    pub name: String,
    pub source: CameraSource,
    pub record_audio: bool,
    pub created_at: Timestamp,
    pub removed_at: Option<Timestamp>,
}

#[derive(Clone, Debug)]
pub struct NewCamera {
    pub name: String,
    pub source: CameraSource,
    pub record_audio: bool,
}

#[derive(Clone, Debug)]
pub struct VideoParams {
    pub id: i64,
    pub rfc6381_codec: String,
    pub width: u32,
    pub height: u32,
    pub sample_entry: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct NewSegment {
    pub camera_id: CameraId,
    pub stream: StreamKind,
    pub run_start: Timestamp,
    pub start: Timestamp,
    pub end: Timestamp,
    pub duration_90k: i64,
    pub frames: i64,
    pub key_frames: i64,
    pub bytes: i64,
    pub video_params_id: i64,
    pub file_name: String,
    pub sample_index: Vec<u8>,
    pub sha256: Vec<u8>,
    /// Bytes on disk (encrypted).
    pub stored_bytes: i64,
    pub data_key_id: i64,
    pub nonce_prefix: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct Segment {
    pub id: SegmentId,
    pub camera_id: CameraId,
    pub stream: StreamKind,
    pub run_start: Timestamp,
    pub start: Timestamp,
    pub end: Timestamp,
    pub duration_90k: i64,
    pub frames: i64,
    pub key_frames: i64,
    pub bytes: i64,
    pub video_params_id: i64,
    pub file_name: String,
    pub sample_index: Vec<u8>,
    pub sha256: Vec<u8>,
    pub stored_bytes: i64,
    pub data_key_id: i64,
    pub nonce_prefix: Vec<u8>,
    pub chain_seq: i64,
    pub prev_chain: Vec<u8>,
    pub chain: Vec<u8>,
}

impl Segment {
    /// The canonical record this row's chain link covers.
    pub fn record(&self) -> Vec<u8> {
        segment_record(
            self.camera_id,
            self.stream,
            self.chain_seq,
            &SegmentFields {
                run_start: self.run_start,
                start: self.start,
                end: self.end,
                duration_90k: self.duration_90k,
                frames: self.frames,
                key_frames: self.key_frames,
                bytes: self.bytes,
                stored_bytes: self.stored_bytes,
                video_params_id: self.video_params_id,
                file_name: &self.file_name,
                sample_index: &self.sample_index,
                sha256: &self.sha256,
                data_key_id: self.data_key_id,
                nonce_prefix: &self.nonce_prefix,
            },
        )
    }
}

/// The fields of a segment row that its chain link covers.
pub struct SegmentFields<'a> {
    pub run_start: Timestamp,
    pub start: Timestamp,
    pub end: Timestamp,
    pub duration_90k: i64,
    pub frames: i64,
    pub key_frames: i64,
    pub bytes: i64,
    pub stored_bytes: i64,
    pub video_params_id: i64,
    pub file_name: &'a str,
    pub sample_index: &'a [u8],
    pub sha256: &'a [u8],
    pub data_key_id: i64,
    pub nonce_prefix: &'a [u8],
}

/// Canonical, versioned encoding of a segment row for the hash chain.
pub fn segment_record(
    camera: CameraId,
    stream: StreamKind,
    seq: i64,
    f: &SegmentFields<'_>,
) -> Vec<u8> {
    use sha2::Digest;
    format!(
        "mimamori-segment-v1\n{camera}\n{}\n{seq}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
        stream.as_str(),
        f.run_start.0,
        f.start.0,
        f.end.0,
        f.duration_90k,
        f.frames,
        f.key_frames,
        f.bytes,
        f.stored_bytes,
        f.video_params_id,
        f.file_name,
        hex::encode(f.sha256),
        hex::encode(sha2::Sha256::digest(f.sample_index)),
        f.data_key_id,
        hex::encode(f.nonce_prefix),
    )
    .into_bytes()
}

/// Why a stream was not recorded for a while.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GapReason {
    Unreachable,
    AuthFailed,
    Stalled,
    StreamEnded,
    StreamError,
    RecorderStopped,
}

impl GapReason {
    pub fn as_str(self) -> &'static str {
        match self {
            GapReason::Unreachable => "unreachable",
            GapReason::AuthFailed => "auth_failed",
            GapReason::Stalled => "stalled",
            GapReason::StreamEnded => "stream_ended",
            GapReason::StreamError => "stream_error",
            GapReason::RecorderStopped => "recorder_stopped",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "unreachable" => GapReason::Unreachable,
            "auth_failed" => GapReason::AuthFailed,
            "stalled" => GapReason::Stalled,
            "stream_ended" => GapReason::StreamEnded,
            "stream_error" => GapReason::StreamError,
            _ => GapReason::RecorderStopped,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Gap {
    pub id: i64,
    pub camera_id: CameraId,
    pub stream: StreamKind,
    pub start: Timestamp,
    pub end: Option<Timestamp>,
    pub reason: GapReason,
    pub detail: String,
}

#[derive(Clone, Debug)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    /// Empty for the installer's own staff; the company for contractors and outsourced operators.
    pub organization: String,
    /// TOTP secret when the person has enrolled a second factor.
    pub totp_secret: Option<Vec<u8>>,
    pub created_at: Timestamp,
}

pub(crate) const USER_COLUMNS: &str =
    "id, username, display_name, password_hash, organization, totp_secret, created_at_us";

#[derive(Clone, Debug)]
pub struct Session {
    pub user_id: UserId,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A handle on the catalog database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Catalog {
    pool: SqlitePool,
}

pub(crate) const SEGMENT_COLUMNS: &str = "id, camera_id, stream, run_start_us, start_us, end_us, duration_90k, \
     frames, key_frames, bytes, video_params_id, file_name, sample_index, sha256, stored_bytes, \
     data_key_id, nonce_prefix, chain_seq, prev_chain, chain";

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

    // ---- cameras -------------------------------------------------------------

    pub async fn camera_insert(&self, cam: &NewCamera, now: Timestamp) -> Result<CameraId> {
        let (kind, main_url, sub_url, username, password) = source_columns(&cam.source);
        let res = sqlx::query(
            "INSERT INTO camera (name, kind, main_url, sub_url, username, password, record_audio, created_at_us) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&cam.name)
        .bind(kind)
        .bind(main_url)
        .bind(sub_url)
        .bind(username)
        .bind(password)
        .bind(cam.record_audio)
        .bind(now.0)
        .execute(&self.pool)
        .await;
        match res {
            Ok(r) => Ok(CameraId(r.last_insert_rowid())),
            Err(e) if dialect::is_unique_violation(&e) => {
                Err(CatalogError::Conflict(format!("camera {:?}", cam.name)))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn camera_update(&self, id: CameraId, cam: &NewCamera) -> Result<()> {
        let (kind, main_url, sub_url, username, password) = source_columns(&cam.source);
        let res = sqlx::query(
            "UPDATE camera SET name = ?, kind = ?, main_url = ?, sub_url = ?, username = ?, password = ?, \
             record_audio = ? WHERE id = ?",
        )
        .bind(&cam.name)
        .bind(kind)
        .bind(main_url)
        .bind(sub_url)
        .bind(username)
        .bind(password)
        .bind(cam.record_audio)
        .bind(id.0)
        .execute(&self.pool)
        .await;
        match res {
            Ok(r) if r.rows_affected() == 0 => Err(CatalogError::NotFound(format!("camera {id}"))),
            Ok(_) => Ok(()),
            Err(e) if dialect::is_unique_violation(&e) => {
                Err(CatalogError::Conflict(format!("camera {:?}", cam.name)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Cameras not removed, in id order.
    pub async fn cameras(&self) -> Result<Vec<Camera>> {
        let rows = sqlx::query(
            "SELECT id, name, kind, main_url, sub_url, username, password, record_audio, created_at_us, \
             removed_at_us FROM camera WHERE removed_at_us IS NULL ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(camera_from_row).collect()
    }

    /// A camera by id, removed or not.
    pub async fn camera(&self, id: CameraId) -> Result<Camera> {
        let row = sqlx::query(
            "SELECT id, name, kind, main_url, sub_url, username, password, record_audio, created_at_us, \
             removed_at_us FROM camera WHERE id = ?",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| CatalogError::NotFound(format!("camera {id}")))?;
        camera_from_row(&row)
    }

    pub async fn camera_by_name(&self, name: &str) -> Result<Camera> {
        let row = sqlx::query(
            "SELECT id, name, kind, main_url, sub_url, username, password, record_audio, created_at_us, \
             removed_at_us FROM camera WHERE name = ? AND removed_at_us IS NULL",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| CatalogError::NotFound(format!("camera {name:?}")))?;
        camera_from_row(&row)
    }

    /// Removes a camera. A camera without footage disappears; one with footage is
    /// marked removed (recording stops) and its footage stays for retention to erase.
    /// Returns whether footage remains.
    pub async fn camera_remove(&self, id: CameraId, now: Timestamp) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM segment WHERE camera_id = ?")
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?;
        let affected = if n == 0 {
            sqlx::query("DELETE FROM gap WHERE camera_id = ?")
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM camera WHERE id = ?")
                .bind(id.0)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        } else {
            // The name is freed for a new camera; the old one keeps its id.
            sqlx::query(
                "UPDATE camera SET removed_at_us = ?, name = name || ' (removed ' || id || ')' \
                 WHERE id = ? AND removed_at_us IS NULL",
            )
            .bind(now.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        };
        if affected == 0 {
            return Err(CatalogError::NotFound(format!("camera {id}")));
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    // ---- codec parameters ----------------------------------------------------

    /// The id of these codec parameters, inserting them if new.
    pub async fn video_params_id(
        &self,
        rfc6381_codec: &str,
        width: u32,
        height: u32,
        sample_entry: &[u8],
        sample_entry_sha256: &[u8],
    ) -> Result<i64> {
        if let Some(id) = sqlx::query_scalar::<_, i64>(
            "SELECT id FROM video_params WHERE sample_entry_sha256 = ?",
        )
        .bind(sample_entry_sha256)
        .fetch_optional(&self.pool)
        .await?
        {
            return Ok(id);
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO video_params (rfc6381_codec, width, height, sample_entry, sample_entry_sha256) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (sample_entry_sha256) DO UPDATE SET width = excluded.width \
             RETURNING id",
        )
        .bind(rfc6381_codec)
        .bind(i64::from(width))
        .bind(i64::from(height))
        .bind(sample_entry)
        .bind(sample_entry_sha256)
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    pub async fn video_params(&self, id: i64) -> Result<VideoParams> {
        let row = sqlx::query(
            "SELECT id, rfc6381_codec, width, height, sample_entry FROM video_params WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| CatalogError::NotFound(format!("video parameters {id}")))?;
        Ok(VideoParams {
            id: row.try_get("id")?,
            rfc6381_codec: row.try_get("rfc6381_codec")?,
            width: u32::try_from(row.try_get::<i64, _>("width")?).unwrap_or(0),
            height: u32::try_from(row.try_get::<i64, _>("height")?).unwrap_or(0),
            sample_entry: row.try_get("sample_entry")?,
        })
    }

    // ---- segments ------------------------------------------------------------

    /// Records a segment whose file is already durably on disk, as the next link
    /// of its stream's hash chain.
    pub async fn segment_insert(&self, s: &NewSegment) -> Result<SegmentId> {
        let mut tx = self.write_tx().await?;
        let id = insert_segment_in(&mut tx, s).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records many segments in one transaction (imports and benchmarks).
    pub async fn segment_insert_batch(&self, segments: &[NewSegment]) -> Result<()> {
        let mut tx = self.write_tx().await?;
        for s in segments {
            insert_segment_in(&mut tx, s).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Segments of a camera's stream overlapping [from, to), oldest first.
    pub async fn segments_overlapping(
        &self,
        camera: CameraId,
        stream: StreamKind,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Segment>> {
        let sql = format!(
            "SELECT {SEGMENT_COLUMNS} FROM segment WHERE camera_id = ? AND stream = ? \
             AND start_us < ? AND end_us > ? ORDER BY start_us, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(camera.0)
            .bind(stream.as_str())
            .bind(to.0)
            .bind(from.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(segment_from_row).collect()
    }

    /// Start, end and run start of the segments overlapping [from, to), oldest first,
    /// without their sample indexes: for timelines and calendars.
    pub async fn segment_times(
        &self,
        camera: CameraId,
        stream: StreamKind,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, Timestamp, Timestamp)>> {
        let rows = sqlx::query(
            "SELECT start_us, end_us, run_start_us FROM segment WHERE camera_id = ? AND stream = ? \
             AND start_us < ? AND end_us > ? ORDER BY start_us, id",
        )
        .bind(camera.0)
        .bind(stream.as_str())
        .bind(to.0)
        .bind(from.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    Timestamp(r.try_get("start_us")?),
                    Timestamp(r.try_get("end_us")?),
                    Timestamp(r.try_get("run_start_us")?),
                ))
            })
            .collect()
    }

    /// Every segment, for consistency checks. Ordered by id.
    pub async fn all_segments(&self) -> Result<Vec<Segment>> {
        let sql = format!("SELECT {SEGMENT_COLUMNS} FROM segment ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(segment_from_row).collect()
    }

    /// The file names the catalog points at.
    pub async fn segment_file_names(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT file_name FROM segment")
            .fetch_all(&self.pool)
            .await?)
    }

    /// End of the newest segment of a stream, if any.
    pub async fn last_segment_end(
        &self,
        camera: CameraId,
        stream: StreamKind,
    ) -> Result<Option<Timestamp>> {
        let v: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(end_us) FROM segment WHERE camera_id = ? AND stream = ?",
        )
        .bind(camera.0)
        .bind(stream.as_str())
        .fetch_one(&self.pool)
        .await?;
        Ok(v.map(Timestamp))
    }

    /// Days (as [start, end) of recorded time) that hold any footage, for the calendar:
    /// returns the start and end of every segment in range, coarsened by the caller.
    pub async fn recorded_extent(
        &self,
        camera: CameraId,
        stream: StreamKind,
    ) -> Result<Option<(Timestamp, Timestamp)>> {
        let row = sqlx::query(
            "SELECT MIN(start_us) AS a, MAX(end_us) AS b FROM segment WHERE camera_id = ? AND stream = ?",
        )
        .bind(camera.0)
        .bind(stream.as_str())
        .fetch_one(&self.pool)
        .await?;
        let a: Option<i64> = row.try_get("a")?;
        let b: Option<i64> = row.try_get("b")?;
        Ok(a.zip(b).map(|(a, b)| (Timestamp(a), Timestamp(b))))
    }

    // ---- gaps ----------------------------------------------------------------

    /// Opens a gap unless one is already open for this stream; returns the open gap's id.
    pub async fn gap_open(
        &self,
        camera: CameraId,
        stream: StreamKind,
        start: Timestamp,
        reason: GapReason,
        detail: &str,
    ) -> Result<i64> {
        if let Some(id) = sqlx::query_scalar::<_, i64>(
            "SELECT id FROM gap WHERE camera_id = ? AND stream = ? AND end_us IS NULL",
        )
        .bind(camera.0)
        .bind(stream.as_str())
        .fetch_optional(&self.pool)
        .await?
        {
            return Ok(id);
        }
        let res = sqlx::query(
            "INSERT INTO gap (camera_id, stream, start_us, end_us, reason, detail) VALUES (?, ?, ?, NULL, ?, ?)",
        )
        .bind(camera.0)
        .bind(stream.as_str())
        .bind(start.0)
        .bind(reason.as_str())
        .bind(detail)
        .execute(&self.pool)
        .await?;
        Ok(res.last_insert_rowid())
    }

    /// Updates the reason of the open gap (a camera that was unreachable may now refuse our password).
    pub async fn gap_set_reason(
        &self,
        camera: CameraId,
        stream: StreamKind,
        reason: GapReason,
        detail: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE gap SET reason = ?, detail = ? WHERE camera_id = ? AND stream = ? AND end_us IS NULL")
            .bind(reason.as_str())
            .bind(detail)
            .bind(camera.0)
            .bind(stream.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Closes the open gap of a stream, if any, at `end`.
    pub async fn gap_close(
        &self,
        camera: CameraId,
        stream: StreamKind,
        end: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE gap SET end_us = MAX(start_us, ?) WHERE camera_id = ? AND stream = ? AND end_us IS NULL",
        )
        .bind(end.0)
        .bind(camera.0)
        .bind(stream.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Gaps overlapping [from, to), open ones included.
    pub async fn gaps_overlapping(
        &self,
        camera: CameraId,
        stream: StreamKind,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Gap>> {
        let rows = sqlx::query(
            "SELECT id, camera_id, stream, start_us, end_us, reason, detail FROM gap \
             WHERE camera_id = ? AND stream = ? AND start_us < ? AND (end_us IS NULL OR end_us > ?) \
             ORDER BY start_us, id",
        )
        .bind(camera.0)
        .bind(stream.as_str())
        .bind(to.0)
        .bind(from.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Gap {
                    id: r.try_get("id")?,
                    camera_id: CameraId(r.try_get("camera_id")?),
                    stream: StreamKind::parse(r.try_get("stream")?).unwrap_or(StreamKind::Main),
                    start: Timestamp(r.try_get("start_us")?),
                    end: r.try_get::<Option<i64>, _>("end_us")?.map(Timestamp),
                    reason: GapReason::parse(r.try_get("reason")?),
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }

    // ---- users and sessions --------------------------------------------------

    /// Creates an account of the installer's staff designated to `role` from `now` on.
    pub async fn user_insert(
        &self,
        username: &str,
        display_name: &str,
        password_hash: &str,
        role: &str,
        now: Timestamp,
    ) -> Result<UserId> {
        self.person_create(
            &people::NewPerson {
                username,
                display_name,
                password_hash,
                organization: "",
            },
            &people::NewDesignation {
                role,
                valid_from: now,
                valid_until: None,
                designated_by: None,
                basis: "account created from the command line",
            },
            now,
        )
        .await
    }

    pub async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM app_user WHERE username = ?"
        )))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn user(&self, id: UserId) -> Result<User> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM app_user WHERE id = ?"
        )))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| CatalogError::NotFound(format!("user {id}")))?;
        user_from_row(&row)
    }

    pub async fn user_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM app_user")
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn session_insert(&self, token_sha256: &[u8], s: &Session) -> Result<()> {
        sqlx::query(
            "INSERT INTO user_session (token_sha256, user_id, csrf_token, created_at_us, last_seen_at_us, expires_at_us) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(token_sha256)
        .bind(s.user_id.0)
        .bind(&s.csrf_token)
        .bind(s.created_at.0)
        .bind(s.last_seen_at.0)
        .bind(s.expires_at.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn session(&self, token_sha256: &[u8]) -> Result<Option<Session>> {
        let row = sqlx::query(
            "SELECT user_id, csrf_token, created_at_us, last_seen_at_us, expires_at_us FROM user_session \
             WHERE token_sha256 = ?",
        )
        .bind(token_sha256)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Session {
                user_id: UserId(r.try_get("user_id")?),
                csrf_token: r.try_get("csrf_token")?,
                created_at: Timestamp(r.try_get("created_at_us")?),
                last_seen_at: Timestamp(r.try_get("last_seen_at_us")?),
                expires_at: Timestamp(r.try_get("expires_at_us")?),
            })
        })
        .transpose()
    }

    pub async fn user_set_password(&self, id: UserId, password_hash: &str) -> Result<()> {
        sqlx::query("UPDATE app_user SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A person's sessions: (token hash, created, last seen, expires), newest first.
    pub async fn sessions_of(
        &self,
        user: UserId,
    ) -> Result<Vec<(Vec<u8>, Timestamp, Timestamp, Timestamp)>> {
        let rows = sqlx::query(
            "SELECT token_sha256, created_at_us, last_seen_at_us, expires_at_us FROM user_session WHERE user_id = ? \
             ORDER BY created_at_us DESC",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("token_sha256")?,
                    Timestamp(r.try_get("created_at_us")?),
                    Timestamp(r.try_get("last_seen_at_us")?),
                    Timestamp(r.try_get("expires_at_us")?),
                ))
            })
            .collect()
    }

    /// Ends every session of a person except `keep`.
    pub async fn sessions_end_others(&self, user: UserId, keep: &[u8]) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM user_session WHERE user_id = ? AND token_sha256 <> ?")
                .bind(user.0)
                .bind(keep)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    pub async fn session_touch(&self, token_sha256: &[u8], now: Timestamp) -> Result<()> {
        sqlx::query("UPDATE user_session SET last_seen_at_us = ? WHERE token_sha256 = ?")
            .bind(now.0)
            .bind(token_sha256)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn session_delete(&self, token_sha256: &[u8]) -> Result<()> {
        sqlx::query("DELETE FROM user_session WHERE token_sha256 = ?")
            .bind(token_sha256)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Inserts one segment as the next link of its stream's chain, inside `tx`.
async fn insert_segment_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    s: &NewSegment,
) -> Result<SegmentId> {
    let state = sqlx::query("SELECT seq, head FROM chain_state WHERE camera_id = ? AND stream = ?")
        .bind(s.camera_id.0)
        .bind(s.stream.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    let (prev_seq, prev): (i64, Vec<u8>) = match state {
        Some(r) => (r.try_get("seq")?, r.try_get("head")?),
        None => (0, vec![0u8; 32]),
    };
    let seq = prev_seq + 1;
    let record = segment_record(
        s.camera_id,
        s.stream,
        seq,
        &SegmentFields {
            run_start: s.run_start,
            start: s.start,
            end: s.end,
            duration_90k: s.duration_90k,
            frames: s.frames,
            key_frames: s.key_frames,
            bytes: s.bytes,
            stored_bytes: s.stored_bytes,
            video_params_id: s.video_params_id,
            file_name: &s.file_name,
            sample_index: &s.sample_index,
            sha256: &s.sha256,
            data_key_id: s.data_key_id,
            nonce_prefix: &s.nonce_prefix,
        },
    );
    let chain = mimamori_crypto::chain_link(&prev, &record).to_vec();
    let res = sqlx::query(
        "INSERT INTO segment (camera_id, stream, run_start_us, start_us, end_us, duration_90k, frames, \
         key_frames, bytes, video_params_id, file_name, sample_index, sha256, stored_bytes, data_key_id, \
         nonce_prefix, chain_seq, prev_chain, chain) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(s.camera_id.0)
    .bind(s.stream.as_str())
    .bind(s.run_start.0)
    .bind(s.start.0)
    .bind(s.end.0)
    .bind(s.duration_90k)
    .bind(s.frames)
    .bind(s.key_frames)
    .bind(s.bytes)
    .bind(s.video_params_id)
    .bind(&s.file_name)
    .bind(&s.sample_index)
    .bind(&s.sha256)
    .bind(s.stored_bytes)
    .bind(s.data_key_id)
    .bind(&s.nonce_prefix)
    .bind(seq)
    .bind(&prev)
    .bind(&chain)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO chain_state (camera_id, stream, seq, head) VALUES (?, ?, ?, ?) \
         ON CONFLICT (camera_id, stream) DO UPDATE SET seq = excluded.seq, head = excluded.head",
    )
    .bind(s.camera_id.0)
    .bind(s.stream.as_str())
    .bind(seq)
    .bind(&chain)
    .execute(&mut **tx)
    .await?;
    Ok(SegmentId(res.last_insert_rowid()))
}

type SourceColumns<'a> = (
    &'static str,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
);

fn source_columns(s: &CameraSource) -> SourceColumns<'_> {
    match s {
        CameraSource::Rtsp {
            main_url,
            sub_url,
            username,
            password,
        } => (
            "rtsp",
            Some(main_url.as_str()),
            sub_url.as_deref(),
            username.as_deref(),
            password.as_deref(),
        ),
        CameraSource::TestPattern => ("test_pattern", None, None, None, None),
    }
}

fn camera_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<Camera> {
    let kind: String = r.try_get("kind")?;
    let source = if kind == "test_pattern" {
        CameraSource::TestPattern
    } else {
        CameraSource::Rtsp {
            main_url: r
                .try_get::<Option<String>, _>("main_url")?
                .unwrap_or_default(),
            sub_url: r.try_get("sub_url")?,
            username: r.try_get("username")?,
            password: r.try_get("password")?,
        }
    };
    Ok(Camera {
        id: CameraId(r.try_get("id")?),
        name: r.try_get("name")?,
        source,
        record_audio: r.try_get("record_audio")?,
        created_at: Timestamp(r.try_get("created_at_us")?),
        removed_at: r.try_get::<Option<i64>, _>("removed_at_us")?.map(Timestamp),
    })
}

pub(crate) fn segment_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<Segment> {
    Ok(Segment {
        id: SegmentId(r.try_get("id")?),
        camera_id: CameraId(r.try_get("camera_id")?),
        stream: StreamKind::parse(r.try_get("stream")?).unwrap_or(StreamKind::Main),
        run_start: Timestamp(r.try_get("run_start_us")?),
        start: Timestamp(r.try_get("start_us")?),
        end: Timestamp(r.try_get("end_us")?),
        duration_90k: r.try_get("duration_90k")?,
        frames: r.try_get("frames")?,
        key_frames: r.try_get("key_frames")?,
        bytes: r.try_get("bytes")?,
        video_params_id: r.try_get("video_params_id")?,
        file_name: r.try_get("file_name")?,
        sample_index: r.try_get("sample_index")?,
        sha256: r.try_get("sha256")?,
        stored_bytes: r.try_get::<Option<i64>, _>("stored_bytes")?.unwrap_or(0),
        data_key_id: r.try_get::<Option<i64>, _>("data_key_id")?.unwrap_or(0),
        nonce_prefix: r
            .try_get::<Option<Vec<u8>>, _>("nonce_prefix")?
            .unwrap_or_default(),
        chain_seq: r.try_get::<Option<i64>, _>("chain_seq")?.unwrap_or(0),
        prev_chain: r
            .try_get::<Option<Vec<u8>>, _>("prev_chain")?
            .unwrap_or_default(),
        chain: r
            .try_get::<Option<Vec<u8>>, _>("chain")?
            .unwrap_or_default(),
    })
}

pub(crate) fn user_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<User> {
    Ok(User {
        id: UserId(r.try_get("id")?),
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        password_hash: r.try_get("password_hash")?,
        organization: r.try_get("organization")?,
        totp_secret: r.try_get("totp_secret")?,
        created_at: Timestamp(r.try_get("created_at_us")?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
                        sha256: vec![0; 32],
                        stored_bytes: 17,
                        data_key_id: key_id,
                        nonce_prefix: vec![0; 8],
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
                assert_eq!(w[1].prev_chain, w[0].chain);
                assert_eq!(w[1].chain_seq, w[0].chain_seq + 1);
            }
        }
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
