//! Forward-only schema migrations, compiled into the binary and run at start.
//! Each file runs once, in order, inside a transaction; the applied version is
//! kept in `schema_migration`.

use sqlx::sqlite::SqlitePool;

use crate::{CatalogError, Result};

/// (version, name, SQL). Append only; never edit a released migration.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "0001_initial",
        include_str!("../migrations/0001_initial.sql"),
    ),
    (
        2,
        "0002_encryption_and_chain",
        include_str!("../migrations/0002_encryption_and_chain.sql"),
    ),
    (
        3,
        "0003_hold_medium_and_key_index",
        include_str!("../migrations/0003_hold_medium_and_key_index.sql"),
    ),
    (
        4,
        "0004_audit",
        include_str!("../migrations/0004_audit.sql"),
    ),
    (
        5,
        "0005_people",
        include_str!("../migrations/0005_people.sql"),
    ),
    (
        6,
        "0006_frames_commitment",
        include_str!("../migrations/0006_frames_commitment.sql"),
    ),
    (
        7,
        "0007_provision",
        include_str!("../migrations/0007_provision.sql"),
    ),
    (
        8,
        "0008_agreement",
        include_str!("../migrations/0008_agreement.sql"),
    ),
    (
        9,
        "0009_masked_copy",
        include_str!("../migrations/0009_masked_copy.sql"),
    ),
    (
        10,
        "0010_hold_ground",
        include_str!("../migrations/0010_hold_ground.sql"),
    ),
    (
        11,
        "0011_records",
        include_str!("../migrations/0011_records.sql"),
    ),
    (
        12,
        "0012_camera_description",
        include_str!("../migrations/0012_camera_description.sql"),
    ),
    (
        13,
        "0013_hold_copy",
        include_str!("../migrations/0013_hold_copy.sql"),
    ),
    (
        14,
        "0014_sign_photo",
        include_str!("../migrations/0014_sign_photo.sql"),
    ),
    (
        15,
        "0015_segment_digest",
        include_str!("../migrations/0015_segment_digest.sql"),
    ),
];

pub(crate) async fn run(pool: &SqlitePool) -> Result<()> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migration (version INTEGER PRIMARY KEY, name TEXT NOT NULL)",
    )
    .execute(pool)
    .await?;
    let current = current_version(pool).await?;
    for (version, name, sql) in MIGRATIONS {
        if *version <= current {
            continue;
        }
        let mut tx = pool.begin().await?;
        sqlx::raw_sql(*sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| CatalogError::Migration((*name).to_string(), e))?;
        sqlx::query("INSERT INTO schema_migration (version, name) VALUES (?, ?)")
            .bind(version)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(migration = name, "catalog schema migrated");
    }
    Ok(())
}

pub(crate) async fn current_version(pool: &SqlitePool) -> Result<i64> {
    let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migration")
        .fetch_one(pool)
        .await?;
    Ok(v.unwrap_or(0))
}
