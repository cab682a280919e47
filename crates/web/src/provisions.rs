//! Provision to third parties, as pages and API: the list of requests with their
//! status, the request form (every field of Midori 様式第1号), one request's page
//! (document, identity check, the manager's decision, extraction with progress,
//! packages, delivery, withdrawal), the covering letter, the register in the
//! policy's layout (page and CSV), and the media register. Every action calls
//! the application layer, which checks, acts and writes the audit entry.

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use mimamori_base::time::jst;
use mimamori_base::{Timestamp, UserId};
use mimamori_catalog::User;
use mimamori_catalog::provisions::Provision;
use mimamori_governance::provisions::{
    DecisionText, DeliveryText, DocumentUpload, ExtractText, IdentityText, ProvisionFile,
    RegisterFilter, RequestText, Status,
};
use mimamori_policy::RegisterLayout;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::http::error::{WebError, WebResult};
use crate::http::form::{FormFields, json_body};
use crate::http::ranged;
use crate::http::session::CurrentUser;
use crate::state::AppState;
use crate::views::i18n::{Lang, Strings, japanese_date};
use crate::views::{csrf_field, minute, page};

/// A request as the API takes it.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct RequestBody {
    pub received_on: String,
    pub requester_address: String,
    pub requester_organisation: String,
    pub requester_representative: String,
    pub contact_department: String,
    pub contact_person: String,
    pub contact_phone: String,
    pub cameras: Vec<i64>,
    pub from: String,
    pub to: String,
    pub reason: String,
    pub ground: String,
    pub ground_detail: String,
    pub method: String,
    pub method_detail: String,
    pub remarks: String,
}

impl RequestBody {
    fn text(&self) -> RequestText<'_> {
        RequestText {
            received_on: &self.received_on,
            requester_address: &self.requester_address,
            requester_organisation: &self.requester_organisation,
            requester_representative: &self.requester_representative,
            contact_department: &self.contact_department,
            contact_person: &self.contact_person,
            contact_phone: &self.contact_phone,
            cameras: self.cameras.clone(),
            from: &self.from,
            to: &self.to,
            reason: &self.reason,
            ground: &self.ground,
            ground_detail: &self.ground_detail,
            method: &self.method,
            method_detail: &self.method_detail,
            remarks: &self.remarks,
        }
    }

    fn from_form(f: &FormFields) -> RequestBody {
        RequestBody {
            received_on: f.get("received_on").into(),
            requester_address: f.get("requester_address").into(),
            requester_organisation: f.get("requester_organisation").into(),
            requester_representative: f.get("requester_representative").into(),
            contact_department: f.get("contact_department").into(),
            contact_person: f.get("contact_person").into(),
            contact_phone: f.get("contact_phone").into(),
            cameras: f.numbers("camera"),
            from: f.get("from").into(),
            to: f.get("to").into(),
            reason: f.get("reason").into(),
            ground: f.get("ground").into(),
            ground_detail: f.get("ground_detail").into(),
            method: f.get("method").into(),
            method_detail: f.get("method_detail").into(),
            remarks: f.get("remarks").into(),
        }
    }
}

fn who(people: &std::collections::HashMap<UserId, User>, u: Option<UserId>) -> String {
    u.and_then(|u| people.get(&u))
        .map(|u| format!("{} ({})", u.display_name, u.username))
        .unwrap_or_else(|| "(console)".into())
}

pub(crate) fn provision_json(p: &Provision, status: Status) -> Value {
    let f = &p.fields;
    json!({
        "id": p.id,
        "status": status.as_str(),
        "status_ja": status.ja(),
        "received_on": f.received_on,
        "requester": {
            "address": f.requester_address, "organisation": f.requester_organisation,
            "representative": f.requester_representative, "department": f.contact_department,
            "person": f.contact_person, "phone": f.contact_phone,
        },
        "cameras": f.cameras.iter().map(|c| c.0).collect::<Vec<_>>(),
        "from": f.from.to_rfc3339(jst()),
        "to": f.to.to_rfc3339(jst()),
        "reason": f.reason,
        "ground": f.ground,
        "ground_detail": f.ground_detail,
        "method": f.method,
        "method_detail": f.method_detail,
        "remarks": f.remarks,
        "hold": p.hold_id,
        "identity": p.identity.as_ref().map(|i| json!({"method": i.method, "detail": i.detail, "at": i.step.at.to_rfc3339(jst())})),
        "decision": p.decision.as_ref().map(|d| json!({
            "decision": d.decision.as_str(), "reason": d.reason,
            "extractor": d.extractor.map(|u| u.0), "at": d.step.at.to_rfc3339(jst()),
        })),
        "delivery": p.delivery.as_ref().map(|d| json!({
            "recipient": d.recipient, "medium": d.medium, "note": d.note, "at": d.step.at.to_rfc3339(jst()),
        })),
        "withdrawal": p.withdrawal.as_ref().map(|w| json!({"reason": w.reason, "at": w.step.at.to_rfc3339(jst())})),
    })
}

fn file_json(f: &ProvisionFile) -> Value {
    let mut v = provision_json(&f.provision, f.status);
    v["documents"] = f
        .documents
        .iter()
        .map(|d| json!({"id": d.id, "name": d.original_name, "type": d.content_type, "bytes": d.bytes, "sha256": hex::encode(&d.sha256)}))
        .collect();
    v["packages"] = packages_json(&f.packages);
    v["extraction"] = extraction_json(f.extraction.as_deref());
    v
}

/// A request's packages, as the API shows them.
pub(crate) fn packages_json(packages: &[mimamori_catalog::provisions::Package]) -> Value {
    packages
        .iter()
        .map(|p| {
            json!({
                "id": p.id, "bytes": p.bytes, "sha256": hex::encode(&p.sha256), "frames": p.frames,
                "encrypted": p.passphrase_protected, "built_at": p.built.at.to_rfc3339(jst()),
                "cameras": p.cameras.iter().map(|c| c.0).collect::<Vec<_>>(),
                "derived_from": p.derived_from,
            })
        })
        .collect()
}

