//! Agreements with a police station (協定, Osaka 第8条; REQ-DIS-7). The manager
//! records one (the station, its terms, cameras and valid period), sees every
//! extraction made under it and can suspend it at once (and lift the
//! suspension). A station's accounts view and extract directly within the
//! agreement from their registered terminal: [`crate::access::agreements_for`]
//! gates everything they do, and each extraction is a request of the register,
//! identified and approved by the agreement, built and downloaded through the
//! same operations as any other request — its download recorded as the delivery.

use std::sync::Arc;

use mimamori_base::time::parse_time;
use mimamori_base::{CameraId, Timestamp};
use mimamori_catalog::agreements::{Agreement, NewAgreement};
use mimamori_catalog::provisions::{AgreementGrant, Package, Provision, RequestFields};
use mimamori_catalog::{Camera, User};
use mimamori_policy::{AgreementRule, Permission, RoleKind};

use crate::Governance;
use crate::actor::Actor;
use crate::audit::Entry;
use crate::error::{Error, Result};
use crate::input::{TimeRange, bounded_text};
use crate::provisions::{
    ExtractText, Extraction, HOLD_MARGIN_MICROS, Status, ground_detail, is_manager, pending_until,
    requested_period, step,
};
use crate::refusal::Refusal;

const SHORT: usize = 200;
const LONG: usize = 4000;

/// An agreement as typed by the manager.
#[derive(Clone, Debug, Default)]
pub struct AgreementText<'a> {
    pub station: &'a str,
    pub terms: &'a str,
    pub cameras: Vec<i64>,
    /// Dates or instants (the period's end is exclusive; a date means its start).
    pub valid_from: &'a str,
    pub valid_until: &'a str,
}

/// An extraction as typed by a station's account.
#[derive(Clone, Debug, Default)]
pub struct StationExtractText<'a> {
    pub agreement: i64,
    pub cameras: Vec<i64>,
    pub from: &'a str,
    pub to: &'a str,
    /// 利用目的: what the footage is for.
    pub reason: &'a str,
    /// 根拠法令等 / the case (the ground's blank).
    pub ground_detail: &'a str,
    pub passphrase: Option<&'a str>,
}

/// One agreement with the requests made under it, for the manager.
#[derive(Debug)]
pub struct AgreementFile {
    pub agreement: Agreement,
    pub in_force: bool,
    pub requests: Vec<(Provision, Status)>,
}

/// What the manager's agreements page shows.
#[derive(Debug)]
pub struct AgreementsView {
    pub rule: AgreementRule,
    pub agreements: Vec<AgreementFile>,
    pub cameras: Vec<Camera>,
    /// The stations that have accounts (their organisations), to choose from.
    pub stations: Vec<String>,
}

/// One of the station's requests, with its packages and any build under way.
#[derive(Debug)]
pub struct StationRequest {
    pub provision: Provision,
    pub status: Status,
    pub packages: Vec<Package>,
    pub extraction: Option<Arc<Extraction>>,
}

/// What a station's account sees: its agreements in force and its requests.
#[derive(Debug)]
pub struct StationView {
    pub station: String,
    pub agreements: Vec<Agreement>,
    pub cameras: Vec<Camera>,
    pub requests: Vec<StationRequest>,
}

fn period(from: &str, until: &str) -> Result<TimeRange> {
    TimeRange::new(
        parse_time("valid_from", from)?,
        parse_time("valid_until", until)?,
        "valid_until must be after valid_from",
    )
}

impl Governance {
    fn agreement_rule(&self) -> Result<AgreementRule> {
        self.policy.disclosure.agreement.clone().ok_or_else(|| {
            Error::rule("this regulation provides for no agreement with a police station")
        })
    }

    /// The manager only, in their own account, holding `provision_decide`: an
    /// agreement is a standing decision to provide.
    async fn require_manager(&self, actor: &Actor, what: &str) -> Result<()> {
        if !is_manager(actor) {
            let basis = self.policy.disclosure.decision_basis.clone();
            return Err(self
                .refuse(actor, what, Refusal::ManagerDecides { basis })
                .await);
        }
        self.require(actor, Permission::ProvisionDecide).await
    }

