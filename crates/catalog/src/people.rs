//! Catalog side of people: designations with their validity periods and history,
//! confidentiality pledges and training records, instructions to operators, and
//! second-factor secrets. Who may designate whom is decided by the governance layer.

use mimamori_base::{CameraId, Timestamp, UserId};
use sqlx::Row;

use crate::{Catalog, CatalogError, Result, dialect};

/// One person holding one role for a period (REQ-ROL-5).
#[derive(Clone, Debug, PartialEq)]
pub struct Designation {
    pub id: i64,
    pub user_id: UserId,
    pub role: String,
    pub valid_from: Timestamp,
    pub valid_until: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    pub ended_by: Option<UserId>,
    pub end_reason: Option<String>,
    pub designated_by: Option<UserId>,
    pub basis: String,
    pub created_at: Timestamp,
}

impl Designation {
    /// The instant the designation stops (planned end or early end, whichever is first).
    pub fn end(&self) -> Option<Timestamp> {
        match (self.valid_until, self.ended_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn valid_at(&self, t: Timestamp) -> bool {
        self.valid_from <= t && self.end().is_none_or(|e| t < e)
    }
}

/// A new designation.
#[derive(Clone, Debug)]
pub struct NewDesignation<'a> {
    pub role: &'a str,
    pub valid_from: Timestamp,
    pub valid_until: Option<Timestamp>,
    pub designated_by: Option<UserId>,
    pub basis: &'a str,
}

/// A new person with their first designation.
#[derive(Clone, Debug)]
pub struct NewPerson<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    /// Empty for the installer's own staff; the company for contractors and outsourced operators.
    pub organization: &'a str,
}

/// 誓約 (pledge) or 研修 (training) record (REQ-ROL-6).
#[derive(Clone, Debug, PartialEq)]
pub struct PledgeRecord {
    pub id: i64,
    pub user_id: UserId,
    pub kind: String,
    pub on_date: String,
    pub content: String,
    pub recorded_by: Option<UserId>,
    pub recorded_at: Timestamp,
}

