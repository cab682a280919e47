//! Agreements with a police station (協定, Osaka 第8条): the manager's page (the
//! agreements with their extractions, the form to record one, suspend and lift
//! buttons), the station's page (its agreements in force, the extraction form,
//! its extractions with progress and downloads), and the JSON API of both.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use mimamori_base::time::jst;
use mimamori_catalog::Camera;
use mimamori_catalog::agreements::Agreement;
use mimamori_governance::agreements::{AgreementText, StationExtractText, StationRequest};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::error::{WebError, WebResult};
use crate::http::form::{FormFields, json_body};
use crate::http::session::CurrentUser;
use crate::provisions::{extraction_json, packages_json, provision_json, status_badge};
use crate::state::AppState;
use crate::views::i18n::{Lang, Strings};
use crate::views::{csrf_field, minute, page};

#[derive(Debug, Deserialize, Default)]
pub struct AgreementBody {
    pub station: String,
    pub terms: String,
    pub cameras: Vec<i64>,
    pub valid_from: String,
    pub valid_until: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct SuspendBody {
    pub reason: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct StationExtractBody {
    pub agreement: i64,
    pub cameras: Vec<i64>,
    pub from: String,
    pub to: String,
    pub reason: String,
    #[serde(default)]
    pub ground_detail: String,
    pub passphrase: Option<String>,
    /// Answer when the package is built (scripts), not at once.
    #[serde(default)]
    pub wait: bool,
}

fn agreement_json(a: &Agreement, now: mimamori_base::Timestamp) -> Value {
    json!({
        "id": a.id,
        "station": a.station,
        "terms": a.terms,
        "cameras": a.cameras.iter().map(|c| c.0).collect::<Vec<_>>(),
        "valid_from": a.valid_from.to_rfc3339(jst()),
        "valid_until": a.valid_until.to_rfc3339(jst()),
        "in_force": a.in_force(now),
        "suspended": a.suspension.as_ref().map(|s| json!({"reason": s.reason, "at": s.step.at.to_rfc3339(jst())})),
    })
}

fn state_label(s: &Strings, a: &Agreement, in_force: bool) -> &'static str {
    if a.suspension.is_some() {
        s.agr_suspended
    } else if in_force {
        s.agr_in_force
    } else {
        s.agr_not_in_period
    }
}

fn camera_names(cameras: &[Camera], ids: &[mimamori_base::CameraId]) -> String {
    ids.iter()
        .map(|c| {
            cameras
                .iter()
                .find(|x| x.id == *c)
                .map(|x| x.name.clone())
                .unwrap_or_else(|| c.to_string())
        })
        .collect::<Vec<_>>()
        .join("、")
}

// ---- the manager ----------------------------------------------------------------

/// `GET /api/agreements`
pub async fn agreements_api(
    State(state): State<AppState>,
    user: CurrentUser,
) -> WebResult<Json<Value>> {
    let now = state.gov.now();
    let v = state.gov.agreements_view(&user.actor()).await?;
    Ok(Json(json!({
        "basis": v.rule.basis,
        "agreements": v.agreements.iter().map(|f| {
            let mut a = agreement_json(&f.agreement, now);
            a["requests"] = f.requests.iter().map(|(p, s)| provision_json(p, *s)).collect();
            a
        }).collect::<Vec<_>>(),
    })))
}

/// `POST /api/agreements` `{station, terms, cameras: [id], valid_from, valid_until}`
pub async fn agreement_create_api(
    State(state): State<AppState>,
    user: CurrentUser,
    b: Option<Json<AgreementBody>>,
) -> WebResult<Response> {
    let b = json_body(b, "{station, terms, cameras, valid_from, valid_until}")?;
    let a = state
        .gov
        .agreement_make(
            &user.actor(),
            &AgreementText {
                station: &b.station,
                terms: &b.terms,
                cameras: b.cameras.clone(),
                valid_from: &b.valid_from,
                valid_until: &b.valid_until,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(agreement_json(&a, state.gov.now())),
    )
        .into_response())
}

/// `POST /api/agreements/{id}/suspend` `{reason}`
pub async fn agreement_suspend_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    b: Option<Json<SuspendBody>>,
) -> WebResult<Json<Value>> {
    let b = json_body(b, "{reason}")?;
    state
        .gov
        .agreement_suspend(&user.actor(), id, &b.reason)
        .await?;
    Ok(Json(json!({ "suspended": id })))
}

