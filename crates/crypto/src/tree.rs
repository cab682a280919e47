//! BLAKE3 over a segment's whole plaintext (its frames back to back), and proofs
//! that a byte range of it — a clip's frames — is part of that hash.
//!
//! BLAKE3 is a tree of 1 KiB chunks, so a range can be checked against the
//! whole input's hash without the rest of the input: besides the range's own
//! bytes, the checker needs the bytes of the range's first and last chunk that
//! lie outside it (under 1 KiB each side: the tail of the frame before, the head
//! of the frame after, neither decodable alone) and the chaining value of every
//! subtree that lies wholly outside the range (two per tree level at most). The
//! recorder then hashes 64 KiB at a time, which BLAKE3 does at its full SIMD
//! width, instead of each 13 kB frame on its own (issue 11).

use blake3::hazmat::{
    ChainingValue, HasherExt, Mode, left_subtree_len, merge_subtrees_non_root, merge_subtrees_root,
};

/// BLAKE3's chunk: subtrees start at multiples of it.
const CHUNK_LEN: u64 = 1024;
/// The largest input a proof may speak of (a segment is far smaller); it bounds
/// the work a proof from elsewhere can ask for.
const MAX_TOTAL: u64 = 1 << 40;
/// Outside subtrees a proof can have: two per level of a tree of `MAX_TOTAL`.
const MAX_SUBTREES: usize = 2 * 40;

/// What, besides a range's bytes, recomputes the hash of the whole input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeProof {
    /// The whole input's length in bytes.
    pub total: u64,
    /// Where the range starts in the input, and its length.
    pub offset: u64,
    pub len: u64,
    /// The input's bytes from the range's first chunk boundary to the range.
    pub before: Vec<u8>,
    /// The input's bytes from the range's end to its last chunk's end.
    pub after: Vec<u8>,
    /// The chaining value of each subtree wholly outside the range, left to right.
    pub subtrees: Vec<ChainingValue>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TreeError {
    #[error("the range lies outside the input it claims to be part of")]
    Range,
    #[error("the bytes around the range are not as long as the range's chunks need")]
    Edges,
    #[error("the proof holds {found} subtree hashes where the range needs {needed}")]
    Subtrees { found: usize, needed: usize },
    #[error("{got} bytes of the range were given, it holds {len}")]
    Length { got: u64, len: u64 },
}

/// A maximal subtree wholly inside or wholly outside the chunks a range touches.
#[derive(Clone, Copy, Debug)]
struct Node {
    start: u64,
    end: u64,
    inside: bool,
}

/// The chunks a range touches: `[lo, hi)`, chunk-aligned (or the input's end).
fn touched(total: u64, offset: u64, len: u64) -> (u64, u64) {
    let lo = offset / CHUNK_LEN * CHUNK_LEN;
    let hi = (offset + len).div_ceil(CHUNK_LEN) * CHUNK_LEN;
    (lo, hi.min(total))
}

/// The subtrees the range `[lo, hi)` splits the node `[start, end)` into, in order.
fn split(start: u64, end: u64, lo: u64, hi: u64, out: &mut Vec<Node>) {
    if start >= lo && end <= hi {
        out.push(Node {
            start,
            end,
            inside: true,
        });
    } else if end <= lo || start >= hi {
        out.push(Node {
            start,
            end,
            inside: false,
        });
    } else {
        // Partly inside: more than one chunk, since lo and hi are chunk boundaries.
        let mid = start + left_subtree_len(end - start);
        split(start, mid, lo, hi, out);
        split(mid, end, lo, hi, out);
    }
}

/// The chaining value of the node `[start, end)`, from its subtrees' values in order.
fn merge(
    start: u64,
    end: u64,
    lo: u64,
    hi: u64,
    values: &mut impl Iterator<Item = ChainingValue>,
) -> ChainingValue {
    if (start >= lo && end <= hi) || end <= lo || start >= hi {
        return values.next().unwrap_or_default();
    }
    let mid = start + left_subtree_len(end - start);
    let left = merge(start, mid, lo, hi, values);
    let right = merge(mid, end, lo, hi, values);
    merge_subtrees_non_root(&left, &right, Mode::Hash)
}

/// The chaining value of a subtree of the input, from its bytes.
fn subtree_value(start: u64, bytes: &[u8]) -> ChainingValue {
    let mut h = blake3::Hasher::new();
    h.set_input_offset(start);
    h.update(bytes);
    h.finalize_non_root()
}

