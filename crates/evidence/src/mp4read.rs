//! Just enough of ISO BMFF to find where each sample of a clip lies: the first
//! video track's sample sizes (`stsz`), samples per chunk (`stsc`) and chunk
//! offsets (`stco`/`co64`). The verifier needs it to hash each frame as the
//! player will decode it; nothing here trusts a size it has not bounded.

/// A sample's place in the file: (offset, size).
pub type SampleRange = (u64, u32);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a readable MP4: {0}")]
pub struct Mp4Error(pub String);

fn bad(s: &str) -> Mp4Error {
    Mp4Error(s.to_string())
}

/// A box: its type and its body.
type Boxed<'a> = ([u8; 4], &'a [u8]);

/// The boxes directly inside `data`.
fn boxes(mut data: &[u8]) -> Result<Vec<Boxed<'_>>, Mp4Error> {
    let mut out = Vec::new();
    while !data.is_empty() {
        if data.len() < 8 {
            return Err(bad("a box header is cut short"));
        }
        let size32 = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
        let kind = [data[4], data[5], data[6], data[7]];
        let (header, size) = match size32 {
            1 => {
                if data.len() < 16 {
                    return Err(bad("a large box header is cut short"));
                }
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[8..16]);
                (16usize, u64::from_be_bytes(b))
            }
            0 => (8, data.len() as u64),
            n => (8, u64::from(n)),
        };
        let size = usize::try_from(size).map_err(|_| bad("a box is too large"))?;
        if size < header || size > data.len() {
            return Err(bad("a box runs past its parent"));
        }
        out.push((kind, &data[header..size]));
        data = &data[size..];
    }
    Ok(out)
}

fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Result<Option<&'a [u8]>, Mp4Error> {
    Ok(boxes(data)?
        .into_iter()
        .find(|(k, _)| k == kind)
        .map(|(_, b)| b))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, Mp4Error> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| bad("a table is cut short"))
}

fn u64_at(b: &[u8], at: usize) -> Result<u64, Mp4Error> {
    Ok((u64::from(u32_at(b, at)?) << 32) | u64::from(u32_at(b, at + 4)?))
}

/// A table's entry count, bounded by the bytes that hold its entries.
fn count(b: &[u8], at: usize, entry: usize) -> Result<usize, Mp4Error> {
    let n = u32_at(b, at)? as usize;
    if n.saturating_mul(entry) > b.len().saturating_sub(at + 4) {
        return Err(bad("a table claims more entries than it holds"));
    }
    Ok(n)
}

