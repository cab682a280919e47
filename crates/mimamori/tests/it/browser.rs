//! The UI in a real browser: Debian's headless Chromium through chromedriver.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};

use crate::app::{ADMIN, ADMIN_PASSWORD, spawn_app};
use crate::camera::{CameraOptions, TestCamera, free_port};
use crate::recording::wait_recorded;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn browser() -> (Driver, fantoccini::Client) {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (scripts/test.sh installs chromium-driver)");
    let driver = Driver(child);
    let profile =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("chrome-{port}"));
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
}
