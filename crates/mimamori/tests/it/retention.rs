//! Retention, holds, overwrite mode on a disk that really fills, and `verify`.

use std::time::Duration;

use serde_json::Value;

use crate::app::{AppOptions, cli, rfc3339_offset, spawn_app, spawn_app_with};
use crate::camera::{CameraOptions, TestCamera};
use crate::recording::{plus, wait_recorded};

// REQ-STO-2: `verify` names every changed, truncated, missing file and altered row.
#[tokio::test(flavor = "multi_thread")]
async fn verify_passes_on_an_untouched_store_and_names_each_tampering() {
    let cam = TestCamera::start(CameraOptions::default());
    let mut app = spawn_app("verify").await;
    let id = app.add_camera("verify", &cam.url(1), None).await;
    app.wait_status(id, "recording", 20).await;
    wait_recorded(&app, id, 8.0, 30).await;
    app.terminate(); // a clean stop signs the chain heads
    let d = app.data.to_str().unwrap().to_string();
    let out = cli(&["verify", "--data", &d]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(" 0 problem(s)") && text.contains("signed heads"),
        "{text}"
    );

    let pool = app.db().await;
    let names: Vec<String> = sqlx::query_scalar("SELECT file_name FROM segment ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(names.len() >= 4, "{names:?}");
    let mut b = app.stored(&names[0]);
    b[100] ^= 0x40;
    app.replace_stored(&names[0], b);
    let mut cut = app.stored(&names[1]);
    cut.truncate(1000);
    app.replace_stored(&names[1], cut);
    app.segments().delete(&names[2]).unwrap();
    sqlx::query("UPDATE segment SET end_us = end_us + 5000000 WHERE file_name = $1")
        .bind(&names[3])
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let out = cli(&["verify", "--data", &d]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{text}");
    for (i, kind) in [
        (0, "changed"),
        (1, "truncated"),
        (2, "missing"),
        (3, "catalog row altered"),
    ] {
        let line = text
            .lines()
            .find(|l| l.contains(&names[i]))
            .unwrap_or_else(|| panic!("{} not named:\n{text}", names[i]));
        assert!(line.contains(kind), "{line}");
    }
    // The UI shows the last result.
    app.start().await;
    let html = app.page("/retention").await;
    let n: u32 = html
        .split("id=\"last-verify\" data-problems=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(n >= 4, "the last verify result shows its problems: {html}");
}

// REQ-RET-3: the manager extends retention with a reason, a range and an end date.
#[tokio::test(flavor = "multi_thread")]
async fn holds_are_created_changed_and_released_with_a_reason() {
    let app = spawn_app("holds").await;
    let id = app
        .add_camera("正面", "rtsp://127.0.0.1:9/none", None)
        .await;
    let post = |body: Value| {
        app.client
            .post(app.url("/api/holds"))
            .header("x-csrf-token", &app.csrf)
            .json(&body)
            .send()
    };
    let base = serde_json::json!({"cameras": [id], "from": rfc3339_offset(-3600), "to": rfc3339_offset(-60),
                                  "until": rfc3339_offset(86_400 * 30), "reason": ""});
    let r = post(base.clone()).await.unwrap();
    assert_eq!(r.status(), 400, "a reason is required");
    let mut ok = base.clone();
    ok["reason"] = "捜査関係事項照会書 第123号".into();
    ok["medium"] = "DVD-R 2026-07 管理室金庫".into();
    let r = post(ok).await.unwrap();
    assert_eq!(r.status(), 201);
    let hold: Value = r.json().await.unwrap();
    assert_eq!(hold["active"], true);
    let hid = hold["id"].as_i64().unwrap();
    assert_eq!(
        hold["medium"], "DVD-R 2026-07 管理室金庫",
        "an extension on external media is recorded"
    );
    let r = app.send_json(reqwest::Method::PUT, &format!("/api/holds/{hid}"), &serde_json::json!({"until": rfc3339_offset(86_400 * 60), "reason": "延長: 公判のため"})).await;
    assert_eq!(r.status(), 200);
    let html = app.page("/retention").await;
    assert!(
        html.contains("公判のため") && html.contains("id=\"hold-form\""),
        "{html}"
    );
    let r = app
        .client
        .post(app.url(&format!("/api/holds/{hid}/release")))
        .header("x-csrf-token", &app.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let holds = app.get_json("/api/holds").await;
    assert_eq!(holds[0]["active"], false);
    // Retention in force for the camera, from the preset (Chiba: 30 days).
    let r = app.get_json(&format!("/api/cameras/{id}/retention")).await;
    assert_eq!(
        (r["days"].as_i64(), r["counting"].as_str()),
        (Some(30), Some("from_recording"))
    );
}

// REQ-RET-4 (Midori 第7条3): past its days footage is kept only 法令に基づく場合 or
// 捜査機関から犯罪捜査等の目的による要請を受けた場合; a hold without one of those
// grounds, or with another, is refused; the ground stays with the hold.
#[tokio::test(flavor = "multi_thread")]
async fn midori_keeps_footage_past_its_days_only_on_its_grounds() {
    let app = crate::app::spawn_app_with(
        "hold-grounds",
        crate::app::AppOptions {
            preset: "midori-stations",
            ..crate::app::AppOptions::default()
        },
    )
    .await;
    let id = app
        .add_camera("駅前", "rtsp://127.0.0.1:9/none", None)
        .await;
    let body = |ground: Option<&str>| {
        let mut b = serde_json::json!({"cameras": [id], "from": rfc3339_offset(-3600), "to": rfc3339_offset(-60),
                                       "until": rfc3339_offset(86_400 * 30), "reason": "桐生警察署からの要請"});
        if let Some(g) = ground {
            b["ground"] = g.into();
        }
        b
    };
    for (ground, status) in [
        (None, 400),
        (Some("curiosity"), 400),
        (Some("investigation"), 201),
    ] {
        let r = app
            .client
            .post(app.url("/api/holds"))
            .header("x-csrf-token", &app.csrf)
            .json(&body(ground))
            .send()
            .await
            .unwrap();
        let code = r.status();
        let text = r.text().await.unwrap();
        assert_eq!(code, status, "{ground:?}: {text}");
        if ground.is_none() {
            assert!(text.contains("第7条3(1)"), "{text}");
        }
    }
    let holds = app.get_json("/api/holds").await;
    assert_eq!(holds[0]["ground"], "investigation", "{holds}");
    let html = app.page("/retention").await;
    assert!(
        html.contains("name=\"ground\"") && html.contains("data-ground=\"investigation\""),
        "{html}"
    );
    let log = app.get_json("/api/audit?action=hold_created").await;
    assert!(
        log["entries"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("第7条3(2)"),
        "{log}"
    );
}

// Tottori 5(3), REQ-RET-3, REQ-MED-1: retention is extended only by keeping the
// images on an external medium; the hold names it and it enters the media register.
#[tokio::test(flavor = "multi_thread")]
async fn tottori_extends_retention_only_onto_an_external_medium() {
    let app = crate::app::spawn_app_with(
        "hold-medium",
        crate::app::AppOptions {
            preset: "tottori-city-hall",
            ..crate::app::AppOptions::default()
        },
    )
    .await;
    let id = app
        .add_camera("正面玄関", "rtsp://127.0.0.1:9/none", None)
        .await;
    let mut body = serde_json::json!({"cameras": [id], "from": rfc3339_offset(-3600), "to": rfc3339_offset(-60),
                                      "until": rfc3339_offset(86_400 * 30), "reason": "警察からの照会に備えるため"});
    let r = app.post_json("/api/holds", &body).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("5(3)"));
    body["medium"] = "DVD-R TOT-001 管理室金庫".into();
    let r = app.post_json("/api/holds", &body).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let media = app.get_json("/api/media").await;
    let m = &media["media"][0];
    assert_eq!(m["label"], "DVD-R TOT-001 管理室金庫", "{media}");
    assert!(m["contents"].as_str().unwrap().contains("hold"), "{media}");
}

// REQ-RET-2: on a disk that really fills, the oldest unheld footage goes, held footage
// stays, the alarm shows, and recording continues.
#[tokio::test(flavor = "multi_thread")]
async fn a_filling_disk_overwrites_the_oldest_unheld_footage_and_keeps_recording() {
    let cam = TestCamera::start(CameraOptions::default());
    let app = spawn_app_with(
        "fill",
        AppOptions {
            preset: "tottori-city-hall",
            // A disk that fills is the directory store's (an object store's
            // capacity is not known through S3: the policy's quota bounds it).
            tmpfs_mib: Some(3),
            dir_store: true,
            policy_edits: vec![
                (
                    "min_free_bytes = 1073741824",
                    "min_free_bytes = 2097152".to_string(),
                ),
                (
                    "sweep_interval_seconds = 60",
                    "sweep_interval_seconds = 1".to_string(),
                ),
            ],
            ..Default::default()
        },
    )
    .await;
    let id = app.add_camera("fill", &cam.url(1), None).await;
    app.wait_status(id, "recording", 20).await;
    let (start, _) = wait_recorded(&app, id, 2.0, 20).await;
    // Hold the first two seconds.
    let r = app
        .post_json(
            "/api/holds",
            &serde_json::json!({"cameras": [id], "from": start, "to": plus(&start, 2.0),
                                  "until": rfc3339_offset(86_400), "reason": "incident",
                                  "medium": "外付けディスク TOT-HDD-1"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let erasures = app
        .wait_for("overwrite mode erases footage", 90, || async {
            let v = app.get_json("/api/erasures").await;
            v.as_array()
                .unwrap()
                .iter()
                .any(|e| e["rule"] == "disk_pressure")
                .then_some(v)
        })
        .await;
    assert!(erasures[0]["keys_destroyed"].is_number());
    // Held footage is still there and plays.
    let v = app
        .recordings(id, &rfc3339_offset(-600), &rfc3339_offset(1))
        .await;
    let first = v["spans"][0]["start"].as_str().unwrap();
    assert!(
        crate::app::parse_time(first) <= crate::app::parse_time(&start),
        "held footage kept: {v}"
    );
    let file = crate::media::fetch_mp4(&app, id, &start, &plus(&start, 1.5), "held.mp4").await;
    crate::media::assert_decodes_cleanly(&file);
    // The gap between held and newest footage is where overwriting happened.
    assert!(v["spans"].as_array().unwrap().len() >= 2, "{v}");
    // The alarm says retention can no longer be met.
    let html = app.page("/retention").await;
    assert!(html.contains("id=\"storage-alarm\""), "{html}");
    // Recording goes on.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let c = app.camera(id).await;
    assert_eq!(c["status"], "recording", "{c}");
    let v = app
        .recordings(id, &rfc3339_offset(-600), &rfc3339_offset(1))
        .await;
    let last_end = v["spans"].as_array().unwrap().last().unwrap()["end"]
        .as_str()
        .unwrap()
        .to_string();
    let age = crate::app::parse_time(&rfc3339_offset(0))
        .signed_duration_since(crate::app::parse_time(&last_end));
    assert!(
        age.num_seconds() < 8,
        "newest footage is recent: {last_end}"
    );
}
