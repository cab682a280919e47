//! Retention: the one place that decides erasure. Holds are checked first and
//! always win; then footage past the policy's retention is erased; then, when the
//! disk runs short (quota, or free space under the threshold), the oldest unheld
//! footage goes first (overwrite mode, 上書き方式) and an alarm says the policy's
//! retention can no longer be met. Erasure deletes rows and files and destroys
//! data keys whose day is over, so that no copy of the disk can be read
//! (REQ-RET-5); each erasure leaves a record, never the content.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use mimamori_base::task::sleep_or_stop;
use mimamori_base::{CameraId, SharedClock, TaskHandle, Timestamp};
use mimamori_catalog::keys::KeyRing;
use mimamori_catalog::retention::{Hold, SegmentMeta};
use mimamori_catalog::{Catalog, CatalogError};
use mimamori_policy::{Counting, Policy};
use mimamori_storage::SegmentStore;

use crate::audit::{AuditLog, Entry};
use crate::monitoring::Counters;

const DAY_US: i64 = 86_400_000_000;
const JST_US: i64 = 9 * 3_600_000_000;
const BATCH: i64 = 500;

/// Footage ending at or before the returned instant has expired at `now`.
pub fn expiry_cutoff(days: u32, counting: Counting, now: Timestamp) -> Timestamp {
    let keep = i64::from(days) * DAY_US;
    match counting {
        // Footage of instant t expires at t + days.
        Counting::FromRecording => Timestamp(now.0 - keep),
        // Footage of Japan date D expires at the start of D + 1 + days: everything
        // recorded before the start of (today - days) has expired.
        Counting::FromNextDay => {
            let today = (now.0 + JST_US).div_euclid(DAY_US) * DAY_US - JST_US;
            Timestamp(today - keep)
        }
    }
}

/// When footage recorded at `t` expires.
pub fn expires_at(days: u32, counting: Counting, t: Timestamp) -> Timestamp {
    let keep = i64::from(days) * DAY_US;
    match counting {
        Counting::FromRecording => Timestamp(t.0 + keep),
        Counting::FromNextDay => {
            let day = (t.0 + JST_US).div_euclid(DAY_US) * DAY_US - JST_US;
            Timestamp(day + DAY_US + keep)
        }
    }
}

/// The state of overwrite mode, for the UI.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StorageAlarm {
    /// Overwrite mode erased footage before its retention ended.
    pub retention_not_met: bool,
    /// Only held footage is left and space is still short: new recording will fail.
    pub only_held_left: bool,
    pub message: Option<String>,
    pub since: Option<Timestamp>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub expired_segments: usize,
    pub pressure_segments: usize,
    pub bytes: i64,
    pub keys_destroyed: usize,
    pub held_skipped: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("writing the erasure to the audit log failed: {0}")]
    Audit(String),
}

/// Decides and carries out erasure.
pub struct Sweeper {
    pub catalog: Catalog,
    pub store: SegmentStore,
    pub keys: Arc<KeyRing>,
    pub policy: Arc<Policy>,
    pub clock: SharedClock,
    audit: AuditLog,
    alarm: Mutex<StorageAlarm>,
    /// Free bytes on the disk, for tests that simulate a small disk; `None` asks the OS.
    free_space_override: Mutex<Option<u64>>,
    counters: Arc<Counters>,
}

impl Sweeper {
    pub fn new(
        catalog: Catalog,
        store: SegmentStore,
        keys: Arc<KeyRing>,
        policy: Arc<Policy>,
        clock: SharedClock,
    ) -> Self {
        Sweeper {
            audit: AuditLog::new(catalog.clone(), clock.clone()),
            catalog,
            store,
            keys,
            policy,
            clock,
            alarm: Mutex::new(StorageAlarm::default()),
            free_space_override: Mutex::new(None),
            counters: Arc::default(),
        }
    }

    /// The same sweeper, counting its runs and erasures (and its audit appends) in
    /// `counters` (for `/metrics`).
    pub fn counted(self, counters: Arc<Counters>) -> Self {
        Sweeper {
            audit: self.audit.clone().counted(counters.clone()),
            counters,
            ..self
        }
    }

