//! The catalog on PostgreSQL as an installer meets it (issue 12): `init --catalog`
//! with the password in a file, one installation per database, one recording
//! node per catalog, sessions valid on whichever node serves. Always on the
//! PostgreSQL test server, whichever engine the rest of the run uses.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mimamori_catalog::{Engine, scratch};

use crate::app::{ADMIN, ADMIN_PASSWORD, AppOptions, bin, cli, fresh_dir, serve_existing};

fn init(data: &std::path::Path, catalog: &str, password_file: &std::path::Path) -> (bool, String) {
    let pw = data.with_extension("pw");
    std::fs::write(&pw, format!("{ADMIN_PASSWORD}\n")).unwrap();
    let out = cli(&[
        "init",
        "--data",
        data.to_str().unwrap(),
        "--preset",
        "kitakyushu",
        "--admin",
        ADMIN,
        "--admin-password-file",
        pw.to_str().unwrap(),
        "--catalog",
        catalog,
        "--catalog-password-file",
        password_file.to_str().unwrap(),
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
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

#[tokio::test]
async fn a_postgres_catalog_serves_one_installation_and_records_on_one_node_at_a_time() {
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
    let mut a = serve_existing(node_a.clone(), AppOptions::default()).await;

    // The same database for a second installation: refused, it has accounts.
    let other = fresh_dir("pg-other");
    let (ok, text) = init(&other, &url, &secret);
    assert!(
        !ok && text.contains("already serves an installation"),
        "{text}"
    );

    // A second node for the same catalog (its own data directory, the same
    // policy, config and keys) may not record while the first one does.
    let node_b = fresh_dir("pg-node-b");
    copy_dir(&node_a, &node_b);
    copy_dir(
        &node_a.with_extension("keys"),
        &node_b.with_extension("keys"),
    );
    let mut second = Command::new(bin())
        .args(["serve", "--data", node_b.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while second.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            second.kill().unwrap();
            panic!("a second node started recording for the same catalog");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = second.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        text.contains("another mimamori node already records"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");

    // Once the first node is gone (killed: its lock ends with its connection),
    // the second one serves the same installation: its accounts, and the session
    // made on the first node.
    a.kill9();
    let b = serve_existing(node_b, AppOptions::default()).await;
    let r = a.client.get(b.url("/api/me")).send().await.unwrap();
    assert_eq!(
        r.status(),
        200,
        "a session made on one node is valid on the other"
    );
    let me: serde_json::Value = r.json().await.unwrap();
    assert_eq!(me["username"], ADMIN, "{me}");
}

/// `mimamori migrate` (issue 12 "Moving an installation"): a site recorded on
/// SQLite with its segments in the data directory moves to PostgreSQL and an
/// S3-compatible store; what was recorded plays, both chains verify, no segment is
/// left behind or lost, and recording goes on into the new catalog and store.
#[tokio::test]
async fn an_sqlite_and_directory_site_moves_to_postgres_and_s3_and_keeps_its_footage_and_chains() {
    use crate::camera::{CameraOptions, TestCamera};
    use crate::media::{assert_decodes_cleanly, fetch_mp4, probe};
    use crate::recording::{plus, wait_recorded};

    let cam = TestCamera::start(CameraOptions::default());
    let mut app = crate::app::spawn_app_with(
        "pg-migrate",
        AppOptions {
            sqlite_file: true,
            dir_store: true,
            ..AppOptions::default()
        },
    )
    .await;
    let id = app.add_camera("玄関", &cam.url(1), None).await;
    let (start, _) = wait_recorded(&app, id, 4.0, 40).await;
    let d = app.data.to_str().unwrap().to_string();
    let url = scratch::new_catalog_url_on(Engine::Postgres, &app.data).await;
    let remote = mimamori_storage::scratch::new_remote("migrate");
    let (endpoint, credentials) = mimamori_storage::scratch::test_server();
    let (store_url, credentials) = (remote.url(), credentials.display().to_string());
    let migrate = || {
        cli(&[
            "migrate",
            "--data",
            &d,
            "--to",
            &url,
            "--store",
            &store_url,
            "--store-endpoint",
            &endpoint,
            "--store-credentials-file",
            &credentials,
        ])
    };

    let out = migrate();
    assert!(!out.status.success(), "refused while the server runs");
    assert!(String::from_utf8_lossy(&out.stderr).contains("stop it first"));

    app.terminate();
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM segment")
        .fetch_one(&app.db().await)
        .await
        .unwrap();
    let on_disk = app.stored_names();
    assert_eq!(on_disk.len() as i64, before, "{on_disk:?}");
    let out = migrate();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    for args in [
        vec!["verify", "--data", &d],
        vec!["audit", "verify", "--data", &d],
    ] {
        let out = cli(&args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

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
