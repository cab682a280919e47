//! Retention as people see and extend it: the rule in force per camera with the
//! oldest footage, next erasure and capacity forecast; holds (保存期間の延長:
//! create, change, release — with a reason, a range and an end date); the
//! erasure log, the storage alarm and the last verify result. Erasure itself is
//! decided in [`crate::retention`], which reads the holds first.

use mimamori_base::time::{DAY_MICROS, parse_time};
use mimamori_base::{CameraId, Timestamp};
use mimamori_catalog::Camera;
use mimamori_catalog::retention::{Erasure, Hold, NewHold};
use mimamori_policy::{Counting, Permission};

use crate::Governance;
use crate::actor::Actor;
use crate::audit::Entry;
use crate::error::{Error, Result};
use crate::input::{TimeRange, optional, required};
use crate::retention::{StorageAlarm, available_space, expires_at};

/// The retention picture of one camera.
#[derive(Clone, Debug, PartialEq)]
pub struct RetentionPicture {
    pub camera: CameraId,
    pub days: u32,
    pub counting: Counting,
    pub basis: String,
    pub oldest: Option<Timestamp>,
    pub next_erasure: Option<Timestamp>,
    pub bytes_last_day: i64,
    /// Days the disk (or quota) holds at the rate of the last day, all cameras together.
    pub capacity_days: Option<f64>,
}

impl RetentionPicture {
    /// Whether the capacity covers the retention.
    pub fn fits(&self) -> Option<bool> {
        self.capacity_days.map(|d| d >= f64::from(self.days))
    }
}

/// The last `mimamori verify`: when, segments checked, problems, summary.
#[derive(Clone, Debug)]
pub struct VerifyRun {
    pub at: Timestamp,
    pub segments: i64,
    pub problems: i64,
    pub summary: String,
}

/// Everything the retention page shows.
#[derive(Clone, Debug)]
pub struct RetentionOverview {
    pub cameras: Vec<(Camera, RetentionPicture)>,
    pub holds: Vec<Hold>,
    pub erasures: Vec<Erasure>,
    pub alarm: StorageAlarm,
    pub last_verify: Option<VerifyRun>,
    /// Whether the actor may create, change and release holds.
    pub may_hold: bool,
}

/// A hold as typed.
#[derive(Clone, Debug, Default)]
pub struct HoldText<'a> {
    pub cameras: Vec<i64>,
    pub from: &'a str,
    pub to: &'a str,
    pub until: &'a str,
    pub reason: &'a str,
    /// The external medium holding a copy, if the extension is kept on one.
    pub medium: Option<&'a str>,
    /// A ground of the policy's `hold_grounds`, where it lists any (REQ-RET-4).
    pub ground: Option<&'a str>,
}

const REASON_REQUIRED: &str = "reason: required (理由は必須です)";

impl Governance {
    /// The retention picture of one camera (needs `retention_view`).
    pub async fn camera_retention(
        &self,
        actor: &Actor,
        camera: CameraId,
    ) -> Result<RetentionPicture> {
        self.require_camera(actor, Permission::RetentionView, camera)
            .await?;
        self.retention_picture(camera).await
    }

    /// The retention picture, for pages that show a camera to whoever may see it.
    pub(crate) async fn retention_picture(&self, camera: CameraId) -> Result<RetentionPicture> {
        let cam = self.catalog.camera(camera).await?;
        let r = &self.policy.retention;
        let days = r.days_for(&cam.name);
        let now = self.clock.now();
        let day_ago = Timestamp(now.0 - DAY_MICROS);
        let (bytes_last_day, oldest) = self.catalog.camera_storage(camera, day_ago, now).await?;
        let next_erasure = oldest.map(|o| expires_at(days, r.counting, o.add_micros(1)));
        Ok(RetentionPicture {
            camera,
            days,
            counting: r.counting,
            basis: r.basis.clone(),
            oldest,
            next_erasure,
            bytes_last_day,
            capacity_days: self.capacity_forecast(now).await?,
        })
    }

