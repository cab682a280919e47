//! `mimamori audit verify`: proves that no audit entry was changed, removed,
//! inserted or reordered, and that the signed heads hold. Exit 0 only when intact.

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
