//! Catalog side of provision to third parties: requests with their cameras and
//! automatic hold (inserted together), identity checks, decisions, deliveries and
//! withdrawals (each an update that only applies in the state it expects), the
//! request documents and evidence packages (encrypted files, their keys wrapped),
//! and the media register. What is allowed when is decided by the governance layer.

use mimamori_base::{CameraId, Timestamp, UserId};
use sqlx::Row;

use crate::{Catalog, CatalogError, Result};

/// A request as registered (申請・照会), every field of the request form.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestFields {
    /// 申請受付日, `YYYY-MM-DD` (Japan).
    pub received_on: String,
    pub requester_address: String,
    pub requester_organisation: String,
    pub requester_representative: String,
    pub contact_department: String,
    pub contact_person: String,
    pub contact_phone: String,
    pub cameras: Vec<CameraId>,
    pub from: Timestamp,
    pub to: Timestamp,
    /// 申請理由・利用目的.
    pub reason: String,
    /// A ground id of the policy, and what the form's blank says (その他 ( ), the case).
    pub ground: String,
    pub ground_detail: String,
    /// A method id of the policy, and its detail.
    pub method: String,
    pub method_detail: String,
    /// 特記事項.
    pub remarks: String,
}

/// 提供の可否.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Approved,
    Refused,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approved => "approved",
            Decision::Refused => "refused",
        }
    }

    fn parse(s: &str) -> Option<Decision> {
        match s {
            "approved" => Some(Decision::Approved),
            "refused" => Some(Decision::Refused),
            _ => None,
        }
    }
}

/// Who did a step, and when.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub by: Option<UserId>,
    pub at: Timestamp,
}

#[derive(Clone, Debug, PartialEq)]
pub struct IdentityCheck {
    pub method: String,
    pub detail: String,
    pub step: Step,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DecisionRecord {
    pub decision: Decision,
    pub reason: String,
    /// The operator named to extract (the manager may always).
    pub extractor: Option<UserId>,
    pub step: Step,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub recipient: String,
    pub medium: String,
    pub note: String,
    pub step: Step,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Withdrawal {
    pub reason: String,
    pub step: Step,
}

/// A stored request with what happened to it.
#[derive(Clone, Debug, PartialEq)]
pub struct Provision {
    pub id: i64,
    pub fields: RequestFields,
    pub hold_id: Option<i64>,
    pub registered: Step,
    pub identity: Option<IdentityCheck>,
    pub decision: Option<DecisionRecord>,
    pub delivery: Option<Delivery>,
    pub withdrawal: Option<Withdrawal>,
    /// The agreement it was made under (the station's own extraction).
    pub agreement: Option<i64>,
}

/// A request made under an agreement: identified and approved by the agreement
/// itself, recorded with the request in one transaction.
#[derive(Clone, Debug)]
pub struct AgreementGrant {
    pub agreement: i64,
    pub identity_method: String,
    pub identity_detail: String,
    pub decision_reason: String,
    /// Who approved: the manager who made the agreement.
    pub approved_by: Option<UserId>,
    pub extractor: UserId,
}

/// A request document to store (the file is already written, encrypted).
#[derive(Clone, Debug)]
pub struct NewDocument<'a> {
    pub request_id: i64,
    pub file_name: &'a str,
    pub original_name: &'a str,
    pub content_type: &'a str,
    pub bytes: i64,
    pub sha256: &'a [u8],
    pub wrapped_key: &'a [u8],
    pub nonce_prefix: &'a [u8],
    pub added: Step,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    pub id: i64,
    pub request_id: i64,
    pub file_name: String,
    pub original_name: String,
    pub content_type: String,
    pub bytes: i64,
    pub sha256: Vec<u8>,
    pub wrapped_key: Vec<u8>,
    pub nonce_prefix: Vec<u8>,
    pub added: Step,
}

/// An evidence package to store (the file is already written, encrypted).
#[derive(Clone, Debug)]
pub struct NewPackage<'a> {
    pub request_id: i64,
    pub file_name: &'a str,
    pub bytes: i64,
    pub sha256: &'a [u8],
    pub manifest_sha256: &'a [u8],
    pub wrapped_key: &'a [u8],
    pub nonce_prefix: &'a [u8],
    pub passphrase_protected: bool,
    pub cameras: &'a [CameraId],
    pub from: Timestamp,
    pub to: Timestamp,
    pub frames: i64,
    pub built: Step,
    /// For a masked copy: the package it was made from, and the areas (JSON).
    pub derived_from: Option<i64>,
    pub masks: &'a str,
}

