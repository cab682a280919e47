//! Cameras: registering (by RTSP address, or the built-in test pattern),
//! changing, describing (location, purpose, shooting range, sign) and removing
//! them, and reading them back. Camera passwords are sealed
//! with the master key before they are stored and never returned. Recorders are
//! brought in line by the caller (the server does it at once; a running server
//! notices command-line changes within seconds).

use mimamori_base::CameraId;
use mimamori_catalog::{Camera, CameraDescription, CameraSource, NewCamera};
use mimamori_policy::Permission;

use crate::Governance;
use crate::actor::Actor;
use crate::audit::Entry;
use crate::error::{Error, Result};
use crate::holds::RetentionPicture;
use crate::input::{CameraName, RtspCamera, bounded_text, credentials_out_of_addresses};

/// The node recording a camera now, and what it last reported of the camera
/// (its recorder's status JSON, renewed with the lease every few seconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedBy {
    pub node: String,
    pub status: String,
}

impl Governance {
    /// The cameras not removed, in id order (needs `camera_status`); a police
    /// station's account sees only those of its agreements in force.
    pub async fn cameras(&self, actor: &Actor) -> Result<Vec<Camera>> {
        self.require(actor, Permission::CameraStatus).await?;
        let mut cameras = self.catalog.cameras().await?;
        if let Some(person) = actor.person()
            && crate::access::acts_under_agreement(&self.policy, person.role)
        {
            let agreements = crate::access::agreements_for(
                &self.catalog,
                &self.policy,
                person,
                Permission::CameraStatus,
                None,
                None,
                self.clock.now(),
            )
            .await?
            .unwrap_or_default();
            cameras.retain(|c| agreements.iter().any(|a| a.cameras.contains(&c.id)));
        }
        Ok(cameras)
    }

    /// One camera, removed or not (needs `camera_status`).
    pub async fn camera(&self, actor: &Actor, id: CameraId) -> Result<Camera> {
        self.require_camera(actor, Permission::CameraStatus, id)
            .await?;
        Ok(self.catalog.camera(id).await?)
    }

    /// A camera with its retention picture, for its page (needs `camera_status`).
    pub async fn camera_page(
        &self,
        actor: &Actor,
        id: CameraId,
    ) -> Result<(Camera, Option<RetentionPicture>)> {
        let camera = self.camera(actor, id).await?;
        let retention = self.retention_picture(id).await.ok();
        Ok((camera, retention))
    }

    /// A camera not removed, by name (the command line names cameras).
    pub async fn camera_by_name(&self, actor: &Actor, name: &str) -> Result<Camera> {
        self.require(actor, Permission::CameraStatus).await?;
        Ok(self.catalog.camera_by_name(name).await?)
    }

    /// Which node records each camera now (its live lease), and what that node
    /// last reported of it, for the camera pages of every node.
    pub async fn recording_nodes(
        &self,
        actor: &Actor,
    ) -> Result<std::collections::HashMap<CameraId, RecordedBy>> {
        self.require(actor, Permission::CameraStatus).await?;
        let now = self.now();
        Ok(self
            .catalog
            .camera_leases()
            .await?
            .into_iter()
            .filter(|l| l.until >= now)
            .map(|l| {
                (
                    l.camera,
                    RecordedBy {
                        node: l.node,
                        status: l.status,
                    },
                )
            })
            .collect())
    }

    /// Every camera to record (for bringing recorders in line; not an access by a person).
    pub async fn cameras_to_record(&self) -> Result<Vec<Camera>> {
        Ok(self.catalog.cameras().await?)
    }

    /// Registers an RTSP camera (needs `camera_settings`; a role under instructions
    /// cannot: an instruction names existing cameras).
    pub async fn camera_add(&self, actor: &Actor, cam: RtspCamera) -> Result<Camera> {
        self.require(actor, Permission::CameraSettings).await?;
        let name = cam.name.as_str().to_string();
        let new = self.sealed(cam, None)?;
        self.insert_camera(actor, &name, new).await
    }

    /// Registers the built-in test pattern (the demo's camera).
    pub async fn camera_add_test_pattern(&self, actor: &Actor, name: CameraName) -> Result<Camera> {
        self.require(actor, Permission::CameraSettings).await?;
        let new = NewCamera {
            name: name.as_str().to_string(),
            source: CameraSource::TestPattern,
            record_audio: false,
        };
        self.insert_camera(actor, name.as_str(), new).await
    }

    async fn insert_camera(&self, actor: &Actor, name: &str, new: NewCamera) -> Result<Camera> {
        let id = self.catalog.camera_insert(&new, self.clock.now()).await?;
        self.audit
            .record(actor, Entry::new("camera_added", name).camera(id))
            .await?;
        Ok(self.catalog.camera(id).await?)
    }

    /// Changes a camera's name, addresses or credentials; an empty password keeps
    /// the stored one.
    pub async fn camera_change(
        &self,
        actor: &Actor,
        id: CameraId,
        cam: RtspCamera,
    ) -> Result<Camera> {
        self.require_camera(actor, Permission::CameraSettings, id)
            .await?;
        let old = self.catalog.camera(id).await?;
        let keep = match old.source {
            CameraSource::Rtsp { password, .. } => password,
            CameraSource::TestPattern => {
                return Err(Error::bad_input("the test pattern has no settings"));
            }
        };
        let name = cam.name.as_str().to_string();
        let new = self.sealed(cam, keep)?;
        self.catalog.camera_update(id, &new).await?;
        self.audit
            .record(actor, Entry::new("camera_changed", name).camera(id))
            .await?;
        Ok(self.catalog.camera(id).await?)
    }