/// `POST /api/agreements/{id}/resume`
pub async fn agreement_resume_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> WebResult<Json<Value>> {
    state.gov.agreement_resume(&user.actor(), id).await?;
    Ok(Json(json!({ "resumed": id })))
}

/// `GET /agreements`
pub async fn agreements_page(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
) -> WebResult<Response> {
    let s = lang.strings();
    let v = state.gov.agreements_view(&user.actor()).await?;
    let body = html! {
        h1 { (s.agr_title) }
        p.muted { (v.rule.basis) }
        @if v.agreements.is_empty() { p { (s.agr_none) } }
        @for f in &v.agreements {
            @let a = &f.agreement;
            section.card data-agreement=(a.id) {
                h2 { (s.prov_no) (a.id) " " (a.station) " "
                    span class={ "status" @if f.in_force { " status-approved" } @else { " status-refused" } } data-state=(state_label(s, a, f.in_force)) { (state_label(s, a, f.in_force)) } }
                table.fields {
                    tr { th { (s.prov_cameras) } td { (camera_names(&v.cameras, &a.cameras)) } }
                    tr { th { (s.agr_period) } td { (minute(a.valid_from)) " – " (minute(a.valid_until)) } }
                    tr { th { (s.agr_terms) } td.pre { (a.terms) } }
                    @if let Some(sus) = &a.suspension {
                        tr { th { (s.agr_suspend_reason) } td { (minute(sus.step.at)) " " (sus.reason) } }
                    }
                }
                @if a.suspension.is_some() {
                    form.inline method="post" action={ "/agreements/" (a.id) "/resume" } {
                        (csrf_field(&user.0))
                        button { (s.agr_resume) }
                    }
                } @else {
                    form.inline method="post" action={ "/agreements/" (a.id) "/suspend" } {
                        (csrf_field(&user.0))
                        label { (s.agr_suspend_reason) " " input name="reason" required; }
                        " " button.danger { (s.agr_suspend) }
                    }
                }
                h3 { (s.agr_requests) }
                table {
                    thead { tr { th { (s.prov_no) } th { (s.prov_cameras) } th { (s.prov_period) } th { (s.prov_person) } th { (s.prov_status) } } }
                    tbody {
                        @for (p, st) in &f.requests {
                            tr data-request=(p.id) {
                                td { a href={ "/provisions/" (p.id) } { (s.prov_no) (p.id) } }
                                td { (camera_names(&v.cameras, &p.fields.cameras)) }
                                td { (minute(p.fields.from)) " – " (minute(p.fields.to)) }
                                td { (p.fields.contact_person) }
                                td { (status_badge(*st)) }
                            }
                        }
                    }
                }
            }
        }
        section.card.narrow {
            h2 { (s.agr_new) }
            p.muted { (v.rule.terms_guidance) }
            form method="post" action="/agreements" id="agreement-form" {
                (csrf_field(&user.0))
                label { (s.agr_station) " (" (s.agr_station_hint) ")"
                    input name="station" list="stations" required;
                    datalist id="stations" { @for st in &v.stations { option value=(st) {} } }
                }
                label { (s.agr_terms) textarea name="terms" rows="5" required {} }
                fieldset { legend { (s.prov_cameras) }
                    @for c in &v.cameras {
                        label.check { input type="checkbox" name="camera" value=(c.id); " " (c.name) }
                    }
                }
                label { (s.agr_from) input type="datetime-local" name="valid_from" required; }
                label { (s.agr_until) input type="datetime-local" name="valid_until" required; }
                button { (s.form_save) }
            }
        }
    };
    Ok(page(lang, s.agr_title, Some(&user.0), body).into_response())
}

