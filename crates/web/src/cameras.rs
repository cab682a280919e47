//! Cameras in the UI and the API: the list with live status, adding and changing
//! cameras (RTSP address and credentials), removing them, the camera page (the
//! viewer: calendar, 24-hour timeline, player, range download, live view), and
//! the recordings and days the page script asks for.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use mimamori_base::CameraId;
use mimamori_base::time::jst;
use mimamori_catalog::{Camera, CameraDescription, CameraSource, StreamKind};
use mimamori_governance::cameras::RecordedBy;
use mimamori_governance::input::{CameraText, RtspCamera};
use mimamori_policy::Permission as P;
use mimamori_recorder::{CameraState, CameraStatus};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::error::{Shown, WebResult};
use crate::http::form::json_body;
use crate::http::session::CurrentUser;
use crate::state::AppState;
use crate::views::i18n::{Lang, status_label};
use crate::views::{alert, csrf_field, minute, page};

fn rfc3339(t: mimamori_base::Timestamp) -> String {
    t.to_rfc3339(jst())
}

/// Which node records each camera, and what it reported (from
/// [`mimamori_governance::Governance::recording_nodes`]).
type Nodes = HashMap<CameraId, RecordedBy>;

/// A camera's main-stream status as this node knows it: its own recorder's
/// when it records the camera (or nobody does), otherwise what the node that
/// records it reported (a web node, or a node whose cameras moved elsewhere).
fn main_status(state: &AppState, camera: CameraId, nodes: &Nodes) -> Option<CameraStatus> {
    match nodes.get(&camera) {
        Some(by) if by.node != state.recorders.node() => CameraStatus::from_report(&by.status),
        _ => state.recorders.hub().get(camera, StreamKind::Main),
    }
}

/// The JSON form of a camera with its live status and the node recording it
/// (`nodes`). The password never leaves the server.
pub fn camera_json(state: &AppState, c: &Camera, nodes: &Nodes) -> Value {
    let status = main_status(state, c.id, nodes);
    let (kind, url, sub_url, username) = match &c.source {
        CameraSource::TestPattern => ("test_pattern", None, None, None),
        CameraSource::Rtsp {
            main_url,
            sub_url,
            username,
            ..
        } => (
            "rtsp",
            Some(main_url.clone()),
            sub_url.clone(),
            username.clone(),
        ),
    };
    json!({
        "id": c.id.0,
        "name": c.name,
        "kind": kind,
        "url": url,
        "sub_url": sub_url,
        "username": username,
        "record_audio": c.record_audio,
        "location": c.description.location,
        "purpose": c.description.purpose,
        "coverage": c.description.coverage,
        "sign_location": c.description.sign_location,
        "status": status.as_ref().map_or(CameraState::Stopped.as_str(), |s| s.state.as_str()),
        "status_reason": status.as_ref().and_then(|s| s.reason.as_ref()).map(|(code, msg)| json!({"code": code, "message": msg})),
        "status_since": status.as_ref().map(|s| rfc3339(s.since)),
        "last_frame_at": status.as_ref().and_then(|s| s.last_frame_at).map(rfc3339),
        "codec": status.as_ref().and_then(|s| s.codec.clone()),
        "width": status.as_ref().and_then(|s| s.dimensions).map(|d| d.0),
        "height": status.as_ref().and_then(|s| s.dimensions).map(|d| d.1),
        "recorded_by": nodes.get(&c.id).map(|by| &by.node),
    })
}

/// Brings the recorders in line with the cameras after a change.
async fn sync_recorders(state: &AppState) -> WebResult<()> {
    let cams = state.gov.cameras_to_record().await?;
    state.recorders.sync(&cams).await;
    Ok(())
}

/// A camera as a form or a JSON body sends it.
#[derive(Debug, Deserialize, Default, Clone)]
pub struct CameraBody {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub url: String,
    pub sub_url: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// JSON: a boolean.
    #[serde(default)]
    pub record_audio: bool,
}

