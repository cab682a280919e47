//! `mimamori report`: writes the yearly report of a fiscal year (年度) into a
//! directory: `index.html` (a static page for the city's website: no script, no
//! external asset), the same as `report.pdf`, and `report.csv`, from the records
//! of the data directory.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use mimamori_governance::actor::Actor;

use crate::datadir::{Installation, refused};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    pub data: PathBuf,
    /// The fiscal year: 2026 is April 2026 to March 2027.
    #[arg(long)]
    pub fiscal_year: i32,
    /// Where to write index.html, report.pdf and report.csv (created if absent).
    #[arg(long)]
    pub out: PathBuf,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let inst = Installation::open(&a.data).await?;
    let report = inst
        .gov
        .yearly_report(&Actor::console(), a.fiscal_year)
        .await
        .map_err(refused)?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let html = a.out.join("index.html");
    std::fs::write(&html, mimamori_forms::report::report_html(&report))
        .with_context(|| format!("writing {}", html.display()))?;
    let csv = a.out.join("report.csv");
    std::fs::write(&csv, mimamori_forms::report::report_csv(&report))
        .with_context(|| format!("writing {}", csv.display()))?;
    let pdf = a.out.join("report.pdf");
    let laid_out = mimamori_forms::report::report_pdf(&report).context("laying out report.pdf")?;
    std::fs::write(&pdf, laid_out).with_context(|| format!("writing {}", pdf.display()))?;
    let (received, approved, refused) = report.requests_total();
    println!(
        "fiscal year {}: {} cameras, {received} requests ({approved} provided, {refused} refused), {} complaints",
        report.fiscal_year,
        report.cameras.len(),
        report.complaints_received
    );
    println!(
        "wrote {}, {} and {}",
        html.display(),
        pdf.display(),
        csv.display()
    );
    Ok(ExitCode::SUCCESS)
}
