//! `mimamori bench store`: segment write and range-read throughput of the
//! segment store, the data directory and (when named) an S3-compatible store,
//! side by side in one run. A write is what the recorder does with a segment:
//! encrypt and hash in chunks, fsync, rename (and, with an object store, upload
//! whole); a range read is what playback does: fetch the chunks a byte range
//! touches and decrypt them.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mimamori_crypto::{Key, SegmentCipher};
use mimamori_storage::SegmentStore;

#[derive(clap::Args)]
pub struct StoreArgs {
    /// Segment files to write per store.
    #[arg(long, default_value_t = 24)]
    pub files: u32,
    /// Plaintext size of each file, in MiB (a minute at 2 Mbit/s is about 15).
    #[arg(long, default_value_t = 16)]
    pub megabytes: u32,
    /// Random range reads per store.
    #[arg(long, default_value_t = 200)]
    pub reads: u32,
    /// Size of each range read, in KiB (an MP4 body is read in pieces of this order).
    #[arg(long, default_value_t = 1024)]
    pub read_kib: u32,
    /// Also measure this object store: `s3://bucket/prefix` (a prefix of its own:
    /// the bench deletes what it wrote there).
    #[arg(long, value_name = "URL")]
    pub s3: Option<String>,
    /// The object store's endpoint, `http(s)://host:port`.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// The object store's keys (`access_key_id = "…"`, `secret_access_key = "…"`).
    #[arg(long)]
    pub credentials_file: Option<PathBuf>,
}

/// One store's figures.
struct Figures {
    write_mb_s: f64,
    read_mb_s: f64,
    read_median: Duration,
    read_max: Duration,
}

pub async fn run(a: StoreArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(a.files > 0 && a.megabytes > 0 && a.reads > 0 && a.read_kib > 0);
    anyhow::ensure!(
        u64::from(a.read_kib) <= u64::from(a.megabytes) * 1024,
        "--read-kib is larger than a file"
    );
    let remote = match &a.s3 {
        None => None,
        Some(url) => {
            let mut config = crate::config::Config::default();
            config.store = crate::config::StoreSection {
                url: Some(url.clone()),
                endpoint: a.endpoint.clone(),
                region: None,
                credentials_file: a.credentials_file.clone(),
            };
            config.store()?
        }
    };
    let scratch = std::env::temp_dir().join(format!("mimamori-bench-store-{}", std::process::id()));
    let mut stores = vec![("data directory".to_string(), None)];
    if let Some(r) = remote {
        stores.push((r.url(), Some(r)));
    }
    println!(
        "{} files of {} MiB per store, then {} reads of {} KiB at random offsets",
        a.files, a.megabytes, a.reads, a.read_kib
    );
    for (i, (name, remote)) in stores.into_iter().enumerate() {
        let dir = scratch.join(i.to_string());
        let (files, mib, reads, kib) = (a.files, a.megabytes, a.reads, a.read_kib);
        let figures = tokio::task::spawn_blocking(move || -> anyhow::Result<Figures> {
            let store = SegmentStore::open_with(&dir, remote.as_ref())?;
            let figures = measure(&store, files, mib, reads, kib);
            for n in 0..files {
                store.delete(&file_name(n))?;
            }
            figures
        })
        .await??;
        println!(
            "{name}: write {:.0} MB/s; range reads {:.0} MB/s, median {:.1} ms, max {:.1} ms",
            figures.write_mb_s,
            figures.read_mb_s,
            figures.read_median.as_secs_f64() * 1000.0,
            figures.read_max.as_secs_f64() * 1000.0
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(ExitCode::SUCCESS)
}

fn file_name(n: u32) -> String {
    format!("bench/{n:04}.seg")
}

fn cipher_for(key: &Key, name: &str) -> SegmentCipher {
    SegmentCipher::new(key.clone(), [7; 8], name.as_bytes())
}

fn measure(
    store: &SegmentStore,
    files: u32,
    mib: u32,
    reads: u32,
    kib: u32,
) -> anyhow::Result<Figures> {
    let key = Key::generate();
    let plain_len = u64::from(mib) << 20;
    // Frames of a 2 Mbit/s stream at 15 fps, about: 16 KiB, written as received.
    let frame = vec![0x5au8; 16 << 10];
    let t = Instant::now();
    for n in 0..files {
        let name = file_name(n);
        let mut w = store.create(&name, cipher_for(&key, &name))?;
        let mut left = plain_len;
        while left > 0 {
            let piece = left.min(frame.len() as u64) as usize;
            w.append(&frame[..piece])?;
            left -= piece as u64;
        }
        w.finish()?;
        // As once the catalog holds the row: an object store's local copy goes.
        store.forget_journal(&name)?;
    }
    let write_mb_s = (plain_len * u64::from(files)) as f64 / t.elapsed().as_secs_f64() / 1e6;
    let len = (kib as usize) << 10;
    let mut times = Vec::with_capacity(reads as usize);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let t = Instant::now();
    for _ in 0..reads {
        // xorshift: the offsets need only be spread, not secret.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let name = file_name((seed % u64::from(files)) as u32);
        let offset = (seed >> 20) % (plain_len - len as u64 + 1);
        let started = Instant::now();
        let got = store.read_range(&name, &cipher_for(&key, &name), plain_len, offset, len)?;
        times.push(started.elapsed());
        anyhow::ensure!(got.len() == len && got.iter().all(|b| *b == 0x5a));
    }
    let read_mb_s = (len as u64 * u64::from(reads)) as f64 / t.elapsed().as_secs_f64() / 1e6;
    times.sort();
    Ok(Figures {
        write_mb_s,
        read_mb_s,
        read_median: times[times.len() / 2],
        read_max: times[times.len() - 1],
    })
}
