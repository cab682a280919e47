//! Recording from real RTSP cameras: several at once, H.265, wrong passwords,
//! cameras that reboot or freeze, and a recorder killed mid-segment.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::app::{AppOptions, cli, parse_time, rfc3339_offset, spawn_app, spawn_app_with};
use crate::camera::{CameraOptions, Codec, TestCamera};
use crate::media::{assert_decodes_cleanly, fetch_mp4, probe};

/// Waits until camera `id` has a recorded span of at least `secs` seconds; returns it.
pub async fn wait_recorded(
    app: &crate::app::App,
    id: i64,
    secs: f64,
    timeout: u64,
) -> (String, String) {
    app.wait_for(
        &format!("{secs} s recorded on camera {id}"),
        timeout,
        || async {
            let v = app
                .recordings(id, &rfc3339_offset(-600), &rfc3339_offset(5))
                .await;
            v["spans"].as_array().unwrap().iter().find_map(|s| {
                let (a, b) = (s["start"].as_str().unwrap(), s["end"].as_str().unwrap());
                let len = (parse_time(b) - parse_time(a)).num_milliseconds() as f64 / 1000.0;
                (len >= secs).then(|| (a.to_string(), b.to_string()))
            })
        },
    )
    .await
}

pub fn plus(t: &str, secs: f64) -> String {
    (parse_time(t) + chrono::Duration::milliseconds((secs * 1000.0) as i64))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn gaps(v: &Value) -> Vec<Value> {
    v["gaps"].as_array().unwrap().clone()
}

// REQ-STO-1: frames are stored as received: the MP4 carries the camera's own
// codec, profile and picture size, not a transcoded copy.
// REQ-MNT-1: each camera's status (recording, last frame) is visible.
#[tokio::test(flavor = "multi_thread")]
async fn several_cameras_record_at_once_and_every_range_plays() {
    let cam = TestCamera::start(CameraOptions {
        streams: 3,
        ..Default::default()
    });
    let app = spawn_app("multi").await;
    let mut ids = Vec::new();
    for n in 1..=3 {
        ids.push(
            app.add_camera(&format!("カメラ{n}"), &cam.url(n), None)
                .await,
        );
    }
    for &id in &ids {
        let c = app.wait_status(id, "recording", 20).await;
        assert!(c["last_frame_at"].is_string(), "{c}");
        assert_eq!(
            c["codec"].as_str().unwrap().to_lowercase()[..6],
            *"avc1.6",
            "High profile kept: {c}"
        );
    }
    for &id in &ids {
        let (start, _) = wait_recorded(&app, id, 6.0, 30).await;
        // A range that starts between key frames and crosses segment boundaries.
        let (a, b) = (plus(&start, 1.3), plus(&start, 5.3));
        let file = fetch_mp4(&app, id, &a, &b, &format!("multi{id}.mp4")).await;
        let p = probe(&file);
        assert_eq!((p.codec.as_str(), p.width, p.height), ("h264", 640, 360));
        assert_decodes_cleanly(&file);
        // Duration: the requested 4 s, within the key-frame lead (1 s GOP) plus one frame.
        assert!(
            (p.duration - 4.0).abs() <= 1.0 + 1.0 / 15.0,
            "duration {} for 4 s",
            p.duration
        );
        // Decoded frames: 4 s at 15 fps plus at most the lead from the key frame.
        assert!((60..=60 + 16).contains(&p.frames), "frames {}", p.frames);
    }
    let list = app.get_json("/api/cameras").await;
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "recording")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn h265_camera_with_cra_key_frames_records_and_plays() {
    let cam = TestCamera::start(CameraOptions {
        codec: Codec::H265,
        ..Default::default()
    });
    let app = spawn_app("h265").await;
    let id = app.add_camera("h265", &cam.url(1), None).await;
    let c = app.wait_status(id, "recording", 20).await;
    assert!(c["codec"].as_str().unwrap().starts_with("hvc1"), "{c}");
    let (start, _) = wait_recorded(&app, id, 5.0, 30).await;
    let file = fetch_mp4(&app, id, &plus(&start, 0.5), &plus(&start, 4.5), "h265.mp4").await;
    let p = probe(&file);
    assert_eq!(p.codec, "hevc");
    assert_decodes_cleanly(&file);
    assert!(
        (p.duration - 4.0).abs() <= 1.0 + 1.0 / 15.0,
        "duration {}",
        p.duration
    );
}

// REQ-MNT-1: a camera that refuses our credentials shows as failing with the reason.
#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_is_reported_and_does_not_hammer_the_camera() {
    let cam = TestCamera::start(CameraOptions {
        user: Some(("admin".into(), "s3cret-pw".into())),
        ..Default::default()
    });
    let mut app = spawn_app("auth").await;
    let bad = app
        .add_camera("wrong", &cam.url(1), Some(("admin", "not-it")))
        .await;
    let c = app.wait_status(bad, "failing", 15).await;
    assert_eq!(c["status_reason"]["code"], "E-REC-001", "{c}");
    // The password never leaves the server.
    assert!(!c.to_string().contains("not-it"));
    let good = app
        .add_camera("right", &cam.url(1), Some(("admin", "s3cret-pw")))
        .await;
    app.wait_status(good, "recording", 20).await;
    // Give the failing recorder time to retry if it were going to hammer.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let attempts = app
        .log_text()
        .lines()
        .filter(|l| l.contains("camera=wrong") && l.contains("cannot open stream"))
        .count();
    assert_eq!(
        attempts,
        1,
        "a refused password must not be retried at once:\n{}",
        app.log_text()
    );
    assert!(
        !app.log_text().contains("not-it"),
        "a password reached the log"
    );
    let v = app
        .recordings(bad, &rfc3339_offset(-60), &rfc3339_offset(1))
        .await;
    assert!(gaps(&v).iter().any(|g| g["reason"] == "auth_failed"), "{v}");
    // Nor is it readable in the catalog: it is sealed with the master key (and the
    // recorder above opened it to log in).
    let pool = app.db().await;
    let stored: Vec<String> = sqlx::query_scalar("SELECT password FROM camera")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    for p in &stored {
        assert!(p.starts_with("sealed:v1:") && !p.contains("s3cret"), "{p}");
    }
    // (On PostgreSQL the catalog's files are the server's, out of our reach.)
    for file in ["catalog.db", "catalog.db-wal"] {
        let bytes = std::fs::read(app.data.join(file)).unwrap_or_default();
        assert!(
            !bytes.windows(9).any(|w| w == b"s3cret-pw"),
            "no plaintext password in {file}"
        );
    }
    // A catalog from before sealing (plain text) is sealed at the next start, and the
    // camera still logs in.
    app.terminate();
    sqlx::query("UPDATE camera SET password = 's3cret-pw' WHERE name = 'right'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    app.start().await;
    app.wait_status(good, "recording", 20).await;
    let pool = app.db().await;
    let stored: String = sqlx::query_scalar("SELECT password FROM camera WHERE name = 'right'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(stored.starts_with("sealed:v1:"), "{stored}");
}

// REQ-MNT-1: recording gaps are recorded with their reason.
#[tokio::test(flavor = "multi_thread")]
async fn camera_reboot_records_a_gap_and_recording_resumes_within_3_s() {
    let mut cam = TestCamera::start(CameraOptions::default());
    let app = spawn_app("reboot").await;
    let id = app.add_camera("reboot", &cam.url(1), None).await;
    app.wait_status(id, "recording", 20).await;
    wait_recorded(&app, id, 3.0, 20).await;
    cam.stop();
    let c = app
        .wait_for("not recording after the camera went down", 15, || async {
            let c = app.camera(id).await;
            (c["status"] != "recording").then_some(c)
        })
        .await;
    assert!(c["status_reason"]["code"].is_string(), "{c}");
    tokio::time::sleep(Duration::from_secs(4)).await;
    cam.restart();
    let back = Instant::now();
    app.wait_status(id, "recording", 10).await;
    let took = back.elapsed();
    assert!(
        took <= Duration::from_secs(3),
        "recording resumed only after {took:?}"
    );
    // The gap is closed, and says why.
    let v = app
        .wait_for("closed gap", 10, || async {
            let v = app
                .recordings(id, &rfc3339_offset(-120), &rfc3339_offset(1))
                .await;
            gaps(&v).iter().any(|g| g["open"] == false).then_some(v)
        })
        .await;
    let g = gaps(&v).into_iter().find(|g| g["open"] == false).unwrap();
    assert!(
        ["unreachable", "stream_ended"].contains(&g["reason"].as_str().unwrap()),
        "{g}"
    );
    let len = (parse_time(g["end"].as_str().unwrap()) - parse_time(g["start"].as_str().unwrap()))
        .num_milliseconds();
    assert!(len >= 3_000, "the gap covers the outage: {g}");
    // A range spanning the gap plays what exists.
    wait_recorded(&app, id, 2.0, 20).await;
    let file = fetch_mp4(
        &app,
        id,
        &rfc3339_offset(-60),
        &rfc3339_offset(0),
        "across-gap.mp4",
    )
    .await;
    assert_decodes_cleanly(&file);
}

// REQ-MNT-1: a dropped connection ends the run with its reason; recording resumes.
#[tokio::test(flavor = "multi_thread")]
async fn dropped_connection_records_a_gap_and_reconnects() {
    let cam = TestCamera::start(CameraOptions::default());
    let app = spawn_app("kick").await;
    let id = app.add_camera("kick", &cam.url(1), None).await;
    app.wait_status(id, "recording", 20).await;
    wait_recorded(&app, id, 2.0, 20).await;
    cam.kick();
    let v = app
        .wait_for("closed stream_ended gap between two runs", 20, || async {
            let v = app
                .recordings(id, &rfc3339_offset(-120), &rfc3339_offset(1))
                .await;
            (gaps(&v)
                .iter()
                .any(|g| g["reason"] == "stream_ended" && g["open"] == false)
                && v["spans"].as_array().unwrap().len() >= 2)
                .then_some(v)
        })
        .await;
    let spans = v["spans"].as_array().unwrap();
    assert!(spans[0]["end"].as_str() < spans[1]["start"].as_str(), "{v}");
    app.wait_status(id, "recording", 10).await;
}

// REQ-MNT-1: a frozen camera (session alive, no frames) is detected by our watchdog.
#[tokio::test(flavor = "multi_thread")]
async fn frozen_stream_is_detected_by_the_watchdog() {
    let cam = TestCamera::start(CameraOptions::default());
    let app = spawn_app("stall").await;
    let id = app.add_camera("stall", &cam.url(1), None).await;
    app.wait_status(id, "recording", 20).await;
    wait_recorded(&app, id, 2.0, 20).await;
    cam.toggle_stall();
    let v = app
        .wait_for("stalled gap", 20, || async {
            let v = app
                .recordings(id, &rfc3339_offset(-120), &rfc3339_offset(1))
                .await;
            gaps(&v)
                .iter()
                .any(|g| g["reason"] == "stalled")
                .then_some(v)
        })
        .await;
    assert!(v["gaps"].to_string().contains("no frame"), "{v}");
    cam.toggle_stall();
    let c = app.wait_status(id, "recording", 20).await;
    assert!(c["status_reason"].is_null());
}

// A crash (kill -9) loses at most the last seconds of the segment being written:
// `check` passes after restart, and everything before plays.
#[tokio::test(flavor = "multi_thread")]
async fn kill_9_while_recording_then_restart_check_passes_and_footage_plays() {
    let cam = TestCamera::start(CameraOptions::default());
    let mut app = spawn_app("kill9").await;
    let id = app.add_camera("kill9", &cam.url(1), None).await;
    app.wait_status(id, "recording", 20).await;
    let (start, _) = wait_recorded(&app, id, 6.0, 30).await;
    // Kill in the middle of a segment.
    tokio::time::sleep(Duration::from_millis(900)).await;
    app.kill9();
    let partials = walk(&app.data.join("segments"))
        .iter()
        .filter(|p| p.ends_with(".partial"))
        .count();
    assert_eq!(partials, 1, "a segment was being written");
    app.start().await;
    // Issue 13, item 11: the segment being written is recovered from its journal
    // up to its last checkpoint (here, killed within a second of its start, there
    // may be none yet: at most that second is lost).
    assert!(
        app.log_text()
            .contains("segment being written when mimamori stopped"),
        "{}",
        app.log_text()
    );
    let out = cli(&["check", "--data", app.data.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "check failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let file = fetch_mp4(&app, id, &start, &plus(&start, 5.0), "after-kill.mp4").await;
    assert_decodes_cleanly(&file);
    let p = probe(&file);
    assert!(
        (p.duration - 5.0).abs() <= 1.0 / 15.0 + 0.01,
        "duration {}",
        p.duration
    );
    app.wait_status(id, "recording", 20).await;
    // The time the recorder was dead shows as a gap.
    let v = app
        .recordings(id, &rfc3339_offset(-120), &rfc3339_offset(1))
        .await;
    assert!(
        gaps(&v).iter().any(|g| g["reason"] == "recorder_stopped"),
        "{v}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

// Bad input from a camera: a server that answers garbage, and a stream whose
// resolution changes (new SPS) — a clear status, no panic, nothing lost.
#[tokio::test(flavor = "multi_thread")]
async fn malformed_rtsp_answers_and_resolution_changes_are_survived() {
    // A "camera" that answers every request with garbage.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(
                        b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello\x00\xff\xfe garbage",
                    )
                    .await;
            });
        }
    });
    let mut cam = TestCamera::start(CameraOptions::default());
    let app = spawn_app_with("bad", AppOptions::default()).await;
    let junk = app
        .add_camera("junk", &format!("rtsp://127.0.0.1:{port}/x"), None)
        .await;
    let good = app.add_camera("good", &cam.url(1), None).await;
    let c = app
        .wait_for("junk camera reported", 20, || async {
            let c = app.camera(junk).await;
            (c["status"] == "failing").then_some(c)
        })
        .await;
    assert!(
        c["status_reason"]["code"]
            .as_str()
            .unwrap()
            .starts_with("E-REC-"),
        "{c}"
    );
    let (before_start, _) = wait_recorded(&app, good, 3.0, 20).await;
    // Same camera, new resolution (a new SPS after a reboot).
    let small = crate::camera::clip(Codec::H264, 320, 180);
    cam.stop();
    let mut small_cam = TestCamera::start_on_port_with_clip(cam.port, &small);
    let after = app
        .wait_for("recording at the new size", 30, || async {
            let c = app.camera(good).await;
            (c["status"] == "recording" && c["width"] == 320).then_some(c)
        })
        .await;
    assert_eq!(after["height"], 180);
    tokio::time::sleep(Duration::from_secs(6)).await;
    // What was recorded before the change is intact and still plays at its size.
    let f1 = fetch_mp4(
        &app,
        good,
        &before_start,
        &plus(&before_start, 2.0),
        "before.mp4",
    )
    .await;
    assert_decodes_cleanly(&f1);
    assert_eq!(probe(&f1).width, 640);
    let f2 = fetch_mp4(
        &app,
        good,
        &rfc3339_offset(-4),
        &rfc3339_offset(-2),
        "after.mp4",
    )
    .await;
    assert_decodes_cleanly(&f2);
    assert_eq!(probe(&f2).width, 320);
    small_cam.stop();
    // The server survived all of it.
    assert_eq!(
        app.get_json("/api/cameras").await.as_array().unwrap().len(),
        2
    );
}