impl CameraBody {
    fn parse(&self) -> mimamori_governance::Result<RtspCamera> {
        RtspCamera::parse(&CameraText {
            name: &self.name,
            url: &self.url,
            sub_url: self.sub_url.as_deref(),
            username: self.username.as_deref(),
            password: self.password.as_deref(),
            record_audio: self.record_audio,
        })
    }
}

/// The camera form (a check box sends `record_audio=on`).
#[derive(Debug, Deserialize, Default)]
pub struct CameraForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub url: String,
    pub sub_url: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub record_audio: Option<String>,
}

impl CameraForm {
    fn body(&self) -> CameraBody {
        CameraBody {
            name: self.name.clone(),
            url: self.url.clone(),
            sub_url: self.sub_url.clone(),
            username: self.username.clone(),
            password: self.password.clone(),
            record_audio: self.record_audio.is_some(),
        }
    }
}

/// A camera's description as a form or a JSON body sends it.
#[derive(Debug, Deserialize, Default)]
pub struct DescriptionBody {
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub purpose: String,
    #[serde(default)]
    pub coverage: String,
    #[serde(default)]
    pub sign_location: String,
}

impl DescriptionBody {
    fn description(self) -> CameraDescription {
        CameraDescription {
            location: self.location,
            purpose: self.purpose,
            coverage: self.coverage,
            sign_location: self.sign_location,
        }
    }
}

// ---- pages ------------------------------------------------------------------

/// `GET /cameras`
pub async fn cameras_page(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
) -> WebResult<Response> {
    let s = lang.strings();
    let cams = state.gov.cameras(&user.actor()).await?;
    // Checks and complaints past their dates, for those who keep the records.
    let records = state.gov.records_overdue(&user.actor()).await?;
    // Health links to the inspection log (REQ-MNT-1) for those who keep it.
    let keeps_records = records.is_some();
    let overdue = records.filter(|(checks, complaints)| checks + complaints > 0);
    let journal = state.recorders.catalog_journal();
    let nodes = state.gov.recording_nodes(&user.actor()).await?;
    let body = html! {
        h1 { (s.cameras_title) }
        @if journal.waiting > 0 {
            p.warning id="catalog-journal" data-waiting=(journal.waiting) {
                (s.cameras_catalog_journal) " " (journal.waiting)
            }
        }
        @if let Some((checks, complaints)) = overdue {
            p.warning id="records-overdue" {
                (s.rec_attention) ": "
                a href="/checks" { (s.rec_checks) " " (checks) } " · "
                a href="/complaints" { (s.rec_complaints) " " (complaints) }
            }
        }
        @if cams.is_empty() {
            p { (s.cameras_none) }
        } @else {
            table.cameras id="camera-table" {
                thead { tr { th { (s.cameras_name) } th { (s.cameras_source) } th { (s.cameras_status) } th { (s.cameras_last_frame) } th {} } }
                tbody {
                    @for c in &cams {
                        @let st = main_status(&state, c.id, &nodes);
                        @let sc = st.as_ref().map_or(CameraState::Stopped, |x| x.state).as_str();
                        tr data-camera-id=(c.id) {
                            td {
                                a href={ "/cameras/" (c.id) } { (c.name) }
                                @if !c.description.location.is_empty() {
                                    div.muted data-location { (c.description.location) }
                                }
                            }
                            td {
                                @match &c.source {
                                    CameraSource::TestPattern => span.badge.test { (s.cameras_test_pattern) },
                                    CameraSource::Rtsp { main_url, .. } => code { (main_url) },
                                }
                            }
                            td {
                                span class={ "status status-" (sc) } data-status=(sc) { (status_label(s, sc)) }
                                @if let Some((code, m)) = st.as_ref().and_then(|x| x.reason.as_ref()) {
                                    div.reason { (m) " " code { (code) } }
                                }
                                @if keeps_records {
                                    " " a.muted href={ "/checks#camera-" (c.id) } data-inspections=(c.id) { (s.rec_checks) }
                                }
                            }
                            td { (st.as_ref().and_then(|x| x.last_frame_at).map(|t| t.jst_second()).unwrap_or_else(|| "—".into())) }
                            td {
                                a href={ "/cameras/" (c.id) } { (s.cameras_view) }
                                " · "
                                a href={ "/cameras/" (c.id) "/settings" } { (s.cameras_settings) }
                            }
                        }
                    }
                }
            }
        }
        p { a.button href="/cameras/new" { (s.nav_add_camera) } }
        // The page script reloads it to refresh the status (no inline script: CSP).
        div hidden data-refresh-seconds="10" {}
    };
    Ok(page(lang, s.cameras_title, Some(&user.0), body).into_response())
}

