//! People, as the manager sees them: accounts with their designations (role,
//! validity period, history), confidentiality pledges and training records, and
//! instructions (指示) to operators. Pages and the JSON API share one function per
//! operation; each operation is checked by the governance rules and audited.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use mimamori_base::time::jst;
use mimamori_base::{CameraId, ErrorCode, Timestamp, UserId};
use mimamori_catalog::people::{Instruction, NewPerson};
use mimamori_governance::access::{self as rules, DesignationRequest};
use mimamori_policy::RoleKind;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::api::simple;
use crate::audit::{ClientAddr, record};
use crate::auth::{CurrentUser, hash_password};
use crate::error::{AppError, AppResult};
use crate::html::{esc, jst_minute, page};
use crate::i18n::{Lang, t};
use crate::pages::{error_page, lang_of};

/// A date (`YYYY-MM-DD`, Japan time) or a time. A date as an end means "through that day".
pub fn parse_day_or_time(name: &str, v: &str, end: bool) -> AppResult<Timestamp> {
    if let Ok(day) = chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d") {
        let start = crate::playback::parse_time(name, &format!("{day}T00:00:00+09:00"))?;
        return Ok(if end {
            start.add_micros(86_400_000_000)
        } else {
            start
        });
    }
    crate::playback::parse_time(name, v.trim())
}

fn optional(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn role_of(v: &str) -> AppResult<RoleKind> {
    RoleKind::parse(v.trim()).ok_or_else(|| {
        AppError::bad_input(format!(
            "role: one of {}",
            RoleKind::ALL.map(|r| r.as_str()).join(", ")
        ))
    })
}

fn refused(r: rules::Refusal) -> AppError {
    AppError::new(ErrorCode::Policy, r.to_string())
}

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

#[derive(Debug, Deserialize, Default)]
pub struct DesignationBody {
    pub role: String,
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
    #[serde(default)]
    pub basis: String,
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

#[derive(Debug, Deserialize, Default)]
pub struct InstructionBody {
    pub person: i64,
    pub cameras: Vec<i64>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub until: String,
    pub content: String,
}

fn designation_request(
    state: &AppState,
    role: &str,
    from: &Option<String>,
    until: &Option<String>,
    basis: &str,
) -> AppResult<DesignationRequest> {
    let role = role_of(role)?;
    let valid_from = match optional(from) {
        Some(v) => parse_day_or_time("valid_from", v, false)?,
        None => state.clock.now(),
    };
    let valid_until = optional(until)
        .map(|v| parse_day_or_time("valid_until", v, true))
        .transpose()?;
    let basis = if basis.trim().is_empty() {
        state
            .policy
            .role(role)
            .map(|r| r.basis.clone())
            .unwrap_or_default()
    } else {
        basis.trim().to_string()
    };
    Ok(DesignationRequest {
        role,
        valid_from,
        valid_until,
        basis,
    })
}

fn describe(state: &AppState, req: &DesignationRequest) -> String {
    format!(
        "{} from {}{}; basis: {}",
        state.policy.role_title(req.role),
        jst_minute(req.valid_from),
        req.valid_until
            .map(|u| format!(" until {}", jst_minute(u)))
            .unwrap_or_default(),
        req.basis
    )
}

/// Creates a person with their first designation.
pub async fn create_person(
    state: &AppState,
    by: &CurrentUser,
    client: &str,
    b: &PersonBody,
) -> AppResult<UserId> {
    let username = b.username.trim();
    if username.is_empty()
        || username.len() > 64
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(AppError::bad_input(
            "username: 1–64 letters, digits, '.', '_' or '-'",
        ));
    }
    if b.password.chars().count() < 8 {
        return Err(AppError::bad_input(
            "password: at least 8 characters (the person changes it on /account)",
        ));
    }
    let req = designation_request(state, &b.role, &b.valid_from, &b.valid_until, &b.basis)?;
    let display = if b.display_name.trim().is_empty() {
        username
    } else {
        b.display_name.trim()
    };
    let organization = b.organization.trim();
    let pw = b.password.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&pw))
        .await
        .map_err(|e| AppError::new(ErrorCode::CatalogIo, e.to_string()))?
        .map_err(|e| AppError::new(ErrorCode::CatalogIo, e))?;
    let person = NewPerson {
        username,
        display_name: display,
        password_hash: &hash,
        organization,
    };
    let id = rules::create_person(
        &state.catalog,
        &state.policy,
        &person,
        &req,
        Some(by.user.id),
        state.clock.now(),
    )
    .await?
    .map_err(refused)?;
    record(
        state,
        Some(by),
        "",
        client,
        simple(
            "designated",
            None,
            format!(
                "{username} ({display}{}) created: {}",
                if organization.is_empty() {
                    String::new()
                } else {
                    format!(", {organization}")
                },
                describe(state, &req)
            ),
        ),
    )
    .await?;
    Ok(id)
}

