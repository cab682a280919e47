//! The yearly report on operation and disclosure (運用状況の公表, REQ-PUB-1,
//! Kitakyushu 第8条) for a fiscal year (年度, April to March, Japan time): the
//! cameras and purposes, retention, requests by ground and outcome, provisions
//! by method, holds, erasures, complaints, media disposed of, and the signed
//! heads of the audit log in the year (the last of each day). Counts only: no name, contact, reason
//! or image of anyone. The document itself is `mimamori_forms::report`'s.

use chrono::NaiveDate;
use mimamori_base::Timestamp;
use mimamori_base::time::jst_day_start;
use mimamori_policy::Permission;

use crate::Governance;
use crate::actor::Actor;
use crate::audit::Entry;
use crate::error::{Error, Result};
use crate::provisions::{RegisterFilter, Status};

pub use mimamori_forms::report::{CameraLine, GroundCount, SignedHead, YearlyReport};

/// The first instant of fiscal year `fy` and of the next one, in Japan time.
pub fn fiscal_year_bounds(fy: i32) -> Option<(Timestamp, Timestamp)> {
    let start = NaiveDate::from_ymd_opt(fy, 4, 1)?;
    let end = NaiveDate::from_ymd_opt(fy + 1, 4, 1)?;
    Some((jst_day_start(start), jst_day_start(end)))
}

impl Governance {
    /// The yearly report of fiscal year `fy` (needs `records`).
    pub async fn yearly_report(&self, actor: &Actor, fy: i32) -> Result<YearlyReport> {
        self.require(actor, Permission::Records).await?;
        if !(2000..=2200).contains(&fy) {
            return Err(Error::bad_input("fiscal year: a year such as 2026"));
        }
        let (from, to) = fiscal_year_bounds(fy)
            .ok_or_else(|| Error::bad_input("fiscal year: a year such as 2026"))?;
        let within = |t: Timestamp| t >= from && t < to;
        let policy = &self.policy;
        let year = RegisterFilter {
            fiscal_year: Some(fy),
            ..RegisterFilter::default()
        };
        let mut requests: Vec<GroundCount> = policy
            .disclosure
            .grounds
            .iter()
            .map(|g| GroundCount {
                ground: g.id.clone(),
                label: g.label.clone(),
                basis: g.basis.clone(),
                ..GroundCount::default()
            })
            .collect();
        let mut deliveries: Vec<(String, u32)> = policy
            .disclosure
            .methods
            .iter()
            .map(|m| (m.label.clone(), 0))
            .collect();
        for p in self.catalog.provisions().await? {
            if year.admits(&p) {
                let i = match requests.iter().position(|g| g.ground == p.fields.ground) {
                    Some(i) => i,
                    None => {
                        requests.push(GroundCount {
                            ground: p.fields.ground.clone(),
                            label: p.fields.ground.clone(),
                            ..GroundCount::default()
                        });
                        requests.len() - 1
                    }
                };
                let g = &mut requests[i];
                g.received += 1;
                match Status::of(&p) {
                    Status::Approved | Status::Delivered => g.approved += 1,
                    Status::Refused => g.refused += 1,
                    Status::Withdrawn => g.withdrawn += 1,
                    Status::Received | Status::Reviewing => g.undecided += 1,
                }
            }
            if p.delivery.as_ref().is_some_and(|d| within(d.step.at)) {
                let label = policy
                    .disclosure
                    .methods
                    .iter()
                    .find(|m| m.id == p.fields.method)
                    .map_or_else(|| p.fields.method.clone(), |m| m.label.clone());
                match deliveries.iter_mut().find(|(l, _)| *l == label) {
                    Some((_, n)) => *n += 1,
                    None => deliveries.push((label, 1)),
                }
            }
        }
        let holds_made = self
            .catalog
            .holds()
            .await?
            .iter()
            .filter(|h| within(h.created_at))
            .count();
        let erasures: Vec<_> = self
            .catalog
            .erasures(None, i64::MAX)
            .await?
            .into_iter()
            .filter(|e| within(e.erased_at))
            .collect();
        let complaints = self.catalog.complaints().await?;
        let count = |kind: &str, closed: bool| {
            complaints
                .iter()
                .filter(|c| c.kind == kind)
                .filter(|c| {
                    if closed {
                        c.closed.as_ref().is_some_and(|s| within(s.at))
                    } else {
                        within(c.received_at)
                    }
                })
                .count() as u32
        };
        let media_disposed = self
            .catalog
            .media()
            .await?
            .iter()
            .filter_map(|m| m.disposal.as_ref().and_then(|d| d.disposed_at))
            .filter(|t| within(*t))
            .count();
        // The day's last signed head of each day of the year (the log is signed
        // every minute it moves: one a day is what a reader can keep).
        let mut signed_heads: Vec<SignedHead> = Vec::new();
        for (seq, head, at, sig) in self.catalog.audit_signatures().await? {
            if !within(at) {
                continue;
            }
            let h = SignedHead {
                seq,
                at,
                head_hex: hex::encode(head),
                signature_hex: hex::encode(sig),
            };
            match signed_heads.last_mut() {
                Some(last) if last.at.jst_date() == at.jst_date() => *last = h,
                _ => signed_heads.push(h),
            }
        }
        let report = YearlyReport {
            fiscal_year: fy,
            from,
            to,
            installer: policy.installer.clone(),
            regulation: policy.regulation.clone(),
            cameras: self
                .catalog
                .cameras()
                .await?
                .into_iter()
                .map(|c| CameraLine {
                    name: c.name,
                    location: c.description.location,
                    purpose: c.description.purpose,
                })
                .collect(),
            purposes: policy
                .purposes
                .iter()
                .map(|p| (p.label.clone(), p.basis.clone()))
                .collect(),
            retention_days: policy.retention.days,
            retention_basis: policy.retention.basis.clone(),
            requests,
            deliveries,
            holds_made: holds_made as u32,
            erasures: erasures.len() as u32,
            erased_segments: erasures.iter().map(|e| e.segments).sum(),
            complaints_received: count("complaint", false),
            complaints_closed: count("complaint", true),
            inquiries_received: count("inquiry", false),
            inquiries_closed: count("inquiry", true),
            media_disposed: media_disposed as u32,
            public_key_hex: hex::encode(self.signer.public_key()),
            signed_heads,
            generated_at: self.clock.now(),
        };
        self.audit
            .record(
                actor,
                Entry::new("yearly_report", format!("fiscal year {fy}")),
            )
            .await?;
        Ok(report)
    }
}
