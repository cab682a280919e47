//! Builds the evidence package of an approved request (issue 9): per camera the
//! MP4 of the approved range — from the first key frame at or after its start, so
//! no frame outside the approval leaves, samples as recorded — with its proof
//! (every frame's digest, the segments' chain up to a signed head), the notice of
//! the recipient's duty, `verify.html`, and the manifest signed with the
//! installation's key. Written in one pass into an encrypted file of the
//! provisions store; nothing here decides who may do this (see [`crate::provisions`]).

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mimamori_base::time::jst;
use mimamori_base::{CameraId, Timestamp};
use mimamori_catalog::{Camera, Segment, StreamKind};
use mimamori_crypto::frames::frame_digest;
use mimamori_crypto::tree::RangeProof;
use mimamori_crypto::{SegmentCipher, Signer, key_fingerprint};
use mimamori_evidence::manifest::{
    ChainRecord, ClipEntry, ClipProof, FORMAT, FileEntry, MANIFEST, Manifest, Moment, RangeText,
    RequestFacts, SIGNATURE, SegmentProof, SignedHead,
};
use mimamori_evidence::writer::PackageWriter;
use mimamori_media::mp4;
use mimamori_storage::SegmentStore;
use sha2::{Digest, Sha256};

use crate::Governance;
use crate::error::{Error, Result};
use crate::viewing::SampleEntries;

/// How far a build has come: bytes of footage written of the total.
#[derive(Debug, Default)]
pub struct Progress {
    pub total: AtomicU64,
    pub done: AtomicU64,
}

impl Progress {
    /// Percent done (0–100).
    pub fn percent(&self) -> u64 {
        let total = self.total.load(Ordering::Relaxed);
        (self.done.load(Ordering::Relaxed) * 100)
            .checked_div(total)
            .unwrap_or(0)
            .min(100)
    }
}

/// A package written to the provisions store.
#[derive(Debug)]
pub struct Built {
    pub file_name: String,
    pub bytes: u64,
    pub sha256: [u8; 32],
    pub manifest_sha256: [u8; 32],
    pub wrapped_key: Vec<u8>,
    pub nonce_prefix: [u8; 8],
    pub frames: u64,
    pub cameras: Vec<CameraId>,
}

/// What the package says about the request and the people, decided by the caller.
pub struct PackageFacts {
    pub request: RequestFacts,
    pub approved_by: String,
    pub approved_at: Timestamp,
    pub extracted_by: String,
    pub passphrase: Option<String>,
}

/// One camera's clip, planned: the MP4 and, per segment file, what its frames are.
struct ClipPlan {
    camera: Camera,
    plan: mp4::VirtualMp4,
    first_frame: Timestamp,
    end: Timestamp,
    /// By file name: the segment, its cipher and its frame sizes.
    segments: HashMap<String, (Segment, Arc<SegmentCipher>, Vec<u32>)>,
    proof: ClipProof,
}

pub(crate) fn moment(t: Timestamp) -> Moment {
    Moment {
        utc: t.to_rfc3339(chrono::FixedOffset::east_opt(0).unwrap_or(jst())),
        jst: t.to_rfc3339(jst()),
    }
}