/// Gives a person a new designation (their open one ends where it starts).
pub async fn designate(
    state: &AppState,
    by: &CurrentUser,
    client: &str,
    person: UserId,
    b: &DesignationBody,
) -> AppResult<i64> {
    let person = state.catalog.user(person).await?;
    let req = designation_request(state, &b.role, &b.valid_from, &b.valid_until, &b.basis)?;
    let id = rules::designate(
        &state.catalog,
        &state.policy,
        Some(by.user.id),
        &person,
        &req,
        state.clock.now(),
    )
    .await?
    .map_err(refused)?;
    record(
        state,
        Some(by),
        "",
        client,
        simple(
            "designated",
            None,
            format!(
                "{}: designation #{id}: {}",
                person.username,
                describe(state, &req)
            ),
        ),
    )
    .await?;
    Ok(id)
}

/// Ends a designation now (kept in the history).
pub async fn end_designation(
    state: &AppState,
    by: &CurrentUser,
    client: &str,
    designation: i64,
    reason: &str,
) -> AppResult<()> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::bad_input("reason: say why the designation ends"));
    }
    let d = rules::end_designation(
        &state.catalog,
        &state.policy,
        Some(by.user.id),
        designation,
        reason,
        state.clock.now(),
    )
    .await?
    .map_err(refused)?;
    let person = state.catalog.user(d.user_id).await?;
    record(
        state,
        Some(by),
        "",
        client,
        simple(
            "designation_ended",
            None,
            format!("{}: designation #{} ended: {reason}", person.username, d.id),
        ),
    )
    .await?;
    Ok(())
}

/// Records a pledge or a training of a person (REQ-ROL-6).
pub async fn add_record(
    state: &AppState,
    by: &CurrentUser,
    client: &str,
    person: UserId,
    b: &RecordBody,
) -> AppResult<i64> {
    let person = state.catalog.user(person).await?;
    if !matches!(b.kind.as_str(), "pledge" | "training") {
        return Err(AppError::bad_input("kind: pledge or training"));
    }
    let date = chrono::NaiveDate::parse_from_str(b.date.trim(), "%Y-%m-%d")
        .map_err(|_| AppError::bad_input("date: YYYY-MM-DD"))?;
    if b.content.trim().is_empty() {
        return Err(AppError::bad_input("content: what was pledged or taught"));
    }
    let id = state
        .catalog
        .pledge_insert(
            person.id,
            &b.kind,
            &date.to_string(),
            b.content.trim(),
            Some(by.user.id),
            state.clock.now(),
        )
        .await?;
    record(
        state,
        Some(by),
        "",
        client,
        simple(
            if b.kind == "pledge" {
                "pledge_recorded"
            } else {
                "training_recorded"
            },
            None,
            format!("{}: {date}: {}", person.username, b.content.trim()),
        ),
    )
    .await?;
    Ok(id)
}

