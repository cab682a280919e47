//! Retention in the UI and API: the rule in force per camera, oldest footage,
//! next erasure and capacity forecast; holds (保存期間の延長: create, change,
//! release); the erasure log; the storage alarm; the last verify result.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use mimamori_base::time::jst;
use mimamori_base::{CameraId, Timestamp};
use mimamori_catalog::retention::Hold;
use mimamori_governance::holds::{HoldText, RetentionPicture};
use mimamori_policy::Counting;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::error::{Shown, WebError, WebResult, status_of};
use crate::http::form::{FormFields, json_body};
use crate::http::session::CurrentUser;
use crate::state::AppState;
use crate::views::i18n::Lang;
use crate::views::{alert, csrf_field, minute, page};

fn rfc(t: Timestamp) -> String {
    t.to_rfc3339(jst())
}

fn picture_json(r: &RetentionPicture) -> Value {
    json!({
        "camera_id": r.camera.0,
        "days": r.days,
        "counting": match r.counting { Counting::FromRecording => "from_recording", Counting::FromNextDay => "from_next_day" },
        "basis": r.basis,
        "oldest": r.oldest.map(rfc),
        "next_erasure": r.next_erasure.map(rfc),
        "bytes_last_day": r.bytes_last_day,
        "capacity_days": r.capacity_days,
        "retention_fits": r.fits(),
    })
}

/// `GET /api/cameras/{id}/retention`
pub async fn camera_retention_get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> WebResult<Json<Value>> {
    let r = state
        .gov
        .camera_retention(&user.actor(), CameraId(id))
        .await?;
    Ok(Json(picture_json(&r)))
}

fn hold_json(h: &Hold, now: Timestamp) -> Value {
    json!({
        "id": h.id,
        "cameras": h.cameras.iter().map(|c| c.0).collect::<Vec<_>>(),
        "from": rfc(h.from),
        "to": rfc(h.to),
        "until": rfc(h.until),
        "reason": h.reason,
        "medium": h.medium,
        "created_at": rfc(h.created_at),
        "active": h.released_at.is_none() && now < h.until,
        "released_at": h.released_at.map(rfc),
        "provision": h.provision_id,
        "ground": (!h.ground.is_empty()).then_some(&h.ground),
    })
}

/// `GET /api/holds`
pub async fn holds_list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> WebResult<Json<Value>> {
    let now = state.gov.now();
    let holds = state.gov.holds(&user.actor()).await?;
    Ok(Json(Value::Array(
        holds.iter().map(|h| hold_json(h, now)).collect(),
    )))
}

#[derive(Debug, Deserialize)]
pub struct HoldBody {
    pub cameras: Vec<i64>,
    pub from: String,
    pub to: String,
    pub until: String,
    pub reason: String,
    /// The external medium holding a copy, if the extension is kept on one.
    #[serde(default)]
    pub medium: Option<String>,
    /// A ground of the policy's `hold_grounds`, where it lists any.
    #[serde(default)]
    pub ground: Option<String>,
}

/// `POST /api/holds`
pub async fn hold_create(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Option<Json<HoldBody>>,
) -> WebResult<Response> {
    let b = json_body(body, "{cameras, from, to, until, reason}")?;
    let hold = state
        .gov
        .hold_create(
            &user.actor(),
            &HoldText {
                cameras: b.cameras.clone(),
                from: &b.from,
                to: &b.to,
                until: &b.until,
                reason: &b.reason,
                medium: b.medium.as_deref(),
                ground: b.ground.as_deref(),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(hold_json(&hold, state.gov.now()))).into_response())
}

#[derive(Debug, Deserialize)]
pub struct HoldChange {
    pub until: String,
    pub reason: String,
}

/// `PUT /api/holds/{id}`: a new end date and reason.
pub async fn hold_change(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    user: CurrentUser,
    body: Option<Json<HoldChange>>,
) -> WebResult<Json<Value>> {
    let b = json_body(body, "{until, reason}")?;
    state
        .gov
        .hold_change(&user.actor(), id, &b.until, &b.reason)
        .await?;
    Ok(Json(json!({"changed": id})))
}

