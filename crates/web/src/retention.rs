//! Retention in the UI and API: the rule in force per camera, oldest footage, next
//! erasure and capacity forecast; holds (保存期間の延長: create, change, release —
//! manager only); the erasure log; the storage alarm; the last verify result.

use axum::Form;
use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use mimamori_base::time::jst;
use mimamori_base::{CameraId, Timestamp};
use mimamori_governance::retention::expires_at;
use mimamori_policy::Counting;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::{self, CurrentUser};
use crate::error::{AppError, AppResult};
use crate::html::{esc, jst_minute, page};
use crate::i18n::{Lang, t};
use crate::playback::parse_time;

const DAY_US: i64 = 86_400_000_000;

fn rfc(t: Timestamp) -> String {
    t.to_rfc3339(jst())
}

/// The retention picture of one camera.
pub async fn camera_retention(state: &AppState, camera: CameraId) -> AppResult<Value> {
    let cam = state.catalog.camera(camera).await?;
    let r = &state.policy.retention;
    let days = r.days_for(&cam.name);
    let now = state.clock.now();
    let (last_day_bytes, oldest) = state
        .catalog
        .camera_storage(camera, Timestamp(now.0 - DAY_US), now)
        .await?;
    let next_erasure = oldest.map(|o| expires_at(days, r.counting, o.add_micros(1)));
    // Capacity: what the disk (or quota) holds at the measured rate of all cameras.
    let used = state.catalog.stored_bytes_total().await?;
    let all_last_day: i64 = {
        let mut sum = 0;
        for c in state.catalog.cameras().await? {
            sum += state
                .catalog
                .camera_storage(c.id, Timestamp(now.0 - DAY_US), now)
                .await?
                .0;
        }
        sum
    };
    let free = mimamori_governance::retention::available_space(&state.store);
    let capacity_bytes = match state.policy.storage.quota_bytes {
        0 => free.map(|f| {
            used + i64::try_from(f).unwrap_or(0)
                - i64::try_from(state.policy.storage.min_free_bytes).unwrap_or(0)
        }),
        q => Some(i64::try_from(q).unwrap_or(i64::MAX)),
    };
    // Rate from the recorded span of the last day (at least an hour) to avoid a cold-start overestimate.
    let recorded_for = oldest
        .map(|o| (now.0 - o.0).clamp(3_600_000_000, DAY_US))
        .unwrap_or(DAY_US);
    let daily_rate = all_last_day as f64 * DAY_US as f64 / recorded_for as f64;
    let capacity_days = capacity_bytes
        .filter(|_| daily_rate > 0.0)
        .map(|c| c as f64 / daily_rate);
    Ok(json!({
        "camera_id": camera.0,
        "days": days,
        "counting": match r.counting { Counting::FromRecording => "from_recording", Counting::FromNextDay => "from_next_day" },
        "basis": r.basis,
        "oldest": oldest.map(rfc),
        "next_erasure": next_erasure.map(rfc),
        "bytes_last_day": last_day_bytes,
        "capacity_days": capacity_days,
        "retention_fits": capacity_days.map(|d| d >= f64::from(days)),
    }))
}

/// `GET /api/cameras/{id}/retention`
pub async fn camera_retention_get(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<Value>> {
    Ok(Json(camera_retention(&state, CameraId(id)).await?))
}

fn hold_json(h: &mimamori_catalog::retention::Hold, now: Timestamp) -> Value {
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
    })
}

/// `GET /api/holds`
pub async fn holds_list(State(state): State<AppState>) -> AppResult<Json<Value>> {
    let now = state.clock.now();
    let holds = state.catalog.holds().await?;
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
}

struct ValidHold {
    cameras: Vec<CameraId>,
    from: Timestamp,
    to: Timestamp,
    until: Timestamp,
    reason: String,
    medium: Option<String>,
}

async fn validate_hold(state: &AppState, b: HoldBody) -> AppResult<ValidHold> {
    let reason = b.reason.trim().to_string();
    if reason.is_empty() {
        return Err(AppError::bad_input("reason: required (理由は必須です)"));
    }
    if b.cameras.is_empty() {
        return Err(AppError::bad_input("cameras: choose at least one"));
    }
    let from = parse_time("from", &b.from)?;
    let to = parse_time("to", &b.to)?;
    let until = parse_time("until", &b.until)?;
    if to <= from {
        return Err(AppError::bad_input("to must be after from"));
    }
    if until <= state.clock.now() {
        return Err(AppError::bad_input(
            "until: the end date must be in the future",
        ));
    }
    let mut cameras = Vec::new();
    for c in b.cameras {
        cameras.push(state.catalog.camera(CameraId(c)).await?.id);
    }
    Ok(ValidHold {
        cameras,
        from,
        to,
        until,
        reason,
        medium: b
            .medium
            .map(|m| m.trim().to_string())
            .filter(|m| !m.is_empty()),
    })
}

