//! `mimamori bench`: measurements, not tests.
//! - `record`: records N RTSP streams into a scratch data directory for a while and
//!   reports CPU per stream (% of one core), resident memory per stream and bytes
//!   written against media bytes received.
//! - `mp4`: time to the first byte of a 1-hour MP4 over HTTP, from a synthetic hour
//!   of one-minute segments, and the time of a day's recordings query; optionally
//!   in a catalog already holding many cameras' days of one-minute rows.
//! - `store`: segment write and range-read throughput (see `bench_store`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mimamori_base::{Clock, SharedClock, SystemClock};
use mimamori_catalog::{CameraSource, NewCamera};
use mimamori_recorder::{
    RecorderConfig, RecorderContext, StatusHub, dedicated_runtime, start_recorders,
};

use crate::datadir::DataDir;

#[derive(clap::Subcommand)]
pub enum Args {
    /// Recording cost per stream.
    Record(RecordArgs),
    /// Time to the first byte of a 1-hour MP4.
    Mp4(Mp4Args),
    /// One retention sweep over many segments.
    Sweep(SweepArgs),
    /// Cost of encryption and hashing per recorded stream.
    Crypto,
    /// Audit append and verify throughput.
    Audit(AuditArgs),
    /// Evidence package build and verify throughput.
    Export(super::bench_export::ExportArgs),
    /// Segment write and range-read throughput: the data directory, and an
    /// S3-compatible store when named.
    Store(super::bench_store::StoreArgs),
}

#[derive(clap::Args)]
pub struct RecordArgs {
    /// URL pattern with `{n}` for the stream number, e.g. rtsp://127.0.0.1:18554/cam{n}
    #[arg(long)]
    pub url: String,
    /// Number of streams.
    #[arg(long, default_value_t = 8)]
    pub streams: u32,
    /// Seconds to measure (after a 5 s warm-up).
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Scratch data directory (default: a temporary one, removed afterwards).
    #[arg(long)]
    pub data: Option<PathBuf>,
}

/// A data directory for one benchmark, with its keys; removed on drop unless kept.
struct Scratch {
    data: PathBuf,
    dir: DataDir,
    keys: crate::datadir::Keys,
    remove: bool,
}

impl Scratch {
    /// `keep`: a directory to use (and keep) instead of a temporary one;
    /// `catalog`: an empty PostgreSQL database for the catalog instead of SQLite.
    async fn new(
        tag: &str,
        preset: &str,
        keep: Option<PathBuf>,
        catalog: Option<String>,
    ) -> anyhow::Result<Scratch> {
        let remove = keep.is_none();
        let data = keep.unwrap_or_else(|| {
            std::env::temp_dir().join(format!("mimamori-bench-{tag}-{}", std::process::id()))
        });
        if !data.join(crate::datadir::POLICY_FILE).exists() {
            let catalog = crate::config::CatalogSection {
                url: catalog,
                password_file: None,
            };
            super::init::initialize_with(
                &data,
                preset,
                "bench",
                "bench-password",
                catalog,
                crate::config::StoreSection::default(),
            )
            .await?;
        }
        let dir = DataDir::open(&data).await?;
        let (mk, sk) = crate::config::Config::default().key_paths(&data);
        let keys = crate::datadir::load_keys(&mk, &sk)?;
        Ok(Scratch {
            data,
            dir,
            keys,
            remove,
        })
    }

    fn keyring(&self) -> Arc<mimamori_catalog::keys::KeyRing> {
        Arc::new(mimamori_catalog::keys::KeyRing::new(
            self.dir.catalog.clone(),
            self.keys.master.clone(),
        ))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_dir_all(&self.data);
            let _ = std::fs::remove_dir_all(crate::config::default_keys_dir(&self.data));
        }
    }
}

fn proc_cpu_ticks() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1.to_string();
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    match a {
        Args::Record(r) => record(r).await,
        Args::Mp4(m) => mp4(m).await,
        Args::Sweep(a) => sweep(a).await,
        Args::Crypto => crypto(),
        Args::Audit(a) => audit(a).await,
        Args::Export(a) => super::bench_export::run(a).await,
        Args::Store(a) => super::bench_store::run(a).await,
    }
}

