//! The `video_params` table: codec parameters (the MP4 sample entry) shared by
//! the segments recorded with them, stored once per distinct sample entry.

use sqlx::Row;

use crate::{Catalog, CatalogError, Result};

#[derive(Clone, Debug)]
pub struct VideoParams {
    pub id: i64,
    pub rfc6381_codec: String,
    pub width: u32,
    pub height: u32,
    pub sample_entry: Vec<u8>,
}

impl Catalog {
    /// The id of these codec parameters, inserting them if new.
    pub async fn video_params_id(
        &self,
        rfc6381_codec: &str,
        width: u32,
        height: u32,
        sample_entry: &[u8],
        sample_entry_sha256: &[u8],
    ) -> Result<i64> {
        let known = self
            .video_params
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(sample_entry_sha256)
            .copied();
        if let Some(id) = known {
            return Ok(id);
        }
        let id = self
            .video_params_id_asked(
                rfc6381_codec,
                width,
                height,
                sample_entry,
                sample_entry_sha256,
            )
            .await?;
        self.video_params
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(sample_entry_sha256.to_vec(), id);
        Ok(id)
    }

    async fn video_params_id_asked(
        &self,
        rfc6381_codec: &str,
        width: u32,
        height: u32,
        sample_entry: &[u8],
        sample_entry_sha256: &[u8],
    ) -> Result<i64> {
        if let Some(id) = sqlx::query_scalar::<_, i64>(
            "SELECT id FROM video_params WHERE sample_entry_sha256 = $1",
        )
        .bind(sample_entry_sha256)
        .fetch_optional(&self.pool)
        .await?
        {
            return Ok(id);
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO video_params (rfc6381_codec, width, height, sample_entry, sample_entry_sha256) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sample_entry_sha256) DO UPDATE SET width = excluded.width \
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
            "SELECT id, rfc6381_codec, width, height, sample_entry FROM video_params WHERE id = $1",
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
}
