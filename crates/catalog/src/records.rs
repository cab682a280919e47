//! Catalog side of the records kept beside the footage: complaints and inquiries
//! (intake, owner, answer, closing), and the disposal of a registered medium with
//! each person's confirmation. Every change is an update that applies only in
//! the state it expects; how many confirmations complete a disposal is decided
//! by the governance layer from the policy.

use mimamori_base::{Timestamp, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::provisions::{Medium, Step};
use crate::{Catalog, CatalogError, Result};

/// A complaint or an inquiry as recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct Complaint {
    pub id: i64,
    /// `complaint` or `inquiry`.
    pub kind: String,
    pub received_at: Timestamp,
    /// `counter`, `phone`, `mail`, `letter` or `other`.
    pub channel: String,
    pub summary: String,
    /// The person's contact, only if they gave it (personal information).
    pub contact: String,
    pub owner: Option<UserId>,
    pub due_at: Timestamp,
    pub response: Option<String>,
    pub closed: Option<Step>,
    pub created: Step,
}

/// What an intake records.
#[derive(Clone, Debug)]
pub struct NewComplaint<'a> {
    pub kind: &'a str,
    pub received_at: Timestamp,
    pub channel: &'a str,
    pub summary: &'a str,
    pub contact: &'a str,
    pub owner: Option<UserId>,
    pub due_at: Timestamp,
}

/// A medium's disposal: begun by someone with a method, confirmed by people.
#[derive(Clone, Debug, PartialEq)]
pub struct Disposal {
    /// `erasure` or `destruction`.
    pub method: String,
    pub note: String,
    pub started_at: Timestamp,
    /// Set once the confirmations the policy requires are in.
    pub disposed_at: Option<Timestamp>,
    pub confirmations: Vec<Confirmation>,
}

/// One person's confirmation, in their own account.
#[derive(Clone, Debug, PartialEq)]
pub struct Confirmation {
    pub user: UserId,
    pub as_manager: bool,
    pub at: Timestamp,
}

pub(crate) fn disposal_of(r: &AnyRow) -> Result<Option<Disposal>> {
    let Some(method) = r.try_get::<Option<String>, _>("disposal_method")? else {
        return Ok(None);
    };
    Ok(Some(Disposal {
        method,
        note: r
            .try_get::<Option<String>, _>("disposal_note")?
            .unwrap_or_default(),
        started_at: Timestamp(
            r.try_get::<Option<i64>, _>("disposal_started_at_us")?
                .unwrap_or(0),
        ),
        disposed_at: r
            .try_get::<Option<i64>, _>("disposed_at_us")?
            .map(Timestamp),
        confirmations: Vec::new(),
    }))
}

fn complaint_of(r: &AnyRow) -> Result<Complaint> {
    let closed = r.try_get::<Option<i64>, _>("closed_at_us")?.map(|at| Step {
        by: r
            .try_get::<Option<i64>, _>("closed_by")
            .ok()
            .flatten()
            .map(UserId),
        at: Timestamp(at),
    });
    Ok(Complaint {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        received_at: Timestamp(r.try_get("received_at_us")?),
        channel: r.try_get("channel")?,
        summary: r.try_get("summary")?,
        contact: r.try_get("contact")?,
        owner: r.try_get::<Option<i64>, _>("owner")?.map(UserId),
        due_at: Timestamp(r.try_get("due_at_us")?),
        response: r.try_get("response")?,
        closed,
        created: Step {
            by: r.try_get::<Option<i64>, _>("created_by")?.map(UserId),
            at: Timestamp(r.try_get("created_at_us")?),
        },
    })
}

impl Catalog {
    pub async fn complaint_insert(&self, c: &NewComplaint<'_>, created: &Step) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO complaint (kind, received_at_us, channel, summary, contact, owner, due_at_us, \
             created_by, created_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(c.kind)
        .bind(c.received_at.0)
        .bind(c.channel)
        .bind(c.summary)
        .bind(c.contact)
        .bind(c.owner.map(|u| u.0))
        .bind(c.due_at.0)
        .bind(created.by.map(|u| u.0))
        .bind(created.at.0)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Records the answer and closes the complaint (once).
    pub async fn complaint_close(&self, id: i64, response: &str, s: &Step) -> Result<()> {
        let done = sqlx::query(
            "UPDATE complaint SET response = $1, closed_at_us = $2, closed_by = $3 \
             WHERE id = $4 AND closed_at_us IS NULL",
        )
        .bind(response)
        .bind(s.at.0)
        .bind(s.by.map(|u| u.0))
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(CatalogError::Stale(format!(
                "complaint {id} is closed already (or does not exist)"
            )));
        }
        Ok(())
    }

    pub async fn complaint(&self, id: i64) -> Result<Complaint> {
        let r = sqlx::query("SELECT * FROM complaint WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| CatalogError::NotFound(format!("complaint {id}")))?;
        complaint_of(&r)
    }

    /// Every complaint, newest first.
    pub async fn complaints(&self) -> Result<Vec<Complaint>> {
        sqlx::query("SELECT * FROM complaint ORDER BY received_at_us DESC, id DESC")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(complaint_of)
            .collect()
    }

    pub async fn medium(&self, id: i64) -> Result<Medium> {
        self.media()
            .await?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| CatalogError::NotFound(format!("medium {id}")))
    }