/// The samples of the first track of a `moov` box's body, in decoding order.
pub fn samples_of_moov(moov: &[u8]) -> Result<Vec<SampleRange>, Mp4Error> {
    let trak = child(moov, b"trak")?.ok_or_else(|| bad("no track"))?;
    let stbl = child(trak, b"mdia")?
        .and_then(|m| child(m, b"minf").transpose())
        .transpose()?
        .and_then(|m| child(m, b"stbl").transpose())
        .transpose()?
        .ok_or_else(|| bad("no sample table"))?;
    let stsz = child(stbl, b"stsz")?.ok_or_else(|| bad("no sample sizes (stsz)"))?;
    let stsc = child(stbl, b"stsc")?.ok_or_else(|| bad("no sample-to-chunk table (stsc)"))?;
    let fixed = u32_at(stsz, 4)?;
    let sizes: Vec<u32> = if fixed != 0 {
        let n = u32_at(stsz, 8)? as usize;
        if n > 1 << 28 {
            return Err(bad("too many samples"));
        }
        vec![fixed; n]
    } else {
        let n = count(stsz, 8, 4)?;
        (0..n)
            .map(|i| u32_at(stsz, 12 + 4 * i))
            .collect::<Result<_, _>>()?
    };
    let offsets: Vec<u64> = if let Some(co64) = child(stbl, b"co64")? {
        let n = count(co64, 4, 8)?;
        (0..n)
            .map(|i| u64_at(co64, 8 + 8 * i))
            .collect::<Result<_, _>>()?
    } else {
        let stco = child(stbl, b"stco")?.ok_or_else(|| bad("no chunk offsets"))?;
        let n = count(stco, 4, 4)?;
        (0..n)
            .map(|i| u32_at(stco, 8 + 4 * i).map(u64::from))
            .collect::<Result<_, _>>()?
    };
    let runs = count(stsc, 4, 12)?;
    let mut per_chunk = Vec::with_capacity(runs);
    for i in 0..runs {
        let first = u32_at(stsc, 8 + 12 * i)? as usize;
        let n = u32_at(stsc, 12 + 12 * i)? as usize;
        per_chunk.push((first, n));
    }
    let mut out = Vec::with_capacity(sizes.len());
    let mut next = 0usize;
    for (c, offset) in offsets.iter().enumerate() {
        let chunk_no = c + 1;
        let n = per_chunk
            .iter()
            .rev()
            .find(|(first, _)| *first <= chunk_no)
            .map(|(_, n)| *n)
            .ok_or_else(|| bad("a chunk has no sample count"))?;
        let mut at = *offset;
        for _ in 0..n {
            let size = *sizes
                .get(next)
                .ok_or_else(|| bad("chunks hold more samples than stsz lists"))?;
            out.push((at, size));
            at += u64::from(size);
            next += 1;
        }
    }
    if next != sizes.len() {
        return Err(bad("stsz lists samples no chunk holds"));
    }
    Ok(out)
}

/// The top-level box headers of a file's start: (type, header length, total size).
pub fn box_header(b: &[u8]) -> Option<([u8; 4], usize, u64)> {
    if b.len() < 8 {
        return None;
    }
    let size32 = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let kind = [b[4], b[5], b[6], b[7]];
    match size32 {
        1 => {
            let mut s = [0u8; 8];
            s.copy_from_slice(b.get(8..16)?);
            Some((kind, 16, u64::from_be_bytes(s)))
        }
        n => Some((kind, 8, u64::from(n))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }

    fn moov(sizes: &[u32], chunks: &[(u32, u64)]) -> Vec<u8> {
        let mut stsz = vec![0u8; 8];
        stsz.extend_from_slice(&(sizes.len() as u32).to_be_bytes());
        for s in sizes {
            stsz.extend_from_slice(&s.to_be_bytes());
        }
        let mut stsc = vec![0u8; 4];
        stsc.extend_from_slice(&(chunks.len() as u32).to_be_bytes());
        let mut co64 = vec![0u8; 4];
        co64.extend_from_slice(&(chunks.len() as u32).to_be_bytes());
        for (i, (n, off)) in chunks.iter().enumerate() {
            stsc.extend_from_slice(&(i as u32 + 1).to_be_bytes());
            stsc.extend_from_slice(&n.to_be_bytes());
            stsc.extend_from_slice(&1u32.to_be_bytes());
            co64.extend_from_slice(&off.to_be_bytes());
        }
        let stbl = [bx(b"stsz", &stsz), bx(b"stsc", &stsc), bx(b"co64", &co64)].concat();
        bx(b"trak", &bx(b"mdia", &bx(b"minf", &bx(b"stbl", &stbl))))
    }

    #[test]
    fn samples_follow_their_chunks() {
        let m = moov(&[10, 20, 30], &[(2, 100), (1, 500)]);
        assert_eq!(
            samples_of_moov(&m).unwrap(),
            vec![(100, 10), (110, 20), (500, 30)]
        );
    }

    #[test]
    fn a_table_that_claims_too_much_is_refused() {
        let mut m = moov(&[10], &[(1, 0)]);
        // The stsz count (after "stsz" + version/flags + fixed size) made huge.
        let at = m.windows(4).position(|w| w == b"stsz").unwrap() + 12;
        m[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(samples_of_moov(&m).is_err());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_read_without_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = samples_of_moov(&data);
        }
    }
}