/// Issues an instruction to a person whose role acts under instructions.
pub async fn issue_instruction(
    state: &AppState,
    by: &CurrentUser,
    client: &str,
    b: &InstructionBody,
) -> AppResult<i64> {
    let person = state.catalog.user(UserId(b.person)).await?;
    let now = state.clock.now();
    let Ok((role, _)) =
        rules::designation_at(&state.catalog, &state.policy, person.id, now).await?
    else {
        return Err(AppError::new(
            ErrorCode::Policy,
            format!("{} holds no designation now", person.username),
        ));
    };
    if !state
        .policy
        .role(role)
        .is_some_and(|r| r.requires_instruction)
    {
        return Err(AppError::new(
            ErrorCode::Policy,
            format!(
                "{} ({}) does not act under instructions in this policy",
                person.username,
                state.policy.role_title(role)
            ),
        ));
    }
    if b.cameras.is_empty() {
        return Err(AppError::bad_input("cameras: at least one camera"));
    }
    let mut cameras = Vec::new();
    for c in &b.cameras {
        cameras.push(state.catalog.camera(CameraId(*c)).await?.id);
    }
    let range = match (optional(&b.from), optional(&b.to)) {
        (Some(f), Some(t)) => {
            let (f, t) = (
                crate::playback::parse_time("from", f)?,
                crate::playback::parse_time("to", t)?,
            );
            if t <= f {
                return Err(AppError::bad_input("to must be after from"));
            }
            Some((f, t))
        }
        (None, None) => None,
        _ => return Err(AppError::bad_input("from and to: both or neither")),
    };
    let until = parse_day_or_time("until", &b.until, false)?;
    if until <= now {
        return Err(AppError::bad_input("until: a time in the future"));
    }
    if b.content.trim().is_empty() {
        return Err(AppError::bad_input("content: what the operator is to do"));
    }
    let id = state
        .catalog
        .instruction_insert(&Instruction {
            id: 0,
            user_id: person.id,
            cameras: cameras.clone(),
            range,
            valid_until: until,
            content: b.content.trim().to_string(),
            issued_by: by.user.id,
            issued_at: now,
            revoked_at: None,
        })
        .await?;
    record(
        state,
        Some(by),
        "",
        client,
        simple(
            "instruction_issued",
            cameras.first().copied(),
            format!(
                "#{id} to {}: cameras {:?}{} until {}: {}",
                person.username,
                cameras.iter().map(|c| c.0).collect::<Vec<_>>(),
                range
                    .map(|(a, b)| format!(", footage {} – {}", jst_minute(a), jst_minute(b)))
                    .unwrap_or_default(),
                jst_minute(until),
                b.content.trim()
            ),
        ),
    )
    .await?;
    Ok(id)
}

pub async fn revoke_instruction(
    state: &AppState,
    by: &CurrentUser,
    client: &str,
    id: i64,
) -> AppResult<()> {
    state
        .catalog
        .instruction_revoke(id, state.clock.now())
        .await?;
    record(
        state,
        Some(by),
        "",
        client,
        simple("instruction_revoked", None, format!("#{id}")),
    )
    .await
}

// ---- JSON API ---------------------------------------------------------------

fn body<T>(b: Option<Json<T>>, shape: &str) -> AppResult<T> {
    b.map(|Json(v)| v)
        .ok_or_else(|| AppError::bad_input(format!("expected JSON {shape}")))
}

async fn people_json(state: &AppState) -> AppResult<Value> {
    let now = state.clock.now();
    let mut out = Vec::new();
    for u in state.catalog.users().await? {
        let history = state.catalog.designations_of(u.id).await?;
        let current = history.iter().rev().find(|d| d.valid_at(now));
        out.push(json!({
            "id": u.id.0,
            "username": u.username,
            "display_name": u.display_name,
            "organization": u.organization,
            "totp": u.totp_secret.is_some(),
            "role": current.map(|d| d.role.clone()),
            "designations": history.iter().map(|d| json!({
                "id": d.id,
                "role": d.role,
                "valid_from": d.valid_from.to_rfc3339(jst()),
                "valid_until": d.valid_until.map(|t| t.to_rfc3339(jst())),
                "ended_at": d.ended_at.map(|t| t.to_rfc3339(jst())),
                "end_reason": d.end_reason,
                "basis": d.basis,
            })).collect::<Vec<_>>(),
            "records": state.catalog.pledges_of(u.id).await?.iter().map(|r| json!({
                "kind": r.kind, "date": r.on_date, "content": r.content,
            })).collect::<Vec<_>>(),
        }));
    }
    Ok(json!({ "people": out }))
}

/// `GET /api/people`
pub async fn people_api(State(state): State<AppState>) -> AppResult<Json<Value>> {
    Ok(Json(people_json(&state).await?))
}

/// `POST /api/people` `{username, display_name, password, organization?, role, valid_from?, valid_until?, basis?}`
pub async fn person_create_api(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
    b: Option<Json<PersonBody>>,
) -> AppResult<Response> {
    let b = body(b, "{username, display_name, password, role, …}")?;
    let id = create_person(&state, &user, &client.0, &b).await?;
    Ok((axum::http::StatusCode::CREATED, Json(json!({ "id": id.0 }))).into_response())
}

