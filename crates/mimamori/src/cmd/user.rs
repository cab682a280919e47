//! `mimamori user`: accounts from the command line (the first manager, recovery):
//! add a person with a designation, enroll a TOTP second factor, set a forgotten
//! password, list people. The same operations as the manager's pages, with the
//! console as actor.

use std::path::PathBuf;
use std::process::ExitCode;

use mimamori_governance::Actor;
use mimamori_governance::people::{DesignationText, PersonText};

use crate::datadir::{Installation, read_secret, refused};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create an account with its first designation.
    Add(AddArgs),
    /// Enroll a TOTP second factor and print the secret for an authenticator app.
    Totp(TotpArgs),
    /// List people with their role now.
    List(ListArgs),
    /// Set a person's password (a forgotten one); their sessions end.
    Password(PasswordArgs),
}

#[derive(clap::Args)]
pub struct PasswordArgs {
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long)]
    pub username: String,
    /// File holding the new password.
    #[arg(long)]
    pub password_file: PathBuf,
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
    /// manager, operator, temporary, contractor, auditor, sysadmin or police (as the policy allows).
    #[arg(long, default_value = "manager")]
    pub role: String,
    /// Company of a contractor or outsourced operator (empty: the installer's staff).
    #[arg(long, default_value = "")]
    pub organization: String,
    /// Last day of the designation (YYYY-MM-DD, Japan time); required for temporary designees.
    #[arg(long)]
    pub until: Option<String>,
    /// Why this designation (default: the role's article); a temporary designee
    /// states why the manager and the operators cannot operate (Kitakyushu 第3条2).
    #[arg(long, default_value = "")]
    pub basis: String,
}

#[derive(clap::Args)]
pub struct TotpArgs {
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long)]
    pub username: String,
}

#[derive(clap::Args)]
pub struct ListArgs {
    #[arg(long)]
    pub data: PathBuf,
}

pub async fn run(c: Command) -> anyhow::Result<ExitCode> {
    let console = Actor::console();
    match c {
        Command::Add(a) => {
            let password = read_secret(&a.password_file)?;
            let inst = Installation::open(&a.data).await?;
            let id = inst
                .gov
                .person_create(
                    &console,
                    &PersonText {
                        username: &a.username,
                        display_name: a.display_name.as_deref().unwrap_or(""),
                        password: &password,
                        organization: &a.organization,
                        designation: DesignationText {
                            role: &a.role,
                            valid_from: None,
                            valid_until: a.until.as_deref(),
                            basis: &a.basis,
                        },
                    },
                )
                .await
                .map_err(refused)?;
            let title = mimamori_governance::people::parse_role(&a.role)
                .map(|r| inst.policy.role_title(r))
                .unwrap_or_default();
            println!("added user {id}: {} ({title})", a.username);
            Ok(ExitCode::SUCCESS)
        }
        Command::Totp(a) => {
            let inst = Installation::open(&a.data).await?;
            let secret = inst
                .gov
                .totp_set(&console, &a.username)
                .await
                .map_err(refused)?;
            println!("secret: {}", mimamori_crypto::totp::base32(&secret));
            println!(
                "uri:    {}",
                mimamori_crypto::totp::otpauth_uri("mimamori", &a.username, &secret)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Password(a) => {
            let password = read_secret(&a.password_file)?;
            let inst = Installation::open(&a.data).await?;
            let ended = inst
                .gov
                .password_set(&console, &a.username, &password)
                .await
                .map_err(refused)?;
            println!("password of {} set; {ended} session(s) ended", a.username);
            Ok(ExitCode::SUCCESS)
        }
        Command::List(a) => {
            let inst = Installation::open(&a.data).await?;
            for (u, role) in inst.gov.people_now(&console).await.map_err(refused)? {
                let role = role
                    .map(|k| inst.policy.role_title(k))
                    .unwrap_or_else(|| "(not designated)".into());
                println!(
                    "{}\t{}\t{}\t{}",
                    u.username, u.display_name, role, u.organization
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
