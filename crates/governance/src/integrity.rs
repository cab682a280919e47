//! Integrity (REQ-STO-2): every segment row is a link in its stream's SHA-256
//! chain, chain heads are signed with the installation's Ed25519 key, and
//! [`verify`] checks files against rows, rows against the chain and the chain
//! against its signatures. Erasure keeps the erased links, so it is not tampering.

use mimamori_base::{CameraId, Timestamp};
use mimamori_catalog::{Catalog, CatalogError, Segment, StreamKind};
use mimamori_crypto::{Signer, chain_link, verify_signature};
use mimamori_storage::SegmentStore;

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

#[derive(Debug, thiserror::Error)]
pub enum IntegrityError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

fn head_message(
    camera: CameraId,
    stream: StreamKind,
    seq: i64,
    head: &[u8],
    at: Timestamp,
) -> Vec<u8> {
    format!(
        "mimamori-chain-head-v1\n{camera}\n{}\n{seq}\n{}\n{}\n",
        stream.as_str(),
        hex::encode(head),
        at.0
    )
    .into_bytes()
}

/// Signs every chain head that moved since its last signature. Returns how many were signed.
pub async fn sign_heads(
    catalog: &Catalog,
    signer: &Signer,
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

/// Checks files, rows, chain and signatures. `public_key` is the installation's.
pub async fn verify(
    catalog: &Catalog,
    store: &SegmentStore,
    public_key: &[u8],
    scope: &VerifyScope,
) -> Result<VerifyReport, IntegrityError> {
    let mut report = VerifyReport::default();
    for (camera, stream) in catalog.chains().await? {
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
                seq: r.chain_seq,
                prev: r.prev_chain.clone(),
                chain: r.chain.clone(),
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
            file_name: segment.map(|s| s.file_name.clone()),
            kind,
            detail,
        };
        let mut expected_prev = vec![0u8; 32];
        let mut expected_seq = 1i64;
        let mut last_end: Option<Timestamp> = None;
        for l in &links {
            // Each row must still hash to its link.
            if let Some(r) = l.row {
                let recomputed = chain_link(&r.prev_chain, &r.record());
                if recomputed.as_slice() != r.chain.as_slice() {
                    report.problems.push(problem(
                        Some(r),
                        Some(l.id),
                        ProblemKind::RowAltered,
                        "the row's fields no longer hash to its chain link".into(),
                    ));
                }
                if let Some(e) = last_end
                    && r.start.0 < e.0 - 1_000_000
                {
                    report.problems.push(problem(
                        Some(r),
                        Some(l.id),
                        ProblemKind::OutOfOrder,
                        "starts before the previous segment ended".into(),
                    ));
                }
                last_end = Some(r.end);
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
        // Files.
        for r in &rows {
            if scope.from.is_some_and(|f| r.end <= f) || scope.to.is_some_and(|t| r.start >= t) {
                continue;
            }
            report.segments += 1;
            match store.hash_file(&r.file_name) {
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
                    let expected = u64::try_from(r.stored_bytes).unwrap_or(0);
                    if size < expected {
                        report.problems.push(problem(
                            Some(r),
                            Some(r.id.0),
                            ProblemKind::Truncated,
                            format!("{size} of {expected} bytes remain"),
                        ));
                    } else if hash.as_slice() != r.sha256.as_slice() {
                        report.problems.push(problem(
                            Some(r),
                            Some(r.id.0),
                            ProblemKind::Changed,
                            "its bytes differ from what was recorded".into(),
                        ));
                    }
                }
            }
        }
    }
    Ok(report)
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

fn audit_head_message(seq: i64, hash: &[u8], at: Timestamp) -> Vec<u8> {
    format!(
        "mimamori-audit-head-v1\n{seq}\n{}\n{}\n",
        hex::encode(hash),
        at.0
    )
    .into_bytes()
}

/// Signs the audit log's head if it moved since the last signature.
pub async fn sign_audit_head(
    catalog: &Catalog,
    signer: &Signer,
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
    Ok(true)
}

/// Checks the audit chain and its signed heads; names each entry changed, removed,
/// inserted or reordered. Returns the number of entries and the problems.
pub async fn verify_audit(
    catalog: &Catalog,
    public_key: &[u8],
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
    Ok((entries.len(), problems))
}
