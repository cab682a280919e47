//! Integrity (REQ-STO-2): every segment row is a link in its stream's SHA-256
//! chain, chain heads are signed with the installation's Ed25519 key, and
//! [`verify`] checks files against rows, rows against the chain and the chain
//! against its signatures; [`check`] is the quicker catalog-against-files check.
//! Erasure keeps the erased links, so it is not tampering. [`start_head_signer`]
//! signs the heads in the background.

use std::sync::Arc;
use std::time::Duration;

use mimamori_base::task::sleep_or_stop;
use mimamori_base::{CameraId, SharedClock, TaskHandle, Timestamp};
use mimamori_catalog::keys::KeyRing;
use mimamori_catalog::provisions::SealedFile;
use mimamori_catalog::{Catalog, CatalogError, Segment, StreamKind};
use mimamori_crypto::{Signer, chain_link, verify_signature};
use mimamori_storage::SegmentStore;

use crate::journal::{HeadJournal, JournalRecord};

/// How a check failed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ProblemKind {
    /// The file is gone.
    Missing,
    /// The file's bytes differ from what was recorded.
    Changed,
    /// The file is shorter than recorded.
    Truncated,
    /// The catalog row no longer matches its chain link.
    RowAltered,
    /// Links are missing from the chain (rows deleted without an erasure record).
    Removed,
    /// Links are not in chain order, or times run backwards.
    OutOfOrder,
    /// A signed head does not verify, or the chain no longer contains it.
    Signature,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Missing => "missing",
            ProblemKind::Changed => "changed",
            ProblemKind::Truncated => "truncated",
            ProblemKind::RowAltered => "catalog row altered",
            ProblemKind::Removed => "removed",
            ProblemKind::OutOfOrder => "out of order",
            ProblemKind::Signature => "signature",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Problem {
    pub camera: CameraId,
    pub stream: StreamKind,
    pub segment_id: Option<i64>,
    pub file_name: Option<String>,
    pub kind: ProblemKind,
    pub detail: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "camera {} {}: ", self.camera, self.stream.as_str())?;
        if let Some(id) = self.segment_id {
            write!(f, "segment {id} ")?;
        }
        if let Some(n) = &self.file_name {
            write!(f, "({n}) ")?;
        }
        write!(f, "{}: {}", self.kind.as_str(), self.detail)
    }
}

#[derive(Debug, Default)]
pub struct VerifyReport {
    pub segments: u64,
    pub bytes: u64,
    /// Segments decrypted whole and matched to the frames committed when they
    /// were recorded (when the keys were given).
    pub opened: u64,
    pub erased_links: u64,
    pub signatures: u64,
    pub problems: Vec<Problem>,
}

/// What to verify.
#[derive(Clone, Debug, Default)]
pub struct VerifyScope {
    pub camera: Option<CameraId>,
    /// Files are hashed only for segments overlapping [from, to); the chain is always checked whole.
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

/// What `verify` found in the files of the provisions store.
#[derive(Debug, Default)]
pub struct SealedReport {
    pub files: u64,
    pub bytes: u64,
    /// "request No.3 package 2 (packages/3-….zip): changed: …"
    pub problems: Vec<String>,
}

/// Reads every recorded file of the provisions store whole (request documents,
/// evidence packages, copies of holds, sign photos) and compares its plaintext
/// with the SHA-256 its row recorded: a file changed (its authentication fails,
/// or its hash differs), cut short or missing is named.
pub fn verify_sealed_files(
    files: &SegmentStore,
    keys: &KeyRing,
    sealed: &[SealedFile],
) -> SealedReport {
    use sha2::Digest;
    const STEP: u64 = 4 << 20;
    let mut report = SealedReport::default();
    for f in sealed {
        report.files += 1;
        let len = u64::try_from(f.bytes).unwrap_or(0);
        let checked = (|| -> Result<(), String> {
            let key = keys
                .file_key(&f.wrapped_key, &f.file_name)
                .map_err(|e| e.to_string())?;
            let nonce: [u8; 8] = f
                .nonce_prefix
                .as_slice()
                .try_into()
                .map_err(|_| "no valid nonce".to_string())?;
            let cipher = mimamori_crypto::SegmentCipher::new(key, nonce, f.file_name.as_bytes());
            let mut sha = sha2::Sha256::new();
            let mut at = 0;
            while at < len {
                let n = (len - at).min(STEP);
                let part = files
                    .read_range(
                        &f.file_name,
                        &cipher,
                        len,
                        at,
                        usize::try_from(n).unwrap_or(0),
                    )
                    .map_err(|e| format!("changed or cut short: {e}"))?;
                sha.update(&part);
                at += n;
            }
            if sha.finalize().as_slice() != f.sha256.as_slice() {
                return Err("changed: its content no longer has the SHA-256 recorded".into());
            }
            Ok(())
        })();
        match checked {
            Ok(()) => report.bytes += len,
            Err(e) => report
                .problems
                .push(format!("{} ({}): {e}", f.what, f.file_name)),
        }
    }
    report
}

#[derive(Debug, thiserror::Error)]
pub enum IntegrityError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("the heads journal: {0}")]
    Journal(String),
    #[error("reading the segment files failed: {0}")]
    Storage(String),
}

