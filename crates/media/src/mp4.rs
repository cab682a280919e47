//! Assembly of a standard `.mp4` for any [start, end) of a camera, from stored
//! segments, without copying them: a small header (ftyp + moov, moov first so
//! players can start at once) is built in memory and the media data is a list of
//! byte ranges of the segment files. The first sample is the key frame at or
//! before `start`; an edit list makes playback begin at `start` itself.
//! Segments of different runs are joined end to end: a range that spans a gap
//! plays what exists.

use mimamori_base::Timestamp;
use mimamori_base::time::{micros_to_ticks, ticks_to_micros};
use sha2::{Digest, Sha256};

use crate::mp4box::{put_i64, put_u16, put_u32, put_u64, write_box, write_full_box};
use crate::sample_index::SampleInfo;

pub const TIMESCALE: u32 = 90_000;

/// One stored segment offered to the assembler.
#[derive(Clone, Debug)]
pub struct SegmentSource {
    pub segment_id: i64,
    pub file_name: String,
    pub start: Timestamp,
    pub samples: Vec<SampleInfo>,
    /// Index into the `sample_entries` given to [`assemble`].
    pub sample_entry: usize,
}

/// A sample entry (avc1/hvc1 box) and the picture size it declares.
#[derive(Clone, Debug)]
pub struct SampleEntry {
    pub id: i64,
    /// RFC 6381 codec string (`avc1.64001F`), for Media Source Extensions.
    pub codec: String,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// A contiguous byte range of one segment file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSlice {
    pub file_name: String,
    pub offset: u64,
    pub len: u64,
}

/// The assembled file: `head` followed by the bytes of `slices`, in order.
#[derive(Clone, Debug)]
pub struct VirtualMp4 {
    pub head: Vec<u8>,
    pub slices: Vec<FileSlice>,
    pub len: u64,
    pub etag: String,
    /// Playable duration after the edit list, in 90 kHz ticks.
    pub duration_90k: i64,
    /// Ticks decoded before `start` (from the preceding key frame).
    pub lead_90k: i64,
    pub samples: usize,
}

