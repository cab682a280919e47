//! Who sent a request: the session cookie (HttpOnly, SameSite=Strict; Secure over
//! HTTPS) resolved by the application layer into the person signed in
//! ([`CurrentUser`]), and the CSRF check on every request that changes something
//! (header `X-CSRF-Token`, or a `csrf` form field).

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use mimamori_base::ErrorCode;
use mimamori_governance::sessions::SignedIn;
use mimamori_governance::{Actor, Governance, Origin};

use crate::http::error::{Shown, WebError, shown_response};

pub const SESSION_COOKIE: &str = "mimamori_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The most a form body may carry when its CSRF token has to be read from it.
const FORM_LIMIT: usize = 64 * 1024;

/// The person signed in, put in the request by [`require_session`].
#[derive(Clone, Debug)]
pub struct CurrentUser(pub SignedIn);

impl CurrentUser {
    pub fn actor(&self) -> Actor {
        self.0.actor()
    }

    pub fn has(&self, p: mimamori_policy::Permission) -> bool {
        self.0.person.has(p)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or_else(|| unauthenticated().into_response())
    }
}

fn unauthenticated() -> Response {
    shown_response(Shown {
        code: ErrorCode::Unauthenticated,
        message: "log in first".into(),
        message_ja: None,
        refused: false,
    })
}

/// A cookie's value.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The `Set-Cookie` header of a new session.
pub fn session_cookie(token: &str, secure: bool) -> HeaderMap {
    let secure = if secure { "; Secure" } else { "" };
    set_cookie(&format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}"
    ))
}

/// The `Set-Cookie` header that ends the session cookie.
pub fn cleared_cookie() -> HeaderMap {
    set_cookie(&format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
    ))
}

pub fn set_cookie(value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(header::SET_COOKIE, v);
    }
    h
}

/// Requires a valid session (else 401 for the API, a redirect to the login page
/// for pages); requests that change something must carry the session's CSRF
/// token. Puts the [`CurrentUser`] in the request.
pub async fn require_session(gov: &Governance, req: Request) -> Result<Request, Response> {
    let path = req.uri().path().to_string();
    let origin = req
        .extensions()
        .get::<Origin>()
        .cloned()
        .unwrap_or_default();
    let signed = match cookie(req.headers(), SESSION_COOKIE) {
        Some(token) => gov
            .session(token, origin)
            .await
            .map_err(|e| WebError(e).into_response())?,
        None => None,
    };
    let Some(signed) = signed else {
        if path.starts_with("/api/") {
            return Err(unauthenticated());
        }
        let next_url = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let target = format!(
            "/login?next={}",
            url::form_urlencoded::byte_serialize(next_url.as_bytes()).collect::<String>()
        );
        return Err(Redirect::to(&target).into_response());
    };
    let (mut parts, body) = req.into_parts();
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    let body = if safe {
        body
    } else {
        let header_ok = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| constant_time_eq(v.as_bytes(), signed.csrf.as_bytes()));
        if header_ok {
            body
        } else {
            let is_form = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
            let bytes = match axum::body::to_bytes(body, FORM_LIMIT).await {
                Ok(b) => b,
                Err(_) => return Err(WebError::bad_input("request body too large").into_response()),
            };
            let form_ok = is_form
                && url::form_urlencoded::parse(&bytes).any(|(k, v)| {
                    k == "csrf" && constant_time_eq(v.as_bytes(), signed.csrf.as_bytes())
                });
            if !form_ok {
                tracing::warn!(user = %signed.person.user.username, path, "request refused: missing or wrong CSRF token");
                return Err((
                    StatusCode::FORBIDDEN,
                    axum::Json(
                        serde_json::json!({"error": {"code": ErrorCode::Forbidden.as_str(),
                        "message": "missing or wrong CSRF token; reload the page and try again"}}),
                    ),
                )
                    .into_response());
            }
            axum::body::Body::from(bytes)
        }
    };
    parts.extensions.insert(CurrentUser(signed));
    Ok(Request::from_parts(parts, body))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_parsing() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; mimamori_session=tok; lang=en".parse().unwrap(),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie(&h, "lang"), Some("en"));
        assert_eq!(cookie(&h, "x"), None);
    }

    #[test]
    fn tokens_compare_in_full() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
