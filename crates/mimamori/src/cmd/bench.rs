//! `mimamori bench record`: records N RTSP streams into a scratch data directory
//! for a while and reports CPU per stream (% of one core), resident memory per
//! stream and bytes written against bytes received. A measurement, not a test.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mimamori_base::{Clock, SharedClock, SystemClock};
use mimamori_catalog::{CameraSource, NewCamera};
use mimamori_recorder::{RecorderConfig, RecorderContext, StatusHub, start_recorders};

use crate::datadir::DataDir;

#[derive(clap::Args)]
pub struct Args {
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
    let temp = a.data.is_none();
    let data = a.data.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("mimamori-bench-{}", std::process::id()))
    });
    let rss_before = rss_kib();
    if !data.join(crate::datadir::CATALOG_FILE).exists() {
        super::init::initialize(
            &data,
            super::init::DEFAULT_PRESET,
            "bench",
            "bench-password",
        )
        .await?;
    }
    let dir = DataDir::open(&data).await?;
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
    let cams = dir.catalog.cameras().await?;
    let set = start_recorders(
        RecorderContext {
            catalog: dir.catalog.clone(),
            store: dir.store.clone(),
            clock: clock.clone(),
            hub: StatusHub::new(),
            config: RecorderConfig {
                segment_seconds: 10,
                ..RecorderConfig::default()
            },
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
            bytes += s.bytes;
            frames += s.frames;
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
    if temp {
        let _ = std::fs::remove_dir_all(&data);
    }
    Ok(ExitCode::SUCCESS)
}
