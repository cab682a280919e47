//! A site recorded by an earlier version keeps working after an upgrade. The
//! fixture `tests/fixtures/site-recorded-with-sha256.tar.gz` is a data directory
//! and its keys as the version before issue 11 wrote them (commit d25eb18: four
//! two-second segments of the test-pattern camera, digests by SHA-256, one signed
//! head), unpacked here and opened by this version.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::app::{AppOptions, fresh_dir, serve_existing};
use crate::media::{assert_decodes_cleanly, fetch_mp4, probe};

/// When the fixture recorded (UTC): 03:11:37 to 03:11:45 on 2026-12-02.
const RECORDED_FROM: &str = "2026-12-02T03:11:30Z";
const RECORDED_TO: &str = "2026-12-02T03:12:00Z";

fn unpack_fixture(tag: &str) -> PathBuf {
    let root = fresh_dir(tag);
    std::fs::create_dir_all(&root).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/site-recorded-with-sha256.tar.gz");
    let ok = Command::new("tar")
        .arg("-xzf")
        .arg(&fixture)
        .arg("-C")
        .arg(&root)
        .status()
        .unwrap()
        .success();
    assert!(ok, "unpacking {}", fixture.display());
    let data = root.join("site");
    // The preset keeps 30 days; this test must not depend on the day it runs, so
    // the site keeps its footage ten years (policy is data).
    let policy = data.join("policy.toml");
    let p = std::fs::read_to_string(&policy).unwrap();
    assert!(p.contains("\ndays = 30\n") && p.contains("\nmax_days = 30\n"));
    std::fs::write(
        &policy,
        p.replace("\ndays = 30\n", "\ndays = 3650\n")
            .replace("\nmax_days = 30\n", "\nmax_days = 3650\n"),
    )
    .unwrap();
    data
}

fn verify(data: &Path) -> String {
    let out = crate::app::cli(&["verify", "--data", data.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "verify failed:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

// REQ-STO-2, issue 11: segments written before the digests moved to BLAKE3 still verify
// (files, frames, chain, signed head) and play; what is recorded after the
// upgrade is BLAKE3 and verifies beside them; a byte changed in an old file is
// still named.
#[tokio::test(flavor = "multi_thread")]
async fn segments_recorded_before_blake3_still_verify_and_play() {
    let data = unpack_fixture("upgrade");
    let text = verify(&data);
    assert!(
        text.contains("4 segments") && text.contains("4 decrypted and matched to their frames"),
        "{text}"
    );
    let mut app = serve_existing(data.clone(), AppOptions::default()).await;
    let v = app.recordings(1, RECORDED_FROM, RECORDED_TO).await;
    let spans = v["spans"].as_array().unwrap();
    assert_eq!(spans.len(), 1, "{v}");
    let (start, end) = (
        spans[0]["start"].as_str().unwrap().to_string(),
        spans[0]["end"].as_str().unwrap().to_string(),
    );
    let file = fetch_mp4(&app, 1, &start, &end, "old-format.mp4").await;
    assert_decodes_cleanly(&file);
    let p = probe(&file);
    assert_eq!((p.codec.as_str(), p.width, p.height), ("h264", 640, 360));
    assert!(p.duration > 6.0 && p.frames >= 60, "{p:?}");
    // The test-pattern camera records on: new segments, by BLAKE3.
    app.wait_for("new footage", 30, || async {
        let v = app
            .recordings(
                1,
                &crate::app::rfc3339_offset(-60),
                &crate::app::rfc3339_offset(1),
            )
            .await;
        (v["spans"].as_array().is_some_and(|s| {
            s.iter().any(|s| {
                crate::app::parse_time(s["end"].as_str().unwrap())
                    > crate::app::parse_time(&crate::app::rfc3339_offset(-30))
                    && s["start"].as_str().unwrap() > RECORDED_TO
            })
        }))
        .then_some(())
    })
    .await;
    // A graceful stop commits the segment being written.
    app.terminate();
    let text = verify(&data);
    let opened: u64 = text
        .split(" decrypted and matched")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(opened > 4, "{text}");
    let (old, new) = digest_kinds(&data).await;
    assert_eq!(old, 4, "the old segments keep SHA-256");
    assert!(new >= 1, "new segments are BLAKE3");
    // A byte changed in an old file is still found.
    let seg = std::fs::read_dir(data.join("segments/1/20261202"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .min()
        .unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[20] ^= 1;
    std::fs::write(&seg, bytes).unwrap();
    let out = crate::app::cli(&["verify", "--data", data.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    let name = seg.file_name().unwrap().to_string_lossy();
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAILED") && l.contains(&*name) && l.contains("changed")),
        "{text}"
    );
}

/// Segments of the catalog by digest: (SHA-256, BLAKE3).
async fn digest_kinds(data: &Path) -> (i64, i64) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}/catalog.db", data.display()))
        .await
        .unwrap();
    let counts: (i64, i64) = sqlx::query_as("SELECT sum(digest = 1), sum(digest = 2) FROM segment")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    counts
}
