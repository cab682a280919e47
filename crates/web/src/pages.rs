//! Server-rendered pages: login, camera list with status, camera settings, and
//! the viewer (calendar, 24-hour timeline, player, range download, live view).

use axum::Form;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use mimamori_base::CameraId;
use mimamori_base::time::jst;
use mimamori_catalog::{CameraSource, StreamKind};
use mimamori_recorder::CameraState;
use serde::Deserialize;

use crate::AppState;
use crate::api::{CameraBody, simple, sync_recorders, validate_camera};
use crate::audit::ClientAddr;
use crate::auth::{self, CurrentUser, LoginOutcome};
use crate::error::AppError;
use crate::html::{esc, page};
use crate::i18n::{Lang, t};

pub(crate) fn lang_of(headers: &HeaderMap) -> Lang {
    Lang::from_cookie(auth::cookie(headers, "lang"))
}

/// An error shown as a page (the API answers JSON through `AppError` instead).
pub(crate) fn error_page(lang: Lang, user: Option<&CurrentUser>, e: AppError) -> Response {
    let body = format!(
        r#"<h1>{}</h1><p class="error">{} <code>{}</code></p><p><a href="/cameras">{}</a></p>"#,
        t(lang, "error.title"),
        esc(&e.message),
        e.code.as_str(),
        t(lang, "error.back")
    );
    (e.status(), page(lang, t(lang, "error.title"), user, &body)).into_response()
}

/// `GET /`: the first page the person's role can use.
pub async fn root(Extension(user): Extension<CurrentUser>) -> Redirect {
    use mimamori_policy::Permission as P;
    Redirect::to(if user.has(P::CameraStatus) {
        "/cameras"
    } else if user.has(P::AuditRead) {
        "/audit"
    } else {
        "/account"
    })
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
}

/// Only same-site relative paths are followed after login.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/cameras".to_string(),
    }
}

fn login_form(lang: Lang, next: &str, message: Option<&str>) -> Html<String> {
    let msg = message
        .map(|m| format!(r#"<p class="error" role="alert">{}</p>"#, esc(m)))
        .unwrap_or_default();
    let body = format!(
        r#"<h1>{title}</h1>{msg}
<form method="post" action="/login" class="card narrow" id="login-form">
<input type="hidden" name="next" value="{next}">
<label>{u}<input name="username" id="username" autocomplete="username" required autofocus></label>
<label>{p}<input name="password" id="password" type="password" autocomplete="current-password" required></label>
<label>{c}<input name="code" id="code" inputmode="numeric" autocomplete="one-time-code"></label>
<button type="submit" id="login-submit">{submit}</button></form>"#,
        title = t(lang, "login.title"),
        next = esc(next),
        u = t(lang, "login.username"),
        p = t(lang, "login.password"),
        c = t(lang, "login.code"),
        submit = t(lang, "login.submit"),
    );
    page(lang, t(lang, "login.title"), None, &body)
}

pub async fn login_page(headers: HeaderMap, Query(q): Query<NextQuery>) -> Html<String> {
    login_form(lang_of(&headers), &safe_next(q.next.as_deref()), None)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    pub username: String,
    pub password: String,
    pub code: Option<String>,
    pub next: Option<String>,
}

pub async fn login_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(client): Extension<ClientAddr>,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = lang_of(&headers);
    let next = safe_next(f.next.as_deref());
    match auth::login(&state, &f.username, &f.password, f.code.as_deref(), &client).await {
        Ok(LoginOutcome::Ok { cookie, .. }) => {
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                h.insert(header::SET_COOKIE, v);
            }
            (h, Redirect::to(&next)).into_response()
        }
        Ok(LoginOutcome::Failed) => (
            StatusCode::UNAUTHORIZED,
            login_form(lang, &next, Some(t(lang, "login.failed"))),
        )
            .into_response(),
        Ok(LoginOutcome::Locked) => (
            StatusCode::TOO_MANY_REQUESTS,
            login_form(lang, &next, Some(t(lang, "login.locked"))),
        )
            .into_response(),
        Ok(LoginOutcome::NeedsCode) => (
            StatusCode::UNAUTHORIZED,
            login_form(lang, &next, Some(t(lang, "login.needs_code"))),
        )
            .into_response(),
        Ok(LoginOutcome::NeedsEnrollment) => (
            StatusCode::UNAUTHORIZED,
            login_form(lang, &next, Some(t(lang, "login.needs_enrollment"))),
        )
            .into_response(),
        Ok(LoginOutcome::NotDesignated(why)) => (
            StatusCode::FORBIDDEN,
            login_form(
                lang,
                &next,
                Some(&format!("{}: {why}", t(lang, "login.not_designated"))),
            ),
        )
            .into_response(),
        Err(e) => error_page(lang, None, e),
    }
}

