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
//! A stopped site is moved by this command itself. A running one is moved by its
//! server ([`switch_over`]), asked through a request file in the data directory
//! ([`REQUEST_FILE`]) and followed through a status file ([`STATUS_FILE`]): the
//! segments are copied while it records and serves as usual; then it stops
//! serving pages, keeps the rows of what it records for the new catalog (the
//! recorders go on), copies the catalog, stops its recorders, copies the last
//! segments, points `config.toml` at the new places and starts again on them,
//! handing the kept rows to the new catalog. The cameras are not recorded only
//! for that restart, a few seconds, which the timeline shows as a gap.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use mimamori_base::TaskHandle;
use mimamori_base::task::{StopSignal, sleep_or_stop};
use mimamori_catalog::Catalog;
use mimamori_catalog::copy::LIVENESS_TABLES;
use mimamori_governance::{Actor, AuditLog, Entry};
use mimamori_recorder::{RecorderSet, RowJournal};
use mimamori_storage::{RemoteConfig, SegmentStore};

use crate::cmd::init::StoreArgs;
use crate::config::{CatalogSection, Config};
use crate::datadir::{CONFIG_FILE, Installation, LOCK_FILE};

/// The request a `migrate` of a running site leaves for its server: the
/// configuration the installation is to have.
pub const REQUEST_FILE: &str = "migrate-request.toml";
/// The request once its server took it (kept for the record).
const TAKEN_FILE: &str = "migrate-request.taken.toml";
/// What the server reports of the move, a line a step; the last one starts with
/// `done:` or `failed:`.
pub const STATUS_FILE: &str = "migrate-status.txt";
/// How often a server looks for a request.
const WATCH_EVERY: Duration = Duration::from_secs(1);

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
    target: Config,
    /// The new catalog, when it moves.
    catalog: Option<CatalogMove>,
    /// The object store, when the segments move into one.
    store: Option<RemoteConfig>,
}

#[derive(Clone)]
struct CatalogMove {
    from_shown: String,
    from_connect: String,
    to_connect: String,
    to_shown: String,
}

