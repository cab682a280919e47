//! Segment files: where they live, how they are written durably, read by byte
//! range, and what a crash left behind. Storage carries out deletions but never
//! decides them; the catalog is told about a file only once it is durable.
//!
//! Files are encrypted at rest in chunks (see `mimamori-crypto`), so any byte range
//! can be read by decrypting only the chunks it touches.
//!
//! Layout below the data directory:
//! `segments/<camera id>/<UTC date YYYYMMDD>/<stream>-<start µs>.seg`, written
//! first as `….seg.partial` (with its [`journal`]) and renamed when complete.
//!
//! With an object store ([`remote`]), finished files live there under the same
//! names, byte for byte: a segment is still written (and journaled) in the local
//! directory, uploaded whole when finished, and its local copy removed once the
//! catalog holds it ([`SegmentStore::forget_journal`]).

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mimamori_base::{CameraId, ErrorCode, Timestamp};
use mimamori_crypto::frames::DigestKind;
use mimamori_crypto::{CHUNK, SegmentCipher, StoredDigest, TAG};
use sha2::{Digest, Sha256};

use crate::group_commit::{CommitState, GroupCommit, Pending};

mod group_commit;
pub mod journal;
pub mod remote;
pub mod scratch;

pub use remote::{Remote, RemoteConfig};

pub use journal::{JOURNAL_SUFFIX, JournalFrame, OpenHeader, OpenSegment};

pub const PARTIAL_SUFFIX: &str = ".partial";
/// How many of a camera's newest day directories can hold a segment being
/// written: the newest, and the one before it just after midnight.
const RECENT_DAYS: usize = 2;

#[derive(Debug, thiserror::Error)]
#[error("{code}: {what} {path}: {source}", code = ErrorCode::StorageIo)]
pub struct StorageError {
    pub what: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

pub type Result<T> = std::result::Result<T, StorageError>;

fn err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StorageError + 'a {
    move |source| StorageError {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// The segment directory of one data directory, and the object store that holds
/// the finished segments when there is one.
#[derive(Clone, Debug)]
pub struct SegmentStore {
    root: PathBuf,
    /// Makes the checkpoints of the segments being written durable together.
    group: Arc<GroupCommit>,
    remote: Option<Arc<Remote>>,
}

/// What a finished segment file holds, for the catalog row.
#[derive(Clone, Debug)]
pub struct WrittenFile {
    pub file_name: String,
    /// Plaintext (media) bytes.
    pub bytes: u64,
    /// Bytes on disk (with the encryption tags).
    pub stored_bytes: u64,
    /// The digest of the file as stored ([`StoredDigest`]).
    pub stored_digest: [u8; 32],
    /// How it was computed.
    pub digest_kind: DigestKind,
    /// BLAKE3 of the plaintext, all of it in order: a segment's frames
    /// commitment ([`DigestKind::Blake3Tree`]); zero when not asked for.
    pub plain_digest: [u8; 32],
}

/// What the start-up scan found and did.
#[derive(Debug, Default)]
pub struct RecoveryReport {
    /// Half-written files (the process died while writing them): discarded.
    pub discarded_partial: Vec<(String, u64)>,
    /// Complete files the catalog never recorded (died between rename and insert): discarded.
    pub discarded_unreferenced: Vec<(String, u64)>,
}

/// A problem `check` found between catalog and files.
#[derive(Debug, PartialEq, Eq)]
pub enum FileProblem {
    Missing {
        file_name: String,
    },
    WrongSize {
        file_name: String,
        expected: u64,
        actual: u64,
    },
    Unreferenced {
        file_name: String,
    },
    Partial {
        file_name: String,
    },
}

impl std::fmt::Display for FileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileProblem::Missing { file_name } => {
                write!(f, "missing: {file_name} is in the catalog but not on disk")
            }
            FileProblem::WrongSize {
                file_name,
                expected,
                actual,
            } => write!(
                f,
                "wrong size: {file_name} has {actual} bytes, the catalog says {expected}"
            ),
            FileProblem::Unreferenced { file_name } => {
                write!(
                    f,
                    "unreferenced: {file_name} is on disk but not in the catalog"
                )
            }
            FileProblem::Partial { file_name } => {
                write!(
                    f,
                    "unfinished: {file_name} was being written when the recorder stopped"
                )
            }
        }
    }
}

impl SegmentStore {
    /// The store below `data_dir/segments`, created if needed.
    pub fn open(data_dir: &Path) -> Result<SegmentStore> {
        SegmentStore::open_with(data_dir, None)
    }

    /// The store of a data directory whose finished segments go to `remote`
    /// (`None`: they stay in the directory).
    pub fn open_with(data_dir: &Path, remote: Option<&RemoteConfig>) -> Result<SegmentStore> {
        SegmentStore::open_below(&data_dir.join("segments"), remote)
    }

    /// The object store holding the finished segments, if they are not on disk.
    pub fn remote(&self) -> Option<&Remote> {
        self.remote.as_deref()
    }

    /// Where finished segments are, for messages: the directory or the store's URL.
    pub fn location(&self) -> String {
        match &self.remote {
            Some(r) => r.url().to_string(),
            None => self.root.display().to_string(),
        }
    }

    /// Whether the store answers: the object store, or the directory can be read.
    pub fn reachable(&self) -> Result<()> {
        match &self.remote {
            Some(r) => r.reachable().map_err(|e| StorageError {
                what: "reaching",
                path: PathBuf::from(r.url()),
                source: e,
            }),
            None => fs::read_dir(self.root())
                .map(|_| ())
                .map_err(err("reading", self.root())),
        }
    }

    /// A store of the same encrypted files directly below `root`, for files that
    /// are not segments (request documents, evidence packages).
    pub fn open_at(root: &Path) -> Result<SegmentStore> {
        SegmentStore::open_files(root, None)
    }

    /// The store of files that are not segments (request documents, evidence
    /// packages, sign photos), written below `root`; with `remote` (the segments'
    /// store [`RemoteConfig::for_files`]) kept there once finished, so that every
    /// node of the installation reads them.
    pub fn open_files(root: &Path, remote: Option<&RemoteConfig>) -> Result<SegmentStore> {
        SegmentStore::open_below(root, remote)
    }

