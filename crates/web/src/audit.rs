//! The audit log as the manager and the auditor read it: the page with filters,
//! the JSON API, and CSV (UTF-8 with BOM, so Excel opens the Japanese correctly;
//! cells that a spreadsheet would take for a formula are quoted as text).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::html;
use mimamori_base::time::{jst, parse_date};
use mimamori_base::{CameraId, Timestamp};
use mimamori_governance::audit::{AuditLine, AuditQuery};
use serde::Deserialize;

use crate::http::error::{WebError, WebResult};
use crate::http::session::CurrentUser;
use crate::state::AppState;
use crate::views::i18n::Lang;
use crate::views::page;

/// The filter as the page's form and the API's query string send it.
#[derive(Debug, Deserialize, Default)]
pub struct AuditFilterText {
    pub user: Option<String>,
    pub camera: Option<String>,
    pub action: Option<String>,
    /// `YYYY-MM-DD` (Japan time)
    pub date: Option<String>,
}

fn nonempty(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

impl AuditFilterText {
    fn parse(&self) -> WebResult<AuditQuery> {
        let camera = match nonempty(&self.camera) {
            Some(c) => Some(CameraId(
                c.parse()
                    .map_err(|_| WebError::bad_input("camera: a camera id"))?,
            )),
            None => None,
        };
        let day = match nonempty(&self.date) {
            Some(d) => Some(parse_date("date", &d)?),
            None => None,
        };
        Ok(AuditQuery {
            username: nonempty(&self.user),
            camera,
            action: nonempty(&self.action),
            day,
        })
    }
}

fn range_text(l: &AuditLine) -> String {
    l.entry
        .record
        .range
        .map(|(a, b)| format!("{} – {}", a.jst_second(), b.jst_second()))
        .unwrap_or_default()
}

fn camera_text(l: &AuditLine) -> String {
    l.entry
        .record
        .camera_id
        .map(|c| c.to_string())
        .unwrap_or_default()
}

fn when(t: Timestamp) -> String {
    t.jst_second()
}

/// `GET /audit`
pub async fn audit_page(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
    Query(q): Query<AuditFilterText>,
) -> WebResult<Response> {
    let s = lang.strings();
    let lines = state.gov.audit_lines(&user.actor(), &q.parse()?).await?;
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    let csv_query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("user", &v(&q.user))
        .append_pair("camera", &v(&q.camera))
        .append_pair("action", &v(&q.action))
        .append_pair("date", &v(&q.date))
        .finish();
    let body = html! {
        h1 { (s.audit_title) }
        form.inline-form method="get" action="/audit" id="audit-filter" {
            label { (s.audit_user) input name="user" value=(v(&q.user)); }
            label { (s.audit_camera) input name="camera" value=(v(&q.camera)) size="4"; }
            label { (s.audit_action) input name="action" value=(v(&q.action)); }
            label { (s.audit_date) input type="date" name="date" value=(v(&q.date)); }
            button { (s.audit_filter) }
            " "
            a.button href={ "/audit.csv?" (csv_query) } id="audit-csv" { "CSV" }
        }
        table id="audit" {
            thead { tr {
                th { "#" } th { (s.audit_time) } th { (s.audit_user) } th { (s.audit_role) } th { (s.audit_action) }
                th { (s.audit_camera) } th { (s.audit_range) } th { (s.audit_client) } th { (s.audit_purpose) } th { (s.audit_detail) }
            } }
            tbody {
                @for l in &lines {
                    @let r = &l.entry.record;
                    tr data-seq=(l.entry.seq) data-action=(r.action) {
                        td { (l.entry.seq) }
                        td { (when(r.at)) }
                        td { (r.username) }
                        td { (l.role) }
                        td { (r.action) }
                        td { (camera_text(l)) }
                        td { (range_text(l)) }
                        td { (r.client) }
                        td { (r.purpose) }
                        td { (r.detail) }
                    }
                }
            }
        }
    };
    Ok(page(lang, s.audit_title, Some(&user.0), body).into_response())
}

/// `GET /api/audit`: the filtered log as JSON, each entry with the role valid at its time.
pub async fn audit_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<AuditFilterText>,
) -> WebResult<Json<serde_json::Value>> {
    let lines = state.gov.audit_lines(&user.actor(), &q.parse()?).await?;
    let list: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| {
            let r = &l.entry.record;
            serde_json::json!({
                "seq": l.entry.seq,
                "at": r.at.to_rfc3339(jst()),
                "username": r.username,
                "role": l.role,
                "action": r.action,
                "camera_id": r.camera_id.map(|c| c.0),
                "range": r.range.map(|(a, b)| [a.to_rfc3339(jst()), b.to_rfc3339(jst())]),
                "client": r.client,
                "purpose": r.purpose,
                "detail": r.detail,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "entries": list })))
}

/// One CSV cell: quoted where needed; a cell a spreadsheet would read as a
/// formula (`=`, `+`, `-`, `@`, tab, CR) is prefixed with `'` so it stays text.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// `GET /audit.csv`: the filtered log as CSV, UTF-8 with BOM, oldest first.
pub async fn audit_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<AuditFilterText>,
) -> WebResult<Response> {
    let lines = state.gov.audit_lines(&user.actor(), &q.parse()?).await?;
    let mut out =
        String::from("\u{feff}番号,日時,利用者,役割,操作,カメラ,対象期間,端末,目的,詳細\r\n");
    for l in lines.iter().rev() {
        let r = &l.entry.record;
        let cols = [
            l.entry.seq.to_string(),
            when(r.at),
            r.username.clone(),
            l.role.clone(),
            r.action.clone(),
            camera_text(l),
            range_text(l),
            r.client.clone(),
            r.purpose.clone(),
            r.detail.clone(),
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
    fn csv_quotes_what_needs_it_and_keeps_formulas_text() {
        assert_eq!(csv_field("a"), "a");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
    }
}