/// `POST /api/people/{id}/designations` `{role, valid_from?, valid_until?, basis?}`
pub async fn designate_api(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
    Path(id): Path<i64>,
    b: Option<Json<DesignationBody>>,
) -> AppResult<Json<Value>> {
    let b = body(b, "{role, valid_from?, valid_until?, basis?}")?;
    let d = designate(&state, &user, &client.0, UserId(id), &b).await?;
    Ok(Json(json!({ "designation": d })))
}

/// `POST /api/designations/{id}/end` `{reason}`
pub async fn designation_end_api(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
    Path(id): Path<i64>,
    b: Option<Json<EndBody>>,
) -> AppResult<Json<Value>> {
    let b = body(b, "{reason}")?;
    end_designation(&state, &user, &client.0, id, &b.reason).await?;
    Ok(Json(json!({ "ended": id })))
}

/// `POST /api/people/{id}/records` `{kind: pledge|training, date, content}`
pub async fn record_api(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
    Path(id): Path<i64>,
    b: Option<Json<RecordBody>>,
) -> AppResult<Json<Value>> {
    let b = body(b, "{kind, date, content}")?;
    let r = add_record(&state, &user, &client.0, UserId(id), &b).await?;
    Ok(Json(json!({ "record": r })))
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
pub async fn instructions_api(State(state): State<AppState>) -> AppResult<Json<Value>> {
    let now = state.clock.now();
    let list = state.catalog.instructions(None).await?;
    Ok(Json(json!({
        "instructions": list.iter().map(|i| instruction_json(i, now)).collect::<Vec<_>>()
    })))
}

/// `POST /api/instructions` `{person, cameras: [id], from?, to?, until, content}`
pub async fn instruction_create_api(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
    b: Option<Json<InstructionBody>>,
) -> AppResult<Response> {
    let b = body(b, "{person, cameras, from?, to?, until, content}")?;
    let id = issue_instruction(&state, &user, &client.0, &b).await?;
    Ok((axum::http::StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

/// `POST /api/instructions/{id}/revoke`
pub async fn instruction_revoke_api(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
    Path(id): Path<i64>,
) -> AppResult<Json<Value>> {
    revoke_instruction(&state, &user, &client.0, id).await?;
    Ok(Json(json!({ "revoked": id })))
}

// ---- pages ------------------------------------------------------------------

fn form_fields(body: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect()
}

fn field(fields: &[(String, String)], k: &str) -> String {
    fields
        .iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

fn role_options(state: &AppState, selected: Option<RoleKind>) -> String {
    state
        .policy
        .roles
        .iter()
        .map(|(k, r)| {
            format!(
                r#"<option value="{}"{}>{} ({})</option>"#,
                k,
                if Some(*k) == selected {
                    " selected"
                } else {
                    ""
                },
                esc(&r.title),
                k
            )
        })
        .collect()
}

/// Runs a form operation: on success back to `to`, else an error page.
async fn form_result<T>(
    lang: Lang,
    user: &CurrentUser,
    to: &str,
    result: AppResult<T>,
) -> Response {
    match result {
        Ok(_) => Redirect::to(to).into_response(),
        Err(e) => error_page(lang, Some(user), e),
    }
}

/// `GET /people`: everyone, their current role, and the form to add a person.
pub async fn people_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(user): Extension<CurrentUser>,
) -> AppResult<Response> {
    let lang = lang_of(&headers);
    let now = state.clock.now();
    let mut rows = String::new();
    for u in state.catalog.users().await? {
        let current = state.catalog.designation_at(u.id, now).await?;
        let role = current
            .as_ref()
            .map(|d| {
                let title = RoleKind::parse(&d.role)
                    .map(|k| state.policy.role_title(k))
                    .unwrap_or_else(|| d.role.clone());
                match d.end() {
                    Some(e) => {
                        format!(
                            "{} ({} {})",
                            esc(&title),
                            t(lang, "people.until"),
                            jst_minute(e)
                        )
                    }
                    None => esc(&title),
                }
            })
            .unwrap_or_else(|| format!("<em>{}</em>", t(lang, "people.none")));
        let records = state.catalog.pledges_of(u.id).await?;
        rows.push_str(&format!(
            r#"<tr data-person="{name}"><td><a href="/people/{id}">{name}</a></td><td>{display}</td><td>{org}</td><td class="role">{role}</td><td>{pledge}</td><td>{training}</td><td>{totp}</td></tr>"#,
            id = u.id,
            name = esc(&u.username),
            display = esc(&u.display_name),
            org = esc(&u.organization),
            pledge = if records.iter().any(|r| r.kind == "pledge") { "✓" } else { "—" },
            training = records.iter().filter(|r| r.kind == "training").count(),
            totp = if u.totp_secret.is_some() { "✓" } else { "—" },
        ));
    }
    let body = format!(
        r#"<h1>{title}</h1><p class="muted">{reg}</p>
<table id="people"><thead><tr><th>{lu}</th><th>{ld}</th><th>{lo}</th><th>{lr}</th><th>{lp}</th><th>{lt}</th><th>TOTP</th></tr></thead><tbody>{rows}</tbody></table>
<section class="card narrow"><h2>{add}</h2><form method="post" action="/people" id="person-form"><input type="hidden" name="csrf" value="{csrf}">
<label>{lu}<input name="username" required pattern="[A-Za-z0-9._-]+"></label>
<label>{ld}<input name="display_name" required></label>
<label>{lo}<input name="organization" placeholder="{org_hint}"></label>
<label>{lr}<select name="role">{roles}</select></label>
<label>{lf}<input type="date" name="valid_from"></label>
<label>{luntil}<input type="date" name="valid_until"></label>
<label>{lb}<input name="basis" placeholder="{basis_hint}"></label>
<label>{lpw}<input type="password" name="password" minlength="8" required autocomplete="new-password"></label>
<button>{save}</button></form></section>"#,
        title = t(lang, "people.title"),
        reg = esc(&state.policy.regulation),
        lu = t(lang, "people.username"),
        ld = t(lang, "people.display_name"),
        lo = t(lang, "people.organization"),
        lr = t(lang, "people.role"),
        lp = t(lang, "people.pledge"),
        lt = t(lang, "people.training"),
        add = t(lang, "people.add"),
        csrf = esc(&user.csrf),
        org_hint = t(lang, "people.org_hint"),
        roles = role_options(&state, Some(RoleKind::Operator)),
        lf = t(lang, "people.valid_from"),
        luntil = t(lang, "people.valid_until"),
        lb = t(lang, "people.basis"),
        basis_hint = t(lang, "people.basis_hint"),
        lpw = t(lang, "people.initial_password"),
        save = t(lang, "form.save"),
    );
    Ok(page(lang, t(lang, "people.title"), Some(&user), &body).into_response())
}

/// `POST /people`
pub async fn person_create_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
    body: String,
) -> Response {
    let f = form_fields(&body);
    let b = PersonBody {
        username: field(&f, "username"),
        display_name: field(&f, "display_name"),
        password: field(&f, "password"),
        organization: field(&f, "organization"),
        role: field(&f, "role"),
        valid_from: Some(field(&f, "valid_from")),
        valid_until: Some(field(&f, "valid_until")),
        basis: field(&f, "basis"),
    };
    let r = create_person(&state, &user, &client.0, &b).await;
    let to = match &r {
        Ok(id) => format!("/people/{id}"),
        Err(_) => String::new(),
    };
    form_result(lang_of(&headers), &user, &to, r).await
}

/// `GET /people/{id}`: designation history, pledges and training, new designation.
pub async fn person_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(user): Extension<CurrentUser>,
    Path(id): Path<i64>,
) -> Response {
    let lang = lang_of(&headers);
    match person_body(&state, lang, &user, UserId(id)).await {
        Ok((title, body)) => page(lang, &title, Some(&user), &body).into_response(),
        Err(e) => error_page(lang, Some(&user), e),
    }
}

async fn person_body(
    state: &AppState,
    lang: Lang,
    user: &CurrentUser,
    id: UserId,
) -> AppResult<(String, String)> {
    let person = state.catalog.user(id).await?;
    let now = state.clock.now();
    let mut history = String::new();
    for d in state.catalog.designations_of(id).await? {
        let title = RoleKind::parse(&d.role)
            .map(|k| state.policy.role_title(k))
            .unwrap_or_else(|| d.role.clone());
        let action = if d.valid_at(now) || (d.ended_at.is_none() && d.valid_from > now) {
            format!(
                r#"<form method="post" action="/people/{pid}/designations/{did}/end" class="inline-form"><input type="hidden" name="csrf" value="{csrf}"><input name="reason" required placeholder="{reason}"><button>{end}</button></form>"#,
                pid = id,
                did = d.id,
                csrf = esc(&user.csrf),
                reason = t(lang, "people.end_reason"),
                end = t(lang, "people.end"),
            )
        } else {
            d.end_reason.as_deref().map(esc).unwrap_or_default()
        };
        history.push_str(&format!(
            r#"<tr data-designation="{}"><td>#{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            d.id,
            d.id,
            esc(&title),
            jst_minute(d.valid_from),
            d.end().map(jst_minute).unwrap_or_else(|| "—".into()),
            esc(&d.basis),
            action
        ));
    }
    let records: String = state
        .catalog
        .pledges_of(id)
        .await?
        .iter()
        .map(|r| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                if r.kind == "pledge" {
                    t(lang, "people.pledge")
                } else {
                    t(lang, "people.training")
                },
                esc(&r.on_date),
                esc(&r.content)
            )
        })
        .collect();
    let title = format!("{} ({})", person.display_name, person.username);
    let body = format!(
        r#"<h1>{h}</h1><p class="muted">{org}</p>
<section class="card"><h2>{hist}</h2><table id="designations"><thead><tr><th>#</th><th>{lr}</th><th>{lf}</th><th>{lu}</th><th>{lb}</th><th></th></tr></thead><tbody>{history}</tbody></table>
<h3>{new}</h3><form method="post" action="/people/{id}/designations" class="inline-form" id="designate-form"><input type="hidden" name="csrf" value="{csrf}">
<select name="role">{roles}</select><label>{lf}<input type="date" name="valid_from"></label><label>{lu}<input type="date" name="valid_until"></label>
<input name="basis" placeholder="{basis_hint}"><button>{save}</button></form></section>
<section class="card"><h2>{recs}</h2><table id="records"><tbody>{records}</tbody></table>
<form method="post" action="/people/{id}/records" class="inline-form" id="record-form"><input type="hidden" name="csrf" value="{csrf}">
<select name="kind"><option value="pledge">{lp}</option><option value="training">{lt}</option></select>
<input type="date" name="date" required><input name="content" required placeholder="{content_hint}"><button>{save}</button></form></section>"#,
        h = esc(&title),
        org = esc(if person.organization.is_empty() {
            t(lang, "people.staff")
        } else {
            &person.organization
        }),
        hist = t(lang, "people.history"),
        lr = t(lang, "people.role"),
        lf = t(lang, "people.valid_from"),
        lu = t(lang, "people.valid_until"),
        lb = t(lang, "people.basis"),
        new = t(lang, "people.new_designation"),
        csrf = esc(&user.csrf),
        roles = role_options(state, None),
        basis_hint = t(lang, "people.basis_hint"),
        save = t(lang, "form.save"),
        recs = t(lang, "people.records"),
        lp = t(lang, "people.pledge"),
        lt = t(lang, "people.training"),
        content_hint = t(lang, "people.content_hint"),
    );
    Ok((title, body))
}

