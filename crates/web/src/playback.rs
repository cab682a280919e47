//! Recorded video out: plans an `.mp4` for [start, end) from the catalog and
//! streams it with HTTP Range and ETag support, reading segment files as it goes
//! (nothing is copied into a new file first).

use std::collections::HashMap;
use std::sync::Arc;

use mimamori_crypto::SegmentCipher;

use axum::body::Body;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use mimamori_base::{CameraId, ErrorCode, Timestamp};
use mimamori_catalog::StreamKind;
use mimamori_media::SampleIndex;
use mimamori_media::fmp4;
use mimamori_media::mp4::{self, AssembleError, FileSlice, SampleEntry, SegmentSource, VirtualMp4};
use serde::Deserialize;

use crate::AppState;
use crate::audit::{self, ClientAddr};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use mimamori_governance::access::Origin;
use mimamori_policy::Permission;

/// The longest range one request may assemble.
pub const MAX_RANGE_MICROS: i64 = 24 * 3600 * 1_000_000;
const READ_CHUNK: u64 = 512 * 1024;

#[derive(Debug, Deserialize)]
pub struct VideoQuery {
    pub start: String,
    pub end: String,
    pub stream: Option<String>,
    /// When set, the response is offered as a file download (needs the export permission).
    pub download: Option<String>,
    /// The purpose of viewing: an id from the policy's list (REQ-PUR-1).
    pub purpose: Option<String>,
    /// Free text about the purpose (the case, the inquiry).
    pub note: Option<String>,
}

/// The purpose a viewing states, as written into its audit entry: `id: label — note`.
pub fn stated_purpose(
    state: &AppState,
    purpose: Option<&str>,
    note: Option<&str>,
) -> AppResult<String> {
    let id = purpose.map(str::trim).unwrap_or("");
    let Some(p) = state.policy.purpose(id) else {
        let known: Vec<String> = state
            .policy
            .purposes
            .iter()
            .map(|p| format!("{} ({})", p.id, p.label))
            .collect();
        return Err(AppError::new(
            ErrorCode::Policy,
            format!(
                "state the purpose of viewing: purpose= one of {}",
                known.join(", ")
            ),
        ));
    };
    let note: String = note
        .unwrap_or("")
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect();
    Ok(if note.is_empty() {
        format!("{}: {}", p.id, p.label)
    } else {
        format!("{}: {} — {note}", p.id, p.label)
    })
}

/// Everything checked before recorded images leave: the purpose, the export
/// permission for downloads, and the instruction (where the role needs one).
/// `Ok(Err(response))` is a logged refusal to send as is.
#[allow(clippy::too_many_arguments)]
async fn check_viewing(
    state: &AppState,
    user: &CurrentUser,
    origin: &Origin,
    q: &VideoQuery,
    camera: CameraId,
    range: (Timestamp, Timestamp),
    path: &str,
) -> AppResult<Result<String, Response>> {
    let purpose = stated_purpose(state, q.purpose.as_deref(), q.note.as_deref())?;
    let permission = if q.download.is_some() {
        Permission::Export
    } else {
        Permission::Playback
    };
    match crate::authz::camera_operation(state, user, origin, permission, camera, Some(range), path)
        .await?
    {
        Ok(()) => Ok(Ok(purpose)),
        Err(resp) => Ok(Err(resp)),
    }
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
    let (sources, entries, _) = load_sources(state, camera, stream, start, end).await?;
    mp4::assemble(&sources, &entries, start, end).map_err(assemble_error)
}

/// How to read each segment file of a plan: its cipher and plaintext length.
pub type Readers = HashMap<String, (Arc<SegmentCipher>, u64)>;

fn assemble_error(e: AssembleError) -> AppError {
    match e {
        AssembleError::Empty => AppError::not_found("nothing was recorded in this range"),
        AssembleError::BadRange => AppError::bad_input("end must be after start"),
    }
}

