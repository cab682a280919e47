//! `mimamori user add`: accounts from the command line. Until roles arrive every
//! account acts as a manager (管理責任者).

use std::path::PathBuf;
use std::process::ExitCode;

use mimamori_base::{Clock, SystemClock};

use crate::datadir::{DataDir, read_secret};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create an account.
    Add(AddArgs),
}

#[derive(clap::Args)]
pub struct AddArgs {
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long)]
    pub username: String,
    /// File holding the password.
    #[arg(long)]
    pub password_file: PathBuf,
    /// Name shown in the UI (default: the user name).
    #[arg(long)]
    pub display_name: Option<String>,
}

pub async fn run(c: Command) -> anyhow::Result<ExitCode> {
    match c {
        Command::Add(a) => {
            let password = read_secret(&a.password_file)?;
            if password.chars().count() < 8 {
                anyhow::bail!("the password must have at least 8 characters");
            }
            let dir = DataDir::open(&a.data).await?;
            let hash =
                mimamori_web::auth::hash_password(&password).map_err(|e| anyhow::anyhow!(e))?;
            let display = a.display_name.clone().unwrap_or_else(|| a.username.clone());
            let id = dir
                .catalog
                .user_insert(&a.username, &display, &hash, "manager", SystemClock.now())
                .await?;
            println!("added user {id}: {}", a.username);
            Ok(ExitCode::SUCCESS)
        }
    }
}
