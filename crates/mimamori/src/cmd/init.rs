//! `mimamori init`: a new data directory with the policy of a preset, the default
//! config, the catalog and the manager account. Never prompts.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use mimamori_catalog::Catalog;
use mimamori_governance::Actor;
use mimamori_governance::input::{Password, Username};
use mimamori_governance::people::{DesignationText, PersonText};
use mimamori_policy::Policy;

use crate::config::Config;
use crate::datadir::{CATALOG_FILE, CONFIG_FILE, Installation, POLICY_FILE, read_secret, refused};

/// The preset used when none is named: the Chiba guideline is the model for any installer.
pub const DEFAULT_PRESET: &str = "chiba-guideline";

#[derive(clap::Args)]
pub struct Args {
    /// Data directory to create (may exist if empty).
    #[arg(long)]
    pub data: PathBuf,
    /// Policy preset: tottori-city-hall, kitakyushu, chiba-guideline, midori-stations, osaka-nishinari.
    #[arg(long, default_value = DEFAULT_PRESET)]
    pub preset: String,
    /// User name of the manager (管理責任者) account.
    #[arg(long)]
    pub admin: String,
    /// File holding the manager's password.
    #[arg(long)]
    pub admin_password_file: PathBuf,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let password = read_secret(&a.admin_password_file)?;
    initialize(&a.data, &a.preset, &a.admin, &password).await?;
    println!(
        "initialized {} with preset {}; manager account: {}",
        a.data.display(),
        a.preset,
        a.admin
    );
    Ok(ExitCode::SUCCESS)
}

/// Creates the data directory's files. Refuses a directory that already holds a catalog.
pub async fn initialize(
    dir: &Path,
    preset: &str,
    admin: &str,
    password: &str,
) -> anyhow::Result<()> {
    let policy = Policy::preset(preset)?;
    if dir.join(CATALOG_FILE).exists() {
        anyhow::bail!("{} is already initialized", dir.display());
    }
    if admin.trim().is_empty() {
        anyhow::bail!("--admin must not be empty");
    }
    Username::parse(admin).map_err(refused)?;
    Password::parse(password).map_err(refused)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let (master, signing) = Config::default().key_paths(dir);
    crate::datadir::create_keys(&master, &signing)?;
    std::fs::write(dir.join(POLICY_FILE), policy.to_toml())?;
    std::fs::write(dir.join(CONFIG_FILE), Config::default_file())?;
    let catalog = Catalog::open_sqlite(&dir.join(CATALOG_FILE)).await?;
    mimamori_storage::SegmentStore::open(dir)?;
    catalog.close().await;
    // The first manager, designated from the console like anyone after them.
    let inst = Installation::open(dir).await?;
    inst.gov
        .person_create(
            &Actor::console(),
            &PersonText {
                username: admin.trim(),
                display_name: admin.trim(),
                password,
                organization: "",
                designation: DesignationText {
                    role: "manager",
                    valid_from: None,
                    valid_until: None,
                    basis: "",
                },
            },
        )
        .await
        .map_err(refused)?;
    inst.dir.catalog.close().await;
    Ok(())
}