    /// A store writing below `root` (created if needed), with its finished files
    /// in `remote` when there is one.
    fn open_below(root: &Path, remote: Option<&RemoteConfig>) -> Result<SegmentStore> {
        fs::create_dir_all(root).map_err(err("creating", root))?;
        let remote = match remote {
            Some(c) => Some(Arc::new(Remote::connect(c).map_err(|e| StorageError {
                what: "connecting to",
                path: PathBuf::from(c.url()),
                source: e,
            })?)),
            None => None,
        };
        Ok(SegmentStore {
            root: root.to_path_buf(),
            group: Arc::default(),
            remote,
        })
    }

    /// With an object store: uploads the finished files of the local directory
    /// that it does not hold (whole, same size): files kept here before the
    /// installation used it, or by a node stopped before their upload. Run before
    /// [`SegmentStore::recover`], which then removes the local copies. Returns
    /// how many went up.
    pub fn upload_local_files(&self) -> Result<usize> {
        let Some(r) = &self.remote else {
            return Ok(0);
        };
        let held: std::collections::HashMap<String, u64> = r
            .list()
            .map_err(err("listing", &PathBuf::from(r.url())))?
            .into_iter()
            .collect();
        let mut uploaded = 0;
        for (name, size) in self.finished_local_files()? {
            if held.get(&name) != Some(&size) {
                r.put_file(&name, &self.path_of(&name))
                    .map_err(err("uploading", &r.shown(&name)))?;
                uploaded += 1;
            }
        }
        Ok(uploaded)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The relative file name of a new segment.
    pub fn file_name_for(camera: CameraId, stream: &str, start: Timestamp) -> String {
        let day = start.to_datetime().format("%Y%m%d");
        format!("{camera}/{day}/{stream}-{}.seg", start.0)
    }

    pub fn path_of(&self, file_name: &str) -> PathBuf {
        self.root.join(file_name)
    }

    /// Starts writing a segment file (as `.partial`) with its journal, so that what
    /// it holds survives a crash up to the last checkpoint and can be played while
    /// it is written.
    pub fn create_journaled(
        &self,
        file_name: &str,
        cipher: SegmentCipher,
        header: &OpenHeader,
    ) -> Result<SegmentFileWriter> {
        let mut w = self.create(file_name, cipher)?;
        let path = PathBuf::from(format!("{}{JOURNAL_SUFFIX}", w.partial.display()));
        match journal::JournalWriter::create(&path, header) {
            Ok(j) => {
                w.journal = Some(j);
                w.group = Some((self.group.clone(), Arc::default()));
                Ok(w)
            }
            Err(e) => {
                let partial = w.partial.clone();
                w.abandon();
                Err(err("creating the journal of", &partial)(e))
            }
        }
    }

    /// The segments being written under a camera's directory, as far as their
    /// journals' last checkpoints. Only the newest day directories are looked at
    /// (a recording's older days hold only finished segments); recovery at start
    /// looks at every one ([`SegmentStore::all_open_segments`]).
    pub fn open_segments(&self, camera: CameraId) -> Vec<OpenSegment> {
        self.open_segments_of(camera, RECENT_DAYS)
    }

    /// The open segments in the newest `days` day directories of a camera.
    fn open_segments_of(&self, camera: CameraId, days: usize) -> Vec<OpenSegment> {
        let dir = self.root.join(camera.to_string());
        let mut out = Vec::new();
        let Ok(entries) = fs::read_dir(&dir) else {
            return out;
        };
        let mut day_dirs: Vec<PathBuf> = entries.flatten().map(|d| d.path()).collect();
        // Day directories are named YYYYMMDD: the newest sort last.
        day_dirs.sort();
        let newest = day_dirs.len().saturating_sub(days);
        for day in &day_dirs[newest..] {
            let Ok(files) = fs::read_dir(day) else {
                continue;
            };
            for f in files.flatten() {
                let path = f.path();
                let name = path.to_string_lossy();
                if let Some(partial) = name.strip_suffix(JOURNAL_SUFFIX)
                    && let Some(final_path) = partial.strip_suffix(PARTIAL_SUFFIX)
                    && let Ok(rel) = Path::new(final_path).strip_prefix(&self.root)
                    && let Some(seg) =
                        journal::read(&path, &rel.to_string_lossy().replace('\\', "/"))
                {
                    out.push(seg);
                }
            }
        }
        out.sort_by_key(|s| s.header.start);
        out
    }

    /// Every open segment of the store (for recovery at start).
    pub fn all_open_segments(&self) -> Vec<OpenSegment> {
        let mut out = Vec::new();
        if let Ok(cams) = fs::read_dir(&self.root) {
            for c in cams.flatten() {
                if let Some(id) = c.file_name().to_str().and_then(|s| s.parse().ok()) {
                    out.extend(self.open_segments_of(CameraId(id), usize::MAX));
                }
            }
        }
        out
    }

    /// Reads plaintext of a segment being written, from its sealed chunks only
    /// (`sealed_chunks` of them, none the last): the range must lie within them.
    /// If the segment was finished meanwhile, the final file holds the same chunks.
    pub fn read_open_range(
        &self,
        file_name: &str,
        cipher: &SegmentCipher,
        sealed_chunks: u32,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>> {
        let final_path = self.path_of(file_name);
        let partial = PathBuf::from(format!("{}{PARTIAL_SUFFIX}", final_path.display()));
        if len == 0 {
            return Ok(Vec::new());
        }
        let chunk = CHUNK as u64;
        let first = offset / chunk;
        let last = (offset + len as u64 - 1) / chunk;
        if last >= u64::from(sealed_chunks) {
            return Err(err("reading past the sealed part of", &partial)(
                io::Error::from(io::ErrorKind::UnexpectedEof),
            ));
        }
        let mut f = match File::open(&partial).or_else(|_| File::open(&final_path)) {
            Ok(f) => f,
            // Finished, uploaded and its local copy gone since the reader looked:
            // the object holds the same chunks.
            Err(_) if self.remote.is_some() => {
                let plain_len = u64::from(sealed_chunks) * chunk + 1;
                return self.read_range(file_name, cipher, plain_len, offset, len);
            }
            Err(e) => return Err(err("opening", &final_path)(e)),
        };
        f.seek(SeekFrom::Start(first * (chunk + TAG as u64)))
            .map_err(err("seeking", &partial))?;
        let mut out = Vec::with_capacity(((last - first + 1) * chunk) as usize);
        let mut ct = vec![0u8; CHUNK + TAG];
        for c in first..=last {
            f.read_exact(&mut ct).map_err(err("reading", &partial))?;
            let pt = cipher
                .open(u32::try_from(c).unwrap_or(u32::MAX), false, &ct)
                .map_err(|e| {
                    err("decrypting", &partial)(io::Error::new(io::ErrorKind::InvalidData, e))
                })?;
            out.extend_from_slice(&pt);
        }
        let skip = (offset - first * chunk) as usize;
        Ok(out[skip..skip + len].to_vec())
    }

    /// Removes the journal of a finished segment once the catalog holds it (and,
    /// with an object store, the local copy of what was uploaded).
    pub fn forget_journal(&self, file_name: &str) -> Result<()> {
        self.delete_local(&format!("{file_name}{PARTIAL_SUFFIX}{JOURNAL_SUFFIX}"))?;
        self.forget_local_copy(file_name)
    }

    /// Removes an open segment's partial file and journal (after recovery).
    pub fn remove_open(&self, file_name: &str) -> Result<()> {
        let partial = format!("{file_name}{PARTIAL_SUFFIX}");
        self.delete_local(&format!("{partial}{JOURNAL_SUFFIX}"))?;
        self.delete_local(&partial)?;
        self.forget_local_copy(file_name)
    }

    /// With an object store: uploads a file finished here with
    /// [`SegmentFileWriter::finish_here`] (whole; the local copy stays until
    /// [`SegmentStore::forget_journal`]). Without one: nothing to do.
    pub fn upload(&self, file_name: &str) -> Result<()> {
        match &self.remote {
            Some(r) => r
                .put_file(file_name, &self.path_of(file_name))
                .map_err(err("uploading", &r.shown(file_name))),
            None => Ok(()),
        }
    }

    /// With an object store: removes the local copy of a file that is in the store.
    pub fn forget_local_copy(&self, file_name: &str) -> Result<()> {
        match self.remote {
            Some(_) => self.delete_local(file_name),
            None => Ok(()),
        }
    }

    /// Starts writing a segment file (as `.partial`), encrypted with `cipher`.
    pub fn create(&self, file_name: &str, cipher: SegmentCipher) -> Result<SegmentFileWriter> {
        let final_path = self.path_of(file_name);
        let dir = final_path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.root.clone());
        fs::create_dir_all(&dir).map_err(err("creating", &dir))?;
        let partial = PathBuf::from(format!("{}{PARTIAL_SUFFIX}", final_path.display()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial)
            .map_err(err("creating", &partial))?;
        Ok(SegmentFileWriter {
            file_name: file_name.to_string(),
            partial,
            final_path,
            dir,
            out: file,
            hasher: Some(StoredDigest::new(DigestKind::CURRENT)),
            plain_hasher: Some(Box::default()),
            bytes: 0,
            stored: 0,
            cipher,
            chunk: Vec::with_capacity(CHUNK + TAG),
            chunk_no: 0,
            journal: None,
            group: None,
            remote: self.remote.clone(),
        })
    }

    /// Reads `len` plaintext bytes at plaintext `offset` of a segment file holding
    /// `plain_len` bytes, decrypting only the chunks the range touches.
    pub fn read_range(
        &self,
        file_name: &str,
        cipher: &SegmentCipher,
        plain_len: u64,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>> {
        let path = self.shown_path(file_name);
        if len == 0 {
            return Ok(Vec::new());
        }
        let chunk = CHUNK as u64;
        let chunks = plain_len.div_ceil(chunk).max(1);
        let first = offset / chunk;
        let last = (offset + len as u64 - 1) / chunk;
        if last >= chunks {
            return Err(err("reading past the end of", &path)(io::Error::from(
                io::ErrorKind::UnexpectedEof,
            )));
        }
        let plain_of = |c: u64| {
            if c + 1 == chunks {
                plain_len - c * chunk
            } else {
                chunk
            }
        };
        let from = first * (chunk + TAG as u64);
        let stored: u64 = (first..=last).map(|c| plain_of(c) + TAG as u64).sum();
        let mut source: Box<dyn Read> = match &self.remote {
            Some(r) => Box::new(io::Cursor::new(
                r.get_range(file_name, from..from + stored)
                    .map_err(err("reading", &path))?,
            )),
            None => {
                let mut f = File::open(&path).map_err(err("opening", &path))?;
                f.seek(SeekFrom::Start(from))
                    .map_err(err("seeking", &path))?;
                Box::new(f)
            }
        };
        let mut out = Vec::with_capacity(((last - first + 1) * chunk) as usize);
        for c in first..=last {
            let plain = plain_of(c);
            let mut ct = vec![0u8; plain as usize + TAG];
            source.read_exact(&mut ct).map_err(err("reading", &path))?;
            let pt = cipher
                .open(u32::try_from(c).unwrap_or(u32::MAX), c + 1 == chunks, &ct)
                .map_err(|e| {
                    err("decrypting", &path)(io::Error::new(io::ErrorKind::InvalidData, e))
                })?;
            out.extend_from_slice(&pt);
        }
        let skip = (offset - first * chunk) as usize;
        Ok(out[skip..skip + len].to_vec())
    }

    /// The digest ([`StoredDigest`] of `kind`) and size of a file as it is on
    /// disk, without its key. For BLAKE3 only the chunks' tags are read.
    pub fn digest_file(&self, file_name: &str, kind: DigestKind) -> Result<([u8; 32], u64)> {
        if let Some(r) = &self.remote {
            let path = r.shown(file_name);
            let bytes = r.get(file_name).map_err(err("reading", &path))?;
            return Ok((digest_of_bytes(kind, &bytes), bytes.len() as u64));
        }
        let path = self.path_of(file_name);
        let mut f = File::open(&path).map_err(err("opening", &path))?;
        let mut d = StoredDigest::new(kind);
        match kind {
            DigestKind::Sha256 => {
                let mut h = Sha256::new();
                let mut buf = vec![0u8; 256 * 1024];
                let mut total = 0u64;
                loop {
                    let n = f.read(&mut buf).map_err(err("reading", &path))?;
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                    total += n as u64;
                }
                Ok((h.finalize().into(), total))
            }
            DigestKind::Blake3 | DigestKind::Blake3Tree => {
                let size = f
                    .metadata()
                    .map_err(err("reading metadata of", &path))?
                    .len();
                let mut at = 0u64;
                let mut tag = [0u8; TAG];
                for len in mimamori_crypto::stored_chunk_lengths(size) {
                    if len >= TAG as u64 {
                        f.read_exact_at(&mut tag, at + len - TAG as u64)
                            .map_err(err("reading", &path))?;
                        d.chunk(&tag);
                    } else {
                        // A stub shorter than a tag: what there is.
                        let mut stub = vec![0u8; len as usize];
                        f.read_exact_at(&mut stub, at)
                            .map_err(err("reading", &path))?;
                        d.chunk(&stub);
                    }
                    at += len;
                }
                Ok((d.finish(), size))
            }
        }
    }

    /// Deletes a segment file (the caller decided it must go), from the object
    /// store too if there is one. A missing file is not an error.
    pub fn delete(&self, file_name: &str) -> Result<()> {
        self.delete_local(file_name)?;
        if let Some(r) = &self.remote {
            r.delete(file_name)
                .map_err(err("deleting", &r.shown(file_name)))?;
        }
        Ok(())
    }

    fn delete_local(&self, file_name: &str) -> Result<()> {
        let path = self.path_of(file_name);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(err("deleting", &path)(e)),
        }
    }

    /// How a file is named in messages: its path, or its key in the object store.
    fn shown_path(&self, file_name: &str) -> PathBuf {
        match &self.remote {
            Some(r) => r.shown(file_name),
            None => self.path_of(file_name),
        }
    }

    /// All files of the store: (relative name, size). Partial files keep their
    /// suffix. With an object store: its objects, and the partial files and
    /// journals of the segments being written here.
    pub fn list_files(&self) -> Result<Vec<(String, u64)>> {
        let Some(r) = &self.remote else {
            return self.local_files();
        };
        let mut out = r.list().map_err(err("listing", &PathBuf::from(r.url())))?;
        out.extend(
            self.local_files()?
                .into_iter()
                .filter(|(n, _)| n.ends_with(PARTIAL_SUFFIX) || n.ends_with(JOURNAL_SUFFIX)),
        );
        out.sort();
        Ok(out)
    }

    /// The files below the local directory.
    fn local_files(&self) -> Result<Vec<(String, u64)>> {
        let mut out = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            // A directory or file may go while it is listed (retention erases
            // while a running site is copied): what is gone is not listed.
            let entries = match fs::read_dir(&dir) {
                Err(e) if e.kind() == io::ErrorKind::NotFound && dir != self.root => continue,
                r => r.map_err(err("listing", &dir))?,
            };
            for entry in entries {
                let entry = entry.map_err(err("listing", &dir))?;
                let path = entry.path();
                let meta = match entry.metadata() {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    r => r.map_err(err("reading metadata of", &path))?,
                };
                if meta.is_dir() {
                    stack.push(path);
                } else if let Ok(rel) = path.strip_prefix(&self.root) {
                    out.push((rel.to_string_lossy().replace('\\', "/"), meta.len()));
                }
            }
        }
        out.sort();
        Ok(out)
    }

    /// Files of the local directory that are not finished segments (partial files
    /// and journals): a site that stopped cleanly, or recovered, has none.
    pub fn unfinished_local_files(&self) -> Result<Vec<String>> {
        Ok(self
            .local_files()?
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| n.ends_with(PARTIAL_SUFFIX) || n.ends_with(JOURNAL_SUFFIX))
            .collect())
    }

