//! Copies of held footage onto the external medium a hold names (Tottori 5(3):
//! retention is extended only by keeping the images on an external medium). A
//! copy is an evidence package built by the provision machinery (every frame's
//! digest, the chain up to a signed head, the signed manifest; encrypted in the
//! provisions store, optionally an AES ZIP with a passphrase), but it answers a
//! hold, not a request: it is recorded against the hold and logged as such, and
//! nothing is provided to anyone.

use std::sync::Arc;

use mimamori_catalog::hold_copies::HoldCopy;
use mimamori_evidence::manifest::{Recipient, RequestFacts};
use mimamori_policy::Permission;

use crate::Governance;
use crate::actor::Actor;
use crate::audit::Entry;
use crate::error::{Error, Result};
use crate::evidence::{PackageFacts, Progress};
use crate::provisions::step;
use crate::viewing::Footage;

impl Governance {
    /// The copies made of held footage, oldest first (needs `retention_view`).
    pub async fn hold_copies(&self, actor: &Actor) -> Result<Vec<HoldCopy>> {
        self.require(actor, Permission::RetentionView).await?;
        Ok(self.catalog.hold_copies().await?)
    }

    /// Copies a hold's footage for its medium: needs `retention_hold`, and
    /// `export` of each of its cameras over its period (so only from a
    /// registered terminal). The hold must be in force and name its medium. The
    /// copy is logged before any footage is read.
    pub async fn hold_copy(
        &self,
        actor: &Actor,
        hold_id: i64,
        passphrase: Option<&str>,
    ) -> Result<HoldCopy> {
        self.require(actor, Permission::RetentionHold).await?;
        let now = self.clock.now();
        let hold = self.hold_by_id(hold_id).await?;
        if hold.released_at.is_some() || hold.until <= now {
            return Err(Error::Conflict(format!(
                "hold {hold_id} has ended: its footage is no longer kept"
            )));
        }
        let Some(medium) = hold.medium.clone().filter(|m| !m.trim().is_empty()) else {
            return Err(Error::rule(format!(
                "hold {hold_id} names no external medium: a copy is made for the medium that keeps the images"
            )));
        };
        let passphrase = passphrase.map(str::to_string).filter(|s| !s.is_empty());
        if passphrase
            .as_ref()
            .is_some_and(|s| s.chars().count() < mimamori_evidence::writer::MIN_PASSPHRASE)
        {
            return Err(Error::bad_input(format!(
                "passphrase: at least {} characters",
                mimamori_evidence::writer::MIN_PASSPHRASE
            )));
        }
        self.authorize_export(
            actor,
            &hold.cameras,
            (hold.from, hold.to),
            "copy held footage",
        )
        .await?;
        let mut cameras = Vec::new();
        for c in &hold.cameras {
            cameras.push(self.catalog.camera(*c).await?);
        }
        let basis = self.policy.retention.hold_medium_basis.clone();
        // No byte of footage is read before this entry is written.
        self.audit
            .record_view(
                actor,
                Entry {
                    action: "hold_copy",
                    range: Some((hold.from, hold.to)),
                    purpose: format!("保存期間の延長 No.{hold_id}: {}", hold.reason),
                    detail: format!(
                        "hold {hold_id}: a copy for {medium}{}",
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
        let name = |u: Option<mimamori_base::UserId>| async move {
            match u {
                Some(u) => self
                    .catalog
                    .user(u)
                    .await
                    .map(|u| format!("{} ({})", u.display_name, u.username))
                    .unwrap_or_default(),
                None => "(console)".to_string(),
            }
        };
        let facts = PackageFacts {
            request: RequestFacts {
                kind: "hold".into(),
                number: hold_id,
                received_on: hold.created_at.jst_date().format("%Y-%m-%d").to_string(),
                ground: "保存期間の延長（外部記録媒体への保存）".into(),
                ground_basis: basis,
                ground_detail: medium.clone(),
                reason: hold.reason.clone(),
                method: "外部記録媒体".into(),
                recipient: Recipient {
                    organisation: self.policy.installer.clone(),
                    ..Recipient::default()
                },
            },
            approved_by: name(hold.created_by).await,
            approved_at: hold.created_at,
            extracted_by: name(actor.user_id()).await,
            passphrase: passphrase.clone(),
        };
        let built = self
            .build_package(
                &format!("hold-{hold_id}"),
                &cameras,
                hold.from,
                hold.to,
                facts,
                Arc::new(Progress::default()),
            )
            .await?;
        let mut copy = HoldCopy {
            id: 0,
            hold_id,
            file_name: built.file_name,
            bytes: i64::try_from(built.bytes).unwrap_or(i64::MAX),
            sha256: built.sha256.to_vec(),
            manifest_sha256: built.manifest_sha256.to_vec(),
            wrapped_key: built.wrapped_key,
            nonce_prefix: built.nonce_prefix.to_vec(),
            passphrase_protected: passphrase.is_some(),
            frames: i64::try_from(built.frames).unwrap_or(i64::MAX),
            built: step(actor, self.clock.now()),
        };
        copy.id = self.catalog.hold_copy_insert(&copy).await?;
        self.file_recorded(&copy.file_name);
        self.audit
            .record(
                actor,
                Entry::new(
                    "hold_copy_built",
                    format!(
                        "hold {hold_id}: copy {} for {medium}, {} bytes, {} frames, sha256 {}",
                        copy.id,
                        copy.bytes,
                        copy.frames,
                        hex::encode(&copy.sha256)
                    ),
                ),
            )
            .await?;
        Ok(copy)
    }

    /// A copy's file, to write onto the medium: the same permissions as making
    /// it; logged before any byte leaves.
    pub async fn hold_copy_file(
        &self,
        actor: &Actor,
        hold_id: i64,
        copy_id: i64,
    ) -> Result<Footage> {
        self.require(actor, Permission::RetentionHold).await?;
        let copy = self
            .catalog
            .hold_copies()
            .await?
            .into_iter()
            .find(|c| c.id == copy_id && c.hold_id == hold_id)
            .ok_or_else(|| Error::NotFound(format!("copy {copy_id} of hold {hold_id}")))?;
        let hold = self.hold_by_id(hold_id).await?;
        self.authorize_export(
            actor,
            &hold.cameras,
            (hold.from, hold.to),
            "download a copy of held footage",
        )
        .await?;
        self.audit
            .record_view(
                actor,
                Entry {
                    action: "hold_copy_downloaded",
                    range: Some((hold.from, hold.to)),
                    purpose: format!("保存期間の延長 No.{hold_id}"),
                    detail: format!(
                        "hold {hold_id}: copy {copy_id}, sha256 {}",
                        hex::encode(&copy.sha256)
                    ),
                    ..Entry::default()
                },
            )
            .await?;
        self.sealed_zip(
            &copy.file_name,
            &copy.wrapped_key,
            &copy.nonce_prefix,
            copy.bytes,
            &copy.sha256,
            format!("mimamori-hold{hold_id}-copy{copy_id}.zip"),
        )
    }

    async fn hold_by_id(&self, hold_id: i64) -> Result<mimamori_catalog::retention::Hold> {
        self.catalog
            .holds()
            .await?
            .into_iter()
            .find(|h| h.id == hold_id)
            .ok_or_else(|| Error::NotFound(format!("hold {hold_id}")))
    }
}
