//! Who may do what, from where: the authorization matrix over every route, role
//! and preset; designations and their history; temporary designees; contractors;
//! instructions; terminals (address ranges and client certificates); TOTP.

use std::net::IpAddr;

use mimamori_policy::{PRESET_NAMES, Permission, Policy, RoleKind};
use mimamori_web::authz::Need;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app::{App, AppOptions, spawn_app, spawn_app_with};
use crate::camera::{CameraOptions, TestCamera};
use crate::recording::wait_recorded;

pub const PASSWORD: &str = "correct horse 42";

/// A logged-in person's own HTTP client.
pub struct Person {
    pub client: reqwest::Client,
    pub csrf: String,
    base: String,
}

pub fn http_client(local: Option<IpAddr>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(ip) = local {
        b = b.local_address(ip);
    }
    b.build().unwrap()
}

impl Person {
    /// Logs in; returns the response on failure.
    pub async fn login(
        app: &App,
        username: &str,
        password: &str,
        code: Option<&str>,
        local: Option<IpAddr>,
    ) -> Result<Person, (StatusCode, Value)> {
        let client = http_client(local);
        let r = client
            .post(app.url("/api/login"))
            .json(&json!({"username": username, "password": password, "code": code}))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        if status != StatusCode::OK {
            return Err((status, v));
        }
        Ok(Person {
            client,
            csrf: v["csrf_token"].as_str().unwrap().to_string(),
            base: app.url(""),
        })
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut r = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf);
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.send(Method::GET, path, None).await
    }
}