fn camera_form(
    lang: Lang,
    user: &CurrentUser,
    action: &str,
    f: &CameraForm,
    editing: bool,
    error: Option<&str>,
) -> Markup {
    let s = lang.strings();
    html! {
        (alert(error))
        form.card method="post" action=(action) id="camera-form" {
            (csrf_field(&user.0))
            label { (s.form_name) input name="name" id="name" value=(f.name) required maxlength="64"; }
            label { (s.form_main_url) input name="url" id="url" value=(f.url) required placeholder="rtsp://192.0.2.10:554/stream1"; }
            label { (s.form_sub_url) input name="sub_url" id="sub_url" value=(f.sub_url.as_deref().unwrap_or("")); }
            label { (s.form_username) input name="username" id="cam-username" value=(f.username.as_deref().unwrap_or("")) autocomplete="off"; }
            label {
                (s.form_password)
                input name="password" id="cam-password" type="password" autocomplete="new-password";
                @if editing { small { (s.form_password_keep) } }
            }
            p.muted { (s.form_audio) }
            button type="submit" id="camera-save" { (s.form_save) }
        }
    }
}

/// `GET /cameras/new`
pub async fn camera_new_page(lang: Lang, user: CurrentUser) -> Response {
    let s = lang.strings();
    let body = html! {
        h1 { (s.form_add_title) }
        (camera_form(lang, &user, "/cameras", &CameraForm::default(), false, None))
    };
    page(lang, s.form_add_title, Some(&user.0), body).into_response()
}

/// `POST /cameras`: adds a camera; a mistake shows the form again with what was typed.
pub async fn camera_add_submit(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
    axum::Form(f): axum::Form<CameraForm>,
) -> Response {
    let s = lang.strings();
    let result = async {
        let cam = f.body().parse()?;
        let c = state.gov.camera_add(&user.actor(), cam).await?;
        sync_recorders(&state).await?;
        Ok::<CameraId, crate::http::error::WebError>(c.id)
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&format!("/cameras/{id}")).into_response(),
        Err(e) => {
            let shown = Shown::of(&e.0);
            let typed = CameraForm {
                password: None,
                ..f
            };
            let body = html! {
                h1 { (s.form_add_title) }
                (camera_form(lang, &user, "/cameras", &typed, false, Some(&format!("{} ({})", shown.message_in(lang), shown.code))))
            };
            (
                crate::http::error::status_of(shown.code),
                page(lang, s.form_add_title, Some(&user.0), body),
            )
                .into_response()
        }
    }
}

