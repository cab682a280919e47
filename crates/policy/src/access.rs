//! Who may do what, from where, and why: the roles a regulation names and their
//! permissions, the registered terminals (viewing rooms), the purposes a viewing may
//! state, and whether operators act only under the manager's instruction. Also the
//! consistency rules a policy file must satisfy before mimamori starts.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The kinds of role the regulations name. A preset titles each as its regulation does.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleKind {
    /// 管理責任者 / 運用責任者: designated by position; designates everyone else.
    Manager,
    /// 操作取扱者 / 取扱責任者 / 取扱担当者 / 操作員: designated by the manager.
    Operator,
    /// 臨時に指定した者: installer's staff only, always with an end date.
    Temporary,
    /// 保守業者: camera health and settings within the maintenance scope.
    Contractor,
    /// Reads the audit log.
    Auditor,
    /// Technical setup; no images.
    Sysadmin,
    /// 協定を締結した警察署の職員: views and extracts only under an agreement in
    /// force with their station (Osaka 第8条).
    Police,
}

impl RoleKind {
    pub const ALL: [RoleKind; 7] = [
        RoleKind::Manager,
        RoleKind::Operator,
        RoleKind::Temporary,
        RoleKind::Contractor,
        RoleKind::Auditor,
        RoleKind::Sysadmin,
        RoleKind::Police,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RoleKind::Manager => "manager",
            RoleKind::Operator => "operator",
            RoleKind::Temporary => "temporary",
            RoleKind::Contractor => "contractor",
            RoleKind::Auditor => "auditor",
            RoleKind::Sysadmin => "sysadmin",
            RoleKind::Police => "police",
        }
    }

    pub fn parse(s: &str) -> Option<RoleKind> {
        RoleKind::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for RoleKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a person may be allowed to do. Every route of the web server declares one.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Watch images as they are recorded.
    LiveView,
    /// Play recorded images.
    Playback,
    /// Download recorded images as a file.
    Export,
    /// See cameras, their status and recorded spans (no images).
    CameraStatus,
    /// Add, change and remove cameras.
    CameraSettings,
    /// See the retention rules, storage and erasure log.
    RetentionView,
    /// Create, change and release holds (保存期間の延長).
    RetentionHold,
    /// Read the audit log.
    AuditRead,
    /// Designate people, record pledges and training.
    Designate,
    /// Issue and revoke instructions (指示) to operators.
    Instruct,
    /// Register requests for footage (申請・照会), record identity checks and
    /// deliveries, read the register.
    Provision,
    /// Decide a request (提供の可否): the manager's alone.
    ProvisionDecide,
    /// Keep the records beside the footage: complaints and inquiries, the media
    /// register and disposals (confirming one), the yearly report.
    Records,
}

impl Permission {
    pub const ALL: [Permission; 13] = [
        Permission::LiveView,
        Permission::Playback,
        Permission::Export,
        Permission::CameraStatus,
        Permission::CameraSettings,
        Permission::RetentionView,
        Permission::RetentionHold,
        Permission::AuditRead,
        Permission::Designate,
        Permission::Instruct,
        Permission::Provision,
        Permission::ProvisionDecide,
        Permission::Records,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::LiveView => "live_view",
            Permission::Playback => "playback",
            Permission::Export => "export",
            Permission::CameraStatus => "camera_status",
            Permission::CameraSettings => "camera_settings",
            Permission::RetentionView => "retention_view",
            Permission::RetentionHold => "retention_hold",
            Permission::AuditRead => "audit_read",
            Permission::Designate => "designate",
            Permission::Instruct => "instruct",
            Permission::Provision => "provision",
            Permission::ProvisionDecide => "provision_decide",
            Permission::Records => "records",
        }
    }

    /// Permissions that show images.
    pub fn touches_images(self) -> bool {
        matches!(
            self,
            Permission::LiveView | Permission::Playback | Permission::Export
        )
    }

    /// Permissions of the provision process (added to roles of older policy files).
    pub fn is_provision(self) -> bool {
        matches!(self, Permission::Provision | Permission::ProvisionDecide)
    }

    /// Permissions that act on one camera (instructions are per camera).
    pub fn is_camera_operation(self) -> bool {
        self.touches_images() || self == Permission::CameraSettings
    }
}

