//! Cryptography for footage at rest, with no I/O: segment files encrypted in
//! chunks with AES-256-GCM (so byte ranges can be read without decrypting a whole
//! file; AWS-LC's implementation through aws-lc-rs, which uses the CPU's vector
//! AES and carry-less multiply instructions at their full width — the format is
//! AES-256-GCM's and does not depend on it), data
//! keys wrapped by the installation's master key, the SHA-256 hash chain over
//! segments, the capture-time commitment to their frames ([`frames`], with
//! ranges of a segment checked against it by [`tree`]), the digest
//! of a stored file ([`StoredDigest`]),
//! Ed25519 signatures over chain heads, password hashes
//! (argon2id) and one-time codes (TOTP).
//!
//! Sure erasure (REQ-RET-5) rests on this: once a data key is destroyed, every
//! segment it encrypted is noise, on this disk or any copy of it.

pub mod frames;
pub mod password;
pub mod totp;
pub mod tree;

use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A random token of `bytes` bytes, as hex (form tokens and the like).
pub fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Plaintext bytes per encrypted chunk. Each chunk adds a 16-byte tag.
pub const CHUNK: usize = 64 * 1024;
pub const TAG: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("decryption failed: the data was changed, or the key is wrong or destroyed")]
    Decrypt,
    #[error("encryption failed")]
    Encrypt,
    #[error("a key must be 32 bytes")]
    KeyLength,
    #[error("signature does not verify")]
    Signature,
}

/// A 256-bit key (a data key or the master key).
#[derive(Clone)]
pub struct Key([u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(…)") // never print key material
    }
}

impl Key {
    pub fn generate() -> Key {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        Key(k)
    }

    pub fn from_bytes(b: &[u8]) -> Result<Key, CryptoError> {
        <[u8; 32]>::try_from(b)
            .map(Key)
            .map_err(|_| CryptoError::KeyLength)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn aead(&self) -> Result<LessSafeKey, CryptoError> {
        UnboundKey::new(&AES_256_GCM, &self.0)
            .map(LessSafeKey::new)
            .map_err(|_| CryptoError::KeyLength)
    }

    /// Encrypts a small secret under this key: nonce ‖ ciphertext ‖ tag, bound to `context`.
    pub fn seal(&self, msg: &[u8], context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        out.extend_from_slice(&seal_with(&self.aead()?, nonce, context, msg)?);
        Ok(out)
    }

    /// Decrypts what [`Key::seal`] produced with the same context.
    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < 12 {
            return Err(CryptoError::Decrypt);
        }
        let nonce: [u8; 12] = sealed[..12].try_into().map_err(|_| CryptoError::Decrypt)?;
        open_with(&self.aead()?, nonce, context, &sealed[12..])
    }

    /// Wraps (encrypts) another key under this one.
    pub fn wrap(&self, key: &Key, context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.seal(&key.0, context)
    }

    pub fn unwrap_key(&self, wrapped: &[u8], context: &[u8]) -> Result<Key, CryptoError> {
        Key::from_bytes(&self.open(wrapped, context)?)
    }
}

/// Identifies one segment file's encryption: the key, a random nonce prefix, and
/// the segment's identity as associated data (a chunk moved to another file, or
/// to another place in the file, fails to decrypt).
#[derive(Clone)]
pub struct SegmentCipher {
    /// The expanded key, once per file (not per chunk).
    aead: Arc<LessSafeKey>,
    nonce_prefix: [u8; 8],
    identity: Vec<u8>,
}

impl std::fmt::Debug for SegmentCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentCipher")
            .field("nonce_prefix", &hex::encode(self.nonce_prefix))
            .finish_non_exhaustive() // never the key
    }
}

/// AES-256-GCM sealing: ciphertext ‖ tag.
fn seal_with(
    key: &LessSafeKey,
    nonce: [u8; 12],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let mut out = Vec::with_capacity(plaintext.len() + TAG);
    out.extend_from_slice(plaintext);
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut out,
    )
    .map_err(|_| CryptoError::Encrypt)?;
    Ok(out)
}

