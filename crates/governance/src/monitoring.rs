//! Monitoring: who may read a node's figures (`/metrics`, `/healthz`, `/readyz`)
//! and the figures themselves — the catalog's latency, the store, disk free, the
//! retention forecast and this process's counters (audit appends, sweeper runs,
//! erasures). A scraper does not log in: the node's configuration names the
//! address ranges (and optionally a registered terminal) it may scrape from.
//! Refusals are written to the audit log, at most one entry a minute, so that a
//! stranger knocking cannot fill it.

use std::net::IpAddr;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mimamori_base::{CameraId, Timestamp};
use mimamori_policy::access::Network;

use crate::Governance;
use crate::actor::Origin;
use crate::audit::Entry;
use crate::error::{Error, Result};
use crate::retention::{StorageAlarm, available_space};

/// How long readiness waits for the catalog or the store before calling it unreachable.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

/// One audit entry for refused scrapes at most this often.
const REFUSAL_ENTRY_EVERY_MICROS: i64 = 60_000_000;

/// Who may read the monitoring figures: the configured address ranges, or a
/// request from the named terminal of the policy.
#[derive(Clone, Debug)]
pub struct MonitorAccess {
    pub networks: Vec<Network>,
    pub terminal: Option<String>,
}

impl Default for MonitorAccess {
    /// The machine itself only.
    fn default() -> Self {
        MonitorAccess {
            networks: ["127.0.0.0/8", "::1/128"]
                .iter()
                .filter_map(|n| Network::parse(n))
                .collect(),
            terminal: None,
        }
    }
}

/// Counters of this process, read by `/metrics` (they start at zero with the process,
/// as Prometheus counters do).
#[derive(Debug, Default)]
pub struct Counters {
    pub audit_appends: AtomicU64,
    pub audit_append_failures: AtomicU64,
    pub sweeper_runs: AtomicU64,
    pub sweeper_failures: AtomicU64,
    pub erased_segments: AtomicU64,
    pub erased_bytes: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// The node's figures at one moment.
#[derive(Clone, Debug)]
pub struct NodeFigures {
    pub at: Timestamp,
    /// Seconds one trivial catalog query took (`None`: unreachable within the timeout).
    pub catalog_latency: Option<f64>,
    pub store_reachable: bool,
    /// Free bytes on the disk holding the segments (`None` for an object store).
    pub disk_free_bytes: Option<u64>,
    /// Bytes of footage the catalog holds.
    pub stored_bytes: Option<i64>,
    /// Days of footage the disk (or quota) holds at the last day's rate.
    pub capacity_days: Option<f64>,
    pub alarm: StorageAlarm,
    pub audit_appends: u64,
    pub audit_append_failures: u64,
    pub sweeper_runs: u64,
    pub sweeper_failures: u64,
    pub erased_segments: u64,
    pub erased_bytes: u64,
    /// Every camera of the catalog, to name the recorders' figures.
    pub cameras: Vec<(CameraId, String)>,
}

/// Whether this node can do its work: the catalog and the store answer.
#[derive(Clone, Debug)]
pub struct Readiness {
    pub catalog: std::result::Result<f64, String>,
    pub store: std::result::Result<(), String>,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.catalog.is_ok() && self.store.is_ok()
    }
}

/// When the last refusal entry was written, and how many refusals since.
#[derive(Debug, Default)]
pub(crate) struct RefusalTally {
    last_entry: Option<Timestamp>,
    since_entry: u64,
}

impl Governance {
    /// Whether a request from `origin` may read the monitoring figures; a refusal
    /// is audited (one entry a minute at most, counting the others).
    pub async fn admit_monitoring(&self, origin: &Origin, what: &str) -> Result<()> {
        if self.monitor_admits(origin) {
            return Ok(());
        }
        let now = self.clock.now();
        let refused_before = {
            let mut t = self
                .monitor_refusals
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let due = t
                .last_entry
                .is_none_or(|at| now.0 - at.0 >= REFUSAL_ENTRY_EVERY_MICROS);
            if due {
                t.last_entry = Some(now);
                Some(std::mem::take(&mut t.since_entry))
            } else {
                t.since_entry += 1;
                None
            }
        };
        tracing::info!(client = %origin.client(), what, "monitoring refused");
        if let Some(before) = refused_before {
            let more = if before > 0 {
                format!(" ({before} more refused since the last entry)")
            } else {
                String::new()
            };
            self.audit
                .record_visitor(
                    None,
                    "",
                    origin,
                    Entry::new(
                        "refused",
                        format!("{what}: this address may not read the monitoring figures{more}"),
                    ),
                )
                .await?;
        }
        Err(Error::Denied(
            "this address may not read the monitoring figures ([web] monitoring_networks)".into(),
        ))
    }

