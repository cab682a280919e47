//! The JSON scripting interface (documented in docs/API.md). Names and shapes
//! here are stable: acceptance checks and city scripts depend on them.

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate, TimeZone};
use mimamori_base::time::jst;
use mimamori_base::{CameraId, ErrorCode, Timestamp};
use mimamori_catalog::{Camera, CameraSource, NewCamera};
use mimamori_recorder::CameraState;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::audit::{self, ClientAddr};
use crate::auth::{self, CurrentUser, LoginOutcome};
use crate::error::{AppError, AppResult};
use crate::playback::{parse_stream, parse_time};

#[derive(Debug, Deserialize)]
pub struct LoginBody {
    pub username: String,
    pub password: String,
    /// The one-time code, for people who enrolled a second factor.
    pub code: Option<String>,
}

/// `POST /api/login` → session cookie; the body carries the CSRF token for later writes.
pub async fn login(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    body: Option<Json<LoginBody>>,
) -> AppResult<Response> {
    let Some(Json(body)) = body else {
        return Err(AppError::bad_input(
            "expected JSON {\"username\": …, \"password\": …}",
        ));
    };
    match auth::login(
        &state,
        &body.username,
        &body.password,
        body.code.as_deref(),
        &client,
    )
    .await?
    {
        LoginOutcome::Ok {
            cookie,
            csrf,
            user,
            role,
        } => {
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                h.insert(header::SET_COOKIE, v);
            }
            Ok((
                h,
                Json(json!({"username": user.username, "display_name": user.display_name, "role": role.as_str(), "role_title": state.policy.role_title(role), "csrf_token": csrf})),
            )
                .into_response())
        }
        LoginOutcome::Failed => Err(AppError::new(
            ErrorCode::Unauthenticated,
            "wrong user name or password",
        )),
        LoginOutcome::Locked => Err(AppError::new(
            ErrorCode::Unauthenticated,
            "too many failed attempts; wait a minute and try again",
        )),
        LoginOutcome::NeedsCode => Err(AppError::new(
            ErrorCode::Unauthenticated,
            "a valid one-time code (\"code\") is needed",
        )),
        LoginOutcome::NeedsEnrollment => Err(AppError::new(
            ErrorCode::Unauthenticated,
            "this role requires a second factor; enroll with `mimamori user totp NAME` first",
        )),
        LoginOutcome::NotDesignated(why) => Err(AppError::new(
            ErrorCode::Forbidden,
            format!("no valid designation: {why}"),
        )),
    }
}

/// `GET /api/me`: who is logged in, their role now and what it permits from here.
pub async fn me(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    req: axum::extract::Request,
) -> Json<Value> {
    let origin = crate::authz::origin_of(req.extensions());
    let here: Vec<&str> = mimamori_policy::Permission::ALL
        .into_iter()
        .filter(|p| crate::authz::may(&state, &user, &origin, *p))
        .map(|p| p.as_str())
        .collect();
    Json(json!({
        "username": user.user.username,
        "display_name": user.user.display_name,
        "organization": user.user.organization,
        "role": user.role.as_str(),
        "role_title": state.policy.role_title(user.role),
        "designation": user.designation.id,
        "permissions_here": here,
        "purposes": state.policy.purposes.iter().map(|p| json!({"id": p.id, "label": p.label, "basis": p.basis})).collect::<Vec<_>>(),
        "csrf_token": user.csrf,
    }))
}

/// `POST /api/logout`
pub async fn logout(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
) -> AppResult<Response> {
    audit::record(
        &state,
        Some(&user),
        "",
        &client.0,
        simple("logout", None, String::new()),
    )
    .await?;
    state.catalog.session_delete(user.token_hash()).await?;
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&auth::clear_cookie()) {
        h.insert(header::SET_COOKIE, v);
    }
    Ok((StatusCode::NO_CONTENT, h).into_response())
}

fn rfc3339(t: Timestamp) -> String {
    t.to_rfc3339(jst())
}

