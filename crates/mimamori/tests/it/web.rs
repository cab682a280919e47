//! Login, sessions, CSRF, the pages, and live view, through HTTP as a browser or
//! script would use them.

use crate::app::{ADMIN, ADMIN_PASSWORD, AppOptions, spawn_app, spawn_app_with};
use crate::camera::{CameraOptions, TestCamera};

#[tokio::test(flavor = "multi_thread")]
async fn every_route_needs_a_login_and_writes_need_the_csrf_token() {
    let app = spawn_app("auth-web").await;
    let anon = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in [
        "/api/cameras",
        "/api/cameras/1/recordings?from=a&to=b",
        "/api/cameras/1/video.mp4?start=a&end=b",
    ] {
        let r = anon.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    let r = anon.get(app.url("/cameras")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    // Wrong password: refused, with no hint which part was wrong.
    let r = anon
        .post(app.url("/api/login"))
        .json(&serde_json::json!({"username": ADMIN, "password": "nope"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Malformed login bodies: 4xx, never 500.
    for body in ["", "{", "{\"username\": 5}", "null"] {
        let r = anon
            .post(app.url("/api/login"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{body:?} → {}", r.status());
    }
    // A write without the CSRF token is refused even with a valid session.
    let r = app
        .client
        .post(app.url("/api/cameras"))
        .json(&serde_json::json!({"name": "x", "url": "rtsp://127.0.0.1:1/x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = app
        .client
        .post(app.url("/cameras"))
        .form(&[
            ("name", "x"),
            ("url", "rtsp://127.0.0.1:1/x"),
            ("csrf", "forged"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // The form with the page's token works.
    let page = app.page("/cameras/new").await;
    let token = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let r = app
        .client
        .post(app.url("/cameras"))
        .form(&[
            ("name", "form-cam"),
            ("url", "rtsp://127.0.0.1:1/x"),
            ("csrf", token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let list = app.get_json("/api/cameras").await;
    assert_eq!(list[0]["name"], "form-cam");
    // A URL that is not RTSP gets a clear message.
    let r = app
        .post_json(
            "/api/cameras",
            &serde_json::json!({"name": "web", "url": "http://example.invalid/cam"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not an RTSP URL"),
        "{v}"
    );
    // Audio recording is refused clearly, not silently ignored.
    let r = app.post_json("/api/cameras", &serde_json::json!({"name": "mic", "url": "rtsp://127.0.0.1:1/x", "record_audio": true})).await;
    assert_eq!(r.status(), 400);
    // Logout ends the session.
    let r = app
        .client
        .post(app.url("/api/logout"))
        .header("x-csrf-token", &app.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        app.client
            .get(app.url("/api/cameras"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_failed_logins_lock_the_account_for_a_while() {
    let app = spawn_app("lockout").await;
    let anon = reqwest::Client::new();
    for _ in 0..5 {
        let r = anon
            .post(app.url("/api/login"))
            .json(&serde_json::json!({"username": ADMIN, "password": "wrong"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    // Even the right password is refused while locked.
    let r = anon
        .post(app.url("/api/login"))
        .json(&serde_json::json!({"username": ADMIN, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(
        v["error"]["message"].as_str().unwrap().contains("too many"),
        "{v}"
    );
}

// REQ-LOC-3: every page and asset comes from the server itself; nothing refers elsewhere.
#[tokio::test(flavor = "multi_thread")]
async fn pages_are_japanese_first_and_load_nothing_from_outside() {
    let app = spawn_app("pages").await;
    let id = app
        .add_camera("玄関", "rtsp://127.0.0.1:9/none", None)
        .await;
    for path in [
        "/cameras",
        &format!("/cameras/{id}"),
        &format!("/cameras/{id}/settings"),
        "/cameras/new",
    ] {
        let html = app.page(path).await;
        assert!(html.contains("<html lang=\"ja\">"), "{path}");
        for bad in ["http://", "https://", "//cdn", "src=\"//"] {
            let outside = html.matches(bad).count();
            assert_eq!(outside, 0, "{path} refers to {bad}: {html}");
        }
    }
    let html = app.page("/cameras").await;
    assert!(html.contains("カメラ一覧") && html.contains("玄関"));
    for asset in ["/assets/app.js", "/assets/app.css"] {
        let body = app.page(asset).await;
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{asset}"
        );
    }
    // English on request.
    let r = app.client.get(app.url("/lang/en")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let html = app.page("/cameras").await;
    assert!(html.contains("<html lang=\"en\">") && html.contains("Cameras"));
}

// REQ-LOC-2: where the regulation forbids constant monitoring, there is no live view.
#[tokio::test(flavor = "multi_thread")]
async fn live_view_streams_fragments_unless_the_policy_forbids_it() {
    let cam = TestCamera::start(CameraOptions::default());
    let allowed = spawn_app("live").await;
    let id = allowed.add_camera("live", &cam.url(1), None).await;
    allowed.wait_status(id, "recording", 20).await;
    let first = live_messages(&allowed, id, 3).await;
    let hello: serde_json::Value = serde_json::from_str(first[0].as_text().unwrap()).unwrap();
    assert!(
        hello["codec"].as_str().unwrap().starts_with("avc1."),
        "{hello}"
    );
    let init = first[1].as_binary().unwrap();
    assert_eq!(&init[4..8], b"ftyp");
    assert!(init.windows(4).any(|w| w == b"mvex"));
    let frag = first[2].as_binary().unwrap();
    assert_eq!(&frag[4..8], b"moof");
    // REQ-PUR-1: watching live states a purpose too.
    let r = allowed.ws_upgrade(&format!("/api/cameras/{id}/live")).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("purpose"));
    let log = allowed.get_json("/api/audit?action=live_view").await;
    assert!(
        log["entries"][0]["purpose"]
            .as_str()
            .unwrap()
            .starts_with("crime-prevention"),
        "{log}"
    );

    let forbidden = spawn_app_with(
        "nolive",
        AppOptions {
            preset: "kitakyushu",
            ..Default::default()
        },
    )
    .await;
    let id = forbidden.add_camera("live", &cam.url(1), None).await;
    let html = forbidden.page(&format!("/cameras/{id}")).await;
    assert!(html.contains("id=\"live-forbidden\"") && !html.contains("id=\"live-start\""));
    let r = forbidden
        .ws_upgrade(&format!("/api/cameras/{id}/live"))
        .await;
    assert_eq!(r.status(), 403);
}

/// Reads the first `n` messages of the live WebSocket.
pub(crate) async fn live_messages(app: &crate::app::App, id: i64, n: usize) -> Vec<WsMessage> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Minimal WebSocket client over a raw socket, so the test needs no extra crate.
    let session = session_cookie(app).await;
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let req = format!(
        "GET /api/cameras/{id}/live?purpose=crime-prevention HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCookie: {session}\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    assert!(
        String::from_utf8_lossy(&head).starts_with("HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    let mut out = Vec::new();
    while out.len() < n {
        let mut h = [0u8; 2];
        tokio::time::timeout(std::time::Duration::from_secs(10), s.read_exact(&mut h))
            .await
            .unwrap()
            .unwrap();
        let op = h[0] & 0x0f;
        let mut len = u64::from(h[1] & 0x7f);
        if len == 126 {
            let mut l = [0u8; 2];
            s.read_exact(&mut l).await.unwrap();
            len = u64::from(u16::from_be_bytes(l));
        } else if len == 127 {
            let mut l = [0u8; 8];
            s.read_exact(&mut l).await.unwrap();
            len = u64::from_be_bytes(l);
        }
        let mut payload = vec![0u8; len as usize];
        s.read_exact(&mut payload).await.unwrap();
        match op {
            1 => out.push(WsMessage::Text(String::from_utf8(payload).unwrap())),
            2 => out.push(WsMessage::Binary(payload)),
            8 => panic!("live socket closed early"),
            _ => {}
        }
    }
    out
}

async fn session_cookie(app: &crate::app::App) -> String {
    // Log in again on a plain client to learn the cookie value.
    let r = reqwest::Client::new()
        .post(app.url("/api/login"))
        .json(&serde_json::json!({"username": ADMIN, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let c = r.headers()["set-cookie"].to_str().unwrap();
    c.split(';').next().unwrap().to_string()
}

pub enum WsMessage {
    Text(String),
    Binary(Vec<u8>),
}

impl WsMessage {
    pub(crate) fn as_text(&self) -> Option<&str> {
        match self {
            WsMessage::Text(t) => Some(t),
            WsMessage::Binary(_) => None,
        }
    }

    pub(crate) fn as_binary(&self) -> Option<&[u8]> {
        match self {
            WsMessage::Binary(b) => Some(b),
            WsMessage::Text(_) => None,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_the_password_ends_other_sessions_and_sessions_can_be_revoked() {
    let mut app = spawn_app("password").await;
    // A second session of the same person (another terminal).
    let other = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let r = other
        .post(app.url("/api/login"))
        .json(&serde_json::json!({"username": ADMIN, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        other
            .get(app.url("/api/cameras"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let html = app.page("/account").await;
    assert_eq!(
        html.matches("data-session=").count(),
        2,
        "both sessions are listed: {html}"
    );

    let change = |current: &str, new: &str| {
        app.client
            .post(app.url("/api/password"))
            .header("x-csrf-token", &app.csrf)
            .json(&serde_json::json!({"current": current, "new": new}))
            .send()
    };
    assert_eq!(
        change("wrong", "another-password").await.unwrap().status(),
        403
    );
    assert_eq!(change(ADMIN_PASSWORD, "short").await.unwrap().status(), 400);
    let r = change(ADMIN_PASSWORD, "another-password").await.unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["other_sessions_ended"], 1);
    // The other terminal is logged out; this one goes on; the old password is gone.
    assert_eq!(
        other
            .get(app.url("/api/cameras"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        app.client
            .get(app.url("/api/cameras"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let r = reqwest::Client::new()
        .post(app.url("/api/login"))
        .json(&serde_json::json!({"username": ADMIN, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    app.login(ADMIN, "another-password").await;
    // Revoking a session from the account page.
    let html = app.page("/account").await;
    let revoke = html
        .split("action=\"/account/sessions/")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .expect("an older session can be revoked")
        .to_string();
    let token = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let r = app
        .client
        .post(app.url(&format!("/account/sessions/{revoke}/revoke")))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let audit = app.page("/audit").await;
    assert!(
        audit.contains("data-action=\"password_changed\"")
            && audit.contains("data-action=\"session_revoked\"")
    );
}
