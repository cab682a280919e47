//! The `hold_copy` table: copies of held footage made onto the external medium
//! a hold names (Tottori 5(3)), each an evidence package in the provisions
//! store. Who may make one, and what goes in it, is decided above.

use mimamori_base::{Timestamp, UserId};
use sqlx::Row;

use crate::provisions::Step;
use crate::{Catalog, Result};

/// A copy of a hold's footage, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct HoldCopy {
    pub id: i64,
    pub hold_id: i64,
    pub file_name: String,
    pub bytes: i64,
    pub sha256: Vec<u8>,
    pub manifest_sha256: Vec<u8>,
    pub wrapped_key: Vec<u8>,
    pub nonce_prefix: Vec<u8>,
    pub passphrase_protected: bool,
    pub frames: i64,
    pub built: Step,
}

impl Catalog {
    /// Records a copy just built; returns its id.
    pub async fn hold_copy_insert(&self, c: &HoldCopy) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO hold_copy (hold_id, file_name, bytes, sha256, manifest_sha256, wrapped_key, \
             nonce_prefix, passphrase_protected, frames, built_by, built_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(c.hold_id)
        .bind(&c.file_name)
        .bind(c.bytes)
        .bind(&c.sha256)
        .bind(&c.manifest_sha256)
        .bind(&c.wrapped_key)
        .bind(&c.nonce_prefix)
        .bind(i64::from(c.passphrase_protected))
        .bind(c.frames)
        .bind(c.built.by.map(|u| u.0))
        .bind(c.built.at.0)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The copies of every hold, oldest first.
    pub async fn hold_copies(&self) -> Result<Vec<HoldCopy>> {
        let rows = sqlx::query("SELECT * FROM hold_copy ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(HoldCopy {
                    id: r.try_get("id")?,
                    hold_id: r.try_get("hold_id")?,
                    file_name: r.try_get("file_name")?,
                    bytes: r.try_get("bytes")?,
                    sha256: r.try_get("sha256")?,
                    manifest_sha256: r.try_get("manifest_sha256")?,
                    wrapped_key: r.try_get("wrapped_key")?,
                    nonce_prefix: r.try_get("nonce_prefix")?,
                    passphrase_protected: r.try_get::<i64, _>("passphrase_protected")? != 0,
                    frames: r.try_get("frames")?,
                    built: Step {
                        by: r.try_get::<Option<i64>, _>("built_by")?.map(UserId),
                        at: Timestamp(r.try_get("built_at_us")?),
                    },
                })
            })
            .collect()
    }
}