    /// Begins a medium's disposal (once) with its method.
    pub async fn disposal_begin(
        &self,
        medium: i64,
        method: &str,
        note: &str,
        at: Timestamp,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE medium SET disposal_method = $1, disposal_note = $2, disposal_started_at_us = $3 \
             WHERE id = $4 AND disposal_method IS NULL",
        )
        .bind(method)
        .bind(note)
        .bind(at.0)
        .bind(medium)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(CatalogError::Stale(format!(
                "the disposal of medium {medium} has begun already"
            )));
        }
        Ok(())
    }

    /// One person's confirmation of a disposal under way (once per person).
    pub async fn disposal_confirm(&self, medium: i64, c: &Confirmation) -> Result<()> {
        let done = sqlx::query(
            "INSERT INTO medium_confirmation (medium_id, user_id, as_manager, at_us) \
             SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM medium WHERE id = $5 \
             AND disposal_method IS NOT NULL AND disposed_at_us IS NULL) \
             ON CONFLICT DO NOTHING",
        )
        .bind(medium)
        .bind(c.user.0)
        .bind(i64::from(c.as_manager))
        .bind(c.at.0)
        .bind(medium)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(CatalogError::Stale(format!(
                "medium {medium}: already confirmed by this person, disposed of, or not being disposed of"
            )));
        }
        Ok(())
    }

    /// Marks the disposal complete.
    pub async fn disposal_complete(&self, medium: i64, at: Timestamp) -> Result<()> {
        sqlx::query(
            "UPDATE medium SET disposed_at_us = $1 WHERE id = $2 AND disposed_at_us IS NULL",
        )
        .bind(at.0)
        .bind(medium)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn fill_confirmations(&self, media: &mut [Medium]) -> Result<()> {
        let rows = sqlx::query(
            "SELECT medium_id, user_id, as_manager, at_us FROM medium_confirmation ORDER BY at_us",
        )
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let id: i64 = r.try_get("medium_id")?;
            if let Some(d) = media
                .iter_mut()
                .find(|m| m.id == id)
                .and_then(|m| m.disposal.as_mut())
            {
                d.confirmations.push(Confirmation {
                    user: UserId(r.try_get("user_id")?),
                    as_manager: r.try_get::<i64, _>("as_manager")? != 0,
                    at: Timestamp(r.try_get("at_us")?),
                });
            }
        }
        Ok(())
    }
}

/// A periodic check of a camera as recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct CameraCheck {
    pub id: i64,
    pub camera: mimamori_base::CameraId,
    /// `placement_review`, `inspection` or `signage`.
    pub kind: String,
    pub done_at: Timestamp,
    pub done_by: String,
    pub outcome: String,
    pub action: String,
    pub recorded: Step,
}

impl Catalog {
    pub async fn check_insert(&self, c: &CameraCheck) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO camera_check (camera_id, kind, done_at_us, done_by, outcome, action, \
             recorded_by, recorded_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(c.camera.0)
        .bind(&c.kind)
        .bind(c.done_at.0)
        .bind(&c.done_by)
        .bind(&c.outcome)
        .bind(&c.action)
        .bind(c.recorded.by.map(|u| u.0))
        .bind(c.recorded.at.0)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Every check, newest first.
    pub async fn checks(&self) -> Result<Vec<CameraCheck>> {
        sqlx::query("SELECT * FROM camera_check ORDER BY done_at_us DESC, id DESC")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                Ok(CameraCheck {
                    id: r.try_get("id")?,
                    camera: mimamori_base::CameraId(r.try_get("camera_id")?),
                    kind: r.try_get("kind")?,
                    done_at: Timestamp(r.try_get("done_at_us")?),
                    done_by: r.try_get("done_by")?,
                    outcome: r.try_get("outcome")?,
                    action: r.try_get("action")?,
                    recorded: Step {
                        by: r.try_get::<Option<i64>, _>("recorded_by")?.map(UserId),
                        at: Timestamp(r.try_get("recorded_at_us")?),
                    },
                })
            })
            .collect()
    }
}

/// A photograph of a camera's sign (REQ-SIG-1), sealed in the provisions store.
#[derive(Clone, Debug, PartialEq)]
pub struct SignPhoto {
    pub id: i64,
    pub camera: mimamori_base::CameraId,
    pub file_name: String,
    pub content_type: String,
    pub bytes: i64,
    pub sha256: Vec<u8>,
    pub wrapped_key: Vec<u8>,
    pub nonce_prefix: Vec<u8>,
    pub added: Step,
}

impl Catalog {
    pub async fn sign_photo_insert(&self, p: &SignPhoto) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO sign_photo (camera_id, file_name, content_type, bytes, sha256, wrapped_key, \
             nonce_prefix, added_by, added_at_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(p.camera.0)
        .bind(&p.file_name)
        .bind(&p.content_type)
        .bind(p.bytes)
        .bind(&p.sha256)
        .bind(&p.wrapped_key)
        .bind(&p.nonce_prefix)
        .bind(p.added.by.map(|u| u.0))
        .bind(p.added.at.0)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Every sign photo, newest first.
    pub async fn sign_photos(&self) -> Result<Vec<SignPhoto>> {
        let rows = sqlx::query("SELECT * FROM sign_photo ORDER BY id DESC")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SignPhoto {
                    id: r.try_get("id")?,
                    camera: mimamori_base::CameraId(r.try_get("camera_id")?),
                    file_name: r.try_get("file_name")?,
                    content_type: r.try_get("content_type")?,
                    bytes: r.try_get("bytes")?,
                    sha256: r.try_get("sha256")?,
                    wrapped_key: r.try_get("wrapped_key")?,
                    nonce_prefix: r.try_get("nonce_prefix")?,
                    added: Step {
                        by: r.try_get::<Option<i64>, _>("added_by")?.map(UserId),
                        at: Timestamp(r.try_get("added_at_us")?),
                    },
                })
            })
            .collect()
    }
}