/// A build under way (or failed), as the API shows it.
pub(crate) fn extraction_json(e: Option<&mimamori_governance::provisions::Extraction>) -> Value {
    match e {
        Some(e) => json!({
            "percent": e.progress.percent(),
            "failed": e.failed.lock().ok().and_then(|x| x.clone()),
        }),
        None => Value::Null,
    }
}

/// `GET /api/provisions`
pub async fn provisions_api(
    State(state): State<AppState>,
    user: CurrentUser,
) -> WebResult<Json<Value>> {
    let list = state.gov.provisions(&user.actor()).await?;
    Ok(Json(json!({
        "requests": list.iter().map(|(p, s)| provision_json(p, *s)).collect::<Vec<_>>()
    })))
}

/// `POST /api/provisions` with every field of the request form.
pub async fn provision_create_api(
    State(state): State<AppState>,
    user: CurrentUser,
    b: Option<Json<RequestBody>>,
) -> WebResult<Response> {
    let b = json_body(
        b,
        "{received_on, requester_organisation, cameras, from, to, reason, ground, method, …}",
    )?;
    let p = state
        .gov
        .provision_register(&user.actor(), &b.text())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": p.id, "hold": p.hold_id })),
    )
        .into_response())
}

/// `GET /api/provisions/{id}`
pub async fn provision_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> WebResult<Json<Value>> {
    let f = state.gov.provision_file(&user.actor(), id).await?;
    Ok(Json(file_json(&f)))
}

#[derive(Debug, Deserialize)]
pub struct DocumentQuery {
    pub name: Option<String>,
}

/// `POST /api/provisions/{id}/documents?name=FILE` with the file as the body
/// (PDF or image; the page's script sends it with the CSRF header).
pub async fn document_upload_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<DocumentQuery>,
    req: Request,
) -> WebResult<Response> {
    let limit = usize::try_from(state.gov.policy().disclosure.max_document_bytes).unwrap_or(0);
    let bytes = axum::body::to_bytes(req.into_body(), limit + 1)
        .await
        .map_err(|_| WebError::bad_input(format!("document: at most {} MiB", limit >> 20)))?;
    let name = q.name.unwrap_or_else(|| "document".into());
    let d = state
        .gov
        .provision_attach(
            &user.actor(),
            id,
            &DocumentUpload {
                original_name: &name,
                bytes: &bytes,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": d.id, "type": d.content_type, "bytes": d.bytes})),
    )
        .into_response())
}

/// `GET /provisions/{id}/documents/{doc}`: the document as attached.
pub async fn document_get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, doc)): Path<(i64, i64)>,
) -> WebResult<Response> {
    let (d, bytes) = state.gov.provision_document(&user.actor(), id, doc).await?;
    let mut r = bytes.into_response();
    if let Ok(v) = HeaderValue::from_str(&d.content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline"),
    );
    Ok(r)
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct IdentityBody {
    pub method: String,
    pub detail: String,
}

/// `POST /api/provisions/{id}/identity` `{method, detail}`
pub async fn identity_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    b: Option<Json<IdentityBody>>,
) -> WebResult<Json<Value>> {
    let b = json_body(b, "{method, detail}")?;
    state
        .gov
        .provision_identity(
            &user.actor(),
            id,
            &IdentityText {
                method: &b.method,
                detail: &b.detail,
            },
        )
        .await?;
    Ok(Json(json!({"id": id})))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct DecisionBody {
    pub approve: bool,
    pub reason: String,
    pub extractor: Option<i64>,
}

/// `POST /api/provisions/{id}/decision` `{approve, reason, extractor?}`
pub async fn decision_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    b: Option<Json<DecisionBody>>,
) -> WebResult<Json<Value>> {
    let b = json_body(b, "{approve, reason, extractor?}")?;
    state
        .gov
        .provision_decide(
            &user.actor(),
            id,
            &DecisionText {
                approve: b.approve,
                reason: &b.reason,
                extractor: b.extractor,
            },
        )
        .await?;
    Ok(Json(json!({"id": id})))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ExtractBody {
    pub cameras: Vec<i64>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub passphrase: Option<String>,
    /// Answer when the package is built (scripts), not at once.
    pub wait: bool,
}

/// `POST /api/provisions/{id}/extract` `{cameras?, from?, to?, passphrase?, wait?}`:
/// 202 at once (the page shows progress), or 201 with the package when `wait`.
pub async fn extract_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    b: Option<Json<ExtractBody>>,
) -> WebResult<Response> {
    let b = b.map(|Json(b)| b).unwrap_or_default();
    let task = state
        .gov
        .provision_extract(
            &user.actor(),
            id,
            &ExtractText {
                cameras: b.cameras.clone(),
                from: b.from.as_deref(),
                to: b.to.as_deref(),
                passphrase: b.passphrase.as_deref(),
            },
        )
        .await?;
    if !b.wait {
        return Ok((StatusCode::ACCEPTED, Json(json!({"building": id}))).into_response());
    }
    let pkg = task
        .await
        .map_err(|e| WebError(mimamori_governance::Error::Inconsistent(e.to_string())))??;
    Ok((
        StatusCode::CREATED,
        Json(json!({"package": pkg.id, "bytes": pkg.bytes, "sha256": hex::encode(&pkg.sha256), "frames": pkg.frames})),
    )
        .into_response())
}

/// `GET /provisions/{id}/view/{camera}`: the approved footage of a camera, to
/// show the requester (閲覧のみ); ranged, for the page's player.
pub async fn viewing_get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, camera)): Path<(i64, i64)>,
    req: Request,
) -> WebResult<Response> {
    let body = state
        .gov
        .provision_viewing(&user.actor(), id, mimamori_base::CameraId(camera))
        .await?;
    let (parts, _) = req.into_parts();
    Ok(ranged::serve(
        body,
        &axum::http::Request::from_parts(parts, ()),
    ))
}