/// The JSON form of a camera with its live status. The password never leaves the server.
pub fn camera_json(state: &AppState, c: &Camera) -> Value {
    let status = state
        .recorders
        .hub()
        .get(c.id, mimamori_catalog::StreamKind::Main);
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
        "status": status.as_ref().map_or(CameraState::Stopped.as_str(), |s| s.state.as_str()),
        "status_reason": status.as_ref().and_then(|s| s.reason.as_ref()).map(|(code, msg)| json!({"code": code, "message": msg})),
        "status_since": status.as_ref().map(|s| rfc3339(s.since)),
        "last_frame_at": status.as_ref().and_then(|s| s.last_frame_at).map(rfc3339),
        "codec": status.as_ref().and_then(|s| s.codec.clone()),
        "width": status.as_ref().and_then(|s| s.dimensions).map(|d| d.0),
        "height": status.as_ref().and_then(|s| s.dimensions).map(|d| d.1),
    })
}

/// `GET /api/cameras`
pub async fn cameras_list(State(state): State<AppState>) -> AppResult<Json<Value>> {
    let cams = state.catalog.cameras().await?;
    Ok(Json(Value::Array(
        cams.iter().map(|c| camera_json(&state, c)).collect(),
    )))
}

/// `GET /api/cameras/{id}`
pub async fn camera_get(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> AppResult<Json<Value>> {
    let c = state.catalog.camera(CameraId(id)).await?;
    if c.removed_at.is_some() {
        return Err(AppError::not_found(format!("camera {id} was removed")));
    }
    Ok(Json(camera_json(&state, &c)))
}

#[derive(Debug, Deserialize)]
pub struct CameraBody {
    pub name: String,
    pub url: String,
    pub sub_url: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    #[serde(default)]
    pub record_audio: bool,
}

/// Seals the camera's password with the master key before it is stored (a password
/// kept from an earlier save is already sealed and stays as it is).
pub fn seal_credentials(
    keys: &mimamori_catalog::keys::KeyRing,
    mut cam: NewCamera,
) -> AppResult<NewCamera> {
    if let CameraSource::Rtsp {
        password: Some(p), ..
    } = &mut cam.source
    {
        *p = keys.seal_secret(p)?;
    }
    Ok(cam)
}

/// Validates camera input from a form or JSON. `keep_password` is used when the
/// password field is left empty on an edit.
pub fn validate_camera(b: CameraBody, keep_password: Option<String>) -> AppResult<NewCamera> {
    if b.record_audio {
        // Sound in public places is a privacy matter; recording it is not built yet,
        // so a request for it is refused rather than silently ignored.
        return Err(AppError::bad_input(
            "record_audio: audio recording is not supported yet; only video is recorded",
        ));
    }
    if b.record_audio {
        // Sound in public places is a privacy matter; recording it is not built yet,
        // so a request for it is refused rather than silently ignored.
        return Err(AppError::bad_input(
            "record_audio: audio recording is not supported yet; only video is recorded",
        ));
    }
    let name = b.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AppError::bad_input("name: 1 to 64 characters"));
    }
    let check_url = |field: &str, u: &str| -> AppResult<()> {
        mimamori_recorder::rtsp::RtspOpener::new(u, None, None)
            .map(|_| ())
            .map_err(|e| AppError::bad_input(format!("{field}: {}", e.message)))
    };
    let url = b.url.trim().to_string();
    check_url("url", &url)?;
    let sub_url = b
        .sub_url
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    if let Some(s) = &sub_url {
        check_url("sub_url", s)?;
    }
    let username = b
        .username
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let password = b.password.filter(|s| !s.is_empty()).or(keep_password);
    Ok(NewCamera {
        name,
        source: CameraSource::Rtsp {
            main_url: url,
            sub_url,
            username,
            password,
        },
        record_audio: b.record_audio,
    })
}

/// Re-reads the cameras and brings the recorders in line.
pub async fn sync_recorders(state: &AppState) -> AppResult<()> {
    let cams = state.catalog.cameras().await?;
    state.recorders.sync(&cams).await;
    Ok(())
}

/// `POST /api/cameras`
/// An audit entry without a viewing range.
pub fn simple(action: &str, camera: Option<CameraId>, detail: String) -> audit::Access<'_> {
    audit::Access {
        action,
        camera,
        range: None,
        purpose: "",
        detail,
    }
}

