//! `mimamori user`: accounts from the command line (the first manager, recovery):
//! add a person with a designation, enroll a TOTP second factor, list people.

use std::path::PathBuf;
use std::process::ExitCode;

use mimamori_base::{Clock, SystemClock};
use mimamori_catalog::people::NewPerson;
use mimamori_governance::access::{DesignationRequest, create_person};
use mimamori_policy::RoleKind;

use crate::datadir::{DataDir, read_secret};

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
    /// manager, operator, temporary, contractor, auditor or sysadmin (as the policy allows).
    #[arg(long, default_value = "manager")]
    pub role: String,
    /// Company of a contractor or outsourced operator (empty: the installer's staff).
    #[arg(long, default_value = "")]
    pub organization: String,
    /// Last day of the designation (YYYY-MM-DD, Japan time); required for temporary designees.
    #[arg(long)]
    pub until: Option<String>,
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
    match c {
        Command::Add(a) => {
            let password = read_secret(&a.password_file)?;
            if password.chars().count() < 8 {
                anyhow::bail!("the password must have at least 8 characters");
            }
            let dir = DataDir::open(&a.data).await?;
            let policy = dir.policy()?;
            let role = RoleKind::parse(&a.role)
                .ok_or_else(|| anyhow::anyhow!("--role {:?}: unknown role", a.role))?;
            let now = SystemClock.now();
            let display = a.display_name.clone().unwrap_or_else(|| a.username.clone());
            let req = DesignationRequest {
                role,
                valid_from: now,
                valid_until: a
                    .until
                    .as_deref()
                    .map(|v| mimamori_web::people::parse_day_or_time("--until", v, true))
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("{}", e.message))?,
                basis: policy
                    .role(role)
                    .map(|r| r.basis.clone())
                    .unwrap_or_default(),
            };
            let hash =
                mimamori_web::auth::hash_password(&password).map_err(|e| anyhow::anyhow!(e))?;
            let id = create_person(
                &dir.catalog,
                &policy,
                &NewPerson {
                    username: &a.username,
                    display_name: &display,
                    password_hash: &hash,
                    organization: &a.organization,
                },
                &req,
                None,
                now,
            )
            .await?
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            dir.catalog
                .record_event(
                    None,
                    "designated",
                    &format!(
                        "{} created from the command line as {}",
                        a.username,
                        policy.role_title(role)
                    ),
                    now,
                )
                .await?;
            println!(
                "added user {id}: {} ({})",
                a.username,
                policy.role_title(role)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Totp(a) => {
            let dir = DataDir::open(&a.data).await?;
            let user = dir
                .catalog
                .user_by_name(&a.username)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no user {:?}", a.username))?;
            let secret = mimamori_crypto::totp::new_secret();
            dir.catalog.user_set_totp(user.id, Some(&secret)).await?;
            dir.catalog
                .record_event(
                    None,
                    "totp_enrolled",
                    &format!("{}: second factor set from the command line", a.username),
                    SystemClock.now(),
                )
                .await?;
            println!("secret: {}", mimamori_crypto::totp::base32(&secret));
            println!(
                "uri:    {}",
                mimamori_crypto::totp::otpauth_uri("mimamori", &a.username, &secret)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Password(a) => {
            let password = read_secret(&a.password_file)?;
            if password.chars().count() < 8 {
                anyhow::bail!("the password must have at least 8 characters");
            }
            let dir = DataDir::open(&a.data).await?;
            let user = dir
                .catalog
                .user_by_name(&a.username)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no user {:?}", a.username))?;
            let hash =
                mimamori_web::auth::hash_password(&password).map_err(|e| anyhow::anyhow!(e))?;
            dir.catalog.user_set_password(user.id, &hash).await?;
            let ended = dir.catalog.sessions_end_others(user.id, &[]).await?;
            dir.catalog
                .record_event(
                    None,
                    "password_changed",
                    &format!(
                        "{}: password set from the command line; {ended} session(s) ended",
                        a.username
                    ),
                    SystemClock.now(),
                )
                .await?;
            println!("password of {} set; {ended} session(s) ended", a.username);
            Ok(ExitCode::SUCCESS)
        }
        Command::List(a) => {
            let dir = DataDir::open(&a.data).await?;
            let policy = dir.policy()?;
            let now = SystemClock.now();
            for u in dir.catalog.users().await? {
                let role = dir
                    .catalog
                    .designation_at(u.id, now)
                    .await?
                    .and_then(|d| RoleKind::parse(&d.role))
                    .map(|k| policy.role_title(k))
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
