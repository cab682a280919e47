//! Recorder nodes and who records which camera: each node's heartbeat
//! (`recorder_node`) and each camera's lease (`camera_lease`: the node recording it
//! and until when). A lease is renewed by its node while the node lives; one that
//! ran out may be taken by any node, in one write transaction, so that two nodes
//! never both take the same camera. Which camera a node should take is the
//! recorder's decision; this module only keeps the rows.

use mimamori_base::{CameraId, Timestamp};
use sqlx::Row;

use crate::{Catalog, Result};

/// A node that has recorded for this catalog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecorderNode {
    pub name: String,
    /// Where its web door listens, as it said.
    pub address: String,
    pub started_at: Timestamp,
    pub heartbeat_at: Timestamp,
}

/// Which node records a camera, until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CameraLease {
    pub camera: CameraId,
    pub node: String,
    pub since: Timestamp,
    pub until: Timestamp,
    /// What that node last reported of the camera (the recorder's JSON; empty
    /// before its first report).
    pub status: String,
}

/// The outcome of [`Catalog::take_camera_lease`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Taken {
    /// The camera had no lease.
    New,
    /// This node held it already (a restart).
    Again,
    /// Another node's lease had run out: the camera moves from that node.
    From(String),
    /// Another node holds a live lease.
    Held(String),
}

fn lease(r: &sqlx::any::AnyRow) -> Result<CameraLease> {
    Ok(CameraLease {
        camera: CameraId(r.try_get("camera_id")?),
        node: r.try_get("node")?,
        since: Timestamp(r.try_get("since_us")?),
        until: Timestamp(r.try_get("until_us")?),
        status: r.try_get("status")?,
    })
}