/// AES-256-GCM opening of ciphertext ‖ tag.
fn open_with(
    key: &LessSafeKey,
    nonce: [u8; 12],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let mut buf = sealed.to_vec();
    let n = key
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut buf,
        )
        .map_err(|_| CryptoError::Decrypt)?
        .len();
    buf.truncate(n);
    Ok(buf)
}

impl SegmentCipher {
    pub fn new(key: Key, nonce_prefix: [u8; 8], identity: &[u8]) -> Self {
        // A 32-byte key always makes an AES-256 key.
        let aead = Arc::new(LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &key.0).unwrap_or_else(|_| unreachable!()),
        ));
        SegmentCipher {
            aead,
            nonce_prefix,
            identity: identity.to_vec(),
        }
    }

    pub fn random_nonce_prefix() -> [u8; 8] {
        let mut p = [0u8; 8];
        rand::rng().fill_bytes(&mut p);
        p
    }

    fn nonce(&self, chunk: u32) -> [u8; 12] {
        let mut n = [0u8; 12];
        n[..8].copy_from_slice(&self.nonce_prefix);
        n[8..].copy_from_slice(&chunk.to_be_bytes());
        n
    }

    fn aad(&self, chunk: u32, last: bool) -> Vec<u8> {
        let mut a = self.identity.clone();
        a.extend_from_slice(&chunk.to_be_bytes());
        a.push(u8::from(last));
        a
    }

    /// Encrypts chunk number `chunk` (at most [`CHUNK`] bytes). `last` marks the
    /// final chunk, so that a file cut short at a chunk boundary does not verify.
    pub fn seal(&self, chunk: u32, last: bool, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        seal_with(
            &self.aead,
            self.nonce(chunk),
            &self.aad(chunk, last),
            plaintext,
        )
    }

    /// Encrypts chunk number `chunk` held in `buf` (at most [`CHUNK`] bytes) where
    /// it lies and appends its tag: the file's bytes for this chunk, with no copy.
    /// `buf` should have room for [`TAG`] more bytes.
    pub fn seal_in_place(
        &self,
        chunk: u32,
        last: bool,
        buf: &mut Vec<u8>,
    ) -> Result<(), CryptoError> {
        // The associated data on the stack when the identity fits (file names do).
        let mut stack = [0u8; 256];
        let n = self.identity.len() + 5;
        let heap;
        let aad: &[u8] = if n <= stack.len() {
            stack[..n - 5].copy_from_slice(&self.identity);
            stack[n - 5..n - 1].copy_from_slice(&chunk.to_be_bytes());
            stack[n - 1] = u8::from(last);
            &stack[..n]
        } else {
            heap = self.aad(chunk, last);
            &heap
        };
        let tag = self
            .aead
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(self.nonce(chunk)),
                Aad::from(aad),
                buf,
            )
            .map_err(|_| CryptoError::Encrypt)?;
        buf.extend_from_slice(tag.as_ref());
        Ok(())
    }

    pub fn open(&self, chunk: u32, last: bool, ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        open_with(
            &self.aead,
            self.nonce(chunk),
            &self.aad(chunk, last),
            ciphertext,
        )
    }
}

impl SegmentCipher {
    /// Encrypts the not-yet-sealed tail of a segment being written (kept beside it
    /// so that a crash loses no more than a second), under a fresh random nonce:
    /// the chunk the tail will become is sealed later under its counter nonce, so
    /// one nonce never covers two plaintexts. The nonce leads the result.
    pub fn seal_tail(&self, chunk: u32, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        out.extend_from_slice(&seal_with(
            &self.aead,
            nonce,
            &self.tail_aad(chunk),
            plaintext,
        )?);
        Ok(out)
    }

    /// Opens what [`SegmentCipher::seal_tail`] sealed for chunk `chunk`.
    pub fn open_tail(&self, chunk: u32, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < 12 + TAG {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, ct) = sealed.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| CryptoError::Decrypt)?;
        open_with(&self.aead, nonce, &self.tail_aad(chunk), ct)
    }

    fn tail_aad(&self, chunk: u32) -> Vec<u8> {
        let mut a = b"tail:".to_vec();
        a.extend_from_slice(&self.identity);
        a.extend_from_slice(&chunk.to_be_bytes());
        a
    }
}