    /// Copies these finished segments of the local directory into the object
    /// store `to`, each uploaded whole and read back to compare, byte for byte;
    /// then `progress(done, total)`. A file gone by the time it is read (erased
    /// meanwhile by a running site's retention) is left out. Returns the files
    /// copied, with their sizes. The local files stay: the caller removes them
    /// ([`SegmentStore::remove_local_files`]) once the installation names the
    /// store.
    pub fn copy_local_files_into(
        &self,
        to: &Remote,
        files: &[(String, u64)],
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Vec<(String, u64)>> {
        let mut copied = Vec::with_capacity(files.len());
        for (i, (name, _)) in files.iter().enumerate() {
            let path = self.path_of(name);
            let data = match fs::read(&path) {
                Ok(data) => data,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(err("reading", &path)(e)),
            };
            let size = data.len() as u64;
            to.put(name, data.clone())
                .map_err(err("uploading", &to.shown(name)))?;
            let back = to.get(name).map_err(err("reading back", &to.shown(name)))?;
            if back != data {
                return Err(err("comparing", &to.shown(name))(io::Error::other(
                    "the object read back differs from the file uploaded",
                )));
            }
            copied.push((name.clone(), size));
            progress(i + 1, files.len());
        }
        Ok(copied)
    }

    /// Removes these files from the local directory, and the directories they
    /// leave empty.
    pub fn remove_local_files(&self, names: &[String]) -> Result<()> {
        for name in names {
            self.delete_local(name)?;
            let mut dir = self.path_of(name);
            while dir.pop() && dir.starts_with(&self.root) && dir != self.root {
                if fs::remove_dir(&dir).is_err() {
                    break;
                }
            }
        }
        Ok(())
    }

    /// The finished segments of the local directory: (relative name, size).
    pub fn finished_local_files(&self) -> Result<Vec<(String, u64)>> {
        Ok(self
            .local_files()?
            .into_iter()
            .filter(|(n, _)| !n.ends_with(PARTIAL_SUFFIX) && !n.ends_with(JOURNAL_SUFFIX))
            .collect())
    }

    /// At start: removes what a crash left half-done. `known` are the catalog's file names.
    pub fn recover(&self, known: &HashSet<String>) -> Result<RecoveryReport> {
        let mut report = RecoveryReport::default();
        // With an object store only the local directory is looked at: an object is
        // uploaded before its catalog row exists, and its local copy and journal
        // stay until then, so a crash in between leaves them here.
        for (name, size) in self.local_files()? {
            if name.ends_with(PARTIAL_SUFFIX) || name.ends_with(JOURNAL_SUFFIX) {
                self.delete_local(&name)?;
                report.discarded_partial.push((name, size));
            } else if !known.contains(&name) {
                self.delete(&name)?;
                report.discarded_unreferenced.push((name, size));
            } else {
                self.forget_local_copy(&name)?;
            }
        }
        Ok(report)
    }

    /// Compares the catalog's view (name, size) with the files.
    pub fn check(&self, expected: &[(String, u64)]) -> Result<Vec<FileProblem>> {
        let on_disk: std::collections::HashMap<String, u64> =
            self.list_files()?.into_iter().collect();
        let mut problems = Vec::new();
        let mut referenced = HashSet::new();
        for (name, size) in expected {
            referenced.insert(name.clone());
            match on_disk.get(name) {
                None => problems.push(FileProblem::Missing {
                    file_name: name.clone(),
                }),
                Some(actual) if actual != size => problems.push(FileProblem::WrongSize {
                    file_name: name.clone(),
                    expected: *size,
                    actual: *actual,
                }),
                Some(_) => {}
            }
        }
        for name in on_disk.keys() {
            if name.ends_with(JOURNAL_SUFFIX) {
                continue;
            }
            if name.ends_with(PARTIAL_SUFFIX) {
                problems.push(FileProblem::Partial {
                    file_name: name.clone(),
                });
            } else if !referenced.contains(name) {
                problems.push(FileProblem::Unreferenced {
                    file_name: name.clone(),
                });
            }
        }
        Ok(problems)
    }
}

/// A segment file being written. Dropping it without [`finish`](Self::finish)
/// leaves a `.partial` file that the next start discards.
pub struct SegmentFileWriter {
    file_name: String,
    partial: PathBuf,
    final_path: PathBuf,
    dir: PathBuf,
    /// Each sealed chunk is written as it is sealed (one write per 64 KiB).
    out: File,
    /// The digest of the stored file, unless the caller hashes what it writes itself.
    hasher: Option<StoredDigest>,
    /// BLAKE3 of the plaintext, fed a whole chunk at a time just before it is
    /// sealed (at its full SIMD width: 64 KiB chunks start at 64 KiB offsets).
    plain_hasher: Option<Box<blake3::Hasher>>,
    bytes: u64,
    stored: u64,
    cipher: SegmentCipher,
    /// Plaintext not yet sealed (at most one chunk), sealed where it lies.
    chunk: Vec<u8>,
    chunk_no: u32,
    journal: Option<journal::JournalWriter>,
    /// For a journaled file: the store's group commit, and this file's part in it.
    group: Option<(Arc<GroupCommit>, Arc<CommitState>)>,
    /// Where the finished file is uploaded, if not kept on disk.
    remote: Option<Arc<Remote>>,
}

impl std::fmt::Debug for SegmentFileWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentFileWriter")
            .field("file_name", &self.file_name)
            .finish()
    }
}

