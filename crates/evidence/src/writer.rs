//! Writes a package as a ZIP in one pass (no seeking, so it can go straight into
//! an encrypted file): entries stored as they are (video does not compress), each
//! hashed as it is written; optionally AES-256 encrypted with a passphrase, in
//! the WinZip AE-2 form that 7-Zip and Windows tools open.

use std::io::Write;

use sha2::{Digest, Sha256};
use zip::write::{FileOptions, StreamWriter};
use zip::{AesMode, CompressionMethod, ZipWriter};

use crate::manifest::FileEntry;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("writing the package: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("writing the package: {0}")]
    Io(#[from] std::io::Error),
}

/// The shortest passphrase accepted for an encrypted package.
pub const MIN_PASSPHRASE: usize = 12;

pub struct PackageWriter<'p, W: Write> {
    zip: ZipWriter<StreamWriter<W>>,
    options: FileOptions<'p, 'static, ()>,
    /// The file being written: its path, its hash (unless the caller hashes it), its size.
    open: Option<(String, Option<Sha256>, u64)>,
}

impl<'p, W: Write> PackageWriter<'p, W> {
    pub fn new(out: W, passphrase: Option<&'p str>) -> PackageWriter<'p, W> {
        let mut options = FileOptions::<'p, 'static, ()>::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(true);
        if let Some(p) = passphrase {
            options = options.with_aes_encryption(AesMode::Aes256, p);
        }
        PackageWriter {
            zip: ZipWriter::new_stream(out),
            options,
            open: None,
        }
    }

    /// Starts a file; its bytes follow with [`PackageWriter::write`].
    pub fn start(&mut self, path: &str) -> Result<(), WriteError> {
        self.zip.start_file(path, self.options)?;
        self.open = Some((path.to_string(), Some(Sha256::new()), 0));
        Ok(())
    }

    /// Starts a file the caller hashes itself (on another thread, say); it ends
    /// with [`PackageWriter::end_hashed`].
    pub fn start_hashed_by_caller(&mut self, path: &str) -> Result<(), WriteError> {
        self.zip.start_file(path, self.options)?;
        self.open = Some((path.to_string(), None, 0));
        Ok(())
    }

    pub fn write(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        self.zip.write_all(bytes)?;
        if let Some((_, h, n)) = self.open.as_mut() {
            if let Some(h) = h {
                h.update(bytes);
            }
            *n += bytes.len() as u64;
        }
        Ok(())
    }

    /// Ends the file started last: its path, size and hash.
    pub fn end(&mut self) -> FileEntry {
        let (path, h, bytes) = self.open.take().unwrap_or_default();
        FileEntry {
            path,
            bytes,
            sha256: hex::encode(h.unwrap_or_default().finalize()),
        }
    }

    /// Ends a file started with [`PackageWriter::start_hashed_by_caller`], with
    /// the SHA-256 of exactly what was written.
    pub fn end_hashed(&mut self, sha256: [u8; 32]) -> FileEntry {
        let (path, _, bytes) = self.open.take().unwrap_or_default();
        FileEntry {
            path,
            bytes,
            sha256: hex::encode(sha256),
        }
    }

    /// A whole file at once.
    pub fn add(&mut self, path: &str, bytes: &[u8]) -> Result<FileEntry, WriteError> {
        self.start(path)?;
        self.write(bytes)?;
        Ok(self.end())
    }

    /// Writes the central directory; returns the output.
    pub fn finish(self) -> Result<W, WriteError> {
        Ok(self.zip.finish()?.into_inner())
    }
}
