//! People, as the manager sees them: accounts with their designations (role,
//! validity period, history), confidentiality pledges and training records. Pages
//! and the JSON API call the same operations of the application layer.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use mimamori_base::UserId;
use mimamori_base::time::jst;
use mimamori_governance::people::{DesignationText, PersonFile, PersonText};
use mimamori_policy::RoleKind;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::error::WebResult;
use crate::http::form::{FormFields, json_body};
use crate::http::session::CurrentUser;
use crate::state::AppState;
use crate::views::i18n::Lang;
use crate::views::{csrf_field, minute, page};

#[derive(Debug, Deserialize, Default)]
pub struct PersonBody {
    pub username: String,
    pub display_name: String,
    pub password: String,
    #[serde(default)]
    pub organization: String,
    pub role: String,
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
    #[serde(default)]
    pub basis: String,
}

impl PersonBody {
    fn text(&self) -> PersonText<'_> {
        PersonText {
            username: &self.username,
            display_name: &self.display_name,
            password: &self.password,
            organization: &self.organization,
            designation: DesignationText {
                role: &self.role,
                valid_from: self.valid_from.as_deref(),
                valid_until: self.valid_until.as_deref(),
                basis: &self.basis,
            },
        }
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct DesignationBody {
    pub role: String,
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
    #[serde(default)]
    pub basis: String,
}

impl DesignationBody {
    fn text(&self) -> DesignationText<'_> {
        DesignationText {
            role: &self.role,
            valid_from: self.valid_from.as_deref(),
            valid_until: self.valid_until.as_deref(),
            basis: &self.basis,
        }
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct EndBody {
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct RecordBody {
    /// `pledge` (守秘義務の誓約) or `training` (研修).
    pub kind: String,
    pub date: String,
    pub content: String,
}

// ---- JSON API ---------------------------------------------------------------

fn person_json(f: &PersonFile, now: mimamori_base::Timestamp) -> Value {
    let u = &f.user;
    json!({
        "id": u.id.0,
        "username": u.username,
        "display_name": u.display_name,
        "organization": u.organization,
        "totp": u.totp_secret.is_some(),
        "role": f.current(now).map(|d| d.role.clone()),
        "designations": f.designations.iter().map(|d| json!({
            "id": d.id,
            "role": d.role,
            "valid_from": d.valid_from.to_rfc3339(jst()),
            "valid_until": d.valid_until.map(|t| t.to_rfc3339(jst())),
            "ended_at": d.ended_at.map(|t| t.to_rfc3339(jst())),
            "end_reason": d.end_reason,
            "basis": d.basis,
        })).collect::<Vec<_>>(),
        "records": f.records.iter().map(|r| json!({
            "kind": r.kind, "date": r.on_date, "content": r.content,
        })).collect::<Vec<_>>(),
    })
}

/// `GET /api/people`
pub async fn people_api(
    State(state): State<AppState>,
    user: CurrentUser,
) -> WebResult<Json<Value>> {
    let now = state.gov.now();
    let people = state.gov.people(&user.actor()).await?;
    Ok(Json(json!({
        "people": people.iter().map(|f| person_json(f, now)).collect::<Vec<_>>()
    })))
}

/// `POST /api/people` `{username, display_name, password, organization?, role, valid_from?, valid_until?, basis?}`
pub async fn person_create_api(
    State(state): State<AppState>,
    user: CurrentUser,
    b: Option<Json<PersonBody>>,
) -> WebResult<Response> {
    let b = json_body(b, "{username, display_name, password, role, …}")?;
    let id = state.gov.person_create(&user.actor(), &b.text()).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id.0 }))).into_response())
}

/// `POST /api/people/{id}/designations` `{role, valid_from?, valid_until?, basis?}`
pub async fn designate_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    b: Option<Json<DesignationBody>>,
) -> WebResult<Json<Value>> {
    let b = json_body(b, "{role, valid_from?, valid_until?, basis?}")?;
    let req = state.gov.designation_request(&b.text())?;
    let d = state.gov.designate(&user.actor(), UserId(id), &req).await?;
    Ok(Json(json!({ "designation": d })))
}

