//! The data directory: where the catalog, the segments, the policy and the
//! config live (documented in docs/DATA-DIRECTORY.md), and opening it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::Context;
use mimamori_catalog::Catalog;
use mimamori_policy::Policy;
use mimamori_storage::SegmentStore;

pub const CATALOG_FILE: &str = "catalog.db";
pub const POLICY_FILE: &str = "policy.toml";
pub const CONFIG_FILE: &str = "config.toml";
pub const LOCK_FILE: &str = "mimamori.lock";

pub struct DataDir {
    pub path: PathBuf,
    pub catalog: Catalog,
    pub store: SegmentStore,
}

impl DataDir {
    /// Opens an initialized data directory.
    pub async fn open(path: &Path) -> anyhow::Result<DataDir> {
        if !path.join(CATALOG_FILE).exists() {
            anyhow::bail!(
                "{} is not a mimamori data directory (no {CATALOG_FILE}); run `mimamori init --data {}` first",
                path.display(),
                path.display()
            );
        }
        let catalog = Catalog::open_sqlite(&path.join(CATALOG_FILE))
            .await
            .with_context(|| format!("opening the catalog in {}", path.display()))?;
        let store = SegmentStore::open(path)?;
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
        Ok(Policy::from_toml(&p.display().to_string(), &text)?)
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

/// Reads a secret from a file, without its trailing newline.
pub fn read_secret(path: &Path) -> anyhow::Result<String> {
    let s = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let s = s.trim_end_matches(['\n', '\r']).to_string();
    if s.is_empty() {
        anyhow::bail!("{} is empty", path.display());
    }
    Ok(s)
}
