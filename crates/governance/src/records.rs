//! The records kept beside the footage, as operations with an actor and an audit
//! entry each: complaints and inquiries (REQ-CMP-1: intake, owner, answer,
//! closing; due by the policy's target, flagged when overdue) and the media
//! register with disposal (REQ-MED-1/2: a medium registered by hand, a disposal
//! begun with a method the policy allows, confirmed by as many people as it
//! requires, each in their own account, the manager among them where it says so),
//! and every camera's periodic checks (REQ-PUR-3 placement reviews, REQ-MNT-1
//! inspections, REQ-SIG-1 its sign), due again after the policy's days.

use mimamori_base::time::{DAY_MICROS, parse_day_or_time};
use mimamori_base::{CameraId, Timestamp, UserId};
use mimamori_catalog::provisions::Medium;
use mimamori_catalog::records::{CameraCheck, Complaint, Confirmation, NewComplaint, SignPhoto};
use mimamori_catalog::{Camera, User};
use mimamori_policy::{
    CheckKind, ComplaintRule, DisposalMethod, DisposalRule, Permission, RoleKind,
};

use crate::Governance;
use crate::actor::Actor;
use crate::audit::Entry;
use crate::error::{Error, Result};
use crate::input::{bounded_text, required};
use crate::provisions::{is_manager, step};

const SHORT: usize = 200;
const NOT_THE_CONSOLE: &str =
    "a disposal is confirmed by a person in their own account, not from the console";
const LONG: usize = 4000;

/// The channels a complaint arrives by.
pub const CHANNELS: [&str; 5] = ["counter", "phone", "mail", "letter", "other"];
/// What was received.
pub const KINDS: [&str; 2] = ["complaint", "inquiry"];

/// What an intake form says.
#[derive(Clone, Debug, Default)]
pub struct ComplaintText<'a> {
    pub kind: &'a str,
    /// When it was received (a day or a time); now when empty.
    pub received: &'a str,
    pub channel: &'a str,
    pub summary: &'a str,
    /// Only if the person gave it.
    pub contact: &'a str,
    /// Who handles it (苦情処理担当者); the person taking it in when absent.
    pub owner: Option<i64>,
}

/// A complaint with what the policy makes of it now.
#[derive(Clone, Debug)]
pub struct ComplaintItem {
    pub complaint: Complaint,
    pub overdue: bool,
}

/// The complaints page: the rule, the complaints, who may handle them.
#[derive(Clone, Debug)]
pub struct ComplaintBook {
    pub rule: ComplaintRule,
    pub items: Vec<ComplaintItem>,
    pub people: Vec<User>,
}

impl ComplaintBook {
    pub fn overdue(&self) -> usize {
        self.items.iter().filter(|i| i.overdue).count()
    }

    pub fn name_of(&self, id: Option<UserId>) -> String {
        id.and_then(|id| self.people.iter().find(|u| u.id == id))
            .map(|u| u.display_name.clone())
            .unwrap_or_default()
    }
}

/// What registering a medium by hand says (a USB stick, a recorder's disk).
#[derive(Clone, Debug, Default)]
pub struct MediumText<'a> {
    pub kind: &'a str,
    pub label: &'a str,
    pub contents: &'a str,
    pub holder: &'a str,
    pub location: &'a str,
}

/// Where a medium's disposal stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisposalState {
    /// Not begun: the medium is held.
    Held,
    /// Begun; `missing` more confirmations, and the manager's if `needs_manager`.
    Pending {
        missing: u32,
        needs_manager: bool,
    },
    Disposed,
}

/// A medium with its disposal state.
#[derive(Clone, Debug)]
pub struct MediumItem {
    pub medium: Medium,
    pub state: DisposalState,
    /// The signed-in person may confirm it now.
    pub may_confirm: bool,
}

/// The media register page.
#[derive(Clone, Debug)]
pub struct MediaBook {
    pub rule: DisposalRule,
    pub items: Vec<MediumItem>,
    pub people: Vec<User>,
}

impl MediaBook {
    pub fn name_of(&self, id: UserId) -> String {
        self.people
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.display_name.clone())
            .unwrap_or_else(|| id.to_string())
    }
}