impl RangeProof {
    /// The proof for `input[offset..offset + len]`, made by whoever holds the whole input.
    pub fn prove(input: &[u8], offset: u64, len: u64) -> Result<RangeProof, TreeError> {
        let total = input.len() as u64;
        if len == 0 || offset.checked_add(len).is_none_or(|end| end > total) {
            return Err(TreeError::Range);
        }
        let (lo, hi) = touched(total, offset, len);
        let mut nodes = Vec::new();
        split(0, total, lo, hi, &mut nodes);
        let subtrees = nodes
            .iter()
            .filter(|n| !n.inside)
            .map(|n| subtree_value(n.start, &input[n.start as usize..n.end as usize]))
            .collect();
        Ok(RangeProof {
            total,
            offset,
            len,
            before: input[lo as usize..offset as usize].to_vec(),
            after: input[(offset + len) as usize..hi as usize].to_vec(),
            subtrees,
        })
    }

    /// Starts checking the range: feed its bytes to the [`RangeHasher`], in order.
    pub fn into_hasher(self) -> Result<RangeHasher, TreeError> {
        let end = self.offset.checked_add(self.len).ok_or(TreeError::Range)?;
        if self.len == 0 || end > self.total || self.total > MAX_TOTAL {
            return Err(TreeError::Range);
        }
        let (lo, hi) = touched(self.total, self.offset, self.len);
        if self.before.len() as u64 != self.offset - lo || self.after.len() as u64 != hi - end {
            return Err(TreeError::Edges);
        }
        let mut nodes = Vec::new();
        split(0, self.total, lo, hi, &mut nodes);
        let needed = nodes.iter().filter(|n| !n.inside).count();
        if self.subtrees.len() != needed || needed > MAX_SUBTREES {
            return Err(TreeError::Subtrees {
                found: self.subtrees.len(),
                needed,
            });
        }
        let inside = nodes.iter().filter(|n| n.inside).copied().collect();
        let before = self.before.clone();
        let mut h = RangeHasher {
            proof: self,
            nodes,
            inside,
            next: 0,
            current: None,
            at: lo,
            values: Vec::new(),
            root: None,
        };
        h.feed(&before);
        Ok(h)
    }
}

/// Recomputes the whole input's hash from a range's bytes as they stream by.
pub struct RangeHasher {
    proof: RangeProof,
    /// The subtrees the range splits the input into, in order.
    nodes: Vec<Node>,
    /// Those inside the range's chunks, in order.
    inside: Vec<Node>,
    next: usize,
    current: Option<blake3::Hasher>,
    /// The input offset of the next byte.
    at: u64,
    values: Vec<ChainingValue>,
    /// The whole input lies in the range's chunks: its hash, hashed here.
    root: Option<[u8; 32]>,
}

