//! Property tests over what people type: login and form inputs of any shape get a
//! clear 4xx answer, never a 5xx and never internals (SQL, paths, panics) in the body.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::Method;

use crate::app::spawn_app;

const INTERNALS: [&str; 8] = [
    "sqlx",
    "SQLITE",
    "panicked",
    "thread '",
    "/work/",
    "src/",
    "RUST_BACKTRACE",
    "database is",
];

fn check(status: reqwest::StatusCode, body: &str, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(status.as_u16() < 500, "{what}: {status} {body}");
    for word in INTERNALS {
        prop_assert!(!body.contains(word), "{what}: internals ({word}) in {body}");
    }
    Ok(())
}

/// Text as people and scripts send it: Japanese, control characters, SQL, markup, huge.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ぁ-ん漢字A-Za-z0-9 '\";<>%&=-]{0,40}",
        Just("' OR 1=1 --".to_string()),
        Just("<script>alert(1)</script>".to_string()),
        Just("2026-13-45T99:99:99+09:00".to_string()),
        "[0-9]{1,25}",
        ".{500,2000}",
    ]
}

fn run<S: Strategy>(cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn login_and_forms_never_answer_5xx_or_show_internals() {
    let app = spawn_app("props").await;
    let rt = tokio::runtime::Handle::current();
    let anon = crate::access::http_client(None);
    let block = |f: std::pin::Pin<
        Box<dyn std::future::Future<Output = (reqwest::StatusCode, String)> + Send + '_>,
    >| { tokio::task::block_in_place(|| rt.block_on(f)) };
    // Login, as a form and as JSON.
    run(120, (text(), text(), text()), |(u, p, code)| {
        let (s, body) = block(Box::pin(async {
            let r = anon
                .post(app.url("/login"))
                .form(&[("username", &u), ("password", &p), ("code", &code)])
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap_or_default())
        }));
        prop_assert_ne!(s.as_u16(), 200, "random credentials do not log in");
        check(s, &body, "POST /login")?;
        let (s, body) = block(Box::pin(async {
            let r = anon
                .post(app.url("/api/login"))
                .json(&serde_json::json!({"username": u, "password": p, "code": code}))
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap_or_default())
        }));
        check(s, &body, "POST /api/login")
    });
    // Forms and JSON bodies of the manager's work, with any values.
    let targets: [(&str, &[&str]); 6] = [
        (
            "/people",
            &[
                "username",
                "display_name",
                "password",
                "organization",
                "role",
                "valid_from",
                "valid_until",
            ],
        ),
        (
            "/retention/holds",
            &["camera", "from", "to", "until", "reason", "medium"],
        ),
        (
            "/instructions",
            &["person", "camera", "from", "to", "until", "content"],
        ),
        (
            "/cameras",
            &["name", "url", "username", "password", "sub_url"],
        ),
        ("/account/password", &["current", "new"]),
        ("/account/totp/confirm", &["secret", "code"]),
    ];
    run(60, proptest::collection::vec(text(), 7), |values| {
        for (path, fields) in &targets {
            let form: Vec<(&str, &str)> = fields
                .iter()
                .zip(&values)
                .map(|(k, v)| (*k, v.as_str()))
                .chain([("csrf", app.csrf.as_str())])
                .collect();
            let (s, body) = block(Box::pin(async {
                let r = app
                    .client
                    .post(app.url(path))
                    .form(&form)
                    .send()
                    .await
                    .unwrap();
                (r.status(), r.text().await.unwrap_or_default())
            }));
            check(s, &body, path)?;
            let json: serde_json::Map<String, serde_json::Value> = fields
                .iter()
                .zip(&values)
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone())))
                .collect();
            let api = format!("/api{}", path.replace("/retention/holds", "/holds"));
            let (s, body) = block(Box::pin(async {
                let r = app
                    .client
                    .request(Method::POST, app.url(&api))
                    .header("x-csrf-token", &app.csrf)
                    .json(&json)
                    .send()
                    .await
                    .unwrap();
                (r.status(), r.text().await.unwrap_or_default())
            }));
            check(s, &body, &api)?;
        }
        // Query strings of playback and the audit filter.
        let q = format!(
            "start={}&end={}&purpose={}&note={}",
            crate::app::urlenc(&values[0]),
            crate::app::urlenc(&values[1]),
            crate::app::urlenc(&values[2]),
            crate::app::urlenc(&values[3])
        );
        for path in [
            format!("/api/cameras/1/video.mp4?{q}"),
            format!(
                "/api/cameras/{}/video.mp4?{q}",
                crate::app::urlenc(&values[4])
            ),
            format!(
                "/audit?user={}&date={}&camera={}",
                crate::app::urlenc(&values[0]),
                crate::app::urlenc(&values[1]),
                crate::app::urlenc(&values[2])
            ),
            format!(
                "/api/cameras/1/recordings?from={}&to={}",
                crate::app::urlenc(&values[5]),
                crate::app::urlenc(&values[6])
            ),
        ] {
            let (s, body) = block(Box::pin(async {
                let r = app.client.get(app.url(&path)).send().await.unwrap();
                (r.status(), r.text().await.unwrap_or_default())
            }));
            check(s, &body, &path)?;
        }
        Ok(())
    });
    // Nothing the inputs did created a person.
    let people = app.get_json("/api/people").await;
    assert_eq!(people["people"].as_array().unwrap().len(), 1, "{people}");
}

