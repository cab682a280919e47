//! The audit log through the real binary: every login, failure, viewing and
//! download is logged before any image byte leaves; the page filters; CSV opens
//! in Excel; `mimamori audit verify` proves the log intact or names what changed.

use crate::app::{ADMIN, cli, spawn_app, urlenc};
use crate::camera::{CameraOptions, TestCamera};
use crate::recording::{plus, wait_recorded};

#[tokio::test(flavor = "multi_thread")]
async fn every_access_is_logged_and_the_log_verifies_until_tampered_with() {
    let cam = TestCamera::start(CameraOptions::default());
    let mut app = spawn_app("audit").await;
    let id = app.add_camera("玄関", &cam.url(1), None).await;
    let (start, _) = wait_recorded(&app, id, 3.0, 30).await;
    let end = plus(&start, 2.0);
    // A failed login.
    let r = reqwest::Client::new()
        .post(app.url("/api/login"))
        .json(&serde_json::json!({"username": "intruder", "password": "guess"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // A viewing (several Range requests: one entry), and a download, which is
    // refused outside a request (REQ-STO-3) and logged as a refusal.
    let url = app.url(&format!(
        "/api/cameras/{id}/video.mp4?purpose=crime-prevention&start={}&end={}",
        urlenc(&start),
        urlenc(&end)
    ));
    for range in ["bytes=0-99", "bytes=100-"] {
        let r = app
            .client
            .get(&url)
            .header("range", range)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 206);
    }
    let r = app
        .client
        .get(format!("{url}&download=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    let html = app.page("/audit").await;
    for action in [
        "login",
        "login_failed",
        "camera_added",
        "playback",
        "refused",
    ] {
        assert!(
            html.contains(&format!("data-action=\"{action}\"")),
            "{action} missing:\n{html}"
        );
    }
    assert!(html.contains("intruder"));
    let playback = app.page("/audit?action=playback").await;
    assert_eq!(
        playback.matches("data-action=\"playback\"").count(),
        1,
        "one entry per viewing"
    );
    assert!(
        !playback.contains("data-action=\"login\""),
        "the filter applies"
    );
    assert!(
        playback.contains("127.0.0.1"),
        "the terminal's address is recorded"
    );
    // CSV: UTF-8 with BOM and Japanese headers.
    let csv = app
        .client
        .get(app.url("/audit.csv"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&csv[..3], b"\xef\xbb\xbf");
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    assert!(text.starts_with("番号,日時,利用者,役割,操作"), "{text}");
    // REQ-ROL-5: each entry names the designation valid at its time.
    assert!(
        text.contains(&format!(",{ADMIN},管理責任者 (#1),playback,{id},")),
        "{text}"
    );

    app.terminate(); // signs the head
    let d = app.data.to_str().unwrap().to_string();
    let out = cli(&["audit", "verify", "--data", &d]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("0 problem(s)"), "{text}");
    let pool = app.db().await;
    sqlx::query("UPDATE audit_entry SET username = 'someone else' WHERE action = 'refused'")
        .execute(&pool)
        .await
        .unwrap();
    let seq: i64 = sqlx::query_scalar("SELECT seq FROM audit_entry WHERE action = 'refused'")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    let out = cli(&["audit", "verify", "--data", &d]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains(&format!("entry {seq}: changed")), "{text}");
}
