//! `spawn_app()`: the real `mimamori` binary on a fresh data directory and a
//! random port, plus an HTTP client logged in as the manager. Its catalog is on
//! the test run's engine: SQLite, or a new database on the PostgreSQL test server
//! when `MIMAMORI_TEST_CATALOG=postgres` (see `mimamori_catalog::scratch`); its
//! finished segments in the data directory, or in a new prefix of the test
//! object store when `MIMAMORI_TEST_STORE=s3` (see `mimamori_storage::scratch`).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::procs::Group;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const ADMIN: &str = "kanri";
pub const ADMIN_PASSWORD: &str = "correct-horse-battery";

pub struct App {
    pub data: PathBuf,
    pub port: u16,
    child: Option<Group>,
    pub log: PathBuf,
    pub client: reqwest::Client,
    pub csrf: String,
    mount: Option<PathBuf>,
    /// How far the server's clock runs ahead of the wall clock (test builds
    /// follow `MIMAMORI_TEST_CLOCK_FILE`): days passed with [`App::pass_days`].
    pub ahead_secs: i64,
    /// The object store holding its finished segments (`None`: the data directory).
    pub remote: Option<mimamori_storage::RemoteConfig>,
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_mimamori")
}

/// Runs a `mimamori` subcommand to completion.
pub fn cli(args: &[&str]) -> Output {
    Command::new(bin()).args(args).output().unwrap()
}

pub fn fresh_dir(tag: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "app-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&d);
    d
}

pub struct AppOptions {
    pub preset: &'static str,
    /// Put the data directory on a tmpfs of this many MiB (a disk that really fills).
    pub tmpfs_mib: Option<u32>,
    /// Text replacements applied to policy.toml before the server starts.
    pub policy_edits: Vec<(&'static str, String)>,
    /// Appended to `config.toml` (a `[tls]` section, say).
    pub config_extra: String,
    pub segment_seconds: u32,
    pub watchdog_seconds: u32,
    pub auth_retry_seconds: u32,
    /// The catalog in the data directory's SQLite file even on a PostgreSQL run:
    /// for tests about that file itself (its size, its mode, restoring a copy).
    pub sqlite_file: bool,
    /// The segments in the data directory even on an object-store run.
    pub dir_store: bool,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            preset: "chiba-guideline",
            tmpfs_mib: None,
            policy_edits: Vec::new(),
            config_extra: String::new(),
            segment_seconds: 2,
            watchdog_seconds: 3,
            auth_retry_seconds: 30,
            sqlite_file: false,
            dir_store: false,
        }
    }
}

pub async fn spawn_app(tag: &str) -> App {
    spawn_app_with(tag, AppOptions::default()).await
}

pub async fn spawn_app_with(tag: &str, o: AppOptions) -> App {
    let data = fresh_dir(tag);
    std::fs::create_dir_all(&data).unwrap();
    if let Some(mib) = o.tmpfs_mib {
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mib}m"),
                "tmpfs",
                data.to_str().unwrap(),
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok, "mounting a tmpfs needs root (CI runs as root)");
    }
    let pw = data.with_extension("pw");
    std::fs::write(&pw, format!("{ADMIN_PASSWORD}\n")).unwrap();
    let mut args = vec![
        "init".to_string(),
        "--data".into(),
        data.to_str().unwrap().into(),
        "--preset".into(),
        o.preset.into(),
        "--admin".into(),
        ADMIN.into(),
        "--admin-password-file".into(),
        pw.to_str().unwrap().into(),
    ];
    if mimamori_catalog::scratch::engine() == mimamori_catalog::Engine::Postgres && !o.sqlite_file {
        args.push("--catalog".into());
        args.push(mimamori_catalog::scratch::new_catalog_url(&data).await);
    }
    let remote = (mimamori_storage::scratch::uses_object_store() && !o.dir_store)
        .then(|| mimamori_storage::scratch::new_remote(tag));
    if let Some(r) = &remote {
        let (endpoint, credentials) = mimamori_storage::scratch::test_server();
        args.extend([
            "--store".into(),
            r.url(),
            "--store-endpoint".into(),
            endpoint,
            "--store-credentials-file".into(),
            credentials.display().to_string(),
        ]);
    }
    let out = Command::new(bin()).args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "init failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    if !o.policy_edits.is_empty() {
        let mut p = std::fs::read_to_string(data.join("policy.toml")).unwrap();
        for (from, to) in &o.policy_edits {
            assert!(p.contains(from), "policy.toml has no {from:?}:\n{p}");
            p = p.replace(from, to);
        }
        std::fs::write(data.join("policy.toml"), p).unwrap();
    }
    let mut app = serve_existing(data, o).await;
    app.remote = remote;
    app
}

