//! `mimamori migrate`: moves a stopped installation's catalog into another
//! database (SQLite → PostgreSQL, or back) without losing a row or breaking a
//! chain: every row is copied with its ids, hashes and links in one transaction
//! of the target, the counts are compared, `config.toml` is pointed at the new
//! catalog, and the old SQLite file is removed (it holds the data keys, which
//! must go when their footage expires). Segments stay where they are.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use mimamori_catalog::Catalog;

use crate::config::{CatalogSection, Config};
use crate::datadir::{CONFIG_FILE, LOCK_FILE};

#[derive(clap::Args)]
pub struct Args {
    /// The data directory whose catalog moves (its server stopped).
    #[arg(long)]
    pub data: PathBuf,
    /// The new catalog: `postgres://user@host:port/database` (an existing, empty
    /// database), without the password; or `sqlite:///path/catalog.db`.
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// File holding the new catalog's PostgreSQL password (or set
    /// MIMAMORI_CATALOG_PASSWORD).
    #[arg(long)]
    pub to_password_file: Option<PathBuf>,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let config_path = a.data.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&config_path)
        .with_context(|| format!("{} is not a mimamori data directory", a.data.display()))?;
    let mut config: Config =
        toml::from_str(&text).with_context(|| format!("{} is invalid", config_path.display()))?;
    // The server must be stopped: rows it wrote during the copy would be lost.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(a.data.join(LOCK_FILE))
        .with_context(|| format!("opening {}", a.data.join(LOCK_FILE).display()))?;
    if lock.try_lock().is_err() {
        anyhow::bail!(
            "mimamori is serving {}: stop it first (the copy must see every row)",
            a.data.display()
        );
    }
    let from = config.catalog(&a.data)?;
    let target_config = Config {
        catalog: CatalogSection {
            url: Some(a.to.clone()),
            password_file: a.to_password_file.clone(),
        },
        ..config.clone()
    };
    let to = target_config.catalog(&a.data)?;
    if to.connect == from.connect {
        anyhow::bail!("the catalog is at {} already", to.shown);
    }
    let source = Catalog::open(&from.connect)
        .await
        .with_context(|| format!("opening the catalog {}", from.shown))?;
    let target = Catalog::open(&to.connect)
        .await
        .with_context(|| format!("opening the new catalog {}", to.shown))?;
    let copied = source
        .copy_into(&target)
        .await
        .with_context(|| format!("copying {} into {}", from.shown, to.shown))?;
    let counted = target.row_counts().await?;
    if counted != source.row_counts().await? {
        anyhow::bail!(
            "the new catalog {} does not hold what {} does; nothing was changed here",
            to.shown,
            from.shown
        );
    }
    source.close().await;
    target.close().await;

    // Point the installation at the new catalog (the old config kept beside it).
    let before = a.data.join(format!("{CONFIG_FILE}.before-migrate"));
    std::fs::write(&before, &text).with_context(|| format!("writing {}", before.display()))?;
    config.catalog = target_config.catalog;
    let new_text = config.to_file();
    let tmp = a.data.join(format!("{CONFIG_FILE}.new"));
    std::fs::write(&tmp, new_text)?;
    std::fs::rename(&tmp, &config_path)?;

    let rows: i64 = copied.iter().map(|(_, n)| n).sum();
    println!(
        "copied {rows} rows of {} tables from {} into {}; {} now names the new catalog \
         (the old one: {})",
        copied.len(),
        from.shown,
        to.shown,
        config_path.display(),
        before.display()
    );
    // The old SQLite catalog goes: it holds the wrapped data keys, which must be
    // destroyed when their footage expires — in the new catalog from now on.
    if let Some(file) = mimamori_catalog::sqlite_path(&from.connect) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = file.clone().into_os_string();
            p.push(suffix);
            let p = PathBuf::from(p);
            if p.exists() {
                std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
            }
        }
        println!(
            "removed the old catalog {}: its data keys live in the new one only",
            file.display()
        );
    }
    println!(
        "check it: mimamori verify --data {d} && mimamori audit verify --data {d}",
        d = a.data.display()
    );
    drop(lock);
    Ok(ExitCode::SUCCESS)
}