fn head_message(
    camera: CameraId,
    stream: StreamKind,
    seq: i64,
    head: &[u8],
    at: Timestamp,
) -> Vec<u8> {
    mimamori_crypto::chain_head_message(camera.0, stream.as_str(), seq, head, at.0)
}

/// Signs every chain head that moved since its last signature, in the catalog and
/// in the journal (when given). Returns how many were signed.
pub async fn sign_heads(
    catalog: &Catalog,
    signer: &Signer,
    journal: Option<&HeadJournal>,
    now: Timestamp,
) -> Result<usize, IntegrityError> {
    let mut n = 0;
    for (camera, stream) in catalog.chains().await? {
        let Some((seq, head)) = catalog.chain_head(camera, stream).await? else {
            continue;
        };
        let last = catalog.chain_signatures(camera, stream).await?;
        if last
            .last()
            .is_some_and(|(s, h, _, _)| *s == seq && *h == head)
        {
            continue;
        }
        let sig = signer.sign(&head_message(camera, stream, seq, &head, now));
        catalog
            .chain_signature_insert(camera, stream, seq, &head, now, &sig)
            .await?;
        if let Some(j) = journal {
            j.append(&JournalRecord::Chain {
                camera,
                stream,
                seq,
                hash: head.clone(),
                at: now,
                signature: sig.to_vec(),
            })
            .map_err(|e| IntegrityError::Journal(format!("{}: {e}", j.path().display())))?;
        }
        n += 1;
    }
    Ok(n)
}

struct Link<'a> {
    id: i64,
    seq: i64,
    prev: Vec<u8>,
    chain: Vec<u8>,
    row: Option<&'a Segment>,
}

