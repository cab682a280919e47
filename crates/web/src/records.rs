//! The records kept beside the footage: the complaints page (intake form, open
//! complaints with their due dates and overdue flags, the form that records the
//! answer), the media register (register a medium, begin its disposal, confirm
//! it in one's own account), every camera's periodic checks with the A4 sign
//! sheet, and their JSON API. The rules are the governance
//! layer's; these handlers parse and render.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use mimamori_base::time::jst;
use mimamori_governance::records::{
    CHANNELS, CheckBook, CheckText, ComplaintBook, ComplaintText, DisposalState, KINDS, MediaBook,
    MediumText,
};
use mimamori_policy::CheckKind;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::error::{WebError, WebResult};
use crate::http::form::{FormFields, json_body};
use crate::http::session::CurrentUser;
use crate::state::AppState;
use crate::views::i18n::{Lang, Strings};
use crate::views::{csrf_field, minute, page};

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ComplaintBody {
    pub kind: String,
    #[serde(default)]
    pub received: String,
    pub channel: String,
    pub summary: String,
    #[serde(default)]
    pub contact: String,
    pub owner: Option<i64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct CloseBody {
    pub response: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct MediumBody {
    pub kind: String,
    pub label: String,
    pub contents: String,
    pub holder: String,
    pub location: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct DisposeBody {
    pub method: String,
    #[serde(default)]
    pub note: String,
}

fn channel_label(c: &str) -> &'static str {
    match c {
        "counter" => "窓口",
        "phone" => "電話",
        "mail" => "電子メール",
        "letter" => "文書",
        _ => "その他",
    }
}

fn kind_label(k: &str) -> &'static str {
    if k == "inquiry" {
        "問い合わせ"
    } else {
        "苦情"
    }
}

fn state_json(st: &DisposalState) -> Value {
    match st {
        DisposalState::Held => json!({"state": "held"}),
        DisposalState::Pending {
            missing,
            needs_manager,
        } => json!({"state": "pending", "missing": missing, "needs_manager": needs_manager}),
        DisposalState::Disposed => json!({"state": "disposed"}),
    }
}

fn complaints_json(b: &ComplaintBook) -> Value {
    json!({
        "rule": {
            "answer_within_days": b.rule.answer_within_days,
            "days_basis": b.rule.days_basis,
            "basis": b.rule.basis,
        },
        "overdue": b.overdue(),
        "complaints": b.items.iter().map(|i| {
            let c = &i.complaint;
            json!({
                "id": c.id, "kind": c.kind, "channel": c.channel,
                "received": c.received_at.to_rfc3339(jst()),
                "due": c.due_at.to_rfc3339(jst()),
                "summary": c.summary, "contact": c.contact,
                "owner": c.owner.map(|u| u.0),
                "response": c.response,
                "closed": c.closed.as_ref().map(|s| s.at.to_rfc3339(jst())),
                "overdue": i.overdue,
            })
        }).collect::<Vec<_>>(),
    })
}

fn media_json(b: &MediaBook) -> Value {
    json!({
        "rule": {
            "methods": b.rule.methods.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
            "confirmations": b.rule.confirmations,
            "manager_confirms": b.rule.manager_confirms,
            "basis": b.rule.basis,
        },
        "media": b.items.iter().map(|i| {
            let m = &i.medium;
            json!({
                "id": m.id, "kind": m.kind, "label": m.label, "contents": m.contents,
                "holder": m.holder, "location": m.location, "since": m.since.to_rfc3339(jst()),
                "provision": m.provision_id,
                "disposal": m.disposal.as_ref().map(|d| json!({
                    "method": d.method,
                    "note": d.note,
                    "begun": d.started_at.to_rfc3339(jst()),
                    "disposed": d.disposed_at.map(|t| t.to_rfc3339(jst())),
                    "confirmed_by": d.confirmations.iter().map(|c| json!({
                        "user": c.user.0, "name": b.name_of(c.user),
                        "as_manager": c.as_manager, "at": c.at.to_rfc3339(jst()),
                    })).collect::<Vec<_>>(),
                })),
                "status": state_json(&i.state),
                "may_confirm": i.may_confirm,
            })
        }).collect::<Vec<_>>(),
    })
}

fn complaint_text(b: &ComplaintBody) -> ComplaintText<'_> {
    ComplaintText {
        kind: &b.kind,
        received: &b.received,
        channel: &b.channel,
        summary: &b.summary,
        contact: &b.contact,
        owner: b.owner,
    }
}