/// `Range` headers as clients send them, well-formed or not.
fn range_header() -> impl Strategy<Value = String> {
    let spec = prop_oneof![
        (0u64..400_000, 0u64..400_000).prop_map(|(a, b)| format!("{a}-{b}")),
        (0u64..400_000).prop_map(|a| format!("{a}-")),
        (0u64..400_000).prop_map(|n| format!("-{n}")),
        "[0-9 ,-]{0,12}",
        Just("18446744073709551615-18446744073709551616".to_string()),
    ];
    prop_oneof![
        3 => proptest::collection::vec(spec, 1..4).prop_map(|v| format!("bytes={}", v.join(","))),
        1 => "(bytes|items|BYTES)?[=:]?\\PC{0,30}",
    ]
}

// Issue 13: any Range header on recorded footage gets 200, 206 or 416, never a 5xx;
// a single range answered 206 is exactly those bytes of the whole, as Content-Range
// says.
#[tokio::test(flavor = "multi_thread")]
async fn any_range_of_recorded_footage_is_answered_exactly() {
    let cam = crate::camera::TestCamera::start(crate::camera::CameraOptions::default());
    let app = spawn_app("props-range").await;
    let id = app.add_camera("range", &cam.url(1), None).await;
    app.wait_status(id, "recording", 20).await;
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    let purpose = app.purpose().await;
    let url = app.url(&format!(
        "/api/cameras/{id}/video.mp4?purpose={purpose}&start={}&end={}",
        crate::app::urlenc(&crate::app::rfc3339_offset(-5)),
        crate::app::urlenc(&crate::app::rfc3339_offset(-2))
    ));
    let whole = app.client.get(&url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    let whole = whole.bytes().await.unwrap();
    let len = whole.len() as u64;
    let rt = tokio::runtime::Handle::current();
    run(150, range_header(), |range| {
        let (status, content_range, body) = tokio::task::block_in_place(|| {
            rt.block_on(async {
                let r = app
                    .client
                    .get(&url)
                    .header("range", &range)
                    .send()
                    .await
                    .unwrap();
                let cr = r
                    .headers()
                    .get("content-range")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                (r.status().as_u16(), cr, r.bytes().await.unwrap_or_default())
            })
        });
        prop_assert!([200, 206, 416].contains(&status), "{range:?} → {status}");
        if status == 200 {
            prop_assert_eq!(body.len() as u64, len, "{:?}: the whole", range);
        }
        if status == 206
            && let Some(cr) = content_range
        {
            let (span, total) = cr
                .strip_prefix("bytes ")
                .and_then(|s| s.split_once('/'))
                .unwrap();
            prop_assert_eq!(total.parse::<u64>().unwrap(), len);
            let (a, b) = span.split_once('-').unwrap();
            let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
            prop_assert!(a <= b && (b as u64) < len, "{range:?} → {cr}");
            prop_assert_eq!(&body[..], &whole[a..=b], "{:?} → {}", range, cr);
        }
        Ok(())
    });
}