/// Checks files, rows, chain and signatures. `public_key` is the installation's;
/// the journal (when given) holds every head signed, so a chain cut short or
/// rewritten together with its signatures is still found. With the `keys`, each
/// file is also decrypted whole (every chunk's tag authenticates it) and its
/// frames are matched to the commitment made when they were recorded — what
/// someone holding the key could otherwise rewrite.
pub async fn verify(
    catalog: &Catalog,
    store: &SegmentStore,
    keys: Option<&KeyRing>,
    public_key: &[u8],
    journal: Option<&HeadJournal>,
    scope: &VerifyScope,
) -> Result<VerifyReport, IntegrityError> {
    let mut report = VerifyReport::default();
    let journaled = match journal {
        Some(j) => {
            j.read()
                .map_err(|e| IntegrityError::Journal(format!("{}: {e}", j.path().display())))?
                .records
        }
        None => Vec::new(),
    };
    let mut chains = catalog.chains().await?;
    // A stream the journal knows but the catalog no longer has was removed whole.
    for r in &journaled {
        if let JournalRecord::Chain { camera, stream, .. } = r
            && !chains.contains(&(*camera, *stream))
            && scope.camera.is_none_or(|c| c == *camera)
        {
            chains.push((*camera, *stream));
        }
    }
    for (camera, stream) in chains {
        if scope.camera.is_some_and(|c| c != camera) {
            continue;
        }
        let rows = catalog.stream_segments(camera, stream).await?;
        let erased = catalog.erased_links(camera, stream).await?;
        report.erased_links += erased.len() as u64;
        let mut links: Vec<Link<'_>> = rows
            .iter()
            .map(|r| Link {
                id: r.id.0,
                seq: r.link.seq,
                prev: r.link.prev.clone(),
                chain: r.link.hash.clone(),
                row: Some(r),
            })
            .chain(erased.into_iter().map(|(id, seq, prev, chain)| Link {
                id,
                seq,
                prev,
                chain,
                row: None,
            }))
            .collect();
        links.sort_by_key(|l| (l.seq, l.id));
        let problem = |segment: Option<&Segment>, id: Option<i64>, kind, detail: String| Problem {
            camera,
            stream,
            segment_id: id,
            file_name: segment.map(|s| s.recorded.file_name.clone()),
            kind,
            detail,
        };
        let mut expected_prev = vec![0u8; 32];
        let mut expected_seq = 1i64;
        let mut last_end: Option<Timestamp> = None;
        for l in &links {
            // Each row must still hash to its link.
            if let Some(r) = l.row {
                let recomputed = chain_link(&r.link.prev, &r.canonical());
                if recomputed.as_slice() != r.link.hash.as_slice() {
                    report.problems.push(problem(
                        Some(r),
                        Some(l.id),
                        ProblemKind::RowAltered,
                        "the row's fields no longer hash to its chain link".into(),
                    ));
                }
                if let Some(e) = last_end
                    && r.recorded.start.0 < e.0 - 1_000_000
                {
                    report.problems.push(problem(
                        Some(r),
                        Some(l.id),
                        ProblemKind::OutOfOrder,
                        "starts before the previous segment ended".into(),
                    ));
                }
                last_end = Some(r.recorded.end);
            }
            if l.seq > expected_seq {
                report.problems.push(problem(
                    l.row,
                    Some(l.id),
                    ProblemKind::Removed,
                    format!(
                        "{} link(s) before this one are gone without an erasure record (sequence {}..{})",
                        l.seq - expected_seq,
                        expected_seq,
                        l.seq - 1
                    ),
                ));
            } else if l.seq < expected_seq {
                report.problems.push(problem(
                    l.row,
                    Some(l.id),
                    ProblemKind::OutOfOrder,
                    format!("sequence {} appears twice or out of place", l.seq),
                ));
            } else if l.prev != expected_prev {
                report.problems.push(problem(
                    l.row,
                    Some(l.id),
                    ProblemKind::OutOfOrder,
                    "does not follow its predecessor in the chain".into(),
                ));
            }
            expected_prev = l.chain.clone();
            expected_seq = l.seq + 1;
        }
        if let Some((seq, head)) = catalog.chain_head(camera, stream).await?
            && (seq != expected_seq - 1 || head != expected_prev)
        {
            report.problems.push(problem(
                None,
                None,
                ProblemKind::Removed,
                format!(
                    "the chain ends at sequence {} but its head is at {seq}: the newest segment(s) were removed",
                    expected_seq - 1
                ),
            ));
        }
        for (seq, head, at, sig) in catalog.chain_signatures(camera, stream).await? {
            report.signatures += 1;
            if verify_signature(
                public_key,
                &head_message(camera, stream, seq, &head, at),
                &sig,
            )
            .is_err()
            {
                report.problems.push(problem(
                    None,
                    None,
                    ProblemKind::Signature,
                    format!("the signature of the head at sequence {seq} does not verify"),
                ));
            } else if !links.iter().any(|l| l.seq == seq && l.chain == head) {
                report.problems.push(problem(
                    None,
                    None,
                    ProblemKind::Signature,
                    format!("the chain no longer contains the head signed at sequence {seq}: it was rewritten"),
                ));
            }
        }
        // Every head ever signed (kept outside the catalog) must still be in the chain.
        for r in &journaled {
            let JournalRecord::Chain {
                camera: c,
                stream: st,
                seq,
                hash,
                at,
                signature,
            } = r
            else {
                continue;
            };
            if (*c, *st) != (camera, stream) {
                continue;
            }
            if verify_signature(
                public_key,
                &head_message(camera, stream, *seq, hash, *at),
                signature,
            )
            .is_err()
            {
                report.problems.push(problem(
                    None,
                    None,
                    ProblemKind::Signature,
                    format!("the journal's head at sequence {seq} does not verify with this installation's key"),
                ));
            } else if !links.iter().any(|l| l.seq == *seq && l.chain == *hash) {
                let (kind, what) = if links.iter().any(|l| l.seq == *seq) {
                    (ProblemKind::Signature, "rewritten")
                } else {
                    (ProblemKind::Removed, "cut short")
                };
                report.problems.push(problem(
                    None,
                    None,
                    kind,
                    format!(
                        "the head signed at sequence {seq} ({}) is no longer in the chain: it was {what}, signatures and all",
                        at.jst_second()
                    ),
                ));
            }
        }
        // Files.
        for r in &rows {
            let s = &r.recorded;
            if scope.from.is_some_and(|f| s.end <= f) || scope.to.is_some_and(|t| s.start >= t) {
                continue;
            }
            report.segments += 1;
            match store.digest_file(&s.file_name, s.digest_kind) {
                Err(e) if e.source.kind() == std::io::ErrorKind::NotFound => {
                    report.problems.push(problem(
                        Some(r),
                        Some(r.id.0),
                        ProblemKind::Missing,
                        "the file is gone".into(),
                    ))
                }
                Err(e) => report.problems.push(problem(
                    Some(r),
                    Some(r.id.0),
                    ProblemKind::Changed,
                    e.to_string(),
                )),
                Ok((hash, size)) => {
                    report.bytes += size;
                    let expected = u64::try_from(s.stored_bytes).unwrap_or(0);
                    if size < expected {
                        report.problems.push(problem(
                            Some(r),
                            Some(r.id.0),
                            ProblemKind::Truncated,
                            format!("{size} of {expected} bytes remain"),
                        ));
                    } else if hash.as_slice() != s.stored_digest.as_slice() {
                        report.problems.push(problem(
                            Some(r),
                            Some(r.id.0),
                            ProblemKind::Changed,
                            "its bytes differ from what was recorded".into(),
                        ));
                    } else if let Some(keys) = keys {
                        match open_and_match_frames(store, keys, s).await {
                            Ok(()) => report.opened += 1,
                            Err(detail) => report.problems.push(problem(
                                Some(r),
                                Some(r.id.0),
                                ProblemKind::Changed,
                                detail,
                            )),
                        }
                    }
                }
            }
        }
    }
    Ok(report)
}

