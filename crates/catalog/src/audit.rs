//! The audit log's storage: append-only entries, each chained to the previous by
//! SHA-256 over a canonical encoding, and signed heads. [`Catalog::audit_append`] is
//! the one place audit records are written.

use mimamori_base::{CameraId, Timestamp, UserId};
use sqlx::Row;

use crate::{Catalog, Result};

/// What happened, by whom, to what.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditRecord {
    pub at: Timestamp,
    pub user_id: Option<UserId>,
    pub username: String,
    pub action: String,
    pub camera_id: Option<CameraId>,
    pub range: Option<(Timestamp, Timestamp)>,
    /// The client's address.
    pub client: String,
    /// The stated purpose of a viewing (asked for once purposes come with the roles work).
    pub purpose: String,
    pub detail: String,
}

/// A stored entry.
#[derive(Clone, Debug)]
pub struct AuditEntry {
    pub seq: i64,
    pub record: AuditRecord,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

/// Canonical encoding of an entry: a JSON array in fixed order.
pub fn canonical(seq: i64, r: &AuditRecord) -> Vec<u8> {
    serde_json::json!([
        "mimamori-audit-v1",
        seq,
        r.at.0,
        r.user_id.map(|u| u.0),
        r.username,
        r.action,
        r.camera_id.map(|c| c.0),
        r.range.map(|x| x.0.0),
        r.range.map(|x| x.1.0),
        r.client,
        r.purpose,
        r.detail,
    ])
    .to_string()
    .into_bytes()
}

/// Filters for reading the log.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub username: Option<String>,
    pub camera_id: Option<CameraId>,
    pub action: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub limit: Option<i64>,
}

