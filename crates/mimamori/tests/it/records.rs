//! The records kept beside the footage, through the real server and CLI:
//! complaints with their due dates and overdue flags, the media register with a
//! disposal confirmed by the people the regulation requires, and the yearly
//! report that counts them without naming anyone.

use reqwest::Method;
use serde_json::{Value, json};

use crate::access::{PASSWORD, Person, add_person};
use crate::app::{AppOptions, cli, spawn_app_with};

fn days_ago(n: i64) -> String {
    crate::app::rfc3339_offset(-n * 86_400)
}

// REQ-MED-2 (Tottori 5(4)): a medium is disposed of only once several people,
// the manager among them, have each confirmed it in their own account; until
// then it is visibly pending. REQ-CMP-1 (Tottori 10): a complaint is taken in
// with its owner, flagged once its answer is overdue, and closed with the answer
// given. REQ-PUB-1: the year's report counts both, with no personal information.
#[tokio::test(flavor = "multi_thread")]
async fn tottori_media_are_disposed_of_by_two_people_with_the_manager_and_complaints_are_answered()
{
    let app = spawn_app_with(
        "records",
        AppOptions {
            preset: "tottori-city-hall",
            ..AppOptions::default()
        },
    )
    .await;
    add_person(
        &app,
        "hosa",
        "operator",
        json!({"display_name": "課長補佐 鳥取花子"}),
    )
    .await;
    add_person(
        &app,
        "hosa2",
        "operator",
        json!({"display_name": "主任 因幡次郎"}),
    )
    .await;
    let op = Person::login(&app, "hosa", PASSWORD, None, None)
        .await
        .unwrap();
    let op2 = Person::login(&app, "hosa2", PASSWORD, None, None)
        .await
        .unwrap();

    // The media register: a USB stick registered by hand.
    let r = op
        .send(
            Method::POST,
            "/api/media",
            Some(json!({"kind": "USB", "label": "USB-2026-01", "contents": "正面玄関 11月3日 10時〜11時",
                        "holder": "財産経営課長", "location": "財産経営課 金庫"})),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let medium = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let missing = op
        .send(Method::POST, "/api/media", Some(json!({"kind": "USB"})))
        .await;
    assert_eq!(missing.status(), 400);

    // Two operators cannot dispose of it without the manager (「管理責任者を含め」).
    let begun = op
        .send(
            Method::POST,
            &format!("/api/media/{medium}/dispose"),
            Some(json!({"method": "erasure", "note": "全領域を上書き消去"})),
        )
        .await;
    assert_eq!(begun.status(), 200, "{}", begun.text().await.unwrap());
    let v: Value = begun.json().await.unwrap();
    assert_eq!(v["state"], "pending", "{v}");
    assert_eq!(v["missing"], 1, "{v}");
    assert_eq!(v["needs_manager"], true, "{v}");
    // Each person confirms once.
    let again = op
        .send(Method::POST, &format!("/api/media/{medium}/confirm"), None)
        .await;
    assert_eq!(again.status(), 409, "{}", again.text().await.unwrap());
    let v: Value = op2
        .send(Method::POST, &format!("/api/media/{medium}/confirm"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["state"], "pending",
        "two people, neither the manager: {v}"
    );
    assert_eq!(v["missing"], 0, "{v}");
    assert_eq!(v["needs_manager"], true, "{v}");
    let page = op.get("/media").await.text().await.unwrap();
    assert!(
        page.contains(&format!("data-medium=\"{medium}\" data-state=\"pending\"")),
        "{page}"
    );
    assert!(page.contains("管理責任者の確認が必要"), "{page}");
    assert!(page.contains("5(4)"), "the page cites the clause: {page}");
    // The manager confirms through the page form (with its CSRF token).
    let no_token = app
        .client
        .post(app.url(&format!("/media/{medium}/confirm")))
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403);
    let r = app
        .client
        .post(app.url(&format!("/media/{medium}/confirm")))
        .form(&[("csrf", app.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let v = app.get_json("/api/media").await;
    let m = v["media"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == medium)
        .unwrap();
    assert_eq!(m["status"]["state"], "disposed", "{m}");
    assert_eq!(
        m["disposal"]["confirmed_by"].as_array().unwrap().len(),
        3,
        "{m}"
    );
    assert_eq!(m["disposal"]["method"], "erasure");
    assert_eq!(v["rule"]["confirmations"], 2);
    // A disposed medium takes no more confirmations, and a second disposal is refused.
    let r = op
        .send(
            Method::POST,
            &format!("/api/media/{medium}/dispose"),
            Some(json!({"method": "destruction"})),
        )
        .await;
    assert_eq!(r.status(), 409);

    // A complaint taken in twenty days ago is overdue (the target is 14 days).
    let contact = "090-0000-1111 山田";
    let r = op
        .send(
            Method::POST,
            "/api/complaints",
            Some(
                json!({"kind": "complaint", "channel": "phone", "received": days_ago(20),
                        "summary": "自宅の窓が映っているのではないか", "contact": contact}),
            ),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let late = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    // An inquiry through the page form, today.
    let r = op
        .client
        .post(app.url("/complaints"))
        .form(&[
            ("csrf", op.csrf.as_str()),
            ("kind", "inquiry"),
            ("channel", "counter"),
            ("summary", "録画の保存期間を知りたい"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    for bad in [
        json!({"kind": "complaint", "channel": "fax", "summary": "x"}),
        json!({"kind": "complaint", "channel": "phone", "summary": " "}),
        json!({"kind": "complaint", "channel": "phone", "summary": "x", "received": days_ago(-3)}),
    ] {
        let r = op
            .send(Method::POST, "/api/complaints", Some(bad.clone()))
            .await;
        assert_eq!(r.status(), 400, "{bad}");
    }
    let v: Value = op.get("/api/complaints").await.json().await.unwrap();
    assert_eq!(v["overdue"], 1, "{v}");
    assert_eq!(v["rule"]["answer_within_days"], 14);
    assert!(v["rule"]["basis"].as_str().unwrap().starts_with("10 "));
    let page = op.get("/complaints").await.text().await.unwrap();
    assert!(
        page.contains(&format!("data-complaint=\"{late}\" data-state=\"overdue\"")),
        "{page}"
    );
    assert!(page.contains("期限超過"), "{page}");
    // Closing it records the answer; it is no longer overdue.
    let r = op
        .send(
            Method::POST,
            &format!("/api/complaints/{late}/close"),
            Some(json!({"response": "撮影範囲を確認し、窓が映らないことを説明した"})),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let again = op
        .send(
            Method::POST,
            &format!("/api/complaints/{late}/close"),
            Some(json!({"response": "x"})),
        )
        .await;
    assert_eq!(again.status(), 409);
    let v: Value = op.get("/api/complaints").await.json().await.unwrap();
    assert_eq!(v["overdue"], 0, "{v}");

    // A contractor keeps no records.
    add_person(
        &app,
        "hoshu",
        "contractor",
        json!({"organization": "保守株式会社"}),
    )
    .await;
    let contractor = Person::login(&app, "hoshu", PASSWORD, None, None)
        .await
        .unwrap();
    assert_eq!(contractor.get("/api/complaints").await.status(), 403);
    assert_eq!(contractor.get("/complaints").await.status(), 403);

    // Everything is in the audit log, without what the person said.
    let audit = app.get_json("/api/audit").await.to_string();
    for action in [
        "medium_registered",
        "medium_disposal_begun",
        "medium_disposal_confirmed",
        "complaint_received",
        "complaint_closed",
    ] {
        assert!(audit.contains(action), "{action}: {audit}");
    }
    assert!(!audit.contains("山田"), "the log holds no contact");

    // The yearly report (this fiscal year), written by the CLI while the server runs.
    let jst_now = crate::app::rfc3339_offset(9 * 3600);
    let (year, month): (i32, u32) = (
        jst_now[..4].parse().unwrap(),
        jst_now[5..7].parse().unwrap(),
    );
    let fy = if month >= 4 { year } else { year - 1 };
    let out = app.data.with_extension("report");
    let o = cli(&[
        "report",
        "--data",
        app.data.to_str().unwrap(),
        "--fiscal-year",
        &fy.to_string(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("id=\"complaints-received\">1<"), "{html}");
    assert!(html.contains("id=\"complaints-closed\">1<"), "{html}");
    assert!(html.contains("id=\"media-disposed\">1<"), "{html}");
    assert!(html.contains("鳥取市"), "{html}");
    assert!(html.contains("令和"), "和暦: {html}");
    assert!(!html.contains("<script"), "a static page: {html}");
    assert!(
        !html.contains("src=") && !html.contains("href="),
        "no external asset"
    );
    for personal in ["山田", "090-0000", "窓が映って", "鳥取花子"] {
        assert!(
            !html.contains(personal),
            "no personal information: {personal}"
        );
    }
    let csv = std::fs::read_to_string(out.join("report.csv")).unwrap();
    assert!(csv.contains("苦情,受付,,1"), "{csv}");
    assert!(csv.contains("問い合わせ,受付,,1"), "{csv}");
    // The manager previews the same in the UI; an operator may too (records).
    let page = app.page(&format!("/report?fy={fy}")).await;
    assert!(page.contains("id=\"complaints-received\">1<"), "{page}");
    let r = op.get(&format!("/report.csv?fy={fy}")).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("苦情,対応完了,,1"));
    std::fs::remove_dir_all(&out).ok();
}

// REQ-MED-2 (Chiba 第2-5(5), Midori 第8条): media are disposed of by physical
// destruction; erasure is refused naming the clause. One confirmation suffices.
#[tokio::test(flavor = "multi_thread")]
async fn chiba_disposes_of_media_by_destruction_only() {
    let app = spawn_app_with("records-chiba", AppOptions::default()).await;
    let r = app
        .post_json(
            "/api/media",
            &json!({"kind": "DVD", "label": "DVD-1", "contents": "駐輪場 11月", "holder": "管理責任者", "location": "事務室"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let r = app
        .post_json(
            &format!("/api/media/{id}/dispose"),
            &json!({"method": "erasure"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("第2-5(5)") && text.contains("destruction"),
        "{text}"
    );
    let r = app
        .post_json(
            &format!("/api/media/{id}/dispose"),
            &json!({"method": "destruction", "note": "シュレッダーで裁断"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["state"], "disposed");
}

// REQ-MNT-1, REQ-PUR-3, REQ-SIG-1 (Kitakyushu 第4条(2), 別表2): every camera's
// inspection, placement review and sign check is due a year after the last (the
// installer's own interval: the regulation gives none); one past it is flagged
// on the checks page and the camera list until it is done again. The A4 sign
// says 「防犯カメラ作動中」 and names the 防犯カメラ設置管理者, as 第4条(2) asks.
#[tokio::test(flavor = "multi_thread")]
async fn kitakyushu_checks_fall_due_and_its_sign_names_the_manager_of_the_cameras() {
    let app = spawn_app_with(
        "records-checks",
        AppOptions {
            preset: "kitakyushu",
            ..AppOptions::default()
        },
    )
    .await;
    let camera = app
        .add_camera("小倉駅前", "rtsp://127.0.0.1:9/none", None)
        .await;
    let v = app.get_json("/api/checks").await;
    assert_eq!(v["overdue"], 0, "a new camera is not overdue: {v}");
    assert!(v["sign"]["basis"].as_str().unwrap().starts_with("第4条(2)"));
    let check = |kind: &str, done_on: String| {
        json!({"camera": camera, "kind": kind, "done_on": done_on,
               "done_by": "北九州保守株式会社", "outcome": "映像・録画とも正常", "action": "レンズ清掃"})
    };
    let r = app
        .post_json("/api/checks", &check("inspection", days_ago(400)))
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let v = app.get_json("/api/checks").await;
    assert_eq!(v["overdue"], 1, "{v}");
    let page = app.page("/cameras").await;
    assert!(page.contains("id=\"records-overdue\""), "{page}");
    // REQ-MNT-1: the camera list's health links to the camera's inspection log.
    assert!(page.contains("href=\"/checks#camera-"), "{page}");
    let page = app.page("/checks").await;
    assert!(
        page.contains("data-kind=\"inspection\" data-state=\"overdue\""),
        "{page}"
    );
    for bad in [
        check("polishing", days_ago(1)),
        check("inspection", days_ago(-2)),
        json!({"camera": camera, "kind": "inspection", "done_by": "x", "outcome": ""}),
        json!({"camera": 9999, "kind": "inspection", "done_by": "x", "outcome": "y"}),
    ] {
        let r = app.post_json("/api/checks", &bad).await;
        assert!(
            r.status() == 400 || r.status() == 404,
            "{bad}: {}",
            r.status()
        );
    }
    // Done again today: nothing is overdue any more.
    let r = app
        .post_json("/api/checks", &check("inspection", days_ago(0)))
        .await;
    assert_eq!(r.status(), 200);
    let v = app.get_json("/api/checks").await;
    assert_eq!(v["overdue"], 0, "{v}");
    assert!(
        !app.page("/cameras")
            .await
            .contains("id=\"records-overdue\"")
    );
    let audit = app.get_json("/api/audit").await.to_string();
    assert!(audit.contains("camera_checked"), "{audit}");

    // The sign sheet.
    let r = app
        .client
        .get(app.url(&format!("/checks/sign.pdf?camera={camera}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = app.data.with_extension("sign.pdf");
    std::fs::write(&pdf, r.bytes().await.unwrap()).unwrap();
    let text = crate::provision::pdf_text(&pdf);
    crate::provision::assert_page_renders(&pdf);
    assert!(text.contains("防犯カメラ作動中"), "{text}");
    assert!(text.contains("防犯カメラ設置管理者"), "{text}");
    assert!(text.contains("北九州市"), "{text}");
    assert!(text.contains("小倉駅前"), "{text}");
    std::fs::remove_file(&pdf).ok();
}

// REQ-REG-1 (Chiba 第3-1 and its model regulation): the regulation is generated
// from the policy the system enforces; changing a policy value changes the
// document. The 個人情報ファイル簿 entry comes from the same policy.
#[tokio::test(flavor = "multi_thread")]
async fn the_regulation_and_the_personal_file_entry_follow_the_policy_in_force() {
    let app = spawn_app_with(
        "records-regulation",
        AppOptions {
            policy_edits: vec![
                ("days = 30", "days = 20".into()),
                ("answer_within_days = 14", "answer_within_days = 10".into()),
            ],
            ..AppOptions::default()
        },
    )
    .await;
    app.add_camera("駐輪場入口", "rtsp://127.0.0.1:9/none", None)
        .await;
    let r = app
        .client
        .get(app.url("/documents/regulation.html"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("千葉市 防犯カメラの設置及び運用に関する規程"),
        "{html}"
    );
    assert!(html.contains("撮影の時から起算して20日"), "{html}");
    assert!(!html.contains("起算して30日"), "{html}");
    assert!(html.contains("10日以内に回答"), "{html}");
    assert!(html.contains("駐輪場入口"), "the cameras: {html}");
    assert!(html.contains("第2-5(5)"), "the disposal clause: {html}");
    assert!(html.contains("取扱担当者"), "the operators: {html}");
    assert!(!html.contains("<script"));
    let r = app
        .client
        .get(app.url("/documents/personal-file.html"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    for field in [
        "個人情報ファイルの名称",
        "行政機関等の名称",
        "記録項目",
        "記録範囲",
        "記録情報の収集方法",
        "要配慮個人情報",
        "経常的提供先",
        "開示請求等を受理する組織",
        "訂正及び利用停止",
        "個人情報ファイルの種別",
    ] {
        assert!(html.contains(field), "{field}: {html}");
    }
    assert!(html.contains("千葉市 防犯カメラ画像ファイル"), "{html}");
    assert!(html.contains("20日"), "{html}");

    // Both print as PDF from the same description (issue 10: "as PDF and HTML").
    for (path, wants) in [
        (
            "/documents/regulation.pdf",
            &[
                "防犯カメラの設置及び運用に関する規程",
                "撮影の時から起算して20日",
                "駐輪場入口",
            ][..],
        ),
        (
            "/documents/personal-file.pdf",
            &[
                "個人情報ファイルの名称",
                "千葉市防犯カメラ画像ファイル",
                "20日",
            ][..],
        ),
    ] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.headers()["content-type"], "application/pdf");
        let pdf = app.data.with_extension(path.rsplit('/').next().unwrap());
        std::fs::write(&pdf, r.bytes().await.unwrap()).unwrap();
        let flat: String = crate::provision::pdf_text(&pdf)
            .split_whitespace()
            .collect();
        for want in wants {
            let want: String = want.split_whitespace().collect();
            assert!(flat.contains(&want), "{path}: {want}: {flat}");
        }
        crate::provision::assert_page_renders(&pdf);
    }
}