/// `POST /people/{id}/designations`
pub async fn designate_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
    Path(id): Path<i64>,
    body: String,
) -> Response {
    let f = form_fields(&body);
    let b = DesignationBody {
        role: field(&f, "role"),
        valid_from: Some(field(&f, "valid_from")),
        valid_until: Some(field(&f, "valid_until")),
        basis: field(&f, "basis"),
    };
    let r = designate(&state, &user, &client.0, UserId(id), &b).await;
    form_result(lang_of(&headers), &user, &format!("/people/{id}"), r).await
}

/// `POST /people/{id}/designations/{designation}/end`
pub async fn designation_end_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
    Path((id, designation)): Path<(i64, i64)>,
    body: String,
) -> Response {
    let f = form_fields(&body);
    let r = end_designation(&state, &user, &client.0, designation, &field(&f, "reason")).await;
    form_result(lang_of(&headers), &user, &format!("/people/{id}"), r).await
}

/// `POST /people/{id}/records`
pub async fn record_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
    Path(id): Path<i64>,
    body: String,
) -> Response {
    let f = form_fields(&body);
    let b = RecordBody {
        kind: field(&f, "kind"),
        date: field(&f, "date"),
        content: field(&f, "content"),
    };
    let r = add_record(&state, &user, &client.0, UserId(id), &b).await;
    form_result(lang_of(&headers), &user, &format!("/people/{id}"), r).await
}

