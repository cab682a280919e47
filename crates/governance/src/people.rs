//! People, as the manager keeps them (REQ-ROL-*): accounts with their
//! designations (role, validity period, history — never deleted, only ended),
//! confidentiality pledges and training records, and instructions (指示) to the
//! operators who act only under them.

use mimamori_base::time::{parse_date, parse_day_or_time, parse_time};
use mimamori_base::{CameraId, Timestamp, UserId};
use mimamori_catalog::people::{Designation, Instruction, NewDesignation, NewPerson, PledgeRecord};
use mimamori_catalog::{Camera, User};
use mimamori_policy::{Permission, RoleKind};

use crate::Governance;
use crate::access::{self, DesignationRequest, check_designation};
use crate::actor::Actor;
use crate::audit::Entry;
use crate::error::{Error, Result};
use crate::input::{Password, Username, optional, required};

/// A designation as typed: role name, optional start and end (dates or times),
/// optional basis (the policy's article when empty).
#[derive(Clone, Debug, Default)]
pub struct DesignationText<'a> {
    pub role: &'a str,
    pub valid_from: Option<&'a str>,
    pub valid_until: Option<&'a str>,
    pub basis: &'a str,
}

/// A new person as typed.
#[derive(Clone, Debug, Default)]
pub struct PersonText<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password: &'a str,
    /// Empty for the installer's own staff.
    pub organization: &'a str,
    pub designation: DesignationText<'a>,
}

/// A person with their history, for the manager's pages.
#[derive(Clone, Debug)]
pub struct PersonFile {
    pub user: User,
    pub designations: Vec<Designation>,
    pub records: Vec<PledgeRecord>,
}

impl PersonFile {
    /// The designation valid at `t`, if any.
    pub fn current(&self, t: Timestamp) -> Option<&Designation> {
        self.designations.iter().rev().find(|d| d.valid_at(t))
    }
}

/// An instruction as typed.
#[derive(Clone, Debug, Default)]
pub struct InstructionText<'a> {
    pub person: i64,
    pub cameras: Vec<i64>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub until: &'a str,
    pub content: &'a str,
}

/// Everything the instructions page shows.
#[derive(Clone, Debug)]
pub struct InstructionBook {
    pub instructions: Vec<Instruction>,
    /// People who act under instructions now (the ones an instruction may go to).
    pub instructable: Vec<User>,
    pub users: Vec<User>,
    pub cameras: Vec<Camera>,
    /// The articles that make operators act under instructions.
    pub basis: String,
}

/// A role name from a form or flag.
pub fn parse_role(v: &str) -> Result<RoleKind> {
    RoleKind::parse(v.trim()).ok_or_else(|| {
        Error::bad_input(format!(
            "role: one of {}",
            RoleKind::ALL.map(|r| r.as_str()).join(", ")
        ))
    })
}

impl Governance {
    /// A designation request from text: the start defaults to now, an end date
    /// means through that day, the basis defaults to the role's article.
    pub fn designation_request(&self, t: &DesignationText<'_>) -> Result<DesignationRequest> {
        let role = parse_role(t.role)?;
        let valid_from = match optional(t.valid_from) {
            Some(v) => parse_day_or_time("valid_from", v, false)?,
            None => self.clock.now(),
        };
        let valid_until = optional(t.valid_until)
            .map(|v| parse_day_or_time("valid_until", v, true))
            .transpose()?;
        let basis = match optional(Some(t.basis)) {
            Some(b) => b.to_string(),
            // A temporary designation states its own reason (Kitakyushu 第3条2).
            None if role == RoleKind::Temporary => String::new(),
            None => self
                .policy
                .role(role)
                .map(|r| r.basis.clone())
                .unwrap_or_default(),
        };
        Ok(DesignationRequest {
            role,
            valid_from,
            valid_until,
            basis,
        })
    }

    fn describe(&self, req: &DesignationRequest) -> String {
        format!(
            "{} from {}{}; basis: {}",
            self.policy.role_title(req.role),
            req.valid_from.jst_minute(),
            req.valid_until
                .map(|u| format!(" until {}", u.jst_minute()))
                .unwrap_or_default(),
            req.basis
        )
    }

    /// Everyone with an account, their designations and records (needs `designate`).
    pub async fn people(&self, actor: &Actor) -> Result<Vec<PersonFile>> {
        self.require(actor, Permission::Designate).await?;
        let mut out = Vec::new();
        for user in self.catalog.users().await? {
            out.push(self.file_of(user).await?);
        }
        Ok(out)
    }

    /// One person's file (needs `designate`).
    pub async fn person(&self, actor: &Actor, id: UserId) -> Result<PersonFile> {
        self.require(actor, Permission::Designate).await?;
        let user = self.catalog.user(id).await?;
        self.file_of(user).await
    }

