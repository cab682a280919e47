//! One scenario per seed (issue 10's proof): each regulation lived end to end
//! through the real binary, its cameras from GStreamer's RTSP server, the API as
//! the seed's people use it, and days passing on the server's clock. The steps
//! are one [`Scenario`]; each seed's test (bottom of the file) runs them with its
//! preset's people, grounds and rules, adds the clauses only its seed has, and
//! cites the articles it proves.
//!
//! The steps: designate the people the seed names → record (the camera described
//! with its location, purpose and range) → view with a purpose from the registered
//! terminal and be refused elsewhere → a provision request on the seed's ground →
//! identity, decision, extraction, a package `verify-export` accepts, delivery →
//! the register in the seed's layout → a complaint answered → a hold and its end →
//! expiry and erasure → a medium disposed of with the required confirmations → the
//! yearly report counts the year.

use std::net::IpAddr;

use reqwest::Method;
use serde_json::{Value, json};

use crate::access::{PASSWORD, Person, add_person, http_client, person_json};
use crate::app::{ADMIN, ADMIN_PASSWORD, App, AppOptions, spawn_app_with};
use crate::camera::{CameraOptions, TestCamera};
use crate::provision::{attach, pdf_text, police_request, verify_export};
use crate::recording::{plus, wait_recorded};

/// What differs from seed to seed.
pub struct Seed {
    pub preset: &'static str,
    /// The operator's designation (a department, for staff-only seeds).
    pub operator: fn() -> Value,
    /// Images are the manager's alone (Osaka 第5条2): the manager views, registers,
    /// extracts and keeps the records.
    pub manager_handles_images: bool,
    /// The viewing purpose (a policy id) and the ground and method of the request.
    pub purpose: &'static str,
    pub ground: &'static str,
    pub ground_detail: &'static str,
    pub method: &'static str,
    pub requester: &'static str,
    /// The printed register's title and some of its columns.
    pub register_title: &'static str,
    pub register_columns: &'static [&'static str],
    /// Extra fields of the hold the seed asks for (a medium, a ground).
    pub hold: fn() -> Value,
    /// The retention article an erasure cites.
    pub retention_article: &'static str,
    pub disposal_method: &'static str,
}

pub struct Scenario {
    pub app: App,
    pub seed: &'static Seed,
    camera_feed: Option<TestCamera>,
    pub camera: i64,
    pub operator_id: i64,
    pub manager_id: i64,
    pub operator: Person,
    pub manager: Person,
    /// The recorded span the scenario works on.
    pub start: String,
    pub end: String,
    /// The fiscal year the events fall in.
    pub fiscal_year: i32,
}

/// The registered terminal: the monitor room's address (Tottori 4(3), …).
pub fn room() -> IpAddr {
    "127.0.0.2".parse().unwrap()
}

fn count(html: &str, id: &str) -> i64 {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no {id}: {html}"));
    let rest = &html[at..];
    let open = rest.find('>').unwrap() + 1;
    let close = rest[open..].find('<').unwrap() + open;
    rest[open..close].trim().parse().unwrap()
}

impl Scenario {
    /// The installation on the seed's preset, its only terminal the monitor room,
    /// retention swept every second; the manager works from the room.
    pub async fn start(seed: &'static Seed) -> Scenario {
        let mut app = spawn_app_with(
            seed.preset,
            AppOptions {
                preset: seed.preset,
                policy_edits: vec![
                    (
                        "networks = [\n    \"127.0.0.1/32\",\n    \"::1/128\",\n]",
                        "networks = [\"127.0.0.2/32\"]".into(),
                    ),
                    (
                        "sweep_interval_seconds = 60",
                        "sweep_interval_seconds = 1".into(),
                    ),
                ],
                ..AppOptions::default()
            },
        )
        .await;
        app.client = http_client(Some(room()));
        app.login(ADMIN, ADMIN_PASSWORD).await;
        let manager = Person::login(&app, ADMIN, ADMIN_PASSWORD, None, Some(room()))
            .await
            .unwrap();
        let manager_id = person_json(&app, "username", ADMIN.into()).await["id"]
            .as_i64()
            .unwrap();
        let jst = crate::app::rfc3339_offset(9 * 3600);
        let (year, month): (i32, u32) = (jst[..4].parse().unwrap(), jst[5..7].parse().unwrap());
        Scenario {
            manager,
            manager_id,
            operator: Person::login(&app, ADMIN, ADMIN_PASSWORD, None, Some(room()))
                .await
                .unwrap(),
            operator_id: manager_id,
            app,
            seed,
            camera_feed: None,
            camera: 0,
            start: String::new(),
            end: String::new(),
            fiscal_year: if month >= 4 { year } else { year - 1 },
        }
    }

