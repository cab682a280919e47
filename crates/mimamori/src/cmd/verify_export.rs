//! `mimamori verify-export PACKAGE`: checks an evidence package offline, as its
//! recipient would — the manifest's signature and key, every file's hash, and
//! that every clip's frames are the frames recorded — without the data
//! directory. Exit 0 when the package is as signed.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::datadir::read_secret;

#[derive(clap::Args)]
pub struct Args {
    /// The package: its ZIP, or the folder it was unpacked into.
    pub package: PathBuf,
    /// The installation's key fingerprint, as printed on the covering letter.
    #[arg(long)]
    pub fingerprint: Option<String>,
    /// A file holding the passphrase of an encrypted package.
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let passphrase = a.passphrase_file.as_deref().map(read_secret).transpose()?;
    let report = tokio::task::spawn_blocking(move || {
        mimamori_evidence::verify::verify_package(
            &a.package,
            passphrase.as_deref(),
            a.fingerprint.as_deref(),
        )
    })
    .await??;
    if let Some(m) = &report.manifest {
        let of = if m.request.kind == "hold" {
            "copy of hold"
        } else {
            "package of request"
        };
        println!(
            "{of} No.{} from {} ({} clip(s))",
            m.request.number,
            m.installer,
            m.clips.len()
        );
    }
    for c in &report.checked {
        println!("ok: {c}");
    }
    for n in &report.notes {
        println!("note: {n}");
    }
    if let Some(f) = &report.fingerprint {
        println!("signing key fingerprint: {f}");
    }
    if report.ok() {
        println!("VALID: every file is as signed, and every clip's frames are the frames recorded");
        Ok(ExitCode::SUCCESS)
    } else {
        for p in &report.problems {
            println!("PROBLEM: {p}");
        }
        println!("INVALID: {} problem(s)", report.problems.len());
        Ok(ExitCode::from(1))
    }
}