    /// Records an agreement (the manager's; REQ-DIS-7).
    pub async fn agreement_make(&self, actor: &Actor, t: &AgreementText<'_>) -> Result<Agreement> {
        self.require_manager(actor, "agreement_make").await?;
        let rule = self.agreement_rule()?;
        let station = bounded_text("station", t.station, SHORT)?;
        if station.is_empty() {
            return Err(Error::bad_input(
                "station: the police station (警察署名は必須です)",
            ));
        }
        let terms = bounded_text("terms", t.terms, LONG)?;
        if terms.is_empty() {
            return Err(Error::bad_input(format!(
                "terms: required ({})",
                rule.terms_guidance
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
            if cam.removed_at.is_some() {
                return Err(Error::bad_input(format!("camera {} is removed", cam.name)));
            }
            if !cameras.contains(&cam.id) {
                cameras.push(cam.id);
            }
        }
        let range = period(t.valid_from, t.valid_until)?;
        let now = self.clock.now();
        if range.to <= now {
            return Err(Error::bad_input(
                "valid_until: the period has ended already",
            ));
        }
        let id = self
            .catalog
            .agreement_insert(
                &NewAgreement {
                    station: &station,
                    terms: &terms,
                    cameras: &cameras,
                    valid_from: range.from,
                    valid_until: range.to,
                },
                &step(actor, now),
            )
            .await?;
        self.audit
            .record(
                actor,
                Entry {
                    action: "agreement_made",
                    range: Some((range.from, range.to)),
                    detail: format!(
                        "agreement No.{id} with {station}: cameras [{}], valid {} – {} ({})",
                        cameras
                            .iter()
                            .map(|c| c.to_string())
                            .collect::<Vec<_>>()
                            .join(","),
                        range.from.jst_minute(),
                        range.to.jst_minute(),
                        rule.basis
                    ),
                    ..Entry::default()
                },
            )
            .await?;
        Ok(self.catalog.agreement(id).await?)
    }

    /// Suspends an agreement at once: from the next request on, its station's
    /// accounts see, play and extract nothing under it.
    pub async fn agreement_suspend(&self, actor: &Actor, id: i64, reason: &str) -> Result<()> {
        self.require_manager(actor, "agreement_suspend").await?;
        let reason = bounded_text("reason", reason, LONG)?;
        if reason.is_empty() {
            return Err(Error::bad_input(
                "reason: a suspension states its reason (停止の理由は必須です)",
            ));
        }
        let a = self.catalog.agreement(id).await?;
        self.catalog
            .agreement_suspend(id, &reason, &step(actor, self.clock.now()))
            .await
            .map_err(|_| Error::rule(format!("agreement No.{id} is suspended already")))?;
        self.audit
            .record(
                actor,
                Entry::new(
                    "agreement_suspended",
                    format!("agreement No.{id} with {}: {reason}", a.station),
                ),
            )
            .await?;
        Ok(())
    }

    /// Lifts a suspension (after the station corrected its handling, 第8条4).
    pub async fn agreement_resume(&self, actor: &Actor, id: i64) -> Result<()> {
        self.require_manager(actor, "agreement_resume").await?;
        let a = self.catalog.agreement(id).await?;
        self.catalog
            .agreement_resume(id)
            .await
            .map_err(|_| Error::rule(format!("agreement No.{id} is not suspended")))?;
        self.audit
            .record(
                actor,
                Entry::new(
                    "agreement_resumed",
                    format!("agreement No.{id} with {}", a.station),
                ),
            )
            .await?;
        Ok(())
    }

    /// Every agreement with the requests made under it (the manager's).
    pub async fn agreements_view(&self, actor: &Actor) -> Result<AgreementsView> {
        self.require(actor, Permission::ProvisionDecide).await?;
        let rule = self.agreement_rule()?;
        let now = self.clock.now();
        let provisions = self.catalog.provisions().await?;
        let agreements = self
            .catalog
            .agreements()
            .await?
            .into_iter()
            .map(|a| AgreementFile {
                in_force: a.in_force(now),
                requests: provisions
                    .iter()
                    .filter(|p| p.agreement == Some(a.id))
                    .map(|p| (p.clone(), Status::of(p)))
                    .collect(),
                agreement: a,
            })
            .collect();
        let mut stations = Vec::new();
        for u in self.catalog.users().await? {
            if self.role_now(&u, now).await? == Some(RoleKind::Police)
                && !u.organization.is_empty()
                && !stations.contains(&u.organization)
            {
                stations.push(u.organization.clone());
            }
        }
        Ok(AgreementsView {
            rule,
            agreements,
            cameras: self.catalog.cameras().await?,
            stations,
        })
    }

    async fn role_now(&self, u: &User, now: Timestamp) -> Result<Option<RoleKind>> {
        Ok(self
            .catalog
            .designations_of(u.id)
            .await?
            .iter()
            .rev()
            .find(|d| d.valid_at(now))
            .and_then(|d| RoleKind::parse(&d.role)))
    }

    /// The station's agreements in force for this account (its organisation);
    /// refused, and logged, when there is none.
    async fn station_agreements(&self, actor: &Actor) -> Result<(String, Vec<Agreement>)> {
        let Some(person) = actor.person() else {
            return Err(Error::rule(
                "only a police station's account acts under an agreement",
            ));
        };
        if !crate::access::acts_under_agreement(&self.policy, person.role) {
            return Err(Error::rule(
                "only a police station's account acts under an agreement; requests go through 提供申請",
            ));
        }
        self.require(actor, Permission::Export).await?;
        let found = crate::access::agreements_for(
            &self.catalog,
            &self.policy,
            person,
            Permission::Export,
            None,
            None,
            self.clock.now(),
        )
        .await?
        .unwrap_or_default();
        Ok((person.user.organization.clone(), found))
    }

    /// What a station's account sees (needs `export` under an agreement in force).
    pub async fn station_view(&self, actor: &Actor) -> Result<StationView> {
        let (station, agreements) = self.station_agreements(actor).await?;
        let ids: Vec<i64> = agreements.iter().map(|a| a.id).collect();
        let mut cameras = Vec::new();
        for c in self.catalog.cameras().await? {
            if agreements.iter().any(|a| a.cameras.contains(&c.id)) {
                cameras.push(c);
            }
        }
        let mut requests = Vec::new();
        for p in self.catalog.provisions().await? {
            if p.agreement.is_some_and(|a| ids.contains(&a))
                && p.fields.requester_organisation == station
            {
                requests.push(StationRequest {
                    status: Status::of(&p),
                    packages: self.catalog.packages(p.id).await?,
                    extraction: self.extractions.get(p.id),
                    provision: p,
                });
            }
        }
        Ok(StationView {
            station,
            agreements,
            cameras,
            requests,
        })
    }

    /// A station's account extracts under an agreement: the request enters the
    /// register identified and approved by the agreement, its footage is held,
    /// and the evidence package is built as for any request (the extraction's
    /// entry written before any footage is read). Each camera and the range
    /// must be within the agreement, from the station's registered terminal.
    pub async fn station_extract(
        self: &Arc<Self>,
        actor: &Actor,
        t: &StationExtractText<'_>,
    ) -> Result<(Provision, tokio::task::JoinHandle<Result<Package>>)> {
        let rule = self.agreement_rule()?;
        let (station, agreements) = self.station_agreements(actor).await?;
        let Some(agreement) = agreements.into_iter().find(|a| a.id == t.agreement) else {
            return Err(Error::Refused(Refusal::NoAgreement {
                station,
                basis: rule.basis,
            }));
        };
        let person = actor
            .person()
            .ok_or_else(|| Error::rule("only a person extracts"))?;
        let reason = bounded_text("reason", t.reason, LONG)?;
        if reason.is_empty() {
            return Err(Error::bad_input(
                "reason: the purpose of use is required (利用目的は必須です)",
            ));
        }
        let ground = self
            .policy
            .disclosure
            .ground(&rule.ground)
            .cloned()
            .ok_or_else(|| Error::Inconsistent(format!("no ground {}", rule.ground)))?;
        let ground_detail = ground_detail(&ground, t.ground_detail)?;
        if t.cameras.is_empty() {
            return Err(Error::bad_input(
                "cameras: choose at least one (カメラを選んでください)",
            ));
        }
        let range = requested_period(t.from, t.to)?;
        let mut cameras = Vec::new();
        for c in &t.cameras {
            let c = CameraId(*c);
            // Within the agreement, from the registered terminal; refusals logged.
            self.authorize(
                actor,
                Permission::Export,
                Some(c),
                Some((range.from, range.to)),
                "agreement extract",
            )
            .await?;
            if !agreement.cameras.contains(&c) {
                return Err(Error::Refused(Refusal::NoAgreement {
                    station,
                    basis: rule.basis,
                }));
            }
            if !cameras.contains(&c) {
                cameras.push(c);
            }
        }
        let now = self.clock.now();
        let fields = RequestFields {
            received_on: now.jst_date().format("%Y-%m-%d").to_string(),
            requester_address: String::new(),
            requester_organisation: station.clone(),
            requester_representative: String::new(),
            contact_department: String::new(),
            contact_person: person.user.display_name.clone(),
            contact_phone: String::new(),
            cameras: cameras.clone(),
            from: range.from,
            to: range.to,
            reason,
            ground: ground.id.clone(),
            ground_detail,
            method: rule.method.clone(),
            method_detail: String::new(),
            remarks: format!("協定 No.{} に基づく（{}）", agreement.id, rule.basis),
        };
        let grant = AgreementGrant {
            agreement: agreement.id,
            identity_method: "協定に基づく登録端末・アカウント".into(),
            identity_detail: format!("{}（{}）", person.user.username, station),
            decision_reason: format!("協定 No.{} に基づく（{}）", agreement.id, rule.basis),
            approved_by: agreement.made.by,
            extractor: person.user.id,
        };
        let (id, hold) = self
            .catalog
            .provision_insert(
                &fields,
                &step(actor, now),
                range.to.add_micros(HOLD_MARGIN_MICROS),
                pending_until(),
                &format!("協定 No.{} に基づく提供: {}", agreement.id, ground.basis),
                Some(&grant),
            )
            .await?;
        self.audit
            .record(
                actor,
                Entry {
                    action: "provision_registered",
                    range: Some((range.from, range.to)),
                    detail: format!(
                        "request No.{id} under agreement No.{} with {station}: cameras [{}]; ground {} ({}); approved by the agreement; footage held (hold {hold})",
                        agreement.id,
                        cameras
                            .iter()
                            .map(|c| c.to_string())
                            .collect::<Vec<_>>()
                            .join(","),
                        ground.id,
                        ground.basis
                    ),
                    ..Entry::default()
                },
            )
            .await?;
        let task = self
            .provision_extract(
                actor,
                id,
                &ExtractText {
                    cameras: Vec::new(),
                    from: None,
                    to: None,
                    passphrase: t.passphrase,
                },
            )
            .await?;
        Ok((self.catalog.provision(id).await?, task))
    }
}
