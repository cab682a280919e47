//! Images out: recorded footage as a progressive MP4 (players, downloads) or a
//! fragmented MP4 (Media Source Extensions), served through the ranged responder
//! after the application layer has checked the viewing and written its entry;
//! and live view over WebSocket: a text message with the codec, the
//! fragmented-MP4 initialization segment, then one fragment per frame as the
//! recorder stores it; a camera another node records is relayed from that
//! node's relay route.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use mimamori_base::CameraId;
use mimamori_governance::relay::LiveSource;
use mimamori_governance::viewing::{FootageQuery, Shape};
use mimamori_media::{SampleInfo, fmp4};
use tokio::sync::broadcast::error::RecvError;

use crate::http::error::WebResult;
use crate::http::ranged;
use crate::http::session::CurrentUser;
use crate::state::AppState;

/// `GET /api/cameras/{id}/video.mp4?start=&end=&purpose=[&note=][&download=1]`
pub async fn video_mp4(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<FootageQuery>,
    user: CurrentUser,
    req: Request,
) -> WebResult<Response> {
    serve_footage(&state, id, &q, &user, headless(req), Shape::Progressive).await
}

/// `GET /api/cameras/{id}/fragmented.mp4?start=&end=&purpose=`: the same range as
/// fragmented MP4. `X-Mimamori-Codecs` lists the codec strings, and
/// `X-Mimamori-Lead-Seconds` says how far after its start `start` lies.
pub async fn video_fragmented(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<FootageQuery>,
    user: CurrentUser,
    req: Request,
) -> WebResult<Response> {
    serve_footage(&state, id, &q, &user, headless(req), Shape::Fragmented).await
}

/// The request without its (empty) body: what the ranged responder reads.
fn headless(req: Request) -> axum::http::Request<()> {
    let (parts, _) = req.into_parts();
    axum::http::Request::from_parts(parts, ())
}

async fn serve_footage(
    state: &AppState,
    id: i64,
    q: &FootageQuery,
    user: &CurrentUser,
    req: axum::http::Request<()>,
    shape: Shape,
) -> WebResult<Response> {
    let footage = state
        .gov
        .footage(&user.actor(), CameraId(id), q, shape)
        .await?;
    Ok(ranged::serve(footage, &req))
}

#[derive(Debug, serde::Deserialize)]
pub struct LiveQuery {
    pub purpose: Option<String>,
    pub note: Option<String>,
}

/// Whether a WebSocket handshake comes from a page of this server: browsers send
/// `Origin` with every handshake, and another site's page must not open live view
/// with the person's cookie.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // Not a browser (a script with its own session): nothing to forge.
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    url::Url::parse(origin).ok().is_some_and(|u| {
        let authority = match u.port() {
            Some(p) => format!("{}:{p}", u.host_str().unwrap_or_default()),
            None => u.host_str().unwrap_or_default().to_string(),
        };
        !host.is_empty() && authority.eq_ignore_ascii_case(host)
    })
}

/// `GET /api/cameras/{id}/live?purpose=ID[&note=]` (WebSocket). The stream ends
/// within a second of the session ending (logout, revocation, expiry, the end of
/// the designation).
pub async fn live_ws(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    user: CurrentUser,
    headers: HeaderMap,
    Query(q): Query<LiveQuery>,
    ws: WebSocketUpgrade,
) -> WebResult<Response> {
    if !same_origin(&headers) {
        return Err(mimamori_governance::Error::Denied(
            "live view opens only from this server's pages (foreign Origin)".into(),
        )
        .into());
    }
    let here = state.recorders.node().to_string();
    let source = state
        .gov
        .live_view_on(
            &user.actor(),
            CameraId(id),
            q.purpose.as_deref(),
            q.note.as_deref(),
            &here,
        )
        .await?;
    Ok(match source {
        LiveSource::Here(camera) => {
            ws.on_upgrade(move |socket| stream_live(state, Some(user), camera, socket))
        }
        LiveSource::Node { node, url } => {
            ws.on_upgrade(move |socket| relay_live(state, user, node, url, socket))
        }
    })
}