/// Counts what passes through, and hashes it.
pub(crate) struct Hashing<W: Write> {
    pub inner: W,
    pub sha: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl Governance {
    /// The clip of one camera over [from, to): `None` when nothing was recorded
    /// there (from a key frame on).
    async fn plan_clip(
        &self,
        camera: &Camera,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Option<ClipPlan>> {
        let stored = self
            .catalog
            .segments_overlapping(camera.id, StreamKind::Main, from, to)
            .await?;
        let mut entries = SampleEntries::default();
        let mut sources = Vec::new();
        let mut segments = HashMap::new();
        for seg in stored {
            let (source, cipher) = self.closed_source(&seg, &mut entries).await?;
            let sizes = source.samples.iter().map(|s| s.size).collect();
            segments.insert(seg.recorded.file_name.clone(), (seg, cipher, sizes));
            sources.push(source);
        }
        // The first key frame at or after `from`: nothing before the approval leaves.
        let first_key = sources.iter().find_map(|s| {
            let mut t = 0i64;
            s.samples.iter().find_map(|x| {
                let at = s.start.add_90k(t);
                t += i64::from(x.duration_90k);
                (x.key && at >= from && at < to).then_some(at)
            })
        });
        let Some(first_frame) = first_key else {
            return Ok(None);
        };
        let plan = match mp4::assemble(&sources, &entries.list, first_frame, to) {
            Ok(p) => p,
            Err(mp4::AssembleError::Empty) => return Ok(None),
            Err(mp4::AssembleError::BadRange) => {
                return Err(Error::bad_input("to must be after from"));
            }
        };
        let end = first_frame.add_90k(plan.duration_90k);
        // The chain from the clip's first segment up to a signed head.
        let seqs: Vec<i64> = plan
            .slices
            .iter()
            .filter_map(|s| segments.get(&s.file_name).map(|x| x.0.link.seq))
            .collect();
        let (first_seq, last_seq) = match (seqs.iter().min(), seqs.iter().max()) {
            (Some(a), Some(b)) => (*a, *b),
            _ => return Ok(None),
        };
        let head = match self
            .catalog
            .chain_signature_from(camera.id, StreamKind::Main, last_seq)
            .await?
        {
            Some(h) => h,
            None => {
                // Not signed yet (recorded a moment ago): sign the heads now.
                crate::integrity::sign_heads(
                    &self.catalog,
                    &self.signer,
                    self.heads.as_ref(),
                    self.clock.now(),
                )
                .await
                .map_err(|e| Error::Inconsistent(e.to_string()))?;
                self.catalog
                    .chain_signature_from(camera.id, StreamKind::Main, last_seq)
                    .await?
                    .ok_or_else(|| {
                        Error::Inconsistent(format!(
                            "camera {}: its chain head could not be signed",
                            camera.name
                        ))
                    })?
            }
        };
        let chain = self
            .catalog
            .segments_by_seq(camera.id, StreamKind::Main, first_seq, head.0)
            .await?;
        if chain.len() as i64 != head.0 - first_seq + 1 {
            return Err(Error::Inconsistent(format!(
                "camera {}: the chain from the clip to its signed head is no longer complete \
                 (segments after the range were erased); the clip cannot be proven",
                camera.name
            )));
        }
        let proof = ClipProof {
            camera_id: camera.id.0,
            stream: StreamKind::Main.as_str().to_string(),
            segments: Vec::new(),
            first_prev: hex::encode(&chain[0].link.prev),
            chain: chain
                .iter()
                .map(|s| ChainRecord {
                    seq: s.link.seq,
                    record: String::from_utf8_lossy(&s.canonical()).into_owned(),
                    link: hex::encode(&s.link.hash),
                })
                .collect(),
            head: SignedHead {
                seq: head.0,
                hash: hex::encode(&head.1),
                signed_at_us: head.2.0,
                signed_at: moment(head.2),
                signature: hex::encode(&head.3),
            },
        };
        Ok(Some(ClipPlan {
            camera: camera.clone(),
            plan,
            first_frame,
            end,
            segments,
            proof,
        }))
    }

    /// Builds a package for these cameras over [from, to), its file named after
    /// what it is for (`12` for request No.12, `hold-3` for a hold's copy).
    pub(crate) async fn build_package(
        &self,
        file_stem: &str,
        cameras: &[Camera],
        from: Timestamp,
        to: Timestamp,
        facts: PackageFacts,
        progress: Arc<Progress>,
    ) -> Result<Built> {
        let mut clips = Vec::new();
        let mut notes = Vec::new();
        for c in cameras {
            match self.plan_clip(c, from, to).await? {
                Some(plan) => clips.push(plan),
                None => notes.push(format!(
                    "カメラ「{}」: 承認された期間に録画はありません / camera {}: nothing recorded in the approved range",
                    c.name, c.name
                )),
            }
        }
        if clips.is_empty() {
            return Err(Error::NotFound(
                "nothing was recorded in the approved range on the approved cameras".into(),
            ));
        }
        let total: u64 = clips.iter().map(|c| c.plan.len).sum();
        progress.total.store(total, Ordering::Relaxed);
        let file_name = format!(
            "packages/{file_stem}-{}.zip",
            mimamori_crypto::random_hex(8)
        );
        let (key, wrapped_key) = self.keys.new_file_key(&file_name)?;
        let nonce_prefix = SegmentCipher::random_nonce_prefix();
        let cipher = SegmentCipher::new(key, nonce_prefix, file_name.as_bytes());
        let job = Job {
            store: self.store.clone(),
            files: self.files.clone(),
            signer: self.signer.clone(),
            file_name: file_name.clone(),
            cipher,
            clips,
            notes,
            facts,
            from,
            to,
            installer: self.policy.installer.clone(),
            regulation: self.policy.regulation.clone(),
            notice: self.policy.disclosure.notice.clone(),
            now: self.clock.now(),
            progress,
        };
        let built = tokio::task::spawn_blocking(move || job.run())
            .await
            .map_err(|e| Error::Inconsistent(format!("building the package: {e}")))??;
        Ok(Built {
            wrapped_key,
            nonce_prefix,
            ..built
        })
    }
}

/// The package's writer: the ZIP hashed as it goes into an encrypted file.
pub(crate) type PackageOut<'p> = PackageWriter<'p, Hashing<mimamori_storage::SegmentFileWriter>>;

/// Ends a package: the manifest and its signature go last; the file is made
/// durable; its plaintext hash and the manifest's are returned.
pub(crate) fn seal(
    mut out: PackageOut<'_>,
    signer: &Signer,
    manifest: &Manifest,
    file_name: &str,
    frames: u64,
    cameras: Vec<CameraId>,
) -> Result<Built> {
    let manifest_bytes =
        serde_json::to_vec_pretty(manifest).map_err(|e| Error::Inconsistent(e.to_string()))?;
    out.add(MANIFEST, &manifest_bytes).map_err(zip_error)?;
    let signature = hex::encode(signer.sign(&manifest_bytes));
    out.add(SIGNATURE, signature.as_bytes())
        .map_err(zip_error)?;
    let hashing = out.finish().map_err(zip_error)?;
    let sha256: [u8; 32] = hashing.sha.finalize().into();
    let written = hashing.inner.finish()?;
    Ok(Built {
        file_name: file_name.to_string(),
        bytes: written.bytes,
        sha256,
        manifest_sha256: Sha256::digest(&manifest_bytes).into(),
        wrapped_key: Vec::new(),
        nonce_prefix: [0; 8],
        frames,
        cameras,
    })
}

/// The blocking part of a build.
struct Job {
    store: SegmentStore,
    files: SegmentStore,
    signer: Arc<Signer>,
    file_name: String,
    cipher: SegmentCipher,
    clips: Vec<ClipPlan>,
    notes: Vec<String>,
    facts: PackageFacts,
    from: Timestamp,
    to: Timestamp,
    installer: String,
    regulation: String,
    notice: String,
    now: Timestamp,
    progress: Arc<Progress>,
}

pub(crate) fn zip_error(e: mimamori_evidence::writer::WriteError) -> Error {
    Error::Inconsistent(e.to_string())
}

impl Job {
    fn run(self) -> Result<Built> {
        // The package's own hash is of its plaintext (below): the stored bytes
        // need no second one.
        let writer = self
            .files
            .create(&self.file_name, self.cipher.clone())?
            .without_stored_hash();
        let mut out = PackageWriter::new(
            Hashing {
                inner: writer,
                sha: Sha256::new(),
            },
            self.facts.passphrase.as_deref(),
        );
        let public_key = self.signer.public_key();
        let fingerprint = key_fingerprint(&public_key);
        let mut files: Vec<FileEntry> = Vec::new();
        files.push(
            out.add("verify.html", mimamori_evidence::VERIFY_HTML.as_bytes())
                .map_err(zip_error)?,
        );
        let notice = format!(
            "{}\n\n{}\n提供申請 No.{} / {}\n",
            "画像の取扱いについて（受領者の義務）",
            self.notice,
            self.facts.request.number,
            self.installer
        );
        files.push(
            out.add("notice-ja.txt", notice.as_bytes())
                .map_err(zip_error)?,
        );
        let readme = format!(
            "{installer} 提供画像（提供申請 No.{n}）\n\n\
             この中身:\n  clips/    カメラごとの MP4（録画されたままの画像。再エンコードしていません）\n  \
             proof/    各フレームが録画時の記録と同じであることの証明\n  manifest.json / manifest.sig  一覧と設置者の電子署名\n  \
             notice-ja.txt  受領者の義務\n  verify.html  ブラウザで開いて検証できます（ネットワーク不要）\n\n\
             署名鍵の指紋（送付書の記載と照合してください）:\n  {fingerprint}\n\n\
             検証: verify.html をブラウザで開き、展開したフォルダ（またはこの ZIP）を選んでください。\n\
             または: mimamori verify-export <この ZIP またはフォルダ> --fingerprint \"{fingerprint}\"\n",
            installer = self.installer,
            n = self.facts.request.number,
        );
        files.push(
            out.add("README-ja.txt", readme.as_bytes())
                .map_err(zip_error)?,
        );
        let mut clip_entries = Vec::new();
        let mut frames_total = 0u64;
        let mut cameras = Vec::new();
        for clip in &self.clips {
            let path = format!("clips/camera{}.mp4", clip.camera.id);
            let (entry, proof, frames) = self.write_clip(&mut out, clip, &path)?;
            frames_total += frames;
            cameras.push(clip.camera.id);
            let proof_path = format!("proof/camera{}.json", clip.camera.id);
            let proof_bytes =
                serde_json::to_vec(&proof).map_err(|e| Error::Inconsistent(e.to_string()))?;
            files.push(out.add(&proof_path, &proof_bytes).map_err(zip_error)?);
            clip_entries.push(ClipEntry {
                path,
                camera_id: clip.camera.id.0,
                camera_name: clip.camera.name.clone(),
                location: clip.camera.description.location.clone(),
                stream: StreamKind::Main.as_str().to_string(),
                approved_from: moment(self.from),
                approved_to: moment(self.to),
                first_frame: moment(clip.first_frame),
                end: moment(clip.end),
                frames,
                bytes: entry.bytes,
                sha256: entry.sha256,
                proof: proof_path,
            });
        }
        let manifest = Manifest {
            format: FORMAT.to_string(),
            installer: self.installer.clone(),
            regulation: self.regulation.clone(),
            request: self.facts.request.clone(),
            approved_by: self.facts.approved_by.clone(),
            approved_at: moment(self.facts.approved_at),
            extracted_by: self.facts.extracted_by.clone(),
            extracted_at: moment(self.now),
            clips: clip_entries,
            files,
            notes: self.notes.clone(),
            public_key: hex::encode(public_key),
            key_fingerprint: fingerprint,
            derived_from: None,
        };
        seal(
            out,
            &self.signer,
            &manifest,
            &self.file_name,
            frames_total,
            cameras,
        )
    }

    /// Writes one clip: its header, then each segment's frames of the range, as
    /// stored; the proof gets every frame digest of each segment it draws on.
    /// Reading, decrypting and hashing the next segment runs on a second thread
    /// while this one writes (hashes, encrypts) the one before.
    fn write_clip<W: Write>(
        &self,
        out: &mut PackageWriter<'_, W>,
        clip: &ClipPlan,
        path: &str,
    ) -> Result<(FileEntry, ClipProof, u64)> {
        out.start_hashed_by_caller(path).map_err(zip_error)?;
        out.write(&clip.plan.head).map_err(zip_error)?;
        let mut proof = clip.proof.clone();
        let mut frames = 0u64;
        let sha256 = std::thread::scope(|scope| -> Result<[u8; 32]> {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Slice>>(2);
            // The reader also hashes the clip as it will be written.
            let reader = scope.spawn(move || {
                let mut clip_sha = Sha256::new();
                clip_sha.update(&clip.plan.head);
                for slice in &clip.plan.slices {
                    let read = self.read_slice(clip, slice);
                    if let Ok(s) = &read {
                        clip_sha.update(&s.plain[s.part.clone()]);
                    }
                    let failed = read.is_err();
                    if tx.send(read).is_err() || failed {
                        return None;
                    }
                }
                Some(<[u8; 32]>::from(clip_sha.finalize()))
            });
            for _ in &clip.plan.slices {
                let s = rx
                    .recv()
                    .map_err(|_| Error::Inconsistent("the segment reader stopped".into()))??;
                out.write(&s.plain[s.part.clone()]).map_err(zip_error)?;
                self.progress
                    .done
                    .fetch_add(s.part.len() as u64, Ordering::Relaxed);
                frames += s.proof.frames_in_clip as u64;
                proof.segments.push(s.proof);
            }
            reader
                .join()
                .ok()
                .flatten()
                .ok_or_else(|| Error::Inconsistent("the segment reader failed".into()))
        })?;
        Ok((out.end_hashed(sha256), proof, frames))
    }

    /// One segment's part of a clip, read and decrypted, with every frame digest
    /// of the segment.
    fn read_slice(&self, clip: &ClipPlan, slice: &mp4::FileSlice) -> Result<Slice> {
        let (seg, cipher, sizes) = clip.segments.get(&slice.file_name).ok_or_else(|| {
            Error::Inconsistent(format!("{} is not a planned segment", slice.file_name))
        })?;
        let plain_len = u64::try_from(seg.recorded.bytes).unwrap_or(0);
        let plain = self.store.read_range(
            &seg.recorded.file_name,
            cipher,
            plain_len,
            0,
            usize::try_from(plain_len).unwrap_or(0),
        )?;
        let kind = seg.recorded.digest_kind;
        let mut digests = Vec::with_capacity(if kind.per_frame() { sizes.len() } else { 0 });
        let (mut at, mut first, mut count) = (0u64, None, 0usize);
        for (i, size) in sizes.iter().enumerate() {
            let end = at + u64::from(*size);
            let frame = plain.get(at as usize..end as usize).ok_or_else(|| {
                Error::Inconsistent(format!("segment {} is shorter than its index", seg.id))
            })?;
            if kind.per_frame() {
                digests.push(hex::encode(frame_digest(kind, frame)));
            }
            if at >= slice.offset && end <= slice.offset + slice.len {
                first.get_or_insert(i);
                count += 1;
            }
            at = end;
        }
        let part = slice.offset as usize..(slice.offset + slice.len) as usize;
        if plain.get(part.clone()).is_none() {
            return Err(Error::Inconsistent(format!(
                "segment {} is shorter than its index",
                seg.id
            )));
        }
        // Frames committed as one input: the clip's part of it, proved as a range.
        let range = if kind.per_frame() {
            None
        } else {
            let proof = RangeProof::prove(&plain, slice.offset, slice.len)
                .map_err(|e| Error::Inconsistent(format!("segment {}: {e}", seg.id)))?;
            Some(RangeText::of(&proof))
        };
        Ok(Slice {
            plain,
            part,
            proof: SegmentProof {
                seq: seg.link.seq,
                frame_digests: digests,
                first_frame: first.unwrap_or(0),
                frames_in_clip: count,
                range,
            },
        })
    }
}

/// A segment read for a clip: its plaintext, the clip's part of it, its proof.
struct Slice {
    plain: Vec<u8>,
    part: std::ops::Range<usize>,
    proof: SegmentProof,
}
