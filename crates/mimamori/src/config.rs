//! The configuration: one typed struct, layered defaults → `config.toml` in the
//! data directory → `MIMAMORI_*` environment variables.

use std::path::{Path, PathBuf};

use anyhow::Context;
use mimamori_catalog::Engine;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the web server listens on (`MIMAMORI_LISTEN`).
    pub listen: String,
    pub recorder: RecorderSection,
    pub session: SessionSection,
    pub web: WebSection,
    pub keys: KeysSection,
    /// HTTPS served by mimamori itself (absent: plain HTTP).
    pub tls: Option<TlsSection>,
    /// Where the catalog is (absent: `catalog.db` in the data directory).
    pub catalog: CatalogSection,
    /// Where finished segments are kept (absent: `segments/` in the data directory).
    pub store: StoreSection,
}

/// `[store]`: where finished segments are kept. Absent (or `url = "dir:"`), in
/// `segments/` of the data directory; `s3://bucket/prefix`, in an S3-compatible
/// object store that several machines share.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// `dir:` or `s3://bucket/prefix` (`MIMAMORI_STORE_URL`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The S3-compatible server, `http(s)://host:port` (absent: AWS's own endpoint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The region its signatures name (default `us-east-1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// A file with `access_key_id = "…"` and `secret_access_key = "…"` (or the
    /// environment's `MIMAMORI_S3_ACCESS_KEY_ID` / `MIMAMORI_S3_SECRET_ACCESS_KEY`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_file: Option<PathBuf>,
}

/// The credentials file named by `[store] credentials_file`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreCredentials {
    access_key_id: String,
    secret_access_key: String,
}

/// `[catalog]`: the catalog's database. Absent, it is the SQLite file `catalog.db`
/// in the data directory; a PostgreSQL catalog serves several machines.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogSection {
    /// `postgres://user@host:port/database` or `sqlite:///path/catalog.db`
    /// (`MIMAMORI_CATALOG_URL`). Without the password: it is never written here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A file holding the PostgreSQL password (`MIMAMORI_CATALOG_PASSWORD` gives
    /// the password itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
}

/// Where the catalog is, resolved: the URL to connect to (which may hold the
/// password: never print it) and the one to show.
pub struct CatalogLocation {
    pub connect: String,
    pub shown: String,
    pub engine: Engine,
}

/// `[tls]`: the server's certificate and key (PEM), and optionally the CA that signs
/// the client certificates of registered terminals (see the policy's `[[terminals]]`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    pub certificate: std::path::PathBuf,
    pub key: std::path::PathBuf,
    #[serde(default)]
    pub client_ca: Option<std::path::PathBuf>,
}

/// Where the installation's keys live: outside the data directory, so that a copy
/// of the data directory alone reveals no footage.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysSection {
    /// The master key that wraps every data key (default: `<data dir>.keys/master.key`).
    pub master_key_file: Option<std::path::PathBuf>,
    /// The Ed25519 key that signs chain heads (default: `<data dir>.keys/signing.key`).
    pub signing_key_file: Option<std::path::PathBuf>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecorderSection {
    /// Target segment length in seconds; cut at the next key frame (`MIMAMORI_SEGMENT_SECONDS`).
    pub segment_seconds: u32,
    /// Seconds without a frame before a stream counts as frozen (`MIMAMORI_WATCHDOG_SECONDS`).
    pub watchdog_seconds: u32,
    /// Seconds to wait after a camera refused our credentials (`MIMAMORI_AUTH_RETRY_SECONDS`).
    pub auth_retry_seconds: u32,
    /// This recorder node's name in the catalog (absent: `host:/data/dir`, which
    /// tells apart the nodes of one catalog, several on one machine too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Whether this node records (false: a web node, serving the UI and API only).
    pub record: bool,
    /// Seconds a node's hold on its cameras lasts without renewal: after a node
    /// stops answering, its cameras are taken by another node within this time and
    /// the next round of that node (every 3 s).
    pub lease_seconds: u32,
    /// How the other nodes reach this node's web door, `host:port` (absent: the
    /// address it listens on). They relay its cameras' live view from there, so
    /// a node listening on every address (`0.0.0.0`) names one here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The CA certificates (PEM) that signed the other nodes' HTTPS
    /// certificates, to verify them when live view is relayed from one (absent:
    /// the system's roots).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_ca: Option<std::path::PathBuf>,
}

