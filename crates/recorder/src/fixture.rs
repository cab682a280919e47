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
    /// Rows for the catalog, on the wall clock (kept in the directory's journal
    /// only when the catalog does not answer).
    pub rows: Arc<crate::rows::RowJournal>,
    pub camera: CameraId,
    pub dir: std::path::PathBuf,
    /// The catalog's URL, to open it again.
    pub url: String,
}

pub async fn fixture(tag: &str) -> Fixture {
    use std::hash::{BuildHasher, RandomState};
    let dir = std::env::temp_dir().join(format!(
        "mimamori-recorder-{tag}-{}-{}",
        std::process::id(),
        RandomState::new().hash_one(0u8)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = mimamori_catalog::scratch::new_catalog_url(&dir).await;
    let catalog = Catalog::open(&url).await.unwrap();
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
    let rows = crate::rows::RowJournal::open(
        catalog.clone(),
        crate::context::CatalogRuntime::new(tokio::runtime::Handle::current()),
        store.clone(),
        Arc::new(mimamori_base::SystemClock),
        &dir.join(crate::rows::JOURNAL_DIR),
    )
    .unwrap();
    Fixture {
        catalog,
        store,
        keys,
        rows,
        camera,
        dir,
        url,
    }
}
