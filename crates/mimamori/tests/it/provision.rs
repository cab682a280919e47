//! Provision to third parties, end to end through the real server: a police
//! request registered with its document, its footage held, the identity check,
//! the manager's decision, extraction by the operator the manager named, the
//! evidence package checked by `mimamori verify-export` (and tampered with), the
//! delivery with its medium, and the register.

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::Method;
use serde_json::{Value, json};

use crate::access::{PASSWORD, Person, add_person};
use crate::app::{App, cli, spawn_app};
use crate::camera::{CameraOptions, TestCamera};
use crate::recording::wait_recorded;

/// A request for footage of `cameras` over [from, to), as the police bring it
/// (Chiba 第2-7(1)イ: 捜査機関からの要請, in writing; handed over on a USB stick).
pub fn police_request(cameras: &[i64], from: &str, to: &str) -> Value {
    json!({
        "received_on": "2026-12-01",
        "requester_address": "千葉市中央区長洲1丁目9番1号",
        "requester_organisation": "千葉中央警察署",
        "requester_representative": "署長 警視 千葉太郎",
        "contact_department": "刑事第一課",
        "contact_person": "巡査部長 中央一郎",
        "contact_phone": "043-000-0110",
        "cameras": cameras,
        "from": from,
        "to": to,
        "reason": "令和8年11月30日発生の窃盗事件の捜査のため",
        "ground": "investigation",
        "ground_detail": "捜査関係事項照会書 千中刑第123号",
        "method": "medium",
        "method_detail": "USBメモリ",
        "remarks": "",
    })
}

/// Sends the document as the page's script does (the file as the body).
pub async fn attach(
    p: &Person,
    base: &str,
    id: i64,
    name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    p.client
        .post(format!("{base}/api/provisions/{id}/documents?name={name}"))
        .header("x-csrf-token", &p.csrf)
        .body(bytes)
        .send()
        .await
        .unwrap()
}

