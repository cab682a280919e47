//! `mimamori verify`: has any stored byte or catalog row been changed, removed or
//! reordered since it was recorded? Names every failing segment and how, and
//! every record file (request documents, evidence packages, copies of holds, sign
//! photos) that no longer has the content recorded; exit 0 only when everything
//! verifies. The result is kept for the UI.

use std::path::PathBuf;
use std::process::ExitCode;

use mimamori_base::Timestamp;
use mimamori_catalog::keys::KeyRing;
use mimamori_governance::integrity::{VerifyScope, verify, verify_sealed_files};

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
    let ring = KeyRing::new(dir.catalog.clone(), keys.master);
    let report = verify(
        &dir.catalog,
        &dir.store,
        Some(&ring),
        &keys.signer.public_key(),
        Some(&journal),
        &scope,
    )
    .await?;
    // The record files: whole, whatever the scope (they are few, and evidence).
    let files = crate::datadir::files_store(&a.data, &config)?;
    let sealed = dir.catalog.sealed_files().await?;
    let records =
        tokio::task::spawn_blocking(move || verify_sealed_files(&files, &ring, &sealed)).await?;
    let secs = started.elapsed().as_secs_f64();
    for p in &report.problems {
        println!("FAILED: {p}");
    }
    for p in &records.problems {
        println!("FAILED: {p}");
    }
    println!(
        "{} record file(s) ({:.1} MB) checked: request documents, evidence packages, copies of holds, sign photos; {} problem(s)",
        records.files,
        records.bytes as f64 / 1e6,
        records.problems.len()
    );
    let summary = format!(
        "{} segments ({:.1} MB) checked, {} decrypted and matched to their frames, {} erased links, {} signed heads; {} problem(s) in {:.2} s ({:.0} MB/s, {:.0} segments/s)",
        report.segments,
        report.bytes as f64 / 1e6,
        report.opened,
        report.erased_links,
        report.signatures,
        report.problems.len(),
        secs,
        report.bytes as f64 / 1e6 / secs.max(1e-9),
        report.segments as f64 / secs.max(1e-9),
    );
    println!("{summary}");
    let problems = report.problems.len() + records.problems.len();
    let first: Vec<String> = report
        .problems
        .iter()
        .map(|p| p.to_string())
        .chain(records.problems.iter().cloned())
        .take(20)
        .collect();
    dir.catalog
        .verify_run_insert(
            mimamori_base::Clock::now(&*crate::clock::installation_clock()),
            report.segments as i64,
            report.bytes as i64,
            problems as i64,
            &if first.is_empty() {
                summary.clone()
            } else {
                first.join("\n")
            },
        )
        .await?;
    Ok(if problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