fn entry(r: &sqlx::any::AnyRow) -> Result<AuditEntry> {
    let from: Option<i64> = r.try_get("range_from_us")?;
    let to: Option<i64> = r.try_get("range_to_us")?;
    Ok(AuditEntry {
        seq: r.try_get("seq")?,
        record: AuditRecord {
            at: Timestamp(r.try_get("at_us")?),
            user_id: r.try_get::<Option<i64>, _>("user_id")?.map(UserId),
            username: r.try_get("username")?,
            action: r.try_get("action")?,
            camera_id: r.try_get::<Option<i64>, _>("camera_id")?.map(CameraId),
            range: from.zip(to).map(|(a, b)| (Timestamp(a), Timestamp(b))),
            client: r.try_get("client")?,
            purpose: r.try_get("purpose")?,
            detail: r.try_get("detail")?,
        },
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

impl Catalog {
    /// Appends an entry as the next link of the chain; returns its sequence number.
    pub async fn audit_append(&self, r: &AuditRecord) -> Result<i64> {
        let mut tx = self.write_tx().await?;
        let last = sqlx::query("SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
        let (seq, prev) = match last {
            Some(l) => (
                l.try_get::<i64, _>("seq")? + 1,
                l.try_get::<Vec<u8>, _>("hash")?,
            ),
            None => (1, vec![0u8; 32]),
        };
        let hash = mimamori_crypto::chain_link(&prev, &canonical(seq, r));
        sqlx::query(
            "INSERT INTO audit_entry (seq, at_us, user_id, username, action, camera_id, range_from_us, range_to_us, \
             client, purpose, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(seq)
        .bind(r.at.0)
        .bind(r.user_id.map(|u| u.0))
        .bind(&r.username)
        .bind(&r.action)
        .bind(r.camera_id.map(|c| c.0))
        .bind(r.range.map(|x| x.0.0))
        .bind(r.range.map(|x| x.1.0))
        .bind(&r.client)
        .bind(&r.purpose)
        .bind(&r.detail)
        .bind(&prev)
        .bind(hash.as_slice())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Entries matching `f`, newest first.
    pub async fn audit_entries(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM audit_entry WHERE ($1 IS NULL OR username = $2) AND ($3 IS NULL OR camera_id = $4) \
             AND ($5 IS NULL OR action = $6) AND ($7 IS NULL OR at_us >= $8) AND ($9 IS NULL OR at_us < $10) \
             ORDER BY seq DESC LIMIT $11",
        )
        .bind(f.username.as_deref())
        .bind(f.username.as_deref())
        .bind(f.camera_id.map(|c| c.0))
        .bind(f.camera_id.map(|c| c.0))
        .bind(f.action.as_deref())
        .bind(f.action.as_deref())
        .bind(f.from.map(|t| t.0))
        .bind(f.from.map(|t| t.0))
        .bind(f.to.map(|t| t.0))
        .bind(f.to.map(|t| t.0))
        .bind(f.limit.unwrap_or(1_000))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(entry).collect()
    }

    /// Every entry in sequence order (for verification).
    pub async fn audit_all(&self) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query("SELECT * FROM audit_entry ORDER BY seq")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(entry).collect()
    }

    pub async fn audit_head(&self) -> Result<Option<(i64, Vec<u8>)>> {
        let r = sqlx::query("SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        r.map(|r| Ok((r.try_get("seq")?, r.try_get("hash")?)))
            .transpose()
    }

    pub async fn audit_signature_insert(
        &self,
        seq: i64,
        hash: &[u8],
        at: Timestamp,
        signature: &[u8],
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_signature (seq, hash, signed_at_us, signature) VALUES ($1, $2, $3, $4)",
        )
        .bind(seq)
        .bind(hash)
        .bind(at.0)
        .bind(signature)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Signed heads: (seq, hash, signed_at, signature), oldest first.
    pub async fn audit_signatures(&self) -> Result<Vec<(i64, Vec<u8>, Timestamp, Vec<u8>)>> {
        let rows = sqlx::query(
            "SELECT seq, hash, signed_at_us, signature FROM audit_signature ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("seq")?,
                    r.try_get("hash")?,
                    Timestamp(r.try_get("signed_at_us")?),
                    r.try_get("signature")?,
                ))
            })
            .collect()
    }

    /// Governance events, newest first: (at, actor, kind, detail).
    pub async fn events(
        &self,
        limit: i64,
    ) -> Result<Vec<(Timestamp, Option<UserId>, String, String)>> {
        let entries = self
            .audit_entries(&crate::audit::AuditFilter {
                limit: Some(limit),
                ..Default::default()
            })
            .await?;
        Ok(entries
            .into_iter()
            .map(|e| {
                (
                    e.record.at,
                    e.record.user_id,
                    e.record.action,
                    e.record.detail,
                )
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch;

    // Issue 12 "Exactly one audit chain with many writers": two nodes (two
    // connection pools of their own, as two machines have) append at once, four
    // writers each, for a minute on PostgreSQL (where several nodes share a
    // catalog; eight seconds on SQLite, whose file one node has). Every entry is
    // in, exactly once, and the chain is one: contiguous sequence numbers, each
    // link over the one before.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn two_nodes_appending_at_once_make_one_chain_with_every_entry() {
        let dir =
            std::env::temp_dir().join(format!("mimamori-audit-writers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = scratch::new_catalog_url(&dir).await;
        let nodes = [
            Catalog::open(&url).await.unwrap(),
            Catalog::open(&url).await.unwrap(),
        ];
        let seconds = match nodes[0].engine() {
            crate::Engine::Postgres => 60,
            crate::Engine::Sqlite => 8,
        };
        let until = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
        let mut writers = Vec::new();
        for (n, node) in nodes.iter().enumerate() {
            for w in 0..4 {
                let node = node.clone();
                writers.push(tokio::spawn(async move {
                    let mut appended = Vec::new();
                    let mut i = 0;
                    while std::time::Instant::now() < until {
                        let detail = format!("node {n} writer {w} entry {i}");
                        let seq = node
                            .audit_append(&AuditRecord {
                                at: Timestamp(i),
                                username: format!("node{n}"),
                                action: "test".into(),
                                detail: detail.clone(),
                                ..AuditRecord::default()
                            })
                            .await
                            .unwrap();
                        appended.push((seq, detail));
                        i += 1;
                    }
                    appended
                }));
            }
        }
        let mut appended = Vec::new();
        for w in writers {
            appended.extend(w.await.unwrap());
        }
        let all = nodes[0].audit_all().await.unwrap();
        assert!(appended.len() > 100, "{} appended", appended.len());
        assert_eq!(all.len(), appended.len(), "no entry lost, none twice");
        let mut prev = vec![0u8; 32];
        for (i, e) in all.iter().enumerate() {
            assert_eq!(e.seq, i as i64 + 1, "sequence numbers without a hole");
            assert_eq!(e.prev_hash, prev, "entry {} links to the one before", e.seq);
            let hash = mimamori_crypto::chain_link(&prev, &canonical(e.seq, &e.record));
            assert_eq!(e.hash, hash.to_vec(), "entry {} hashes its content", e.seq);
            prev = e.hash.clone();
        }
        appended.sort();
        for (seq, detail) in &appended {
            assert_eq!(&all[*seq as usize - 1].record.detail, detail);
        }
        for n in nodes {
            n.close().await;
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