/// Serves a data directory that already exists (a fixture of an earlier version,
/// say), with the recorder settings of `o`.
pub async fn serve_existing(data: PathBuf, o: AppOptions) -> App {
    // The catalog and the segments stay where `init` put them.
    let catalog = config_section(&data, "catalog") + &config_section(&data, "store");
    std::fs::write(
        data.join("config.toml"),
        format!(
            "listen = \"127.0.0.1:0\"\n[recorder]\nsegment_seconds = {}\nwatchdog_seconds = {}\nauth_retry_seconds = {}\n{}\n{catalog}",
            o.segment_seconds, o.watchdog_seconds, o.auth_retry_seconds, o.config_extra
        ),
    )
    .unwrap();
    let mut app = App {
        mount: o.tmpfs_mib.map(|_| data.clone()),
        log: data.with_extension("log"),
        data,
        port: 0,
        child: None,
        client: client(),
        csrf: String::new(),
        ahead_secs: 0,
        remote: None,
    };
    app.start().await;
    app
}

/// A `[section]` of a data directory's config.toml (empty if none).
fn config_section(data: &std::path::Path, name: &str) -> String {
    let text = std::fs::read_to_string(data.join("config.toml")).unwrap_or_default();
    let Some(start) = text.find(&format!("\n[{name}]")) else {
        return String::new();
    };
    let section = &text[start + 1..];
    let end = section[1..].find("\n[").map_or(section.len(), |i| i + 2);
    section[..end].to_string()
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl App {
    /// Starts `mimamori serve` and waits for its "listening on" line.
    pub async fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let start_len = std::fs::metadata(&self.log).map(|m| m.len()).unwrap_or(0) as usize;
        let child = Group::spawn(
            Command::new(bin())
                .args(["serve", "--data", self.data.to_str().unwrap()])
                .env("MIMAMORI_LOG", "info,retina=warn,sqlx=warn")
                .env("MIMAMORI_TEST_CLOCK_FILE", self.clock_file())
                .stdout(Stdio::from(log.try_clone().unwrap()))
                .stderr(Stdio::from(log)),
        )
        .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            let new = &text[start_len.min(text.len())..];
            // The address of the "listening on" line (other lines name cameras' addresses).
            if let Some(i) = new
                .find("listening on http")
                .and_then(|l| new[l..].find("://127.0.0.1:").map(|i| l + i))
            {
                let rest = &new[i + "://127.0.0.1:".len()..];
                self.port = rest[..rest.find('/').unwrap()].parse().unwrap();
                if new.contains("listening on https://") {
                    // TLS: the caller talks to it with its own clients.
                    return;
                }
                break;
            }
            if let Some(Some(s)) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("mimamori serve exited ({s}):\n{new}");
            }
            assert!(Instant::now() < deadline, "mimamori did not start:\n{new}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.client = client();
        self.login(ADMIN, ADMIN_PASSWORD).await;
    }

    /// The catalog's database, for tests that look at it (or tamper with it)
    /// behind mimamori's back.
    /// The store of this app's finished segments (directory or object store).
    pub fn segments(&self) -> mimamori_storage::SegmentStore {
        mimamori_storage::SegmentStore::open_with(&self.data, self.remote.as_ref()).unwrap()
    }

    /// The store of this app's other files (request documents, packages, sign
    /// photos): `provisions/`, or the object store below `files/`.
    pub fn files(&self) -> mimamori_storage::SegmentStore {
        mimamori_storage::SegmentStore::open_files(
            &self.data.join("provisions"),
            self.remote.as_ref().map(|r| r.for_files()).as_ref(),
        )
        .unwrap()
    }

    /// A stored file's bytes (of [`App::files`]), whichever the store.
    pub fn stored_file(&self, name: &str) -> Vec<u8> {
        let files = self.files();
        match files.remote() {
            Some(r) => r.get(name).unwrap(),
            None => std::fs::read(files.path_of(name)).unwrap(),
        }
    }

    /// Replaces a stored file's bytes (of [`App::files`]: a test's tampering).
    pub fn replace_stored_file(&self, name: &str, bytes: Vec<u8>) {
        let files = self.files();
        match files.remote() {
            Some(r) => r.put(name, bytes).unwrap(),
            None => std::fs::write(files.path_of(name), bytes).unwrap(),
        }
    }

    /// The names of the finished files of [`App::files`] below `dir`.
    pub fn stored_files_in(&self, dir: &str) -> Vec<String> {
        self.files()
            .list_files()
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| n.starts_with(&format!("{dir}/")) && !n.ends_with(".partial"))
            .collect()
    }

    /// A finished segment file's bytes as stored.
    pub fn stored(&self, name: &str) -> Vec<u8> {
        let store = self.segments();
        match store.remote() {
            Some(r) => r.get(name).unwrap(),
            None => std::fs::read(store.path_of(name)).unwrap(),
        }
    }

    /// Replaces a finished segment file's bytes (a test's tampering).
    pub fn replace_stored(&self, name: &str, bytes: Vec<u8>) {
        let store = self.segments();
        match store.remote() {
            Some(r) => r.put(name, bytes).unwrap(),
            None => std::fs::write(store.path_of(name), bytes).unwrap(),
        }
    }

    /// The names of the finished segment files, sorted.
    pub fn stored_names(&self) -> Vec<String> {
        self.segments()
            .list_files()
            .unwrap()
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| n.ends_with(".seg"))
            .collect()
    }

    pub async fn db(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::AnyPool::connect(&self.catalog_url()).await.unwrap()
    }

    /// The URL of the catalog config.toml names.
    pub fn catalog_url(&self) -> String {
        config_section(&self.data, "catalog")
            .lines()
            .find_map(|l| l.strip_prefix("url = "))
            .map(|u| u.trim_matches('"').to_string())
            .unwrap_or_else(|| mimamori_catalog::sqlite_url(&self.data.join("catalog.db")))
    }

    fn clock_file(&self) -> PathBuf {
        self.data.with_extension("clock")
    }

    /// Lets `days` pass for the server (and for [`App::cli`]): its clock moves
    /// on while its cameras go on recording in real time. Sessions expire as
    /// they would; the server reads the file within 100 ms.
    pub async fn pass_days(&mut self, days: i64) {
        self.ahead_secs += days * 86_400;
        std::fs::write(self.clock_file(), self.ahead_secs.to_string()).unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
    }

    /// The server's now ± seconds, as RFC 3339 (UTC).
    pub fn at(&self, secs: i64) -> String {
        rfc3339_offset(self.ahead_secs + secs)
    }

    /// Runs a `mimamori` subcommand to completion on the server's clock.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(bin())
            .args(args)
            .env("MIMAMORI_TEST_CLOCK_FILE", self.clock_file())
            .output()
            .unwrap()
    }

    /// The server's process id (0 when stopped).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub async fn login(&mut self, user: &str, password: &str) {
        let r = self
            .client
            .post(self.url("/api/login"))
            .json(&serde_json::json!({"username": user, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login failed");
        let v: Value = r.json().await.unwrap();
        self.csrf = v["csrf_token"].as_str().unwrap().to_string();
    }

    /// The text of a page (any status).
    pub async fn page(&self, path: &str) -> String {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// A JSON request that changes something, with the session's CSRF token.
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.client
            .request(method, self.url(path))
            .header("x-csrf-token", &self.csrf)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.send_json(reqwest::Method::POST, path, body).await
    }

    /// A WebSocket upgrade request on the session (the answer when it is refused).
    pub async fn ws_upgrade(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("connection", "upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-version", "13")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.client.get(self.url(path)).send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "GET {path}: {status} {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// The first purpose of viewing the installation's policy lists.
    pub async fn purpose(&self) -> String {
        let me = self.get_json("/api/me").await;
        me["purposes"][0]["id"].as_str().unwrap().to_string()
    }

    /// Adds an RTSP camera through the API; returns its id.
    pub async fn add_camera(&self, name: &str, url: &str, creds: Option<(&str, &str)>) -> i64 {
        let mut body = serde_json::json!({"name": name, "url": url});
        if let Some((u, p)) = creds {
            body["username"] = u.into();
            body["password"] = p.into();
        }
        let r = self.post_json("/api/cameras", &body).await;
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert_eq!(status, 201, "{v}");
        v["id"].as_i64().unwrap()
    }

    pub async fn camera(&self, id: i64) -> Value {
        self.get_json(&format!("/api/cameras/{id}")).await
    }

    /// Polls `f` every 200 ms until it returns `Some`, or fails after `secs`.
    pub async fn wait_for<T, F, Fut>(&self, what: &str, secs: u64, mut f: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(v) = f().await {
                return v;
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {secs} s waiting for: {what}\n--- log ---\n{}",
                    self.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn wait_status(&self, id: i64, status: &str, secs: u64) -> Value {
        self.wait_for(&format!("camera {id} status {status}"), secs, || async {
            let c = self.camera(id).await;
            (c["status"] == status).then_some(c)
        })
        .await
    }

    pub async fn recordings(&self, id: i64, from: &str, to: &str) -> Value {
        self.get_json(&format!(
            "/api/cameras/{id}/recordings?from={}&to={}",
            urlenc(from),
            urlenc(to)
        ))
        .await
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL, as a power cut would.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill();
        }
    }

    /// SIGTERM and wait for a clean exit.
    pub fn terminate(&mut self) {
        if let Some(mut c) = self.child.take() {
            Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status()
                .unwrap();
            assert!(c.wait_exit(20), "mimamori did not stop on SIGTERM");
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill();
        }
        if let Some(m) = self.mount.take() {
            let _ = Command::new("umount").arg(&m).status();
        }
    }
}

pub fn urlenc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Now, and now ± seconds, as RFC 3339 (UTC).
#[allow(clippy::disallowed_methods)] // the binary under test runs on the real clock
pub fn rfc3339_offset(secs: i64) -> String {
    let t = chrono::Utc::now() + chrono::Duration::milliseconds(secs * 1000);
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn parse_time(s: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap()
}