/// `GET /api/provisions/{id}/packages/{package}` (and the page's link): the ZIP.
pub async fn package_get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, pkg)): Path<(i64, i64)>,
    req: Request,
) -> WebResult<Response> {
    let body = state.gov.provision_package(&user.actor(), id, pkg).await?;
    let (parts, _) = req.into_parts();
    Ok(ranged::serve(
        body,
        &axum::http::Request::from_parts(parts, ()),
    ))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct DeliveryBody {
    pub at: String,
    pub recipient: String,
    pub medium: String,
    pub note: String,
}

/// `POST /api/provisions/{id}/delivery` `{at, recipient, medium, note}`
pub async fn delivery_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    b: Option<Json<DeliveryBody>>,
) -> WebResult<Json<Value>> {
    let b = json_body(b, "{at, recipient, medium, note}")?;
    state
        .gov
        .provision_deliver(
            &user.actor(),
            id,
            &DeliveryText {
                at: &b.at,
                recipient: &b.recipient,
                medium: &b.medium,
                note: &b.note,
            },
        )
        .await?;
    Ok(Json(json!({"id": id})))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct WithdrawBody {
    pub reason: String,
}

/// `POST /api/provisions/{id}/withdraw` `{reason}`
pub async fn withdraw_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    b: Option<Json<WithdrawBody>>,
) -> WebResult<Json<Value>> {
    let b = json_body(b, "{reason}")?;
    state
        .gov
        .provision_withdraw(&user.actor(), id, &b.reason)
        .await?;
    Ok(Json(json!({"id": id})))
}

// ---- pages ----------------------------------------------------------------------

pub(crate) fn status_badge(s: Status) -> Markup {
    html! { span class={ "status status-" (s.as_str()) } data-status=(s.as_str()) { (s.ja()) } }
}

fn date_ja(on: &str) -> String {
    chrono::NaiveDate::parse_from_str(on, "%Y-%m-%d")
        .map(|d| format!("{}（{on}）", japanese_date(d)))
        .unwrap_or_else(|_| on.to_string())
}

fn time_ja(t: Timestamp) -> String {
    format!("{} {}", japanese_date(t.jst_date()), t.jst_format("%H:%M"))
}

/// `GET /provisions`
pub async fn provisions_page(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
) -> WebResult<Response> {
    let s = lang.strings();
    let list = state.gov.provisions(&user.actor()).await?;
    let body = html! {
        h1 { (s.prov_title) }
        p.muted { (state.gov.policy().disclosure.basis) }
        p { a.button href="/provisions/new" { (s.prov_new) } " " a href="/provisions/register" { (s.prov_register) } " " a href="/media" { (s.prov_media) }
            @if state.gov.policy().disclosure.agreement.is_some() && user.0.person.has(mimamori_policy::Permission::ProvisionDecide) { " " a href="/agreements" { (s.agr_title) } } }
        @if list.is_empty() { p { (s.prov_none) } }
        table id="provisions" {
            thead { tr {
                th { (s.prov_no) } th { (s.prov_received_on) } th { (s.prov_requester) } th { (s.prov_ground) }
                th { (s.prov_period) } th { (s.prov_status) }
            } }
            tbody {
                @for (p, st) in &list {
                    tr data-request=(p.id) {
                        td { a href={ "/provisions/" (p.id) } { (p.id) } }
                        td { (date_ja(&p.fields.received_on)) }
                        td { (p.fields.requester_organisation) " " (p.fields.requester_representative) }
                        td { (state.gov.policy().disclosure.ground(&p.fields.ground).map(|g| g.label.as_str()).unwrap_or(&p.fields.ground)) }
                        td { (minute(p.fields.from)) " – " (minute(p.fields.to)) }
                        td { (status_badge(*st)) }
                    }
                }
            }
        }
    };
    Ok(page(lang, s.prov_title, Some(&user.0), body).into_response())
}

/// `GET /provisions/new`: the request form (Midori 様式第1号).
pub async fn provision_new_page(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
) -> WebResult<Response> {
    let s = lang.strings();
    let d = &state.gov.policy().disclosure;
    let cameras = state.gov.cameras(&user.actor()).await?;
    let today = state.gov.now().jst_date().format("%Y-%m-%d").to_string();
    let body = html! {
        h1 { (s.prov_new) }
        p.muted { (d.basis) }
        form.card method="post" action="/provisions" id="provision-form" {
            (csrf_field(&user.0))
            label { (s.prov_received_on) input type="date" name="received_on" value=(today) required; }
            fieldset {
                legend { (s.prov_requester) }
                label { (s.prov_address) input name="requester_address"; }
                label { (s.prov_organisation) input name="requester_organisation"; }
                label { (s.prov_representative) input name="requester_representative"; }
            }
            fieldset {
                legend { (s.prov_cameras) }
                @for c in &cameras {
                    label.check { input type="checkbox" name="camera" value=(c.id); " " (c.name) }
                }
            }
            label { (s.prov_period) " (from)" input type="datetime-local" step="1" name="from" required; }
            label { (s.prov_period) " (to)" input type="datetime-local" step="1" name="to" required; }
            label { (s.prov_reason) textarea name="reason" required {} }
            fieldset {
                legend { (s.prov_ground) }
                @for g in &d.grounds {
                    label.check { input type="radio" name="ground" value=(g.id) required; " " (g.label) " " span.muted { "（" (g.basis) "）" } }
                }
                label { (s.prov_ground_detail) input name="ground_detail"; }
            }
            fieldset {
                legend { (s.prov_method) }
                @for m in &d.methods {
                    label.check { input type="radio" name="method" value=(m.id) required; " " (m.label) }
                }
                label { (s.prov_method_detail) input name="method_detail"; }
            }
            fieldset {
                legend { (s.prov_contact) }
                label { (s.prov_department) input name="contact_department"; }
                label { (s.prov_person) input name="contact_person"; }
                label { (s.prov_phone) input name="contact_phone"; }
            }
            label { (s.prov_remarks) textarea name="remarks" {} }
            p.muted { (s.prov_held) }
            button { (s.form_save) }
        }
    };
    Ok(page(lang, s.prov_new, Some(&user.0), body).into_response())
}

/// `POST /provisions`
pub async fn provision_create_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    body: String,
) -> WebResult<Redirect> {
    let b = RequestBody::from_form(&FormFields::parse(&body));
    let p = state
        .gov
        .provision_register(&user.actor(), &b.text())
        .await?;
    Ok(Redirect::to(&format!("/provisions/{}", p.id)))
}

