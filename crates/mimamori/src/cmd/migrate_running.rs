//! A move of a running site (`mimamori migrate` while `serve` runs): the
//! command's request ([`REQUEST_FILE`] in the data directory) and the server's
//! side of it, followed through [`STATUS_FILE`]. The segments are copied while
//! the server records and serves as usual; then it stops serving pages (a page
//! says why), keeps the rows of what it records for the new catalog (the
//! recorders go on), copies the catalog, stops its recorders, copies the last
//! segments, points `config.toml` at the new places and starts again on them,
//! handing the kept rows to the new catalog. The cameras are not recorded only
//! for that restart, a few seconds, which the timeline shows as a gap. The
//! copies themselves are those of a stopped site's move ([`crate::cmd::migrate`]).

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
use mimamori_recorder::{RecorderSet, RowJournal};
use mimamori_storage::SegmentStore;

use crate::cmd::migrate::{
    Plan, catalog_line, copy_catalog, copy_segments, open_remote, point_at_new_places,
    refuse_foreign_objects, replace_file, segments_line, total,
};
use crate::config::Config;
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

/// Leaves the request for the running server and follows its status file until
/// it says done or failed.
pub(crate) async fn ask_running_server(
    data: &Path,
    plan: &Plan,
    wait: Duration,
) -> anyhow::Result<ExitCode> {
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
    replace_file(&request, &plan.target.to_file())?;
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
