//! Provision to third parties (閲覧・提供, REQ-DIS-1..7): a written request is
//! registered with every field of the request form and its footage is held at
//! once (REQ-RET-4); the requester's identity check is recorded; the manager
//! alone decides; only after approval, and only the person the manager named (or
//! the manager), extracts — an evidence package of exactly the approved cameras
//! and range — and the delivery is recorded, a medium entering the media
//! register. Every step writes its audit entry; the register is these records.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use mimamori_base::time::{DAY_MICROS, parse_date, parse_time};
use mimamori_base::{CameraId, Timestamp, UserId};
use mimamori_catalog::provisions::{
    Decision, DecisionRecord, Delivery, Document, NewDocument, NewPackage, Package, Provision,
    RequestFields, Step, Withdrawal,
};
use mimamori_catalog::{Camera, User};
use mimamori_crypto::SegmentCipher;
use mimamori_evidence::manifest::{Recipient, RequestFacts};
use mimamori_policy::{Ground, Method, MethodKind, Permission, RoleKind};

use crate::Governance;
use crate::actor::Actor;
use crate::audit::Entry;
use crate::error::{Error, Result};
use crate::evidence::{PackageFacts, Progress};
use crate::input::{TimeRange, bounded_text};
use crate::refusal::Refusal;
use crate::viewing::Footage;

/// The longest footage period one request may ask for.
pub const MAX_REQUEST_MICROS: i64 = 31 * DAY_MICROS;
/// Footage just after the range is held too, so its chain reaches a signed head.
pub(crate) const HOLD_MARGIN_MICROS: i64 = 10 * 60 * 1_000_000;
/// Form fields: short ones and long ones.
const SHORT: usize = 200;
const LONG: usize = 2000;

/// A hold of a pending request lasts until the request ends (9999-12-31).
pub(crate) fn pending_until() -> Timestamp {
    Timestamp::from_secs(253_402_214_400)
}

/// What a ground's blank says (根拠法令等, the case), required where the ground
/// says so.
pub(crate) fn ground_detail(ground: &Ground, typed: &str) -> Result<String> {
    let detail = bounded_text("ground_detail", typed, LONG)?;
    if ground.detail_required && detail.is_empty() {
        return Err(Error::bad_input(format!(
            "ground_detail: {} is required for this ground ({})",
            if ground.detail_label.is_empty() {
                "a detail"
            } else {
                &ground.detail_label
            },
            ground.basis
        )));
    }
    Ok(detail)
}

/// The footage period a request asks for: at most [`MAX_REQUEST_MICROS`].
pub(crate) fn requested_period(from: &str, to: &str) -> Result<TimeRange> {
    let range = TimeRange::new(
        parse_time("from", from)?,
        parse_time("to", to)?,
        "to must be after from",
    )?;
    if range.to.0.saturating_sub(range.from.0) > MAX_REQUEST_MICROS {
        return Err(Error::bad_input("at most 31 days of footage per request"));
    }
    Ok(range)
}

/// A request as typed (every field of Midori 様式第1号).
#[derive(Clone, Debug, Default)]
pub struct RequestText<'a> {
    pub received_on: &'a str,
    pub requester_address: &'a str,
    pub requester_organisation: &'a str,
    pub requester_representative: &'a str,
    pub contact_department: &'a str,
    pub contact_person: &'a str,
    pub contact_phone: &'a str,
    pub cameras: Vec<i64>,
    pub from: &'a str,
    pub to: &'a str,
    pub reason: &'a str,
    pub ground: &'a str,
    pub ground_detail: &'a str,
    pub method: &'a str,
    pub method_detail: &'a str,
    pub remarks: &'a str,
}

/// Where a request stands (受付, 審査中, 提供可, 提供不可, 提供済, 取下げ).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Received,
    Reviewing,
    Approved,
    Refused,
    Delivered,
    Withdrawn,
}

impl Status {
    pub fn of(p: &Provision) -> Status {
        if p.withdrawal.is_some() {
            Status::Withdrawn
        } else if p.delivery.is_some() {
            Status::Delivered
        } else if let Some(d) = &p.decision {
            match d.decision {
                Decision::Approved => Status::Approved,
                Decision::Refused => Status::Refused,
            }
        } else if p.identity.is_some() {
            Status::Reviewing
        } else {
            Status::Received
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::Reviewing => "reviewing",
            Status::Approved => "approved",
            Status::Refused => "refused",
            Status::Delivered => "delivered",
            Status::Withdrawn => "withdrawn",
        }
    }

    pub fn ja(self) -> &'static str {
        match self {
            Status::Received => "受付",
            Status::Reviewing => "審査中",
            Status::Approved => "提供可",
            Status::Refused => "提供不可",
            Status::Delivered => "提供済",
            Status::Withdrawn => "取下げ",
        }
    }

    /// Still waiting for a decision.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Received | Status::Reviewing)
    }

    pub const ALL: [Status; 6] = [
        Status::Received,
        Status::Reviewing,
        Status::Approved,
        Status::Refused,
        Status::Delivered,
        Status::Withdrawn,
    ];

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Which requests the register shows: a fiscal year (年度, April to March, by
/// the date received), a status, a ground; each optional.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RegisterFilter {
    pub fiscal_year: Option<i32>,
    pub status: Option<Status>,
    pub ground: Option<String>,
}

impl RegisterFilter {
    pub fn admits(&self, p: &Provision) -> bool {
        let year = chrono::NaiveDate::parse_from_str(&p.fields.received_on, "%Y-%m-%d")
            .ok()
            .map(fiscal_year_of);
        self.fiscal_year.is_none_or(|y| year == Some(y))
            && self.status.is_none_or(|s| Status::of(p) == s)
            && self.ground.as_ref().is_none_or(|g| *g == p.fields.ground)
    }
}

/// The fiscal year (年度) a date falls in: April to the next March.
pub fn fiscal_year_of(d: chrono::NaiveDate) -> i32 {
    use chrono::Datelike as _;
    if d.month() >= 4 {
        d.year()
    } else {
        d.year() - 1
    }
}

