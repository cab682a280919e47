//! Catalog side of retention: holds, the segments a sweep may consider, erasure
//! (rows, chain links and keys in one transaction), chain heads and their
//! signatures, verify runs. What is erased and when is decided by the retention
//! sweeper, not here.

use mimamori_base::{CameraId, Timestamp, UserId};
use sqlx::Row;

use crate::{Catalog, CatalogError, Result, StreamKind, dialect};

/// 保存期間の延長: footage kept beyond retention.
#[derive(Clone, Debug)]
pub struct Hold {
    pub id: i64,
    pub cameras: Vec<CameraId>,
    pub from: Timestamp,
    pub to: Timestamp,
    pub until: Timestamp,
    pub reason: String,
    /// External medium holding a copy (REQ-MED), if the extension is kept on one.
    pub medium: Option<String>,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub released_at: Option<Timestamp>,
    /// The request for footage this hold keeps (REQ-RET-4), if it is one's.
    pub provision_id: Option<i64>,
    /// The policy's ground of the exception (a `hold_grounds` id), if any.
    pub ground: String,
}

impl Hold {
    /// Whether this hold protects footage of `camera` over [start, end) at `now`.
    pub fn protects(
        &self,
        camera: CameraId,
        start: Timestamp,
        end: Timestamp,
        now: Timestamp,
    ) -> bool {
        self.released_at.is_none()
            && now < self.until
            && self.cameras.contains(&camera)
            && start < self.to
            && end > self.from
    }
}

/// A hold to record.
#[derive(Clone, Debug)]
pub struct NewHold<'a> {
    pub cameras: &'a [CameraId],
    pub from: Timestamp,
    pub to: Timestamp,
    pub until: Timestamp,
    pub reason: &'a str,
    pub medium: Option<&'a str>,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub ground: &'a str,
}

/// A segment as the sweeper sees it.
#[derive(Clone, Debug)]
pub struct SegmentMeta {
    pub id: i64,
    pub camera_id: CameraId,
    pub stream: StreamKind,
    pub start: Timestamp,
    pub end: Timestamp,
    pub stored_bytes: i64,
    pub file_name: String,
    pub data_key_id: i64,
}

/// One erasure record.
#[derive(Clone, Debug)]
pub struct Erasure {
    pub id: i64,
    pub camera_id: CameraId,
    pub stream: String,
    pub from: Timestamp,
    pub to: Timestamp,
    pub segments: i64,
    pub bytes: i64,
    pub erased_at: Timestamp,
    pub rule: String,
    pub detail: String,
    pub keys_destroyed: i64,
}

/// What an erasure did; the caller deletes `file_names` from storage.
#[derive(Debug, Default)]
pub struct Erased {
    pub file_names: Vec<String>,
    pub segments: usize,
    pub bytes: i64,
    pub keys_destroyed: Vec<i64>,
}

const META: &str = "id, camera_id, stream, start_us, end_us, COALESCE(stored_bytes, bytes) AS stored, file_name, \
                    COALESCE(data_key_id, 0) AS key_id";

fn meta(r: &sqlx::any::AnyRow) -> Result<SegmentMeta> {
    Ok(SegmentMeta {
        id: r.try_get("id")?,
        camera_id: CameraId(r.try_get("camera_id")?),
        stream: StreamKind::parse(r.try_get("stream")?).unwrap_or(StreamKind::Main),
        start: Timestamp(r.try_get("start_us")?),
        end: Timestamp(r.try_get("end_us")?),
        stored_bytes: r.try_get("stored")?,
        file_name: r.try_get("file_name")?,
        data_key_id: r.try_get("key_id")?,
    })
}

