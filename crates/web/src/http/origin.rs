//! Where a request comes from: its peer address and, over TLS, the client
//! certificate's fingerprint — the [`Origin`] the terminal rules match and the
//! audit log records. Put into every request by [`client_address`].

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use mimamori_governance::Origin;

use crate::http::tls::{ClientCertificate, OverTls};

/// Whether the request came over TLS (session cookies then carry `Secure`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Secure(pub bool);

/// Middleware: records the request's [`Origin`] and whether it came over TLS.
pub async fn client_address(mut req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let client_cert_sha256 = req
        .extensions()
        .get::<ClientCertificate>()
        .map(|c| c.sha256_hex.clone());
    let secure = req.extensions().get::<OverTls>().is_some();
    req.extensions_mut().insert(Origin {
        ip,
        client_cert_sha256,
    });
    req.extensions_mut().insert(Secure(secure));
    next.run(req).await
}

/// The origin of a request (an empty one if the middleware did not run).
pub struct RequestOrigin(pub Origin);

impl<S: Send + Sync> FromRequestParts<S> for RequestOrigin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestOrigin(
            parts
                .extensions
                .get::<Origin>()
                .cloned()
                .unwrap_or_default(),
        ))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Secure {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Secure>()
            .copied()
            .unwrap_or_default())
    }
}