/// `GET /cameras/{id}/settings`
pub async fn camera_settings_page(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<i64>,
    user: CurrentUser,
) -> WebResult<Response> {
    let s = lang.strings();
    let cam = state.gov.camera(&user.actor(), CameraId(id)).await?;
    if cam.removed_at.is_some() {
        return Err(mimamori_governance::Error::NotFound("camera removed".into()).into());
    }
    let form = match &cam.source {
        CameraSource::TestPattern => html! { p.badge.test { (s.cameras_test_pattern) } },
        CameraSource::Rtsp {
            main_url,
            sub_url,
            username,
            ..
        } => camera_form(
            lang,
            &user,
            &format!("/cameras/{id}/settings"),
            &CameraForm {
                name: cam.name.clone(),
                url: main_url.clone(),
                sub_url: sub_url.clone(),
                username: username.clone(),
                password: None,
                record_audio: cam.record_audio.then(|| "on".to_string()),
            },
            true,
            None,
        ),
    };
    let d = &cam.description;
    let body = html! {
        h1 { (s.form_edit_title) ": " (cam.name) }
        (form)
        form.card method="post" action={ "/cameras/" (id) "/description" } id="camera-description" {
            (csrf_field(&user.0))
            h2 { (s.desc_title) }
            p.muted { (s.desc_note) }
            label { (s.desc_location) input name="location" id="location" value=(d.location) maxlength="200"; }
            label { (s.desc_purpose) input name="purpose" id="purpose" value=(d.purpose) maxlength="200"; }
            label { (s.desc_coverage) textarea name="coverage" id="coverage" maxlength="400" { (d.coverage) } }
            label { (s.desc_sign_location) input name="sign_location" id="sign_location" value=(d.sign_location) maxlength="200"; }
            button type="submit" id="description-save" { (s.desc_save) }
        }
        form.card.danger method="post" action={ "/cameras/" (id) "/remove" } id="camera-remove" {
            (csrf_field(&user.0))
            p { (s.form_remove_note) }
            button type="submit" { (s.form_remove) }
        }
    };
    Ok(page(lang, s.form_edit_title, Some(&user.0), body).into_response())
}

/// `POST /cameras/{id}/settings`
pub async fn camera_settings_submit(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    user: CurrentUser,
    axum::Form(f): axum::Form<CameraForm>,
) -> WebResult<Redirect> {
    let cam = f.body().parse()?;
    state
        .gov
        .camera_change(&user.actor(), CameraId(id), cam)
        .await?;
    sync_recorders(&state).await?;
    Ok(Redirect::to(&format!("/cameras/{id}")))
}

/// `POST /cameras/{id}/description`
pub async fn camera_description_submit(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    user: CurrentUser,
    axum::Form(f): axum::Form<DescriptionBody>,
) -> WebResult<Redirect> {
    state
        .gov
        .camera_describe(&user.actor(), CameraId(id), &f.description())
        .await?;
    Ok(Redirect::to(&format!("/cameras/{id}/settings")))
}

/// `POST /cameras/{id}/remove`
pub async fn camera_remove_submit(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    user: CurrentUser,
) -> WebResult<Redirect> {
    state.gov.camera_remove(&user.actor(), CameraId(id)).await?;
    sync_recorders(&state).await?;
    Ok(Redirect::to("/cameras"))
}