/// `POST /api/holds/{id}/release`
pub async fn hold_release(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    user: CurrentUser,
) -> WebResult<Json<Value>> {
    state.gov.hold_release(&user.actor(), id).await?;
    Ok(Json(json!({"released": id})))
}

/// `GET /api/erasures`
pub async fn erasures_list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> WebResult<Json<Value>> {
    let list = state.gov.erasures(&user.actor(), 200).await?;
    Ok(Json(Value::Array(
        list.iter()
            .map(|e| {
                json!({"id": e.id, "camera_id": e.camera_id.0, "stream": e.stream, "from": rfc(e.from), "to": rfc(e.to),
                       "segments": e.segments, "bytes": e.bytes, "erased_at": rfc(e.erased_at), "rule": e.rule,
                       "detail": e.detail, "keys_destroyed": e.keys_destroyed})
            })
            .collect(),
    )))
}

/// `GET /retention`: alarm, rules per camera, holds with their forms, erasure log, last verify.
pub async fn retention_page(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
) -> WebResult<Response> {
    let body = retention_body(&state, lang, &user, None).await?;
    Ok(page(lang, lang.strings().ret_title, Some(&user.0), body).into_response())
}

fn rule_text(lang: Lang, days: u32, counting: Counting) -> String {
    match (lang, counting) {
        (Lang::Ja, Counting::FromRecording) => format!("{days}日間（録画時から）"),
        (Lang::Ja, Counting::FromNextDay) => format!("{days}日間（録画日の翌日から起算）"),
        (Lang::En, Counting::FromRecording) => format!("{days} days from recording"),
        (Lang::En, Counting::FromNextDay) => {
            format!("{days} days counted from the day after recording")
        }
    }
}

