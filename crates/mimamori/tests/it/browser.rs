//! The UI in a real browser: Debian's headless Chromium through chromedriver.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};

use crate::app::{ADMIN, ADMIN_PASSWORD, spawn_app};
use crate::camera::{CameraOptions, TestCamera, free_port};
use crate::procs::Group;
use crate::recording::wait_recorded;

/// chromedriver and the browser it starts; dropping it stops both, on failure too.
pub struct Driver {
    group: Group,
    profile: std::path::PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.group.kill();
        // A browser process that left the driver's group is known by its profile.
        crate::procs::kill_processes_with(&self.profile.display().to_string());
    }
}

pub async fn browser() -> (Driver, fantoccini::Client) {
    let port = free_port();
    let profile =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("chrome-{port}"));
    let group = Group::spawn(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .expect("chromedriver (scripts/test.sh installs chromium-driver)");
    let driver = Driver {
        group,
        profile: profile.clone(),
    };
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--no-first-run", "--disable-component-update",
                     "--disable-sync", "--disable-quic", "--mute-audio", "--autoplay-policy=no-user-gesture-required",
                     "--window-size=1280,900", format!("--user-data-dir={}", profile.display())]
        }),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        match c {
            Ok(c) => return (driver, c),
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("cannot start chromium: {e}"),
        }
    }
}