/// `GET /provisions/{id}`
pub async fn provision_page(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    let s = lang.strings();
    let d = &state.gov.policy().disclosure;
    let f = state.gov.provision_file(&user.actor(), id).await?;
    let p = &f.provision;
    let extractors = if f.may_decide && f.status.is_open() {
        state
            .gov
            .extractors(&user.actor())
            .await
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let building = f
        .extraction
        .as_ref()
        .filter(|e| e.failed.lock().ok().is_some_and(|x| x.is_none()));
    let failed = f
        .extraction
        .as_ref()
        .and_then(|e| e.failed.lock().ok().and_then(|x| x.clone()));
    let now = state.gov.now();
    let body = html! {
        h1 { (s.prov_title) " " (s.prov_no) (p.id) " " (status_badge(f.status)) }
        @if building.is_some() { div data-refresh-seconds="2" {} }
        table.fields {
            tr { th { (s.prov_received_on) } td { (date_ja(&p.fields.received_on)) } }
            tr { th { (s.prov_requester) } td {
                (p.fields.requester_organisation) " " (p.fields.requester_representative)
                br; span.muted { (p.fields.requester_address) }
            } }
            tr { th { (s.prov_contact) } td { (p.fields.contact_department) " " (p.fields.contact_person) " " (p.fields.contact_phone) } }
            tr { th { (s.prov_cameras) } td { (f.cameras.iter().map(|c| c.name.clone()).collect::<Vec<_>>().join("、")) } }
            tr { th { (s.prov_period) } td { (time_ja(p.fields.from)) " – " (time_ja(p.fields.to)) } }
            tr { th { (s.prov_reason) } td { (p.fields.reason) } }
            tr { th { (s.prov_ground) } td {
                (f.ground.as_ref().map(|g| g.label.clone()).unwrap_or_default())
                @if let Some(g) = &f.ground { " " span.muted { "（" (g.basis) "）" } }
                @if !p.fields.ground_detail.is_empty() { br; (p.fields.ground_detail) }
            } }
            tr { th { (s.prov_method) } td { (f.method.as_ref().map(|m| m.label.clone()).unwrap_or_default()) " " (p.fields.method_detail) } }
            tr { th { (s.prov_remarks) } td { (p.fields.remarks) } }
        }
        p { a href={ "/provisions/" (id) "/request.pdf" } id="request-pdf" { (s.prov_request_pdf) } }
        @if f.status.is_open() || f.status == Status::Approved { p.muted { (s.prov_held) } }

        section.card {
            h2 { (s.prov_documents) }
            ul id="documents" {
                @for doc in &f.documents {
                    li { a href={ "/provisions/" (id) "/documents/" (doc.id) } { (doc.original_name) } " (" (doc.content_type) ", " (doc.bytes) " B)" }
                }
            }
            @if !matches!(f.status, Status::Withdrawn | Status::Delivered) {
                form id="document-form" data-upload={ "/api/provisions/" (id) "/documents" } {
                    input type="file" id="document-file" accept="application/pdf,image/jpeg,image/png,image/tiff";
                    button type="submit" { (s.prov_attach) }
                    span id="document-status" {}
                }
            }
        }

        section.card {
            h2 { (s.prov_identity) }
            @if let Some(i) = &p.identity {
                p id="identity" { (i.method) " — " (i.detail) " " span.muted { (time_ja(i.step.at)) " " (who(&f.people, i.step.by)) } }
            } @else if f.status.is_open() {
                form method="post" action={ "/provisions/" (id) "/identity" } id="identity-form" {
                    (csrf_field(&user.0))
                    label { (s.prov_identity_method)
                        select name="method" { @for m in &d.identity_methods { option value=(m) { (m) } } }
                    }
                    label { (s.prov_identity_detail) input name="detail"; }
                    button { (s.form_save) }
                }
            }
        }

        section.card {
            h2 { (s.prov_decision) }
            p.muted { (d.decision_basis) }
            @if let Some(dec) = &p.decision {
                p id="decision" {
                    strong { (if dec.decision == mimamori_catalog::provisions::Decision::Approved { s.prov_approve } else { s.prov_refuse }) }
                    " " (dec.reason) " " span.muted { (time_ja(dec.step.at)) " " (who(&f.people, dec.step.by)) }
                    @if dec.extractor.is_some() { br; (s.prov_extractor) ": " (who(&f.people, dec.extractor)) }
                }
            } @else if f.may_decide && f.status.is_open() {
                form method="post" action={ "/provisions/" (id) "/decision" } id="decision-form" {
                    (csrf_field(&user.0))
                    label.check { input type="radio" name="decision" value="approve" required; " " (s.prov_approve) }
                    label.check { input type="radio" name="decision" value="refuse"; " " (s.prov_refuse) }
                    label { (s.prov_decision_reason) input name="reason"; }
                    label { (s.prov_extractor)
                        select name="extractor" {
                            option value="" { (s.prov_extractor_manager) }
                            @for u in &extractors { option value=(u.id) { (u.display_name) " (" (u.username) ")" } }
                        }
                    }
                    button { (s.form_save) }
                }
            }
        }

        @if f.may_view && (f.status == Status::Approved || f.status == Status::Delivered) && f.method.as_ref().is_some_and(|m| !m.kind.hands_over_data()) {
            section.card id="viewing" {
                h2 { (s.prov_viewing) }
                p.muted { (s.prov_viewing_help) }
                @for c in &f.cameras {
                    figure {
                        video controls preload="metadata" src={ "/provisions/" (id) "/view/" (c.id) } data-viewing=(c.id) {}
                        figcaption { (c.name) " " (minute(p.fields.from)) " – " (minute(p.fields.to)) }
                    }
                }
            }
        }
        @if f.status == Status::Approved || f.status == Status::Delivered {
            section.card {
                h2 { (s.prov_packages) }
                @if let Some(e) = building {
                    p id="extraction-progress" { (s.prov_building) " " progress max="100" value=(e.progress.percent()) {} " " (e.progress.percent()) "%" }
                }
                @if let Some(err) = &failed { p.error role="alert" { (s.prov_failed) ": " (err) } }
                ul id="packages" {
                    @for pkg in &f.packages {
                        li {
                            a href={ "/api/provisions/" (id) "/packages/" (pkg.id) } data-package=(pkg.id) { (s.prov_download) " #" (pkg.id) }
                            " " (pkg.bytes) " B, " (pkg.frames) " frames, SHA-256 " code { (hex::encode(&pkg.sha256)) }
                            @if pkg.passphrase_protected { " 🔒" }
                            @if let Some(o) = pkg.derived_from { " " span.masked data-derived-from=(o) { (s.mask_copy_of) (o) "）" } }
                            " " a href={ "/provisions/" (id) "/letter?package=" (pkg.id) } { (s.prov_letter) }
                        }
                    }
                }
                @if f.may_extract && building.is_none() {
                    @for pkg in f.packages.iter().filter(|p| p.derived_from.is_none() && !p.passphrase_protected) {
                        (crate::masking::mask_section(s, &user, id, pkg))
                    }
                }
                @if f.may_extract && f.status == Status::Approved && building.is_none() && f.method.as_ref().is_some_and(|m| m.kind.hands_over_data()) {
                    form method="post" action={ "/provisions/" (id) "/extract" } id="extract-form" {
                        (csrf_field(&user.0))
                        label { (s.prov_passphrase) input type="password" name="passphrase" autocomplete="new-password"; }
                        button { (s.prov_extract) }
                    }
                }
            }
        }

        @if f.status == Status::Approved || f.status == Status::Delivered {
            section.card {
                h2 { (s.prov_delivery) }
                @if let Some(dv) = &p.delivery {
                    p id="delivery" { (time_ja(dv.step.at)) " " (dv.recipient) " " (dv.medium) " " (dv.note) " " span.muted { (who(&f.people, dv.step.by)) } }
                } @else {
                    form method="post" action={ "/provisions/" (id) "/delivery" } id="delivery-form" {
                        (csrf_field(&user.0))
                        label { (s.prov_delivered_at) input type="datetime-local" name="at" value=(now.jst_format("%Y-%m-%dT%H:%M")) required; }
                        label { (s.prov_recipient) input name="recipient" required; }
                        label { (s.prov_medium) input name="medium"; }
                        label { (s.prov_note) input name="note"; }
                        button { (s.form_save) }
                    }
                }
            }
        }

        @if !matches!(f.status, Status::Withdrawn | Status::Delivered) {
            form.inline method="post" action={ "/provisions/" (id) "/withdraw" } id="withdraw-form" {
                (csrf_field(&user.0))
                input name="reason" placeholder=(s.prov_reason);
                button { (s.prov_withdraw) }
            }
        }
    };
    Ok(page(lang, s.prov_title, Some(&user.0), body).into_response())
}

/// `POST /provisions/{id}/identity`
pub async fn identity_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    body: String,
) -> WebResult<Redirect> {
    let f = FormFields::parse(&body);
    state
        .gov
        .provision_identity(
            &user.actor(),
            id,
            &IdentityText {
                method: f.get("method"),
                detail: f.get("detail"),
            },
        )
        .await?;
    Ok(Redirect::to(&format!("/provisions/{id}")))
}

