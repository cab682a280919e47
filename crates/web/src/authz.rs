//! Authorization in one place. Every route of the router is declared in
//! [`crate::ROUTES`] with what it needs: nothing (the login page and assets), a
//! session, or a permission from the policy. [`guard`] enforces that declaration
//! for every request: session and CSRF token, the role's permission, and the
//! terminal rule; every refusal is written to the audit log. Camera operations add
//! the instruction check ([`camera_operation`]) where the handler knows the camera.

use std::net::IpAddr;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mimamori_base::{CameraId, ErrorCode, Timestamp};
use mimamori_governance::access::{self as rules, Actor, Origin, Refusal};
use mimamori_policy::Permission;

use crate::AppState;
use crate::audit::ClientAddr;
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};

/// What a route needs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Need {
    /// Reachable without logging in (login, language switch, assets).
    Public,
    /// Any logged-in person with a valid designation (their own account, logout).
    Session,
    /// A permission of the person's role, from the policy.
    Permission(Permission),
}

/// One declared route.
#[derive(Copy, Clone, Debug)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub need: Need,
}

/// The declaration of a matched route (HEAD is served by GET).
pub fn route_need(method: &Method, matched: &str) -> Option<Need> {
    let m = if *method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    crate::ROUTES
        .iter()
        .find(|r| r.path == matched && r.method == m)
        .map(|r| r.need)
}

/// The origin of a request (its address and, over TLS, its client certificate).
pub fn origin_of(req_ext: &axum::http::Extensions) -> Origin {
    let ip = req_ext
        .get::<ClientAddr>()
        .and_then(|c| c.0.parse::<IpAddr>().ok());
    let client_cert_sha256 = req_ext
        .get::<crate::tls::ClientCertificate>()
        .map(|c| c.sha256_hex.clone());
    Origin {
        ip,
        client_cert_sha256,
    }
}

/// Middleware on every route: enforces the route's declared [`Need`].
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let need = match req.extensions().get::<MatchedPath>() {
        Some(m) => match route_need(req.method(), m.as_str()) {
            Some(n) => n,
            None => {
                // A route outside the `routes!` table: refused until it declares its need.
                tracing::error!(path = m.as_str(), "route not declared in ROUTES: refused");
                return AppError::new(ErrorCode::Forbidden, "this route declares no permission")
                    .into_response();
            }
        },
        // Not found: still behind the login, so that probing tells nothing.
        None => Need::Session,
    };
    if need == Need::Public {
        return next.run(req).await;
    }
    let req = match crate::auth::require_session(&state, req).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let Need::Permission(permission) = need else {
        return next.run(req).await;
    };
    let Some(user) = req.extensions().get::<CurrentUser>().cloned() else {
        return AppError::new(ErrorCode::Unauthenticated, "log in first").into_response();
    };
    let origin = origin_of(req.extensions());
    let camera = camera_in_path(req.uri().path());
    let path = req.uri().path().to_string();
    let lang = crate::i18n::Lang::from_cookie(crate::auth::cookie(req.headers(), "lang"));
    let refusal = match refusal_for(&state, &user, &origin, permission, camera, None).await {
        Ok(r) => r,
        Err(e) => return AppError::from(e).into_response(),
    };
    match refusal {
        None => next.run(req).await,
        Some(r) => refuse(&state, &user, &origin, camera, &r, &path, lang).await,
    }
}

/// The policy's answer to one use of a permission: the role may use it from this
/// origin (terminal), and, for camera operations of a role that acts under
/// instructions, an open instruction covers the camera (and range).
async fn refusal_for(
    state: &AppState,
    user: &CurrentUser,
    origin: &Origin,
    permission: Permission,
    camera: Option<CameraId>,
    range: Option<(Timestamp, Timestamp)>,
) -> Result<Option<Refusal>, mimamori_catalog::CatalogError> {
    if let Err(r) = rules::authorize(&state.policy, user.role, permission, origin) {
        return Ok(Some(r));
    }
    let instructed = rules::instruction_for(
        &state.catalog,
        &state.policy,
        &actor(user),
        permission,
        camera,
        range,
        state.clock.now(),
    )
    .await?;
    Ok(instructed.err())
}

/// The camera id of `/cameras/{id}…` and `/api/cameras/{id}…` paths.
fn camera_in_path(path: &str) -> Option<CameraId> {
    let rest = path
        .strip_prefix("/api/cameras/")
        .or_else(|| path.strip_prefix("/cameras/"))?;
    rest.split('/').next()?.parse().ok().map(CameraId)
}

/// Logs a refusal and answers 403: JSON for the API, a page for the browser.
pub async fn refuse(
    state: &AppState,
    user: &CurrentUser,
    origin: &Origin,
    camera: Option<CameraId>,
    refusal: &Refusal,
    path: &str,
    lang: crate::i18n::Lang,
) -> Response {
    let client = origin.ip.map(|i| i.to_string()).unwrap_or_default();
    tracing::info!(user = %user.user.username, path, "refused: {refusal}");
    if let Err(e) = crate::audit::record(
        state,
        Some(user),
        "",
        &client,
        crate::audit::Access {
            action: "refused",
            camera,
            range: None,
            purpose: "",
            detail: format!("{path}: {refusal}"),
        },
    )
    .await
    {
        return e.into_response();
    }
    if path.starts_with("/api/") {
        // English for scripts; `message_ja` for the page script to show.
        let body = serde_json::json!({"error": {
            "code": ErrorCode::Forbidden.as_str(),
            "message": refusal.to_string(),
            "message_ja": refusal.ja(),
        }});
        return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    }
    let message = match lang {
        crate::i18n::Lang::Ja => refusal.ja(),
        crate::i18n::Lang::En => refusal.to_string(),
    };
    let body = format!(
        r#"<h1>{}</h1><p class="error" role="alert" id="refusal">{}</p><p class="muted">{}</p>"#,
        crate::i18n::t(lang, "authz.refused"),
        crate::html::esc(&message),
        crate::i18n::t(lang, "authz.logged"),
    );
    (
        StatusCode::FORBIDDEN,
        crate::html::page(lang, "403", Some(user), &body),
    )
        .into_response()
}

/// The actor behind a logged-in request.
pub fn actor(user: &CurrentUser) -> Actor {
    Actor {
        user: user.user.clone(),
        role: user.role,
        designation: user.designation.clone(),
    }
}

/// Checks a camera operation in full: the permission from this terminal (for
/// permissions a route does not declare itself, such as export) and, where the role
/// acts under instructions, an open instruction covering camera and range. A
/// refusal is logged and returned as the response to send.
pub async fn camera_operation(
    state: &AppState,
    user: &CurrentUser,
    origin: &Origin,
    permission: Permission,
    camera: CameraId,
    range: Option<(Timestamp, Timestamp)>,
    path: &str,
) -> AppResult<Result<(), Response>> {
    let refusal = refusal_for(state, user, origin, permission, Some(camera), range).await?;
    match refusal {
        None => Ok(Ok(())),
        Some(r) => Ok(Err(refuse(
            state,
            user,
            origin,
            Some(camera),
            &r,
            path,
            crate::i18n::Lang::Ja,
        )
        .await)),
    }
}

/// Whether the person may use `permission` from here (for showing or hiding controls).
pub fn may(state: &AppState, user: &CurrentUser, origin: &Origin, permission: Permission) -> bool {
    rules::authorize(&state.policy, user.role, permission, origin).is_ok()
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
            route_need(&Method::HEAD, "/api/cameras/{id}/video.mp4"),
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
