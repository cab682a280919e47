//! The monitoring doors: `GET /healthz` (the process answers), `GET /readyz` (the
//! catalog and the store answer) and `GET /metrics` (Prometheus/OpenMetrics text:
//! per camera stream frames, bytes, gaps by reason and seconds since the last
//! frame; per node the catalog's latency, the store, disk free, the retention
//! forecast, audit appends, sweeper runs and erasures). Who may read them is the
//! application layer's decision (`Governance::admit_monitoring`), enforced by the
//! guard for [`Need::Monitor`](crate::authz::Need::Monitor) routes and again by the
//! operations. The text is encoded by `prometheus-client`; label values are
//! escaped here first ([`LabelText`]) because that crate writes them verbatim, and a
//! camera name (Japanese, chosen by staff) may hold a quote or a line break.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use mimamori_base::CameraId;
use mimamori_governance::monitoring::NodeFigures;
use mimamori_recorder::JournalHealth;
use mimamori_recorder::hub::{CameraState, CameraStatus};
use std::fmt::Write as _;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;

use crate::AppState;
use crate::http::error::WebResult;
use crate::http::origin::RequestOrigin;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `GET /healthz`: the process runs and answers.
pub async fn healthz() -> Response {
    text(StatusCode::OK, "ok\n".into())
}

/// `GET /readyz`: 200 when the catalog and the store answer, 503 saying which does not.
pub async fn readyz(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
) -> WebResult<Response> {
    let r = state.gov.readiness(&origin).await?;
    let catalog = match &r.catalog {
        Ok(s) => format!("catalog: ok ({:.3} s)", s),
        Err(e) => e.clone(),
    };
    let store = match &r.store {
        Ok(()) => "store: ok".to_string(),
        Err(e) => e.clone(),
    };
    let (status, head) = if r.ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    };
    let j = state.recorders.catalog_journal();
    let journal = match (j.waiting, &j.last_error) {
        (0, _) => "local journal: empty".to_string(),
        (n, Some(e)) => format!("local journal: {n} rows wait for the catalog ({e})"),
        (n, None) => format!("local journal: {n} rows being handed to the catalog"),
    };
    Ok(text(
        status,
        format!("{head}\n{catalog}\n{store}\n{journal}\n"),
    ))
}

