//! Retention and integrity on a simulated clock, with real encrypted files.

use std::sync::Arc;

use mimamori_base::{CameraId, Clock, SimClock, Timestamp};
use mimamori_catalog::keys::KeyRing;
use mimamori_catalog::{CameraSource, Catalog, NewCamera, NewSegment, StreamKind};
use mimamori_crypto::{Key, SegmentCipher, Signer};
use mimamori_policy::{Counting, Policy};
use mimamori_storage::SegmentStore;

use crate::integrity::{ProblemKind, VerifyScope, sign_heads, verify};
use crate::retention::{Sweeper, expiry_cutoff};

const MIN: i64 = 60_000_000;
const DAY: i64 = 86_400_000_000;

struct Env {
    dir: std::path::PathBuf,
    /// The catalog's URL, for tests that tamper with it behind our back.
    url: String,
    catalog: Catalog,
    store: SegmentStore,
    keys: Arc<KeyRing>,
    clock: Arc<SimClock>,
    camera: CameraId,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// 2026-11-23 10:00 JST
fn t0() -> Timestamp {
    Timestamp::from_secs(1_795_395_600)
}

async fn env(tag: &str) -> Env {
    use std::hash::{BuildHasher, RandomState};
    let dir = std::env::temp_dir().join(format!(
        "mimamori-gov-{tag}-{}-{}",
        std::process::id(),
        RandomState::new().hash_one(0u8)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = mimamori_catalog::scratch::new_catalog_url(&dir).await;
    let catalog = Catalog::open(&url).await.unwrap();
    let store = SegmentStore::open(&dir).unwrap();
    let keys = Arc::new(KeyRing::new(catalog.clone(), Key::generate()));
    let camera = catalog
        .camera_insert(
            &NewCamera {
                name: "cam".into(),
                source: CameraSource::TestPattern,
                record_audio: false,
            },
            t0(),
        )
        .await
        .unwrap();
    Env {
        dir,
        url,
        catalog,
        store,
        keys,
        clock: Arc::new(SimClock::new(t0())),
        camera,
    }
}

impl Env {
    /// Records a one-minute segment starting at `start` (1000 bytes of media).
    async fn segment(&self, start: Timestamp) -> String {
        self.segment_committing(start, &[7u8; 1000]).await
    }

    /// Records a segment of one frame of 1000 bytes whose row commits to `frame`
    /// (the frame written, unless a test wants them to differ).
    async fn segment_committing(&self, start: Timestamp, frame: &[u8]) -> String {
        let name = SegmentStore::file_name_for(self.camera, "main", start);
        let (key_id, key) = self
            .keys
            .key_for_write(self.camera, start, start)
            .await
            .unwrap();
        let nonce = SegmentCipher::random_nonce_prefix();
        let mut w = self
            .store
            .create(&name, SegmentCipher::new(key, nonce, name.as_bytes()))
            .unwrap();
        w.append(&[7u8; 1000]).unwrap();
        let written = w.finish().unwrap();
        let mut idx = mimamori_media::SampleIndex::default();
        idx.push(mimamori_media::SampleInfo {
            size: 1000,
            duration_90k: 60 * 90_000,
            key: true,
        });
        let params = self
            .catalog
            .video_params_id("avc1.640000", 640, 360, b"entry", &[1; 32])
            .await
            .unwrap();
        self.catalog
            .segment_insert(&NewSegment {
                camera_id: self.camera,
                stream: StreamKind::Main,
                run_start: start,
                start,
                end: start.add_micros(MIN),
                duration_90k: 60 * 90_000,
                frames: 1,
                key_frames: 1,
                bytes: 1000,
                video_params_id: params,
                file_name: name.clone(),
                sample_index: idx.encode(),
                stored_digest: written.stored_digest.to_vec(),
                stored_bytes: written.stored_bytes as i64,
                data_key_id: key_id,
                nonce_prefix: nonce.to_vec(),
                frames_digest: {
                    let mut c = mimamori_crypto::frames::FramesCommitment::new(written.digest_kind);
                    c.push(frame);
                    c.finish().to_vec()
                },
                digest_kind: written.digest_kind,
            })
            .await
            .unwrap();
        name
    }

    fn sweeper(&self, policy: Policy) -> Sweeper {
        let s = Sweeper::new(
            self.catalog.clone(),
            self.store.clone(),
            self.keys.clone(),
            Arc::new(policy),
            self.clock.clone(),
        );
        s.set_free_space_for_test(Some(u64::MAX / 2));
        s
    }

    /// The application layer over this environment.
    fn gov(&self, policy: Policy) -> crate::Governance {
        crate::Governance::new(crate::Parts {
            catalog: self.catalog.clone(),
            store: self.store.clone(),
            keys: self.keys.clone(),
            policy: Arc::new(policy),
            clock: self.clock.clone(),
            sessions: crate::sessions::SessionSettings::default(),
            monitoring: crate::monitoring::MonitorAccess::default(),
            signer: Arc::new(Signer::generate()),
            heads: None,
            files: SegmentStore::open_at(&self.dir.join("provisions")).unwrap(),
        })
    }

    /// A hold made through the application layer, by the console.
    async fn hold(
        &self,
        from: Timestamp,
        to: Timestamp,
        until: Timestamp,
        reason: &str,
        medium: Option<&str>,
    ) -> i64 {
        let t = |x: Timestamp| x.to_rfc3339(mimamori_base::time::jst());
        let (from, to, until) = (t(from), t(to), t(until));
        self.gov(Policy::preset("kitakyushu").unwrap())
            .hold_create(
                &crate::Actor::console(),
                &crate::holds::HoldText {
                    cameras: vec![self.camera.0],
                    from: &from,
                    to: &to,
                    until: &until,
                    reason,
                    medium,
                    ground: None,
                },
            )
            .await
            .unwrap()
            .id
    }

    async fn starts(&self) -> Vec<Timestamp> {
        self.catalog
            .segment_times(
                self.camera,
                StreamKind::Main,
                Timestamp(0),
                Timestamp(i64::MAX),
            )
            .await
            .unwrap()
            .into_iter()
            .map(|(s, _, _)| s)
            .collect()
    }
}

// REQ-RET-1: footage of t expires at t + days.
#[tokio::test]
async fn from_recording_counts_from_the_recording_instant() {
    let e = env("from-rec").await;
    e.segment(t0()).await;
    e.segment(t0().add_micros(MIN)).await;
    let sweeper = e.sweeper(Policy::preset("kitakyushu").unwrap()); // 7 days
    e.clock.set(t0().add_micros(7 * DAY + MIN - 1));
    assert_eq!(sweeper.sweep_once().await.unwrap().expired_segments, 0);
    e.clock.set(t0().add_micros(7 * DAY + MIN));
    assert_eq!(sweeper.sweep_once().await.unwrap().expired_segments, 1);
    assert_eq!(e.starts().await, vec![t0().add_micros(MIN)]);
    let erasures = e.catalog.erasures(Some(e.camera), 10).await.unwrap();
    assert_eq!(erasures.len(), 1);
    assert_eq!(
        (erasures[0].segments, erasures[0].rule.as_str()),
        (1, "retention")
    );
    assert!(erasures[0].detail.contains("7 days"));
}

// REQ-RET-1: Osaka Nishinari counts from the day after the recording date (Japan time).
#[tokio::test]
async fn from_next_day_counts_whole_japan_days_after_the_recording_date() {
    let e = env("next-day").await;
    // 2026-11-23 23:59 JST and 2026-11-24 00:00 JST
    let late = Timestamp::from_secs(1_795_445_940);
    let midnight = Timestamp::from_secs(1_795_446_000);
    e.segment(late).await;
    e.segment(midnight).await;
    let sweeper = e.sweeper(Policy::preset("osaka-nishinari").unwrap()); // 7 days, from_next_day
    // Counted from 11/24: kept through 11/30, erased at 12/01 00:00 JST.
    let dec1 = Timestamp(midnight.0 + 7 * DAY);
    e.clock.set(Timestamp(dec1.0 - 1));
    assert_eq!(sweeper.sweep_once().await.unwrap().expired_segments, 0);
    e.clock.set(dec1);
    assert_eq!(sweeper.sweep_once().await.unwrap().expired_segments, 1);
    assert_eq!(e.starts().await, vec![midnight]);
    e.clock.set(Timestamp(dec1.0 + DAY - 1));
    assert_eq!(sweeper.sweep_once().await.unwrap().expired_segments, 0);
    e.clock.set(Timestamp(dec1.0 + DAY));
    assert_eq!(sweeper.sweep_once().await.unwrap().expired_segments, 1);
    assert_eq!(expiry_cutoff(7, Counting::FromNextDay, dec1), midnight);
}

// REQ-RET-3: a hold keeps footage it overlaps even partly, until it ends or is released.
#[tokio::test]
async fn holds_keep_overlapping_footage_until_they_end() {
    let e = env("holds").await;
    for m in 0..3 {
        e.segment(t0().add_micros(m * MIN)).await;
    }
    let hold = e
        .hold(
            t0().add_micros(30_000_000),
            t0().add_micros(90_000_000),
            t0().add_micros(10 * DAY),
            "警察からの照会 (case 12)",
            Some("USB-001 管理室金庫"),
        )
        .await;
    let sweeper = e.sweeper(Policy::preset("kitakyushu").unwrap());
    e.clock.set(t0().add_micros(8 * DAY));
    let r = sweeper.sweep_once().await.unwrap();
    assert_eq!(r.expired_segments, 1, "only the unheld third minute goes");
    assert_eq!(e.starts().await, vec![t0(), t0().add_micros(MIN)]);
    // The hold ends: its footage goes at the next sweep.
    e.clock.set(t0().add_micros(10 * DAY));
    assert_eq!(sweeper.sweep_once().await.unwrap().expired_segments, 2);
    assert!(e.starts().await.is_empty());
    let events = e.catalog.events(10).await.unwrap();
    assert!(
        events
            .iter()
            .any(|(_, _, k, d)| k == "hold_created" && d.contains("case 12"))
    );
    let _ = hold;
}

#[tokio::test]
async fn a_released_hold_stops_protecting() {
    let e = env("release").await;
    e.segment(t0()).await;
    let hold = e
        .hold(
            t0(),
            t0().add_micros(MIN),
            t0().add_micros(30 * DAY),
            "r",
            None,
        )
        .await;
    let sweeper = e.sweeper(Policy::preset("kitakyushu").unwrap());
    e.clock.set(t0().add_micros(8 * DAY));
    assert_eq!(sweeper.sweep_once().await.unwrap().expired_segments, 0);
    e.catalog
        .hold_release(hold, None, e.clock.now())
        .await
        .unwrap();
    assert_eq!(sweeper.sweep_once().await.unwrap().expired_segments, 1);
}

// REQ-RET-2: overwrite mode takes the oldest unheld footage first, never held footage,
// and says when retention can no longer be met.
#[tokio::test]
async fn disk_pressure_overwrites_the_oldest_unheld_footage_and_raises_the_alarm() {
    let e = env("pressure").await;
    for m in 0..4 {
        e.segment(t0().add_micros(m * MIN)).await;
    }
    e.hold(
        t0(),
        t0().add_micros(MIN),
        t0().add_micros(30 * DAY),
        "held",
        None,
    )
    .await;
    let mut policy = Policy::preset("tottori-city-hall").unwrap();
    let one = mimamori_crypto::encrypted_len(1000) as u64;
    policy.storage.quota_bytes = 2 * one;
    let sweeper = e.sweeper(policy);
    e.clock.set(t0().add_micros(10 * MIN));
    let r = sweeper.sweep_once().await.unwrap();
    assert_eq!(r.pressure_segments, 2);
    // The held oldest minute stays; the next two go; the newest stays.
    assert_eq!(e.starts().await, vec![t0(), t0().add_micros(3 * MIN)]);
    let alarm = sweeper.alarm();
    assert!(
        alarm.retention_not_met && !alarm.only_held_left,
        "{alarm:?}"
    );
    assert_eq!(
        e.catalog.erasures(None, 10).await.unwrap()[0].rule,
        "disk_pressure"
    );
}

#[tokio::test]
async fn only_held_footage_left_is_a_loud_alarm_and_held_footage_survives() {
    let e = env("held-only").await;
    e.segment(t0()).await;
    e.hold(
        t0(),
        t0().add_micros(MIN),
        t0().add_micros(30 * DAY),
        "held",
        None,
    )
    .await;
    let sweeper = e.sweeper(Policy::preset("tottori-city-hall").unwrap());
    sweeper.set_free_space_for_test(Some(0)); // the disk is full
    let r = sweeper.sweep_once().await.unwrap();
    assert_eq!(r.pressure_segments, 0);
    assert_eq!(e.starts().await, vec![t0()]);
    let alarm = sweeper.alarm();
    assert!(alarm.only_held_left, "{alarm:?}");
    assert!(alarm.message.unwrap().contains("held"));
}

// REQ-RET-5: when the last footage of a day expires, its key is destroyed: a copy of
// the file taken before the erasure can no longer be decrypted.
#[tokio::test]
async fn expired_footage_is_unreadable_even_from_a_saved_copy() {
    let e = env("sure").await;
    let name = e.segment(t0()).await;
    let seg = &e.catalog.all_segments().await.unwrap()[0];
    let copy = std::fs::read(e.store.path_of(&name)).unwrap();
    let key = e
        .keys
        .key(seg.recorded.data_key_id)
        .await
        .unwrap()
        .expect("key exists while footage is kept");
    let nonce: [u8; 8] = seg.recorded.nonce_prefix.clone().try_into().unwrap();
    let cipher = SegmentCipher::new(key, nonce, name.as_bytes());
    assert_eq!(
        cipher.open(0, true, &copy).unwrap(),
        vec![7u8; 1000],
        "readable before expiry"
    );
    let sweeper = e.sweeper(Policy::preset("kitakyushu").unwrap());
    e.clock.set(t0().add_micros(8 * DAY));
    let r = sweeper.sweep_once().await.unwrap();
    assert_eq!((r.expired_segments, r.keys_destroyed), (1, 1));
    assert!(!e.store.path_of(&name).exists(), "the file is deleted");
    assert!(
        e.keys
            .key(seg.recorded.data_key_id)
            .await
            .unwrap()
            .is_none(),
        "the key is destroyed"
    );
    // Nothing left in the catalog can open the copy: every remaining key fails.
    let other = e
        .keys
        .key_for_write(e.camera, e.clock.now(), e.clock.now())
        .await
        .unwrap()
        .1;
    assert!(
        SegmentCipher::new(other, nonce, name.as_bytes())
            .open(0, true, &copy)
            .is_err()
    );
    let erasure = &e.catalog.erasures(None, 1).await.unwrap()[0];
    assert_eq!(erasure.keys_destroyed, 1);
}

// REQ-STO-2: verify names every changed, truncated, missing file and altered row;
// erasure is not tampering; an untouched store verifies clean.
#[tokio::test]
async fn verify_names_each_kind_of_tampering() {
    let e = env("tamper").await;
    let mut names = Vec::new();
    for m in 0..6 {
        names.push(e.segment(t0().add_micros(m * MIN)).await);
    }
    let signer = Signer::generate();
    sign_heads(&e.catalog, &signer, None, t0()).await.unwrap();
    // Erase the oldest by retention: part of the chain, not tampering.
    let sweeper = e.sweeper(Policy::preset("kitakyushu").unwrap());
    e.clock.set(t0().add_micros(7 * DAY + MIN));
    assert_eq!(sweeper.sweep_once().await.unwrap().expired_segments, 1);
    let clean = verify(
        &e.catalog,
        &e.store,
        Some(&e.keys),
        &signer.public_key(),
        None,
        &VerifyScope::default(),
    )
    .await
    .unwrap();
    assert!(clean.problems.is_empty(), "{:?}", clean.problems);
    assert_eq!(
        (clean.segments, clean.erased_links, clean.opened),
        (5, 1, 5)
    );

    // Flip a byte, truncate another, delete a third, alter a row.
    let path = |i: usize| e.store.path_of(&names[i]);
    let mut b = std::fs::read(path(1)).unwrap();
    b[10] ^= 0x01;
    std::fs::write(path(1), b).unwrap();
    // Issue 11: a ciphertext byte changed leaves the tags as they were: without
    // the key verify cannot see it; with the key (as `mimamori verify` runs) the
    // chunk no longer authenticates.
    let without_keys = verify(
        &e.catalog,
        &e.store,
        None,
        &signer.public_key(),
        None,
        &VerifyScope::default(),
    )
    .await
    .unwrap();
    assert!(without_keys.problems.is_empty() && without_keys.opened == 0);
    std::fs::OpenOptions::new()
        .write(true)
        .open(path(2))
        .unwrap()
        .set_len(100)
        .unwrap();
    std::fs::remove_file(path(3)).unwrap();
    let pool = sqlx::AnyPool::connect(&e.url).await.unwrap();
    sqlx::query("UPDATE segment SET start_us = start_us + 1000000 WHERE file_name = $1")
        .bind(&names[4])
        .execute(&pool)
        .await
        .unwrap();
    let r = verify(
        &e.catalog,
        &e.store,
        Some(&e.keys),
        &signer.public_key(),
        None,
        &VerifyScope::default(),
    )
    .await
    .unwrap();
    let found = |i: usize, k: ProblemKind| {
        r.problems
            .iter()
            .any(|p| p.kind == k && p.file_name.as_deref() == Some(names[i].as_str()))
    };
    assert!(found(1, ProblemKind::Changed), "{:#?}", r.problems);
    assert!(found(2, ProblemKind::Truncated), "{:#?}", r.problems);
    assert!(found(3, ProblemKind::Missing), "{:#?}", r.problems);
    assert!(found(4, ProblemKind::RowAltered), "{:#?}", r.problems);
    assert!(
        !found(5, ProblemKind::RowAltered),
        "untouched rows are not flagged"
    );

    // Deleting a row outright breaks the chain at its successor.
    sqlx::query("DELETE FROM segment WHERE file_name = $1")
        .bind(&names[4])
        .execute(&pool)
        .await
        .unwrap();
    let r = verify(
        &e.catalog,
        &e.store,
        Some(&e.keys),
        &signer.public_key(),
        None,
        &VerifyScope::default(),
    )
    .await
    .unwrap();
    assert!(
        found_in(&r.problems, &names[5], ProblemKind::Removed),
        "{:#?}",
        r.problems
    );
    // Rewriting the whole chain cannot be hidden from the signed head.
    sqlx::query("UPDATE chain_state SET head = $1")
        .bind(vec![0u8])
        .execute(&pool)
        .await
        .unwrap();
    let r = verify(
        &e.catalog,
        &e.store,
        Some(&e.keys),
        &signer.public_key(),
        None,
        &VerifyScope::default(),
    )
    .await
    .unwrap();
    assert!(
        r.problems
            .iter()
            .any(|p| p.kind == ProblemKind::Removed && p.segment_id.is_none())
    );
    pool.close().await;
}

// REQ-STO-2, issue 11: the file's digest is BLAKE3 over its chunks' tags. A tag changed is
// seen without the key; frames other than those committed at capture time are
// seen with it (as `mimamori verify` runs).
#[tokio::test]
async fn verify_sees_a_changed_tag_without_the_key_and_other_frames_with_it() {
    let e = env("tags").await;
    let tagged = e.segment(t0()).await;
    let other = e
        .segment_committing(t0().add_micros(MIN), &[8u8; 1000])
        .await;
    let intact = e.segment(t0().add_micros(2 * MIN)).await;
    let signer = Signer::generate();
    let mut bytes = std::fs::read(e.store.path_of(&tagged)).unwrap();
    *bytes.last_mut().unwrap() ^= 1; // the only chunk's tag ends the file
    std::fs::write(e.store.path_of(&tagged), bytes).unwrap();
    for keys in [None, Some(&*e.keys)] {
        let r = verify(
            &e.catalog,
            &e.store,
            keys,
            &signer.public_key(),
            None,
            &VerifyScope::default(),
        )
        .await
        .unwrap();
        let problems: Vec<String> = r.problems.iter().map(|p| p.to_string()).collect();
        assert!(
            found_in(&r.problems, &tagged, ProblemKind::Changed),
            "{problems:#?}"
        );
        assert_eq!(
            found_in(&r.problems, &other, ProblemKind::Changed),
            keys.is_some(),
            "{problems:#?}"
        );
        assert!(!found_in(&r.problems, &intact, ProblemKind::Changed));
        if keys.is_some() {
            assert!(
                problems
                    .iter()
                    .any(|p| p.contains(&other) && p.contains("not those committed")),
                "{problems:#?}"
            );
            assert_eq!(r.opened, 1, "only the intact one decrypts and matches");
        }
    }
}

fn found_in(problems: &[crate::integrity::Problem], name: &str, k: ProblemKind) -> bool {
    problems
        .iter()
        .any(|p| p.kind == k && p.file_name.as_deref() == Some(name))
}

// The audit log: change, delete, insert and reorder rows directly in SQLite — each
// detected and named.
#[tokio::test]
async fn audit_verify_names_changed_removed_inserted_and_reordered_entries() {
    use crate::integrity::{sign_audit_head, verify_audit};
    use mimamori_catalog::audit::AuditRecord;
    let e = env("audit").await;
    for i in 0..10 {
        e.catalog
            .audit_append(&AuditRecord {
                at: t0().add_micros(i),
                username: "kanri".into(),
                action: "playback".into(),
                detail: format!("entry {i}"),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let signer = Signer::generate();
    assert!(
        sign_audit_head(&e.catalog, &signer, None, t0())
            .await
            .unwrap()
    );
    let (n, problems) = verify_audit(&e.catalog, &signer.public_key(), None)
        .await
        .unwrap();
    assert_eq!((n, problems.len()), (10, 0), "{problems:?}");

    let pool = sqlx::AnyPool::connect(&e.url).await.unwrap();
    let q = |sql: &'static str| sqlx::query(sql).execute(&pool);
    q("UPDATE audit_entry SET detail = 'nothing to see' WHERE seq = 2")
        .await
        .unwrap();
    q("DELETE FROM audit_entry WHERE seq = 4").await.unwrap();
    // Swap entries 6 and 7 (everything but their numbers).
    q("UPDATE audit_entry SET seq = -6 WHERE seq = 6")
        .await
        .unwrap();
    q("UPDATE audit_entry SET seq = 6 WHERE seq = 7")
        .await
        .unwrap();
    q("UPDATE audit_entry SET seq = 7 WHERE seq = -6")
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO audit_entry (seq, at_us, username, action, client, purpose, detail, prev_hash, hash) \
         VALUES (11, 0, 'x', 'playback', '', '', 'forged', $1, $2)",
    )
    .bind(vec![0u8])
    .bind(vec![1u8])
    .execute(&pool)
    .await
    .unwrap();
    let (_, problems) = verify_audit(&e.catalog, &signer.public_key(), None)
        .await
        .unwrap();
    let has = |seq: i64, kind: &str| problems.iter().any(|p| p.seq == seq && p.kind == kind);
    assert!(has(2, "changed"), "{problems:#?}");
    assert!(has(5, "removed"), "{problems:#?}");
    assert!(has(6, "reordered") || has(7, "reordered"), "{problems:#?}");
    assert!(has(11, "inserted"), "{problems:#?}");
    assert!(
        !has(9, "changed") && !has(3, "changed"),
        "untouched entries are not flagged: {problems:#?}"
    );
    pool.close().await;
}

// ---- access: designations over time, instructions, terminals ----------------------

mod access {
    use super::*;
    use crate::access::{DesignationRequest, Refusal, authorize, designation_at, instruction_for};
    use crate::{Actor, Error, Origin, Person};
    use mimamori_catalog::people::Instruction;
    use mimamori_policy::{Permission, RoleKind};

    async fn person(
        e: &Env,
        name: &str,
        org: &str,
        role: &str,
        from: Timestamp,
    ) -> mimamori_catalog::User {
        let id = e
            .catalog
            .person_create(
                &mimamori_catalog::people::NewPerson {
                    username: name,
                    display_name: name,
                    password_hash: "x",
                    organization: org,
                },
                &mimamori_catalog::people::NewDesignation {
                    role,
                    valid_from: from,
                    valid_until: None,
                    designated_by: None,
                    basis: "test",
                },
                from,
            )
            .await
            .unwrap();
        e.catalog.user(id).await.unwrap()
    }

    // REQ-ROL-5: every past instant resolves to the designation valid then.
    #[tokio::test]
    async fn past_actions_resolve_to_the_designation_valid_at_that_moment() {
        let e = env("designations").await;
        let policy = Policy::preset("kitakyushu").unwrap();
        let boss = person(&e, "boss", "", "manager", t0()).await;
        let p = person(&e, "p", "", "operator", t0()).await;
        e.clock.set(t0().add_micros(10 * DAY));
        let req = DesignationRequest {
            role: RoleKind::Temporary,
            valid_from: e.clock.now(),
            valid_until: Some(e.clock.now().add_micros(3 * DAY)),
            basis: "第3条2".into(),
        };
        let gov = e.gov(policy.clone());
        let _ = &boss;
        gov.designate(&Actor::console(), p.id, &req).await.unwrap();
        let role_at = |t: Timestamp| {
            let (c, pol, id) = (e.catalog.clone(), policy.clone(), p.id);
            async move {
                designation_at(&c, &pol, id, t)
                    .await
                    .unwrap()
                    .map(|(r, _)| r)
            }
        };
        assert_eq!(role_at(t0().add_micros(DAY)).await, Ok(RoleKind::Operator));
        assert_eq!(
            role_at(t0().add_micros(11 * DAY)).await,
            Ok(RoleKind::Temporary)
        );
        // After the temporary designation's end date: nothing, and the reason says so.
        match role_at(t0().add_micros(14 * DAY)).await {
            Err(Refusal::NotDesignated(why)) => assert!(why.contains("ended"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(e.catalog.designations_of(p.id).await.unwrap().len(), 2);
        // The only manager cannot be ended; with a successor, they can.
        let mine = e
            .catalog
            .designation_at(boss.id, e.clock.now())
            .await
            .unwrap()
            .unwrap();
        let r = gov
            .designation_end(&Actor::console(), mine.id, "退職")
            .await;
        assert!(matches!(r, Err(Error::Rule(_))), "{r:?}");
        person(&e, "next", "", "manager", e.clock.now()).await;
        gov.designation_end(&Actor::console(), mine.id, "異動")
            .await
            .unwrap();
        assert!(
            e.catalog
                .designation_at(boss.id, e.clock.now())
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            e.catalog
                .designation_at(boss.id, t0().add_micros(DAY))
                .await
                .unwrap()
                .is_some()
        );
    }

    // REQ-ROL-2: temporary designees are staff with an end date; roles the regulation lacks are refused.
    #[tokio::test]
    async fn designation_rules_follow_the_regulation() {
        let e = env("designation-rules").await;
        // Operators are the installer's own staff where the seed says so (Tottori
        // 3(4) 財産経営課課長補佐, Midori 第4条2 危機管理課職員, Osaka 第4条3
        // 市民協働課職員); Chiba lets the operation be outsourced (第3-2).
        let operator = DesignationRequest {
            role: RoleKind::Operator,
            valid_from: t0(),
            valid_until: None,
            basis: String::new(),
        };
        for (preset, outsiders) in [
            ("tottori-city-hall", false),
            ("midori-stations", false),
            ("osaka-nishinari", false),
            ("chiba-guideline", true),
        ] {
            let p = Policy::preset(preset).unwrap();
            let outside = crate::access::check_designation(&p, "x", "委託株式会社", &operator);
            assert_eq!(outside.is_ok(), outsiders, "{preset}: {outside:?}");
            assert!(crate::access::check_designation(&p, "x", "", &operator).is_ok());
        }
        let kk = Policy::preset("kitakyushu").unwrap();
        let kk_for_reason = || kk.clone();
        let staff = person(&e, "staff", "", "operator", t0()).await;
        let vendor = person(&e, "vendor", "保守株式会社", "contractor", t0()).await;
        let temp = |until: Option<i64>| DesignationRequest {
            role: RoleKind::Temporary,
            valid_from: t0(),
            valid_until: until.map(|d| t0().add_micros(d * DAY)),
            basis: "取扱責任者が全員出張中のため".into(),
        };
        // Kitakyushu 第3条2: only when the manager and the 取扱責任者 cannot
        // operate — the designation says why.
        let mut unexplained = temp(Some(2));
        unexplained.basis = " ".into();
        let err = crate::access::check_designation(&kk_for_reason(), "staff", "", &unexplained)
            .unwrap_err()
            .to_string();
        assert!(err.contains("第3条2"), "{err}");
        assert!(
            crate::access::check_designation(
                &kk,
                &staff.username,
                &staff.organization,
                &temp(None)
            )
            .is_err()
        );
        assert!(
            crate::access::check_designation(
                &kk,
                &vendor.username,
                &vendor.organization,
                &temp(Some(2))
            )
            .is_err()
        );
        assert!(
            crate::access::check_designation(
                &kk,
                &staff.username,
                &staff.organization,
                &temp(Some(2))
            )
            .is_ok()
        );
        assert!(
            crate::access::check_designation(
                &kk,
                &staff.username,
                &staff.organization,
                &temp(Some(0))
            )
            .is_err()
        );
        let tottori = Policy::preset("tottori-city-hall").unwrap();
        assert!(
            crate::access::check_designation(
                &tottori,
                &staff.username,
                &staff.organization,
                &temp(Some(2))
            )
            .is_err()
        );
    }

    // REQ-ROL-4: under instructions, only the cameras, footage and period instructed.
    // REQ-DIS-7 (Osaka 第8条): a station's account acts only while an agreement with
    // its own station is in force, on its cameras, for footage recorded while it was
    // valid; a suspension ends that at once (simulated clock).
    #[tokio::test]
    async fn an_agreement_covers_its_station_cameras_and_period_only() {
        use crate::access::agreements_for;
        use mimamori_catalog::agreements::NewAgreement;
        let e = env("agreements").await;
        let policy = Policy::preset("osaka-nishinari").unwrap();
        let other_camera = e
            .catalog
            .camera_insert(
                &NewCamera {
                    name: "cam2".into(),
                    source: CameraSource::TestPattern,
                    record_audio: false,
                },
                t0(),
            )
            .await
            .unwrap();
        let police = person(&e, "seian", "西成警察署", "police", t0()).await;
        let elsewhere = person(&e, "tennoji", "天王寺警察署", "police", t0()).await;
        let as_person = |u: &mimamori_catalog::User| {
            let u = u.clone();
            let c = e.catalog.clone();
            async move {
                Person {
                    designation: c.designation_at(u.id, t0()).await.unwrap().unwrap(),
                    user: u,
                    role: RoleKind::Police,
                    permissions: vec![],
                    origin: Origin::default(),
                }
            }
        };
        let (seian, tennoji) = (as_person(&police).await, as_person(&elsewhere).await);
        let id = e
            .catalog
            .agreement_insert(
                &NewAgreement {
                    station: "西成警察署",
                    terms: "適正な取扱い",
                    cameras: &[e.camera],
                    valid_from: t0(),
                    valid_until: t0().add_micros(30 * DAY),
                },
                &mimamori_catalog::provisions::Step { by: None, at: t0() },
            )
            .await
            .unwrap();
        let check = |who: &Person, perm, cam, range, now| {
            let (c, p, a) = (e.catalog.clone(), policy.clone(), who.clone());
            async move {
                agreements_for(&c, &p, &a, perm, Some(cam), range, now)
                    .await
                    .unwrap()
                    .is_ok()
            }
        };
        let day1 = t0().add_micros(DAY);
        let footage = Some((t0().add_micros(60 * MIN), t0().add_micros(70 * MIN)));
        assert!(check(&seian, Permission::Playback, e.camera, footage, day1).await);
        assert!(
            !check(&tennoji, Permission::Playback, e.camera, footage, day1).await,
            "another station"
        );
        assert!(
            !check(&seian, Permission::Playback, other_camera, footage, day1).await,
            "another camera"
        );
        let before = Some((t0().add_micros(-60 * MIN), t0().add_micros(10 * MIN)));
        assert!(
            !check(&seian, Permission::Export, e.camera, before, day1).await,
            "footage from before it"
        );
        // A camera's status has no footage period.
        assert!(check(&seian, Permission::CameraStatus, e.camera, before, day1).await);
        let after = t0().add_micros(31 * DAY);
        assert!(
            !check(&seian, Permission::Playback, e.camera, footage, after).await,
            "after its period"
        );
        e.catalog
            .agreement_suspend(
                id,
                "是正を求める",
                &mimamori_catalog::provisions::Step { by: None, at: day1 },
            )
            .await
            .unwrap();
        assert!(
            !check(&seian, Permission::Playback, e.camera, footage, day1).await,
            "suspended"
        );
        e.catalog.agreement_resume(id).await.unwrap();
        assert!(
            check(&seian, Permission::Playback, e.camera, footage, day1).await,
            "resumed"
        );
    }

    #[tokio::test]
    async fn instructions_cover_their_cameras_range_and_period_only() {
        let e = env("instructions").await;
        let mut policy = Policy::preset("osaka-nishinari").unwrap();
        // A variant where operators may view images under instruction.
        policy.access.images_manager_only = false;
        policy
            .roles
            .get_mut(&RoleKind::Operator)
            .unwrap()
            .permissions
            .push(Permission::Playback);
        let boss = person(&e, "boss", "", "manager", t0()).await;
        let op = person(&e, "op", "", "operator", t0()).await;
        let d = e
            .catalog
            .designation_at(op.id, t0())
            .await
            .unwrap()
            .unwrap();
        let actor = Person {
            user: op.clone(),
            role: RoleKind::Operator,
            designation: d,
            permissions: vec![],
            origin: Origin::default(),
        };
        let footage = (t0().add_micros(-DAY), t0().add_micros(-DAY + 60 * MIN));
        let check = |cam: CameraId, range, now| {
            let (c, p, a) = (e.catalog.clone(), policy.clone(), actor.clone());
            async move {
                instruction_for(
                    &c,
                    &p,
                    &a,
                    Permission::Playback,
                    Some(cam),
                    Some(range),
                    now,
                )
                .await
                .unwrap()
                .is_ok()
            }
        };
        assert!(!check(e.camera, footage, t0()).await, "no instruction yet");
        e.catalog
            .instruction_insert(&Instruction {
                id: 0,
                user_id: op.id,
                cameras: vec![e.camera],
                range: Some((footage.0, footage.1)),
                valid_until: t0().add_micros(2 * 60 * MIN),
                content: "事件の確認".into(),
                issued_by: boss.id,
                issued_at: t0(),
                revoked_at: None,
            })
            .await
            .unwrap();
        assert!(check(e.camera, footage, t0().add_micros(MIN)).await);
        assert!(
            !check(CameraId(999), footage, t0().add_micros(MIN)).await,
            "other camera"
        );
        let wider = (footage.0, footage.1.add_micros(MIN));
        assert!(
            !check(e.camera, wider, t0().add_micros(MIN)).await,
            "outside the range"
        );
        assert!(
            !check(e.camera, footage, t0().add_micros(3 * 60 * MIN)).await,
            "expired"
        );
        // The manager needs no instruction.
        let bd = e
            .catalog
            .designation_at(boss.id, t0())
            .await
            .unwrap()
            .unwrap();
        let manager = Person {
            user: boss,
            role: RoleKind::Manager,
            designation: bd,
            permissions: vec![],
            origin: Origin::default(),
        };
        assert!(
            instruction_for(
                &e.catalog,
                &policy,
                &manager,
                Permission::Playback,
                Some(CameraId(999)),
                None,
                t0()
            )
            .await
            .unwrap()
            .is_ok()
        );
    }

    // REQ-LOC-1, REQ-LOC-2: terminal-bound permissions only from a registered terminal
    // admitting the role; live view nowhere where the policy forbids it.
    #[test]
    fn terminals_and_live_view_rules() {
        let mut tottori = Policy::preset("tottori-city-hall").unwrap();
        tottori.terminals[0].networks = vec!["10.1.0.0/24".into()]; // 管理室
        tottori.terminals[1].networks = vec!["10.2.0.0/24".into()]; // 財産経営課 (manager, operator)
        let from = |ip: &str| Origin {
            ip: Some(ip.parse().unwrap()),
            client_cert_sha256: None,
        };
        assert_eq!(
            authorize(
                &tottori,
                RoleKind::Operator,
                Permission::Playback,
                &from("10.2.0.5")
            )
            .unwrap()
            .unwrap()
            .name,
            "財産経営課"
        );
        assert!(
            authorize(
                &tottori,
                RoleKind::Operator,
                Permission::Playback,
                &from("10.9.0.5")
            )
            .is_err()
        );
        // The contractor may change settings from 管理室 but not from 財産経営課.
        assert!(
            authorize(
                &tottori,
                RoleKind::Contractor,
                Permission::CameraSettings,
                &from("10.1.0.5")
            )
            .is_ok()
        );
        assert!(
            authorize(
                &tottori,
                RoleKind::Contractor,
                Permission::CameraSettings,
                &from("10.2.0.5")
            )
            .is_err()
        );
        // Not terminal-bound: camera status from anywhere on the network.
        assert!(
            authorize(
                &tottori,
                RoleKind::Contractor,
                Permission::CameraStatus,
                &from("10.9.0.5")
            )
            .is_ok()
        );
        let kk = Policy::preset("kitakyushu").unwrap();
        assert!(matches!(
            authorize(
                &kk,
                RoleKind::Manager,
                Permission::LiveView,
                &from("127.0.0.1")
            ),
            Err(Refusal::LiveViewForbidden { .. })
        ));
    }
}

// ---- viewing: no image leaves without its entry -------------------------------

mod viewing {
    use super::*;
    use crate::Actor;
    use crate::viewing::{FootageQuery, Shape};

    // A viewing whose audit entry could not be written serves nothing, and is not
    // counted as logged: the same request a moment later writes its entry, then serves.
    #[tokio::test]
    async fn footage_is_served_only_after_its_entry_is_written() {
        let e = env("view-log").await;
        e.segment(t0()).await;
        let gov = e.gov(Policy::preset("chiba-guideline").unwrap());
        let q = FootageQuery {
            start: t0().to_rfc3339(mimamori_base::time::jst()),
            end: t0().add_micros(MIN).to_rfc3339(mimamori_base::time::jst()),
            purpose: Some(gov.policy().purposes[0].id.clone()),
            ..FootageQuery::default()
        };
        let pool = sqlx::AnyPool::connect(&e.url).await.unwrap();
        let viewings = || async {
            e.catalog
                .audit_all()
                .await
                .unwrap()
                .iter()
                .filter(|x| x.record.action == "playback")
                .count()
        };
        // A trigger that refuses every audit entry, as a full disk would.
        let (refuse, allow) = match mimamori_catalog::scratch::engine() {
            mimamori_catalog::Engine::Sqlite => (
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entry \
                 BEGIN SELECT RAISE(ABORT, 'the disk is full'); END",
                "DROP TRIGGER refuse_audit",
            ),
            mimamori_catalog::Engine::Postgres => (
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'the disk is full'; END $$; \
                 CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_entry \
                 FOR EACH ROW EXECUTE FUNCTION refuse()",
                "DROP TRIGGER refuse_audit ON audit_entry",
            ),
        };
        sqlx::raw_sql(refuse).execute(&pool).await.unwrap();
        let actor = Actor::console();
        assert!(
            gov.footage(&actor, e.camera, &q, Shape::Progressive)
                .await
                .is_err(),
            "no entry, no footage"
        );
        assert_eq!(viewings().await, 0);
        sqlx::raw_sql(allow).execute(&pool).await.unwrap();
        let footage = gov
            .footage(&actor, e.camera, &q, Shape::Progressive)
            .await
            .unwrap();
        assert!(footage.len > 1000 && footage.etag.is_some());
        assert_eq!(viewings().await, 1, "the retried viewing is logged");
        // The same viewing again (a Range request of the player): one entry is enough.
        gov.footage(&actor, e.camera, &q, Shape::Progressive)
            .await
            .unwrap();
        assert_eq!(viewings().await, 1);
        pool.close().await;
    }
}

// ---- cameras stored by earlier versions -------------------------------------------

mod stored_cameras {
    use super::*;

    // An address stored with credentials in it (`rtsp://user:pw@…`, as earlier
    // versions kept it) is shown to everyone who sees camera status: at start the
    // credentials move into their fields, the password is sealed, and the change
    // is on the record. A second start changes nothing.
    #[tokio::test]
    async fn credentials_leave_stored_addresses_at_start_and_the_move_is_logged() {
        let e = env("stored-creds").await;
        let id = e
            .catalog
            .camera_insert(
                &NewCamera {
                    name: "gate".into(),
                    source: CameraSource::Rtsp {
                        main_url: "rtsp://admin:s3cret@192.0.2.7:554/main".into(),
                        sub_url: Some("rtsp://admin:s3cret@192.0.2.7:554/sub".into()),
                        username: None,
                        password: None,
                    },
                    record_audio: false,
                },
                t0(),
            )
            .await
            .unwrap();
        let gov = e.gov(Policy::preset("chiba-guideline").unwrap());
        assert_eq!(gov.seal_stored_credentials().await.unwrap(), 1);
        let CameraSource::Rtsp {
            main_url,
            sub_url,
            username,
            password,
        } = e.catalog.camera(id).await.unwrap().source
        else {
            panic!("still an RTSP camera");
        };
        assert_eq!(main_url, "rtsp://192.0.2.7:554/main");
        assert_eq!(sub_url.as_deref(), Some("rtsp://192.0.2.7:554/sub"));
        assert_eq!(username.as_deref(), Some("admin"));
        let password = password.unwrap();
        assert!(mimamori_catalog::keys::is_sealed(&password));
        assert!(!password.contains("s3cret"));
        let moved: Vec<_> = e
            .catalog
            .audit_all()
            .await
            .unwrap()
            .into_iter()
            .filter(|x| x.record.action == "camera_changed" && x.record.camera_id == Some(id))
            .collect();
        assert_eq!(moved.len(), 1, "the move is on the record once");
        assert!(moved[0].record.detail.contains("gate"));
        assert!(!moved[0].record.detail.contains("s3cret"));
        assert_eq!(gov.seal_stored_credentials().await.unwrap(), 0);
    }
}

// ---- provision: a pending request holds its footage --------------------------------

mod provision {
    use super::*;
    use crate::Actor;
    use crate::provisions::RequestText;

    // REQ-RET-4 (Midori 第7条3(2)): footage a pending request asks for outlives its
    // retention; the hold ends with the request, not by hand; withdrawn, the
    // footage goes at the next sweep.
    #[tokio::test]
    async fn a_pending_request_keeps_its_footage_past_retention_until_it_ends() {
        let e = env("provision-hold").await;
        for m in [0, 1, 20] {
            e.segment(t0().add_micros(m * MIN)).await;
        }
        let policy = Policy::preset("midori-stations").unwrap();
        let gov = e.gov(policy.clone());
        let t = |x: Timestamp| x.to_rfc3339(mimamori_base::time::jst());
        let (from, to) = (
            t(t0().add_micros(10_000_000)),
            t(t0().add_micros(50_000_000)),
        );
        let p = gov
            .provision_register(
                &Actor::console(),
                &RequestText {
                    received_on: "2026-11-23",
                    requester_organisation: "桐生警察署",
                    requester_representative: "署長",
                    cameras: vec![e.camera.0],
                    from: &from,
                    to: &to,
                    reason: "窃盗事件の捜査",
                    ground: "criminal-197",
                    method: "usb",
                    ..RequestText::default()
                },
            )
            .await
            .unwrap();
        let hold = p.hold_id.unwrap();
        let holds = e.catalog.holds().await.unwrap();
        let h = holds.iter().find(|h| h.id == hold).unwrap();
        assert!(
            h.reason.contains("刑事訴訟法第197条第2項"),
            "the hold carries its ground: {}",
            h.reason
        );
        let sweeper = e.sweeper(policy);
        e.clock.set(t0().add_micros(15 * DAY));
        assert_eq!(
            sweeper.sweep_once().await.unwrap().expired_segments,
            1,
            "only footage the request does not ask for goes"
        );
        assert_eq!(e.starts().await, vec![t0(), t0().add_micros(MIN)]);
        let manual = gov.hold_release(&Actor::console(), hold).await;
        assert!(
            manual.is_err(),
            "not released by hand while the request is open"
        );
        gov.provision_withdraw(&Actor::console(), p.id, "照会の取下げ")
            .await
            .unwrap();
        assert_eq!(sweeper.sweep_once().await.unwrap().expired_segments, 2);
        assert!(e.starts().await.is_empty());
    }

    // A crash while a package or document was written leaves an encrypted file no
    // row knows: the next start removes it, and keeps every recorded one.
    #[tokio::test]
    async fn unfinished_provision_files_go_at_start_recorded_ones_stay() {
        let e = env("provision-files").await;
        let gov = e.gov(Policy::preset("chiba-guideline").unwrap());
        let t = |x: Timestamp| x.to_rfc3339(mimamori_base::time::jst());
        let (from, to) = (t(t0()), t(t0().add_micros(MIN)));
        let p = gov
            .provision_register(
                &Actor::console(),
                &RequestText {
                    received_on: "2026-11-23",
                    requester_organisation: "千葉中央警察署",
                    cameras: vec![e.camera.0],
                    from: &from,
                    to: &to,
                    reason: "捜査",
                    ground: "investigation",
                    method: "medium",
                    ..RequestText::default()
                },
            )
            .await
            .unwrap();
        let doc = gov
            .provision_attach(
                &Actor::console(),
                p.id,
                &crate::provisions::DocumentUpload {
                    original_name: "照会書.pdf",
                    bytes: b"%PDF-1.4\n%%EOF\n",
                },
            )
            .await
            .unwrap();
        let root = e.dir.join("provisions");
        std::fs::create_dir_all(root.join("packages")).unwrap();
        std::fs::write(root.join("packages/1-dead.zip.partial"), b"half").unwrap();
        std::fs::write(root.join("packages/1-lost.zip"), b"never recorded").unwrap();
        assert_eq!(gov.discard_unfinished_provision_files().await.unwrap(), 2);
        assert!(
            root.join(&doc.file_name).exists(),
            "the recorded document stays"
        );
        assert!(!root.join("packages/1-lost.zip").exists());
        let (_, bytes) = gov
            .provision_document(&Actor::console(), p.id, doc.id)
            .await
            .unwrap();
        assert!(bytes.starts_with(b"%PDF-1.4"));
    }
}

// Issue 12 "any node may serve the web UI": a live view relayed from the node
// that records the camera opens there only with a grant this installation
// signed for that camera and node, within its time, once.
#[tokio::test]
async fn a_live_view_grant_opens_one_camera_on_one_node_once_and_briefly() {
    use crate::Error;
    let e = env("grant").await;
    let gov = e.gov(Policy::preset("kitakyushu").unwrap());
    let denied = |r: crate::error::Result<crate::relay::AcceptedGrant>| match r {
        Err(Error::Denied(why)) => why,
        other => panic!("not refused: {other:?}"),
    };

    let grant = gov.mint_live_grant(e.camera, "rec-1", "web-1", "tanaka");
    gov.live_grant_signed(&grant).unwrap();
    let taken = gov.accept_live_grant(e.camera, &grant, "rec-1").unwrap();
    assert_eq!(
        (taken.from.as_str(), taken.user.as_str()),
        ("web-1", "tanaka")
    );
    assert!(denied(gov.accept_live_grant(e.camera, &grant, "rec-1")).contains("used before"));

    let grant = gov.mint_live_grant(e.camera, "rec-1", "web-1", "tanaka");
    assert!(
        denied(gov.accept_live_grant(CameraId(e.camera.0 + 1), &grant, "rec-1"))
            .contains("another camera")
    );
    assert!(
        denied(gov.accept_live_grant(e.camera, &grant, "rec-2")).contains("another camera or node")
    );

    // Run out after its time.
    let grant = gov.mint_live_grant(e.camera, "rec-1", "web-1", "tanaka");
    e.clock
        .advance_micros((crate::relay::GRANT_SECONDS + 1) * 1_000_000);
    assert!(denied(gov.accept_live_grant(e.camera, &grant, "rec-1")).contains("run out"));

    // Another installation's key, a changed claim, the key's signature without
    // the grant's context (as over a chain head): none opens it.
    let other = e.gov(Policy::preset("kitakyushu").unwrap());
    let foreign = other.mint_live_grant(e.camera, "rec-1", "web-1", "tanaka");
    assert!(
        denied(gov.accept_live_grant(e.camera, &foreign, "rec-1")).contains("not a valid grant")
    );
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let grant = gov.mint_live_grant(e.camera, "rec-1", "web-1", "tanaka");
    let (body, signature) = grant.split_once('.').unwrap();
    let claims = String::from_utf8(base64::Engine::decode(&b64, body).unwrap()).unwrap();
    let changed = base64::Engine::encode(&b64, claims.replace("tanaka", "suzuki"));
    let tampered = format!("{changed}.{signature}");
    assert!(
        denied(gov.accept_live_grant(e.camera, &tampered, "rec-1")).contains("not a valid grant")
    );
    let bare = base64::Engine::encode(&b64, gov.signer.sign(claims.as_bytes()));
    assert!(
        denied(gov.accept_live_grant(e.camera, &format!("{body}.{bare}"), "rec-1"))
            .contains("not a valid grant")
    );
    assert!(gov.live_grant_signed("").is_err());
}
