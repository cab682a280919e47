//! Audit in the web layer: the one function handlers call to record an access
//! ([`record`], written before any image byte leaves), the audit page with filters,
//! and CSV export (UTF-8 with BOM, so Excel opens the Japanese correctly).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;

use axum::extract::{ConnectInfo, Extension, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mimamori_base::time::jst;
use mimamori_base::{CameraId, Timestamp};
use mimamori_catalog::audit::{AuditEntry, AuditFilter, AuditRecord};
use serde::Deserialize;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::html::{esc, page};
use crate::i18n::{Lang, t};

/// The client address of a request, and whether it came over TLS; put in its
/// extensions by [`client_address`].
#[derive(Clone, Debug, Default)]
pub struct ClientAddr(pub String, pub bool);

/// Middleware: records the peer address for audit entries, and the request's
/// [`Origin`](mimamori_governance::access::Origin) for the terminal rules.
pub async fn client_address(mut req: Request, next: Next) -> Response {
    let addr = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let over_tls = req.extensions().get::<crate::tls::OverTls>().is_some();
    req.extensions_mut().insert(ClientAddr(addr, over_tls));
    let origin = crate::authz::origin_of(req.extensions());
    req.extensions_mut().insert(origin);
    next.run(req).await
}

/// Playback of one range arrives as many Range requests: one entry per person,
/// camera and range every ten minutes is enough.
#[derive(Debug, Default)]
pub struct RecentViews(Mutex<HashMap<String, Timestamp>>);

impl RecentViews {
    fn fresh(&self, key: String, now: Timestamp) -> bool {
        let mut m = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        m.retain(|_, t| now.0 - t.0 < 600_000_000);
        if m.contains_key(&key) {
            return false;
        }
        m.insert(key, now);
        true
    }
}

/// What to record.
pub struct Access<'a> {
    pub action: &'a str,
    pub camera: Option<CameraId>,
    pub range: Option<(Timestamp, Timestamp)>,
    pub purpose: &'a str,
    pub detail: String,
}

/// Writes an audit entry. Callers serving images call this first and serve nothing if it fails.
pub async fn record(
    state: &AppState,
    user: Option<&CurrentUser>,
    username: &str,
    client: &str,
    a: Access<'_>,
) -> AppResult<()> {
    match user {
        Some(u) => record_for(state, Some(u.user.id), &u.user.username, client, a).await,
        None => record_for(state, None, username, client, a).await,
    }
}

/// Writes an audit entry for a person known by id (a login, before a session exists).
pub async fn record_for(
    state: &AppState,
    user_id: Option<mimamori_base::UserId>,
    username: &str,
    client: &str,
    a: Access<'_>,
) -> AppResult<()> {
    state
        .catalog
        .audit_append(&AuditRecord {
            at: state.clock.now(),
            user_id,
            username: username.to_string(),
            action: a.action.to_string(),
            camera_id: a.camera,
            range: a.range,
            client: client.to_string(),
            purpose: a.purpose.to_string(),
            detail: a.detail,
        })
        .await?;
    Ok(())
}

/// Records a viewing once per person, camera and range (see [`RecentViews`]).
pub async fn record_view(
    state: &AppState,
    user: &CurrentUser,
    client: &str,
    a: Access<'_>,
) -> AppResult<()> {
    let key = format!(
        "{}|{}|{:?}|{:?}|{}",
        user.user.id, a.action, a.camera, a.range, a.purpose
    );
    if !state.recent_views.fresh(key, state.clock.now()) {
        return Ok(());
    }
    record(state, Some(user), "", client, a).await
}

#[derive(Debug, Deserialize, Default)]
pub struct AuditQuery {
    pub user: Option<String>,
    pub camera: Option<String>,
    pub action: Option<String>,
    /// `YYYY-MM-DD` (Japan time)
    pub date: Option<String>,
}

