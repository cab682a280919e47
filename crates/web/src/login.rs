//! Signing in and out: the login page and form, the API login that hands back the
//! CSRF token, logout, `/api/me` (who is signed in and what they may do from
//! here), the first page after login, and the language switch.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::html;
use mimamori_governance::sessions::LoginOutcome;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::state::AppState;
use mimamori_base::ErrorCode;

use crate::http::error::{WebError, WebResult, answer};
use crate::http::origin::{RequestOrigin, Secure};
use crate::http::session::{CurrentUser, cleared_cookie, cookie, session_cookie, set_cookie};
use crate::views::i18n::Lang;
use crate::views::{alert, page};

/// `GET /`: the first page the person's role can use.
pub async fn root(user: CurrentUser) -> Redirect {
    use mimamori_policy::Permission as P;
    Redirect::to(if user.has(P::CameraStatus) {
        "/cameras"
    } else if user.has(P::AuditRead) {
        "/audit"
    } else {
        "/account"
    })
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
}

/// Only same-site relative paths are followed after login: a path that starts
/// with one `/`, without backslashes, spaces or control characters (browsers drop
/// tabs and newlines, which would turn `/\t/host` into `//host`).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.len() <= 2048
                && !n
                    .chars()
                    .any(|c| c == '\\' || c.is_whitespace() || c.is_control()) =>
        {
            n.to_string()
        }
        _ => "/cameras".to_string(),
    }
}

/// The cookie that ties a login form to the browser it was shown to (against login
/// CSRF: another site cannot sign a person in to an account of its choosing).
const LOGIN_COOKIE: &str = "mimamori_login";

/// The browser's login token: the one it already has (a favicon fetched on the
/// way may load the login page again, which must not void the form shown), or a
/// new one.
fn login_token(headers: &HeaderMap) -> String {
    match cookie(headers, LOGIN_COOKIE) {
        Some(t) if t.len() == 36 && t.bytes().all(|b| b.is_ascii_hexdigit()) => t.to_string(),
        _ => mimamori_crypto::random_hex(18),
    }
}

/// The login page with a fresh form token (and its cookie).
fn login_form(
    lang: Lang,
    headers: &HeaderMap,
    next: &str,
    message: Option<&str>,
) -> (HeaderMap, Html<String>) {
    let s = lang.strings();
    let token = login_token(headers);
    let body = html! {
        h1 { (s.login_title) }
        (alert(message))
        form.card.narrow method="post" action="/login" id="login-form" {
            input type="hidden" name="next" value=(next);
            input type="hidden" name="login_token" value=(token);
            label { (s.login_username) input name="username" id="username" autocomplete="username" required autofocus; }
            label { (s.login_password) input name="password" id="password" type="password" autocomplete="current-password" required; }
            label { (s.login_code) input name="code" id="code" inputmode="numeric" autocomplete="one-time-code"; }
            button type="submit" id="login-submit" { (s.login_submit) }
        }
    };
    (
        set_cookie(&format!(
            "{LOGIN_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict"
        )),
        page(lang, s.login_title, None, body),
    )
}

/// `GET /login`
pub async fn login_page(lang: Lang, headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    login_form(lang, &headers, &safe_next(q.next.as_deref()), None).into_response()
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    pub username: String,
    pub password: String,
    pub code: Option<String>,
    pub next: Option<String>,
    /// The token of the form shown to this browser (see [`LOGIN_COOKIE`]).
    pub login_token: Option<String>,
}

/// `POST /login`
pub async fn login_submit(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    RequestOrigin(origin): RequestOrigin,
    Secure(secure): Secure,
    axum::Form(f): axum::Form<LoginForm>,
) -> WebResult<Response> {
    let s = lang.strings();
    let next = safe_next(f.next.as_deref());
    let again = |status: StatusCode, message: &str| {
        (status, login_form(lang, &headers, &next, Some(message))).into_response()
    };
    let shown_here = cookie(&headers, LOGIN_COOKIE)
        .zip(f.login_token.as_deref())
        .is_some_and(|(c, t)| !t.is_empty() && c == t);
    if !shown_here {
        tracing::info!(
            cookie = cookie(&headers, LOGIN_COOKIE).is_some(),
            token = f.login_token.is_some(),
            "login form refused: not the form shown to this browser"
        );
        return Ok(again(StatusCode::FORBIDDEN, s.login_expired));
    }
    Ok(
        match state
            .gov
            .login(&f.username, &f.password, f.code.as_deref(), &origin)
            .await?
        {
            LoginOutcome::Ok { token, .. } => {
                (session_cookie(&token, secure), Redirect::to(&next)).into_response()
            }
            LoginOutcome::Failed => again(StatusCode::UNAUTHORIZED, s.login_failed),
            LoginOutcome::Locked => again(StatusCode::TOO_MANY_REQUESTS, s.login_locked),
            LoginOutcome::NeedsCode => again(StatusCode::UNAUTHORIZED, s.login_needs_code),
            LoginOutcome::NeedsEnrollment => {
                again(StatusCode::UNAUTHORIZED, s.login_needs_enrollment)
            }
            LoginOutcome::NotDesignated(why) => again(
                StatusCode::FORBIDDEN,
                &format!("{}: {why}", s.login_not_designated),
            ),
            LoginOutcome::Busy => again(StatusCode::SERVICE_UNAVAILABLE, s.login_busy),
        },
    )
}