/// `POST /provisions/{id}/decision`
pub async fn decision_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    body: String,
) -> WebResult<Redirect> {
    let f = FormFields::parse(&body);
    let decision = f.get("decision");
    if decision != "approve" && decision != "refuse" {
        return Err(WebError::bad_input(
            "decision: approve or refuse (提供可・提供不可を選んでください)",
        ));
    }
    state
        .gov
        .provision_decide(
            &user.actor(),
            id,
            &DecisionText {
                approve: decision == "approve",
                reason: f.get("reason"),
                extractor: f.get("extractor").trim().parse().ok(),
            },
        )
        .await?;
    Ok(Redirect::to(&format!("/provisions/{id}")))
}

/// `POST /provisions/{id}/extract`: starts the build; the page shows its progress.
pub async fn extract_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    body: String,
) -> WebResult<Redirect> {
    let f = FormFields::parse(&body);
    let pass = f.get("passphrase");
    state
        .gov
        .provision_extract(
            &user.actor(),
            id,
            &ExtractText {
                cameras: Vec::new(),
                from: None,
                to: None,
                passphrase: Some(pass).filter(|p| !p.is_empty()),
            },
        )
        .await?;
    Ok(Redirect::to(&format!("/provisions/{id}")))
}

/// `POST /provisions/{id}/delivery`
pub async fn delivery_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    body: String,
) -> WebResult<Redirect> {
    let f = FormFields::parse(&body);
    state
        .gov
        .provision_deliver(
            &user.actor(),
            id,
            &DeliveryText {
                at: f.get("at"),
                recipient: f.get("recipient"),
                medium: f.get("medium"),
                note: f.get("note"),
            },
        )
        .await?;
    Ok(Redirect::to(&format!("/provisions/{id}")))
}

/// `POST /provisions/{id}/withdraw`
pub async fn withdraw_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    body: String,
) -> WebResult<Redirect> {
    let f = FormFields::parse(&body);
    state
        .gov
        .provision_withdraw(&user.actor(), id, f.get("reason"))
        .await?;
    Ok(Redirect::to(&format!("/provisions/{id}")))
}

#[derive(Debug, Deserialize)]
pub struct LetterQuery {
    pub package: Option<i64>,
}

