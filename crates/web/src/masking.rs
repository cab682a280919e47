//! Masked copies on the request page: the still to mark areas on, the form
//! (one area per line, or drawn on the still by the page script) and the JSON
//! API. The rules and the logging are the application layer's
//! (`Governance::provision_mask`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use mimamori_catalog::provisions::Package;
use mimamori_governance::masking::{MaskArea, MaskRegion, MaskText};
use serde::Deserialize;
use serde_json::json;

use crate::http::error::{WebError, WebResult};
use crate::http::form::{FormFields, json_body};
use crate::http::session::CurrentUser;
use crate::state::AppState;
use crate::views::csrf_field;
use crate::views::i18n::Strings;

#[derive(Debug, Deserialize)]
pub struct StillQuery {
    pub camera: i64,
    #[serde(default)]
    pub at: f64,
}

/// `GET /provisions/{id}/packages/{package}/still?camera=&at=`: a JPEG of the
/// clip at `at` seconds, to mark areas on (logged).
pub async fn still_get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, pkg)): Path<(i64, i64)>,
    Query(q): Query<StillQuery>,
) -> WebResult<Response> {
    let jpeg = state
        .gov
        .provision_still(&user.actor(), id, pkg, q.camera, q.at)
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        jpeg,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct RegionBody {
    pub camera: i64,
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub from_seconds: Option<f64>,
    pub to_seconds: Option<f64>,
}

#[derive(Debug, Deserialize)]
pub struct MaskBody {
    pub regions: Vec<RegionBody>,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub wait: bool,
}

/// One area per line: `camera x y width height [from_seconds to_seconds]`
/// (numbers separated by spaces or commas).
pub fn parse_regions(text: &str) -> Result<Vec<MaskRegion>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line
            .split([' ', ',', '\t', '　'])
            .filter(|f| !f.is_empty())
            .collect();
        if fields.is_empty() {
            continue;
        }
        let bad = || {
            format!(
                "regions line {}: camera x y width height [from to] (カメラ番号 x y 幅 高さ [開始秒 終了秒])",
                n + 1
            )
        };
        if fields.len() != 5 && fields.len() != 7 {
            return Err(bad());
        }
        let int = |i: usize| fields[i].parse::<u32>().map_err(|_| bad());
        let seconds = |i: usize| -> Result<Option<f64>, String> {
            match fields.get(i) {
                None => Ok(None),
                Some(v) => v.parse::<f64>().map(Some).map_err(|_| bad()),
            }
        };
        out.push(MaskRegion {
            camera: fields[0].parse().map_err(|_| bad())?,
            area: MaskArea {
                x: int(1)?,
                y: int(2)?,
                width: int(3)?,
                height: int(4)?,
                from_seconds: seconds(5)?,
                to_seconds: seconds(6)?,
            },
        });
    }
    Ok(out)
}

/// `POST /api/provisions/{id}/packages/{package}/mask` `{regions: [{camera, x, y,
/// width, height, from_seconds?, to_seconds?}], reason?, wait?}`: 202 at once,
/// or 201 with the copy when `wait`.
pub async fn mask_api(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, pkg)): Path<(i64, i64)>,
    b: Option<Json<MaskBody>>,
) -> WebResult<Response> {
    let b = json_body(b, "{regions: [{camera, x, y, width, height}], reason?}")?;
    let regions = b
        .regions
        .iter()
        .map(|r| MaskRegion {
            camera: r.camera,
            area: MaskArea {
                x: r.x,
                y: r.y,
                width: r.width,
                height: r.height,
                from_seconds: r.from_seconds,
                to_seconds: r.to_seconds,
            },
        })
        .collect();
    let task = state
        .gov
        .provision_mask(
            &user.actor(),
            id,
            pkg,
            &MaskText {
                regions,
                reason: &b.reason,
            },
        )
        .await?;
    if !b.wait {
        return Ok((StatusCode::ACCEPTED, Json(json!({"building": id}))).into_response());
    }
    let copy = task
        .await
        .map_err(|e| WebError(mimamori_governance::Error::Inconsistent(e.to_string())))??;
    Ok((
        StatusCode::CREATED,
        Json(json!({"package": copy.id, "derived_from": pkg, "bytes": copy.bytes, "sha256": hex::encode(&copy.sha256)})),
    )
        .into_response())
}

/// `POST /provisions/{id}/packages/{package}/mask`
pub async fn mask_submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, pkg)): Path<(i64, i64)>,
    body: String,
) -> WebResult<Redirect> {
    let f = FormFields::parse(&body);
    let regions = parse_regions(f.get("regions"))
        .map_err(|m| WebError(mimamori_governance::Error::BadInput(m)))?;
    state
        .gov
        .provision_mask(
            &user.actor(),
            id,
            pkg,
            &MaskText {
                regions,
                reason: f.get("reason"),
            },
        )
        .await?;
    Ok(Redirect::to(&format!("/provisions/{id}")))
}

/// The request page's part for one original package: a still per camera to
/// draw on (loaded when opened) and the form.
pub fn mask_section(s: &Strings, user: &CurrentUser, id: i64, pkg: &Package) -> Markup {
    html! {
        details.mask data-mask-package=(pkg.id) {
            summary { (s.mask_title) " #" (pkg.id) }
            p.muted { (s.mask_help) }
            @for c in &pkg.cameras {
                figure.mask-still {
                    img data-src={ "/provisions/" (id) "/packages/" (pkg.id) "/still?camera=" (c) "&at=1" } data-camera=(c) alt=(s.mask_still);
                    figcaption { (s.prov_cameras) " " (c) " — " a href={ "/provisions/" (id) "/packages/" (pkg.id) "/still?camera=" (c) "&at=1" } { (s.mask_still) } }
                }
            }
            form method="post" action={ "/provisions/" (id) "/packages/" (pkg.id) "/mask" } {
                (csrf_field(&user.0))
                label { (s.mask_regions) textarea name="regions" rows="4" required placeholder="1 10 10 200 150" {} }
                label { (s.mask_reason) input name="reason" placeholder=(s.mask_reason_hint); }
                button { (s.mask_make) }
            }
        }
    }
}