/// Where a disposal stands under `rule`.
pub fn disposal_state(rule: &DisposalRule, m: &Medium) -> DisposalState {
    let Some(d) = &m.disposal else {
        return DisposalState::Held;
    };
    if d.disposed_at.is_some() {
        return DisposalState::Disposed;
    }
    let have = u32::try_from(d.confirmations.len()).unwrap_or(u32::MAX);
    DisposalState::Pending {
        missing: rule.confirmations.saturating_sub(have),
        needs_manager: rule.manager_confirms && !d.confirmations.iter().any(|c| c.as_manager),
    }
}

impl Governance {
    /// The complaints and inquiries, each flagged when its answer is overdue
    /// (needs `records`).
    pub async fn complaints(&self, actor: &Actor) -> Result<ComplaintBook> {
        self.require(actor, Permission::Records).await?;
        let now = self.clock.now();
        let items = self
            .catalog
            .complaints()
            .await?
            .into_iter()
            .map(|c| ComplaintItem {
                overdue: c.closed.is_none() && now > c.due_at,
                complaint: c,
            })
            .collect();
        Ok(ComplaintBook {
            rule: self.policy.records.complaints.clone(),
            items,
            people: self.record_keepers().await?,
        })
    }

    /// Takes in a complaint or inquiry; its answer is due after the policy's days.
    pub async fn complaint_receive(&self, actor: &Actor, t: &ComplaintText<'_>) -> Result<i64> {
        self.require(actor, Permission::Records).await?;
        let kind = one_of("kind", t.kind, &KINDS)?;
        let channel = one_of("channel", t.channel, &CHANNELS)?;
        let summary = required(
            &bounded_text("summary", t.summary, LONG)?,
            "summary: what was said (内容は必須です)",
        )?;
        let contact = bounded_text("contact", t.contact, SHORT)?;
        let now = self.clock.now();
        let received = if t.received.trim().is_empty() {
            now
        } else {
            parse_day_or_time("received", t.received, false)?
        };
        if received > now {
            return Err(Error::bad_input("received: not in the future"));
        }
        let owner = match t.owner {
            Some(id) => {
                let keepers = self.record_keepers().await?;
                let u = keepers.iter().find(|u| u.id.0 == id).ok_or_else(|| {
                    Error::bad_input("owner: a person designated to keep the records")
                })?;
                Some(u.id)
            }
            None => actor.user_id(),
        };
        let days = i64::from(self.policy.records.complaints.answer_within_days);
        let id = self
            .catalog
            .complaint_insert(
                &NewComplaint {
                    kind,
                    received_at: received,
                    channel,
                    summary: &summary,
                    contact: &contact,
                    owner,
                    due_at: received.add_micros(days * DAY_MICROS),
                },
                &step(actor, now),
            )
            .await?;
        // The log names the record, not what the person said or their contact.
        self.audit
            .record(
                actor,
                Entry::new("complaint_received", format!("{kind} No.{id} by {channel}")),
            )
            .await?;
        Ok(id)
    }

    /// Records the answer given and closes the complaint.
    pub async fn complaint_close(&self, actor: &Actor, id: i64, response: &str) -> Result<()> {
        self.require(actor, Permission::Records).await?;
        let response = required(
            &bounded_text("response", response, LONG)?,
            "response: the answer given (対応内容は必須です)",
        )?;
        let c = self.catalog.complaint(id).await?;
        self.catalog
            .complaint_close(id, &response, &step(actor, self.clock.now()))
            .await
            .map_err(|_| Error::Conflict(format!("{} No.{id} is closed already", c.kind)))?;
        self.audit
            .record(
                actor,
                Entry::new("complaint_closed", format!("{} No.{id}", c.kind)),
            )
            .await?;
        Ok(())
    }

    /// The media register with each medium's disposal state (needs `records`).
    pub async fn media_book(&self, actor: &Actor) -> Result<MediaBook> {
        self.require(actor, Permission::Records).await?;
        let rule = self.policy.records.disposal.clone();
        let me = actor.user_id();
        let items = self
            .catalog
            .media()
            .await?
            .into_iter()
            .map(|m| {
                let state = disposal_state(&rule, &m);
                let confirmed = m
                    .disposal
                    .as_ref()
                    .is_some_and(|d| d.confirmations.iter().any(|c| Some(c.user) == me));
                MediumItem {
                    may_confirm: matches!(state, DisposalState::Pending { .. })
                        && !confirmed
                        && me.is_some(),
                    state,
                    medium: m,
                }
            })
            .collect();
        Ok(MediaBook {
            rule,
            items,
            people: self.catalog.users().await?,
        })
    }

