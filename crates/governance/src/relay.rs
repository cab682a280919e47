//! Live view through another node (issue 12: any node may serve the web UI).
//! Live frames exist only on the node that records the camera. The node a person
//! uses checks the viewing and writes its `live_view` entry, exactly as for a
//! camera it records itself, and then hands the view to the recording node with a
//! grant. A grant allows live view of one camera, from one node to another, for
//! [`GRANT_SECONDS`] and once. It is signed with the installation's key, which
//! every node holds, under a context of its own, so that no signature over a
//! chain head or a manifest can pass for a grant. The recording node streams only
//! against a grant it verified; the relaying node keeps checking the person's
//! session and ends the relay with it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use base64::Engine as _;
use mimamori_base::CameraId;
use mimamori_policy::Permission;
use serde::{Deserialize, Serialize};

use crate::Governance;
use crate::actor::Actor;
use crate::audit::Entry;
use crate::error::{Error, Result};

/// How long a grant may wait before the recording node takes it.
pub const GRANT_SECONDS: i64 = 30;

/// What a grant's signature covers besides its claims: a grant is nothing else.
const GRANT_CONTEXT: &[u8] = b"mimamori node grant v1: live view relay\n";

/// Grants taken and not yet run out, so that each is taken once; more than this
/// many at once are refused (a node mints one per live view opened).
const MAX_TAKEN: usize = 10_000;

/// Where the frames of a live view come from.
#[derive(Debug)]
pub enum LiveSource {
    /// This node records the camera.
    Here(CameraId),
    /// `node` records it: the relay connects to `url` (WebSocket, grant included).
    Node { node: String, url: String },
}

/// What a grant says (signed).
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Claims {
    camera: i64,
    /// The recording node the grant is for.
    to: String,
    /// The node that checked the viewing and wrote its entry.
    from: String,
    /// Who watches (for the recording node's log).
    user: String,
    expires_us: i64,
    nonce: String,
}

/// A grant the recording node accepted.
#[derive(Debug)]
pub struct AcceptedGrant {
    pub camera: CameraId,
    pub from: String,
    pub user: String,
}

/// The grants this node has taken (see [`MAX_TAKEN`]).
#[derive(Default)]
pub struct TakenGrants(Mutex<HashMap<String, i64>>);

impl Governance {
    /// Live view of a camera for a stated purpose (needs `live_view`, which the
    /// policy may forbid outright), asked on the node `here`. The `live_view`
    /// entry is written before this returns; the caller then streams the frames
    /// from where this says. A camera another node records is relayed from it;
    /// when that node gives no address to relay from, nothing is logged.
    pub async fn live_view_on(
        &self,
        actor: &Actor,
        camera: CameraId,
        purpose: Option<&str>,
        note: Option<&str>,
        here: &str,
    ) -> Result<LiveSource> {
        let (camera, purpose) = self.live_view_allowed(actor, camera, purpose, note).await?;
        let elsewhere = self.recorded_elsewhere(camera, here).await?;
        self.audit
            .record(
                actor,
                Entry {
                    action: "live_view",
                    camera: Some(camera),
                    purpose,
                    ..Entry::default()
                },
            )
            .await?;
        let Some((node, base)) = elsewhere else {
            return Ok(LiveSource::Here(camera));
        };
        let grant = self.mint_live_grant(camera, &node, here, actor.name());
        Ok(LiveSource::Node {
            url: format!("{base}/api/relay/live/{camera}?grant={grant}"),
            node,
        })
    }

    /// The node recording `camera` and its WebSocket base, when it is not `here`.
    async fn recorded_elsewhere(
        &self,
        camera: CameraId,
        here: &str,
    ) -> Result<Option<(String, String)>> {
        let now = self.now();
        let Some(lease) = self
            .catalog
            .camera_leases()
            .await?
            .into_iter()
            .find(|l| l.camera == camera && l.until >= now && l.node != here)
        else {
            return Ok(None);
        };
        let address = self
            .catalog
            .recorder_nodes()
            .await?
            .into_iter()
            .find(|n| n.name == lease.node)
            .map(|n| n.address)
            .unwrap_or_default();
        let base = websocket_base(&address).map_err(|why| {
            Error::Conflict(format!(
                "camera {camera} is recorded by the node {}, and live view cannot be relayed from it: {why}; open its live view on that node",
                lease.node
            ))
        })?;
        Ok(Some((lease.node, base)))
    }

    pub(crate) fn mint_live_grant(
        &self,
        camera: CameraId,
        to: &str,
        from: &str,
        user: &str,
    ) -> String {
        let claims = Claims {
            camera: camera.0,
            to: to.into(),
            from: from.into(),
            user: user.into(),
            expires_us: self.now().0 + GRANT_SECONDS * 1_000_000,
            nonce: mimamori_crypto::random_hex(16),
        };
        let body = serde_json::to_vec(&claims).unwrap_or_default();
        let signature = self.signer.sign(&[GRANT_CONTEXT, &body].concat());
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{}.{}", b64.encode(&body), b64.encode(signature))
    }