// ---- JSON API ---------------------------------------------------------------------

/// `GET /api/complaints`
pub async fn complaints_api(
    State(state): State<AppState>,
    user: CurrentUser,
) -> WebResult<Json<Value>> {
    let b = state.gov.complaints(&user.actor()).await?;
    Ok(Json(complaints_json(&b)))
}

/// `POST /api/complaints` `{kind, channel, summary, received?, contact?, owner?}`
pub async fn complaint_receive_api(
    State(state): State<AppState>,
    user: CurrentUser,
    b: Option<Json<ComplaintBody>>,
) -> WebResult<Json<Value>> {
    let b = json_body(b, "{kind, channel, summary}")?;
    let id = state
        .gov
        .complaint_receive(&user.actor(), &complaint_text(&b))
        .await?;
    Ok(Json(json!({ "id": id })))
}

/// `POST /api/complaints/{id}/close` `{response}`
pub async fn complaint_close_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    b: Option<Json<CloseBody>>,
) -> WebResult<Json<Value>> {
    let b = json_body(b, "{response}")?;
    state
        .gov
        .complaint_close(&user.actor(), id, &b.response)
        .await?;
    Ok(Json(json!({ "closed": id })))
}

/// `GET /api/media`: the media register with disposal states.
pub async fn media_api(State(state): State<AppState>, user: CurrentUser) -> WebResult<Json<Value>> {
    let b = state.gov.media_book(&user.actor()).await?;
    Ok(Json(media_json(&b)))
}

/// `POST /api/media` `{kind, label, contents, holder, location}`
pub async fn medium_register_api(
    State(state): State<AppState>,
    user: CurrentUser,
    b: Option<Json<MediumBody>>,
) -> WebResult<Json<Value>> {
    let b = json_body(b, "{kind, label, contents, holder, location}")?;
    let id = state
        .gov
        .medium_register(
            &user.actor(),
            &MediumText {
                kind: &b.kind,
                label: &b.label,
                contents: &b.contents,
                holder: &b.holder,
                location: &b.location,
            },
        )
        .await?;
    Ok(Json(json!({ "id": id })))
}

/// `POST /api/media/{id}/dispose` `{method, note?}`
pub async fn medium_dispose_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    b: Option<Json<DisposeBody>>,
) -> WebResult<Json<Value>> {
    let b = json_body(b, "{method}")?;
    let st = state
        .gov
        .medium_dispose(&user.actor(), id, &b.method, &b.note)
        .await?;
    Ok(Json(state_json(&st)))
}

/// `POST /api/media/{id}/confirm`
pub async fn medium_confirm_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> WebResult<Json<Value>> {
    let st = state.gov.medium_confirm(&user.actor(), id).await?;
    Ok(Json(state_json(&st)))
}

// ---- pages ------------------------------------------------------------------------

/// The links between the record pages.
pub(crate) fn records_nav(s: &Strings) -> Markup {
    html! {
        p.records-nav {
            a href="/complaints" { (s.rec_complaints) } " · "
            a href="/media" { (s.rec_media) } " · "
            a href="/checks" { (s.rec_checks) } " · "
            a href="/report" { (s.rec_report) } " · "
            a href="/documents/regulation.html" { (s.rec_regulation) } " ("
            a href="/documents/regulation.pdf" id="regulation-pdf" { "PDF" } ") · "
            a href="/documents/personal-file.html" { (s.rec_personal_file) } " ("
            a href="/documents/personal-file.pdf" id="personal-file-pdf" { "PDF" } ")"
        }
    }
}