    fn monitor_admits(&self, origin: &Origin) -> bool {
        let by_network = origin
            .ip
            .is_some_and(|ip: IpAddr| self.monitoring.networks.iter().any(|n| n.contains(ip)));
        let by_terminal = self.monitoring.terminal.as_deref().is_some_and(|name| {
            self.policy.terminals.iter().any(|t| {
                t.name == name && t.matches(origin.ip, origin.client_cert_sha256.as_deref())
            })
        });
        by_network || by_terminal
    }

    /// Seconds a trivial catalog query takes, or why it failed.
    async fn catalog_latency(&self) -> std::result::Result<f64, String> {
        let started = Instant::now();
        match tokio::time::timeout(READY_TIMEOUT, self.catalog.ping()).await {
            Ok(Ok(())) => Ok(started.elapsed().as_secs_f64()),
            Ok(Err(e)) => Err(format!("catalog unreachable: {e}")),
            Err(_) => Err(format!(
                "catalog unreachable: no answer within {} s",
                READY_TIMEOUT.as_secs()
            )),
        }
    }

    async fn store_reachable(&self) -> std::result::Result<(), String> {
        let store = self.store.clone();
        let check = tokio::task::spawn_blocking(move || store.reachable());
        match tokio::time::timeout(READY_TIMEOUT, check).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(format!("store unreachable: {e}")),
            Ok(Err(e)) => Err(format!("store check failed: {e}")),
            Err(_) => Err(format!(
                "store unreachable: no answer within {} s",
                READY_TIMEOUT.as_secs()
            )),
        }
    }

    /// `/readyz`: the catalog and the store answer (admitted callers only).
    pub async fn readiness(&self, origin: &Origin) -> Result<Readiness> {
        self.admit_monitoring(origin, "readyz").await?;
        let (catalog, store) = tokio::join!(self.catalog_latency(), self.store_reachable());
        Ok(Readiness { catalog, store })
    }

    /// `/metrics`: the node's figures (admitted callers only). What the catalog
    /// cannot answer is left out, not invented: an unreachable catalog shows as such.
    pub async fn node_figures(&self, origin: &Origin) -> Result<NodeFigures> {
        self.admit_monitoring(origin, "metrics").await?;
        let (latency, store) = tokio::join!(self.catalog_latency(), self.store_reachable());
        let (stored_bytes, capacity_days, cameras) = if latency.is_ok() {
            let cameras = self.catalog.cameras().await?;
            let now = self.clock.now();
            (
                Some(self.catalog.stored_bytes_total().await?),
                self.capacity_forecast(now).await?,
                cameras.into_iter().map(|c| (c.id, c.name)).collect(),
            )
        } else {
            (None, None, Vec::new())
        };
        let c = &self.counters;
        Ok(NodeFigures {
            at: self.clock.now(),
            catalog_latency: latency.ok(),
            store_reachable: store.is_ok(),
            disk_free_bytes: available_space(&self.store),
            stored_bytes,
            capacity_days,
            alarm: self.sweeper.alarm(),
            audit_appends: Counters::get(&c.audit_appends),
            audit_append_failures: Counters::get(&c.audit_append_failures),
            sweeper_runs: Counters::get(&c.sweeper_runs),
            sweeper_failures: Counters::get(&c.sweeper_failures),
            erased_segments: Counters::get(&c.erased_segments),
            erased_bytes: Counters::get(&c.erased_bytes),
            cameras,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_default_only_the_machine_itself_is_admitted() {
        let a = MonitorAccess::default();
        let admits = |ip: &str| a.networks.iter().any(|n| n.contains(ip.parse().unwrap()));
        assert!(admits("127.0.0.1"));
        assert!(admits("::1"));
        assert!(!admits("192.168.1.20"));
        assert!(!admits("2001:db8::1"));
    }
}