/// `POST /api/holds`
pub async fn hold_create(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    body: Option<Json<HoldBody>>,
) -> AppResult<Response> {
    let Some(Json(b)) = body else {
        return Err(AppError::bad_input(
            "expected JSON {cameras, from, to, until, reason}",
        ));
    };
    let h = validate_hold(&state, b).await?;
    let now = state.clock.now();
    let id = state
        .catalog
        .hold_create(
            &h.cameras,
            h.from,
            h.to,
            h.until,
            &h.reason,
            h.medium.as_deref(),
            Some(user.user.id),
            now,
        )
        .await?;
    let hold = state
        .catalog
        .holds()
        .await?
        .into_iter()
        .find(|x| x.id == id);
    Ok((
        StatusCode::CREATED,
        Json(hold.map(|x| hold_json(&x, now)).unwrap_or(Value::Null)),
    )
        .into_response())
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
    Extension(user): Extension<CurrentUser>,
    body: Option<Json<HoldChange>>,
) -> AppResult<Json<Value>> {
    let Some(Json(b)) = body else {
        return Err(AppError::bad_input("expected JSON {until, reason}"));
    };
    change(&state, &user, id, &b).await?;
    Ok(Json(json!({"changed": id})))
}

async fn change(state: &AppState, user: &CurrentUser, id: i64, b: &HoldChange) -> AppResult<()> {
    let reason = b.reason.trim();
    if reason.is_empty() {
        return Err(AppError::bad_input("reason: required (理由は必須です)"));
    }
    let until = parse_time("until", &b.until)?;
    state
        .catalog
        .hold_update(id, until, reason, Some(user.user.id), state.clock.now())
        .await?;
    Ok(())
}

/// `POST /api/holds/{id}/release`
pub async fn hold_release(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Extension(user): Extension<CurrentUser>,
) -> AppResult<Json<Value>> {
    state
        .catalog
        .hold_release(id, Some(user.user.id), state.clock.now())
        .await?;
    Ok(Json(json!({"released": id})))
}

/// `GET /api/erasures`
pub async fn erasures_list(State(state): State<AppState>) -> AppResult<Json<Value>> {
    let list = state.catalog.erasures(None, 200).await?;
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

fn lang_of(headers: &HeaderMap) -> Lang {
    Lang::from_cookie(auth::cookie(headers, "lang"))
}

/// The retention page: alarm, holds with their forms, erasure log, last verify.
pub async fn retention_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(user): Extension<CurrentUser>,
) -> Response {
    let lang = lang_of(&headers);
    match retention_body(&state, lang, &user, None).await {
        Ok(body) => page(lang, t(lang, "ret.title"), Some(&user), &body).into_response(),
        Err(e) => (e.status(), Json(json!({"error": e.message}))).into_response(),
    }
}

