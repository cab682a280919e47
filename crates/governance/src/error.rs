//! The one error type of the application layer. A refusal by the policy is a
//! variant ([`Error::Refused`], with the rule and its basis), so every door maps
//! the same outcome to the same answer: the web in one function, the CLI as a
//! message and an exit code.

use mimamori_base::ErrorCode;
use mimamori_catalog::CatalogError;
use mimamori_storage::StorageError;

use crate::refusal::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The policy does not let this actor do this here (already written to the audit log).
    #[error("{0}")]
    Refused(Refusal),
    /// The request breaks a rule of the regulation (a temporary designee without an
    /// end date, a role the regulation lacks, no purpose stated).
    #[error("{0}")]
    Rule(String),
    /// Malformed input; the message names the field.
    #[error("{0}")]
    BadInput(String),
    /// A credential check failed (the current password, for a change).
    #[error("{0}")]
    Denied(String),
    /// Something asked for does not exist; the message says what.
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Too much of this at once; try again in a moment.
    #[error("{0}")]
    Busy(String),
    /// Stored data contradicts itself (a corrupt index, a missing nonce).
    #[error("{0}")]
    Inconsistent(String),
    #[error(transparent)]
    Catalog(CatalogError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn bad_input(message: impl Into<String>) -> Error {
        Error::BadInput(message.into())
    }

    pub fn rule(message: impl Into<String>) -> Error {
        Error::Rule(message.into())
    }

    /// The stable code shown to people and scripts.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Refused(_) | Error::Denied(_) => ErrorCode::Forbidden,
            Error::Rule(_) => ErrorCode::Policy,
            Error::BadInput(_) => ErrorCode::BadInput,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::Inconsistent(_) => ErrorCode::Inconsistent,
            Error::Busy(_) => ErrorCode::Busy,
            Error::Catalog(e) => e.code(),
            Error::Storage(_) => ErrorCode::StorageIo,
        }
    }

    /// Whether this is our failure rather than the request's (logged, never shown in detail).
    pub fn is_internal(&self) -> bool {
        matches!(self, Error::Catalog(_) | Error::Storage(_))
    }
}

impl From<CatalogError> for Error {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound(what) => Error::NotFound(format!("{what} not found")),
            CatalogError::Conflict(what) => Error::Conflict(format!("{what} already exists")),
            e => Error::Catalog(e),
        }
    }
}

impl From<mimamori_base::time::BadTime> for Error {
    fn from(e: mimamori_base::time::BadTime) -> Self {
        Error::BadInput(e.0)
    }
}

impl From<mimamori_crypto::password::HashError> for Error {
    fn from(e: mimamori_crypto::password::HashError) -> Self {
        Error::Inconsistent(e.to_string())
    }
}
