//! A person's own account: their designation and open instructions, changing the
//! password (which ends their other sessions), enrolling a TOTP second factor, and
//! seeing and revoking their sessions.

use axum::Form;
use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use mimamori_base::ErrorCode;
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
    let when = crate::html::jst_minute;
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
    let role = state.policy.role(user.role);
    let designation = format!(
        r#"<section class="card narrow" id="my-designation"><h2>{h}</h2><p><strong>{title}</strong> (#{id}) {from} – {until}</p><p class="muted">{basis}</p>{instr}</section>"#,
        h = t(lang, "acct.designation"),
        title = esc(&state.policy.role_title(user.role)),
        id = user.designation.id,
        from = when(user.designation.valid_from),
        until = user.designation.end().map(when).unwrap_or_default(),
        basis = esc(&user.designation.basis),
        instr = if role.is_some_and(|r| r.requires_instruction) {
            let now = state.clock.now();
            let open: Vec<String> = state
                .catalog
                .instructions(Some(user.user.id))
                .await?
                .into_iter()
                .filter(|i| i.open_at(now))
                .map(|i| {
                    format!(
                        "<li>#{}: {} ({} {})</li>",
                        i.id,
                        esc(&i.content),
                        t(lang, "instr.until"),
                        when(i.valid_until)
                    )
                })
                .collect();
            format!(
                "<h3>{}</h3><ul id=\"my-instructions\">{}</ul>",
                t(lang, "instr.title"),
                if open.is_empty() {
                    format!("<li>{}</li>", t(lang, "instr.none"))
                } else {
                    open.join("")
                }
            )
        } else {
            String::new()
        },
    );
    let totp = if user.user.totp_secret.is_some() {
        format!(r#"<p id="totp-status">{}</p>"#, t(lang, "acct.totp_on"))
    } else {
        format!(
            r#"<p id="totp-status">{}</p><form method="post" action="/account/totp" id="totp-start"><input type="hidden" name="csrf" value="{}"><button>{}</button></form>"#,
            t(lang, "acct.totp_off"),
            esc(&user.csrf),
            t(lang, "acct.totp_enroll")
        )
    };
    Ok(format!(
        r#"<h1>{title}: {name}</h1>{msg}{designation}
<section class="card narrow"><h2>{totp_h}</h2>{totp}</section>
<section class="card narrow"><h2>{pw}</h2><form method="post" action="/account/password" id="password-form">
<input type="hidden" name="csrf" value="{csrf}">
<label>{cur}<input type="password" name="current" autocomplete="current-password" required></label>
<label>{new}<input type="password" name="new" autocomplete="new-password" minlength="8" required></label>
<button>{save}</button></form></section>
<section class="card"><h2>{sess}</h2><table id="sessions"><thead><tr><th>{created}</th><th>{seen}</th><th>{expires}</th><th></th></tr></thead><tbody>{rows}</tbody></table></section>"#,
        title = t(lang, "acct.title"),
        totp_h = t(lang, "acct.totp"),
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

/// `POST /account/totp`: a new secret to type or scan into an authenticator app,
/// and the form to confirm it with the first code.
pub async fn totp_start_submit(
    headers: HeaderMap,
    Extension(user): Extension<CurrentUser>,
) -> Response {
    let lang = lang_of(&headers);
    let secret = mimamori_crypto::totp::new_secret();
    totp_confirm_page(lang, &user, &mimamori_crypto::totp::base32(&secret), None)
}

fn totp_confirm_page(
    lang: Lang,
    user: &CurrentUser,
    secret_b32: &str,
    error: Option<&str>,
) -> Response {
    let uri = mimamori_crypto::totp::base32_decode(secret_b32)
        .map(|s| mimamori_crypto::totp::otpauth_uri("mimamori", &user.user.username, &s))
        .unwrap_or_default();
    let body = format!(
        r#"<h1>{h}</h1>{err}<section class="card narrow"><p>{hint}</p>
<p><code id="totp-secret">{secret}</code></p><p class="muted"><code>{uri}</code></p>
<form method="post" action="/account/totp/confirm" id="totp-confirm"><input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="secret" value="{secret}">
<label>{code}<input name="code" inputmode="numeric" autocomplete="one-time-code" required pattern="[0-9 ]{{6,7}}"></label><button>{save}</button></form></section>"#,
        h = t(lang, "acct.totp"),
        err = error
            .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, esc(e)))
            .unwrap_or_default(),
        hint = t(lang, "acct.totp_hint"),
        secret = esc(secret_b32),
        uri = esc(&uri),
        csrf = esc(&user.csrf),
        code = t(lang, "login.code"),
        save = t(lang, "form.save"),
    );
    page(lang, t(lang, "acct.totp"), Some(user), &body).into_response()
}

#[derive(Debug, Deserialize)]
pub struct TotpConfirm {
    pub secret: String,
    pub code: String,
}

/// `POST /account/totp/confirm`: stores the secret once a code from it is right.
pub async fn totp_confirm_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
    Form(f): Form<TotpConfirm>,
) -> AppResult<Response> {
    let lang = lang_of(&headers);
    let Some(secret) = mimamori_crypto::totp::base32_decode(&f.secret).filter(|s| s.len() >= 10)
    else {
        return Err(AppError::bad_input("secret: not a base32 secret"));
    };
    let now = state.clock.now().0.div_euclid(1_000_000);
    if !mimamori_crypto::totp::verify(&secret, &f.code, now) {
        return Ok(totp_confirm_page(
            lang,
            &user,
            &f.secret,
            Some(t(lang, "acct.totp_wrong")),
        ));
    }
    state
        .catalog
        .user_set_totp(user.user.id, Some(&secret))
        .await?;
    record(
        &state,
        Some(&user),
        "",
        &client.0,
        simple("totp_enrolled", None, String::new()),
    )
    .await?;
    Ok(Redirect::to("/account").into_response())
}