/// A file of the provisions store as its row records it.
#[derive(Clone, Debug, PartialEq)]
pub struct SealedFile {
    /// What it is, for a person: "request No.3 package 2".
    pub what: String,
    pub file_name: String,
    pub bytes: i64,
    /// SHA-256 of the plaintext.
    pub sha256: Vec<u8>,
    pub wrapped_key: Vec<u8>,
    pub nonce_prefix: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Package {
    pub id: i64,
    pub request_id: i64,
    pub file_name: String,
    pub bytes: i64,
    pub sha256: Vec<u8>,
    pub manifest_sha256: Vec<u8>,
    pub wrapped_key: Vec<u8>,
    pub nonce_prefix: Vec<u8>,
    pub passphrase_protected: bool,
    pub cameras: Vec<CameraId>,
    pub from: Timestamp,
    pub to: Timestamp,
    pub frames: i64,
    pub built: Step,
    /// A masked copy of this package of the request.
    pub derived_from: Option<i64>,
    pub masks: String,
}

/// 記録媒体 (REQ-MED-1): a removable medium holding images.
#[derive(Clone, Debug, PartialEq)]
pub struct Medium {
    pub id: i64,
    pub kind: String,
    pub label: String,
    pub contents: String,
    pub holder: String,
    pub location: String,
    pub since: Timestamp,
    pub provision_id: Option<i64>,
    pub registered: Step,
    /// Its disposal, once begun ([`crate::records`]).
    pub disposal: Option<crate::records::Disposal>,
}

fn step(r: &sqlx::any::AnyRow, by: &str, at: &str) -> Result<Option<Step>> {
    let at: Option<i64> = r.try_get(at)?;
    Ok(at.map(|at| Step {
        by: r.try_get::<Option<i64>, _>(by).ok().flatten().map(UserId),
        at: Timestamp(at),
    }))
}

fn provision_from_row(r: &sqlx::any::AnyRow, cameras: Vec<CameraId>) -> Result<Provision> {
    let text =
        |c: &str| -> Result<String> { Ok(r.try_get::<Option<String>, _>(c)?.unwrap_or_default()) };
    let registered = step(r, "created_by", "created_at_us")?.unwrap_or(Step {
        by: None,
        at: Timestamp(0),
    });
    let identity = step(r, "identity_by", "identity_at_us")?
        .map(|s| -> Result<IdentityCheck> {
            Ok(IdentityCheck {
                method: text("identity_method")?,
                detail: text("identity_detail")?,
                step: s,
            })
        })
        .transpose()?;
    let decision = match (
        step(r, "decided_by", "decided_at_us")?,
        r.try_get::<Option<String>, _>("decision")?
            .as_deref()
            .and_then(Decision::parse),
    ) {
        (Some(s), Some(d)) => Some(DecisionRecord {
            decision: d,
            reason: text("decision_reason")?,
            extractor: r.try_get::<Option<i64>, _>("extractor_id")?.map(UserId),
            step: s,
        }),
        _ => None,
    };
    let delivery = step(r, "delivered_by", "delivered_at_us")?
        .map(|s| -> Result<Delivery> {
            Ok(Delivery {
                recipient: text("delivery_recipient")?,
                medium: text("delivery_medium")?,
                note: text("delivery_note")?,
                step: s,
            })
        })
        .transpose()?;
    let withdrawal = step(r, "withdrawn_by", "withdrawn_at_us")?
        .map(|s| -> Result<Withdrawal> {
            Ok(Withdrawal {
                reason: text("withdraw_reason")?,
                step: s,
            })
        })
        .transpose()?;
    Ok(Provision {
        id: r.try_get("id")?,
        fields: RequestFields {
            received_on: text("received_on")?,
            requester_address: text("requester_address")?,
            requester_organisation: text("requester_organisation")?,
            requester_representative: text("requester_representative")?,
            contact_department: text("contact_department")?,
            contact_person: text("contact_person")?,
            contact_phone: text("contact_phone")?,
            cameras,
            from: Timestamp(r.try_get("from_us")?),
            to: Timestamp(r.try_get("to_us")?),
            reason: text("reason")?,
            ground: text("ground")?,
            ground_detail: text("ground_detail")?,
            method: text("method")?,
            method_detail: text("method_detail")?,
            remarks: text("remarks")?,
        },
        hold_id: r.try_get("hold_id")?,
        registered,
        identity,
        decision,
        delivery,
        withdrawal,
        agreement: r.try_get("agreement_id")?,
    })
}

/// The state an update expects; a request in any other state is left alone.
const OPEN: &str = "decision IS NULL AND withdrawn_at_us IS NULL";

impl Catalog {
    /// Registers a request and, in the same transaction, the hold that keeps its
    /// footage from its start to `hold_to` until `hold_until`, with `hold_reason`.
    /// A request under an agreement carries its identity check and approval
    /// from the start (`grant`). Returns (request id, hold id).
    pub async fn provision_insert(
        &self,
        f: &RequestFields,
        registered: &Step,
        hold_to: Timestamp,
        hold_until: Timestamp,
        hold_reason: &str,
        grant: Option<&AgreementGrant>,
    ) -> Result<(i64, i64)> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO provision_request (received_on, requester_address, requester_organisation, \
             requester_representative, contact_department, contact_person, contact_phone, from_us, to_us, \
             reason, ground, ground_detail, method, method_detail, remarks, created_by, created_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
        )
        .bind(&f.received_on)
        .bind(&f.requester_address)
        .bind(&f.requester_organisation)
        .bind(&f.requester_representative)
        .bind(&f.contact_department)
        .bind(&f.contact_person)
        .bind(&f.contact_phone)
        .bind(f.from.0)
        .bind(f.to.0)
        .bind(&f.reason)
        .bind(&f.ground)
        .bind(&f.ground_detail)
        .bind(&f.method)
        .bind(&f.method_detail)
        .bind(&f.remarks)
        .bind(registered.by.map(|u| u.0))
        .bind(registered.at.0)
        .fetch_one(&mut *tx)
        .await?;
        let hold: i64 = sqlx::query_scalar(
            "INSERT INTO hold (from_us, to_us, until_us, reason, medium, created_by, created_at_us, provision_id) \
             VALUES ($1, $2, $3, $4, NULL, $5, $6, $7) RETURNING id",
        )
        .bind(f.from.0)
        .bind(hold_to.0)
        .bind(hold_until.0)
        .bind(hold_reason)
        .bind(registered.by.map(|u| u.0))
        .bind(registered.at.0)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        for c in &f.cameras {
            sqlx::query("INSERT INTO provision_camera (request_id, camera_id) VALUES ($1, $2)")
                .bind(id)
                .bind(c.0)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO hold_camera (hold_id, camera_id) VALUES ($1, $2)")
                .bind(hold)
                .bind(c.0)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE provision_request SET hold_id = $1 WHERE id = $2")
            .bind(hold)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if let Some(g) = grant {
            let (by, at) = (registered.by.map(|u| u.0), registered.at.0);
            sqlx::query(
                "UPDATE provision_request SET agreement_id = $1, identity_method = $2, identity_detail = $3, \
                 identity_by = $4, identity_at_us = $5, decision = $6, decision_reason = $7, decided_by = $8, \
                 decided_at_us = $9, extractor_id = $10 WHERE id = $11",
            )
            .bind(g.agreement)
            .bind(&g.identity_method)
            .bind(&g.identity_detail)
            .bind(by)
            .bind(at)
            .bind(Decision::Approved.as_str())
            .bind(&g.decision_reason)
            .bind(g.approved_by.map(|u| u.0))
            .bind(at)
            .bind(g.extractor.0)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok((id, hold))
    }

    /// Every request, newest first.
    pub async fn provisions(&self) -> Result<Vec<Provision>> {
        let rows = sqlx::query("SELECT * FROM provision_request ORDER BY id DESC")
            .fetch_all(&self.pool)
            .await?;
        let links =
            sqlx::query("SELECT request_id, camera_id FROM provision_camera ORDER BY camera_id")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                let cameras = links
                    .iter()
                    .filter(|l| l.try_get::<i64, _>("request_id").ok() == Some(id))
                    .filter_map(|l| l.try_get::<i64, _>("camera_id").ok().map(CameraId))
                    .collect();
                provision_from_row(r, cameras)
            })
            .collect()
    }

