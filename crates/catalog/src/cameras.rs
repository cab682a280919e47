//! The `camera` table: registered cameras, how each is reached (its RTSP
//! addresses and sealed credentials, or the built-in test pattern), and their
//! removal (a camera with footage is marked removed and keeps its id), and its
//! description: where it is, what it is for, what it sees, where its sign hangs.

use mimamori_base::{CameraId, Timestamp};
use sqlx::Row;

use crate::{Catalog, CatalogError, Result, dialect};

/// How a camera is reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CameraSource {
    Rtsp {
        main_url: String,
        sub_url: Option<String>,
        username: Option<String>,
        /// Sealed with the master key (`sealed:v1:…`); opened only by the recorder.
        password: Option<String>,
    },
    /// The built-in synthetic camera (a test pattern with a burnt-in clock).
    TestPattern,
}

/// 防犯カメラ: one registered camera.
#[derive(Clone, Debug)]
pub struct Camera {
    pub id: CameraId,
    pub name: String,
    pub source: CameraSource,
    pub record_audio: bool,
    pub created_at: Timestamp,
    pub removed_at: Option<Timestamp>,
    pub description: CameraDescription,
}

/// What a camera is for and what it sees (REQ-PUR-1, Kitakyushu 別表1), and
/// where its sign hangs (REQ-SIG-1). Empty strings until described.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CameraDescription {
    /// 設置場所: the site and the place on it.
    pub location: String,
    /// 設置目的: the installation purpose of this camera.
    pub purpose: String,
    /// 撮影範囲: what the camera shoots, in words.
    pub coverage: String,
    /// 表示の場所: where the sign of this camera hangs.
    pub sign_location: String,
}

#[derive(Clone, Debug)]
pub struct NewCamera {
    pub name: String,
    pub source: CameraSource,
    pub record_audio: bool,
}

const CAMERA_COLUMNS: &str = "id, name, kind, main_url, sub_url, username, password, record_audio, created_at_us, removed_at_us, \
     location, purpose, coverage, sign_location";

impl Catalog {
    pub async fn camera_insert(&self, cam: &NewCamera, now: Timestamp) -> Result<CameraId> {
        let (kind, main_url, sub_url, username, password) = source_columns(&cam.source);
        let res = sqlx::query_scalar(
            "INSERT INTO camera (name, kind, main_url, sub_url, username, password, record_audio, created_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(&cam.name)
        .bind(kind)
        .bind(main_url)
        .bind(sub_url)
        .bind(username)
        .bind(password)
        .bind(i64::from(cam.record_audio))
        .bind(now.0)
        .fetch_one(&self.pool)
        .await;
        match res {
            Ok(id) => Ok(CameraId(id)),
            Err(e) if dialect::is_unique_violation(&e) => {
                Err(CatalogError::Conflict(format!("camera {:?}", cam.name)))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn camera_update(&self, id: CameraId, cam: &NewCamera) -> Result<()> {
        let (kind, main_url, sub_url, username, password) = source_columns(&cam.source);
        let res = sqlx::query(
            "UPDATE camera SET name = $1, kind = $2, main_url = $3, sub_url = $4, username = $5, password = $6, \
             record_audio = $7 WHERE id = $8",
        )
        .bind(&cam.name)
        .bind(kind)
        .bind(main_url)
        .bind(sub_url)
        .bind(username)
        .bind(password)
        .bind(i64::from(cam.record_audio))
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

    /// Replaces a camera's description.
    pub async fn camera_describe(&self, id: CameraId, d: &CameraDescription) -> Result<()> {
        let r = sqlx::query(
            "UPDATE camera SET location = $1, purpose = $2, coverage = $3, sign_location = $4 \
             WHERE id = $5 AND removed_at_us IS NULL",
        )
        .bind(&d.location)
        .bind(&d.purpose)
        .bind(&d.coverage)
        .bind(&d.sign_location)
        .bind(id.0)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 0 {
            return Err(CatalogError::NotFound(format!("camera {id}")));
        }
        Ok(())
    }

    /// Cameras not removed, in id order.
    pub async fn cameras(&self) -> Result<Vec<Camera>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CAMERA_COLUMNS} FROM camera WHERE removed_at_us IS NULL ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(camera_from_row).collect()
    }

    /// A camera by id, removed or not.
    pub async fn camera(&self, id: CameraId) -> Result<Camera> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CAMERA_COLUMNS} FROM camera WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| CatalogError::NotFound(format!("camera {id}")))?;
        camera_from_row(&row)
    }

    pub async fn camera_by_name(&self, name: &str) -> Result<Camera> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CAMERA_COLUMNS} FROM camera WHERE name = $1 AND removed_at_us IS NULL"
        )))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| CatalogError::NotFound(format!("camera {name:?}")))?;
        camera_from_row(&row)
    }

    /// Removes a camera: recording stops, its name is freed for a new camera and
    /// its password is forgotten; the row stays with its id (never reused, so old
    /// audit entries keep pointing at the right camera) and its footage stays for
    /// retention to erase. Returns whether footage remains.
    pub async fn camera_remove(&self, id: CameraId, now: Timestamp) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM segment WHERE camera_id = $1")
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await?;
        let affected = sqlx::query(
            "UPDATE camera SET removed_at_us = $1, name = name || ' (removed ' || id || ')', \
             password = NULL WHERE id = $2 AND removed_at_us IS NULL",
        )
        .bind(now.0)
        .bind(id.0)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if affected == 0 {
            return Err(CatalogError::NotFound(format!("camera {id}")));
        }
        tx.commit().await?;
        Ok(n > 0)
    }
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

fn camera_from_row(r: &sqlx::any::AnyRow) -> Result<Camera> {
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
        record_audio: r.try_get::<i64, _>("record_audio")? != 0,
        created_at: Timestamp(r.try_get("created_at_us")?),
        removed_at: r.try_get::<Option<i64>, _>("removed_at_us")?.map(Timestamp),
        description: CameraDescription {
            location: r.try_get("location")?,
            purpose: r.try_get("purpose")?,
            coverage: r.try_get("coverage")?,
            sign_location: r.try_get("sign_location")?,
        },
    })
}