/// `GET /complaints`
pub async fn complaints_page(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
) -> WebResult<Response> {
    let s = lang.strings();
    let b = state.gov.complaints(&user.actor()).await?;
    let body = html! {
        (records_nav(s))
        h1 { (s.rec_complaints) }
        p.muted { (b.rule.basis) " — " (s.rec_due) ": " (b.rule.answer_within_days) "日（" (b.rule.days_basis) "）" }
        @if b.overdue() > 0 {
            p.warning id="complaints-overdue" { (s.rec_overdue) ": " (b.overdue()) }
        }
        table id="complaints" {
            thead { tr { th { "#" } th { (s.rec_kind) } th { (s.rec_received) } th { (s.rec_channel) } th { (s.rec_summary) } th { (s.rec_owner) } th { (s.rec_due) } th { (s.rec_response) } } }
            tbody {
                @for i in &b.items {
                    @let c = &i.complaint;
                    tr data-complaint=(c.id) data-state=(if c.closed.is_some() { "closed" } else if i.overdue { "overdue" } else { "open" }) {
                        td { (c.id) }
                        td { (kind_label(&c.kind)) }
                        td { (minute(c.received_at)) }
                        td { (channel_label(&c.channel)) }
                        td.pre { (c.summary) }
                        td { (b.name_of(c.owner)) }
                        td {
                            (minute(c.due_at))
                            @if i.overdue { " " span.status.status-refused { (s.rec_overdue) } }
                        }
                        td {
                            @match (&c.closed, &c.response) {
                                (Some(st), Some(r)) => { span.status.status-approved { (s.rec_closed) } " " (minute(st.at)) div.pre { (r) } },
                                _ => {
                                    form method="post" action={ "/complaints/" (c.id) "/close" } {
                                        (csrf_field(&user.0))
                                        textarea name="response" rows="2" required {}
                                        button { (s.rec_close) }
                                    }
                                },
                            }
                        }
                    }
                }
            }
        }
        section.card.narrow {
            h2 { (s.rec_new_complaint) }
            form method="post" action="/complaints" id="complaint-form" {
                (csrf_field(&user.0))
                label { (s.rec_kind) select name="kind" { @for k in KINDS { option value=(k) { (kind_label(k)) } } } }
                label { (s.rec_channel) select name="channel" { @for c in CHANNELS { option value=(c) { (channel_label(c)) } } } }
                label { (s.rec_received) " (YYYY-MM-DD)" input name="received" type="date"; }
                label { (s.rec_summary) textarea name="summary" rows="4" required {} }
                label { (s.rec_contact) input name="contact"; }
                label { (s.rec_owner) select name="owner" {
                    @for u in &b.people { option value=(u.id.0) selected[Some(u.id) == user.actor().user_id()] { (u.display_name) } }
                } }
                button { (s.rec_receive) }
            }
        }
    };
    Ok(page(lang, s.rec_complaints, Some(&user.0), body).into_response())
}

/// `POST /complaints`
pub async fn complaint_receive_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    body: String,
) -> WebResult<Redirect> {
    let f = FormFields::parse(&body);
    let owner = f.get("owner").trim().parse().ok();
    state
        .gov
        .complaint_receive(
            &user.actor(),
            &ComplaintText {
                kind: f.get("kind"),
                received: f.get("received"),
                channel: f.get("channel"),
                summary: f.get("summary"),
                contact: f.get("contact"),
                owner,
            },
        )
        .await?;
    Ok(Redirect::to("/complaints"))
}

/// `POST /complaints/{id}/close`
pub async fn complaint_close_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    body: String,
) -> WebResult<Redirect> {
    let f = FormFields::parse(&body);
    state
        .gov
        .complaint_close(&user.actor(), id, f.get("response"))
        .await?;
    Ok(Redirect::to("/complaints"))
}

fn state_label(s: &Strings, st: &DisposalState) -> Markup {
    match st {
        DisposalState::Held => html! { span.status { (s.rec_held) } },
        DisposalState::Pending {
            missing,
            needs_manager,
        } => html! {
            span.status.status-pending { (s.rec_pending) }
            " (" @if *missing > 0 { (s.rec_more) ": " (missing) } @if *missing > 0 && *needs_manager { "; " } @if *needs_manager { (s.rec_needs_manager) } ")"
        },
        DisposalState::Disposed => html! { span.status.status-approved { (s.rec_disposed) } },
    }
}

