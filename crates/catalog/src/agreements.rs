//! Catalog side of agreements with a police station (協定, REQ-DIS-7): the
//! agreement with its cameras, and its suspension and resumption (each an update
//! that only applies in the state it expects). Whether an account acts under an
//! agreement is decided by the governance layer.

use mimamori_base::{CameraId, Timestamp, UserId};
use sqlx::Row;

use crate::provisions::Step;
use crate::{Catalog, CatalogError, Result};

/// An agreement as recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct Agreement {
    pub id: i64,
    /// The station: its accounts carry this as their organisation.
    pub station: String,
    pub terms: String,
    pub cameras: Vec<CameraId>,
    pub valid_from: Timestamp,
    pub valid_until: Timestamp,
    pub made: Step,
    pub suspension: Option<Suspension>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Suspension {
    pub reason: String,
    pub step: Step,
}

impl Agreement {
    /// In force at `now`: within its period and not suspended.
    pub fn in_force(&self, now: Timestamp) -> bool {
        self.suspension.is_none() && self.valid_from <= now && now < self.valid_until
    }

    /// Whether it covers this camera and this footage (recorded while it was
    /// valid), at `now`.
    pub fn covers(
        &self,
        camera: CameraId,
        range: Option<(Timestamp, Timestamp)>,
        now: Timestamp,
    ) -> bool {
        self.in_force(now)
            && self.cameras.contains(&camera)
            && range.is_none_or(|(from, to)| self.valid_from <= from && to <= self.valid_until)
    }
}

/// An agreement to record.
#[derive(Clone, Debug)]
pub struct NewAgreement<'a> {
    pub station: &'a str,
    pub terms: &'a str,
    pub cameras: &'a [CameraId],
    pub valid_from: Timestamp,
    pub valid_until: Timestamp,
}

fn agreement_from_row(r: &sqlx::any::AnyRow, cameras: Vec<CameraId>) -> Result<Agreement> {
    let made = Step {
        by: r.try_get::<Option<i64>, _>("created_by")?.map(UserId),
        at: Timestamp(r.try_get("created_at_us")?),
    };
    let suspension = r
        .try_get::<Option<i64>, _>("suspended_at_us")?
        .map(|at| -> Result<Suspension> {
            Ok(Suspension {
                reason: r
                    .try_get::<Option<String>, _>("suspend_reason")?
                    .unwrap_or_default(),
                step: Step {
                    by: r.try_get::<Option<i64>, _>("suspended_by")?.map(UserId),
                    at: Timestamp(at),
                },
            })
        })
        .transpose()?;
    Ok(Agreement {
        id: r.try_get("id")?,
        station: r.try_get("station")?,
        terms: r.try_get("terms")?,
        cameras,
        valid_from: Timestamp(r.try_get("valid_from_us")?),
        valid_until: Timestamp(r.try_get("valid_until_us")?),
        made,
        suspension,
    })
}

impl Catalog {
    /// Records an agreement with its cameras.
    pub async fn agreement_insert(&self, a: &NewAgreement<'_>, made: &Step) -> Result<i64> {
        let mut tx = self.write_tx().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO agreement (station, terms, valid_from_us, valid_until_us, created_by, created_at_us) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(a.station)
        .bind(a.terms)
        .bind(a.valid_from.0)
        .bind(a.valid_until.0)
        .bind(made.by.map(|u| u.0))
        .bind(made.at.0)
        .fetch_one(&mut *tx)
        .await?;
        for c in a.cameras {
            sqlx::query("INSERT INTO agreement_camera (agreement_id, camera_id) VALUES ($1, $2)")
                .bind(id)
                .bind(c.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// Every agreement, newest first.
    pub async fn agreements(&self) -> Result<Vec<Agreement>> {
        let rows = sqlx::query("SELECT * FROM agreement ORDER BY id DESC")
            .fetch_all(&self.pool)
            .await?;
        let links =
            sqlx::query("SELECT agreement_id, camera_id FROM agreement_camera ORDER BY camera_id")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get("id")?;
                let cameras = links
                    .iter()
                    .filter(|l| l.try_get::<i64, _>("agreement_id").ok() == Some(id))
                    .filter_map(|l| l.try_get::<i64, _>("camera_id").ok().map(CameraId))
                    .collect();
                agreement_from_row(r, cameras)
            })
            .collect()
    }

    pub async fn agreement(&self, id: i64) -> Result<Agreement> {
        self.agreements()
            .await?
            .into_iter()
            .find(|a| a.id == id)
            .ok_or_else(|| CatalogError::NotFound(format!("agreement {id}")))
    }

    /// Suspends an agreement in force (no-op refused when suspended already).
    pub async fn agreement_suspend(&self, id: i64, reason: &str, s: &Step) -> Result<()> {
        let done = sqlx::query(
            "UPDATE agreement SET suspended_at_us = $1, suspended_by = $2, suspend_reason = $3 \
             WHERE id = $4 AND suspended_at_us IS NULL",
        )
        .bind(s.at.0)
        .bind(s.by.map(|u| u.0))
        .bind(reason)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(CatalogError::Stale(format!(
                "agreement {id} is suspended already"
            )));
        }
        Ok(())
    }

    /// Lifts a suspension.
    pub async fn agreement_resume(&self, id: i64) -> Result<()> {
        let done = sqlx::query(
            "UPDATE agreement SET suspended_at_us = NULL, suspended_by = NULL, suspend_reason = NULL \
             WHERE id = $1 AND suspended_at_us IS NOT NULL",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(CatalogError::Stale(format!(
                "agreement {id} is not suspended"
            )));
        }
        Ok(())
    }
}