/// `GET /provisions/{id}/letter?package=`: the covering letter (送付書) to print,
/// What the covering letter says: its lines and its table.
struct Letter {
    date: String,
    addressee: String,
    installer: String,
    lead: String,
    rows: Vec<(&'static str, String)>,
    fingerprint: String,
    notice: String,
}

const LETTER_TITLE: &str = "画像の提供について（送付）";
const LETTER_VERIFY: &str = "同封の verify.html をブラウザで開くか、mimamori verify-export で、画像が録画されたままであること及び設置者の署名を確認できます。署名鍵の指紋が上記と一致することを確認してください。";

async fn letter(
    state: &AppState,
    s: &Strings,
    user: &CurrentUser,
    id: i64,
    package: Option<i64>,
) -> WebResult<Letter> {
    let policy = state.gov.policy();
    let f = state.gov.provision_file(&user.actor(), id).await?;
    let p = &f.provision;
    let pkg = f
        .packages
        .iter()
        .find(|x| Some(x.id) == package)
        .or(f.packages.last());
    let mut rows = vec![
        (
            s.prov_cameras,
            f.cameras
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
                .join("、"),
        ),
        (
            s.prov_period,
            format!("{} – {}", time_ja(p.fields.from), time_ja(p.fields.to)),
        ),
        (
            s.prov_ground,
            f.ground
                .as_ref()
                .map(|g| g.label.clone())
                .unwrap_or_default(),
        ),
    ];
    if let Some(pkg) = pkg {
        rows.push((
            "ファイル",
            format!(
                "mimamori-request{id}-package{}.zip（{} バイト）{}",
                pkg.id,
                pkg.bytes,
                if pkg.derived_from.is_some() {
                    "・マスク処理した複製"
                } else {
                    ""
                }
            ),
        ));
        rows.push(("SHA-256", hex::encode(&pkg.sha256)));
    }
    let fingerprint = state.gov.key_fingerprint();
    rows.push((s.prov_fingerprint, fingerprint.clone()));
    Ok(Letter {
        date: japanese_date(state.gov.now().jst_date()),
        addressee: format!(
            "{} {} 様",
            p.fields.requester_organisation, p.fields.requester_representative
        ),
        installer: policy.installer.clone(),
        lead: format!(
            "{}付けで申請のあった画像（提供申請 No.{}）を、次のとおり提供します。",
            date_ja(&p.fields.received_on),
            p.id
        ),
        rows,
        fingerprint,
        notice: policy.disclosure.notice.clone(),
    })
}

/// `GET /provisions/{id}/letter?package=`: the covering letter (送付書), with
/// the package's hash and the key fingerprint to compare out of band.
pub async fn letter_page(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<LetterQuery>,
) -> WebResult<Response> {
    let s = lang.strings();
    let l = letter(&state, s, &user, id, q.package).await?;
    let pdf_link = match q.package {
        Some(p) => format!("/provisions/{id}/letter.pdf?package={p}"),
        None => format!("/provisions/{id}/letter.pdf"),
    };
    let body = html! {
        p.noprint { a.button href=(pdf_link) { (s.prov_letter_pdf) } }
        article.letter {
            p.right { (l.date) }
            p { (l.addressee) }
            p.right { (l.installer) }
            h1 { (LETTER_TITLE) }
            p { (l.lead) }
            table.fields {
                @for (label, value) in &l.rows {
                    tr { th { (label) } td {
                        @if *label == s.prov_fingerprint { code id="fingerprint" { (value) } }
                        @else if *label == "SHA-256" { code { (value) } }
                        @else { (value) }
                    } }
                }
            }
            p { (LETTER_VERIFY) }
            h2 { (s.prov_notice) }
            p id="notice" { (l.notice) }
        }
    };
    Ok(page(lang, s.prov_letter, Some(&user.0), body).into_response())
}

/// `GET /provisions/{id}/letter.pdf?package=`: the covering letter as PDF (A4).
pub async fn letter_pdf(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<LetterQuery>,
) -> WebResult<Response> {
    let s = Lang::Ja.strings();
    let l = letter(&state, s, &user, id, q.package).await?;
    let policy = state.gov.policy();
    let data = json!({
        "date": l.date,
        "addressee": l.addressee,
        "installer": l.installer,
        "title": LETTER_TITLE,
        "lead": l.lead,
        "rows": l.rows.iter().map(|(label, value)| json!({"label": label, "value": value})).collect::<Vec<_>>(),
        "verify": LETTER_VERIFY,
        "notice_title": s.prov_notice,
        "notice": l.notice,
        "fingerprint": l.fingerprint,
        "footer": format!("{} — {}", policy.regulation, policy.disclosure.basis),
    });
    let pdf = render(mimamori_forms::Form::Letter, data).await?;
    Ok(pdf_response(pdf, &format!("letter-{id}.pdf")))
}

/// The register's columns for a layout, and each row's cells.
fn register_columns(layout: RegisterLayout) -> &'static [&'static str] {
    match layout {
        RegisterLayout::Tottori => &[
            "閲覧等日時",
            "相手方（所属）",
            "職・氏名",
            "連絡先",
            "閲覧等理由",
            "画像内容",
            "撮影範囲",
            "録画期間",
            "閲覧等方法",
            "閲覧等取扱者氏名",
        ],
        RegisterLayout::Kitakyushu => &[
            "提供日時",
            "提供先",
            "提供理由",
            "提供したデータ内容",
            "取扱者",
            "管理責任者",
        ],
        RegisterLayout::Chiba => &[
            "身分確認",
            "提供日時",
            "提供先",
            "提供理由",
            "提供した画像の内容",
            "取扱者",
            "管理責任者",
        ],
        RegisterLayout::Midori => &[
            "No.",
            "申請受付日",
            "提供日時",
            "利用目的",
            "提供先",
            "画像の範囲",
            "提供方法",
            "提供の可否",
            "取扱者",
            "運用責任者",
        ],
        RegisterLayout::Osaka => &[
            "利用目的",
            "根拠法令等",
            "対象カメラの設置場所",
            "画像の日時",
            "提供先",
            "提供方法",
            "取扱者",
            "承認",
        ],
    }
}