impl Catalog {
    /// Records that `node` lives at `now` (started at `started`, listening at `address`).
    pub async fn node_heartbeat(
        &self,
        node: &str,
        address: &str,
        started: Timestamp,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO recorder_node (name, address, started_at_us, heartbeat_at_us) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET address = $5, \
             started_at_us = $6, heartbeat_at_us = $7",
        )
        .bind(node)
        .bind(address)
        .bind(started.0)
        .bind(now.0)
        .bind(address)
        .bind(started.0)
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every node that has recorded, by name.
    pub async fn recorder_nodes(&self) -> Result<Vec<RecorderNode>> {
        let rows = sqlx::query("SELECT * FROM recorder_node ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(RecorderNode {
                    name: r.try_get("name")?,
                    address: r.try_get("address")?,
                    started_at: Timestamp(r.try_get("started_at_us")?),
                    heartbeat_at: Timestamp(r.try_get("heartbeat_at_us")?),
                })
            })
            .collect()
    }

    /// Every camera's lease, live or run out, by camera.
    pub async fn camera_leases(&self) -> Result<Vec<CameraLease>> {
        let rows = sqlx::query("SELECT * FROM camera_lease ORDER BY camera_id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(lease).collect()
    }

    /// Extends every lease `node` holds that has not run out at `now` to `until`,
    /// with what it reports of those cameras (`statuses`); returns the cameras it
    /// holds. A lease that ran out stays run out: another node may have started
    /// on the camera meanwhile, and takes it with [`Catalog::take_camera_lease`].
    pub async fn renew_camera_leases(
        &self,
        node: &str,
        now: Timestamp,
        until: Timestamp,
        statuses: &[(CameraId, String)],
    ) -> Result<Vec<CameraId>> {
        // The reports first, in a transaction of their own: they need not wait
        // for the writers' turn (nor hold it, a statement per camera, while the
        // audit log's appends wait behind them).
        if !statuses.is_empty() {
            let mut reports = self.pool.begin().await?;
            for (camera, status) in statuses {
                sqlx::query(
                    "UPDATE camera_lease SET status = $1 \
                     WHERE camera_id = $2 AND node = $3 AND until_us >= $4 AND status <> $1",
                )
                .bind(status)
                .bind(camera.0)
                .bind(node)
                .bind(now.0)
                .execute(&mut *reports)
                .await?;
            }
            reports.commit().await?;
        }
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE camera_lease SET until_us = $1 WHERE node = $2 AND until_us >= $3")
            .bind(until.0)
            .bind(node)
            .bind(now.0)
            .execute(&mut *tx)
            .await?;
        let held: Vec<i64> = sqlx::query_scalar(
            "SELECT camera_id FROM camera_lease WHERE node = $1 AND until_us >= $2 ORDER BY camera_id",
        )
        .bind(node)
        .bind(now.0)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(held.into_iter().map(CameraId).collect())
    }

    /// Takes `camera` for `node` until `until`, unless another node's lease is
    /// live at `now`.
    pub async fn take_camera_lease(
        &self,
        camera: CameraId,
        node: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Taken> {
        let mut tx = self.write_tx().await?;
        let current = sqlx::query("SELECT * FROM camera_lease WHERE camera_id = $1")
            .bind(camera.0)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| lease(&r))
            .transpose()?;
        let taken = match current {
            Some(l) if l.node != node && l.until >= now => return Ok(Taken::Held(l.node)),
            Some(l) if l.node == node => Taken::Again,
            Some(l) => Taken::From(l.node),
            None => Taken::New,
        };
        sqlx::query(
            "INSERT INTO camera_lease (camera_id, node, since_us, until_us) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (camera_id) DO UPDATE SET node = $5, since_us = $6, until_us = $7, status = ''",
        )
        .bind(camera.0)
        .bind(node)
        .bind(now.0)
        .bind(until.0)
        .bind(node)
        .bind(now.0)
        .bind(until.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(taken)
    }

    /// Ends `node`'s leases at `now` (a node stopping hands its cameras on at once).
    pub async fn release_camera_leases(&self, node: &str, now: Timestamp) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE camera_lease SET until_us = $1 WHERE node = $2 AND until_us > $3")
            .bind(now.0 - 1)
            .bind(node)
            .bind(now.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scratch;
    use crate::{CameraSource, NewCamera};

    fn t(s: i64) -> Timestamp {
        Timestamp(s * 1_000_000)
    }

    // Issue 12 "Several recorder nodes": a camera is recorded by one node at a
    // time; a live lease keeps other nodes off, one run out is taken over and says
    // from whom, a restarted node gets its own back, a stopping node lets go.
    #[tokio::test]
    async fn a_lease_keeps_other_nodes_off_until_it_runs_out() {
        let dir = std::env::temp_dir().join(format!("mimamori-nodes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let c = scratch::new_catalog(&dir).await;
        let cam = c
            .camera_insert(
                &NewCamera {
                    name: "entrance".into(),
                    source: CameraSource::TestPattern,
                    record_audio: false,
                },
                t(0),
            )
            .await
            .unwrap();
        assert_eq!(
            c.take_camera_lease(cam, "a", t(0), t(15)).await.unwrap(),
            Taken::New
        );
        assert_eq!(
            c.take_camera_lease(cam, "b", t(10), t(25)).await.unwrap(),
            Taken::Held("a".into())
        );
        assert_eq!(
            c.renew_camera_leases(
                "a",
                t(12),
                t(27),
                &[(cam, r#"{"state":"recording"}"#.into())]
            )
            .await
            .unwrap(),
            [cam]
        );
        // What the holder reports is there for every node to show.
        assert_eq!(
            c.camera_leases().await.unwrap()[0].status,
            r#"{"state":"recording"}"#
        );
        assert_eq!(
            c.take_camera_lease(cam, "b", t(20), t(35)).await.unwrap(),
            Taken::Held("a".into())
        );
        // a stops heartbeating: at 28 its lease has run out.
        assert!(
            c.renew_camera_leases("b", t(28), t(43), &[(cam, "b's view".into())])
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            c.take_camera_lease(cam, "b", t(28), t(43)).await.unwrap(),
            Taken::From("a".into())
        );
        // a comes back: it holds nothing any more, and cannot take the camera back.
        assert!(
            c.renew_camera_leases("a", t(30), t(45), &[])
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            c.take_camera_lease(cam, "a", t(30), t(45)).await.unwrap(),
            Taken::Held("b".into())
        );
        assert_eq!(
            c.take_camera_lease(cam, "b", t(31), t(46)).await.unwrap(),
            Taken::Again
        );
        // b stops: a may take the camera at once.
        c.release_camera_leases("b", t(32)).await.unwrap();
        assert_eq!(
            c.take_camera_lease(cam, "a", t(32), t(47)).await.unwrap(),
            Taken::From("b".into())
        );
        let leases = c.camera_leases().await.unwrap();
        assert_eq!(leases.len(), 1);
        assert_eq!((leases[0].node.as_str(), leases[0].until), ("a", t(47)));
        assert_eq!(
            leases[0].status, "",
            "a new holder has reported nothing yet (b never held it when it reported)"
        );

        c.node_heartbeat("a", "127.0.0.1:8080", t(0), t(30))
            .await
            .unwrap();
        c.node_heartbeat("a", "127.0.0.1:8080", t(0), t(33))
            .await
            .unwrap();
        let nodes = c.recorder_nodes().await.unwrap();
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].heartbeat_at, t(33));
        c.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
