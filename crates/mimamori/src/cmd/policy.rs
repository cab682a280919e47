//! `mimamori policy`: check an edited policy file before restarting the server, and
//! print what a preset enforces (roles, permissions, terminals, purposes).

use std::path::PathBuf;
use std::process::ExitCode;

use mimamori_policy::Policy;

use crate::datadir::POLICY_FILE;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Check `policy.toml` of a data directory: exit 0 when it can be enforced, else each problem with its line.
    Check(CheckArgs),
    /// Print a preset's policy file (or, with --data, the one in force) with a summary of who may do what.
    Show(ShowArgs),
}

#[derive(clap::Args)]
pub struct CheckArgs {
    #[arg(long)]
    pub data: PathBuf,
}

#[derive(clap::Args)]
pub struct ShowArgs {
    #[arg(long, conflicts_with = "data")]
    pub preset: Option<String>,
    #[arg(long)]
    pub data: Option<PathBuf>,
}

fn read(data: &std::path::Path) -> anyhow::Result<Policy> {
    let path = data.join(POLICY_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    Ok(Policy::from_toml(&path.display().to_string(), &text)?)
}

/// Who may do what: one line per role.
fn summary(p: &Policy) -> String {
    let mut out = format!("{} — {}\n", p.installer, p.regulation);
    for w in p.warnings() {
        out.push_str(&format!("  warning: {w}\n"));
    }
    for (kind, rule) in &p.roles {
        let perms: Vec<&str> = rule.permissions.iter().map(|x| x.as_str()).collect();
        out.push_str(&format!(
            "  {:<10} {}: {}{}{}\n",
            kind.as_str(),
            rule.title,
            perms.join(", "),
            if rule.requires_instruction {
                " [under instruction]"
            } else if rule.requires_agreement {
                " [under an agreement]"
            } else {
                ""
            },
            if rule.totp_required { " [TOTP]" } else { "" },
        ));
    }
    let bound: Vec<&str> = p.access.terminal_bound.iter().map(|x| x.as_str()).collect();
    out.push_str(&format!("  terminal-bound: {}\n", bound.join(", ")));
    for t in &p.terminals {
        out.push_str(&format!(
            "  terminal {}: networks [{}], certificates {}, roles [{}]\n",
            t.name,
            t.networks.join(", "),
            t.client_certificates.len(),
            t.roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let purposes: Vec<&str> = p.purposes.iter().map(|x| x.id.as_str()).collect();
    out.push_str(&format!("  purposes: {}\n", purposes.join(", ")));
    out
}

pub async fn run(c: Command) -> anyhow::Result<ExitCode> {
    match c {
        Command::Check(a) => match read(&a.data) {
            Ok(p) => {
                print!("{}", summary(&p));
                println!("policy OK");
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("{e}");
                Ok(ExitCode::FAILURE)
            }
        },
        Command::Show(a) => {
            let p = match (&a.preset, &a.data) {
                (_, Some(d)) => read(d)?,
                (Some(name), None) => Policy::preset(name)?,
                (None, None) => anyhow::bail!("--preset NAME or --data DIR"),
            };
            println!("{}", p.to_toml());
            for line in summary(&p).lines() {
                println!("# {line}");
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
