//! `mimamori serve`: records every camera and serves the UI and API until
//! SIGINT/SIGTERM, then closes open segments durably and signs the heads before
//! exiting.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use mimamori_governance::integrity::start_head_signer;
use mimamori_governance::retention::start_sweeper;
use mimamori_recorder::{
    RecorderContext, StatusHub, dedicated_runtime, start_camera_sync, start_recorders,
};
use mimamori_web::server::{Server, tls_files};

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
    ready: impl FnOnce(std::net::SocketAddr),
) -> anyhow::Result<ExitCode> {
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
    // One recorder per catalog, too: a PostgreSQL catalog may be reached from
    // several machines, and two recorders would each cut the same cameras' chains.
    let location = inst.config.catalog(data)?;
    let Some(lease) = inst.dir.catalog.recorder_lease().await? else {
        anyhow::bail!(
            "another mimamori node already records for the catalog {}: one node per catalog \
             records today (see README, \"The catalog on PostgreSQL\")",
            location.shown
        );
    };
    // What a crash left: the segments being written are rebuilt from their journals,
    // then whatever is left half-done is removed.
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
    let recorders = start_recorders(
        RecorderContext {
            catalog: inst.dir.catalog.clone(),
            store: inst.dir.store.clone(),
            keys: inst.keyring.clone(),
            clock: inst.clock.clone(),
            hub: StatusHub::new(),
            config: inst.config.recorder(),
            runtime: dedicated_runtime()?,
        },
        &cameras,
    )
    .await;
    tracing::info!(cameras = cameras.len(), preset = %inst.policy.preset, "recording");
    // Cameras added or changed by the command line while serving are picked up.
    let camera_sync = start_camera_sync(recorders.clone());
    // The one place that decides erasure, and the signer of chain heads.
    let sweeper = start_sweeper(inst.gov.sweeper().clone());
    let signer = start_head_signer(
        inst.dir.catalog.clone(),
        inst.signer.clone(),
        inst.config.heads_journal(data),
        inst.clock.clone(),
    );
    let addr = listen.unwrap_or(&inst.config.listen).to_string();
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let server = Server {
        gov: inst.gov.clone(),
        recorders: recorders.clone(),
        tls: inst
            .config
            .tls
            .as_ref()
            .map(|t| tls_files(data, &t.certificate, &t.key, t.client_ca.as_deref())),
        limits: inst.config.limits(),
    };
    let served = server.run(listener, ready, shutdown_signal()).await;
    tracing::info!("shutting down: closing open segments");
    camera_sync.stop().await;
    recorders.stop_all().await;
    sweeper.stop().await;
    // Signs once more, so the last segments and entries are covered.
    signer.stop().await;
    drop(lease);
    inst.dir.catalog.close().await;
    drop(lock);
    served.context("web server failed")?;
    Ok(ExitCode::SUCCESS)
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