/// `GET /cameras/{id}`: the viewer.
pub async fn camera_view_page(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<i64>,
    user: CurrentUser,
) -> WebResult<Response> {
    let s = lang.strings();
    let policy = state.gov.policy();
    let (cam, retention) = state.gov.camera_page(&user.actor(), CameraId(id)).await?;
    let nodes = state.gov.recording_nodes(&user.actor()).await?;
    let st = main_status(&state, cam.id, &nodes);
    let node = nodes.get(&cam.id).map(|by| &by.node);
    let sc = st
        .as_ref()
        .map_or(CameraState::Stopped, |x| x.state)
        .as_str();
    let today = state.gov.now().jst_date();
    let body = html! {
        h1 {
            (cam.name)
            @if cam.source == CameraSource::TestPattern { " " span.badge.test { (s.cameras_test_pattern) } }
            " " span class={ "status status-" (sc) } data-status=(sc) { (status_label(s, sc)) }
        }
        @if let Some(n) = &node {
            p.muted id="camera-node" { (s.cameras_node) ": " (n) }
        }
        @if let Some(r) = &retention {
            p.muted id="camera-retention" {
                (s.ret_rule) ": " (r.days) " "
                (if r.counting == mimamori_policy::Counting::FromNextDay { s.ret_rule_next_day } else { s.ret_rule_from_recording })
                " · " (s.ret_oldest) ": " (r.oldest.map(minute).unwrap_or_else(|| "—".into()))
                " · " (s.ret_next) ": " (r.next_erasure.map(minute).unwrap_or_else(|| "—".into()))
                " · " (s.ret_capacity) ": " (r.capacity_days.map(|d| format!("{d:.1}")).unwrap_or_else(|| "—".into()))
                " · " a href="/retention" { (s.ret_holds) }
            }
        }
        div id="viewer" data-camera=(cam.id) data-today=(today.format("%Y-%m-%d")) {
            @if user.has(P::Playback) || user.has(P::LiveView) {
                section.card {
                    form id="purpose-form" class="purpose" {
                        h2 { (s.view_purpose) }
                        p.muted id="purpose-hint" { (s.view_purpose_hint) }
                        label { (s.view_purpose)
                            select id="purpose" required {
                                option value="" { "—" }
                                @for p in &policy.purposes { option value=(p.id) { (p.label) "（" (p.basis) "）" } }
                            }
                        }
                        label { (s.view_purpose_note) input id="purpose-note" maxlength="500"; }
                    }
                }
            }
            div.grid {
                section.card.calendar {
                    h2 { (s.view_calendar) }
                    div.cal-head {
                        button type="button" id="cal-prev" aria-label=(s.view_prev_month) { "‹" }
                        span id="cal-label" {}
                        button type="button" id="cal-next" aria-label=(s.view_next_month) { "›" }
                    }
                    div id="cal-grid" class="cal-grid" {}
                }
                @if user.has(P::Playback) {
                    section.card.player {
                        video id="player" controls muted playsinline preload="auto" {}
                        form id="play-at" class="inline-form" {
                            label { (s.view_play_at) input type="time" step="1" id="play-time"; }
                            button type="submit" id="play-submit" { (s.view_play) }
                        }
                        p id="playing-from" class="muted" role="status" {}
                    }
                } @else {
                    section.card.player { p.notice id="no-playback" { (s.view_no_playback) } }
                }
            }
            section.card {
                h2 { (s.view_timeline) " " span id="tl-date" {} }
                p.muted { (s.view_play_hint) }
                div id="timeline" class="timeline" role="slider" aria-label=(s.view_timeline) {}
                div.ticks id="ticks" {}
                p.legend { span.swatch.rec {} (s.view_recorded) " " span.swatch.gap {} (s.view_gap) }
                ul id="gap-list" class="gap-list" {}
            }
            @if user.has(P::Provision) {
                section.card id="provision-card" {
                    h2 { (s.view_download) }
                    p.muted { (policy.disclosure.basis) }
                    a.button href="/provisions/new" { (s.view_download_button) }
                }
            }
            @if !policy.live_view.allowed {
                section.card {
                    h2 { (s.view_live) }
                    p.notice id="live-forbidden" { (s.view_live_forbidden) "（" (policy.live_view.basis) "）" }
                }
            } @else if user.has(P::LiveView) {
                section.card {
                    h2 { (s.view_live) }
                    button type="button" id="live-start" { (s.view_live_start) }
                    p.notice id="live-unreachable" hidden { (s.view_live_unreachable) }
                    video id="live" muted playsinline autoplay {}
                }
            }
        }
    };
    Ok(page(lang, &cam.name, Some(&user.0), body).into_response())
}

// ---- JSON API ---------------------------------------------------------------

/// `GET /api/cameras`
pub async fn cameras_list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> WebResult<Json<Value>> {
    let cams = state.gov.cameras(&user.actor()).await?;
    let nodes = state.gov.recording_nodes(&user.actor()).await?;
    Ok(Json(Value::Array(
        cams.iter()
            .map(|c| camera_json(&state, c, &nodes))
            .collect(),
    )))
}

