//! Finished segment files in an S3-compatible object store (one bucket, a key
//! prefix per installation), through the `object_store` crate. Objects hold the
//! same bytes as the files on disk (the chunked encryption is not undone), so
//! ranges, digests and `check` mean the same on both.
//!
//! The store's methods are called from synchronous code (the segment writer, the
//! MP4 body's blocking readers, `check`): each request runs on a small runtime
//! of its own, and the caller waits for its answer. That works in any thread,
//! including a runtime's, where a nested `block_on` would panic.

use std::io;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, PutPayload, RetryConfig};

/// Where the objects are and how to reach them. `Debug` never shows the secret.
#[derive(Clone)]
pub struct RemoteConfig {
    pub bucket: String,
    /// Key prefix below the bucket (no leading or trailing `/`), may be empty.
    pub prefix: String,
    /// `http(s)://host:port` of an S3-compatible server; absent: AWS itself.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for RemoteConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteConfig")
            .field("url", &self.url())
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl RemoteConfig {
    /// `s3://bucket/prefix`, as the configuration names it.
    pub fn url(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    /// The same store below [`FILES_DIR`]: where the installation's files other
    /// than segments go.
    pub fn for_files(&self) -> RemoteConfig {
        let mut c = self.clone();
        c.prefix = if self.prefix.is_empty() {
            FILES_DIR.to_string()
        } else {
            format!("{}/{FILES_DIR}", self.prefix)
        };
        c
    }

    /// Splits `s3://bucket/prefix` into bucket and prefix.
    pub fn parse_url(url: &str) -> Option<(String, String)> {
        let rest = url.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/');
        let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-.".contains(c);
        if bucket.len() < 3 || !bucket.chars().all(valid) {
            return None;
        }
        Some((bucket.to_string(), prefix.to_string()))
    }
}

/// The key below an installation's prefix that holds its files other than
/// segments (request documents, evidence packages, sign photos), so that every
/// node reads them. Segment names begin with a camera's number, so no segment is
/// ever there, and the segments' listing leaves it out.
pub const FILES_DIR: &str = "files";

/// Files up to this size go up in one PUT; larger ones (evidence packages) in
/// parts of [`PART_BYTES`], so that memory stays bounded whatever their size.
const WHOLE_UP_TO: u64 = 32 << 20;
const PART_BYTES: usize = 8 << 20;

/// Segment uploads at once in this process. A segment goes up whole from memory,
/// and cameras close their segments together (at the same minute): without a
/// bound, 32 cameras at 2 Mbit/s held 480 MB at each rotation (measured with
/// `bench-ingest.sh`, 32 streams, a peak of 510 MB against 28 MB steady).
const UPLOADS_AT_ONCE: usize = 4;

/// A place among the [`UPLOADS_AT_ONCE`], held while a file is read and sent.
struct UploadSlot;

static UPLOADS: (std::sync::Mutex<usize>, std::sync::Condvar) =
    (std::sync::Mutex::new(0), std::sync::Condvar::new());

impl UploadSlot {
    fn take() -> UploadSlot {
        let (taken, freed) = &UPLOADS;
        let mut n = taken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while *n >= UPLOADS_AT_ONCE {
            n = freed
                .wait(n)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *n += 1;
        UploadSlot
    }
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        let (taken, freed) = &UPLOADS;
        let mut n = taken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *n = n.saturating_sub(1);
        freed.notify_one();
    }
}

/// A connected object store.
pub struct Remote {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    url: String,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

/// The runtime the object store's requests run on, for the whole process (a
/// runtime dropped inside another one panics, so this one is never dropped).
fn runtime() -> io::Result<&'static tokio::runtime::Runtime> {
    static RT: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mimamori-s3")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| io::Error::other(format!("starting the object store's runtime: {e}")))
}

impl Remote {
    pub fn connect(c: &RemoteConfig) -> io::Result<Remote> {
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(&c.bucket)
            .with_region(&c.region)
            .with_access_key_id(&c.access_key_id)
            .with_secret_access_key(&c.secret_access_key)
            // Bounded: a recorder waits for its upload, so an unreachable store
            // must become an error in seconds, not after the default 3 minutes.
            .with_retry(RetryConfig {
                max_retries: 4,
                retry_timeout: Duration::from_secs(20),
                ..RetryConfig::default()
            })
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(60)),
            );
        if let Some(e) = &c.endpoint {
            // An S3-compatible server on the city's own network: path-style
            // requests, and plain HTTP when its URL says so.
            b = b
                .with_endpoint(e)
                .with_allow_http(e.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let store = b.build().map_err(io::Error::other)?;
        Ok(Remote {
            store: Arc::new(store),
            prefix: c.prefix.clone(),
            url: c.url(),
        })
    }

    /// The store's URL and a file's key below it, for messages.
    pub fn shown(&self, name: &str) -> PathBuf {
        PathBuf::from(format!("{}/{name}", self.url))
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn key(&self, name: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(name)
        } else {
            ObjectPath::from(format!("{}/{name}", self.prefix))
        }
    }

    fn run<T: Send + 'static>(
        &self,
        fut: impl Future<Output = object_store::Result<T>> + Send + 'static,
    ) -> io::Result<T> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        runtime()?.spawn(async move {
            let _ = tx.send(fut.await);
        });
        match rx.recv() {
            Ok(r) => r.map_err(io::Error::from),
            Err(_) => Err(io::Error::other("the object store's request was dropped")),
        }
    }

