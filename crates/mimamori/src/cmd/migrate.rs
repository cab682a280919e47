//! `mimamori migrate`: moves a stopped installation's catalog into another
//! database (SQLite → PostgreSQL, or back) and/or its finished segments from the
//! data directory into an S3-compatible object store, without losing a row or a
//! segment or breaking a chain. The catalog: every row is copied with its ids,
//! hashes and links in one transaction of the target and the counts are compared.
//! The segments: each file is uploaded whole and read back to compare. Only when
//! every copy is checked is `config.toml` pointed at the new places (the old one is
//! kept beside it); then the old SQLite file (it holds the data keys, which must go
//! when their footage expires) and the local segment files are removed, and the
//! move is written to the audit log. Interrupted before that, the site is as it was.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use mimamori_catalog::Catalog;
use mimamori_governance::{Actor, AuditLog, Entry};
use mimamori_storage::SegmentStore;

use crate::cmd::init::StoreArgs;
use crate::config::{CatalogSection, Config};
use crate::datadir::{CONFIG_FILE, LOCK_FILE};

#[derive(clap::Args)]
pub struct Args {
    /// The data directory that moves (its server stopped).
    #[arg(long)]
    pub data: PathBuf,
    /// The new catalog: `postgres://user@host:port/database` (an existing, empty
    /// database), without the password; or `sqlite:///path/catalog.db`.
    #[arg(long, value_name = "URL", required_unless_present = "store")]
    pub to: Option<String>,
    /// File holding the new catalog's PostgreSQL password (or set
    /// MIMAMORI_CATALOG_PASSWORD).
    #[arg(long, requires = "to")]
    pub to_password_file: Option<PathBuf>,
    /// The segments' new place (`--store s3://bucket/prefix`, with its endpoint,
    /// region and credentials as for `init`).
    #[command(flatten)]
    pub store: StoreArgs,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let config_path = a.data.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&config_path)
        .with_context(|| format!("{} is not a mimamori data directory", a.data.display()))?;
    let config: Config =
        toml::from_str(&text).with_context(|| format!("{} is invalid", config_path.display()))?;
    // The server must be stopped: rows and segments it wrote during the copy would be lost.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(a.data.join(LOCK_FILE))
        .with_context(|| format!("opening {}", a.data.join(LOCK_FILE).display()))?;
    if lock.try_lock().is_err() {
        anyhow::bail!(
            "mimamori is serving {}: stop it first (the copy must see every row and segment)",
            a.data.display()
        );
    }
    let mut target = config.clone();
    if let Some(to) = &a.to {
        target.catalog = CatalogSection {
            url: Some(to.clone()),
            password_file: a.to_password_file.clone(),
        };
    }
    let moves_store = a.store.store.is_some();
    if moves_store {
        target.store = a.store.section();
    }

    // Every copy first, each checked; nothing here changes until all are.
    let moved_segments = if moves_store {
        Some(copy_segments(&a.data, &config, &target)?)
    } else {
        None
    };
    let moved_catalog = match &a.to {
        Some(_) => Some(copy_catalog(&a.data, &config, &target).await?),
        None => None,
    };

    // Point the installation at the new places (the old config kept beside it).
    let before = a.data.join(format!("{CONFIG_FILE}.before-migrate"));
    std::fs::write(&before, &text).with_context(|| format!("writing {}", before.display()))?;
    let tmp = a.data.join(format!("{CONFIG_FILE}.new"));
    std::fs::write(&tmp, target.to_file())?;
    std::fs::rename(&tmp, &config_path)?;
    println!(
        "{} now names the new places (the old configuration: {})",
        config_path.display(),
        before.display()
    );

    let mut done = Vec::new();
    if let Some(m) = &moved_catalog {
        remove_sqlite_catalog(&m.from_connect)?;
        done.push(format!(
            "catalog {} → {} ({} rows)",
            m.from_shown, m.to_shown, m.rows
        ));
    }
    if let Some(m) = &moved_segments {
        // The local copies go only now that the configuration names the store.
        SegmentStore::open(&a.data)?.remove_local_files(&m.names)?;
        println!("removed the {} local segment files", m.names.len());
        done.push(format!(
            "segments {} → {} ({} files, {} bytes, each read back and compared)",
            m.from,
            m.to,
            m.names.len(),
            m.bytes
        ));
    }
    // The move itself is on the record, in the catalog the site now uses.
    let location = target.catalog(&a.data)?;
    let catalog = Catalog::open(&location.connect)
        .await
        .with_context(|| format!("opening the catalog {}", location.shown))?;
    AuditLog::new(
        catalog.clone(),
        std::sync::Arc::new(mimamori_base::SystemClock),
    )
    .record(
        &Actor::console(),
        Entry::new("installation_migrated", done.join("; ")),
    )
    .await?;
    catalog.close().await;
    println!(
        "check it: mimamori verify --data {d} && mimamori audit verify --data {d}",
        d = a.data.display()
    );
    drop(lock);
    Ok(ExitCode::SUCCESS)
}

