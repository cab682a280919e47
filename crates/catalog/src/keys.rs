//! Data keys: one per camera per Japan-time day, created on first use, wrapped by
//! the installation's master key, destroyed when the last footage of their day is
//! erased. Unwrapped keys are cached in memory, never written anywhere. Also seals
//! camera credentials with the master key, so the catalog alone reveals none.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use mimamori_base::{CameraId, Timestamp};
use mimamori_crypto::Key;
use sqlx::Row;

use crate::{Catalog, CatalogError, Result};

const DAY_US: i64 = 86_400_000_000;
/// Prefix of a sealed credential in the catalog (hex of nonce ‖ ciphertext ‖ tag follows).
const SEALED: &str = "sealed:v1:";
const SECRET_CONTEXT: &[u8] = b"mimamori-camera-credential-v1";
const JST_US: i64 = 9 * 3_600_000_000;

/// The Japan-time day containing `t`, as [start, end).
pub fn key_period(t: Timestamp) -> (Timestamp, Timestamp) {
    let start = (t.0 + JST_US).div_euclid(DAY_US) * DAY_US - JST_US;
    (Timestamp(start), Timestamp(start + DAY_US))
}

/// Whether a stored credential is sealed.
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED)
}

fn context(camera: CameraId, period_start: Timestamp) -> Vec<u8> {
    format!(
        "mimamori-data-key-v1 camera={camera} period={}",
        period_start.0
    )
    .into_bytes()
}

fn file_context(name: &str) -> String {
    format!("mimamori-file-key-v1 {name}")
}

pub struct KeyRing {
    catalog: Catalog,
    master: Key,
    cache: Mutex<HashMap<i64, Key>>,
    /// The id of each camera's key for a day, once written with: recording opens
    /// a segment without asking the catalog again (and goes on while the
    /// catalog is unreachable, issue 12).
    write_keys: Mutex<HashMap<(CameraId, Timestamp), i64>>,
    /// No new data key is made: the catalog is being copied into another, which
    /// would not hold it (and footage sealed with it could not be read).
    frozen: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyRing")
    }
}

impl KeyRing {
    /// Seals a camera credential with the master key. Sealed text stays as it is.
    pub fn seal_secret(&self, secret: &str) -> Result<String> {
        if is_sealed(secret) {
            return Ok(secret.to_string());
        }
        let sealed = self
            .master
            .seal(secret.as_bytes(), SECRET_CONTEXT)
            .map_err(|e| CatalogError::Key(format!("sealing a credential: {e}")))?;
        Ok(format!("{SEALED}{}", hex::encode(sealed)))
    }

    /// Opens a sealed credential; text written before sealing existed passes through.
    pub fn open_secret(&self, stored: &str) -> Result<String> {
        let Some(h) = stored.strip_prefix(SEALED) else {
            return Ok(stored.to_string());
        };
        let bytes = hex::decode(h)
            .map_err(|_| CatalogError::Key("a sealed credential is not hex".into()))?;
        let plain = self
            .master
            .open(&bytes, SECRET_CONTEXT)
            .map_err(|e| CatalogError::Key(format!("a camera credential cannot be opened: {e}")))?;
        String::from_utf8(plain)
            .map_err(|_| CatalogError::Key("a sealed credential is not text".into()))
    }