async fn record(a: RecordArgs) -> anyhow::Result<ExitCode> {
    let rss_before = rss_kib();
    let scratch = Scratch::new("record", super::init::DEFAULT_PRESET, a.data.clone(), None).await?;
    let dir = &scratch.dir;
    for n in 1..=a.streams {
        let url = a.url.replace("{n}", &n.to_string());
        dir.catalog
            .camera_insert(
                &NewCamera {
                    name: format!("bench{n}"),
                    source: CameraSource::Rtsp {
                        main_url: url,
                        sub_url: None,
                        username: None,
                        password: None,
                    },
                    record_audio: false,
                },
                SystemClock.now(),
            )
            .await?;
    }
    let clock: SharedClock = Arc::new(SystemClock);
    let keyring = scratch.keyring();
    let cams = dir.catalog.cameras().await?;
    let set = start_recorders(
        RecorderContext {
            catalog: dir.catalog.clone(),
            rows: mimamori_recorder::RowJournal::open(
                dir.catalog.clone(),
                mimamori_recorder::context::CatalogRuntime::new(tokio::runtime::Handle::current()),
                dir.store.clone(),
                clock.clone(),
                &scratch.data.join(mimamori_recorder::rows::JOURNAL_DIR),
            )?,
            store: dir.store.clone(),
            keys: keyring,
            clock: clock.clone(),
            hub: StatusHub::new(),
            config: RecorderConfig::default(),
            runtime: dedicated_runtime()?,
        },
        &cams,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (t0, c0) = (Instant::now(), proc_cpu_ticks());
    let from = clock.now();
    tokio::time::sleep(Duration::from_secs(a.seconds)).await;
    let (t1, c1) = (Instant::now(), proc_cpu_ticks());
    let rss = rss_kib();
    set.stop_all().await;
    let to = clock.now();
    let mut bytes = 0i64;
    let mut frames = 0i64;
    for c in &cams {
        for s in dir
            .catalog
            .segments_overlapping(c.id, mimamori_catalog::StreamKind::Main, from, to)
            .await?
        {
            bytes += s.recorded.bytes;
            frames += s.recorded.frames;
        }
    }
    let files: u64 = dir.store.list_files()?.iter().map(|(_, n)| n).sum();
    let hz = 100.0; // USER_HZ on Linux
    let cpu = (c1 - c0) as f64 / hz / (t1 - t0).as_secs_f64() * 100.0;
    println!(
        "streams={} seconds={} cpu={:.2}% of one core ({:.3}%/stream) rss={} MiB ({:.2} MiB/stream above start) frames_stored={} media_bytes={} file_bytes={} overhead={:.4}%",
        a.streams,
        a.seconds,
        cpu,
        cpu / f64::from(a.streams),
        rss / 1024,
        (rss.saturating_sub(rss_before)) as f64 / 1024.0 / f64::from(a.streams),
        frames,
        bytes,
        files,
        if bytes > 0 {
            (files as f64 - bytes as f64).max(0.0) / bytes as f64 * 100.0
        } else {
            0.0
        },
    );
    dir.catalog.close().await;
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct Mp4Args {
    /// Requests to time.
    #[arg(long, default_value_t = 20)]
    pub requests: u32,
    /// The catalog in this empty PostgreSQL database instead of SQLite.
    #[arg(long, value_name = "URL")]
    pub catalog: Option<String>,
    /// Cameras in the catalog (the one measured and others), each with `--days` of
    /// one-minute segment rows before the measured hour (rows only: no files).
    #[arg(long, default_value_t = 1)]
    pub cameras: u32,
    /// Days of one-minute rows per camera before the measured hour (at most 29:
    /// the preset keeps 30 days, and the sweeper must not erase them meanwhile).
    #[arg(long, default_value_t = 0)]
    pub days: u32,
}

/// A camera named `bench<n>` with rows only: an RTSP camera at a closed port of
/// this machine, so that `serve` does not spend the benchmark's CPU making
/// test patterns for it (its recorder finds nothing there and waits).
async fn bench_camera(
    dir: &DataDir,
    n: impl std::fmt::Display,
) -> anyhow::Result<mimamori_base::CameraId> {
    Ok(dir
        .catalog
        .camera_insert(
            &NewCamera {
                name: format!("bench{n}"),
                source: CameraSource::Rtsp {
                    main_url: "rtsp://127.0.0.1:9/closed".into(),
                    sub_url: None,
                    username: None,
                    password: None,
                },
                record_audio: false,
            },
            SystemClock.now(),
        )
        .await?)
}

/// One-minute rows (no files) for `minutes` before `until`, for one camera, in
/// batches of 10,000.
async fn history_rows(
    dir: &DataDir,
    keyring: &mimamori_catalog::keys::KeyRing,
    cam: mimamori_base::CameraId,
    params: i64,
    until: mimamori_base::Timestamp,
    minutes: i64,
) -> anyhow::Result<u64> {
    use mimamori_catalog::{NewSegment, StreamKind};
    let first = until.add_micros(-minutes * 60_000_000);
    let mut batch = Vec::with_capacity(10_000);
    for m in 0..minutes {
        let start = first.add_micros(m * 60_000_000);
        let (key_id, _) = keyring.key_for_write(cam, start, start).await?;
        batch.push(NewSegment {
            camera_id: cam,
            stream: StreamKind::Main,
            run_start: first,
            start,
            end: start.add_micros(60_000_000),
            duration_90k: 60 * 90_000,
            frames: 900,
            key_frames: 30,
            bytes: 15_000_000,
            video_params_id: params,
            file_name: mimamori_storage::SegmentStore::file_name_for(cam, "main", start),
            sample_index: Vec::new(),
            stored_digest: vec![0; 32],
            stored_bytes: mimamori_crypto::encrypted_len(15_000_000) as i64,
            data_key_id: key_id,
            nonce_prefix: vec![0; 8],
            frames_digest: Vec::new(),
            digest_kind: mimamori_crypto::frames::DigestKind::CURRENT,
        });
        if batch.len() == 10_000 {
            dir.catalog.segment_insert_batch(&batch).await?;
            batch.clear();
        }
    }
    dir.catalog.segment_insert_batch(&batch).await?;
    Ok(minutes as u64)
}

/// One hour at 15 fps, a key frame every 2 s, in 60 one-minute segments.
async fn mp4(a: Mp4Args) -> anyhow::Result<ExitCode> {
    use mimamori_base::Timestamp;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let scratch = Scratch::new("mp4", super::init::DEFAULT_PRESET, None, a.catalog.clone()).await?;
    let (data, dir) = (scratch.data.clone(), &scratch.dir);
    // Viewing states a purpose (REQ-PUR-1): the preset's first.
    let purpose = mimamori_policy::Policy::preset(super::init::DEFAULT_PRESET)?
        .purposes
        .first()
        .map(|p| p.id.clone())
        .unwrap_or_default();
    let keyring = scratch.keyring();
    let cam = dir
        .catalog
        .camera_insert(
            &NewCamera {
                name: "bench".into(),
                source: CameraSource::TestPattern,
                record_audio: false,
            },
            SystemClock.now(),
        )
        .await?;
    let params = super::synthetic::synthetic_video_params(&dir.catalog).await?;
    // Two hours ago: footage within every preset's retention (the sweeper runs in `serve`).
    let t0 = Timestamp(SystemClock.now().0 / 1_000_000 * 1_000_000 - 2 * 3_600_000_000);
    anyhow::ensure!(a.days <= 29, "--days: at most 29");
    let filled = Instant::now();
    let minutes = i64::from(a.days) * 1440;
    let mut rows = history_rows(dir, &keyring, cam, params, t0, minutes).await?;
    for c in 1..a.cameras {
        let other = bench_camera(dir, c).await?;
        rows += history_rows(dir, &keyring, other, params, t0, minutes).await?;
    }
    if rows > 0 {
        println!(
            "catalog: {rows} one-minute rows of {} cameras × {} days written in {:.1} s",
            a.cameras,
            a.days,
            filled.elapsed().as_secs_f64()
        );
    }
    for m in 0..60i64 {
        // Sizes do not change the moov's size, only the mdat's: keep the files small.
        let frames = (0..900u32).map(|f| {
            let key = f % 30 == 0;
            (vec![0u8; if key { 600 } else { 147 }], key)
        });
        let at = super::synthetic::Minute {
            camera: cam,
            params,
            run_start: t0,
            start: t0.add_micros(m * 60_000_000),
        };
        super::synthetic::synthetic_segment(&dir.catalog, &dir.store, &keyring, at, frames, 6_000)
            .await?;
    }
    dir.catalog.close().await;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let data2 = data.clone();
    let server = tokio::spawn(async move {
        let _ = super::serve::serve(&data2, Some("127.0.0.1:0"), move |addr| {
            let _ = tx.send(addr);
        })
        .await;
    });
    let addr = rx.await?;
    async fn request(
        addr: std::net::SocketAddr,
        req: String,
    ) -> anyhow::Result<(std::time::Duration, Vec<u8>)> {
        let t = Instant::now();
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(req.as_bytes()).await?;
        let mut buf = vec![0u8; 64 * 1024];
        let n = s.read(&mut buf).await?;
        let first = t.elapsed();
        buf.truncate(n);
        Ok((first, buf))
    }
    let body = r#"{"username":"bench","password":"bench-password"}"#;
    let (_, resp) = request(
        addr,
        format!(
            "POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await?;
    let text = String::from_utf8_lossy(&resp);
    let cookie = text
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .ok_or_else(|| anyhow::anyhow!("login failed: {text}"))?
        .to_string();
    let start = t0.to_rfc3339(chrono_utc());
    let end = t0.add_micros(3_600_000_000).to_rfc3339(chrono_utc());
    let mut times = Vec::new();
    let mut head_len = 0;
    for _ in 0..a.requests {
        let (d, resp) = request(
            addr,
            format!(
                "GET /api/cameras/{cam}/video.mp4?start={start}&end={end}&purpose={purpose} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
            ),
        )
        .await?;
        if !resp.starts_with(b"HTTP/1.1 200") {
            anyhow::bail!(
                "unexpected answer: {}",
                String::from_utf8_lossy(&resp[..resp.len().min(300)])
            );
        }
        head_len = resp.len();
        times.push(d);
    }
    times.sort();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    println!(
        "1-hour MP4 (54000 frames in 60 segments): time to first byte median {:.1} ms, min {:.1} ms, max {:.1} ms over {} requests (first read {} bytes)",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1]),
        times.len(),
        head_len
    );
    // The timeline of the day before the measured hour's end (1,440 rows with a
    // history), whole answer read.
    let day_from = t0.add_micros(-23 * 3_600_000_000).to_rfc3339(chrono_utc());
    let mut query = Vec::new();
    let mut answer_len = 0;
    for _ in 0..a.requests {
        let t = Instant::now();
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(
            format!(
                "GET /api/cameras/{cam}/recordings?from={}&to={} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n",
                urlencode(&day_from),
                urlencode(&end)
            )
            .as_bytes(),
        )
        .await?;
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).await?;
        query.push(t.elapsed());
        if !resp.starts_with(b"HTTP/1.1 200") {
            anyhow::bail!(
                "unexpected answer: {}",
                String::from_utf8_lossy(&resp[..resp.len().min(300)])
            );
        }
        answer_len = resp.len();
    }
    query.sort();
    println!(
        "a day's recordings query: median {:.1} ms, min {:.1} ms, max {:.1} ms over {} requests ({} bytes)",
        ms(query[query.len() / 2]),
        ms(query[0]),
        ms(query[query.len() - 1]),
        query.len(),
        answer_len
    );
    server.abort();
    Ok(ExitCode::SUCCESS)
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

fn chrono_utc() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(0).unwrap_or_else(mimamori_base::time::jst)
}

#[derive(clap::Args)]
pub struct SweepArgs {
    /// Segments in the catalog before the sweep.
    #[arg(long, default_value_t = 1_000_000)]
    pub segments: u64,
    /// Cameras they belong to.
    #[arg(long, default_value_t = 10)]
    pub cameras: u64,
    /// The catalog in this empty PostgreSQL database instead of SQLite.
    #[arg(long, value_name = "URL")]
    pub catalog: Option<String>,
}

/// One-minute segments going back in time from now, retention 14 days (Tottori):
/// times one sweep that erases everything older.
async fn sweep(a: SweepArgs) -> anyhow::Result<ExitCode> {
    let scratch = Scratch::new("sweep", "tottori-city-hall", None, a.catalog.clone()).await?;
    let dir = &scratch.dir;
    let keyring = scratch.keyring();
    let params = dir
        .catalog
        .video_params_id("avc1.64001F", 1280, 720, b"entry", &[2; 32])
        .await?;
    let now = SystemClock.now();
    let per_camera = a.segments / a.cameras.max(1);
    let t_insert = Instant::now();
    for c in 0..a.cameras {
        let cam = bench_camera(dir, c).await?;
        history_rows(dir, &keyring, cam, params, now, per_camera as i64).await?;
    }
    let inserted = t_insert.elapsed();
    let mut policy = mimamori_policy::Policy::preset("tottori-city-hall")?;
    policy.storage.min_free_bytes = 0; // measure retention, not disk pressure
    let sweeper = mimamori_governance::retention::Sweeper::new(
        dir.catalog.clone(),
        dir.store.clone(),
        keyring,
        Arc::new(policy),
        Arc::new(SystemClock),
    );
    let t = Instant::now();
    let report = sweeper.sweep_once().await?;
    let took = t.elapsed().as_secs_f64();
    println!(
        "sweep over {} segments ({} cameras): erased {} segments and destroyed {} keys in {:.1} s ({:.0} segments/s); setup took {:.1} s",
        per_camera * a.cameras,
        a.cameras,
        report.expired_segments,
        report.keys_destroyed,
        took,
        report.expired_segments as f64 / took.max(1e-9),
        inserted.as_secs_f64()
    );
    dir.catalog.close().await;
    Ok(ExitCode::SUCCESS)
}

/// What the segment writer computes per recorded byte, without the write: the
/// frame into the chunk, the capture-time commitment (BLAKE3 of the plaintext,
/// a chunk at a time), each full chunk sealed in place (AES-256-GCM), the stored
/// file's digest (BLAKE3 over the tags); then the writer as it was before, and
/// each part alone, to show which one limits. Frames as a 2 Mbit/s, 15 fps
/// camera sends them: a 128 KiB key frame, then 29 of 13 KB.
fn crypto() -> anyhow::Result<ExitCode> {
    use mimamori_crypto::frames::{DigestKind, FramesCommitment};
    use mimamori_crypto::{CHUNK, SegmentCipher, StoredDigest, TAG};
    let cipher = SegmentCipher::new(mimamori_crypto::Key::generate(), [1; 8], b"bench");
    let frames: Vec<Vec<u8>> = (0..30u8)
        .map(|i| vec![i ^ 0x5a; if i == 0 { 128 << 10 } else { 13_000 }])
        .collect();
    let per_gop: usize = frames.iter().map(Vec::len).sum();
    let total = 512usize << 20;
    let gops = total / per_gop;
    let bytes = (gops * per_gop) as f64;
    // One segment's worth of work, as the writer of `kind` does it; MB/s.
    let writer = |kind: DigestKind, in_place: bool| -> anyhow::Result<f64> {
        let t = Instant::now();
        let mut commitment = FramesCommitment::new(kind);
        let mut stored = StoredDigest::new(kind);
        let mut chunk = Vec::with_capacity(CHUNK + TAG);
        let mut no = 0u32;
        let mut seal = |chunk: &mut Vec<u8>, stored: &mut StoredDigest| -> anyhow::Result<()> {
            if !kind.per_frame() {
                // The frames as one input, a whole chunk at a time.
                commitment.push(chunk);
            }
            if in_place {
                cipher
                    .seal_in_place(no, false, chunk)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                stored.chunk(chunk);
            } else {
                // Before issue 11: sealed into a new buffer.
                let ct = cipher
                    .seal(no, false, chunk)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                stored.chunk(&ct);
            }
            chunk.clear();
            no += 1;
            Ok(())
        };
        let mut frame_commitment = FramesCommitment::new(kind);
        for _ in 0..gops {
            for f in &frames {
                if kind.per_frame() {
                    frame_commitment.push(f);
                }
                let mut rest = &f[..];
                while !rest.is_empty() {
                    if chunk.len() == CHUNK {
                        seal(&mut chunk, &mut stored)?;
                    }
                    let n = (CHUNK - chunk.len()).min(rest.len());
                    chunk.extend_from_slice(&rest[..n]);
                    rest = &rest[n..];
                }
            }
        }
        if !chunk.is_empty() {
            seal(&mut chunk, &mut stored)?;
        }
        std::hint::black_box((
            commitment.finish(),
            frame_commitment.finish(),
            stored.finish(),
        ));
        Ok(bytes / t.elapsed().as_secs_f64() / 1e6)
    };
    let part = |f: &dyn Fn(&[u8])| -> f64 {
        let t = Instant::now();
        for _ in 0..gops {
            for fr in &frames {
                f(fr);
            }
        }
        bytes / t.elapsed().as_secs_f64() / 1e6
    };
    let now = writer(DigestKind::Blake3Tree, true)?;
    let per_frame = writer(DigestKind::Blake3, true)?;
    let before = writer(DigestKind::Sha256, false)?;
    println!(
        "segment writer, encryption + integrity (AES-256-GCM in place, BLAKE3 of the plaintext a chunk at a time, BLAKE3 over the chunk tags): {now:.0} MB/s on one core, {:.4} % of one core per 2 Mbit/s stream",
        250_000.0 / (now * 1e6) * 100.0
    );
    println!(
        "  with BLAKE3 of each frame instead (record v3): {per_frame:.0} MB/s; now/that {:.2}x",
        now / per_frame
    );
    println!(
        "  as before issue 11 (AES-256-GCM into a new buffer, SHA-256 of each frame and of the stored file): {before:.0} MB/s; now/before {:.2}x",
        now / before
    );
    let chunk = vec![0x5au8; CHUNK];
    let aes = {
        let mut buf = Vec::with_capacity(CHUNK + TAG);
        let n = total / CHUNK;
        let t = Instant::now();
        for i in 0..n {
            buf.clear();
            buf.extend_from_slice(&chunk);
            cipher
                .seal_in_place(i as u32, false, &mut buf)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        (n * CHUNK) as f64 / t.elapsed().as_secs_f64() / 1e6
    };
    let blake3 = part(&|f| {
        std::hint::black_box(mimamori_crypto::frames::frame_digest(DigestKind::Blake3, f));
    });
    let sha256 = part(&|f| {
        std::hint::black_box(mimamori_crypto::frames::frame_digest(DigestKind::Sha256, f));
    });
    let blake3_chunks = {
        let t = Instant::now();
        let mut h = FramesCommitment::new(DigestKind::Blake3Tree);
        for _ in 0..total / CHUNK {
            h.push(&chunk);
        }
        std::hint::black_box(h.finish());
        total as f64 / t.elapsed().as_secs_f64() / 1e6
    };
    println!(
        "  parts: AES-256-GCM in place {aes:.0} MB/s; BLAKE3 of 64 KiB chunks {blake3_chunks:.0} MB/s; BLAKE3 of frames {blake3:.0} MB/s; SHA-256 of frames {sha256:.0} MB/s"
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct AuditArgs {
    /// Entries to append.
    #[arg(long, default_value_t = 5_000)]
    pub entries: u64,
}

/// Appends entries one by one through the audit writer (each durable, as in
/// service), then verifies the chain.
async fn audit(a: AuditArgs) -> anyhow::Result<ExitCode> {
    let scratch = Scratch::new("audit", super::init::DEFAULT_PRESET, None, None).await?;
    let (dir, keys) = (&scratch.dir, &scratch.keys);
    // Through the one writer every operation uses.
    let log = mimamori_governance::AuditLog::new(dir.catalog.clone(), Arc::new(SystemClock));
    let actor = mimamori_governance::Actor::console();
    let t = Instant::now();
    for i in 0..a.entries {
        log.record(
            &actor,
            mimamori_governance::Entry::new("playback", format!("entry {i}"))
                .camera(mimamori_base::CameraId(1)),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let append = t.elapsed().as_secs_f64();
    mimamori_governance::integrity::sign_audit_head(
        &dir.catalog,
        &keys.signer,
        None,
        SystemClock.now(),
    )
    .await?;
    let t = Instant::now();
    let (n, problems) =
        mimamori_governance::integrity::verify_audit(&dir.catalog, &keys.signer.public_key(), None)
            .await?;
    let verify = t.elapsed().as_secs_f64();
    println!(
        "audit: appended {} entries in {:.1} s ({:.0} entries/s, each committed durably); verified {} in {:.2} s ({:.0} entries/s); {} problem(s)",
        a.entries,
        append,
        a.entries as f64 / append.max(1e-9),
        n,
        verify,
        n as f64 / verify.max(1e-9),
        problems.len()
    );
    dir.catalog.close().await;
    Ok(ExitCode::SUCCESS)
}
