//! Checks a package offline, as `mimamori verify-export` does: the manifest's
//! signature and key, every file's hash, and for every clip that its frames are
//! the frames recorded (each frame's digest, each segment's capture-time
//! commitment, the chain up to a signed head). Each problem is a sentence naming
//! the file and what is wrong with it.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use mimamori_crypto::frames::{DigestKind, FrameDigests, FrameHasher, commitment_of};
use mimamori_crypto::tree::{RangeHasher, TreeError};
use mimamori_crypto::{chain_head_message, chain_link, key_fingerprint, verify_signature};
use sha2::{Digest, Sha256};

use crate::manifest::{ClipEntry, ClipProof, MANIFEST, Manifest, SIGNATURE};
use crate::mp4read::{SampleRange, box_header, samples_of_moov};

/// The largest manifest or proof file read whole.
const MAX_TEXT: u64 = 256 << 20;
/// The largest MP4 header (ftyp + moov) read before the media data.
const MAX_HEAD: usize = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot read {0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0} is not a ZIP file or a folder: {1}")]
    NotAPackage(String, String),
    #[error("the package is encrypted: give its passphrase (--passphrase-file)")]
    NeedsPassphrase,
    #[error("wrong passphrase for {0}")]
    WrongPassphrase(String),
}

/// What the check found.
#[derive(Debug, Default)]
pub struct Report {
    /// Each problem found; none means the package is as signed.
    pub problems: Vec<String>,
    /// What was checked and found right.
    pub checked: Vec<String>,
    /// Worth saying, not wrong (footage recorded before frames were committed).
    pub notes: Vec<String>,
    /// The fingerprint of the key that signed it, to compare with the covering letter.
    pub fingerprint: Option<String>,
    pub manifest: Option<Manifest>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// A package as a folder (unpacked) or as its ZIP, to read its files.
pub enum Package {
    Dir(PathBuf),
    Zip(Box<zip::ZipArchive<std::fs::File>>, Option<Vec<u8>>),
}

fn safe_relative(p: &str) -> bool {
    !p.is_empty()
        && Path::new(p)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

impl Package {
    pub fn open(path: &Path, passphrase: Option<&str>) -> Result<Package, VerifyError> {
        let shown = path.display().to_string();
        if path.is_dir() {
            return Ok(Package::Dir(path.to_path_buf()));
        }
        let f = std::fs::File::open(path).map_err(|e| VerifyError::Io(shown.clone(), e))?;
        let mut z = zip::ZipArchive::new(f)
            .map_err(|e| VerifyError::NotAPackage(shown.clone(), e.to_string()))?;
        let encrypted = (0..z.len()).any(|i| {
            z.get_aes_verification_key_and_salt(i)
                .ok()
                .flatten()
                .is_some()
        });
        if encrypted && passphrase.is_none() {
            return Err(VerifyError::NeedsPassphrase);
        }
        Ok(Package::Zip(
            Box::new(z),
            passphrase.map(|p| p.as_bytes().to_vec()),
        ))
    }

    /// Every file in the package (folders left out).
    pub fn names(&self) -> Vec<String> {
        match self {
            Package::Dir(root) => {
                let mut out = Vec::new();
                let mut todo = vec![root.clone()];
                while let Some(d) = todo.pop() {
                    let Ok(entries) = std::fs::read_dir(&d) else {
                        continue;
                    };
                    for e in entries.flatten() {
                        let p = e.path();
                        if p.is_dir() {
                            todo.push(p);
                        } else if let Ok(rel) = p.strip_prefix(root) {
                            out.push(rel.to_string_lossy().replace('\\', "/"));
                        }
                    }
                }
                out
            }
            Package::Zip(z, _) => z
                .file_names()
                .filter_map(Result::ok)
                .filter(|n| !n.ends_with('/'))
                .map(|n| n.into_owned())
                .collect(),
        }
    }

    /// Feeds the file's bytes to `f`; `Ok(false)` when it is not there.
    pub fn stream(&mut self, name: &str, f: &mut dyn FnMut(&[u8])) -> Result<bool, VerifyError> {
        if !safe_relative(name) {
            return Ok(false);
        }
        let mut buf = vec![0u8; 1 << 20];
        let mut pump = |r: &mut dyn Read| -> std::io::Result<()> {
            loop {
                let n = r.read(&mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                f(&buf[..n]);
            }
        };
        match self {
            Package::Dir(root) => {
                let path = root.join(name);
                let Ok(mut file) = std::fs::File::open(&path) else {
                    return Ok(false);
                };
                pump(&mut file).map_err(|e| VerifyError::Io(path.display().to_string(), e))?;
            }
            Package::Zip(z, pass) => {
                let entry = match pass {
                    Some(p) => z.by_name_decrypt(name, p),
                    None => z.by_name(name),
                };
                let mut entry = match entry {
                    Ok(e) => e,
                    Err(zip::result::ZipError::FileNotFound) => return Ok(false),
                    Err(zip::result::ZipError::InvalidPassword) => {
                        return Err(VerifyError::WrongPassphrase(name.to_string()));
                    }
                    Err(e) => {
                        return Err(VerifyError::Io(name.to_string(), std::io::Error::other(e)));
                    }
                };
                pump(&mut entry).map_err(|e| VerifyError::Io(name.to_string(), e))?;
            }
        }
        Ok(true)
    }

    /// A small file whole; `None` when it is not there or too large.
    pub fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, VerifyError> {
        let mut out = Vec::new();
        let mut too_large = false;
        let found = self.stream(name, &mut |b| {
            if out.len() as u64 + b.len() as u64 > MAX_TEXT {
                too_large = true;
            } else {
                out.extend_from_slice(b);
            }
        })?;
        Ok((found && !too_large).then_some(out))
    }
}

/// A clip hashed: the whole file's SHA-256, its length, each frame's digests
/// (both kinds: which one a frame's segment used is in its chain record), and
/// for each segment of the proof whose frames are committed as one input, the
/// hash its range recomputes.
type HashedClip = ([u8; 32], u64, Vec<FrameDigests>, Vec<Option<RangeRoot>>);

/// The hash of a segment recomputed from the clip's part of it and its proof.
pub type RangeRoot = Result<[u8; 32], TreeError>;

/// Where the clip's frames go besides their own digests: the proof's segments
/// in clip order, each with its count of frames and, when its frames are
/// committed as one input, the hasher of its range.
#[derive(Default)]
struct Routes {
    segments: Vec<(usize, Option<RangeHasher>)>,
    /// The segment the next frame belongs to, and its frames seen so far.
    at: usize,
    seen: usize,
}

impl Routes {
    fn of(proof: Option<&ClipProof>) -> Routes {
        let segments = proof.map_or_else(Vec::new, |p| {
            p.segments
                .iter()
                .map(|s| {
                    let hasher = s
                        .range
                        .as_ref()
                        .and_then(|r| r.proof())
                        .and_then(|r| r.into_hasher().ok());
                    (s.frames_in_clip, hasher)
                })
                .collect()
        });
        let mut r = Routes {
            segments,
            at: 0,
            seen: 0,
        };
        r.skip_empty();
        r
    }

    fn skip_empty(&mut self) {
        while self.segments.get(self.at).is_some_and(|s| s.0 == self.seen) {
            self.at += 1;
            self.seen = 0;
        }
    }

    /// Bytes of the current frame.
    fn update(&mut self, bytes: &[u8]) {
        if let Some((_, Some(h))) = self.segments.get_mut(self.at) {
            h.update(bytes);
        }
    }

    /// The current frame is whole.
    fn frame_done(&mut self) {
        self.seen += 1;
        self.skip_empty();
    }

    fn finish(self) -> Vec<Option<RangeRoot>> {
        self.segments
            .into_iter()
            .map(|(_, h)| h.map(RangeHasher::finish))
            .collect()
    }
}

/// Hashes a clip as it streams by: the whole file, and each sample where the
/// file's own sample table says it lies.
#[derive(Default)]
struct ClipHasher {
    whole: Sha256,
    len: u64,
    head: Vec<u8>,
    samples: Option<Vec<SampleRange>>,
    next: usize,
    current: FrameHasher,
    digests: Vec<FrameDigests>,
    routes: Routes,
    error: Option<String>,
}

impl ClipHasher {
    fn feed(&mut self, bytes: &[u8]) {
        let at = self.len;
        self.whole.update(bytes);
        self.len += bytes.len() as u64;
        if self.error.is_some() {
            return;
        }
        if self.samples.is_some() {
            self.hash_samples(bytes, at);
            return;
        }
        self.head.extend_from_slice(bytes);
        // Walk the top-level boxes until the moov is whole.
        let mut o = 0usize;
        while let Some((kind, header, size)) = self.head.get(o..).and_then(box_header) {
            if &kind == b"mdat" {
                self.error = Some("its media data comes before its sample table (moov)".into());
                return;
            }
            let end = o.saturating_add(usize::try_from(size).unwrap_or(usize::MAX));
            if size < header as u64 || end > MAX_HEAD {
                self.error = Some("its header is not a readable MP4".into());
                return;
            }
            if end > self.head.len() {
                return;
            }
            if &kind == b"moov" {
                match samples_of_moov(&self.head[o + header..end]) {
                    Ok(s) if s.windows(2).all(|w| w[0].0 + u64::from(w[0].1) <= w[1].0) => {
                        self.samples = Some(s);
                        let head = std::mem::take(&mut self.head);
                        self.hash_samples(&head, 0);
                    }
                    Ok(_) => self.error = Some("its samples overlap or are out of order".into()),
                    Err(e) => self.error = Some(e.to_string()),
                }
                return;
            }
            o = end;
        }
        if self.head.len() > MAX_HEAD {
            self.error = Some("no sample table (moov) in its first 256 MiB".into());
        }
    }

    fn hash_samples(&mut self, bytes: &[u8], at: u64) {
        let Some(samples) = &self.samples else {
            return;
        };
        let end = at + bytes.len() as u64;
        while let Some(&(off, size)) = samples.get(self.next) {
            let s_end = off + u64::from(size);
            if off >= end {
                return;
            }
            let a = off.max(at);
            let b = s_end.min(end);
            if a < b {
                let part = &bytes[(a - at) as usize..(b - at) as usize];
                self.current.update(part);
                self.routes.update(part);
            }
            if s_end > end {
                return;
            }
            let d = std::mem::take(&mut self.current).finish();
            self.digests.push(d);
            self.routes.frame_done();
            self.next += 1;
        }
    }

    fn finish(self) -> Result<HashedClip, String> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let total = self.samples.as_ref().map(Vec::len);
        match total {
            None => Err("no sample table (moov)".into()),
            Some(n) if n != self.digests.len() => Err(format!(
                "it is cut short: {} of {n} frames are there",
                self.digests.len()
            )),
            Some(_) => Ok((
                self.whole.finalize().into(),
                self.len,
                self.digests,
                self.routes.finish(),
            )),
        }
    }
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    let v = hex::decode(s).ok()?;
    <[u8; 32]>::try_from(v).ok()
}

/// The fingerprint as typed (spaces, colons, case) reduced to hex digits.
fn normalized(f: &str) -> String {
    f.chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Checks a package (a ZIP or an unpacked folder). `expected_fingerprint` is
/// the installation's key fingerprint from the covering letter, when known.
pub fn verify_package(
    path: &Path,
    passphrase: Option<&str>,
    expected_fingerprint: Option<&str>,
) -> Result<Report, VerifyError> {
    let mut pkg = Package::open(path, passphrase)?;
    let mut r = Report::default();
    let Some(manifest_bytes) = pkg.read(MANIFEST)? else {
        r.problems.push(format!(
            "{MANIFEST} is missing: this is not an evidence package"
        ));
        return Ok(r);
    };
    let manifest: Manifest = match serde_json::from_slice(&manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            r.problems
                .push(format!("{MANIFEST} is not a readable manifest: {e}"));
            return Ok(r);
        }
    };
    let public_key = hex::decode(&manifest.public_key).unwrap_or_default();
    let fingerprint = key_fingerprint(&public_key);
    r.fingerprint = Some(fingerprint.clone());
    if normalized(&manifest.key_fingerprint) != normalized(&fingerprint) {
        r.problems.push(format!(
            "{MANIFEST}: the fingerprint it states ({}) is not that of its key ({fingerprint})",
            manifest.key_fingerprint
        ));
    }
    match expected_fingerprint {
        Some(e) if normalized(e) != normalized(&fingerprint) => r.problems.push(format!(
            "the package is signed with the key {fingerprint}, not with the installation's key {e} \
             named in the covering letter"
        )),
        Some(_) => r.checked.push(format!(
            "the signing key is the installation's ({fingerprint})"
        )),
        None => r.notes.push(format!(
            "compare the key fingerprint {fingerprint} with the one printed on the covering letter"
        )),
    }
    let signature = pkg
        .read(SIGNATURE)?
        .map(|s| hex::decode(String::from_utf8_lossy(&s).trim()).unwrap_or_default());
    match signature {
        None => r.problems.push(format!("{SIGNATURE} is missing")),
        Some(sig) => match verify_signature(&public_key, &manifest_bytes, &sig) {
            Ok(()) => r
                .checked
                .push(format!("{MANIFEST} carries a valid signature of its key")),
            Err(_) => r.problems.push(format!(
                "{MANIFEST} was changed after it was signed, or the signature is not of its key"
            )),
        },
    }
    let mut listed: BTreeSet<String> = [MANIFEST.to_string(), SIGNATURE.to_string()].into();
    for f in &manifest.files {
        listed.insert(f.path.clone());
        let mut h = Sha256::new();
        let mut n = 0u64;
        let found = pkg.stream(&f.path, &mut |b| {
            h.update(b);
            n += b.len() as u64;
        })?;
        if !found {
            r.problems.push(format!("{}: missing", f.path));
        } else if hex::encode(h.finalize()) != f.sha256 || n != f.bytes {
            r.problems.push(format!(
                "{}: changed (its hash is not the one in the manifest)",
                f.path
            ));
        } else {
            r.checked.push(format!("{}: as listed", f.path));
        }
    }
    for clip in &manifest.clips {
        listed.insert(clip.path.clone());
        check_clip(&mut pkg, clip, &public_key, &mut r)?;
    }
    if let Some(d) = &manifest.derived_from {
        for c in &d.clips {
            let as_listed = manifest
                .files
                .iter()
                .any(|f| f.path == c.path && f.sha256 == c.sha256 && f.bytes == c.bytes);
            if as_listed {
                r.checked.push(format!(
                    "{}: a masked copy of {} (SHA-256 {}), {} area(s) filled",
                    c.path,
                    c.original_path,
                    c.original_sha256,
                    c.masks.len()
                ));
            } else {
                r.problems.push(format!(
                    "{}: the masked clip is not the file the manifest lists",
                    c.path
                ));
            }
        }
        r.notes.push(format!(
            "this is a masked copy ({}): its frames are re-encoded where areas are filled, so they \
             are not the frames recorded; the original package (SHA-256 {}) that proves them is \
             kept by the installation",
            d.reason, d.package_sha256
        ));
    }
    for name in pkg.names() {
        if !listed.contains(&name) {
            r.problems.push(format!(
                "{name}: not listed in the manifest (added to the package)"
            ));
        }
    }
    r.manifest = Some(manifest);
    Ok(r)
}

fn check_clip(
    pkg: &mut Package,
    clip: &ClipEntry,
    public_key: &[u8],
    r: &mut Report,
) -> Result<(), VerifyError> {
    // The proof first: it says which bytes of the clip recompute which
    // segment's hash, so the clip is read once.
    let proof: Option<ClipProof> = pkg
        .read(&clip.proof)?
        .and_then(|b| serde_json::from_slice(&b).ok());
    let mut hasher = ClipHasher {
        routes: Routes::of(proof.as_ref()),
        ..ClipHasher::default()
    };
    if !pkg.stream(&clip.path, &mut |b| hasher.feed(b))? {
        r.problems.push(format!("{}: missing", clip.path));
        return Ok(());
    }
    let (sha, len, digests, roots) = match hasher.finish() {
        Ok(x) => x,
        Err(e) => {
            r.problems.push(format!("{}: {e}", clip.path));
            return Ok(());
        }
    };
    if hex::encode(sha) != clip.sha256 || len != clip.bytes {
        r.problems.push(format!(
            "{}: changed (its hash is not the one in the manifest)",
            clip.path
        ));
    }
    let Some(proof) = proof else {
        r.problems.push(format!(
            "{}: its proof {} is missing or unreadable",
            clip.path, clip.proof
        ));
        return Ok(());
    };
    let found = check_proof(&proof, &digests, &roots, public_key);
    if found.problems.is_empty() {
        r.checked.push(format!(
            "{}: {} frames, each the frame recorded (chain of camera {} {} up to a head signed at {})",
            clip.path,
            digests.len(),
            proof.camera_id,
            proof.stream,
            proof.head.signed_at.jst
        ));
    }
    r.problems.extend(
        found
            .problems
            .into_iter()
            .map(|p| format!("{}: {p}", clip.path)),
    );
    r.notes.extend(
        found
            .notes
            .into_iter()
            .map(|p| format!("{}: {p}", clip.path)),
    );
    Ok(())
}

/// What a proof check found.
#[derive(Debug, Default)]
pub struct ProofFindings {
    pub problems: Vec<String>,
    pub notes: Vec<String>,
}

/// Checks a clip's frames (their digests, in clip order, and the hashes their
/// ranges recompute, per segment of the proof) against its proof.
pub fn check_proof(
    proof: &ClipProof,
    clip: &[FrameDigests],
    roots: &[Option<RangeRoot>],
    public_key: &[u8],
) -> ProofFindings {
    let mut f = ProofFindings::default();
    // The chain: consecutive records, each link over the one before.
    let mut prev = hex::decode(&proof.first_prev).unwrap_or_default();
    let mut records = std::collections::HashMap::new();
    for (i, c) in proof.chain.iter().enumerate() {
        if i > 0 && c.seq != proof.chain[i - 1].seq + 1 {
            f.problems.push(format!(
                "the chain skips from record {} to {}",
                proof.chain[i - 1].seq,
                c.seq
            ));
        }
        let link = chain_link(&prev, c.record.as_bytes());
        if hex::encode(link) != c.link {
            f.problems.push(format!(
                "chain record {} does not link to the one before it",
                c.seq
            ));
        }
        let lines: Vec<&str> = c.record.split('\n').collect();
        if lines.get(1) != Some(&proof.camera_id.to_string().as_str())
            || lines.get(2) != Some(&proof.stream.as_str())
            || lines.get(3) != Some(&c.seq.to_string().as_str())
        {
            f.problems.push(format!(
                "chain record {} is not of camera {} {}",
                c.seq, proof.camera_id, proof.stream
            ));
        }
        // The record's version says whether frames were committed (v2, v3, v4)
        // and how (v3: BLAKE3 of each; v4: BLAKE3 of all back to back; before
        // them SHA-256 of each).
        let (kind, committed) = match lines[0] {
            "mimamori-segment-v2" => (DigestKind::Sha256, true),
            "mimamori-segment-v3" => (DigestKind::Blake3, true),
            "mimamori-segment-v4" => (DigestKind::Blake3Tree, true),
            _ => (DigestKind::Sha256, false),
        };
        records.insert(
            c.seq,
            (
                kind,
                lines.get(18).filter(|_| committed).map(|s| s.to_string()),
            ),
        );
        prev = link.to_vec();
    }
    // The head: the last link, signed.
    match proof.chain.last() {
        Some(last) if last.seq == proof.head.seq && last.link == proof.head.hash => {
            let msg = chain_head_message(
                proof.camera_id,
                &proof.stream,
                proof.head.seq,
                &hex::decode(&proof.head.hash).unwrap_or_default(),
                proof.head.signed_at_us,
            );
            let sig = hex::decode(&proof.head.signature).unwrap_or_default();
            if verify_signature(public_key, &msg, &sig).is_err() {
                f.problems.push(
                    "the chain head's signature does not verify with the package's key".into(),
                );
            }
        }
        _ => f
            .problems
            .push("the chain does not end at the signed head".into()),
    }
    // The frames: each of the clip's, against its segment's digests and commitment.
    let mut k = 0usize;
    let mut mismatches = 0usize;
    for (i, s) in proof.segments.iter().enumerate() {
        if records
            .get(&s.seq)
            .is_some_and(|(kind, _)| !kind.per_frame())
        {
            check_range(&mut f, s, roots.get(i).and_then(Option::as_ref), &records);
            k += s.frames_in_clip;
            continue;
        }
        let list: Vec<[u8; 32]> = s.frame_digests.iter().filter_map(|d| hex32(d)).collect();
        if list.len() != s.frame_digests.len() || s.first_frame + s.frames_in_clip > list.len() {
            f.problems
                .push(format!("the proof of segment {} is malformed", s.seq));
            return f;
        }
        let kind = records
            .get(&s.seq)
            .map_or(DigestKind::Sha256, |(kind, _)| *kind);
        match records.get(&s.seq) {
            None => f
                .problems
                .push(format!("segment {} is not in the proof's chain", s.seq)),
            Some((_, None)) => f.notes.push(format!(
                "segment {} was recorded before frames were committed at capture time: \
                 its frames are covered by the signed manifest only",
                s.seq
            )),
            Some((_, Some(c))) => {
                if commitment_of(kind, &list).map(hex::encode).as_ref() != Some(c) {
                    f.problems.push(format!(
                        "the frame digests of segment {} are not those committed when it was recorded",
                        s.seq
                    ));
                }
            }
        }
        for j in 0..s.frames_in_clip {
            let ours = clip.get(k + j).map(|d| d.of(kind));
            if ours != Some(&list[s.first_frame + j]) {
                mismatches += 1;
                if mismatches <= 5 {
                    f.problems.push(format!(
                        "frame {} of the clip is not frame {} of segment {} as recorded",
                        k + j + 1,
                        s.first_frame + j + 1,
                        s.seq
                    ));
                }
            }
        }
        k += s.frames_in_clip;
    }
    if mismatches > 5 {
        f.problems.push(format!(
            "{} frames in all differ from the recording",
            mismatches
        ));
    }
    if k != clip.len() {
        f.problems.push(format!(
            "the clip has {} frames, its proof accounts for {k}",
            clip.len()
        ));
    }
    f
}

/// A segment committed as one input: the hash the clip's range of it
/// recomputes against the one in its chain record.
fn check_range(
    f: &mut ProofFindings,
    s: &crate::manifest::SegmentProof,
    root: Option<&RangeRoot>,
    records: &std::collections::HashMap<i64, (DigestKind, Option<String>)>,
) {
    let committed = records.get(&s.seq).and_then(|(_, c)| c.as_ref());
    match (root, committed) {
        (None, _) => f.problems.push(format!(
            "the proof of segment {} does not say where the clip lies in it",
            s.seq
        )),
        (Some(Err(e)), _) => f.problems.push(format!(
            "the clip's frames from segment {} do not fit its proof: {e}",
            s.seq
        )),
        (Some(Ok(root)), Some(c)) if hex::encode(root) == *c => {}
        (Some(Ok(_)), _) => f.problems.push(format!(
            "the clip's frames from segment {} are not the frames recorded there",
            s.seq
        )),
    }
}

/// The digest of each frame of an MP4 held in memory, where its own sample table
/// says the frames lie (the same digests the recorder computes).
pub fn frame_digests_of(mp4: &[u8]) -> Result<Vec<FrameDigests>, String> {
    let mut h = ClipHasher::default();
    h.feed(mp4);
    Ok(h.finish()?.2)
}