/// Size on disk of `plain` plaintext bytes.
pub fn encrypted_len(plain: u64) -> u64 {
    let chunks = plain.div_ceil(CHUNK as u64).max(1);
    plain + chunks * TAG as u64
}

/// The digest of a segment file as it is stored, computed as it is written and
/// checked by `verify` without the key. [`DigestKind::Sha256`]: SHA-256 of every
/// stored byte (segments recorded before issue 11). [`DigestKind::Blake3`] and
/// [`DigestKind::Blake3Tree`]: BLAKE3
/// of the chunks' GCM tags in order — each tag already authenticates its chunk's
/// ciphertext under the file's key, so a byte changed anywhere fails to decrypt,
/// and a tag changed, a chunk dropped, moved or cut changes this digest; the
/// frames' own commitment (checked with the key) covers what the key holder could
/// forge. It costs 16 bytes of hashing per 64 KiB chunk instead of every byte.
#[derive(Clone)]
pub enum StoredDigest {
    Bytes(Sha256),
    Tags(Box<blake3::Hasher>),
}

impl StoredDigest {
    pub fn new(kind: frames::DigestKind) -> StoredDigest {
        match kind {
            frames::DigestKind::Sha256 => StoredDigest::Bytes(Sha256::new()),
            frames::DigestKind::Blake3 | frames::DigestKind::Blake3Tree => {
                StoredDigest::Tags(Box::default())
            }
        }
    }

    /// The next sealed chunk as stored (ciphertext ‖ tag).
    pub fn chunk(&mut self, sealed: &[u8]) {
        match self {
            StoredDigest::Bytes(h) => h.update(sealed),
            StoredDigest::Tags(h) => {
                h.update(&sealed[sealed.len().saturating_sub(TAG)..]);
            }
        }
    }

    pub fn finish(self) -> [u8; 32] {
        match self {
            StoredDigest::Bytes(h) => h.finalize().into(),
            StoredDigest::Tags(h) => *h.finalize().as_bytes(),
        }
    }
}

/// The stored length of each chunk of a file of `stored` bytes, in order: every
/// chunk [`CHUNK`] + [`TAG`] bytes but the last.
pub fn stored_chunk_lengths(stored: u64) -> impl Iterator<Item = u64> {
    let full = (CHUNK + TAG) as u64;
    let n = stored.div_ceil(full);
    (0..n).map(move |i| if i + 1 < n { full } else { stored - i * full })
}

/// One link of a hash chain: SHA-256(previous ‖ record).
pub fn chain_link(previous: &[u8], record: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(previous);
    h.update(record);
    h.finalize().into()
}

/// What a signature over a stream's chain head signs: camera, stream, the head's
/// sequence number and hash, and when it was signed (µs since 1970). Recipients of
/// evidence rebuild it to check a head, so its format never changes.
pub fn chain_head_message(camera: i64, stream: &str, seq: i64, head: &[u8], at_us: i64) -> Vec<u8> {
    format!(
        "mimamori-chain-head-v1\n{camera}\n{stream}\n{seq}\n{}\n{at_us}\n",
        hex::encode(head)
    )
    .into_bytes()
}

/// The fingerprint of a public key as people compare it (on a covering letter):
/// SHA-256 of the key, in groups of four hex digits.
pub fn key_fingerprint(public_key: &[u8]) -> String {
    let h = hex::encode(Sha256::digest(public_key));
    h.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The installation's Ed25519 signing key.
pub struct Signer(ed25519_dalek::SigningKey);

impl Signer {
    pub fn generate() -> Signer {
        let mut b = [0u8; 32];
        rand::rng().fill_bytes(&mut b);
        Signer(ed25519_dalek::SigningKey::from_bytes(&b))
    }

    pub fn from_bytes(b: &[u8]) -> Result<Signer, CryptoError> {
        let b = <[u8; 32]>::try_from(b).map_err(|_| CryptoError::KeyLength)?;
        Ok(Signer(ed25519_dalek::SigningKey::from_bytes(&b)))
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }

    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer as _;
        self.0.sign(msg).to_bytes()
    }
}

