//! After a crash or a power cut: the segments that were being written are rebuilt
//! from their journals, up to the last checkpoint (at most about two seconds
//! before the end), and recorded as the next links of their streams' chains, so
//! the recovered tail verifies like any segment. Runs at start, before recorders.

use std::sync::Arc;

use mimamori_catalog::keys::KeyRing;
use mimamori_catalog::{Catalog, NewSegment, StreamKind};
use mimamori_crypto::SegmentCipher;
use mimamori_media::{SampleIndex, SampleInfo};
use mimamori_storage::{OpenSegment, SegmentStore};

use crate::segmenter::SegmenterError;

/// What recovery did with one segment left open.
#[derive(Debug)]
pub enum Recovered {
    /// Rebuilt and recorded: its file, frames and seconds.
    Kept {
        file_name: String,
        frames: usize,
        seconds: f64,
    },
    /// Nothing usable (no checkpoint yet, or its key is gone): removed.
    Discarded { file_name: String, why: String },
}

/// Rebuilds every segment left open, oldest first.
pub async fn recover_open_segments(
    catalog: &Catalog,
    store: &SegmentStore,
    keys: &Arc<KeyRing>,
) -> Result<Vec<Recovered>, SegmenterError> {
    let mut out = Vec::new();
    for seg in store.all_open_segments() {
        let recovered_name = recovered_name(&seg.file_name);
        // Asked per open segment (a few), not by reading every file name the
        // catalog holds: at start-up of a big site that took seconds.
        if catalog.segment_file_known(&seg.file_name).await?
            || catalog.segment_file_known(&recovered_name).await?
        {
            // Finished (or recovered) before the crash; only the journal was left.
            store.remove_open(&seg.file_name)?;
            continue;
        }
        // A file finished but not yet in the catalog when mimamori stopped is read
        // like its partial file (it holds the same chunks); it goes with its journal.
        let outcome = rebuild(catalog, store, keys, &seg, &recovered_name).await?;
        store.delete(&seg.file_name)?;
        match outcome {
            Ok((frames, seconds)) => {
                store.remove_open(&seg.file_name)?;
                tracing::warn!(file = %recovered_name, frames, seconds, "recovered the segment being written when mimamori stopped");
                out.push(Recovered::Kept {
                    file_name: recovered_name,
                    frames,
                    seconds,
                });
            }
            Err(why) => {
                store.remove_open(&seg.file_name)?;
                tracing::warn!(file = %seg.file_name, "discarded a segment being written when mimamori stopped: {why}");
                out.push(Recovered::Discarded {
                    file_name: seg.file_name.clone(),
                    why,
                });
            }
        }
    }
    Ok(out)
}

/// The name a recovered segment is written under (beside the partial it comes from).
fn recovered_name(file_name: &str) -> String {
    match file_name.strip_suffix(".seg") {
        Some(stem) => format!("{stem}-recovered.seg"),
        None => format!("{file_name}-recovered"),
    }
}

