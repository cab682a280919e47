//! The one entry point the binary uses: serve the UI and API of an installation
//! on a bound listener, over plain HTTP or HTTPS (with client certificates for
//! terminals), until a shutdown signal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use mimamori_governance::Governance;
use mimamori_recorder::RecorderSet;
use tokio::net::TcpListener;

pub use crate::http::tls::{TlsError, TlsFiles};
use crate::router;
use crate::state::AppState;

/// How to serve.
pub struct Server {
    pub gov: Arc<Governance>,
    pub recorders: Arc<RecorderSet>,
    /// HTTPS instead of HTTP.
    pub tls: Option<TlsFiles>,
}

/// Why serving could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("the web server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Where TLS files live, resolved against the data directory when relative.
pub fn tls_files(
    data: &std::path::Path,
    certificate: &std::path::Path,
    key: &std::path::Path,
    client_ca: Option<&std::path::Path>,
) -> TlsFiles {
    let resolve = |p: &std::path::Path| -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            data.join(p)
        }
    };
    TlsFiles {
        certificate: resolve(certificate),
        key: resolve(key),
        client_ca: client_ca.map(resolve),
    }
}

impl Server {
    /// Serves on `listener` until `shutdown` completes. Logs the URL it listens on,
    /// then calls `ready` with the address.
    pub async fn run(
        self,
        listener: TcpListener,
        ready: impl FnOnce(SocketAddr),
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let bound = listener.local_addr()?;
        let app = router(AppState::new(self.gov, self.recorders));
        match &self.tls {
            Some(files) => {
                let config = crate::http::tls::server_config(files)?;
                tracing::info!("listening on https://{bound}/");
                ready(bound);
                tokio::select! {
                    _ = crate::http::tls::serve(listener, app, config) => {}
                    _ = shutdown => {}
                }
                Ok(())
            }
            None => {
                tracing::info!("listening on http://{bound}/");
                ready(bound);
                axum::serve(
                    listener,
                    app.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(shutdown)
                .await?;
                Ok(())
            }
        }
    }
}
