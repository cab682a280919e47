//! Copying a whole catalog into another, empty one of the same schema version
//! (`mimamori migrate`, SQLite → PostgreSQL or back): every row of every table,
//! with its ids, hashes and chain links as they are, in one transaction of the
//! target — it has everything afterwards, or nothing.

use futures::TryStreamExt;
use sqlx::any::AnyTypeInfoKind;
use sqlx::{Column, Row, ValueRef};

use crate::{Catalog, CatalogError, Result, dialect};

/// Every table of the catalog (schema version 15 on).
pub const TABLES: &[&str] = &[
    "camera",
    "video_params",
    "data_key",
    "segment",
    "gap",
    "app_user",
    "user_session",
    "chain_state",
    "chain_signature",
    "erasure",
    "erased_segment",
    "hold",
    "hold_camera",
    "governance_event",
    "verify_run",
    "audit_entry",
    "audit_signature",
    "designation",
    "pledge",
    "instruction",
    "instruction_camera",
    "provision_request",
    "provision_camera",
    "provision_document",
    "provision_package",
    "medium",
    "agreement",
    "agreement_camera",
    "complaint",
    "medium_confirmation",
    "camera_check",
    "hold_copy",
    "sign_photo",
    "recorder_node",
    "camera_lease",
];

/// Tables the catalog's triggers fill from other tables' rows: not copied, the
/// target's triggers rebuild them as the rows arrive.
pub const DERIVED_TABLES: &[&str] = &["camera_stored_bytes"];

/// Tables of which nodes are alive and which camera each records: copied like
/// the others, but they change without anything being recorded (a node
/// hands its cameras on when it stops), so a comparison of a catalog before and
/// after leaves them out.
pub const LIVENESS_TABLES: &[&str] = &["recorder_node", "camera_lease"];

/// One value of a row, as the Any driver carries it.
enum Value {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
}

fn value(row: &sqlx::any::AnyRow, i: usize) -> Result<Value> {
    let raw = row.try_get_raw(i)?;
    // A NULL carries no type of its own: the column's declared type tells.
    let kind = if raw.is_null() {
        row.columns()[i].type_info().kind()
    } else {
        raw.type_info().kind()
    };
    let null = raw.is_null();
    Ok(match kind {
        AnyTypeInfoKind::Bool
        | AnyTypeInfoKind::SmallInt
        | AnyTypeInfoKind::Integer
        | AnyTypeInfoKind::BigInt
        | AnyTypeInfoKind::Null => Value::Int(if null { None } else { Some(row.try_get(i)?) }),
        AnyTypeInfoKind::Real | AnyTypeInfoKind::Double => {
            Value::Real(if null { None } else { Some(row.try_get(i)?) })
        }
        AnyTypeInfoKind::Text => Value::Text(if null { None } else { Some(row.try_get(i)?) }),
        AnyTypeInfoKind::Blob => Value::Bytes(if null { None } else { Some(row.try_get(i)?) }),
    })
}

impl Catalog {
    /// Whether the catalog holds no row at all (a target for [`Catalog::copy_into`]).
    pub async fn is_empty(&self) -> Result<bool> {
        for table in TABLES {
            let n: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                    .fetch_one(&self.pool)
                    .await?;
            if n > 0 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Rows per table, in [`TABLES`] order.
    pub async fn row_counts(&self) -> Result<Vec<(&'static str, i64)>> {
        let mut out = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            let n: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                    .fetch_one(&self.pool)
                    .await?;
            out.push((*table, n));
        }
        Ok(out)
    }

    /// Copies every row into `target`, which must be empty and at the same schema
    /// version; returns the rows copied per table. Nothing is written to `target`
    /// unless everything is.
    pub async fn copy_into(&self, target: &Catalog) -> Result<Vec<(&'static str, i64)>> {
        let (from, to) = (self.schema_version().await?, target.schema_version().await?);
        if from != to {
            return Err(CatalogError::Stale(format!(
                "the catalogs are at schema versions {from} and {to}"
            )));
        }
        if !target.is_empty().await? {
            return Err(CatalogError::Stale(
                "the target catalog holds rows: copy into an empty one".into(),
            ));
        }
        // One snapshot of the source, one transaction on the target.
        let mut source = self.pool.begin().await?;
        let mut tx = target.write_tx().await?;
        dialect::defer_foreign_keys(&mut tx, target.engine).await?;
        let mut copied = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT * FROM {table} ORDER BY 1"
            )))
            .fetch(&mut *source);
            let mut insert: Option<String> = None;
            let mut n = 0i64;
            while let Some(row) = rows.try_next().await? {
                let sql = insert.get_or_insert_with(|| {
                    let names: Vec<&str> = row.columns().iter().map(|c| c.name()).collect();
                    let marks: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
                    format!(
                        "INSERT INTO {table} ({}) VALUES ({})",
                        names.join(", "),
                        marks.join(", ")
                    )
                });
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
                for i in 0..row.columns().len() {
                    q = match value(&row, i)? {
                        Value::Int(v) => q.bind(v),
                        Value::Real(v) => q.bind(v),
                        Value::Text(v) => q.bind(v),
                        Value::Bytes(v) => q.bind(v),
                    };
                }
                q.execute(&mut *tx).await?;
                n += 1;
            }
            drop(rows);
            let has_id = insert.as_deref().is_some_and(|s| s.contains("(id, "));
            dialect::after_copy(&mut tx, target.engine, table, has_id).await?;
            copied.push((*table, n));
        }
        tx.commit().await?;
        source.rollback().await?;
        Ok(copied)
    }
}