/// 指示: what an operator may do on which cameras, over which footage, until when.
#[derive(Clone, Debug, PartialEq)]
pub struct Instruction {
    pub id: i64,
    pub user_id: UserId,
    pub cameras: Vec<CameraId>,
    pub range: Option<(Timestamp, Timestamp)>,
    pub valid_until: Timestamp,
    pub content: String,
    pub issued_by: UserId,
    pub issued_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl Instruction {
    pub fn open_at(&self, now: Timestamp) -> bool {
        self.issued_at <= now && now < self.valid_until && self.revoked_at.is_none_or(|r| now < r)
    }

    /// Whether it covers `camera` and (if given) footage over `range`, at `now`.
    pub fn covers(
        &self,
        camera: CameraId,
        range: Option<(Timestamp, Timestamp)>,
        now: Timestamp,
    ) -> bool {
        self.open_at(now)
            && self.cameras.contains(&camera)
            && match (self.range, range) {
                (None, _) | (Some(_), None) => true,
                (Some((f, t)), Some((a, b))) => f <= a && b <= t,
            }
    }
}

const DESIGNATION_COLUMNS: &str = "id, user_id, role, valid_from_us, valid_until_us, ended_at_us, ended_by, \
     end_reason, designated_by, basis, created_at_us";

fn designation_from_row(r: &sqlx::any::AnyRow) -> Result<Designation> {
    Ok(Designation {
        id: r.try_get("id")?,
        user_id: UserId(r.try_get("user_id")?),
        role: r.try_get("role")?,
        valid_from: Timestamp(r.try_get("valid_from_us")?),
        valid_until: r
            .try_get::<Option<i64>, _>("valid_until_us")?
            .map(Timestamp),
        ended_at: r.try_get::<Option<i64>, _>("ended_at_us")?.map(Timestamp),
        ended_by: r.try_get::<Option<i64>, _>("ended_by")?.map(UserId),
        end_reason: r.try_get("end_reason")?,
        designated_by: r.try_get::<Option<i64>, _>("designated_by")?.map(UserId),
        basis: r.try_get("basis")?,
        created_at: Timestamp(r.try_get("created_at_us")?),
    })
}

async fn insert_designation(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user: UserId,
    d: &NewDesignation<'_>,
    now: Timestamp,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO designation (user_id, role, valid_from_us, valid_until_us, designated_by, basis, created_at_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(user.0)
    .bind(d.role)
    .bind(d.valid_from.0)
    .bind(d.valid_until.map(|t| t.0))
    .bind(d.designated_by.map(|u| u.0))
    .bind(d.basis)
    .bind(now.0)
    .fetch_one(&mut **tx)
    .await?)
}

impl Catalog {
    /// Creates a person and their first designation in one transaction.
    pub async fn person_create(
        &self,
        p: &NewPerson<'_>,
        d: &NewDesignation<'_>,
        now: Timestamp,
    ) -> Result<UserId> {
        let mut tx = self.write_tx().await?;
        let res = sqlx::query_scalar(
            "INSERT INTO app_user (username, display_name, password_hash, role, created_at_us, organization) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(p.username)
        .bind(p.display_name)
        .bind(p.password_hash)
        .bind(d.role)
        .bind(now.0)
        .bind(p.organization)
        .fetch_one(&mut *tx)
        .await;
        let id = match res {
            Ok(id) => UserId(id),
            Err(e) if dialect::is_unique_violation(&e) => {
                return Err(CatalogError::Conflict(format!("user {:?}", p.username)));
            }
            Err(e) => return Err(e.into()),
        };
        insert_designation(&mut tx, id, d, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn designation_insert(
        &self,
        user: UserId,
        d: &NewDesignation<'_>,
        now: Timestamp,
    ) -> Result<i64> {
        let mut tx = self.write_tx().await?;
        let id = insert_designation(&mut tx, user, d, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Ends a designation at `at` (kept in the history).
    pub async fn designation_end(
        &self,
        id: i64,
        at: Timestamp,
        by: Option<UserId>,
        reason: &str,
    ) -> Result<Designation> {
        let n = sqlx::query(
            "UPDATE designation SET ended_at_us = $1, ended_by = $2, end_reason = $3 WHERE id = $4 AND ended_at_us IS NULL",
        )
        .bind(at.0)
        .bind(by.map(|u| u.0))
        .bind(reason)
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(CatalogError::NotFound(format!("open designation {id}")));
        }
        self.designation(id).await
    }

    pub async fn designation(&self, id: i64) -> Result<Designation> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DESIGNATION_COLUMNS} FROM designation WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| CatalogError::NotFound(format!("designation {id}")))?;
        designation_from_row(&row)
    }

    /// The designation of `user` valid at `t`, if any (the most recent one if several overlap).
    pub async fn designation_at(&self, user: UserId, t: Timestamp) -> Result<Option<Designation>> {
        Ok(self
            .designations_of(user)
            .await?
            .into_iter()
            .rev()
            .find(|d| d.valid_at(t)))
    }

    /// Every designation of a person, oldest first.
    pub async fn designations_of(&self, user: UserId) -> Result<Vec<Designation>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DESIGNATION_COLUMNS} FROM designation WHERE user_id = $1 ORDER BY valid_from_us, id"
        )))
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(designation_from_row).collect()
    }

    /// Every designation, oldest first (the designation register).
    pub async fn designations(&self) -> Result<Vec<Designation>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DESIGNATION_COLUMNS} FROM designation ORDER BY valid_from_us, id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(designation_from_row).collect()
    }

    pub async fn pledge_insert(
        &self,
        user: UserId,
        kind: &str,
        on_date: &str,
        content: &str,
        by: Option<UserId>,
        now: Timestamp,
    ) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO pledge (user_id, kind, on_date, content, recorded_by, recorded_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(user.0)
        .bind(kind)
        .bind(on_date)
        .bind(content)
        .bind(by.map(|u| u.0))
        .bind(now.0)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn pledges_of(&self, user: UserId) -> Result<Vec<PledgeRecord>> {
        let rows = sqlx::query(
            "SELECT id, user_id, kind, on_date, content, recorded_by, recorded_at_us FROM pledge \
             WHERE user_id = $1 ORDER BY on_date, id",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PledgeRecord {
                    id: r.try_get("id")?,
                    user_id: UserId(r.try_get("user_id")?),
                    kind: r.try_get("kind")?,
                    on_date: r.try_get("on_date")?,
                    content: r.try_get("content")?,
                    recorded_by: r.try_get::<Option<i64>, _>("recorded_by")?.map(UserId),
                    recorded_at: Timestamp(r.try_get("recorded_at_us")?),
                })
            })
            .collect()
    }

    pub async fn instruction_insert(&self, i: &Instruction) -> Result<i64> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO instruction (user_id, range_from_us, range_to_us, valid_until_us, content, issued_by, issued_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(i.user_id.0)
        .bind(i.range.map(|r| r.0.0))
        .bind(i.range.map(|r| r.1.0))
        .bind(i.valid_until.0)
        .bind(&i.content)
        .bind(i.issued_by.0)
        .bind(i.issued_at.0)
        .fetch_one(&mut *tx)
        .await?;
        for c in &i.cameras {
            sqlx::query(
                "INSERT INTO instruction_camera (instruction_id, camera_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(c.0)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    pub async fn instruction_revoke(&self, id: i64, at: Timestamp) -> Result<()> {
        let n = sqlx::query(
            "UPDATE instruction SET revoked_at_us = $1 WHERE id = $2 AND revoked_at_us IS NULL",
        )
        .bind(at.0)
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(CatalogError::NotFound(format!("open instruction {id}")));
        }
        Ok(())
    }

    /// Instructions, newest first; only those of `user` when given.
    pub async fn instructions(&self, user: Option<UserId>) -> Result<Vec<Instruction>> {
        let rows = sqlx::query(
            "SELECT id, user_id, range_from_us, range_to_us, valid_until_us, content, issued_by, issued_at_us, \
             revoked_at_us FROM instruction i WHERE ($1 IS NULL OR user_id = $2) ORDER BY issued_at_us DESC, id DESC",
        )
        .bind(user.map(|u| u.0))
        .bind(user.map(|u| u.0))
        .fetch_all(&self.pool)
        .await?;
        // Each instruction's cameras, in one query for them all.
        let mut cameras: std::collections::HashMap<i64, Vec<CameraId>> = Default::default();
        for r in sqlx::query(
            "SELECT c.instruction_id, c.camera_id FROM instruction_camera c \
             JOIN instruction i ON i.id = c.instruction_id \
             WHERE ($1 IS NULL OR i.user_id = $2) ORDER BY c.instruction_id, c.camera_id",
        )
        .bind(user.map(|u| u.0))
        .bind(user.map(|u| u.0))
        .fetch_all(&self.pool)
        .await?
        {
            cameras
                .entry(r.try_get("instruction_id")?)
                .or_default()
                .push(CameraId(r.try_get("camera_id")?));
        }
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                let from: Option<i64> = r.try_get("range_from_us")?;
                let to: Option<i64> = r.try_get("range_to_us")?;
                Ok(Instruction {
                    id,
                    user_id: UserId(r.try_get("user_id")?),
                    cameras: cameras.remove(&id).unwrap_or_default(),
                    range: from.zip(to).map(|(f, t)| (Timestamp(f), Timestamp(t))),
                    valid_until: Timestamp(r.try_get("valid_until_us")?),
                    content: r.try_get("content")?,
                    issued_by: UserId(r.try_get("issued_by")?),
                    issued_at: Timestamp(r.try_get("issued_at_us")?),
                    revoked_at: r.try_get::<Option<i64>, _>("revoked_at_us")?.map(Timestamp),
                })
            })
            .collect()
    }
}