impl Plan {
    fn new(data: &Path, config: &Config, target: Config) -> anyhow::Result<Plan> {
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
async fn move_stopped_site(data: &Path, old_text: &str, plan: &Plan) -> anyhow::Result<String> {
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
async fn point_at_new_places(
    data: &Path,
    old_text: &str,
    plan: &Plan,
    local: &SegmentStore,
    moved_files: Option<&[(String, u64)]>,
    done: &[String],
) -> anyhow::Result<String> {
    let config_path = data.join(CONFIG_FILE);
    let before = data.join(format!("{CONFIG_FILE}.before-migrate"));
    std::fs::write(&before, old_text).with_context(|| format!("writing {}", before.display()))?;
    let tmp = data.join(format!("{CONFIG_FILE}.new"));
    std::fs::write(&tmp, plan.target.to_file())?;
    std::fs::rename(&tmp, &config_path)?;
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

fn catalog_line(plan: &Plan, rows: i64) -> String {
    let m = plan
        .catalog
        .as_ref()
        .map_or(("", ""), |m| (m.from_shown.as_str(), m.to_shown.as_str()));
    format!("catalog {} → {} ({rows} rows)", m.0, m.1)
}

fn segments_line(local: &SegmentStore, plan: &Plan, files: &[(String, u64)]) -> String {
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
async fn copy_catalog(source: &Catalog, m: &CatalogMove) -> anyhow::Result<RowCounts> {
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

type RowCounts = Vec<(&'static str, i64)>;

fn total(counts: &RowCounts) -> i64 {
    counts.iter().map(|(_, n)| n).sum()
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

fn refuse_unfinished(local: &SegmentStore) -> anyhow::Result<()> {
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
fn open_remote(data: &Path, remote: &RemoteConfig) -> anyhow::Result<SegmentStore> {
    let store = SegmentStore::open_with(data, Some(remote))?;
    store
        .reachable()
        .with_context(|| format!("the segment store {}", store.location()))?;
    Ok(store)
}

/// Objects of another installation must not mix with ours: the store may hold
/// only objects named like our local files (an earlier, interrupted move) or
/// like the catalog's segments (`ours`).
fn refuse_foreign_objects(
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
fn copy_segments(
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

// ---------------------------------------------------------------------------
// A running site: the request, and the server's side of it.

/// Leaves the request for the running server and follows its status file until
/// it says done or failed.
async fn ask_running_server(data: &Path, plan: &Plan, wait: Duration) -> anyhow::Result<ExitCode> {
    let request = data.join(REQUEST_FILE);
    if request.exists() {
        anyhow::bail!(
            "{} is there already: a move of this site is under way",
            request.display()
        );
    }
    // What can be checked before the server is asked, is.
    if let Some(m) = &plan.catalog {
        let dest = Catalog::open(&m.to_connect)
            .await
            .with_context(|| format!("opening the new catalog {}", m.to_shown))?;
        let empty = dest.is_empty().await?;
        dest.close().await;
        anyhow::ensure!(
            empty,
            "the new catalog {} holds rows: give an empty database",
            m.to_shown
        );
    }
    if let Some(remote) = &plan.store {
        open_remote(data, remote)?;
    }
    let status = data.join(STATUS_FILE);
    let _ = std::fs::remove_file(&status);
    let tmp = data.join(format!("{REQUEST_FILE}.new"));
    std::fs::write(&tmp, plan.target.to_file())?;
    std::fs::rename(&tmp, &request)?;
    println!(
        "mimamori is serving {}: it moves the site itself while it records; following {}",
        data.display(),
        status.display()
    );
    let deadline = std::time::Instant::now() + wait;
    let mut shown = 0;
    loop {
        let text = std::fs::read_to_string(&status).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for line in &lines[shown.min(lines.len())..] {
            println!("  {line}");
        }
        shown = lines.len();
        if let Some(last) = lines.last() {
            if let Some(summary) = last.strip_prefix("done: ") {
                println!("{summary}");
                println!(
                    "check it: mimamori verify --data {d} && mimamori audit verify --data {d}",
                    d = data.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            if let Some(why) = last.strip_prefix("failed: ") {
                anyhow::bail!("the server did not move the site: {why}");
            }
        }
        if !server_running(data) && request.exists() {
            let _ = std::fs::remove_file(&request);
            anyhow::bail!(
                "mimamori stopped serving {} before it took the request; nothing was moved",
                data.display()
            );
        }
        if std::time::Instant::now() > deadline {
            anyhow::bail!(
                "no end of the move within {} s; the server goes on with it (see {})",
                wait.as_secs(),
                status.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn server_running(data: &Path) -> bool {
    std::fs::OpenOptions::new()
        .write(true)
        .open(data.join(LOCK_FILE))
        .is_ok_and(|f| f.try_lock().is_err())
}

/// The server's report of a move, line by line, to its log and the status file.
struct Status(PathBuf);

impl Status {
    fn say(&self, line: &str) {
        tracing::info!("migrate: {line}");
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.0)
            .and_then(|mut f| {
                writeln!(f, "{}", line.replace('\n', " "))?;
                f.sync_all()
            });
        if let Err(e) = written {
            tracing::error!("writing {}: {e}", self.0.display());
        }
    }
}

/// A move taken by the server, with what was copied while it went on serving.
pub struct Prepared {
    plan: Plan,
    old_text: String,
    status: Status,
    /// Segments already in the object store.
    copied: Vec<(String, u64)>,
}

/// Looks for a request every second; once one is there, takes it, copies the
/// finished segments while the site goes on as usual, and hands the prepared
/// move to `ready` (the server then stops serving pages and calls
/// [`switch_over`]). A request that cannot be carried out is answered in the
/// status file and the server goes on as it was.
pub fn watch_for_requests(
    data: PathBuf,
    catalog: Catalog,
    ready: tokio::sync::oneshot::Sender<Prepared>,
) -> TaskHandle {
    TaskHandle::spawn(move |mut stop| async move {
        loop {
            if sleep_or_stop(WATCH_EVERY, &mut stop).await {
                return;
            }
            let request = data.join(REQUEST_FILE);
            if !request.exists() {
                continue;
            }
            let status = Status(data.join(STATUS_FILE));
            let taken = data.join(TAKEN_FILE);
            if let Err(e) = std::fs::rename(&request, &taken) {
                status.say(&format!("failed: taking {}: {e}", request.display()));
                continue;
            }
            status
                .say("the server took the request: copying the finished segments while it records");
            match prepare(&data, &taken, &catalog, &mut stop).await {
                Ok(None) => {
                    status.say("failed: the server was stopped before the move; nothing was moved");
                    return;
                }
                Ok(Some((plan, old_text, copied))) => {
                    let _ = ready.send(Prepared {
                        plan,
                        old_text,
                        status,
                        copied,
                    });
                    return;
                }
                Err(e) => status.say(&format!("failed: {e:#}; the site goes on as it was")),
            }
        }
    })
}

/// Files copied a blocking step at a time, between which the server's stop is heard.
const COPY_STEP: usize = 32;

/// Reads the request and copies the finished segments; `None` when the server
/// was stopped meanwhile.
async fn prepare(
    data: &Path,
    taken: &Path,
    catalog: &Catalog,
    stop: &mut StopSignal,
) -> anyhow::Result<Option<(Plan, String, Vec<(String, u64)>)>> {
    let text = std::fs::read_to_string(taken)?;
    let target: Config = toml::from_str(&text).context("the request is not a configuration")?;
    let config_path = data.join(CONFIG_FILE);
    let old_text = std::fs::read_to_string(&config_path)?;
    let config: Config = toml::from_str(&old_text)?;
    let plan = Plan::new(data, &config, target)?;
    let mut copied = Vec::new();
    if let Some(remote) = &plan.store {
        let ours: HashSet<String> = catalog.segment_file_names().await?.into_iter().collect();
        let (dir, r) = (data.to_path_buf(), remote.clone());
        let files = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let local = SegmentStore::open(&dir)?;
            let store = open_remote(&dir, &r)?;
            let files = local.finished_local_files()?;
            refuse_foreign_objects(&store, &files, &ours)?;
            Ok(files)
        })
        .await??;
        for step in files.chunks(COPY_STEP) {
            if *stop.borrow() {
                return Ok(None);
            }
            let (dir, r, step) = (data.to_path_buf(), remote.clone(), step.to_vec());
            copied.extend(
                tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                    let local = SegmentStore::open(&dir)?;
                    let store = SegmentStore::open_with(&dir, Some(&r))?;
                    let r = store.remote().context("the object store")?;
                    Ok(local.copy_local_files_into(r, &step, |_, _| {})?)
                })
                .await??,
            );
        }
        let bytes: u64 = copied.iter().map(|(_, s)| s).sum();
        tracing::info!(
            files = copied.len(),
            bytes,
            "migrate: the finished segments are in {}",
            remote.url()
        );
    }
    Ok(Some((plan, old_text, copied)))
}

/// What of the running server a switch-over stops and uses.
pub struct Running<'a> {
    pub data: &'a Path,
    pub inst: &'a Installation,
    pub rows: &'a Arc<RowJournal>,
    pub recorders: &'a Arc<RecorderSet>,
}

/// The server's part, once it serves no page and runs neither the sweeper nor
/// the signer: recording goes on with its rows kept for the new catalog, the
/// catalog is copied, the recorders stop, the last segments are copied and the
/// installation is pointed at the new places. Whatever the outcome the
/// recorders are stopped; the caller starts the server again, on the new places
/// when this succeeded, on the old ones (which hold everything as before, the
/// kept rows going to them) when it failed.
pub async fn switch_over(p: Prepared, run: Running<'_>) -> bool {
    let status = &p.status;
    match switch(&p, &run).await {
        Ok(summary) => {
            status.say(&format!("done: {summary}"));
            true
        }
        Err(e) => {
            run.recorders.stop_all().await;
            status.say(&format!(
                "failed: {e:#}; the site starts again on its old catalog and store, with \
                 everything recorded meanwhile"
            ));
            false
        }
    }
}

async fn switch(p: &Prepared, run: &Running<'_>) -> anyhow::Result<String> {
    let (status, plan) = (&p.status, &p.plan);
    let source = &run.inst.dir.catalog;
    // The keys of today and tomorrow are made before the copy; no other is
    // made until the server starts again (it would be in the old catalog only).
    let now = run.inst.clock.now();
    let (_, day_end) = mimamori_catalog::keys::key_period(now);
    for camera in source.cameras().await? {
        for at in [now, day_end] {
            run.inst.keyring.key_for_write(camera.id, at, now).await?;
        }
    }
    run.inst.keyring.freeze();
    run.rows.hold().await;
    status.say("pages paused; recording goes on, its rows kept for the new catalog");
    let copied_rows = match &plan.catalog {
        Some(m) => {
            status.say(&format!("copying the catalog into {}", m.to_shown));
            Some(copy_catalog(source, m).await?)
        }
        None => None,
    };
    status.say("stopping the recorders: their last segments close");
    run.recorders.stop_all().await;
    if let Some(before) = &copied_rows {
        // Nothing may have reached the old catalog since its copy (another
        // command, another node): it would not be in the new one.
        let after = source.row_counts().await?;
        let changed: Vec<String> = before
            .iter()
            .zip(&after)
            .filter(|((t, a), (_, b))| a != b && !LIVENESS_TABLES.contains(t))
            .map(|((t, a), (_, b))| format!("{t} {a} → {b}"))
            .collect();
        anyhow::ensure!(
            changed.is_empty(),
            "the old catalog changed while it was copied ({}): something else writes to it; \
             stop it, empty the new database and run migrate again",
            changed.join(", ")
        );
    }
    let local = SegmentStore::open(run.data)?;
    let mut moved_files = None;
    if let Some(remote) = &plan.store {
        let (data, r, copied) = (run.data.to_path_buf(), remote.clone(), p.copied.clone());
        let files = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            // The segments closed since the rows were held keep their own
            // journals until the new catalog has their rows (at the start).
            let local = SegmentStore::open(&data)?;
            let store = open_remote(&data, &r)?;
            let before: HashMap<String, u64> = copied.into_iter().collect();
            let now_local = local.finished_local_files()?;
            let rest: Vec<(String, u64)> = now_local
                .iter()
                .filter(|(n, s)| before.get(n) != Some(s))
                .cloned()
                .collect();
            let mut files = copy_segments(&local, &store, &rest)?;
            // Copied earlier and erased since by retention: the copy goes too.
            let present: HashSet<&str> = now_local.iter().map(|(n, _)| n.as_str()).collect();
            for name in before.keys().filter(|n| !present.contains(n.as_str())) {
                store.delete(name)?;
            }
            files.extend(
                before
                    .into_iter()
                    .filter(|(n, _)| present.contains(n.as_str())),
            );
            files.sort();
            Ok(files)
        })
        .await??;
        status.say(&format!(
            "{} segment files are in {}",
            files.len(),
            remote.url()
        ));
        moved_files = Some(files);
    }
    let mut done = Vec::new();
    if let Some(counts) = &copied_rows {
        done.push(catalog_line(plan, total(counts)));
    }
    if let Some(files) = &moved_files {
        done.push(segments_line(&local, plan, files));
    }
    // Closed before its file goes: no connection of its pool may make a new,
    // empty one in its place.
    source.close().await;
    point_at_new_places(
        run.data,
        &p.old_text,
        plan,
        &local,
        moved_files.as_deref(),
        &done,
    )
    .await
}
