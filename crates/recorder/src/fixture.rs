//! For this crate's tests: a catalog with one camera, a segment store and a key
//! ring in a fresh temporary directory.

use std::sync::Arc;

use mimamori_base::{CameraId, Timestamp};
use mimamori_catalog::keys::KeyRing;
use mimamori_catalog::{CameraSource, Catalog, NewCamera};
use mimamori_storage::SegmentStore;

pub struct Fixture {
    pub catalog: Catalog,
    pub store: SegmentStore,
    pub keys: Arc<KeyRing>,
    pub camera: CameraId,
    pub dir: std::path::PathBuf,
}

pub async fn fixture(tag: &str) -> Fixture {
    use std::hash::{BuildHasher, RandomState};
    let dir = std::env::temp_dir().join(format!(
        "mimamori-recorder-{tag}-{}-{}",
        std::process::id(),
        RandomState::new().hash_one(0u8)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let catalog = mimamori_catalog::scratch::new_catalog(&dir).await;
    let camera = catalog
        .camera_insert(
            &NewCamera {
                name: "c".into(),
                source: CameraSource::TestPattern,
                record_audio: false,
            },
            Timestamp(0),
        )
        .await
        .unwrap();
    let store = SegmentStore::open(&dir).unwrap();
    let keys = Arc::new(KeyRing::new(
        catalog.clone(),
        mimamori_crypto::Key::generate(),
    ));
    Fixture {
        catalog,
        store,
        keys,
        camera,
        dir,
    }
}