/// `GET /api/cameras/{id}`
pub async fn camera_get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> WebResult<Json<Value>> {
    let c = state.gov.camera(&user.actor(), CameraId(id)).await?;
    if c.removed_at.is_some() {
        return Err(
            mimamori_governance::Error::NotFound(format!("camera {id} was removed")).into(),
        );
    }
    let nodes = state.gov.recording_nodes(&user.actor()).await?;
    Ok(Json(camera_json(&state, &c, &nodes)))
}

/// `POST /api/cameras` `{name, url, sub_url?, username?, password?}`
pub async fn camera_add(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Option<Json<CameraBody>>,
) -> WebResult<Response> {
    let cam = json_body(body, "{\"name\", \"url\", …}")?.parse()?;
    let c = state.gov.camera_add(&user.actor(), cam).await?;
    sync_recorders(&state).await?;
    let nodes = state.gov.recording_nodes(&user.actor()).await?;
    Ok((StatusCode::CREATED, Json(camera_json(&state, &c, &nodes))).into_response())
}

/// `PUT /api/cameras/{id}/description` `{location, purpose, coverage, sign_location}`
pub async fn camera_description_api(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    user: CurrentUser,
    body: Option<Json<DescriptionBody>>,
) -> WebResult<Json<Value>> {
    let d = json_body(
        body,
        "{\"location\", \"purpose\", \"coverage\", \"sign_location\"}",
    )?;
    let c = state
        .gov
        .camera_describe(&user.actor(), CameraId(id), &d.description())
        .await?;
    let nodes = state.gov.recording_nodes(&user.actor()).await?;
    Ok(Json(camera_json(&state, &c, &nodes)))
}

/// `DELETE /api/cameras/{id}`
pub async fn camera_remove(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    user: CurrentUser,
) -> WebResult<Json<Value>> {
    let kept = state.gov.camera_remove(&user.actor(), CameraId(id)).await?;
    sync_recorders(&state).await?;
    Ok(Json(json!({"removed": id, "footage_kept": kept})))
}

#[derive(Debug, Deserialize)]
pub struct RangeQuery {
    pub from: String,
    pub to: String,
    pub stream: Option<String>,
}

/// `GET /api/cameras/{id}/recordings?from=&to=` → recorded `spans` and `gaps` with reasons.
pub async fn recordings(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<RangeQuery>,
) -> WebResult<Json<Value>> {
    let t = state
        .gov
        .timeline(
            &user.actor(),
            CameraId(id),
            &q.from,
            &q.to,
            q.stream.as_deref(),
        )
        .await?;
    Ok(Json(json!({
        "camera_id": t.camera.0,
        "stream": t.stream.as_str(),
        "from": rfc3339(t.from),
        "to": rfc3339(t.to),
        "spans": t.spans.iter().map(|(s, e)| json!({"start": rfc3339(*s), "end": rfc3339(*e)})).collect::<Vec<_>>(),
        "gaps": t.gaps.iter().map(|g| json!({
            "start": rfc3339(g.start),
            "end": rfc3339(g.end),
            "open": g.open,
            "reason": g.reason.as_str(),
            "detail": g.detail,
        })).collect::<Vec<_>>(),
    })))
}

#[derive(Debug, Deserialize)]
pub struct MonthQuery {
    /// `YYYY-MM`, in Japan time.
    pub month: String,
}

/// `GET /api/cameras/{id}/days?month=YYYY-MM` → the days (Japan time) that hold footage.
pub async fn recorded_days(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<MonthQuery>,
) -> WebResult<Json<Value>> {
    let days = state
        .gov
        .recorded_days(&user.actor(), CameraId(id), &q.month)
        .await?;
    Ok(Json(json!({
        "camera_id": id,
        "month": q.month,
        "days": days.iter().map(|d| d.format("%Y-%m-%d").to_string()).collect::<Vec<_>>(),
    })))
}
