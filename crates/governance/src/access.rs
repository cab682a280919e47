//! Access decisions, as pure rules over the policy and the catalog's records:
//! which designation a person holds at an instant, whether their role may use a
//! permission from where they are (terminals), whether an open instruction covers
//! a camera operation, whether an agreement with a police station covers what its
//! account does, and what a designation must satisfy (temporary designees: staff
//! only, with an end date; a station's accounts name their station). Operations
//! ask here before they act.

use mimamori_base::{CameraId, Timestamp, UserId};
use mimamori_catalog::agreements::Agreement;
use mimamori_catalog::people::{Designation, Instruction};
use mimamori_catalog::{Catalog, CatalogError};
use mimamori_policy::{Permission, Policy, RoleKind, Terminal};

use crate::actor::{Origin, Person};
use crate::error::Error;
pub use crate::refusal::Refusal;

/// The designation of `user` valid at `at` whose role this policy names.
pub async fn designation_at(
    catalog: &Catalog,
    policy: &Policy,
    user: UserId,
    at: Timestamp,
) -> Result<Result<(RoleKind, Designation), Refusal>, CatalogError> {
    let Some(d) = catalog.designation_at(user, at).await? else {
        let history = catalog.designations_of(user).await?;
        let why = match history.iter().filter_map(|d| d.end()).max() {
            Some(end) if history.iter().all(|d| d.valid_from <= at) => {
                format!("the designation ended at {}", end.jst_minute())
            }
            _ => "not designated at this time".to_string(),
        };
        return Ok(Err(Refusal::NotDesignated(why)));
    };
    match RoleKind::parse(&d.role).filter(|k| policy.role(*k).is_some()) {
        Some(kind) => Ok(Ok((kind, d))),
        None => Ok(Err(Refusal::NotDesignated(format!(
            "role {:?} is not part of this installation's policy",
            d.role
        )))),
    }
}

/// Whether `role` may use `permission` from `origin`. Returns the terminal used
/// when the permission is bound to terminals.
pub fn authorize<'p>(
    policy: &'p Policy,
    role: RoleKind,
    permission: Permission,
    origin: &Origin,
) -> Result<Option<&'p Terminal>, Refusal> {
    if permission == Permission::LiveView && !policy.live_view.allowed {
        return Err(Refusal::LiveViewForbidden {
            basis: policy.live_view.basis.clone(),
        });
    }
    if !policy.allows(role, permission) {
        return Err(Refusal::RoleLacks {
            title: policy.role_title(role),
            permission: permission.as_str(),
        });
    }
    if !policy.access.terminal_bound.contains(&permission) {
        return Ok(None);
    }
    policy
        .terminals
        .iter()
        .find(|t| t.admits(role) && t.matches(origin.ip, origin.client_cert_sha256.as_deref()))
        .map(Some)
        .ok_or_else(|| Refusal::Terminal {
            origin: origin
                .ip
                .map(|i| i.to_string())
                .unwrap_or_else(|| "unknown address".into()),
            permission: permission.as_str(),
            terminals: policy
                .terminals
                .iter()
                .filter(|t| t.admits(role))
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join("・"),
            basis: policy.access.terminal_basis.clone(),
        })
}

/// Whether the person's role acts only under instructions (Osaka 第4条).
pub fn acts_under_instruction(policy: &Policy, role: RoleKind) -> bool {
    policy.role(role).is_some_and(|r| r.requires_instruction)
}

/// The instruction-gated part of a camera operation: when the person's role acts
/// only under instructions, an open instruction must cover the camera (and the
/// footage range, for recorded images). An operation on no particular camera
/// (adding one) cannot be covered by an instruction, which names its cameras.
/// Returns the instruction relied on.
pub async fn instruction_for(
    catalog: &Catalog,
    policy: &Policy,
    person: &Person,
    permission: Permission,
    camera: Option<CameraId>,
    range: Option<(Timestamp, Timestamp)>,
    now: Timestamp,
) -> Result<Result<Option<Instruction>, Refusal>, CatalogError> {
    if !(acts_under_instruction(policy, person.role) && permission.is_camera_operation()) {
        return Ok(Ok(None));
    }
    let found = catalog
        .instructions(Some(person.user.id))
        .await?
        .into_iter()
        .find(|i| camera.is_some_and(|c| i.covers(c, range, now)));
    Ok(found.map(Some).ok_or_else(|| Refusal::NoInstruction {
        basis: policy
            .role(person.role)
            .map(|r| r.basis.clone())
            .unwrap_or_default(),
    }))
}