    pub fn alarm(&self) -> StorageAlarm {
        self.alarm
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    #[doc(hidden)]
    pub fn set_free_space_for_test(&self, free: Option<u64>) {
        *self
            .free_space_override
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = free;
    }

    fn free_space(&self) -> Option<u64> {
        if let Some(v) = *self
            .free_space_override
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
        {
            return Some(v);
        }
        available_space(&self.store)
    }

    /// The retention (days) of a camera by id.
    async fn days_for(&self, camera: CameraId) -> Result<u32, RetentionError> {
        let name = match self.catalog.camera(camera).await {
            Ok(c) => c.name,
            Err(CatalogError::NotFound(_)) => String::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(self.policy.retention.days_for(&name))
    }

    /// One pass: expired footage, then disk pressure, then unused keys.
    pub async fn sweep_once(&self) -> Result<SweepReport, RetentionError> {
        let r = self.sweep_pass().await;
        Counters::add(&self.counters.sweeper_runs, 1);
        if r.is_err() {
            Counters::add(&self.counters.sweeper_failures, 1);
        }
        r
    }

    async fn sweep_pass(&self) -> Result<SweepReport, RetentionError> {
        let now = self.clock.now();
        let holds = self.catalog.holds().await?;
        let held = |s: &SegmentMeta| {
            holds
                .iter()
                .any(|h: &Hold| h.protects(s.camera_id, s.start, s.end, now))
        };
        let mut report = SweepReport::default();
        let counting = self.policy.retention.counting;
        let mut cameras: Vec<CameraId> = self
            .catalog
            .chains()
            .await?
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        cameras.dedup();
        for camera in cameras {
            let days = self.days_for(camera).await?;
            let cutoff = expiry_cutoff(days, counting, now);
            let mut skipped = 0usize;
            loop {
                let candidates = self
                    .catalog
                    .segments_ending_by(camera, cutoff, BATCH + skipped as i64)
                    .await?;
                let (keep, go): (Vec<_>, Vec<_>) =
                    candidates.iter().cloned().partition(|s| held(s));
                skipped = keep.len();
                if go.is_empty() {
                    report.held_skipped += skipped;
                    break;
                }
                let rule = format!(
                    "retention: {days} days {} ({})",
                    match counting {
                        Counting::FromRecording => "from recording",
                        Counting::FromNextDay => "from the day after recording",
                    },
                    self.policy.retention.basis
                );
                self.erase(&go, "retention", &rule, now, &mut report)
                    .await?;
                report.expired_segments += go.len();
            }
        }
        self.relieve_pressure(now, &held, &mut report).await?;
        for id in self.catalog.destroy_unused_keys(now).await? {
            self.keys.forget(id);
            report.keys_destroyed += 1;
        }
        Ok(report)
    }

    async fn erase(
        &self,
        segments: &[SegmentMeta],
        rule: &str,
        detail: &str,
        now: Timestamp,
        report: &mut SweepReport,
    ) -> Result<(), RetentionError> {
        // Catalog first: it never points at missing files. A crash before the files
        // go leaves unreferenced files, which the next start deletes.
        let erased = self.catalog.erase(segments, rule, detail, now).await?;
        for id in &erased.keys_destroyed {
            self.keys.forget(*id);
        }
        report.keys_destroyed += erased.keys_destroyed.len();
        report.bytes += erased.bytes;
        Counters::add(
            &self.counters.erased_segments,
            u64::try_from(erased.segments).unwrap_or(u64::MAX),
        );
        Counters::add(
            &self.counters.erased_bytes,
            u64::try_from(erased.bytes).unwrap_or(0),
        );
        for f in &erased.file_names {
            if let Err(e) = self.store.delete(f) {
                tracing::error!("{e}");
            }
        }
        self.audit
            .record_system(Entry::new(
                "footage_erased",
                format!(
                    "{} segment(s), {} bytes, {} key(s) destroyed; {rule}: {detail}",
                    erased.segments,
                    erased.bytes,
                    erased.keys_destroyed.len()
                ),
            ))
            .await
            .map_err(|e| match e {
                crate::Error::Catalog(c) => RetentionError::Catalog(c),
                other => RetentionError::Audit(other.to_string()),
            })?;
        tracing::info!(
            segments = erased.segments,
            bytes = erased.bytes,
            keys_destroyed = erased.keys_destroyed.len(),
            rule,
            "erased"
        );
        Ok(())
    }

    /// How many bytes must go now, by quota and by free space.
    async fn shortfall(&self) -> Result<i64, RetentionError> {
        let limits = &self.policy.storage;
        let used = self.catalog.stored_bytes_total().await?;
        let mut need = 0i64;
        if limits.quota_bytes > 0 {
            need = need.max(used - i64::try_from(limits.quota_bytes).unwrap_or(i64::MAX));
        }
        if let Some(free) = self.free_space() {
            need = need.max(
                i64::try_from(limits.min_free_bytes).unwrap_or(0)
                    - i64::try_from(free).unwrap_or(0),
            );
        }
        Ok(need)
    }

    async fn relieve_pressure(
        &self,
        now: Timestamp,
        held: &impl Fn(&SegmentMeta) -> bool,
        report: &mut SweepReport,
    ) -> Result<(), RetentionError> {
        let mut need = self.shortfall().await?;
        if need <= 0 {
            let mut a = self.alarm.lock().unwrap_or_else(PoisonError::into_inner);
            if a.only_held_left {
                *a = StorageAlarm::default();
            }
            return Ok(());
        }
        let mut offset = 0i64;
        let mut retention_not_met = false;
        while need > 0 {
            let batch = self.catalog.oldest_segments(BATCH, offset).await?;
            if batch.is_empty() {
                break;
            }
            let mut go = Vec::new();
            for s in &batch {
                if held(s) {
                    offset += 1;
                    continue;
                }
                if need <= 0 {
                    break;
                }
                need -= s.stored_bytes;
                go.push(s.clone());
            }
            if go.is_empty() {
                continue;
            }
            for s in &go {
                let days = self.days_for(s.camera_id).await?;
                if expires_at(days, self.policy.retention.counting, s.end) > now {
                    retention_not_met = true;
                }
            }
            let detail =
                "the disk ran short; the oldest unheld footage was overwritten".to_string();
            self.erase(&go, "disk_pressure", &detail, now, report)
                .await?;
            report.pressure_segments += go.len();
        }
        let mut a = self.alarm.lock().unwrap_or_else(PoisonError::into_inner);
        if need > 0 {
            *a = StorageAlarm {
                retention_not_met: true,
                only_held_left: true,
                message: Some(format!(
                    "Only held footage is left and {need} more bytes are needed: new recording will fail until a hold is released or space is added."
                )),
                since: a.since.or(Some(now)),
            };
            tracing::error!("{}", a.message.clone().unwrap_or_default());
        } else if retention_not_met {
            *a = StorageAlarm {
                retention_not_met: true,
                only_held_left: false,
                message: Some(
                    "The disk cannot hold the policy's retention: footage was overwritten before its retention ended."
                        .to_string(),
                ),
                since: a.since.or(Some(now)),
            };
            tracing::warn!("{}", a.message.clone().unwrap_or_default());
        }
        Ok(())
    }
}

/// Free bytes on the disk holding `store`, if the OS says. An object store's
/// capacity is not known through its API (`None`): the policy's quota bounds it.
pub fn available_space(store: &SegmentStore) -> Option<u64> {
    if store.remote().is_some() {
        return None;
    }
    fs4::available_space(store.root()).ok()
}

/// Starts the sweeper: a pass every `policy.retention.sweep_interval_seconds`.
/// [`TaskHandle::stop`] lets the pass under way finish, then ends it.
pub fn start_sweeper(sweeper: Arc<Sweeper>) -> TaskHandle {
    TaskHandle::spawn(move |mut stop| async move {
        let every = Duration::from_secs(u64::from(
            sweeper.policy.retention.sweep_interval_seconds.max(1),
        ));
        loop {
            if let Err(e) = sweeper.sweep_once().await {
                tracing::error!("retention sweep failed: {e}");
            }
            if sleep_or_stop(every, &mut stop).await {
                return;
            }
        }
    })
}