impl Catalog {
    /// Records a hold; returns its id.
    pub async fn hold_create(&self, h: &NewHold<'_>) -> Result<i64> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO hold (from_us, to_us, until_us, reason, medium, created_by, created_at_us, ground) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(h.from.0)
        .bind(h.to.0)
        .bind(h.until.0)
        .bind(h.reason)
        .bind(h.medium)
        .bind(h.created_by.map(|u| u.0))
        .bind(h.created_at.0)
        .bind(h.ground)
        .fetch_one(&mut *tx)
        .await?;
        for c in h.cameras {
            sqlx::query("INSERT INTO hold_camera (hold_id, camera_id) VALUES ($1, $2)")
                .bind(id)
                .bind(c.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Changes a hold's end date and reason.
    pub async fn hold_update(&self, id: i64, until: Timestamp, reason: &str) -> Result<()> {
        let n = sqlx::query(
            "UPDATE hold SET until_us = $1, reason = $2 WHERE id = $3 AND released_at_us IS NULL",
        )
        .bind(until.0)
        .bind(reason)
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(CatalogError::NotFound(format!("active hold {id}")));
        }
        Ok(())
    }

    pub async fn hold_release(&self, id: i64, actor: Option<UserId>, now: Timestamp) -> Result<()> {
        let n = sqlx::query(
            "UPDATE hold SET released_at_us = $1, released_by = $2 WHERE id = $3 AND released_at_us IS NULL",
        )
        .bind(now.0)
        .bind(actor.map(|u| u.0))
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(CatalogError::NotFound(format!("active hold {id}")));
        }
        Ok(())
    }

    /// All holds, newest first.
    pub async fn holds(&self) -> Result<Vec<Hold>> {
        let rows = sqlx::query(
            "SELECT id, from_us, to_us, until_us, reason, medium, created_by, created_at_us, released_at_us, provision_id, ground FROM hold \
             ORDER BY id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        let links = sqlx::query("SELECT hold_id, camera_id FROM hold_camera")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                let cameras = links
                    .iter()
                    .filter(|l| l.try_get::<i64, _>("hold_id").ok() == Some(id))
                    .filter_map(|l| l.try_get::<i64, _>("camera_id").ok().map(CameraId))
                    .collect();
                Ok(Hold {
                    id,
                    cameras,
                    from: Timestamp(r.try_get("from_us")?),
                    to: Timestamp(r.try_get("to_us")?),
                    until: Timestamp(r.try_get("until_us")?),
                    reason: r.try_get("reason")?,
                    medium: r.try_get("medium")?,
                    created_by: r.try_get::<Option<i64>, _>("created_by")?.map(UserId),
                    created_at: Timestamp(r.try_get("created_at_us")?),
                    released_at: r
                        .try_get::<Option<i64>, _>("released_at_us")?
                        .map(Timestamp),
                    provision_id: r.try_get("provision_id")?,
                    ground: r.try_get("ground")?,
                })
            })
            .collect()
    }

    /// A camera's segments that end at or before `cutoff`, oldest first.
    pub async fn segments_ending_by(
        &self,
        camera: CameraId,
        cutoff: Timestamp,
        limit: i64,
    ) -> Result<Vec<SegmentMeta>> {
        let sql = format!(
            "SELECT {META} FROM segment WHERE camera_id = $1 AND end_us <= $2 ORDER BY start_us LIMIT $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(camera.0)
            .bind(cutoff.0)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(meta).collect()
    }

    /// The oldest segments of all cameras (for overwrite mode), oldest first.
    pub async fn oldest_segments(&self, limit: i64, offset: i64) -> Result<Vec<SegmentMeta>> {
        let sql = format!("SELECT {META} FROM segment ORDER BY start_us, id LIMIT $1 OFFSET $2");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(meta).collect()
    }

    /// Bytes in the store of all footage: the per-camera totals the catalog's
    /// triggers keep (migration 17), not a sum over every segment.
    pub async fn stored_bytes_total(&self) -> Result<i64> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT CAST(SUM(bytes) AS BIGINT) FROM camera_stored_bytes")
                .fetch_one(&self.pool)
                .await?;
        Ok(v.unwrap_or(0))
    }

