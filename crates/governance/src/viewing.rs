//! Images, below the web: turns (camera, range, purpose, actor) into a servable
//! object — a planned MP4 (moov first) or a fragmented MP4, with the readers that
//! decrypt its segment files chunk by chunk — only after the policy allowed it
//! (purpose, permission, terminal, instruction) and the audit entry was written:
//! no byte leaves without its entry. Live view is authorized and logged here the
//! same way; the frames themselves come from the recorders. Also the timeline of
//! what was recorded (spans and gaps) and the days that hold footage.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use mimamori_base::time::parse_time;
use mimamori_base::{CameraId, Timestamp};
use mimamori_catalog::{Catalog, GapReason, StreamKind};
use mimamori_crypto::SegmentCipher;
use mimamori_media::SampleIndex;
use mimamori_media::fmp4;
use mimamori_media::mp4::{self, AssembleError, FileSlice, SampleEntry, SegmentSource};
use mimamori_policy::{Permission, Policy};
use mimamori_storage::SegmentStore;
use serde::Deserialize;

use crate::Governance;
use crate::actor::Actor;
use crate::audit::Entry;
use crate::error::{Error, Result};
use crate::refusal::Refusal;

/// The longest range one request may assemble.
pub const MAX_RANGE_MICROS: i64 = 24 * 3600 * 1_000_000;
/// File pieces are read and decrypted this much at a time.
const READ_CHUNK: u64 = 512 * 1024;

/// A request for recorded footage, as it arrives (query parameters). It is parsed
/// here, after the camera is known: a request for an unknown camera is "not found"
/// whatever else it says.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct FootageQuery {
    pub start: String,
    pub end: String,
    pub stream: Option<String>,
    /// A download was asked for: refused for every role and logged, since footage
    /// leaves only through an approved request (REQ-STO-3).
    pub download: Option<String>,
    /// The purpose of viewing: an id from the policy's list (REQ-PUR-1).
    pub purpose: Option<String>,
    /// Free text about the purpose (the case, the inquiry).
    pub note: Option<String>,
}

/// How the footage is laid out.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One MP4, `moov` before `mdat`, for players and downloads (Range requests).
    Progressive,
    /// Fragmented MP4 for Media Source Extensions.
    Fragmented,
}

/// A stream of a camera: `main` (default) or `sub`.
pub fn parse_stream(v: Option<&str>) -> Result<StreamKind> {
    match v {
        None => Ok(StreamKind::Main),
        Some(s) => StreamKind::parse(s).ok_or_else(|| Error::bad_input("stream: main or sub")),
    }
}

