//! A police station's agreement (協定, Osaka 第8条), end to end through the real
//! server: the manager records it, the station's account views and extracts
//! within it from its terminal, each extraction lands in the register and the
//! log, and a suspension stops everything at once.

use reqwest::Method;
use serde_json::{Value, json};

use crate::access::{PASSWORD, Person, add_person};
use crate::app::{AppOptions, spawn_app_with, urlenc};
use crate::camera::{CameraOptions, TestCamera};
use crate::provision::verify_export;
use crate::recording::wait_recorded;

// REQ-DIS-7 (Osaka 第8条): within the agreement the station views and extracts
// directly; outside it (another camera, footage before it, another terminal) and
// after its suspension it is refused (403, logged); each provision is a row of
// the register (第8条2: 第7条第2項 準用) and the manager sees it.
#[tokio::test(flavor = "multi_thread")]
async fn a_police_station_extracts_within_its_agreement_and_not_after_suspension() {
    let cam = TestCamera::start(CameraOptions::default());
    let app = spawn_app_with(
        "agreement",
        AppOptions {
            preset: "osaka-nishinari",
            ..AppOptions::default()
        },
    )
    .await;
    let covered = app.add_camera("通学路1", &cam.url(1), None).await;
    let other = app.add_camera("通学路2", &cam.url(2), None).await;
    app.wait_status(covered, "recording", 20).await;
    let (start, end) = wait_recorded(&app, covered, 4.0, 40).await;

    // A station's account names its station.
    let r = app
        .post_json(
            "/api/people",
            &json!({"username": "nostation", "display_name": "x", "password": PASSWORD, "role": "police"}),
        )
        .await;
    assert_eq!(r.status(), 400, "{}", r.text().await.unwrap());
    add_person(
        &app,
        "seian",
        "police",
        json!({"display_name": "巡査部長 西成一郎", "organization": "西成警察署"}),
    )
    .await;
    let police = Person::login(&app, "seian", PASSWORD, None, None)
        .await
        .unwrap();
    let q = |cam: i64| {
        format!(
            "/api/cameras/{cam}/video.mp4?start={}&end={}&purpose=legal",
            urlenc(&start),
            urlenc(&end)
        )
    };
    // Before any agreement: nothing.
    assert_eq!(police.get("/api/cameras").await.status(), 403);
    assert_eq!(police.get(&q(covered)).await.status(), 403);
    let page = police.get("/agreement").await;
    assert_eq!(page.status(), 403);
    assert!(page.text().await.unwrap().contains("第8条"));

    // Only the manager records an agreement.
    add_person(&app, "tanto", "operator", json!({})).await;
    let op = Person::login(&app, "tanto", PASSWORD, None, None)
        .await
        .unwrap();
    let valid_from = crate::app::rfc3339_offset(-600);
    let agreement = json!({
        "station": "西成警察署",
        "terms": "提供した画像は捜査の目的以外に利用しない。適正な取扱いがなされていない場合は是正を求める。",
        "cameras": [covered],
        "valid_from": valid_from,
        "valid_until": crate::app::rfc3339_offset(30 * 86_400),
    });
    let r = op
        .send(Method::POST, "/api/agreements", Some(agreement.clone()))
        .await;
    assert_eq!(r.status(), 403);
    let r = app.post_json("/api/agreements", &agreement).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let agreement_id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();

    // The station sees and plays its agreement's camera, and only that one.
    let cams = police
        .get("/api/cameras")
        .await
        .json::<Value>()
        .await
        .unwrap();
    let ids: Vec<i64> = cams
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![covered], "{cams}");
    assert_eq!(police.get(&q(covered)).await.status(), 200);
    assert_eq!(police.get(&q(other)).await.status(), 403);
    let page = police.get("/agreement").await.text().await.unwrap();
    assert!(
        page.contains("提供した画像は捜査の目的以外に利用しない"),
        "{page}"
    );
    // Not from another terminal (the station's registered one only).
    let elsewhere = Person::login(
        &app,
        "seian",
        PASSWORD,
        None,
        Some("127.0.0.2".parse().unwrap()),
    )
    .await
    .unwrap();
    let r = elsewhere.get(&q(covered)).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("協定警察署の登録端末"));

    // Extraction: another camera, footage from before the agreement — refused.
    let extract = |cams: Vec<i64>, from: &str| {
        json!({
            "agreement": agreement_id,
            "cameras": cams,
            "from": from,
            "to": end,
            "reason": "児童への声かけ事案の捜査",
            "ground_detail": "刑事訴訟法第197条第2項",
            "wait": true,
        })
    };
    let r = police
        .send(
            Method::POST,
            "/api/agreement/extract",
            Some(extract(vec![other], &start)),
        )
        .await;
    assert_eq!(r.status(), 403, "another camera");
    let r = police
        .send(
            Method::POST,
            "/api/agreement/extract",
            Some(extract(vec![covered], &crate::app::rfc3339_offset(-7200))),
        )
        .await;
    assert_eq!(r.status(), 403, "footage from before the agreement");
    // Within it: the package is built at once, and downloads.
    let r = police
        .send(
            Method::POST,
            "/api/agreement/extract",
            Some(extract(vec![covered], &start)),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let built: Value = r.json().await.unwrap();
    let req = built["request"].as_i64().unwrap();
    let package = format!("/api/provisions/{req}/packages/{}", built["package"]);
    let r = police.get(&package).await;
    assert_eq!(r.status(), 200);
    let zip = app.data.with_extension("agreement.zip");
    std::fs::write(&zip, r.bytes().await.unwrap()).unwrap();
    let (code, out) = verify_export(&zip, &[]);
    assert_eq!(code, 0, "{out}");

    // An ordinary request cannot pose as one under the agreement.
    let mut ordinary = crate::provision::police_request(&[covered], &start, &end);
    ordinary["ground"] = "law".into();
    ordinary["method"] = "agreement".into();
    let r = app.post_json("/api/provisions", &ordinary).await;
    assert_eq!(r.status(), 400, "{}", r.text().await.unwrap());

    // The manager sees it under the agreement and in the register: approved by
    // the agreement, delivered when the station downloaded it.
    let v = app.get_json("/api/agreements").await;
    let rows = v["agreements"][0]["requests"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v}");
    assert_eq!(rows[0]["id"], req);
    assert_eq!(rows[0]["status"], "delivered", "{v}");
    let p = app.get_json(&format!("/api/provisions/{req}")).await;
    assert_eq!(p["requester"]["organisation"], "西成警察署", "{p}");
    assert_eq!(p["decision"]["decision"], "approved", "{p}");
    let csv = app
        .client
        .get(app.url("/provisions/register.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("西成警察署") && csv.contains("児童への声かけ事案の捜査"),
        "{csv}"
    );
    let page = app
        .client
        .get(app.url("/agreements"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("data-request=\"{req}\"")), "{page}");

    // Suspended: at once nothing — no playback, no extraction, no download.
    let r = app
        .post_json(
            &format!("/api/agreements/{agreement_id}/suspend"),
            &json!({"reason": "提供画像の取扱いについて是正を求めるため"}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(police.get(&q(covered)).await.status(), 403);
    assert_eq!(police.get(&package).await.status(), 403);
    let r = police
        .send(
            Method::POST,
            "/api/agreement/extract",
            Some(extract(vec![covered], &start)),
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(police.get("/api/cameras").await.status(), 403);
    let log = app.get_json("/api/audit?action=refused").await;
    assert!(
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["username"] == "seian"
                && e["detail"].as_str().unwrap().contains("西成警察署")),
        "{log}"
    );
    // Lifted: the station plays again.
    let r = app
        .post_json(
            &format!("/api/agreements/{agreement_id}/resume"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(police.get(&q(covered)).await.status(), 200);
    // The station's page form does the same as the API.
    let agreement_field = agreement_id.to_string();
    let camera_field = covered.to_string();
    let r = police
        .client
        .post(app.url("/agreement/extract"))
        .form(&[
            ("csrf", police.csrf.as_str()),
            ("agreement", &agreement_field),
            ("camera", &camera_field),
            ("from", &start),
            ("to", &end),
            ("reason", "下校時の見守り事案の確認"),
            ("ground_detail", "刑事訴訟法第197条第2項"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let mut built = false;
    for _ in 0..100 {
        let v = police
            .get("/api/agreement")
            .await
            .json::<Value>()
            .await
            .unwrap();
        let requests = v["requests"].as_array().unwrap();
        if requests.len() == 2
            && requests
                .iter()
                .all(|r| !r["packages"].as_array().unwrap().is_empty())
        {
            built = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(built, "the form's extraction builds its package");
    let page = police.get("/agreement").await.text().await.unwrap();
    assert!(page.contains("下校時の見守り事案の確認"), "{page}");
    for action in [
        "agreement_made",
        "agreement_suspended",
        "agreement_resumed",
        "provision_extraction",
        "provision_delivered",
    ] {
        let log = app.get_json(&format!("/api/audit?action={action}")).await;
        assert!(
            !log["entries"].as_array().unwrap().is_empty(),
            "{action} is logged"
        );
    }
}