    /// Uploads a finished file as the object `name`, whole (see [`Remote::put`]),
    /// at most [`UPLOADS_AT_ONCE`] files at a time in this process: the file is
    /// read only once its turn has come.
    pub fn put_file(&self, name: &str, path: &std::path::Path) -> io::Result<()> {
        let _slot = UploadSlot::take();
        let (store, key, path) = (self.store.clone(), self.key(name), path.to_path_buf());
        let local = |e: io::Error| object_store::Error::Generic {
            store: "local file",
            source: Box::new(e),
        };
        self.run(async move {
            let size = std::fs::metadata(&path).map_err(local)?.len();
            if size > WHOLE_UP_TO {
                return put_in_parts(store.as_ref(), &key, &path).await;
            }
            // Read on the store's own two threads, so that these large buffers
            // come from their allocator arenas only: read on each recorder's
            // blocking thread, every thread's arena kept a segment's worth
            // after it was freed (measured: 190 MB resident at 32 streams).
            let bytes = std::fs::read(&path).map_err(local)?;
            store.put(&key, PutPayload::from(bytes)).await.map(|_| ())
        })
    }

    /// Writes an object whole (a single PUT: it exists complete or not at all).
    pub fn put(&self, name: &str, bytes: Vec<u8>) -> io::Result<()> {
        let (store, key) = (self.store.clone(), self.key(name));
        self.run(async move { store.put(&key, PutPayload::from(bytes)).await.map(|_| ()) })
    }

    pub fn get_range(&self, name: &str, range: Range<u64>) -> io::Result<Vec<u8>> {
        let (store, key) = (self.store.clone(), self.key(name));
        self.run(async move { store.get_range(&key, range).await.map(|b| b.to_vec()) })
    }

    /// The whole object.
    pub fn get(&self, name: &str) -> io::Result<Vec<u8>> {
        let (store, key) = (self.store.clone(), self.key(name));
        self.run(async move {
            let got = store.get(&key).await?;
            Ok(got.bytes().await?.to_vec())
        })
    }

    /// Deletes an object; a missing one is not an error.
    pub fn delete(&self, name: &str) -> io::Result<()> {
        let (store, key) = (self.store.clone(), self.key(name));
        self.run(async move {
            match store.delete(&key).await {
                Err(object_store::Error::NotFound { .. }) => Ok(()),
                r => r,
            }
        })
    }

    /// Every object below the prefix: (name relative to it, size).
    pub fn list(&self) -> io::Result<Vec<(String, u64)>> {
        let store = self.store.clone();
        let prefix = (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str()));
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        self.run(async move {
            let mut out = Vec::new();
            let mut objects = store.list(prefix.as_ref());
            while let Some(meta) = objects.next().await {
                let meta = meta?;
                let key = meta.location.to_string();
                let name = key.strip_prefix(&strip).unwrap_or(&key).to_string();
                if name
                    .strip_prefix(FILES_DIR)
                    .is_some_and(|rest| rest.starts_with('/'))
                {
                    continue;
                }
                out.push((name, meta.size));
            }
            Ok(out)
        })
    }

    /// Whether the bucket answers with these credentials (a listing of one key).
    pub fn reachable(&self) -> io::Result<()> {
        let store = self.store.clone();
        let prefix = (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str()));
        self.run(async move {
            let mut objects = store.list(prefix.as_ref());
            match objects.next().await {
                Some(Err(e)) => Err(e),
                _ => Ok(()),
            }
        })
    }
}

/// A multipart upload of a large file, read a part at a time; the object exists
/// only once every part is in (an upload that fails is aborted).
async fn put_in_parts(
    store: &dyn ObjectStore,
    key: &ObjectPath,
    path: &std::path::Path,
) -> object_store::Result<()> {
    use std::io::Read;
    let local = |e: io::Error| object_store::Error::Generic {
        store: "local file",
        source: Box::new(e),
    };
    let mut file = std::fs::File::open(path).map_err(local)?;
    let upload = store.put_multipart(key).await?;
    let mut parts = object_store::WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
    let mut buf = vec![0u8; PART_BYTES];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                let _ = parts.abort().await;
                return Err(local(e));
            }
        };
        // At most two parts in flight: memory stays at a few parts.
        if let Err(e) = parts.wait_for_capacity(2).await {
            let _ = parts.abort().await;
            return Err(e);
        }
        parts.write(&buf[..n]);
    }
    parts.finish().await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_url_names_a_bucket_and_a_prefix() {
        assert_eq!(
            RemoteConfig::parse_url("s3://city-video/tottori/main"),
            Some(("city-video".into(), "tottori/main".into()))
        );
        assert_eq!(
            RemoteConfig::parse_url("s3://city-video/"),
            Some(("city-video".into(), String::new()))
        );
        assert_eq!(RemoteConfig::parse_url("s3://Bad_Bucket/x"), None);
        assert_eq!(RemoteConfig::parse_url("dir:"), None);
    }

    // Cameras close their segments together; at most UPLOADS_AT_ONCE of them are
    // read into memory and sent at a time, the others wait their turn.
    #[test]
    fn uploads_take_turns() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let threads: Vec<_> = (0..12)
            .map(|_| {
                let (now, most) = (now.clone(), most.clone());
                std::thread::spawn(move || {
                    let _slot = UploadSlot::take();
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    now.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let most = most.load(Ordering::SeqCst);
        assert!((1..=UPLOADS_AT_ONCE).contains(&most), "{most} at once");
    }

    #[test]
    fn the_secret_is_not_shown() {
        let c = RemoteConfig {
            bucket: "b01".into(),
            prefix: "p".into(),
            endpoint: Some("http://127.0.0.1:8333".into()),
            region: "us-east-1".into(),
            access_key_id: "AKID".into(),
            secret_access_key: "very-secret-value".into(),
        };
        let shown = format!("{c:?}");
        assert!(shown.contains("s3://b01/p") && !shown.contains("very-secret-value"));
    }
}
