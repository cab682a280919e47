//! The capture-time commitment to a segment's frames: the digest of each frame
//! (its bytes as stored and as they appear in an MP4's media data), and the
//! segment's commitment = the digest of those digests in order. The chain record
//! of a segment carries it, so a clip handed over later can be checked frame by
//! frame against what was recorded, without the key that encrypts the files.
//!
//! Which hash a segment uses is its [`DigestKind`], kept with it: segments
//! recorded before issue 11 use SHA-256 of each frame; then BLAKE3 of each
//! frame; new ones BLAKE3 of the whole plaintext (the frames back to back),
//! hashed 64 KiB at a time as the segment writer seals its chunks, with a clip
//! checked as a range of it ([`crate::tree`]).

use sha2::{Digest, Sha256};

/// The hash of a segment's digests (its frames' and its stored file's), as the
/// catalog keeps it: 1 for SHA-256, 2 for BLAKE3 of each frame, 3 for BLAKE3 of
/// the whole plaintext.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DigestKind {
    /// Frames and the whole stored file by SHA-256 (segments recorded before issue 11).
    Sha256,
    /// Frames by BLAKE3, each on its own; the stored file by BLAKE3 over its
    /// chunks' authentication tags.
    Blake3,
    /// The frames by BLAKE3 of all of them back to back (a clip is checked as a
    /// range of that input, [`crate::tree::RangeProof`]); the stored file as [`DigestKind::Blake3`].
    Blake3Tree,
}

impl DigestKind {
    /// What new segments are recorded with.
    pub const CURRENT: DigestKind = DigestKind::Blake3Tree;

    /// The catalog's code for this kind.
    pub fn code(self) -> i64 {
        match self {
            DigestKind::Sha256 => 1,
            DigestKind::Blake3 => 2,
            DigestKind::Blake3Tree => 3,
        }
    }

    pub fn from_code(code: i64) -> Option<DigestKind> {
        match code {
            1 => Some(DigestKind::Sha256),
            2 => Some(DigestKind::Blake3),
            3 => Some(DigestKind::Blake3Tree),
            _ => None,
        }
    }

    /// The hash's name as people and manifests write it.
    pub fn name(self) -> &'static str {
        match self {
            DigestKind::Sha256 => "SHA-256",
            DigestKind::Blake3 => "BLAKE3",
            DigestKind::Blake3Tree => "BLAKE3 of the whole segment",
        }
    }

    /// Whether each frame has a digest of its own in the commitment.
    pub fn per_frame(self) -> bool {
        self != DigestKind::Blake3Tree
    }
}

/// Collects the digests of a segment's frames as they are written (the segment
/// writer computes [`DigestKind::Blake3Tree`] itself, as it seals each chunk;
/// this is for whoever holds a segment's frames one by one: recovery, `verify`).
#[derive(Clone)]
pub enum FramesCommitment {
    Sha256(Sha256),
    Blake3(Box<blake3::Hasher>),
    /// Every frame's bytes into one hash.
    Whole(Box<blake3::Hasher>),
}

impl FramesCommitment {
    pub fn new(kind: DigestKind) -> FramesCommitment {
        match kind {
            DigestKind::Sha256 => FramesCommitment::Sha256(Sha256::new()),
            DigestKind::Blake3 => FramesCommitment::Blake3(Box::default()),
            DigestKind::Blake3Tree => FramesCommitment::Whole(Box::default()),
        }
    }

    pub fn kind(&self) -> DigestKind {
        match self {
            FramesCommitment::Sha256(_) => DigestKind::Sha256,
            FramesCommitment::Blake3(_) => DigestKind::Blake3,
            FramesCommitment::Whole(_) => DigestKind::Blake3Tree,
        }
    }

    /// Adds the next frame.
    pub fn push(&mut self, frame: &[u8]) {
        match self {
            FramesCommitment::Whole(h) => {
                h.update(frame);
            }
            FramesCommitment::Sha256(_) | FramesCommitment::Blake3(_) => {
                self.push_digest(&frame_digest(self.kind(), frame));
            }
        }
    }

