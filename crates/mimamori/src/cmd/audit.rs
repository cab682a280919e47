//! `mimamori audit verify`: proves that no audit entry was changed, removed,
//! inserted or reordered, and that the signed heads hold; with `--published`,
//! also that the log still agrees with the heads a yearly report published.
//! Exit 0 only when intact.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::Config;
use crate::datadir::{DataDir, load_keys};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Verify the audit log's chain and signatures.
    Verify(VerifyArgs),
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    #[arg(long)]
    pub data: PathBuf,
    /// A yearly report's report.csv: its published signed heads are checked
    /// against the log as it is now.
    #[arg(long)]
    pub published: Option<PathBuf>,
}

pub async fn run(c: Command) -> anyhow::Result<ExitCode> {
    match c {
        Command::Verify(a) => {
            let config = Config::load(&a.data)?;
            let dir = DataDir::open(&a.data).await?;
            let (mk, sk) = config.key_paths(&a.data);
            let keys = load_keys(&mk, &sk)?;
            let started = std::time::Instant::now();
            let journal = config.heads_journal(&a.data);
            let (n, problems) = mimamori_governance::integrity::verify_audit(
                &dir.catalog,
                &keys.signer.public_key(),
                Some(&journal),
            )
            .await?;
            let mut problems: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            if let Some(csv) = &a.published {
                let bytes = std::fs::read(csv)
                    .map_err(|e| anyhow::anyhow!("reading {}: {e}", csv.display()))?;
                let (key, heads) = mimamori_forms::report::published_heads(&bytes)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", csv.display()))?;
                let heads: Vec<_> = heads
                    .into_iter()
                    .map(|h| (h.seq, h.head_hex, h.at, h.signature_hex))
                    .collect();
                let found = mimamori_governance::integrity::check_published_heads(
                    &dir.catalog,
                    &keys.signer.public_key(),
                    &key,
                    &heads,
                )
                .await?;
                println!(
                    "{} published head(s) of {} checked against the log; {} problem(s)",
                    heads.len(),
                    csv.display(),
                    found.len()
                );
                problems.extend(found);
            }
            let secs = started.elapsed().as_secs_f64();
            for p in &problems {
                println!("FAILED: {p}");
            }
            println!(
                "{n} audit entries checked in {secs:.2} s ({:.0} entries/s); {} problem(s)",
                n as f64 / secs.max(1e-9),
                problems.len()
            );
            Ok(if problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}