/// What one role may do under this regulation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleRule {
    /// The role's name in the regulation (管理責任者, 操作員, …).
    pub title: String,
    /// Where the regulation names the role.
    pub basis: String,
    pub permissions: Vec<Permission>,
    /// A second factor (TOTP) is required at login.
    #[serde(default)]
    pub totp_required: bool,
    /// Acts on cameras and images only under an open instruction from the manager.
    #[serde(default)]
    pub requires_instruction: bool,
    /// Sees cameras and images only under an agreement in force with the
    /// person's organisation (a police station, Osaka 第8条).
    #[serde(default)]
    pub requires_agreement: bool,
    /// Only the installer's own staff are designated to it (Tottori 3(4),
    /// Midori 第4条2, Osaka 第4条3): a person with an organisation is refused.
    #[serde(default)]
    pub staff_only: bool,
}

/// A registered terminal (a viewing room or a dedicated PC). A request comes from it
/// when its address is in one of the networks (if any are listed) and it presents one
/// of the client certificates (if any are listed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Terminal {
    pub name: String,
    pub basis: String,
    /// Address ranges in CIDR form (`192.168.10.0/24`).
    #[serde(default)]
    pub networks: Vec<String>,
    /// SHA-256 fingerprints (hex) of accepted client certificates.
    #[serde(default)]
    pub client_certificates: Vec<String>,
    /// Roles that may use this terminal for terminal-bound work (empty: every role).
    #[serde(default)]
    pub roles: Vec<RoleKind>,
}

/// One allowed purpose of viewing (設置目的 and the grounds the regulation allows).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purpose {
    pub id: String,
    pub label: String,
    pub basis: String,
}

/// The access part of the policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Access {
    /// Only the manager handles images (Osaka 第5条2); no other role may hold an image permission.
    #[serde(default)]
    pub images_manager_only: bool,
    /// Permissions usable only from a registered terminal.
    pub terminal_bound: Vec<Permission>,
    /// Where the regulation places monitors and operating devices.
    pub terminal_basis: String,
}

/// A reason the policy cannot be enforced as written: where and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Contradiction {
    /// The table the problem sits in (`roles.operator`, `terminals`, …); `index` for arrays of tables.
    pub table: String,
    pub index: usize,
    /// The key inside the table.
    pub key: String,
    pub message: String,
}