/// `GET /metrics`: this node's figures.
pub async fn metrics(
    State(state): State<AppState>,
    RequestOrigin(origin): RequestOrigin,
) -> WebResult<Response> {
    let figures = state.gov.node_figures(&origin).await?;
    let streams = state.recorders.hub().all();
    let journal = state.recorders.catalog_journal();
    let body = encode(&figures, &streams, &journal).map_err(|e| {
        mimamori_governance::Error::Inconsistent(format!("encoding the metrics: {e}"))
    })?;
    Ok(([(header::CONTENT_TYPE, OPENMETRICS)], body).into_response())
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// A label value written with the OpenMetrics escapes (`\\`, `\"`, `\n`).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct LabelText(String);

impl EncodeLabelValue for LabelText {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        for c in self.0.chars() {
            match c {
                '\\' => encoder.write_str("\\\\")?,
                '"' => encoder.write_str("\\\"")?,
                '\n' => encoder.write_str("\\n")?,
                c => encoder.write_char(c)?,
            }
        }
        Ok(())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StreamLabels {
    camera_id: i64,
    camera: LabelText,
    stream: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GapLabels {
    camera_id: i64,
    camera: LabelText,
    stream: String,
    reason: String,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// The registry for one scrape, encoded as OpenMetrics text.
fn encode(
    f: &NodeFigures,
    streams: &[(CameraId, mimamori_catalog::StreamKind, CameraStatus)],
    journal: &JournalHealth,
) -> Result<String, std::fmt::Error> {
    let mut r = Registry::with_prefix("mimamori");
    let names: HashMap<CameraId, &str> =
        f.cameras.iter().map(|(id, n)| (*id, n.as_str())).collect();

    let frames = Family::<StreamLabels, prometheus_client::metrics::counter::Counter>::default();
    let bytes = Family::<StreamLabels, prometheus_client::metrics::counter::Counter>::default();
    let gaps = Family::<GapLabels, prometheus_client::metrics::counter::Counter>::default();
    let since = Family::<StreamLabels, FloatGauge>::default();
    let recording = Family::<StreamLabels, Gauge>::default();
    for (camera, kind, s) in streams {
        let labels = StreamLabels {
            camera_id: camera.0,
            camera: LabelText(names.get(camera).copied().unwrap_or_default().to_string()),
            stream: kind.as_str().to_string(),
        };
        frames.get_or_create(&labels).inc_by(s.frames);
        bytes.get_or_create(&labels).inc_by(s.bytes);
        for (reason, n) in &s.gaps {
            gaps.get_or_create(&GapLabels {
                camera_id: labels.camera_id,
                camera: labels.camera.clone(),
                stream: labels.stream.clone(),
                reason: (*reason).to_string(),
            })
            .inc_by(*n);
        }
        if let Some(last) = s.last_frame_at {
            since
                .get_or_create(&labels)
                .set((f.at.0 - last.0).max(0) as f64 / 1e6);
        }
        recording
            .get_or_create(&labels)
            .set(i64::from(s.state == CameraState::Recording));
    }
    r.register(
        "camera_frames",
        "Frames received from the camera since this process started",
        frames,
    );
    r.register(
        "camera_received_bytes",
        "Bytes of frames received since this process started",
        bytes,
    );
    r.register(
        "camera_gaps",
        "Gaps in the recording opened since this process started, by reason",
        gaps,
    );
    r.register(
        "camera_seconds_since_last_frame",
        "Seconds since the stream's last frame arrived",
        since,
    );
    r.register(
        "camera_recording",
        "1 while frames arrive and are stored",
        recording,
    );

    let up = |ok: bool| ConstGauge::new(i64::from(ok));
    r.register(
        "catalog_up",
        "1 when the catalog answers",
        up(f.catalog_latency.is_some()),
    );
    r.register(
        "catalog_journal_rows",
        "Rows (segments, gap changes) kept on this node until the catalog answers",
        ConstGauge::new(i64::try_from(journal.waiting).unwrap_or(i64::MAX)),
    );
    if let Some(s) = f.catalog_latency {
        r.register(
            "catalog_latency_seconds",
            "Seconds one trivial catalog query took",
            ConstGauge::new(s),
        );
    }
    r.register(
        "store_up",
        "1 when the segment store answers",
        up(f.store_reachable),
    );
    if let Some(b) = f.disk_free_bytes {
        r.register(
            "disk_free_bytes",
            "Free bytes on the disk holding the segments",
            ConstGauge::new(i64::try_from(b).unwrap_or(i64::MAX)),
        );
    }
    if let Some(b) = f.stored_bytes {
        r.register(
            "stored_bytes",
            "Bytes of footage the catalog holds",
            ConstGauge::new(b),
        );
    }
    if let Some(d) = f.capacity_days {
        r.register(
            "retention_capacity_days",
            "Days of footage the disk or quota holds at the last day's rate",
            ConstGauge::new(d),
        );
    }
    r.register(
        "retention_not_met",
        "1 when footage was overwritten before its retention ended",
        up(f.alarm.retention_not_met),
    );
    let counter = |v: u64| ConstCounter::new(v);
    r.register(
        "audit_appends",
        "Audit entries this process appended",
        counter(f.audit_appends),
    );
    r.register(
        "audit_append_failures",
        "Audit appends of this process that failed",
        counter(f.audit_append_failures),
    );
    r.register(
        "sweeper_runs",
        "Retention sweeps this process ran",
        counter(f.sweeper_runs),
    );
    r.register(
        "sweeper_failures",
        "Retention sweeps of this process that failed",
        counter(f.sweeper_failures),
    );
    r.register(
        "erased_segments",
        "Segments this process erased (retention or disk pressure)",
        counter(f.erased_segments),
    );
    r.register(
        "erased_bytes",
        "Bytes of footage this process erased",
        counter(f.erased_bytes),
    );
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &r)?;
    Ok(out)
}
