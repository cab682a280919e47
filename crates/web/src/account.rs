//! A person's own account: changing the password (which ends their other
//! sessions) and seeing and revoking their sessions.

use axum::Form;
use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use mimamori_base::ErrorCode;
use mimamori_base::time::jst;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::api::simple;
use crate::audit::{ClientAddr, record};
use crate::auth::{CurrentUser, hash_password, verify_password};
use crate::error::{AppError, AppResult};
use crate::html::{esc, page};
use crate::i18n::{Lang, t};

#[derive(Debug, Deserialize)]
pub struct PasswordChange {
    pub current: String,
    pub new: String,
}

/// Changes the password after checking the current one; other sessions end.
pub async fn change_password(
    state: &AppState,
    user: &CurrentUser,
    client: &str,
    c: &PasswordChange,
) -> AppResult<u64> {
    let current = c.current.clone();
    let hash = user.user.password_hash.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &current))
        .await
        .unwrap_or(false);
    if !ok {
        return Err(AppError::new(
            ErrorCode::Forbidden,
            "the current password is wrong",
        ));
    }
    if c.new.chars().count() < 8 {
        return Err(AppError::bad_input(
            "the new password must have at least 8 characters",
        ));
    }
    if c.new == c.current {
        return Err(AppError::bad_input(
            "the new password must differ from the current one",
        ));
    }
    let new = c.new.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&new))
        .await
        .map_err(|e| AppError::new(ErrorCode::CatalogIo, e.to_string()))?
        .map_err(|e| AppError::new(ErrorCode::CatalogIo, e))?;
    state.catalog.user_set_password(user.user.id, &hash).await?;
    let ended = state
        .catalog
        .sessions_end_others(user.user.id, user.token_hash())
        .await?;
    record(
        state,
        Some(user),
        "",
        client,
        simple(
            "password_changed",
            None,
            format!("{ended} other session(s) ended"),
        ),
    )
    .await?;
    Ok(ended)
}

/// `POST /api/password` `{"current","new"}`
pub async fn password_api(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
    body: Option<Json<PasswordChange>>,
) -> AppResult<Json<Value>> {
    let Some(Json(c)) = body else {
        return Err(AppError::bad_input("expected JSON {current, new}"));
    };
    let ended = change_password(&state, &user, &client.0, &c).await?;
    Ok(Json(
        json!({"changed": true, "other_sessions_ended": ended}),
    ))
}

fn session_id(hash: &[u8]) -> String {
    hex::encode(&hash[..hash.len().min(8)])
}

async fn account_body(
    state: &AppState,
    lang: Lang,
    user: &CurrentUser,
    msg: Option<(&str, bool)>,
) -> AppResult<String> {
    let sessions = state.catalog.sessions_of(user.user.id).await?;
    let when = |t: mimamori_base::Timestamp| {
        t.to_datetime()
            .with_timezone(&jst())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    let mut rows = String::new();
    for (hash, created, seen, expires) in &sessions {
        let this = hash.as_slice() == user.token_hash();
        let action = if this {
            t(lang, "acct.this_session").to_string()
        } else {
            format!(
                r#"<form method="post" action="/account/sessions/{id}/revoke" class="inline"><input type="hidden" name="csrf" value="{csrf}"><button>{revoke}</button></form>"#,
                id = session_id(hash),
                csrf = esc(&user.csrf),
                revoke = t(lang, "acct.revoke"),
            )
        };
        rows.push_str(&format!(
            "<tr data-session=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            session_id(hash),
            when(*created),
            when(*seen),
            when(*expires),
            action
        ));
    }
    let msg = msg
        .map(|(m, ok)| {
            format!(
                r#"<p class="{}" role="alert">{}</p>"#,
                if ok { "muted" } else { "error" },
                esc(m)
            )
        })
        .unwrap_or_default();
    Ok(format!(
        r#"<h1>{title}: {name}</h1>{msg}
<section class="card narrow"><h2>{pw}</h2><form method="post" action="/account/password" id="password-form">
<input type="hidden" name="csrf" value="{csrf}">
<label>{cur}<input type="password" name="current" autocomplete="current-password" required></label>
<label>{new}<input type="password" name="new" autocomplete="new-password" minlength="8" required></label>
<button>{save}</button></form></section>
<section class="card"><h2>{sess}</h2><table id="sessions"><thead><tr><th>{created}</th><th>{seen}</th><th>{expires}</th><th></th></tr></thead><tbody>{rows}</tbody></table></section>"#,
        title = t(lang, "acct.title"),
        name = esc(&user.user.display_name),
        pw = t(lang, "acct.password"),
        csrf = esc(&user.csrf),
        cur = t(lang, "acct.current"),
        new = t(lang, "acct.new"),
        save = t(lang, "form.save"),
        sess = t(lang, "acct.sessions"),
        created = t(lang, "acct.created"),
        seen = t(lang, "acct.seen"),
        expires = t(lang, "acct.expires"),
    ))
}

fn lang_of(headers: &HeaderMap) -> Lang {
    Lang::from_cookie(crate::auth::cookie(headers, "lang"))
}

/// `GET /account`
pub async fn account_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(user): Extension<CurrentUser>,
) -> AppResult<Response> {
    let lang = lang_of(&headers);
    let body = account_body(&state, lang, &user, None).await?;
    Ok(page(lang, t(lang, "acct.title"), Some(&user), &body).into_response())
}

/// `POST /account/password` (form)
pub async fn password_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
    Form(c): Form<PasswordChange>,
) -> AppResult<Response> {
    let lang = lang_of(&headers);
    let (msg, status) = match change_password(&state, &user, &client.0, &c).await {
        Ok(_) => (
            t(lang, "acct.changed").to_string(),
            axum::http::StatusCode::OK,
        ),
        Err(e) => (format!("{} ({})", e.message, e.code), e.status()),
    };
    let ok = status.is_success();
    let body = account_body(&state, lang, &user, Some((&msg, ok))).await?;
    Ok((
        status,
        page(lang, t(lang, "acct.title"), Some(&user), &body),
    )
        .into_response())
}

/// `POST /account/sessions/{id}/revoke` (form)
pub async fn session_revoke_submit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
) -> AppResult<Response> {
    let sessions = state.catalog.sessions_of(user.user.id).await?;
    let Some((hash, ..)) = sessions.iter().find(|(h, ..)| session_id(h) == id) else {
        return Err(AppError::not_found("no such session"));
    };
    state.catalog.session_delete(hash).await?;
    record(
        &state,
        Some(&user),
        "",
        &client.0,
        simple("session_revoked", None, format!("session {id}")),
    )
    .await?;
    Ok(Redirect::to("/account").into_response())
}