    pub async fn provision(&self, id: i64) -> Result<Provision> {
        let r = sqlx::query("SELECT * FROM provision_request WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| CatalogError::NotFound(format!("request {id}")))?;
        let cameras = sqlx::query_scalar::<_, i64>(
            "SELECT camera_id FROM provision_camera WHERE request_id = $1 ORDER BY camera_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(CameraId)
        .collect();
        provision_from_row(&r, cameras)
    }

    async fn provision_update(&self, sql: &str, binds: Vec<Bind>, what: &str) -> Result<()> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()));
        for b in binds {
            q = match b {
                Bind::Int(v) => q.bind(v),
                Bind::Text(v) => q.bind(v),
                Bind::Null => q.bind(None::<i64>),
            };
        }
        let done = q.execute(&self.pool).await?;
        if done.rows_affected() == 0 {
            return Err(CatalogError::Stale(what.to_string()));
        }
        Ok(())
    }

    /// Records how the requester's identity was checked (an open request).
    pub async fn provision_identity(
        &self,
        id: i64,
        method: &str,
        detail: &str,
        s: &Step,
    ) -> Result<()> {
        self.provision_update(
            &format!(
                "UPDATE provision_request SET identity_method = $1, identity_detail = $2, identity_by = $3, \
                 identity_at_us = $4 WHERE id = $5 AND {OPEN}"
            ),
            vec![
                Bind::Text(method.into()),
                Bind::Text(detail.into()),
                Bind::opt(s.by.map(|u| u.0)),
                Bind::Int(s.at.0),
                Bind::Int(id),
            ],
            "the request is decided or withdrawn already",
        )
        .await
    }

    /// Records the decision (an open request).
    pub async fn provision_decide(&self, id: i64, d: &DecisionRecord) -> Result<()> {
        self.provision_update(
            &format!(
                "UPDATE provision_request SET decision = $1, decision_reason = $2, extractor_id = $3, \
                 decided_by = $4, decided_at_us = $5 WHERE id = $6 AND {OPEN}"
            ),
            vec![
                Bind::Text(d.decision.as_str().into()),
                Bind::Text(d.reason.clone()),
                Bind::opt(d.extractor.map(|u| u.0)),
                Bind::opt(d.step.by.map(|u| u.0)),
                Bind::Int(d.step.at.0),
                Bind::Int(id),
            ],
            "the request is decided or withdrawn already",
        )
        .await
    }

    /// Records the delivery of an approved request and moves its hold's end.
    pub async fn provision_deliver(
        &self,
        id: i64,
        d: &Delivery,
        hold_until: Timestamp,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE provision_request SET delivered_by = $1, delivered_at_us = $2, delivery_recipient = $3, \
             delivery_medium = $4, delivery_note = $5 WHERE id = $6 AND decision = 'approved' \
             AND delivered_at_us IS NULL AND withdrawn_at_us IS NULL",
        )
        .bind(d.step.by.map(|u| u.0))
        .bind(d.step.at.0)
        .bind(&d.recipient)
        .bind(&d.medium)
        .bind(&d.note)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(CatalogError::Stale(
                "only an approved request not yet delivered can be delivered".into(),
            ));
        }
        sqlx::query(
            "UPDATE hold SET until_us = $1 WHERE provision_id = $2 AND released_at_us IS NULL",
        )
        .bind(hold_until.0)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends a request that was not delivered (withdrawn or refused), releasing its hold.
    pub async fn provision_close(
        &self,
        id: i64,
        withdrawal: Option<&Withdrawal>,
        at: Timestamp,
        by: Option<UserId>,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        if let Some(w) = withdrawal {
            let done = sqlx::query(
                "UPDATE provision_request SET withdrawn_by = $1, withdrawn_at_us = $2, withdraw_reason = $3 \
                 WHERE id = $4 AND delivered_at_us IS NULL AND withdrawn_at_us IS NULL",
            )
            .bind(w.step.by.map(|u| u.0))
            .bind(w.step.at.0)
            .bind(&w.reason)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(CatalogError::Stale(
                    "a delivered or withdrawn request cannot be withdrawn".into(),
                ));
            }
        }
        sqlx::query(
            "UPDATE hold SET released_at_us = $1, released_by = $2 WHERE provision_id = $3 AND released_at_us IS NULL",
        )
        .bind(at.0)
        .bind(by.map(|u| u.0))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The file names of every request document and package (the provisions store's files).
    pub async fn provision_file_names(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT file_name FROM provision_document UNION ALL SELECT file_name FROM provision_package \
             UNION ALL SELECT file_name FROM hold_copy UNION ALL SELECT file_name FROM sign_photo",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every file sealed in the provisions store as recorded (request documents,
    /// packages, copies of holds, sign photos), for `mimamori verify`.
    pub async fn sealed_files(&self) -> Result<Vec<SealedFile>> {
        let rows = sqlx::query(
            "SELECT 'request No.' || request_id || ' document ' || id AS what, file_name, bytes, sha256, \
             wrapped_key, nonce_prefix FROM provision_document \
             UNION ALL SELECT 'request No.' || request_id || ' package ' || id, file_name, bytes, sha256, \
             wrapped_key, nonce_prefix FROM provision_package \
             UNION ALL SELECT 'hold ' || hold_id || ' copy ' || id, file_name, bytes, sha256, \
             wrapped_key, nonce_prefix FROM hold_copy \
             UNION ALL SELECT 'camera ' || camera_id || ' sign photo ' || id, file_name, bytes, sha256, \
             wrapped_key, nonce_prefix FROM sign_photo",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SealedFile {
                    what: r.try_get("what")?,
                    file_name: r.try_get("file_name")?,
                    bytes: r.try_get("bytes")?,
                    sha256: r.try_get("sha256")?,
                    wrapped_key: r.try_get("wrapped_key")?,
                    nonce_prefix: r.try_get("nonce_prefix")?,
                })
            })
            .collect()
    }

    pub async fn document_insert(&self, d: &NewDocument<'_>) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO provision_document (request_id, file_name, original_name, content_type, bytes, sha256, \
             wrapped_key, nonce_prefix, added_by, added_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(d.request_id)
        .bind(d.file_name)
        .bind(d.original_name)
        .bind(d.content_type)
        .bind(d.bytes)
        .bind(d.sha256)
        .bind(d.wrapped_key)
        .bind(d.nonce_prefix)
        .bind(d.added.by.map(|u| u.0))
        .bind(d.added.at.0)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The documents of a request, oldest first.
    pub async fn documents(&self, request_id: i64) -> Result<Vec<Document>> {
        let rows =
            sqlx::query("SELECT * FROM provision_document WHERE request_id = $1 ORDER BY id")
                .bind(request_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok(Document {
                    id: r.try_get("id")?,
                    request_id: r.try_get("request_id")?,
                    file_name: r.try_get("file_name")?,
                    original_name: r.try_get("original_name")?,
                    content_type: r.try_get("content_type")?,
                    bytes: r.try_get("bytes")?,
                    sha256: r.try_get("sha256")?,
                    wrapped_key: r.try_get("wrapped_key")?,
                    nonce_prefix: r.try_get("nonce_prefix")?,
                    added: step(r, "added_by", "added_at_us")?.unwrap_or(Step {
                        by: None,
                        at: Timestamp(0),
                    }),
                })
            })
            .collect()
    }

    pub async fn package_insert(&self, p: &NewPackage<'_>) -> Result<i64> {
        let cameras: Vec<String> = p.cameras.iter().map(|c| c.to_string()).collect();
        Ok(sqlx::query_scalar(
            "INSERT INTO provision_package (request_id, file_name, bytes, sha256, manifest_sha256, wrapped_key, \
             nonce_prefix, passphrase_protected, cameras, from_us, to_us, frames, built_by, built_at_us, \
             derived_from, masks) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
        )
        .bind(p.request_id)
        .bind(p.file_name)
        .bind(p.bytes)
        .bind(p.sha256)
        .bind(p.manifest_sha256)
        .bind(p.wrapped_key)
        .bind(p.nonce_prefix)
        .bind(i64::from(p.passphrase_protected))
        .bind(cameras.join(","))
        .bind(p.from.0)
        .bind(p.to.0)
        .bind(p.frames)
        .bind(p.built.by.map(|u| u.0))
        .bind(p.built.at.0)
        .bind(p.derived_from)
        .bind(p.masks)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The packages built for a request, oldest first.
    pub async fn packages(&self, request_id: i64) -> Result<Vec<Package>> {
        let rows = sqlx::query("SELECT * FROM provision_package WHERE request_id = $1 ORDER BY id")
            .bind(request_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let cameras: String = r.try_get("cameras")?;
                Ok(Package {
                    id: r.try_get("id")?,
                    request_id: r.try_get("request_id")?,
                    file_name: r.try_get("file_name")?,
                    bytes: r.try_get("bytes")?,
                    sha256: r.try_get("sha256")?,
                    manifest_sha256: r.try_get("manifest_sha256")?,
                    wrapped_key: r.try_get("wrapped_key")?,
                    nonce_prefix: r.try_get("nonce_prefix")?,
                    passphrase_protected: r.try_get::<i64, _>("passphrase_protected")? != 0,
                    cameras: cameras
                        .split(',')
                        .filter_map(|c| c.parse().ok())
                        .map(CameraId)
                        .collect(),
                    from: Timestamp(r.try_get("from_us")?),
                    to: Timestamp(r.try_get("to_us")?),
                    frames: r.try_get("frames")?,
                    built: step(r, "built_by", "built_at_us")?.unwrap_or(Step {
                        by: None,
                        at: Timestamp(0),
                    }),
                    derived_from: r.try_get("derived_from")?,
                    masks: r.try_get("masks")?,
                })
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn medium_insert(
        &self,
        kind: &str,
        label: &str,
        contents: &str,
        holder: &str,
        location: &str,
        since: Timestamp,
        provision_id: Option<i64>,
        registered: &Step,
    ) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO medium (kind, label, contents, holder, location, since_us, provision_id, registered_by, \
             created_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(kind)
        .bind(label)
        .bind(contents)
        .bind(holder)
        .bind(location)
        .bind(since.0)
        .bind(provision_id)
        .bind(registered.by.map(|u| u.0))
        .bind(registered.at.0)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The media register, newest first.
    pub async fn media(&self) -> Result<Vec<Medium>> {
        let rows = sqlx::query("SELECT * FROM medium ORDER BY id DESC")
            .fetch_all(&self.pool)
            .await?;
        let mut media: Vec<Medium> = rows
            .iter()
            .map(|r| {
                Ok(Medium {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    label: r.try_get("label")?,
                    contents: r.try_get("contents")?,
                    holder: r.try_get("holder")?,
                    location: r.try_get("location")?,
                    since: Timestamp(r.try_get("since_us")?),
                    provision_id: r.try_get("provision_id")?,
                    registered: step(r, "registered_by", "created_at_us")?.unwrap_or(Step {
                        by: None,
                        at: Timestamp(0),
                    }),
                    disposal: crate::records::disposal_of(r)?,
                })
            })
            .collect::<Result<_>>()?;
        self.fill_confirmations(&mut media).await?;
        Ok(media)
    }
}

enum Bind {
    Int(i64),
    Text(String),
    Null,
}

impl Bind {
    fn opt(v: Option<i64>) -> Bind {
        v.map(Bind::Int).unwrap_or(Bind::Null)
    }
}
