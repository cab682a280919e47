//! Masked copies (マスク処理; Osaka 第5条5, Chiba 第2-7(1)エ): where third parties
//! appear in the images given to a person (or anyone), the extractor marks
//! rectangles over a still of a clip, per time span, and mimamori makes a derived
//! package whose clips are re-encoded by ffmpeg with those areas filled. The
//! original package is never altered; the copy's manifest names it and both
//! clips' hashes, and its clips without masks travel with their proofs as they
//! are. Who may do this is the extractor's rule of [`crate::provisions`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use mimamori_base::CameraId;
use mimamori_catalog::provisions::{Package, Provision};
use mimamori_crypto::{SegmentCipher, Signer, key_fingerprint};
pub use mimamori_evidence::manifest::MaskArea;
use mimamori_evidence::manifest::{Derivation, FileEntry, MANIFEST, Manifest, MaskedClip};
use mimamori_evidence::writer::PackageWriter;
use mimamori_policy::Permission;
use mimamori_storage::SegmentStore;
use sha2::{Digest, Sha256};

use crate::Governance;
use crate::actor::Actor;
use crate::audit::Entry;
use crate::error::{Error, Result};
use crate::evidence::{Built, Hashing, Progress, moment, seal, zip_error};
use crate::provisions::{Extraction, Kept, extracts};
use crate::refusal::Refusal;

/// At most this many areas per copy; each side at most this many pixels.
const MAX_AREAS: usize = 64;
const MAX_SIDE: u32 = 8192;

/// One area to fill, as asked: a camera of the package, a rectangle in the
/// clip's pixels, and optionally the seconds of the clip it covers.
#[derive(Clone, Debug, PartialEq)]
pub struct MaskRegion {
    pub camera: i64,
    pub area: MaskArea,
}

/// A masked copy as asked.
#[derive(Clone, Debug, Default)]
pub struct MaskText<'a> {
    pub regions: Vec<MaskRegion>,
    /// Why (defaults to "third parties appear").
    pub reason: &'a str,
}

/// A directory for plaintext while a copy is made; removed when dropped (and
/// at the next start after a crash, as an unfinished file of the store).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ffmpeg(args: &[&str]) -> Result<Vec<u8>> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .map_err(|e| {
            Error::Inconsistent(format!(
                "masking needs ffmpeg on this machine (apt install ffmpeg): {e}"
            ))
        })?;
    if !out.status.success() {
        return Err(Error::Inconsistent(format!(
            "ffmpeg failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(out.stdout)
}

fn io_at<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| {
        Error::Storage(mimamori_storage::StorageError {
            what,
            path: path.to_path_buf(),
            source,
        })
    }
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .ok_or_else(|| Error::Inconsistent(format!("{} is not UTF-8", p.display())))
}

fn verify_error(e: mimamori_evidence::verify::VerifyError) -> Error {
    Error::Inconsistent(format!("reading the package: {e}"))
}

/// The package's plaintext ZIP, its manifest, and a way to take clips out.
struct Opened {
    scratch: Scratch,
    files: mimamori_evidence::verify::Package,
    manifest: Manifest,
}

impl Opened {
    /// Decrypts a stored package into a scratch directory of the store.
    fn open(store: &SegmentStore, name: &str, cipher: &SegmentCipher, len: u64) -> Result<Opened> {
        let dir = store.path_of(&format!("scratch/{}", mimamori_crypto::random_hex(8)));
        std::fs::create_dir_all(&dir).map_err(io_at("creating", &dir))?;
        let scratch = Scratch(dir);
        let zip = scratch.0.join("original.zip");
        let mut out =
            std::io::BufWriter::new(std::fs::File::create(&zip).map_err(io_at("creating", &zip))?);
        const CHUNK: u64 = 4 << 20;
        let mut at = 0u64;
        while at < len {
            let n = CHUNK.min(len - at);
            out.write_all(&store.read_range(name, cipher, len, at, n as usize)?)
                .map_err(io_at("writing", &zip))?;
            at += n;
        }
        out.flush().map_err(io_at("writing", &zip))?;
        drop(out);
        let mut files =
            mimamori_evidence::verify::Package::open(&zip, None).map_err(verify_error)?;
        let manifest = files
            .read(MANIFEST)
            .map_err(verify_error)?
            .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok())
            .ok_or_else(|| Error::Inconsistent("the package has no readable manifest".into()))?;
        Ok(Opened {
            scratch,
            files,
            manifest,
        })
    }

    /// Writes a file of the package to the scratch directory.
    fn take(&mut self, path: &str, to: &str) -> Result<PathBuf> {
        let file = self.scratch.0.join(to);
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(&file).map_err(io_at("creating", &file))?,
        );
        let mut failed = None;
        let found = self
            .files
            .stream(path, &mut |b| {
                if failed.is_none()
                    && let Err(e) = out.write_all(b)
                {
                    failed = Some(e);
                }
            })
            .map_err(verify_error)?;
        if let Some(e) = failed {
            return Err(io_at("writing", &file)(e));
        }
        if !found {
            return Err(Error::Inconsistent(format!("the package has no {path}")));
        }
        out.flush().map_err(io_at("writing", &file))?;
        Ok(file)
    }
}