/// Writes the frames the journal vouches for as a new segment and records it.
/// `Ok(Err(why))`: nothing usable.
async fn rebuild(
    catalog: &Catalog,
    store: &SegmentStore,
    keys: &Arc<KeyRing>,
    seg: &OpenSegment,
    new_name: &str,
) -> Result<Result<(usize, f64), String>, SegmenterError> {
    let h = &seg.header;
    let Some(stream) = StreamKind::parse(&h.stream) else {
        return Ok(Err(format!("unknown stream {:?}", h.stream)));
    };
    let Some(key) = keys.key(h.data_key_id).await? else {
        return Ok(Err("its data key was destroyed".into()));
    };
    let cipher = SegmentCipher::new(key.clone(), h.nonce_prefix, seg.file_name.as_bytes());
    let mut plain = match store.read_open_range(
        &seg.file_name,
        &cipher,
        seg.sealed_chunks,
        0,
        seg.sealed_bytes() as usize,
    ) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e.to_string())),
    };
    if let Some(t) = &seg.tail
        && let Ok(tail) = cipher.open_tail(seg.sealed_chunks, t)
    {
        plain.extend_from_slice(&tail);
    }
    // The frames whose bytes are all there.
    let mut index = SampleIndex::default();
    let mut used = 0usize;
    for f in &seg.frames {
        let next = used + f.size as usize;
        if next > plain.len() {
            break;
        }
        index.push(SampleInfo {
            size: f.size,
            duration_90k: f.duration_90k,
            key: f.key,
        });
        used = next;
    }
    if index.is_empty() {
        return Ok(Err("no checkpoint covered a frame".into()));
    }
    plain.truncate(used);
    let nonce = SegmentCipher::random_nonce_prefix();
    let mut w = store.create(
        new_name,
        SegmentCipher::new(key, nonce, new_name.as_bytes()),
    )?;
    w.append(&plain)?;
    let written = tokio::task::spawn_blocking(move || w.finish())
        .await
        .map_err(|e| SegmenterError::Join(e.to_string()))??;
    let duration = index.total_duration_90k();
    catalog
        .segment_insert(&NewSegment {
            camera_id: h.camera,
            stream,
            run_start: h.run_start,
            start: h.start,
            end: h.start.add_90k(duration),
            duration_90k: duration,
            frames: index.len() as i64,
            key_frames: index.key_frames() as i64,
            bytes: i64::try_from(written.bytes).unwrap_or(i64::MAX),
            video_params_id: h.video_params_id,
            file_name: written.file_name,
            sample_index: index.encode(),
            stored_digest: written.stored_digest.to_vec(),
            stored_bytes: i64::try_from(written.stored_bytes).unwrap_or(i64::MAX),
            data_key_id: h.data_key_id,
            nonce_prefix: nonce.to_vec(),
            // The frames commitment, hashed by the writer as for any segment.
            frames_digest: written.plain_digest.to_vec(),
            digest_kind: written.digest_kind,
        })
        .await?;
    Ok(Ok((index.len(), duration as f64 / 90_000.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segmenter::Segmenter;
    use crate::source::{Frame, StreamParams};
    use mimamori_base::{CameraId, Timestamp};

    /// Records `secs` seconds of 15 fps frames of `size` bytes, then "crashes": the
    /// segmenter is forgotten with its buffers unflushed, as a killed process is.
    async fn record_then_crash(
        size: usize,
        secs: f64,
    ) -> (
        Catalog,
        SegmentStore,
        Arc<KeyRing>,
        CameraId,
        std::path::PathBuf,
        i64,
    ) {
        let crate::fixture::Fixture {
            catalog,
            store,
            keys,
            rows,
            camera: cam,
            dir,
            ..
        } = crate::fixture::fixture(&format!("recovery-{size}")).await;
        let mut seg = Segmenter::new(
            cam,
            StreamKind::Main,
            store.clone(),
            rows,
            keys.clone(),
            60,
            None,
        );
        let params = Arc::new(StreamParams {
            rfc6381_codec: "avc1.64001F".into(),
            width: 640,
            height: 360,
            sample_entry: vec![1; 8],
        });
        let t0 = Timestamp::from_secs(1_795_395_600);
        let n = (secs * 15.0) as i64;
        for i in 0..n {
            let now = t0.add_micros(i * 66_667);
            seg.push(
                Frame {
                    pts_90k: i * 6_000,
                    key: i % 15 == 0,
                    data: vec![(i % 251) as u8; size],
                    params: params.clone(),
                },
                now,
            )
            .await
            .unwrap();
            if i % 15 == 0 {
                // A second has passed: in real time its checkpoint would be durable
                // long before the next.
                seg.settle_checkpoints();
            }
        }
        std::mem::forget(seg);
        (catalog, store, keys, cam, dir, n)
    }

    async fn recovered_seconds(size: usize) -> (f64, i64) {
        let secs = 3.3;
        let (catalog, store, keys, cam, dir, written) = record_then_crash(size, secs).await;
        assert!(
            catalog.segment_file_names().await.unwrap().is_empty(),
            "nothing closed yet"
        );
        let report = recover_open_segments(&catalog, &store, &keys)
            .await
            .unwrap();
        let Some(Recovered::Kept {
            frames, seconds, ..
        }) = report.first()
        else {
            panic!("{report:?}");
        };
        assert!((*frames as i64) < written);
        // The recovered segment is a normal link of the chain, readable and whole.
        let segs = catalog
            .stream_segments(cam, StreamKind::Main)
            .await
            .unwrap();
        assert_eq!(segs.len(), 1);
        assert_eq!(segs[0].recorded.frames as usize, *frames);
        let (hash, size_on_disk) = store
            .digest_file(&segs[0].recorded.file_name, segs[0].recorded.digest_kind)
            .unwrap();
        assert_eq!(hash.to_vec(), segs[0].recorded.stored_digest);
        assert_eq!(size_on_disk as i64, segs[0].recorded.stored_bytes);
        assert!(
            store.all_open_segments().is_empty(),
            "the partial and its journal are gone"
        );
        // Recovery is done once: a second start finds nothing to do.
        assert!(
            recover_open_segments(&catalog, &store, &keys)
                .await
                .unwrap()
                .is_empty()
        );
        let _ = std::fs::remove_dir_all(dir);
        (*seconds, written)
    }

    // A killed recorder loses at most about two seconds of what it was writing: a
    // second of checkpoint interval and an unsealed tail younger than a second.
    #[tokio::test]
    async fn a_crash_loses_at_most_two_seconds_of_a_fast_stream() {
        // 10 KB frames: a chunk is sealed every ~0.4 s.
        let (seconds, _) = recovered_seconds(10_000).await;
        assert!(seconds >= 3.3 - 2.0, "recovered {seconds} s of 3.3");
    }

    #[tokio::test]
    async fn a_crash_loses_at_most_two_seconds_of_a_slow_stream() {
        // 500-byte frames: a chunk would take ~9 s to fill, so the tail is journaled.
        let (seconds, _) = recovered_seconds(500).await;
        assert!(seconds >= 3.3 - 2.0, "recovered {seconds} s of 3.3");
    }

    // Killed after a segment's file was finished but before the catalog had it:
    // its journal is still there, so it is recovered like a partial file, and the
    // file the catalog never knew goes.
    #[tokio::test]
    async fn a_crash_between_finishing_a_file_and_cataloguing_it_loses_at_most_two_seconds() {
        let (catalog, store, keys, _cam, dir, _) = record_then_crash(10_000, 3.3).await;
        let open = store.all_open_segments();
        assert_eq!(open.len(), 1);
        let final_path = store.path_of(&open[0].file_name);
        let partial = format!(
            "{}{}",
            final_path.display(),
            mimamori_storage::PARTIAL_SUFFIX
        );
        std::fs::rename(&partial, &final_path).unwrap();
        let report = recover_open_segments(&catalog, &store, &keys)
            .await
            .unwrap();
        let Some(Recovered::Kept { seconds, .. }) = report.first() else {
            panic!("{report:?}");
        };
        assert!(*seconds >= 3.3 - 2.0, "recovered {seconds} s of 3.3");
        assert!(!final_path.exists(), "the uncatalogued file is removed");
        let names = catalog.segment_file_names().await.unwrap();
        assert_eq!(names.len(), 1);
        assert!(names[0].ends_with("-recovered.seg"), "{names:?}");
        assert!(store.all_open_segments().is_empty());
        let _ = std::fs::remove_dir_all(dir);
    }
}
