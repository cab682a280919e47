//! Tried as an attacker and as a fault would (issue 13): work done for a stranger
//! is bounded before it starts, the lockout holds against parallel guesses, live
//! view ends with its session, pages cannot be framed or redirected elsewhere,
//! one-time codes work once, and idle connections do not exhaust the server.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::access::{PASSWORD, Person, add_person, http_client, totp_now};
use crate::app::{ADMIN, ADMIN_PASSWORD, App, AppOptions, spawn_app, spawn_app_with, urlenc};
use crate::camera::{CameraOptions, TestCamera};
use crate::procs::rss_mib;

fn file_len(p: &std::path::Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

async fn login_status(app: &App, username: &str, password: &str) -> u16 {
    reqwest::Client::new()
        .post(app.url("/api/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

async fn audit(app: &App, query: &str) -> Vec<Value> {
    app.get_json(&format!("/api/audit?{query}")).await["entries"]
        .as_array()
        .unwrap()
        .clone()
}

// Items 2 and 3: anonymous logins cannot exhaust memory or fill the disk whose free
// space drives erasure, and parallel guesses cannot get past the lock.
#[tokio::test(flavor = "multi_thread")]
async fn logins_are_bounded_in_memory_and_disk_and_the_lockout_is_exact() {
    // The catalog file's growth is measured: SQLite on every run.
    let app = spawn_app_with(
        "attack-login",
        AppOptions {
            sqlite_file: true,
            ..AppOptions::default()
        },
    )
    .await;
    let pid = app.pid();
    let before = rss_mib(pid);
    // 60 parallel logins with wrong passwords (each name once: no lock slows them).
    let peak = std::sync::Arc::new(std::sync::Mutex::new(before));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                let r = rss_mib(pid);
                {
                    let mut p = peak.lock().unwrap();
                    *p = p.max(r);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let logins: Vec<_> = (0..60)
        .map(|i| {
            let url = app.url("/api/login");
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(url)
                    .json(&json!({"username": format!("guess{i}"), "password": "wrong-wrong"}))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            })
        })
        .collect();
    for l in logins {
        let s = l.await.unwrap();
        assert!(
            s == 401 || s == 503,
            "a wrong login is 401 (or 503 when busy): {s}"
        );
    }
    sampler.abort();
    let grown = *peak.lock().unwrap() - before;
    // argon2id takes ~19 MiB a check; a few run at once, never sixty.
    assert!(
        grown < 100.0,
        "60 parallel logins grew the server by {grown:.0} MiB"
    );

    // Huge names are refused before any work: nothing large reaches the log or the catalog.
    let db = app.data.join("catalog.db");
    let wal = app.data.join("catalog.db-wal");
    let (db0, log0) = (file_len(&db) + file_len(&wal), file_len(&app.log));
    let huge = "x".repeat(1 << 20);
    for _ in 0..20 {
        let s = login_status(&app, &huge, "whatever-it-is").await;
        assert!((400..500).contains(&s), "a 1 MiB name: {s}");
    }
    let (db1, log1) = (file_len(&db) + file_len(&wal), file_len(&app.log));
    assert!(
        db1 - db0 < 256 * 1024,
        "the catalog grew by {} bytes",
        db1 - db0
    );
    assert!(
        log1 - log0 < 64 * 1024,
        "the log grew by {} bytes",
        log1 - log0
    );

    // 24 parallel wrong guesses of the manager's password: five are checked, the
    // rest wait for their turn while those five are under way and are refused
    // unchecked once they failed; then even the right password is refused.
    let guesses: Vec<_> = (0..24)
        .map(|i| {
            let url = app.url("/api/login");
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(url)
                    .json(&json!({"username": ADMIN, "password": format!("guess-{i}-wrong")}))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            })
        })
        .collect();
    for g in guesses {
        assert_eq!(g.await.unwrap(), 401);
    }
    assert_eq!(
        login_status(&app, ADMIN, ADMIN_PASSWORD).await,
        401,
        "locked"
    );
    let failed = audit(&app, &format!("user={ADMIN}&action=login_failed")).await;
    let checked = failed
        .iter()
        .filter(|e| e["detail"] == "wrong user name or password")
        .count();
    let locked = failed
        .iter()
        .filter(|e| e["detail"] == "locked after repeated failures")
        .count();
    assert_eq!((checked, locked), (5, 20), "{failed:?}");
}

// Item 4: a range whose years overflow the arithmetic is refused, not served whole.
#[tokio::test(flavor = "multi_thread")]
async fn an_overflowing_playback_range_is_refused() {
    let app = spawn_app("attack-range").await;
    let id = app
        .add_camera("range", "rtsp://127.0.0.1:9/none", None)
        .await;
    for (start, end) in [
        ("-30400-01-01T00:00:00", "+262000-01-01T00:00:00"),
        (
            "-30400-01-01T00:00:00+09:00",
            "+262000-01-01T00:00:00+09:00",
        ),
        ("1900-01-01T00:00:00Z", "9999-12-31T00:00:00Z"),
    ] {
        let r = app
            .client
            .get(app.url(&format!(
                "/api/cameras/{id}/video.mp4?purpose=crime-prevention&start={}&end={}",
                urlenc(start),
                urlenc(end)
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{start} – {end}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "E-REQ-400", "{v}");
    }
}

/// Opens the live WebSocket on a session; returns the socket after the 101.
pub(crate) async fn open_live(
    app: &App,
    id: i64,
    cookie: &str,
    origin: Option<&str>,
) -> (u16, tokio::net::TcpStream) {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let origin = origin
        .map(|o| format!("Origin: {o}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "GET /api/cameras/{id}/live?purpose=crime-prevention HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{origin}Cookie: {cookie}\r\n\r\n",
        app.port
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).await.unwrap();
        head.push(b[0]);
    }
    let status = String::from_utf8_lossy(&head)[9..12].parse().unwrap();
    (status, s)
}

/// Reads frames until the server closes the socket; returns how long it took.
async fn until_closed(s: &mut tokio::net::TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let left = within.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            // A close frame (opcode 8) ends it too; data frames are skipped.
            Ok(Ok(n)) => {
                if buf[..n].windows(2).any(|w| w == [0x88, 0x00]) {
                    return Some(started.elapsed());
                }
            }
        }
    }
}

// Item 5: live view ends within a second or so of logout, and another site's page
// cannot open it with the person's cookie.
#[tokio::test(flavor = "multi_thread")]
async fn live_view_ends_with_its_session_and_refuses_foreign_pages() {
    let cam = TestCamera::start(CameraOptions::default());
    let app = spawn_app("attack-live").await;
    let id = app.add_camera("live", &cam.url(1), None).await;
    app.wait_status(id, "recording", 20).await;
    let (cookie, _) = login_api(&app).await;
    let (status, _) = open_live(&app, id, &cookie, Some("http://evil.example")).await;
    assert_eq!(status, 403, "a foreign page's handshake is refused");
    assert_live_view_ends_with_logout(&app, id).await;
}

/// A fresh session on the API: its cookie and CSRF token.
pub(crate) async fn login_api(app: &App) -> (String, String) {
    let r = reqwest::Client::new()
        .post(app.url("/api/login"))
        .json(&json!({"username": ADMIN, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let csrf = r.json::<Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    (cookie, csrf)
}

/// Opens live view of camera `id` on a fresh session from this server's page,
/// sees frames come, logs out, and checks the stream ends soon after.
pub(crate) async fn assert_live_view_ends_with_logout(app: &App, id: i64) {
    let (cookie, csrf) = login_api(app).await;
    let own = format!("http://127.0.0.1:{}", app.port);
    let (status, mut ws) = open_live(app, id, &cookie, Some(&own)).await;
    assert_eq!(status, 101, "this server's page may watch");
    let mut first = [0u8; 2];
    tokio::time::timeout(Duration::from_secs(10), ws.read_exact(&mut first))
        .await
        .unwrap()
        .unwrap();
    let r = reqwest::Client::new()
        .post(app.url("/api/logout"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let closed = until_closed(&mut ws, Duration::from_secs(5)).await;
    assert!(
        closed.is_some_and(|d| d < Duration::from_millis(2500)),
        "the stream outlived the logout: {closed:?}"
    );
}

/// The login form's token and its cookie, as a browser gets them.
async fn login_form(client: &reqwest::Client, app: &App) -> (String, reqwest::header::HeaderMap) {
    let r = client.get(app.url("/login")).send().await.unwrap();
    let headers = r.headers().clone();
    let body = r.text().await.unwrap();
    let token = body
        .split("name=\"login_token\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    (token, headers)
}

// Items 9 and 10: a name that is a formula stays text in the CSV; pages carry the
// security headers; after login only this site's paths are followed; the login form
// works only in the browser it was shown to.
#[tokio::test(flavor = "multi_thread")]
async fn pages_resist_framing_redirects_formulas_and_forged_logins() {
    let app = spawn_app("attack-pages").await;
    // A formula as a user name, then the CSV.
    let formula = "=HYPERLINK(\"http://example.invalid\",\"x\")";
    assert_eq!(login_status(&app, formula, "whatever-it-is").await, 401);
    let csv = app.page("/audit.csv").await;
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://example.invalid\"\",\"\"x\"\")\""),
        "the formula is quoted as text: {csv}"
    );
    assert!(!csv.contains(",=HYPERLINK"), "{csv}");

    let client = http_client(None);
    let (token, headers) = login_form(&client, &app).await;
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");
    // The login form without its token (another site posting it): refused.
    let r = http_client(None)
        .post(app.url("/login"))
        .form(&[
            ("username", ADMIN),
            ("password", ADMIN_PASSWORD),
            ("next", "/cameras"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a login form not shown to this browser");
    // With its token: in, and `next` leads only to this site.
    for (next, to) in [
        ("/\t/example.invalid", "/cameras"),
        ("/\\example.invalid", "/cameras"),
        ("//example.invalid", "/cameras"),
        ("/audit?user=kanri", "/audit?user=kanri"),
    ] {
        let client = http_client(None);
        let (token, _) = login_form(&client, &app).await;
        let r = client
            .post(app.url("/login"))
            .form(&[
                ("username", ADMIN),
                ("password", ADMIN_PASSWORD),
                ("next", next),
                ("login_token", &token),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{next:?}");
        assert_eq!(r.headers()["location"], to, "{next:?}");
    }
    // A line break in `next` is no server error.
    let r = client
        .post(app.url("/login"))
        .form(&[
            ("username", ADMIN),
            ("password", ADMIN_PASSWORD),
            ("next", "/x\r\nSet-Cookie: a=b"),
            ("login_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/cameras");
}

// Item 10: a one-time code works once; a second factor is replaced only with a code
// of the current one; guessing the current password on a stolen session is
// throttled; the catalog is readable by the service alone; camera ids are not reused.
#[tokio::test(flavor = "multi_thread")]
async fn second_factors_passwords_files_and_ids_hold() {
    // The catalog file's mode is checked: SQLite on every run.
    let app = spawn_app_with(
        "attack-account",
        AppOptions {
            sqlite_file: true,
            ..AppOptions::default()
        },
    )
    .await;
    add_person(&app, "sousa", "operator", json!({})).await;
    let d = app.data.to_str().unwrap().to_string();
    let out = crate::app::cli(&["user", "totp", "--data", &d, "--username", "sousa"]);
    assert!(out.status.success());
    let secret = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("secret: ")
        .to_string();
    let code = totp_now(&secret);
    let me = Person::login(&app, "sousa", PASSWORD, Some(&code), None)
        .await
        .expect("the code logs in once");
    let (s, _) = Person::login(&app, "sousa", PASSWORD, Some(&code), None)
        .await
        .err()
        .expect("the same code is not accepted twice");
    assert_eq!(s, 401);
    // The secret is stored sealed, not as it is.
    let pool = app.db().await;
    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT totp_secret FROM app_user WHERE username = 'sousa'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(stored.starts_with(b"sealed:v1:"), "{stored:?}");
    pool.close().await;
    // Replacing the second factor needs a code of the current one.
    let new = mimamori_crypto::totp::new_secret();
    let new_b32 = mimamori_crypto::totp::base32(&new);
    let r = me
        .client
        .post(app.url("/account/totp/confirm"))
        .form(&[
            ("secret", new_b32.as_str()),
            ("code", &totp_now(&new_b32)),
            ("csrf", &me.csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "no code of the current factor");
    // Wrong current passwords on a session are throttled like logins.
    for _ in 0..5 {
        let r = me
            .send(
                reqwest::Method::POST,
                "/api/password",
                Some(json!({"current": "not-my-password", "new": "a-new-password"})),
            )
            .await;
        assert_eq!(r.status(), 403);
    }
    let r = me
        .send(
            reqwest::Method::POST,
            "/api/password",
            Some(json!({"current": PASSWORD, "new": "a-new-password"})),
        )
        .await;
    assert_eq!(r.status(), 403);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"]["message"].as_str().unwrap().contains("too many"),
        "{v}"
    );
    // The catalog holds hashes and sealed secrets: 0600.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(app.data.join("catalog.db"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    // A removed camera's id is never given to another (old entries keep their camera).
    let first = app.add_camera("one", "rtsp://127.0.0.1:9/one", None).await;
    let r = app
        .send_json(
            reqwest::Method::DELETE,
            &format!("/api/cameras/{first}"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let second = app.add_camera("two", "rtsp://127.0.0.1:9/two", None).await;
    assert_ne!(first, second);
}

// Item 7: credentials typed into a camera's address are taken out of it: the
// address shown to everyone with camera status carries none, and the camera still
// logs in with them.
#[tokio::test(flavor = "multi_thread")]
async fn credentials_in_a_camera_address_are_never_shown() {
    let cam = TestCamera::start(CameraOptions {
        user: Some(("admin".into(), "s3cret-pw".into())),
        ..Default::default()
    });
    let app = spawn_app("attack-url").await;
    let url = cam.url(1).replace("rtsp://", "rtsp://admin:s3cret-pw@");
    let id = app.add_camera("typed", &url, None).await;
    let c = app.wait_status(id, "recording", 20).await;
    assert_eq!(c["url"], cam.url(1), "{c}");
    assert_eq!(c["username"], "admin");
    let list = app.page("/cameras").await;
    assert!(!list.contains("s3cret"), "{list}");
    assert!(
        !app.get_json("/api/cameras")
            .await
            .to_string()
            .contains("s3cret")
    );
}

// Item 8: connections that send nothing are closed after the header timeout, and
// beyond the cap new ones are closed at once: the server keeps answering.
#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_are_closed_and_capped() {
    let app = spawn_app_with(
        "attack-conn",
        AppOptions {
            config_extra: "[web]\nheader_read_timeout_seconds = 2\nmax_connections = 30\n".into(),
            ..AppOptions::default()
        },
    )
    .await;
    let mut idle = Vec::new();
    for _ in 0..40 {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
            .await
            .unwrap();
        // Half a request line, then nothing.
        let _ = s.write_all(b"GET /login HTT").await;
        idle.push(s);
    }
    let started = Instant::now();
    let mut closed = 0;
    for s in &mut idle {
        let mut b = [0u8; 256];
        let left = Duration::from_secs(6).saturating_sub(started.elapsed());
        match tokio::time::timeout(left, s.read(&mut b)).await {
            Ok(Ok(_)) | Ok(Err(_)) => closed += 1,
            Err(_) => {}
        }
    }
    assert_eq!(closed, 40, "every idle connection is closed");
    assert!(started.elapsed() < Duration::from_secs(6));
    let t = Instant::now();
    let r = reqwest::Client::new()
        .get(app.url("/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(t.elapsed() < Duration::from_secs(2));
}

/// An audit entry's columns, as the test reads them back.
type Row = (
    i64,
    Option<i64>,
    String,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    String,
    String,
    String,
);

/// Runs `verify` or `audit verify`; returns the exit code and what it printed.
fn verify_cli(args: &[&str]) -> (Option<i32>, String) {
    let out = crate::app::cli(args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
    )
}

// Item 6: a log or a chain cut short, or rewritten, together with the signatures
// that covered it, is named: every signed head is also kept outside the catalog.
// REQ-STO-2: tampering (改ざん) is detected and reported.
#[tokio::test(flavor = "multi_thread")]
async fn truncation_and_rewrites_that_take_their_signatures_along_are_named() {
    use mimamori_catalog::audit::{AuditRecord, canonical};
    let cam = TestCamera::start(CameraOptions::default());
    // A saved copy of the catalog file is restored: SQLite on every run.
    let mut app = spawn_app_with(
        "attack-trunc",
        AppOptions {
            sqlite_file: true,
            ..AppOptions::default()
        },
    )
    .await;
    let id = app.add_camera("trunc", &cam.url(1), None).await;
    app.wait_status(id, "recording", 20).await;
    crate::recording::wait_recorded(&app, id, 6.0, 30).await;
    app.terminate(); // signs every head, in the catalog and in the journal
    let d = app.data.to_str().unwrap().to_string();
    let journal = std::path::PathBuf::from(format!("{d}.keys/heads.log"));
    assert!(
        file_len(&journal) > 0,
        "the heads are journaled beside the keys"
    );
    let (code, text) = verify_cli(&["audit", "verify", "--data", &d]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = verify_cli(&["verify", "--data", &d]);
    assert_eq!(code, Some(0), "{text}");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{d}/catalog.db"))
        .await
        .unwrap();
    let saved = std::fs::read(app.data.join("catalog.db")).unwrap();
    let restore = || async {
        std::fs::write(app.data.join("catalog.db"), &saved).unwrap();
        let _ = std::fs::remove_file(app.data.join("catalog.db-wal"));
        let _ = std::fs::remove_file(app.data.join("catalog.db-shm"));
        sqlx::SqlitePool::connect(&format!("sqlite://{d}/catalog.db"))
            .await
            .unwrap()
    };

    // The newest audit entries, and the signatures that covered them, deleted.
    let last: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM audit_entry")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_entry WHERE seq > $1")
        .bind(last - 2)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_signature WHERE seq > $1")
        .bind(last - 2)
        .execute(&pool)
        .await
        .unwrap();
    let (code, text) = verify_cli(&["audit", "verify", "--data", &d]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains(&format!("entry {last}: truncated")), "{text}");

    // An entry rewritten, the chain recomputed after it, every signature deleted.
    pool.close().await;
    let pool = restore().await;
    let rows: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT seq, prev_hash FROM audit_entry ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap();
    let mut prev = rows[0].1.clone();
    for (seq, _) in &rows {
        let (at, user_id, username, action, camera_id, from, to, client, purpose, detail): Row =
            sqlx::query_as(
            "SELECT at_us, user_id, username, action, camera_id, range_from_us, range_to_us, client, purpose, detail \
             FROM audit_entry WHERE seq = $1",
        )
        .bind(seq)
        .fetch_one(&pool)
        .await
        .unwrap();
        let record = AuditRecord {
            at: mimamori_base::Timestamp(at),
            user_id: user_id.map(mimamori_base::UserId),
            username: if *seq == 2 { "nobody".into() } else { username },
            action,
            camera_id: camera_id.map(mimamori_base::CameraId),
            range: from
                .zip(to)
                .map(|(a, b)| (mimamori_base::Timestamp(a), mimamori_base::Timestamp(b))),
            client,
            purpose,
            detail,
        };
        let hash = mimamori_crypto::chain_link(&prev, &canonical(*seq, &record)).to_vec();
        sqlx::query(
            "UPDATE audit_entry SET username = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
        )
        .bind(&record.username)
        .bind(&prev)
        .bind(&hash)
        .bind(seq)
        .execute(&pool)
        .await
        .unwrap();
        prev = hash;
    }
    sqlx::query("DELETE FROM audit_signature")
        .execute(&pool)
        .await
        .unwrap();
    let (code, text) = verify_cli(&["audit", "verify", "--data", &d]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("rewritten"), "{text}");
    pool.close().await;

    // The newest segments, their rows, files and signatures removed and the chain's
    // head moved back: still named.
    let pool = restore().await;
    let (keep_seq, keep_head): (i64, Vec<u8>) = sqlx::query_as(
        "SELECT chain_seq, chain FROM segment WHERE camera_id = $1 AND stream = 'main' ORDER BY chain_seq DESC LIMIT 1 OFFSET 1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    let files: Vec<String> =
        sqlx::query_scalar("SELECT file_name FROM segment WHERE camera_id = $1 AND chain_seq > $2")
            .bind(id)
            .bind(keep_seq)
            .fetch_all(&pool)
            .await
            .unwrap();
    sqlx::query("DELETE FROM segment WHERE camera_id = $1 AND chain_seq > $2")
        .bind(id)
        .bind(keep_seq)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE chain_state SET seq = $1, head = $2 WHERE camera_id = $3 AND stream = 'main'",
    )
    .bind(keep_seq)
    .bind(&keep_head)
    .bind(id)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("DELETE FROM chain_signature WHERE seq > $1")
        .bind(keep_seq)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    for f in files {
        app.segments().delete(&f).unwrap();
    }
    let (code, text) = verify_cli(&["verify", "--data", &d]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("cut short"), "{text}");
}