    pub fn new(catalog: Catalog, master: Key) -> Self {
        KeyRing {
            catalog,
            master,
            cache: Mutex::new(HashMap::new()),
            write_keys: Mutex::new(HashMap::new()),
            frozen: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The key for footage of `camera` recorded at `at`, created if needed.
    pub async fn key_for_write(
        &self,
        camera: CameraId,
        at: Timestamp,
        now: Timestamp,
    ) -> Result<(i64, Key)> {
        let (start, end) = key_period(at);
        let known = self
            .write_keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(camera, start))
            .copied();
        if let Some(id) = known
            && let Some(k) = self.cached(id)
        {
            return Ok((id, k));
        }
        let row = sqlx::query(
            "SELECT id, wrapped_key FROM data_key WHERE camera_id = $1 AND period_start_us = $2",
        )
        .bind(camera.0)
        .bind(start.0)
        .fetch_optional(&self.catalog.pool)
        .await?;
        if let Some(r) = row {
            let id: i64 = r.try_get("id")?;
            return match self.key(id).await? {
                Some(k) => {
                    self.write_keys
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert((camera, start), id);
                    Ok((id, k))
                }
                None => Err(CatalogError::Key(format!(
                    "the data key of camera {camera} for this day was already destroyed"
                ))),
            };
        }
        if self.frozen.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(CatalogError::Key(format!(
                "no new data key for camera {camera} while the catalog is being moved"
            )));
        }
        let key = Key::generate();
        let wrapped = self
            .master
            .wrap(&key, &context(camera, start))
            .map_err(|e| CatalogError::Key(e.to_string()))?;
        // Two streams of one camera may race to create the day's key: the first wins.
        sqlx::query(
            "INSERT INTO data_key (camera_id, period_start_us, period_end_us, wrapped_key, created_at_us) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (camera_id, period_start_us) DO NOTHING",
        )
        .bind(camera.0)
        .bind(start.0)
        .bind(end.0)
        .bind(&wrapped)
        .bind(now.0)
        .execute(&self.catalog.pool)
        .await?;
        let id: i64 = sqlx::query_scalar(
            "SELECT id FROM data_key WHERE camera_id = $1 AND period_start_us = $2",
        )
        .bind(camera.0)
        .bind(start.0)
        .fetch_one(&self.catalog.pool)
        .await?;
        let key = self.key(id).await?.ok_or_else(|| {
            CatalogError::Key(format!(
                "the data key of camera {camera} for this day was already destroyed"
            ))
        })?;
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, key.clone());
        self.write_keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((camera, start), id);
        Ok((id, key))
    }

    /// From now on no data key is made (keys already made are still given out),
    /// for the rest of this process: the catalog is being copied into the one
    /// the installation moves to.
    pub fn freeze(&self) {
        self.frozen.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn cached(&self, id: i64) -> Option<Key> {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    /// A key by id; `None` once destroyed.
    pub async fn key(&self, id: i64) -> Result<Option<Key>> {
        if let Some(k) = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            return Ok(Some(k.clone()));
        }
        let row = sqlx::query(
            "SELECT camera_id, period_start_us, wrapped_key FROM data_key WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.catalog.pool)
        .await?
        .ok_or_else(|| CatalogError::NotFound(format!("data key {id}")))?;
        let wrapped: Option<Vec<u8>> = row.try_get("wrapped_key")?;
        let Some(wrapped) = wrapped else {
            return Ok(None);
        };
        let camera = CameraId(row.try_get("camera_id")?);
        let start = Timestamp(row.try_get("period_start_us")?);
        let key = self.master.unwrap_key(&wrapped, &context(camera, start)).map_err(|_| {
            CatalogError::Key(format!(
                "data key {id} cannot be unwrapped: wrong master key file, or the catalog was altered"
            ))
        })?;
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, key.clone());
        Ok(Some(key))
    }

    /// A fresh key for one file that is not footage of a day (a request document,
    /// an evidence package), and that key wrapped by the master key for its row.
    /// `context` binds the wrapped key to the file it is for.
    pub fn new_file_key(&self, context: &str) -> Result<(Key, Vec<u8>)> {
        let key = Key::generate();
        let wrapped = self
            .master
            .wrap(&key, file_context(context).as_bytes())
            .map_err(|e| CatalogError::Key(e.to_string()))?;
        Ok((key, wrapped))
    }

    /// The key of such a file, from its wrapped form.
    pub fn file_key(&self, wrapped: &[u8], context: &str) -> Result<Key> {
        self.master
            .unwrap_key(wrapped, file_context(context).as_bytes())
            .map_err(|_| {
                CatalogError::Key(format!(
                    "the key of {context} cannot be unwrapped: wrong master key file, or the catalog was altered"
                ))
            })
    }

    /// Forgets a destroyed key from the cache.
    pub fn forget(&self, id: i64) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id);
        self.write_keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, k| *k != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_japan_days() {
        // 2026-11-23T15:00:00Z = 2026-11-24 00:00 JST
        let midnight_jst = Timestamp::from_secs(1_795_446_000);
        assert_eq!(key_period(midnight_jst).0, midnight_jst);
        assert_eq!(key_period(midnight_jst.add_micros(-1)).1, midnight_jst);
        assert_eq!(
            key_period(midnight_jst.add_micros(DAY_US - 1)).0,
            midnight_jst
        );
    }

    #[tokio::test]
    async fn credentials_are_sealed_opened_and_bound_to_the_master_key() {
        let dir = std::env::temp_dir().join(format!("mimamori-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let catalog = crate::scratch::new_catalog(&dir).await;
        let ring = KeyRing::new(catalog.clone(), Key::generate());
        let sealed = ring.seal_secret("s3cret").unwrap();
        assert!(is_sealed(&sealed) && !sealed.contains("s3cret"));
        assert_eq!(
            ring.seal_secret(&sealed).unwrap(),
            sealed,
            "sealing twice changes nothing"
        );
        assert_eq!(ring.open_secret(&sealed).unwrap(), "s3cret");
        assert_eq!(
            ring.open_secret("legacy").unwrap(),
            "legacy",
            "plain text passes through"
        );
        let other = KeyRing::new(catalog, Key::generate());
        assert!(
            other.open_secret(&sealed).is_err(),
            "another master key cannot open it"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// While the catalog is copied into another (`mimamori migrate` on a running
    /// site), a key made in the old one only would be lost with the move, and
    /// the footage sealed with it unreadable: a frozen ring gives out the keys it
    /// has and makes none.
    #[tokio::test]
    async fn a_frozen_ring_gives_out_its_keys_and_makes_none() {
        let dir = std::env::temp_dir().join(format!("mimamori-keys-frozen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let catalog = crate::scratch::new_catalog(&dir).await;
        let camera = catalog
            .camera_insert(
                &crate::NewCamera {
                    name: "x".into(),
                    source: crate::CameraSource::TestPattern,
                    record_audio: false,
                },
                Timestamp(1),
            )
            .await
            .unwrap();
        let ring = KeyRing::new(catalog.clone(), Key::generate());
        let today = Timestamp::from_secs(1_795_446_000);
        let (id, _) = ring.key_for_write(camera, today, today).await.unwrap();
        ring.freeze();
        assert_eq!(
            ring.key_for_write(camera, today, today).await.unwrap().0,
            id
        );
        let tomorrow = today.add_micros(DAY_US);
        let refused = ring
            .key_for_write(camera, tomorrow, today)
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("being moved"), "{refused}");
        let keys: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM data_key")
            .fetch_one(&catalog.pool)
            .await
            .unwrap();
        assert_eq!(keys, 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
