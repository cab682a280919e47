//! A person's own account: their designation and open instructions, changing the
//! password (which ends their other sessions), enrolling a TOTP second factor, and
//! seeing and revoking their sessions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::error::{Shown, WebError, WebResult};
use crate::http::form::json_body;
use crate::http::session::CurrentUser;
use crate::state::AppState;
use crate::views::i18n::Lang;
use crate::views::{alert, csrf_field, minute, page};

#[derive(Debug, Deserialize)]
pub struct PasswordChange {
    pub current: String,
    pub new: String,
}

/// `POST /api/password` `{"current","new"}`
pub async fn password_api(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Option<Json<PasswordChange>>,
) -> WebResult<Json<Value>> {
    let c = json_body(body, "{current, new}")?;
    let ended = state
        .gov
        .password_change(&user.0, &c.current, &c.new)
        .await?;
    Ok(Json(
        json!({"changed": true, "other_sessions_ended": ended}),
    ))
}

async fn account_body(
    state: &AppState,
    lang: Lang,
    user: &CurrentUser,
    msg: Option<(&str, bool)>,
) -> WebResult<Markup> {
    let s = lang.strings();
    let policy = state.gov.policy();
    let p = &user.0.person;
    let sessions = state.gov.sessions_of(&user.0).await?;
    let under_instruction = mimamori_governance::access::acts_under_instruction(policy, p.role);
    let open = if under_instruction {
        state.gov.instructions_to(p.user.id).await?
    } else {
        Vec::new()
    };
    Ok(html! {
        h1 { (s.acct_title) ": " (p.user.display_name) }
        @if let Some((m, ok)) = msg {
            @if ok { p.muted role="alert" { (m) } } @else { (alert(Some(m))) }
        }
        section.card.narrow id="my-designation" {
            h2 { (s.acct_designation) }
            p {
                strong { (policy.role_title(p.role)) }
                " (#" (p.designation.id) ") " (minute(p.designation.valid_from)) " – "
                (p.designation.end().map(minute).unwrap_or_default())
            }
            p.muted { (p.designation.basis) }
            @if under_instruction {
                h3 { (s.instr_title) }
                ul id="my-instructions" {
                    @for i in &open {
                        li { "#" (i.id) ": " (i.content) " (" (s.instr_until) " " (minute(i.valid_until)) ")" }
                    }
                    @if open.is_empty() { li { (s.instr_none) } }
                }
            }
        }
        section.card.narrow {
            h2 { (s.acct_totp) }
            @if p.user.totp_secret.is_some() {
                p id="totp-status" { (s.acct_totp_on) }
            } @else {
                p id="totp-status" { (s.acct_totp_off) }
                form method="post" action="/account/totp" id="totp-start" {
                    (csrf_field(&user.0))
                    button { (s.acct_totp_enroll) }
                }
            }
        }
        section.card.narrow {
            h2 { (s.acct_password) }
            form method="post" action="/account/password" id="password-form" {
                (csrf_field(&user.0))
                label { (s.acct_current) input type="password" name="current" autocomplete="current-password" required; }
                label { (s.acct_new) input type="password" name="new" autocomplete="new-password" minlength="8" required; }
                button { (s.form_save) }
            }
        }
        section.card {
            h2 { (s.acct_sessions) }
            table id="sessions" {
                thead { tr { th { (s.acct_created) } th { (s.acct_seen) } th { (s.acct_expires) } th {} } }
                tbody {
                    @for x in &sessions {
                        tr data-session=(x.id) {
                            td { (minute(x.created)) }
                            td { (minute(x.last_seen)) }
                            td { (minute(x.expires)) }
                            td {
                                @if x.current {
                                    (s.acct_this_session)
                                } @else {
                                    form.inline method="post" action={ "/account/sessions/" (x.id) "/revoke" } {
                                        (csrf_field(&user.0))
                                        button { (s.acct_revoke) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// `GET /account`
pub async fn account_page(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
) -> WebResult<Response> {
    let body = account_body(&state, lang, &user, None).await?;
    Ok(page(lang, lang.strings().acct_title, Some(&user.0), body).into_response())
}

/// `POST /account/password` (form): the page again, saying whether it worked.
pub async fn password_submit(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
    axum::Form(c): axum::Form<PasswordChange>,
) -> WebResult<Response> {
    let (msg, status) = match state.gov.password_change(&user.0, &c.current, &c.new).await {
        Ok(_) => (lang.strings().acct_changed.to_string(), StatusCode::OK),
        Err(e) => {
            let shown = Shown::of(&e);
            (
                format!("{} ({})", shown.message_in(lang), shown.code),
                crate::http::error::status_of(shown.code),
            )
        }
    };
    let ok = status.is_success();
    let body = account_body(&state, lang, &user, Some((&msg, ok))).await?;
    Ok((
        status,
        page(lang, lang.strings().acct_title, Some(&user.0), body),
    )
        .into_response())
}

/// `POST /account/sessions/{id}/revoke` (form)
pub async fn session_revoke_submit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    user: CurrentUser,
) -> WebResult<Redirect> {
    state.gov.session_revoke(&user.0, &id).await?;
    Ok(Redirect::to("/account"))
}

/// `POST /account/totp`: a new secret to type or scan into an authenticator app,
/// and the form to confirm it with the first code.
pub async fn totp_start_submit(lang: Lang, user: CurrentUser) -> Response {
    let secret = mimamori_crypto::totp::new_secret();
    totp_confirm_page(lang, &user, &mimamori_crypto::totp::base32(&secret), None)
}

fn totp_confirm_page(
    lang: Lang,
    user: &CurrentUser,
    secret_b32: &str,
    error: Option<&str>,
) -> Response {
    let s = lang.strings();
    let uri = mimamori_crypto::totp::base32_decode(secret_b32)
        .map(|secret| {
            mimamori_crypto::totp::otpauth_uri("mimamori", &user.0.person.user.username, &secret)
        })
        .unwrap_or_default();
    let body = html! {
        h1 { (s.acct_totp) }
        (alert(error))
        section.card.narrow {
            p { (s.acct_totp_hint) }
            p { code id="totp-secret" { (secret_b32) } }
            p.muted { code { (uri) } }
            form method="post" action="/account/totp/confirm" id="totp-confirm" {
                (csrf_field(&user.0))
                input type="hidden" name="secret" value=(secret_b32);
                @if user.0.person.user.totp_secret.is_some() {
                    label { (s.acct_totp_current) input name="current_code" inputmode="numeric" autocomplete="one-time-code" required pattern="[0-9 ]{6,7}"; }
                }
                label { (s.login_code) input name="code" inputmode="numeric" autocomplete="one-time-code" required pattern="[0-9 ]{6,7}"; }
                button { (s.form_save) }
            }
        }
    };
    page(lang, s.acct_totp, Some(&user.0), body).into_response()
}

#[derive(Debug, Deserialize)]
pub struct TotpConfirm {
    pub secret: String,
    pub code: String,
    /// A code of the second factor enrolled now, to replace it.
    pub current_code: Option<String>,
}

/// `POST /account/totp/confirm`: stores the secret once a code from it is right.
pub async fn totp_confirm_submit(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
    axum::Form(f): axum::Form<TotpConfirm>,
) -> WebResult<Response> {
    let secret = mimamori_crypto::totp::base32_decode(&f.secret)
        .ok_or_else(|| WebError::bad_input("secret: not a base32 secret"))?;
    if state
        .gov
        .totp_confirm(&user.0, &secret, &f.code, f.current_code.as_deref())
        .await?
    {
        Ok(Redirect::to("/account").into_response())
    } else {
        Ok(totp_confirm_page(
            lang,
            &user,
            &f.secret,
            Some(lang.strings().acct_totp_wrong),
        ))
    }
}