    /// Registers a medium by hand (REQ-MED-1).
    pub async fn medium_register(&self, actor: &Actor, t: &MediumText<'_>) -> Result<i64> {
        self.require(actor, Permission::Records).await?;
        let field = |name: &str, v: &str, what: &str| -> Result<String> {
            required(&bounded_text(name, v, SHORT)?, &format!("{name}: {what}"))
        };
        let kind = field("kind", t.kind, "the kind of medium (USB, DVD, disk…)")?;
        let label = field("label", t.label, "how the medium is marked")?;
        let contents = field("contents", t.contents, "what is on it")?;
        let holder = field("holder", t.holder, "who holds it")?;
        let location = field("location", t.location, "where it is kept")?;
        let now = self.clock.now();
        let id = self
            .catalog
            .medium_insert(
                &kind,
                &label,
                &contents,
                &holder,
                &location,
                now,
                None,
                &step(actor, now),
            )
            .await?;
        self.audit
            .record(
                actor,
                Entry::new(
                    "medium_registered",
                    format!("medium No.{id} {kind} {label}"),
                ),
            )
            .await?;
        Ok(id)
    }

    /// Begins a medium's disposal with a method the policy allows; the person
    /// beginning it is its first confirmation.
    pub async fn medium_dispose(
        &self,
        actor: &Actor,
        id: i64,
        method: &str,
        note: &str,
    ) -> Result<DisposalState> {
        self.require(actor, Permission::Records).await?;
        // The one who begins is the first confirmation: a person, never the console
        // (nothing is begun that could not be confirmed).
        if actor.user_id().is_none() {
            return Err(Error::rule(NOT_THE_CONSOLE));
        }
        let rule = &self.policy.records.disposal;
        let method = DisposalMethod::parse(method)
            .filter(|m| rule.methods.contains(m))
            .ok_or_else(|| {
                Error::rule(format!(
                    "method: this regulation disposes of media by {} ({})",
                    rule.methods
                        .iter()
                        .map(|m| format!("{} \"{}\"", m.label(), m.as_str()))
                        .collect::<Vec<_>>()
                        .join(" / "),
                    rule.basis
                ))
            })?;
        let note = bounded_text("note", note, LONG)?;
        let m = self.catalog.medium(id).await?;
        if m.disposal.is_some() {
            return Err(Error::Conflict(format!(
                "medium No.{id}: its disposal has begun already"
            )));
        }
        self.catalog
            .disposal_begin(id, method.as_str(), &note, self.clock.now())
            .await
            .map_err(|_| {
                Error::Conflict(format!("medium No.{id}: its disposal has begun already"))
            })?;
        self.audit
            .record(
                actor,
                Entry::new(
                    "medium_disposal_begun",
                    format!("medium No.{id} {} by {}", m.label, method.as_str()),
                ),
            )
            .await?;
        self.medium_confirm(actor, id).await
    }

    /// One person's confirmation that the medium's images are gone; the
    /// disposal completes when the policy's confirmations are in.
    pub async fn medium_confirm(&self, actor: &Actor, id: i64) -> Result<DisposalState> {
        self.require(actor, Permission::Records).await?;
        let Some(user) = actor.user_id() else {
            return Err(Error::rule(NOT_THE_CONSOLE));
        };
        let now = self.clock.now();
        self.catalog
            .disposal_confirm(
                id,
                &Confirmation {
                    user,
                    as_manager: is_manager(actor),
                    at: now,
                },
            )
            .await
            .map_err(|_| {
                Error::Conflict(format!(
                    "medium No.{id}: not being disposed of, disposed of already, or confirmed by you already (each person confirms once)"
                ))
            })?;
        let m = self.catalog.medium(id).await?;
        let mut state = disposal_state(&self.policy.records.disposal, &m);
        if state
            == (DisposalState::Pending {
                missing: 0,
                needs_manager: false,
            })
        {
            self.catalog.disposal_complete(id, now).await?;
            state = DisposalState::Disposed;
        }
        self.audit
            .record(
                actor,
                Entry::new(
                    "medium_disposal_confirmed",
                    format!(
                        "medium No.{id} {}{}",
                        m.label,
                        if state == DisposalState::Disposed {
                            ": disposed of"
                        } else {
                            ""
                        }
                    ),
                ),
            )
            .await?;
        Ok(state)
    }

