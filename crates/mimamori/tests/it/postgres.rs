//! The catalog on PostgreSQL as an installer meets it (issue 12): `init --catalog`
//! with the password in a file, one installation per database, several recorder
//! nodes on one catalog and one object store, a killed node's cameras taken over
//! by another, sessions valid on whichever node serves. Always on the PostgreSQL
//! and S3 test servers, whichever engine the rest of the run uses.

use std::time::{Duration, Instant};

use mimamori_catalog::{Engine, scratch};

use crate::app::{ADMIN, ADMIN_PASSWORD, AppOptions, cli, fresh_dir, serve_existing};

fn init(data: &std::path::Path, catalog: &str, password_file: &std::path::Path) -> (bool, String) {
    let pw = data.with_extension("pw");
    std::fs::write(&pw, format!("{ADMIN_PASSWORD}\n")).unwrap();
    let remote = mimamori_storage::scratch::new_remote("nodes");
    let (endpoint, credentials) = mimamori_storage::scratch::test_server();
    let out = cli(&[
        "init",
        "--data",
        data.to_str().unwrap(),
        "--preset",
        "chiba-guideline",
        "--admin",
        ADMIN,
        "--admin-password-file",
        pw.to_str().unwrap(),
        "--catalog",
        catalog,
        "--catalog-password-file",
        password_file.to_str().unwrap(),
        "--store",
        &remote.url(),
        "--store-endpoint",
        &endpoint,
        "--store-credentials-file",
        credentials.to_str().unwrap(),
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `verify` and `audit verify` of the data directory `d` both pass.
fn assert_chains_verify(d: &str) {
    for args in [
        vec!["verify", "--data", d],
        vec!["audit", "verify", "--data", d],
    ] {
        let out = cli(&args);
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Which node holds each camera's lease, by camera id.
async fn leases(pool: &sqlx::AnyPool) -> Vec<(i64, String)> {
    use sqlx::Row;
    sqlx::query("SELECT camera_id, node FROM camera_lease ORDER BY camera_id")
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("camera_id"), r.get("node")))
        .collect()
}

fn node_name(data: &std::path::Path) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    format!("{}:{}", host.trim(), data.display())
}

/// Seconds a camera lease lasts in this test (`[recorder] lease_seconds`).
const LEASE_SECONDS: u64 = 6;

fn node_options() -> AppOptions {
    AppOptions {
        // Inside `[recorder]`, which `serve_existing` writes just before.
        config_extra: format!("lease_seconds = {LEASE_SECONDS}\n"),
        ..AppOptions::default()
    }
}

// Issue 12 "Several recorder nodes": two recorder nodes and a web node on one
// PostgreSQL catalog and one S3-compatible store. The first records the
// cameras; the second starts beside it and takes none; the web node records
// nothing and serves the pages, live view (relayed) and the files. Killed (-9),
// the first node's cameras record again on the second within the lease and a
// round, the timeline on the web node shows both sides with the hand-over gap
// named and plays across, the retention sweeper and head signer move too, and a
// session made on the first node is valid on the second. The first node back
// does not take its cameras back.
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_nodes_cameras_record_on_another_node_and_the_timeline_spans_the_handover() {
    use crate::app::parse_time;
    use crate::camera::{CameraOptions, TestCamera};
    use crate::media::{assert_decodes_cleanly, fetch_mp4, probe};
    use crate::recording::{plus, wait_recorded};

    let node_a = fresh_dir("pg-node-a");
    let url = scratch::new_catalog_url_on(Engine::Postgres, &node_a).await;
    let secret = node_a.with_extension("catalog-pw");
    std::fs::write(&secret, "s3cret-catalog-pw\n").unwrap();

    // A password inside the URL is refused before anything is written.
    let with_password = url.replacen("mimamori@", "mimamori:inline-pw@", 1);
    let (ok, text) = init(&node_a, &with_password, &secret);
    assert!(!ok && text.contains("must not hold the password"), "{text}");
    assert!(!node_a.join("policy.toml").exists());

    let (ok, text) = init(&node_a, &url, &secret);
    assert!(ok, "{text}");
    assert!(
        !node_a.join("catalog.db").exists(),
        "no SQLite file beside a PostgreSQL catalog"
    );
    let config = std::fs::read_to_string(node_a.join("config.toml")).unwrap();
    assert!(
        config.contains("[catalog]") && config.contains("password_file"),
        "{config}"
    );
    assert!(
        !config.contains("s3cret"),
        "the password is never in the config"
    );

    // The same database for a second installation: refused, it has accounts.
    let other = fresh_dir("pg-other");
    let (ok, text) = init(&other, &url, &secret);
    assert!(
        !ok && text.contains("already serves an installation"),
        "{text}"
    );

    // A second node: its own data directory with the same policy, config and
    // keys (README, "Several machines").
    let node_b = fresh_dir("pg-node-b");
    let node_w = fresh_dir("pg-node-web");
    for node in [&node_b, &node_w] {
        copy_dir(&node_a, node);
        copy_dir(&node_a.with_extension("keys"), &node.with_extension("keys"));
    }

    let cam = TestCamera::start(CameraOptions {
        streams: 2,
        ..Default::default()
    });
    let mut a = serve_existing(node_a.clone(), node_options()).await;
    let ids = [
        a.add_camera("玄関", &cam.url(1), None).await,
        a.add_camera("駐輪場", &cam.url(2), None).await,
    ];
    for id in ids {
        wait_recorded(&a, id, 3.0, 40).await;
    }
    let b = serve_existing(node_b.clone(), node_options()).await;
    let w = serve_existing(
        node_w.clone(),
        AppOptions {
            config_extra: format!("lease_seconds = {LEASE_SECONDS}\nrecord = false\n"),
            ..AppOptions::default()
        },
    )
    .await;
    let pool = a.db().await;
    let (name_a, name_b) = (node_name(&node_a), node_name(&node_b));
    tokio::time::sleep(Duration::from_secs(LEASE_SECONDS + 1)).await;
    assert_eq!(
        leases(&pool).await,
        ids.iter().map(|i| (*i, name_a.clone())).collect::<Vec<_>>(),
        "the second node leaves the first node's cameras alone"
    );
    assert!(
        !b.log_text().contains("runs the retention sweeper"),
        "one node does the installation's duties"
    );
    // The other nodes' pages show the cameras as the first reports them:
    // recording, with their last frames, not stopped.
    for id in ids {
        let c = w.camera(id).await;
        assert_eq!(
            (c["status"].as_str(), c["recorded_by"].as_str()),
            (Some("recording"), Some(name_a.as_str())),
            "{c}"
        );
        let last = parse_time(c["last_frame_at"].as_str().unwrap());
        assert!(
            parse_time(&crate::app::rfc3339_offset(0)) - last < chrono::Duration::seconds(15),
            "{c}"
        );
    }
    let list = w.page("/cameras").await;
    assert_eq!(
        list.matches(r#"data-status="recording""#).count(),
        2,
        "{list}"
    );
    // Live view on the web node: relayed from the first, which records the
    // camera; the web node checks the viewing and writes its entry.
    let relayed = crate::web::live_messages(&w, ids[0], 3).await;
    let hello: serde_json::Value = serde_json::from_str(relayed[0].as_text().unwrap()).unwrap();
    assert!(
        hello["codec"].as_str().unwrap().starts_with("avc1."),
        "{hello}"
    );
    assert_eq!(&relayed[1].as_binary().unwrap()[4..8], b"ftyp");
    assert_eq!(&relayed[2].as_binary().unwrap()[4..8], b"moof");
    let log = w.get_json("/api/audit?action=live_view").await;
    assert_eq!(log["entries"][0]["camera_id"], ids[0], "{log}");
    assert!(
        a.log_text().contains("live view relayed to another node"),
        "the first node streamed it"
    );
    // The relayed stream ends with the person's session on the web node.
    crate::attacks::assert_live_view_ends_with_logout(&w, ids[0]).await;
    // The relay route opens only with a grant the installation signed.
    for grant in ["", "e30.AAAA", "not-a-grant"] {
        let r = w
            .ws_upgrade(&format!("/api/relay/live/{}?grant={grant}", ids[0]))
            .await;
        assert_eq!(r.status(), 403, "grant {grant:?}");
    }
    assert!(
        w.log_text().contains("live view relay refused"),
        "refused grants are logged"
    );

    // A sign photo kept on the first node is read on the web node: the files other
    // than segments are in the object store too, and the first node keeps no
    // local copy once the catalog has it.
    let photo = b"\x89PNG\r\n\x1a\n sign photo of the entrance".to_vec();
    let photo_id = add_sign_photo(&a, ids[0], &photo).await;
    assert_eq!(sign_photo(&w, photo_id).await, photo);
    assert_no_local_sign_photos(&node_a);

    // The first node dies: its cameras move to the second.
    a.kill9();
    let killed = Instant::now();
    b.wait_for("the cameras taken over", 3 * LEASE_SECONDS + 10, || async {
        (leases(&pool).await.iter().all(|(_, n)| *n == name_b)).then_some(())
    })
    .await;
    let from = crate::app::rfc3339_offset(-600);
    let mut resumed = Vec::new();
    for id in ids {
        // Two seconds recorded on the second node, after the hand-over gap.
        let start = b
            .wait_for("recording after the hand-over", 40, || async {
                let v = b
                    .recordings(id, &from, &crate::app::rfc3339_offset(5))
                    .await;
                let gap_end = parse_time(
                    v["gaps"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|g| g["reason"] == "node_handover")?["end"]
                        .as_str()?,
                );
                v["spans"].as_array().unwrap().iter().find_map(|s| {
                    let (a, e) = (s["start"].as_str()?, s["end"].as_str()?);
                    (parse_time(a) >= gap_end
                        && parse_time(e) - parse_time(a) >= chrono::Duration::seconds(2))
                    .then(|| a.to_string())
                })
            })
            .await;
        resumed.push(start);
    }
    let took = killed.elapsed().as_secs_f64();
    assert!(
        took < (LEASE_SECONDS + 3 + 10) as f64,
        "recording again on the other node {took:.1} s after the kill"
    );
    b.wait_for("the duties moved", 30, || async {
        b.log_text()
            .contains("runs the retention sweeper")
            .then_some(())
    })
    .await;

    // The timeline on the web node: what the first recorded, the hand-over
    // gap naming both nodes, what the second records.
    let to = crate::app::rfc3339_offset(5);
    for (id, resumed) in ids.iter().zip(&resumed) {
        let v = w.recordings(*id, &from, &to).await;
        let spans = v["spans"].as_array().unwrap();
        assert!(spans.len() >= 2, "{v}");
        let handover = v["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["reason"] == "node_handover")
            .unwrap_or_else(|| panic!("no hand-over gap: {v}"));
        let detail = handover["detail"].as_str().unwrap();
        assert!(
            detail.contains(&name_a) && detail.contains(&name_b),
            "{detail}"
        );
        let before = spans[0]["start"].as_str().unwrap();
        for (start, tag) in [(before, "before"), (resumed.as_str(), "after")] {
            let mp4 = fetch_mp4(
                &w,
                *id,
                start,
                &plus(start, 2.0),
                &format!("{tag}-{id}.mp4"),
            )
            .await;
            assert_decodes_cleanly(&mp4);
            assert!(
                probe(&mp4).duration >= 1.5,
                "{tag}: {}",
                probe(&mp4).duration
            );
        }
    }

    // A session made on the first node is valid on the second.
    let r = a.client.get(b.url("/api/me")).send().await.unwrap();
    assert_eq!(
        r.status(),
        200,
        "a session made on one node is valid on the other"
    );
    let me: serde_json::Value = r.json().await.unwrap();
    assert_eq!(me["username"], ADMIN, "{me}");

    // The first node back: it records nothing the second holds.
    a.start().await;
    tokio::time::sleep(Duration::from_secs(LEASE_SECONDS + 1)).await;
    assert!(
        leases(&pool).await.iter().all(|(_, n)| *n == name_b),
        "{:?}",
        leases(&pool).await
    );
    drop(a);
    drop(b);
}

/// A command's standard output, once it succeeded (its output shown if not).
fn succeeded(out: std::process::Output) -> String {
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The arguments of `mimamori migrate` moving the site in `data` to a new
/// database of the PostgreSQL test server and a new prefix of the test object
/// store, and that store.
async fn migrate_to_postgres_and_s3(
    data: &std::path::Path,
    tag: &str,
) -> (Vec<String>, mimamori_storage::RemoteConfig) {
    let url = scratch::new_catalog_url_on(Engine::Postgres, data).await;
    let remote = mimamori_storage::scratch::new_remote(tag);
    let (endpoint, credentials) = mimamori_storage::scratch::test_server();
    let args = [
        "migrate",
        "--data",
        data.to_str().unwrap(),
        "--to",
        &url,
        "--store",
        &remote.url(),
        "--store-endpoint",
        &endpoint,
        "--store-credentials-file",
        credentials.to_str().unwrap(),
    ]
    .map(String::from)
    .to_vec();
    (args, remote)
}

/// `mimamori migrate` (issue 12 "Moving an installation"): a site recorded on
/// SQLite with its segments in the data directory moves to PostgreSQL and an
/// S3-compatible store; what was recorded plays, both chains verify, no segment is
/// left behind or lost, and recording goes on into the new catalog and store.
#[tokio::test]
async fn an_sqlite_and_directory_site_moves_to_postgres_and_s3_and_keeps_its_footage_and_chains() {
    use crate::media::{assert_decodes_cleanly, fetch_mp4, probe};
    use crate::recording::plus;

    let (_cam, mut app, id, start) = recording_sqlite_site("pg-migrate", 4.0).await;
    let d = app.data.to_str().unwrap().to_string();
    let (args, remote) = migrate_to_postgres_and_s3(&app.data, "migrate").await;
    let migrate = || cli(&args.iter().map(String::as_str).collect::<Vec<_>>());

    app.terminate();
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM segment")
        .fetch_one(&app.db().await)
        .await
        .unwrap();
    let on_disk = app.stored_names();
    assert_eq!(on_disk.len() as i64, before, "{on_disk:?}");
    let text = succeeded(migrate());
    assert!(
        text.contains("copied") && text.contains("removed the old catalog"),
        "{text}"
    );
    assert!(!app.data.join("catalog.db").exists());
    assert!(
        text.contains("removed the") && text.contains("local segment files"),
        "{text}"
    );
    assert!(
        app.stored_names().is_empty(),
        "no segment left in the directory"
    );
    app.remote = Some(remote);
    assert_eq!(app.stored_names(), on_disk, "every segment is in the store");
    assert_chains_verify(&d);

    app.start().await;
    let mp4 = fetch_mp4(&app, id, &start, &plus(&start, 3.0), "migrated.mp4").await;
    assert_decodes_cleanly(&mp4);
    assert!(probe(&mp4).duration >= 2.5, "{}", probe(&mp4).duration);
    let pool = app.db().await;
    app.wait_for("a segment recorded into the new catalog", 30, || async {
        let now: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM segment")
            .fetch_one(&pool)
            .await
            .unwrap();
        (now > before).then_some(())
    })
    .await;
    assert!(
        app.catalog_url().starts_with("postgres://"),
        "the server now uses PostgreSQL"
    );
    app.wait_for("a segment uploaded into the store", 30, || async {
        (app.stored_names().len() > on_disk.len()).then_some(())
    })
    .await;
    // The move is on the record.
    let log = app
        .get_json("/api/audit?action=installation_migrated")
        .await;
    let detail = log["entries"][0]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        detail.contains("segments") && detail.contains("catalog"),
        "{log}"
    );
}

/// A site on SQLite with its segments in the data directory, recording one
/// simulated camera for `secs` seconds: the camera, the app, the camera's id
/// and the start of what it recorded.
async fn recording_sqlite_site(
    tag: &str,
    secs: f64,
) -> (crate::camera::TestCamera, crate::app::App, i64, String) {
    use crate::camera::{CameraOptions, TestCamera};
    let cam = TestCamera::start(CameraOptions::default());
    let app = crate::app::spawn_app_with(
        tag,
        AppOptions {
            sqlite_file: true,
            dir_store: true,
            ..AppOptions::default()
        },
    )
    .await;
    let id = app.add_camera("玄関", &cam.url(1), None).await;
    let (start, _) = crate::recording::wait_recorded(&app, id, secs, 40).await;
    (cam, app, id, start)
}

/// Waits until the server answers the session's requests again (after it
/// started anew on its own).
async fn wait_answering(app: &crate::app::App) {
    app.wait_for("the server answering again", 60, || async {
        let r = app.client.get(app.url("/api/me")).send().await.ok()?;
        (r.status() == 200).then_some(())
    })
    .await;
}

/// Waits until the camera has recorded `secs` seconds in one span since `from`.
async fn wait_recording_since(app: &crate::app::App, id: i64, from: &str, secs: i64) {
    use crate::app::parse_time;
    app.wait_for("recording again", 60, || async {
        let v = app
            .recordings(id, from, &crate::app::rfc3339_offset(5))
            .await;
        v["spans"].as_array().unwrap().iter().find_map(|s| {
            let (a, e) = (s["start"].as_str()?, s["end"].as_str()?);
            (parse_time(e) - parse_time(a) >= chrono::Duration::seconds(secs)).then_some(())
        })
    })
    .await;
}

/// How much of [start, end] the camera's timeline has recorded, and how long
/// that is, in seconds; asserts the camera missed less than `missed` seconds.
async fn assert_recorded_through(
    app: &crate::app::App,
    id: i64,
    start: &str,
    end: &str,
    missed: f64,
) -> f64 {
    use crate::app::parse_time;
    let v = app.recordings(id, start, end).await;
    let total = (parse_time(end) - parse_time(start)).num_milliseconds() as f64 / 1000.0;
    let recorded: f64 = v["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (parse_time(s["end"].as_str().unwrap()) - parse_time(s["start"].as_str().unwrap()))
                .num_milliseconds() as f64
                / 1000.0
        })
        .sum();
    assert!(
        total - recorded < missed,
        "{recorded:.1} s of {total:.1} s recorded: {v}"
    );
    recorded
}

/// `mimamori migrate` while the site serves and records (issue 12 "moves a
/// running site without losing a segment or breaking the chains"): the server
/// copies the segments while it records, then copies the catalog with its
/// recorders' rows kept aside, and starts again on PostgreSQL and the object
/// store at the same address. The session stays valid, the camera is off only
/// for the restart, what was recorded before, during and after plays as one
/// timeline, every segment is in the store, and both chains verify.
#[tokio::test]
async fn a_running_site_moves_to_postgres_and_s3_while_it_records() {
    use crate::media::{assert_decodes_cleanly, fetch_mp4, probe};

    let (_cam, mut app, id, start) = recording_sqlite_site("pg-migrate-running", 4.0).await;
    let pid = app.pid();
    let d = app.data.to_str().unwrap().to_string();
    // A file other than a segment, kept in the data directory before the move.
    let photo = b"\x89PNG\r\n\x1a\n the sign before the move".to_vec();
    let photo_id = add_sign_photo(&app, id, &photo).await;
    let (mut args, remote) = migrate_to_postgres_and_s3(&app.data, "migrate-running").await;
    args.extend(["--wait-seconds".to_string(), "120".to_string()]);
    let out = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cli(&args)
    })
    .await
    .unwrap();
    let text = succeeded(out);
    assert!(
        text.contains("copying the catalog") && text.contains("moved: catalog"),
        "{text}"
    );
    let moved_at = crate::app::rfc3339_offset(0);

    // The same process serves again, at the same address, on the new places;
    // the session made before the move is still valid.
    wait_answering(&app).await;
    assert_eq!(app.pid(), pid, "the server was not restarted from outside");
    assert!(app.catalog_url().starts_with("postgres://"));
    assert!(!app.data.join("catalog.db").exists());
    app.remote = Some(remote);
    let pool = app.db().await;
    wait_recording_since(&app, id, &moved_at, 3).await;
    app.wait_for("every segment's file in the store", 30, || async {
        let names: Vec<String> = sqlx::query_scalar("SELECT file_name FROM segment")
            .fetch_all(&pool)
            .await
            .unwrap();
        let stored = app.stored_names();
        names.iter().all(|n| stored.contains(n)).then_some(())
    })
    .await;
    let local_segments = mimamori_storage::SegmentStore::open(&app.data)
        .unwrap()
        .finished_local_files()
        .unwrap();
    assert!(
        local_segments.len() <= 1,
        "only a segment on its way to the store is local: {local_segments:?}"
    );
    // The sign photo went up with the move and is read from the store.
    assert_eq!(sign_photo(&app, photo_id).await, photo);
    assert_no_local_sign_photos(&app.data);

    // One timeline: the camera was off only while the server started again.
    let end = crate::app::rfc3339_offset(-1);
    let recorded = assert_recorded_through(&app, id, &start, &end, 20.0).await;
    let mp4 = fetch_mp4(&app, id, &start, &end, "moved-running.mp4").await;
    assert_decodes_cleanly(&mp4);
    assert!(
        probe(&mp4).duration >= recorded - 3.0,
        "{} s played of {recorded:.1} s recorded",
        probe(&mp4).duration
    );
    let log = app
        .get_json("/api/audit?action=installation_migrated")
        .await;
    assert!(
        log["entries"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("segments") && d.contains("catalog")),
        "{log}"
    );
    app.terminate();
    assert_chains_verify(&d);
}

/// Keeps a sign photo of `camera` on `app`'s node; returns its id.
async fn add_sign_photo(app: &crate::app::App, camera: i64, photo: &[u8]) -> i64 {
    let r = app
        .client
        .post(app.url(&format!("/api/cameras/{camera}/sign-photos")))
        .header("x-csrf-token", &app.csrf)
        .body(photo.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap()
}

/// A sign photo as `app`'s node serves it.
async fn sign_photo(app: &crate::app::App, id: i64) -> Vec<u8> {
    let r = app
        .client
        .get(app.url(&format!("/checks/photos/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap().to_vec()
}

/// With the object store, a node keeps no local copy of a recorded file.
fn assert_no_local_sign_photos(data: &std::path::Path) {
    let kept: Vec<_> = std::fs::read_dir(data.join("provisions/signs"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    assert!(kept.is_empty(), "kept locally: {kept:?}");
}

/// A move the running server cannot finish (here the new database already holds
/// rows: asked for through the request file directly, past the command's own
/// check) is answered in `migrate-status.txt`, and the site goes on as it was:
/// its config, its SQLite catalog and directory, the session, recording, with
/// what was recorded during the attempt in the old catalog.
#[tokio::test]
async fn a_move_that_fails_leaves_the_running_site_as_it_was() {
    use crate::media::{assert_decodes_cleanly, fetch_mp4};

    let (_cam, mut app, id, start) = recording_sqlite_site("pg-migrate-fails", 3.0).await;
    let url = scratch::new_catalog_url_on(Engine::Postgres, &app.data).await;
    let occupied = mimamori_catalog::Catalog::open(&url).await.unwrap();
    occupied
        .camera_insert(
            &mimamori_catalog::NewCamera {
                name: "よそのカメラ".into(),
                source: mimamori_catalog::CameraSource::TestPattern,
                record_audio: false,
            },
            mimamori_base::Timestamp(1),
        )
        .await
        .unwrap();
    occupied.close().await;
    let config_path = app.data.join("config.toml");
    let config = std::fs::read_to_string(&config_path).unwrap();
    assert!(config.contains("[catalog]\n"), "{config}");
    std::fs::write(
        app.data.join("migrate-request.toml"),
        config.replace("[catalog]\n", &format!("[catalog]\nurl = \"{url}\"\n")),
    )
    .unwrap();
    let status = app.data.join("migrate-status.txt");
    let answer = app
        .wait_for("the server's answer", 60, || async {
            let text = std::fs::read_to_string(&status).unwrap_or_default();
            let last = text.lines().last()?.to_string();
            (last.starts_with("failed:") || last.starts_with("done:")).then_some(last)
        })
        .await;
    assert!(
        answer.starts_with("failed:") && answer.contains("holds rows"),
        "{answer}"
    );
    let failed_at = crate::app::rfc3339_offset(0);
    wait_answering(&app).await;
    assert_eq!(std::fs::read_to_string(&config_path).unwrap(), config);
    assert!(app.data.join("catalog.db").exists());
    assert!(!app.data.join("config.toml.before-migrate").exists());
    wait_recording_since(&app, id, &failed_at, 3).await;
    let end = crate::app::rfc3339_offset(-1);
    assert_recorded_through(&app, id, &start, &end, 20.0).await;
    assert_decodes_cleanly(&fetch_mp4(&app, id, &start, &end, "not-moved.mp4").await);
    app.terminate();
    assert_chains_verify(app.data.to_str().unwrap());
}

/// A server of a test's own (`scripts/postgres.sh`, `scripts/s3.sh`), which the
/// test stops and starts again.
struct OwnServer {
    script: &'static str,
    dir: std::path::PathBuf,
    /// Its URL (PostgreSQL) or endpoint (S3).
    url: String,
}

impl OwnServer {
    fn start(script: &'static str, how: &str, tag: &str) -> OwnServer {
        let dir = fresh_dir(tag).join("server");
        let url = run_script(script, &[how, dir.to_str().unwrap()]);
        OwnServer { script, dir, url }
    }

    fn postgres(tag: &str) -> OwnServer {
        OwnServer::start("postgres.sh", "start", tag)
    }

    /// PostgreSQL taking TLS connections only; its URL verifies the certificate
    /// against the server's own CA (`DIR/ca.pem`).
    fn postgres_tls(tag: &str) -> OwnServer {
        OwnServer::start("postgres.sh", "start-tls", tag)
    }

    fn s3(tag: &str) -> OwnServer {
        OwnServer::start("s3.sh", "start", tag)
    }

    fn stop(&self) {
        run_script(self.script, &["stop", self.dir.to_str().unwrap()]);
    }

    fn start_again(&self) {
        run_script(self.script, &["again", self.dir.to_str().unwrap()]);
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let script = format!(
            "{}/../../scripts/{}",
            env!("CARGO_MANIFEST_DIR"),
            self.script
        );
        let _ = std::process::Command::new("bash")
            .args([script.as_str(), "stop", self.dir.to_str().unwrap()])
            .output();
    }
}

/// Runs one of `scripts/` (`postgres.sh`, `s3.sh`) and returns what it printed.
fn run_script(name: &str, args: &[&str]) -> String {
    let script = format!("{}/../../scripts/{name}", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("bash")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

async fn readyz(app: &crate::app::App) -> (u16, String) {
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

// Issue 12 "The catalog down": PostgreSQL stopped for 30 s while a camera
// records. Recording goes on; the segments' rows wait in the node's local journal
// (`/readyz` says the catalog is unreachable and how many rows wait); when the
// catalog is back the journal is handed over, and the timeline has no gap where
// the catalog was away: the footage of those 30 s plays, `verify` and
// `audit verify` pass. The installation's duties, whose lock ended with the
// catalog's connections, are taken again.
#[tokio::test(flavor = "multi_thread")]
async fn with_postgresql_stopped_for_30_s_recording_goes_on_and_the_local_journal_replays() {
    use crate::app::parse_time;
    use crate::camera::{CameraOptions, TestCamera};
    use crate::media::{assert_decodes_cleanly, fetch_mp4, probe};
    use crate::recording::{plus, wait_recorded};

    let pg = OwnServer::postgres("pg-down-server");
    let data = fresh_dir("pg-down");
    let secret = data.with_extension("catalog-pw");
    std::fs::write(&secret, "unused-with-trust\n").unwrap();
    let (ok, text) = init(&data, &pg.url, &secret);
    assert!(ok, "{text}");
    let cam = TestCamera::start(CameraOptions::default());
    let mut app = serve_existing(data.clone(), AppOptions::default()).await;
    let id = app.add_camera("正門", &cam.url(1), None).await;
    wait_recorded(&app, id, 3.0, 40).await;
    app.wait_for("the duties", 20, || async {
        app.log_text()
            .contains("runs the retention sweeper")
            .then_some(())
    })
    .await;
    assert_eq!(readyz(&app).await.0, 200);

    let down_from = crate::app::rfc3339_offset(0);
    pg.stop();
    let stopped = Instant::now();
    let journal = data.join("catalog-journal");
    let kept = || {
        std::fs::read_dir(&journal)
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".json"))
                })
                .count()
            })
            .unwrap_or(0)
    };
    let said = app
        .wait_for("rows waiting in the local journal", 25, || async {
            let (status, text) = readyz(&app).await;
            (status == 503
                && text.contains("catalog unreachable")
                && text.contains("rows wait for the catalog"))
            .then_some(text)
        })
        .await;
    assert!(kept() > 0, "{said}");
    tokio::time::sleep(Duration::from_secs(30).saturating_sub(stopped.elapsed())).await;
    let waiting = kept();
    assert!(
        waiting >= 10,
        "about one 2-s segment's row every 2 s is kept: {waiting}"
    );

    pg.start_again();
    let back = Instant::now();
    app.wait_for("the journal handed over", 40, || async {
        let (status, text) = readyz(&app).await;
        (status == 200 && text.contains("local journal: empty")).then_some(())
    })
    .await;
    assert_eq!(kept(), 0);
    println!(
        "{waiting} rows kept for 30 s, in the catalog {:.1} s after it was back",
        back.elapsed().as_secs_f64()
    );

    // The timeline where the catalog was away: recorded, no gap (once the
    // segment after it is closed too).
    let down_to = plus(&down_from, 30.0);
    let outage = (parse_time(&down_from), parse_time(&down_to));
    let v = app
        .wait_for("the outage's footage on the timeline", 15, || async {
            let v = app
                .recordings(id, &plus(&down_from, -10.0), &plus(&down_to, 10.0))
                .await;
            v["spans"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| {
                    parse_time(s["start"].as_str().unwrap()) <= outage.0
                        && parse_time(s["end"].as_str().unwrap()) >= outage.1
                })
                .then_some(v)
        })
        .await;
    let gaps_inside: Vec<_> = v["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| {
            let start = parse_time(g["start"].as_str().unwrap());
            let end = g["end"].as_str().map(parse_time);
            start < outage.1 && end.is_none_or(|e| e > outage.0)
        })
        .collect();
    assert!(gaps_inside.is_empty(), "{v}");
    let mp4 = fetch_mp4(&app, id, &down_from, &down_to, "catalog-down.mp4").await;
    assert_decodes_cleanly(&mp4);
    let seconds = probe(&mp4).duration;
    assert!(seconds >= 29.0, "{seconds} s of the 30 s play");

    app.wait_for("the duties taken again", 30, || async {
        let log = app.log_text();
        (log.contains("lost the installation's duties")
            && log.matches("runs the retention sweeper").count() >= 2)
            .then_some(())
    })
    .await;
    app.terminate();
    let d = data.to_str().unwrap().to_string();
    assert_chains_verify(&d);
}

/// The finished segment files still in a data directory's `segments/`.
fn local_finished_segments(data: &std::path::Path) -> usize {
    mimamori_storage::SegmentStore::open(data)
        .unwrap()
        .finished_local_files()
        .unwrap()
        .len()
}

// Issue 12 "no single disk whose loss loses footage", the store's side of "the
// catalog down": with the object store stopped for 20 s, the camera keeps
// recording (segments wait on the node's disk, uploaded again and again), and
// when the store is back they go up and into the catalog in order. The timeline
// has no gap where the store was away, the MP4 across it decodes, `verify`
// passes.
#[tokio::test(flavor = "multi_thread")]
async fn with_the_object_store_stopped_for_20_s_recording_goes_on_and_the_segments_go_up_after() {
    use crate::camera::{CameraOptions, TestCamera};
    use crate::media::{assert_decodes_cleanly, fetch_mp4, probe};
    use crate::recording::wait_recorded;

    let s3 = OwnServer::s3("s3-down-server");
    let data = fresh_dir("s3-down");
    let pw = data.with_extension("pw");
    std::fs::write(&pw, format!("{ADMIN_PASSWORD}\n")).unwrap();
    let credentials = s3.dir.join("credentials.toml");
    let out = cli(&[
        "init",
        "--data",
        data.to_str().unwrap(),
        "--admin",
        ADMIN,
        "--admin-password-file",
        pw.to_str().unwrap(),
        "--store",
        "s3://mimamori/s3-down",
        "--store-endpoint",
        &s3.url,
        "--store-credentials-file",
        credentials.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cam = TestCamera::start(CameraOptions::default());
    let mut app = serve_existing(data.clone(), AppOptions::default()).await;
    let id = app.add_camera("正門", &cam.url(1), None).await;
    let (start, _) = wait_recorded(&app, id, 3.0, 40).await;

    s3.stop();
    let stopped = Instant::now();
    tokio::time::sleep(Duration::from_secs(20)).await;
    let waiting = local_finished_segments(&data);
    assert!(
        waiting >= 5,
        "about one 2-s segment every 2 s waits here: {waiting}"
    );
    let c = app.camera(id).await;
    assert_eq!(c["status"], "recording", "{c}");

    s3.start_again();
    let away = stopped.elapsed().as_secs_f64();
    app.wait_for("the waiting segments uploaded", 90, || async {
        (local_finished_segments(&data) <= 1).then_some(())
    })
    .await;
    let end = crate::app::rfc3339_offset(-3);
    let recorded = assert_recorded_through(&app, id, &start, &end, 6.0).await;
    assert!(
        recorded > away,
        "{recorded:.1} s recorded, the store away {away:.1} s"
    );
    let mp4 = fetch_mp4(&app, id, &start, &end, "across-the-store-outage.mp4").await;
    assert_decodes_cleanly(&mp4);
    assert!(
        probe(&mp4).duration >= recorded - 3.0,
        "{} s played of {recorded:.1} s recorded",
        probe(&mp4).duration
    );
    assert!(
        app.log_text().contains("is uploaded again in"),
        "the failed uploads are logged"
    );
    app.terminate();
    assert_chains_verify(data.to_str().unwrap());
}

// Issue 12, the catalog on another machine: the URL's `sslmode=verify-full` and
// `sslrootcert` make every connection TLS, verified against the city's CA. A
// server whose certificate another CA signed is refused before anything is
// written, and so is a connection without TLS where the server requires it.
#[tokio::test(flavor = "multi_thread")]
async fn a_catalog_over_tls_is_verified_and_every_connection_is_encrypted() {
    use crate::camera::{CameraOptions, TestCamera};
    use crate::recording::wait_recorded;

    let pg = OwnServer::postgres_tls("pg-tls-server");
    let data = fresh_dir("pg-tls");
    let secret = data.with_extension("catalog-pw");
    std::fs::write(&secret, "unused-with-trust\n").unwrap();

    let other_ca = data.with_extension("other-ca.pem");
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=another CA", "-keyout"])
        .arg(data.with_extension("other-ca.key"))
        .arg("-out")
        .arg(&other_ca)
        .output()
        .unwrap();
    assert!(made.status.success());
    let ca = pg.dir.join("ca.pem");
    let wrong_ca = pg
        .url
        .replace(ca.to_str().unwrap(), other_ca.to_str().unwrap());
    let (ok, text) = init(&data, &wrong_ca, &secret);
    assert!(!ok && text.contains("certificate"), "{text}");
    assert!(!data.join("policy.toml").exists(), "nothing written");
    let plain = format!("{}?sslmode=disable", pg.url.split('?').next().unwrap());
    let (ok, text) = init(&data, &plain, &secret);
    assert!(!ok && text.contains("no encryption"), "{text}");

    let (ok, text) = init(&data, &pg.url, &secret);
    assert!(ok, "{text}");
    let cam = TestCamera::start(CameraOptions::default());
    let app = serve_existing(data.clone(), AppOptions::default()).await;
    let id = app.add_camera("正門", &cam.url(1), None).await;
    wait_recorded(&app, id, 3.0, 40).await;
    let pool = app.db().await;
    let (connections, encrypted): (i64, bool) = sqlx::query_as(
        "SELECT count(*), coalesce(bool_and(s.ssl), false) FROM pg_stat_ssl s \
         JOIN pg_stat_activity a ON a.pid = s.pid \
         WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        connections >= 2 && encrypted,
        "{connections} connections, all TLS: {encrypted}"
    );
}

// Issue 12, any node serves the UI: live view on a node that records nothing,
// relayed from a recording node that serves HTTPS, whose certificate the
// relaying node verifies against `[recorder] peer_ca`.
#[tokio::test(flavor = "multi_thread")]
async fn live_view_on_a_web_node_is_relayed_from_a_recording_node_over_https() {
    use crate::camera::{CameraOptions, TestCamera};
    use tokio::io::AsyncReadExt;

    let recording = fresh_dir("relay-tls-a");
    let url = scratch::new_catalog_url_on(Engine::Postgres, &recording).await;
    let secret = recording.with_extension("catalog-pw");
    std::fs::write(&secret, "unused-with-trust\n").unwrap();
    let (ok, text) = init(&recording, &url, &secret);
    assert!(ok, "{text}");
    let web = fresh_dir("relay-tls-b");
    copy_dir(&recording, &web);
    copy_dir(
        &recording.with_extension("keys"),
        &web.with_extension("keys"),
    );
    // A CA of the city's and the recording node's certificate for 127.0.0.1.
    let pki = recording.with_extension("pki");
    std::fs::create_dir_all(&pki).unwrap();
    let made = std::process::Command::new("bash")
        .current_dir(&pki)
        .args([
            "-ec",
            "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=city-CA -keyout ca.key -out ca.pem 2>/dev/null
             openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout node.key -out node.csr 2>/dev/null
             printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext
             openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out node.pem 2>/dev/null",
        ])
        .status()
        .unwrap();
    assert!(made.success());

    let cam = TestCamera::start(CameraOptions::default());
    let out = cli(&[
        "camera",
        "add",
        "--data",
        recording.to_str().unwrap(),
        "--name",
        "玄関",
        "--url",
        &cam.url(1),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = pki.display();
    let _a = serve_existing(
        recording.clone(),
        AppOptions {
            config_extra: format!(
                "[tls]\ncertificate = \"{p}/node.pem\"\nkey = \"{p}/node.key\"\n"
            ),
            ..AppOptions::default()
        },
    )
    .await;
    let b = serve_existing(
        web.clone(),
        AppOptions {
            config_extra: format!("record = false\npeer_ca = \"{p}/ca.pem\"\n"),
            ..AppOptions::default()
        },
    )
    .await;
    let id = b
        .wait_for("the camera recording on the HTTPS node", 40, || async {
            let list = b.get_json("/api/cameras").await;
            let c = list.as_array()?.first()?.clone();
            (c["status"] == "recording").then(|| c["id"].as_i64().unwrap())
        })
        .await;
    let relayed = crate::web::live_messages(&b, id, 3).await;
    let hello: serde_json::Value = serde_json::from_str(relayed[0].as_text().unwrap()).unwrap();
    assert!(
        hello["codec"].as_str().unwrap().starts_with("avc1."),
        "{hello}"
    );
    assert_eq!(&relayed[1].as_binary().unwrap()[4..8], b"ftyp");
    assert_eq!(&relayed[2].as_binary().unwrap()[4..8], b"moof");
    let log = b.get_json("/api/audit?action=live_view").await;
    assert_eq!(log["entries"][0]["camera_id"], id, "{log}");

    // A web node that does not know the city's CA cannot verify the recording
    // node: the socket closes with 1011, which the page shows instead of asking
    // again (and logging another viewing) every second and a half.
    let unverified = fresh_dir("relay-tls-c");
    copy_dir(&web, &unverified);
    copy_dir(
        &web.with_extension("keys"),
        &unverified.with_extension("keys"),
    );
    let c = serve_existing(
        unverified,
        AppOptions {
            config_extra: "record = false\n".into(),
            ..AppOptions::default()
        },
    )
    .await;
    let (cookie, _) = crate::attacks::login_api(&c).await;
    let (status, mut socket) = crate::attacks::open_live(&c, id, &cookie, None).await;
    assert_eq!(status, 101);
    let mut close = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(10), socket.read_exact(&mut close))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(close[0], 0x88, "a close frame");
    assert_eq!(u16::from_be_bytes([close[2], close[3]]), 1011);
    assert!(
        c.log_text()
            .contains("live view relay: the recording node refused or cannot be reached")
    );
}
