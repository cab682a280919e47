//! The one writer of the audit log, for every door: an operation records its
//! entry here with its actor, so the same act leaves the same entry whether it
//! came from a page, the JSON API or the command line. Viewings are written
//! before any image byte leaves. Also reading the log back, each entry with the
//! role and designation valid at its time (REQ-ROL-5).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use mimamori_base::{CameraId, SharedClock, Timestamp, UserId};
use mimamori_catalog::Catalog;
use mimamori_catalog::audit::{AuditEntry, AuditFilter, AuditRecord};
use mimamori_catalog::people::Designation;
use mimamori_policy::{Permission, Policy, RoleKind};

use crate::Governance;
use crate::actor::{Actor, Origin};
use crate::error::Result;
use crate::monitoring::Counters;

/// What happened, to what: the part of an entry an operation supplies.
#[derive(Clone, Debug, Default)]
pub struct Entry {
    pub action: &'static str,
    pub camera: Option<CameraId>,
    pub range: Option<(Timestamp, Timestamp)>,
    pub purpose: String,
    pub detail: String,
}

impl Entry {
    /// An entry with a detail and nothing else.
    pub fn new(action: &'static str, detail: impl Into<String>) -> Entry {
        Entry {
            action,
            detail: detail.into(),
            ..Entry::default()
        }
    }

    pub fn camera(mut self, camera: CameraId) -> Entry {
        self.camera = Some(camera);
        self
    }
}

/// Ten minutes: one viewing made of many Range requests is one entry.
const VIEW_WINDOW_MICROS: i64 = 600_000_000;

/// The audit log's writer. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    catalog: Catalog,
    clock: SharedClock,
    recent_views: Arc<Mutex<HashMap<String, Timestamp>>>,
    counters: Arc<Counters>,
}

impl AuditLog {
    pub fn new(catalog: Catalog, clock: SharedClock) -> AuditLog {
        AuditLog {
            catalog,
            clock,
            recent_views: Arc::default(),
            counters: Arc::default(),
        }
    }

    /// The same writer, counting its appends in `counters` (for `/metrics`).
    pub fn counted(self, counters: Arc<Counters>) -> AuditLog {
        AuditLog { counters, ..self }
    }

    /// Appends an entry for `actor`; returns its sequence number.
    pub async fn record(&self, actor: &Actor, e: Entry) -> Result<i64> {
        self.append(actor.user_id(), actor.name(), &actor.client(), e)
            .await
    }

    /// An entry for someone not (yet) signed in: a login, a failed login.
    pub async fn record_visitor(
        &self,
        user: Option<UserId>,
        username: &str,
        origin: &Origin,
        e: Entry,
    ) -> Result<i64> {
        self.append(user, username, &origin.client(), e).await
    }

    /// An entry of mimamori itself (erasure by retention).
    pub async fn record_system(&self, e: Entry) -> Result<i64> {
        self.append(None, "mimamori", "", e).await
    }

    /// Records a viewing once per person, camera, range and purpose every ten
    /// minutes. A viewing counts as recorded only once its entry is written: if the
    /// append fails, the next request tries again (and nothing is served meanwhile).
    pub async fn record_view(&self, actor: &Actor, e: Entry) -> Result<()> {
        let now = self.clock.now();
        let key = format!(
            "{}|{}|{}|{:?}|{:?}|{}",
            actor.name(),
            actor.client(),
            e.action,
            e.camera,
            e.range,
            e.purpose
        );
        {
            let mut seen = self
                .recent_views
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            seen.retain(|_, t| now.0 - t.0 < VIEW_WINDOW_MICROS);
            if seen.contains_key(&key) {
                return Ok(());
            }
        }
        self.record(actor, e).await?;
        self.recent_views
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, now);
        Ok(())
    }

    async fn append(
        &self,
        user_id: Option<UserId>,
        username: &str,
        client: &str,
        e: Entry,
    ) -> Result<i64> {
        let appended = self
            .catalog
            .audit_append(&AuditRecord {
                at: self.clock.now(),
                user_id,
                username: username.to_string(),
                action: e.action.to_string(),
                camera_id: e.camera,
                range: e.range,
                client: client.to_string(),
                purpose: e.purpose,
                detail: e.detail,
            })
            .await;
        let counter = match appended {
            Ok(_) => &self.counters.audit_appends,
            Err(_) => &self.counters.audit_append_failures,
        };
        Counters::add(counter, 1);
        Ok(appended?)
    }
}

/// How to filter the log (parsed at the door).
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub username: Option<String>,
    pub camera: Option<CameraId>,
    pub action: Option<String>,
    /// A Japan-time day.
    pub day: Option<chrono::NaiveDate>,
}

/// An entry with the role valid at its time: "管理責任者 (#3)", and for outsourced
/// people their company (REQ-ROL-7: their actions are reviewable).
#[derive(Clone, Debug)]
pub struct AuditLine {
    pub entry: AuditEntry,
    pub role: String,
}

/// Resolves each entry's person to the designation valid at the entry's time.
struct RolesAtTime {
    designations: Vec<Designation>,
    organizations: HashMap<UserId, String>,
}

impl RolesAtTime {
    fn of(&self, policy: &Policy, e: &AuditEntry) -> String {
        let Some(user) = e.record.user_id else {
            return String::new();
        };
        self.designations
            .iter()
            .rev()
            .find(|d| d.user_id == user && d.valid_at(e.record.at))
            .map(|d| {
                let title = RoleKind::parse(&d.role)
                    .map(|k| policy.role_title(k))
                    .unwrap_or_else(|| d.role.clone());
                match self.organizations.get(&user) {
                    Some(org) => format!("{title} (#{}) · {org}", d.id),
                    None => format!("{title} (#{})", d.id),
                }
            })
            .unwrap_or_else(|| "—".into())
    }
}

/// At most this many entries per reading (the page, the API, the CSV).
const MAX_LINES: i64 = 5_000;

impl Governance {
    /// The audit log, newest first, filtered (needs `audit_read`).
    pub async fn audit_lines(&self, actor: &Actor, q: &AuditQuery) -> Result<Vec<AuditLine>> {
        self.require(actor, Permission::AuditRead).await?;
        let (from, to) = match q.day {
            Some(d) => {
                let start = mimamori_base::time::jst_day_start(d);
                (
                    Some(start),
                    Some(start.add_micros(mimamori_base::time::DAY_MICROS)),
                )
            }
            None => (None, None),
        };
        let entries = self
            .catalog
            .audit_entries(&AuditFilter {
                username: q.username.clone(),
                camera_id: q.camera,
                action: q.action.clone(),
                from,
                to,
                limit: Some(MAX_LINES),
            })
            .await?;
        let roles = RolesAtTime {
            designations: self.catalog.designations().await?,
            organizations: self
                .catalog
                .users()
                .await?
                .into_iter()
                .filter(|u| !u.organization.is_empty())
                .map(|u| (u.id, u.organization))
                .collect(),
        };
        Ok(entries
            .into_iter()
            .map(|entry| AuditLine {
                role: roles.of(&self.policy, &entry),
                entry,
            })
            .collect())
    }

    /// The writer, for long-lived parts that act on their own (the sweeper).
    pub fn audit_log(&self) -> &AuditLog {
        &self.audit
    }
}