/// Plaintext written in is encrypted as it goes (for writers such as a ZIP's).
impl Write for SegmentFileWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.append(buf)
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl SegmentFileWriter {
    pub fn append(&mut self, mut data: &[u8]) -> Result<()> {
        self.bytes += data.len() as u64;
        while !data.is_empty() {
            // A full chunk is sealed only once more data follows: the last chunk is marked.
            if self.chunk.len() == CHUNK {
                self.seal(false)?;
            }
            let n = (CHUNK - self.chunk.len()).min(data.len());
            self.chunk.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        Ok(())
    }

    fn seal(&mut self, last: bool) -> Result<()> {
        if let Some(h) = self.plain_hasher.as_mut() {
            h.update(&self.chunk);
        }
        self.cipher
            .seal_in_place(self.chunk_no, last, &mut self.chunk)
            .map_err(|e| err("encrypting", &self.partial)(io::Error::other(e)))?;
        self.out
            .write_all(&self.chunk)
            .map_err(err("writing", &self.partial))?;
        if let Some(h) = self.hasher.as_mut() {
            h.chunk(&self.chunk);
        }
        self.stored += self.chunk.len() as u64;
        self.chunk.clear();
        self.chunk_no += 1;
        Ok(())
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Skips the digest of the stored (encrypted) file: for files whose writer
    /// hashes their plaintext itself (evidence packages); [`WrittenFile::stored_digest`] is then zero.
    pub fn without_stored_hash(mut self) -> Self {
        self.hasher = None;
        self.plain_hasher = None;
        self
    }

    /// Notes a frame in the journal (it is durable at the next checkpoint).
    pub fn journal_frame(&mut self, f: JournalFrame) {
        if let Some(j) = self.journal.as_mut() {
            j.frame(f);
        }
    }

    /// Hands what was written so far to the store's group commit, which makes
    /// the sealed chunks durable and then the journal record listing the frames
    /// and — when `with_tail` — the unsealed tail, encrypted. Returns `false`,
    /// doing nothing, while this file's previous checkpoint still waits for its
    /// round (its frames go into the next one); an error when an earlier
    /// checkpoint failed. A file without a journal has nothing to checkpoint.
    pub fn checkpoint(&mut self, with_tail: bool) -> Result<bool> {
        let Some((group, state)) = self.group.as_ref() else {
            return Ok(false);
        };
        if let Some(e) = state.take_failure() {
            return Err(e);
        }
        if state.in_flight() {
            return Ok(false);
        }
        let data = self
            .out
            .try_clone()
            .map_err(err("opening", &self.partial))?;
        let tail = if with_tail && !self.chunk.is_empty() {
            Some(
                self.cipher
                    .seal_tail(self.chunk_no, &self.chunk)
                    .map_err(|e| err("encrypting", &self.partial)(io::Error::other(e)))?,
            )
        } else {
            None
        };
        let journal = match self.journal.as_mut() {
            Some(j) => {
                let path = j.path().to_path_buf();
                Some(
                    j.checkpoint_record(self.chunk_no, tail.as_deref())
                        .map_err(err("opening", &path))?,
                )
            }
            None => None,
        };
        group.submit(Pending {
            data,
            partial: self.partial.clone(),
            journal,
            state: state.clone(),
        })?;
        Ok(true)
    }

    /// Waits until this file's checkpoints handed in so far are durable, and
    /// says whether they failed.
    pub fn wait_for_checkpoints(&self) -> Result<()> {
        if let Some((group, state)) = self.group.as_ref() {
            group.flush();
            if let Some(e) = state.take_failure() {
                return Err(e);
            }
        }
        Ok(())
    }

    /// The number of the chunk being filled (it changes each time a chunk is sealed).
    pub fn chunk_no(&self) -> u32 {
        self.chunk_no
    }

    /// Makes the file durable under its final name: flush, fsync the file, rename,
    /// fsync the directory; with an object store, uploads it too. Only after this
    /// may the catalog point at it.
    pub fn finish(self) -> Result<WrittenFile> {
        let (remote, final_path) = (self.remote.clone(), self.final_path.clone());
        let written = self.finish_here()?;
        if let Some(r) = remote {
            // Whole, before the catalog may point at it; the local copy stays
            // until the catalog does (a crash before then is recovered from it).
            r.put_file(&written.file_name, &final_path)
                .map_err(err("uploading", &r.shown(&written.file_name)))?;
        }
        Ok(written)
    }

    /// [`SegmentFileWriter::finish`] without the upload: the file is durable here,
    /// and [`SegmentStore::upload`] sends it to the object store later (a
    /// recorder does so behind its stream, so that a slow or absent store does
    /// not hold the camera up).
    pub fn finish_here(mut self) -> Result<WrittenFile> {
        self.seal(true)?;
        let SegmentFileWriter {
            file_name,
            partial,
            final_path,
            dir,
            out,
            hasher,
            plain_hasher,
            bytes,
            stored,
            journal,
            ..
        } = self;
        let file = out;
        file.sync_all().map_err(err("syncing", &partial))?;
        drop(file);
        fs::rename(&partial, &final_path).map_err(err("renaming", &partial))?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(err("syncing directory", &dir))?;
        // The journal stays until the segment is in the catalog (see
        // [`SegmentStore::forget_journal`]): until then it is how readers find the
        // segment, and how the next start recovers it after a crash.
        drop(journal);
        Ok(WrittenFile {
            file_name,
            bytes,
            stored_bytes: stored,
            stored_digest: hasher.map(StoredDigest::finish).unwrap_or_default(),
            digest_kind: DigestKind::CURRENT,
            plain_digest: plain_hasher.map_or([0; 32], |h| *h.finalize().as_bytes()),
        })
    }

    /// Gives up on this file and removes it (and its journal).
    pub fn abandon(self) {
        let partial = self.partial.clone();
        let journal = self.journal.as_ref().map(|j| j.path().to_path_buf());
        drop(self);
        let _ = fs::remove_file(partial);
        if let Some(j) = journal {
            let _ = fs::remove_file(j);
        }
    }
}

/// [`SegmentStore::digest_file`] of a file's bytes held in memory.
fn digest_of_bytes(kind: DigestKind, bytes: &[u8]) -> [u8; 32] {
    let mut d = StoredDigest::new(kind);
    let mut at = 0usize;
    for len in mimamori_crypto::stored_chunk_lengths(bytes.len() as u64) {
        d.chunk(&bytes[at..at + len as usize]);
        at += len as usize;
    }
    d.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        use std::hash::{BuildHasher, RandomState};
        let d = std::env::temp_dir().join(format!(
            "mimamori-storage-{tag}-{}-{}",
            std::process::id(),
            RandomState::new().hash_one(0u8)
        ));
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn cipher(name: &str) -> SegmentCipher {
        SegmentCipher::new(
            mimamori_crypto::Key::from_bytes(&[9; 32]).unwrap(),
            [3; 8],
            name.as_bytes(),
        )
    }

    // REQ-STO-4: segment files are encrypted at rest and read back by range.
    #[test]
    fn finished_file_is_encrypted_and_readable_by_range() {
        let d = temp_dir("finish");
        let store = SegmentStore::open(&d).unwrap();
        let name =
            SegmentStore::file_name_for(CameraId(3), "main", Timestamp(1_700_000_000_000_000));
        assert_eq!(name, "3/20231114/main-1700000000000000.seg");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut w = store.create(&name, cipher(&name)).unwrap();
        w.append(&data[..1000]).unwrap();
        w.append(&data[1000..]).unwrap();
        let done = w.finish().unwrap();
        assert_eq!(done.bytes, 200_000);
        assert_eq!(done.stored_bytes, mimamori_crypto::encrypted_len(200_000));
        let on_disk = fs::read(store.path_of(&name)).unwrap();
        assert_eq!(on_disk.len() as u64, done.stored_bytes);
        assert!(
            !on_disk.windows(64).any(|w| w == &data[5000..5064]),
            "no plaintext on disk"
        );
        // Issue 11: new files are digested by BLAKE3 over their chunks' tags,
        // their plaintext by BLAKE3 of all of it (hashed as each chunk is sealed).
        assert_eq!(done.digest_kind, DigestKind::Blake3Tree);
        assert_eq!(done.plain_digest, *blake3::hash(&data).as_bytes());
        let tags: Vec<u8> = mimamori_crypto::stored_chunk_lengths(done.stored_bytes)
            .scan(0u64, |at, len| {
                *at += len;
                Some(on_disk[(*at - TAG as u64) as usize..*at as usize].to_vec())
            })
            .flatten()
            .collect();
        assert_eq!(tags.len(), 4 * TAG);
        assert_eq!(done.stored_digest, *blake3::hash(&tags).as_bytes());
        assert_eq!(
            store.digest_file(&name, DigestKind::Blake3).unwrap(),
            (done.stored_digest, done.stored_bytes)
        );
        // Files recorded before it: SHA-256 of every stored byte.
        assert_eq!(
            hex_of(&store.digest_file(&name, DigestKind::Sha256).unwrap().0),
            hex_of(&Sha256::digest(&on_disk))
        );
        for (off, len) in [(0, 10), (65_530, 20), (131_000, 69_000), (199_990, 10)] {
            let got = store
                .read_range(&name, &cipher(&name), 200_000, off, len)
                .unwrap();
            assert_eq!(got, &data[off as usize..off as usize + len]);
        }
        // Another file's identity cannot read it.
        assert!(
            store
                .read_range(&name, &cipher("other"), 200_000, 0, 10)
                .is_err()
        );
        // A file cut at a chunk boundary does not pass as complete.
        let f = fs::OpenOptions::new()
            .write(true)
            .open(store.path_of(&name))
            .unwrap();
        f.set_len((CHUNK + TAG) as u64).unwrap();
        assert!(
            store
                .read_range(&name, &cipher(&name), CHUNK as u64, 0, 10)
                .is_err()
        );
        fs::remove_dir_all(d).unwrap();
    }

    /// Issue 12: the installation's other files (documents, packages, sign
    /// photos) live in the same object store, below `files/`, apart from the
    /// segments; a package larger than one PUT goes up in parts; files kept on
    /// the node before the store was used go up at start, and only then their
    /// local copies go.
    #[test]
    fn other_files_share_the_object_store_apart_from_the_segments() {
        let remote = scratch::new_remote("files");
        let d = temp_dir("files");
        // Written locally before the installation used the object store.
        let kept = "signs/1-aa.img";
        let local = SegmentStore::open_at(&d.join("provisions")).unwrap();
        let mut w = local.create(kept, cipher(kept)).unwrap();
        w.append(b"a sign photo").unwrap();
        w.finish().unwrap();

        let segments = SegmentStore::open_with(&d, Some(&remote)).unwrap();
        let files =
            SegmentStore::open_files(&d.join("provisions"), Some(&remote.for_files())).unwrap();
        assert_eq!(files.upload_local_files().unwrap(), 1);
        assert_eq!(files.upload_local_files().unwrap(), 0, "once");
        let report = files.recover(&HashSet::from([kept.to_string()])).unwrap();
        assert!(report.discarded_unreferenced.is_empty());
        assert!(
            !files.path_of(kept).exists(),
            "the local copy went after the upload"
        );
        assert_eq!(
            files.read_range(kept, &cipher(kept), 12, 0, 12).unwrap(),
            b"a sign photo"
        );

        // A package past one PUT's size: in parts, read back equal.
        let package = "packages/1-bb.zip";
        let data: Vec<u8> = (0..(40u32 << 20)).map(|i| (i % 253) as u8).collect();
        let mut w = files.create(package, cipher(package)).unwrap();
        w.append(&data).unwrap();
        let written = w.finish().unwrap();
        files.forget_local_copy(package).unwrap();
        for (off, len) in [(0u64, 100usize), (20 << 20, 70_000), ((40 << 20) - 10, 10)] {
            assert_eq!(
                files
                    .read_range(package, &cipher(package), data.len() as u64, off, len)
                    .unwrap(),
                &data[off as usize..off as usize + len]
            );
        }
        let listed = files.list_files().unwrap();
        assert_eq!(
            listed,
            vec![
                (package.to_string(), written.stored_bytes),
                (kept.to_string(), mimamori_crypto::encrypted_len(12) as u64)
            ]
        );
        // The segments' listing (check, orphans, moves) never sees them.
        assert!(segments.list_files().unwrap().is_empty());
        files.delete(package).unwrap();
        files.delete(kept).unwrap();
        fs::remove_dir_all(d).unwrap();
    }

    /// Issue 12: an S3-compatible store (the test run's SeaweedFS) holds finished
    /// segments byte for byte as the disk does: the same ranges and digests, a
    /// changed or cut object named, deletion, `check` and crash recovery.
    #[test]
    fn an_object_store_holds_finished_segments_as_the_disk_does() {
        let d = temp_dir("s3");
        let store = SegmentStore::open_with(&d, Some(&scratch::new_remote("storage"))).unwrap();
        let disk = SegmentStore::open(&temp_dir("s3-disk")).unwrap();
        let name =
            SegmentStore::file_name_for(CameraId(7), "main", Timestamp(1_700_000_000_000_000));
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut written = Vec::new();
        for s in [&store, &disk] {
            let mut w = s.create(&name, cipher(&name)).unwrap();
            w.append(&data).unwrap();
            written.push(w.finish().unwrap());
        }
        assert_eq!(written[0].stored_digest, written[1].stored_digest);
        // Uploaded whole before the catalog row; the local copy stays until then.
        assert!(store.path_of(&name).exists());
        store.forget_journal(&name).unwrap();
        assert!(
            !store.path_of(&name).exists(),
            "the local copy goes once the catalog holds it"
        );
        let stored = written[0].stored_bytes;
        assert_eq!(store.list_files().unwrap(), vec![(name.clone(), stored)]);
        for kind in [DigestKind::Blake3, DigestKind::Sha256] {
            assert_eq!(
                store.digest_file(&name, kind).unwrap(),
                disk.digest_file(&name, kind).unwrap()
            );
        }
        for (off, len) in [(0, 10), (65_530, 20), (131_000, 169_000), (299_990, 10)] {
            let got = store
                .read_range(&name, &cipher(&name), 300_000, off, len)
                .unwrap();
            assert_eq!(got, &data[off as usize..off as usize + len]);
        }
        assert!(store.check(&[(name.clone(), stored)]).unwrap().is_empty());
        // A changed byte fails to decrypt and changes the digest; a cut object is named.
        let remote = store.remote().unwrap();
        let mut bytes = remote.get(&name).unwrap();
        bytes[70_000] ^= 1;
        remote.put(&name, bytes.clone()).unwrap();
        assert!(
            store
                .read_range(&name, &cipher(&name), 300_000, 65_536, 10)
                .is_err()
        );
        assert_ne!(
            store.digest_file(&name, DigestKind::Sha256).unwrap().0,
            disk.digest_file(&name, DigestKind::Sha256).unwrap().0
        );
        remote.put(&name, bytes[..100_000].to_vec()).unwrap();
        assert_eq!(
            store.check(&[(name.clone(), stored)]).unwrap(),
            vec![FileProblem::WrongSize {
                file_name: name.clone(),
                expected: stored,
                actual: 100_000
            }]
        );
        // Deleted: from the store, and `check` says what is missing.
        store.delete(&name).unwrap();
        assert!(store.list_files().unwrap().is_empty());
        assert_eq!(
            store.check(&[(name.clone(), stored)]).unwrap(),
            vec![FileProblem::Missing {
                file_name: name.clone()
            }]
        );
        // A crash after the upload, before the catalog row: the next start removes
        // the object with its local copy.
        let mut w = store.create(&name, cipher(&name)).unwrap();
        w.append(&data[..1000]).unwrap();
        w.finish().unwrap();
        let report = store.recover(&HashSet::new()).unwrap();
        assert_eq!(report.discarded_unreferenced.len(), 1);
        assert!(store.list_files().unwrap().is_empty());
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn recovery_discards_partial_and_unreferenced_files() {
        let d = temp_dir("recover");
        let store = SegmentStore::open(&d).unwrap();
        let kept = SegmentStore::file_name_for(CameraId(1), "main", Timestamp(0));
        let mut w = store.create(&kept, cipher(&kept)).unwrap();
        w.append(b"x").unwrap();
        w.finish().unwrap();
        let orphan = SegmentStore::file_name_for(CameraId(1), "main", Timestamp(60_000_000));
        let mut w = store.create(&orphan, cipher(&orphan)).unwrap();
        w.append(b"y").unwrap();
        w.finish().unwrap();
        let half = SegmentStore::file_name_for(CameraId(1), "main", Timestamp(120_000_000));
        let mut w = store.create(&half, cipher(&half)).unwrap();
        w.append(b"zz").unwrap();
        drop(w); // as if the process died
        let known: HashSet<String> = [kept.clone()].into_iter().collect();
        let report = store.recover(&known).unwrap();
        let one = mimamori_crypto::encrypted_len(1);
        assert_eq!(report.discarded_partial.len(), 1);
        assert_eq!(report.discarded_unreferenced, vec![(orphan, one)]);
        assert_eq!(store.list_files().unwrap(), vec![(kept.clone(), one)]);
        assert!(store.check(&[(kept, one)]).unwrap().is_empty());
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn check_names_missing_and_resized_files() {
        let d = temp_dir("check");
        let store = SegmentStore::open(&d).unwrap();
        let a = SegmentStore::file_name_for(CameraId(1), "main", Timestamp(0));
        let mut w = store.create(&a, cipher(&a)).unwrap();
        w.append(b"abc").unwrap();
        w.finish().unwrap();
        let problems = store
            .check(&[(a.clone(), 4), ("1/19700101/main-9.seg".to_string(), 1)])
            .unwrap();
        assert_eq!(problems.len(), 2);
        assert!(problems.contains(&FileProblem::WrongSize {
            file_name: a,
            expected: 4,
            actual: mimamori_crypto::encrypted_len(3)
        }));
        fs::remove_dir_all(d).unwrap();
    }

    // Issue 11: the checkpoints of every segment being written are made durable
    // together (one round of the store's group commit, not two syncs each), and
    // each journal then vouches for exactly what its writer had written.
    #[test]
    fn checkpoints_of_several_segments_are_committed_in_one_round() {
        let d = temp_dir("group");
        let store = SegmentStore::open(&d).unwrap();
        let start = Timestamp::from_secs(1_800_000_000);
        let mut writers: Vec<SegmentFileWriter> = (1..=4)
            .map(|n| {
                let name = SegmentStore::file_name_for(CameraId(n), "main", start);
                let header = OpenHeader {
                    camera: CameraId(n),
                    stream: "main".into(),
                    run_start: start,
                    start,
                    video_params_id: 1,
                    data_key_id: 1,
                    nonce_prefix: [3; 8],
                };
                store
                    .create_journaled(&name, cipher(&name), &header)
                    .unwrap()
            })
            .collect();
        for (n, w) in writers.iter_mut().enumerate() {
            // Camera n wrote n + 1 frames of 40 000 bytes: chunks sealed, a tail left.
            for _ in 0..=n {
                w.append(&[n as u8; 40_000]).unwrap();
                w.journal_frame(JournalFrame {
                    size: 40_000,
                    duration_90k: 6_000,
                    key: false,
                });
            }
            assert!(w.checkpoint(true).unwrap(), "nothing was waiting yet");
        }
        for w in &writers {
            w.wait_for_checkpoints().unwrap();
        }
        let mut open = store.all_open_segments();
        open.sort_by_key(|o| o.header.camera.0);
        assert_eq!(open.len(), 4);
        for (n, o) in open.iter().enumerate() {
            assert_eq!(o.frames.len(), n + 1, "camera {}", o.header.camera.0);
            assert_eq!(o.covered_bytes(), 40_000 * (n as u64 + 1));
        }
        // After its round a writer hands in its next checkpoint again.
        assert!(writers[0].checkpoint(false).unwrap());
        writers[0].wait_for_checkpoints().unwrap();
        for w in writers {
            w.abandon();
        }
        fs::remove_dir_all(d).unwrap();
    }

    fn hex_of(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