/// Decrypts a segment file whole and hashes its frames as the recorder did: a
/// chunk that fails to authenticate, or frames that are not the ones committed
/// at capture time, are named.
async fn open_and_match_frames(
    store: &SegmentStore,
    keys: &KeyRing,
    s: &mimamori_catalog::NewSegment,
) -> Result<(), String> {
    let key = keys
        .key(s.data_key_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("its key is gone although its row remains")?;
    let cipher = s.cipher(key).ok_or("its nonce is not valid")?;
    let len = u64::try_from(s.bytes).unwrap_or(0);
    let plain = store
        .read_range(
            &s.file_name,
            &cipher,
            len,
            0,
            usize::try_from(len).unwrap_or(0),
        )
        .map_err(|e| format!("it does not decrypt as recorded: {e}"))?;
    if s.frames_digest.is_empty() {
        // Recorded before frames were committed: decrypting is the check.
        return Ok(());
    }
    let index = mimamori_media::SampleIndex::decode(&s.sample_index)
        .map_err(|e| format!("its sample index is unreadable: {e}"))?;
    let mut frames = mimamori_crypto::frames::FramesCommitment::new(s.digest_kind);
    let mut at = 0usize;
    for f in &index.samples {
        let end = at + f.size as usize;
        frames.push(
            plain
                .get(at..end)
                .ok_or("it holds fewer bytes than its frames")?,
        );
        at = end;
    }
    if frames.finish().as_slice() != s.frames_digest.as_slice() {
        return Err(format!(
            "its frames are not those committed when it was recorded ({})",
            s.digest_kind.name()
        ));
    }
    Ok(())
}

/// A problem in the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditProblem {
    pub seq: i64,
    /// changed | removed | inserted | reordered | signature
    pub kind: &'static str,
    pub detail: String,
}

