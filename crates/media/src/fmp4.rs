//! Fragmented MP4 (ISO BMFF with `moof`/`mdat` fragments) for Media Source
//! Extensions: an initialization segment per sample entry, then one fragment per
//! group of frames. Used by live view and the browser player.

use crate::mp4::{FileSlice, SampleEntry, Selection, write_mdia, write_mvhd, write_tkhd};
use crate::mp4box::{put_u32, put_u64, write_box, write_full_box};
use crate::sample_index::SampleInfo;

/// ftyp + moov with an empty sample table and `mvex`.
pub fn init_segment(sample_entry: &[u8], width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    write_box(&mut out, b"ftyp", |o| {
        o.extend_from_slice(b"iso5");
        put_u32(o, 0x200);
        for b in [b"iso5", b"iso6", b"mp41"] {
            o.extend_from_slice(b);
        }
    });
    write_box(&mut out, b"moov", |o| {
        write_mvhd(o, 0);
        write_box(o, b"trak", |o| {
            write_tkhd(o, 0, (width, height));
            write_mdia(o, 0, |o| {
                write_full_box(o, b"stsd", 0, 0, |o| {
                    put_u32(o, 1);
                    o.extend_from_slice(sample_entry);
                });
                for b in [b"stts", b"stsc", b"stco"] {
                    write_full_box(o, b, 0, 0, |o| put_u32(o, 0));
                }
                write_full_box(o, b"stsz", 0, 0, |o| {
                    put_u32(o, 0);
                    put_u32(o, 0);
                });
            });
        });
        write_box(o, b"mvex", |o| {
            write_full_box(o, b"trex", 0, 0, |o| {
                put_u32(o, 1); // track_ID
                put_u32(o, 1); // default_sample_description_index
                put_u32(o, 0);
                put_u32(o, 0);
                put_u32(o, 0);
            });
        });
    });
    out
}

/// `moof` plus the `mdat` header for `samples`; the caller appends the sample bytes.
pub fn fragment_header(
    sequence: u32,
    base_decode_time_90k: u64,
    samples: &[SampleInfo],
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut data_offset_pos = 0;
    write_box(&mut out, b"moof", |o| {
        write_full_box(o, b"mfhd", 0, 0, |o| put_u32(o, sequence));
        write_box(o, b"traf", |o| {
            // default-base-is-moof
            write_full_box(o, b"tfhd", 0, 0x02_0000, |o| put_u32(o, 1));
            write_full_box(o, b"tfdt", 1, 0, |o| put_u64(o, base_decode_time_90k));
            // data-offset, sample-duration, sample-size, sample-flags present
            write_full_box(o, b"trun", 0, 0x000_701, |o| {
                put_u32(o, u32::try_from(samples.len()).unwrap_or(0));
                data_offset_pos = o.len();
                put_u32(o, 0);
                for s in samples {
                    put_u32(o, s.duration_90k);
                    put_u32(o, s.size);
                    // key: depends_on=2 (no others); else depends_on=1, non-sync
                    put_u32(o, if s.key { 0x0200_0000 } else { 0x0101_0000 });
                }
            });
        });
    });
    let moof_len = out.len();
    let data_offset = u32::try_from(moof_len + 8).unwrap_or(0);
    out[data_offset_pos..data_offset_pos + 4].copy_from_slice(&data_offset.to_be_bytes());
    let mdat_len: u64 = samples.iter().map(|s| u64::from(s.size)).sum::<u64>() + 8;
    put_u32(&mut out, u32::try_from(mdat_len).unwrap_or(u32::MAX));
    out.extend_from_slice(b"mdat");
    out
}

/// One piece of a fragmented file: bytes built in memory, or a range of a segment file.
#[derive(Clone, Debug)]
pub enum Part {
    Bytes(Vec<u8>),
    File(FileSlice),
}

/// A fragmented `.mp4` for a selection: an init segment, then one fragment per
/// chunk (a new init segment wherever the codec parameters change, which Media
/// Source Extensions accept). Playback should begin `lead_90k` after its start.
#[derive(Clone, Debug)]
pub struct FragmentedMp4 {
    pub parts: Vec<Part>,
    pub len: u64,
    pub lead_90k: i64,
    pub codec_entries: Vec<usize>,
}

pub fn assemble(sel: &Selection, entries: &[SampleEntry]) -> FragmentedMp4 {
    let mut parts = Vec::new();
    let mut current: Option<usize> = None;
    let mut decode_time = 0u64;
    let mut codec_entries = Vec::new();
    for (i, c) in sel.chunks.iter().enumerate() {
        if current != Some(c.sample_entry) {
            if let Some(e) = entries.get(c.sample_entry) {
                parts.push(Part::Bytes(init_segment(&e.bytes, e.width, e.height)));
                codec_entries.push(c.sample_entry);
            }
            current = Some(c.sample_entry);
        }
        let seq = u32::try_from(i + 1).unwrap_or(u32::MAX);
        parts.push(Part::Bytes(fragment_header(seq, decode_time, &c.samples)));
        parts.push(Part::File(c.slice.clone()));
        decode_time += c
            .samples
            .iter()
            .map(|s| u64::from(s.duration_90k))
            .sum::<u64>();
    }
    let len = parts
        .iter()
        .map(|p| match p {
            Part::Bytes(b) => b.len() as u64,
            Part::File(f) => f.len,
        })
        .sum();
    FragmentedMp4 {
        parts,
        len,
        lead_90k: sel.lead_90k,
        codec_entries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trun_data_offset_points_past_mdat_header() {
        let samples = [
            SampleInfo {
                size: 10,
                duration_90k: 6000,
                key: true,
            },
            SampleInfo {
                size: 5,
                duration_90k: 6000,
                key: false,
            },
        ];
        let h = fragment_header(1, 0, &samples);
        let moof_len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
        assert_eq!(&h[moof_len + 4..moof_len + 8], b"mdat");
        assert_eq!(h.len(), moof_len + 8);
        let mdat_len = u32::from_be_bytes([
            h[moof_len],
            h[moof_len + 1],
            h[moof_len + 2],
            h[moof_len + 3],
        ]);
        assert_eq!(mdat_len, 8 + 15);
    }
}