async fn retention_body(
    state: &AppState,
    lang: Lang,
    user: &CurrentUser,
    error: Option<&str>,
) -> WebResult<Markup> {
    let s = lang.strings();
    let now = state.gov.now();
    let o = state.gov.retention_overview(&user.actor()).await?;
    let name_of = |id: CameraId| {
        o.cameras
            .iter()
            .find(|(c, _)| c.id == id)
            .map(|(c, _)| c.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let policy = state.gov.policy();
    let copies = state.gov.hold_copies(&user.actor()).await?;
    Ok(html! {
        h1 { (s.ret_title) }
        @if let Some(m) = o.alarm.message.as_deref() {
            p.alarm id="storage-alarm" role="alert" { (s.ret_alarm) ": " (m) }
        }
        (alert(error))
        section.card {
            h2 { (s.ret_rule) }
            p { (policy.retention.basis) }
            table {
                thead { tr { th { (s.cameras_name) } th { (s.ret_rule) } th { (s.ret_oldest) } th { (s.ret_next) } th { (s.ret_capacity) } } }
                tbody {
                    @for (c, r) in &o.cameras {
                        tr data-camera-id=(c.id) {
                            td { (c.name) }
                            td { (rule_text(lang, r.days, r.counting)) }
                            td { (r.oldest.map(minute).unwrap_or_else(|| "—".into())) }
                            td { (r.next_erasure.map(minute).unwrap_or_else(|| "—".into())) }
                            td {
                                (r.capacity_days.map(|d| format!("{d:.1} {}", s.ret_days)).unwrap_or_else(|| "—".into()))
                                @if r.fits() == Some(false) { " " span.notice { (s.ret_short) } }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { (s.ret_holds) }
            table id="holds" {
                thead { tr { th { "#" } th { (s.cameras_name) } th { (s.ret_range) } th { (s.ret_until) } th { (s.ret_reason) } th {} } }
                tbody {
                    @for h in &o.holds {
                        @let active = h.released_at.is_none() && now < h.until;
                        tr data-hold-id=(h.id) {
                            td { (h.id) }
                            td { (h.cameras.iter().map(|c| name_of(*c)).collect::<Vec<_>>().join("、")) }
                            td { (minute(h.from)) " – " (minute(h.to)) }
                            td { (minute(h.until)) }
                            td {
                                @if let Some(g) = state.gov.policy().retention.hold_ground(&h.ground) { span.ground data-ground=(g.id) { (g.label) "（" (g.basis) "）" } " " }
                                (h.reason)
                                @if let Some(m) = &h.medium { " [" (s.ret_medium_short) ": " (m) "]" }
                                // Tottori 5(3): the copy kept on the medium, made and logged here.
                                @for c in copies.iter().filter(|c| c.hold_id == h.id) {
                                    div.copy data-copy-id=(c.id) {
                                        a href={ "/api/holds/" (h.id) "/copies/" (c.id) } { (s.ret_copy_file) " " (c.id) }
                                        " " small { (minute(c.built.at)) " · SHA-256 " code { (hex::encode(&c.sha256)[..16]) "…" } }
                                    }
                                }
                                @if active && o.may_hold && h.medium.as_deref().is_some_and(|m| !m.is_empty()) {
                                    form.inline-form method="post" action={ "/retention/holds/" (h.id) "/copies" } {
                                        (csrf_field(&user.0))
                                        input type="password" name="passphrase" placeholder=(s.ret_copy_passphrase) autocomplete="new-password";
                                        button { (s.ret_copy) }
                                    }
                                }
                            }
                            td {
                                @if active && o.may_hold {
                                    form.inline-form method="post" action={ "/retention/holds/" (h.id) "/change" } {
                                        (csrf_field(&user.0))
                                        input type="datetime-local" name="until" value=(h.until.jst_format("%Y-%m-%dT%H:%M")) required;
                                        input name="reason" value=(h.reason) required;
                                        button { (s.ret_change) }
                                    }
                                    form.inline-form method="post" action={ "/retention/holds/" (h.id) "/release" } {
                                        (csrf_field(&user.0))
                                        button { (s.ret_release) }
                                    }
                                } @else if h.released_at.is_some() {
                                    (s.ret_released)
                                } @else {
                                    (s.ret_ended)
                                }
                            }
                        }
                    }
                }
            }
            @if o.may_hold {
                h3 { (s.ret_new_hold) }
                form method="post" action="/retention/holds" id="hold-form" {
                    (csrf_field(&user.0))
                    @for (c, _) in &o.cameras {
                        label.check { input type="checkbox" name="camera" value=(c.id); " " (c.name) }
                    }
                    label { (s.view_from) input type="datetime-local" name="from" required; }
                    label { (s.view_to) input type="datetime-local" name="to" required; }
                    label { (s.ret_until) input type="datetime-local" name="until" required; }
                    @if !state.gov.policy().retention.hold_grounds.is_empty() {
                        fieldset { legend { (s.ret_ground) }
                            @for g in &state.gov.policy().retention.hold_grounds {
                                label.check { input type="radio" name="ground" value=(g.id) required; " " (g.label) "（" (g.basis) "）" }
                            }
                        }
                    }
                    label { (s.ret_reason) input name="reason" required; }
                    label { (s.ret_medium) input name="medium" placeholder="USB-001"; }
                    button type="submit" { (s.ret_create) }
                }
            }
        }
        section.card {
            h2 { (s.ret_erasures) }
            table id="erasures" {
                thead { tr { th { (s.ret_erased_at) } th { (s.cameras_name) } th { (s.ret_range) } th { (s.ret_amount) } th { (s.ret_rule) } } }
                tbody {
                    @for e in &o.erasures {
                        tr {
                            td { (minute(e.erased_at)) }
                            td { (name_of(e.camera_id)) }
                            td { (minute(e.from)) " – " (minute(e.to)) }
                            td { (e.segments) " / " (e.bytes / 1_000_000) " MB / keys " (e.keys_destroyed) }
                            td { (e.detail) }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { (s.ret_verify) }
            @match &o.last_verify {
                Some(v) => {
                    p id="last-verify" data-problems=(v.problems) {
                        (s.ret_verify) ": " (minute(v.at)) " — " (v.segments) " " (s.ret_segments) " / " (v.problems) " " (s.ret_problems)
                    }
                    pre { (v.summary) }
                },
                None => p id="last-verify" { (s.ret_never_verified) },
            }
        }
    })
}

/// After a form: back to the page, or the page again with the error above it.
async fn form_result(
    state: &AppState,
    lang: Lang,
    user: &CurrentUser,
    result: WebResult<()>,
) -> WebResult<Response> {
    let Err(WebError(e)) = result else {
        return Ok(Redirect::to("/retention").into_response());
    };
    let shown = Shown::of(&e);
    let message = format!("{} ({})", shown.message_in(lang), shown.code);
    let body = retention_body(state, lang, user, Some(&message)).await?;
    Ok((
        status_of(shown.code),
        page(lang, lang.strings().ret_title, Some(&user.0), body),
    )
        .into_response())
}

/// `POST /retention/holds`: cameras come as repeated `camera` fields.
pub async fn hold_create_submit(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
    body: String,
) -> WebResult<Response> {
    let f = FormFields::parse(&body);
    let result = state
        .gov
        .hold_create(
            &user.actor(),
            &HoldText {
                cameras: f.numbers("camera"),
                from: f.get("from"),
                to: f.get("to"),
                until: f.get("until"),
                reason: f.get("reason"),
                medium: Some(f.get("medium")),
                ground: Some(f.get("ground")),
            },
        )
        .await
        .map(|_| ())
        .map_err(WebError);
    form_result(&state, lang, &user, result).await
}

/// `POST /retention/holds/{id}/change`
pub async fn hold_change_submit(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<i64>,
    user: CurrentUser,
    body: String,
) -> WebResult<Response> {
    let f = FormFields::parse(&body);
    let result = state
        .gov
        .hold_change(&user.actor(), id, f.get("until"), f.get("reason"))
        .await
        .map_err(WebError);
    form_result(&state, lang, &user, result).await
}

/// `POST /retention/holds/{id}/copies`: the copy of a hold's footage for its medium.
pub async fn hold_copy_submit(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<i64>,
    user: CurrentUser,
    body: String,
) -> WebResult<Response> {
    let f = FormFields::parse(&body);
    let result = state
        .gov
        .hold_copy(&user.actor(), id, Some(f.get("passphrase")))
        .await
        .map(|_| ())
        .map_err(WebError);
    form_result(&state, lang, &user, result).await
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct CopyBody {
    pub passphrase: String,
}

/// `POST /api/holds/{id}/copies` `{passphrase?}` → the copy (201).
pub async fn hold_copy_api(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    user: CurrentUser,
    body: Option<Json<CopyBody>>,
) -> WebResult<Response> {
    let b = body.map(|Json(b)| b).unwrap_or_default();
    let c = state
        .gov
        .hold_copy(&user.actor(), id, Some(&b.passphrase))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"copy": c.id, "hold": c.hold_id, "bytes": c.bytes, "frames": c.frames,
                    "sha256": hex::encode(&c.sha256), "passphrase_protected": c.passphrase_protected,
                    "built_at": rfc(c.built.at)})),
    )
        .into_response())
}

/// `GET /api/holds/{id}/copies/{copy}`: the copy's ZIP, to write onto the medium.
pub async fn hold_copy_get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, copy)): Path<(i64, i64)>,
    req: axum::extract::Request,
) -> WebResult<Response> {
    let body = state.gov.hold_copy_file(&user.actor(), id, copy).await?;
    let (parts, _) = req.into_parts();
    Ok(crate::http::ranged::serve(
        body,
        &axum::http::Request::from_parts(parts, ()),
    ))
}

/// `POST /retention/holds/{id}/release`
pub async fn hold_release_submit(
    State(state): State<AppState>,
    lang: Lang,
    Path(id): Path<i64>,
    user: CurrentUser,
) -> WebResult<Response> {
    let result = state
        .gov
        .hold_release(&user.actor(), id)
        .await
        .map_err(WebError);
    form_result(&state, lang, &user, result).await
}