/// The ffmpeg filter that fills the areas.
fn fill_filter(areas: &[MaskArea]) -> String {
    areas
        .iter()
        .map(|a| {
            let span = match (a.from_seconds, a.to_seconds) {
                (None, None) => String::new(),
                (f, t) => format!(
                    ":enable='between(t,{},{})'",
                    f.unwrap_or(0.0),
                    t.unwrap_or(f64::from(u32::MAX))
                ),
            };
            format!(
                "drawbox=x={}:y={}:w={}:h={}:color=black:t=fill{span}",
                a.x, a.y, a.width, a.height
            )
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The blocking part of making a copy.
struct MaskJob {
    files: SegmentStore,
    signer: Arc<Signer>,
    original: (String, SegmentCipher, u64),
    original_sha256: String,
    original_manifest_sha256: String,
    file_name: String,
    cipher: SegmentCipher,
    masks: Vec<(CameraId, Vec<MaskArea>)>,
    reason: String,
    extracted_by: String,
    now: mimamori_base::Timestamp,
    progress: Arc<Progress>,
}

impl MaskJob {
    fn run(self) -> Result<Built> {
        let (name, cipher, len) = &self.original;
        let mut src = Opened::open(&self.files, name, cipher, *len)?;
        self.progress
            .total
            .store(self.masks.len() as u64 + 1, Ordering::Relaxed);
        let mut masked_files = Vec::new();
        for (camera, areas) in &self.masks {
            let clip = src
                .manifest
                .clips
                .iter()
                .find(|c| c.camera_id == camera.0)
                .cloned()
                .ok_or_else(|| {
                    Error::bad_input(format!("the package has no clip of camera {camera}"))
                })?;
            let input = src.take(&clip.path, &format!("camera{camera}.mp4"))?;
            let output = src.scratch.0.join(format!("camera{camera}.masked.mp4"));
            ffmpeg(&[
                "-i",
                path_str(&input)?,
                "-map",
                "0:v:0",
                "-vf",
                &fill_filter(areas),
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-crf",
                "18",
                "-pix_fmt",
                "yuv420p",
                "-fps_mode",
                "passthrough",
                "-movflags",
                "+faststart",
                path_str(&output)?,
            ])?;
            self.progress.done.fetch_add(1, Ordering::Relaxed);
            masked_files.push((clip, output, areas.clone()));
        }

        let writer = self
            .files
            .create(&self.file_name, self.cipher.clone())?
            .without_stored_hash();
        let mut out = PackageWriter::new(
            Hashing {
                inner: writer,
                sha: Sha256::new(),
            },
            None,
        );
        let mut files: Vec<FileEntry> = Vec::new();
        // The notice and the checker as the original has them; clips without
        // masks, with their proofs, as they are.
        let masked_cameras: Vec<i64> = self.masks.iter().map(|(c, _)| c.0).collect();
        let kept_clips: Vec<_> = src
            .manifest
            .clips
            .iter()
            .filter(|c| !masked_cameras.contains(&c.camera_id))
            .cloned()
            .collect();
        let mut copy: Vec<String> = src
            .manifest
            .files
            .iter()
            .filter(|f| {
                !f.path.starts_with("proof/") || kept_clips.iter().any(|c| c.proof == f.path)
            })
            .filter(|f| f.path != "README-ja.txt")
            .map(|f| f.path.clone())
            .collect();
        copy.extend(kept_clips.iter().map(|c| c.path.clone()));
        for path in &copy {
            out.start(path).map_err(zip_error)?;
            let mut failed = None;
            let found = src
                .files
                .stream(path, &mut |b| {
                    if failed.is_none()
                        && let Err(e) = out.write(b)
                    {
                        failed = Some(e);
                    }
                })
                .map_err(verify_error)?;
            if let Some(e) = failed {
                return Err(zip_error(e));
            }
            if !found {
                return Err(Error::Inconsistent(format!("the package has no {path}")));
            }
            let entry = out.end();
            if !kept_clips.iter().any(|c| c.path == *path) {
                files.push(entry);
            }
        }
        let readme = format!(
            "{installer} 提供画像（提供申請 No.{n}）— マスク処理した複製\n\n\
             clips/ の *.masked.mp4 は、第三者が映る部分を塗りつぶして再エンコードしたものです。\n\
             元の画像（録画されたまま）は設置者が保管しており、manifest.json の derived_from に\n\
             元のパッケージと元の各クリップの SHA-256 が記載されています。\n\n\
             署名鍵の指紋（送付書の記載と照合してください）:\n  {fingerprint}\n\n\
             検証: verify.html をブラウザで開くか、mimamori verify-export <この ZIP> を実行してください。\n",
            installer = src.manifest.installer,
            n = src.manifest.request.number,
            fingerprint = key_fingerprint(&self.signer.public_key()),
        );
        files.push(
            out.add("README-ja.txt", readme.as_bytes())
                .map_err(zip_error)?,
        );
        let mut derived = Vec::new();
        let mut frames = kept_clips.iter().map(|c| c.frames).sum::<u64>();
        let mut cameras: Vec<CameraId> = kept_clips.iter().map(|c| CameraId(c.camera_id)).collect();
        for (clip, output, areas) in &masked_files {
            let path = format!("clips/camera{}.masked.mp4", clip.camera_id);
            out.start(&path).map_err(zip_error)?;
            let mut f = std::fs::File::open(output).map_err(io_at("reading", output))?;
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = std::io::Read::read(&mut f, &mut buf).map_err(io_at("reading", output))?;
                if n == 0 {
                    break;
                }
                out.write(&buf[..n]).map_err(zip_error)?;
            }
            let entry = out.end();
            derived.push(MaskedClip {
                path: path.clone(),
                camera_id: clip.camera_id,
                camera_name: clip.camera_name.clone(),
                bytes: entry.bytes,
                sha256: entry.sha256.clone(),
                original_path: clip.path.clone(),
                original_sha256: clip.sha256.clone(),
                masks: areas.clone(),
            });
            files.push(entry);
            frames += clip.frames;
            cameras.push(CameraId(clip.camera_id));
        }
        let public_key = self.signer.public_key();
        let mut notes = src.manifest.notes.clone();
        notes.push(format!(
            "マスク処理した複製（{}）/ a masked copy: areas are filled where third parties appear",
            self.reason
        ));
        let manifest = Manifest {
            extracted_by: self.extracted_by.clone(),
            extracted_at: moment(self.now),
            clips: kept_clips,
            files,
            notes,
            public_key: hex::encode(public_key),
            key_fingerprint: key_fingerprint(&public_key),
            derived_from: Some(Derivation {
                package_sha256: self.original_sha256.clone(),
                manifest_sha256: self.original_manifest_sha256.clone(),
                reason: self.reason.clone(),
                clips: derived,
            }),
            ..src.manifest.clone()
        };
        let built = seal(
            out,
            &self.signer,
            &manifest,
            &self.file_name,
            frames,
            cameras,
        )?;
        self.progress.done.fetch_add(1, Ordering::Relaxed);
        Ok(built)
    }
}

impl Governance {
    /// The package to mask or take a still from, checked: an approved request,
    /// the extractor (or the manager), `export` for its cameras from a
    /// registered terminal, an original package without a passphrase.
    async fn maskable(
        &self,
        actor: &Actor,
        id: i64,
        package_id: i64,
        what: &str,
    ) -> Result<(Provision, Package)> {
        let p = self
            .catalog
            .provision(id)
            .await
            .map_err(|_| Error::NotFound(format!("request No.{id} not found")))?;
        self.require_approved(actor, &p, what, true).await?;
        if !extracts(actor, &p) {
            return Err(self
                .refuse(actor, what, Refusal::NotTheExtractor { request: id })
                .await);
        }
        let pkg = self
            .catalog
            .packages(id)
            .await?
            .into_iter()
            .find(|x| x.id == package_id)
            .ok_or_else(|| Error::NotFound(format!("package {package_id} of request No.{id}")))?;
        for c in &pkg.cameras {
            self.authorize(
                actor,
                Permission::Export,
                Some(*c),
                Some((pkg.from, pkg.to)),
                what,
            )
            .await?;
        }
        if pkg.derived_from.is_some() {
            return Err(Error::bad_input(
                "this is a masked copy already: mask the original package",
            ));
        }
        if pkg.passphrase_protected {
            return Err(Error::bad_input(
                "mask a package built without a passphrase (extract once more without one)",
            ));
        }
        Ok((p, pkg))
    }

    fn stored_package(&self, pkg: &Package) -> Result<(String, SegmentCipher, u64)> {
        let key = self.keys.file_key(&pkg.wrapped_key, &pkg.file_name)?;
        let nonce: [u8; 8] =
            pkg.nonce_prefix.as_slice().try_into().map_err(|_| {
                Error::Inconsistent(format!("package {} has no valid nonce", pkg.id))
            })?;
        Ok((
            pkg.file_name.clone(),
            SegmentCipher::new(key, nonce, pkg.file_name.as_bytes()),
            u64::try_from(pkg.bytes).unwrap_or(0),
        ))
    }

    /// A still (JPEG) of a package's clip at `at_seconds` from its first frame,
    /// to mark areas on (logged before the package is read).
    pub async fn provision_still(
        &self,
        actor: &Actor,
        id: i64,
        package_id: i64,
        camera: i64,
        at_seconds: f64,
    ) -> Result<Vec<u8>> {
        let (_, pkg) = self
            .maskable(actor, id, package_id, "package still")
            .await?;
        if !pkg.cameras.contains(&CameraId(camera)) {
            return Err(Error::bad_input(format!(
                "the package has no camera {camera}"
            )));
        }
        if !(0.0..=86_400.0).contains(&at_seconds) {
            return Err(Error::bad_input("at: seconds from the clip's start"));
        }
        self.audit
            .record_view(
                actor,
                Entry {
                    action: "provision_still_viewed",
                    camera: Some(CameraId(camera)),
                    range: Some((pkg.from, pkg.to)),
                    purpose: format!("提供申請 No.{id}: マスク処理"),
                    detail: format!(
                        "request No.{id}: package {package_id}, still at {at_seconds:.1} s"
                    ),
                },
            )
            .await?;
        let (name, cipher, len) = self.stored_package(&pkg)?;
        let files = self.files.clone();
        tokio::task::spawn_blocking(move || {
            let mut src = Opened::open(&files, &name, &cipher, len)?;
            let clip = src
                .manifest
                .clips
                .iter()
                .find(|c| c.camera_id == camera)
                .map(|c| c.path.clone())
                .ok_or_else(|| {
                    Error::bad_input(format!("the package has no clip of camera {camera}"))
                })?;
            let input = src.take(&clip, "still.mp4")?;
            ffmpeg(&[
                "-ss",
                &format!("{at_seconds:.3}"),
                "-i",
                path_str(&input)?,
                "-frames:v",
                "1",
                "-f",
                "image2",
                "-c:v",
                "mjpeg",
                "pipe:1",
            ])
        })
        .await
        .map_err(|e| Error::Inconsistent(format!("taking a still: {e}")))?
    }

    /// Starts making a masked copy of a package (the extractor or the manager;
    /// logged before the package is read); the returned task ends with the copy.
    pub async fn provision_mask(
        self: &Arc<Self>,
        actor: &Actor,
        id: i64,
        package_id: i64,
        t: &MaskText<'_>,
    ) -> Result<tokio::task::JoinHandle<Result<Package>>> {
        let (_, pkg) = self.maskable(actor, id, package_id, "mask").await?;
        if t.regions.is_empty() {
            return Err(Error::bad_input(
                "regions: mark at least one area (塗りつぶす範囲を指定してください)",
            ));
        }
        if t.regions.len() > MAX_AREAS {
            return Err(Error::bad_input(format!("regions: at most {MAX_AREAS}")));
        }
        let mut masks: Vec<(CameraId, Vec<MaskArea>)> = Vec::new();
        for r in &t.regions {
            let a = &r.area;
            let camera = CameraId(r.camera);
            if !pkg.cameras.contains(&camera) {
                return Err(Error::bad_input(format!(
                    "regions: the package has no camera {camera}"
                )));
            }
            if a.width == 0
                || a.height == 0
                || [a.x, a.y, a.width, a.height].iter().any(|v| *v > MAX_SIDE)
            {
                return Err(Error::bad_input(format!(
                    "regions: a rectangle within {MAX_SIDE} pixels, not empty"
                )));
            }
            let span_ok = match (a.from_seconds, a.to_seconds) {
                (Some(f), Some(t)) => f.is_finite() && t.is_finite() && 0.0 <= f && f < t,
                (Some(f), None) => f.is_finite() && f >= 0.0,
                (None, Some(t)) => t.is_finite() && t > 0.0,
                (None, None) => true,
            };
            if !span_ok {
                return Err(Error::bad_input(
                    "regions: a time span from ≥ 0 to a later second",
                ));
            }
            match masks.iter_mut().find(|(c, _)| *c == camera) {
                Some((_, v)) => v.push(a.clone()),
                None => masks.push((camera, vec![a.clone()])),
            }
        }
        let reason = match bounded(t.reason) {
            r if r.is_empty() => "第三者が映り込んでいるため".to_string(),
            r => r,
        };
        if self.extractions.get(id).is_some_and(|e| {
            e.failed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .is_none()
        }) {
            return Err(Error::Busy(format!(
                "a package of request No.{id} is being built"
            )));
        }
        let masks_json = serde_json::to_string(
            &masks
                .iter()
                .map(|(c, a)| serde_json::json!({"camera": c.0, "areas": a}))
                .collect::<Vec<_>>(),
        )
        .map_err(|e| Error::Inconsistent(e.to_string()))?;
        // No byte of the package is read before this entry is written.
        self.audit
            .record_view(
                actor,
                Entry {
                    action: "provision_masking",
                    range: Some((pkg.from, pkg.to)),
                    purpose: format!("提供申請 No.{id}: マスク処理"),
                    detail: format!(
                        "request No.{id}: a masked copy of package {package_id} (sha256 {}), {} area(s): {reason}",
                        hex::encode(&pkg.sha256),
                        t.regions.len()
                    ),
                    ..Entry::default()
                },
            )
            .await?;
        let file_name = format!("packages/{id}-{}.zip", mimamori_crypto::random_hex(8));
        let (key, wrapped_key) = self.keys.new_file_key(&file_name)?;
        let nonce_prefix = SegmentCipher::random_nonce_prefix();
        let extracted_by = actor
            .person()
            .map(|p| p.user.display_name.clone())
            .unwrap_or_else(|| actor.name().to_string());
        let progress = Arc::new(Extraction::default());
        self.extractions.set(id, progress.clone());
        let job = MaskJob {
            files: self.files.clone(),
            signer: self.signer.clone(),
            original: self.stored_package(&pkg)?,
            original_sha256: hex::encode(&pkg.sha256),
            original_manifest_sha256: hex::encode(&pkg.manifest_sha256),
            cipher: SegmentCipher::new(key, nonce_prefix, file_name.as_bytes()),
            file_name,
            masks,
            reason,
            extracted_by,
            now: self.clock.now(),
            progress: progress.progress.clone(),
        };
        let kept = Kept {
            passphrase_protected: false,
            from: pkg.from,
            to: pkg.to,
            derived_from: Some(pkg.id),
            masks: masks_json,
        };
        let gov = self.clone();
        let actor = actor.clone();
        Ok(tokio::spawn(async move {
            let built = tokio::task::spawn_blocking(move || job.run())
                .await
                .map_err(|e| Error::Inconsistent(format!("masking: {e}")))
                .and_then(|r| r)
                .map(|b| Built {
                    wrapped_key,
                    nonce_prefix,
                    ..b
                });
            gov.keep_built(&actor, id, &progress, built, kept).await
        }))
    }
}

fn bounded(s: &str) -> String {
    s.trim().chars().take(500).collect()
}