fn scratch(app: &App, name: &str) -> PathBuf {
    let d = app.data.with_extension(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn unzip(zip: &Path, into: &Path) {
    let out = Command::new("unzip")
        .args([
            "-q",
            "-o",
            zip.to_str().unwrap(),
            "-d",
            into.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "unzip: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    let out = Command::new("cp")
        .args(["-r", from.to_str().unwrap(), to.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
}

/// `mimamori verify-export` on a package: (exit code, output).
pub fn verify_export(package: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["verify-export", package.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = cli(&args);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The text of a PDF, as pdftotext reads it (layout kept).
pub fn pdf_text(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", pdf.to_str().unwrap(), "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The first page renders to an image that is not blank.
pub fn assert_page_renders(pdf: &Path) {
    let png = pdf.with_extension("page");
    let out = Command::new("pdftoppm")
        .args([
            "-png",
            "-r",
            "50",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            pdf.to_str().unwrap(),
            png.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pdftoppm: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(png.with_extension("page.png")).unwrap();
    assert!(
        bytes.len() > 2000 && bytes.starts_with(b"\x89PNG"),
        "a rendered page"
    );
}

/// The fingerprint printed on the covering letter.
pub async fn letter_fingerprint(p: &Person, id: i64) -> String {
    let letter = p
        .get(&format!("/provisions/{id}/letter"))
        .await
        .text()
        .await
        .unwrap();
    let at = letter.find("id=\"fingerprint\">").unwrap() + "id=\"fingerprint\">".len();
    letter[at..at + letter[at..].find('<').unwrap()].to_string()
}

// REQ-DIS-2, REQ-DIS-3, REQ-DIS-4, REQ-DIS-5, REQ-DIS-6, REQ-RET-4, REQ-STO-3, REQ-STO-4, REQ-MED-1:
// a police request from the written request to a package the recipient can check
// without mimamori, and a register row (Chiba 第2-7).
#[tokio::test(flavor = "multi_thread")]
async fn a_police_request_ends_in_a_package_the_recipient_can_verify() {
    let cam = TestCamera::start(CameraOptions::default());
    let app = spawn_app("provision").await;
    let base = app.url("");
    let id = app.add_camera("正面玄関", &cam.url(1), None).await;
    app.wait_status(id, "recording", 20).await;
    let (start, end) = wait_recorded(&app, id, 6.0, 40).await;
    let operator = add_person(&app, "sousa", "operator", json!({})).await;
    let op = Person::login(&app, "sousa", PASSWORD, None, None)
        .await
        .unwrap();
    let boss = Person::login(
        &app,
        crate::app::ADMIN,
        crate::app::ADMIN_PASSWORD,
        None,
        None,
    )
    .await
    .unwrap();

    // A ground the policy lacks cannot be chosen; a proper request is registered
    // and its footage held at once.
    let mut wrong = police_request(&[id], &start, &end);
    wrong["ground"] = "curiosity".into();
    let r = op.send(Method::POST, "/api/provisions", Some(wrong)).await;
    assert_eq!(r.status(), 400, "{}", r.text().await.unwrap());
    let r = op
        .send(
            Method::POST,
            "/api/provisions",
            Some(police_request(&[id], &start, &end)),
        )
        .await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let req = created["id"].as_i64().unwrap();
    let holds = app.get_json("/api/holds").await;
    let hold = holds
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == created["hold"])
        .unwrap_or_else(|| panic!("no hold {created}: {holds}"));
    assert_eq!(hold["active"], true, "{hold}");
    assert_eq!(hold["provision"], req, "{hold}");
    // The request keeps the period asked for; the hold covers it (and a little after).
    let v: Value = op
        .get(&format!("/api/provisions/{req}"))
        .await
        .json()
        .await
        .unwrap();
    let t = |v: &Value| crate::app::parse_time(v.as_str().unwrap());
    assert_eq!(t(&v["from"]), crate::app::parse_time(&start), "{v}");
    assert_eq!(t(&v["to"]), crate::app::parse_time(&end), "{v}");
    assert!(
        t(&hold["from"]) <= t(&v["from"]) && t(&hold["to"]) > t(&v["to"]),
        "{hold}"
    );

    // Nothing leaves before approval: not by the operator, not as a plain download.
    let r = op
        .send(
            Method::POST,
            &format!("/api/provisions/{req}/extract"),
            Some(json!({"wait": true})),
        )
        .await;
    assert_eq!(r.status(), 403, "extraction before approval");
    let q = format!(
        "start={}&end={}&purpose=investigation&download=1",
        crate::app::urlenc(&start),
        crate::app::urlenc(&end)
    );
    for who in [&op, &boss] {
        let r = who.get(&format!("/api/cameras/{id}/video.mp4?{q}")).await;
        assert_eq!(r.status(), 403, "a download outside a request");
    }

    // The document: a PDF is kept (encrypted), other files are refused.
    let r = attach(
        &op,
        &base,
        req,
        "setup.exe",
        b"MZ\x90\x00not a document".to_vec(),
    )
    .await;
    assert_eq!(r.status(), 400);
    let pdf = b"%PDF-1.4\n% scanned inquiry\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".to_vec();
    let r = attach(&op, &base, req, "shokai.pdf", pdf.clone()).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let documents = app.stored_files_in("documents");
    assert_eq!(documents.len(), 1, "{documents:?}");
    for name in documents {
        let bytes = app.stored_file(&name);
        assert!(
            !bytes.windows(8).any(|w| w == b"%PDF-1.4"),
            "stored encrypted"
        );
    }

    // Only the manager decides, and only after the identity check.
    let approve =
        json!({"approve": true, "reason": "捜査関係事項照会書を確認", "extractor": operator});
    let r = op
        .send(
            Method::POST,
            &format!("/api/provisions/{req}/decision"),
            Some(approve.clone()),
        )
        .await;
    assert_eq!(r.status(), 403, "an operator cannot decide");
    let r = boss
        .send(
            Method::POST,
            &format!("/api/provisions/{req}/decision"),
            Some(approve.clone()),
        )
        .await;
    let text = r.text().await.unwrap();
    assert!(
        text.contains("identity"),
        "approval waits for the identity check: {text}"
    );
    let r = op
        .send(
            Method::POST,
            &format!("/api/provisions/{req}/identity"),
            Some(json!({"method": "身分証明書（職員証・警察手帳等）", "detail": "警察手帳 巡査部長 中央一郎"})),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = boss
        .send(
            Method::POST,
            &format!("/api/provisions/{req}/decision"),
            Some(approve),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // Outside the approved range: refused and logged.
    let later = crate::app::rfc3339_offset(3600);
    let r = op
        .send(
            Method::POST,
            &format!("/api/provisions/{req}/extract"),
            Some(json!({"to": later, "wait": true})),
        )
        .await;
    assert_eq!(r.status(), 403);
    // The named operator extracts; once plain, once for a medium with a passphrase.
    let r = op
        .send(
            Method::POST,
            &format!("/api/provisions/{req}/extract"),
            Some(json!({"wait": true})),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let pkg: Value = r.json().await.unwrap();
    let r = op
        .send(
            Method::POST,
            &format!("/api/provisions/{req}/extract"),
            Some(json!({"wait": true, "passphrase": "usb-passphrase-2026"})),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let locked: Value = r.json().await.unwrap();

    let dir = scratch(&app, "package");
    let zip = dir.join("package.zip");
    let r = op
        .get(&format!(
            "/api/provisions/{req}/packages/{}",
            pkg["package"]
        ))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/zip");
    std::fs::write(&zip, r.bytes().await.unwrap()).unwrap();
    let fingerprint = letter_fingerprint(&op, req).await;
    let (code, out) = verify_export(&zip, &["--fingerprint", &fingerprint]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("VALID") && out.contains("each the frame recorded"),
        "{out}"
    );
    // The clip plays, samples as recorded; the notice goes with it (Tottori 8(2)).
    let unpacked = dir.join("unpacked");
    unzip(&zip, &unpacked);
    let clip = unpacked.join(format!("clips/camera{id}.mp4"));
    let p = crate::media::probe(&clip);
    assert_eq!(p.codec, "h264");
    assert!(p.duration >= 3.0, "{p:?}");
    crate::media::assert_decodes_cleanly(&clip);
    let notice = std::fs::read_to_string(unpacked.join("notice-ja.txt")).unwrap();
    assert!(notice.contains("漏らし"), "{notice}");
    let (code, out) = verify_export(&unpacked, &["--fingerprint", &fingerprint]);
    assert_eq!(code, 0, "{out}");

    // Tampering is named: a changed frame, a changed manifest, another key.
    let t = dir.join("flipped");
    copy_dir(&unpacked, &t);
    let clip_t = t.join(format!("clips/camera{id}.mp4"));
    let mut bytes = std::fs::read(&clip_t).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 0x40;
    std::fs::write(&clip_t, bytes).unwrap();
    let (code, out) = verify_export(&t, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("clips/camera{id}.mp4: changed")),
        "{out}"
    );
    // Issue 11: the segment's hash, recomputed from the clip's range of it, is not the one recorded.
    assert!(out.contains("are not the frames recorded there"), "{out}");

    let t = dir.join("edited");
    copy_dir(&unpacked, &t);
    let m = std::fs::read_to_string(t.join("manifest.json")).unwrap();
    std::fs::write(
        t.join("manifest.json"),
        m.replace("千葉中央警察署", "千葉西警察署"),
    )
    .unwrap();
    let (code, out) = verify_export(&t, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("manifest.json was changed after it was signed"),
        "{out}"
    );

    let t = dir.join("rekeyed");
    copy_dir(&unpacked, &t);
    let other = mimamori_crypto::Signer::generate();
    let mut m: Value =
        serde_json::from_str(&std::fs::read_to_string(t.join("manifest.json")).unwrap()).unwrap();
    m["public_key"] = hex::encode(other.public_key()).into();
    m["key_fingerprint"] = mimamori_crypto::key_fingerprint(&other.public_key()).into();
    let text = serde_json::to_vec_pretty(&m).unwrap();
    std::fs::write(t.join("manifest.json"), &text).unwrap();
    std::fs::write(t.join("manifest.sig"), hex::encode(other.sign(&text))).unwrap();
    let (code, out) = verify_export(&t, &["--fingerprint", &fingerprint]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("not with the installation's key"), "{out}");
    assert!(
        out.contains("chain head's signature does not verify"),
        "{out}"
    );

    // The medium's copy: an AES ZIP that 7-Zip opens with the passphrase (REQ-STO-4).
    let r = op
        .get(&format!(
            "/api/provisions/{req}/packages/{}",
            locked["package"]
        ))
        .await;
    let locked_zip = dir.join("locked.zip");
    std::fs::write(&locked_zip, r.bytes().await.unwrap()).unwrap();
    let out = Command::new("7zz")
        .args(["t", "-pusb-passphrase-2026", locked_zip.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "7-Zip: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = Command::new("7zz")
        .args(["t", "-pwrong-passphrase", locked_zip.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a wrong passphrase opens nothing");
    let pass = dir.join("pass.txt");
    std::fs::write(&pass, "usb-passphrase-2026\n").unwrap();
    let (code, out) = verify_export(&locked_zip, &["--passphrase-file", pass.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");

    // Delivery on a medium: recorded, the medium in the media register.
    let r = op
        .send(
            Method::POST,
            &format!("/api/provisions/{req}/delivery"),
            Some(json!({"at": crate::app::rfc3339_offset(0), "recipient": "刑事第一課 巡査部長 中央一郎", "medium": "USBメモリ 1本（管理番号 U-3）"})),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let media: Value = op.get("/api/media").await.json().await.unwrap();
    assert_eq!(
        media["media"][0]["label"], "USBメモリ 1本（管理番号 U-3）",
        "{media}"
    );
    assert_eq!(media["media"][0]["provision"], req);
    let v: Value = op
        .get(&format!("/api/provisions/{req}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "delivered", "{v}");

    // The register (Chiba 第2-7(2)): identity, when, to whom, why, what — on the page and as CSV.
    let page = op.get("/provisions/register").await.text().await.unwrap();
    for want in [
        "身分確認",
        "提供日時",
        "提供先",
        "提供理由",
        "提供した画像の内容",
        "警察手帳",
        "千葉中央警察署",
    ] {
        assert!(page.contains(want), "{want}: {page}");
    }
    let csv = op
        .get("/provisions/register.csv")
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(&csv[..3], b"\xef\xbb\xbf");
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    assert!(text.starts_with("身分確認,提供日時,提供先"), "{text}");
    assert!(
        text.contains("千葉中央警察署") && text.contains("令和"),
        "{text}"
    );

    // The request form and the register print as PDF in the seed's layout, in 和暦.
    let pdf = dir.join("request.pdf");
    let r = op.get(&format!("/provisions/{req}/request.pdf")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    std::fs::write(&pdf, r.bytes().await.unwrap()).unwrap();
    let text = pdf_text(&pdf);
    for want in [
        "画像提供申請書",
        "千葉中央警察署",
        "令和8年12月1日",
        "提供画像日時",
        "根拠法令等",
        "■ 捜査機関から犯罪の捜査目的による要請",
        "□ 法令の規定に基づく場合",
        "捜査関係事項照会書 千中刑第123号",
        "刑事第一課",
        "■ 提供可",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    assert_page_renders(&pdf);
    // The covering letter prints too, with the package's hash and the key's
    // fingerprint to compare out of band.
    let pdf = dir.join("letter.pdf");
    let r = op
        .get(&format!(
            "/provisions/{req}/letter.pdf?package={}",
            pkg["package"]
        ))
        .await;
    assert_eq!(r.status(), 200);
    std::fs::write(&pdf, r.bytes().await.unwrap()).unwrap();
    let text = pdf_text(&pdf);
    let flat: String = text.split_whitespace().collect();
    for want in [
        "画像の提供について（送付）",
        "千葉中央警察署",
        "令和",
        pkg["sha256"].as_str().unwrap(),
        &fingerprint.replace(' ', ""),
    ] {
        assert!(flat.contains(want), "{want}: {text}");
    }
    assert_page_renders(&pdf);
    let pdf = dir.join("register.pdf");
    let r = op.get("/provisions/register.pdf").await;
    assert_eq!(r.status(), 200);
    std::fs::write(&pdf, r.bytes().await.unwrap()).unwrap();
    let text = pdf_text(&pdf);
    for want in [
        "画像提供記録",
        "身分確認",
        "提供した画像の内容",
        "千葉中央警察署",
        "令和",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    assert_page_renders(&pdf);

    // Every step is on the record.
    let audit = app.get_json("/api/audit").await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in [
        "provision_registered",
        "provision_document_added",
        "provision_identity_checked",
        "provision_decided",
        "provision_extraction",
        "provision_package_built",
        "provision_package_downloaded",
        "provision_delivered",
        "refused",
    ] {
        assert!(actions.contains(&a), "{a} missing: {actions:?}");
    }
}

/// Logs in through the login page (after forgetting whoever was logged in).
async fn browser_login(c: &fantoccini::Client, app: &App, user: &str, password: &str) {
    use fantoccini::Locator;
    c.delete_all_cookies().await.unwrap();
    // Lands on the account page, which does not reload itself: the camera list does
    // (every 10 s), and a reload racing the test's next navigation lost it.
    c.goto(&app.url("/login?next=/account")).await.unwrap();
    c.wait()
        .for_element(Locator::Id("login-form"))
        .await
        .unwrap();
    c.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys(user)
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    c.find(Locator::Id("login-submit"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("nav a.who"))
        .await
        .unwrap();
}

/// Clicks an element, waiting for it (the page may still be loading after the
/// last navigation).
async fn click(c: &fantoccini::Client, css: &str) {
    c.wait()
        .at_most(std::time::Duration::from_secs(30))
        .for_element(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

async fn fill(c: &fantoccini::Client, css: &str, text: &str) {
    c.wait()
        .at_most(std::time::Duration::from_secs(30))
        .for_element(fantoccini::Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .unwrap();
}

/// Waits until the page's text contains `want` (reloading when `reload`).
async fn wait_text(c: &fantoccini::Client, want: &str, reload: bool) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let src = c.source().await.unwrap();
        if src.contains(want) {
            return src;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "page never showed {want:?}:\n{src}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        if reload {
            c.refresh().await.unwrap();
        }
    }
}

/// Issue 11: verify.html's check of a range of a segment (its own BLAKE3 in
/// JavaScript) agrees with `mimamori_crypto::tree`, which the recorder and
/// `verify-export` use, on inputs of one chunk up to several tree levels and
/// ranges on and off 1 KiB edges; a changed byte of the range fails.
async fn range_check_of_the_page_agrees_with_the_recorder(c: &fantoccini::Client) {
    use mimamori_crypto::frames::{DigestKind, frame_digest};
    use mimamori_crypto::tree::RangeProof;
    use mimamori_evidence::manifest::RangeText;
    for (n, offset, len) in [
        (1usize, 0u64, 1u64),
        (1024, 0, 1024),
        (1025, 1024, 1),
        (5000, 100, 3000),
        (70_000, 1023, 2),
        (300_000, 123_456, 65_537),
        (300_000, 0, 300_000),
    ] {
        let data: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
        let proof = RangeProof::prove(&data, offset, len).unwrap();
        let want = hex::encode(frame_digest(DigestKind::Blake3, &data));
        let answer = c
            .execute(
                "const [p, n, want] = arguments;
                 const d = new Uint8Array(n);
                 for (let i = 0; i < n; i++) d[i] = (i * 7) % 251;
                 const part = d.slice(p.offset, p.offset + p.len);
                 const right = rangeRoot(p, part);
                 part[part.length >> 1] ^= 1;
                 return [right, rangeRoot(p, part)];",
                vec![
                    serde_json::to_value(RangeText::of(&proof)).unwrap(),
                    json!(n),
                    json!(want),
                ],
            )
            .await
            .unwrap();
        assert_eq!(answer[0], json!(want), "{n} bytes, {len} at {offset}");
        assert_ne!(answer[1], json!(want), "{n} bytes, {len} at {offset}");
    }
}

/// What verify.html says about a package chosen in its ZIP field.
async fn verify_html(
    c: &fantoccini::Client,
    page: &Path,
    zip: &Path,
    fingerprint: &str,
) -> (String, String) {
    use fantoccini::Locator;
    c.goto(&format!("file://{}", page.display())).await.unwrap();
    fill(c, "#fingerprint", fingerprint).await;
    c.find(Locator::Id("zip"))
        .await
        .unwrap()
        .send_keys(zip.to_str().unwrap())
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let v = c
            .execute(
                "const v = document.getElementById('verdict'); return [v.dataset.valid, document.getElementById('results').innerText];",
                vec![],
            )
            .await
            .unwrap();
        let valid = v[0].as_str().unwrap_or("").to_string();
        if !valid.is_empty() {
            return (valid, v[1].as_str().unwrap_or("").to_string());
        }
        assert!(
            std::time::Instant::now() < deadline,
            "verify.html did not finish"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

// REQ-DIS-2..6 in the browser, in Japanese: the operator registers a police
// request with its document, the manager approves, the operator extracts and
// downloads the package, verify.html (in Chromium, no network) and
// `verify-export` both say valid, a tampered copy is named, the register shows the row.
#[tokio::test(flavor = "multi_thread")]
async fn a_police_request_walked_through_the_pages() {
    use fantoccini::Locator;
    let cam = TestCamera::start(CameraOptions::default());
    let app = spawn_app("provision-ui").await;
    let id = app.add_camera("正面玄関", &cam.url(1), None).await;
    app.wait_status(id, "recording", 20).await;
    let (start, end) = wait_recorded(&app, id, 6.0, 40).await;
    add_person(
        &app,
        "sousa",
        "operator",
        json!({"display_name": "操作 太郎"}),
    )
    .await;
    let dir = scratch(&app, "ui");
    let pdf = dir.join("照会書.pdf");
    std::fs::write(&pdf, "%PDF-1.4\n% 捜査関係事項照会書\n%%EOF\n").unwrap();
    let local = |t: &str| {
        crate::app::parse_time(t)
            .with_timezone(&chrono::FixedOffset::east_opt(9 * 3600).unwrap())
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string()
    };

    let (_driver, c) = crate::browser::browser().await;
    browser_login(&c, &app, "sousa", PASSWORD).await;
    c.goto(&app.url("/provisions")).await.unwrap();
    assert!(c.source().await.unwrap().contains("画像の提供申請"));
    click(&c, "a[href='/provisions/new']").await;
    c.wait()
        .for_element(Locator::Id("provision-form"))
        .await
        .unwrap();
    fill(&c, "[name=requester_organisation]", "千葉中央警察署").await;
    fill(&c, "[name=requester_representative]", "署長 千葉太郎").await;
    fill(&c, "[name=contact_person]", "巡査部長 中央一郎").await;
    click(&c, &format!("[name=camera][value='{id}']")).await;
    c.execute(
        "document.querySelector('[name=from]').value = arguments[0]; document.querySelector('[name=to]').value = arguments[1];",
        vec![json!(local(&start)), json!(local(&end))],
    )
    .await
    .unwrap();
    fill(&c, "[name=reason]", "窃盗事件の捜査のため").await;
    click(&c, "[name=ground][value=investigation]").await;
    click(&c, "[name=method][value=medium]").await;
    click(&c, "#provision-form button").await;
    let page = wait_text(&c, "受付", false).await;
    assert!(
        page.contains("消去されません"),
        "the footage is held: {page}"
    );
    // The request's page, once the browser has moved to it.
    let mut req: Option<i64> = None;
    for _ in 0..100 {
        let url = c.current_url().await.unwrap();
        req = url.path().rsplit('/').next().and_then(|n| n.parse().ok());
        if req.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let req = req.expect("the browser reached the request's page");

    // The document, then the identity check.
    c.find(Locator::Id("document-file"))
        .await
        .unwrap()
        .send_keys(pdf.to_str().unwrap())
        .await
        .unwrap();
    click(&c, "#document-form button").await;
    wait_text(&c, "照会書.pdf", false).await;
    fill(&c, "#identity-form [name=detail]", "警察手帳を確認").await;
    click(&c, "#identity-form button").await;
    wait_text(&c, "審査中", false).await;
    assert!(
        c.find(Locator::Id("decision-form")).await.is_err(),
        "an operator has no decision form"
    );

    // The manager decides.
    browser_login(&c, &app, crate::app::ADMIN, crate::app::ADMIN_PASSWORD).await;
    c.goto(&app.url(&format!("/provisions/{req}")))
        .await
        .unwrap();
    click(&c, "#decision-form [value=approve]").await;
    c.execute(
        "const s = document.querySelector('#decision-form [name=extractor]'); s.value = [...s.options].find(o => o.text.includes('sousa')).value;",
        vec![],
    )
    .await
    .unwrap();
    click(&c, "#decision-form button").await;
    wait_text(&c, "提供可", false).await;

    // The operator extracts; the page follows the build, then offers the package.
    browser_login(&c, &app, "sousa", PASSWORD).await;
    c.goto(&app.url(&format!("/provisions/{req}")))
        .await
        .unwrap();
    click(&c, "#extract-form button").await;
    wait_text(&c, "data-package=", true).await;
    let href = c
        .find(Locator::Css("a[data-package]"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let b64 = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0]).then(r => r.blob()).then(b => { const f = new FileReader(); f.onload = () => done(f.result.split(',')[1]); f.readAsDataURL(b); });",
            vec![json!(href)],
        )
        .await
        .unwrap();
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.as_str().unwrap())
        .unwrap();
    let zip = dir.join("package.zip");
    std::fs::write(&zip, &bytes).unwrap();
    c.goto(&app.url(&format!("/provisions/{req}/letter")))
        .await
        .unwrap();
    let fingerprint = c
        .find(Locator::Id("fingerprint"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let letter = c.source().await.unwrap();
    assert!(
        letter.contains("令和") && letter.contains("受領者の義務"),
        "{letter}"
    );
    let (code, out) = verify_export(&zip, &["--fingerprint", &fingerprint]);
    assert_eq!(code, 0, "{out}");

    // verify.html in Chromium, from the package itself, with no server.
    let unpacked = dir.join("unpacked");
    unzip(&zip, &unpacked);
    let page = unpacked.join("verify.html");
    let (valid, text) = verify_html(&c, &page, &zip, &fingerprint).await;
    assert_eq!(valid, "true", "{text}");
    assert!(text.contains("録画されたとおり"), "{text}");
    range_check_of_the_page_agrees_with_the_recorder(&c).await;
    // A byte of the clip flipped inside the ZIP (entries are stored as they are).
    let clip = std::fs::read(unpacked.join(format!("clips/camera{id}.mp4"))).unwrap();
    let at = bytes
        .windows(64)
        .position(|w| w == &clip[clip.len() - 64..])
        .unwrap();
    let mut tampered = bytes.clone();
    tampered[at + 10] ^= 0x01;
    let bad_zip = dir.join("tampered.zip");
    std::fs::write(&bad_zip, &tampered).unwrap();
    let (valid, text) = verify_html(&c, &page, &bad_zip, &fingerprint).await;
    assert_eq!(valid, "false", "{text}");
    assert!(
        text.contains(&format!("clips/camera{id}.mp4: 変更されています")),
        "{text}"
    );
    assert!(text.contains("録画されたものと違います"), "{text}");
    let (valid, text) = verify_html(&c, &page, &zip, "0000 1111").await;
    assert_eq!(valid, "false", "another key: {text}");
    assert!(text.contains("送付書の鍵ではありません"), "{text}");

    // The register shows the row.
    c.goto(&app.url("/provisions/register")).await.unwrap();
    let page = c.source().await.unwrap();
    assert!(
        page.contains("千葉中央警察署") && page.contains("警察手帳を確認"),
        "{page}"
    );
}

/// Frame `n` of a clip, decoded by ffmpeg as 8-bit grey pixels.
fn grey_frame(clip: &Path, n: u32, width: u32, height: u32) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i", clip.to_str().unwrap()])
        .args(["-vf", &format!("select=eq(n\\,{n})"), "-frames:v", "1"])
        .args(["-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), (width * height) as usize);
    out.stdout
}

// Osaka 第5条5, Chiba 第2-7(1)エ, REQ-STO-1: a person's own images, with a third
// party masked: the copy differs from the original only in the masked area
// (both decoded with ffmpeg, pixel regions compared), records both hashes, and
// the original package is left as it was.
#[tokio::test(flavor = "multi_thread")]
async fn a_masked_copy_differs_from_the_original_only_in_its_areas() {
    let cam = TestCamera::start(CameraOptions::default());
    let app = spawn_app("masking").await;
    let id = app.add_camera("ロビー", &cam.url(1), None).await;
    app.wait_status(id, "recording", 20).await;
    let (start, end) = wait_recorded(&app, id, 3.0, 40).await;
    let boss = Person::login(
        &app,
        crate::app::ADMIN,
        crate::app::ADMIN_PASSWORD,
        None,
        None,
    )
    .await
    .unwrap();
    let mut own = police_request(&[id], &start, &end);
    own["requester_organisation"] = "".into();
    own["requester_representative"] = "千葉花子".into();
    own["ground"] = "consent".into();
    own["ground_detail"] = "".into();
    own["reason"] = "本人が映っている画像の提供を求めるため".into();
    let r = boss.send(Method::POST, "/api/provisions", Some(own)).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let req = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    for (path, body) in [
        (
            "identity",
            json!({"method": "運転免許証・マイナンバーカード等", "detail": "運転免許証"}),
        ),
        ("decision", json!({"approve": true, "reason": "本人の画像"})),
    ] {
        let r = boss
            .send(
                Method::POST,
                &format!("/api/provisions/{req}/{path}"),
                Some(body),
            )
            .await;
        assert_eq!(r.status(), 200, "{path}: {}", r.text().await.unwrap());
    }
    let r = boss
        .send(
            Method::POST,
            &format!("/api/provisions/{req}/extract"),
            Some(json!({"wait": true})),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let original: Value = r.json().await.unwrap();
    let original_id = original["package"].as_i64().unwrap();

    // The still to draw on is a JPEG, and its viewing is logged.
    let r = boss
        .get(&format!(
            "/provisions/{req}/packages/{original_id}/still?camera={id}&at=1"
        ))
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().starts_with(&[0xFF, 0xD8, 0xFF]));
    let log = app
        .get_json("/api/audit?action=provision_still_viewed")
        .await;
    assert_eq!(log["entries"].as_array().unwrap().len(), 1, "{log}");

    // An area outside the package's cameras, or empty: refused.
    let r = boss
        .send(
            Method::POST,
            &format!("/api/provisions/{req}/packages/{original_id}/mask"),
            Some(json!({"regions": [{"camera": id + 100, "x": 0, "y": 0, "width": 10, "height": 10}], "wait": true})),
        )
        .await;
    assert_eq!(r.status(), 400);
    let (x, y, w, h) = (16u32, 16u32, 96u32, 64u32);
    let r = boss
        .send(
            Method::POST,
            &format!("/api/provisions/{req}/packages/{original_id}/mask"),
            Some(json!({"regions": [{"camera": id, "x": x, "y": y, "width": w, "height": h}], "reason": "第三者が映り込んでいるため", "wait": true})),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let masked: Value = r.json().await.unwrap();
    let masked_id = masked["package"].as_i64().unwrap();

    // Both download; the copy verifies and names the original's hashes.
    let dir = scratch(&app, "masked");
    let mut unpacked = Vec::new();
    for (pkg, name) in [(original_id, "original"), (masked_id, "masked")] {
        let r = boss
            .get(&format!("/api/provisions/{req}/packages/{pkg}"))
            .await;
        assert_eq!(r.status(), 200);
        let bytes = r.bytes().await.unwrap();
        let zip = dir.join(format!("{name}.zip"));
        std::fs::write(&zip, &bytes).unwrap();
        let into = dir.join(name);
        unzip(&zip, &into);
        unpacked.push((zip, into, bytes));
    }
    let (orig_zip, orig_dir, orig_bytes) = &unpacked[0];
    let (masked_zip, masked_dir, _) = &unpacked[1];
    // The original is as it was built.
    use sha2::Digest as _;
    assert_eq!(
        hex::encode(sha2::Sha256::digest(orig_bytes)),
        original["sha256"].as_str().unwrap()
    );
    let (code, out) = verify_export(orig_zip, &[]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = verify_export(masked_zip, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("a masked copy"), "{out}");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(masked_dir.join("manifest.json")).unwrap()).unwrap();
    let orig_manifest: Value =
        serde_json::from_slice(&std::fs::read(orig_dir.join("manifest.json")).unwrap()).unwrap();
    let derived = &manifest["derived_from"];
    assert_eq!(derived["package_sha256"], original["sha256"], "{manifest}");
    let clip = &derived["clips"][0];
    assert_eq!(clip["original_sha256"], orig_manifest["clips"][0]["sha256"]);
    assert_ne!(clip["sha256"], clip["original_sha256"]);
    assert!(manifest["clips"].as_array().unwrap().is_empty());
    assert!(
        !masked_dir.join(format!("clips/camera{id}.mp4")).exists(),
        "the unmasked clip stays home"
    );

    // Pixels: inside the area black, outside as the original (within re-encoding).
    let a = orig_dir.join(format!("clips/camera{id}.mp4"));
    let b = masked_dir.join(format!("clips/camera{id}.masked.mp4"));
    let p = crate::media::probe(&a);
    let q = crate::media::probe(&b);
    assert_eq!((p.width, p.height, p.frames), (q.width, q.height, q.frames));
    crate::media::assert_decodes_cleanly(&b);
    let (fa, fb) = (
        grey_frame(&a, 5, p.width, p.height),
        grey_frame(&b, 5, p.width, p.height),
    );
    let inside = |px: u32, py: u32| px >= x && px < x + w && py >= y && py < y + h;
    let (mut in_masked, mut in_orig, mut out_diff, mut in_n, mut out_n) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    for py in 0..p.height {
        for px in 0..p.width {
            let i = (py * p.width + px) as usize;
            // A margin of 2 px: the encoder blurs an edge.
            let near_edge = px + 2 >= x
                && px < x + w + 2
                && py + 2 >= y
                && py < y + h + 2
                && !(px >= x + 2 && px + 2 < x + w && py >= y + 2 && py + 2 < y + h);
            if near_edge {
                continue;
            }
            if inside(px, py) {
                in_masked += u64::from(fb[i]);
                in_orig += u64::from(fa[i]);
                in_n += 1;
            } else {
                out_diff += u64::from(fa[i].abs_diff(fb[i]));
                out_n += 1;
            }
        }
    }
    let (in_masked, in_orig, out_diff) = (
        in_masked as f64 / in_n as f64,
        in_orig as f64 / in_n as f64,
        out_diff as f64 / out_n as f64,
    );
    assert!(in_masked < 24.0, "the area is filled: mean {in_masked}");
    assert!(
        in_orig > in_masked + 20.0,
        "the original shows something there: {in_orig}"
    );
    assert!(
        out_diff < 4.0,
        "outside the area the copy is the original: mean difference {out_diff}"
    );

    // The page lists the copy as derived; the log has the masking before the build.
    let page = boss
        .get(&format!("/provisions/{req}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("data-derived-from=\"{original_id}\"")),
        "{page}"
    );
    // Only the original can be masked again: one masking section.
    assert_eq!(page.matches("data-mask-package=").count(), 1, "{page}");
    let log = app.get_json("/api/audit?action=provision_masking").await;
    assert_eq!(log["entries"].as_array().unwrap().len(), 1, "{log}");
}

// REQ-DIS-5 (閲覧のみ, Tottori 画像閲覧等記録書, Midori 様式第1号 閲覧のみ): an in-person
// viewing goes through request → decision → record without a package: only after
// approval, only the approved cameras and period are played, the viewing is logged,
// and it is recorded as the delivery.
#[tokio::test(flavor = "multi_thread")]
async fn an_in_person_viewing_plays_only_the_approved_footage() {
    let cam = TestCamera::start(CameraOptions::default());
    let app = spawn_app("viewing").await;
    let id = app.add_camera("窓口", &cam.url(1), None).await;
    let other = app.add_camera("裏口", &cam.url(2), None).await;
    app.wait_status(id, "recording", 20).await;
    let (start, end) = wait_recorded(&app, id, 3.0, 40).await;
    let boss = Person::login(
        &app,
        crate::app::ADMIN,
        crate::app::ADMIN_PASSWORD,
        None,
        None,
    )
    .await
    .unwrap();
    let mut view = police_request(&[id], &start, &end);
    view["method"] = "view".into();
    view["ground"] = "consent".into();
    view["ground_detail"] = "".into();
    let r = boss.send(Method::POST, "/api/provisions", Some(view)).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let req = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let play = format!("/provisions/{req}/view/{id}");
    assert_eq!(boss.get(&play).await.status(), 403, "before approval");
    for (path, body) in [
        (
            "identity",
            json!({"method": "身分証明書（職員証・警察手帳等）", "detail": "警察手帳"}),
        ),
        ("decision", json!({"approve": true, "reason": "閲覧のみ"})),
    ] {
        let r = boss
            .send(
                Method::POST,
                &format!("/api/provisions/{req}/{path}"),
                Some(body),
            )
            .await;
        assert_eq!(r.status(), 200, "{path}: {}", r.text().await.unwrap());
    }
    let r = boss.get(&play).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "video/mp4");
    let mp4 = app.data.with_extension("viewing.mp4");
    std::fs::write(&mp4, r.bytes().await.unwrap()).unwrap();
    let p = crate::media::probe(&mp4);
    assert!(p.duration >= 2.0 && p.codec == "h264", "{p:?}");
    assert_eq!(
        boss.get(&format!("/provisions/{req}/view/{other}"))
            .await
            .status(),
        403,
        "a camera outside the approval"
    );
    // Nothing is extracted for a viewing.
    let r = boss
        .send(
            Method::POST,
            &format!("/api/provisions/{req}/extract"),
            Some(json!({"wait": true})),
        )
        .await;
    assert_eq!(r.status(), 400, "{}", r.text().await.unwrap());
    let page = boss
        .get(&format!("/provisions/{req}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("data-viewing=\"{id}\"")), "{page}");
    let r = boss
        .send(
            Method::POST,
            &format!("/api/provisions/{req}/delivery"),
            Some(json!({"at": crate::app::rfc3339_offset(-5), "recipient": "千葉中央警察署 巡査部長 中央一郎", "medium": "", "note": "庁舎管理室で閲覧"})),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let v = app.get_json(&format!("/api/provisions/{req}")).await;
    assert_eq!(v["status"], "delivered", "{v}");
    let log = app.get_json("/api/audit?action=provision_viewing").await;
    assert_eq!(log["entries"].as_array().unwrap().len(), 1, "{log}");

    // REQ-DIS-4, REQ-STO-3: after a refusal nothing is extracted or shown, and
    // the footage returns to its retention.
    let mut refused = police_request(&[id], &start, &end);
    refused["ground"] = "consent".into();
    refused["ground_detail"] = "".into();
    let r = boss
        .send(Method::POST, "/api/provisions", Some(refused))
        .await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let no = created["id"].as_i64().unwrap();
    let r = boss
        .send(
            Method::POST,
            &format!("/api/provisions/{no}/decision"),
            Some(json!({"approve": false, "reason": "本人であることが確認できないため"})),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let r = boss
        .send(
            Method::POST,
            &format!("/api/provisions/{no}/extract"),
            Some(json!({"wait": true})),
        )
        .await;
    assert_eq!(r.status(), 403, "extraction after refusal");
    assert_eq!(
        boss.get(&format!("/provisions/{no}/view/{id}"))
            .await
            .status(),
        403
    );
    let holds = app.get_json("/api/holds").await;
    let hold = holds
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == created["hold"])
        .unwrap();
    assert_eq!(hold["active"], false, "{hold}");

    // The register filters by fiscal year, status and ground (page, CSV, PDF alike).
    let rows = |q: &'static str| {
        let boss = &boss;
        async move {
            let r = boss.get(&format!("/provisions/register.csv{q}")).await;
            assert_eq!(r.status(), 200, "{q}");
            let text = r.text().await.unwrap();
            text.lines().count() - 1
        }
    };
    assert_eq!(rows("").await, 2);
    assert_eq!(rows("?status=refused").await, 1);
    assert_eq!(rows("?status=delivered&ground=consent").await, 1);
    assert_eq!(
        rows("?year=2026").await,
        2,
        "received 2026-12-01: 令和8年度"
    );
    assert_eq!(rows("?year=2025").await, 0);
    assert_eq!(
        boss.get("/provisions/register.csv?status=lost")
            .await
            .status(),
        400
    );
    let page = boss
        .get("/provisions/register?status=refused")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("href=\"/provisions/register.pdf?status=refused\""),
        "{page}"
    );
}