/// Picks a purpose of viewing on the camera page.
pub async fn choose_purpose(c: &fantoccini::Client, id: &str) {
    c.find(Locator::Css(&format!("#purpose option[value='{id}']")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_manager_logs_in_opens_the_timeline_and_the_video_plays() {
    let cam = TestCamera::start(CameraOptions::default());
    let app = spawn_app("browser").await;
    let id = app.add_camera("正面玄関", &cam.url(1), None).await;
    app.wait_status(id, "recording", 20).await;
    let (start, _) = wait_recorded(&app, id, 6.0, 30).await;

    let (_driver, c) = browser().await;
    c.goto(&app.url(&format!("/cameras/{id}"))).await.unwrap();
    // Not logged in: the login page, in Japanese.
    c.wait()
        .for_element(Locator::Id("login-form"))
        .await
        .unwrap();
    assert!(c.source().await.unwrap().contains("ログイン"));
    c.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys(ADMIN)
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(ADMIN_PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Back on the camera's page: calendar, timeline with a recorded span.
    let span = c
        .wait()
        .for_element(Locator::Css("#timeline .span"))
        .await
        .unwrap();
    // The calendar's days come from a request of their own: wait for them too.
    let _ = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#cal-grid button.has-rec"))
        .await;
    let days = c
        .find_all(Locator::Css("#cal-grid button.has-rec"))
        .await
        .unwrap();
    assert!(
        !days.is_empty(),
        "today is marked as recorded in the calendar"
    );
    // REQ-PUR-1: no purpose chosen, no video: the page asks for one.
    span.click().await.unwrap();
    let asked = c
        .find(Locator::Id("playing-from"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(asked.contains("目的"), "asked for a purpose: {asked:?}");
    choose_purpose(&c, "crime-prevention").await;
    span.click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut t = 0.0;
    while Instant::now() < deadline {
        let v = c
            .execute("const v = document.getElementById('player'); return [v.currentTime, v.readyState, v.error ? v.error.code : 0];", vec![])
            .await
            .unwrap();
        t = v[0].as_f64().unwrap_or(0.0);
        assert_eq!(
            v[2].as_i64().unwrap_or(0),
            0,
            "the video element reports an error: {v}"
        );
        if t > 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(t > 1.0, "the video plays (currentTime advanced to {t})");
    // The same footage through Media Source Extensions (fragmented MP4).
    let (a, b) = (
        crate::recording::plus(&start, 0.5),
        crate::recording::plus(&start, 5.0),
    );
    let script = format!(
        r#"window.mseResult = null;
        (async () => {{
          try {{
            const r = await fetch('/api/cameras/{id}/fragmented.mp4?purpose=crime-prevention&start={a}&end={b}');
            const codec = r.headers.get('x-mimamori-codecs').split(',')[0];
            const buf = await r.arrayBuffer();
            const v = document.createElement('video'); v.muted = true; document.body.appendChild(v);
            const ms = new MediaSource(); v.src = URL.createObjectURL(ms);
            await new Promise(res => ms.addEventListener('sourceopen', res, {{once: true}}));
            const sb = ms.addSourceBuffer('video/mp4; codecs="' + codec + '"');
            sb.appendBuffer(buf);
            await new Promise(res => sb.addEventListener('updateend', res, {{once: true}}));
            ms.endOfStream();
            await v.play();
            window.mseVideo = v;
            window.mseResult = 'ok';
          }} catch (e) {{ window.mseResult = 'error: ' + e; }}
        }})(); return true;"#,
        a = crate::app::urlenc(&a),
        b = crate::app::urlenc(&b)
    );
    c.execute(&script, vec![]).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut state = serde_json::Value::Null;
    while Instant::now() < deadline {
        state = c
            .execute(
                "return [window.mseResult, window.mseVideo ? window.mseVideo.currentTime : 0];",
                vec![],
            )
            .await
            .unwrap();
        if state[0].as_str().is_some_and(|s| s != "ok") || state[1].as_f64().unwrap_or(0.0) > 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(state[0], "ok", "MSE: {state}");
    assert!(
        state[1].as_f64().unwrap_or(0.0) > 1.0,
        "MSE playback advances: {state}"
    );
    // Kept for people reviewing the UI: target/tmp/viewer.png
    let png = c.screenshot().await.unwrap();
    std::fs::write(
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("viewer.png"),
        png,
    )
    .unwrap();
    c.close().await.unwrap();
    // The browser and its driver end with the test.
    let profile = _driver.profile.display().to_string();
    drop(_driver);
    let left = crate::procs::processes_left_with(&profile, 5);
    assert!(left.is_empty(), "a browser outlived its test: {left:?}");
}

/// Fills and submits the login form on the current page.
async fn log_in(c: &fantoccini::Client, user: &str, password: &str) {
    c.wait()
        .for_element(Locator::Id("login-form"))
        .await
        .unwrap();
    for (id, value) in [("username", user), ("password", password)] {
        c.find(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    c.find(Locator::Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Chooses a purpose, clicks the recorded span, and returns what the status line
/// says once the player either advances past a second or shows an error.
async fn play_first_span(c: &fantoccini::Client, purpose: &str) -> (f64, String) {
    let span = c
        .wait()
        .for_element(Locator::Css("#timeline .span"))
        .await
        .unwrap();
    choose_purpose(c, purpose).await;
    span.click().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = c
            .execute("const v = document.getElementById('player'); const s = document.getElementById('playing-from'); return [v.currentTime, s.className, s.textContent];", vec![])
            .await
            .unwrap();
        let t = v[0].as_f64().unwrap_or(0.0);
        let status = v[2].as_str().unwrap_or("").to_string();
        if t > 1.0 || v[1] == "error" || Instant::now() > deadline {
            return (t, status);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// REQ-LOC-1, REQ-PUR-1: an operator at an unregistered address is refused on
// playback (and the refusal is logged); once the address is registered, the same
// operator is asked for a purpose, the video plays, and the manager sees the viewing
// with its purpose in the audit page.
#[tokio::test(flavor = "multi_thread")]
async fn an_operator_plays_video_only_from_a_registered_terminal_and_the_log_shows_it() {
    use crate::app::{AppOptions, spawn_app_with};
    let cam = TestCamera::start(CameraOptions::default());
    let mut app = spawn_app_with(
        "browser-terminal",
        AppOptions {
            policy_edits: vec![
                (
                    "networks = [\n    \"127.0.0.1/32\",\n    \"::1/128\",\n]",
                    "networks = [\"192.168.10.0/24\"]".into(),
                ),
                (
                    "    \"export\",\n    \"camera_settings\",\n]\nterminal_basis",
                    "    \"export\",\n]\nterminal_basis".into(),
                ),
            ],
            ..AppOptions::default()
        },
    )
    .await;
    let id = app.add_camera("市民ホール", &cam.url(1), None).await;
    app.wait_status(id, "recording", 20).await;
    wait_recorded(&app, id, 6.0, 30).await;
    crate::access::add_person(&app, "sousa", "operator", serde_json::json!({})).await;

    let (_driver, c) = browser().await;
    c.goto(&app.url(&format!("/cameras/{id}"))).await.unwrap();
    log_in(&c, "sousa", crate::access::PASSWORD).await;
    let (t, status) = play_first_span(&c, "crime-prevention").await;
    assert!(t < 0.5, "no video from an unregistered terminal");
    assert!(
        status.contains("モニター設置場所") && status.contains("127.0.0.1"),
        "the refusal says why: {status:?}"
    );

    // The installer registers this address (the management room) and restarts.
    app.terminate();
    let policy = app.data.join("policy.toml");
    let text = std::fs::read_to_string(&policy).unwrap().replace(
        "\"192.168.10.0/24\"",
        "\"192.168.10.0/24\", \"127.0.0.1/32\"",
    );
    std::fs::write(&policy, text).unwrap();
    app.start().await;
    app.wait_status(id, "recording", 20).await;
    c.goto(&app.url(&format!("/cameras/{id}"))).await.unwrap();
    let (t, status) = play_first_span(&c, "accident").await;
    assert!(
        t > 1.0,
        "the video plays from the registered terminal: {status:?}"
    );

    // The manager reads the audit page: the refusal and the viewing with its purpose.
    // A new browser session (the operator's cookie gone), then the manager logs in.
    c.delete_all_cookies().await.unwrap();
    c.goto(&app.url("/audit?user=sousa")).await.unwrap();
    log_in(&c, ADMIN, ADMIN_PASSWORD).await;
    c.wait().for_element(Locator::Id("audit")).await.unwrap();
    let rows = c
        .find_all(Locator::Css("#audit tr[data-action='playback']"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one viewing logged");
    let row = rows[0].text().await.unwrap();
    assert!(
        row.contains("災害又は事故の防止") && row.contains("取扱担当者"),
        "purpose and role in the entry: {row}"
    );
    let refused = c
        .find_all(Locator::Css("#audit tr[data-action='refused']"))
        .await
        .unwrap();
    assert!(!refused.is_empty(), "the refusal is in the log");
}