/// The purpose a viewing states, as written into its audit entry: `id: label — note`.
pub fn stated_purpose(
    policy: &Policy,
    purpose: Option<&str>,
    note: Option<&str>,
) -> Result<String> {
    let id = purpose.map(str::trim).unwrap_or("");
    let Some(p) = policy.purpose(id) else {
        let known: Vec<String> = policy
            .purposes
            .iter()
            .map(|p| format!("{} ({})", p.id, p.label))
            .collect();
        return Err(Error::rule(format!(
            "state the purpose of viewing: purpose= one of {}",
            known.join(", ")
        )));
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

/// One piece of a body: bytes built in memory, or a range of a segment file.
#[derive(Clone, Debug)]
enum Piece {
    Bytes(Bytes),
    File(FileSlice),
}

impl Piece {
    fn len(&self) -> u64 {
        match self {
            Piece::Bytes(b) => b.len() as u64,
            Piece::File(f) => f.len,
        }
    }
}

/// How to read one segment file of a body.
#[derive(Clone)]
enum Reader {
    /// A finished segment: its cipher and plaintext length.
    Closed(Arc<SegmentCipher>, u64),
    /// A segment still being written: its durable sealed chunks, then the tail
    /// read from its journal when the footage was planned.
    Open {
        cipher: Arc<SegmentCipher>,
        sealed_chunks: u32,
        tail: Bytes,
    },
}

/// How to read each segment file of a body, by file name.
type Readers = HashMap<String, Reader>;

fn read_piece(store: &SegmentStore, reader: &Reader, f: &FileSlice) -> std::io::Result<Bytes> {
    let io = |e: mimamori_storage::StorageError| {
        tracing::error!("{e}");
        std::io::Error::other(e.to_string())
    };
    match reader {
        Reader::Closed(cipher, plain_len) => store
            .read_range(&f.file_name, cipher, *plain_len, f.offset, f.len as usize)
            .map(Bytes::from)
            .map_err(io),
        Reader::Open {
            cipher,
            sealed_chunks,
            tail,
        } => {
            let sealed = u64::from(*sealed_chunks) * mimamori_crypto::CHUNK as u64;
            let end = f.offset + f.len;
            let mut out = Vec::with_capacity(f.len as usize);
            if f.offset < sealed {
                let n = end.min(sealed) - f.offset;
                out.extend_from_slice(
                    &store
                        .read_open_range(&f.file_name, cipher, *sealed_chunks, f.offset, n as usize)
                        .map_err(io)?,
                );
            }
            if end > sealed {
                let a = (f.offset.max(sealed) - sealed) as usize;
                let b = (end - sealed) as usize;
                let part = tail
                    .get(a..b)
                    .ok_or_else(|| std::io::Error::other("past the recorded tail"))?;
                out.extend_from_slice(part);
            }
            Ok(Bytes::from(out))
        }
    }
}

/// Recorded footage (or an evidence package) ready to serve: its length, validator
/// and headers' facts, and [`Footage::read`] for any byte range. The audit entry is
/// already written.
pub struct Footage {
    pub len: u64,
    /// `video/mp4`, or `application/zip` for an evidence package.
    pub content_type: &'static str,
    /// A strong validator of exactly these bytes (progressive MP4).
    pub etag: Option<String>,
    /// The file name to offer, for a download.
    pub download_name: Option<String>,
    /// RFC 6381 codec strings, in the order their init segments appear (fragmented MP4).
    pub codecs: Vec<String>,
    /// How far after its start playback should begin, in seconds (fragmented MP4).
    pub lead_seconds: Option<f64>,
    pieces: Vec<Piece>,
    readers: Arc<Readers>,
    store: SegmentStore,
}

impl Footage {
    /// A whole encrypted file of `store` (an evidence package), as a download.
    pub(crate) fn whole_file(
        store: SegmentStore,
        file_name: &str,
        cipher: SegmentCipher,
        len: u64,
        download_name: String,
        content_type: &'static str,
        etag: String,
    ) -> Footage {
        let mut readers = Readers::new();
        readers.insert(file_name.to_string(), Reader::Closed(Arc::new(cipher), len));
        Footage {
            len,
            content_type,
            etag: Some(etag),
            download_name: Some(download_name),
            codecs: Vec::new(),
            lead_seconds: None,
            pieces: vec![Piece::File(FileSlice {
                file_name: file_name.to_string(),
                offset: 0,
                len,
            })],
            readers: Arc::new(readers),
            store,
        }
    }

    /// The bytes of `range` (clamped to the body), read and decrypted as the
    /// consumer takes them.
    pub fn read(&self, range: Range<u64>) -> BoxStream<'static, std::io::Result<Bytes>> {
        let end = range.end.min(self.len);
        let mut out = Vec::new();
        let mut pos = 0u64;
        for p in &self.pieces {
            let (p_start, p_end) = (pos, pos + p.len());
            pos = p_end;
            if p_end <= range.start || p_start >= end {
                continue;
            }
            let a = range.start.max(p_start) - p_start;
            let b = end.min(p_end) - p_start;
            match p {
                Piece::Bytes(bytes) => out.push(Piece::Bytes(bytes.slice(a as usize..b as usize))),
                Piece::File(f) => {
                    let mut at = a;
                    while at < b {
                        let n = (b - at).min(READ_CHUNK);
                        out.push(Piece::File(FileSlice {
                            file_name: f.file_name.clone(),
                            offset: f.offset + at,
                            len: n,
                        }));
                        at += n;
                    }
                }
            }
        }
        let store = self.store.clone();
        let readers = self.readers.clone();
        futures::stream::iter(out)
            .then(move |piece| {
                let store = store.clone();
                let readers = readers.clone();
                async move {
                    match piece {
                        Piece::Bytes(b) => Ok(b),
                        Piece::File(f) => {
                            let reader = readers.get(&f.file_name).cloned().ok_or_else(|| {
                                std::io::Error::other("no reader for a planned file")
                            })?;
                            tokio::task::spawn_blocking(move || read_piece(&store, &reader, &f))
                                .await
                                .map_err(std::io::Error::other)?
                        }
                    }
                }
            })
            .boxed()
    }
}

/// What was recorded of a stream over a range: spans (merged segments of a run)
/// and gaps with their reasons, both clipped to the range.
#[derive(Clone, Debug)]
pub struct Timeline {
    pub camera: CameraId,
    pub stream: StreamKind,
    pub from: Timestamp,
    pub to: Timestamp,
    pub spans: Vec<(Timestamp, Timestamp)>,
    pub gaps: Vec<TimelineGap>,
}

/// A gap as the timeline shows it.
#[derive(Clone, Debug)]
pub struct TimelineGap {
    pub start: Timestamp,
    pub end: Timestamp,
    /// Recording has not resumed yet.
    pub open: bool,
    pub reason: GapReason,
    pub detail: String,
}

fn assemble_error(e: AssembleError) -> Error {
    match e {
        AssembleError::Empty => Error::NotFound("nothing was recorded in this range".into()),
        AssembleError::BadRange => Error::bad_input("end must be after start"),
    }
}

/// The segments of a range, their sample entries and how to decrypt each file.
/// The sample entries (codec parameters) of the segments of a range, each once,
/// in the order first met.
#[derive(Default)]
pub(crate) struct SampleEntries {
    pub(crate) list: Vec<SampleEntry>,
    index: HashMap<i64, usize>,
}

impl SampleEntries {
    /// The place of the entry of `video_params_id`, read from the catalog the first time.
    pub(crate) async fn index_of(
        &mut self,
        catalog: &Catalog,
        video_params_id: i64,
    ) -> Result<usize> {
        if let Some(i) = self.index.get(&video_params_id) {
            return Ok(*i);
        }
        let p = catalog.video_params(video_params_id).await?;
        self.list.push(SampleEntry {
            id: p.id,
            codec: p.rfc6381_codec,
            bytes: p.sample_entry,
            width: p.width,
            height: p.height,
        });
        self.index.insert(video_params_id, self.list.len() - 1);
        Ok(self.list.len() - 1)
    }
}

struct Sources {
    segments: Vec<SegmentSource>,
    entries: Vec<SampleEntry>,
    readers: Readers,
}

impl Governance {
    /// Recorded footage of a camera for [start, end), for a stated purpose (needs
    /// `playback`; a download is refused, see [`FootageQuery::download`]). The
    /// `playback` entry is written before this returns; one viewing made of many Range
    /// requests is one entry.
    pub async fn footage(
        &self,
        actor: &Actor,
        camera: CameraId,
        q: &FootageQuery,
        shape: Shape,
    ) -> Result<Footage> {
        let camera = self.catalog.camera(camera).await?.id;
        let start = parse_time("start", &q.start)?;
        let end = parse_time("end", &q.end)?;
        let stream = parse_stream(q.stream.as_deref())?;
        let purpose = stated_purpose(&self.policy, q.purpose.as_deref(), q.note.as_deref())?;
        if q.download.is_some() {
            // REQ-STO-3: outside an approved request no role takes footage away
            // (Tottori 5(1), Chiba 第2-5(4), Kitakyushu 第6条2, Midori 第10条).
            let refusal = Refusal::OnlyThroughProvision {
                basis: self.policy.disclosure.basis.clone(),
            };
            let mut entry = Entry::new("refused", format!("download: {refusal}"));
            entry.camera = Some(camera);
            entry.range = Some((start, end));
            self.audit.record(actor, entry).await?;
            return Err(Error::Refused(refusal));
        }
        self.authorize(
            actor,
            Permission::Playback,
            Some(camera),
            Some((start, end)),
            "playback",
        )
        .await?;
        let entry = Entry {
            action: "playback",
            camera: Some(camera),
            range: Some((start, end)),
            purpose,
            detail: format!("stream {}", stream.as_str()),
        };
        if shape == Shape::Progressive {
            return self
                .progressive(actor, camera, stream, (start, end), entry)
                .await;
        }
        let src = self.sources(camera, stream, start, end).await?;
        // Fragmented, for Media Source Extensions.
        let sel = mp4::select(&src.segments, start, end).map_err(assemble_error)?;
        let frag = fmp4::assemble(&sel, &src.entries);
        let codecs = frag
            .codec_entries
            .iter()
            .filter_map(|i| src.entries.get(*i).map(|e| e.codec.clone()))
            .collect();
        let pieces = frag
            .parts
            .into_iter()
            .map(|p| match p {
                fmp4::Part::Bytes(b) => Piece::Bytes(Bytes::from(b)),
                fmp4::Part::File(f) => Piece::File(f),
            })
            .collect();
        let (len, etag, lead_seconds) = (frag.len, None, Some(frag.lead_90k as f64 / 90_000.0));
        // The audit entry is written before any image byte leaves.
        self.audit.record_view(actor, entry).await?;
        Ok(Footage {
            len,
            content_type: "video/mp4",
            etag,
            download_name: None,
            codecs,
            lead_seconds,
            pieces,
            readers: Arc::new(src.readers),
            store: self.store.clone(),
        })
    }

    /// The progressive MP4 of a camera's [start, end), once `entry` is written
    /// (the caller has authorized it).
    pub(crate) async fn progressive(
        &self,
        actor: &Actor,
        camera: CameraId,
        stream: StreamKind,
        (start, end): (Timestamp, Timestamp),
        entry: Entry,
    ) -> Result<Footage> {
        let src = self.sources(camera, stream, start, end).await?;
        let plan =
            mp4::assemble(&src.segments, &src.entries, start, end).map_err(assemble_error)?;
        let mut pieces = vec![Piece::Bytes(Bytes::from(plan.head))];
        pieces.extend(plan.slices.into_iter().map(Piece::File));
        // The audit entry is written before any image byte leaves.
        self.audit.record_view(actor, entry).await?;
        Ok(Footage {
            len: plan.len,
            content_type: "video/mp4",
            etag: Some(plan.etag),
            download_name: None,
            codecs: Vec::new(),
            lead_seconds: None,
            pieces,
            readers: Arc::new(src.readers),
            store: self.store.clone(),
        })
    }

    /// What was recorded of a camera's stream over [from, to) (needs `camera_status`).
    pub async fn timeline(
        &self,
        actor: &Actor,
        camera: CameraId,
        from: &str,
        to: &str,
        stream: Option<&str>,
    ) -> Result<Timeline> {
        let camera = self.catalog.camera(camera).await?.id;
        let from = parse_time("from", from)?;
        let to = parse_time("to", to)?;
        if to <= from {
            return Err(Error::bad_input("to must be after from"));
        }
        let stream = parse_stream(stream)?;
        self.require_camera(actor, Permission::CameraStatus, camera)
            .await?;
        // The segment being written counts as far as its last checkpoint. Its
        // journal is looked at before the catalog: a segment finishing meanwhile
        // is then in one or the other (its journal goes only once the catalog has it).
        let open_segments = self.store.open_segments(camera);
        let mut times = self.catalog.segment_times(camera, stream, from, to).await?;
        for open in open_segments {
            let end = open.covered_end();
            if open.header.stream == stream.as_str()
                && open.header.start < to
                && end > from
                && end > open.header.start
            {
                times.push((open.header.start, end, open.header.run_start));
            }
        }
        times.sort_by_key(|t| t.0);
        // Merge segments of one run (they touch exactly) into spans.
        let mut spans: Vec<(Timestamp, Timestamp)> = Vec::new();
        for (s, e, _) in times {
            match spans.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => spans.push((s, e)),
            }
        }
        let now = self.clock.now();
        let gaps = self
            .catalog
            .gaps_overlapping(camera, stream, from, to)
            .await?
            .into_iter()
            .map(|g| TimelineGap {
                start: g.start.max(from),
                // An open gap is shown up to now.
                end: g.end.unwrap_or(now).min(to),
                open: g.end.is_none(),
                reason: g.reason,
                detail: g.detail,
            })
            .collect();
        Ok(Timeline {
            camera,
            stream,
            from,
            to,
            spans: spans
                .into_iter()
                .map(|(s, e)| (s.max(from), e.min(to)))
                .collect(),
            gaps,
        })
    }

    /// The Japan-time days of a month (`YYYY-MM`) that hold footage of a camera's
    /// main stream (needs `camera_status`).
    pub async fn recorded_days(
        &self,
        actor: &Actor,
        camera: CameraId,
        month: &str,
    ) -> Result<Vec<chrono::NaiveDate>> {
        use chrono::Datelike;
        let camera = self.catalog.camera(camera).await?.id;
        let first = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
            .map_err(|_| Error::bad_input("month: YYYY-MM"))?;
        let next = if first.month() == 12 {
            chrono::NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
        } else {
            chrono::NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
        }
        .ok_or_else(|| Error::bad_input("month out of range"))?;
        self.require_camera(actor, Permission::CameraStatus, camera)
            .await?;
        let (from, to) = (
            mimamori_base::time::jst_day_start(first),
            mimamori_base::time::jst_day_start(next),
        );
        let times = self
            .catalog
            .segment_times(camera, StreamKind::Main, from, to)
            .await?;
        let mut days: Vec<chrono::NaiveDate> = Vec::new();
        for (s, e, _) in times {
            let mut d = s.max(from).jst_date();
            let last = Timestamp(e.min(to).0 - 1).jst_date();
            while d <= last {
                if days.last() != Some(&d) {
                    days.push(d);
                }
                match d.succ_opt() {
                    Some(n) => d = n,
                    None => break,
                }
            }
        }
        days.dedup();
        Ok(days)
    }

    /// A catalogued segment as the assembler sees it, and the cipher of its file.
    pub(crate) async fn closed_source(
        &self,
        seg: &mimamori_catalog::Segment,
        entries: &mut SampleEntries,
    ) -> Result<(SegmentSource, Arc<SegmentCipher>)> {
        let (id, s) = (seg.id, &seg.recorded);
        let key = self.keys.key(s.data_key_id).await?.ok_or_else(|| {
            Error::NotFound(format!("segment {id} was erased (its key is destroyed)"))
        })?;
        let cipher = Arc::new(s.cipher(key).ok_or_else(|| {
            Error::Inconsistent(format!(
                "segment {id} has no valid nonce; run `mimamori verify`"
            ))
        })?);
        let sample_entry = entries.index_of(&self.catalog, s.video_params_id).await?;
        let index = SampleIndex::decode(&s.sample_index).map_err(|e| {
            tracing::error!(segment = id.0, "{e}");
            Error::Inconsistent(format!(
                "segment {id} has a corrupt index; run `mimamori check`"
            ))
        })?;
        Ok((
            SegmentSource {
                segment_id: id.0,
                file_name: s.file_name.clone(),
                start: s.start,
                samples: index.samples,
                sample_entry,
            },
            cipher,
        ))
    }

    /// The stored segments overlapping [start, end) with their decoded indexes, the
    /// sample entries they use, and how to decrypt each file.
    async fn sources(
        &self,
        camera: CameraId,
        stream: StreamKind,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Sources> {
        if end <= start {
            return Err(Error::bad_input("end must be after start"));
        }
        if end.0.saturating_sub(start.0) > MAX_RANGE_MICROS {
            return Err(Error::bad_input("at most 24 hours per request"));
        }
        // Journals first, then the catalog (see `timeline`): no segment finishing
        // meanwhile falls between the two.
        let open_segments = self.store.open_segments(camera);
        let stored = self
            .catalog
            .segments_overlapping(camera, stream, start, end)
            .await?;
        let mut entries = SampleEntries::default();
        let mut segments = Vec::with_capacity(stored.len());
        let mut readers = Readers::new();
        for seg in &stored {
            let (source, cipher) = self.closed_source(seg, &mut entries).await?;
            readers.insert(
                seg.recorded.file_name.clone(),
                Reader::Closed(cipher, u64::try_from(seg.recorded.bytes).unwrap_or(0)),
            );
            segments.push(source);
        }
        // The segment being written, as far as its last checkpoint (a second or so
        // ago): what was recorded a moment ago plays before its segment closes.
        for open in open_segments {
            if open.header.stream != stream.as_str() || readers.contains_key(&open.file_name) {
                continue;
            }
            let Some(playable) = self.open_source(&open).await? else {
                continue;
            };
            let (source, reader, params_id) = playable;
            let open_end = source.start.add_90k(
                source
                    .samples
                    .iter()
                    .map(|x| i64::from(x.duration_90k))
                    .sum(),
            );
            if source.start >= end || open_end <= start {
                continue;
            }
            let idx = entries.index_of(&self.catalog, params_id).await?;
            readers.insert(source.file_name.clone(), reader);
            segments.push(SegmentSource {
                sample_entry: idx,
                ..source
            });
        }
        Ok(Sources {
            segments,
            entries: entries.list,
            readers,
        })
    }

    /// A segment being written as a source: the frames its journal vouches for and
    /// how to read them. `None` when nothing is playable yet (or its key is gone).
    async fn open_source(
        &self,
        open: &mimamori_storage::OpenSegment,
    ) -> Result<Option<(SegmentSource, Reader, i64)>> {
        let h = &open.header;
        let Some(key) = self.keys.key(h.data_key_id).await? else {
            return Ok(None);
        };
        let cipher = Arc::new(SegmentCipher::new(
            key,
            h.nonce_prefix,
            open.file_name.as_bytes(),
        ));
        let tail = match &open.tail {
            Some(t) => cipher
                .open_tail(open.sealed_chunks, t)
                .map(Bytes::from)
                .unwrap_or_default(),
            None => Bytes::new(),
        };
        let available = open.sealed_bytes() + tail.len() as u64;
        let mut samples = Vec::new();
        let mut used = 0u64;
        for f in &open.frames {
            used += u64::from(f.size);
            if used > available {
                break;
            }
            samples.push(mimamori_media::SampleInfo {
                size: f.size,
                duration_90k: f.duration_90k,
                key: f.key,
            });
        }
        if samples.is_empty() {
            return Ok(None);
        }
        Ok(Some((
            SegmentSource {
                segment_id: 0,
                file_name: open.file_name.clone(),
                start: h.start,
                samples,
                sample_entry: 0,
            },
            Reader::Open {
                cipher,
                sealed_chunks: open.sealed_chunks,
                tail,
            },
            h.video_params_id,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_come_from_the_policy() {
        let policy = Policy::preset("chiba-guideline").unwrap();
        let id = policy.purposes[0].id.clone();
        let p = stated_purpose(&policy, Some(&id), Some(" 万引き\n")).unwrap();
        assert!(
            p.starts_with(&format!("{id}: ")) && p.ends_with("— 万引き"),
            "{p}"
        );
        let e = stated_purpose(&policy, Some("curiosity"), None).unwrap_err();
        assert!(e.to_string().contains("state the purpose"), "{e}");
    }
}
