//! Who acts, and from where: a designated person at a terminal (their role and
//! designation valid now, their address and client certificate), or the local
//! console (the command line on the server, for whoever can read the data
//! directory and its keys). Every operation takes one; its audit entry names it.

use std::net::IpAddr;

use mimamori_base::UserId;
use mimamori_catalog::User;
use mimamori_catalog::people::Designation;
use mimamori_policy::{Permission, RoleKind};

/// Where a request comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    pub ip: Option<IpAddr>,
    /// SHA-256 (hex) of the client certificate presented over TLS.
    pub client_cert_sha256: Option<String>,
}

impl Origin {
    /// The address as the audit log records it.
    pub fn client(&self) -> String {
        self.ip.map(|i| i.to_string()).unwrap_or_default()
    }
}

/// A designated person, as resolved for one request.
#[derive(Clone, Debug)]
pub struct Person {
    pub user: User,
    /// The role of the designation valid now.
    pub role: RoleKind,
    pub designation: Designation,
    /// What the role permits (wherever the person is; terminals are checked per use).
    pub permissions: Vec<Permission>,
    pub origin: Origin,
}

impl Person {
    pub fn has(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }
}

/// The name the audit log gives the console (a user name can never look like it).
pub const CONSOLE_NAME: &str = "(console)";

/// Who performs an operation.
#[derive(Clone, Debug)]
pub enum Actor {
    Person(Box<Person>),
    /// The command line on the server itself. `os_user` is the account it ran under.
    Console {
        os_user: String,
    },
}

impl Actor {
    /// The console, named after the operating-system account running the command.
    pub fn console() -> Actor {
        let os_user = ["SUDO_USER", "USER", "LOGNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "unknown".into());
        Actor::Console { os_user }
    }

    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Actor::Person(p) => Some(p.user.id),
            Actor::Console { .. } => None,
        }
    }

    /// The name in audit entries.
    pub fn name(&self) -> &str {
        match self {
            Actor::Person(p) => &p.user.username,
            Actor::Console { .. } => CONSOLE_NAME,
        }
    }

    /// The client in audit entries: an address, or `console:<os user>`.
    pub fn client(&self) -> String {
        match self {
            Actor::Person(p) => p.origin.client(),
            Actor::Console { os_user } => format!("console:{os_user}"),
        }
    }

    pub fn person(&self) -> Option<&Person> {
        match self {
            Actor::Person(p) => Some(p),
            Actor::Console { .. } => None,
        }
    }
}