/// `POST /api/cameras` (see above)
pub async fn camera_add(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
    body: Option<Json<CameraBody>>,
) -> AppResult<Response> {
    let Some(Json(body)) = body else {
        return Err(AppError::bad_input("expected JSON {\"name\", \"url\", …}"));
    };
    let cam = seal_credentials(&state.keys, validate_camera(body, None)?)?;
    let id = state.catalog.camera_insert(&cam, state.clock.now()).await?;
    audit::record(
        &state,
        Some(&user),
        "",
        &client.0,
        simple("camera_added", Some(id), cam.name.clone()),
    )
    .await?;
    sync_recorders(&state).await?;
    let c = state.catalog.camera(id).await?;
    Ok((StatusCode::CREATED, Json(camera_json(&state, &c))).into_response())
}

/// `DELETE /api/cameras/{id}`
pub async fn camera_remove(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
) -> AppResult<Json<Value>> {
    audit::record(
        &state,
        Some(&user),
        "",
        &client.0,
        simple("camera_removed", Some(CameraId(id)), String::new()),
    )
    .await?;
    let kept = state
        .catalog
        .camera_remove(CameraId(id), state.clock.now())
        .await?;
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
    Path(id): Path<i64>,
    Query(q): Query<RangeQuery>,
) -> AppResult<Json<Value>> {
    let camera = state.catalog.camera(CameraId(id)).await?;
    let from = parse_time("from", &q.from)?;
    let to = parse_time("to", &q.to)?;
    if to <= from {
        return Err(AppError::bad_input("to must be after from"));
    }
    let stream = parse_stream(q.stream.as_deref())?;
    let now = state.clock.now();
    let times = state
        .catalog
        .segment_times(camera.id, stream, from, to)
        .await?;
    // Merge segments of one run (they touch exactly) into spans.
    let mut spans: Vec<(Timestamp, Timestamp)> = Vec::new();
    for (s, e, _) in times {
        match spans.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => spans.push((s, e)),
        }
    }
    let gaps = state
        .catalog
        .gaps_overlapping(camera.id, stream, from, to)
        .await?;
    let gaps: Vec<Value> = gaps
        .iter()
        .map(|g| {
            let end = g.end.unwrap_or(now).min(to);
            json!({
                "start": rfc3339(g.start.max(from)),
                "end": rfc3339(end),
                "open": g.end.is_none(),
                "reason": g.reason.as_str(),
                "detail": g.detail,
            })
        })
        .collect();
    Ok(Json(json!({
        "camera_id": camera.id.0,
        "stream": stream.as_str(),
        "from": rfc3339(from),
        "to": rfc3339(to),
        "spans": spans.iter().map(|(s, e)| json!({"start": rfc3339((*s).max(from)), "end": rfc3339((*e).min(to))})).collect::<Vec<_>>(),
        "gaps": gaps,
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
    Path(id): Path<i64>,
    Query(q): Query<MonthQuery>,
) -> AppResult<Json<Value>> {
    let camera = state.catalog.camera(CameraId(id)).await?;
    let first = NaiveDate::parse_from_str(&format!("{}-01", q.month), "%Y-%m-%d")
        .map_err(|_| AppError::bad_input("month: YYYY-MM"))?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .ok_or_else(|| AppError::bad_input("month out of range"))?;
    let at = |d: NaiveDate| -> AppResult<Timestamp> {
        let dt = d
            .and_hms_opt(0, 0, 0)
            .ok_or_else(|| AppError::bad_input("bad date"))?;
        jst()
            .from_local_datetime(&dt)
            .single()
            .map(|t| Timestamp(t.timestamp_micros()))
            .ok_or_else(|| AppError::bad_input("bad date"))
    };
    let (from, to) = (at(first)?, at(next)?);
    let times = state
        .catalog
        .segment_times(camera.id, mimamori_catalog::StreamKind::Main, from, to)
        .await?;
    let mut days: Vec<String> = Vec::new();
    for (s, e, _) in times {
        let mut d = s.max(from).to_datetime().with_timezone(&jst()).date_naive();
        let last = Timestamp(e.min(to).0 - 1)
            .to_datetime()
            .with_timezone(&jst())
            .date_naive();
        while d <= last {
            let k = d.format("%Y-%m-%d").to_string();
            if days.last() != Some(&k) {
                days.push(k);
            }
            match d.succ_opt() {
                Some(n) => d = n,
                None => break,
            }
        }
    }
    days.dedup();
    Ok(Json(
        json!({"camera_id": camera.id.0, "month": q.month, "days": days}),
    ))
}