pub async fn logout_submit(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
) -> Response {
    let _ = crate::audit::record(
        &state,
        Some(&user),
        "",
        &client.0,
        simple("logout", None, String::new()),
    )
    .await;
    let _ = state.catalog.session_delete(user.token_hash()).await;
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&auth::clear_cookie()) {
        h.insert(header::SET_COOKIE, v);
    }
    (h, Redirect::to("/login")).into_response()
}

pub async fn lang_switch(Path(lang): Path<String>, headers: HeaderMap) -> Response {
    let code = if lang == "en" { "en" } else { "ja" };
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| url::Url::parse(r).ok())
        .map(|u| {
            safe_next(Some(&format!(
                "{}{}",
                u.path(),
                u.query().map(|q| format!("?{q}")).unwrap_or_default()
            )))
        })
        .unwrap_or_else(|| "/cameras".to_string());
    let mut h = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "lang={code}; Path=/; SameSite=Strict; Max-Age=31536000"
    )) {
        h.insert(header::SET_COOKIE, v);
    }
    (h, Redirect::to(&back)).into_response()
}

fn status_label(lang: Lang, s: CameraState) -> &'static str {
    t(lang, &format!("status.{}", s.as_str()))
}

pub async fn cameras_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(user): Extension<CurrentUser>,
) -> Response {
    let lang = lang_of(&headers);
    let cams = match state.catalog.cameras().await {
        Ok(c) => c,
        Err(e) => return error_page(lang, Some(&user), e.into()),
    };
    let mut rows = String::new();
    for c in &cams {
        let st = state.recorders.hub().get(c.id, StreamKind::Main);
        let state_ = st.as_ref().map_or(CameraState::Stopped, |s| s.state);
        let reason = st
            .as_ref()
            .and_then(|s| s.reason.as_ref())
            .map(|(code, m)| {
                format!(
                    r#"<div class="reason">{} <code>{}</code></div>"#,
                    esc(m),
                    esc(code)
                )
            })
            .unwrap_or_default();
        let last = st
            .as_ref()
            .and_then(|s| s.last_frame_at)
            .map(|t| {
                t.to_datetime()
                    .with_timezone(&jst())
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_else(|| "—".into());
        let source = match &c.source {
            CameraSource::TestPattern => format!(
                r#"<span class="badge test">{}</span>"#,
                t(lang, "cameras.test_pattern")
            ),
            CameraSource::Rtsp { main_url, .. } => format!("<code>{}</code>", esc(main_url)),
        };
        rows.push_str(&format!(
            r#"<tr data-camera-id="{id}"><td><a href="/cameras/{id}">{name}</a></td><td>{source}</td>
<td><span class="status status-{sc}" data-status="{sc}">{sl}</span>{reason}</td><td>{last}</td>
<td><a href="/cameras/{id}">{view}</a> · <a href="/cameras/{id}/settings">{settings}</a></td></tr>"#,
            id = c.id,
            name = esc(&c.name),
            sc = state_.as_str(),
            sl = status_label(lang, state_),
            view = t(lang, "cameras.view"),
            settings = t(lang, "cameras.settings"),
        ));
    }
    let table = if cams.is_empty() {
        format!("<p>{}</p>", t(lang, "cameras.none"))
    } else {
        format!(
            r#"<table class="cameras" id="camera-table"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>{rows}</tbody></table>"#,
            t(lang, "cameras.name"),
            t(lang, "cameras.source"),
            t(lang, "cameras.status"),
            t(lang, "cameras.last_frame"),
        )
    };
    let body = format!(
        r#"<h1>{}</h1>{table}<p><a class="button" href="/cameras/new">{}</a></p><script>setTimeout(()=>location.reload(),10000)</script>"#,
        t(lang, "cameras.title"),
        t(lang, "nav.add_camera")
    );
    page(lang, t(lang, "cameras.title"), Some(&user), &body).into_response()
}

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
    fn into_body(self) -> CameraBody {
        CameraBody {
            name: self.name,
            url: self.url,
            sub_url: self.sub_url,
            username: self.username,
            password: self.password,
            record_audio: self.record_audio.is_some(),
        }
    }
}

fn camera_form_html(
    lang: Lang,
    user: &CurrentUser,
    action: &str,
    f: &CameraForm,
    editing: bool,
    error: Option<&str>,
) -> String {
    let err = error
        .map(|m| format!(r#"<p class="error" role="alert">{}</p>"#, esc(m)))
        .unwrap_or_default();
    let pw_note = if editing {
        format!(r#"<small>{}</small>"#, t(lang, "form.password_keep"))
    } else {
        String::new()
    };
    format!(
        r#"{err}<form method="post" action="{action}" class="card" id="camera-form">
<input type="hidden" name="csrf" value="{csrf}">
<label>{ln}<input name="name" id="name" value="{name}" required maxlength="64"></label>
<label>{lu}<input name="url" id="url" value="{url}" required placeholder="rtsp://192.0.2.10:554/stream1"></label>
<label>{ls}<input name="sub_url" id="sub_url" value="{sub}"></label>
<label>{lun}<input name="username" id="cam-username" value="{un}" autocomplete="off"></label>
<label>{lp}<input name="password" id="cam-password" type="password" autocomplete="new-password">{pw_note}</label>
<p class="muted">{la}</p>
<button type="submit" id="camera-save">{save}</button></form>"#,
        csrf = esc(&user.csrf),
        ln = t(lang, "form.name"),
        name = esc(&f.name),
        lu = t(lang, "form.main_url"),
        url = esc(&f.url),
        ls = t(lang, "form.sub_url"),
        sub = esc(f.sub_url.as_deref().unwrap_or("")),
        lun = t(lang, "form.username"),
        un = esc(f.username.as_deref().unwrap_or("")),
        lp = t(lang, "form.password"),
        la = t(lang, "form.audio"),
        save = t(lang, "form.save"),
    )
}

pub async fn camera_new_page(
    headers: HeaderMap,
    Extension(user): Extension<CurrentUser>,
) -> Html<String> {
    let lang = lang_of(&headers);
    let body = format!(
        "<h1>{}</h1>{}",
        t(lang, "form.add_title"),
        camera_form_html(lang, &user, "/cameras", &CameraForm::default(), false, None)
    );
    page(lang, t(lang, "form.add_title"), Some(&user), &body)
}

pub async fn camera_add_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
    Form(f): Form<CameraForm>,
) -> Response {
    let lang = lang_of(&headers);
    let shown = CameraForm {
        password: None,
        ..CameraForm {
            name: f.name.clone(),
            url: f.url.clone(),
            sub_url: f.sub_url.clone(),
            username: f.username.clone(),
            password: None,
            record_audio: f.record_audio.clone(),
        }
    };
    let result = async {
        let cam = crate::api::seal_credentials(&state.keys, validate_camera(f.into_body(), None)?)?;
        let id = state.catalog.camera_insert(&cam, state.clock.now()).await?;
        crate::audit::record(
            &state,
            Some(&user),
            "",
            &client.0,
            simple("camera_added", Some(id), cam.name.clone()),
        )
        .await?;
        sync_recorders(&state).await?;
        Ok::<CameraId, AppError>(id)
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&format!("/cameras/{id}")).into_response(),
        Err(e) => {
            let body = format!(
                "<h1>{}</h1>{}",
                t(lang, "form.add_title"),
                camera_form_html(
                    lang,
                    &user,
                    "/cameras",
                    &shown,
                    false,
                    Some(&format!("{} ({})", e.message, e.code))
                )
            );
            (
                e.status(),
                page(lang, t(lang, "form.add_title"), Some(&user), &body),
            )
                .into_response()
        }
    }
}

pub async fn camera_settings_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Extension(user): Extension<CurrentUser>,
) -> Response {
    let lang = lang_of(&headers);
    let cam = match state.catalog.camera(CameraId(id)).await {
        Ok(c) if c.removed_at.is_none() => c,
        Ok(_) => return error_page(lang, Some(&user), AppError::not_found("camera removed")),
        Err(e) => return error_page(lang, Some(&user), e.into()),
    };
    let form = match &cam.source {
        CameraSource::TestPattern => format!(
            r#"<p class="badge test">{}</p>"#,
            t(lang, "cameras.test_pattern")
        ),
        CameraSource::Rtsp {
            main_url,
            sub_url,
            username,
            ..
        } => camera_form_html(
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
    let body = format!(
        r#"<h1>{title}: {name}</h1>{form}
<form method="post" action="/cameras/{id}/remove" class="card danger" id="camera-remove">
<input type="hidden" name="csrf" value="{csrf}"><p>{note}</p><button type="submit">{remove}</button></form>"#,
        title = t(lang, "form.edit_title"),
        name = esc(&cam.name),
        csrf = esc(&user.csrf),
        note = t(lang, "form.remove_note"),
        remove = t(lang, "form.remove"),
    );
    page(lang, t(lang, "form.edit_title"), Some(&user), &body).into_response()
}

pub async fn camera_settings_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
    Form(f): Form<CameraForm>,
) -> Response {
    let lang = lang_of(&headers);
    let result = async {
        let old = state.catalog.camera(CameraId(id)).await?;
        let keep = match old.source {
            CameraSource::Rtsp { password, .. } => password,
            CameraSource::TestPattern => {
                return Err(AppError::bad_input("the test pattern has no settings"));
            }
        };
        let cam = crate::api::seal_credentials(&state.keys, validate_camera(f.into_body(), keep)?)?;
        state.catalog.camera_update(CameraId(id), &cam).await?;
        crate::audit::record(
            &state,
            Some(&user),
            "",
            &client.0,
            simple("camera_changed", Some(CameraId(id)), cam.name.clone()),
        )
        .await?;
        sync_recorders(&state).await?;
        Ok::<(), AppError>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/cameras/{id}")).into_response(),
        Err(e) => error_page(lang, Some(&user), e),
    }
}

pub async fn camera_remove_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Extension(user): Extension<CurrentUser>,
    Extension(client): Extension<ClientAddr>,
) -> Response {
    let lang = lang_of(&headers);
    let result = async {
        state
            .catalog
            .camera_remove(CameraId(id), state.clock.now())
            .await?;
        crate::audit::record(
            &state,
            Some(&user),
            "",
            &client.0,
            simple("camera_removed", Some(CameraId(id)), String::new()),
        )
        .await?;
        sync_recorders(&state).await?;
        Ok::<(), AppError>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to("/cameras").into_response(),
        Err(e) => error_page(lang, Some(&user), e),
    }
}

pub async fn camera_view_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Extension(user): Extension<CurrentUser>,
) -> Response {
    let lang = lang_of(&headers);
    let cam = match state.catalog.camera(CameraId(id)).await {
        Ok(c) => c,
        Err(e) => return error_page(lang, Some(&user), e.into()),
    };
    let st = state.recorders.hub().get(cam.id, StreamKind::Main);
    let state_ = st.as_ref().map_or(CameraState::Stopped, |s| s.state);
    let badge = if cam.source == CameraSource::TestPattern {
        format!(
            r#" <span class="badge test">{}</span>"#,
            t(lang, "cameras.test_pattern")
        )
    } else {
        String::new()
    };
    let today = state
        .clock
        .now()
        .to_datetime()
        .with_timezone(&jst())
        .date_naive();
    use mimamori_policy::Permission as P;
    let purposes: String = state
        .policy
        .purposes
        .iter()
        .map(|p| {
            format!(
                r#"<option value="{}">{}（{}）</option>"#,
                esc(&p.id),
                esc(&p.label),
                esc(&p.basis)
            )
        })
        .collect();
    let purpose_form = if user.has(P::Playback) || user.has(P::LiveView) {
        format!(
            r#"<section class="card"><form id="purpose-form" class="purpose"><h2>{lp}</h2><p class="muted" id="purpose-hint">{hint}</p>
<label>{lp}<select id="purpose" required><option value="">—</option>{purposes}</select></label>
<label>{ln}<input id="purpose-note" maxlength="500"></label></form></section>"#,
            hint = t(lang, "view.purpose_hint"),
            lp = t(lang, "view.purpose"),
            ln = t(lang, "view.purpose_note"),
        )
    } else {
        String::new()
    };
    let player = if user.has(P::Playback) {
        format!(
            r#"<section class="card player"><video id="player" controls muted playsinline preload="auto"></video>
<form id="play-at" class="inline-form"><label>{at}<input type="time" step="1" id="play-time"></label><button type="submit" id="play-submit">{play}</button></form>
<p id="playing-from" class="muted" role="status"></p></section>"#,
            at = t(lang, "view.play_at"),
            play = t(lang, "view.play"),
        )
    } else {
        format!(
            r#"<section class="card player"><p class="notice" id="no-playback">{}</p></section>"#,
            t(lang, "view.no_playback")
        )
    };
    let download = if user.has(P::Export) {
        format!(
            r#"<section class="card"><h2>{dl}</h2>
<form id="download-form" method="get" action="/api/cameras/{id}/video.mp4">
<input type="hidden" name="download" value="1"><input type="hidden" name="purpose" id="dl-purpose"><input type="hidden" name="note" id="dl-note">
<label>{from}<input type="datetime-local" step="1" name="start" id="dl-start" required></label>
<label>{to}<input type="datetime-local" step="1" name="end" id="dl-end" required></label>
<button type="submit" id="dl-submit">{dlb}</button></form></section>"#,
            dl = t(lang, "view.download"),
            id = cam.id,
            from = t(lang, "view.from"),
            to = t(lang, "view.to"),
            dlb = t(lang, "view.download_button"),
        )
    } else {
        String::new()
    };
    let live = if state.policy.live_view.allowed && !user.has(P::LiveView) {
        String::new()
    } else if state.policy.live_view.allowed {
        format!(
            r#"<section class="card"><h2>{}</h2><button type="button" id="live-start">{}</button>
<video id="live" muted playsinline autoplay></video></section>"#,
            t(lang, "view.live"),
            t(lang, "view.live_start")
        )
    } else {
        format!(
            r#"<section class="card"><h2>{}</h2><p class="notice" id="live-forbidden">{}（{}）</p></section>"#,
            t(lang, "view.live"),
            t(lang, "view.live_forbidden"),
            esc(&state.policy.live_view.basis)
        )
    };
    let retention = match crate::retention::camera_retention(&state, cam.id).await {
        Ok(v) => {
            let ts = |k: &str| {
                v[k].as_str()
                    .and_then(mimamori_base::Timestamp::parse_rfc3339)
                    .map(|t| {
                        t.to_datetime()
                            .with_timezone(&jst())
                            .format("%Y-%m-%d %H:%M")
                            .to_string()
                    })
                    .unwrap_or_else(|| "—".into())
            };
            let rule = if v["counting"] == "from_next_day" {
                format!("{} {}", v["days"], t(lang, "ret.rule_next_day"))
            } else {
                format!("{} {}", v["days"], t(lang, "ret.rule_from_recording"))
            };
            format!(
                r#"<p class="muted" id="camera-retention">{}: {} · {}: {} · {}: {} · {}: {} · <a href="/retention">{}</a></p>"#,
                t(lang, "ret.rule"),
                esc(&rule),
                t(lang, "ret.oldest"),
                ts("oldest"),
                t(lang, "ret.next"),
                ts("next_erasure"),
                t(lang, "ret.capacity"),
                v["capacity_days"]
                    .as_f64()
                    .map(|d| format!("{d:.1}"))
                    .unwrap_or_else(|| "—".into()),
                t(lang, "ret.holds"),
            )
        }
        Err(_) => String::new(),
    };
    let body = format!(
        r#"<h1>{name}{badge} <span class="status status-{sc}" data-status="{sc}">{sl}</span></h1>{retention}
<div id="viewer" data-camera="{id}" data-today="{today}">{purpose_form}
<div class="grid">
<section class="card calendar"><h2>{cal}</h2>
<div class="cal-head"><button type="button" id="cal-prev" aria-label="{prev}">‹</button><span id="cal-label"></span><button type="button" id="cal-next" aria-label="{next}">›</button></div>
<div id="cal-grid" class="cal-grid"></div></section>
{player}
</div>
<section class="card"><h2>{tl} <span id="tl-date"></span></h2><p class="muted">{hint}</p>
<div id="timeline" class="timeline" role="slider" aria-label="{tl}"></div><div class="ticks" id="ticks"></div>
<p class="legend"><span class="swatch rec"></span>{rec} <span class="swatch gap"></span>{gap}</p>
<ul id="gap-list" class="gap-list"></ul></section>
{download}
{live}
</div>"#,
        name = esc(&cam.name),
        sc = state_.as_str(),
        sl = status_label(lang, state_),
        today = today.format("%Y-%m-%d"),
        cal = t(lang, "view.calendar"),
        prev = t(lang, "view.prev_month"),
        next = t(lang, "view.next_month"),
        tl = t(lang, "view.timeline"),
        hint = t(lang, "view.play_hint"),
        rec = t(lang, "view.recorded"),
        gap = t(lang, "view.gap"),
    );
    page(lang, &cam.name, Some(&user), &body).into_response()
}