    /// Adds the digest of the next frame, computed elsewhere (per-frame kinds).
    fn push_digest(&mut self, digest: &[u8; 32]) {
        match self {
            FramesCommitment::Sha256(h) => h.update(digest),
            FramesCommitment::Blake3(h) | FramesCommitment::Whole(h) => {
                h.update(digest);
            }
        }
    }

    /// The segment's commitment.
    pub fn finish(self) -> [u8; 32] {
        match self {
            FramesCommitment::Sha256(h) => h.finalize().into(),
            FramesCommitment::Blake3(h) | FramesCommitment::Whole(h) => *h.finalize().as_bytes(),
        }
    }
}

/// The commitment of a list of frame digests; `None` for a kind without
/// digests of single frames.
pub fn commitment_of(kind: DigestKind, digests: &[[u8; 32]]) -> Option<[u8; 32]> {
    if !kind.per_frame() {
        return None;
    }
    let mut c = FramesCommitment::new(kind);
    for d in digests {
        c.push_digest(d);
    }
    Some(c.finish())
}

/// The digest of one frame (for [`DigestKind::Blake3Tree`], of a segment
/// holding only it).
pub fn frame_digest(kind: DigestKind, frame: &[u8]) -> [u8; 32] {
    match kind {
        DigestKind::Sha256 => Sha256::digest(frame).into(),
        DigestKind::Blake3 | DigestKind::Blake3Tree => *blake3::hash(frame).as_bytes(),
    }
}

/// One frame's digests both ways, for a verifier that learns which one a segment
/// used only from its proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameDigests {
    pub sha256: [u8; 32],
    pub blake3: [u8; 32],
}

impl FrameDigests {
    pub fn of(&self, kind: DigestKind) -> &[u8; 32] {
        match kind {
            DigestKind::Sha256 => &self.sha256,
            DigestKind::Blake3 | DigestKind::Blake3Tree => &self.blake3,
        }
    }
}

/// Hashes one frame both ways as its bytes stream by.
#[derive(Clone, Default)]
pub struct FrameHasher {
    sha256: Sha256,
    blake3: blake3::Hasher,
}

impl FrameHasher {
    pub fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        self.blake3.update(bytes);
    }

    pub fn finish(self) -> FrameDigests {
        FrameDigests {
            sha256: self.sha256.finalize().into(),
            blake3: *self.blake3.finalize().as_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commitment_is_the_hash_of_the_frame_digests_in_order() {
        for kind in [DigestKind::Sha256, DigestKind::Blake3] {
            let mut c = FramesCommitment::new(kind);
            c.push(b"first frame");
            c.push(b"second");
            let (a, b) = (
                frame_digest(kind, b"first frame"),
                frame_digest(kind, b"second"),
            );
            assert_eq!(Some(c.finish()), commitment_of(kind, &[a, b]));
            assert_ne!(commitment_of(kind, &[a, b]), commitment_of(kind, &[b, a]));
            assert_eq!(a, frame_digest(kind, b"first frame"));
            assert_eq!(DigestKind::from_code(kind.code()), Some(kind));
            let mut h = FrameHasher::default();
            h.update(b"first ");
            h.update(b"frame");
            assert_eq!(h.finish().of(kind), &a);
        }
        // The whole segment's kind: the frames back to back, as one input.
        let mut c = FramesCommitment::new(DigestKind::Blake3Tree);
        c.push(b"first frame");
        c.push(b"second");
        assert_eq!(c.finish(), *blake3::hash(b"first framesecond").as_bytes());
        assert_eq!(
            DigestKind::from_code(DigestKind::Blake3Tree.code()),
            Some(DigestKind::Blake3Tree)
        );
        assert_eq!(commitment_of(DigestKind::Blake3Tree, &[]), None);
        // The two kinds are the published functions, not look-alikes.
        assert_eq!(
            hex::encode(frame_digest(DigestKind::Sha256, b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex::encode(frame_digest(DigestKind::Blake3, b"abc")),
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
    }
}