fn filter_of(q: &AuditQuery) -> AppResult<AuditFilter> {
    let nonempty = |v: &Option<String>| {
        v.as_ref()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let camera = match nonempty(&q.camera) {
        Some(c) => Some(CameraId(
            c.parse()
                .map_err(|_| AppError::bad_input("camera: a camera id"))?,
        )),
        None => None,
    };
    let (from, to) = match nonempty(&q.date) {
        Some(d) => {
            let day = chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                .map_err(|_| AppError::bad_input("date: YYYY-MM-DD"))?;
            let start = crate::playback::parse_time("date", &format!("{day}T00:00:00+09:00"))?;
            (Some(start), Some(start.add_micros(86_400_000_000)))
        }
        None => (None, None),
    };
    Ok(AuditFilter {
        username: nonempty(&q.user),
        camera_id: camera,
        action: nonempty(&q.action),
        from,
        to,
        limit: Some(5_000),
    })
}

/// Resolves each entry's person to the designation valid at the entry's time
/// (REQ-ROL-5): "管理責任者 (#3)" — the role's title and the designation number.
/// Outsourced people show their company (REQ-ROL-7: their actions are reviewable).
struct RolesAtTime {
    designations: Vec<mimamori_catalog::people::Designation>,
    organizations: HashMap<mimamori_base::UserId, String>,
}

impl RolesAtTime {
    async fn load(state: &AppState) -> AppResult<Self> {
        Ok(RolesAtTime {
            designations: state.catalog.designations().await?,
            organizations: state
                .catalog
                .users()
                .await?
                .into_iter()
                .filter(|u| !u.organization.is_empty())
                .map(|u| (u.id, u.organization))
                .collect(),
        })
    }

    fn of(&self, state: &AppState, e: &AuditEntry) -> String {
        let Some(user) = e.record.user_id else {
            return String::new();
        };
        self.designations
            .iter()
            .rev()
            .find(|d| d.user_id == user && d.valid_at(e.record.at))
            .map(|d| {
                let title = mimamori_policy::RoleKind::parse(&d.role)
                    .map(|k| state.policy.role_title(k))
                    .unwrap_or_else(|| d.role.clone());
                match self.organizations.get(&user) {
                    Some(org) => format!("{title} (#{}) · {org}", d.id),
                    None => format!("{title} (#{})", d.id),
                }
            })
            .unwrap_or_else(|| "—".into())
    }
}

fn when(t: Timestamp) -> String {
    t.to_datetime()
        .with_timezone(&jst())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn range_text(e: &AuditEntry) -> String {
    e.record
        .range
        .map(|(a, b)| format!("{} – {}", when(a), when(b)))
        .unwrap_or_default()
}

/// `GET /audit`
pub async fn audit_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<AuditQuery>,
) -> AppResult<Response> {
    let lang = Lang::from_cookie(crate::auth::cookie(&headers, "lang"));
    let entries = state.catalog.audit_entries(&filter_of(&q)?).await?;
    let roles = RolesAtTime::load(&state).await?;
    let v = |o: &Option<String>| esc(o.as_deref().unwrap_or(""));
    let mut rows = String::new();
    for e in &entries {
        rows.push_str(&format!(
            "<tr data-seq=\"{}\" data-action=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e.seq,
            esc(&e.record.action),
            e.seq,
            when(e.record.at),
            esc(&e.record.username),
            esc(&roles.of(&state, e)),
            esc(&e.record.action),
            e.record.camera_id.map(|c| c.to_string()).unwrap_or_default(),
            range_text(e),
            esc(&e.record.client),
            esc(&e.record.purpose),
            esc(&e.record.detail)
        ));
    }
    let qs = format!(
        "user={}&camera={}&action={}&date={}",
        v(&q.user),
        v(&q.camera),
        v(&q.action),
        v(&q.date)
    );
    let body = format!(
        r#"<h1>{title}</h1><form method="get" action="/audit" class="inline-form" id="audit-filter">
<label>{lu}<input name="user" value="{u}"></label><label>{lc}<input name="camera" value="{c}" size="4"></label>
<label>{la}<input name="action" value="{a}"></label><label>{ld}<input type="date" name="date" value="{d}"></label>
<button>{filter}</button> <a class="button" href="/audit.csv?{qs}" id="audit-csv">CSV</a></form>
<table id="audit"><thead><tr><th>#</th><th>{lt}</th><th>{lu}</th><th>{lrole}</th><th>{la}</th><th>{lc}</th><th>{lr}</th><th>{lcl}</th><th>{lp}</th><th>{ldt}</th></tr></thead><tbody>{rows}</tbody></table>"#,
        title = t(lang, "audit.title"),
        lu = t(lang, "audit.user"),
        lrole = t(lang, "audit.role"),
        lc = t(lang, "audit.camera"),
        la = t(lang, "audit.action"),
        ld = t(lang, "audit.date"),
        lt = t(lang, "audit.time"),
        lr = t(lang, "audit.range"),
        lcl = t(lang, "audit.client"),
        lp = t(lang, "audit.purpose"),
        ldt = t(lang, "audit.detail"),
        filter = t(lang, "audit.filter"),
        u = v(&q.user),
        c = v(&q.camera),
        a = v(&q.action),
        d = v(&q.date),
    );
    Ok(page(lang, t(lang, "audit.title"), Some(&user), &body).into_response())
}

/// `GET /api/audit`: the filtered log as JSON, each entry with the role valid at its time.
pub async fn audit_api(
    State(state): State<AppState>,
    Query(q): Query<AuditQuery>,
) -> AppResult<axum::Json<serde_json::Value>> {
    let entries = state.catalog.audit_entries(&filter_of(&q)?).await?;
    let roles = RolesAtTime::load(&state).await?;
    let list: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "seq": e.seq,
                "at": e.record.at.to_rfc3339(jst()),
                "username": e.record.username,
                "role": roles.of(&state, e),
                "action": e.record.action,
                "camera_id": e.record.camera_id.map(|c| c.0),
                "range": e.record.range.map(|(a, b)| [a.to_rfc3339(jst()), b.to_rfc3339(jst())]),
                "client": e.record.client,
                "purpose": e.record.purpose,
                "detail": e.record.detail,
            })
        })
        .collect();
    Ok(axum::Json(serde_json::json!({ "entries": list })))
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `GET /audit.csv`: the filtered log as CSV, UTF-8 with BOM.
pub async fn audit_csv(
    State(state): State<AppState>,
    Extension(user): Extension<CurrentUser>,
    Query(q): Query<AuditQuery>,
) -> AppResult<Response> {
    let _ = user;
    let entries = state.catalog.audit_entries(&filter_of(&q)?).await?;
    let roles = RolesAtTime::load(&state).await?;
    let mut out =
        String::from("\u{feff}番号,日時,利用者,役割,操作,カメラ,対象期間,端末,目的,詳細\r\n");
    for e in entries.iter().rev() {
        let cols = [
            e.seq.to_string(),
            when(e.record.at),
            e.record.username.clone(),
            roles.of(&state, e),
            e.record.action.clone(),
            e.record
                .camera_id
                .map(|c| c.to_string())
                .unwrap_or_default(),
            range_text(e),
            e.record.client.clone(),
            e.record.purpose.clone(),
            e.record.detail.clone(),
        ];
        out.push_str(
            &cols
                .iter()
                .map(|c| csv_field(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"audit.csv\""),
            ),
        ],
        out,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_it() {
        assert_eq!(csv_field("a"), "a");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