impl std::fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "entry {}: {}: {}", self.seq, self.kind, self.detail)
    }
}

/// Checks heads published earlier (the yearly report's) against the log as it is
/// now: each must carry the installation's signature, and the log's entry at its
/// number must still hash to it. A log rewritten since — even re-signed with a
/// stolen key — disagrees with what was published. Returns the problems.
pub async fn check_published_heads(
    catalog: &Catalog,
    public_key: &[u8],
    published_key_hex: &str,
    heads: &[(i64, String, Timestamp, String)],
) -> Result<Vec<String>, IntegrityError> {
    let mut problems = Vec::new();
    if !published_key_hex.is_empty() && published_key_hex != hex::encode(public_key) {
        problems.push(format!(
            "the published public key {published_key_hex} is not the installation's ({})",
            hex::encode(public_key)
        ));
    }
    let entries = catalog.audit_all().await?;
    for (seq, head_hex, at, sig_hex) in heads {
        let (Ok(head), Ok(sig)) = (hex::decode(head_hex), hex::decode(sig_hex)) else {
            problems.push(format!("head {seq}: not hexadecimal"));
            continue;
        };
        if verify_signature(public_key, &audit_head_message(*seq, &head, *at), &sig).is_err() {
            problems.push(format!(
                "head {seq}: the signature is not the installation's over this head and time"
            ));
        }
        match entries.iter().find(|e| e.seq == *seq) {
            None => problems.push(format!(
                "head {seq}: the log has no entry {seq} (cut short or renumbered)"
            )),
            Some(e) if e.hash != head => problems.push(format!(
                "head {seq}: the log's entry {seq} no longer hashes to the published head (rewritten)"
            )),
            Some(_) => {}
        }
    }
    Ok(problems)
}

fn audit_head_message(seq: i64, hash: &[u8], at: Timestamp) -> Vec<u8> {
    format!(
        "mimamori-audit-head-v1\n{seq}\n{}\n{}\n",
        hex::encode(hash),
        at.0
    )
    .into_bytes()
}

/// Signs the audit log's head if it moved since the last signature, in the catalog
/// and in the journal (when given).
pub async fn sign_audit_head(
    catalog: &Catalog,
    signer: &Signer,
    journal: Option<&HeadJournal>,
    now: Timestamp,
) -> Result<bool, IntegrityError> {
    let Some((seq, hash)) = catalog.audit_head().await? else {
        return Ok(false);
    };
    if catalog
        .audit_signatures()
        .await?
        .last()
        .is_some_and(|(s, h, _, _)| *s == seq && *h == hash)
    {
        return Ok(false);
    }
    let sig = signer.sign(&audit_head_message(seq, &hash, now));
    catalog
        .audit_signature_insert(seq, &hash, now, &sig)
        .await?;
    if let Some(j) = journal {
        j.append(&JournalRecord::Audit {
            seq,
            hash,
            at: now,
            signature: sig.to_vec(),
        })
        .map_err(|e| IntegrityError::Journal(format!("{}: {e}", j.path().display())))?;
    }
    Ok(true)
}

