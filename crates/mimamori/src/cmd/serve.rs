//! `mimamori serve`: records every camera and serves the UI and API until
//! SIGINT/SIGTERM, then closes open segments durably before exiting.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use mimamori_base::{SharedClock, SystemClock};
use mimamori_recorder::{RecorderContext, StatusHub, dedicated_runtime, start_recorders};
use mimamori_web::AppState;

use crate::config::Config;
use crate::datadir::{DataDir, LOCK_FILE};

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
    let config = Config::load(data)?;
    let dir = DataDir::open(data).await?;
    let policy = dir.policy()?;
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
    let (master_path, signing_path) = config.key_paths(data);
    let keys = crate::datadir::load_keys(&master_path, &signing_path)?;
    dir.recover().await?;
    let clock: SharedClock = Arc::new(SystemClock);
    let keyring = Arc::new(mimamori_catalog::keys::KeyRing::new(
        dir.catalog.clone(),
        keys.master,
    ));
    seal_stored_credentials(&dir.catalog, &keyring).await?;
    let hub = StatusHub::new();
    let cameras = dir.catalog.cameras().await?;
    let recorders = start_recorders(
        RecorderContext {
            catalog: dir.catalog.clone(),
            store: dir.store.clone(),
            keys: keyring.clone(),
            clock: clock.clone(),
            hub,
            config: config.recorder(),
            runtime: dedicated_runtime()?,
        },
        &cameras,
    )
    .await;
    tracing::info!(cameras = cameras.len(), preset = %policy.preset, "recording");
    let policy = Arc::new(policy);
    // The one place that decides erasure, and the signer of chain heads.
    let sweeper = Arc::new(mimamori_governance::retention::Sweeper::new(
        dir.catalog.clone(),
        dir.store.clone(),
        keyring.clone(),
        policy.clone(),
        clock.clone(),
    ));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let sweep_task =
        mimamori_governance::retention::start_sweeper(sweeper.clone(), stop_rx.clone());
    let signer = Arc::new(keys.signer);
    let sign_task = {
        let catalog = dir.catalog.clone();
        let signer = signer.clone();
        let clock = clock.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(60)) => {},
                    _ = stop.changed() => return,
                }
                if let Err(e) =
                    mimamori_governance::integrity::sign_heads(&catalog, &signer, clock.now()).await
                {
                    tracing::error!("signing chain heads failed: {e}");
                }
                if let Err(e) =
                    mimamori_governance::integrity::sign_audit_head(&catalog, &signer, clock.now())
                        .await
                {
                    tracing::error!("signing the audit head failed: {e}");
                }
            }
        })
    };
    let state = AppState {
        catalog: dir.catalog.clone(),
        store: dir.store.clone(),
        keys: keyring.clone(),
        clock,
        recorders: recorders.clone(),
        sweeper: sweeper.clone(),
        policy,
        config: Arc::new(config.web()),
        throttle: Arc::default(),
        recent_views: Arc::default(),
    };
    // Cameras added or changed by the CLI while serving are picked up here.
    let sync = {
        let catalog = dir.catalog.clone();
        let recorders = recorders.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(3)).await;
                match catalog.cameras().await {
                    Ok(c) => recorders.sync(&c).await,
                    Err(e) => tracing::error!("{e}"),
                }
            }
        })
    };
    let addr = listen.unwrap_or(&config.listen).to_string();
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr()?;
    let app = mimamori_web::router(state);
    let result = match &config.tls {
        Some(tls) => {
            let resolve = |p: &std::path::Path| {
                if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    data.join(p)
                }
            };
            let files = mimamori_web::tls::TlsFiles {
                certificate: resolve(&tls.certificate),
                key: resolve(&tls.key),
                client_ca: tls.client_ca.as_deref().map(resolve),
            };
            let server_config = mimamori_web::tls::server_config(&files)?;
            tracing::info!("listening on https://{bound}/");
            ready(bound);
            tokio::select! {
                _ = mimamori_web::tls::serve(listener, app, server_config) => {}
                _ = shutdown_signal() => {}
            }
            Ok(())
        }
        None => {
            tracing::info!("listening on http://{bound}/");
            ready(bound);
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown_signal())
            .await
        }
    };
    tracing::info!("shutting down: closing open segments");
    sync.abort();
    recorders.stop_all().await;
    let _ = stop_tx.send(true);
    let _ = sweep_task.await;
    let _ = sign_task.await;
    if let Err(e) =
        mimamori_governance::integrity::sign_heads(&dir.catalog, &signer, clock_now()).await
    {
        tracing::error!("signing chain heads failed: {e}");
    }
    if let Err(e) =
        mimamori_governance::integrity::sign_audit_head(&dir.catalog, &signer, clock_now()).await
    {
        tracing::error!("signing the audit head failed: {e}");
    }
    dir.catalog.close().await;
    drop(lock);
    result.context("web server failed")?;
    Ok(ExitCode::SUCCESS)
}

/// Camera passwords stored before credentials were sealed get sealed now.
async fn seal_stored_credentials(
    catalog: &mimamori_catalog::Catalog,
    keys: &mimamori_catalog::keys::KeyRing,
) -> anyhow::Result<()> {
    use mimamori_catalog::{CameraSource, NewCamera};
    for cam in catalog.cameras().await? {
        if let CameraSource::Rtsp {
            password: Some(p), ..
        } = &cam.source
            && !mimamori_catalog::keys::is_sealed(p)
        {
            let sealed = mimamori_web::api::seal_credentials(
                keys,
                NewCamera {
                    name: cam.name.clone(),
                    source: cam.source.clone(),
                    record_audio: cam.record_audio,
                },
            )
            .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            catalog.camera_update(cam.id, &sealed).await?;
            tracing::info!(camera = %cam.name, "camera password sealed with the master key");
        }
    }
    Ok(())
}

fn clock_now() -> mimamori_base::Timestamp {
    use mimamori_base::Clock;
    SystemClock.now()
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
