//! Logging in: argon2id password hashes, an optional TOTP second factor (required
//! where the policy says so), session cookies (HttpOnly, SameSite=Strict; only a
//! hash of the token is stored), a CSRF token per session, a short lock after
//! repeated failures, and no login without a designation valid now.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use mimamori_base::{ErrorCode, Timestamp};
use mimamori_catalog::people::Designation;
use mimamori_catalog::{Session, User};
use mimamori_policy::RoleKind;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::AppError;

pub const SESSION_COOKIE: &str = "mimamori_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
const MAX_FAILURES: u32 = 5;
const LOCK_MICROS: i64 = 60_000_000;

/// argon2id hash in PHC form.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The logged-in person of a request, put there by [`require_login`].
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub user: User,
    pub csrf: String,
    /// The role of the designation valid now.
    pub role: RoleKind,
    pub designation: Designation,
    /// What the role permits (wherever the person is; terminals are checked per request).
    pub permissions: Vec<mimamori_policy::Permission>,
    token_hash: Vec<u8>,
}

impl CurrentUser {
    pub fn has(&self, p: mimamori_policy::Permission) -> bool {
        self.permissions.contains(&p)
    }
}

impl CurrentUser {
    pub fn token_hash(&self) -> &[u8] {
        &self.token_hash
    }
}

/// Failed attempts per user name, in memory.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Timestamp)>>,
}

pub enum LoginOutcome {
    Ok {
        cookie: String,
        csrf: String,
        user: User,
        role: RoleKind,
    },
    Failed,
    Locked,
    /// Password right; a valid one-time code is needed (or was wrong).
    NeedsCode,
    /// The role requires a second factor and none is enrolled.
    NeedsEnrollment,
    /// Password right, but no designation is valid now (ended, not started, removed role).
    NotDesignated(String),
}

impl LoginThrottle {
    fn locked(&self, username: &str, now: Timestamp) -> bool {
        let map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        matches!(map.get(username), Some((n, at)) if *n >= MAX_FAILURES && now.0 - at.0 < LOCK_MICROS)
    }

    /// Counts a failure; returns the number of recent failures of this name.
    fn fail(&self, username: &str, now: Timestamp) -> u32 {
        let mut map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let e = map.entry(username.to_string()).or_insert((0, now));
        if now.0 - e.1.0 >= LOCK_MICROS {
            *e = (0, now);
        }
        e.0 += 1;
        e.1 = now;
        e.0
    }

    fn clear(&self, username: &str) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(username);
    }
}

/// How long to wait before answering the n-th recent failure of a name:
/// nothing for the first, then 0.2 s, 0.4 s, 0.8 s … (the name locks after five).
fn backoff(failures: u32) -> std::time::Duration {
    let steps = failures.saturating_sub(1).min(4);
    std::time::Duration::from_millis(if steps == 0 { 0 } else { 100 << steps })
}

/// Checks credentials and opens a session.
pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
    code: Option<&str>,
    origin: &crate::audit::ClientAddr,
) -> Result<LoginOutcome, AppError> {
    let client = origin.0.as_str();
    let now = state.clock.now();
    let refused = |detail: &str| crate::audit::Access {
        action: "login_failed",
        camera: None,
        range: None,
        purpose: "",
        detail: detail.to_string(),
    };
    if state.throttle.locked(username, now) {
        crate::audit::record(
            state,
            None,
            username,
            client,
            refused("locked after repeated failures"),
        )
        .await?;
        return Ok(LoginOutcome::Locked);
    }
    let user = state.catalog.user_by_name(username).await?;
    // Verify even for unknown users so that timing does not tell which names exist.
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.as_str())
        .unwrap_or(DUMMY_HASH);
    let pw = password.to_string();
    let hash = hash.to_string();
    let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &pw))
        .await
        .unwrap_or(false);
    let (Some(user), true) = (user, ok) else {
        let failures = state.throttle.fail(username, now);
        // Backoff: each further failure of the same name waits longer before answering.
        tokio::time::sleep(backoff(failures)).await;
        tracing::info!(username, "login failed");
        crate::audit::record(
            state,
            None,
            username,
            client,
            refused("wrong user name or password"),
        )
        .await?;
        return Ok(LoginOutcome::Failed);
    };
    let designation =
        mimamori_governance::access::designation_at(&state.catalog, &state.policy, user.id, now)
            .await?;
    let role = match designation {
        Ok((role, _)) => role,
        Err(refusal) => {
            crate::audit::record(state, None, username, client, refused(&refusal.to_string()))
                .await?;
            return Ok(LoginOutcome::NotDesignated(refusal.to_string()));
        }
    };
    let code = code.map(str::trim).filter(|c| !c.is_empty());
    match (&user.totp_secret, code) {
        (Some(secret), Some(code)) => {
            if !mimamori_crypto::totp::verify(secret, code, now.0.div_euclid(1_000_000)) {
                let failures = state.throttle.fail(username, now);
                tokio::time::sleep(backoff(failures)).await;
                crate::audit::record(
                    state,
                    None,
                    username,
                    client,
                    refused("wrong one-time code"),
                )
                .await?;
                return Ok(LoginOutcome::NeedsCode);
            }
        }
        (Some(_), None) => return Ok(LoginOutcome::NeedsCode),
        (None, _) => {
            if state.policy.role(role).is_some_and(|r| r.totp_required) {
                crate::audit::record(
                    state,
                    None,
                    username,
                    client,
                    refused("second factor required by the policy but not enrolled"),
                )
                .await?;
                return Ok(LoginOutcome::NeedsEnrollment);
            }
        }
    }
    state.throttle.clear(username);
    let token = random_token();
    let csrf = random_token();
    state
        .catalog
        .session_insert(
            &token_hash(&token),
            &Session {
                user_id: user.id,
                csrf_token: csrf.clone(),
                created_at: now,
                last_seen_at: now,
                expires_at: now.add_micros(state.config.session_max_micros),
            },
        )
        .await?;
    tracing::info!(username, "login");
    crate::audit::record_for(
        state,
        Some(user.id),
        &user.username,
        client,
        crate::audit::Access {
            action: "login",
            camera: None,
            range: None,
            purpose: "",
            detail: String::new(),
        },
    )
    .await?;
    let secure = if origin.1 { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}");
    Ok(LoginOutcome::Ok {
        cookie,
        csrf,
        user,
        role,
    })
}