// A camera's optional sub stream is recorded beside the main stream.
#[tokio::test(flavor = "multi_thread")]
async fn sub_stream_is_recorded_separately() {
    let cam = TestCamera::start(CameraOptions {
        streams: 2,
        ..Default::default()
    });
    let app = spawn_app("sub").await;
    let r = app
        .post_json(
            "/api/cameras",
            &serde_json::json!({"name": "two-streams", "url": cam.url(1), "sub_url": cam.url(2)}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    app.wait_status(id, "recording", 20).await;
    let v = app
        .wait_for("sub stream recorded", 30, || async {
            let v = app
                .get_json(&format!(
                    "/api/cameras/{id}/recordings?from={}&to={}&stream=sub",
                    crate::app::urlenc(&rfc3339_offset(-60)),
                    crate::app::urlenc(&rfc3339_offset(1))
                ))
                .await;
            (!v["spans"].as_array().unwrap().is_empty()).then_some(v)
        })
        .await;
    assert_eq!(v["stream"], "sub");
    let s = &v["spans"][0];
    let url = app.url(&format!(
        "/api/cameras/{id}/video.mp4?purpose=crime-prevention&stream=sub&start={}&end={}",
        crate::app::urlenc(s["start"].as_str().unwrap()),
        crate::app::urlenc(s["end"].as_str().unwrap())
    ));
    let body = app
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let file = app.data.with_extension("sub.mp4");
    std::fs::write(&file, &body).unwrap();
    assert_decodes_cleanly(&file);
}