/// A CIDR range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(s: &str) -> Option<Network> {
        let (a, p) = s.trim().split_once('/')?;
        let addr: IpAddr = a.parse().ok()?;
        let prefix: u8 = p.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Network { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl Terminal {
    /// Whether a request from `ip`, presenting a client certificate with this
    /// fingerprint (if any), comes from this terminal.
    pub fn matches(&self, ip: Option<IpAddr>, cert_sha256: Option<&str>) -> bool {
        let net_ok = self.networks.is_empty()
            || ip.is_some_and(|ip| {
                self.networks
                    .iter()
                    .filter_map(|n| Network::parse(n))
                    .any(|n| n.contains(ip))
            });
        let cert_ok = self.client_certificates.is_empty()
            || cert_sha256.is_some_and(|c| {
                self.client_certificates
                    .iter()
                    .any(|f| normalize_fingerprint(f) == normalize_fingerprint(c))
            });
        net_ok && cert_ok
    }

    pub fn admits(&self, role: RoleKind) -> bool {
        self.roles.is_empty() || self.roles.contains(&role)
    }
}

/// Lower-case hex without separators (`AB:CD` → `abcd`).
pub fn normalize_fingerprint(f: &str) -> String {
    f.chars()
        .filter(|c| c.is_ascii_hexdigit())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

pub(crate) fn check(policy: &crate::Policy) -> Vec<Contradiction> {
    let mut out = Vec::new();
    let mut say = |table: &str, index: usize, key: &str, message: String| {
        out.push(Contradiction {
            table: table.to_string(),
            index,
            key: key.to_string(),
            message,
        })
    };
    let Some(manager) = policy.roles.get(&RoleKind::Manager) else {
        say(
            "roles",
            0,
            "",
            "the policy names no manager ([roles.manager]); every regulation has one".into(),
        );
        return out;
    };
    if !manager.permissions.contains(&Permission::Designate) {
        say(
            "roles.manager",
            0,
            "permissions",
            "the manager must be able to designate people (\"designate\")".into(),
        );
    }
    for (kind, rule) in &policy.roles {
        let table = format!("roles.{kind}");
        let mut seen = Vec::new();
        for p in &rule.permissions {
            if seen.contains(p) {
                say(
                    &table,
                    0,
                    "permissions",
                    format!("{} is listed twice", p.as_str()),
                );
            }
            seen.push(*p);
        }
        if !policy.live_view.allowed && rule.permissions.contains(&Permission::LiveView) {
            say(
                &table,
                0,
                "permissions",
                format!(
                    "live view is not allowed ([live_view] allowed = false, {}) but this role has \"live_view\"",
                    policy.live_view.basis
                ),
            );
        }
        // An agreement overrides "only the manager handles images" (Osaka 第8条:
        // 第5条第2項…にかかわらず、当該協定の定めるところ).
        let under_agreement = rule.requires_agreement && policy.disclosure.agreement.is_some();
        if policy.access.images_manager_only
            && *kind != RoleKind::Manager
            && !under_agreement
            && rule.permissions.iter().any(|p| p.touches_images())
        {
            say(
                &table,
                0,
                "permissions",
                "only the manager handles images ([access] images_manager_only = true) but this role has an image permission".into(),
            );
        }
        if (*kind == RoleKind::Police) != rule.requires_agreement {
            say(
                &table,
                0,
                "requires_agreement",
                "a police station's accounts act only under an agreement, and only they do (requires_agreement = true for roles.police alone)".into(),
            );
        }
        if rule.requires_agreement && policy.disclosure.agreement.is_none() {
            say(
                &table,
                0,
                "requires_agreement",
                "this regulation provides for no agreement with a police station ([disclosure.agreement])".into(),
            );
        }
        if *kind == RoleKind::Police
            && rule.permissions.iter().any(|p| {
                !matches!(
                    p,
                    Permission::CameraStatus | Permission::Playback | Permission::Export
                )
            })
        {
            say(
                &table,
                0,
                "permissions",
                "a police station's accounts see cameras, play and extract footage (camera_status, playback, export) and nothing else".into(),
            );
        }
        if rule.requires_instruction && !matches!(kind, RoleKind::Operator | RoleKind::Temporary) {
            say(
                &table,
                0,
                "requires_instruction",
                "only operators and temporary designees act under instructions".into(),
            );
        }
        if matches!(
            kind,
            RoleKind::Contractor | RoleKind::Sysadmin | RoleKind::Auditor
        ) && rule.permissions.iter().any(|p| {
            matches!(
                p,
                Permission::Designate | Permission::Instruct | Permission::RetentionHold
            )
        }) {
            say(
                &table,
                0,
                "permissions",
                "designations, instructions and holds are the manager's (and operators') work"
                    .into(),
            );
        }
    }
    for (kind, rule) in &policy.roles {
        if *kind != RoleKind::Manager && rule.permissions.contains(&Permission::ProvisionDecide) {
            say(
                &format!("roles.{kind}"),
                0,
                "permissions",
                format!(
                    "only the manager decides a request for footage (\"provision_decide\", {})",
                    policy.disclosure.decision_basis
                ),
            );
        }
        if matches!(
            kind,
            RoleKind::Contractor | RoleKind::Sysadmin | RoleKind::Auditor
        ) && rule.permissions.contains(&Permission::Provision)
        {
            say(
                &format!("roles.{kind}"),
                0,
                "permissions",
                "requests for footage are handled by the manager and operators".into(),
            );
        }
    }
    let d = &policy.disclosure;
    if d.grounds.is_empty() {
        say(
            "disclosure",
            0,
            "grounds",
            "no grounds are listed: no request could ever be registered".into(),
        );
    }
    if d.methods.is_empty() {
        say(
            "disclosure",
            0,
            "methods",
            "no methods of provision are listed".into(),
        );
    }
    let r = &policy.retention;
    if let Some(max) = r.max_days.filter(|_| !r.max_days_approximate) {
        if r.days > max {
            say(
                "retention",
                0,
                "days",
                format!(
                    "{} days is more than the regulation allows: at most {max} days ({})",
                    r.days, r.max_days_basis
                ),
            );
        }
        for (camera, days) in &r.cameras {
            if *days > max {
                say(
                    "retention.cameras",
                    0,
                    camera,
                    format!(
                        "camera {camera}: {days} days is more than the regulation allows: at most {max} days ({})",
                        r.max_days_basis
                    ),
                );
            }
        }
    }
    let mut seen_hold_grounds = Vec::new();
    for (i, g) in policy.retention.hold_grounds.iter().enumerate() {
        if g.id.is_empty() || g.label.is_empty() || seen_hold_grounds.contains(&&g.id) {
            say(
                "retention.hold_grounds",
                i,
                "id",
                "each ground needs an id of its own and a label".into(),
            );
        }
        seen_hold_grounds.push(&g.id);
    }
    if let Some(a) = &d.agreement {
        if d.ground(&a.ground).is_none() {
            say(
                "disclosure.agreement",
                0,
                "ground",
                format!("{:?} is not one of the grounds", a.ground),
            );
        }
        if d.method(&a.method).is_none() {
            say(
                "disclosure.agreement",
                0,
                "method",
                format!("{:?} is not one of the methods", a.method),
            );
        }
    }
    let mut seen_grounds = Vec::new();
    for (i, g) in d.grounds.iter().enumerate() {
        if g.id.is_empty() || g.label.is_empty() || seen_grounds.contains(&&g.id) {
            say(
                "disclosure.grounds",
                i,
                "id",
                format!("ground {:?} needs a label and an id of its own", g.id),
            );
        }
        seen_grounds.push(&g.id);
    }
    let mut seen_methods = Vec::new();
    for (i, m) in d.methods.iter().enumerate() {
        if m.id.is_empty() || m.label.is_empty() || seen_methods.contains(&&m.id) {
            say(
                "disclosure.methods",
                i,
                "id",
                format!("method {:?} needs a label and an id of its own", m.id),
            );
        }
        seen_methods.push(&m.id);
    }
    if policy.roles.values().any(|r| r.requires_instruction)
        && !manager.permissions.contains(&Permission::Instruct)
    {
        say(
            "roles.manager",
            0,
            "permissions",
            "a role requires instructions but the manager cannot issue them (\"instruct\")".into(),
        );
    }
    if !policy.access.terminal_bound.is_empty() && policy.terminals.is_empty() {
        say(
            "access",
            0,
            "terminal_bound",
            "permissions are bound to terminals but no terminal is registered ([[terminals]])"
                .into(),
        );
    }
    for (i, t) in policy.terminals.iter().enumerate() {
        if t.networks.is_empty() && t.client_certificates.is_empty() {
            say(
                "terminals",
                i,
                "name",
                format!(
                    "terminal {:?} has neither networks nor client_certificates: it would match any request",
                    t.name
                ),
            );
        }
        for n in &t.networks {
            if Network::parse(n).is_none() {
                say(
                    "terminals",
                    i,
                    "networks",
                    format!("{n:?} is not an address range like \"192.168.10.0/24\""),
                );
            }
        }
        for c in &t.client_certificates {
            if normalize_fingerprint(c).len() != 64 {
                say(
                    "terminals",
                    i,
                    "client_certificates",
                    format!("{c:?} is not a SHA-256 fingerprint (64 hex digits)"),
                );
            }
        }
        for r in &t.roles {
            if !policy.roles.contains_key(r) {
                say(
                    "terminals",
                    i,
                    "roles",
                    format!("role {r} is not defined in [roles]"),
                );
            }
        }
    }
    if policy.purposes.is_empty() {
        say(
            "purposes",
            0,
            "",
            "no purposes are listed: viewing must state one of them".into(),
        );
    }
    let mut ids = Vec::new();
    for (i, p) in policy.purposes.iter().enumerate() {
        if p.id.is_empty() || p.label.is_empty() {
            say(
                "purposes",
                i,
                "id",
                "a purpose needs an id and a label".into(),
            );
        }
        if ids.contains(&&p.id) {
            say(
                "purposes",
                i,
                "id",
                format!("purpose id {:?} is used twice", p.id),
            );
        }
        ids.push(&p.id);
    }
    out
}

/// The 1-based line of a problem in the policy file text: the key's line inside the
/// table (the n-th `[[table]]` for arrays), else the table header's line, else 1.
pub(crate) fn locate(text: &str, c: &Contradiction) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let header = |l: &str| {
        let l = l.trim();
        l == format!("[{}]", c.table) || l == format!("[[{}]]", c.table)
    };
    let mut start = None;
    let mut seen = 0;
    for (i, l) in lines.iter().enumerate() {
        if header(l) {
            if seen == c.index {
                start = Some(i);
                break;
            }
            seen += 1;
        }
    }
    let Some(start) = start else {
        return 1;
    };
    if !c.key.is_empty() {
        for (i, l) in lines.iter().enumerate().skip(start + 1) {
            let t = l.trim_start();
            if t.starts_with('[') {
                break;
            }
            if t.split('=').next().is_some_and(|k| k.trim() == c.key) {
                return i + 1;
            }
        }
    }
    start + 1
}

/// The roles, terminals, purposes and access rules of one preset.
pub(crate) struct PresetAccess {
    pub roles: BTreeMap<RoleKind, RoleRule>,
    pub terminals: Vec<Terminal>,
    pub purposes: Vec<Purpose>,
    pub access: Access,
}

fn rule(title: &str, basis: &str, permissions: &[Permission]) -> RoleRule {
    RoleRule {
        title: title.to_string(),
        basis: basis.to_string(),
        permissions: permissions.to_vec(),
        totp_required: false,
        requires_instruction: false,
        requires_agreement: false,
        staff_only: false,
    }
}

fn purpose(id: &str, label: &str, basis: &str) -> Purpose {
    Purpose {
        id: id.to_string(),
        label: label.to_string(),
        basis: basis.to_string(),
    }
}

/// Loopback only: the installer replaces it with the room's address range.
fn terminal(name: &str, basis: &str, roles: &[RoleKind]) -> Terminal {
    Terminal {
        name: name.to_string(),
        basis: basis.to_string(),
        networks: vec!["127.0.0.1/32".into(), "::1/128".into()],
        client_certificates: Vec::new(),
        roles: roles.to_vec(),
    }
}

pub(crate) fn preset_access(name: &str, live_allowed: bool) -> Option<PresetAccess> {
    use Permission::*;
    use RoleKind::*;
    let live: &[Permission] = if live_allowed { &[LiveView] } else { &[] };
    let with_live = |p: &[Permission]| -> Vec<Permission> {
        let mut v = live.to_vec();
        v.extend_from_slice(p);
        v
    };
    let manager_perms = with_live(&[
        Playback,
        Export,
        CameraStatus,
        CameraSettings,
        RetentionView,
        RetentionHold,
        AuditRead,
        Designate,
        Provision,
        ProvisionDecide,
        Records,
    ]);
    // Instructions exist only where a regulation gates operators on them (Osaka 第4条3).
    let mut manager_with_instructions = manager_perms.clone();
    manager_with_instructions.push(Instruct);
    let operator_perms = with_live(&[
        Playback,
        Export,
        CameraStatus,
        RetentionView,
        Provision,
        Records,
    ]);
    let auditor = rule(
        "監査担当者",
        "システム上の役割（規程に定めなし）: アクセス記録の点検。画像は扱わない",
        &[AuditRead, CameraStatus, RetentionView],
    );
    let sysadmin = rule(
        "システム管理者",
        "システム上の役割（規程に定めなし）: 技術的な設定。画像・カメラ操作は扱わない",
        &[CameraStatus, RetentionView],
    );
    let image_bound = vec![LiveView, Playback, Export, CameraSettings];
    let mut roles = BTreeMap::new();
    let (terminals, purposes, access) = match name {
        "tottori-city-hall" => {
            roles.insert(
                Manager,
                rule(
                    "管理責任者",
                    "3(2) 管理責任者は財産経営課長",
                    &manager_perms,
                ),
            );
            let mut operator = rule(
                "操作取扱者",
                "3(3)(4) 操作取扱者は財産経営課課長補佐（管理責任者の指導、監督を受ける）",
                &operator_perms,
            );
            operator.staff_only = true;
            roles.insert(Operator, operator);
            roles.insert(
                Contractor,
                rule(
                    "保守業者",
                    "7 保守点検（画像は扱わない）",
                    &[CameraStatus, CameraSettings],
                ),
            );
            roles.insert(Auditor, auditor);
            roles.insert(Sysadmin, sysadmin);
            let basis = "4(3) モニター装置及びカメラの操作装置等の設置場所は管理室及び財産経営課";
            (
                vec![
                    terminal("管理室", basis, &[]),
                    terminal("財産経営課", basis, &[Manager, Operator]),
                ],
                vec![
                    purpose("prevention", "事故防止及び犯罪の未然防止", "2ア"),
                    purpose("incident", "事故及び犯罪発生時の状況確認", "2イ"),
                    purpose(
                        "inquiry",
                        "法令に基づく照会・捜査機関からの情報提供の求めへの対応",
                        "6(1)(2)",
                    ),
                    purpose(
                        "safety",
                        "人の生命、身体又は財産の安全確保その他公共の利益",
                        "6(3)",
                    ),
                ],
                Access {
                    images_manager_only: false,
                    terminal_bound: image_bound,
                    terminal_basis: basis.into(),
                },
            )
        }
        "kitakyushu" => {
            roles.insert(
                Manager,
                rule(
                    "管理責任者",
                    "第3条 安全・安心都市整備担当課長をもって充てる",
                    &manager_perms,
                ),
            );
            roles.insert(
                Operator,
                rule(
                    "取扱責任者",
                    "第3条2 管理責任者が指定する取扱責任者",
                    &operator_perms,
                ),
            );
            roles.insert(
                Temporary,
                rule(
                    "臨時に指定した者",
                    "第3条2 管理責任者が臨時に指定した者（本市職員に限る）",
                    &with_live(&[Playback, CameraStatus, RetentionView]),
                ),
            );
            roles.insert(
                Contractor,
                rule(
                    "保守業者",
                    "第5条(2) 運用保守の範囲内で操作（画像の閲覧・提供は行わない）",
                    &[CameraStatus, CameraSettings],
                ),
            );
            roles.insert(Auditor, auditor);
            roles.insert(Sysadmin, sysadmin);
            let basis = "第5条(3) 集中管理室（北九州市専用線で接続）";
            (
                vec![terminal("集中管理室", basis, &[])],
                vec![
                    purpose(
                        "crime-prevention",
                        "市内における各種犯罪の発生抑止",
                        "第2条",
                    ),
                    purpose(
                        "investigation",
                        "捜査機関からの具体的事件に係る照会への対応",
                        "第6条(1)",
                    ),
                    purpose(
                        "emergency",
                        "人の生命、身体又は財産に対する差し迫った危険",
                        "第6条(2)",
                    ),
                    purpose("legal", "その他法令に基づく照会", "第6条(3)"),
                ],
                Access {
                    images_manager_only: false,
                    terminal_bound: image_bound,
                    terminal_basis: basis.into(),
                },
            )
        }
        "chiba-guideline" => {
            roles.insert(
                Manager,
                rule("管理責任者", "第2-4 管理責任者の指定", &manager_perms),
            );
            roles.insert(
                Operator,
                rule(
                    "取扱担当者",
                    "第2-5(1) 取扱担当者の指定（委託する場合は委託業者の担当者、第3-2）",
                    &operator_perms,
                ),
            );
            roles.insert(
                Contractor,
                rule(
                    "保守業者",
                    "第3-2 委託業者（画像は扱わない）",
                    &[CameraStatus, CameraSettings],
                ),
            );
            roles.insert(Auditor, auditor);
            roles.insert(Sysadmin, sysadmin);
            let basis = "第2-5(4) 録画装置・モニターは防護された場所で厳重に管理";
            (
                vec![terminal("モニター設置場所", basis, &[])],
                vec![
                    purpose("crime-prevention", "犯罪防止", "第2-1 設置の目的"),
                    purpose("accident", "災害又は事故の防止", "第2-1 設置の目的"),
                    purpose("legal", "法令の規定に基づく場合", "第2-7(1)ア"),
                    purpose(
                        "investigation",
                        "捜査機関からの犯罪捜査目的の要請",
                        "第2-7(1)イ",
                    ),
                    purpose(
                        "emergency",
                        "人の生命、身体又は財産の安全を守るため緊急かつやむを得ない場合",
                        "第2-7(1)ウ",
                    ),
                    purpose(
                        "consent",
                        "本人の同意がある場合又は本人に提供する場合",
                        "第2-7(1)エ",
                    ),
                ],
                Access {
                    images_manager_only: false,
                    terminal_bound: image_bound,
                    terminal_basis: basis.into(),
                },
            )
        }
        "midori-stations" => {
            roles.insert(
                Manager,
                rule(
                    "運用責任者",
                    "第3条 運用責任者は総務部危機管理課長",
                    &manager_perms,
                ),
            );
            let mut operator = rule(
                "操作員",
                "第4条2 操作員は総務部危機管理課職員",
                &operator_perms,
            );
            operator.staff_only = true;
            roles.insert(Operator, operator);
            roles.insert(
                Contractor,
                rule(
                    "受託者",
                    "第11条 設置や管理業務の受託者（運用責任者が監督。画像は扱わない）",
                    &[CameraStatus, CameraSettings],
                ),
            );
            roles.insert(Auditor, auditor);
            roles.insert(Sysadmin, sysadmin);
            let basis = "第5条 画像表示装置は危機管理課内のみに設置";
            (
                vec![terminal("危機管理課", basis, &[])],
                vec![
                    purpose(
                        "crime-prevention",
                        "犯罪抑止効果の検証・地域住民の安全確保",
                        "第2条",
                    ),
                    purpose("legal", "法令に基づく場合", "第9条(1)"),
                    purpose(
                        "emergency",
                        "個人の生命、身体又は財産を守るため緊急かつやむを得ない場合",
                        "第9条(2)",
                    ),
                    purpose(
                        "public-duty",
                        "国の機関等の法令の定める事務への協力",
                        "第9条(3)",
                    ),
                    purpose(
                        "investigation",
                        "捜査機関からの犯罪や事故捜査等の要請",
                        "第9条(4)",
                    ),
                    purpose("consent", "本人の同意がある場合", "第9条"),
                ],
                Access {
                    images_manager_only: false,
                    terminal_bound: image_bound,
                    terminal_basis: basis.into(),
                },
            )
        }
        "osaka-nishinari" => {
            roles.insert(
                Manager,
                rule(
                    "管理責任者",
                    "第4条2 西成区役所地域支援担当課長／第5条2 画像の取扱いは管理責任者が行う",
                    &manager_with_instructions,
                ),
            );
            let mut operator = rule(
                "取扱担当者",
                "第4条3 市民協働課職員から指定（管理責任者からの指示がなければ運用管理を行わない）",
                &[CameraStatus, CameraSettings, RetentionView],
            );
            operator.requires_instruction = true;
            operator.staff_only = true;
            roles.insert(Operator, operator);
            roles.insert(Auditor, auditor);
            roles.insert(Sysadmin, sysadmin);
            let mut police = rule(
                "協定警察署の職員",
                "第8条 協定を締結した警察署による閲覧及び抽出（当該協定の定めるところ）",
                &[CameraStatus, Playback, Export],
            );
            police.requires_agreement = true;
            roles.insert(Police, police);
            let basis = "第2条(3)・第12条 専用パソコン";
            (
                vec![
                    terminal("専用パソコン", basis, &[Manager, Operator]),
                    terminal("協定警察署の登録端末", "第8条 協定に定める端末", &[Police]),
                ],
                vec![
                    purpose("child-safety", "子どもや女性等に対する犯罪の抑止", "第3条"),
                    purpose(
                        "legal",
                        "法令等に基づく手続きによる照会等への対応",
                        "第6条(1)",
                    ),
                    purpose(
                        "emergency",
                        "個人の生命、身体又は財産の安全を守るため緊急かつやむを得ない場合",
                        "第6条(2)",
                    ),
                    purpose(
                        "consent",
                        "本人の同意がある場合又は本人に提供する場合",
                        "第6条(3)",
                    ),
                ],
                Access {
                    images_manager_only: true,
                    terminal_bound: image_bound,
                    terminal_basis: basis.into(),
                },
            )
        }
        _ => return None,
    };
    Some(PresetAccess {
        roles,
        terminals,
        purposes,
        access,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_match_v4_v6_and_mapped_addresses() {
        let n = Network::parse("192.168.10.0/24").unwrap();
        assert!(n.contains("192.168.10.77".parse().unwrap()));
        assert!(n.contains("::ffff:192.168.10.77".parse().unwrap()));
        assert!(!n.contains("192.168.11.1".parse().unwrap()));
        let all = Network::parse("0.0.0.0/0").unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        let v6 = Network::parse("::1/128").unwrap();
        assert!(v6.contains("::1".parse().unwrap()));
        assert!(!v6.contains("::2".parse().unwrap()));
        assert!(Network::parse("10.0.0.0/33").is_none());
        assert!(Network::parse("10.0.0.0").is_none());
    }

    #[test]
    fn terminal_needs_both_network_and_certificate_when_both_are_listed() {
        let t = Terminal {
            name: "t".into(),
            basis: String::new(),
            networks: vec!["10.0.0.0/8".into()],
            client_certificates: vec!["AB:".repeat(32)],
            roles: vec![],
        };
        let ip = Some("10.1.2.3".parse().unwrap());
        assert!(t.matches(ip, Some(&"ab".repeat(32))));
        assert!(!t.matches(ip, None));
        assert!(!t.matches(Some("11.1.2.3".parse().unwrap()), Some(&"ab".repeat(32))));
    }
}