/// A valid argon2id hash of a random string, verified against when the user does not exist.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3QKfZ0FVOAcoJvQ1lNZ9k3LCB1XJd6s6M6sJJm3rjQk";

pub fn clear_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

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

/// Resolves the session of a request, if valid (not expired, not idle too long).
pub async fn current_user(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<CurrentUser>, AppError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = token_hash(token);
    let Some(session) = state.catalog.session(&hash).await? else {
        return Ok(None);
    };
    let now = state.clock.now();
    if now >= session.expires_at
        || now.0 - session.last_seen_at.0 > state.config.session_idle_micros
    {
        state.catalog.session_delete(&hash).await?;
        return Ok(None);
    }
    let Ok((role, designation)) = mimamori_governance::access::designation_at(
        &state.catalog,
        &state.policy,
        session.user_id,
        now,
    )
    .await?
    else {
        // The designation ended during the session: it ends too.
        state.catalog.session_delete(&hash).await?;
        return Ok(None);
    };
    state.catalog.session_touch(&hash, now).await?;
    let user = state.catalog.user(session.user_id).await?;
    Ok(Some(CurrentUser {
        user,
        csrf: session.csrf_token,
        role,
        designation,
        permissions: state
            .policy
            .role(role)
            .map(|r| r.permissions.clone())
            .unwrap_or_default(),
        token_hash: hash,
    }))
}

/// Requires a session (else 401 for the API, a redirect to the login page for
/// pages); state-changing requests must carry the session's CSRF token (header
/// `X-CSRF-Token`, or a `csrf` form field). Puts the [`CurrentUser`] in the request.
pub async fn require_session(state: &AppState, req: Request) -> Result<Request, Response> {
    let path = req.uri().path().to_string();
    let user = match current_user(state, req.headers()).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            if path.starts_with("/api/") {
                return Err(
                    AppError::new(ErrorCode::Unauthenticated, "log in first").into_response()
                );
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
        }
        Err(e) => return Err(e.into_response()),
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
            .is_some_and(|v| constant_time_eq(v.as_bytes(), user.csrf.as_bytes()));
        if header_ok {
            body
        } else {
            let is_form = parts
                .headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
            let bytes = match axum::body::to_bytes(body, 64 * 1024).await {
                Ok(b) => b,
                Err(_) => return Err(AppError::bad_input("request body too large").into_response()),
            };
            let form_ok = is_form
                && url::form_urlencoded::parse(&bytes).any(|(k, v)| {
                    k == "csrf" && constant_time_eq(v.as_bytes(), user.csrf.as_bytes())
                });
            if !form_ok {
                tracing::warn!(user = %user.user.username, path, "request refused: missing or wrong CSRF token");
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
    parts.extensions.insert(user);
    Ok(Request::from_parts(parts, body))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_dummy_hash_parses() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "wrong"));
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn throttle_locks_after_repeated_failures() {
        let t = LoginThrottle::default();
        let now = Timestamp::from_secs(100);
        for _ in 0..MAX_FAILURES {
            assert!(!t.locked("a", now));
            t.fail("a", now);
        }
        assert!(t.locked("a", now));
        assert!(!t.locked("b", now));
        assert!(!t.locked("a", now.add_micros(LOCK_MICROS)));
    }

    #[test]
    fn backoff_grows_with_failures() {
        assert_eq!(backoff(1).as_millis(), 0);
        assert_eq!(backoff(2).as_millis(), 200);
        assert_eq!(backoff(4).as_millis(), 800);
        assert_eq!(backoff(9).as_millis(), 1600);
    }

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
}