/// One person as `GET /api/people` shows them, found by a field (`id`, `username`).
pub async fn person_json(app: &App, field: &str, value: Value) -> Value {
    let people = app.get_json("/api/people").await;
    people["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x[field] == value)
        .unwrap_or_else(|| panic!("no person with {field} = {value}: {people}"))
        .clone()
}

/// Creates a person through the API as the app's manager; returns their id.
pub async fn add_person(app: &App, username: &str, role: &str, extra: Value) -> i64 {
    let mut body = json!({
        "username": username,
        "display_name": username,
        "password": PASSWORD,
        "role": role,
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = app.post_json("/api/people", &body).await;
    let status = r.status();
    let v: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "creating {username} as {role}: {v}");
    v["id"].as_i64().unwrap()
}

fn concrete(path: &str) -> String {
    path.replace("{lang}", "ja")
        .replace("{name}", "app.css")
        .replace("{id}", "999999")
        .replace("{designation}", "999999")
        .replace("{doc}", "999999")
        .replace("{package}", "999999")
        .replace("{camera}", "999999")
        .replace("{copy}", "999999")
}

fn extra_for(role: RoleKind) -> Value {
    match role {
        RoleKind::Temporary => {
            json!({"valid_until": "2099-12-31", "basis": "取扱責任者が不在のため"})
        }
        RoleKind::Contractor => json!({"organization": "見守り保守株式会社"}),
        RoleKind::Police => json!({"organization": "西成警察署"}),
        _ => json!({}),
    }
}

/// What the policy says a role gets on a route (from 127.0.0.1, a registered terminal
/// in every preset, with no instruction issued and no agreement recorded).
fn expected_allowed(policy: &Policy, role: RoleKind, need: Need) -> bool {
    match need {
        // Monitoring routes admit by address, and the tests run on loopback.
        Need::Public | Need::Session | Need::Monitor => true,
        // Only another node's signed grant opens it, never a person's session.
        Need::NodeGrant => false,
        Need::Permission(p) => {
            // No instruction is issued here; adding a camera cannot be instructed at all.
            let needs_instruction = policy.role(role).is_some_and(|r| r.requires_instruction)
                && p.is_camera_operation();
            // No agreement is recorded here: a station's account does nothing.
            let needs_agreement = policy.role(role).is_some_and(|r| r.requires_agreement);
            policy.allows(role, p)
                && (p != Permission::LiveView || policy.live_view.allowed)
                && !needs_instruction
                && !needs_agreement
        }
    }
}

// The authorization matrix: every declared route × every role of every preset,
// plus no session at all. A refusal is 403 (and is logged); an allowed request may
// still fail on its (empty) input, but never with 401/403 or a 5xx.
#[tokio::test(flavor = "multi_thread")]
async fn authorization_matrix_every_route_every_role_every_preset() {
    // Logging out ends the session: those routes go last.
    let mut routes: Vec<_> = mimamori_web::ROUTES.to_vec();
    routes.sort_by_key(|r| r.path.contains("logout"));
    assert!(routes.len() > 40, "the route table lists the router");
    for preset in PRESET_NAMES {
        let app = spawn_app_with(
            "matrix",
            AppOptions {
                preset,
                ..AppOptions::default()
            },
        )
        .await;
        let policy = Policy::preset(preset).unwrap();
        // No session.
        let anon = http_client(None);
        for r in &routes {
            let path = concrete(r.path);
            let resp = anon
                .request(
                    Method::from_bytes(r.method.as_bytes()).unwrap(),
                    app.url(&path),
                )
                .send()
                .await
                .unwrap();
            let s = resp.status();
            if r.need == Need::Public || r.need == Need::Monitor {
                assert!(
                    s != 401 && s != 403 && s.as_u16() < 500,
                    "{preset}: anonymous {} {path}: {s}",
                    r.method
                );
            } else if r.need == Need::NodeGrant {
                assert_eq!(s, 403, "{preset}: anonymous {} {path}", r.method);
            } else if path.starts_with("/api/") {
                assert_eq!(s, 401, "{preset}: anonymous {} {path}", r.method);
            } else {
                assert_eq!(s, 303, "{preset}: anonymous {} {path}", r.method);
                let to = resp.headers()["location"].to_str().unwrap().to_string();
                assert!(to.starts_with("/login"), "{preset}: {path} → {to}");
            }
        }
        let mut checked = 0;
        for role in RoleKind::ALL {
            let username = format!("m-{}", role.as_str());
            if policy.role(role).is_none() {
                // A role the regulation does not name cannot be designated.
                let r = app
                    .post_json(
                        "/api/people",
                        &json!({"username": username, "display_name": "x", "password": PASSWORD, "role": role.as_str(), "valid_until": "2099-12-31"}),
                    )
                    .await;
                assert_eq!(r.status(), 400, "{preset}: designating a {role} is refused");
                continue;
            }
            add_person(&app, &username, role.as_str(), extra_for(role)).await;
            let person = Person::login(&app, &username, PASSWORD, None, None)
                .await
                .unwrap_or_else(|e| panic!("{preset} {role}: {e:?}"));
            for r in &routes {
                let path = concrete(r.path);
                let method = Method::from_bytes(r.method.as_bytes()).unwrap();
                let fresh;
                let person = if r.path.contains("logout") {
                    // The previous logout ended the session.
                    fresh = Person::login(&app, &username, PASSWORD, None, None)
                        .await
                        .unwrap();
                    &fresh
                } else {
                    &person
                };
                let s = person.send(method, &path, None).await.status();
                let allowed = expected_allowed(&policy, role, r.need);
                if allowed {
                    assert!(
                        s != 401 && s != 403 && s.as_u16() < 500,
                        "{preset}: {role} {} {path} should be allowed: {s}",
                        r.method
                    );
                } else {
                    assert_eq!(
                        s, 403,
                        "{preset}: {role} {} {path} should be refused",
                        r.method
                    );
                }
                checked += 1;
            }
        }
        assert!(checked > 0);
        // Refusals are in the log.
        let log = app.get_json("/api/audit?action=refused").await;
        assert!(
            !log["entries"].as_array().unwrap().is_empty(),
            "{preset}: refusals are logged"
        );
    }
}

// REQ-ROL-2, REQ-ROL-5: temporary designees are staff only with an end date; past the
// end date they cannot log in; the history keeps every designation and the log names
// the designation valid at each action.
#[tokio::test(flavor = "multi_thread")]
async fn temporary_designees_expire_and_designation_history_is_kept() {
    let app = spawn_app_with(
        "temporary",
        AppOptions {
            preset: "kitakyushu",
            ..AppOptions::default()
        },
    )
    .await;
    // Without an end date, or from a contractor company: refused with the article.
    let r = app
        .post_json("/api/people", &json!({"username": "t1", "display_name": "臨時", "password": PASSWORD, "role": "temporary"}))
        .await;
    assert_eq!(r.status(), 400);
    let msg = r.text().await.unwrap();
    assert!(msg.contains("第3条2"), "{msg}");
    let r = app
        .post_json("/api/people", &json!({"username": "t2", "display_name": "臨時", "password": PASSWORD, "role": "temporary", "valid_until": "2099-01-01", "organization": "保守会社"}))
        .await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("staff"));

    // Designated for two days that are over.
    #[allow(clippy::disallowed_methods)]
    let now = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap());
    let day = |d: i64| (now.date_naive() + chrono::Duration::days(d)).to_string();
    add_person(
        &app,
        "yesterday",
        "temporary",
        json!({"valid_from": day(-3), "valid_until": day(-2), "basis": "取扱責任者が研修中のため"}),
    )
    .await;
    let (status, v) = Person::login(&app, "yesterday", PASSWORD, None, None)
        .await
        .err()
        .expect("a temporary designee past the end date cannot log in");
    assert_eq!(status, 403);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("ended"),
        "{v}"
    );

    // One valid through today: logs in, works, then is ended by the manager.
    let id = add_person(
        &app,
        "today",
        "temporary",
        json!({"valid_until": day(0), "basis": "取扱責任者が不在のため"}),
    )
    .await;
    let p = Person::login(&app, "today", PASSWORD, None, None)
        .await
        .unwrap();
    assert_eq!(p.get("/api/cameras").await.status(), 200);
    let me = person_json(&app, "id", json!(id)).await;
    let designation = me["designations"][0]["id"].as_i64().unwrap();
    // Re-designated as an operator (取扱責任者): the temporary designation ends, history keeps both.
    let r = app
        .post_json(
            &format!("/api/people/{id}/designations"),
            &json!({"role": "operator"}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = app
        .post_json(
            &format!("/api/designations/{designation}/end"),
            &json!({"reason": "again"}),
        )
        .await;
    assert_eq!(
        r.status(),
        404,
        "an ended designation cannot be ended twice"
    );
    let me = person_json(&app, "id", json!(id)).await;
    assert_eq!(me["designations"].as_array().unwrap().len(), 2, "{me}");
    assert_eq!(me["role"], "operator");
    assert!(me["designations"][0]["ended_at"].is_string(), "{me}");
    // The old session still works under the new designation; ending it logs the person out.
    let new_designation = me["designations"][1]["id"].as_i64().unwrap();
    assert_eq!(p.get("/api/cameras").await.status(), 200);
    let r = app
        .post_json(
            &format!("/api/designations/{new_designation}/end"),
            &json!({"reason": "異動"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        p.get("/api/cameras").await.status(),
        401,
        "ended designation, ended session"
    );
    // The manager cannot end the last manager's designation.
    let admin =
        person_json(&app, "username", json!(crate::app::ADMIN)).await["designations"][0]["id"]
            .clone();
    let r = app
        .post_json(
            &format!("/api/designations/{admin}/end"),
            &json!({"reason": "x"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    // The log: designations recorded; the temporary designee's action maps to that designation.
    let log = app.get_json("/api/audit?user=today").await;
    let entries = log["entries"].as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["action"] == "login"
            && e["role"].as_str().unwrap().starts_with("臨時に指定した者")),
        "{log}"
    );
    let log = app.get_json("/api/audit?action=designated").await;
    assert!(log["entries"].as_array().unwrap().len() >= 3, "{log}");
    let log = app.get_json("/api/audit?action=login_failed").await;
    assert!(
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["username"] == "yesterday"),
        "{log}"
    );
}

// REQ-ROL-3: a maintenance contractor sees camera health but no image, live or recorded.
#[tokio::test(flavor = "multi_thread")]
async fn a_contractor_sees_camera_health_but_no_video() {
    let cam = TestCamera::start(CameraOptions::default());
    let app = spawn_app("contractor").await;
    let id = app.add_camera("駐車場", &cam.url(1), None).await;
    app.wait_status(id, "recording", 20).await;
    let (start, end) = wait_recorded(&app, id, 3.0, 30).await;
    add_person(
        &app,
        "hoshu",
        "contractor",
        json!({"organization": "見守り保守株式会社"}),
    )
    .await;
    let p = Person::login(&app, "hoshu", PASSWORD, None, None)
        .await
        .unwrap();
    let cams: Value = p.get("/api/cameras").await.json().await.unwrap();
    assert_eq!(cams[0]["status"], "recording", "{cams}");
    let page = p.get(&format!("/cameras/{id}")).await.text().await.unwrap();
    assert!(
        page.contains("no-playback") && !page.contains("id=\"player\""),
        "no player"
    );
    assert!(!page.contains("provision-card") && !page.contains("live-start"));
    let q = format!(
        "start={}&end={}&purpose=crime-prevention",
        crate::app::urlenc(&start),
        crate::app::urlenc(&end)
    );
    for path in [
        format!("/api/cameras/{id}/video.mp4?{q}"),
        format!("/api/cameras/{id}/video.mp4?{q}&download=1"),
        format!("/api/cameras/{id}/fragmented.mp4?{q}"),
        format!("/api/cameras/{id}/live"),
    ] {
        let r = p.get(&path).await;
        assert_eq!(r.status(), 403, "{path}");
        assert!(
            !r.headers()["content-type"]
                .to_str()
                .unwrap()
                .contains("video"),
            "{path}"
        );
    }
    // Settings are theirs (maintenance scope); the audit log is not.
    assert_eq!(
        p.get(&format!("/cameras/{id}/settings")).await.status(),
        200
    );
    assert_eq!(p.get("/audit").await.status(), 403);
    let log = app.get_json("/api/audit?user=hoshu&action=refused").await;
    assert!(log["entries"].as_array().unwrap().len() >= 4, "{log}");
    assert!(
        log["entries"][0]["role"]
            .as_str()
            .unwrap()
            .contains("保守業者 (#2) · 見守り保守株式会社"),
        "{log}"
    );
    // REQ-ROL-7: an outsourced operator (委託) is an account of their company; the manager
    // reviews their viewings, each entry naming the company.
    add_person(
        &app,
        "itaku",
        "operator",
        json!({"organization": "委託警備株式会社"}),
    )
    .await;
    let op = Person::login(&app, "itaku", PASSWORD, None, None)
        .await
        .unwrap();
    assert_eq!(
        op.get(&format!("/api/cameras/{id}/video.mp4?{q}"))
            .await
            .status(),
        200
    );
    let log = app.get_json("/api/audit?user=itaku&action=playback").await;
    let entry = &log["entries"][0];
    assert!(
        entry["role"]
            .as_str()
            .unwrap()
            .contains("取扱担当者 (#3) · 委託警備株式会社"),
        "{log}"
    );
    assert!(
        entry["purpose"]
            .as_str()
            .unwrap()
            .starts_with("crime-prevention"),
        "{log}"
    );
}

// REQ-ROL-4 (Osaka 第4条3, 第5条2): images are the manager's; the operator works on a
// camera only under an open instruction, and not after it is revoked.
#[tokio::test(flavor = "multi_thread")]
async fn osaka_operators_act_only_under_an_open_instruction() {
    let cam = TestCamera::start(CameraOptions::default());
    let app = spawn_app_with(
        "osaka",
        AppOptions {
            preset: "osaka-nishinari",
            ..AppOptions::default()
        },
    )
    .await;
    let id = app.add_camera("通学路1", &cam.url(1), None).await;
    app.wait_status(id, "recording", 20).await;
    let (start, end) = wait_recorded(&app, id, 3.0, 30).await;
    let op = add_person(&app, "tanto", "operator", json!({})).await;
    let p = Person::login(&app, "tanto", PASSWORD, None, None)
        .await
        .unwrap();
    let settings = format!("/cameras/{id}/settings");
    let r = p.get(&settings).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("第4条3"));
    #[allow(clippy::disallowed_methods)]
    let until = chrono::Utc::now() + chrono::Duration::hours(1);
    let r = app
        .post_json(
            "/api/instructions",
            &json!({"person": op, "cameras": [id], "until": until.to_rfc3339(), "content": "カメラ設定の確認"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let instruction = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    assert_eq!(
        p.get(&settings).await.status(),
        200,
        "under the instruction"
    );
    // Adding a camera is no instructed camera: refused even now.
    let r = p
        .send(
            Method::POST,
            "/api/cameras",
            Some(json!({"name": "x", "url": "rtsp://192.0.2.9/x"})),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(
        p.get("/account")
            .await
            .text()
            .await
            .unwrap()
            .contains("カメラ設定の確認")
    );
    // Images stay the manager's, instruction or not.
    let q = format!(
        "start={}&end={}&purpose=child-safety",
        crate::app::urlenc(&start),
        crate::app::urlenc(&end)
    );
    assert_eq!(
        p.get(&format!("/api/cameras/{id}/video.mp4?{q}"))
            .await
            .status(),
        403
    );
    let r = app
        .client
        .get(app.url(&format!("/api/cameras/{id}/video.mp4?{q}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .post_json(
            &format!("/api/instructions/{instruction}/revoke"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(p.get(&settings).await.status(), 403, "revoked");
    let log = app.get_json("/api/audit?action=instruction_issued").await;
    assert_eq!(log["entries"].as_array().unwrap().len(), 1);
}

// REQ-LOC-1: image routes only from a registered terminal; elsewhere 403, logged.
// REQ-PUR-1: recorded footage needs a purpose from the policy's list, logged with the viewing.
#[tokio::test(flavor = "multi_thread")]
async fn images_only_from_registered_terminals_and_with_a_stated_purpose() {
    let cam = TestCamera::start(CameraOptions::default());
    let app = spawn_app_with(
        "terminal",
        AppOptions {
            policy_edits: vec![
                (
                    "networks = [\n    \"127.0.0.1/32\",\n    \"::1/128\",\n]",
                    "networks = [\"127.0.0.2/32\"]".into(),
                ),
                // Cameras are set up from anywhere here; images only from the room.
                (
                    "    \"export\",\n    \"camera_settings\",\n]\nterminal_basis",
                    "    \"export\",\n]\nterminal_basis".into(),
                ),
            ],
            ..AppOptions::default()
        },
    )
    .await;
    let id = app.add_camera("ロビー", &cam.url(1), None).await;
    app.wait_status(id, "recording", 20).await;
    let (start, end) = wait_recorded(&app, id, 3.0, 30).await;
    add_person(&app, "sousa", "operator", json!({})).await;
    let range = format!(
        "start={}&end={}",
        crate::app::urlenc(&start),
        crate::app::urlenc(&end)
    );
    let outside = Person::login(&app, "sousa", PASSWORD, None, None)
        .await
        .unwrap();
    let r = outside
        .get(&format!(
            "/api/cameras/{id}/video.mp4?{range}&purpose=crime-prevention"
        ))
        .await;
    assert_eq!(r.status(), 403);
    let msg = r.text().await.unwrap();
    assert!(
        msg.contains("モニター設置場所") && msg.contains("127.0.0.1"),
        "{msg}"
    );
    // Camera status is not bound to a terminal.
    assert_eq!(outside.get("/api/cameras").await.status(), 200);
    let room: IpAddr = "127.0.0.2".parse().unwrap();
    let inside = Person::login(&app, "sousa", PASSWORD, None, Some(room))
        .await
        .unwrap();
    let me: Value = inside.get("/api/me").await.json().await.unwrap();
    assert!(
        me["permissions_here"]
            .as_array()
            .unwrap()
            .contains(&json!("playback")),
        "{me}"
    );
    // No purpose, or one not in the list: refused with the list.
    for q in ["", "&purpose=curiosity"] {
        let r = inside
            .get(&format!("/api/cameras/{id}/video.mp4?{range}{q}"))
            .await;
        assert_eq!(r.status(), 400);
        assert!(r.text().await.unwrap().contains("crime-prevention"));
    }
    let r = inside
        .get(&format!(
            "/api/cameras/{id}/video.mp4?{range}&purpose=crime-prevention&note={}",
            crate::app::urlenc("万引き被害の確認")
        ))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "video/mp4");
    let log = app.get_json("/api/audit?user=sousa").await;
    let entries = log["entries"].as_array().unwrap();
    let view = entries
        .iter()
        .find(|e| e["action"] == "playback")
        .expect("playback logged");
    assert_eq!(view["client"], "127.0.0.2");
    assert!(
        view["purpose"]
            .as_str()
            .unwrap()
            .contains("犯罪防止 — 万引き被害の確認"),
        "{view}"
    );
    let refused = entries
        .iter()
        .find(|e| e["action"] == "refused")
        .expect("refusal logged");
    assert_eq!(refused["client"], "127.0.0.1");
    assert_eq!(refused["camera_id"], id);
}

fn openssl(args: &[&str], dir: &std::path::Path) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// REQ-LOC-1 by client certificate: mimamori serves HTTPS itself; the terminal is the
// machine holding the registered certificate, wherever it connects from.
#[tokio::test(flavor = "multi_thread")]
async fn https_with_client_certificates_identifies_the_terminal() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ext = dir.join("san.ext");
    std::fs::write(&ext, "subjectAltName=IP:127.0.0.1\n").unwrap();
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").unwrap();
    for args in [
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=mimamori test CA",
        ][..],
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "pc.key",
            "-out",
            "pc.csr",
            "-subj",
            "/CN=senyo-pc",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "pc.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "pc.pem",
            "-days",
            "2",
            "-extfile",
            "client.ext",
        ],
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "other.key",
            "-out",
            "other.csr",
            "-subj",
            "/CN=other-pc",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "other.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "other.pem",
            "-days",
            "2",
            "-extfile",
            "client.ext",
        ],
    ] {
        openssl(args, &dir);
    }
    let fp = std::process::Command::new("openssl")
        .args(["x509", "-in", "pc.pem", "-noout", "-fingerprint", "-sha256"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let fp = String::from_utf8(fp.stdout).unwrap();
    let fp = fp.trim().split('=').nth(1).unwrap().to_string();
    let d = dir.display();
    let mut app = spawn_app_with(
        "tls",
        AppOptions {
            preset: "osaka-nishinari",
            policy_edits: vec![(
                "networks = [\n    \"127.0.0.1/32\",\n    \"::1/128\",\n]\nclient_certificates = []",
                format!("networks = []\nclient_certificates = [\"{fp}\"]"),
            )],
            config_extra: format!("[tls]\ncertificate = \"{d}/server.pem\"\nkey = \"{d}/server.key\"\nclient_ca = \"{d}/ca.pem\"\n"),
            ..AppOptions::default()
        },
    )
    .await;
    let ca = reqwest::Certificate::from_pem(&std::fs::read(dir.join("ca.pem")).unwrap()).unwrap();
    let client = |identity: Option<&str>| {
        let mut b = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca.clone())
            .cookie_store(true);
        if let Some(name) = identity {
            let mut pem = std::fs::read(dir.join(format!("{name}.pem"))).unwrap();
            pem.extend(std::fs::read(dir.join(format!("{name}.key"))).unwrap());
            b = b.identity(reqwest::Identity::from_pem(&pem).unwrap());
        }
        b.build().unwrap()
    };
    let base = format!("https://127.0.0.1:{}", app.port);
    let me_from = |c: reqwest::Client| {
        let base = base.clone();
        async move {
            let r = c
                .post(format!("{base}/api/login"))
                .json(
                    &json!({"username": crate::app::ADMIN, "password": crate::app::ADMIN_PASSWORD}),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
            assert!(cookie.contains("; Secure"), "{cookie}");
            let me: Value = c
                .get(format!("{base}/api/me"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            me["permissions_here"]
                .as_array()
                .unwrap()
                .contains(&json!("playback"))
        }
    };
    assert!(
        me_from(client(Some("pc"))).await,
        "the registered PC may view"
    );
    assert!(
        !me_from(client(Some("other"))).await,
        "another certificate may not"
    );
    assert!(!me_from(client(None)).await, "no certificate may not");
    // Plain HTTP is not spoken on the HTTPS port.
    assert!(
        reqwest::get(format!("http://127.0.0.1:{}/login", app.port))
            .await
            .map(|r| r.status() != 200)
            .unwrap_or(true)
    );
    app.terminate();
}

// Authentication: a person's TOTP is asked at login once enrolled; a policy can
// require it for a role, and then a person without one cannot log in.
#[tokio::test(flavor = "multi_thread")]
async fn totp_is_asked_when_enrolled_and_required_where_the_policy_says() {
    let app = spawn_app_with(
        "totp",
        AppOptions {
            preset: "midori-stations",
            policy_edits: vec![(
                "\"retention_view\",\n]\ntotp_required = false\nrequires_instruction = false\nrequires_agreement = false\nstaff_only = false\n\n[roles.sysadmin]",
                "\"retention_view\",\n]\ntotp_required = true\nrequires_instruction = false\nrequires_agreement = false\nstaff_only = false\n\n[roles.sysadmin]".into(),
            )],
            ..AppOptions::default()
        },
    )
    .await;
    add_person(&app, "sousain", "auditor", json!({})).await;
    let (s, v) = Person::login(&app, "sousain", PASSWORD, None, None)
        .await
        .err()
        .expect("required by the policy, not enrolled: no login");
    assert_eq!(s, 401);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("second factor"),
        "{v}"
    );
    // The manager enrolls from the command line; login then needs the code.
    let d = app.data.to_str().unwrap().to_string();
    for user in [crate::app::ADMIN, "sousain"] {
        let out = crate::app::cli(&["user", "totp", "--data", &d, "--username", user]);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("otpauth://totp/mimamori:"), "{text}");
        let secret = text
            .lines()
            .next()
            .unwrap()
            .trim_start_matches("secret: ")
            .to_string();
        let password = if user == "sousain" {
            PASSWORD
        } else {
            crate::app::ADMIN_PASSWORD
        };
        let (s, _) = Person::login(&app, user, password, None, None)
            .await
            .err()
            .expect("no code, no login");
        assert_eq!(s, 401);
        let (s, _) = Person::login(&app, user, password, Some("000000"), None)
            .await
            .err()
            .expect("wrong code, no login");
        assert_eq!(s, 401);
        Person::login(&app, user, password, Some(&totp_now(&secret)), None)
            .await
            .expect("the right code logs in");
    }
}

pub fn totp_now(secret_b32: &str) -> String {
    // As an authenticator app does: the current 30-second step's code.
    let key = mimamori_crypto::totp::base32_decode(secret_b32).unwrap();
    #[allow(clippy::disallowed_methods)]
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    format!("{:06}", mimamori_crypto::totp::code_at(&key, now))
}

/// Posts a page form with the session's CSRF token; returns status, Location and body.
async fn post_form(app: &App, path: &str, fields: &[(&str, &str)]) -> (u16, String, String) {
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrf", &app.csrf));
    let r = app
        .client
        .post(app.url(path))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, r.text().await.unwrap())
}

// REQ-ROL-6, REQ-ROL-5: the manager's pages, as a person uses them: designate on /people, record a pledge and
// a training, end a designation; issue and revoke an instruction on /instructions; enroll
// a second factor on /account.
#[tokio::test(flavor = "multi_thread")]
async fn the_manager_works_through_the_people_instruction_and_account_pages() {
    let app = spawn_app_with(
        "pages",
        AppOptions {
            preset: "osaka-nishinari",
            ..AppOptions::default()
        },
    )
    .await;
    let cam = app
        .post_json(
            "/api/cameras",
            &json!({"name": "通学路2", "url": "rtsp://192.0.2.1/x"}),
        )
        .await;
    assert_eq!(cam.status(), 201);
    let cam_id = cam.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let people = app.page("/people").await;
    assert!(people.contains("取扱担当者") && people.contains("id=\"person-form\""));
    assert!(
        !people.contains("臨時に指定した者"),
        "Osaka names no temporary designee"
    );
    let (s, to, _) = post_form(
        &app,
        "/people",
        &[
            ("username", "kyodo"),
            ("display_name", "協働 花子"),
            ("organization", ""),
            ("role", "operator"),
            ("valid_from", ""),
            ("valid_until", ""),
            ("basis", ""),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(s, 303);
    assert!(to.starts_with("/people/"), "{to}");
    let person_id: i64 = to.trim_start_matches("/people/").parse().unwrap();
    for (kind, date, content) in [
        ("pledge", "2026-11-20", "守秘義務の誓約書（第11条）"),
        ("training", "2026-11-21", "個人情報保護研修"),
    ] {
        let (s, ..) = post_form(
            &app,
            &format!("/people/{person_id}/records"),
            &[("kind", kind), ("date", date), ("content", content)],
        )
        .await;
        assert_eq!(s, 303);
    }
    let page = app.page(&format!("/people/{person_id}")).await;
    assert!(page.contains("守秘義務の誓約書") && page.contains("個人情報保護研修"));
    assert!(
        page.contains("第4条3"),
        "the designation's basis from the regulation"
    );
    let people = app.page("/people").await;
    assert!(people.contains("data-person=\"kyodo\""));

    // An instruction through the form, shown to the operator, then revoked.
    let page = app.page("/instructions").await;
    assert!(
        page.contains("協働 花子"),
        "operators under instructions are offered"
    );
    let (s, ..) = post_form(
        &app,
        "/instructions",
        &[
            ("person", &person_id.to_string()),
            ("camera", &cam_id.to_string()),
            ("from", ""),
            ("to", ""),
            ("until", "2099-01-01T00:00"),
            ("content", "通学路2の設定確認"),
        ],
    )
    .await;
    assert_eq!(s, 303);
    let op = Person::login(&app, "kyodo", PASSWORD, None, None)
        .await
        .unwrap();
    assert!(
        op.get("/account")
            .await
            .text()
            .await
            .unwrap()
            .contains("通学路2の設定確認")
    );
    assert_eq!(
        op.get(&format!("/cameras/{cam_id}/settings"))
            .await
            .status(),
        200
    );
    let page = app.page("/instructions").await;
    let id = page
        .split("data-instruction=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let (s, ..) = post_form(&app, &format!("/instructions/{id}/revoke"), &[]).await;
    assert_eq!(s, 303);
    assert_eq!(
        op.get(&format!("/cameras/{cam_id}/settings"))
            .await
            .status(),
        403
    );

    // Ending the designation on the person's page, with a reason.
    let page = app.page(&format!("/people/{person_id}")).await;
    let designation = page
        .split("data-designation=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let (s, ..) = post_form(
        &app,
        &format!("/people/{person_id}/designations/{designation}/end"),
        &[("reason", "")],
    )
    .await;
    assert_eq!(s, 400, "a reason is required");
    let (s, ..) = post_form(
        &app,
        &format!("/people/{person_id}/designations/{designation}/end"),
        &[("reason", "人事異動")],
    )
    .await;
    assert_eq!(s, 303);
    assert_eq!(
        op.get("/account").await.status(),
        303,
        "logged out: no designation"
    );
    // REQ-ROL-6: the pledge and the training stay on record after the role ends.
    let page = app.page(&format!("/people/{person_id}")).await;
    assert!(page.contains("人事異動"));
    assert!(page.contains("守秘義務の誓約書") && page.contains("個人情報保護研修"));

    // The manager enrolls a second factor on /account: a wrong code is refused, the right one kept.
    let (s, _, body) = post_form(&app, "/account/totp", &[]).await;
    assert_eq!(s, 200);
    let secret = body
        .split("id=\"totp-secret\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    let (s, _, body) = post_form(
        &app,
        "/account/totp/confirm",
        &[("secret", &secret), ("code", "000000")],
    )
    .await;
    assert_eq!(s, 200);
    assert!(body.contains("role=\"alert\""), "wrong code: asked again");
    let (s, to, _) = post_form(
        &app,
        "/account/totp/confirm",
        &[("secret", &secret), ("code", &totp_now(&secret))],
    )
    .await;
    assert_eq!((s, to.as_str()), (303, "/account"));
    assert!(
        Person::login(
            &app,
            crate::app::ADMIN,
            crate::app::ADMIN_PASSWORD,
            None,
            None
        )
        .await
        .is_err(),
        "the code is now asked at login"
    );
    let log = app.get_json("/api/audit").await;
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "designated",
        "pledge_recorded",
        "training_recorded",
        "instruction_issued",
        "instruction_revoked",
        "designation_ended",
        "totp_enrolled",
    ] {
        assert!(actions.contains(&a), "{a} logged: {actions:?}");
    }
}