/// `POST /agreements`
pub async fn agreement_create_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    body: String,
) -> WebResult<Redirect> {
    let f = FormFields::parse(&body);
    state
        .gov
        .agreement_make(
            &user.actor(),
            &AgreementText {
                station: f.get("station"),
                terms: f.get("terms"),
                cameras: f.numbers("camera"),
                valid_from: f.get("valid_from"),
                valid_until: f.get("valid_until"),
            },
        )
        .await?;
    Ok(Redirect::to("/agreements"))
}

/// `POST /agreements/{id}/suspend`
pub async fn agreement_suspend_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    body: String,
) -> WebResult<Redirect> {
    let f = FormFields::parse(&body);
    state
        .gov
        .agreement_suspend(&user.actor(), id, f.get("reason"))
        .await?;
    Ok(Redirect::to("/agreements"))
}

/// `POST /agreements/{id}/resume`
pub async fn agreement_resume_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> WebResult<Redirect> {
    state.gov.agreement_resume(&user.actor(), id).await?;
    Ok(Redirect::to("/agreements"))
}

// ---- the station ----------------------------------------------------------------

fn station_request_json(r: &StationRequest) -> Value {
    let mut v = provision_json(&r.provision, r.status);
    v["packages"] = packages_json(&r.packages);
    v["extraction"] = extraction_json(r.extraction.as_deref());
    v
}

/// `GET /api/agreement`: the station's agreements in force and its extractions.
pub async fn station_api(
    State(state): State<AppState>,
    user: CurrentUser,
) -> WebResult<Json<Value>> {
    let now = state.gov.now();
    let v = state.gov.station_view(&user.actor()).await?;
    Ok(Json(json!({
        "station": v.station,
        "agreements": v.agreements.iter().map(|a| agreement_json(a, now)).collect::<Vec<_>>(),
        "requests": v.requests.iter().map(station_request_json).collect::<Vec<_>>(),
    })))
}

/// `POST /api/agreement/extract` `{agreement, cameras, from, to, reason,
/// ground_detail?, passphrase?, wait?}`: 202 with the request at once, or 201
/// with the package when `wait`.
pub async fn station_extract_api(
    State(state): State<AppState>,
    user: CurrentUser,
    b: Option<Json<StationExtractBody>>,
) -> WebResult<Response> {
    let b = json_body(b, "{agreement, cameras, from, to, reason, ground_detail?}")?;
    let (p, task) = state
        .gov
        .station_extract(
            &user.actor(),
            &StationExtractText {
                agreement: b.agreement,
                cameras: b.cameras.clone(),
                from: &b.from,
                to: &b.to,
                reason: &b.reason,
                ground_detail: &b.ground_detail,
                passphrase: b.passphrase.as_deref(),
            },
        )
        .await?;
    if !b.wait {
        return Ok((StatusCode::ACCEPTED, Json(json!({"request": p.id}))).into_response());
    }
    let pkg = task
        .await
        .map_err(|e| WebError(mimamori_governance::Error::Inconsistent(e.to_string())))??;
    Ok((
        StatusCode::CREATED,
        Json(json!({"request": p.id, "package": pkg.id, "bytes": pkg.bytes, "sha256": hex::encode(&pkg.sha256), "frames": pkg.frames})),
    )
        .into_response())
}