impl VirtualMp4 {
    /// Which parts cover bytes [offset, offset+len): (`None` = the head, `Some(i)` = slice i,
    /// offset within that part, length).
    pub fn parts_for(&self, offset: u64, len: u64) -> Vec<(Option<usize>, u64, u64)> {
        let mut out = Vec::new();
        let end = offset.saturating_add(len).min(self.len);
        let mut pos = 0u64;
        let mut cur = offset;
        let head_len = self.head.len() as u64;
        if cur < head_len && cur < end {
            let n = head_len.min(end) - cur;
            out.push((None, cur, n));
            cur += n;
        }
        pos += head_len;
        for (i, s) in self.slices.iter().enumerate() {
            if cur >= end {
                break;
            }
            let part_end = pos + s.len;
            if cur < part_end {
                let n = part_end.min(end) - cur;
                out.push((Some(i), cur - pos, n));
                cur += n;
            }
            pos = part_end;
        }
        out
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AssembleError {
    #[error("no recording in the requested range")]
    Empty,
    #[error("the requested range ends before it starts")]
    BadRange,
}

/// The frames of one segment that a range needs.
#[derive(Clone, Debug)]
pub struct Chunk {
    pub slice: FileSlice,
    pub samples: Vec<SampleInfo>,
    pub sample_entry: usize,
}

/// What a range [start, end) needs: chunks beginning at the key frame at or before
/// `start`, how far that key frame lies before `start`, and how far the last frame
/// runs past `end` (both in 90 kHz ticks).
#[derive(Clone, Debug)]
pub struct Selection {
    pub chunks: Vec<Chunk>,
    pub lead_90k: i64,
    pub overhang_90k: i64,
}

/// Builds the `.mp4` for [start, end) from `segments` (oldest first).
pub fn assemble(
    segments: &[SegmentSource],
    sample_entries: &[SampleEntry],
    start: Timestamp,
    end: Timestamp,
) -> Result<VirtualMp4, AssembleError> {
    let Selection {
        chunks,
        lead_90k,
        overhang_90k,
    } = select(segments, start, end)?;
    build(chunks, sample_entries, lead_90k, overhang_90k, start, end)
}

/// Picks the frames of [start, end) from `segments` (oldest first).
pub fn select(
    segments: &[SegmentSource],
    start: Timestamp,
    end: Timestamp,
) -> Result<Selection, AssembleError> {
    if end <= start {
        return Err(AssembleError::BadRange);
    }
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut lead_90k = 0i64;
    let mut overhang_90k = 0i64;
    // Wall-clock end of the footage chosen so far. Two nodes may have recorded
    // a camera at once (one cut off from the catalog kept recording while the
    // other took the camera over); a segment beginning before this end plays
    // from its first key frame after it, so that each moment plays once.
    let mut covered_until: Option<i64> = None;
    for seg in segments {
        // Wall-clock start of each sample, in ticks from the segment start.
        let mut t = 0i64;
        let mut first: Option<usize> = None;
        let mut last: Option<usize> = None;
        let start_ticks = micros_to_ticks(start.0 - seg.start.0);
        let end_ticks = micros_to_ticks(end.0 - seg.start.0);
        let mut key_before_start: Option<(usize, i64)> = None;
        for (i, s) in seg.samples.iter().enumerate() {
            let d = i64::from(s.duration_90k);
            if s.key && t <= start_ticks {
                key_before_start = Some((i, t));
            }
            let overlaps = t < end_ticks && (t + d > start_ticks || (d == 0 && t >= start_ticks));
            if overlaps {
                if first.is_none() {
                    first = Some(i);
                }
                last = Some(i);
                overhang_90k = (t + d - end_ticks).max(0);
            }
            t += d;
        }
        let (Some(mut first), Some(last)) = (first, last) else {
            continue;
        };
        if chunks.is_empty() {
            // Begin at the key frame at or before `start`.
            match key_before_start {
                Some((k, kt)) if k <= first => {
                    first = k;
                    lead_90k = (start_ticks - kt).max(0);
                }
                _ => {
                    // `start` precedes this segment's first key frame: skip to a key frame.
                    match seg.samples[first..=last].iter().position(|s| s.key) {
                        Some(p) => first += p,
                        None => continue,
                    }
                }
            }
        }
        if let Some(covered) = covered_until.filter(|c| *c > seg.start.0) {
            let covered_ticks = micros_to_ticks(covered - seg.start.0);
            let mut t = 0i64;
            let mut after = None;
            for (i, s) in seg.samples.iter().enumerate() {
                if i >= first && i <= last && s.key && t >= covered_ticks {
                    after = Some(i);
                    break;
                }
                t += i64::from(s.duration_90k);
            }
            match after {
                Some(i) => first = i,
                None => continue,
            }
        }
        let through: i64 = seg.samples[..=last]
            .iter()
            .map(|s| i64::from(s.duration_90k))
            .sum();
        covered_until = Some(seg.start.0 + through * 1_000_000 / 90_000);
        let offset: u64 = seg.samples[..first].iter().map(|s| u64::from(s.size)).sum();
        let samples = seg.samples[first..=last].to_vec();
        let len: u64 = samples.iter().map(|s| u64::from(s.size)).sum();
        chunks.push(Chunk {
            slice: FileSlice {
                file_name: seg.file_name.clone(),
                offset,
                len,
            },
            samples,
            sample_entry: seg.sample_entry,
        });
    }
    if chunks.is_empty() {
        return Err(AssembleError::Empty);
    }
    Ok(Selection {
        chunks,
        lead_90k,
        overhang_90k,
    })
}

fn build(
    chunks: Vec<Chunk>,
    sample_entries: &[SampleEntry],
    lead_90k: i64,
    overhang_90k: i64,
    start: Timestamp,
    end: Timestamp,
) -> Result<VirtualMp4, AssembleError> {
    let media_duration: i64 = chunks
        .iter()
        .flat_map(|c| c.samples.iter())
        .map(|s| i64::from(s.duration_90k))
        .sum();
    let duration_90k = (media_duration - lead_90k - overhang_90k).max(0);

    // The moov's size does not depend on the chunk offsets (co64 is fixed width),
    // so build it once to learn the size, then again with the real offsets.
    let ftyp = ftyp();
    let probe = moov(
        &chunks,
        sample_entries,
        lead_90k,
        duration_90k,
        media_duration,
        0,
    );
    let mdat_start = (ftyp.len() + probe.len()) as u64 + 16;
    let moov = moov(
        &chunks,
        sample_entries,
        lead_90k,
        duration_90k,
        media_duration,
        mdat_start,
    );
    let mdat_len: u64 = chunks.iter().map(|c| c.slice.len).sum();
    let mut head = ftyp;
    head.extend_from_slice(&moov);
    put_u32(&mut head, 1);
    head.extend_from_slice(b"mdat");
    put_u64(&mut head, 16 + mdat_len);

    let mut h = Sha256::new();
    h.update(b"mimamori-mp4-v1");
    h.update(start.0.to_be_bytes());
    h.update(end.0.to_be_bytes());
    for c in &chunks {
        h.update(c.slice.file_name.as_bytes());
        h.update(c.slice.offset.to_be_bytes());
        h.update(c.slice.len.to_be_bytes());
    }
    for e in sample_entries {
        h.update(e.id.to_be_bytes());
    }
    let etag = format!("\"{}\"", &hex::encode(h.finalize())[..32]);
    let samples = chunks.iter().map(|c| c.samples.len()).sum();
    Ok(VirtualMp4 {
        len: head.len() as u64 + mdat_len,
        head,
        slices: chunks.into_iter().map(|c| c.slice).collect(),
        etag,
        duration_90k,
        lead_90k,
        samples,
    })
}

/// Converts a duration in ticks to whole microseconds (for display).
pub fn duration_micros(ticks: i64) -> i64 {
    ticks_to_micros(ticks)
}

fn ftyp() -> Vec<u8> {
    let mut out = Vec::new();
    write_box(&mut out, b"ftyp", |o| {
        o.extend_from_slice(b"isom");
        put_u32(o, 0x200);
        for b in [b"isom", b"iso2", b"avc1", b"mp41"] {
            o.extend_from_slice(b);
        }
    });
    out
}

fn max_dims(entries: &[SampleEntry]) -> (u32, u32) {
    entries
        .iter()
        .fold((0, 0), |(w, h), e| (w.max(e.width), h.max(e.height)))
}

fn moov(
    chunks: &[Chunk],
    entries: &[SampleEntry],
    lead_90k: i64,
    duration_90k: i64,
    media_duration: i64,
    mdat_start: u64,
) -> Vec<u8> {
    let mut out = Vec::new();
    let dur = u64::try_from(duration_90k).unwrap_or(0);
    write_box(&mut out, b"moov", |o| {
        write_mvhd(o, dur);
        write_box(o, b"trak", |o| {
            write_tkhd(o, dur, max_dims(entries));
            write_box(o, b"edts", |o| {
                write_full_box(o, b"elst", 1, 0, |o| {
                    put_u32(o, 1);
                    put_u64(o, dur); // segment_duration (movie timescale)
                    put_i64(o, lead_90k); // media_time (track timescale)
                    put_u32(o, 0x0001_0000); // rate 1.0
                });
            });
            write_mdia(o, u64::try_from(media_duration).unwrap_or(0), |o| {
                write_full_box(o, b"stsd", 0, 0, |o| {
                    put_u32(o, u32::try_from(entries.len()).unwrap_or(0));
                    for e in entries {
                        o.extend_from_slice(&e.bytes);
                    }
                });
                let all = chunks.iter().flat_map(|c| c.samples.iter());
                write_stts(o, all.clone().map(|s| s.duration_90k));
                write_full_box(o, b"stss", 0, 0, |o| {
                    let keys: Vec<u32> = all
                        .clone()
                        .enumerate()
                        .filter(|(_, s)| s.key)
                        .map(|(i, _)| u32::try_from(i + 1).unwrap_or(u32::MAX))
                        .collect();
                    put_u32(o, u32::try_from(keys.len()).unwrap_or(0));
                    for k in keys {
                        put_u32(o, k);
                    }
                });
                write_full_box(o, b"stsc", 0, 0, |o| {
                    // One entry per run of chunks with the same (samples, description).
                    let mut entries: Vec<(u32, u32, u32)> = Vec::new();
                    for (i, c) in chunks.iter().enumerate() {
                        let n = u32::try_from(c.samples.len()).unwrap_or(u32::MAX);
                        let d = u32::try_from(c.sample_entry + 1).unwrap_or(1);
                        if entries.last().is_none_or(|&(_, ln, ld)| ln != n || ld != d) {
                            entries.push((u32::try_from(i + 1).unwrap_or(u32::MAX), n, d));
                        }
                    }
                    put_u32(o, u32::try_from(entries.len()).unwrap_or(0));
                    for (first, n, d) in entries {
                        put_u32(o, first);
                        put_u32(o, n);
                        put_u32(o, d);
                    }
                });
                write_full_box(o, b"stsz", 0, 0, |o| {
                    put_u32(o, 0);
                    put_u32(o, u32::try_from(all.clone().count()).unwrap_or(0));
                    for s in all.clone() {
                        put_u32(o, s.size);
                    }
                });
                write_full_box(o, b"co64", 0, 0, |o| {
                    put_u32(o, u32::try_from(chunks.len()).unwrap_or(0));
                    let mut pos = mdat_start;
                    for c in chunks {
                        put_u64(o, pos);
                        pos += c.slice.len;
                    }
                });
            });
        });
    });
    out
}

/// Run-length encoded sample durations.
fn write_stts(o: &mut Vec<u8>, durations: impl Iterator<Item = u32>) {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for d in durations {
        match runs.last_mut() {
            Some((n, ld)) if *ld == d => *n += 1,
            _ => runs.push((1, d)),
        }
    }
    write_full_box(o, b"stts", 0, 0, |o| {
        put_u32(o, u32::try_from(runs.len()).unwrap_or(0));
        for (n, d) in runs {
            put_u32(o, n);
            put_u32(o, d);
        }
    });
}

pub(crate) fn write_mvhd(o: &mut Vec<u8>, duration: u64) {
    write_full_box(o, b"mvhd", 1, 0, |o| {
        put_u64(o, 0); // creation_time
        put_u64(o, 0); // modification_time
        put_u32(o, TIMESCALE);
        put_u64(o, duration);
        put_u32(o, 0x0001_0000); // rate
        put_u16(o, 0x0100); // volume
        o.extend_from_slice(&[0; 10]);
        crate::mp4box::put_matrix(o);
        o.extend_from_slice(&[0; 24]); // pre_defined
        put_u32(o, 2); // next_track_ID
    });
}

pub(crate) fn write_tkhd(o: &mut Vec<u8>, duration: u64, (w, h): (u32, u32)) {
    write_full_box(o, b"tkhd", 1, 3, |o| {
        put_u64(o, 0);
        put_u64(o, 0);
        put_u32(o, 1); // track_ID
        put_u32(o, 0);
        put_u64(o, duration);
        o.extend_from_slice(&[0; 8]);
        put_u16(o, 0); // layer
        put_u16(o, 0); // alternate_group
        put_u16(o, 0); // volume
        put_u16(o, 0);
        crate::mp4box::put_matrix(o);
        put_u32(o, w << 16);
        put_u32(o, h << 16);
    });
}

/// mdia with mdhd, hdlr and minf; `stbl` writes the sample table's children.
pub(crate) fn write_mdia(o: &mut Vec<u8>, media_duration: u64, stbl: impl FnOnce(&mut Vec<u8>)) {
    write_box(o, b"mdia", |o| {
        write_full_box(o, b"mdhd", 1, 0, |o| {
            put_u64(o, 0);
            put_u64(o, 0);
            put_u32(o, TIMESCALE);
            put_u64(o, media_duration);
            put_u16(o, 0x55c4); // language "und"
            put_u16(o, 0);
        });
        write_full_box(o, b"hdlr", 0, 0, |o| {
            put_u32(o, 0);
            o.extend_from_slice(b"vide");
            o.extend_from_slice(&[0; 12]);
            o.extend_from_slice(b"mimamori video\0");
        });
        write_box(o, b"minf", |o| {
            write_full_box(o, b"vmhd", 0, 1, |o| o.extend_from_slice(&[0; 8]));
            write_box(o, b"dinf", |o| {
                write_full_box(o, b"dref", 0, 0, |o| {
                    put_u32(o, 1);
                    write_full_box(o, b"url ", 0, 1, |_| {});
                });
            });
            write_box(o, b"stbl", stbl);
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(id: i64, start_s: i64, n: usize) -> SegmentSource {
        SegmentSource {
            segment_id: id,
            file_name: format!("{id}.seg"),
            start: Timestamp::from_secs(start_s),
            samples: (0..n)
                .map(|i| SampleInfo {
                    size: 100,
                    duration_90k: 6000, // 15 fps
                    key: i % 30 == 0,
                })
                .collect(),
            sample_entry: 0,
        }
    }

    fn entry() -> SampleEntry {
        SampleEntry {
            id: 1,
            codec: "avc1.640000".into(),
            bytes: crate::h264::avc1_sample_entry(&[0x67, 0x64, 0, 0x1f], &[0x68], 640, 360),
            width: 640,
            height: 360,
        }
    }

    #[test]
    fn starts_at_key_frame_before_start_with_lead_in_edit_list() {
        // 60 s segment, key frame every 2 s. Ask for 10.5 s .. 20 s.
        let segs = [seg(1, 0, 900)];
        let start = Timestamp::from_micros(10_500_000);
        let m = assemble(&segs, &[entry()], start, Timestamp::from_secs(20)).unwrap();
        assert_eq!(m.lead_90k, 45_000); // from the key frame at 10 s
        assert_eq!(m.duration_90k, 9 * 90_000 + 45_000);
        assert_eq!(m.slices[0].offset, 150 * 100);
        assert_eq!(m.samples, 150);
        assert_eq!(m.len, m.head.len() as u64 + 15_000);
    }

    #[test]
    fn range_across_segments_and_gaps_plays_what_exists() {
        // 0..60 s and 120..180 s; ask 30..150 s.
        let segs = [seg(1, 0, 900), seg(2, 120, 900)];
        let m = assemble(
            &segs,
            &[entry()],
            Timestamp::from_secs(30),
            Timestamp::from_secs(150),
        )
        .unwrap();
        assert_eq!(m.slices.len(), 2);
        assert_eq!(m.duration_90k, 60 * 90_000);
    }

    // Issue 12: two nodes recorded the camera at once (0..60 s here, and 40..100 s
    // from the node that took it over while the first was cut off from the
    // catalog). Each moment plays once: the second segment from its first key
    // frame at or after 60 s.
    #[test]
    fn footage_two_nodes_recorded_at_once_plays_each_moment_once() {
        let segs = [seg(1, 0, 900), seg(2, 40, 900)];
        let m = assemble(
            &segs,
            &[entry()],
            Timestamp::from_secs(0),
            Timestamp::from_secs(100),
        )
        .unwrap();
        assert_eq!(m.slices.len(), 2);
        assert_eq!(m.duration_90k, 100 * 90_000, "0..100 s once, not 120 s");
        // From 60 s: 20 s into the second segment, its frame 300 (a key frame).
        assert_eq!(m.slices[1].offset, 300 * 100);
        // A segment wholly inside what is chosen adds nothing.
        let inside = [seg(1, 0, 900), seg(2, 10, 300)];
        let m = assemble(
            &inside,
            &[entry()],
            Timestamp::from_secs(0),
            Timestamp::from_secs(60),
        )
        .unwrap();
        assert_eq!(m.slices.len(), 1);
        assert_eq!(m.duration_90k, 60 * 90_000);
    }

    #[test]
    fn empty_range_is_an_error() {
        let segs = [seg(1, 0, 900)];
        let r = assemble(
            &segs,
            &[entry()],
            Timestamp::from_secs(100),
            Timestamp::from_secs(200),
        );
        assert_eq!(r.unwrap_err(), AssembleError::Empty);
        let r = assemble(
            &segs,
            &[entry()],
            Timestamp::from_secs(5),
            Timestamp::from_secs(5),
        );
        assert_eq!(r.unwrap_err(), AssembleError::BadRange);
    }

    #[test]
    fn parts_map_byte_ranges() {
        let segs = [seg(1, 0, 30), seg(2, 2, 30)];
        let m = assemble(
            &segs,
            &[entry()],
            Timestamp::from_secs(0),
            Timestamp::from_secs(4),
        )
        .unwrap();
        let h = m.head.len() as u64;
        let parts = m.parts_for(h - 2, 3004);
        assert_eq!(
            parts,
            vec![(None, h - 2, 2), (Some(0), 0, 3000), (Some(1), 0, 2)]
        );
        assert!(m.parts_for(m.len, 10).is_empty());
    }
}
