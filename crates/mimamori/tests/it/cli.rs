//! The command line as an IT person uses it: init, demo, camera and user
//! management, and `check` finding damage.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::app::{bin, cli, rfc3339_offset, spawn_app};
use crate::camera::{CameraOptions, TestCamera};
use crate::media::{assert_decodes_cleanly, probe};
use crate::recording::wait_recorded;

#[tokio::test(flavor = "multi_thread")]
async fn demo_starts_with_a_recording_test_pattern_and_a_printed_login() {
    let data = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let mut child = Command::new(bin())
        .args([
            "demo",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .env("MIMAMORI_SEGMENT_SECONDS", "2")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    // Keep reading stdout to the end, as a terminal would.
    std::thread::spawn(move || {
        let (mut addr, mut pw) = (None, None);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(a) = line.split("http://").nth(1) {
                addr = Some(a.trim_end_matches('/').to_string());
            }
            if line.contains("password:") {
                pw = Some(line.rsplit(' ').next().unwrap().to_string());
            }
            if let (Some(a), Some(p)) = (&addr, &pw) {
                let _ = tx.send((a.clone(), p.clone()));
                addr = None;
            }
        }
    });
    let (addr, password) =
        tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)).unwrap())
            .await
            .unwrap();
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let r = client
        .post(format!("http://{addr}/api/login"))
        .json(&serde_json::json!({"username": "admin", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the printed login works");
    let mut cams = serde_json::Value::Null;
    for _ in 0..100 {
        cams = client
            .get(format!("http://{addr}/api/cameras"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if cams[0]["status"] == "recording" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(cams[0]["kind"], "test_pattern", "{cams}");
    assert_eq!(cams[0]["status"], "recording", "{cams}");
    // The page labels it as a test pattern.
    let html = client
        .get(format!("http://{addr}/cameras"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("テストパターン（内蔵の模擬カメラ）"));
    // Its footage plays like any camera's.
    let mut file = None;
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let url = format!(
            "http://{addr}/api/cameras/1/video.mp4?purpose=crime-prevention&start={}&end={}",
            crate::app::urlenc(&rfc3339_offset(-8)),
            crate::app::urlenc(&rfc3339_offset(-3))
        );
        let r = client.get(url).send().await.unwrap();
        if r.status() == 200 {
            let path = data.with_extension("mp4");
            std::fs::write(&path, r.bytes().await.unwrap()).unwrap();
            file = Some(path);
            break;
        }
    }
    let file = file.expect("the test pattern's footage is served");
    assert_decodes_cleanly(&file);
    assert_eq!(probe(&file).width, 640);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "demo exits cleanly on SIGTERM");
    // After a clean stop, the catalog and files agree.
    let out = cli(&["check", "--data", data.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn init_refuses_bad_presets_and_reuse() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("init-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let pw = dir.with_extension("pw");
    std::fs::write(&pw, "long-enough-pw\n").unwrap();
    let d = dir.to_str().unwrap();
    let p = pw.to_str().unwrap();
    let out = cli(&[
        "init",
        "--data",
        d,
        "--preset",
        "nowhere",
        "--admin",
        "a",
        "--admin-password-file",
        p,
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("osaka-nishinari"),
        "lists the known presets"
    );
    for preset in [
        "tottori-city-hall",
        "kitakyushu",
        "chiba-guideline",
        "midori-stations",
        "osaka-nishinari",
    ] {
        let d = format!("{d}-{preset}");
        let out = cli(&[
            "init",
            "--data",
            &d,
            "--preset",
            preset,
            "--admin",
            "a",
            "--admin-password-file",
            p,
        ]);
        assert!(
            out.status.success(),
            "{preset}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let policy = std::fs::read_to_string(format!("{d}/policy.toml")).unwrap();
        assert!(policy.contains(preset));
    }
    let out = cli(&[
        "init",
        "--data",
        &format!("{d}-kitakyushu"),
        "--admin",
        "a",
        "--admin-password-file",
        p,
    ]);
    assert!(
        !out.status.success(),
        "an initialized directory is never overwritten"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("already initialized"));
}

#[tokio::test(flavor = "multi_thread")]
async fn cameras_and_users_from_the_cli_reach_a_running_server() {
    let cam = TestCamera::start(CameraOptions::default());
    let mut app = spawn_app("cli").await;
    let d = app.data.to_str().unwrap().to_string();
    let pwf = app.data.with_extension("campw");
    std::fs::write(&pwf, "x").unwrap();
    let url = cam.url(1);
    let out = cli(&[
        "camera", "add", "--data", &d, "--name", "cli-cam", "--url", &url,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&[
        "camera",
        "add",
        "--data",
        &d,
        "--name",
        "bad",
        "--url",
        "ftp://x/y",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an RTSP URL"));
    let out = cli(&["camera", "list", "--data", &d, "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = list[0]["id"].as_i64().unwrap();
    assert_eq!(list[0]["url"], url.as_str());
    // The running server picks the new camera up by itself.
    app.wait_status(id, "recording", 20).await;
    wait_recorded(&app, id, 3.0, 20).await;
    // A new person can log in.
    let upw = app.data.with_extension("userpw");
    std::fs::write(&upw, "another-long-pw\n").unwrap();
    let out = cli(&[
        "user",
        "add",
        "--data",
        &d,
        "--username",
        "sousa",
        "--password-file",
        upw.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    app.login("sousa", "another-long-pw").await;
    // Roles from the policy: a temporary designee needs --until (and chiba has none at all);
    // a contractor belongs to a company.
    let out = cli(&[
        "user",
        "add",
        "--data",
        &d,
        "--username",
        "rinji",
        "--password-file",
        upw.to_str().unwrap(),
        "--role",
        "temporary",
        "--until",
        "2099-12-31",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no role temporary"));
    let out = cli(&[
        "user",
        "add",
        "--data",
        &d,
        "--username",
        "hoshu",
        "--password-file",
        upw.to_str().unwrap(),
        "--role",
        "contractor",
        "--organization",
        "見守り保守株式会社",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cli(&["user", "list", "--data", &d]);
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        list.contains("hoshu\thoshu\t保守業者\t見守り保守株式会社"),
        "{list}"
    );
    assert!(list.contains("sousa\tsousa\t管理責任者"), "{list}");
    // A forgotten password is set from the command line; the old one stops working.
    let newpw = app.data.with_extension("newpw");
    std::fs::write(&newpw, "brand-new-password\n").unwrap();
    let out = cli(&[
        "user",
        "password",
        "--data",
        &d,
        "--username",
        "sousa",
        "--password-file",
        newpw.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = reqwest::Client::new()
        .post(app.url("/api/login"))
        .json(&serde_json::json!({"username": "sousa", "password": "another-long-pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    app.login("sousa", "brand-new-password").await;
    // Removing keeps the footage and stops recording.
    let out = cli(&["camera", "remove", "--data", &d, "--name", "cli-cam"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("footage stays"));
    app.wait_for("camera gone from the list", 20, || async {
        app.get_json("/api/cameras")
            .await
            .as_array()
            .unwrap()
            .is_empty()
            .then_some(())
    })
    .await;
    app.terminate();
    let out = cli(&["check", "--data", &d]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_names_missing_and_truncated_segment_files() {
    let cam = TestCamera::start(CameraOptions::default());
    let mut app = spawn_app("check").await;
    let id = app.add_camera("check", &cam.url(1), None).await;
    app.wait_status(id, "recording", 20).await;
    wait_recorded(&app, id, 6.0, 30).await;
    app.terminate();
    let d = app.data.to_str().unwrap().to_string();
    let out = cli(&["check", "--data", &d]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let files = app.stored_names();
    assert!(files.len() >= 3, "{files:?}");
    app.segments().delete(&files[0]).unwrap();
    let mut cut = app.stored(&files[1]);
    cut.truncate(10);
    app.replace_stored(&files[1], cut);
    let out = cli(&["check", "--data", &d]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("missing:") && text.contains("wrong size:"),
        "{text}"
    );
    assert!(text.contains(&files[0]), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_refuses_an_invalid_policy_naming_the_line() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("badpolicy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let pw = dir.with_extension("pw");
    std::fs::write(&pw, "long-enough-pw\n").unwrap();
    let d = dir.to_str().unwrap();
    let out = cli(&[
        "init",
        "--data",
        d,
        "--admin",
        "a",
        "--admin-password-file",
        pw.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let policy = std::fs::read_to_string(dir.join("policy.toml")).unwrap();
    std::fs::write(
        dir.join("policy.toml"),
        format!("{policy}\nunknown_rule = true\n"),
    )
    .unwrap();
    let out = cli(&["serve", "--data", d, "--listen", "127.0.0.1:0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("policy.toml") && err.contains("line") && err.contains("unknown_rule"),
        "{err}"
    );
    // A policy that contradicts itself: live view forbidden, yet granted to roles.
    let contradictory = policy.replacen(
        "[live_view]\nallowed = true",
        "[live_view]\nallowed = false",
        1,
    );
    assert_ne!(contradictory, policy);
    std::fs::write(dir.join("policy.toml"), &contradictory).unwrap();
    let out = cli(&["serve", "--data", d, "--listen", "127.0.0.1:0"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let line = contradictory
        .lines()
        .enumerate()
        .skip_while(|(_, l)| *l != "[roles.manager]")
        .find(|(_, l)| l.starts_with("permissions"))
        .unwrap()
        .0
        + 1;
    assert!(
        err.contains(&format!("line {line}: roles.manager.permissions"))
            && err.contains("live view is not allowed"),
        "{err}"
    );
    // `policy check` says the same without starting anything; exit 0 once fixed.
    let out = cli(&["policy", "check", "--data", d]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("line {line}")));
    std::fs::write(dir.join("policy.toml"), &policy).unwrap();
    let out = cli(&["policy", "check", "--data", d]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("取扱担当者"));
}

/// The fields of an audit entry that say what it is about (not who, when or which).
fn shape(e: &serde_json::Value) -> (String, bool, bool, String) {
    (
        e["action"].as_str().unwrap().to_string(),
        e["camera_id"].is_number(),
        e["range"].is_null(),
        // The detail without the camera's or person's own name.
        e["detail"]
            .as_str()
            .unwrap()
            .replace("api-cam", "NAME")
            .replace("cli-cam", "NAME")
            .replace("api-person", "NAME")
            .replace("cli-person", "NAME")
            // Times differ between the two doors; the words must not.
            .chars()
            .map(|c| if c.is_ascii_digit() { '0' } else { c })
            .collect(),
    )
}

// Audit does not depend on the door: `mimamori camera add`, `camera remove` and
// `user add` are logged with the console as actor, in entries shaped like the API's.
#[tokio::test(flavor = "multi_thread")]
async fn the_command_line_is_audited_like_the_api() {
    let app = spawn_app("cli-audit").await;
    let d = app.data.to_str().unwrap().to_string();
    // Through the API, as the manager.
    let id = app
        .add_camera("api-cam", "rtsp://127.0.0.1:9/api", None)
        .await;
    let r = app
        .send_json(
            reqwest::Method::DELETE,
            &format!("/api/cameras/{id}"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .post_json(
            "/api/people",
            &serde_json::json!({"username": "api-person", "display_name": "api-person",
                "password": "another-long-pw", "role": "operator"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    // The same through the command line.
    let upw = app.data.with_extension("userpw");
    std::fs::write(&upw, "another-long-pw\n").unwrap();
    for args in [
        vec![
            "camera",
            "add",
            "--data",
            &d,
            "--name",
            "cli-cam",
            "--url",
            "rtsp://127.0.0.1:9/cli",
        ],
        vec!["camera", "remove", "--data", &d, "--name", "cli-cam"],
        vec![
            "user",
            "add",
            "--data",
            &d,
            "--username",
            "cli-person",
            "--display-name",
            "cli-person",
            "--role",
            "operator",
            "--password-file",
            upw.to_str().unwrap(),
        ],
    ] {
        let out = cli(&args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let log = app.get_json("/api/audit").await;
    let entries = log["entries"].as_array().unwrap();
    let by = |user: &str, action: &str| {
        entries
            .iter()
            .find(|e| e["username"] == user && e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} by {user}: {log}"))
            .clone()
    };
    for action in ["camera_added", "camera_removed", "designated"] {
        let api = by(crate::app::ADMIN, action);
        let console = by("(console)", action);
        assert_eq!(shape(&api), shape(&console), "{action}: {api} / {console}");
        assert_eq!(api["client"], "127.0.0.1");
        assert!(
            console["client"].as_str().unwrap().starts_with("console:"),
            "{console}"
        );
    }
    // The console's camera entries name the camera they concern.
    let added = by("(console)", "camera_added");
    assert_eq!(added["detail"], "cli-cam");
    assert_eq!(
        by("(console)", "camera_removed")["camera_id"],
        added["camera_id"]
    );
}
