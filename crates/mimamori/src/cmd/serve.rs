//! `mimamori serve`: records every camera and serves the UI and API until
//! SIGINT/SIGTERM, then closes open segments durably and signs the heads before
//! exiting. Asked to move the installation (`mimamori migrate` while it serves),
//! it switches over and starts again on the new catalog and store, on the same
//! address.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context;
use mimamori_base::TaskHandle;
use mimamori_base::task::sleep_or_stop;
use mimamori_governance::integrity::start_head_signer;
use mimamori_governance::retention::start_sweeper;
use mimamori_recorder::rows::JOURNAL_DIR;
use mimamori_recorder::{
    RecorderContext, RowJournal, StatusHub, dedicated_runtime, start_camera_sync, start_recorders,
};
use mimamori_web::server::{Server, serve_pause, tls_files};

use crate::cmd::migrate_running;
use crate::datadir::{Installation, LOCK_FILE, refused};

#[derive(clap::Args)]
pub struct Args {
    /// Data directory (created by `mimamori init`).
    #[arg(long)]
    pub data: PathBuf,
    /// Address to listen on, e.g. 127.0.0.1:8080 (default: from config.toml).
    #[arg(long)]
    pub listen: Option<String>,
}

pub async fn run(a: Args) -> anyhow::Result<ExitCode> {
    serve(&a.data, a.listen.as_deref(), |_| {}).await
}

/// Runs the server; `ready` is called with the bound address once it listens.
pub async fn serve(
    data: &std::path::Path,
    listen: Option<&str>,
    ready: impl FnOnce(std::net::SocketAddr) + Send,
) -> anyhow::Result<ExitCode> {
    // One recorder thread for the process, across starts on new places.
    let runtime = dedicated_runtime()?;
    let mut ready = Some(ready);
    let mut listen = listen.map(str::to_string);
    loop {
        let served = serve_once(data, listen.as_deref(), runtime.clone(), &mut |addr| {
            if let Some(f) = ready.take() {
                f(addr);
            }
        })
        .await?;
        match served {
            Served::Stopped => return Ok(ExitCode::SUCCESS),
            Served::AgainAt(addr) => {
                tracing::info!("starting again, on {addr}");
                listen = Some(addr.to_string());
            }
        }
    }
}

/// How one run of the server ended.
enum Served {
    /// Stopped by a signal.
    Stopped,
    /// To start again on the same address: the installation moved (or tried to).
    AgainAt(std::net::SocketAddr),
}

async fn serve_once(
    data: &std::path::Path,
    listen: Option<&str>,
    runtime: tokio::runtime::Handle,
    ready: &mut (dyn FnMut(std::net::SocketAddr) + Send),
) -> anyhow::Result<Served> {
    let inst = Installation::open(data).await?;
    // One recorder per data directory: a second one would write the same files.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data.join(LOCK_FILE))
        .with_context(|| format!("opening {}", data.join(LOCK_FILE).display()))?;
    if lock.try_lock().is_err() {
        anyhow::bail!("another mimamori is already serving {}", data.display());
    }
    // Rows kept while the catalog was unreachable go to it first (their segments
    // are then known), then what a crash left: the segments being written are
    // rebuilt from their journals, and whatever is left half-done is removed.
    let rows = RowJournal::open(
        inst.dir.catalog.clone(),
        mimamori_recorder::context::CatalogRuntime::new(tokio::runtime::Handle::current()),
        inst.dir.store.clone(),
        inst.clock.clone(),
        &data.join(JOURNAL_DIR),
    )
    .with_context(|| format!("opening {}", data.join(JOURNAL_DIR).display()))?;
    let replayed = rows
        .replay()
        .await
        .context("handing the rows kept while the catalog was unreachable to it")?;
    if replayed > 0 {
        tracing::info!(
            rows = replayed,
            "rows kept while the catalog was unreachable (or the installation moved) are in the catalog"
        );
    }
    mimamori_recorder::recovery::recover_open_segments(
        &inst.dir.catalog,
        &inst.dir.store,
        &inst.keyring,
    )
    .await?;
    inst.dir.recover().await?;
    inst.gov
        .discard_unfinished_provision_files()
        .await
        .map_err(refused)?;
    inst.gov.seal_stored_credentials().await.map_err(refused)?;
    inst.gov.seal_stored_totp_secrets().await.map_err(refused)?;
    let cameras = inst.gov.cameras_to_record().await.map_err(refused)?;
    // Bound before the recorders start: the node's address, which other nodes
    // relay live view from, is the bound one (`--listen 127.0.0.1:0` too).
    let addr = listen.unwrap_or(&inst.config.listen).to_string();
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    let recorders = start_recorders(
        RecorderContext {
            catalog: inst.dir.catalog.clone(),
            rows: rows.clone(),
            store: inst.dir.store.clone(),
            keys: inst.keyring.clone(),
            clock: inst.clock.clone(),
            hub: StatusHub::new(),
            config: inst.config.recorder(data, bound),
            runtime,
        },
        &cameras,
    )
    .await;
    tracing::info!(node = %recorders.node(), cameras = cameras.len(), preset = %inst.policy.preset, "recording");
    // Cameras added or changed by the command line while serving are picked up.
    let camera_sync = start_camera_sync(recorders.clone());
    let replayer = rows.start_replayer();
    // The one place that decides erasure, and the signer of chain heads: on one
    // node of the installation at a time.
    let duties = start_duties(&inst, data);
    // A move of the installation asked for by `mimamori migrate`.
    let (moving_tx, moving_rx) = tokio::sync::oneshot::channel();
    let requests = migrate_running::watch_for_requests(
        data.to_path_buf(),
        inst.dir.catalog.clone(),
        moving_tx,
    );
    let moving = Arc::new(Mutex::new(None));
    let stop_for_move = {
        let moving = moving.clone();
        async move {
            tokio::select! {
                () = shutdown_signal() => {}
                Ok(prepared) = moving_rx => {
                    *moving.lock().unwrap_or_else(PoisonError::into_inner) = Some(prepared);
                }
            }
        }
    };
    let server = Server {
        gov: inst.gov.clone(),
        recorders: recorders.clone(),
        tls: inst
            .config
            .tls
            .as_ref()
            .map(|t| tls_files(data, &t.certificate, &t.key, t.client_ca.as_deref())),
        limits: inst.config.limits(),
        peer_ca: inst
            .config
            .recorder
            .peer_ca
            .as_ref()
            .map(|ca| data.join(ca)),
    };
    let served = server.run(listener, ready, stop_for_move).await;
    requests.stop().await;
    camera_sync.stop().await;
    let prepared = moving.lock().unwrap_or_else(PoisonError::into_inner).take();
    let outcome = match prepared {
        Some(prepared) => {
            tracing::info!("moving the installation: pages paused, recording goes on");
            let pause = pause_page(bound, &inst.config).await;
            duties.stop().await;
            migrate_running::switch_over(
                prepared,
                migrate_running::Running {
                    data,
                    inst: &inst,
                    rows: &rows,
                    recorders: &recorders,
                },
            )
            .await;
            // The address is free again before the server binds it anew.
            if let Some((stop, mut task)) = pause {
                let _ = stop.send(());
                let wait = std::time::Duration::from_secs(2);
                if tokio::time::timeout(wait, &mut task).await.is_err() {
                    task.abort();
                    let _ = task.await;
                }
            }
            Served::AgainAt(bound)
        }
        None => {
            tracing::info!("shutting down: closing open segments");
            recorders.stop_all().await;
            // The signer signs once more, so the last segments and entries are covered.
            duties.stop().await;
            Served::Stopped
        }
    };
    replayer.stop().await;
    if matches!(outcome, Served::Stopped) {
        hand_over_before_exit(&rows).await;
    }
    inst.dir.catalog.close().await;
    drop(lock);
    served.context("web server failed")?;
    Ok(outcome)
}