/// `GET /instructions`
pub async fn instructions_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(user): Extension<CurrentUser>,
) -> AppResult<Response> {
    let lang = lang_of(&headers);
    let now = state.clock.now();
    let users = state.catalog.users().await?;
    let cams = state.catalog.cameras().await?;
    let name = |id: UserId| {
        users
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.username.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let mut rows = String::new();
    for i in state.catalog.instructions(None).await? {
        let action = if i.open_at(now) {
            format!(
                r#"<form method="post" action="/instructions/{}/revoke" class="inline"><input type="hidden" name="csrf" value="{}"><button>{}</button></form>"#,
                i.id,
                esc(&user.csrf),
                t(lang, "instr.revoke")
            )
        } else {
            t(lang, "instr.closed").to_string()
        };
        rows.push_str(&format!(
            r#"<tr data-instruction="{}"><td>#{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            i.id,
            i.id,
            esc(&name(i.user_id)),
            esc(&i.cameras
                .iter()
                .map(|c| cams.iter().find(|x| x.id == *c).map(|x| x.name.clone()).unwrap_or_else(|| c.to_string()))
                .collect::<Vec<_>>()
                .join("、")),
            i.range.map(|(a, b)| format!("{} – {}", jst_minute(a), jst_minute(b))).unwrap_or_else(|| "—".into()),
            jst_minute(i.valid_until),
            esc(&i.content),
            action
        ));
    }
    let mut people = String::new();
    for u in &users {
        if let Ok((role, _)) =
            rules::designation_at(&state.catalog, &state.policy, u.id, now).await?
            && state
                .policy
                .role(role)
                .is_some_and(|r| r.requires_instruction)
        {
            people.push_str(&format!(
                r#"<option value="{}">{} ({})</option>"#,
                u.id,
                esc(&u.display_name),
                esc(&u.username)
            ));
        }
    }
    let boxes: String = cams
        .iter()
        .map(|c| format!(r#"<label class="check"><input type="checkbox" name="camera" value="{}"> {}</label>"#, c.id, esc(&c.name)))
        .collect();
    let body = format!(
        r#"<h1>{title}</h1><p class="muted">{basis}</p>
<table id="instructions"><thead><tr><th>#</th><th>{lp}</th><th>{lc}</th><th>{lr}</th><th>{lu}</th><th>{lcontent}</th><th></th></tr></thead><tbody>{rows}</tbody></table>
<section class="card narrow"><h2>{new}</h2><form method="post" action="/instructions" id="instruction-form"><input type="hidden" name="csrf" value="{csrf}">
<label>{lp}<select name="person">{people}</select></label>{boxes}
<label>{lfrom}<input type="datetime-local" name="from"></label><label>{lto}<input type="datetime-local" name="to"></label>
<label>{lu}<input type="datetime-local" name="until" required></label><label>{lcontent}<input name="content" required></label>
<button>{save}</button></form></section>"#,
        title = t(lang, "instr.title"),
        basis = esc(&state
            .policy
            .roles
            .values()
            .filter(|r| r.requires_instruction)
            .map(|r| r.basis.clone())
            .collect::<Vec<_>>()
            .join(" / ")),
        lp = t(lang, "instr.person"),
        lc = t(lang, "audit.camera"),
        lr = t(lang, "instr.range"),
        lu = t(lang, "instr.until"),
        lcontent = t(lang, "instr.content"),
        new = t(lang, "instr.new"),
        csrf = esc(&user.csrf),
        lfrom = t(lang, "view.from"),
        lto = t(lang, "view.to"),
        save = t(lang, "form.save"),
    );
    Ok(page(lang, t(lang, "instr.title"), Some(&user), &body).into_response())
}

/// `POST /instructions`
pub async fn instruction_create_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
    body: String,
) -> Response {
    let f = form_fields(&body);
    let b = InstructionBody {
        person: field(&f, "person").parse().unwrap_or(0),
        cameras: f
            .iter()
            .filter(|(n, _)| n == "camera")
            .filter_map(|(_, v)| v.parse().ok())
            .collect(),
        from: Some(field(&f, "from")),
        to: Some(field(&f, "to")),
        until: field(&f, "until"),
        content: field(&f, "content"),
    };
    let r = issue_instruction(&state, &user, &client.0, &b).await;
    form_result(lang_of(&headers), &user, "/instructions", r).await
}

/// `POST /instructions/{id}/revoke`
pub async fn instruction_revoke_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
    Path(id): Path<i64>,
) -> Response {
    let r = revoke_instruction(&state, &user, &client.0, id).await;
    form_result(lang_of(&headers), &user, "/instructions", r).await
}
