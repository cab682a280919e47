//! Object stores for tests, on the store the test run names: the data
//! directory unless `MIMAMORI_TEST_STORE=s3`, in which case each store is a new
//! prefix in the bucket `mimamori` of the S3-compatible server at
//! `MIMAMORI_TEST_S3`, with the keys in the file `MIMAMORI_TEST_S3_CREDENTIALS`
//! (`scripts/test.sh` starts SeaweedFS on loopback; `scripts/s3.sh start DIR` by hand).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::RemoteConfig;

/// Whether this test run keeps segments in the object store.
pub fn uses_object_store() -> bool {
    std::env::var("MIMAMORI_TEST_STORE").as_deref() == Ok("s3")
}

/// The test server's endpoint and credentials file.
///
/// # Panics
/// When they are not named: a test of the object store must not pass without one.
#[allow(clippy::panic)]
pub fn test_server() -> (String, std::path::PathBuf) {
    let get = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "the object store tests need MIMAMORI_TEST_S3 (endpoint URL) and \
                 MIMAMORI_TEST_S3_CREDENTIALS (its keys): scripts/test.sh starts a \
                 server, scripts/s3.sh start DIR by hand ({name} is not set)"
            )
        })
    };
    (
        get("MIMAMORI_TEST_S3"),
        get("MIMAMORI_TEST_S3_CREDENTIALS").into(),
    )
}

/// A new, empty prefix of the test bucket (`tag` names it, for people reading the bucket).
///
/// # Panics
/// As [`test_server`], and when the credentials file cannot be read.
#[allow(clippy::expect_used)]
pub fn new_remote(tag: &str) -> RemoteConfig {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let (endpoint, credentials) = test_server();
    let text = std::fs::read_to_string(&credentials).expect("the test server's credentials file");
    let value = |key: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(key)?
                    .trim()
                    .strip_prefix('=')?
                    .trim()
                    .strip_prefix('"')?
                    .strip_suffix('"')
            })
            .map(str::to_string)
            .expect("the credentials file names access_key_id and secret_access_key")
    };
    RemoteConfig {
        bucket: "mimamori".into(),
        prefix: format!(
            "test-{tag}-{}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            mimamori_crypto::random_hex(4)
        ),
        endpoint: Some(endpoint),
        region: "us-east-1".into(),
        access_key_id: value("access_key_id"),
        secret_access_key: value("secret_access_key"),
    }
}