/// The stored segments overlapping [start, end) with their decoded indexes, the
/// sample entries they use, and how to decrypt each file.
async fn load_sources(
    state: &AppState,
    camera: CameraId,
    stream: StreamKind,
    start: Timestamp,
    end: Timestamp,
) -> AppResult<(Vec<SegmentSource>, Vec<SampleEntry>, Readers)> {
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
    let mut readers = Readers::new();
    for s in segments {
        let key = state.keys.key(s.data_key_id).await?.ok_or_else(|| {
            AppError::new(
                ErrorCode::NotFound,
                format!("segment {} was erased (its key is destroyed)", s.id),
            )
        })?;
        let nonce: [u8; 8] = s.nonce_prefix.as_slice().try_into().map_err(|_| {
            AppError::new(
                ErrorCode::Inconsistent,
                format!("segment {} has no valid nonce; run `mimamori verify`", s.id),
            )
        })?;
        readers.insert(
            s.file_name.clone(),
            (
                Arc::new(SegmentCipher::new(key, nonce, s.file_name.as_bytes())),
                u64::try_from(s.bytes).unwrap_or(0),
            ),
        );
        let idx = match entry_of.get(&s.video_params_id) {
            Some(i) => *i,
            None => {
                let p = state.catalog.video_params(s.video_params_id).await?;
                entries.push(SampleEntry {
                    id: p.id,
                    codec: p.rfc6381_codec,
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
    Ok((sources, entries, readers))
}

/// `GET /api/cameras/{id}/video.mp4?start=&end=`
pub async fn video_mp4(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<VideoQuery>,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
    Extension(origin): Extension<Origin>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let camera = state.catalog.camera(CameraId(id)).await?;
    let start = parse_time("start", &q.start)?;
    let end = parse_time("end", &q.end)?;
    let stream = parse_stream(q.stream.as_deref())?;
    let path = format!("/api/cameras/{id}/video.mp4");
    let purpose =
        match check_viewing(&state, &user, &origin, &q, camera.id, (start, end), &path).await? {
            Ok(p) => p,
            Err(refusal) => return Ok(refusal),
        };
    let (sources, entries, readers) = load_sources(&state, camera.id, stream, start, end).await?;
    let plan = mp4::assemble(&sources, &entries, start, end).map_err(assemble_error)?;
    // The audit entry is written before any image byte leaves.
    let action = if q.download.is_some() {
        "download"
    } else {
        "playback"
    };
    audit::record_view(
        &state,
        &user,
        &client.0,
        view(action, camera.id, start, end, stream, &purpose),
    )
    .await?;
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
    let pieces = plan
        .parts_for(offset, len)
        .into_iter()
        .map(|(part, off, n)| match part {
            None => Piece::Bytes(Bytes::copy_from_slice(
                &plan.head[off as usize..(off + n) as usize],
            )),
            Some(i) => Piece::File(FileSlice {
                file_name: plan.slices[i].file_name.clone(),
                offset: plan.slices[i].offset + off,
                len: n,
            }),
        })
        .collect();
    let body = Body::from_stream(byte_stream(state, pieces, readers));
    Ok((status, h, body).into_response())
}

/// `GET /api/cameras/{id}/fragmented.mp4?start=&end=`: the same range as fragmented MP4
/// for Media Source Extensions. `X-Mimamori-Codecs` lists the codec strings, and
/// `X-Mimamori-Lead-Seconds` says how far after its start `start` lies.
pub async fn video_fragmented(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<VideoQuery>,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
    Extension(origin): Extension<Origin>,
) -> AppResult<Response> {
    let camera = state.catalog.camera(CameraId(id)).await?;
    let start = parse_time("start", &q.start)?;
    let end = parse_time("end", &q.end)?;
    let stream = parse_stream(q.stream.as_deref())?;
    let path = format!("/api/cameras/{id}/fragmented.mp4");
    let purpose =
        match check_viewing(&state, &user, &origin, &q, camera.id, (start, end), &path).await? {
            Ok(p) => p,
            Err(refusal) => return Ok(refusal),
        };
    let (sources, entries, readers) = load_sources(&state, camera.id, stream, start, end).await?;
    let sel = mp4::select(&sources, start, end).map_err(assemble_error)?;
    let frag = fmp4::assemble(&sel, &entries);
    audit::record_view(
        &state,
        &user,
        &client.0,
        view("playback", camera.id, start, end, stream, &purpose),
    )
    .await?;
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-transform"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(frag.len));
    let codecs: Vec<&str> = frag
        .codec_entries
        .iter()
        .filter_map(|i| entries.get(*i).map(|e| e.codec.as_str()))
        .collect();
    if let Ok(v) = HeaderValue::from_str(&codecs.join(",")) {
        h.insert("x-mimamori-codecs", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("{:.6}", frag.lead_90k as f64 / 90_000.0)) {
        h.insert("x-mimamori-lead-seconds", v);
    }
    let pieces = frag
        .parts
        .into_iter()
        .map(|p| match p {
            fmp4::Part::Bytes(b) => Piece::Bytes(Bytes::from(b)),
            fmp4::Part::File(f) => Piece::File(f),
        })
        .collect();
    Ok((
        StatusCode::OK,
        h,
        Body::from_stream(byte_stream(state, pieces, readers)),
    )
        .into_response())
}

fn view<'a>(
    action: &'a str,
    camera: CameraId,
    start: Timestamp,
    end: Timestamp,
    stream: StreamKind,
    purpose: &'a str,
) -> audit::Access<'a> {
    audit::Access {
        action,
        camera: Some(camera),
        range: Some((start, end)),
        purpose,
        detail: format!("stream {}", stream.as_str()),
    }
}

/// A piece of a response body.
enum Piece {
    Bytes(Bytes),
    File(FileSlice),
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

/// Streams the pieces, reading segment files in chunks as the client takes them.
fn byte_stream(
    state: AppState,
    pieces: Vec<Piece>,
    readers: Readers,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    let readers = Arc::new(readers);
    let mut chunks = Vec::new();
    for p in pieces {
        match p {
            Piece::Bytes(b) => chunks.push(Piece::Bytes(b)),
            Piece::File(f) => {
                let mut done = 0;
                while done < f.len {
                    let k = (f.len - done).min(READ_CHUNK);
                    chunks.push(Piece::File(FileSlice {
                        file_name: f.file_name.clone(),
                        offset: f.offset + done,
                        len: k,
                    }));
                    done += k;
                }
            }
        }
    }
    futures::stream::iter(chunks).then(move |piece| {
        let store = state.store.clone();
        let readers = readers.clone();
        async move {
            match piece {
                Piece::Bytes(b) => Ok(b),
                Piece::File(f) => {
                    let (cipher, plain_len) = readers
                        .get(&f.file_name)
                        .cloned()
                        .ok_or_else(|| std::io::Error::other("no reader for a planned file"))?;
                    let res = tokio::task::spawn_blocking(move || {
                        store.read_range(&f.file_name, &cipher, plain_len, f.offset, f.len as usize)
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