    /// Days of footage the disk (or the quota) holds at the rate all cameras
    /// recorded over the last day (`None` when nothing was recorded or the
    /// capacity is unknown).
    pub(crate) async fn capacity_forecast(&self, now: Timestamp) -> Result<Option<f64>> {
        let day_ago = Timestamp(now.0 - DAY_MICROS);
        let used = self.catalog.stored_bytes_total().await?;
        let mut all_last_day = 0;
        let mut oldest: Option<Timestamp> = None;
        for c in self.catalog.cameras().await? {
            let (bytes, first) = self.catalog.camera_storage(c.id, day_ago, now).await?;
            all_last_day += bytes;
            oldest = match (oldest, first) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        let capacity_bytes = match self.policy.storage.quota_bytes {
            0 => available_space(&self.store).map(|f| {
                used + i64::try_from(f).unwrap_or(0)
                    - i64::try_from(self.policy.storage.min_free_bytes).unwrap_or(0)
            }),
            q => Some(i64::try_from(q).unwrap_or(i64::MAX)),
        };
        // Rate from the recorded span of the last day (at least an hour), to avoid a
        // cold-start overestimate.
        let recorded_for = oldest
            .map(|o| (now.0 - o.0).clamp(3_600_000_000, DAY_MICROS))
            .unwrap_or(DAY_MICROS);
        let daily_rate = all_last_day as f64 * DAY_MICROS as f64 / recorded_for as f64;
        Ok(capacity_bytes
            .filter(|_| daily_rate > 0.0)
            .map(|c| c as f64 / daily_rate))
    }

    /// The retention page: rules per camera, holds, erasures, alarm, last verify
    /// (needs `retention_view`).
    pub async fn retention_overview(&self, actor: &Actor) -> Result<RetentionOverview> {
        self.require(actor, Permission::RetentionView).await?;
        let mut cameras = Vec::new();
        for c in self.catalog.cameras().await? {
            let picture = self.retention_picture(c.id).await?;
            cameras.push((c, picture));
        }
        Ok(RetentionOverview {
            cameras,
            holds: self.catalog.holds().await?,
            erasures: self.catalog.erasures(None, 50).await?,
            alarm: self.sweeper.alarm(),
            last_verify: self.catalog.last_verify_run().await?.map(
                |(at, segments, problems, summary)| VerifyRun {
                    at,
                    segments,
                    problems,
                    summary,
                },
            ),
            may_hold: self.may(actor, Permission::RetentionHold),
        })
    }

    /// Every hold, newest first (needs `retention_view`).
    pub async fn holds(&self, actor: &Actor) -> Result<Vec<Hold>> {
        self.require(actor, Permission::RetentionView).await?;
        Ok(self.catalog.holds().await?)
    }

    /// The newest erasure records (needs `retention_view`).
    pub async fn erasures(&self, actor: &Actor, limit: i64) -> Result<Vec<Erasure>> {
        self.require(actor, Permission::RetentionView).await?;
        Ok(self.catalog.erasures(None, limit).await?)
    }

    /// Keeps footage beyond retention (REQ-RET-3; needs `retention_hold`).
    pub async fn hold_create(&self, actor: &Actor, t: &HoldText<'_>) -> Result<Hold> {
        self.require(actor, Permission::RetentionHold).await?;
        let reason = required(t.reason, REASON_REQUIRED)?;
        let grounds = &self.policy.retention.hold_grounds;
        let ground = match t.ground.map(str::trim).filter(|g| !g.is_empty()) {
            _ if grounds.is_empty() => None,
            Some(g) => Some(self.policy.retention.hold_ground(g).ok_or_else(|| {
                Error::bad_input(format!(
                    "ground: one of {} (保存期間を過ぎて保存できるのは規程に定める場合に限られます)",
                    grounds.iter().map(|g| g.id.as_str()).collect::<Vec<_>>().join(", ")
                ))
            })?),
            None => {
                return Err(Error::rule(format!(
                    "ground: footage is kept past its days only {} ({})",
                    grounds.iter().map(|g| g.label.as_str()).collect::<Vec<_>>().join("、"),
                    grounds.iter().map(|g| g.basis.as_str()).collect::<Vec<_>>().join("・")
                )));
            }
        };
        if t.cameras.is_empty() {
            return Err(Error::bad_input("cameras: choose at least one"));
        }
        let from = parse_time("from", t.from)?;
        let to = parse_time("to", t.to)?;
        let until = parse_time("until", t.until)?;
        let range = TimeRange::new(from, to, "to must be after from")?;
        let now = self.clock.now();
        if until <= now {
            return Err(Error::bad_input(
                "until: the end date must be in the future",
            ));
        }
        let mut cameras = Vec::new();
        for c in &t.cameras {
            cameras.push(self.catalog.camera(CameraId(*c)).await?.id);
        }
        let medium = optional(t.medium);
        if self.policy.retention.hold_needs_medium && medium.is_none() {
            return Err(Error::rule(format!(
                "medium: retention is extended only by keeping the images on an external medium ({}); name the medium",
                self.policy.retention.hold_medium_basis
            )));
        }
        let id = self
            .catalog
            .hold_create(&NewHold {
                cameras: &cameras,
                from: range.from,
                to: range.to,
                until,
                reason: &reason,
                medium,
                created_by: actor.user_id(),
                created_at: now,
                ground: ground.map(|g| g.id.as_str()).unwrap_or(""),
            })
            .await?;
        let cams: Vec<String> = cameras.iter().map(|c| c.to_string()).collect();
        // The medium holding the copy enters the media register (REQ-MED-1).
        let medium_id = match medium {
            Some(m) => Some(
                self.catalog
                    .medium_insert(
                        "保存期間の延長（外部記録媒体）",
                        m,
                        &format!(
                            "hold {id}: cameras [{}] {} – {}",
                            cams.join(","),
                            range.from.jst_minute(),
                            range.to.jst_minute()
                        ),
                        &self.policy.installer,
                        "",
                        now,
                        None,
                        &mimamori_catalog::provisions::Step {
                            by: actor.user_id(),
                            at: now,
                        },
                    )
                    .await?,
            ),
            None => None,
        };
        self.audit
            .record(
                actor,
                Entry::new(
                    "hold_created",
                    format!(
                        "hold {id}: cameras [{}] from {} to {} until {}; {}reason: {reason}{}",
                        cams.join(","),
                        range.from.0,
                        range.to.0,
                        until.0,
                        ground
                            .map(|g| format!("ground: {} ({}); ", g.label, g.basis))
                            .unwrap_or_default(),
                        medium
                            .map(|m| format!(
                                "; kept on medium: {m} (media register {})",
                                medium_id.unwrap_or_default()
                            ))
                            .unwrap_or_default()
                    ),
                ),
            )
            .await?;
        self.catalog
            .holds()
            .await?
            .into_iter()
            .find(|h| h.id == id)
            .ok_or_else(|| Error::NotFound(format!("hold {id} not found")))
    }

    /// A hold that keeps the footage of a request not yet closed ends with the
    /// request (REQ-RET-4): it cannot be changed or released by hand.
    async fn not_a_pending_request_hold(&self, id: i64) -> Result<()> {
        let hold = self.catalog.holds().await?.into_iter().find(|h| h.id == id);
        if let Some(request) = hold.and_then(|h| h.provision_id) {
            let p = self.catalog.provision(request).await?;
            if matches!(
                crate::provisions::Status::of(&p),
                crate::provisions::Status::Received
                    | crate::provisions::Status::Reviewing
                    | crate::provisions::Status::Approved
            ) {
                return Err(Error::rule(format!(
                    "hold {id} keeps the footage of request No.{request}, which is not closed: it ends with the request (提供申請の処理中は解除できません)"
                )));
            }
        }
        Ok(())
    }

    /// A new end date and reason for an active hold.
    pub async fn hold_change(
        &self,
        actor: &Actor,
        id: i64,
        until: &str,
        reason: &str,
    ) -> Result<()> {
        self.require(actor, Permission::RetentionHold).await?;
        self.not_a_pending_request_hold(id).await?;
        let reason = required(reason, REASON_REQUIRED)?;
        let until = parse_time("until", until)?;
        self.catalog.hold_update(id, until, &reason).await?;
        self.audit
            .record(
                actor,
                Entry::new(
                    "hold_changed",
                    format!("hold {id}: until {}; reason: {reason}", until.0),
                ),
            )
            .await?;
        Ok(())
    }

    /// Releases an active hold now: its footage goes at the next sweep if expired.
    pub async fn hold_release(&self, actor: &Actor, id: i64) -> Result<()> {
        self.require(actor, Permission::RetentionHold).await?;
        self.not_a_pending_request_hold(id).await?;
        self.catalog
            .hold_release(id, actor.user_id(), self.clock.now())
            .await?;
        self.audit
            .record(actor, Entry::new("hold_released", format!("hold {id}")))
            .await?;
        Ok(())
    }
}
