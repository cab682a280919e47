//! The sample index stored with each segment: for every frame its size in bytes,
//! its duration in 90 kHz ticks and whether it is a key frame. Encoded compactly
//! as LEB128 varints: `(size << 1 | key)`, then `duration`.

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SampleInfo {
    pub size: u32,
    pub duration_90k: u32,
    pub key: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SampleIndex {
    pub samples: Vec<SampleInfo>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("sample index is corrupt at byte {0}")]
pub struct CorruptIndex(pub usize);

impl SampleIndex {
    pub fn push(&mut self, s: SampleInfo) {
        self.samples.push(s);
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    pub fn total_bytes(&self) -> u64 {
        self.samples.iter().map(|s| u64::from(s.size)).sum()
    }

    pub fn total_duration_90k(&self) -> i64 {
        self.samples.iter().map(|s| i64::from(s.duration_90k)).sum()
    }

    pub fn key_frames(&self) -> usize {
        self.samples.iter().filter(|s| s.key).count()
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.samples.len() * 4);
        for s in &self.samples {
            put_varint(&mut out, (u64::from(s.size) << 1) | u64::from(s.key));
            put_varint(&mut out, u64::from(s.duration_90k));
        }
        out
    }

    pub fn decode(mut data: &[u8]) -> Result<SampleIndex, CorruptIndex> {
        let total = data.len();
        let mut samples = Vec::new();
        while !data.is_empty() {
            let pos = total - data.len();
            let a = get_varint(&mut data).ok_or(CorruptIndex(pos))?;
            let d = get_varint(&mut data).ok_or(CorruptIndex(pos))?;
            samples.push(SampleInfo {
                size: u32::try_from(a >> 1).map_err(|_| CorruptIndex(pos))?,
                key: a & 1 == 1,
                duration_90k: u32::try_from(d).map_err(|_| CorruptIndex(pos))?,
            });
        }
        Ok(SampleIndex { samples })
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn get_varint(data: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for (i, &b) in data.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            *data = &data[i + 1..];
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let mut idx = SampleIndex::default();
        idx.push(SampleInfo {
            size: 123_456,
            duration_90k: 6000,
            key: true,
        });
        idx.push(SampleInfo {
            size: 7,
            duration_90k: 0,
            key: false,
        });
        let enc = idx.encode();
        assert_eq!(SampleIndex::decode(&enc).unwrap(), idx);
        assert_eq!(idx.total_bytes(), 123_463);
    }

    #[test]
    fn truncated_index_is_an_error_not_a_panic() {
        let mut idx = SampleIndex::default();
        idx.push(SampleInfo {
            size: 300,
            duration_90k: 6000,
            key: true,
        });
        let enc = idx.encode();
        assert!(SampleIndex::decode(&enc[..enc.len() - 1]).is_err());
    }
}