    /// The people designated now with `records` (who may own a complaint).
    async fn record_keepers(&self) -> Result<Vec<User>> {
        let now = self.clock.now();
        let mut out = Vec::new();
        for u in self.catalog.users().await? {
            let keeps = self
                .catalog
                .designations_of(u.id)
                .await?
                .iter()
                .filter(|d| d.valid_at(now))
                .any(|d| {
                    RoleKind::parse(&d.role)
                        .is_some_and(|r| self.policy.allows(r, Permission::Records))
                });
            if keeps {
                out.push(u);
            }
        }
        Ok(out)
    }
}

fn one_of<'a>(name: &str, v: &'a str, allowed: &[&str]) -> Result<&'a str> {
    let v = v.trim();
    if allowed.contains(&v) {
        Ok(v)
    } else {
        Err(Error::bad_input(format!(
            "{name}: one of {}",
            allowed.join(", ")
        )))
    }
}

/// What recording a check says.
#[derive(Clone, Debug, Default)]
pub struct CheckText<'a> {
    pub camera: i64,
    /// `placement_review`, `inspection` or `signage`.
    pub kind: &'a str,
    /// The day it was done (today when empty).
    pub done_on: &'a str,
    /// The reviewer, the inspector, or the contractor company.
    pub done_by: &'a str,
    pub outcome: &'a str,
    pub action: &'a str,
}

/// One camera's state for one kind of check.
#[derive(Clone, Debug)]
pub struct CheckDue {
    pub kind: CheckKind,
    pub last: Option<CameraCheck>,
    /// When the next is due: after the last, or now when none was ever made.
    pub due: Timestamp,
    pub overdue: bool,
}

/// A camera with its checks.
#[derive(Clone, Debug)]
pub struct CameraChecks {
    pub camera: Camera,
    pub checks: Vec<CheckDue>,
    /// The newest photograph of its sign as it hangs (REQ-SIG-1).
    pub sign_photo: Option<SignPhoto>,
}

/// The checks page: every camera's checks and the history.
#[derive(Clone, Debug)]
pub struct CheckBook {
    pub records: mimamori_policy::Records,
    pub cameras: Vec<CameraChecks>,
    pub history: Vec<CameraCheck>,
}

impl CheckBook {
    pub fn overdue(&self) -> usize {
        self.cameras
            .iter()
            .flat_map(|c| &c.checks)
            .filter(|c| c.overdue)
            .count()
    }
}

impl Governance {
    /// Every camera's placement review, inspection and sign check, with when each
    /// is due under the policy and whether it is overdue (needs `records`).
    pub async fn check_book(&self, actor: &Actor) -> Result<CheckBook> {
        self.require(actor, Permission::Records).await?;
        let now = self.clock.now();
        let history = self.catalog.checks().await?;
        let photos = self.catalog.sign_photos().await?;
        let records = self.policy.records.clone();
        let cameras = self
            .catalog
            .cameras()
            .await?
            .into_iter()
            .filter(|c| c.removed_at.is_none())
            .map(|camera| {
                let checks = CheckKind::ALL
                    .into_iter()
                    .map(|kind| {
                        let last = history
                            .iter()
                            .find(|c| c.camera == camera.id && c.kind == kind.as_str())
                            .cloned();
                        let every = i64::from(records.check(kind).every_days) * DAY_MICROS;
                        // A camera never checked is due from its installation.
                        let from = last.as_ref().map_or(camera.created_at, |c| c.done_at);
                        let due = from.add_micros(every);
                        CheckDue {
                            kind,
                            overdue: now > due,
                            due,
                            last,
                        }
                    })
                    .collect();
                let sign_photo = photos.iter().find(|p| p.camera == camera.id).cloned();
                CameraChecks {
                    camera,
                    checks,
                    sign_photo,
                }
            })
            .collect();
        Ok(CheckBook {
            records,
            cameras,
            history,
        })
    }

    /// Overdue checks and complaints, for the home page's warning (nothing is
    /// logged; `None` without `records`).
    pub async fn records_overdue(&self, actor: &Actor) -> Result<Option<(usize, usize)>> {
        if !self.may(actor, Permission::Records) {
            return Ok(None);
        }
        let now = self.clock.now();
        let complaints = self
            .catalog
            .complaints()
            .await?
            .iter()
            .filter(|c| c.closed.is_none() && now > c.due_at)
            .count();
        let checks = self.check_book(actor).await?.overdue();
        Ok(Some((checks, complaints)))
    }

