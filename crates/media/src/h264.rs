//! H.264 bitstream helpers for sources that hand us Annex B (the built-in test
//! pattern): splitting NAL units, length-prefixed (AVC) framing, and the MP4
//! `avc1` sample entry built from SPS and PPS. Cameras reached over RTSP get
//! their sample entries from retina instead.

use crate::mp4box::{put_u16, put_u32, write_box};

/// NAL unit types we care about.
pub const NAL_IDR: u8 = 5;
pub const NAL_SPS: u8 = 7;
pub const NAL_PPS: u8 = 8;

/// Splits an Annex B byte stream (start codes `00 00 01` / `00 00 00 01`) into NAL units.
pub fn split_annexb(data: &[u8]) -> Vec<&[u8]> {
    let mut nals = Vec::new();
    let mut i = 0;
    let mut start: Option<usize> = None;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            if let Some(s) = start {
                let mut end = i;
                while end > s && data[end - 1] == 0 {
                    end -= 1;
                }
                nals.push(&data[s..end]);
            }
            i += 3;
            start = Some(i);
        } else {
            i += 1;
        }
    }
    if let Some(s) = start
        && s < data.len()
    {
        nals.push(&data[s..]);
    }
    nals.retain(|n| !n.is_empty());
    nals
}

pub fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |b| b & 0x1f)
}

/// One access unit re-framed for MP4: each NAL prefixed by its 4-byte length.
/// Parameter sets are kept in the sample too (harmless, and lets a decoder that
/// joins mid-file start at any key frame).
pub fn to_avcc(nals: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nals.iter().map(|n| n.len() + 4).sum());
    for n in nals {
        put_u32(&mut out, u32::try_from(n.len()).unwrap_or(u32::MAX));
        out.extend_from_slice(n);
    }
    out
}

/// `avc1.PPCCLL` from an SPS NAL unit.
pub fn rfc6381_codec(sps: &[u8]) -> String {
    match sps.get(1..4) {
        Some(p) => format!("avc1.{:02X}{:02X}{:02X}", p[0], p[1], p[2]),
        None => "avc1".to_string(),
    }
}

/// The `avc1` VisualSampleEntry box with its `avcC` configuration.
pub fn avc1_sample_entry(sps: &[u8], pps: &[u8], width: u16, height: u16) -> Vec<u8> {
    let mut out = Vec::new();
    write_box(&mut out, b"avc1", |o| {
        o.extend_from_slice(&[0; 6]);
        put_u16(o, 1); // data_reference_index
        o.extend_from_slice(&[0; 16]); // pre_defined, reserved
        put_u16(o, width);
        put_u16(o, height);
        put_u32(o, 0x0048_0000); // 72 dpi
        put_u32(o, 0x0048_0000);
        put_u32(o, 0);
        put_u16(o, 1); // frame_count
        o.extend_from_slice(&[0; 32]); // compressorname
        put_u16(o, 0x0018); // depth
        put_u16(o, 0xffff); // pre_defined = -1
        write_box(o, b"avcC", |o| {
            o.push(1); // configurationVersion
            o.extend_from_slice(sps.get(1..4).unwrap_or(&[66, 0, 30]));
            o.push(0xff); // 4-byte NAL lengths
            o.push(0xe1); // one SPS
            put_u16(o, u16::try_from(sps.len()).unwrap_or(0));
            o.extend_from_slice(sps);
            o.push(1); // one PPS
            put_u16(o, u16::try_from(pps.len()).unwrap_or(0));
            o.extend_from_slice(pps);
        });
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_both_start_code_lengths() {
        let data = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5,
        ];
        let nals = split_annexb(&data);
        assert_eq!(
            nals,
            vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4, 5][..]]
        );
        assert_eq!(nal_type(nals[2]), NAL_IDR);
        assert_eq!(to_avcc(&nals[..1]), vec![0, 0, 0, 3, 0x67, 1, 2]);
    }

    #[test]
    fn garbage_gives_no_panic() {
        assert!(split_annexb(&[]).is_empty());
        assert!(split_annexb(&[0, 0]).is_empty());
        assert_eq!(rfc6381_codec(&[0x67]), "avc1");
    }
}