    /// Describes a camera (REQ-PUR-1, Kitakyushu 別表1: where it is installed, its
    /// installation purpose and shooting range; REQ-SIG-1: where its sign hangs).
    /// Needs `camera_settings`; each text is bounded; the change is logged.
    pub async fn camera_describe(
        &self,
        actor: &Actor,
        id: CameraId,
        typed: &CameraDescription,
    ) -> Result<Camera> {
        self.require_camera(actor, Permission::CameraSettings, id)
            .await?;
        let d = CameraDescription {
            location: bounded_text("location", &typed.location, 200)?,
            purpose: bounded_text("purpose", &typed.purpose, 200)?,
            coverage: bounded_text("coverage", &typed.coverage, 400)?,
            sign_location: bounded_text("sign_location", &typed.sign_location, 200)?,
        };
        self.catalog.camera_describe(id, &d).await?;
        let camera = self.catalog.camera(id).await?;
        self.audit
            .record(
                actor,
                Entry::new(
                    "camera_described",
                    format!("{}: {} / {}", camera.name, d.location, d.purpose),
                )
                .camera(id),
            )
            .await?;
        Ok(camera)
    }

    /// Removes a camera. Its footage stays until retention erases it; returns
    /// whether any remains.
    pub async fn camera_remove(&self, actor: &Actor, id: CameraId) -> Result<bool> {
        self.require_camera(actor, Permission::CameraSettings, id)
            .await?;
        let name = self.catalog.camera(id).await?.name;
        let kept = self.catalog.camera_remove(id, self.clock.now()).await?;
        self.audit
            .record(
                actor,
                Entry::new(
                    "camera_removed",
                    if kept {
                        format!("{name} (its footage stays until retention erases it)")
                    } else {
                        name
                    },
                )
                .camera(id),
            )
            .await?;
        Ok(kept)
    }

    /// Brings cameras stored by earlier versions up to date (once, at start-up):
    /// plain-text passwords are sealed with the master key, and credentials typed
    /// into an address (`rtsp://user:pw@…`) move out of it into their fields.
    /// Returns how many cameras changed.
    pub async fn seal_stored_credentials(&self) -> Result<usize> {
        let mut n = 0;
        for cam in self.catalog.cameras().await? {
            let CameraSource::Rtsp {
                main_url,
                sub_url,
                username,
                password,
            } = &cam.source
            else {
                continue;
            };
            // Addresses that no longer parse are kept as stored (the recorder
            // reports them); the others lose their credentials to the fields.
            let (main, sub, username, password, moved) = match (
                mimamori_base::RtspUrl::parse(main_url),
                sub_url
                    .as_deref()
                    .map(mimamori_base::RtspUrl::parse)
                    .transpose(),
            ) {
                (Ok(main), Ok(sub)) => {
                    let moved = main.credentials().is_some()
                        || sub.as_ref().and_then(|s| s.credentials()).is_some();
                    let (main, sub, u, p) = credentials_out_of_addresses(
                        &main,
                        sub.as_ref(),
                        username.clone(),
                        password.clone(),
                    );
                    (
                        main.as_str().to_string(),
                        sub.map(|s| s.as_str().to_string()),
                        u,
                        p,
                        moved,
                    )
                }
                _ => (
                    main_url.clone(),
                    sub_url.clone(),
                    username.clone(),
                    password.clone(),
                    false,
                ),
            };
            let sealed = match password {
                Some(p) if !mimamori_catalog::keys::is_sealed(&p) => {
                    Some(self.keys.seal_secret(&p)?)
                }
                other => other,
            };
            let updated = CameraSource::Rtsp {
                main_url: main,
                sub_url: sub,
                username,
                password: sealed,
            };
            if updated != cam.source {
                self.catalog
                    .camera_update(
                        cam.id,
                        &NewCamera {
                            name: cam.name.clone(),
                            source: updated,
                            record_audio: cam.record_audio,
                        },
                    )
                    .await?;
                if moved {
                    // What everyone with camera status sees changed: on the record.
                    self.audit
                        .record(
                            &Actor::console(),
                            Entry::new(
                                "camera_changed",
                                format!(
                                    "{}: credentials moved out of its address at start",
                                    cam.name
                                ),
                            )
                            .camera(cam.id),
                        )
                        .await?;
                }
                tracing::info!(camera = %cam.name, "camera credentials sealed with the master key, out of its address");
                n += 1;
            }
        }
        Ok(n)
    }

    /// The camera as stored: its password sealed with the master key (a kept one is
    /// sealed already).
    fn sealed(&self, cam: RtspCamera, keep: Option<String>) -> Result<NewCamera> {
        let password = match cam.password {
            Some(p) => Some(self.keys.seal_secret(&p.0)?),
            None => keep,
        };
        Ok(NewCamera {
            name: cam.name.as_str().to_string(),
            source: CameraSource::Rtsp {
                main_url: cam.main_url.as_str().to_string(),
                sub_url: cam.sub_url.map(|u| u.as_str().to_string()),
                username: cam.username,
                password,
            },
            record_audio: false,
        })
    }
}
