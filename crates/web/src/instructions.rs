//! Instructions (指示) to operators who act only under them (Osaka 第4条): the
//! list with revoke buttons, the form to issue one, and the JSON API.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use mimamori_base::time::jst;
use mimamori_base::{Timestamp, UserId};
use mimamori_catalog::people::Instruction;
use mimamori_governance::people::InstructionText;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::error::WebResult;
use crate::http::form::{FormFields, json_body};
use crate::http::session::CurrentUser;
use crate::state::AppState;
use crate::views::i18n::Lang;
use crate::views::{csrf_field, minute, page};

#[derive(Debug, Deserialize, Default)]
pub struct InstructionBody {
    pub person: i64,
    pub cameras: Vec<i64>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub until: String,
    pub content: String,
}

impl InstructionBody {
    fn text(&self) -> InstructionText<'_> {
        InstructionText {
            person: self.person,
            cameras: self.cameras.clone(),
            from: self.from.as_deref(),
            to: self.to.as_deref(),
            until: &self.until,
            content: &self.content,
        }
    }
}

fn instruction_json(i: &Instruction, now: Timestamp) -> Value {
    json!({
        "id": i.id,
        "person": i.user_id.0,
        "cameras": i.cameras.iter().map(|c| c.0).collect::<Vec<_>>(),
        "range": i.range.map(|(a, b)| [a.to_rfc3339(jst()), b.to_rfc3339(jst())]),
        "until": i.valid_until.to_rfc3339(jst()),
        "content": i.content,
        "open": i.open_at(now),
    })
}

/// `GET /api/instructions`
pub async fn instructions_api(
    State(state): State<AppState>,
    user: CurrentUser,
) -> WebResult<Json<Value>> {
    let now = state.gov.now();
    let book = state.gov.instruction_book(&user.actor()).await?;
    Ok(Json(json!({
        "instructions": book.instructions.iter().map(|i| instruction_json(i, now)).collect::<Vec<_>>()
    })))
}

/// `POST /api/instructions` `{person, cameras: [id], from?, to?, until, content}`
pub async fn instruction_create_api(
    State(state): State<AppState>,
    user: CurrentUser,
    b: Option<Json<InstructionBody>>,
) -> WebResult<Response> {
    let b = json_body(b, "{person, cameras, from?, to?, until, content}")?;
    let id = state
        .gov
        .instruction_issue(&user.actor(), &b.text())
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

/// `POST /api/instructions/{id}/revoke`
pub async fn instruction_revoke_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> WebResult<Json<Value>> {
    state.gov.instruction_revoke(&user.actor(), id).await?;
    Ok(Json(json!({ "revoked": id })))
}

/// `GET /instructions`
pub async fn instructions_page(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
) -> WebResult<Response> {
    let s = lang.strings();
    let now = state.gov.now();
    let book = state.gov.instruction_book(&user.actor()).await?;
    let name = |id: UserId| {
        book.users
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.username.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let camera_names = |i: &Instruction| {
        i.cameras
            .iter()
            .map(|c| {
                book.cameras
                    .iter()
                    .find(|x| x.id == *c)
                    .map(|x| x.name.clone())
                    .unwrap_or_else(|| c.to_string())
            })
            .collect::<Vec<_>>()
            .join("、")
    };
    let body = html! {
        h1 { (s.instr_title) }
        p.muted { (book.basis) }
        table id="instructions" {
            thead { tr {
                th { "#" } th { (s.instr_person) } th { (s.audit_camera) } th { (s.instr_range) }
                th { (s.instr_until) } th { (s.instr_content) } th {}
            } }
            tbody {
                @for i in &book.instructions {
                    tr data-instruction=(i.id) {
                        td { "#" (i.id) }
                        td { (name(i.user_id)) }
                        td { (camera_names(i)) }
                        td { (i.range.map(|(a, b)| format!("{} – {}", minute(a), minute(b))).unwrap_or_else(|| "—".into())) }
                        td { (minute(i.valid_until)) }
                        td { (i.content) }
                        td {
                            @if i.open_at(now) {
                                form.inline method="post" action={ "/instructions/" (i.id) "/revoke" } {
                                    (csrf_field(&user.0))
                                    button { (s.instr_revoke) }
                                }
                            } @else {
                                (s.instr_closed)
                            }
                        }
                    }
                }
            }
        }
        section.card.narrow {
            h2 { (s.instr_new) }
            form method="post" action="/instructions" id="instruction-form" {
                (csrf_field(&user.0))
                label { (s.instr_person)
                    select name="person" {
                        @for u in &book.instructable {
                            option value=(u.id) { (u.display_name) " (" (u.username) ")" }
                        }
                    }
                }
                @for c in &book.cameras {
                    label.check { input type="checkbox" name="camera" value=(c.id); " " (c.name) }
                }
                label { (s.view_from) input type="datetime-local" name="from"; }
                label { (s.view_to) input type="datetime-local" name="to"; }
                label { (s.instr_until) input type="datetime-local" name="until" required; }
                label { (s.instr_content) input name="content" required; }
                button { (s.form_save) }
            }
        }
    };
    Ok(page(lang, s.instr_title, Some(&user.0), body).into_response())
}

/// `POST /instructions`
pub async fn instruction_create_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    body: String,
) -> WebResult<Redirect> {
    let f = FormFields::parse(&body);
    let t = InstructionText {
        person: f.get("person").trim().parse().unwrap_or(0),
        cameras: f.numbers("camera"),
        from: Some(f.get("from")),
        to: Some(f.get("to")),
        until: f.get("until"),
        content: f.get("content"),
    };
    state.gov.instruction_issue(&user.actor(), &t).await?;
    Ok(Redirect::to("/instructions"))
}

/// `POST /instructions/{id}/revoke`
pub async fn instruction_revoke_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> WebResult<Redirect> {
    state.gov.instruction_revoke(&user.actor(), id).await?;
    Ok(Redirect::to("/instructions"))
}
