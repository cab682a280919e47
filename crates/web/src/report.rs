//! The yearly report in the UI: the preview (`/report?fy=2026`) and the
//! downloads, the static HTML page, the PDF and the CSV, as
//! `mimamori_forms::report` lays them out (the same that `mimamori report`
//! writes); the regulation and the 個人情報ファイル簿 entry as HTML and PDF.

use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::html;
use mimamori_forms::report::{YearlyReport, report_body, report_csv, report_html, report_pdf};
use serde::Deserialize;

use crate::http::error::WebResult;
use crate::http::session::CurrentUser;
use crate::state::AppState;
use crate::views::i18n::Lang;
use crate::views::page;

#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    pub fy: Option<i32>,
}

fn year_of(state: &AppState, q: &ReportQuery) -> i32 {
    q.fy.unwrap_or_else(|| {
        mimamori_governance::provisions::fiscal_year_of(state.gov.now().jst_date())
    })
}

/// `GET /report?fy=2026`: the manager's preview, with the downloads.
pub async fn report_page(
    State(state): State<AppState>,
    lang: Lang,
    user: CurrentUser,
    Query(q): Query<ReportQuery>,
) -> WebResult<Response> {
    let s = lang.strings();
    let fy = year_of(&state, &q);
    let r = state.gov.yearly_report(&user.actor(), fy).await?;
    let body = html! {
        (crate::records::records_nav(s))
        form method="get" action="/report" {
            label { "年度 " input name="fy" type="number" value=(fy) min="2000" max="2200"; }
            " " button { "表示" }
            " " a href={ "/report.html?fy=" (fy) } id="report-html" download { "HTML" }
            " " a href={ "/report.pdf?fy=" (fy) } id="report-pdf" { "PDF" }
            " " a href={ "/report.csv?fy=" (fy) } id="report-csv" { "CSV" }
        }
        section.card { (report_body(&r)) }
    };
    Ok(page(lang, s.rec_report, Some(&user.0), body).into_response())
}

fn download(body: Vec<u8>, content_type: &'static str, name: String) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// The report a download asks for.
async fn requested(
    state: &AppState,
    user: &CurrentUser,
    q: &ReportQuery,
) -> WebResult<YearlyReport> {
    Ok(state
        .gov
        .yearly_report(&user.actor(), year_of(state, q))
        .await?)
}

/// `GET /report.html?fy=2026`: the static page.
pub async fn report_html_get(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ReportQuery>,
) -> WebResult<Response> {
    let r = requested(&state, &user, &q).await?;
    Ok(download(
        report_html(&r).into_bytes(),
        "text/html; charset=utf-8",
        format!("report-{}.html", r.fiscal_year),
    ))
}

/// `GET /report.pdf?fy=2026`: the same report laid out on A4.
pub async fn report_pdf_get(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ReportQuery>,
) -> WebResult<Response> {
    let r = requested(&state, &user, &q).await?;
    let name = format!("report-{}.pdf", r.fiscal_year);
    let pdf = crate::provisions::lay_out(move || report_pdf(&r)).await?;
    Ok(crate::provisions::pdf_response(pdf, &name))
}

/// `GET /report.csv?fy=2026`
pub async fn report_csv_get(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ReportQuery>,
) -> WebResult<Response> {
    let r = requested(&state, &user, &q).await?;
    Ok(download(
        report_csv(&r),
        "text/csv; charset=utf-8",
        format!("report-{}.csv", r.fiscal_year),
    ))
}

fn html_page(body: String) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// `GET /documents/regulation.html`: the regulation generated from the policy in
/// force (REQ-REG-1), ready to print or publish.
pub async fn regulation_html(
    State(state): State<AppState>,
    user: CurrentUser,
) -> WebResult<Response> {
    let d = state.gov.regulation_document(&user.actor()).await?;
    Ok(html_page(mimamori_forms::document::document_html(&d)))
}

/// `GET /documents/personal-file.html`: the 個人情報ファイル簿 entry of the footage.
pub async fn personal_file_html(
    State(state): State<AppState>,
    user: CurrentUser,
) -> WebResult<Response> {
    let d = state.gov.personal_file_entry(&user.actor()).await?;
    Ok(html_page(mimamori_forms::document::document_html(&d)))
}

/// `GET /documents/regulation.pdf`: the regulation on A4.
pub async fn regulation_pdf(
    State(state): State<AppState>,
    user: CurrentUser,
) -> WebResult<Response> {
    let d = state.gov.regulation_document(&user.actor()).await?;
    let pdf =
        crate::provisions::lay_out(move || mimamori_forms::document::document_pdf(&d)).await?;
    Ok(crate::provisions::pdf_response(pdf, "regulation.pdf"))
}

/// `GET /documents/personal-file.pdf`: the 個人情報ファイル簿 entry on A4.
pub async fn personal_file_pdf(
    State(state): State<AppState>,
    user: CurrentUser,
) -> WebResult<Response> {
    let d = state.gov.personal_file_entry(&user.actor()).await?;
    let pdf =
        crate::provisions::lay_out(move || mimamori_forms::document::document_pdf(&d)).await?;
    Ok(crate::provisions::pdf_response(pdf, "personal-file.pdf"))
}