struct MovedCatalog {
    from_connect: String,
    from_shown: String,
    to_shown: String,
    rows: i64,
}

/// Copies the catalog into the target's, every row, and compares the counts.
async fn copy_catalog(
    data: &std::path::Path,
    config: &Config,
    target: &Config,
) -> anyhow::Result<MovedCatalog> {
    let from = config.catalog(data)?;
    let to = target.catalog(data)?;
    if to.connect == from.connect {
        anyhow::bail!("the catalog is at {} already", to.shown);
    }
    let source = Catalog::open(&from.connect)
        .await
        .with_context(|| format!("opening the catalog {}", from.shown))?;
    let dest = Catalog::open(&to.connect)
        .await
        .with_context(|| format!("opening the new catalog {}", to.shown))?;
    let copied = source
        .copy_into(&dest)
        .await
        .with_context(|| format!("copying {} into {}", from.shown, to.shown))?;
    if dest.row_counts().await? != source.row_counts().await? {
        anyhow::bail!(
            "the new catalog {} does not hold what {} does; nothing was changed here",
            to.shown,
            from.shown
        );
    }
    source.close().await;
    dest.close().await;
    let rows: i64 = copied.iter().map(|(_, n)| n).sum();
    println!(
        "copied {rows} rows of {} tables from {} into {}",
        copied.len(),
        from.shown,
        to.shown
    );
    Ok(MovedCatalog {
        from_connect: from.connect,
        from_shown: from.shown,
        to_shown: to.shown,
        rows,
    })
}

/// The old SQLite catalog goes: it holds the wrapped data keys, which must be
/// destroyed when their footage expires — in the new catalog from now on.
fn remove_sqlite_catalog(connect: &str) -> anyhow::Result<()> {
    let Some(file) = mimamori_catalog::sqlite_path(connect) else {
        return Ok(());
    };
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
    Ok(())
}

struct MovedSegments {
    names: Vec<String>,
    bytes: u64,
    from: String,
    to: String,
}

/// Uploads every finished segment of the data directory into the target's object
/// store, each read back and compared.
fn copy_segments(
    data: &std::path::Path,
    config: &Config,
    target: &Config,
) -> anyhow::Result<MovedSegments> {
    if let Some(r) = config.store()? {
        anyhow::bail!("the segments are in {} already", r.url());
    }
    let remote = target
        .store()?
        .context("--store must name an object store (s3://bucket/prefix)")?;
    let local = SegmentStore::open(data)?;
    let unfinished = local.unfinished_local_files()?;
    if !unfinished.is_empty() {
        anyhow::bail!(
            "{} holds {} segment(s) still being written ({} …): start mimamori once so that \
             it recovers them, stop it, and migrate then",
            local.root().display(),
            unfinished.len(),
            unfinished[0]
        );
    }
    let files = local.finished_local_files()?;
    let store = SegmentStore::open_with(data, Some(&remote))?;
    store
        .reachable()
        .with_context(|| format!("the segment store {}", store.location()))?;
    let r = store.remote().context("the object store")?;
    // Objects of another installation must not mix with ours.
    let ours: std::collections::HashSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let foreign: Vec<_> = r
        .list()
        .with_context(|| format!("listing {}", r.url()))?
        .into_iter()
        .filter(|(n, _)| !ours.contains(n.as_str()))
        .collect();
    if let Some((n, _)) = foreign.first() {
        anyhow::bail!(
            "{} already holds {} object(s) that are not this site's ({n} …): give every \
             installation a prefix of its own",
            r.url(),
            foreign.len()
        );
    }
    let total_bytes: u64 = files.iter().map(|(_, s)| s).sum();
    println!(
        "copying {} segment files ({total_bytes} bytes) into {}",
        files.len(),
        r.url()
    );
    let (count, bytes) = local.copy_local_into(r, |done, total| {
        if done % 100 == 0 || done == total {
            println!("  {done}/{total}");
        }
    })?;
    anyhow::ensure!(
        count == files.len(),
        "copied {count} files of {}",
        files.len()
    );
    Ok(MovedSegments {
        names: files.into_iter().map(|(n, _)| n).collect(),
        bytes,
        from: local.root().display().to_string(),
        to: r.url().to_string(),
    })
}
