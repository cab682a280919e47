//! The heads journal: every signed head (of the audit log and of each stream's
//! chain) also appended to a file outside the catalog, beside the installation's
//! keys. Whoever can rewrite the catalog can delete its signatures with the rows
//! they covered, or recompute a chain and drop every signature; the journal still
//! holds what was signed, so `verify` and `audit verify` name the truncation or the
//! rewrite. Lines are plain text, one signed head each, fsynced as written.

use std::io::Write;
use std::path::{Path, PathBuf};

use mimamori_base::{CameraId, Timestamp};
use mimamori_catalog::StreamKind;

/// One signed head as the journal keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JournalRecord {
    Audit {
        seq: i64,
        hash: Vec<u8>,
        at: Timestamp,
        signature: Vec<u8>,
    },
    Chain {
        camera: CameraId,
        stream: StreamKind,
        seq: i64,
        hash: Vec<u8>,
        at: Timestamp,
        signature: Vec<u8>,
    },
}

impl JournalRecord {
    fn line(&self) -> String {
        match self {
            JournalRecord::Audit {
                seq,
                hash,
                at,
                signature,
            } => format!(
                "audit {seq} {} {} {}\n",
                hex::encode(hash),
                at.0,
                hex::encode(signature)
            ),
            JournalRecord::Chain {
                camera,
                stream,
                seq,
                hash,
                at,
                signature,
            } => format!(
                "chain {camera} {} {seq} {} {} {}\n",
                stream.as_str(),
                hex::encode(hash),
                at.0,
                hex::encode(signature)
            ),
        }
    }

    fn parse(line: &str) -> Option<JournalRecord> {
        let f: Vec<&str> = line.split_whitespace().collect();
        let hexd = |s: &str| hex::decode(s).ok();
        match f.as_slice() {
            ["audit", seq, hash, at, sig] => Some(JournalRecord::Audit {
                seq: seq.parse().ok()?,
                hash: hexd(hash)?,
                at: Timestamp(at.parse().ok()?),
                signature: hexd(sig)?,
            }),
            ["chain", camera, stream, seq, hash, at, sig] => Some(JournalRecord::Chain {
                camera: CameraId(camera.parse().ok()?),
                stream: StreamKind::parse(stream)?,
                seq: seq.parse().ok()?,
                hash: hexd(hash)?,
                at: Timestamp(at.parse().ok()?),
                signature: hexd(sig)?,
            }),
            _ => None,
        }
    }
}

/// The journal file.
#[derive(Clone, Debug)]
pub struct HeadJournal {
    path: PathBuf,
}

/// What the journal holds, read back.
#[derive(Debug, Default)]
pub struct JournalContents {
    pub records: Vec<JournalRecord>,
    /// Lines that are not records (a torn last line after a crash, or tampering).
    pub unreadable: usize,
}

impl HeadJournal {
    pub fn at(path: &Path) -> HeadJournal {
        HeadJournal {
            path: path.to_path_buf(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a record durably (mode 0600 when the file is created).
    pub fn append(&self, record: &JournalRecord) -> std::io::Result<()> {
        let mut opts = std::fs::OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&self.path)?;
        f.write_all(record.line().as_bytes())?;
        f.sync_data()
    }

    /// Every record; an absent file is an empty journal (a new installation).
    pub fn read(&self) -> std::io::Result<JournalContents> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        let mut c = JournalContents::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match JournalRecord::parse(line) {
                Some(r) => c.records.push(r),
                None => c.unreadable += 1,
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_as_written() {
        let dir = std::env::temp_dir().join(format!("mimamori-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let j = HeadJournal::at(&dir.join("heads.log"));
        let _ = std::fs::remove_file(j.path());
        assert!(j.read().unwrap().records.is_empty());
        let a = JournalRecord::Audit {
            seq: 7,
            hash: vec![1, 2],
            at: Timestamp(9),
            signature: vec![3],
        };
        let c = JournalRecord::Chain {
            camera: CameraId(2),
            stream: StreamKind::Sub,
            seq: 4,
            hash: vec![5],
            at: Timestamp(6),
            signature: vec![8, 9],
        };
        j.append(&a).unwrap();
        j.append(&c).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(j.path())
            .unwrap()
            .write_all(b"audit 8 zz")
            .unwrap();
        let back = j.read().unwrap();
        assert_eq!(back.records, vec![a, c]);
        assert_eq!(back.unreadable, 1);
        let _ = std::fs::remove_dir_all(dir);
    }
}