impl RangeHasher {
    /// The range's next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.feed(bytes);
    }

    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let Some(node) = self.inside.get(self.next).copied() else {
                // More than the range holds: `finish` says so.
                self.at += bytes.len() as u64;
                return;
            };
            let h = self.current.get_or_insert_with(|| {
                let mut h = blake3::Hasher::new();
                if node.start > 0 {
                    h.set_input_offset(node.start);
                }
                h
            });
            let n = ((node.end - self.at) as usize).min(bytes.len());
            h.update(&bytes[..n]);
            self.at += n as u64;
            bytes = &bytes[n..];
            if self.at == node.end {
                let h = self.current.take().unwrap_or_default();
                if node.start == 0 && node.end == self.proof.total {
                    self.root = Some(*h.finalize().as_bytes());
                } else {
                    self.values.push(h.finalize_non_root());
                }
                self.next += 1;
            }
        }
    }

    /// The whole input's hash, for comparison with the one committed.
    pub fn finish(mut self) -> Result<[u8; 32], TreeError> {
        let (lo, hi) = touched(self.proof.total, self.proof.offset, self.proof.len);
        let got = self.at - lo - self.proof.before.len() as u64;
        if got != self.proof.len {
            return Err(TreeError::Length {
                got,
                len: self.proof.len,
            });
        }
        let after = std::mem::take(&mut self.proof.after);
        self.feed(&after);
        let proof = &self.proof;
        if let Some(root) = self.root {
            return Ok(root);
        }
        // Merge the two kinds of subtree in the order the tree holds them.
        let (mut ours, mut theirs) = (self.values.iter().copied(), proof.subtrees.iter().copied());
        let mut values = self.nodes.iter().map(|n| {
            if n.inside {
                ours.next().unwrap_or_default()
            } else {
                theirs.next().unwrap_or_default()
            }
        });
        // More than one chunk in all here (one chunk is always wholly inside).
        let mid = left_subtree_len(proof.total);
        let left = merge(0, mid, lo, hi, &mut values);
        let right = merge(mid, proof.total, lo, hi, &mut values);
        Ok(*merge_subtrees_root(&left, &right, Mode::Hash).as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn input(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    fn root_of(proof: &RangeProof, range: &[u8], pieces: usize) -> Result<[u8; 32], TreeError> {
        let mut h = proof.clone().into_hasher()?;
        for piece in range.chunks(range.len().div_ceil(pieces.max(1)).max(1)) {
            h.update(piece);
        }
        h.finish()
    }

    // REQ-DIS-6: a recipient checks a clip against the segment's recorded hash
    // without the rest of the segment.
    #[test]
    fn a_range_proves_the_hash_of_the_whole_input() {
        // Single chunk, chunk edges, and a segment-sized input with a frame in it.
        for (n, offset, len) in [
            (1usize, 0u64, 1u64),
            (1024, 0, 1024),
            (1025, 1024, 1),
            (5000, 100, 3000),
            (3 << 20, 1_000_003, 13_000),
            (3 << 20, 0, 3 << 20),
        ] {
            let data = input(n);
            let proof = RangeProof::prove(&data, offset, len).unwrap();
            let range = &data[offset as usize..(offset + len) as usize];
            assert_eq!(
                root_of(&proof, range, 3).unwrap(),
                *blake3::hash(&data).as_bytes(),
                "{n} {offset} {len}"
            );
            assert!(proof.before.len() < 1024 && proof.after.len() < 1024);
            assert!(proof.subtrees.len() <= 2 * 22);
        }
    }

    // REQ-STO-2, REQ-DIS-6: tampering with the clip or the proof is detected.
    #[test]
    fn a_changed_byte_or_a_moved_range_does_not_prove_it() {
        let data = input(200_000);
        let whole = *blake3::hash(&data).as_bytes();
        let proof = RangeProof::prove(&data, 50_000, 13_000).unwrap();
        let mut range = data[50_000..63_000].to_vec();
        range[6_500] ^= 1;
        assert_ne!(root_of(&proof, &range, 1).unwrap(), whole);
        // The neighbour's bytes, or a subtree hash, changed.
        let mut p = proof.clone();
        p.before[0] ^= 1;
        assert_ne!(root_of(&p, &data[50_000..63_000], 1).unwrap(), whole);
        let mut p = proof.clone();
        p.subtrees[0][0] ^= 1;
        assert_ne!(root_of(&p, &data[50_000..63_000], 1).unwrap(), whole);
        // The same bytes claimed to lie elsewhere.
        let mut p = proof.clone();
        p.offset += 1024;
        assert_ne!(root_of(&p, &data[50_000..63_000], 1), Ok(whole));
        // Too few bytes, or a proof whose parts do not fit its range.
        assert_eq!(
            root_of(&proof, &data[50_000..62_999], 1),
            Err(TreeError::Length {
                got: 12_999,
                len: 13_000
            })
        );
        let mut p = proof.clone();
        p.subtrees.pop();
        assert!(matches!(p.into_hasher(), Err(TreeError::Subtrees { .. })));
        let mut p = proof;
        p.total = u64::MAX;
        assert!(matches!(p.into_hasher(), Err(TreeError::Range)));
    }

    proptest! {
        #[test]
        fn every_range_of_every_input_proves_its_hash(
            n in 1usize..40_000, a in 0usize..40_000, b in 0usize..40_000, pieces in 1usize..5
        ) {
            let (a, b) = ((a % n).min(b % n), (a % n).max(b % n));
            let (offset, len) = (a as u64, (b - a + 1) as u64);
            let data = input(n);
            let proof = RangeProof::prove(&data, offset, len).unwrap();
            let root = root_of(&proof, &data[a..=b], pieces).unwrap();
            prop_assert_eq!(root, *blake3::hash(&data).as_bytes());
        }
    }
}