/// `GET /agreement`
pub async fn station_page(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
) -> WebResult<Response> {
    let s = lang.strings();
    let v = state.gov.station_view(&user.actor()).await?;
    let building = v.requests.iter().any(|r| {
        r.extraction.as_ref().is_some_and(|e| {
            e.failed.lock().ok().is_some_and(|x| x.is_none()) && e.progress.percent() < 100
        })
    });
    let ground = state
        .gov
        .policy()
        .disclosure
        .agreement
        .as_ref()
        .and_then(|a| state.gov.policy().disclosure.ground(&a.ground));
    let body = html! {
        h1 { (s.agr_station_title) " — " (v.station) }
        @if building { div data-refresh-seconds="2" {} }
        @for a in &v.agreements {
            section.card data-agreement=(a.id) {
                h2 { (s.prov_no) (a.id) " " (s.agr_period) " " (minute(a.valid_from)) " – " (minute(a.valid_until)) }
                table.fields {
                    tr { th { (s.prov_cameras) } td {
                        @for c in &a.cameras {
                            a href={ "/cameras/" (c) } { (camera_names(&v.cameras, &[*c])) } " "
                        }
                    } }
                    tr { th { (s.agr_terms) } td.pre { (a.terms) } }
                }
            }
        }
        section.card.narrow {
            h2 { (s.agr_extract) }
            form method="post" action="/agreement/extract" id="station-extract-form" {
                (csrf_field(&user.0))
                label { (s.agr_title)
                    select name="agreement" {
                        @for a in &v.agreements { option value=(a.id) { (s.prov_no) (a.id) } }
                    }
                }
                fieldset { legend { (s.prov_cameras) }
                    @for c in &v.cameras {
                        label.check { input type="checkbox" name="camera" value=(c.id); " " (c.name) }
                    }
                }
                label { (s.view_from) input type="datetime-local" name="from" required; }
                label { (s.view_to) input type="datetime-local" name="to" required; }
                label { (s.agr_reason) input name="reason" required; }
                label { (ground.map(|g| if g.detail_label.is_empty() { s.prov_ground_detail.to_string() } else { g.detail_label.clone() }).unwrap_or_else(|| s.prov_ground_detail.to_string()))
                    input name="ground_detail" required[ground.is_some_and(|g| g.detail_required)]; }
                label { (s.prov_passphrase) input type="password" name="passphrase" autocomplete="new-password"; }
                button { (s.agr_extract) }
            }
        }
        h2 { (s.agr_mine) }
        table id="station-requests" {
            thead { tr { th { (s.prov_no) } th { (s.prov_cameras) } th { (s.prov_period) } th { (s.agr_reason) } th { (s.prov_status) } th { (s.prov_packages) } } }
            tbody {
                @for r in &v.requests {
                    @let p = &r.provision;
                    tr data-request=(p.id) {
                        td { (s.prov_no) (p.id) }
                        td { (camera_names(&v.cameras, &p.fields.cameras)) }
                        td { (minute(p.fields.from)) " – " (minute(p.fields.to)) }
                        td { (p.fields.reason) }
                        td { (status_badge(r.status)) }
                        td {
                            @if let Some(e) = &r.extraction {
                                @if let Some(err) = e.failed.lock().ok().and_then(|x| x.clone()) {
                                    span.error { (s.prov_failed) ": " (err) }
                                } @else if r.packages.is_empty() {
                                    (s.prov_building) " " progress max="100" value=(e.progress.percent()) {} " " (e.progress.percent()) "%"
                                }
                            }
                            @for pkg in &r.packages {
                                a href={ "/api/provisions/" (p.id) "/packages/" (pkg.id) } data-package=(pkg.id) { (s.prov_download) " #" (pkg.id) }
                                " SHA-256 " code { (hex::encode(&pkg.sha256)) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(lang, s.agr_station_title, Some(&user.0), body).into_response())
}

/// `POST /agreement/extract`
pub async fn station_extract_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    body: String,
) -> WebResult<Redirect> {
    let f = FormFields::parse(&body);
    let pass = f.get("passphrase");
    state
        .gov
        .station_extract(
            &user.actor(),
            &StationExtractText {
                agreement: f.get("agreement").trim().parse().unwrap_or(0),
                cameras: f.numbers("camera"),
                from: f.get("from"),
                to: f.get("to"),
                reason: f.get("reason"),
                ground_detail: f.get("ground_detail"),
                passphrase: Some(pass).filter(|p| !p.is_empty()),
            },
        )
        .await?;
    Ok(Redirect::to("/agreement"))
}