/// One request as a row of the register, in the layout's columns.
pub fn register_row(state: &AppState, f: &ProvisionFile, layout: RegisterLayout) -> Vec<String> {
    let p = &f.provision;
    let d = &state.gov.policy().disclosure;
    let ground = d
        .ground(&p.fields.ground)
        .map(|g| g.label.clone())
        .unwrap_or_default();
    let method = d
        .method(&p.fields.method)
        .map(|m| m.label.clone())
        .unwrap_or_default();
    let cams = f
        .cameras
        .iter()
        .map(|c| c.name.clone())
        .collect::<Vec<_>>()
        .join("、");
    // Where the cameras are and what they shoot, as their descriptions say
    // (Osaka 第1号様式 対象カメラの設置場所, Tottori 別紙様式 撮影範囲).
    let described = |part: fn(&mimamori_catalog::CameraDescription) -> &str| {
        f.cameras
            .iter()
            .map(|c| match part(&c.description) {
                "" => c.name.clone(),
                d => format!("{}（{d}）", c.name),
            })
            .collect::<Vec<_>>()
            .join("、")
    };
    let period = format!("{} – {}", time_ja(p.fields.from), time_ja(p.fields.to));
    let delivered = p
        .delivery
        .as_ref()
        .map(|d| time_ja(d.step.at))
        .unwrap_or_default();
    let recipient = [
        p.fields.requester_organisation.as_str(),
        p.fields.requester_representative.as_str(),
    ]
    .iter()
    .filter(|s| !s.is_empty())
    .copied()
    .collect::<Vec<_>>()
    .join(" ");
    let handler = who(
        &f.people,
        p.delivery
            .as_ref()
            .and_then(|d| d.step.by)
            .or(p.registered.by),
    );
    let approver = p
        .decision
        .as_ref()
        .map(|d| format!("{}（{}）", who(&f.people, d.step.by), time_ja(d.step.at)))
        .unwrap_or_default();
    let decision = match f.status {
        Status::Refused => "不可".to_string(),
        Status::Approved | Status::Delivered => "可".to_string(),
        other => other.ja().to_string(),
    };
    let content = format!(
        "{cams}の録画画像（{}）",
        f.packages
            .iter()
            .map(|x| format!(
                "{} frames, SHA-256 {}…",
                x.frames,
                &hex::encode(&x.sha256)[..16]
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let identity = p
        .identity
        .as_ref()
        .map(|i| format!("{} {}", i.method, i.detail))
        .unwrap_or_default();
    let reason = format!("{}（{}）", p.fields.reason, ground);
    match layout {
        RegisterLayout::Tottori => vec![
            delivered,
            p.fields.requester_organisation.clone(),
            p.fields.requester_representative.clone(),
            format!(
                "{} {} {}",
                p.fields.contact_department, p.fields.contact_person, p.fields.contact_phone
            ),
            reason,
            content,
            described(|d| d.coverage.as_str()),
            period,
            method,
            handler,
        ],
        RegisterLayout::Kitakyushu => {
            vec![delivered, recipient, reason, content, handler, approver]
        }
        RegisterLayout::Chiba => vec![
            identity, delivered, recipient, reason, content, handler, approver,
        ],
        RegisterLayout::Midori => vec![
            p.id.to_string(),
            date_ja(&p.fields.received_on),
            delivered,
            p.fields.reason.clone(),
            recipient,
            period,
            method,
            decision,
            handler,
            approver,
        ],
        RegisterLayout::Osaka => vec![
            p.fields.reason.clone(),
            format!("{ground} {}", p.fields.ground_detail),
            described(|d| d.location.as_str()),
            period,
            recipient,
            method,
            handler,
            approver,
        ],
    }
}

/// The register's filters as the page's form sends them (each may be empty).
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct RegisterQuery {
    /// 年度 (the Western year it starts in).
    pub year: String,
    pub status: String,
    pub ground: String,
}

impl RegisterQuery {
    fn filter(&self) -> WebResult<RegisterFilter> {
        let bad = |m: &str| WebError(mimamori_governance::Error::BadInput(m.to_string()));
        let year = self.year.trim();
        let status = self.status.trim();
        let ground = self.ground.trim();
        Ok(RegisterFilter {
            fiscal_year: match year {
                "" => None,
                y => Some(
                    y.parse::<i32>()
                        .ok()
                        .filter(|y| (1970..=9998).contains(y))
                        .ok_or_else(|| bad("year: a fiscal year (2026 for 令和8年度)"))?,
                ),
            },
            status: match status {
                "" => None,
                s => Some(Status::parse(s).ok_or_else(|| {
                    bad("status: received, reviewing, approved, refused, delivered or withdrawn")
                })?),
            },
            ground: (!ground.is_empty()).then(|| ground.to_string()),
        })
    }

    /// The same filters for the PDF and CSV links.
    fn as_query(&self) -> String {
        let mut q = url_pairs();
        for (k, v) in [
            ("year", &self.year),
            ("status", &self.status),
            ("ground", &self.ground),
        ] {
            if !v.trim().is_empty() {
                q.append_pair(k, v.trim());
            }
        }
        let q = q.finish();
        if q.is_empty() { q } else { format!("?{q}") }
    }
}

fn url_pairs() -> url::form_urlencoded::Serializer<'static, String> {
    url::form_urlencoded::Serializer::new(String::new())
}

async fn register_rows(
    state: &AppState,
    user: &CurrentUser,
    q: &RegisterQuery,
) -> WebResult<Vec<Vec<String>>> {
    let layout = state.gov.policy().disclosure.register;
    Ok(state
        .gov
        .register(&user.actor(), &q.filter()?)
        .await?
        .iter()
        .map(|f| register_row(state, f, layout))
        .collect())
}

/// `GET /provisions/register`: the register in the policy's layout.
pub async fn register_page(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
    Query(q): Query<RegisterQuery>,
) -> WebResult<Response> {
    let s = lang.strings();
    let d = &state.gov.policy().disclosure;
    let rows = register_rows(&state, &user, &q).await?;
    let links = q.as_query();
    let body = html! {
        h1 { (s.prov_register) }
        p.muted { (d.register_basis) }
        form.inline-form method="get" action="/provisions/register" id="register-filter" {
            label { (s.reg_year) input type="number" name="year" min="1970" max="9998" value=(q.year) placeholder="2026"; }
            label { (s.prov_status) select name="status" {
                option value="" { "—" }
                @for st in Status::ALL { option value=(st.as_str()) selected[q.status == st.as_str()] { (st.ja()) } }
            } }
            label { (s.prov_ground) select name="ground" {
                option value="" { "—" }
                @for g in &d.grounds { option value=(g.id) selected[q.ground == g.id] { (g.label) } }
            } }
            button { (s.reg_filter) }
        }
        p { a href={ "/provisions/register.pdf" (links) } id="register-pdf" { "PDF" } " " a href={ "/provisions/register.csv" (links) } { "CSV" } }
        table id="register" {
            thead { tr { @for c in register_columns(d.register) { th { (c) } } } }
            tbody { @for r in &rows { tr { @for c in r { td { (c) } } } } }
        }
    };
    Ok(page(lang, s.prov_register, Some(&user.0), body).into_response())
}

/// `GET /provisions/register.csv`: the register for Excel (UTF-8 with BOM).
pub async fn register_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<RegisterQuery>,
) -> WebResult<Response> {
    let d = &state.gov.policy().disclosure;
    let rows = register_rows(&state, &user, &q).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| WebError(mimamori_governance::Error::Inconsistent(e.to_string()));
    w.write_record(register_columns(d.register)).map_err(io)?;
    for r in &rows {
        w.write_record(r).map_err(io)?;
    }
    let mut out = b"\xEF\xBB\xBF".to_vec();
    out.extend(w.into_inner().map_err(|e| io(e.into_error().into()))?);
    let mut r = out.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"register.csv\""),
    );
    Ok(r)
}