    /// Bytes on disk of a camera's footage in [from, to), and its oldest footage.
    pub async fn camera_storage(
        &self,
        camera: CameraId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<(i64, Option<Timestamp>)> {
        let bytes: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(SUM(COALESCE(stored_bytes, bytes)) AS BIGINT) FROM segment WHERE camera_id = $1 AND start_us >= $2 AND start_us < $3",
        )
        .bind(camera.0)
        .bind(from.0)
        .bind(to.0)
        .fetch_one(&self.pool)
        .await?;
        let oldest: Option<i64> =
            sqlx::query_scalar("SELECT MIN(start_us) FROM segment WHERE camera_id = $1")
                .bind(camera.0)
                .fetch_one(&self.pool)
                .await?;
        Ok((bytes.unwrap_or(0), oldest.map(Timestamp)))
    }

    /// Erases segments: keeps their chain links, deletes their rows, writes one
    /// erasure record per camera stream, and destroys every data key whose day is
    /// over and which no remaining segment needs. All in one transaction; the
    /// caller then deletes the files.
    pub async fn erase(
        &self,
        segments: &[SegmentMeta],
        rule: &str,
        detail: &str,
        now: Timestamp,
    ) -> Result<Erased> {
        let mut out = Erased::default();
        if segments.is_empty() {
            return Ok(out);
        }
        let mut tx = self.write_tx().await?;
        let mut groups: Vec<((CameraId, StreamKind), Vec<&SegmentMeta>)> = Vec::new();
        for s in segments {
            match groups
                .iter_mut()
                .find(|(k, _)| *k == (s.camera_id, s.stream))
            {
                Some((_, v)) => v.push(s),
                None => groups.push(((s.camera_id, s.stream), vec![s])),
            }
        }
        let mut key_ids: Vec<i64> = segments
            .iter()
            .map(|s| s.data_key_id)
            .filter(|k| *k != 0)
            .collect();
        key_ids.sort_unstable();
        key_ids.dedup();
        let mut destroyed = Vec::new();
        for ((camera, stream), segs) in &groups {
            let from = segs.iter().map(|s| s.start).min().unwrap_or(now);
            let to = segs.iter().map(|s| s.end).max().unwrap_or(now);
            let bytes: i64 = segs.iter().map(|s| s.stored_bytes).sum();
            let erasure_id: i64 = sqlx::query_scalar(
                "INSERT INTO erasure (camera_id, stream, from_us, to_us, segments, bytes, erased_at_us, rule, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(camera.0)
            .bind(stream.as_str())
            .bind(from.0)
            .bind(to.0)
            .bind(segs.len() as i64)
            .bind(bytes)
            .bind(now.0)
            .bind(rule)
            .bind(detail)
            .fetch_one(&mut *tx)
            .await?;
            for s in segs {
                sqlx::query(
                    "INSERT INTO erased_segment (segment_id, erasure_id, camera_id, stream, chain_seq, prev_chain, chain) \
                     SELECT id, $1, camera_id, stream, COALESCE(chain_seq, 0), COALESCE(prev_chain, $2), COALESCE(chain, $3) \
                     FROM segment WHERE id = $4",
                )
                .bind(erasure_id)
                .bind(Vec::<u8>::new())
                .bind(Vec::<u8>::new())
                .bind(s.id)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM segment WHERE id = $1")
                    .bind(s.id)
                    .execute(&mut *tx)
                    .await?;
            }
            out.segments += segs.len();
            out.bytes += bytes;
            out.file_names
                .extend(segs.iter().map(|s| s.file_name.clone()));
            // Keys of this group's days that nothing needs any more.
            let mut n = 0i64;
            for k in &key_ids {
                let in_group = segs.iter().any(|s| s.data_key_id == *k);
                if !in_group || destroyed.contains(k) {
                    continue;
                }
                let remaining: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM segment WHERE data_key_id = $1")
                        .bind(k)
                        .fetch_one(&mut *tx)
                        .await?;
                let r = sqlx::query(
                    "UPDATE data_key SET wrapped_key = NULL, destroyed_at_us = $1 \
                     WHERE id = $2 AND wrapped_key IS NOT NULL AND period_end_us <= $3 AND $4 = 0",
                )
                .bind(now.0)
                .bind(k)
                .bind(now.0)
                .bind(remaining)
                .execute(&mut *tx)
                .await?;
                if r.rows_affected() > 0 {
                    destroyed.push(*k);
                    n += 1;
                }
            }
            sqlx::query("UPDATE erasure SET keys_destroyed = $1 WHERE id = $2")
                .bind(n)
                .bind(erasure_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        if !destroyed.is_empty() {
            // Old page images in the write-ahead log could still hold the wrapped keys.
            dialect::purge_deleted(&self.pool, self.engine).await?;
        }
        out.keys_destroyed = destroyed;
        Ok(out)
    }

    /// Destroys keys whose day is over and that no segment needs (for days whose
    /// last segment was erased before the day ended).
    pub async fn destroy_unused_keys(&self, now: Timestamp) -> Result<Vec<i64>> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM data_key WHERE wrapped_key IS NOT NULL AND period_end_us <= $1 \
             AND NOT EXISTS (SELECT 1 FROM segment WHERE segment.data_key_id = data_key.id)",
        )
        .bind(now.0)
        .fetch_all(&self.pool)
        .await?;
        for id in &ids {
            sqlx::query(
                "UPDATE data_key SET wrapped_key = NULL, destroyed_at_us = $1 WHERE id = $2",
            )
            .bind(now.0)
            .bind(id)
            .execute(&self.pool)
            .await?;
        }
        if !ids.is_empty() {
            dialect::purge_deleted(&self.pool, self.engine).await?;
        }
        Ok(ids)
    }

    /// Erasure records of a camera (all cameras when `None`), newest first.
    pub async fn erasures(&self, camera: Option<CameraId>, limit: i64) -> Result<Vec<Erasure>> {
        let rows = sqlx::query(
            "SELECT id, camera_id, stream, from_us, to_us, segments, bytes, erased_at_us, rule, detail, keys_destroyed \
             FROM erasure WHERE ($1 IS NULL OR camera_id = $2) ORDER BY id DESC LIMIT $3",
        )
        .bind(camera.map(|c| c.0))
        .bind(camera.map(|c| c.0))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Erasure {
                    id: r.try_get("id")?,
                    camera_id: CameraId(r.try_get("camera_id")?),
                    stream: r.try_get("stream")?,
                    from: Timestamp(r.try_get("from_us")?),
                    to: Timestamp(r.try_get("to_us")?),
                    segments: r.try_get("segments")?,
                    bytes: r.try_get("bytes")?,
                    erased_at: Timestamp(r.try_get("erased_at_us")?),
                    rule: r.try_get("rule")?,
                    detail: r.try_get("detail")?,
                    keys_destroyed: r.try_get("keys_destroyed")?,
                })
            })
            .collect()
    }

    /// Chain links of erased segments of a stream, by segment id.
    pub async fn erased_links(
        &self,
        camera: CameraId,
        stream: StreamKind,
    ) -> Result<Vec<(i64, i64, Vec<u8>, Vec<u8>)>> {
        let rows = sqlx::query(
            "SELECT segment_id, chain_seq, prev_chain, chain FROM erased_segment WHERE camera_id = $1 AND stream = $2 \
             ORDER BY segment_id",
        )
        .bind(camera.0)
        .bind(stream.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("segment_id")?,
                    r.try_get("chain_seq")?,
                    r.try_get("prev_chain")?,
                    r.try_get("chain")?,
                ))
            })
            .collect()
    }

    /// The head of a stream's chain: (seq, hash).
    pub async fn chain_head(
        &self,
        camera: CameraId,
        stream: StreamKind,
    ) -> Result<Option<(i64, Vec<u8>)>> {
        let r =
            sqlx::query("SELECT seq, head FROM chain_state WHERE camera_id = $1 AND stream = $2")
                .bind(camera.0)
                .bind(stream.as_str())
                .fetch_optional(&self.pool)
                .await?;
        r.map(|r| Ok((r.try_get("seq")?, r.try_get("head")?)))
            .transpose()
    }

    /// Every (camera, stream) that has a chain.
    pub async fn chains(&self) -> Result<Vec<(CameraId, StreamKind)>> {
        let rows =
            sqlx::query("SELECT camera_id, stream FROM chain_state ORDER BY camera_id, stream")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    CameraId(r.try_get("camera_id")?),
                    StreamKind::parse(r.try_get("stream")?).unwrap_or(StreamKind::Main),
                ))
            })
            .collect()
    }

    pub async fn chain_signature_insert(
        &self,
        camera: CameraId,
        stream: StreamKind,
        seq: i64,
        head: &[u8],
        signed_at: Timestamp,
        signature: &[u8],
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO chain_signature (camera_id, stream, seq, head, signed_at_us, signature) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(camera.0)
        .bind(stream.as_str())
        .bind(seq)
        .bind(head)
        .bind(signed_at.0)
        .bind(signature)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The first signed head of a stream at or after chain position `seq`:
    /// (seq, head, signed_at, signature).
    pub async fn chain_signature_from(
        &self,
        camera: CameraId,
        stream: StreamKind,
        seq: i64,
    ) -> Result<Option<(i64, Vec<u8>, Timestamp, Vec<u8>)>> {
        let r = sqlx::query(
            "SELECT seq, head, signed_at_us, signature FROM chain_signature \
             WHERE camera_id = $1 AND stream = $2 AND seq >= $3 ORDER BY seq, id LIMIT 1",
        )
        .bind(camera.0)
        .bind(stream.as_str())
        .bind(seq)
        .fetch_optional(&self.pool)
        .await?;
        r.map(|r| {
            Ok((
                r.try_get("seq")?,
                r.try_get("head")?,
                Timestamp(r.try_get("signed_at_us")?),
                r.try_get("signature")?,
            ))
        })
        .transpose()
    }

    /// Signed heads of a stream: (seq, head, signed_at, signature), oldest first.
    pub async fn chain_signatures(
        &self,
        camera: CameraId,
        stream: StreamKind,
    ) -> Result<Vec<(i64, Vec<u8>, Timestamp, Vec<u8>)>> {
        let rows = sqlx::query(
            "SELECT seq, head, signed_at_us, signature FROM chain_signature WHERE camera_id = $1 AND stream = $2 ORDER BY id",
        )
        .bind(camera.0)
        .bind(stream.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("seq")?,
                    r.try_get("head")?,
                    Timestamp(r.try_get("signed_at_us")?),
                    r.try_get("signature")?,
                ))
            })
            .collect()
    }

    pub async fn verify_run_insert(
        &self,
        at: Timestamp,
        segments: i64,
        bytes: i64,
        problems: i64,
        summary: &str,
    ) -> Result<()> {
        sqlx::query("INSERT INTO verify_run (at_us, segments, bytes, problems, summary) VALUES ($1, $2, $3, $4, $5)")
            .bind(at.0)
            .bind(segments)
            .bind(bytes)
            .bind(problems)
            .bind(summary)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The newest verify result: (at, segments, problems, summary).
    pub async fn last_verify_run(&self) -> Result<Option<(Timestamp, i64, i64, String)>> {
        let r = sqlx::query(
            "SELECT at_us, segments, problems, summary FROM verify_run ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        r.map(|r| {
            Ok((
                Timestamp(r.try_get("at_us")?),
                r.try_get("segments")?,
                r.try_get("problems")?,
                r.try_get("summary")?,
            ))
        })
        .transpose()
    }
}