/// A page saying the installation moves, on the server's address while it does
/// (plain HTTP only); `None` when it cannot be had. Stopped by the sender.
async fn pause_page(
    bound: std::net::SocketAddr,
    config: &crate::config::Config,
) -> Option<(
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
)> {
    if config.tls.is_some() {
        return None;
    }
    let listener = match tokio::net::TcpListener::bind(bound).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("no page for the pause on {bound}: {e}");
            return None;
        }
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve_pause(listener, config.limits(), async {
        let _ = stopped.await;
    }));
    Some((stop, task))
}

/// The last segments' rows, if the catalog still waits for some: a few seconds'
/// try, then they stay in the local journal for the next start.
async fn hand_over_before_exit(rows: &RowJournal) {
    if rows.health().waiting == 0 {
        return;
    }
    let tried = tokio::time::timeout(std::time::Duration::from_secs(5), rows.replay()).await;
    let waiting = rows.health().waiting;
    if waiting > 0 {
        let why = match tried {
            Ok(Err(e)) => e.to_string(),
            _ => "the catalog did not answer".into(),
        };
        tracing::warn!(
            rows = waiting,
            "{why}: rows stay in the local journal and go to the catalog at the next start"
        );
    }
}

/// How often a node without the installation's duties asks for them.
const DUTY_ASK_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The retention sweeper and the head signer, run by the one node holding the
/// catalog's duty lease; the others ask again every few seconds, so that the
/// duties move on within seconds when that node stops or is killed.
fn start_duties(inst: &Installation, data: &std::path::Path) -> TaskHandle {
    let catalog = inst.dir.catalog.clone();
    let sweeper = inst.gov.sweeper().clone();
    let signer = inst.signer.clone();
    let journal = inst.config.heads_journal(data);
    let clock = inst.clock.clone();
    TaskHandle::spawn(move |mut stop| async move {
        loop {
            let mut lease = loop {
                match catalog.duty_lease().await {
                    Ok(Some(lease)) => break lease,
                    Ok(None) => {}
                    Err(e) => tracing::error!("asking for the installation's duties: {e}"),
                }
                if sleep_or_stop(DUTY_ASK_EVERY, &mut stop).await {
                    return;
                }
            };
            tracing::info!("this node runs the retention sweeper and signs the chain heads");
            let running = (
                start_sweeper(sweeper.clone()),
                start_head_signer(
                    catalog.clone(),
                    signer.clone(),
                    journal.clone(),
                    clock.clone(),
                ),
            );
            // The lease ends with its connection (the catalog restarted, the
            // network cut): then another node may hold it, and this one stops.
            let stopped = loop {
                if sleep_or_stop(DUTY_ASK_EVERY, &mut stop).await {
                    break true;
                }
                let held = tokio::time::timeout(DUTY_ASK_EVERY, lease.still_held()).await;
                if !matches!(held, Ok(true)) {
                    tracing::warn!(
                        "lost the installation's duties with the catalog connection; asking again"
                    );
                    break false;
                }
            };
            running.0.stop().await;
            running.1.stop().await;
            drop(lease);
            if stopped {
                return;
            }
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