/// `POST /api/designations/{id}/end` `{reason}`
pub async fn designation_end_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    b: Option<Json<EndBody>>,
) -> WebResult<Json<Value>> {
    let b = json_body(b, "{reason}")?;
    state
        .gov
        .designation_end(&user.actor(), id, &b.reason)
        .await?;
    Ok(Json(json!({ "ended": id })))
}

/// `POST /api/people/{id}/records` `{kind: pledge|training, date, content}`
pub async fn record_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    b: Option<Json<RecordBody>>,
) -> WebResult<Json<Value>> {
    let b = json_body(b, "{kind, date, content}")?;
    let r = state
        .gov
        .record_add(&user.actor(), UserId(id), &b.kind, &b.date, &b.content)
        .await?;
    Ok(Json(json!({ "record": r })))
}

// ---- pages ------------------------------------------------------------------

fn role_options(state: &AppState, selected: Option<RoleKind>) -> Markup {
    html! {
        @for (k, r) in &state.gov.policy().roles {
            option value=(k) selected[Some(*k) == selected] { (r.title) " (" (k) ")" }
        }
    }
}

/// `GET /people`: everyone, their current role, and the form to add a person.
pub async fn people_page(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
) -> WebResult<Response> {
    let s = lang.strings();
    let policy = state.gov.policy();
    let now = state.gov.now();
    let people = state.gov.people(&user.actor()).await?;
    let body = html! {
        h1 { (s.people_title) }
        p.muted { (policy.regulation) }
        table id="people" {
            thead { tr {
                th { (s.people_username) } th { (s.people_display_name) } th { (s.people_organization) }
                th { (s.people_role) } th { (s.people_pledge) } th { (s.people_training) } th { "TOTP" }
            } }
            tbody {
                @for f in &people {
                    @let u = &f.user;
                    tr data-person=(u.username) {
                        td { a href={ "/people/" (u.id) } { (u.username) } }
                        td { (u.display_name) }
                        td { (u.organization) }
                        td.role {
                            @match f.current(now) {
                                Some(d) => {
                                    (RoleKind::parse(&d.role).map(|k| policy.role_title(k)).unwrap_or_else(|| d.role.clone()))
                                    @if let Some(e) = d.end() { " (" (s.people_until) " " (minute(e)) ")" }
                                },
                                None => em { (s.people_none) },
                            }
                        }
                        td { (if f.records.iter().any(|r| r.kind == "pledge") { "✓" } else { "—" }) }
                        td { (f.records.iter().filter(|r| r.kind == "training").count()) }
                        td { (if u.totp_secret.is_some() { "✓" } else { "—" }) }
                    }
                }
            }
        }
        section.card.narrow {
            h2 { (s.people_add) }
            form method="post" action="/people" id="person-form" {
                (csrf_field(&user.0))
                label { (s.people_username) input name="username" required pattern="[A-Za-z0-9._-]+"; }
                label { (s.people_display_name) input name="display_name" required; }
                label { (s.people_organization) input name="organization" placeholder=(s.people_org_hint); }
                label { (s.people_role) select name="role" { (role_options(&state, Some(RoleKind::Operator))) } }
                label { (s.people_valid_from) input type="date" name="valid_from"; }
                label { (s.people_valid_until) input type="date" name="valid_until"; }
                label { (s.people_basis) input name="basis" placeholder=(s.people_basis_hint); }
                label { (s.people_initial_password) input type="password" name="password" minlength="8" required autocomplete="new-password"; }
                button { (s.form_save) }
            }
        }
    };
    Ok(page(lang, s.people_title, Some(&user.0), body).into_response())
}

/// `POST /people`
pub async fn person_create_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    body: String,
) -> WebResult<Redirect> {
    let f = FormFields::parse(&body);
    let b = PersonBody {
        username: f.get("username").into(),
        display_name: f.get("display_name").into(),
        password: f.get("password").into(),
        organization: f.get("organization").into(),
        role: f.get("role").into(),
        valid_from: Some(f.get("valid_from").into()),
        valid_until: Some(f.get("valid_until").into()),
        basis: f.get("basis").into(),
    };
    let id = state.gov.person_create(&user.actor(), &b.text()).await?;
    Ok(Redirect::to(&format!("/people/{id}")))
}

