//! The one place where SQL dialects differ. Today: SQLite. A PostgreSQL backend
//! adds its arm here (placeholders `$n`, `BIGINT`, `BYTEA`, error codes).

/// Whether a database error is a violated UNIQUE constraint.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => d.is_unique_violation(),
        _ => false,
    }
}
