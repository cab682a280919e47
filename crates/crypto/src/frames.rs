//! The capture-time commitment to a segment's frames: the SHA-256 of each frame
//! (its bytes as stored and as they appear in an MP4's media data), and the
//! segment's `frames_sha256` = SHA-256 of those digests in order. The chain record
//! of a segment carries it, so a clip handed over later can be checked frame by
//! frame against what was recorded, without the key that encrypts the files.

use sha2::{Digest, Sha256};

/// Collects the digests of a segment's frames as they are written.
#[derive(Clone, Default)]
pub struct FramesCommitment(Sha256);

impl FramesCommitment {
    /// Adds the next frame; returns its digest.
    pub fn push(&mut self, frame: &[u8]) -> [u8; 32] {
        let d: [u8; 32] = Sha256::digest(frame).into();
        self.0.update(d);
        d
    }

    /// Adds the digest of the next frame, computed elsewhere.
    pub fn push_digest(&mut self, digest: &[u8; 32]) {
        self.0.update(digest);
    }

    /// The segment's commitment.
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

/// The commitment of a list of frame digests.
pub fn commitment_of(digests: &[[u8; 32]]) -> [u8; 32] {
    let mut c = FramesCommitment::default();
    for d in digests {
        c.push_digest(d);
    }
    c.finish()
}

/// The digest of one frame.
pub fn frame_digest(frame: &[u8]) -> [u8; 32] {
    Sha256::digest(frame).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commitment_is_the_hash_of_the_frame_digests_in_order() {
        let mut c = FramesCommitment::default();
        let a = c.push(b"first frame");
        let b = c.push(b"second");
        assert_eq!(c.finish(), commitment_of(&[a, b]));
        assert_ne!(commitment_of(&[a, b]), commitment_of(&[b, a]));
        assert_eq!(a, frame_digest(b"first frame"));
    }
}
