//! The `gap` table: where a stream was not recorded and why. At most one gap per
//! stream is open (recording has not resumed yet).

use mimamori_base::{CameraId, Timestamp};
use sqlx::Row;

use crate::{Catalog, Result, StreamKind};

/// Why a stream was not recorded for a while.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GapReason {
    Unreachable,
    AuthFailed,
    Stalled,
    StreamEnded,
    StreamError,
    RecorderStopped,
    /// The camera moved to another recorder node (the first stopped renewing).
    NodeHandover,
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
            GapReason::NodeHandover => "node_handover",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "unreachable" => GapReason::Unreachable,
            "auth_failed" => GapReason::AuthFailed,
            "stalled" => GapReason::Stalled,
            "stream_ended" => GapReason::StreamEnded,
            "stream_error" => GapReason::StreamError,
            "node_handover" => GapReason::NodeHandover,
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

impl Catalog {
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
            "SELECT id FROM gap WHERE camera_id = $1 AND stream = $2 AND end_us IS NULL",
        )
        .bind(camera.0)
        .bind(stream.as_str())
        .fetch_optional(&self.pool)
        .await?
        {
            return Ok(id);
        }
        Ok(sqlx::query_scalar(
            "INSERT INTO gap (camera_id, stream, start_us, end_us, reason, detail) \
             VALUES ($1, $2, $3, NULL, $4, $5) RETURNING id",
        )
        .bind(camera.0)
        .bind(stream.as_str())
        .bind(start.0)
        .bind(reason.as_str())
        .bind(detail)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Updates the reason of the open gap (a camera that was unreachable may now refuse our password).
    pub async fn gap_set_reason(
        &self,
        camera: CameraId,
        stream: StreamKind,
        reason: GapReason,
        detail: &str,
    ) -> Result<()> {
        // Unchanged reasons are not written again: a camera that does not answer
        // restates its reason on every retry, and each write is a commit (on
        // PostgreSQL a WAL flush that other writers, the audit log among them,
        // queue behind).
        sqlx::query(
            "UPDATE gap SET reason = $1, detail = $2 \
             WHERE camera_id = $3 AND stream = $4 AND end_us IS NULL \
             AND (reason <> $1 OR detail <> $2)",
        )
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
            "UPDATE gap SET end_us = CASE WHEN start_us > $1 THEN start_us ELSE $1 END \
             WHERE camera_id = $2 AND stream = $3 AND end_us IS NULL",
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
             WHERE camera_id = $1 AND stream = $2 AND start_us < $3 AND (end_us IS NULL OR end_us > $4) \
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
}
