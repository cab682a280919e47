//! Recorded video out: plans an `.mp4` for [start, end) from the catalog and
//! streams it with HTTP Range and ETag support, reading segment files as it goes
//! (nothing is copied into a new file first).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use mimamori_base::{CameraId, ErrorCode, Timestamp};
use mimamori_catalog::StreamKind;
use mimamori_media::SampleIndex;
use mimamori_media::mp4::{self, AssembleError, SampleEntry, SegmentSource, VirtualMp4};
use serde::Deserialize;

use crate::AppState;
use crate::error::{AppError, AppResult};

/// The longest range one request may assemble.
pub const MAX_RANGE_MICROS: i64 = 24 * 3600 * 1_000_000;
const READ_CHUNK: u64 = 512 * 1024;

#[derive(Debug, Deserialize)]
pub struct VideoQuery {
    pub start: String,
    pub end: String,
    pub stream: Option<String>,
    /// When set, the response is offered as a file download.
    pub download: Option<String>,
}

/// An RFC 3339 time, or a local `YYYY-MM-DDTHH:MM[:SS]` (as an HTML form sends it) read as Japan time.
pub fn parse_time(name: &str, v: &str) -> AppResult<Timestamp> {
    if let Some(t) = Timestamp::parse_rfc3339(v) {
        return Ok(t);
    }
    use chrono::TimeZone;
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(v, f).ok())
        .and_then(|dt| mimamori_base::time::jst().from_local_datetime(&dt).single())
        .map(|dt| Timestamp(dt.timestamp_micros()))
        .ok_or_else(|| {
            AppError::bad_input(format!(
                "{name}: not an RFC 3339 time (example: 2026-11-23T09:00:00+09:00)"
            ))
        })
}

pub fn parse_stream(v: Option<&str>) -> AppResult<StreamKind> {
    match v {
        None => Ok(StreamKind::Main),
        Some(s) => StreamKind::parse(s).ok_or_else(|| AppError::bad_input("stream: main or sub")),
    }
}

/// Plans the `.mp4` of a camera's stream for [start, end).
pub async fn plan(
    state: &AppState,
    camera: CameraId,
    stream: StreamKind,
    start: Timestamp,
    end: Timestamp,
) -> AppResult<VirtualMp4> {
    if end <= start {
        return Err(AppError::bad_input("end must be after start"));
    }
    if end.0 - start.0 > MAX_RANGE_MICROS {
        return Err(AppError::bad_input("at most 24 hours per request"));
    }
    let segments = state
        .catalog
        .segments_overlapping(camera, stream, start, end)
        .await?;
    let mut entries: Vec<SampleEntry> = Vec::new();
    let mut entry_of: HashMap<i64, usize> = HashMap::new();
    let mut sources = Vec::with_capacity(segments.len());
    for s in segments {
        let idx = match entry_of.get(&s.video_params_id) {
            Some(i) => *i,
            None => {
                let p = state.catalog.video_params(s.video_params_id).await?;
                entries.push(SampleEntry {
                    id: p.id,
                    bytes: p.sample_entry,
                    width: p.width,
                    height: p.height,
                });
                entry_of.insert(s.video_params_id, entries.len() - 1);
                entries.len() - 1
            }
        };
        let index = SampleIndex::decode(&s.sample_index).map_err(|e| {
            tracing::error!(segment = s.id.0, "{e}");
            AppError::new(
                ErrorCode::Inconsistent,
                format!("segment {} has a corrupt index; run `mimamori check`", s.id),
            )
        })?;
        sources.push(SegmentSource {
            segment_id: s.id.0,
            file_name: s.file_name,
            start: s.start,
            samples: index.samples,
            sample_entry: idx,
        });
    }
    mp4::assemble(&sources, &entries, start, end).map_err(|e| match e {
        AssembleError::Empty => AppError::not_found("nothing was recorded in this range"),
        AssembleError::BadRange => AppError::bad_input("end must be after start"),
    })
}