    /// The manager designates the operator the seed names (REQ-ROL-1).
    pub async fn designate(&mut self) {
        let mut extra = (self.seed.operator)();
        extra["display_name"] = "取扱 一郎".into();
        self.operator_id = add_person(&self.app, "tanto", "operator", extra).await;
        self.operator = Person::login(&self.app, "tanto", PASSWORD, None, Some(room()))
            .await
            .unwrap();
        let people = self.app.get_json("/api/people").await.to_string();
        assert!(people.contains("tanto"), "{people}");
    }

    /// Who works with images: the operator, or the manager alone.
    pub fn handler(&self) -> (&Person, i64) {
        if self.seed.manager_handles_images {
            (&self.manager, self.manager_id)
        } else {
            (&self.operator, self.operator_id)
        }
    }

    /// A camera described as the installation list has it (REQ-PUR-1) records
    /// at least twelve seconds; the handler views them with a purpose from the
    /// room (logged with the purpose) and is refused from another machine (REQ-LOC-1).
    pub async fn record_and_view(&mut self) {
        let feed = TestCamera::start(CameraOptions::default());
        let id = self.app.add_camera("正面玄関", &feed.url(1), None).await;
        self.camera_feed = Some(feed);
        self.camera = id;
        let r = self
            .app
            .send_json(
                Method::PUT,
                &format!("/api/cameras/{id}/description"),
                &json!({"location": "本庁舎 正面玄関 風除室上部", "purpose": "庁舎への不審者の侵入の防止",
                        "coverage": "正面玄関の出入口と前庭（歩道は映さない）", "sign_location": "正面玄関 自動ドア横"}),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        self.app.wait_status(id, "recording", 20).await;
        let (start, end) = wait_recorded(&self.app, id, 12.0, 60).await;
        self.start = start;
        self.end = end;

        let q = format!(
            "start={}&end={}&purpose={}&note={}",
            crate::app::urlenc(&plus(&self.start, 4.0)),
            crate::app::urlenc(&plus(&self.start, 6.0)),
            self.seed.purpose,
            crate::app::urlenc("不審者情報の確認")
        );
        let (handler, _) = self.handler();
        let r = handler
            .get(&format!("/api/cameras/{id}/video.mp4?{q}"))
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        assert_eq!(r.headers()["content-type"], "video/mp4");
        assert!(r.bytes().await.unwrap().len() > 1000);
        let elsewhere = Person::login(
            &self.app,
            self.handler_name(),
            self.handler_password(),
            None,
            None,
        )
        .await
        .unwrap();
        let r = elsewhere
            .get(&format!("/api/cameras/{id}/video.mp4?{q}"))
            .await;
        assert_eq!(r.status(), 403, "not from the registered terminal");
        let log = self.app.get_json("/api/audit?action=playback").await;
        let entry = &log["entries"][0];
        assert_eq!(entry["client"], "127.0.0.2", "{log}");
        assert!(
            entry["purpose"]
                .as_str()
                .unwrap()
                .contains("不審者情報の確認"),
            "{log}"
        );
    }

    fn handler_name(&self) -> &'static str {
        if self.seed.manager_handles_images {
            ADMIN
        } else {
            "tanto"
        }
    }

