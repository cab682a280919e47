//! A site recorded by an earlier version keeps working after an upgrade. Each
//! fixture is a data directory and its keys as an earlier version wrote them,
//! unpacked here and opened by this version:
//! - `tests/fixtures/site-recorded-with-sha256.tar.gz`: the version before issue
//!   11 (commit d25eb18: four two-second segments of the test-pattern camera,
//!   digests by SHA-256, record v2, one signed head);
//! - `tests/fixtures/site-recorded-with-blake3-frames.tar.gz`: the version before
//!   the frames were hashed as one input (commit 0238c0a: six two-second
//!   segments, each frame by BLAKE3, record v3, one signed head).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::app::{AppOptions, fresh_dir, serve_existing};
use crate::media::{assert_decodes_cleanly, fetch_mp4, probe};

/// An earlier version's site: its file, when it recorded (UTC), and the code
/// of its segments' digests in the catalog.
struct Fixture {
    file: &'static str,
    from: &'static str,
    to: &'static str,
    day: &'static str,
    segments: i64,
    digest: i64,
}

/// 03:11:37 to 03:11:45 on 2026-12-02, SHA-256.
const SHA256: Fixture = Fixture {
    file: "site-recorded-with-sha256.tar.gz",
    from: "2026-12-02T03:11:30Z",
    to: "2026-12-02T03:12:00Z",
    day: "20261202",
    segments: 4,
    digest: 1,
};

/// 21:59:43 to 21:59:55 on 2026-12-06, BLAKE3 of each frame.
const BLAKE3_FRAMES: Fixture = Fixture {
    file: "site-recorded-with-blake3-frames.tar.gz",
    from: "2026-12-06T21:59:30Z",
    to: "2026-12-06T22:00:00Z",
    day: "20261206",
    segments: 6,
    digest: 2,
};

fn unpack_fixture(tag: &str, file: &str) -> PathBuf {
    let root = fresh_dir(tag);
    std::fs::create_dir_all(&root).unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(file);
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
    upgraded_site_verifies_and_plays("upgrade", &SHA256).await;
}

// REQ-STO-2, issue 11: segments whose frames were each hashed by BLAKE3 (record
// v3) still verify and play beside those hashed as one input (v4).
#[tokio::test(flavor = "multi_thread")]
async fn segments_with_a_blake3_digest_per_frame_still_verify_and_play() {
    upgraded_site_verifies_and_plays("upgrade-v3", &BLAKE3_FRAMES).await;
}

async fn upgraded_site_verifies_and_plays(tag: &str, fixture: &Fixture) {
    let data = unpack_fixture(tag, fixture.file);
    let text = verify(&data);
    let n = fixture.segments;
    assert!(
        text.contains(&format!("{n} segments"))
            && text.contains(&format!("{n} decrypted and matched to their frames")),
        "{text}"
    );
    let mut app = serve_existing(data.clone(), AppOptions::default()).await;
    let v = app.recordings(1, fixture.from, fixture.to).await;
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
                    && s["start"].as_str().unwrap() > fixture.to
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
    assert!(opened > n as u64, "{text}");
    let (sha256, per_frame, whole) = digest_kinds(&data).await;
    let old = if fixture.digest == 1 {
        sha256
    } else {
        per_frame
    };
    assert_eq!(old, n, "the old segments keep their digests");
    assert_eq!(sha256 + per_frame, n);
    assert!(
        whole >= 1,
        "new segments are BLAKE3 of their whole plaintext"
    );
    // A byte changed in an old file is still found.
    let seg = std::fs::read_dir(data.join("segments/1").join(fixture.day))
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

/// Segments of the catalog by digest: (SHA-256, BLAKE3 of each frame, BLAKE3
/// of the whole plaintext).
async fn digest_kinds(data: &Path) -> (i64, i64, i64) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}/catalog.db", data.display()))
        .await
        .unwrap();
    let counts: (i64, i64, i64) =
        sqlx::query_as("SELECT sum(digest = 1), sum(digest = 2), sum(digest = 3) FROM segment")
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    counts
}
