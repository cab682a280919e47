//! Property tests (issue 13): a segment's journal, however a crash or a disk left
//! it, never panics its reader, and what it yields is what was checkpointed.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;

use mimamori_base::{CameraId, Timestamp};
use mimamori_storage::journal::{JournalWriter, read};
use mimamori_storage::{JournalFrame, OpenHeader};
use proptest::prelude::*;

fn scratch(tag: &str) -> PathBuf {
    use std::hash::{BuildHasher, RandomState};
    let dir = std::env::temp_dir().join(format!(
        "mimamori-journal-prop-{tag}-{}-{}",
        std::process::id(),
        RandomState::new().hash_one(0u8)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn frame() -> impl Strategy<Value = JournalFrame> {
    (any::<u32>(), any::<u32>(), any::<bool>()).prop_map(|(size, duration_90k, key)| JournalFrame {
        size,
        duration_90k,
        key,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_file_read_as_a_journal_gives_an_answer(
        text in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..400),
            "mimamori-open-segment-v1( [-0-9a-f]{0,20}){0,9}\n((f|c)( [-0-9a-f]{0,12}){0,4}\n?){0,8}"
                .prop_map(String::into_bytes),
        ]
    ) {
        let dir = scratch("any");
        let path = dir.join("x.journal");
        std::fs::write(&path, &text).unwrap();
        if let Some(seg) = read(&path, "1/20260101/main-1.seg") {
            let _ = seg.covered_end();
            let _ = seg.covered_bytes();
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    // Cut anywhere (a crash mid-write), a journal yields the frames of its last
    // whole checkpoint before the cut: never a frame that was not checkpointed.
    #[test]
    fn a_journal_cut_anywhere_yields_what_was_checkpointed_before_the_cut(
        start in any::<i64>(),
        batches in proptest::collection::vec(proptest::collection::vec(frame(), 0..6), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let dir = scratch("cut");
        let path = dir.join("x.journal");
        let header = OpenHeader {
            camera: CameraId(7),
            stream: "main".into(),
            run_start: Timestamp(start),
            start: Timestamp(start),
            video_params_id: 3,
            data_key_id: 4,
            nonce_prefix: [9; 8],
        };
        let mut w = JournalWriter::create(&path, &header).unwrap();
        let mut checkpointed: Vec<Vec<JournalFrame>> = vec![Vec::new()];
        let mut sizes = vec![std::fs::metadata(&path).unwrap().len()];
        for (n, batch) in batches.iter().enumerate() {
            for f in batch {
                w.frame(*f);
            }
            let tail = [n as u8; 5];
            w.checkpoint_record(n as u32, Some(&tail)).unwrap().commit().unwrap();
            let mut all = checkpointed.last().unwrap().clone();
            all.extend_from_slice(batch);
            checkpointed.push(all);
            sizes.push(std::fs::metadata(&path).unwrap().len());
        }
        let whole = std::fs::read(&path).unwrap();
        let at = cut.index(whole.len() + 1);
        std::fs::write(&path, &whole[..at]).unwrap();
        match read(&path, "7/x.seg") {
            None => prop_assert!((at as u64) < sizes[0], "a whole header was refused"),
            Some(seg) => {
                prop_assert_eq!(&seg.header, &header);
                // The last checkpoint wholly before the cut.
                let k = sizes.iter().rposition(|s| *s <= at as u64).unwrap();
                prop_assert_eq!(&seg.frames, &checkpointed[k]);
                let _ = seg.covered_end();
            }
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
