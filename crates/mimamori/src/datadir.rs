//! The data directory: where the catalog, the segments, the policy and the
//! config live (documented in docs/DATA-DIRECTORY.md), opening it, and opening
//! the installation's application layer over it for the command line.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use mimamori_base::SharedClock;
use mimamori_catalog::keys::KeyRing;
use mimamori_catalog::{Catalog, Engine};
use mimamori_governance::{Governance, Parts};
use mimamori_policy::Policy;
use mimamori_storage::SegmentStore;

use crate::config::Config;

pub const CATALOG_FILE: &str = "catalog.db";
pub const POLICY_FILE: &str = "policy.toml";
pub const CONFIG_FILE: &str = "config.toml";
pub const LOCK_FILE: &str = "mimamori.lock";
/// Request documents and evidence packages, encrypted like segments.
pub const PROVISIONS_DIR: &str = "provisions";

pub struct DataDir {
    pub path: PathBuf,
    pub catalog: Catalog,
    pub store: SegmentStore,
}

/// The store of the installation's files other than segments (request
/// documents, evidence packages, sign photos): below `provisions/` of the data
/// directory, and in the object store with the segments when there is one.
pub fn files_store(path: &Path, config: &Config) -> anyhow::Result<SegmentStore> {
    let remote = config.store()?.map(|c| c.for_files());
    Ok(SegmentStore::open_files(
        &path.join(PROVISIONS_DIR),
        remote.as_ref(),
    )?)
}

impl DataDir {
    /// Opens an initialized data directory, and its catalog where `config.toml`
    /// says it is.
    pub async fn open(path: &Path) -> anyhow::Result<DataDir> {
        let config = Config::load(path)?;
        let location = config.catalog(path)?;
        let initialized = match mimamori_catalog::sqlite_path(&location.connect) {
            Some(file) => file.exists(),
            // A PostgreSQL catalog lives elsewhere: `init` wrote the policy here.
            None => path.join(POLICY_FILE).exists(),
        };
        if !initialized {
            anyhow::bail!(
                "{} is not a mimamori data directory (no {}); run `mimamori init --data {}` first",
                path.display(),
                if location.engine == Engine::Sqlite {
                    CATALOG_FILE
                } else {
                    POLICY_FILE
                },
                path.display()
            );
        }
        let catalog = Catalog::open(&location.connect).await.with_context(|| {
            format!(
                "opening the catalog {} ({})",
                location.shown,
                location.engine.as_str()
            )
        })?;
        let store = SegmentStore::open_with(path, config.store()?.as_ref())?;
        Ok(DataDir {
            path: path.to_path_buf(),
            catalog,
            store,
        })
    }

    pub fn policy(&self) -> anyhow::Result<Policy> {
        let p = self.path.join(POLICY_FILE);
        let text =
            std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
        let policy = Policy::from_toml(&p.display().to_string(), &text)?;
        for w in policy.warnings() {
            tracing::warn!(file = %p.display(), "policy: {w}");
        }
        Ok(policy)
    }

    /// Discards what a crash left half-written, and says so.
    pub async fn recover(&self) -> anyhow::Result<()> {
        let known: HashSet<String> = self
            .catalog
            .segment_file_names()
            .await?
            .into_iter()
            .collect();
        let report = self.store.recover(&known)?;
        for (name, size) in &report.discarded_partial {
            tracing::warn!(file = %name, bytes = size, "discarded a segment that was being written when mimamori stopped");
        }
        for (name, size) in &report.discarded_unreferenced {
            tracing::warn!(file = %name, bytes = size, "discarded a segment file the catalog never recorded");
        }
        if report.discarded_partial.is_empty() && report.discarded_unreferenced.is_empty() {
            tracing::info!("start-up check: every segment file is accounted for");
        }
        Ok(())
    }
}

/// An installation opened: its data directory, configuration, policy and keys,
/// and the application layer every command goes through.
pub struct Installation {
    pub dir: DataDir,
    pub config: Config,
    pub policy: Arc<Policy>,
    pub keyring: Arc<KeyRing>,
    pub signer: Arc<mimamori_crypto::Signer>,
    pub clock: SharedClock,
    pub gov: Arc<Governance>,
}

impl Installation {
    /// Opens an initialized data directory on the installation's clock
    /// ([`crate::clock::installation_clock`]).
    pub async fn open(path: &Path) -> anyhow::Result<Installation> {
        let config = Config::load(path)?;
        let dir = DataDir::open(path).await?;
        let policy = Arc::new(dir.policy()?);
        let (master_path, signing_path) = config.key_paths(path);
        let keys = load_keys(&master_path, &signing_path)?;
        let keyring = Arc::new(KeyRing::new(dir.catalog.clone(), keys.master));
        let clock: SharedClock = crate::clock::installation_clock();
        let signer = Arc::new(keys.signer);
        let gov = Arc::new(Governance::new(Parts {
            catalog: dir.catalog.clone(),
            store: dir.store.clone(),
            keys: keyring.clone(),
            policy: policy.clone(),
            clock: clock.clone(),
            sessions: config.sessions(),
            signer: signer.clone(),
            heads: Some(config.heads_journal(path)),
            files: files_store(path, &config)?,
            monitoring: config.monitoring(&policy)?,
        }));
        Ok(Installation {
            dir,
            config,
            policy,
            keyring,
            signer,
            clock,
            gov,
        })
    }
}

/// An error of the application layer as the command line says it: the message
/// and its stable code.
pub fn refused(e: mimamori_governance::Error) -> anyhow::Error {
    anyhow::anyhow!("{e} ({})", e.code())
}

/// The installation's keys, loaded from their files.
pub struct Keys {
    pub master: mimamori_crypto::Key,
    pub signer: mimamori_crypto::Signer,
}

/// Creates the key files if they do not exist (mode 0600). Never overwrites one.
pub fn create_keys(master: &Path, signing: &Path) -> anyhow::Result<()> {
    for (path, bytes) in [
        (master, mimamori_crypto::Key::generate().as_bytes().to_vec()),
        (
            signing,
            mimamori_crypto::Signer::generate().to_bytes().to_vec(),
        ),
    ] {
        if path.exists() {
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        write_private(path, &bytes)?;
    }
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

pub fn load_keys(master: &Path, signing: &Path) -> anyhow::Result<Keys> {
    let read = |p: &Path, what: &str| -> anyhow::Result<Vec<u8>> {
        std::fs::read(p).with_context(|| {
            format!(
                "cannot read the {what} {}: restore it from your backup (docs/DATA-DIRECTORY.md); \
                 without the master key no recorded footage can be read",
                p.display()
            )
        })
    };
    let master = mimamori_crypto::Key::from_bytes(&read(master, "master key")?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", master.display()))?;
    let signer = mimamori_crypto::Signer::from_bytes(&read(signing, "signing key")?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", signing.display()))?;
    Ok(Keys { master, signer })
}

/// Reads a secret from a file, without its trailing newline.
pub fn read_secret(path: &Path) -> anyhow::Result<String> {
    let s = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let s = s.trim_end_matches(['\n', '\r']).to_string();
    if s.is_empty() {
        anyhow::bail!("{} is empty", path.display());
    }
    Ok(s)
}
