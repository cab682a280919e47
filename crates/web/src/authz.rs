//! Authorization in one place. Every route of the router is declared in
//! [`crate::ROUTES`] with what it needs: nothing (the login page and assets), a
//! session, or a permission from the policy. [`guard`] enforces that declaration
//! for every request — session and CSRF token, the role's permission, the terminal
//! rule, and for camera routes the instruction — through the application layer,
//! which writes every refusal to the audit log. Operations check again with what
//! only they know (the footage range, a download).

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use mimamori_base::CameraId;
use mimamori_governance::Governance;
use mimamori_policy::Permission;

use crate::http::error::{Shown, error_page, shown_response};
use crate::http::session::{CurrentUser, require_session};

/// What a route needs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Need {
    /// Reachable without logging in (login, language switch, assets).
    Public,
    /// Any logged-in person with a valid designation (their own account, logout).
    Session,
    /// A permission of the person's role, from the policy.
    Permission(Permission),
    /// No login: an address (or terminal) the node's configuration admits for
    /// monitoring (`/metrics`, `/healthz`, `/readyz`).
    Monitor,
    /// No login: a grant from another node of the installation, signed with its
    /// key, in the `grant` query parameter (live view relayed to that node; the
    /// handler then takes the grant for its camera, once).
    NodeGrant,
}

/// One declared route.
#[derive(Copy, Clone, Debug)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub need: Need,
}

/// The declaration of a matched route (HEAD is served by GET).
pub fn route_need(routes: &[RouteSpec], method: &Method, matched: &str) -> Option<Need> {
    let m = if *method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    routes
        .iter()
        .find(|r| r.path == matched && r.method == m)
        .map(|r| r.need)
}

/// What the guard needs: the application layer and the route table it enforces.
#[derive(Clone)]
pub struct Guard {
    pub gov: Arc<Governance>,
    pub routes: &'static [RouteSpec],
}

/// Middleware on every route: enforces the route's declared [`Need`].
pub async fn guard(State(state): State<Guard>, req: Request, next: Next) -> Response {
    let need = match req.extensions().get::<MatchedPath>() {
        Some(m) => match route_need(state.routes, req.method(), m.as_str()) {
            Some(n) => n,
            None => {
                // A route outside the `routes!` table: refused until it declares its need.
                tracing::error!(path = m.as_str(), "route not declared in ROUTES: refused");
                return shown_response(Shown {
                    code: mimamori_base::ErrorCode::Forbidden,
                    message: "this route declares no permission".into(),
                    message_ja: None,
                    refused: false,
                });
            }
        },
        // Not found: still behind the login, so that probing tells nothing.
        None => Need::Session,
    };
    if need == Need::Public {
        return next.run(req).await;
    }
    if need == Need::Monitor {
        let origin = req
            .extensions()
            .get::<mimamori_governance::Origin>()
            .cloned()
            .unwrap_or_default();
        return match state.gov.admit_monitoring(&origin, req.uri().path()).await {
            Ok(()) => next.run(req).await,
            Err(e) => shown_response(Shown::of(&e)),
        };
    }
    if need == Need::NodeGrant {
        let grant = req
            .uri()
            .query()
            .and_then(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .find(|(k, _)| k == "grant")
                    .map(|(_, v)| v.into_owned())
            })
            .unwrap_or_default();
        return match state.gov.live_grant_signed(&grant) {
            Ok(()) => next.run(req).await,
            Err(e) => {
                // Only another node of the installation has business here.
                let origin = req
                    .extensions()
                    .get::<mimamori_governance::Origin>()
                    .map(mimamori_governance::Origin::client)
                    .unwrap_or_default();
                tracing::warn!(client = %origin, "live view relay refused: {e}");
                shown_response(Shown::of(&e))
            }
        };
    }
    let req = match require_session(&state.gov, req).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let Need::Permission(permission) = need else {
        return next.run(req).await;
    };
    let Some(user) = req.extensions().get::<CurrentUser>().cloned() else {
        return shown_response(Shown {
            code: mimamori_base::ErrorCode::Unauthenticated,
            message: "log in first".into(),
            message_ja: None,
            refused: false,
        });
    };
    let path = req.uri().path().to_string();
    let camera = camera_in_path(&path);
    match state
        .gov
        .authorize(&user.actor(), permission, camera, None, &path)
        .await
    {
        Ok(()) => next.run(req).await,
        Err(e) => {
            let shown = Shown::of(&e);
            if path.starts_with("/api/") {
                shown_response(shown)
            } else {
                error_page(crate::http::lang_of(req.headers()), Some(&user.0), &shown)
            }
        }
    }
}

/// The camera id of `/cameras/{id}…` and `/api/cameras/{id}…` paths.
fn camera_in_path(path: &str) -> Option<CameraId> {
    let rest = path
        .strip_prefix("/api/cameras/")
        .or_else(|| path.strip_prefix("/cameras/"))?;
    rest.split('/').next()?.parse().ok().map(CameraId)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_declared_once() {
        let mut seen = std::collections::HashSet::new();
        for r in crate::ROUTES {
            assert!(
                seen.insert((r.method, r.path)),
                "{} {} twice",
                r.method,
                r.path
            );
        }
        assert_eq!(
            route_need(crate::ROUTES, &Method::HEAD, "/api/cameras/{id}/video.mp4"),
            Some(Need::Permission(Permission::Playback))
        );
        assert_eq!(
            camera_in_path("/api/cameras/12/video.mp4"),
            Some(CameraId(12))
        );
        assert_eq!(camera_in_path("/cameras/3"), Some(CameraId(3)));
        assert_eq!(camera_in_path("/audit"), None);
    }
}
