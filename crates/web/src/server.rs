//! The one entry point the binary uses: serve the UI and API of an installation
//! on a bound listener, over plain HTTP or HTTPS (with client certificates for
//! terminals), until a shutdown signal. Connections are bounded before any work:
//! at most [`Limits::max_connections`] at once (more are closed at once), a TLS
//! handshake and a request's headers must arrive in time, and on shutdown the
//! open connections get a few seconds to finish.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use mimamori_governance::Governance;
use mimamori_recorder::RecorderSet;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::http::tls::{ClientCertificate, OverTls};
pub use crate::http::tls::{TlsError, TlsFiles};
use crate::router;
use crate::state::AppState;

/// Bounds on connections.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Connections open at once; more are closed as they arrive.
    pub max_connections: usize,
    /// A TLS handshake, and the headers of each request, must arrive within this.
    pub header_read_timeout: Duration,
    /// How long open connections may take to finish at shutdown.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 512,
            header_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// How to serve.
pub struct Server {
    pub gov: Arc<Governance>,
    pub recorders: Arc<RecorderSet>,
    /// HTTPS instead of HTTP.
    pub tls: Option<TlsFiles>,
    pub limits: Limits,
    /// The CA of the other nodes' HTTPS certificates (live view relayed from
    /// them); `None`: the system's roots.
    pub peer_ca: Option<std::path::PathBuf>,
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
        let mut state = AppState::new(self.gov, self.recorders);
        state.relay_tls = Some(crate::http::tls::relay_client_config(
            self.peer_ca.as_deref(),
        )?);
        let app = router(state);
        let tls = match &self.tls {
            Some(files) => Some(TlsAcceptor::from(crate::http::tls::server_config(files)?)),
            None => None,
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        tracing::info!("listening on {scheme}://{bound}/");
        ready(bound);
        accept(listener, app, tls, self.limits, shutdown).await;
        Ok(())
    }
}

/// While the installation moves to another catalog (`mimamori migrate` on a
/// running site; the real pages are stopped then): every request on `listener`
/// is answered 503 with a short page saying so and when to try again, until
/// `until` completes, within the same bounds on connections as the real pages.
/// Nothing of the request is read beyond its head, and no catalog is asked.
/// Plain HTTP only: a site on HTTPS refuses connections for that time instead.
pub async fn serve_pause(
    listener: TcpListener,
    limits: Limits,
    until: impl std::future::Future<Output = ()> + Send + 'static,
) {
    accept(
        listener,
        Router::new().fallback(pause_page),
        None,
        limits,
        until,
    )
    .await;
}

/// Seconds a browser is told to wait before it asks again during a move.
const PAUSE_RETRY_SECONDS: &str = "30";

async fn pause_page() -> axum::response::Response {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::RETRY_AFTER, PAUSE_RETRY_SECONDS),
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PAUSE_PAGE,
    )
        .into_response()
}

const PAUSE_PAGE: &str = "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"refresh\" content=\"30\"><title>移行中 — mimamori</title></head><body>\
<h1>システムの移行中です</h1><p>カタログと映像の保存先を移しています。録画は続いています。\
しばらくしてから開き直してください（このページは30秒ごとに再読み込みします）。</p>\
<p lang=\"en\">The installation is moving to its new catalog and store; recording goes on. \
This page reloads every 30 seconds.</p></body></html>";

/// Accepts connections until `shutdown`, each served on its own task.
async fn accept(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let open = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "too many connections: closed at once");
            drop(tcp);
            continue;
        };
        let app = app.clone();
        let tls = tls.clone();
        let watcher = graceful.watcher();
        let limits = limits.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout);
            let serve = |cert: Option<ClientCertificate>, over_tls: bool| {
                hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                    if over_tls {
                        req.extensions_mut().insert(OverTls);
                    }
                    if let Some(c) = &cert {
                        req.extensions_mut().insert(c.clone());
                    }
                    app.clone().oneshot(req.map(axum::body::Body::new))
                })
            };
            let result = match tls {
                None => {
                    let conn = builder
                        .serve_connection_with_upgrades(TokioIo::new(tcp), serve(None, false));
                    watcher.watch(conn.into_owned()).await
                }
                Some(acceptor) => {
                    let stream = match tokio::time::timeout(
                        limits.header_read_timeout,
                        acceptor.accept(tcp),
                    )
                    .await
                    {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::info!(%peer, "TLS handshake failed: {e}");
                            return;
                        }
                        Err(_) => return,
                    };
                    let cert = stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .map(|c| ClientCertificate {
                            sha256_hex: crate::http::tls::fingerprint(c.as_ref()),
                        });
                    let conn = builder
                        .serve_connection_with_upgrades(TokioIo::new(stream), serve(cert, true));
                    watcher.watch(conn.into_owned()).await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!("open connections closed at shutdown");
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    // During a move of a running site a browser gets a page saying so, with when
    // to try again, instead of a refused connection; the pause ends when told.
    #[tokio::test]
    async fn during_a_move_every_request_gets_the_pause_page() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let limits = super::Limits {
            shutdown_grace: std::time::Duration::from_millis(100),
            ..super::Limits::default()
        };
        let pause = tokio::spawn(super::serve_pause(listener, limits, async {
            let _ = stopped.await;
        }));
        for path in ["/", "/cameras/1", "/api/cameras"] {
            let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            tcp.write_all(
                format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
            )
            .await
            .unwrap();
            let mut answer = String::new();
            tcp.read_to_string(&mut answer).await.unwrap();
            assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
            assert!(
                answer.to_ascii_lowercase().contains("retry-after: 30"),
                "{answer}"
            );
            assert!(answer.contains("システムの移行中です"), "{answer}");
        }
        stop.send(()).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), pause)
            .await
            .expect("the pause ends when told")
            .unwrap();
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "the address is free again for the server"
        );
    }
}