    fn handler_password(&self) -> &'static str {
        if self.seed.manager_handles_images {
            ADMIN_PASSWORD
        } else {
            PASSWORD
        }
    }

    /// A request on the seed's ground for the last three seconds recorded: its
    /// document and the identity check, the manager's approval naming who
    /// extracts, the package (checked offline), its delivery, and the register in
    /// the seed's layout, on the page and printed.
    pub async fn provide(&self) -> i64 {
        let seed = self.seed;
        let (handler, handler_id) = self.handler();
        let mut body = police_request(&[self.camera], &plus(&self.end, -3.0), &self.end);
        body["received_on"] = crate::app::rfc3339_offset(9 * 3600)[..10].into();
        body["ground"] = seed.ground.into();
        body["ground_detail"] = seed.ground_detail.into();
        body["method"] = seed.method.into();
        body["requester_organisation"] = seed.requester.into();
        let r = handler
            .send(Method::POST, "/api/provisions", Some(body))
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let req = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let pdf =
            b"%PDF-1.4\n% scanned request\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
        let r = attach(handler, &self.app.url(""), req, "shokai.pdf", pdf).await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let r = handler
            .send(
                Method::POST,
                &format!("/api/provisions/{req}/identity"),
                Some(json!({"method": "身分証明書（職員証・警察手帳等）", "detail": "警察手帳 巡査部長 中央一郎"})),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let r = self
            .manager
            .send(
                Method::POST,
                &format!("/api/provisions/{req}/decision"),
                Some(json!({"approve": true, "reason": "照会書を確認し提供を許可", "extractor": handler_id})),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let r = handler
            .send(
                Method::POST,
                &format!("/api/provisions/{req}/extract"),
                Some(json!({"wait": true})),
            )
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let package = r.json::<Value>().await.unwrap()["package"].clone();
        let r = handler
            .get(&format!("/api/provisions/{req}/packages/{package}"))
            .await;
        assert_eq!(r.status(), 200);
        let zip = self.app.data.with_extension("package.zip");
        std::fs::write(&zip, r.bytes().await.unwrap()).unwrap();
        let (code, out) = verify_export(&zip, &[]);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("VALID"), "{out}");
        let r = handler
            .send(
                Method::POST,
                &format!("/api/provisions/{req}/delivery"),
                Some(json!({"at": self.app.at(0), "recipient": "刑事課 巡査部長 中央一郎", "medium": "USBメモリ（管理番号 U-1）"})),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

        let page = handler
            .get("/provisions/register")
            .await
            .text()
            .await
            .unwrap();
        for want in seed.register_columns.iter().chain([&seed.requester]) {
            assert!(page.contains(want), "register: {want}: {page}");
        }
        let r = handler.get("/provisions/register.pdf").await;
        assert_eq!(r.status(), 200);
        let pdf = self.app.data.with_extension("register.pdf");
        std::fs::write(&pdf, r.bytes().await.unwrap()).unwrap();
        let text = pdf_text(&pdf);
        let flat: String = text.split_whitespace().collect();
        assert!(flat.contains(seed.register_title), "{text}");
        assert!(flat.contains("令和"), "{text}");
        req
    }

    /// Who keeps the records: the operator, or the manager where images are
    /// the manager's alone.
    fn keeper(&self) -> &Person {
        self.handler().0
    }

    /// A complaint taken in and answered (REQ-CMP-1).
    pub async fn complaint(&self) {
        let keeper = self.keeper();
        let r = keeper
            .send(
                Method::POST,
                "/api/complaints",
                Some(json!({"kind": "complaint", "channel": "phone", "summary": "自宅の玄関が映っているのではないか",
                            "contact": "090-0000-2222"})),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let r = keeper
            .send(
                Method::POST,
                &format!("/api/complaints/{id}/close"),
                Some(json!({"response": "撮影範囲を確認し、住宅が映らないことを説明した"})),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }

    /// Lets days pass; everyone signs in again (their sessions have expired).
    async fn pass_days(&mut self, days: i64) {
        self.app.pass_days(days).await;
        self.app.client = http_client(Some(room()));
        self.app.login(ADMIN, ADMIN_PASSWORD).await;
        self.manager = Person::login(&self.app, ADMIN, ADMIN_PASSWORD, None, Some(room()))
            .await
            .unwrap();
        if self.operator_id != self.manager_id {
            self.operator = Person::login(&self.app, "tanto", PASSWORD, None, Some(room()))
                .await
                .unwrap();
        }
    }

    /// Stops the server cleanly and starts it again; everyone signs in again.
    pub async fn restart(&mut self) {
        self.app.terminate();
        self.app.start().await;
        self.pass_days(0).await;
    }

    async fn spans(&self, from: &str, to: &str) -> usize {
        self.app.recordings(self.camera, from, to).await["spans"]
            .as_array()
            .unwrap()
            .len()
    }

    /// The first three seconds are held until three days after retention ends;
    /// the camera stops. Once the retention days have passed, the footage in
    /// between is erased (citing the seed's article) while the held and the
    /// provided footage stay; when the hold ends, its footage goes too.
    pub async fn hold_expiry_and_erasure(&mut self, retention_days: i64) {
        let mut body = json!({"cameras": [self.camera], "from": self.start, "to": plus(&self.start, 3.0),
                              "until": self.app.at((retention_days + 3) * 86_400),
                              "reason": "事故の照会に備えて保存期間を延長"});
        for (k, v) in (self.seed.hold)().as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = self.app.post_json("/api/holds", &body).await;
        assert_eq!(r.status(), 201);
        let hold = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        if body.get("medium").is_some() {
            self.copy_onto_the_medium(hold).await;
        }
        drop(self.camera_feed.take());
        let held = (self.start.clone(), plus(&self.start, 2.0));
        let middle = (plus(&self.start, 5.5), plus(&self.end, -5.5));
        let provided = (plus(&self.end, -2.0), self.end.clone());
        assert!(self.spans(&middle.0, &middle.1).await > 0);

        self.pass_days(retention_days + 2).await;
        self.app
            .wait_for("the unheld footage erased", 30, || async {
                (self.spans(&middle.0, &middle.1).await == 0).then_some(())
            })
            .await;
        assert!(self.spans(&held.0, &held.1).await > 0, "held footage stays");
        // Provided footage stays held for the policy's days after its delivery.
        let policy = std::fs::read_to_string(self.app.data.join("policy.toml")).unwrap();
        let keep_days: i64 = policy
            .lines()
            .find_map(|l| l.strip_prefix("keep_days_after_delivery = "))
            .unwrap()
            .parse()
            .unwrap();
        let provided_stays = retention_days + 4 < keep_days;
        assert_eq!(
            self.spans(&provided.0, &provided.1).await > 0,
            retention_days + 2 < keep_days,
            "provided footage is held {keep_days} days after delivery"
        );
        let erasures = self.app.get_json("/api/erasures").await.to_string();
        assert!(
            erasures.contains(self.seed.retention_article),
            "an erasure cites {}: {erasures}",
            self.seed.retention_article
        );

        self.pass_days(2).await;
        self.app
            .wait_for(
                "the held footage erased once its hold ended",
                30,
                || async { (self.spans(&held.0, &held.1).await == 0).then_some(()) },
            )
            .await;
        assert_eq!(
            self.spans(&provided.0, &provided.1).await > 0,
            provided_stays
        );
    }

    /// Tottori 5(3): the held footage is copied for the hold's medium by the
    /// package machinery (verifiable offline), from the registered terminal only,
    /// recorded against the hold and logged, not as a provision.
    async fn copy_onto_the_medium(&self, hold: i64) {
        let path = format!("/api/holds/{hold}/copies");
        let elsewhere = Person::login(&self.app, ADMIN, ADMIN_PASSWORD, None, None)
            .await
            .unwrap();
        let r = elsewhere.send(Method::POST, &path, Some(json!({}))).await;
        assert_eq!(r.status(), 403, "not from the registered terminal");
        let r = self
            .manager
            .send(Method::POST, &path, Some(json!({})))
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let copy: Value = r.json().await.unwrap();
        assert!(copy["frames"].as_i64().unwrap() > 0, "{copy}");
        let r = self.manager.get(&format!("{path}/{}", copy["copy"])).await;
        assert_eq!(r.status(), 200);
        let zip = self.app.data.with_extension("copy.zip");
        std::fs::write(&zip, r.bytes().await.unwrap()).unwrap();
        let (code, out) = verify_export(&zip, &[]);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains(&format!("copy of hold No.{hold}")), "{out}");
        let provisions = self.app.get_json("/api/provisions").await.to_string();
        assert!(
            !provisions.contains("保存期間の延長"),
            "a copy is no provision: {provisions}"
        );
        let page = self.app.page("/retention").await;
        assert!(
            page.contains(&format!("data-copy-id=\"{}\"", copy["copy"])),
            "{page}"
        );
        let log = self.app.get_json("/api/audit").await.to_string();
        for action in ["hold_copy", "hold_copy_built", "hold_copy_downloaded"] {
            assert!(log.contains(&format!("\"{action}\"")), "{action}: {log}");
        }
    }

    /// A medium registered and disposed of by the seed's method, confirmed by as
    /// many people as the seed requires, the manager among them where it says so
    /// (REQ-MED-2); pending until then.
    pub async fn dispose_of_a_medium(&self) {
        let keeper = self.keeper();
        let r = keeper
            .send(
                Method::POST,
                "/api/media",
                Some(json!({"kind": "DVD-R", "label": "DVD-2026-07", "contents": "正面玄関 保全した画像の写し",
                            "holder": "管理責任者", "location": "管理室 金庫"})),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let medium = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        let r = keeper
            .send(
                Method::POST,
                &format!("/api/media/{medium}/dispose"),
                Some(json!({"method": self.seed.disposal_method, "note": "確認の上で廃棄"})),
            )
            .await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let v: Value = r.json().await.unwrap();
        let rule = self.app.get_json("/api/media").await["rule"].clone();
        let needs_more = rule["confirmations"].as_i64().unwrap() > 1
            || (rule["manager_confirms"] == true && !self.seed.manager_handles_images);
        if needs_more {
            assert_eq!(v["state"], "pending", "{v} under {rule}");
            let r = self
                .manager
                .send(Method::POST, &format!("/api/media/{medium}/confirm"), None)
                .await;
            assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        }
        let media = self.app.get_json("/api/media").await;
        let m = media["media"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == medium)
            .unwrap()
            .clone();
        assert_eq!(m["status"]["state"], "disposed", "{m}");
        assert_eq!(m["disposal"]["method"], self.seed.disposal_method);
        assert!(
            m["disposal"]["confirmed_by"].as_array().unwrap().len() as i64
                >= rule["confirmations"].as_i64().unwrap()
        );
    }

    /// The yearly report (REQ-PUB-1) of the events' fiscal year, written by the
    /// CLI: the request approved, the complaint, the hold, the erasures and the
    /// medium counted; the camera with its location; no personal information.
    /// Returns the page.
    pub fn yearly_report(&self) -> String {
        let out = self.app.data.with_extension("report");
        let o = self.app.cli(&[
            "report",
            "--data",
            self.app.data.to_str().unwrap(),
            "--fiscal-year",
            &self.fiscal_year.to_string(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let html = std::fs::read_to_string(out.join("index.html")).unwrap();
        assert_eq!(count(&html, "requests-received"), 1, "{html}");
        assert_eq!(count(&html, "requests-approved"), 1, "{html}");
        assert_eq!(count(&html, "complaints-received"), 1, "{html}");
        assert_eq!(count(&html, "complaints-closed"), 1, "{html}");
        assert_eq!(count(&html, "media-disposed"), 1, "{html}");
        assert!(count(&html, "holds") >= 1, "{html}");
        // The erasures fall in the same year unless the days passed crossed 31 March.
        let now_jst = crate::app::rfc3339_offset(self.app.ahead_secs + 9 * 3600);
        if now_jst[5..7] != *"04" {
            assert!(count(&html, "erasures") >= 2, "{html}");
        }
        assert!(html.contains("本庁舎 正面玄関 風除室上部"), "{html}");
        for personal in ["090-0000", "中央一郎", "取扱 一郎", "住宅が映らない"] {
            assert!(
                !html.contains(personal),
                "no personal information: {personal}"
            );
        }
        // The same as PDF, for the city's bulletin board.
        let pdf = out.join("report.pdf");
        let flat: String = pdf_text(&pdf).split_whitespace().collect();
        for want in [
            "防犯カメラの運用状況",
            "年度",
            "本庁舎正面玄関風除室上部",
            "操作記録の署名",
        ] {
            assert!(flat.contains(want), "report.pdf: {want}: {flat}");
        }
        for personal in ["090-0000", "中央一郎"] {
            assert!(
                !flat.contains(personal),
                "no personal information: {personal}"
            );
        }
        crate::provision::assert_page_renders(&pdf);
        html
    }
}

// ---- the five seeds -----------------------------------------------------------

fn staff() -> Value {
    json!({})
}

fn no_extra() -> Value {
    json!({})
}

static TOTTORI: Seed = Seed {
    preset: "tottori-city-hall",
    operator: staff,
    manager_handles_images: false,
    purpose: "prevention",
    ground: "investigation",
    ground_detail: "捜査関係事項照会書 鳥取署刑第45号",
    method: "medium",
    requester: "鳥取警察署",
    register_title: "画像閲覧等記録書",
    register_columns: &[
        "閲覧等日時",
        "相手方（所属）",
        "撮影範囲",
        "閲覧等取扱者氏名",
    ],
    hold: || json!({"medium": "DVD-R TOT-7 管理室金庫"}),
    retention_article: "5(3)",
    disposal_method: "erasure",
};

// 鳥取市庁舎防犯カメラの設置及び運用に関する要綱: 3(3)(4) operators designated from
// the installer's staff; 4(3) images seen only in the monitor room; 5(3) two weeks,
// extended only on an external medium, which enters the media register; 5(4)
// media disposed of by several people including the manager; 6 provision on its
// grounds, decided by the manager, recorded in 別紙様式 (6(4)); 10 complaints.
#[tokio::test(flavor = "multi_thread")]
async fn tottori_city_hall_lives_its_regulation() {
    let mut s = Scenario::start(&TOTTORI).await;
    // 3(3)(4): an operator from outside the installer is refused.
    let r = s
        .app
        .post_json(
            "/api/people",
            &json!({"username": "gaibu", "display_name": "外部", "password": PASSWORD,
                    "role": "operator", "organization": "警備会社"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(text.contains("3(3)(4)"), "{text}");
    s.designate().await;
    s.record_and_view().await;
    s.provide().await;
    s.complaint().await;
    // 5(3): a hold without its medium is refused.
    let r = s
        .app
        .post_json(
            "/api/holds",
            &json!({"cameras": [s.camera], "from": s.start, "to": plus(&s.start, 3.0),
                    "until": s.app.at(30 * 86_400), "reason": "延長"}),
        )
        .await;
    assert_eq!(r.status(), 400);
    s.hold_expiry_and_erasure(14).await;
    let media = s.app.get_json("/api/media").await.to_string();
    assert!(media.contains("DVD-R TOT-7"), "5(3): {media}");
    s.dispose_of_a_medium().await;
    s.yearly_report();
}

static KITAKYUSHU: Seed = Seed {
    preset: "kitakyushu",
    operator: no_extra,
    manager_handles_images: false,
    purpose: "crime-prevention",
    ground: "investigation",
    ground_detail: "捜査関係事項照会書 小倉北署第12号 事件",
    method: "medium",
    requester: "小倉北警察署",
    register_title: "画像提供記録",
    register_columns: &[
        "提供日時",
        "提供先",
        "提供理由",
        "提供したデータ内容",
        "管理責任者",
    ],
    hold: no_extra,
    retention_article: "第5条(6)",
    disposal_method: "destruction",
};

// 北九州市防犯カメラシステム管理運用要領: 第3条 manager, 第3条2 取扱責任者 and
// temporary designees (with why the others cannot operate); 第5条(3) images in the
// central room; 第5条(5) no constant monitoring (no live view); 第5条(6) 7 days;
// 第5条(7) media disposed of by several people including the manager; 第6条
// provision on a concrete case, decided by the manager, recorded (第6条3); 第7条
// complaints; 第8条 the yearly publication.
#[tokio::test(flavor = "multi_thread")]
async fn kitakyushu_lives_its_regulation() {
    let mut s = Scenario::start(&KITAKYUSHU).await;
    s.designate().await;
    // 第3条2: a temporary designee only with the reason the others cannot operate.
    let r = s
        .app
        .post_json(
            "/api/people",
            &json!({"username": "rinji", "display_name": "臨時", "password": PASSWORD,
                    "role": "temporary", "valid_until": s.app.at(3 * 86_400)[..10]}),
        )
        .await;
    assert_eq!(r.status(), 400, "{}", r.text().await.unwrap());
    add_person(
        &s.app,
        "rinji",
        "temporary",
        json!({"valid_until": &s.app.at(3 * 86_400)[..10], "basis": "管理責任者及び取扱責任者が災害対応で不在のため"}),
    )
    .await;
    s.record_and_view().await;
    // 第5条(5): no live view for anyone.
    let r = s
        .manager
        .get(&format!("/api/cameras/{}/live", s.camera))
        .await;
    assert_eq!(r.status(), 403);
    s.provide().await;
    s.complaint().await;
    sign_photo(&s).await;
    s.hold_expiry_and_erasure(7).await;
    s.dispose_of_a_medium().await;
    s.yearly_report();
}

/// 第4条(2), REQ-SIG-1: a photograph of the sign as it hangs is kept with the
/// camera's checks (a JPEG or PNG only, sealed like the request documents),
/// beside where the sign hangs; looking at it is logged.
async fn sign_photo(s: &Scenario) {
    let jpeg = s.app.data.with_extension("sign.jpg");
    let out = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=yellow:s=320x240",
            "-frames:v",
            "1",
        ])
        .arg(&jpeg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let photo = std::fs::read(&jpeg).unwrap();
    let path = format!("/api/cameras/{}/sign-photos", s.camera);
    let keeper = s.keeper();
    let upload = |body: Vec<u8>| {
        keeper
            .client
            .post(s.app.url(&path))
            .header("x-csrf-token", &keeper.csrf)
            .body(body)
    };
    let r = upload(b"MZ\x90\x00 not a photo".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = upload(photo.clone()).send().await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let page = keeper.get("/checks").await.text().await.unwrap();
    assert!(
        page.contains(&format!("data-sign-photo=\"{id}\"")),
        "{page}"
    );
    assert!(
        page.contains("正面玄関 自動ドア横"),
        "where it hangs: {page}"
    );
    let r = keeper.get(&format!("/checks/photos/{id}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(r.bytes().await.unwrap().to_vec(), photo);
    let log = s.app.get_json("/api/audit").await.to_string();
    assert!(
        log.contains("sign_photo_added") && log.contains("sign_photo_viewed"),
        "{log}"
    );
}

static CHIBA: Seed = Seed {
    preset: "chiba-guideline",
    operator: no_extra,
    manager_handles_images: false,
    purpose: "crime-prevention",
    ground: "investigation",
    ground_detail: "捜査関係事項照会書 千中刑第123号",
    method: "medium",
    requester: "千葉中央警察署",
    register_title: "画像提供記録",
    register_columns: &["身分確認", "提供日時", "提供先", "提供した画像の内容"],
    hold: no_extra,
    retention_article: "第2-5(2)",
    disposal_method: "destruction",
};

// 千葉市防犯カメラの設置及び運用に関するガイドライン: 第2-4 manager and operators;
// 第2-5(1) where images are seen; 第2-5(2) about a month; 第2-5(5) media destroyed;
// 第2-7 provision on its grounds with the identity checked and recorded (第2-7(2));
// 第2-8 complaints; 第3-1 the installer's regulation.
#[tokio::test(flavor = "multi_thread")]
async fn chiba_lives_its_guideline() {
    let mut s = Scenario::start(&CHIBA).await;
    s.designate().await;
    s.record_and_view().await;
    s.provide().await;
    s.complaint().await;
    s.hold_expiry_and_erasure(30).await;
    s.dispose_of_a_medium().await;
    s.yearly_report();
    // 第3-1: the regulation names the camera where it is.
    let doc = s.app.page("/documents/regulation.html").await;
    assert!(
        doc.contains("正面玄関（本庁舎 正面玄関 風除室上部）"),
        "{doc}"
    );
    // The records are evidence: `mimamori verify` reads the request's document and
    // package back whole against their recorded hashes, and names one changed.
    let data = s.app.data.to_str().unwrap().to_string();
    let o = s.app.cli(&["verify", "--data", &data]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("2 record file(s)"), "{out}");
    let package = s
        .app
        .stored_files_in("packages")
        .into_iter()
        .find(|n| n.ends_with(".zip"))
        .unwrap();
    let mut bytes = s.app.stored_file(&package);
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    s.app.replace_stored_file(&package, bytes);
    let o = s.app.cli(&["verify", "--data", &data]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("FAILED: request No.1 package 1") && out.contains("changed"),
        "{out}"
    );
}

static MIDORI: Seed = Seed {
    preset: "midori-stations",
    operator: staff,
    manager_handles_images: false,
    purpose: "crime-prevention",
    ground: "criminal-197",
    ground_detail: "",
    method: "usb",
    requester: "桐生警察署",
    register_title: "画像提供申請記録簿",
    register_columns: &[
        "申請受付日",
        "提供日時",
        "画像の範囲",
        "提供の可否",
        "運用責任者",
    ],
    hold: || json!({"ground": "investigation"}),
    retention_article: "第7条2",
    disposal_method: "destruction",
};

// みどり市内主要駅における防犯カメラ運用要領: 第4条2 operators are staff of the
// 危機管理課; 第7条2 two weeks; 第7条3 kept longer only on law or an
// investigation's request; 第8条 media destroyed; 第9条・第10条 provision on the
// grounds of 様式第1号, decided by the 運用責任者, recorded in 様式第2号.
#[tokio::test(flavor = "multi_thread")]
async fn midori_stations_live_their_rules() {
    let mut s = Scenario::start(&MIDORI).await;
    s.designate().await;
    s.record_and_view().await;
    let request = s.provide().await;
    s.complaint().await;
    s.hold_expiry_and_erasure(14).await;
    s.dispose_of_a_medium().await;
    let before = s.yearly_report();
    // Every record survives a restart: the request, the complaint, the holds, the
    // media and their disposal, and so the report.
    s.restart().await;
    let v: Value = s
        .operator
        .get(&format!("/api/provisions/{request}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "delivered", "{v}");
    let complaints: Value = s
        .operator
        .get("/api/complaints")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        complaints["complaints"].as_array().unwrap().len(),
        1,
        "{complaints}"
    );
    let media = s.app.get_json("/api/media").await.to_string();
    assert!(media.contains("\"disposed\""), "{media}");
    let after = s.yearly_report();
    let counts = |html: &str| {
        [
            "requests-approved",
            "complaints-closed",
            "media-disposed",
            "holds",
            "erasures",
        ]
        .map(|id| count(html, id))
    };
    assert_eq!(counts(&before), counts(&after));
    // The report publishes the day's signed head of the audit log (signed at the
    // shutdown above at the latest); later, `audit verify --published` holds the
    // log against it, and a head that differs from the log is named.
    let csv = s.app.data.with_extension("report").join("report.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.contains("操作記録の署名,"), "{text}");
    let data = s.app.data.to_str().unwrap().to_string();
    let o = s.app.cli(&[
        "audit",
        "verify",
        "--data",
        &data,
        "--published",
        csv.to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        out.contains("published head(s)") && !out.contains("FAILED"),
        "{out}"
    );
    let line = text
        .lines()
        .find(|l| l.starts_with("操作記録の署名,"))
        .unwrap();
    let head = line.rsplit(',').next().unwrap().split(' ').next().unwrap();
    let other = format!(
        "{}{}",
        if head.starts_with('0') { "1" } else { "0" },
        &head[1..]
    );
    std::fs::write(&csv, text.replace(head, &other)).unwrap();
    let o = s.app.cli(&[
        "audit",
        "verify",
        "--data",
        &data,
        "--published",
        csv.to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("no longer hashes to the published head"),
        "{out}"
    );
}

static OSAKA: Seed = Seed {
    preset: "osaka-nishinari",
    operator: staff,
    manager_handles_images: true,
    purpose: "child-safety",
    ground: "law",
    ground_detail: "刑事訴訟法第197条第2項（捜査関係事項照会書 西成署第8号）",
    method: "medium",
    requester: "西成警察署",
    register_title: "画像管理台帳",
    register_columns: &[
        "利用目的",
        "根拠法令等",
        "対象カメラの設置場所",
        "本庁舎 正面玄関 風除室上部",
    ],
    hold: no_extra,
    retention_article: "第5条3",
    disposal_method: "destruction",
};

// 子どものための見守りカメラの運用管理に関する要領 (西成区): 第4条3 operators are
// staff of the 市民協働課 and act only under the manager's instruction; 第5条2
// images are handled by the manager; 第5条3 seven days from the day after
// recording; 第6条 provision on law and its procedure; 第7条 the request in
// writing names the cameras' locations, recorded in 画像管理台帳 第1号様式
// (第7条2); 第9条 complaints. (第8条, the police's agreement, has its own test.)
#[tokio::test(flavor = "multi_thread")]
async fn osaka_nishinari_lives_its_rules() {
    let mut s = Scenario::start(&OSAKA).await;
    s.designate().await;
    s.record_and_view().await;
    // 第5条2: the operator sees no image, even from the room.
    let q = format!(
        "start={}&end={}&purpose=child-safety",
        crate::app::urlenc(&s.start),
        crate::app::urlenc(&plus(&s.start, 2.0))
    );
    let r = s
        .operator
        .get(&format!("/api/cameras/{}/video.mp4?{q}", s.camera))
        .await;
    assert_eq!(r.status(), 403);
    s.provide().await;
    s.complaint().await;
    s.hold_expiry_and_erasure(7).await;
    s.dispose_of_a_medium().await;
    s.yearly_report();
}