/// `GET /media`: the media register (REQ-MED-1/2).
pub async fn media_page(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
) -> WebResult<Response> {
    let s = lang.strings();
    let b = state.gov.media_book(&user.actor()).await?;
    let body = html! {
        (records_nav(s))
        h1 { (s.rec_media) }
        p.muted { (b.rule.basis) " — " (s.rec_confirmed_by) ": " (b.rule.confirmations) "人"
            @if b.rule.manager_confirms { "（管理責任者を含む）" } }
        table id="media" {
            thead { tr { th { "#" } th { "種類" } th { "識別" } th { "内容" } th { "保管者" } th { "保管場所" } th { "以降" } th { (s.prov_no) } th { (s.rec_method) } } }
            tbody {
                @for i in &b.items {
                    @let m = &i.medium;
                    tr data-medium=(m.id) data-state=(state_json(&i.state)["state"].as_str().unwrap_or_default()) {
                        td { (m.id) } td { (m.kind) } td { (m.label) } td { (m.contents) } td { (m.holder) } td { (m.location) } td { (minute(m.since)) }
                        td { @if let Some(p) = m.provision_id { a href={ "/provisions/" (p) } { (p) } } }
                        td {
                            (state_label(s, &i.state))
                            @if let Some(d) = &m.disposal {
                                div { (mimamori_policy::DisposalMethod::parse(&d.method).map_or("", |x| x.label())) " " (d.note) }
                                div { (s.rec_confirmed_by) ": "
                                    @for c in &d.confirmations { (b.name_of(c.user)) @if c.as_manager { "（管理責任者）" } " " (minute(c.at)) "; " } }
                            }
                            @if i.may_confirm {
                                form.inline method="post" action={ "/media/" (m.id) "/confirm" } {
                                    (csrf_field(&user.0))
                                    button { (s.rec_confirm) }
                                }
                            }
                            @if matches!(i.state, DisposalState::Held) {
                                form.inline method="post" action={ "/media/" (m.id) "/dispose" } {
                                    (csrf_field(&user.0))
                                    select name="method" { @for x in &b.rule.methods { option value=(x.as_str()) { (x.label()) } } }
                                    input name="note" placeholder=(s.rec_note);
                                    button.danger { (s.rec_dispose) }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card.narrow {
            h2 { (s.rec_register_medium) }
            form method="post" action="/media" id="medium-form" {
                (csrf_field(&user.0))
                label { "種類 (USB, DVD, HDD…)" input name="kind" required; }
                label { "識別" input name="label" required; }
                label { "内容" input name="contents" required; }
                label { "保管者" input name="holder" required; }
                label { "保管場所" input name="location" required; }
                button { (s.rec_register_medium) }
            }
        }
    };
    Ok(page(lang, s.rec_media, Some(&user.0), body).into_response())
}

/// `POST /media`
pub async fn medium_register_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    body: String,
) -> WebResult<Redirect> {
    let f = FormFields::parse(&body);
    state
        .gov
        .medium_register(
            &user.actor(),
            &MediumText {
                kind: f.get("kind"),
                label: f.get("label"),
                contents: f.get("contents"),
                holder: f.get("holder"),
                location: f.get("location"),
            },
        )
        .await?;
    Ok(Redirect::to("/media"))
}

/// `POST /media/{id}/dispose`
pub async fn medium_dispose_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    body: String,
) -> WebResult<Redirect> {
    let f = FormFields::parse(&body);
    state
        .gov
        .medium_dispose(&user.actor(), id, f.get("method"), f.get("note"))
        .await?;
    Ok(Redirect::to("/media"))
}

/// `POST /media/{id}/confirm`
pub async fn medium_confirm_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> WebResult<Redirect> {
    state.gov.medium_confirm(&user.actor(), id).await?;
    Ok(Redirect::to("/media"))
}

// ---- periodic checks and the sign -------------------------------------------------

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct CheckBody {
    pub camera: i64,
    pub kind: String,
    pub done_on: String,
    pub done_by: String,
    pub outcome: String,
    pub action: String,
}

#[derive(Debug, Deserialize)]
pub struct SignQuery {
    pub camera: i64,
}

fn checks_json(b: &CheckBook) -> Value {
    json!({
        "overdue": b.overdue(),
        "rules": CheckKind::ALL.iter().map(|k| {
            let r = b.records.check(*k);
            json!({"kind": k.as_str(), "every_days": r.every_days, "days_basis": r.days_basis, "basis": r.basis})
        }).collect::<Vec<_>>(),
        "sign": {"lines": b.records.signage.lines, "basis": b.records.signage.basis},
        "cameras": b.cameras.iter().map(|c| json!({
            "id": c.camera.id.0,
            "name": c.camera.name,
            "checks": c.checks.iter().map(|d| json!({
                "kind": d.kind.as_str(),
                "last": d.last.as_ref().map(|l| json!({
                    "id": l.id, "done": l.done_at.to_rfc3339(jst()), "by": l.done_by,
                    "outcome": l.outcome, "action": l.action,
                })),
                "due": d.due.to_rfc3339(jst()),
                "overdue": d.overdue,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// `GET /api/checks`
pub async fn checks_api(
    State(state): State<AppState>,
    user: CurrentUser,
) -> WebResult<Json<Value>> {
    let b = state.gov.check_book(&user.actor()).await?;
    Ok(Json(checks_json(&b)))
}

/// `POST /api/checks` `{camera, kind, done_by, outcome, done_on?, action?}`
pub async fn check_record_api(
    State(state): State<AppState>,
    user: CurrentUser,
    b: Option<Json<CheckBody>>,
) -> WebResult<Json<Value>> {
    let b = json_body(b, "{camera, kind, done_by, outcome}")?;
    let id = state
        .gov
        .check_record(
            &user.actor(),
            &CheckText {
                camera: b.camera,
                kind: &b.kind,
                done_on: &b.done_on,
                done_by: &b.done_by,
                outcome: &b.outcome,
                action: &b.action,
            },
        )
        .await?;
    Ok(Json(json!({ "id": id })))
}

/// `GET /checks`: every camera's reviews, inspections and sign checks.
pub async fn checks_page(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
) -> WebResult<Response> {
    let s = lang.strings();
    let b = state.gov.check_book(&user.actor()).await?;
    let body = html! {
        (records_nav(s))
        h1 { (s.rec_checks) }
        @if b.overdue() > 0 {
            p.warning id="checks-overdue" { (s.rec_overdue) ": " (b.overdue()) }
        }
        ul.muted {
            @for k in CheckKind::ALL {
                @let r = b.records.check(k);
                li { (k.label()) ": " (r.every_days) "日ごと（" (r.days_basis) "） — " (r.basis) }
            }
        }
        table id="checks" {
            thead { tr { th { (s.prov_cameras) } @for k in CheckKind::ALL { th { (k.label()) } } th { (s.rec_sign) } } }
            tbody {
                @for c in &b.cameras {
                    tr id={ "camera-" (c.camera.id.0) } data-camera=(c.camera.id.0) {
                        td { (c.camera.name) }
                        @for d in &c.checks {
                            td data-kind=(d.kind.as_str()) data-state=(if d.overdue { "overdue" } else { "ok" }) {
                                @if let Some(l) = &d.last { (minute(l.done_at)) " " (l.done_by) br; (l.outcome) br; }
                                (s.rec_due) ": " (minute(d.due))
                                @if d.overdue { " " span.status.status-refused { (s.rec_overdue) } }
                            }
                        }
                        td {
                            a href={ "/checks/sign.pdf?camera=" (c.camera.id.0) } { "PDF" }
                            @if !c.camera.description.sign_location.is_empty() {
                                div.muted { (c.camera.description.sign_location) }
                            }
                            @if let Some(p) = &c.sign_photo {
                                div data-sign-photo=(p.id) {
                                    a href={ "/checks/photos/" (p.id) } { (s.rec_sign_photo) } " " small { (minute(p.added.at)) }
                                }
                            }
                            form.upload-form data-upload={ "/api/cameras/" (c.camera.id.0) "/sign-photos" } {
                                input type="file" accept="image/jpeg,image/png";
                                button { (s.rec_sign_photo_add) }
                                span.upload-status {}
                            }
                        }
                    }
                }
            }
        }
        section.card.narrow {
            h2 { (s.rec_record_check) }
            form method="post" action="/checks" id="check-form" {
                (csrf_field(&user.0))
                label { (s.prov_cameras) select name="camera" { @for c in &b.cameras { option value=(c.camera.id.0) { (c.camera.name) } } } }
                label { (s.rec_kind) select name="kind" { @for k in CheckKind::ALL { option value=(k.as_str()) { (k.label()) } } } }
                label { (s.rec_done_on) " (YYYY-MM-DD)" input name="done_on" type="date"; }
                label { (s.rec_done_by) input name="done_by" required; }
                label { (s.rec_outcome) textarea name="outcome" rows="2" required {} }
                label { (s.rec_action) textarea name="action" rows="2" {} }
                button { (s.rec_record_check) }
            }
        }
        h2 { (s.rec_history) }
        table id="check-history" {
            thead { tr { th { "#" } th { (s.prov_cameras) } th { (s.rec_kind) } th { (s.rec_done_on) } th { (s.rec_done_by) } th { (s.rec_outcome) } th { (s.rec_action) } } }
            tbody {
                @for h in &b.history {
                    tr {
                        td { (h.id) }
                        td { (b.cameras.iter().find(|c| c.camera.id == h.camera).map(|c| c.camera.name.as_str()).unwrap_or("-")) }
                        td { (CheckKind::parse(&h.kind).map_or("", |k| k.label())) }
                        td { (minute(h.done_at)) } td { (h.done_by) } td.pre { (h.outcome) } td.pre { (h.action) }
                    }
                }
            }
        }
    };
    Ok(page(lang, s.rec_checks, Some(&user.0), body).into_response())
}

/// `POST /checks`
pub async fn check_record_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    body: String,
) -> WebResult<Redirect> {
    let f = FormFields::parse(&body);
    state
        .gov
        .check_record(
            &user.actor(),
            &CheckText {
                camera: f.get("camera").trim().parse().unwrap_or(0),
                kind: f.get("kind"),
                done_on: f.get("done_on"),
                done_by: f.get("done_by"),
                outcome: f.get("outcome"),
                action: f.get("action"),
            },
        )
        .await?;
    Ok(Redirect::to("/checks"))
}

/// `GET /checks/sign.pdf?camera=ID`: the A4 sign of a camera's area, worded as
/// the policy says (REQ-SIG-1).
pub async fn sign_pdf(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<SignQuery>,
) -> WebResult<Response> {
    let b = state.gov.check_book(&user.actor()).await?;
    let camera = b
        .cameras
        .iter()
        .find(|c| c.camera.id.0 == q.camera)
        .ok_or_else(|| {
            WebError(mimamori_governance::Error::NotFound(format!(
                "camera {}",
                q.camera
            )))
        })?;
    let policy = state.gov.policy();
    let data = json!({
        "lines": b.records.signage.lines,
        "camera": camera.camera.name,
        "footer": format!("{} — {}", policy.regulation, b.records.signage.basis),
    });
    let pdf = crate::provisions::render(mimamori_forms::Form::Sign, data).await?;
    Ok(crate::provisions::pdf_response(
        pdf,
        &format!("sign-{}.pdf", q.camera),
    ))
}

/// `POST /api/cameras/{id}/sign-photos` (the photo as the body) → 201.
pub async fn sign_photo_upload_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    req: axum::extract::Request,
) -> WebResult<Response> {
    let limit = mimamori_governance::records::MAX_SIGN_PHOTO_BYTES;
    let bytes = axum::body::to_bytes(req.into_body(), limit + 1)
        .await
        .map_err(|_| WebError::bad_input(format!("photo: at most {} MiB", limit >> 20)))?;
    let p = state
        .gov
        .sign_photo_add(&user.actor(), mimamori_base::CameraId(id), &bytes)
        .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(
            json!({"id": p.id, "camera": p.camera.0, "type": p.content_type, "bytes": p.bytes,
                    "sha256": hex::encode(&p.sha256)}),
        ),
    )
        .into_response())
}

/// `GET /checks/photos/{id}`: a sign photo as kept.
pub async fn sign_photo_get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    let (p, bytes) = state.gov.sign_photo(&user.actor(), id).await?;
    let mut r = bytes.into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&p.content_type) {
        r.headers_mut().insert(axum::http::header::CONTENT_TYPE, v);
    }
    Ok(r)
}