    /// Whether `grant` is one this installation signed and still runs: the
    /// check made before anything else on the relay route (no session there).
    pub fn live_grant_signed(&self, grant: &str) -> Result<()> {
        self.grant_claims(grant).map(drop)
    }

    /// On the recording node `here`: takes a grant for live view of `camera`
    /// (once). Refused: not signed by this installation, for another camera or
    /// node, run out, or taken before.
    pub fn accept_live_grant(
        &self,
        camera: CameraId,
        grant: &str,
        here: &str,
    ) -> Result<AcceptedGrant> {
        let claims = self.grant_claims(grant)?;
        if claims.camera != camera.0 || claims.to != here {
            return Err(Error::Denied(
                "the grant is for another camera or node".into(),
            ));
        }
        let now = self.now().0;
        let mut taken = self
            .taken_grants
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        taken.retain(|_, expires| *expires >= now);
        if taken.len() >= MAX_TAKEN {
            return Err(Error::Busy("too many live views relayed at once".into()));
        }
        if taken
            .insert(claims.nonce.clone(), claims.expires_us)
            .is_some()
        {
            return Err(Error::Denied("the grant was used before".into()));
        }
        Ok(AcceptedGrant {
            camera,
            from: claims.from,
            user: claims.user,
        })
    }

    fn grant_claims(&self, grant: &str) -> Result<Claims> {
        let refused = || Error::Denied("not a valid grant of this installation".into());
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        // Bounded before any work: a grant is a few hundred bytes.
        if grant.len() > 2048 {
            return Err(refused());
        }
        let (body, signature) = grant.split_once('.').ok_or_else(refused)?;
        let body = b64.decode(body).map_err(|_| refused())?;
        let signature = b64.decode(signature).map_err(|_| refused())?;
        mimamori_crypto::verify_signature(
            &self.signer.public_key(),
            &[GRANT_CONTEXT, &body].concat(),
            &signature,
        )
        .map_err(|_| refused())?;
        let claims: Claims = serde_json::from_slice(&body).map_err(|_| refused())?;
        if claims.expires_us < self.now().0 {
            return Err(Error::Denied("the grant has run out".into()));
        }
        Ok(claims)
    }

    /// The checks of a live view, before its entry: a purpose stated (REQ-PUR-1),
    /// the camera there, the actor allowed on it.
    pub(crate) async fn live_view_allowed(
        &self,
        actor: &Actor,
        camera: CameraId,
        purpose: Option<&str>,
        note: Option<&str>,
    ) -> Result<(CameraId, String)> {
        let purpose = crate::viewing::stated_purpose(&self.policy, purpose, note)?;
        let cam = self.catalog.camera(camera).await?;
        if cam.removed_at.is_some() {
            return Err(Error::NotFound("camera removed".into()));
        }
        self.require_camera(actor, Permission::LiveView, cam.id)
            .await?;
        Ok((cam.id, purpose))
    }
}

/// The WebSocket base of a node's recorded address (`http://host:port`,
/// `https://host:port`, or a bare `host:port` from a node of an earlier version).
fn websocket_base(address: &str) -> std::result::Result<String, &'static str> {
    let (scheme, hostport) = match address.split_once("://") {
        Some(("http", rest)) => ("ws", rest),
        Some(("https", rest)) => ("wss", rest),
        Some(_) => return Err("its recorded address is not an HTTP address"),
        None => ("ws", address),
    };
    match hostport.parse::<std::net::SocketAddr>() {
        Ok(a) if a.ip().is_unspecified() || a.port() == 0 => Err(
            "it listens on every address and names none the other nodes can reach (set [recorder] address in its config.toml)",
        ),
        _ if hostport.is_empty() => Err("it has recorded no address"),
        _ => Ok(format!("{scheme}://{hostport}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nodes_address_gives_its_websocket_base_or_says_why_not() {
        assert_eq!(
            websocket_base("http://10.0.0.2:8080").unwrap(),
            "ws://10.0.0.2:8080"
        );
        assert_eq!(
            websocket_base("10.0.0.2:8080").unwrap(),
            "ws://10.0.0.2:8080"
        );
        assert_eq!(
            websocket_base("http://rec1.local:8080").unwrap(),
            "ws://rec1.local:8080"
        );
        assert!(
            websocket_base("http://0.0.0.0:8080")
                .unwrap_err()
                .contains("[recorder] address")
        );
        assert_eq!(
            websocket_base("https://rec1.city.example:8443").unwrap(),
            "wss://rec1.city.example:8443"
        );
        assert!(websocket_base("").is_err());
    }
}
