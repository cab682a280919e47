//! Forward-only schema migrations, compiled into the binary and run at start.
//! Each file runs once, in order, inside a write transaction (two nodes starting
//! at once migrate one after the other); the applied version is kept in
//! `schema_migration`.
//!
//! SQLite has its history from the first release on; PostgreSQL starts from a
//! baseline equal to SQLite's schema at version 15. A change to the schema from
//! now on is one migration per engine, with the same version number.

use sqlx::AnyPool;

use crate::{Catalog, CatalogError, Engine, Result};

/// (version, name, SQL). Append only; never edit a released migration.
const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = &[
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
    (
        16,
        "0016_recorder_nodes",
        include_str!("../migrations/0016_recorder_nodes.sql"),
    ),
    (
        17,
        "0017_stored_bytes_and_expiry_index",
        include_str!("../migrations/0017_stored_bytes_and_expiry_index.sql"),
    ),
    (
        18,
        "0018_camera_status_reported",
        include_str!("../migrations/0018_camera_status_reported.sql"),
    ),
];

/// PostgreSQL's migrations: the baseline, then one for every later SQLite one.
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        15,
        "0015_postgres_baseline",
        include_str!("../migrations/postgres/0015_baseline.sql"),
    ),
    (
        16,
        "0016_recorder_nodes",
        include_str!("../migrations/postgres/0016_recorder_nodes.sql"),
    ),
    (
        17,
        "0017_stored_bytes_and_expiry_index",
        include_str!("../migrations/postgres/0017_stored_bytes_and_expiry_index.sql"),
    ),
    (
        18,
        "0018_camera_status_reported",
        include_str!("../migrations/postgres/0018_camera_status_reported.sql"),
    ),
];

pub(crate) async fn run(catalog: &Catalog) -> Result<()> {
    let pool = &catalog.pool;
    let migrations = match catalog.engine {
        Engine::Sqlite => SQLITE_MIGRATIONS,
        Engine::Postgres => POSTGRES_MIGRATIONS,
    };
    let create = match catalog.engine {
        Engine::Sqlite => {
            "CREATE TABLE IF NOT EXISTS schema_migration (version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
        }
        Engine::Postgres => {
            "CREATE TABLE IF NOT EXISTS schema_migration (version BIGINT PRIMARY KEY, name TEXT NOT NULL)"
        }
    };
    // Under the write lock: two nodes creating the table at once collide on PostgreSQL.
    let mut tx = catalog.write_tx().await?;
    sqlx::raw_sql(create).execute(&mut *tx).await?;
    tx.commit().await?;
    if current_version(pool).await? >= last_version(migrations) {
        return Ok(());
    }
    for (version, name, sql) in migrations {
        let mut tx = catalog.write_tx().await?;
        // Read under the write lock: another node may have migrated meanwhile.
        let current: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migration")
            .fetch_one(&mut *tx)
            .await?;
        if *version <= current.unwrap_or(0) {
            continue;
        }
        sqlx::raw_sql(*sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| CatalogError::Migration((*name).to_string(), e))?;
        sqlx::query("INSERT INTO schema_migration (version, name) VALUES ($1, $2)")
            .bind(version)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(migration = name, "catalog schema migrated");
    }
    Ok(())
}

fn last_version(migrations: &[(i64, &str, &str)]) -> i64 {
    migrations.last().map_or(0, |m| m.0)
}

pub(crate) async fn current_version(pool: &AnyPool) -> Result<i64> {
    let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migration")
        .fetch_one(pool)
        .await?;
    Ok(v.unwrap_or(0))
}