/// `POST /logout`
pub async fn logout_submit(State(state): State<AppState>, user: CurrentUser) -> Response {
    if let Err(e) = state.gov.logout(&user.0).await {
        tracing::error!("logout: {e}");
    }
    (cleared_cookie(), Redirect::to("/login")).into_response()
}

#[derive(Debug, Deserialize)]
pub struct LoginBody {
    pub username: String,
    pub password: String,
    /// The one-time code, for people who enrolled a second factor.
    pub code: Option<String>,
}

/// `POST /api/login` → session cookie; the body carries the CSRF token for later writes.
pub async fn login_api(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
    Secure(secure): Secure,
    body: Option<Json<LoginBody>>,
) -> WebResult<Response> {
    let Some(Json(body)) = body else {
        return Err(WebError::bad_input(
            "expected JSON {\"username\": …, \"password\": …}",
        ));
    };
    let outcome = state
        .gov
        .login(
            &body.username,
            &body.password,
            body.code.as_deref(),
            &origin,
        )
        .await?;
    let refused = |m: &str| Ok(answer(ErrorCode::Unauthenticated, m));
    match outcome {
        LoginOutcome::Ok {
            token,
            csrf,
            user,
            role,
        } => Ok((
            session_cookie(&token, secure),
            Json(json!({
                "username": user.username,
                "display_name": user.display_name,
                "role": role.as_str(),
                "role_title": state.gov.policy().role_title(role),
                "csrf_token": csrf,
            })),
        )
            .into_response()),
        LoginOutcome::Failed => refused("wrong user name or password"),
        LoginOutcome::Locked => refused("too many failed attempts; wait a minute and try again"),
        LoginOutcome::NeedsCode => refused("a valid one-time code (\"code\") is needed"),
        LoginOutcome::NeedsEnrollment => refused(
            "this role requires a second factor; enroll with `mimamori user totp NAME` first",
        ),
        LoginOutcome::NotDesignated(why) => Ok(answer(
            ErrorCode::Forbidden,
            &format!("no valid designation: {why}"),
        )),
        LoginOutcome::Busy => Ok(answer(
            ErrorCode::Busy,
            "too many logins at once; try again in a moment",
        )),
    }
}

/// `POST /api/logout`
pub async fn logout_api(State(state): State<AppState>, user: CurrentUser) -> WebResult<Response> {
    state.gov.logout(&user.0).await?;
    Ok((StatusCode::NO_CONTENT, cleared_cookie()).into_response())
}

/// `GET /api/me`: who is logged in, their role now and what it permits from here.
pub async fn me(State(state): State<AppState>, user: CurrentUser) -> Json<Value> {
    let actor = user.actor();
    let p = &user.0.person;
    let policy = state.gov.policy();
    let here: Vec<&str> = mimamori_policy::Permission::ALL
        .into_iter()
        .filter(|perm| state.gov.may(&actor, *perm))
        .map(|perm| perm.as_str())
        .collect();
    Json(json!({
        "username": p.user.username,
        "display_name": p.user.display_name,
        "organization": p.user.organization,
        "role": p.role.as_str(),
        "role_title": policy.role_title(p.role),
        "designation": p.designation.id,
        "permissions_here": here,
        "purposes": policy.purposes.iter().map(|x| json!({"id": x.id, "label": x.label, "basis": x.basis})).collect::<Vec<_>>(),
        "csrf_token": user.0.csrf,
    }))
}

/// `GET /lang/{lang}`: sets the language and goes back where the person was.
pub async fn lang_switch(Path(lang): Path<String>, headers: HeaderMap) -> Response {
    let code = if lang == "en" { "en" } else { "ja" };
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| url::Url::parse(r).ok())
        .map(|u| {
            safe_next(Some(&format!(
                "{}{}",
                u.path(),
                u.query().map(|q| format!("?{q}")).unwrap_or_default()
            )))
        })
        .unwrap_or_else(|| "/cameras".to_string());
    (
        set_cookie(&format!(
            "lang={code}; Path=/; SameSite=Strict; Max-Age=31536000"
        )),
        Redirect::to(&back),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::safe_next;
    use proptest::prelude::*;

    proptest! {
        // Issue 13: after signing in, a browser only ever goes to a path of this
        // site, whatever `next` a link carried (no open redirect).
        #[test]
        fn the_page_after_login_is_always_on_this_site(next in proptest::option::of("\\PC{0,60}|/{1,3}[\\\\a-z.:@ \t]{0,20}")) {
            let to = safe_next(next.as_deref());
            prop_assert!(to.starts_with('/'), "{to}");
            prop_assert!(!to.starts_with("//") && !to.contains('\\'), "{to}");
            prop_assert!(!to.chars().any(|c| c.is_whitespace() || c.is_control()), "{to}");
        }
    }

    #[test]
    fn same_site_paths_are_kept() {
        assert_eq!(safe_next(Some("/cameras/3?x=1")), "/cameras/3?x=1");
        assert_eq!(safe_next(Some("https://evil.example/")), "/cameras");
        assert_eq!(safe_next(Some("/\\evil.example")), "/cameras");
    }
}