/// `GET /api/relay/live/{id}?grant=` (WebSocket): live view of a camera this
/// node records, for another node of the installation, which checked the
/// viewing, wrote its entry and signed the grant (see
/// `mimamori_governance::relay`). The stream is the one `live_ws` sends.
pub async fn relay_live_ws(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<RelayQuery>,
    ws: WebSocketUpgrade,
) -> WebResult<Response> {
    let accepted = state
        .gov
        .accept_live_grant(
            CameraId(id),
            q.grant.as_deref().unwrap_or_default(),
            state.recorders.node(),
        )
        .inspect_err(|e| tracing::warn!(camera = id, "live view relay refused: {e}"))?;
    tracing::info!(camera = %accepted.camera, node = %accepted.from, user = %accepted.user, "live view relayed to another node");
    Ok(ws.on_upgrade(move |socket| stream_live(state, None, accepted.camera, socket)))
}

#[derive(Debug, serde::Deserialize)]
pub struct RelayQuery {
    pub grant: Option<String>,
}

/// Relays the recording node's live stream to the person's socket, message for
/// message, while their session lasts.
async fn relay_live(
    state: AppState,
    user: CurrentUser,
    node: String,
    url: String,
    mut socket: WebSocket,
) {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::Message as Upstream;

    let connector = state
        .relay_tls
        .clone()
        .map(tokio_tungstenite::Connector::Rustls);
    let connecting = tokio_tungstenite::connect_async_tls_with_config(&url, None, false, connector);
    let connected = tokio::time::timeout(RELAY_CONNECT, connecting).await;
    let outcome = match connected {
        Ok(Ok((upstream, _))) => Ok(upstream),
        Ok(Err(e)) => Err(format!(
            "the recording node refused or cannot be reached: {e}"
        )),
        Err(_) => Err(format!(
            "no answer from the recording node within {} s",
            RELAY_CONNECT.as_secs()
        )),
    };
    let mut upstream = match outcome {
        Ok(upstream) => upstream,
        Err(why) => {
            tracing::warn!(%node, "live view relay: {why}");
            // 1011 (the server could not do it): the page says so instead of
            // asking again at once.
            let close = axum::extract::ws::CloseFrame {
                code: 1011,
                reason: format!("the node {node} cannot be reached").into(),
            };
            let _ = socket.send(Message::Close(Some(close))).await;
            return;
        }
    };
    let mut check = tokio::time::interval(SESSION_CHECK);
    loop {
        tokio::select! {
            _ = check.tick() => {
                if !state.gov.still_signed_in(&user.0).await.unwrap_or(false) {
                    break;
                }
            },
            msg = socket.recv() => match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            },
            msg = upstream.next() => {
                let out = match msg {
                    Some(Ok(Upstream::Binary(b))) => Message::Binary(b),
                    Some(Ok(Upstream::Text(t))) => Message::Text(t.as_str().into()),
                    Some(Ok(Upstream::Ping(_) | Upstream::Pong(_) | Upstream::Frame(_))) => continue,
                    Some(Ok(Upstream::Close(_))) | Some(Err(_)) | None => break,
                };
                if socket.send(out).await.is_err() {
                    let _ = upstream.close(None).await;
                    return;
                }
            }
        }
    }
    let _ = socket.send(Message::Close(None)).await;
    let _ = upstream.close(None).await;
}

/// How long the relay waits for the recording node to answer.
const RELAY_CONNECT: std::time::Duration = std::time::Duration::from_secs(5);

/// How often a live stream checks that its session is still valid.
const SESSION_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// Streams this node's live frames of `camera`; with `user`, while their
/// session lasts (a relayed stream is ended by the relaying node).
async fn stream_live(
    state: AppState,
    user: Option<CurrentUser>,
    camera: CameraId,
    mut socket: WebSocket,
) {
    let mut rx = state.recorders.hub().subscribe_live(camera);
    let mut params = None;
    let mut base_pts = 0i64;
    let mut sequence: u32 = 1;
    let mut check = tokio::time::interval(SESSION_CHECK);
    loop {
        tokio::select! {
            _ = check.tick() => {
                if let Some(user) = &user
                    && !state.gov.still_signed_in(&user.0).await.unwrap_or(false)
                {
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
            },
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