pub fn verify_signature(
    public_key: &[u8],
    msg: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    let pk = <[u8; 32]>::try_from(public_key).map_err(|_| CryptoError::KeyLength)?;
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&pk).map_err(|_| CryptoError::Signature)?;
    let sig = <[u8; 64]>::try_from(signature).map_err(|_| CryptoError::Signature)?;
    vk.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&sig))
        .map_err(|_| CryptoError::Signature)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The earlier backend (RustCrypto's aes-gcm) sealing one chunk the way
    /// segments were written before ring: ciphertext ‖ tag under the chunk nonce.
    fn old_seal(key: &Key, nonce: [u8; 12], aad: &[u8], msg: &[u8]) -> Vec<u8> {
        use aes_gcm::aead::{Aead, KeyInit, Payload};
        aes_gcm::Aes256Gcm::new((&key.0).into())
            .encrypt(aes_gcm::Nonce::from_slice(&nonce), Payload { msg, aad })
            .unwrap()
    }

    // Issue 11: the AES-GCM backend changed, the format did not. Segments, tails
    // and wrapped keys written before still open; what is written now opens with
    // the earlier backend too.
    #[test]
    fn what_the_earlier_backend_wrote_still_opens_and_the_other_way_round() {
        let key = Key::generate();
        let cipher = SegmentCipher::new(key.clone(), [7; 8], b"2026/12/01/cam1-main.seg");
        let frame: Vec<u8> = (0..CHUNK).map(|i| (i * 31 % 251) as u8).collect();
        for (chunk, last) in [(0u32, false), (5, true)] {
            let old = old_seal(&key, cipher.nonce(chunk), &cipher.aad(chunk, last), &frame);
            assert_eq!(cipher.open(chunk, last, &old).unwrap(), frame);
            assert_eq!(
                cipher.seal(chunk, last, &frame).unwrap(),
                old,
                "same bytes on disk"
            );
            assert!(
                cipher.open(chunk, !last, &old).is_err(),
                "the last flag is bound"
            );
        }
        let tail_nonce = [9u8; 12];
        let mut tail = tail_nonce.to_vec();
        tail.extend(old_seal(
            &key,
            tail_nonce,
            &cipher.tail_aad(3),
            b"tail frames",
        ));
        assert_eq!(cipher.open_tail(3, &tail).unwrap(), b"tail frames");
        let master = Key::generate();
        let mut wrapped = [1u8; 12].to_vec();
        wrapped.extend(old_seal(&master, [1; 12], b"file:x", &key.0));
        assert_eq!(master.unwrap_key(&wrapped, b"file:x").unwrap().0, key.0);
    }

    #[test]
    fn chunks_round_trip_and_are_bound_to_place_and_identity() {
        let key = Key::generate();
        let c = SegmentCipher::new(key.clone(), [7; 8], b"cam1/main/123");
        let ct = c.seal(3, false, b"hello").unwrap();
        assert_eq!(ct.len(), 5 + TAG);
        assert_eq!(c.open(3, false, &ct).unwrap(), b"hello");
        assert_eq!(c.open(4, false, &ct), Err(CryptoError::Decrypt));
        assert_eq!(c.open(3, true, &ct), Err(CryptoError::Decrypt));
        let other = SegmentCipher::new(key, [7; 8], b"cam1/main/124");
        assert_eq!(other.open(3, false, &ct), Err(CryptoError::Decrypt));
        let mut flipped = ct.clone();
        flipped[0] ^= 1;
        assert_eq!(c.open(3, false, &flipped), Err(CryptoError::Decrypt));
    }

    // REQ-RET-5: without the data key, a copy of the file cannot be read.
    #[test]
    fn a_destroyed_key_leaves_noise() {
        let master = Key::generate();
        let data = Key::generate();
        let wrapped = master.wrap(&data, b"camera 1 day 20261123").unwrap();
        assert_eq!(
            master
                .unwrap_key(&wrapped, b"camera 1 day 20261123")
                .unwrap()
                .0,
            data.0
        );
        assert!(
            master
                .unwrap_key(&wrapped, b"camera 2 day 20261123")
                .is_err()
        );
        let c = SegmentCipher::new(data, [1; 8], b"x");
        let ct = c.seal(0, true, b"footage").unwrap();
        // Any other key (a guess, the master key itself) fails.
        let guess = SegmentCipher::new(Key::generate(), [1; 8], b"x");
        assert!(guess.open(0, true, &ct).is_err());
    }

    #[test]
    fn sealing_in_place_writes_the_bytes_of_seal() {
        let c = SegmentCipher::new(Key::generate(), [7; 8], b"cam1/main/123");
        let mut buf = Vec::with_capacity(CHUNK + TAG);
        buf.extend_from_slice(b"frames of a chunk");
        c.seal_in_place(4, true, &mut buf).unwrap();
        assert_eq!(buf, c.seal(4, true, b"frames of a chunk").unwrap());
        assert_eq!(c.open(4, true, &buf).unwrap(), b"frames of a chunk");
    }

    // Issue 11: the BLAKE3 digest of a stored file covers its tags in order, so a
    // chunk's tag changed, or chunks swapped or dropped, change it; SHA-256 covers
    // every byte.
    #[test]
    fn stored_digests_cover_the_tags_or_every_byte() {
        let c = SegmentCipher::new(Key::generate(), [7; 8], b"f");
        let chunks: Vec<Vec<u8>> = (0..3u32)
            .map(|i| c.seal(i, i == 2, &[i as u8; 100]).unwrap())
            .collect();
        let digest = |kind, chunks: &[Vec<u8>]| {
            let mut d = StoredDigest::new(kind);
            for ch in chunks {
                d.chunk(ch);
            }
            d.finish()
        };
        for kind in [frames::DigestKind::Sha256, frames::DigestKind::Blake3] {
            let good = digest(kind, &chunks);
            let mut swapped = chunks.clone();
            swapped.swap(0, 1);
            assert_ne!(digest(kind, &swapped), good);
            assert_ne!(digest(kind, &chunks[..2]), good);
            let mut tag_changed = chunks.clone();
            *tag_changed[1].last_mut().unwrap() ^= 1;
            assert_ne!(digest(kind, &tag_changed), good);
        }
        let all: Vec<u8> = chunks.concat();
        assert_eq!(
            digest(frames::DigestKind::Sha256, &chunks),
            <[u8; 32]>::from(Sha256::digest(&all))
        );
        assert_eq!(
            stored_chunk_lengths((2 * (CHUNK + TAG) + 40) as u64).collect::<Vec<_>>(),
            vec![(CHUNK + TAG) as u64, (CHUNK + TAG) as u64, 40]
        );
        assert_eq!(
            stored_chunk_lengths((CHUNK + TAG) as u64).collect::<Vec<_>>(),
            vec![(CHUNK + TAG) as u64]
        );
    }

    #[test]
    fn encrypted_length() {
        assert_eq!(encrypted_len(0), TAG as u64);
        assert_eq!(encrypted_len(CHUNK as u64), (CHUNK + TAG) as u64);
        assert_eq!(
            encrypted_len(CHUNK as u64 + 1),
            (CHUNK + 1 + 2 * TAG) as u64
        );
    }

    #[test]
    fn signatures_verify_and_detect_change() {
        let s = Signer::generate();
        let sig = s.sign(b"head");
        assert!(verify_signature(&s.public_key(), b"head", &sig).is_ok());
        assert!(verify_signature(&s.public_key(), b"heaD", &sig).is_err());
        let back = Signer::from_bytes(&s.to_bytes()).unwrap();
        assert_eq!(back.public_key(), s.public_key());
    }

    #[test]
    fn key_debug_hides_material() {
        assert_eq!(format!("{:?}", Key::generate()), "Key(…)");
    }
}
