//! The journal of a segment being written: beside `….seg.partial`, a small text
//! file (`….seg.partial.journal`) that says what the partial file holds — the
//! segment's identity and encryption, each frame written (size, duration, key),
//! and checkpoints (how many encrypted chunks are durable, and the not-yet-sealed
//! tail, itself encrypted). After a crash the frames up to the last checkpoint
//! can be recovered; while recording they can be played. Appends only; a torn
//! last line is ignored.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use mimamori_base::{CameraId, Timestamp};

pub const JOURNAL_SUFFIX: &str = ".journal";
const MAGIC: &str = "mimamori-open-segment-v1";

/// What a segment being written is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenHeader {
    pub camera: CameraId,
    pub stream: String,
    pub run_start: Timestamp,
    /// The wall-clock time of its first frame.
    pub start: Timestamp,
    pub video_params_id: i64,
    pub data_key_id: i64,
    pub nonce_prefix: [u8; 8],
}

/// One frame as the journal records it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct JournalFrame {
    pub size: u32,
    pub duration_90k: u32,
    pub key: bool,
}

/// A segment being written (or left behind by a crash), as far as its last checkpoint.
#[derive(Clone, Debug)]
pub struct OpenSegment {
    /// The segment's final file name (the partial file is this plus `.partial`).
    pub file_name: String,
    pub header: OpenHeader,
    /// Frames whose bytes the checkpoint covers.
    pub frames: Vec<JournalFrame>,
    /// Encrypted chunks durable in the partial file (none of them the last chunk).
    pub sealed_chunks: u32,
    /// Plaintext bytes after the sealed chunks, sealed with `seal_tail`, if kept.
    pub tail: Option<Vec<u8>>,
}

impl OpenSegment {
    /// Plaintext bytes in the sealed chunks.
    pub fn sealed_bytes(&self) -> u64 {
        u64::from(self.sealed_chunks) * mimamori_crypto::CHUNK as u64
    }

    /// Plaintext bytes the checkpoint vouches for (sealed chunks and tail).
    pub fn covered_bytes(&self) -> u64 {
        // A sealed tail is its nonce, the text and the tag.
        let tail = self
            .tail
            .as_ref()
            .map_or(0, |t| t.len().saturating_sub(12 + mimamori_crypto::TAG));
        self.sealed_bytes() + tail as u64
    }

    /// When the frames the checkpoint vouches for end.
    pub fn covered_end(&self) -> Timestamp {
        let mut used = 0u64;
        let mut ticks = 0i64;
        for f in &self.frames {
            used += u64::from(f.size);
            if used > self.covered_bytes() {
                break;
            }
            ticks += i64::from(f.duration_90k);
        }
        self.header.start.add_90k(ticks)
    }
}

/// Appends to a journal; every append is made durable.
#[derive(Debug)]
pub struct JournalWriter {
    path: PathBuf,
    file: File,
    /// Frames written since the last checkpoint.
    pending: String,
}

impl JournalWriter {
    pub fn create(path: &Path, h: &OpenHeader) -> io::Result<JournalWriter> {
        let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
        writeln!(
            file,
            "{MAGIC} {} {} {} {} {} {} {}",
            h.camera,
            h.stream,
            h.run_start.0,
            h.start.0,
            h.video_params_id,
            h.data_key_id,
            hex::encode(h.nonce_prefix)
        )?;
        Ok(JournalWriter {
            path: path.to_path_buf(),
            file,
            pending: String::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Notes a frame (written out at the next checkpoint).
    pub fn frame(&mut self, f: JournalFrame) {
        use std::fmt::Write as _;
        // Into the pending text directly: nothing allocated per frame.
        let _ = writeln!(
            self.pending,
            "f {} {} {}",
            f.size,
            f.duration_90k,
            u8::from(f.key)
        );
    }

    /// The record saying that `sealed_chunks` chunks are durable and the frames so
    /// far fit in them and `tail` (sealed); written by [`PendingRecord::commit`].
    pub fn checkpoint_record(
        &mut self,
        sealed_chunks: u32,
        tail: Option<&[u8]>,
    ) -> io::Result<PendingRecord> {
        // The next second's frames start in a buffer of the size this one needed.
        let capacity = self.pending.capacity();
        let mut text = std::mem::replace(&mut self.pending, String::with_capacity(capacity));
        text.push_str(&format!(
            "c {sealed_chunks} {}\n",
            tail.map(hex::encode).unwrap_or_else(|| "-".into())
        ));
        Ok(PendingRecord {
            file: self.file.try_clone()?,
            path: self.path.clone(),
            text,
        })
    }
}

/// A journal record waiting to be appended.
#[derive(Debug)]
pub struct PendingRecord {
    file: File,
    path: PathBuf,
    text: String,
}

impl PendingRecord {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends the record and syncs the journal.
    pub fn commit(self) -> io::Result<()> {
        self.append()?.sync_data()
    }

    /// Appends the record, to be synced by the caller (the group commit syncs a
    /// round's journals together).
    pub fn append(mut self) -> io::Result<File> {
        self.file.write_all(self.text.as_bytes())?;
        Ok(self.file)
    }
}

/// Reads a journal up to its last complete checkpoint; `None` when it holds no
/// usable header.
pub fn read(path: &Path, file_name: &str) -> Option<OpenSegment> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.split_inclusive('\n');
    let header = lines.next().filter(|l| l.ends_with('\n'))?;
    let f: Vec<&str> = header.split_whitespace().collect();
    let [magic, camera, stream, run_start, start, params, key, nonce] = f.as_slice() else {
        return None;
    };
    if *magic != MAGIC {
        return None;
    }
    let nonce: [u8; 8] = hex::decode(nonce).ok()?.try_into().ok()?;
    let header = OpenHeader {
        camera: CameraId(camera.parse().ok()?),
        stream: stream.to_string(),
        run_start: Timestamp(run_start.parse().ok()?),
        start: Timestamp(start.parse().ok()?),
        video_params_id: params.parse().ok()?,
        data_key_id: key.parse().ok()?,
        nonce_prefix: nonce,
    };
    let mut seg = OpenSegment {
        file_name: file_name.to_string(),
        header,
        frames: Vec::new(),
        sealed_chunks: 0,
        tail: None,
    };
    let mut since: Vec<JournalFrame> = Vec::new();
    for line in lines {
        // A line without its newline was torn by the crash: it and what follows are not used.
        if !line.ends_with('\n') {
            break;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["f", size, dur, key] => {
                let (Ok(size), Ok(duration_90k)) = (size.parse(), dur.parse()) else {
                    break;
                };
                since.push(JournalFrame {
                    size,
                    duration_90k,
                    key: *key == "1",
                });
            }
            ["c", chunks, tail] => {
                let Ok(chunks) = chunks.parse() else {
                    break;
                };
                let tail = if *tail == "-" {
                    None
                } else {
                    match hex::decode(tail) {
                        Ok(t) => Some(t),
                        Err(_) => break,
                    }
                };
                seg.frames.append(&mut since);
                seg.sealed_chunks = chunks;
                seg.tail = tail;
            }
            _ => break,
        }
    }
    Some(seg)
}
