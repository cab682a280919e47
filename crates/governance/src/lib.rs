//! Governance: the application layer. Every door — a web page, the JSON API, the
//! command line — calls the same operation of [`Governance`] with an
//! [`Actor`](actor::Actor) and a request parsed at the door; the operation checks
//! the policy, acts through the catalog and storage, and writes its own audit
//! entry, so a guarantee that holds through one door holds through all.
//!
//! By area, each an `impl Governance` of its own: [`cameras`], [`people`]
//! (designations, pledges, instructions), [`holds`] (retention seen and extended),
//! [`viewing`] (recorded and live images), [`sessions`] (login, passwords, second
//! factor), [`provisions`] (requests for footage from a written request to the
//! register, with [`evidence`] building the packages), [`audit`] (the one writer
//! and the reader of the log). Below them the
//! rules: [`access`] decides who may do what from where; [`retention`] is the one
//! place that decides erasure; [`integrity`] signs and verifies chains.

pub mod access;
pub mod actor;
pub mod agreements;
pub mod audit;
pub mod cameras;
pub mod documents;
pub mod error;
pub mod evidence;
pub mod hold_copies;
pub mod holds;
pub mod input;
pub mod integrity;
pub mod journal;
pub mod masking;
pub mod monitoring;
pub mod people;
pub mod provisions;
pub mod records;
pub mod refusal;
pub mod relay;
pub mod report;
pub mod retention;
pub mod sessions;
pub mod viewing;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use mimamori_base::{CameraId, SharedClock, Timestamp};
use mimamori_catalog::Catalog;
use mimamori_catalog::keys::KeyRing;
use mimamori_policy::{Permission, Policy};
use mimamori_storage::SegmentStore;

pub use actor::{Actor, Origin, Person};
pub use audit::{AuditLog, Entry};
pub use error::{Error, Result};

use crate::retention::Sweeper;
use crate::sessions::{LoginThrottle, SessionSettings};

/// What the application layer is built from.
pub struct Parts {
    pub catalog: Catalog,
    pub store: SegmentStore,
    pub keys: Arc<KeyRing>,
    pub policy: Arc<Policy>,
    pub clock: SharedClock,
    pub sessions: SessionSettings,
    /// The installation's signing key (chain heads, evidence manifests).
    pub signer: Arc<mimamori_crypto::Signer>,
    /// Where signed heads are also kept, outside the catalog.
    pub heads: Option<journal::HeadJournal>,
    /// Encrypted files that are not footage: request documents, evidence packages.
    pub files: SegmentStore,
    /// Who may read `/metrics`, `/healthz` and `/readyz`.
    pub monitoring: monitoring::MonitorAccess,
}

/// The application layer: one per installation, shared by every door.
pub struct Governance {
    catalog: Catalog,
    store: SegmentStore,
    keys: Arc<KeyRing>,
    policy: Arc<Policy>,
    clock: SharedClock,
    audit: AuditLog,
    sweeper: Arc<Sweeper>,
    session_settings: SessionSettings,
    throttle: LoginThrottle,
    /// The last one-time-code step each person used (a code works once).
    totp_steps: std::sync::Mutex<std::collections::HashMap<mimamori_base::UserId, i64>>,
    signer: Arc<mimamori_crypto::Signer>,
    heads: Option<journal::HeadJournal>,
    files: SegmentStore,
    /// Evidence packages being built, by request.
    extractions: provisions::Extractions,
    monitoring: monitoring::MonitorAccess,
    monitor_refusals: std::sync::Mutex<monitoring::RefusalTally>,
    /// This process's counters, for `/metrics`.
    counters: Arc<monitoring::Counters>,
    /// Live view grants taken from other nodes (each works once).
    taken_grants: relay::TakenGrants,
}

impl Governance {
    pub fn new(p: Parts) -> Governance {
        let counters = Arc::new(monitoring::Counters::default());
        let sweeper = Arc::new(
            Sweeper::new(
                p.catalog.clone(),
                p.store.clone(),
                p.keys.clone(),
                p.policy.clone(),
                p.clock.clone(),
            )
            .counted(counters.clone()),
        );
        Governance {
            audit: AuditLog::new(p.catalog.clone(), p.clock.clone()).counted(counters.clone()),
            catalog: p.catalog,
            store: p.store,
            keys: p.keys,
            policy: p.policy,
            clock: p.clock,
            sweeper,
            session_settings: p.sessions,
            throttle: LoginThrottle::default(),
            totp_steps: std::sync::Mutex::default(),
            signer: p.signer,
            heads: p.heads,
            files: p.files,
            extractions: provisions::Extractions::default(),
            monitoring: p.monitoring,
            monitor_refusals: std::sync::Mutex::default(),
            counters,
            taken_grants: relay::TakenGrants::default(),
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The fingerprint of the installation's signing key, as covering letters print it.
    pub fn key_fingerprint(&self) -> String {
        mimamori_crypto::key_fingerprint(&self.signer.public_key())
    }

    /// The retention sweeper (the one place that decides erasure), to run in the background.
    pub fn sweeper(&self) -> &Arc<Sweeper> {
        &self.sweeper
    }

    /// Checks one use of a permission: the role may use it from where the person is
    /// (terminal), and for camera operations of a role that acts under instructions,
    /// an open instruction covers the camera (and range). The console may do
    /// everything. A refusal is written to the audit log (`what` says what was
    /// attempted) and returned as [`Error::Refused`].
    pub async fn authorize(
        &self,
        actor: &Actor,
        permission: Permission,
        camera: Option<CameraId>,
        range: Option<(Timestamp, Timestamp)>,
        what: &str,
    ) -> Result<()> {
        let Actor::Person(person) = actor else {
            return Ok(());
        };
        let refusal = match access::authorize(&self.policy, person.role, permission, &person.origin)
        {
            Err(r) => Some(r),
            Ok(_) => access::instruction_for(
                &self.catalog,
                &self.policy,
                person,
                permission,
                camera,
                range,
                self.clock.now(),
            )
            .await?
            .err(),
        };
        let refusal = match refusal {
            Some(r) => Some(r),
            None => access::agreements_for(
                &self.catalog,
                &self.policy,
                person,
                permission,
                camera,
                range,
                self.clock.now(),
            )
            .await?
            .err(),
        };
        match refusal {
            None => Ok(()),
            Some(r) => {
                tracing::info!(user = %person.user.username, what, "refused: {r}");
                let mut entry = Entry::new("refused", format!("{what}: {r}"));
                entry.camera = camera;
                self.audit.record(actor, entry).await?;
                Err(Error::Refused(r))
            }
        }
    }

    /// [`Governance::authorize`] for an operation on no particular camera.
    pub async fn require(&self, actor: &Actor, permission: Permission) -> Result<()> {
        self.authorize(actor, permission, None, None, permission.as_str())
            .await
    }

    /// [`Governance::authorize`] for an operation on one camera (no footage range).
    pub async fn require_camera(
        &self,
        actor: &Actor,
        permission: Permission,
        camera: CameraId,
    ) -> Result<()> {
        self.authorize(actor, permission, Some(camera), None, permission.as_str())
            .await
    }

    /// Whether the actor may use `permission` from where they are (for showing or
    /// hiding controls; nothing is logged).
    pub fn may(&self, actor: &Actor, permission: Permission) -> bool {
        match actor {
            Actor::Person(p) => {
                access::authorize(&self.policy, p.role, permission, &p.origin).is_ok()
            }
            Actor::Console { .. } => true,
        }
    }
}
