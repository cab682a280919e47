//! `mimamori init`: a new data directory with the policy of a preset, the default
//! config, the catalog (a file in the directory, or an empty PostgreSQL database
//! named by `--catalog`) and the manager account. Never prompts.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use mimamori_catalog::Catalog;
use mimamori_governance::Actor;
use mimamori_governance::input::{Password, Username};
use mimamori_governance::people::{DesignationText, PersonText};
use mimamori_policy::Policy;

use crate::config::{CatalogSection, Config, StoreSection};
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
    /// The catalog's database, when not `catalog.db` in the data directory:
    /// `postgres://user@host:port/database` (an existing, empty database), without
    /// the password.
    #[arg(long, value_name = "URL")]
    pub catalog: Option<String>,
    /// File holding the PostgreSQL password of `--catalog` (or set
    /// MIMAMORI_CATALOG_PASSWORD).
    #[arg(long, requires = "catalog")]
    pub catalog_password_file: Option<PathBuf>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `--store` and its companions (`init`, `migrate`).
#[derive(clap::Args)]
pub struct StoreArgs {
    /// Where finished segments are kept, when not `segments/` in the data
    /// directory: `s3://bucket/prefix` in an S3-compatible object store.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// The S3-compatible server of `--store`, `http(s)://host:port` (absent: AWS).
    #[arg(long, value_name = "URL", requires = "store")]
    pub store_endpoint: Option<String>,
    /// The region of `--store` (default us-east-1).
    #[arg(long, requires = "store")]
    pub store_region: Option<String>,
    /// File with `access_key_id = "…"` and `secret_access_key = "…"` for `--store`
    /// (or set MIMAMORI_S3_ACCESS_KEY_ID and MIMAMORI_S3_SECRET_ACCESS_KEY).
    #[arg(long, requires = "store")]
    pub store_credentials_file: Option<PathBuf>,
}

impl StoreArgs {
    pub fn section(self) -> StoreSection {
        StoreSection {
            url: self.store,
            endpoint: self.store_endpoint,
            region: self.store_region,
            credentials_file: self.store_credentials_file,
        }
    }
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let password = read_secret(&a.admin_password_file)?;
    let catalog = CatalogSection {
        url: a.catalog,
        password_file: a.catalog_password_file,
    };
    let store = a.store.section();
    let shown = initialize_with(&a.data, &a.preset, &a.admin, &password, catalog, store).await?;
    println!(
        "initialized {} with preset {}; catalog: {}; segments: {}; manager account: {}",
        a.data.display(),
        a.preset,
        shown.catalog,
        shown.store,
        a.admin
    );
    Ok(ExitCode::SUCCESS)
}

/// Creates the data directory's files, with the catalog in it. Refuses a
/// directory that already holds a catalog.
pub async fn initialize(
    dir: &Path,
    preset: &str,
    admin: &str,
    password: &str,
) -> anyhow::Result<()> {
    initialize_with(
        dir,
        preset,
        admin,
        password,
        CatalogSection::default(),
        StoreSection::default(),
    )
    .await?;
    Ok(())
}

/// Where `init` put the catalog and the segments, as shown to people.
pub struct Initialized {
    pub catalog: String,
    pub store: String,
}

/// Creates the data directory's files, with the catalog where `catalog` says and
/// the segments where `store` says. Refuses a directory that is initialized
/// already, a catalog that serves an installation already (it has accounts), and
/// an object store that does not answer.
pub async fn initialize_with(
    dir: &Path,
    preset: &str,
    admin: &str,
    password: &str,
    catalog: CatalogSection,
    store: StoreSection,
) -> anyhow::Result<Initialized> {
    let policy = Policy::preset(preset)?;
    if dir.join(CATALOG_FILE).exists() || dir.join(POLICY_FILE).exists() {
        anyhow::bail!("{} is already initialized", dir.display());
    }
    if admin.trim().is_empty() {
        anyhow::bail!("--admin must not be empty");
    }
    Username::parse(admin).map_err(refused)?;
    Password::parse(password).map_err(refused)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let config = Config {
        catalog,
        store,
        ..Config::default()
    };
    // The catalog and the store first: nothing is written here if they cannot be used.
    let remote = config.store()?;
    let segments = mimamori_storage::SegmentStore::open_with(dir, remote.as_ref())?;
    segments
        .reachable()
        .with_context(|| format!("the segment store {}", segments.location()))?;
    let location = config.catalog(dir)?;
    let catalog = Catalog::open(&location.connect)
        .await
        .with_context(|| format!("opening the catalog {}", location.shown))?;
    if catalog.user_count().await? > 0 {
        catalog.close().await;
        anyhow::bail!(
            "the catalog {} already serves an installation (it has accounts): \
             give every installation a database of its own",
            location.shown
        );
    }
    let (master, signing) = config.key_paths(dir);
    crate::datadir::create_keys(&master, &signing)?;
    std::fs::write(dir.join(POLICY_FILE), policy.to_toml())?;
    std::fs::write(dir.join(CONFIG_FILE), config.to_file())?;
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
    Ok(Initialized {
        catalog: location.shown,
        store: segments.location(),
    })
}