/// An extraction under way or finished with an error.
#[derive(Debug, Default)]
pub struct Extraction {
    pub progress: Arc<Progress>,
    /// Why it failed, once it did.
    pub failed: Mutex<Option<String>>,
}

/// What is recorded with a built package besides the build's own facts.
pub(crate) struct Kept {
    pub passphrase_protected: bool,
    pub from: Timestamp,
    pub to: Timestamp,
    pub derived_from: Option<i64>,
    pub masks: String,
}

/// Extractions by request (the latest of each).
#[derive(Debug, Default)]
pub struct Extractions(Mutex<HashMap<i64, Arc<Extraction>>>);

impl Extractions {
    pub(crate) fn get(&self, id: i64) -> Option<Arc<Extraction>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    pub(crate) fn set(&self, id: i64, e: Arc<Extraction>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, e);
    }

    fn clear(&self, id: i64) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
    }
}

/// A request with what the pages show about it.
#[derive(Debug)]
pub struct ProvisionFile {
    pub provision: Provision,
    pub status: Status,
    pub ground: Option<Ground>,
    pub method: Option<Method>,
    pub cameras: Vec<Camera>,
    pub documents: Vec<Document>,
    pub packages: Vec<Package>,
    /// An extraction under way (or failed), with its progress.
    pub extraction: Option<Arc<Extraction>>,
    /// Names of everyone who did a step.
    pub people: HashMap<UserId, User>,
    pub may_decide: bool,
    pub may_extract: bool,
    /// May play the approved footage for in-person viewing.
    pub may_view: bool,
}

/// An identity check as typed.
#[derive(Clone, Debug, Default)]
pub struct IdentityText<'a> {
    pub method: &'a str,
    pub detail: &'a str,
}

/// A decision as typed.
#[derive(Clone, Debug, Default)]
pub struct DecisionText<'a> {
    pub approve: bool,
    pub reason: &'a str,
    /// The person named to extract (an id), or empty for the manager.
    pub extractor: Option<i64>,
}

/// An extraction as asked: a part of the approval (all of it when empty).
#[derive(Clone, Debug, Default)]
pub struct ExtractText<'a> {
    pub cameras: Vec<i64>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    /// For a medium: the package is an AES-encrypted ZIP (REQ-STO-4).
    pub passphrase: Option<&'a str>,
}

/// A delivery as typed.
#[derive(Clone, Debug, Default)]
pub struct DeliveryText<'a> {
    pub at: &'a str,
    pub recipient: &'a str,
    /// For a medium: what it is (USB メモリ 1本, DVD-R …), where it goes.
    pub medium: &'a str,
    pub note: &'a str,
}

/// A document as uploaded.
pub struct DocumentUpload<'a> {
    pub original_name: &'a str,
    pub bytes: &'a [u8],
}

/// A small file sealed into the provisions store.
pub(crate) struct Sealed {
    pub wrapped: Vec<u8>,
    pub nonce: [u8; 8],
    /// SHA-256 of the plaintext.
    pub sha: Vec<u8>,
}

/// The type of a request document, from its first bytes; only these are kept.
pub fn document_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        Some("image/tiff")
    } else {
        None
    }
}

pub(crate) fn step(actor: &Actor, at: Timestamp) -> Step {
    Step {
        by: actor.user_id(),
        at,
    }
}

/// Whether the actor is a person acting as manager.
pub(crate) fn is_manager(actor: &Actor) -> bool {
    actor.person().is_some_and(|x| x.role == RoleKind::Manager)
}

/// Whether the actor may extract under this request: the manager, or the
/// person the decision named.
pub(crate) fn extracts(actor: &Actor, p: &Provision) -> bool {
    is_manager(actor)
        || p.decision
            .as_ref()
            .is_some_and(|d| d.extractor.is_some() && d.extractor == actor.user_id())
}

impl Governance {
    /// Writes a refusal to the log and returns it.
    pub(crate) async fn refuse(&self, actor: &Actor, what: &str, r: Refusal) -> Error {
        let entry = Entry::new("refused", format!("{what}: {r}"));
        match self.audit.record(actor, entry).await {
            Ok(_) => Error::Refused(r),
            Err(e) => e,
        }
    }

    /// Refuses (and logs) unless the request is approved (or, with
    /// `delivered_too`, approved and delivered already).
    pub(crate) async fn require_approved(
        &self,
        actor: &Actor,
        p: &Provision,
        what: &str,
        delivered_too: bool,
    ) -> Result<()> {
        let status = Status::of(p);
        if status == Status::Approved || (delivered_too && status == Status::Delivered) {
            return Ok(());
        }
        Err(self
            .refuse(
                actor,
                what,
                Refusal::NotApproved {
                    request: p.id,
                    status: status.ja().to_string(),
                    basis: self.policy.disclosure.decision_basis.clone(),
                },
            )
            .await)
    }

    async fn provision_of(&self, id: i64) -> Result<Provision> {
        self.catalog
            .provision(id)
            .await
            .map_err(|_| Error::NotFound(format!("request No.{id} not found")))
    }

