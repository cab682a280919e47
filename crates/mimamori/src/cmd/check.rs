//! `mimamori check`: does the catalog agree with the segment files? Every catalog
//! row must have its file at the recorded size with a readable sample index that
//! adds up; every finished file must be in the catalog. Exit 0 only when so.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::datadir::DataDir;

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub data: PathBuf,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let dir = DataDir::open(&a.data).await?;
    let report = mimamori_governance::integrity::check(&dir.catalog, &dir.store).await?;
    for n in &report.notes {
        println!("note: {n}");
    }
    if report.problems.is_empty() {
        println!(
            "consistent: {} segments, every file present at its recorded size",
            report.segments
        );
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &report.problems {
            println!("PROBLEM: {p}");
        }
        println!(
            "{} problem(s) in {} segments",
            report.problems.len(),
            report.segments
        );
        Ok(ExitCode::from(1))
    }
}
