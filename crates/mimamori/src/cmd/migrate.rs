//! `mimamori migrate`: moves an installation's catalog into another database
//! (SQLite → PostgreSQL, or back) and/or its finished segments from the data
//! directory into an S3-compatible object store, without losing a row or a
//! segment or breaking a chain. The catalog: every row is copied with its ids,
//! hashes and links in one transaction of the target and the counts are compared.
//! The segments: each file is uploaded whole and read back to compare. Only when
//! every copy is checked is `config.toml` pointed at the new places (the old one is
//! kept beside it); then the old SQLite file (it holds the data keys, which must go
//! when their footage expires) and the local segment files are removed, and the
//! move is written to the audit log. Interrupted before that, the site is as it was.
//!
//! A stopped site is moved by this command itself; a running one by its server
//! ([`crate::cmd::migrate_running`]), which this command asks and follows.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use mimamori_catalog::Catalog;
use mimamori_governance::{Actor, AuditLog, Entry};
use mimamori_storage::{RemoteConfig, SegmentStore};

use crate::cmd::init::StoreArgs;
use crate::cmd::migrate_running::ask_running_server;
use crate::config::{CatalogSection, Config};
use crate::datadir::{CONFIG_FILE, LOCK_FILE};

#[derive(clap::Args)]
pub struct Args {
    /// The data directory that moves (its server running or stopped).
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
    /// How long to wait for a running server to finish the move.
    #[arg(long, default_value_t = 3600)]
    pub wait_seconds: u64,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    let config_path = a.data.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&config_path)
        .with_context(|| format!("{} is not a mimamori data directory", a.data.display()))?;
    let config: Config =
        toml::from_str(&text).with_context(|| format!("{} is invalid", config_path.display()))?;
    let mut target = config.clone();
    if let Some(to) = &a.to {
        target.catalog = CatalogSection {
            url: Some(to.clone()),
            password_file: a.to_password_file.clone(),
        };
    }
    if a.store.store.is_some() {
        target.store = a.store.section();
    }
    let plan = Plan::new(&a.data, &config, target)?;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(a.data.join(LOCK_FILE))
        .with_context(|| format!("opening {}", a.data.join(LOCK_FILE).display()))?;
    if lock.try_lock().is_err() {
        drop(lock);
        return ask_running_server(&a.data, &plan, Duration::from_secs(a.wait_seconds)).await;
    }
    let summary = move_stopped_site(&a.data, &text, &plan).await?;
    drop(lock);
    println!("{summary}");
    println!(
        "check it: mimamori verify --data {d} && mimamori audit verify --data {d}",
        d = a.data.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// What moves where.
#[derive(Clone)]
pub struct Plan {
    pub(crate) target: Config,
    /// The new catalog, when it moves.
    pub(crate) catalog: Option<CatalogMove>,
    /// The object store, when the segments move into one.
    pub(crate) store: Option<RemoteConfig>,
}

#[derive(Clone)]
pub(crate) struct CatalogMove {
    from_shown: String,
    pub(crate) from_connect: String,
    pub(crate) to_connect: String,
    pub(crate) to_shown: String,
}

impl Plan {
    pub(crate) fn new(data: &Path, config: &Config, target: Config) -> anyhow::Result<Plan> {
        let (from, to) = (config.catalog(data)?, target.catalog(data)?);
        let catalog = (to.connect != from.connect).then_some(CatalogMove {
            from_shown: from.shown,
            from_connect: from.connect,
            to_connect: to.connect,
            to_shown: to.shown,
        });
        let store = match (config.store()?, target.store()?) {
            (Some(r), Some(_)) if target.store.url != config.store.url => {
                anyhow::bail!(
                    "the segments are in {} already: moving between object stores is not supported",
                    r.url()
                )
            }
            (None, Some(t)) => Some(t),
            _ => None,
        };
        if catalog.is_none() && store.is_none() {
            anyhow::bail!(
                "nothing to move: the catalog and the segments are where --to and --store say"
            );
        }
        Ok(Plan {
            target,
            catalog,
            store,
        })
    }
}

/// The move of a stopped site, by this command.
pub(crate) async fn move_stopped_site(
    data: &Path,
    old_text: &str,
    plan: &Plan,
) -> anyhow::Result<String> {
    let local = SegmentStore::open(data)?;
    let moved_segments = match &plan.store {
        Some(remote) => {
            refuse_unfinished(&local)?;
            let store = open_remote(data, remote)?;
            let files = local.finished_local_files()?;
            refuse_foreign_objects(&store, &files, &HashSet::new())?;
            Some(copy_segments(&local, &store, &files)?)
        }
        None => None,
    };
    let moved_catalog = match &plan.catalog {
        Some(m) => {
            let source = Catalog::open(&m.from_connect)
                .await
                .with_context(|| format!("opening the catalog {}", m.from_shown))?;
            let copied = copy_catalog(&source, m).await?;
            source.close().await;
            Some(total(&copied))
        }
        None => None,
    };
    let mut done = Vec::new();
    if let Some(rows) = moved_catalog {
        done.push(catalog_line(plan, rows));
    }
    if let Some(files) = &moved_segments {
        done.push(segments_line(&local, plan, files));
    }
    point_at_new_places(
        data,
        old_text,
        plan,
        &local,
        moved_segments.as_deref(),
        &done,
    )
    .await
}

/// The last step of either way: `config.toml` names the new places (the old one
/// kept beside it), the old SQLite catalog and the copied local files go, and
/// the move is on the record in the catalog the site now uses.
pub(crate) async fn point_at_new_places(
    data: &Path,
    old_text: &str,
    plan: &Plan,
    local: &SegmentStore,
    moved_files: Option<&[(String, u64)]>,
    done: &[String],
) -> anyhow::Result<String> {
    if let Some(remote) = &plan.store {
        // The files other than segments (request documents, packages, sign
        // photos) go to the store too; their local copies go at the next start.
        let files = SegmentStore::open_files(
            &data.join(crate::datadir::PROVISIONS_DIR),
            Some(&remote.for_files()),
        )?;
        let uploaded = files.upload_local_files()?;
        println!(
            "{uploaded} request documents, packages and sign photos are in {}",
            files.location()
        );
    }
    let config_path = data.join(CONFIG_FILE);
    let before = data.join(format!("{CONFIG_FILE}.before-migrate"));
    std::fs::write(&before, old_text).with_context(|| format!("writing {}", before.display()))?;
    replace_file(&config_path, &plan.target.to_file())?;
    println!(
        "{} now names the new places (the old configuration: {})",
        config_path.display(),
        before.display()
    );
    if let Some(m) = &plan.catalog {
        remove_sqlite_catalog(&m.from_connect)?;
    }
    if let Some(files) = moved_files {
        // The local copies go only now that the configuration names the store.
        let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
        local.remove_local_files(&names)?;
        println!("removed the {} local segment files", names.len());
    }
    let location = plan.target.catalog(data)?;
    let catalog = Catalog::open(&location.connect)
        .await
        .with_context(|| format!("opening the catalog {}", location.shown))?;
    AuditLog::new(catalog.clone(), Arc::new(mimamori_base::SystemClock))
        .record(
            &Actor::console(),
            Entry::new("installation_migrated", done.join("; ")),
        )
        .await?;
    catalog.close().await;
    Ok(format!("moved: {}", done.join("; ")))
}

pub(crate) fn catalog_line(plan: &Plan, rows: i64) -> String {
    let m = plan
        .catalog
        .as_ref()
        .map_or(("", ""), |m| (m.from_shown.as_str(), m.to_shown.as_str()));
    format!("catalog {} → {} ({rows} rows)", m.0, m.1)
}

pub(crate) fn segments_line(local: &SegmentStore, plan: &Plan, files: &[(String, u64)]) -> String {
    let bytes: u64 = files.iter().map(|(_, s)| s).sum();
    format!(
        "segments {} → {} ({} files, {bytes} bytes, each read back and compared)",
        local.root().display(),
        plan.store
            .as_ref()
            .map(RemoteConfig::url)
            .unwrap_or_default(),
        files.len(),
    )
}

/// Copies the catalog (one snapshot of it) into the new one, every row, and
/// compares the new one's counts with the snapshot's; returns the rows copied
/// per table.
pub(crate) async fn copy_catalog(source: &Catalog, m: &CatalogMove) -> anyhow::Result<RowCounts> {
    let dest = Catalog::open(&m.to_connect)
        .await
        .with_context(|| format!("opening the new catalog {}", m.to_shown))?;
    let copied = source
        .copy_into(&dest)
        .await
        .with_context(|| format!("copying {} into {}", m.from_shown, m.to_shown))?;
    let arrived = dest.row_counts().await?;
    dest.close().await;
    if arrived != copied {
        anyhow::bail!(
            "the new catalog {} does not hold what {} did; nothing was changed here",
            m.to_shown,
            m.from_shown
        );
    }
    let rows: i64 = copied.iter().map(|(_, n)| n).sum();
    println!(
        "copied {rows} rows of {} tables from {} into {}",
        copied.len(),
        m.from_shown,
        m.to_shown
    );
    Ok(copied)
}

pub(crate) type RowCounts = Vec<(&'static str, i64)>;

pub(crate) fn total(counts: &RowCounts) -> i64 {
    counts.iter().map(|(_, n)| n).sum()
}

/// The old SQLite catalog goes: it holds the wrapped data keys, which must be
/// destroyed when their footage expires — in the new catalog from now on.
pub(crate) fn remove_sqlite_catalog(connect: &str) -> anyhow::Result<()> {
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

pub(crate) fn refuse_unfinished(local: &SegmentStore) -> anyhow::Result<()> {
    let unfinished = local.unfinished_local_files()?;
    if let Some(first) = unfinished.first() {
        anyhow::bail!(
            "{} holds {} segment(s) still being written ({first} …): start mimamori once so that \
             it recovers them, stop it, and migrate then",
            local.root().display(),
            unfinished.len(),
        );
    }
    Ok(())
}

/// The object store named, answering.
pub(crate) fn open_remote(data: &Path, remote: &RemoteConfig) -> anyhow::Result<SegmentStore> {
    let store = SegmentStore::open_with(data, Some(remote))?;
    store
        .reachable()
        .with_context(|| format!("the segment store {}", store.location()))?;
    Ok(store)
}

/// Objects of another installation must not mix with ours: the store may hold
/// only objects named like our local files (an earlier, interrupted move) or
/// like the catalog's segments (`ours`).
pub(crate) fn refuse_foreign_objects(
    store: &SegmentStore,
    files: &[(String, u64)],
    ours: &HashSet<String>,
) -> anyhow::Result<()> {
    let r = store.remote().context("the object store")?;
    let local: HashSet<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let foreign: Vec<_> = r
        .list()
        .with_context(|| format!("listing {}", r.url()))?
        .into_iter()
        .filter(|(n, _)| !local.contains(n.as_str()) && !ours.contains(n))
        .collect();
    if let Some((n, _)) = foreign.first() {
        anyhow::bail!(
            "{} already holds {} object(s) that are not this site's ({n} …): give every \
             installation a prefix of its own",
            r.url(),
            foreign.len()
        );
    }
    Ok(())
}

/// Uploads these finished segments into the object store, each read back and
/// compared; returns those copied (a file erased meanwhile is left out).
pub(crate) fn copy_segments(
    local: &SegmentStore,
    store: &SegmentStore,
    files: &[(String, u64)],
) -> anyhow::Result<Vec<(String, u64)>> {
    let r = store.remote().context("the object store")?;
    let total: u64 = files.iter().map(|(_, s)| s).sum();
    println!(
        "copying {} segment files ({total} bytes) into {}",
        files.len(),
        r.url()
    );
    let copied = local.copy_local_files_into(r, files, |done, total| {
        if done % 100 == 0 || done == total {
            println!("  {done}/{total}");
        }
    })?;
    Ok(copied)
}

/// Writes `path` whole or not at all: a file beside it, renamed over it.
pub(crate) fn replace_file(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".new");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {}", tmp.display()))
}