    /// Registers a request (申請・照会) and holds its footage at once (REQ-DIS-2,
    /// REQ-RET-4; needs `provision`).
    pub async fn provision_register(
        &self,
        actor: &Actor,
        t: &RequestText<'_>,
    ) -> Result<Provision> {
        self.require(actor, Permission::Provision).await?;
        let d = &self.policy.disclosure;
        let received = parse_date("received_on", t.received_on)?;
        let organisation = bounded_text("requester_organisation", t.requester_organisation, SHORT)?;
        let representative = bounded_text(
            "requester_representative",
            t.requester_representative,
            SHORT,
        )?;
        let person = bounded_text("contact_person", t.contact_person, SHORT)?;
        if organisation.is_empty() && representative.is_empty() {
            return Err(Error::bad_input(
                "requester: the organisation or the representative is required (申請者の機関名等又は代表者氏名は必須です)",
            ));
        }
        let reason = bounded_text("reason", t.reason, LONG)?;
        if reason.is_empty() {
            return Err(Error::bad_input("reason: required (申請理由は必須です)"));
        }
        let ground = d.ground(t.ground.trim()).ok_or_else(|| {
            Error::bad_input(format!(
                "ground: one of {} (根拠は規程に定めるものから選んでください)",
                d.grounds
                    .iter()
                    .map(|g| g.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        let ground_detail = ground_detail(ground, t.ground_detail)?;
        let method = d.method(t.method.trim()).ok_or_else(|| {
            Error::bad_input(format!(
                "method: one of {}",
                d.methods
                    .iter()
                    .map(|m| m.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if d.agreement.as_ref().is_some_and(|a| a.method == method.id) {
            return Err(Error::bad_input(format!(
                "method: {} is for extractions by a police station under its agreement ({})",
                method.label,
                d.agreement.as_ref().map(|a| a.basis.as_str()).unwrap_or("")
            )));
        }
        if t.cameras.is_empty() {
            return Err(Error::bad_input(
                "cameras: choose at least one (カメラを選んでください)",
            ));
        }
        let mut cameras = Vec::new();
        for c in &t.cameras {
            let cam = self.catalog.camera(CameraId(*c)).await?;
            if !cameras.contains(&cam.id) {
                cameras.push(cam.id);
            }
        }
        let range = requested_period(t.from, t.to)?;
        let fields = RequestFields {
            received_on: received.format("%Y-%m-%d").to_string(),
            requester_address: bounded_text("requester_address", t.requester_address, SHORT)?,
            requester_organisation: organisation,
            requester_representative: representative,
            contact_department: bounded_text("contact_department", t.contact_department, SHORT)?,
            contact_person: person,
            contact_phone: bounded_text("contact_phone", t.contact_phone, SHORT)?,
            cameras: cameras.clone(),
            from: range.from,
            to: range.to,
            reason,
            ground: ground.id.clone(),
            ground_detail,
            method: method.id.clone(),
            method_detail: bounded_text("method_detail", t.method_detail, SHORT)?,
            remarks: bounded_text("remarks", t.remarks, LONG)?,
        };
        let now = self.clock.now();
        let hold_reason = format!("提供申請（{}）: {}", ground.label, ground.basis);
        let (id, hold) = self
            .catalog
            .provision_insert(
                &fields,
                &step(actor, now),
                range.to.add_micros(HOLD_MARGIN_MICROS),
                pending_until(),
                &hold_reason,
                None,
            )
            .await?;
        let cams: Vec<String> = cameras.iter().map(|c| c.to_string()).collect();
        self.audit
            .record(
                actor,
                Entry {
                    action: "provision_registered",
                    range: Some((range.from, range.to)),
                    detail: format!(
                        "request No.{id}: cameras [{}]; ground {} ({}); method {}; requester {}; footage held (hold {hold})",
                        cams.join(","),
                        ground.id,
                        ground.basis,
                        method.id,
                        [&fields.requester_organisation, &fields.requester_representative]
                            .iter()
                            .filter(|s| !s.is_empty())
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    ),
                    ..Entry::default()
                },
            )
            .await?;
        // The request keeps the range asked for; its hold reaches a little further.
        self.provision_of(id).await
    }

    /// Attaches the scanned request document (PDF or image; needs `provision`),
    /// stored encrypted like footage.
    pub async fn provision_attach(
        &self,
        actor: &Actor,
        id: i64,
        up: &DocumentUpload<'_>,
    ) -> Result<Document> {
        self.require(actor, Permission::Provision).await?;
        let p = self.provision_of(id).await?;
        if matches!(Status::of(&p), Status::Withdrawn | Status::Delivered) {
            return Err(Error::rule(
                "the request is closed: nothing more can be attached",
            ));
        }
        let limit = self.policy.disclosure.max_document_bytes;
        if up.bytes.len() as u64 > limit {
            return Err(Error::bad_input(format!(
                "document: at most {} MiB",
                limit >> 20
            )));
        }
        let content_type = document_type(up.bytes).ok_or_else(|| {
            Error::bad_input("document: a PDF, JPEG, PNG or TIFF file (PDF・画像のみ添付できます)")
        })?;
        let original = bounded_text("document name", up.original_name, SHORT)?;
        let file_name = format!("documents/{id}-{}.doc", mimamori_crypto::random_hex(8));
        let Sealed {
            wrapped,
            nonce,
            sha,
        } = self.seal_file(&file_name, up.bytes).await?;
        let now = self.clock.now();
        let doc_id = self
            .catalog
            .document_insert(&NewDocument {
                request_id: id,
                file_name: &file_name,
                original_name: &original,
                content_type,
                bytes: up.bytes.len() as i64,
                sha256: &sha,
                wrapped_key: &wrapped,
                nonce_prefix: &nonce,
                added: step(actor, now),
            })
            .await?;
        self.file_recorded(&file_name);
        self.audit
            .record(
                actor,
                Entry::new(
                    "provision_document_added",
                    format!(
                        "request No.{id}: document {doc_id} ({content_type}, {} bytes, sha256 {})",
                        up.bytes.len(),
                        hex::encode(&sha)
                    ),
                ),
            )
            .await?;
        self.catalog
            .documents(id)
            .await?
            .into_iter()
            .find(|d| d.id == doc_id)
            .ok_or_else(|| Error::NotFound(format!("document {doc_id}")))
    }

    /// A request document's bytes, to look at (needs `provision`; logged).
    pub async fn provision_document(
        &self,
        actor: &Actor,
        id: i64,
        doc_id: i64,
    ) -> Result<(Document, Vec<u8>)> {
        self.require(actor, Permission::Provision).await?;
        let doc = self
            .catalog
            .documents(id)
            .await?
            .into_iter()
            .find(|d| d.id == doc_id)
            .ok_or_else(|| Error::NotFound(format!("document {doc_id} of request No.{id}")))?;
        self.audit
            .record(
                actor,
                Entry::new(
                    "provision_document_viewed",
                    format!("request No.{id}: document {doc_id}"),
                ),
            )
            .await?;
        let bytes = self.open_file(
            &doc.file_name,
            &doc.wrapped_key,
            &doc.nonce_prefix,
            doc.bytes,
        )?;
        Ok((doc, bytes))
    }

    /// Writes a small file (a document, a photo) encrypted under a key of its
    /// own into the provisions store, durably.
    /// A file of this store now recorded in the catalog: with an object store,
    /// which holds it whole since it was finished, its local copy goes.
    pub(crate) fn file_recorded(&self, file_name: &str) {
        if let Err(e) = self.files.forget_local_copy(file_name) {
            tracing::warn!(file = %file_name, "{e}");
        }
    }

    pub(crate) async fn seal_file(&self, file_name: &str, bytes: &[u8]) -> Result<Sealed> {
        let (key, wrapped) = self.keys.new_file_key(file_name)?;
        let nonce = SegmentCipher::random_nonce_prefix();
        let mut w = self.files.create(
            file_name,
            SegmentCipher::new(key, nonce, file_name.as_bytes()),
        )?;
        w.append(bytes)?;
        tokio::task::spawn_blocking(move || w.finish())
            .await
            .map_err(|e| Error::Inconsistent(e.to_string()))??;
        let sha = {
            use sha2::Digest;
            sha2::Sha256::digest(bytes).to_vec()
        };
        Ok(Sealed {
            wrapped,
            nonce,
            sha,
        })
    }

    /// Reads a small sealed file back whole.
    pub(crate) fn open_file(
        &self,
        file_name: &str,
        wrapped_key: &[u8],
        nonce_prefix: &[u8],
        bytes: i64,
    ) -> Result<Vec<u8>> {
        let key = self.keys.file_key(wrapped_key, file_name)?;
        let nonce: [u8; 8] = nonce_prefix
            .try_into()
            .map_err(|_| Error::Inconsistent(format!("{file_name} has no valid nonce")))?;
        let cipher = SegmentCipher::new(key, nonce, file_name.as_bytes());
        let len = u64::try_from(bytes).unwrap_or(0);
        Ok(self.files.read_range(
            file_name,
            &cipher,
            len,
            0,
            usize::try_from(len).unwrap_or(0),
        )?)
    }

    /// Records how the requester's identity was checked (REQ-DIS-3; needs `provision`).
    pub async fn provision_identity(
        &self,
        actor: &Actor,
        id: i64,
        t: &IdentityText<'_>,
    ) -> Result<()> {
        self.require(actor, Permission::Provision).await?;
        let p = self.provision_of(id).await?;
        if !Status::of(&p).is_open() {
            return Err(Error::rule("the request is decided or withdrawn already"));
        }
        let methods = &self.policy.disclosure.identity_methods;
        let method = t.method.trim();
        if !methods.iter().any(|m| m == method) {
            return Err(Error::bad_input(format!(
                "identity method: one of {}",
                methods.join(", ")
            )));
        }
        let detail = bounded_text("identity detail", t.detail, LONG)?;
        self.catalog
            .provision_identity(id, method, &detail, &step(actor, self.clock.now()))
            .await?;
        self.audit
            .record(
                actor,
                Entry::new(
                    "provision_identity_checked",
                    format!("request No.{id}: {method}"),
                ),
            )
            .await?;
        Ok(())
    }

    /// The manager decides (提供可 / 提供不可, REQ-DIS-4; needs `provision_decide`,
    /// which only the manager can hold, in their own account).
    pub async fn provision_decide(
        &self,
        actor: &Actor,
        id: i64,
        t: &DecisionText<'_>,
    ) -> Result<()> {
        let basis = self.policy.disclosure.decision_basis.clone();
        if !is_manager(actor) {
            return Err(self
                .refuse(actor, "provision_decide", Refusal::ManagerDecides { basis })
                .await);
        }
        self.require(actor, Permission::ProvisionDecide).await?;
        let p = self.provision_of(id).await?;
        if !Status::of(&p).is_open() {
            return Err(Error::rule("the request is decided or withdrawn already"));
        }
        let reason = bounded_text("reason", t.reason, LONG)?;
        let ground = self.policy.disclosure.ground(&p.fields.ground).cloned();
        let mut extractor = None;
        if t.approve {
            if p.identity.is_none() {
                return Err(Error::rule(
                    "record how the requester's identity was checked before approving (相手方の身分確認を記録してください)",
                ));
            }
            if let Some(g) = &ground
                && g.document_required
                && self.catalog.documents(id).await?.is_empty()
            {
                return Err(Error::rule(format!(
                    "attach the request document before approving ({})",
                    g.basis
                )));
            }
            if let Some(e) = t.extractor {
                let user = self.catalog.user(UserId(e)).await?;
                let now = self.clock.now();
                let role = self
                    .catalog
                    .designations_of(user.id)
                    .await?
                    .iter()
                    .rev()
                    .find(|d| d.valid_at(now))
                    .and_then(|d| RoleKind::parse(&d.role));
                if !role.is_some_and(|r| self.policy.allows(r, Permission::Export)) {
                    return Err(Error::rule(format!(
                        "{} is not designated to extract footage (export)",
                        user.username
                    )));
                }
                extractor = Some(user.id);
            }
        } else if reason.is_empty() {
            return Err(Error::bad_input(
                "reason: a refusal states its reason (提供不可の理由は必須です)",
            ));
        }
        let now = self.clock.now();
        let decision = if t.approve {
            Decision::Approved
        } else {
            Decision::Refused
        };
        self.catalog
            .provision_decide(
                id,
                &DecisionRecord {
                    decision,
                    reason: reason.clone(),
                    extractor,
                    step: step(actor, now),
                },
            )
            .await?;
        if decision == Decision::Refused {
            // Nothing will be provided: the footage returns to its retention.
            self.catalog
                .provision_close(id, None, now, actor.user_id())
                .await?;
        }
        self.audit
            .record(
                actor,
                Entry::new(
                    "provision_decided",
                    format!(
                        "request No.{id}: {} ({}){}{}",
                        decision.as_str(),
                        if t.approve {
                            "提供可"
                        } else {
                            "提供不可"
                        },
                        if reason.is_empty() {
                            String::new()
                        } else {
                            format!("; reason: {reason}")
                        },
                        extractor
                            .map(|u| format!("; extractor: user {u}"))
                            .unwrap_or_default()
                    ),
                ),
            )
            .await?;
        Ok(())
    }

    /// Starts building the evidence package of an approved request (needs
    /// `export` from a registered terminal, for each camera): only the person
    /// the manager named, or the manager; only within the approved cameras and
    /// range. The extraction's entry is written before any footage is read; the
    /// build runs in the background (see [`ProvisionFile::extraction`]) and the
    /// returned task ends with the package.
    pub async fn provision_extract(
        self: &Arc<Self>,
        actor: &Actor,
        id: i64,
        t: &ExtractText<'_>,
    ) -> Result<tokio::task::JoinHandle<Result<Package>>> {
        let p = self.provision_of(id).await?;
        self.require_approved(actor, &p, "extract", false).await?;
        let method = self.policy.disclosure.method(&p.fields.method).cloned();
        if method.as_ref().is_some_and(|m| !m.kind.hands_over_data()) {
            return Err(Error::rule(format!(
                "request No.{id} is for {}: nothing is handed over, so nothing is extracted",
                method.map(|m| m.label).unwrap_or_default()
            )));
        }
        let Some(decision) = &p.decision else {
            return Err(Error::Inconsistent(format!(
                "request No.{id} has no decision"
            )));
        };
        if !extracts(actor, &p) {
            return Err(self
                .refuse(actor, "extract", Refusal::NotTheExtractor { request: id })
                .await);
        }
        // A part of the approval, or all of it.
        let approved = format!(
            "cameras [{}], {} – {}",
            p.fields
                .cameras
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(","),
            p.fields.from.jst_minute(),
            p.fields.to.jst_minute()
        );
        let cameras: Vec<CameraId> = if t.cameras.is_empty() {
            p.fields.cameras.clone()
        } else {
            t.cameras.iter().map(|c| CameraId(*c)).collect()
        };
        let from = match t.from.map(str::trim).filter(|s| !s.is_empty()) {
            Some(v) => parse_time("from", v)?,
            None => p.fields.from,
        };
        let to = match t.to.map(str::trim).filter(|s| !s.is_empty()) {
            Some(v) => parse_time("to", v)?,
            None => p.fields.to,
        };
        let range = TimeRange::new(from, to, "to must be after from")?;
        if cameras.iter().any(|c| !p.fields.cameras.contains(c))
            || range.from < p.fields.from
            || range.to > p.fields.to
        {
            return Err(self
                .refuse(
                    actor,
                    "extract",
                    Refusal::OutsideApproval {
                        request: id,
                        approved,
                    },
                )
                .await);
        }
        let passphrase = t.passphrase.map(str::to_string).filter(|s| !s.is_empty());
        if passphrase
            .as_ref()
            .is_some_and(|s| s.chars().count() < mimamori_evidence::writer::MIN_PASSPHRASE)
        {
            return Err(Error::bad_input(format!(
                "passphrase: at least {} characters",
                mimamori_evidence::writer::MIN_PASSPHRASE
            )));
        }
        let mut cams = Vec::new();
        for c in &cameras {
            self.authorize(
                actor,
                Permission::Export,
                Some(*c),
                Some((range.from, range.to)),
                "extract",
            )
            .await?;
            cams.push(self.catalog.camera(*c).await?);
        }
        if self.extractions.get(id).is_some_and(|e| {
            e.failed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .is_none()
        }) {
            return Err(Error::Busy(format!(
                "the package of request No.{id} is being built"
            )));
        }
        let ground = self.policy.disclosure.ground(&p.fields.ground).cloned();
        let purpose = format!(
            "提供申請 No.{id}: {}",
            ground.as_ref().map(|g| g.label.as_str()).unwrap_or("")
        );
        // No byte of footage is read before this entry is written.
        self.audit
            .record_view(
                actor,
                Entry {
                    action: "provision_extraction",
                    range: Some((range.from, range.to)),
                    purpose,
                    detail: format!(
                        "request No.{id}: cameras [{}]{}",
                        cameras
                            .iter()
                            .map(|c| c.to_string())
                            .collect::<Vec<_>>()
                            .join(","),
                        if passphrase.is_some() {
                            "; encrypted with a passphrase"
                        } else {
                            ""
                        }
                    ),
                    ..Entry::default()
                },
            )
            .await?;
        let people = self.people_by_id().await?;
        let name = |u: Option<UserId>| {
            u.and_then(|u| people.get(&u))
                .map(|u| format!("{} ({})", u.display_name, u.username))
                .unwrap_or_else(|| "(console)".into())
        };
        let facts = PackageFacts {
            request: RequestFacts {
                kind: String::new(),
                number: id,
                received_on: p.fields.received_on.clone(),
                ground: ground.as_ref().map(|g| g.label.clone()).unwrap_or_default(),
                ground_basis: ground.as_ref().map(|g| g.basis.clone()).unwrap_or_default(),
                ground_detail: p.fields.ground_detail.clone(),
                reason: p.fields.reason.clone(),
                method: self
                    .policy
                    .disclosure
                    .method(&p.fields.method)
                    .map(|m| m.label.clone())
                    .unwrap_or_default(),
                recipient: Recipient {
                    organisation: p.fields.requester_organisation.clone(),
                    representative: p.fields.requester_representative.clone(),
                    address: p.fields.requester_address.clone(),
                    department: p.fields.contact_department.clone(),
                    person: p.fields.contact_person.clone(),
                    phone: p.fields.contact_phone.clone(),
                },
            },
            approved_by: name(decision.step.by),
            approved_at: decision.step.at,
            extracted_by: name(actor.user_id()),
            passphrase: passphrase.clone(),
        };
        let job = Arc::new(Extraction::default());
        self.extractions.set(id, job.clone());
        let gov = self.clone();
        let actor = actor.clone();
        let kept = Kept {
            passphrase_protected: passphrase.is_some(),
            from: range.from,
            to: range.to,
            derived_from: None,
            masks: String::new(),
        };
        Ok(tokio::spawn(async move {
            let built = gov
                .build_package(
                    &p.id.to_string(),
                    &cams,
                    range.from,
                    range.to,
                    facts,
                    job.progress.clone(),
                )
                .await;
            gov.keep_built(&actor, id, &job, built, kept).await
        }))
    }

    /// The end of a build task: the package is recorded and logged, or the
    /// failure is shown on the request and logged.
    pub(crate) async fn keep_built(
        &self,
        actor: &Actor,
        id: i64,
        job: &Extraction,
        built: Result<crate::evidence::Built>,
        kept: Kept,
    ) -> Result<Package> {
        let result = match built {
            Ok(b) => {
                let now = self.clock.now();
                let stored = self
                    .catalog
                    .package_insert(&NewPackage {
                        request_id: id,
                        file_name: &b.file_name,
                        bytes: i64::try_from(b.bytes).unwrap_or(i64::MAX),
                        sha256: &b.sha256,
                        manifest_sha256: &b.manifest_sha256,
                        wrapped_key: &b.wrapped_key,
                        nonce_prefix: &b.nonce_prefix,
                        passphrase_protected: kept.passphrase_protected,
                        cameras: &b.cameras,
                        from: kept.from,
                        to: kept.to,
                        frames: i64::try_from(b.frames).unwrap_or(i64::MAX),
                        built: step(actor, now),
                        derived_from: kept.derived_from,
                        masks: &kept.masks,
                    })
                    .await;
                if stored.is_ok() {
                    self.file_recorded(&b.file_name);
                }
                match stored {
                    Ok(pkg) => self
                        .audit
                        .record(
                            actor,
                            Entry::new(
                                "provision_package_built",
                                format!(
                                    "request No.{id}: package {pkg}{}, {} bytes, {} frames, sha256 {}",
                                    kept.derived_from
                                        .map(|o| format!(" (a masked copy of package {o})"))
                                        .unwrap_or_default(),
                                    b.bytes,
                                    b.frames,
                                    hex::encode(b.sha256)
                                ),
                            ),
                        )
                        .await
                        .map(|_| pkg),
                    Err(e) => Err(e.into()),
                }
            }
            Err(e) => Err(e),
        };
        match result {
            Ok(pkg) => {
                self.extractions.clear(id);
                self.catalog
                    .packages(id)
                    .await?
                    .into_iter()
                    .find(|x| x.id == pkg)
                    .ok_or_else(|| Error::NotFound(format!("package {pkg}")))
            }
            Err(e) => {
                tracing::error!(request = id, "building the evidence package failed: {e}");
                *job.failed.lock().unwrap_or_else(PoisonError::into_inner) = Some(e.to_string());
                let _ = self
                    .audit
                    .record(
                        actor,
                        Entry::new(
                            "provision_extraction_failed",
                            format!("request No.{id}: {e}"),
                        ),
                    )
                    .await;
                Err(e)
            }
        }
    }

    /// A built package, to download (needs `export` for its cameras from a
    /// registered terminal; the extractor or the manager; logged first).
    pub async fn provision_package(
        &self,
        actor: &Actor,
        id: i64,
        package_id: i64,
    ) -> Result<Footage> {
        let p = self.provision_of(id).await?;
        let pkg = self
            .catalog
            .packages(id)
            .await?
            .into_iter()
            .find(|x| x.id == package_id)
            .ok_or_else(|| Error::NotFound(format!("package {package_id} of request No.{id}")))?;
        self.require_approved(actor, &p, "download package", true)
            .await?;
        if !extracts(actor, &p) {
            return Err(self
                .refuse(
                    actor,
                    "download package",
                    Refusal::NotTheExtractor { request: id },
                )
                .await);
        }
        self.authorize_export(actor, &pkg.cameras, (pkg.from, pkg.to), "download package")
            .await?;
        self.audit
            .record_view(
                actor,
                Entry {
                    action: "provision_package_downloaded",
                    range: Some((pkg.from, pkg.to)),
                    purpose: format!("提供申請 No.{id}"),
                    detail: format!(
                        "request No.{id}: package {package_id}, sha256 {}",
                        hex::encode(&pkg.sha256)
                    ),
                    ..Entry::default()
                },
            )
            .await?;
        if p.agreement.is_some() && p.delivery.is_none() {
            // Under an agreement the station takes the package itself: its
            // download is the delivery (提供日時, 提供先) of the register.
            self.record_station_delivery(actor, &p).await?;
        }
        self.sealed_zip(
            &pkg.file_name,
            &pkg.wrapped_key,
            &pkg.nonce_prefix,
            pkg.bytes,
            &pkg.sha256,
            format!("mimamori-request{id}-package{package_id}.zip"),
        )
    }

    /// `export` of each camera over the range: what taking footage out needs.
    pub(crate) async fn authorize_export(
        &self,
        actor: &Actor,
        cameras: &[CameraId],
        range: (Timestamp, Timestamp),
        what: &str,
    ) -> Result<()> {
        for c in cameras {
            self.authorize(actor, Permission::Export, Some(*c), Some(range), what)
                .await?;
        }
        Ok(())
    }

    /// A package-like file of the provisions store as a ZIP download (ranged).
    pub(crate) fn sealed_zip(
        &self,
        file_name: &str,
        wrapped_key: &[u8],
        nonce_prefix: &[u8],
        bytes: i64,
        sha256: &[u8],
        download_name: String,
    ) -> Result<Footage> {
        let key = self.keys.file_key(wrapped_key, file_name)?;
        let nonce: [u8; 8] = nonce_prefix
            .try_into()
            .map_err(|_| Error::Inconsistent(format!("{file_name} has no valid nonce")))?;
        Ok(Footage::whole_file(
            self.files.clone(),
            file_name,
            SegmentCipher::new(key, nonce, file_name.as_bytes()),
            u64::try_from(bytes).unwrap_or(0),
            download_name,
            "application/zip",
            format!("\"{}\"", hex::encode(sha256)),
        ))
    }

    /// Plays an approved request's footage of one camera, for in-person viewing
    /// (閲覧のみ) or its photographing (再生画像撮影): the approved range only, to
    /// the person the manager named or the manager, with `playback` from a
    /// registered terminal; logged (`provision_viewing`) before any byte leaves.
    /// Nothing is handed over: the viewing is then recorded as the delivery.
    pub async fn provision_viewing(
        &self,
        actor: &Actor,
        id: i64,
        camera: CameraId,
    ) -> Result<Footage> {
        let p = self.provision_of(id).await?;
        self.require_approved(actor, &p, "provision viewing", true)
            .await?;
        let method = self.policy.disclosure.method(&p.fields.method).cloned();
        if method.as_ref().is_none_or(|m| m.kind.hands_over_data()) {
            return Err(Error::rule(format!(
                "request No.{id} hands footage over as a package: extract it instead"
            )));
        }
        if !extracts(actor, &p) {
            return Err(self
                .refuse(
                    actor,
                    "provision viewing",
                    Refusal::NotTheExtractor { request: id },
                )
                .await);
        }
        if !p.fields.cameras.contains(&camera) {
            let approved = format!(
                "cameras [{}]",
                p.fields
                    .cameras
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            );
            return Err(self
                .refuse(
                    actor,
                    "provision viewing",
                    Refusal::OutsideApproval {
                        request: id,
                        approved,
                    },
                )
                .await);
        }
        let range = (p.fields.from, p.fields.to);
        self.authorize(
            actor,
            Permission::Playback,
            Some(camera),
            Some(range),
            "provision viewing",
        )
        .await?;
        let ground = self.policy.disclosure.ground(&p.fields.ground);
        let entry = Entry {
            action: "provision_viewing",
            camera: Some(camera),
            range: Some(range),
            purpose: format!(
                "提供申請 No.{id}: {}",
                method.map(|m| m.label).unwrap_or_default()
            ),
            detail: format!(
                "request No.{id}: shown to {} ({})",
                [
                    p.fields.requester_organisation.as_str(),
                    p.fields.requester_representative.as_str()
                ]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" "),
                ground.map(|g| g.basis.as_str()).unwrap_or("")
            ),
        };
        self.progressive(
            actor,
            camera,
            mimamori_catalog::StreamKind::Main,
            range,
            entry,
        )
        .await
    }

    /// Records the delivery (REQ-DIS-5; needs `provision`): when, to whom, on
    /// what; a medium enters the media register (REQ-MED-1). The footage stays
    /// held for the policy's days after it.
    pub async fn provision_deliver(
        &self,
        actor: &Actor,
        id: i64,
        t: &DeliveryText<'_>,
    ) -> Result<()> {
        self.require(actor, Permission::Provision).await?;
        let p = self.provision_of(id).await?;
        if Status::of(&p) != Status::Approved {
            return Err(Error::rule(format!(
                "request No.{id} is {}: only an approved request is delivered",
                Status::of(&p).ja()
            )));
        }
        let at = parse_time("at", t.at)?;
        let now = self.clock.now();
        if at > now.add_micros(60_000_000) {
            return Err(Error::bad_input(
                "at: a delivery is recorded after it happened",
            ));
        }
        let recipient = bounded_text("recipient", t.recipient, SHORT)?;
        if recipient.is_empty() {
            return Err(Error::bad_input(
                "recipient: who received it (受領者は必須です)",
            ));
        }
        let medium = bounded_text("medium", t.medium, SHORT)?;
        let note = bounded_text("note", t.note, LONG)?;
        let method = self.policy.disclosure.method(&p.fields.method).cloned();
        let kind = method.as_ref().map(|m| m.kind);
        if kind.is_some_and(MethodKind::hands_over_data)
            && self.catalog.packages(id).await?.is_empty()
        {
            return Err(Error::rule(
                "extract the evidence package before recording its delivery",
            ));
        }
        if kind == Some(MethodKind::Medium) && medium.is_empty() {
            return Err(Error::bad_input(
                "medium: which medium was handed over (記録媒体を記入してください)",
            ));
        }
        let keep = i64::from(self.policy.disclosure.keep_days_after_delivery) * DAY_MICROS;
        self.catalog
            .provision_deliver(
                id,
                &Delivery {
                    recipient: recipient.clone(),
                    medium: medium.clone(),
                    note,
                    step: Step {
                        by: actor.user_id(),
                        at,
                    },
                },
                at.add_micros(keep),
            )
            .await?;
        let mut medium_id = None;
        if kind == Some(MethodKind::Medium) {
            let holder = [p.fields.requester_organisation.as_str(), recipient.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            medium_id = Some(
                self.catalog
                    .medium_insert(
                        method.as_ref().map(|m| m.label.as_str()).unwrap_or(""),
                        &medium,
                        &format!(
                            "提供申請 No.{id} の提供画像: カメラ [{}] {} – {}",
                            p.fields
                                .cameras
                                .iter()
                                .map(|c| c.to_string())
                                .collect::<Vec<_>>()
                                .join(","),
                            p.fields.from.jst_minute(),
                            p.fields.to.jst_minute()
                        ),
                        &holder,
                        &p.fields.requester_address,
                        at,
                        Some(id),
                        &step(actor, now),
                    )
                    .await?,
            );
        }
        self.audit
            .record(
                actor,
                Entry::new(
                    "provision_delivered",
                    format!(
                        "request No.{id}: delivered at {} to {recipient}{}",
                        at.jst_minute(),
                        medium_id
                            .map(|m| format!("; medium {m} ({medium}) registered"))
                            .unwrap_or_default()
                    ),
                ),
            )
            .await?;
        Ok(())
    }

    async fn record_station_delivery(&self, actor: &Actor, p: &Provision) -> Result<()> {
        let now = self.clock.now();
        let keep = i64::from(self.policy.disclosure.keep_days_after_delivery) * DAY_MICROS;
        let recipient = [
            p.fields.requester_organisation.as_str(),
            actor
                .person()
                .map(|x| x.user.display_name.as_str())
                .unwrap_or(""),
        ]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
        self.catalog
            .provision_deliver(
                p.id,
                &Delivery {
                    recipient: recipient.clone(),
                    medium: String::new(),
                    note: "協定に基づき登録端末でダウンロード".into(),
                    step: step(actor, now),
                },
                now.add_micros(keep),
            )
            .await?;
        self.audit
            .record(
                actor,
                Entry::new(
                    "provision_delivered",
                    format!(
                        "request No.{}: downloaded under agreement No.{} at {} by {recipient}",
                        p.id,
                        p.agreement.unwrap_or_default(),
                        now.jst_minute()
                    ),
                ),
            )
            .await?;
        Ok(())
    }

    /// Withdraws a request not yet delivered (取下げ; needs `provision`): its hold ends.
    pub async fn provision_withdraw(&self, actor: &Actor, id: i64, reason: &str) -> Result<()> {
        self.require(actor, Permission::Provision).await?;
        let p = self.provision_of(id).await?;
        if matches!(Status::of(&p), Status::Delivered | Status::Withdrawn) {
            return Err(Error::rule(
                "a delivered or withdrawn request cannot be withdrawn",
            ));
        }
        let reason = bounded_text("reason", reason, LONG)?;
        let now = self.clock.now();
        self.catalog
            .provision_close(
                id,
                Some(&Withdrawal {
                    reason: reason.clone(),
                    step: step(actor, now),
                }),
                now,
                actor.user_id(),
            )
            .await?;
        self.audit
            .record(
                actor,
                Entry::new("provision_withdrawn", format!("request No.{id}: {reason}")),
            )
            .await?;
        Ok(())
    }

    /// At start: removes the documents and packages a crash left half-written (or
    /// written but never recorded); they are encrypted and their keys were never
    /// stored, so nothing readable is lost. Returns how many went. With an object
    /// store, the finished files kept on this node are uploaded first and their
    /// local copies then removed.
    pub async fn discard_unfinished_provision_files(&self) -> Result<usize> {
        // With an object store, what this node kept locally goes up first: the
        // local copies of recorded files are removed next.
        let uploaded = self.files.upload_local_files()?;
        if uploaded > 0 {
            tracing::info!(
                files = uploaded,
                store = %self.files.location(),
                "request documents, packages and sign photos kept on this node are in the object store"
            );
        }
        let known = self
            .catalog
            .provision_file_names()
            .await?
            .into_iter()
            .collect();
        let report = self.files.recover(&known)?;
        for (name, bytes) in report
            .discarded_partial
            .iter()
            .chain(&report.discarded_unreferenced)
        {
            tracing::warn!(file = %name, bytes, "discarded an unfinished request document or package");
        }
        Ok(report.discarded_partial.len() + report.discarded_unreferenced.len())
    }

    async fn people_by_id(&self) -> Result<HashMap<UserId, User>> {
        Ok(self
            .catalog
            .users()
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect())
    }

    /// Every request, newest first, with its status (needs `provision`).
    pub async fn provisions(&self, actor: &Actor) -> Result<Vec<(Provision, Status)>> {
        self.require(actor, Permission::Provision).await?;
        Ok(self
            .catalog
            .provisions()
            .await?
            .into_iter()
            .map(|p| {
                let s = Status::of(&p);
                (p, s)
            })
            .collect())
    }

    /// The requests the register shows, oldest first (needs `provision`).
    pub async fn register(
        &self,
        actor: &Actor,
        filter: &RegisterFilter,
    ) -> Result<Vec<ProvisionFile>> {
        let mut out = Vec::new();
        for (p, _) in self.provisions(actor).await?.into_iter().rev() {
            if filter.admits(&p) {
                out.push(self.provision_file(actor, p.id).await?);
            }
        }
        Ok(out)
    }

    /// One request with everything the pages show (needs `provision`).
    pub async fn provision_file(&self, actor: &Actor, id: i64) -> Result<ProvisionFile> {
        self.require(actor, Permission::Provision).await?;
        let provision = self.provision_of(id).await?;
        let mut cameras = Vec::new();
        for c in &provision.fields.cameras {
            cameras.push(self.catalog.camera(*c).await?);
        }
        let status = Status::of(&provision);
        Ok(ProvisionFile {
            status,
            ground: self
                .policy
                .disclosure
                .ground(&provision.fields.ground)
                .cloned(),
            method: self
                .policy
                .disclosure
                .method(&provision.fields.method)
                .cloned(),
            cameras,
            documents: self.catalog.documents(id).await?,
            packages: self.catalog.packages(id).await?,
            extraction: self.extractions.get(id),
            people: self.people_by_id().await?,
            may_decide: is_manager(actor) && self.may(actor, Permission::ProvisionDecide),
            may_extract: extracts(actor, &provision) && self.may(actor, Permission::Export),
            may_view: extracts(actor, &provision) && self.may(actor, Permission::Playback),
            provision,
        })
    }

    /// The people who may be named to extract (designated now with `export`).
    pub async fn extractors(&self, actor: &Actor) -> Result<Vec<User>> {
        self.require(actor, Permission::ProvisionDecide).await?;
        let now = self.clock.now();
        let mut out = Vec::new();
        for u in self.catalog.users().await? {
            let role = self
                .catalog
                .designations_of(u.id)
                .await?
                .iter()
                .rev()
                .find(|d| d.valid_at(now))
                .and_then(|d| RoleKind::parse(&d.role));
            if role.is_some_and(|r| {
                r != RoleKind::Manager && self.policy.allows(r, Permission::Export)
            }) {
                out.push(u);
            }
        }
        Ok(out)
    }
}