/// Checks the audit chain and its signed heads; names each entry changed, removed,
/// inserted or reordered, and (from the journal, when given) a log cut short or
/// rewritten together with its signatures. Returns the number of entries and the
/// problems.
pub async fn verify_audit(
    catalog: &Catalog,
    public_key: &[u8],
    journal: Option<&HeadJournal>,
) -> Result<(usize, Vec<AuditProblem>), IntegrityError> {
    use mimamori_catalog::audit::canonical;
    let entries = catalog.audit_all().await?;
    let seq_of_hash: std::collections::HashMap<&[u8], i64> =
        entries.iter().map(|e| (e.hash.as_slice(), e.seq)).collect();
    let mut problems = Vec::new();
    let mut prev = vec![0u8; 32];
    let mut expected = 1i64;
    for e in &entries {
        let intact =
            chain_link(&e.prev_hash, &canonical(e.seq, &e.record)).as_slice() == e.hash.as_slice();
        if e.seq > expected {
            problems.push(AuditProblem {
                seq: e.seq,
                kind: "removed",
                detail: format!(
                    "entries {expected}..{} before this one are missing",
                    e.seq - 1
                ),
            });
        } else if e.prev_hash != prev {
            match seq_of_hash.get(e.prev_hash.as_slice()) {
                // It follows another entry: it was moved from its place.
                Some(after) => {
                    let fits = chain_link(&e.prev_hash, &canonical(after + 1, &e.record))
                        .as_slice()
                        == e.hash.as_slice();
                    problems.push(AuditProblem {
                        seq: e.seq,
                        kind: "reordered",
                        detail: format!(
                            "it belongs after entry {after}{}",
                            if fits { "" } else { " and was also changed" }
                        ),
                    });
                    prev = e.hash.clone();
                    expected = e.seq + 1;
                    continue;
                }
                None => problems.push(AuditProblem {
                    seq: e.seq,
                    kind: "inserted",
                    detail: "it is not part of the chain".into(),
                }),
            }
        } else if !intact {
            problems.push(AuditProblem {
                seq: e.seq,
                kind: "changed",
                detail: "its content no longer matches its hash".into(),
            });
        }
        prev = e.hash.clone();
        expected = e.seq + 1;
    }
    for (seq, hash, at, sig) in catalog.audit_signatures().await? {
        if verify_signature(public_key, &audit_head_message(seq, &hash, at), &sig).is_err() {
            problems.push(AuditProblem {
                seq,
                kind: "signature",
                detail: "the signed head does not verify".into(),
            });
        } else if !entries.iter().any(|e| e.seq == seq && e.hash == hash) {
            problems.push(AuditProblem {
                seq,
                kind: "signature",
                detail: "the log no longer contains the head signed here: entries up to it were rewritten".into(),
            });
        }
    }
    if let Some(j) = journal {
        let contents = j
            .read()
            .map_err(|e| IntegrityError::Journal(format!("{}: {e}", j.path().display())))?;
        for r in &contents.records {
            let JournalRecord::Audit {
                seq,
                hash,
                at,
                signature,
            } = r
            else {
                continue;
            };
            if verify_signature(public_key, &audit_head_message(*seq, hash, *at), signature)
                .is_err()
            {
                problems.push(AuditProblem {
                    seq: *seq,
                    kind: "signature",
                    detail: "the journal's head does not verify with this installation's key"
                        .into(),
                });
            } else if let Some(e) = entries.iter().find(|e| e.seq == *seq) {
                if e.hash != *hash {
                    problems.push(AuditProblem {
                        seq: *seq,
                        kind: "rewritten",
                        detail: format!(
                            "the entry signed here at {} (kept outside the catalog) no longer has the signed hash: the log was rewritten, signatures and all",
                            at.jst_second()
                        ),
                    });
                }
            } else {
                problems.push(AuditProblem {
                    seq: *seq,
                    kind: "truncated",
                    detail: format!(
                        "entries up to {seq} were signed at {} (kept outside the catalog) but the log ends at {}: the newest entries were removed, signatures and all",
                        at.jst_second(),
                        entries.last().map(|e| e.seq).unwrap_or(0)
                    ),
                });
            }
        }
    }
    Ok((entries.len(), problems))
}

