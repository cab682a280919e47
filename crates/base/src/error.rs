//! Stable error codes. A code (`E-REC-002`) appears in logs, the API and the UI, and
//! never changes meaning, so operators can look it up and tests can assert it.

use serde::Serialize;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub enum ErrorCode {
    /// The catalog database failed.
    CatalogIo,
    /// A segment file could not be written or read.
    StorageIo,
    /// Something asked for does not exist.
    NotFound,
    /// Input was malformed.
    BadInput,
    /// Not logged in, or wrong credentials.
    Unauthenticated,
    /// Logged in but not allowed.
    Forbidden,
    /// A name is already taken.
    Conflict,
    /// The camera refused our credentials.
    CameraAuth,
    /// The camera could not be reached.
    CameraUnreachable,
    /// The camera's stream could not be used.
    CameraStream,
    /// A catalog row points at bytes that are not there, or the reverse.
    Inconsistent,
    /// The policy file is invalid.
    Policy,
    /// Too many requests of this kind at once; try again in a moment.
    Busy,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::CatalogIo => "E-CAT-001",
            ErrorCode::StorageIo => "E-STO-001",
            ErrorCode::NotFound => "E-REQ-404",
            ErrorCode::BadInput => "E-REQ-400",
            ErrorCode::Unauthenticated => "E-AUT-401",
            ErrorCode::Forbidden => "E-AUT-403",
            ErrorCode::Conflict => "E-REQ-409",
            ErrorCode::CameraAuth => "E-REC-001",
            ErrorCode::CameraUnreachable => "E-REC-002",
            ErrorCode::CameraStream => "E-REC-003",
            ErrorCode::Inconsistent => "E-CHK-001",
            ErrorCode::Policy => "E-POL-001",
            ErrorCode::Busy => "E-REQ-503",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
