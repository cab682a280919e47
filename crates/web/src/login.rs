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
use crate::http::session::{CurrentUser, cleared_cookie, session_cookie, set_cookie};
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

/// Only same-site relative paths are followed after login.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/cameras".to_string(),
    }
}

fn login_form(lang: Lang, next: &str, message: Option<&str>) -> Html<String> {
    let s = lang.strings();
    let body = html! {
        h1 { (s.login_title) }
        (alert(message))
        form.card.narrow method="post" action="/login" id="login-form" {
            input type="hidden" name="next" value=(next);
            label { (s.login_username) input name="username" id="username" autocomplete="username" required autofocus; }
            label { (s.login_password) input name="password" id="password" type="password" autocomplete="current-password" required; }
            label { (s.login_code) input name="code" id="code" inputmode="numeric" autocomplete="one-time-code"; }
            button type="submit" id="login-submit" { (s.login_submit) }
        }
    };
    page(lang, s.login_title, None, body)
}

/// `GET /login`
pub async fn login_page(lang: Lang, Query(q): Query<NextQuery>) -> Html<String> {
    login_form(lang, &safe_next(q.next.as_deref()), None)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    pub username: String,
    pub password: String,
    pub code: Option<String>,
    pub next: Option<String>,
}

/// `POST /login`
pub async fn login_submit(
    State(state): State<AppState>,
    lang: Lang,
    RequestOrigin(origin): RequestOrigin,
    Secure(secure): Secure,
    axum::Form(f): axum::Form<LoginForm>,
) -> WebResult<Response> {
    let s = lang.strings();
    let next = safe_next(f.next.as_deref());
    let again = |status: StatusCode, message: &str| {
        (status, login_form(lang, &next, Some(message))).into_response()
    };
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