/// Whether the person's role acts only under an agreement with their
/// organisation (a police station, Osaka 第8条).
pub fn acts_under_agreement(policy: &Policy, role: RoleKind) -> bool {
    policy.role(role).is_some_and(|r| r.requires_agreement)
}

/// The agreement-gated part of everything a police station's account does: an
/// agreement in force with their station (the account's organisation) must
/// cover the camera (and, for images, the footage range); on no particular camera, any
/// agreement in force will do. Returns the agreements relied on.
pub async fn agreements_for(
    catalog: &Catalog,
    policy: &Policy,
    person: &Person,
    permission: Permission,
    camera: Option<CameraId>,
    range: Option<(Timestamp, Timestamp)>,
    now: Timestamp,
) -> Result<Result<Vec<Agreement>, Refusal>, CatalogError> {
    if !acts_under_agreement(policy, person.role) {
        return Ok(Ok(Vec::new()));
    }
    // The footage range matters for images; a camera's status has none.
    let range = range.filter(|_| permission.touches_images());
    let station = person.user.organization.trim();
    let found: Vec<Agreement> = catalog
        .agreements()
        .await?
        .into_iter()
        .filter(|a| !station.is_empty() && a.station == station && a.in_force(now))
        .filter(|a| camera.is_none_or(|c| a.covers(c, range, now)))
        .collect();
    if found.is_empty() {
        return Ok(Err(Refusal::NoAgreement {
            station: if station.is_empty() {
                "the account's station".into()
            } else {
                station.to_string()
            },
            basis: policy
                .disclosure
                .agreement
                .as_ref()
                .map(|a| a.basis.clone())
                .unwrap_or_default(),
        }));
    }
    Ok(Ok(found))
}

/// A designation to make.
#[derive(Clone, Debug)]
pub struct DesignationRequest {
    pub role: RoleKind,
    pub valid_from: Timestamp,
    pub valid_until: Option<Timestamp>,
    pub basis: String,
}

/// Checks a designation against the policy: the role exists here; a temporary
/// designee is the installer's staff, has an end date and a stated reason why
/// the manager and the operators cannot operate (Kitakyushu 第3条2); a
/// staff-only role takes no one from outside; a police account names its station.
/// A breach is [`Error::Rule`].
pub fn check_designation(
    policy: &Policy,
    username: &str,
    organization: &str,
    req: &DesignationRequest,
) -> Result<(), Error> {
    let Some(rule) = policy.role(req.role) else {
        return Err(Error::rule(format!(
            "this regulation has no role {} to designate",
            req.role
        )));
    };
    if let Some(until) = req.valid_until
        && until <= req.valid_from
    {
        return Err(Error::rule("the end date must be after the start"));
    }
    if rule.staff_only && !organization.trim().is_empty() {
        return Err(Error::rule(format!(
            "{} is designated from the installer's own staff only ({}); {username} belongs to {organization}",
            rule.title, rule.basis
        )));
    }
    if req.role == RoleKind::Police && organization.trim().is_empty() {
        return Err(Error::rule(format!(
            "{} is an account of a police station: its organisation names the station, as the agreement does ({})",
            rule.title, rule.basis
        )));
    }
    if req.role == RoleKind::Temporary {
        if req.valid_until.is_none() {
            return Err(Error::rule(format!(
                "{} needs an end date ({})",
                rule.title, rule.basis
            )));
        }
        if !organization.is_empty() {
            return Err(Error::rule(format!(
                "{} is limited to the installer's own staff ({}); {username} belongs to {organization}",
                rule.title, rule.basis
            )));
        }
        if req.basis.trim().is_empty() {
            return Err(Error::rule(format!(
                "{}: state why the manager and the operators cannot operate ({})",
                rule.title, rule.basis
            )));
        }
    }
    Ok(())
}
