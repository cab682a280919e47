//! Fresh, empty catalogs for tests, on the engine the test run names: SQLite
//! unless `MIMAMORI_TEST_CATALOG=postgres`, in which case each catalog is a new
//! database on the PostgreSQL server at `MIMAMORI_TEST_POSTGRES` (which
//! `scripts/test.sh` starts on loopback). The same tests thus prove both engines.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Catalog, Engine};

/// The engine this test run uses.
pub fn engine() -> Engine {
    match std::env::var("MIMAMORI_TEST_CATALOG").as_deref() {
        Ok("postgres") => Engine::Postgres,
        _ => Engine::Sqlite,
    }
}

/// The URL of a new, empty catalog: a file in `dir` on SQLite, a new database on
/// the test server on PostgreSQL.
///
/// # Panics
/// When the run asks for PostgreSQL and the server is not named or not reachable:
/// a test must not pass on SQLite while claiming PostgreSQL.
pub async fn new_catalog_url(dir: &Path) -> String {
    new_catalog_url_on(engine(), dir).await
}

/// The URL of a new, empty catalog on `engine`, whichever engine the run uses.
///
/// # Panics
/// As [`new_catalog_url`].
#[allow(clippy::expect_used, clippy::panic)]
pub async fn new_catalog_url_on(engine: Engine, dir: &Path) -> String {
    match engine {
        Engine::Sqlite => crate::sqlite_url(&dir.join("catalog.db")),
        Engine::Postgres => {
            static COUNTER: AtomicU64 = AtomicU64::new(0);
            let server = std::env::var("MIMAMORI_TEST_POSTGRES").unwrap_or_else(|_| {
                panic!(
                    "a PostgreSQL catalog needs MIMAMORI_TEST_POSTGRES, the URL of a server \
                     (scripts/test.sh starts one; scripts/postgres.sh start DIR by hand)"
                )
            });
            let name = format!(
                "mimamori_test_{}_{}_{:x}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed),
                {
                    use std::hash::{BuildHasher, RandomState};
                    RandomState::new().hash_one(dir) & 0xffff_ffff
                }
            );
            sqlx::any::install_default_drivers();
            let admin = sqlx::AnyPool::connect(&server)
                .await
                .expect("the PostgreSQL test server is reachable");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&admin)
                .await
                .expect("a test database can be created");
            admin.close().await;
            let (base, query) = match server.split_once('?') {
                Some((b, q)) => (b, format!("?{q}")),
                None => (server.as_str(), String::new()),
            };
            let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
            format!("{base}/{name}{query}")
        }
    }
}

/// A new, empty catalog (see [`new_catalog_url`]).
#[allow(clippy::expect_used)]
pub async fn new_catalog(dir: &Path) -> Catalog {
    Catalog::open(&new_catalog_url(dir).await)
        .await
        .expect("a scratch catalog opens")
}
