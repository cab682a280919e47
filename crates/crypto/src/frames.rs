//! The capture-time commitment to a segment's frames: the digest of each frame
//! (its bytes as stored and as they appear in an MP4's media data), and the
//! segment's commitment = the digest of those digests in order. The chain record
//! of a segment carries it, so a clip handed over later can be checked frame by
//! frame against what was recorded, without the key that encrypts the files.
//!
//! Which hash a segment uses is its [`DigestKind`], kept with it: segments
//! recorded before issue 11 use SHA-256; new ones BLAKE3, which runs at memory
//! speed and leaves the recorder's CPU to the camera streams.

use sha2::{Digest, Sha256};

/// The hash of a segment's digests (its frames' and its stored file's), as the
/// catalog keeps it: 1 for SHA-256, 2 for BLAKE3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DigestKind {
    /// Frames and the whole stored file by SHA-256 (segments recorded before issue 11).
    Sha256,
    /// Frames by BLAKE3; the stored file by BLAKE3 over its chunks' authentication tags.
    Blake3,
}

impl DigestKind {
    /// What new segments are recorded with.
    pub const CURRENT: DigestKind = DigestKind::Blake3;

    /// The catalog's code for this kind.
    pub fn code(self) -> i64 {
        match self {
            DigestKind::Sha256 => 1,
            DigestKind::Blake3 => 2,
        }
    }

    pub fn from_code(code: i64) -> Option<DigestKind> {
        match code {
            1 => Some(DigestKind::Sha256),
            2 => Some(DigestKind::Blake3),
            _ => None,
        }
    }

    /// The hash's name as people and manifests write it.
    pub fn name(self) -> &'static str {
        match self {
            DigestKind::Sha256 => "SHA-256",
            DigestKind::Blake3 => "BLAKE3",
        }
    }
}

/// Collects the digests of a segment's frames as they are written.
#[derive(Clone)]
pub enum FramesCommitment {
    Sha256(Sha256),
    Blake3(Box<blake3::Hasher>),
}

impl FramesCommitment {
    pub fn new(kind: DigestKind) -> FramesCommitment {
        match kind {
            DigestKind::Sha256 => FramesCommitment::Sha256(Sha256::new()),
            DigestKind::Blake3 => FramesCommitment::Blake3(Box::default()),
        }
    }

    pub fn kind(&self) -> DigestKind {
        match self {
            FramesCommitment::Sha256(_) => DigestKind::Sha256,
            FramesCommitment::Blake3(_) => DigestKind::Blake3,
        }
    }

    /// Adds the next frame; returns its digest.
    pub fn push(&mut self, frame: &[u8]) -> [u8; 32] {
        let d = frame_digest(self.kind(), frame);
        self.push_digest(&d);
        d
    }

    /// Adds the digest of the next frame, computed elsewhere.
    pub fn push_digest(&mut self, digest: &[u8; 32]) {
        match self {
            FramesCommitment::Sha256(h) => h.update(digest),
            FramesCommitment::Blake3(h) => {
                h.update(digest);
            }
        }
    }

    /// The segment's commitment.
    pub fn finish(self) -> [u8; 32] {
        match self {
            FramesCommitment::Sha256(h) => h.finalize().into(),
            FramesCommitment::Blake3(h) => *h.finalize().as_bytes(),
        }
    }
}

/// The commitment of a list of frame digests.
pub fn commitment_of(kind: DigestKind, digests: &[[u8; 32]]) -> [u8; 32] {
    let mut c = FramesCommitment::new(kind);
    for d in digests {
        c.push_digest(d);
    }
    c.finish()
}

/// The digest of one frame.
pub fn frame_digest(kind: DigestKind, frame: &[u8]) -> [u8; 32] {
    match kind {
        DigestKind::Sha256 => Sha256::digest(frame).into(),
        DigestKind::Blake3 => *blake3::hash(frame).as_bytes(),
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
            DigestKind::Blake3 => &self.blake3,
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
            let a = c.push(b"first frame");
            let b = c.push(b"second");
            assert_eq!(c.finish(), commitment_of(kind, &[a, b]));
            assert_ne!(commitment_of(kind, &[a, b]), commitment_of(kind, &[b, a]));
            assert_eq!(a, frame_digest(kind, b"first frame"));
            assert_eq!(DigestKind::from_code(kind.code()), Some(kind));
            let mut h = FrameHasher::default();
            h.update(b"first ");
            h.update(b"frame");
            assert_eq!(h.finish().of(kind), &a);
        }
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