    async fn file_of(&self, user: User) -> Result<PersonFile> {
        Ok(PersonFile {
            designations: self.catalog.designations_of(user.id).await?,
            records: self.catalog.pledges_of(user.id).await?,
            user,
        })
    }

    /// Creates a person with their first designation (needs `designate`; the
    /// console creates the first manager).
    pub async fn person_create(&self, actor: &Actor, t: &PersonText<'_>) -> Result<UserId> {
        self.require(actor, Permission::Designate).await?;
        let username = Username::parse(t.username)?;
        let password = Password::parse(t.password)?;
        let req = self.designation_request(&t.designation)?;
        let display = match optional(Some(t.display_name)) {
            Some(d) => d,
            None => username.as_str(),
        };
        let organization = t.organization.trim();
        check_designation(&self.policy, username.as_str(), organization, &req)?;
        let hash = self.hash_password(password).await?;
        let now = self.clock.now();
        let id = self
            .catalog
            .person_create(
                &NewPerson {
                    username: username.as_str(),
                    display_name: display,
                    password_hash: &hash,
                    organization,
                },
                &NewDesignation {
                    role: req.role.as_str(),
                    valid_from: req.valid_from,
                    valid_until: req.valid_until,
                    designated_by: actor.user_id(),
                    basis: &req.basis,
                },
                now,
            )
            .await?;
        let company = if organization.is_empty() {
            String::new()
        } else {
            format!(", {organization}")
        };
        self.audit
            .record(
                actor,
                Entry::new(
                    "designated",
                    format!(
                        "{} ({display}{company}) created: {}",
                        username.as_str(),
                        self.describe(&req)
                    ),
                ),
            )
            .await?;
        Ok(id)
    }

    /// Gives a person a new designation; their open one ends where it starts, so
    /// the history stays one line.
    pub async fn designate(
        &self,
        actor: &Actor,
        person: UserId,
        req: &DesignationRequest,
    ) -> Result<i64> {
        self.require(actor, Permission::Designate).await?;
        let person = self.catalog.user(person).await?;
        check_designation(&self.policy, &person.username, &person.organization, req)?;
        let by = actor.user_id();
        for d in self.catalog.designations_of(person.id).await? {
            if d.ended_at.is_none() && d.end().is_none_or(|e| e > req.valid_from) {
                self.catalog
                    .designation_end(
                        d.id,
                        req.valid_from.max(d.valid_from),
                        by,
                        "replaced by a new designation",
                    )
                    .await?;
            }
        }
        let id = self
            .catalog
            .designation_insert(
                person.id,
                &NewDesignation {
                    role: req.role.as_str(),
                    valid_from: req.valid_from,
                    valid_until: req.valid_until,
                    designated_by: by,
                    basis: &req.basis,
                },
                self.clock.now(),
            )
            .await?;
        self.audit
            .record(
                actor,
                Entry::new(
                    "designated",
                    format!(
                        "{}: designation #{id}: {}",
                        person.username,
                        self.describe(req)
                    ),
                ),
            )
            .await?;
        Ok(id)
    }

    /// Ends a designation now (kept in the history). The last valid manager cannot
    /// be ended: someone must remain able to designate.
    pub async fn designation_end(
        &self,
        actor: &Actor,
        designation: i64,
        reason: &str,
    ) -> Result<()> {
        self.require(actor, Permission::Designate).await?;
        let reason = required(reason, "reason: say why the designation ends")?;
        let now = self.clock.now();
        let d = self.catalog.designation(designation).await?;
        if d.role == RoleKind::Manager.as_str() {
            let others = self
                .catalog
                .designations()
                .await?
                .into_iter()
                .filter(|o| o.role == d.role && o.valid_at(now) && o.id != d.id)
                .count();
            if others == 0 {
                return Err(Error::rule(format!(
                    "{} is the only {}; designate a successor first",
                    d.user_id,
                    self.policy.role_title(RoleKind::Manager)
                )));
            }
        }
        let d = self
            .catalog
            .designation_end(d.id, now.max(d.valid_from), actor.user_id(), &reason)
            .await?;
        let person = self.catalog.user(d.user_id).await?;
        self.audit
            .record(
                actor,
                Entry::new(
                    "designation_ended",
                    format!("{}: designation #{} ended: {reason}", person.username, d.id),
                ),
            )
            .await?;
        Ok(())
    }