/// `[web]`: bounds on connections, so that clients that connect and send nothing
/// cannot exhaust the server.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSection {
    /// Connections open at once; more are closed as they arrive.
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers (and to finish a TLS handshake).
    pub header_read_timeout_seconds: u32,
    /// Address ranges (CIDR) that may read `/metrics`, `/healthz` and `/readyz`
    /// without logging in (default: this machine only).
    pub monitoring_networks: Vec<String>,
    /// A terminal of the policy (`[[terminals]] name`) that may read them too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitoring_terminal: Option<String>,
}

impl Default for WebSection {
    fn default() -> Self {
        let d = mimamori_web::server::Limits::default();
        WebSection {
            max_connections: d.max_connections,
            header_read_timeout_seconds: u32::try_from(d.header_read_timeout.as_secs())
                .unwrap_or(10),
            monitoring_networks: vec!["127.0.0.0/8".into(), "::1/128".into()],
            monitoring_terminal: None,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSection {
    /// Minutes without a request after which a login session ends.
    pub idle_minutes: u32,
    /// Hours after login after which a session ends regardless.
    pub max_hours: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            recorder: RecorderSection::default(),
            session: SessionSection::default(),
            web: WebSection::default(),
            keys: KeysSection::default(),
            tls: None,
            catalog: CatalogSection::default(),
            store: StoreSection::default(),
        }
    }
}

impl Default for RecorderSection {
    fn default() -> Self {
        let d = mimamori_recorder::RecorderConfig::default();
        RecorderSection {
            segment_seconds: d.segment_seconds,
            watchdog_seconds: d.watchdog_seconds,
            auth_retry_seconds: d.auth_retry_seconds,
            node: None,
            record: true,
            lease_seconds: d.lease_seconds,
            address: None,
            peer_ca: None,
        }
    }
}

impl Default for SessionSection {
    fn default() -> Self {
        SessionSection {
            idle_minutes: 30,
            max_hours: 12,
        }
    }
}

impl Config {
    /// Reads `config.toml` of a data directory (absent = defaults), then the environment.
    pub fn load(data_dir: &Path) -> anyhow::Result<Config> {
        let path = data_dir.join("config.toml");
        let mut cfg = match std::fs::read_to_string(&path) {
            Ok(text) => {
                toml::from_str(&text).with_context(|| format!("{} is invalid", path.display()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Config::default(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let num = |name: &str| -> anyhow::Result<Option<u32>> {
            match std::env::var(name) {
                Ok(v) => {
                    Ok(Some(v.parse().with_context(|| {
                        format!("{name}={v:?} is not a number")
                    })?))
                }
                Err(_) => Ok(None),
            }
        };
        if let Ok(v) = std::env::var("MIMAMORI_LISTEN") {
            cfg.listen = v;
        }
        if let Some(v) = num("MIMAMORI_SEGMENT_SECONDS")? {
            cfg.recorder.segment_seconds = v;
        }
        if let Some(v) = num("MIMAMORI_WATCHDOG_SECONDS")? {
            cfg.recorder.watchdog_seconds = v;
        }
        if let Some(v) = num("MIMAMORI_AUTH_RETRY_SECONDS")? {
            cfg.recorder.auth_retry_seconds = v;
        }
        if let Ok(v) = std::env::var("MIMAMORI_CATALOG_URL") {
            cfg.catalog.url = Some(v);
        }
        if let Ok(v) = std::env::var("MIMAMORI_STORE_URL") {
            cfg.store.url = Some(v);
        }
        Ok(cfg)
    }

    /// The object store for finished segments (`None`: the data directory's
    /// `segments/`), with its credentials from `credentials_file` or the
    /// environment. Refuses a URL that names neither.
    pub fn store(&self) -> anyhow::Result<Option<mimamori_storage::RemoteConfig>> {
        let url = match self.store.url.as_deref() {
            None | Some("dir:") => return Ok(None),
            Some(u) => u,
        };
        let (bucket, prefix) = mimamori_storage::RemoteConfig::parse_url(url).ok_or_else(|| {
            anyhow::anyhow!(
                "[store] url {url:?} is neither \"dir:\" nor s3://bucket/prefix \
                 (a bucket name of lower-case letters, digits, '-' and '.')"
            )
        })?;
        let env = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        let (access_key_id, secret_access_key) = match (
            env("MIMAMORI_S3_ACCESS_KEY_ID"),
            env("MIMAMORI_S3_SECRET_ACCESS_KEY"),
            &self.store.credentials_file,
        ) {
            (Some(id), Some(secret), _) => (id, secret),
            (_, _, Some(file)) => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("reading {}", file.display()))?;
                let c: StoreCredentials = toml::from_str(&text).map_err(|e| {
                    anyhow::anyhow!(
                        "{} must hold access_key_id = \"…\" and secret_access_key = \"…\": {}",
                        file.display(),
                        e.message()
                    )
                })?;
                (c.access_key_id, c.secret_access_key)
            }
            _ => anyhow::bail!(
                "the object store {url} needs credentials: [store] credentials_file, or \
                 MIMAMORI_S3_ACCESS_KEY_ID and MIMAMORI_S3_SECRET_ACCESS_KEY"
            ),
        };
        Ok(Some(mimamori_storage::RemoteConfig {
            bucket,
            prefix,
            endpoint: self.store.endpoint.clone(),
            region: self
                .store
                .region
                .clone()
                .unwrap_or_else(|| "us-east-1".into()),
            access_key_id,
            secret_access_key,
        }))
    }

    /// Where the catalog is: `[catalog] url` with its password added from
    /// `password_file` or `MIMAMORI_CATALOG_PASSWORD`, or `catalog.db` in the data
    /// directory. Refuses a URL that holds a password (it would sit in a file
    /// that backups and support requests copy around).
    pub fn catalog(&self, data_dir: &Path) -> anyhow::Result<CatalogLocation> {
        let Some(url) = &self.catalog.url else {
            let path = data_dir.join(crate::datadir::CATALOG_FILE);
            return Ok(CatalogLocation {
                connect: mimamori_catalog::sqlite_url(&path),
                shown: path.display().to_string(),
                engine: Engine::Sqlite,
            });
        };
        let engine = Engine::of_url(url)?;
        if engine == Engine::Sqlite {
            return Ok(CatalogLocation {
                connect: url.clone(),
                shown: url.clone(),
                engine,
            });
        }
        let mut parsed = url::Url::parse(url)
            .map_err(|e| anyhow::anyhow!("the catalog URL is not a URL: {e}"))?;
        if parsed.password().is_some() {
            anyhow::bail!(
                "the catalog URL must not hold the password: put it in a file named by \
                 [catalog] password_file, or in MIMAMORI_CATALOG_PASSWORD"
            );
        }
        let shown = parsed.to_string();
        let password = match (
            std::env::var("MIMAMORI_CATALOG_PASSWORD").ok(),
            &self.catalog.password_file,
        ) {
            (Some(p), _) => Some(p),
            (None, Some(file)) => Some(crate::datadir::read_secret(file)?),
            (None, None) => None,
        };
        if let Some(p) = password {
            parsed
                .set_password(Some(&p))
                .map_err(|()| anyhow::anyhow!("the catalog URL cannot take a password"))?;
        }
        Ok(CatalogLocation {
            connect: parsed.to_string(),
            shown,
            engine,
        })
    }

    /// Paths of the master key and the signing key.
    pub fn key_paths(&self, data_dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = default_keys_dir(data_dir);
        (
            self.keys
                .master_key_file
                .clone()
                .unwrap_or_else(|| dir.join("master.key")),
            self.keys
                .signing_key_file
                .clone()
                .unwrap_or_else(|| dir.join("signing.key")),
        )
    }

    /// The heads journal: every signed head, kept beside the signing key (outside
    /// the data directory, like the keys).
    pub fn heads_journal(&self, data_dir: &Path) -> mimamori_governance::journal::HeadJournal {
        let (_, signing) = self.key_paths(data_dir);
        mimamori_governance::journal::HeadJournal::at(&signing.with_file_name("heads.log"))
    }

    /// The recorder's settings, for the node serving `data` and listening at `bound`.
    pub fn recorder(
        &self,
        data: &Path,
        bound: std::net::SocketAddr,
    ) -> mimamori_recorder::RecorderConfig {
        mimamori_recorder::RecorderConfig {
            segment_seconds: self.recorder.segment_seconds,
            watchdog_seconds: self.recorder.watchdog_seconds,
            auth_retry_seconds: self.recorder.auth_retry_seconds,
            node: self
                .recorder
                .node
                .clone()
                .unwrap_or_else(|| default_node_name(data)),
            node_address: self.node_address(bound),
            records: self.recorder.record,
            lease_seconds: self.recorder.lease_seconds.max(3),
        }
    }

    /// Where the other nodes reach this one: `http://` or `https://` as it
    /// serves, and `[recorder] address` or else the address it listens on.
    pub fn node_address(&self, bound: std::net::SocketAddr) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let host = self
            .recorder
            .address
            .clone()
            .unwrap_or_else(|| bound.to_string());
        format!("{scheme}://{host}")
    }

    pub fn sessions(&self) -> mimamori_governance::sessions::SessionSettings {
        mimamori_governance::sessions::SessionSettings {
            max_micros: i64::from(self.session.max_hours) * 3_600_000_000,
            idle_micros: i64::from(self.session.idle_minutes) * 60_000_000,
        }
    }

    /// Who may read the monitoring figures; a range that does not parse is an error
    /// (a typo must not open or silently close the door).
    pub fn monitoring(
        &self,
        policy: &mimamori_policy::Policy,
    ) -> anyhow::Result<mimamori_governance::monitoring::MonitorAccess> {
        let mut networks = Vec::new();
        for n in &self.web.monitoring_networks {
            networks.push(mimamori_policy::access::Network::parse(n).with_context(|| {
                format!("[web] monitoring_networks: {n:?} is not an address range like 10.0.5.0/24")
            })?);
        }
        let terminal = self.web.monitoring_terminal.clone();
        if let Some(t) = &terminal {
            anyhow::ensure!(
                policy.terminals.iter().any(|x| &x.name == t),
                "[web] monitoring_terminal: the policy registers no terminal named {t:?}"
            );
        }
        Ok(mimamori_governance::monitoring::MonitorAccess { networks, terminal })
    }

    pub fn limits(&self) -> mimamori_web::server::Limits {
        mimamori_web::server::Limits {
            max_connections: self.web.max_connections.max(1),
            header_read_timeout: std::time::Duration::from_secs(u64::from(
                self.web.header_read_timeout_seconds.max(1),
            )),
            ..mimamori_web::server::Limits::default()
        }
    }

    /// This configuration as a commented file, written by `init`.
    pub fn to_file(&self) -> String {
        let body = toml::to_string_pretty(self).unwrap_or_default();
        format!(
            "# mimamori configuration. Every setting may also come from the environment\n\
             # (MIMAMORI_LISTEN, MIMAMORI_SEGMENT_SECONDS, MIMAMORI_WATCHDOG_SECONDS,\n\
             # MIMAMORI_AUTH_RETRY_SECONDS, MIMAMORI_CATALOG_URL, MIMAMORI_CATALOG_PASSWORD,\n\
             # MIMAMORI_STORE_URL, MIMAMORI_S3_ACCESS_KEY_ID, MIMAMORI_S3_SECRET_ACCESS_KEY).\n\
             # See docs/DATA-DIRECTORY.md.\n\n{body}"
        )
    }
}

/// `<data dir>.keys`, beside the data directory.
pub fn default_keys_dir(data_dir: &Path) -> std::path::PathBuf {
    let mut s = data_dir.as_os_str().to_owned();
    s.push(".keys");
    std::path::PathBuf::from(s)
}

/// `host:/data/dir`: the machine's name and the data directory's absolute path.
fn default_node_name(data: &Path) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    let dir = std::path::absolute(data).unwrap_or_else(|_| data.to_path_buf());
    format!("{host}:{}", dir.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_file_parses_back() {
        let text = Config::default().to_file();
        let c: Config = toml::from_str(&text).unwrap();
        assert_eq!(c.recorder.segment_seconds, 60);
        assert!(c.catalog.url.is_none());
    }

    #[test]
    fn a_catalog_password_is_added_from_its_file_and_never_shown() {
        let dir = std::env::temp_dir().join(format!("mimamori-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pg.pw");
        std::fs::write(&file, "s3cr3t\n").unwrap();
        let mut c = Config::default();
        c.catalog.url = Some("postgres://mimamori@db.example:5432/mimamori".into());
        c.catalog.password_file = Some(file);
        let at = c.catalog(&dir).unwrap();
        assert_eq!(at.engine, Engine::Postgres);
        assert_eq!(
            at.connect,
            "postgres://mimamori:s3cr3t@db.example:5432/mimamori"
        );
        assert!(!at.shown.contains("s3cr3t"));
        assert!(!c.to_file().contains("s3cr3t"));

        c.catalog.url = Some("postgres://mimamori:inline@db.example/mimamori".into());
        let e = c.catalog(&dir).err().unwrap().to_string();
        assert!(e.contains("must not hold the password"), "{e}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("bogus = 1").is_err());
    }
}