/// `GET /api/cameras/{id}/video.mp4?start=&end=`
pub async fn video_mp4(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<VideoQuery>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let camera = state.catalog.camera(CameraId(id)).await?;
    let start = parse_time("start", &q.start)?;
    let end = parse_time("end", &q.end)?;
    let stream = parse_stream(q.stream.as_deref())?;
    let plan = plan(&state, camera.id, stream, start, end).await?;
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-transform"),
    );
    if let Ok(v) = HeaderValue::from_str(&plan.etag) {
        h.insert(header::ETAG, v);
    }
    if q.download.is_some() {
        let name = format!(
            "camera{}_{}.mp4",
            camera.id,
            start
                .to_datetime()
                .with_timezone(&mimamori_base::time::jst())
                .format("%Y%m%d_%H%M%S")
        );
        if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == plan.etag || t.trim() == "*")
        })
    {
        return Ok((StatusCode::NOT_MODIFIED, h).into_response());
    }
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let if_range_ok = headers
        .get(header::IF_RANGE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v == plan.etag);
    let (status, offset, len) = match range.filter(|_| if_range_ok) {
        None => (StatusCode::OK, 0, plan.len),
        Some(r) => match parse_range(r, plan.len) {
            Some((a, b)) => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes {a}-{b}/{}", plan.len)) {
                    h.insert(header::CONTENT_RANGE, v);
                }
                (StatusCode::PARTIAL_CONTENT, a, b - a + 1)
            }
            None => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{}", plan.len)) {
                    h.insert(header::CONTENT_RANGE, v);
                }
                return Ok((StatusCode::RANGE_NOT_SATISFIABLE, h).into_response());
            }
        },
    };
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    let body = Body::from_stream(byte_stream(state, plan, offset, len));
    Ok((status, h, body).into_response())
}

/// Parses a single `bytes=` range against a body of `total` bytes; `None` if unsatisfiable.
/// Multiple ranges are answered with the first.
pub fn parse_range(v: &str, total: u64) -> Option<(u64, u64)> {
    let spec = v.strip_prefix("bytes=")?.split(',').next()?.trim();
    let (a, b) = spec.split_once('-')?;
    if total == 0 {
        return None;
    }
    if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        if n == 0 {
            return None;
        }
        return Some((total.saturating_sub(n), total - 1));
    }
    let a: u64 = a.parse().ok()?;
    if a >= total {
        return None;
    }
    let b = if b.is_empty() {
        total - 1
    } else {
        b.parse::<u64>().ok()?.min(total - 1)
    };
    (a <= b).then_some((a, b))
}

/// The bytes [offset, offset+len) of the planned file, read in chunks as the client takes them.
fn byte_stream(
    state: AppState,
    plan: VirtualMp4,
    offset: u64,
    len: u64,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    // Split the requested range into (part, offset, len) pieces of at most READ_CHUNK.
    let mut pieces = Vec::new();
    for (part, off, n) in plan.parts_for(offset, len) {
        let mut done = 0;
        while done < n {
            let k = (n - done).min(READ_CHUNK);
            pieces.push((part, off + done, k));
            done += k;
        }
    }
    let plan = std::sync::Arc::new(plan);
    futures::stream::iter(pieces).then(move |(part, off, n)| {
        let plan = plan.clone();
        let store = state.store.clone();
        async move {
            match part {
                None => {
                    let (a, b) = (off as usize, (off + n) as usize);
                    Ok(Bytes::copy_from_slice(&plan.head[a..b]))
                }
                Some(i) => {
                    let slice = plan.slices[i].clone();
                    let res = tokio::task::spawn_blocking(move || {
                        store.read_range(&slice.file_name, slice.offset + off, n as usize)
                    })
                    .await
                    .map_err(std::io::Error::other)?;
                    res.map(Bytes::from).map_err(|e| {
                        tracing::error!("{e}");
                        std::io::Error::other(e.to_string())
                    })
                }
            }
        }
    })
}

use futures::StreamExt as _;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some((0, 99)));
        assert_eq!(parse_range("bytes=900-", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=-100", 1000), Some((900, 999)));
        assert_eq!(parse_range("bytes=990-2000", 1000), Some((990, 999)));
        assert_eq!(parse_range("bytes=1000-", 1000), None);
        assert_eq!(parse_range("bytes=5-1", 1000), None);
        assert_eq!(parse_range("items=0-1", 1000), None);
        assert_eq!(parse_range("bytes=abc", 1000), None);
    }
}
