//! Operating a node (issue 12): `/healthz`, `/readyz` and `/metrics` for the
//! monitoring addresses of `config.toml`, and refused — and audited — for others.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use crate::access::http_client;
use crate::app::{App, AppOptions, spawn_app_with};
use crate::camera::{CameraOptions, TestCamera};
use crate::recording::wait_recorded;

/// The samples of an OpenMetrics text: `name{labels}` → value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect()
}

/// The value of the one sample whose name and labels contain every part.
fn sample(all: &HashMap<String, f64>, parts: &[&str]) -> Option<f64> {
    let found: Vec<_> = all
        .iter()
        .filter(|(k, _)| parts.iter().all(|p| k.contains(p)))
        .collect();
    assert!(
        found.len() <= 1,
        "{parts:?} matches several samples: {found:?}"
    );
    found.first().map(|(_, v)| **v)
}

async fn scrape(app: &App, from: &str, path: &str) -> reqwest::Response {
    http_client(Some(from.parse::<IpAddr>().unwrap()))
        .get(app.url(path))
        .send()
        .await
        .unwrap()
}

// Issue 12 "Operating it": a scraper on an admitted address reads per-camera
// frames, bytes, gaps with their reasons and seconds since the last frame, and the
// node's catalog, store, audit and sweeper figures, without logging in; readiness
// names what is unreachable; another address gets 403 and leaves one audit entry,
// not one per knock.
#[tokio::test(flavor = "multi_thread")]
async fn a_monitoring_address_scrapes_metrics_and_readiness_and_others_are_refused() {
    let cam = TestCamera::start(CameraOptions::default());
    let app = spawn_app_with(
        "monitoring",
        AppOptions {
            config_extra: "[web]\nmonitoring_networks = [\"127.0.0.1/32\"]\n".into(),
            ..AppOptions::default()
        },
    )
    .await;
    let id = app.add_camera("正面\"玄関\"", &cam.url(1), None).await;
    wait_recorded(&app, id, 4.0, 30).await;

    let health = scrape(&app, "127.0.0.1", "/healthz").await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok\n");
    let ready = scrape(&app, "127.0.0.1", "/readyz").await;
    assert_eq!(ready.status(), 200);
    let text = ready.text().await.unwrap();
    assert!(
        text.starts_with("ready\ncatalog: ok (") && text.contains("store: ok"),
        "{text}"
    );

    let resp = scrape(&app, "127.0.0.1", "/metrics").await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{:?}",
        resp.headers()
    );
    let body = resp.text().await.unwrap();
    assert!(body.ends_with("# EOF\n"), "{body}");
    let m = samples(&body);
    // The camera's name is escaped, not cut: quotes inside a label value.
    let cam_label = format!("camera_id=\"{id}\",camera=\"正面\\\"玄関\\\"\",stream=\"main\"");
    let frames = sample(&m, &["mimamori_camera_frames_total{", &cam_label]).expect(&body);
    assert!(frames >= 40.0, "4 s at 15 fps or more: {frames}\n{body}");
    let bytes = sample(&m, &["mimamori_camera_received_bytes_total{", &cam_label]).unwrap();
    assert!(bytes > frames * 100.0, "{bytes}");
    let since = sample(
        &m,
        &["mimamori_camera_seconds_since_last_frame{", &cam_label],
    )
    .unwrap();
    assert!((0.0..3.0).contains(&since), "{since}");
    assert_eq!(
        sample(&m, &["mimamori_camera_recording{", &cam_label]),
        Some(1.0)
    );
    assert_eq!(sample(&m, &["mimamori_catalog_up"]), Some(1.0));
    assert!(sample(&m, &["mimamori_catalog_latency_seconds"]).unwrap() < 3.0);
    assert_eq!(sample(&m, &["mimamori_store_up"]), Some(1.0));
    assert!(sample(&m, &["mimamori_stored_bytes"]).unwrap() > 0.0);
    // Adding the camera, logging in: appended by this process.
    assert!(sample(&m, &["mimamori_audit_appends_total"]).unwrap() >= 2.0);
    assert_eq!(
        sample(&m, &["mimamori_audit_append_failures_total"]),
        Some(0.0)
    );
    assert!(sample(&m, &["mimamori_sweeper_runs_total"]).unwrap() >= 1.0);
    if app.remote.is_none() {
        assert!(sample(&m, &["mimamori_disk_free_bytes"]).unwrap() > 0.0);
    }

    // The camera drops its connections: the gap is counted with its reason.
    cam.kick();
    app.wait_for("a counted gap", 20, || async {
        let body = scrape(&app, "127.0.0.1", "/metrics")
            .await
            .text()
            .await
            .unwrap();
        let m = samples(&body);
        let n: f64 = m
            .iter()
            .filter(|(k, _)| k.starts_with("mimamori_camera_gaps_total{") && k.contains(&cam_label))
            .map(|(_, v)| v)
            .sum();
        (n >= 1.0).then_some(())
    })
    .await;

    // Readiness names an unreadable segment store (the directory, on a disk run).
    if app.remote.is_none() {
        let segments = app.data.join("segments");
        let moved = app.data.join("segments.away");
        std::fs::rename(&segments, &moved).unwrap();
        let r = scrape(&app, "127.0.0.1", "/readyz").await;
        let status = r.status();
        let text = r.text().await.unwrap();
        std::fs::rename(&moved, &segments).unwrap();
        assert_eq!(status, 503, "{text}");
        assert!(
            text.starts_with("not ready\ncatalog: ok") && text.contains("store unreachable"),
            "{text}"
        );
    }

    // Another address: refused without a login form, and audited once a minute.
    for path in ["/metrics", "/healthz", "/readyz", "/metrics"] {
        let r = scrape(&app, "127.0.0.2", path).await;
        assert_eq!(r.status(), 403, "{path}");
        let text = r.text().await.unwrap();
        assert!(!text.contains("mimamori_"), "{text}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let log = app.get_json("/api/audit?action=refused").await;
    let refusals: Vec<_> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["detail"]
                .as_str()
                .unwrap_or("")
                .contains("monitoring figures")
        })
        .collect();
    assert_eq!(refusals.len(), 1, "{log}");
    assert_eq!(refusals[0]["client"], "127.0.0.2", "{log}");
}