/// `GET /people/{id}`: designation history, pledges and training, new designation.
pub async fn person_page(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    let s = lang.strings();
    let policy = state.gov.policy();
    let now = state.gov.now();
    let f = state.gov.person(&user.actor(), UserId(id)).await?;
    let person = &f.user;
    let title = format!("{} ({})", person.display_name, person.username);
    let body = html! {
        h1 { (title) }
        p.muted { (if person.organization.is_empty() { s.people_staff } else { &person.organization }) }
        section.card {
            h2 { (s.people_history) }
            table id="designations" {
                thead { tr { th { "#" } th { (s.people_role) } th { (s.people_valid_from) } th { (s.people_valid_until) } th { (s.people_basis) } th {} } }
                tbody {
                    @for d in &f.designations {
                        tr data-designation=(d.id) {
                            td { "#" (d.id) }
                            td { (RoleKind::parse(&d.role).map(|k| policy.role_title(k)).unwrap_or_else(|| d.role.clone())) }
                            td { (minute(d.valid_from)) }
                            td { (d.end().map(minute).unwrap_or_else(|| "—".into())) }
                            td { (d.basis) }
                            td {
                                @if d.valid_at(now) || (d.ended_at.is_none() && d.valid_from > now) {
                                    form.inline-form method="post" action={ "/people/" (id) "/designations/" (d.id) "/end" } {
                                        (csrf_field(&user.0))
                                        input name="reason" required placeholder=(s.people_end_reason);
                                        button { (s.people_end) }
                                    }
                                } @else {
                                    (d.end_reason.as_deref().unwrap_or(""))
                                }
                            }
                        }
                    }
                }
            }
            h3 { (s.people_new_designation) }
            form.inline-form method="post" action={ "/people/" (id) "/designations" } id="designate-form" {
                (csrf_field(&user.0))
                select name="role" { (role_options(&state, None)) }
                label { (s.people_valid_from) input type="date" name="valid_from"; }
                label { (s.people_valid_until) input type="date" name="valid_until"; }
                input name="basis" placeholder=(s.people_basis_hint);
                button { (s.form_save) }
            }
        }
        section.card {
            h2 { (s.people_records) }
            table id="records" {
                tbody {
                    @for r in &f.records {
                        tr {
                            td { (if r.kind == "pledge" { s.people_pledge } else { s.people_training }) }
                            td { (r.on_date) }
                            td { (r.content) }
                        }
                    }
                }
            }
            form.inline-form method="post" action={ "/people/" (id) "/records" } id="record-form" {
                (csrf_field(&user.0))
                select name="kind" {
                    option value="pledge" { (s.people_pledge) }
                    option value="training" { (s.people_training) }
                }
                input type="date" name="date" required;
                input name="content" required placeholder=(s.people_content_hint);
                button { (s.form_save) }
            }
        }
    };
    Ok(page(lang, &title, Some(&user.0), body).into_response())
}

/// `POST /people/{id}/designations`
pub async fn designate_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    body: String,
) -> WebResult<Redirect> {
    let f = FormFields::parse(&body);
    let req = state.gov.designation_request(&DesignationText {
        role: f.get("role"),
        valid_from: Some(f.get("valid_from")),
        valid_until: Some(f.get("valid_until")),
        basis: f.get("basis"),
    })?;
    state.gov.designate(&user.actor(), UserId(id), &req).await?;
    Ok(Redirect::to(&format!("/people/{id}")))
}

/// `POST /people/{id}/designations/{designation}/end`
pub async fn designation_end_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, designation)): Path<(i64, i64)>,
    body: String,
) -> WebResult<Redirect> {
    let f = FormFields::parse(&body);
    state
        .gov
        .designation_end(&user.actor(), designation, f.get("reason"))
        .await?;
    Ok(Redirect::to(&format!("/people/{id}")))
}

/// `POST /people/{id}/records`
pub async fn record_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    body: String,
) -> WebResult<Redirect> {
    let f = FormFields::parse(&body);
    state
        .gov
        .record_add(
            &user.actor(),
            UserId(id),
            f.get("kind"),
            f.get("date"),
            f.get("content"),
        )
        .await?;
    Ok(Redirect::to(&format!("/people/{id}")))
}