    /// Records a check of a camera; the next is due after the policy's days.
    pub async fn check_record(&self, actor: &Actor, t: &CheckText<'_>) -> Result<i64> {
        self.require(actor, Permission::Records).await?;
        let kind = CheckKind::parse(t.kind.trim())
            .ok_or_else(|| Error::bad_input("kind: placement_review, inspection or signage"))?;
        let camera = self.catalog.camera(CameraId(t.camera)).await?;
        let done_by = required(
            &bounded_text("done_by", t.done_by, SHORT)?,
            "done_by: who reviewed or inspected (the company, for a contractor)",
        )?;
        let outcome = required(
            &bounded_text("outcome", t.outcome, LONG)?,
            "outcome: what was found (結果は必須です)",
        )?;
        let action = bounded_text("action", t.action, LONG)?;
        let now = self.clock.now();
        let done_at = if t.done_on.trim().is_empty() {
            now
        } else {
            parse_day_or_time("done_on", t.done_on, false)?
        };
        if done_at > now {
            return Err(Error::bad_input("done_on: not in the future"));
        }
        let id = self
            .catalog
            .check_insert(&CameraCheck {
                id: 0,
                camera: camera.id,
                kind: kind.as_str().into(),
                done_at,
                done_by,
                outcome,
                action,
                recorded: step(actor, now),
            })
            .await?;
        self.audit
            .record(
                actor,
                Entry::new("camera_checked", format!("{} No.{id}", kind.as_str()))
                    .camera(camera.id),
            )
            .await?;
        Ok(id)
    }
}

/// The largest sign photo kept: a phone's photograph, not a video.
pub const MAX_SIGN_PHOTO_BYTES: usize = 8 << 20;

impl Governance {
    /// Keeps a photograph of a camera's sign as it hangs (REQ-SIG-1; needs
    /// `records`): JPEG or PNG only, at most [`MAX_SIGN_PHOTO_BYTES`], sealed in
    /// the provisions store; logged.
    pub async fn sign_photo_add(
        &self,
        actor: &Actor,
        camera: CameraId,
        bytes: &[u8],
    ) -> Result<SignPhoto> {
        self.require(actor, Permission::Records).await?;
        let cam = self.catalog.camera(camera).await?;
        if cam.removed_at.is_some() {
            return Err(Error::NotFound(format!("camera {camera} was removed")));
        }
        if bytes.len() > MAX_SIGN_PHOTO_BYTES {
            return Err(Error::bad_input(format!(
                "photo: at most {} MiB",
                MAX_SIGN_PHOTO_BYTES >> 20
            )));
        }
        let content_type = match crate::provisions::document_type(bytes) {
            Some(t @ ("image/jpeg" | "image/png")) => t,
            _ => {
                return Err(Error::bad_input(
                    "photo: a JPEG or PNG image (写真はJPEG・PNGのみ)",
                ));
            }
        };
        let file_name = format!("signs/{camera}-{}.img", mimamori_crypto::random_hex(8));
        let sealed = self.seal_file(&file_name, bytes).await?;
        let mut photo = SignPhoto {
            id: 0,
            camera,
            file_name,
            content_type: content_type.to_string(),
            bytes: bytes.len() as i64,
            sha256: sealed.sha,
            wrapped_key: sealed.wrapped,
            nonce_prefix: sealed.nonce.to_vec(),
            added: step(actor, self.clock.now()),
        };
        photo.id = self.catalog.sign_photo_insert(&photo).await?;
        self.file_recorded(&photo.file_name);
        self.audit
            .record(
                actor,
                Entry::new(
                    "sign_photo_added",
                    format!(
                        "{}: photo {} ({content_type}, {} bytes, sha256 {})",
                        cam.name,
                        photo.id,
                        photo.bytes,
                        hex::encode(&photo.sha256)
                    ),
                )
                .camera(camera),
            )
            .await?;
        Ok(photo)
    }

    /// A sign photo's bytes, to look at (needs `records`; logged first: a
    /// photograph may show passers-by).
    pub async fn sign_photo(&self, actor: &Actor, id: i64) -> Result<(SignPhoto, Vec<u8>)> {
        self.require(actor, Permission::Records).await?;
        let photo = self
            .catalog
            .sign_photos()
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| Error::NotFound(format!("sign photo {id}")))?;
        self.audit
            .record(
                actor,
                Entry::new("sign_photo_viewed", format!("photo {id}")).camera(photo.camera),
            )
            .await?;
        let bytes = self.open_file(
            &photo.file_name,
            &photo.wrapped_key,
            &photo.nonce_prefix,
            photo.bytes,
        )?;
        Ok((photo, bytes))
    }
}