// ---- printed forms ----------------------------------------------------------------

pub(crate) fn pdf_response(pdf: Vec<u8>, name: &str) -> Response {
    let mut r = pdf.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{name}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

pub(crate) async fn render(form: mimamori_forms::Form, data: Value) -> WebResult<Vec<u8>> {
    lay_out(move || mimamori_forms::render(form, &data)).await
}

/// Lays out a PDF on a blocking thread (typst takes a while for a long document).
pub(crate) async fn lay_out<F>(f: F) -> WebResult<Vec<u8>>
where
    F: FnOnce() -> Result<Vec<u8>, mimamori_forms::FormError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| WebError(mimamori_governance::Error::Inconsistent(e.to_string())))?
        .map_err(|e| WebError(mimamori_governance::Error::Inconsistent(e.to_string())))
}

/// 令和8年12月1日 午後3時05分, as the forms print a time.
fn time_on_form(t: Timestamp) -> String {
    let h: u32 = t.jst_format("%H").parse().unwrap_or(0);
    let (half, h12) = if h < 12 {
        ("午前", h)
    } else {
        ("午後", h - 12)
    };
    format!(
        "{} {half}{h12}時{}分",
        japanese_date(t.jst_date()),
        t.jst_format("%M")
    )
}

/// `GET /provisions/{id}/request.pdf`: the request as the request form (様式第1号).
pub async fn request_pdf(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    let policy = state.gov.policy();
    let d = &policy.disclosure;
    let f = state.gov.provision_file(&user.actor(), id).await?;
    let p = &f.provision;
    let midori = d.register == RegisterLayout::Midori;
    let title = if midori {
        "みどり市内主要駅設置防犯カメラ画像提供申請書".to_string()
    } else {
        "防犯カメラ画像提供申請書".to_string()
    };
    let decision = p.decision.as_ref().map(|x| x.decision);
    let data = json!({
        "form_label": if midori { "様式第1号（規格A4）（第10条関係）".to_string() } else { format!("提供申請書（{}）", d.basis) },
        "date": chrono::NaiveDate::parse_from_str(&p.fields.received_on, "%Y-%m-%d").map(japanese_date).unwrap_or_default(),
        "addressee": format!("{}長 様", policy.installer),
        "requester": {
            "address": p.fields.requester_address,
            "organisation": p.fields.requester_organisation,
            "representative": p.fields.requester_representative,
        },
        "title": title,
        "lead": if midori {
            "みどり市内主要駅設置防犯カメラで撮影した画像の提供を受けたいので、次のとおり申請します。"
        } else {
            "防犯カメラで撮影した画像の提供を受けたいので、次のとおり申請します。"
        },
        "from": time_on_form(p.fields.from),
        "to": time_on_form(p.fields.to),
        "cameras": f.cameras.iter().map(|c| c.name.clone()).collect::<Vec<_>>().join("、"),
        "reason": p.fields.reason,
        "grounds": d.grounds.iter().map(|g| json!({"label": format!("{}（{}）", g.label, g.basis), "checked": g.id == p.fields.ground})).collect::<Vec<_>>(),
        "ground_detail": p.fields.ground_detail,
        "methods": d.methods.iter().map(|m| json!({"label": m.label, "checked": m.id == p.fields.method})).collect::<Vec<_>>(),
        "method_detail": p.fields.method_detail,
        "contact": {
            "department": p.fields.contact_department,
            "person": p.fields.contact_person,
            "phone": p.fields.contact_phone,
        },
        "remarks": p.fields.remarks,
        "received": date_ja(&p.fields.received_on),
        "number": p.id,
        "approved": decision == Some(mimamori_catalog::provisions::Decision::Approved),
        "refused": decision == Some(mimamori_catalog::provisions::Decision::Refused),
        "decision_reason": p.decision.as_ref().map(|x| x.reason.clone()).unwrap_or_default(),
        "footer": format!("{} — {}", policy.regulation, d.decision_basis),
    });
    let pdf = render(mimamori_forms::Form::Request, data).await?;
    Ok(pdf_response(pdf, &format!("request-{id}.pdf")))
}

/// `GET /provisions/register.pdf`: the register in the seed's layout, landscape A4.
pub async fn register_pdf(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<RegisterQuery>,
) -> WebResult<Response> {
    let policy = state.gov.policy();
    let d = &policy.disclosure;
    let rows = register_rows(&state, &user, &q).await?;
    let (label, title) = match d.register {
        RegisterLayout::Tottori => ("別紙様式（6(4)）", "画像閲覧等記録書"),
        RegisterLayout::Kitakyushu => ("第6条3", "画像提供記録"),
        RegisterLayout::Chiba => ("第2-7(2)", "画像提供記録"),
        RegisterLayout::Midori => (
            "様式第2号（規格A4横）（第10条関係）",
            "みどり市内主要駅設置防犯カメラ画像提供申請記録簿",
        ),
        RegisterLayout::Osaka => ("第1号様式（第7条関係）", "画像管理台帳"),
    };
    let data = json!({
        "form_label": label,
        "title": title,
        "installer": policy.installer,
        "printed": format!("{}印刷", japanese_date(state.gov.now().jst_date())),
        "basis": format!("{} — {}", policy.regulation, d.register_basis),
        "columns": register_columns(d.register),
        "rows": rows,
    });
    let pdf = render(mimamori_forms::Form::Register, data).await?;
    Ok(pdf_response(pdf, "register.pdf"))
}