/// Signs the chain heads and the audit head that moved since their last signature.
pub async fn sign_all(
    catalog: &Catalog,
    signer: &Signer,
    journal: Option<&HeadJournal>,
    now: Timestamp,
) {
    if let Err(e) = sign_heads(catalog, signer, journal, now).await {
        tracing::error!("signing chain heads failed: {e}");
    }
    if let Err(e) = sign_audit_head(catalog, signer, journal, now).await {
        tracing::error!("signing the audit head failed: {e}");
    }
}

/// Starts the head signer: [`sign_all`] every minute, and once more when
/// [`TaskHandle::stop`] is called, so the last segments and entries are covered.
pub fn start_head_signer(
    catalog: Catalog,
    signer: Arc<Signer>,
    journal: HeadJournal,
    clock: SharedClock,
) -> TaskHandle {
    TaskHandle::spawn(move |mut stop| async move {
        loop {
            let stopping = sleep_or_stop(Duration::from_secs(60), &mut stop).await;
            sign_all(&catalog, &signer, Some(&journal), clock.now()).await;
            if stopping {
                return;
            }
        }
    })
}

/// What `check` found: the catalog against the segment files.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub segments: usize,
    /// Each problem, as a sentence naming the segment or file.
    pub problems: Vec<String>,
    /// Things worth saying that are not damage (a segment being written).
    pub notes: Vec<String>,
}

/// Checks that the catalog and the segment files agree: every row's file present
/// at its recorded size, rows consistent with their sample indexes. Faster than
/// [`verify`]: nothing is hashed.
pub async fn check(catalog: &Catalog, store: &SegmentStore) -> Result<CheckReport, IntegrityError> {
    use mimamori_media::SampleIndex;
    use mimamori_storage::FileProblem;
    let segments = catalog.all_segments().await?;
    let mut report = CheckReport {
        segments: segments.len(),
        ..CheckReport::default()
    };
    let mut expected = Vec::with_capacity(segments.len());
    for seg in &segments {
        let (id, s) = (seg.id, &seg.recorded);
        let on_disk = if s.stored_bytes > 0 {
            s.stored_bytes
        } else {
            s.bytes
        };
        expected.push((s.file_name.clone(), u64::try_from(on_disk).unwrap_or(0)));
        if s.stored_bytes > 0
            && u64::try_from(s.stored_bytes).ok()
                != Some(mimamori_crypto::encrypted_len(
                    u64::try_from(s.bytes).unwrap_or(0),
                ))
        {
            report.problems.push(format!(
                "segment {id} ({}): its stored size does not match its media size",
                s.file_name
            ));
        }
        match SampleIndex::decode(&s.sample_index) {
            Err(e) => report
                .problems
                .push(format!("segment {id} ({}): {e}", s.file_name)),
            Ok(idx) => {
                if idx.total_bytes() != u64::try_from(s.bytes).unwrap_or(0)
                    || idx.len() as i64 != s.frames
                {
                    report.problems.push(format!(
                        "segment {id} ({}): its index describes {} frames / {} bytes, the row says {} / {}",
                        s.file_name,
                        idx.len(),
                        idx.total_bytes(),
                        s.frames,
                        s.bytes
                    ));
                }
            }
        }
        if s.end <= s.start {
            report.problems.push(format!(
                "segment {id} ({}): ends before it starts",
                s.file_name
            ));
        }
    }
    let found = store
        .check(&expected)
        .map_err(|e| IntegrityError::Storage(e.to_string()))?;
    for p in found {
        match p {
            FileProblem::Partial { .. } => report.notes.push(p.to_string()),
            _ => report.problems.push(p.to_string()),
        }
    }
    Ok(report)
}
