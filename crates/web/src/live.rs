//! Live view over WebSocket: a text message with the codec, the fragmented-MP4
//! initialization segment, then one fragment per frame as the recorder stores it.
//! Refused entirely where the policy forbids live monitoring (by the route guard).

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, Path, State};
use axum::response::Response;
use mimamori_base::CameraId;
use mimamori_media::{SampleInfo, fmp4};
use tokio::sync::broadcast::error::RecvError;

use crate::AppState;
use crate::error::{AppError, AppResult};

#[derive(Debug, serde::Deserialize)]
pub struct LiveQuery {
    pub purpose: Option<String>,
    pub note: Option<String>,
}

/// `GET /api/cameras/{id}/live?purpose=ID[&note=]` (WebSocket)
pub async fn live_ws(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Extension(user): Extension<crate::auth::CurrentUser>,
    Extension(client): Extension<crate::audit::ClientAddr>,
    Extension(origin): Extension<mimamori_governance::access::Origin>,
    axum::extract::Query(q): axum::extract::Query<LiveQuery>,
    ws: WebSocketUpgrade,
) -> AppResult<Response> {
    // Watching live is an access to images too: it states a purpose (REQ-PUR-1).
    let purpose = crate::playback::stated_purpose(&state, q.purpose.as_deref(), q.note.as_deref())?;
    let camera = state.catalog.camera(CameraId(id)).await?;
    if camera.removed_at.is_some() {
        return Err(AppError::not_found("camera removed"));
    }
    if let Err(refusal) = crate::authz::camera_operation(
        &state,
        &user,
        &origin,
        mimamori_policy::Permission::LiveView,
        camera.id,
        None,
        &format!("/api/cameras/{id}/live"),
    )
    .await?
    {
        return Ok(refusal);
    }
    crate::audit::record(
        &state,
        Some(&user),
        "",
        &client.0,
        crate::audit::Access {
            action: "live_view",
            camera: Some(camera.id),
            range: None,
            purpose: &purpose,
            detail: String::new(),
        },
    )
    .await?;
    Ok(ws.on_upgrade(move |socket| stream_live(state, camera.id, socket)))
}

async fn stream_live(state: AppState, camera: CameraId, mut socket: WebSocket) {
    let mut rx = state.recorders.hub().subscribe_live(camera);
    let mut params = None;
    let mut base_pts = 0i64;
    let mut sequence: u32 = 1;
    loop {
        tokio::select! {
            msg = socket.recv() => match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
            frame = rx.recv() => {
                let frame = match frame {
                    Ok(f) => f,
                    // Too slow a viewer, or the recorder went away: the client reconnects.
                    Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => {
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                };
                match &params {
                    None => {
                        if !frame.key {
                            continue;
                        }
                        let p = frame.params.clone();
                        let hello = serde_json::json!({"codec": p.rfc6381_codec, "width": p.width, "height": p.height});
                        if socket.send(Message::Text(hello.to_string().into())).await.is_err() {
                            return;
                        }
                        let init = fmp4::init_segment(&p.sample_entry, p.width, p.height);
                        if socket.send(Message::Binary(init.into())).await.is_err() {
                            return;
                        }
                        base_pts = frame.pts_90k;
                        params = Some(p);
                    }
                    Some(p) if !Arc::ptr_eq(p, &frame.params) && **p != *frame.params => {
                        // New codec parameters: the client starts over.
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                    Some(_) => {}
                }
                let sample = SampleInfo {
                    size: u32::try_from(frame.data.len()).unwrap_or(u32::MAX),
                    duration_90k: frame.duration_90k,
                    key: frame.key,
                };
                let decode_time = u64::try_from(frame.pts_90k - base_pts).unwrap_or(0);
                let mut out = fmp4::fragment_header(sequence, decode_time, &[sample]);
                out.extend_from_slice(&frame.data);
                sequence = sequence.wrapping_add(1);
                if socket.send(Message::Binary(out.into())).await.is_err() {
                    return;
                }
            }
        }
    }
}