async fn retention_body(
    state: &AppState,
    lang: Lang,
    user: &CurrentUser,
    error: Option<&str>,
) -> AppResult<String> {
    let now = state.clock.now();
    let cams = state.catalog.cameras().await?;
    let alarm = state.sweeper.alarm();
    let mut out = format!("<h1>{}</h1>", t(lang, "ret.title"));
    if let Some(m) = alarm.message.as_deref() {
        out.push_str(&format!(
            r#"<p class="alarm" id="storage-alarm" role="alert">{}: {}</p>"#,
            t(lang, "ret.alarm"),
            esc(m)
        ));
    }
    if let Some(e) = error {
        out.push_str(&format!(r#"<p class="error" role="alert">{}</p>"#, esc(e)));
    }
    let r = &state.policy.retention;
    out.push_str(&format!(
        r#"<section class="card"><h2>{}</h2><p>{}</p><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        t(lang, "ret.rule"),
        esc(&r.basis),
        t(lang, "cameras.name"),
        t(lang, "ret.rule"),
        t(lang, "ret.oldest"),
        t(lang, "ret.next"),
        t(lang, "ret.capacity"),
    ));
    for c in &cams {
        let v = camera_retention(state, c.id).await?;
        let rule = match (lang, r.counting) {
            (Lang::Ja, Counting::FromRecording) => format!("{}日間（録画時から）", v["days"]),
            (Lang::Ja, Counting::FromNextDay) => {
                format!("{}日間（録画日の翌日から起算）", v["days"])
            }
            (Lang::En, Counting::FromRecording) => format!("{} days from recording", v["days"]),
            (Lang::En, Counting::FromNextDay) => {
                format!("{} days counted from the day after recording", v["days"])
            }
        };
        let ts = |k: &str| {
            v[k].as_str()
                .and_then(Timestamp::parse_rfc3339)
                .map(jst_minute)
                .unwrap_or_else(|| "—".into())
        };
        let cap = v["capacity_days"]
            .as_f64()
            .map(|d| format!("{d:.1} {}", t(lang, "ret.days")))
            .unwrap_or_else(|| "—".into());
        let warn = if v["retention_fits"] == false {
            format!(r#" <span class="notice">{}</span>"#, t(lang, "ret.short"))
        } else {
            String::new()
        };
        out.push_str(&format!(
            r#"<tr data-camera-id="{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>"#,
            c.id,
            esc(&c.name),
            esc(&rule),
            ts("oldest"),
            ts("next_erasure"),
            cap,
            warn
        ));
    }
    out.push_str("</tbody></table></section>");

    // Holds.
    let holds = state.catalog.holds().await?;
    out.push_str(&format!(r#"<section class="card"><h2>{}</h2><table id="holds"><thead><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>"#,
        t(lang, "ret.holds"), t(lang, "cameras.name"), t(lang, "ret.range"), t(lang, "ret.until"), t(lang, "ret.reason")));
    for h in &holds {
        let names: Vec<String> = h
            .cameras
            .iter()
            .map(|id| {
                cams.iter()
                    .find(|c| c.id == *id)
                    .map(|c| c.name.clone())
                    .unwrap_or_else(|| id.to_string())
            })
            .collect();
        let active = h.released_at.is_none() && now < h.until;
        let actions = if active
            && state
                .policy
                .allows(user.role, mimamori_policy::Permission::RetentionHold)
        {
            format!(
                r#"<form method="post" action="/retention/holds/{id}/change" class="inline-form"><input type="hidden" name="csrf" value="{csrf}">
<input type="datetime-local" name="until" value="{until}" required><input name="reason" value="{reason}" required><button>{change}</button></form>
<form method="post" action="/retention/holds/{id}/release" class="inline-form"><input type="hidden" name="csrf" value="{csrf}"><button>{release}</button></form>"#,
                id = h.id,
                csrf = esc(&user.csrf),
                until = h
                    .until
                    .to_datetime()
                    .with_timezone(&jst())
                    .format("%Y-%m-%dT%H:%M"),
                reason = esc(&h.reason),
                change = t(lang, "ret.change"),
                release = t(lang, "ret.release"),
            )
        } else if h.released_at.is_some() {
            t(lang, "ret.released").to_string()
        } else {
            t(lang, "ret.ended").to_string()
        };
        out.push_str(&format!(
            "<tr data-hold-id=\"{}\"><td>{}</td><td>{}</td><td>{} – {}</td><td>{}</td><td>{}{}</td><td>{}</td></tr>",
            h.id,
            h.id,
            esc(&names.join("、")),
            jst_minute(h.from),
            jst_minute(h.to),
            jst_minute(h.until),
            esc(&h.reason),
            h.medium.as_deref().map(|m| format!(" [{}: {}]", t(lang, "ret.medium_short"), esc(m))).unwrap_or_default(),
            actions
        ));
    }
    out.push_str("</tbody></table>");
    if state
        .policy
        .allows(user.role, mimamori_policy::Permission::RetentionHold)
    {
        let boxes: String = cams
            .iter()
            .map(|c| format!(r#"<label class="check"><input type="checkbox" name="camera" value="{}"> {}</label>"#, c.id, esc(&c.name)))
            .collect();
        out.push_str(&format!(
            r#"<h3>{title}</h3><form method="post" action="/retention/holds" id="hold-form"><input type="hidden" name="csrf" value="{csrf}">
{boxes}<label>{from}<input type="datetime-local" name="from" required></label><label>{to}<input type="datetime-local" name="to" required></label>
<label>{until}<input type="datetime-local" name="until" required></label><label>{reason}<input name="reason" required></label>
<label>{medium}<input name="medium" placeholder="USB-001"></label>
<button type="submit">{create}</button></form>"#,
            title = t(lang, "ret.new_hold"),
            csrf = esc(&user.csrf),
            from = t(lang, "view.from"),
            to = t(lang, "view.to"),
            until = t(lang, "ret.until"),
            reason = t(lang, "ret.reason"),
            medium = t(lang, "ret.medium"),
            create = t(lang, "ret.create"),
        ));
    }
    out.push_str("</section>");

    // Erasure log and last verify.
    let erasures = state.catalog.erasures(None, 50).await?;
    out.push_str(&format!(
        r#"<section class="card"><h2>{}</h2><table id="erasures"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        t(lang, "ret.erasures"),
        t(lang, "ret.erased_at"),
        t(lang, "cameras.name"),
        t(lang, "ret.range"),
        t(lang, "ret.amount"),
        t(lang, "ret.rule")
    ));
    for e in &erasures {
        let name = cams
            .iter()
            .find(|c| c.id == e.camera_id)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| e.camera_id.to_string());
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{} – {}</td><td>{} / {} MB / keys {}</td><td>{}</td></tr>",
            jst_minute(e.erased_at),
            esc(&name),
            jst_minute(e.from),
            jst_minute(e.to),
            e.segments,
            e.bytes / 1_000_000,
            e.keys_destroyed,
            esc(&e.detail)
        ));
    }
    out.push_str("</tbody></table></section>");
    let verify = match state.catalog.last_verify_run().await? {
        Some((at, segs, problems, summary)) => format!(
            r#"<p id="last-verify" data-problems="{problems}">{}: {} — {segs} {} / {problems} {}</p><pre>{}</pre>"#,
            t(lang, "ret.verify"),
            jst_minute(at),
            t(lang, "ret.segments"),
            t(lang, "ret.problems"),
            esc(&summary)
        ),
        None => format!(
            "<p id=\"last-verify\">{}</p>",
            t(lang, "ret.never_verified")
        ),
    };
    out.push_str(&format!(
        r#"<section class="card"><h2>{}</h2>{verify}</section>"#,
        t(lang, "ret.verify")
    ));
    Ok(out)
}

#[derive(Debug, Deserialize)]
pub struct HoldForm {
    pub from: String,
    pub to: String,
    pub until: String,
    pub reason: String,
}

/// Form post of a new hold. Cameras come as repeated `camera` fields.
pub async fn hold_create_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(user): Extension<CurrentUser>,
    body: String,
) -> Response {
    let lang = lang_of(&headers);
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let cameras: Vec<i64> = fields
        .iter()
        .filter(|(n, _)| n == "camera")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let result = async {
        let h = validate_hold(
            &state,
            HoldBody {
                cameras,
                from: get("from"),
                to: get("to"),
                until: get("until"),
                reason: get("reason"),
                medium: Some(get("medium")),
            },
        )
        .await?;
        state
            .catalog
            .hold_create(
                &h.cameras,
                h.from,
                h.to,
                h.until,
                &h.reason,
                h.medium.as_deref(),
                Some(user.user.id),
                state.clock.now(),
            )
            .await?;
        Ok::<(), AppError>(())
    }
    .await;
    form_result(&state, lang, &user, result).await
}

async fn form_result(
    state: &AppState,
    lang: Lang,
    user: &CurrentUser,
    result: AppResult<()>,
) -> Response {
    match result {
        Ok(()) => Redirect::to("/retention").into_response(),
        Err(e) => {
            let msg = format!("{} ({})", e.message, e.code);
            match retention_body(state, lang, user, Some(&msg)).await {
                Ok(body) => (
                    e.status(),
                    page(lang, t(lang, "ret.title"), Some(user), &body),
                )
                    .into_response(),
                Err(e2) => (e2.status(), e2.message).into_response(),
            }
        }
    }
}

pub async fn hold_change_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Extension(user): Extension<CurrentUser>,
    Form(f): Form<HoldChange>,
) -> Response {
    let lang = lang_of(&headers);
    let result = async { change(&state, &user, id, &f).await }.await;
    form_result(&state, lang, &user, result).await
}

pub async fn hold_release_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Extension(user): Extension<CurrentUser>,
) -> Response {
    let lang = lang_of(&headers);
    let result = async {
        state
            .catalog
            .hold_release(id, Some(user.user.id), state.clock.now())
            .await?;
        Ok(())
    }
    .await;
    form_result(&state, lang, &user, result).await
}
