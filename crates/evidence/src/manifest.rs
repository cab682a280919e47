//! The manifest (`manifest.json`, signed in `manifest.sig`) and the clip proofs
//! (`proof/*.json`). Field names are the format: recipients' tools read them.

use mimamori_crypto::tree::RangeProof;
use serde::{Deserialize, Serialize};

/// The format tag of every manifest this version writes.
pub const FORMAT: &str = "mimamori-evidence-v1";
pub const MANIFEST: &str = "manifest.json";
/// Hex of the Ed25519 signature over the exact bytes of `manifest.json`.
pub const SIGNATURE: &str = "manifest.sig";

/// An instant, in UTC and in Japan time (RFC 3339 both).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moment {
    pub utc: String,
    pub jst: String,
}

/// 申請者: who asked and how to reach them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub organisation: String,
    pub representative: String,
    pub address: String,
    pub department: String,
    pub person: String,
    pub phone: String,
}

/// The request the package answers (or the hold, for a copy kept on an
/// external medium).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestFacts {
    /// `"hold"` for the copy of a hold's footage onto its medium (Tottori 5(3));
    /// absent for a request (packages before this field have none).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The request's number, or the hold's.
    pub number: i64,
    pub received_on: String,
    /// The ground (根拠) as the policy names it, with its article.
    pub ground: String,
    pub ground_basis: String,
    pub ground_detail: String,
    pub reason: String,
    pub method: String,
    pub recipient: Recipient,
}

/// One clip: an MP4 of one camera over the approved range, samples as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClipEntry {
    pub path: String,
    pub camera_id: i64,
    pub camera_name: String,
    pub location: String,
    pub stream: String,
    pub approved_from: Moment,
    pub approved_to: Moment,
    /// The first frame in the clip (the first key frame at or after the approved start).
    pub first_frame: Moment,
    /// The end of the last frame.
    pub end: Moment,
    pub frames: u64,
    pub bytes: u64,
    pub sha256: String,
    /// The clip's proof file (also listed in `files`).
    pub proof: String,
}

/// Any other file of the package, with its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    /// 設置者 and the regulation in force.
    pub installer: String,
    pub regulation: String,
    pub request: RequestFacts,
    /// The manager who approved, and when.
    pub approved_by: String,
    pub approved_at: Moment,
    /// Who extracted, and when.
    pub extracted_by: String,
    pub extracted_at: Moment,
    pub clips: Vec<ClipEntry>,
    pub files: Vec<FileEntry>,
    /// What the reader should know (a camera with nothing recorded in the range).
    #[serde(default)]
    pub notes: Vec<String>,
    /// The installation's Ed25519 public key (hex) and its fingerprint.
    pub public_key: String,
    pub key_fingerprint: String,
    /// A masked copy: its clips are re-encoded with areas filled, derived from a
    /// package whose clips carry the proof (kept by the installation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived_from: Option<Derivation>,
}

/// What a masked copy was made from, and how.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Derivation {
    /// The package masked (its ZIP and its manifest, SHA-256 hex).
    pub package_sha256: String,
    pub manifest_sha256: String,
    /// Why (third parties appear in a person's own images), as the policy says.
    pub reason: String,
    pub clips: Vec<MaskedClip>,
}

/// One masked clip: its file (also listed in `files`) and the original's hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaskedClip {
    pub path: String,
    pub camera_id: i64,
    pub camera_name: String,
    pub bytes: u64,
    pub sha256: String,
    /// The original clip in the package masked: its path and SHA-256.
    pub original_path: String,
    pub original_sha256: String,
    pub masks: Vec<MaskArea>,
}

/// A rectangle filled over a time span of the clip (the whole clip when the
/// span is absent), in the clip's pixels and seconds from its first frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MaskArea {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_seconds: Option<f64>,
}

/// Why a clip's frames are the frames recorded: for each segment the clip draws
/// on, the digests of all its frames (those in the clip are recomputed by the
/// verifier), the stream's chain from the first such segment up to a signed head,
/// and that head's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClipProof {
    pub camera_id: i64,
    pub stream: String,
    pub segments: Vec<SegmentProof>,
    /// The chain link before the first record (hex).
    pub first_prev: String,
    /// Consecutive chain records, the clip's segments first, up to the signed head.
    pub chain: Vec<ChainRecord>,
    pub head: SignedHead,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentProof {
    /// The segment's place in its chain.
    pub seq: i64,
    /// The digest of each of the segment's frames, in order (hex): SHA-256, or
    /// BLAKE3 for chain record v3; empty for v4 (see `range`).
    pub frame_digests: Vec<String>,
    /// The segment's frames in the clip: from this index, this many, in clip order.
    pub first_frame: usize,
    pub frames_in_clip: usize,
    /// For a segment whose frames are committed by BLAKE3 of all of them back
    /// to back (chain record v4; `frame_digests` is then empty): where the
    /// clip's frames lie in that input, and what recomputes its hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<RangeText>,
}

/// A [`RangeProof`] as the manifest writes it (hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeText {
    /// The segment's frames in bytes, all of them.
    pub total: u64,
    /// Where the clip's frames start among them, and their length.
    pub offset: u64,
    pub len: u64,
    /// The bytes from the 1 KiB boundary before the clip's first frame to it
    /// (the end of the frame before: less than 1 KiB, not decodable alone).
    pub before: String,
    /// The bytes from the clip's last frame to the next 1 KiB boundary.
    pub after: String,
    /// The BLAKE3 chaining value of each part of the segment outside those, in order.
    pub subtrees: Vec<String>,
}

impl RangeText {
    pub fn of(p: &RangeProof) -> RangeText {
        RangeText {
            total: p.total,
            offset: p.offset,
            len: p.len,
            before: hex::encode(&p.before),
            after: hex::encode(&p.after),
            subtrees: p.subtrees.iter().map(hex::encode).collect(),
        }
    }

    /// The proof, or `None` when a part is not hex of the right length.
    pub fn proof(&self) -> Option<RangeProof> {
        let subtrees = self
            .subtrees
            .iter()
            .map(|s| <[u8; 32]>::try_from(hex::decode(s).ok()?).ok())
            .collect::<Option<Vec<_>>>()?;
        Some(RangeProof {
            total: self.total,
            offset: self.offset,
            len: self.len,
            before: hex::decode(&self.before).ok()?,
            after: hex::decode(&self.after).ok()?,
            subtrees,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainRecord {
    pub seq: i64,
    /// The canonical record text the link covers.
    pub record: String,
    /// SHA-256(previous link ‖ record), hex.
    pub link: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedHead {
    pub seq: i64,
    pub hash: String,
    pub signed_at_us: i64,
    pub signed_at: Moment,
    /// Ed25519 over `mimamori_crypto::chain_head_message` (hex).
    pub signature: String,
}
