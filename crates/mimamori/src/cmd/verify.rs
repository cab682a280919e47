//! `mimamori verify`: has any stored byte or catalog row been changed, removed or
//! reordered since it was recorded? Names every failing segment and how; exit 0
//! only when everything verifies. The result is kept for the UI.

use std::path::PathBuf;
use std::process::ExitCode;

use mimamori_base::Timestamp;
use mimamori_governance::integrity::{VerifyScope, verify};

use crate::config::Config;
use crate::datadir::{DataDir, load_keys};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub data: PathBuf,
    /// Only this camera (by name).
    #[arg(long)]
    pub camera: Option<String>,
    /// Only files of footage from this time (RFC 3339).
    #[arg(long)]
    pub from: Option<String>,
    /// Only files of footage before this time (RFC 3339).
    #[arg(long)]
    pub to: Option<String>,
}

fn time(name: &str, v: Option<&str>) -> anyhow::Result<Option<Timestamp>> {
    v.map(|s| {
        Timestamp::parse_rfc3339(s).ok_or_else(|| anyhow::anyhow!("--{name}: not an RFC 3339 time"))
    })
    .transpose()
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let config = Config::load(&a.data)?;
    let dir = DataDir::open(&a.data).await?;
    let (mk, sk) = config.key_paths(&a.data);
    let keys = load_keys(&mk, &sk)?;
    let camera = match &a.camera {
        Some(n) => Some(dir.catalog.camera_by_name(n).await?.id),
        None => None,
    };
    let scope = VerifyScope {
        camera,
        from: time("from", a.from.as_deref())?,
        to: time("to", a.to.as_deref())?,
    };
    let started = std::time::Instant::now();
    let journal = config.heads_journal(&a.data);
    let report = verify(
        &dir.catalog,
        &dir.store,
        &keys.signer.public_key(),
        Some(&journal),
        &scope,
    )
    .await?;
    let secs = started.elapsed().as_secs_f64();
    for p in &report.problems {
        println!("FAILED: {p}");
    }
    let summary = format!(
        "{} segments ({:.1} MB) checked, {} erased links, {} signed heads; {} problem(s) in {:.2} s ({:.0} MB/s, {:.0} segments/s)",
        report.segments,
        report.bytes as f64 / 1e6,
        report.erased_links,
        report.signatures,
        report.problems.len(),
        secs,
        report.bytes as f64 / 1e6 / secs.max(1e-9),
        report.segments as f64 / secs.max(1e-9),
    );
    println!("{summary}");
    let first: Vec<String> = report
        .problems
        .iter()
        .take(20)
        .map(|p| p.to_string())
        .collect();
    dir.catalog
        .verify_run_insert(
            mimamori_base::Clock::now(&*crate::clock::installation_clock()),
            report.segments as i64,
            report.bytes as i64,
            report.problems.len() as i64,
            &if first.is_empty() {
                summary.clone()
            } else {
                first.join("\n")
            },
        )
        .await?;
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