    /// Records a pledge (`pledge`, 守秘義務の誓約) or a training (`training`, 研修) of a
    /// person (REQ-ROL-6).
    pub async fn record_add(
        &self,
        actor: &Actor,
        person: UserId,
        kind: &str,
        date: &str,
        content: &str,
    ) -> Result<i64> {
        self.require(actor, Permission::Designate).await?;
        let person = self.catalog.user(person).await?;
        let action = match kind {
            "pledge" => "pledge_recorded",
            "training" => "training_recorded",
            _ => return Err(Error::bad_input("kind: pledge or training")),
        };
        let date = parse_date("date", date)?;
        let content = required(content, "content: what was pledged or taught")?;
        let id = self
            .catalog
            .pledge_insert(
                person.id,
                kind,
                &date.to_string(),
                &content,
                actor.user_id(),
                self.clock.now(),
            )
            .await?;
        self.audit
            .record(
                actor,
                Entry::new(action, format!("{}: {date}: {content}", person.username)),
            )
            .await?;
        Ok(id)
    }

    /// The instructions, the people they may go to and the cameras (needs `instruct`).
    pub async fn instruction_book(&self, actor: &Actor) -> Result<InstructionBook> {
        self.require(actor, Permission::Instruct).await?;
        let now = self.clock.now();
        let users = self.catalog.users().await?;
        let mut instructable = Vec::new();
        for u in &users {
            if let Ok((role, _)) =
                access::designation_at(&self.catalog, &self.policy, u.id, now).await?
                && access::acts_under_instruction(&self.policy, role)
            {
                instructable.push(u.clone());
            }
        }
        Ok(InstructionBook {
            instructions: self.catalog.instructions(None).await?,
            instructable,
            users,
            cameras: self.catalog.cameras().await?,
            basis: self
                .policy
                .roles
                .values()
                .filter(|r| r.requires_instruction)
                .map(|r| r.basis.clone())
                .collect::<Vec<_>>()
                .join(" / "),
        })
    }

    /// The open instructions to a person (their own account page).
    pub async fn instructions_to(&self, person: UserId) -> Result<Vec<Instruction>> {
        let now = self.clock.now();
        Ok(self
            .catalog
            .instructions(Some(person))
            .await?
            .into_iter()
            .filter(|i| i.open_at(now))
            .collect())
    }

    /// Issues an instruction to a person whose role acts under instructions.
    pub async fn instruction_issue(&self, actor: &Actor, t: &InstructionText<'_>) -> Result<i64> {
        self.require(actor, Permission::Instruct).await?;
        let person = self.catalog.user(UserId(t.person)).await?;
        let now = self.clock.now();
        let Ok((role, _)) =
            access::designation_at(&self.catalog, &self.policy, person.id, now).await?
        else {
            return Err(Error::rule(format!(
                "{} holds no designation now",
                person.username
            )));
        };
        if !access::acts_under_instruction(&self.policy, role) {
            return Err(Error::rule(format!(
                "{} ({}) does not act under instructions in this policy",
                person.username,
                self.policy.role_title(role)
            )));
        }
        if t.cameras.is_empty() {
            return Err(Error::bad_input("cameras: at least one camera"));
        }
        let mut cameras = Vec::new();
        for c in &t.cameras {
            cameras.push(self.catalog.camera(CameraId(*c)).await?.id);
        }
        let range = match (optional(t.from), optional(t.to)) {
            (Some(f), Some(to)) => {
                let (f, to) = (parse_time("from", f)?, parse_time("to", to)?);
                if to <= f {
                    return Err(Error::bad_input("to must be after from"));
                }
                Some((f, to))
            }
            (None, None) => None,
            _ => return Err(Error::bad_input("from and to: both or neither")),
        };
        let until = parse_day_or_time("until", t.until, false)?;
        if until <= now {
            return Err(Error::bad_input("until: a time in the future"));
        }
        let content = required(t.content, "content: what the operator is to do")?;
        let issued_by = actor
            .user_id()
            .ok_or_else(|| Error::rule("instructions are issued by the manager in person"))?;
        let id = self
            .catalog
            .instruction_insert(&Instruction {
                id: 0,
                user_id: person.id,
                cameras: cameras.clone(),
                range,
                valid_until: until,
                content: content.clone(),
                issued_by,
                issued_at: now,
                revoked_at: None,
            })
            .await?;
        let mut entry = Entry::new(
            "instruction_issued",
            format!(
                "#{id} to {}: cameras {:?}{} until {}: {content}",
                person.username,
                cameras.iter().map(|c| c.0).collect::<Vec<_>>(),
                range
                    .map(|(a, b)| format!(", footage {} – {}", a.jst_minute(), b.jst_minute()))
                    .unwrap_or_default(),
                until.jst_minute(),
            ),
        );
        entry.camera = cameras.first().copied();
        self.audit.record(actor, entry).await?;
        Ok(id)
    }

    /// Revokes an instruction now.
    pub async fn instruction_revoke(&self, actor: &Actor, id: i64) -> Result<()> {
        self.require(actor, Permission::Instruct).await?;
        self.catalog
            .instruction_revoke(id, self.clock.now())
            .await?;
        self.audit
            .record(actor, Entry::new("instruction_revoked", format!("#{id}")))
            .await?;
        Ok(())
    }
}
