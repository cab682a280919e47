//! The one place where the catalog's two engines differ: SQLite (the embedded
//! default, one file) and PostgreSQL (one catalog for several machines).
//!
//! Everything else in this crate is one SQL text for both: `$n` placeholders,
//! `RETURNING id`, `ON CONFLICT`, booleans stored as 0/1 integers, no engine
//! functions beyond `COALESCE`, `MIN`, `MAX`, `COUNT`, `SUM`. What differs is how a
//! connection starts, how writers take turns, how deleted secrets leave the
//! files, and how a node claims the installation's duties.

use std::time::Duration;

use sqlx::AnyConnection;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

use crate::{CatalogError, Result};

/// The engine behind a catalog URL.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine a URL names (`sqlite:…`, `postgres://…` or `postgresql://…`).
    pub fn of_url(url: &str) -> Result<Engine> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Engine::Sqlite),
            "postgres" | "postgresql" => Ok(Engine::Postgres),
            _ => Err(CatalogError::Url(format!(
                "the catalog URL must start with sqlite: or postgres:// (got {scheme:?})"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "PostgreSQL",
        }
    }
}

/// Settings of every new SQLite connection. FULL: a committed row survives power
/// loss; the recorder relies on it. secure_delete: deleted rows (destroyed keys
/// among them) are overwritten, not left in free pages.
const SQLITE_CONNECTION_SETUP: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; PRAGMA busy_timeout = 10000;";

/// A pool of connections to `url`, each set up for `engine`.
pub(crate) async fn connect(url: &str, engine: Engine) -> Result<AnyPool> {
    sqlx::any::install_default_drivers();
    let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
    let pool = match engine {
        Engine::Sqlite => {
            // Two: the recorder's writes and one reader besides (SQLite's writers take
            // turns anyway). Each connection is a thread with its own page cache and
            // malloc arena, about 0.25 MB: four were 0.5 MB more at 8 cameras (issue 11).
            options
                .max_connections(2)
                .after_connect(|conn: &mut AnyConnection, _| {
                    Box::pin(async move {
                        sqlx::raw_sql(SQLITE_CONNECTION_SETUP)
                            .execute(&mut *conn)
                            .await?;
                        Ok(())
                    })
                })
                .connect(url)
                .await?
        }
        Engine::Postgres => options.max_connections(8).connect(url).await?,
    };
    Ok(pool)
}

/// The key of the advisory lock PostgreSQL writers take in turn ("mimamori").
const WRITE_LOCK_KEY: i64 = 0x6d69_6d61_6d6f_7269;
/// The key of the advisory lock held by the node doing the installation's duties.
const DUTY_LOCK_KEY: i64 = WRITE_LOCK_KEY + 1;

/// Begins a transaction that writers take one at a time: SQLite takes its write
/// lock at once (`BEGIN IMMEDIATE`), so a read lock never has to be upgraded;
/// PostgreSQL takes a transaction-scoped advisory lock, so that the catalog's
/// read-then-write sequences (the next chain link, the next audit entry) see the
/// last writer's commit, as they do on SQLite.
pub(crate) async fn write_tx(
    pool: &AnyPool,
    engine: Engine,
) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
    match engine {
        Engine::Sqlite => Ok(pool.begin_with("BEGIN IMMEDIATE").await?),
        Engine::Postgres => {
            let mut tx = pool.begin().await?;
            // Wrapped in a SELECT that yields an integer: the lock function returns
            // `void`, which the Any driver cannot decode.
            sqlx::query("SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock($1)) AS l")
                .bind(WRITE_LOCK_KEY)
                .execute(&mut *tx)
                .await?;
            Ok(tx)
        }
    }
}

/// After rows holding secrets were deleted: makes sure no old copy of them stays
/// in the database's files (SQLite: the write-ahead log is checkpointed and cut;
/// PostgreSQL: the table's dead rows are vacuumed, so their space is reused).
pub(crate) async fn purge_deleted(pool: &AnyPool, engine: Engine) -> Result<()> {
    let sql = match engine {
        Engine::Sqlite => "PRAGMA wal_checkpoint(TRUNCATE)",
        Engine::Postgres => "VACUUM data_key",
    };
    sqlx::raw_sql(sql).execute(pool).await?;
    Ok(())
}

/// The duties one node does for the whole installation (the retention sweeper,
/// the head signer), held while the value lives. On SQLite the data directory's
/// lock file already guarantees one node; on PostgreSQL, where several machines
/// reach one catalog, a session advisory lock held on a dedicated connection does
/// (it ends with the connection, so a killed node releases it at once).
pub struct DutyLease {
    _held: Option<AnyConnection>,
}

impl std::fmt::Debug for DutyLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DutyLease").finish_non_exhaustive()
    }
}

impl DutyLease {
    /// Whether the lease still holds: its connection answers (a PostgreSQL
    /// restart or a cut network ends the session, and with it the lock, which
    /// another node may then take).
    pub async fn still_held(&mut self) -> bool {
        let Some(conn) = self._held.as_mut() else {
            return true;
        };
        matches!(
            sqlx::query_scalar::<_, i64>("SELECT 1")
                .fetch_one(&mut *conn)
                .await,
            Ok(1)
        )
    }
}

/// Takes the duty lease, or `None` while another node holds it.
pub(crate) async fn duty_lease(pool: &AnyPool, engine: Engine) -> Result<Option<DutyLease>> {
    match engine {
        Engine::Sqlite => Ok(Some(DutyLease { _held: None })),
        Engine::Postgres => {
            let mut conn = pool.acquire().await?;
            let got: i64 =
                sqlx::query_scalar("SELECT CASE WHEN pg_try_advisory_lock($1) THEN 1 ELSE 0 END")
                    .bind(DUTY_LOCK_KEY)
                    .fetch_one(&mut *conn)
                    .await?;
            // Out of the pool: the lock must end with this connection, not stay
            // on a connection handed to the next query.
            Ok((got == 1).then(|| DutyLease {
                _held: Some(conn.detach()),
            }))
        }
    }
}

/// Lets a transaction insert rows before the rows they refer to (checked at
/// commit): a catalog is copied table by table, and `hold` and
/// `provision_request` refer to each other.
pub(crate) async fn defer_foreign_keys(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    engine: Engine,
) -> Result<()> {
    let sql = match engine {
        Engine::Sqlite => "PRAGMA defer_foreign_keys = ON",
        Engine::Postgres => "SET CONSTRAINTS ALL DEFERRED",
    };
    sqlx::raw_sql(sql).execute(&mut **tx).await?;
    Ok(())
}

/// After rows were copied in with their ids: the next id a table hands out
/// follows them (SQLite's rowids do so by themselves; PostgreSQL's identity
/// columns are moved on).
pub(crate) async fn after_copy(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    engine: Engine,
    table: &str,
    has_id: bool,
) -> Result<()> {
    if engine == Engine::Postgres && has_id {
        // NULL (nothing done) for a table whose id is not an identity column.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT CAST(setval(s, COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false) AS BIGINT) AS next \
             FROM (SELECT pg_get_serial_sequence('{table}', 'id') AS s) AS q WHERE s IS NOT NULL"
        )))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Whether a database error is a violated UNIQUE constraint.
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => d.is_unique_violation(),
        _ => false,
    }
}
