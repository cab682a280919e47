//! Cuts one stream's frames into segments: a run starts at the first key frame
//! after connecting; a segment closes at the first key frame after the target
//! length (or when the codec parameters change) and is written durably before
//! the catalog hears of it. A frame is written once the next one arrives, since
//! only then is its duration known.

use std::sync::Arc;
use std::time::Duration;

use mimamori_base::{CameraId, Timestamp};
use mimamori_catalog::keys::KeyRing;
use mimamori_catalog::{NewSegment, StreamKind};
use mimamori_crypto::SegmentCipher;
use mimamori_media::{SampleIndex, SampleInfo};
use mimamori_storage::{JournalFrame, OpenHeader, SegmentFileWriter, SegmentStore};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

use crate::hub::LiveFrame;
use crate::rows::{CatalogRow, RowError, RowJournal};
use crate::source::{Frame, StreamParams};

/// Frames further apart than this (or going backwards) break the run.
const MAX_FRAME_GAP_90K: i64 = 10 * 90_000;
/// How often what was written is made durable (with the journal saying so): a
/// crash or a power cut loses at most this plus an unsealed tail younger than it,
/// and playback reaches this close to now.
const CHECKPOINT_MICROS: i64 = 1_000_000;
/// The longest segment, in 90 kHz ticks (see `MAX_SEGMENT_MICROS`).
const MAX_SEGMENT_90K: i64 = mimamori_catalog::MAX_SEGMENT_MICROS / 1_000_000 * 90_000;
/// Duration given to the last frame of a run when nothing better is known (1/15 s).
const FALLBACK_DURATION_90K: i64 = 6_000;

#[derive(Debug, thiserror::Error)]
pub enum SegmenterError {
    #[error(transparent)]
    Storage(#[from] mimamori_storage::StorageError),
    #[error(transparent)]
    Catalog(#[from] mimamori_catalog::CatalogError),
    #[error(transparent)]
    Rows(#[from] RowError),
    #[error("segment writer task failed: {0}")]
    Join(String),
}

struct OpenSegment {
    writer: SegmentFileWriter,
    key_id: i64,
    nonce_prefix: [u8; 8],
    first_pts: i64,
    index: SampleIndex,
    params: Arc<StreamParams>,
    params_id: i64,
    /// When the last checkpoint was made.
    checkpoint_at: Timestamp,
    /// The chunk being filled, and when its first byte came.
    filling: (u32, Timestamp),
}

struct Run {
    run_start: Timestamp,
    pts0: i64,
    pending: Option<Frame>,
    last_duration: i64,
    segment: Option<OpenSegment>,
    /// Ticks from run start to the end of the last written frame.
    written_until: i64,
    /// The last segment was cut at its longest without a key frame: the next
    /// opens on whatever frame comes (no frame is dropped).
    cut_without_key: bool,
}

/// What happened to a pushed frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    /// Dropped while waiting for the first key frame.
    WaitingForKeyFrame,
    /// This frame started a new run at the given instant.
    RunStarted(Timestamp),
    Accepted,
}

pub struct Segmenter {
    camera: CameraId,
    stream: StreamKind,
    store: SegmentStore,
    rows: Arc<RowJournal>,
    keys: Arc<KeyRing>,
    target_90k: i64,
    run: Option<Run>,
    live: Option<broadcast::Sender<Arc<LiveFrame>>>,
    /// End of the newest segment written, for gap bookkeeping.
    last_end: Option<Timestamp>,
    /// With an object store: the newest closed segment on its way there and
    /// into the catalog (each waits for the one before, so rows stay in order).
    closing: Option<tokio::task::JoinHandle<()>>,
}

impl Segmenter {
    pub fn new(
        camera: CameraId,
        stream: StreamKind,
        store: SegmentStore,
        rows: Arc<RowJournal>,
        keys: Arc<KeyRing>,
        segment_seconds: u32,
        live: Option<broadcast::Sender<Arc<LiveFrame>>>,
    ) -> Self {
        Segmenter {
            camera,
            stream,
            store,
            rows,
            keys,
            target_90k: i64::from(segment_seconds.max(1)) * 90_000,
            run: None,
            live,
            last_end: None,
            closing: None,
        }
    }

    /// Waits (at most `within`) for the closed segments still on their way to
    /// the object store and the catalog. Those not there by then go on trying in
    /// the background; if the process ends first, their local files and journals
    /// stay, and the next start recovers them.
    pub async fn settle(&mut self, within: Duration) {
        if let Some(mut closing) = self.closing.take()
            && tokio::time::timeout(within, &mut closing).await.is_err()
        {
            tracing::warn!(
                camera = %self.camera,
                stream = self.stream.as_str(),
                "segments still wait for the object store; they go on trying"
            );
        }
    }

    pub fn last_end(&self) -> Option<Timestamp> {
        self.last_end
    }

    /// Where the current run stands in wall-clock time (end of the last written frame).
    pub fn position(&self) -> Option<Timestamp> {
        self.run
            .as_ref()
            .map(|r| r.run_start.add_90k(r.written_until))
    }

    /// Takes the next frame. `now` is when it arrived.
    pub async fn push(&mut self, frame: Frame, now: Timestamp) -> Result<Pushed, SegmenterError> {
        let Some(run) = self.run.as_mut() else {
            if !frame.key {
                return Ok(Pushed::WaitingForKeyFrame);
            }
            // Never start before what is already stored (a clock step backwards).
            let run_start = match self.last_end {
                Some(e) if e > now => e,
                _ => now,
            };
            self.run = Some(Run {
                run_start,
                pts0: frame.pts_90k,
                pending: Some(frame),
                last_duration: FALLBACK_DURATION_90K,
                segment: None,
                written_until: 0,
                cut_without_key: false,
            });
            return Ok(Pushed::RunStarted(run_start));
        };
        let Some(prev) = run.pending.take() else {
            run.pending = Some(frame);
            return Ok(Pushed::Accepted);
        };
        let duration = frame.pts_90k - prev.pts_90k;
        if duration <= 0 || duration > MAX_FRAME_GAP_90K {
            // A timestamp jump: end this run and start again at this frame.
            run.pending = Some(prev);
            self.finish_run().await?;
            return Box::pin(self.push(frame, now)).await;
        }
        run.last_duration = duration;
        let at_key = frame.key
            && run.segment.as_ref().is_some_and(|s| {
                s.index.total_duration_90k() + duration >= self.target_90k
                    || s.params != frame.params
            });
        // A camera that sends no key frame for this long still gets segments the
        // catalog's time queries find (`MAX_SEGMENT_MICROS`).
        let at_longest = !frame.key
            && run.segment.as_ref().is_some_and(|s| {
                s.index.total_duration_90k() + 2 * duration >= MAX_SEGMENT_90K
                    && s.params == frame.params
            });
        let cut = at_key || at_longest;
        if at_longest {
            run.cut_without_key = true;
        }
        self.write_frame(prev, duration, now).await?;
        if cut {
            self.close_segment().await?;
        }
        if let Some(run) = self.run.as_mut() {
            run.pending = Some(frame);
        }
        Ok(Pushed::Accepted)
    }

    /// Ends the run: writes the last frame and closes the segment. Returns where
    /// recording stopped, if a run was open.
    pub async fn finish_run(&mut self) -> Result<Option<Timestamp>, SegmenterError> {
        let Some(run) = self.run.as_mut() else {
            return Ok(None);
        };
        if let Some(last) = run.pending.take() {
            let d = run.last_duration;
            let now = self
                .run
                .as_ref()
                .and_then(|r| r.segment.as_ref())
                .map(|s| s.checkpoint_at)
                .unwrap_or_default();
            self.write_frame(last, d, now).await?;
        }
        self.close_segment().await?;
        let end = self
            .run
            .take()
            .map(|r| r.run_start.add_90k(r.written_until));
        Ok(end)
    }

    /// Waits until the open segment's checkpoints handed in so far are durable:
    /// tests with a simulated clock push seconds of frames at once, faster than a
    /// round of the store's group commit, where a camera gives it a second.
    #[cfg(test)]
    pub(crate) fn settle_checkpoints(&self) {
        if let Some(seg) = self.run.as_ref().and_then(|r| r.segment.as_ref()) {
            seg.writer.wait_for_checkpoints().unwrap();
        }
    }

    /// Drops the run without writing the open segment (after a storage failure).
    pub fn abandon_run(&mut self) {
        if let Some(mut run) = self.run.take()
            && let Some(seg) = run.segment.take()
        {
            seg.writer.abandon();
        }
    }

    async fn write_frame(
        &mut self,
        frame: Frame,
        duration: i64,
        now: Timestamp,
    ) -> Result<(), SegmenterError> {
        let Some(run) = self.run.as_mut() else {
            return Ok(());
        };
        if run.segment.is_none() {
            let after_longest = std::mem::take(&mut run.cut_without_key);
            if !frame.key && !after_longest {
                // Only possible after a failed segment: wait for the next key frame.
                run.written_until = frame.pts_90k - run.pts0 + duration;
                return Ok(());
            }
            let _catalog = crate::context::CatalogWait::enter();
            let start = run.run_start.add_90k(frame.pts_90k - run.pts0);
            let file_name = SegmentStore::file_name_for(self.camera, self.stream.as_str(), start);
            // Footage is encrypted under its camera's key for the day it was recorded.
            let keys = self.keys.clone();
            let camera = self.camera;
            let (key_id, key) = self
                .rows
                .ask(async move { keys.key_for_write(camera, start, start).await })
                .await?;
            let nonce_prefix = SegmentCipher::random_nonce_prefix();
            let cipher = SegmentCipher::new(key, nonce_prefix, file_name.as_bytes());
            // Known after the first segment (the catalog keeps it in memory).
            let p = &frame.params;
            let sha = Sha256::digest(&p.sample_entry);
            let (catalog, p) = (self.rows.catalog().clone(), p.clone());
            let params_id = self
                .rows
                .ask(async move {
                    catalog
                        .video_params_id(&p.rfc6381_codec, p.width, p.height, &p.sample_entry, &sha)
                        .await
                })
                .await?;
            let writer = self.store.create_journaled(
                &file_name,
                cipher,
                &OpenHeader {
                    camera: self.camera,
                    stream: self.stream.as_str().to_string(),
                    run_start: run.run_start,
                    start,
                    video_params_id: params_id,
                    data_key_id: key_id,
                    nonce_prefix,
                },
            )?;
            run.segment = Some(OpenSegment {
                writer,
                key_id,
                nonce_prefix,
                first_pts: frame.pts_90k,
                index: SampleIndex::default(),
                params: frame.params.clone(),
                params_id,
                checkpoint_at: now,
                filling: (0, now),
            });
        }
        let Some(seg) = run.segment.as_mut() else {
            return Ok(());
        };
        seg.writer.append(&frame.data)?;
        let duration_u32 = u32::try_from(duration).unwrap_or(u32::MAX);
        let size = u32::try_from(frame.data.len()).unwrap_or(u32::MAX);
        seg.index.push(SampleInfo {
            size,
            duration_90k: duration_u32,
            key: frame.key,
        });
        seg.writer.journal_frame(JournalFrame {
            size,
            duration_90k: duration_u32,
            key: frame.key,
        });
        if seg.writer.chunk_no() != seg.filling.0 {
            seg.filling = (seg.writer.chunk_no(), now);
        }
        // Every stream checkpoints at the same wall-clock second boundaries, so
        // that the store's group commit makes them durable in one round.
        if now.0.div_euclid(CHECKPOINT_MICROS) != seg.checkpoint_at.0.div_euclid(CHECKPOINT_MICROS)
        {
            // The unsealed tail is journaled only when it has waited as long as a
            // checkpoint (slow streams); fast ones seal a chunk more often than that.
            let with_tail = now.0 - seg.filling.1.0 >= CHECKPOINT_MICROS;
            // Not handed in while the previous one waits: the next frame tries again.
            if seg.writer.checkpoint(with_tail)? {
                seg.checkpoint_at = now;
            }
        }
        run.written_until = frame.pts_90k - run.pts0 + duration;
        if let Some(live) = &self.live
            && live.receiver_count() > 0
        {
            let _ = live.send(Arc::new(LiveFrame {
                pts_90k: frame.pts_90k,
                duration_90k: duration_u32,
                key: frame.key,
                data: Arc::new(frame.data),
                params: frame.params,
            }));
        }
        Ok(())
    }

    async fn close_segment(&mut self) -> Result<(), SegmenterError> {
        let Some(run) = self.run.as_mut() else {
            return Ok(());
        };
        let Some(seg) = run.segment.take() else {
            return Ok(());
        };
        let _catalog = crate::context::CatalogWait::enter();
        let start = run.run_start.add_90k(seg.first_pts - run.pts0);
        let duration = seg.index.total_duration_90k();
        let end = run.run_start.add_90k(seg.first_pts - run.pts0 + duration);
        let run_start = run.run_start;
        let writer = seg.writer;
        let written = tokio::task::spawn_blocking(move || writer.finish_here())
            .await
            .map_err(|e| SegmenterError::Join(e.to_string()))??;
        let file_name = written.file_name;
        let row = CatalogRow::Segment(NewSegment {
            camera_id: self.camera,
            stream: self.stream,
            run_start,
            start,
            end,
            duration_90k: duration,
            frames: seg.index.len() as i64,
            key_frames: seg.index.key_frames() as i64,
            bytes: i64::try_from(written.bytes).unwrap_or(i64::MAX),
            video_params_id: seg.params_id,
            file_name: file_name.clone(),
            sample_index: seg.index.encode(),
            stored_digest: written.stored_digest.to_vec(),
            stored_bytes: i64::try_from(written.stored_bytes).unwrap_or(i64::MAX),
            data_key_id: seg.key_id,
            nonce_prefix: seg.nonce_prefix.to_vec(),
            // The capture-time commitment: BLAKE3 of the frames back to back,
            // which the writer hashed as it sealed each chunk.
            frames_digest: written.plain_digest.to_vec(),
            digest_kind: written.digest_kind,
        });
        if self.store.remote().is_none() {
            // The catalog hears of it now, or from the local journal once it
            // answers again; the segment's own journal goes when the catalog holds it.
            self.rows.hand_over(row).await?;
        } else {
            // The upload, then the row, behind the stream: the camera is read on
            // while the store takes its time (or is away: the file and its
            // journal stay here, readers find it through the journal, and the
            // upload is tried again until the store answers).
            let previous = self.closing.take();
            let (store, rows) = (self.store.clone(), self.rows.clone());
            self.closing = Some(tokio::spawn(async move {
                if let Some(previous) = previous {
                    let _ = previous.await;
                }
                if upload_until_done(&store, &file_name).await
                    && let Err(e) = rows.hand_over(row).await
                {
                    tracing::error!(file = %file_name, "{e}");
                }
            }));
        }
        self.last_end = Some(end);
        Ok(())
    }
}

/// Uploads a finished segment, trying again (every 1 s, doubling to 30 s) until
/// the store takes it. False when there is nothing to upload any more (its local
/// file is gone).
async fn upload_until_done(store: &SegmentStore, file_name: &str) -> bool {
    let mut wait = Duration::from_secs(1);
    loop {
        let (s, name) = (store.clone(), file_name.to_string());
        match tokio::task::spawn_blocking(move || s.upload(&name)).await {
            Ok(Ok(())) => return true,
            Ok(Err(e)) if !store.path_of(file_name).exists() => {
                tracing::error!(file = %file_name, "{e}: the file is gone, nothing to upload");
                return false;
            }
            Ok(Err(e)) => tracing::warn!(
                file = %file_name,
                "{e}; the segment stays here and is uploaded again in {} s",
                wait.as_secs()
            ),
            Err(e) => {
                tracing::error!(file = %file_name, "uploading: {e}");
                return false;
            }
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mimamori_crypto::frames::DigestKind;

    fn params(tag: u8) -> Arc<StreamParams> {
        Arc::new(StreamParams {
            rfc6381_codec: "avc1.64001F".into(),
            width: 640,
            height: 360,
            sample_entry: vec![tag; 8],
        })
    }

    fn frame(n: i64, key: bool, p: &Arc<StreamParams>) -> Frame {
        Frame {
            pts_90k: 1_000 + n * 6_000,
            key,
            data: vec![n as u8; 100],
            params: p.clone(),
        }
    }

    async fn setup(
        tag: &str,
    ) -> (
        Segmenter,
        mimamori_catalog::Catalog,
        CameraId,
        std::path::PathBuf,
    ) {
        let f = crate::fixture::fixture(tag).await;
        (
            Segmenter::new(f.camera, StreamKind::Main, f.store, f.rows, f.keys, 4, None),
            f.catalog,
            f.camera,
            f.dir,
        )
    }

    // Issue 11: on the steady path a frame is copied once, into the chunk that is
    // sealed where it lies, and nothing is allocated per frame: what allocations
    // remain come once per checkpoint (a second) or per sealed chunk, not per frame.
    #[test]
    fn writing_a_frame_allocates_nothing_per_frame() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let f = rt.block_on(crate::fixture::fixture("alloc"));
        let mut s = Segmenter::new(
            f.camera,
            StreamKind::Main,
            f.store,
            f.rows,
            f.keys,
            600,
            None,
        );
        let p = params(1);
        let t0 = Timestamp::from_secs(1_000);
        // 2 Mbit/s at 15 fps: a 128 KiB key frame every 2 s, 13 kB frames between.
        let frames: Vec<Frame> = (0..1_050i64)
            .map(|n| Frame {
                pts_90k: n * 6_000,
                key: n % 30 == 0,
                data: vec![n as u8; if n % 30 == 0 { 128 << 10 } else { 13_000 }],
                params: p.clone(),
            })
            .collect();
        let at = |n: usize| t0.add_micros(n as i64 * 66_667);
        let mut frames = frames.into_iter().enumerate();
        // Warm up: the segment is opened, its key made, the index and journal grown.
        rt.block_on(async {
            for (n, frame) in frames.by_ref().take(150) {
                s.push(frame, at(n)).await.unwrap();
            }
        });
        let counted = frames.len() as u64;
        // Allocations on this thread (the recorder's), not the blocking pool's.
        let info = allocation_counter::measure(|| {
            rt.block_on(async {
                for (n, frame) in frames.by_ref() {
                    s.push(frame, at(n)).await.unwrap();
                }
            })
        });
        let seconds = counted / 15;
        // 60 s of frames: one checkpoint a second (its journal record, handed to
        // the store's group commit) and the index's vectors doubling; nothing for
        // each frame.
        assert!(
            info.count_total <= seconds * 8 + 16 && info.count_total * 2 < counted,
            "{} allocations for {counted} frames ({seconds} s)",
            info.count_total
        );
        println!(
            "{} allocations for {counted} frames, {seconds} checkpoints",
            info.count_total
        );
        rt.block_on(s.finish_run()).unwrap();
        std::fs::remove_dir_all(f.dir).unwrap();
    }

    #[tokio::test]
    async fn cuts_at_key_frames_after_target_and_segments_are_contiguous() {
        let (mut s, catalog, cam, dir) = setup("cut").await;
        let p = params(1);
        let t0 = Timestamp::from_secs(1_000);
        // Non-key frames before the first key frame are dropped.
        assert_eq!(
            s.push(frame(-1, false, &p), t0).await.unwrap(),
            Pushed::WaitingForKeyFrame
        );
        assert_eq!(
            s.push(frame(0, true, &p), t0).await.unwrap(),
            Pushed::RunStarted(t0)
        );
        // 15 fps, key frame every 30 frames (2 s); target 4 s → cut at frame 60, 120.
        for n in 1..150 {
            s.push(frame(n, n % 30 == 0, &p), t0).await.unwrap();
        }
        let end = s.finish_run().await.unwrap().unwrap();
        let segs = catalog
            .segments_overlapping(cam, StreamKind::Main, Timestamp(0), Timestamp(i64::MAX))
            .await
            .unwrap();
        assert_eq!(
            segs.iter().map(|s| s.recorded.frames).collect::<Vec<_>>(),
            vec![60, 60, 30]
        );
        assert_eq!(segs[0].recorded.start, t0);
        assert_eq!(segs[0].recorded.end, segs[1].recorded.start);
        assert_eq!(segs[1].recorded.end, segs[2].recorded.start);
        assert_eq!(segs[2].recorded.end, end);
        assert!(
            SegmentStore::open(&dir)
                .unwrap()
                .all_open_segments()
                .is_empty(),
            "no journal stays once its segment is catalogued"
        );
        assert_eq!(end, t0.add_90k(150 * 6_000));
        // Each segment commits at capture time to exactly its frames, in its chain record.
        // Issue 11: by BLAKE3 of its frames back to back, recorded as v4.
        let frames: Vec<u8> = (60..120u8).flat_map(|n| [n; 100]).collect();
        assert_eq!(segs[1].recorded.digest_kind, DigestKind::Blake3Tree);
        assert_eq!(
            segs[1].recorded.frames_digest,
            blake3::hash(&frames).as_bytes().to_vec()
        );
        assert!(segs[1].canonical().starts_with(b"mimamori-segment-v4\n"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A segmenter of the fixture's camera cutting 2 s segments, its codec
    /// parameters and the time its frames start at.
    fn two_second_segments(
        f: &crate::fixture::Fixture,
    ) -> (Segmenter, Arc<StreamParams>, Timestamp) {
        let s = Segmenter::new(
            f.camera,
            StreamKind::Main,
            f.store.clone(),
            f.rows.clone(),
            f.keys.clone(),
            2,
            None,
        );
        (s, params(1), Timestamp::from_secs(1_000))
    }

    /// Frames `range` of a 15 fps stream with a key frame every second.
    async fn push_frames(
        s: &mut Segmenter,
        p: &Arc<StreamParams>,
        t0: Timestamp,
        range: std::ops::Range<i64>,
    ) {
        for n in range {
            s.push(frame(n, n % 15 == 0, p), t0.add_90k(n * 6_000))
                .await
                .unwrap();
        }
    }

    // Issue 12 "The catalog down": segments closing while the catalog does not
    // answer are kept in the node's local journal (the day's key and the codec
    // parameters are known, so new segments open without it), their files and
    // own journals stay, and once the catalog answers again every row reaches it
    // in order: contiguous segments, one chain, nothing lost.
    #[tokio::test]
    async fn segments_closed_while_the_catalog_is_away_reach_it_in_order_when_it_answers() {
        let f = crate::fixture::fixture("away").await;
        let (mut s, p, t0) = two_second_segments(&f);
        push_frames(&mut s, &p, t0, 0..45).await;
        assert_eq!(
            f.rows.health().waiting,
            0,
            "the first segment went straight in"
        );
        // The catalog goes away (its pool closed: every call fails at once).
        f.catalog.close().await;
        push_frames(&mut s, &p, t0, 45..150).await;
        let end = s.finish_run().await.unwrap().unwrap();
        let health = f.rows.health();
        assert_eq!(
            health.waiting, 4,
            "four segments closed while it was away: {health:?}"
        );
        assert!(health.unreachable_since.is_some());
        assert!(
            health
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("catalog unreachable")),
            "{health:?}"
        );
        assert_eq!(
            f.store.all_open_segments().len(),
            4,
            "each waiting segment keeps its own journal until the catalog holds it"
        );

        // It answers again (here: the next start opens it anew).
        let catalog = mimamori_catalog::Catalog::open(&f.url).await.unwrap();
        let rows = RowJournal::open(
            catalog.clone(),
            crate::context::CatalogRuntime::new(tokio::runtime::Handle::current()),
            f.store.clone(),
            Arc::new(mimamori_base::SystemClock),
            &f.dir.join(crate::rows::JOURNAL_DIR),
        )
        .unwrap();
        assert_eq!(rows.health().waiting, 4, "the journal outlives the process");
        assert_eq!(rows.replay().await.unwrap(), 4);
        assert_eq!(rows.health(), crate::rows::JournalHealth::default());
        assert_eq!(
            rows.replay().await.unwrap(),
            0,
            "nothing is handed over twice"
        );
        let segs = catalog
            .segments_overlapping(
                f.camera,
                StreamKind::Main,
                Timestamp(0),
                Timestamp(i64::MAX),
            )
            .await
            .unwrap();
        assert_eq!(segs.len(), 5);
        assert_eq!(segs[0].recorded.start, t0);
        for w in segs.windows(2) {
            assert_eq!(w[0].recorded.end, w[1].recorded.start, "contiguous");
            assert_eq!(w[0].link.seq + 1, w[1].link.seq, "one chain, in order");
        }
        assert_eq!(segs[4].recorded.end, end);
        assert_eq!(segs.iter().map(|s| s.recorded.frames).sum::<i64>(), 150);
        assert!(f.store.all_open_segments().is_empty());
        std::fs::remove_dir_all(f.dir).unwrap();
    }

    // While the installation moves to another catalog (`mimamori migrate` on a
    // running site), the journal is held: segments go on closing, the catalog
    // (being copied) gets none of their rows although it answers, and they wait
    // in the journal for the catalog the server starts on next.
    #[tokio::test]
    async fn a_held_journal_keeps_every_row_from_the_catalog_that_is_being_copied() {
        let f = crate::fixture::fixture("held").await;
        let (mut s, p, t0) = two_second_segments(&f);
        push_frames(&mut s, &p, t0, 0..45).await;
        let in_catalog = || async {
            f.catalog
                .segments_overlapping(
                    f.camera,
                    StreamKind::Main,
                    Timestamp(0),
                    Timestamp(i64::MAX),
                )
                .await
                .unwrap()
                .len()
        };
        assert_eq!(in_catalog().await, 1);
        f.rows.hold().await;
        push_frames(&mut s, &p, t0, 45..120).await;
        s.finish_run().await.unwrap();
        assert_eq!(f.rows.health().waiting, 3, "{:?}", f.rows.health());
        assert_eq!(f.rows.replay().await.unwrap(), 0, "held: nothing replayed");
        assert_eq!(
            in_catalog().await,
            1,
            "the catalog answers, and gets nothing"
        );
        assert!(
            f.rows.health().unreachable_since.is_none(),
            "held is not unreachable"
        );
        // The next start, on the catalog moved to, hands them over.
        let rows = RowJournal::open(
            f.catalog.clone(),
            crate::context::CatalogRuntime::new(tokio::runtime::Handle::current()),
            f.store.clone(),
            Arc::new(mimamori_base::SystemClock),
            &f.dir.join(crate::rows::JOURNAL_DIR),
        )
        .unwrap();
        assert_eq!(rows.replay().await.unwrap(), 3);
        assert_eq!(in_catalog().await, 4);
        std::fs::remove_dir_all(f.dir).unwrap();
    }

    // A camera that sends one key frame and then none: its segments still end at
    // the longest a segment may last (the catalog's time queries look back only
    // that far), and no frame is dropped at the cut.
    #[tokio::test]
    async fn without_key_frames_a_segment_is_cut_at_its_longest_and_nothing_is_dropped() {
        let (mut s, catalog, cam, dir) = setup("longest").await;
        let p = params(1);
        let t0 = Timestamp::from_secs(1_000);
        let n = 90 * 60 * 15; // an hour and a half at 15 fps
        for i in 0..n {
            s.push(frame(i, i == 0, &p), t0).await.unwrap();
        }
        s.finish_run().await.unwrap();
        let segs = catalog
            .segments_overlapping(cam, StreamKind::Main, Timestamp(0), Timestamp(i64::MAX))
            .await
            .unwrap();
        assert_eq!(segs.len(), 2, "one cut, at the longest");
        let first = &segs[0].recorded;
        assert!(first.end.0 - first.start.0 <= mimamori_catalog::MAX_SEGMENT_MICROS);
        assert!(first.end.0 - first.start.0 > mimamori_catalog::MAX_SEGMENT_MICROS - 1_000_000);
        assert_eq!(first.end, segs[1].recorded.start);
        assert_eq!(segs.iter().map(|s| s.recorded.frames).sum::<i64>(), n);
        // The time queries find both from any instant inside them.
        let inside = first.start.add_micros(30 * 60 * 1_000_000);
        let found = catalog
            .segment_times(cam, StreamKind::Main, inside, inside.add_micros(1))
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn new_parameters_start_a_new_segment() {
        let (mut s, catalog, cam, dir) = setup("params").await;
        let (a, b) = (params(1), params(2));
        let t0 = Timestamp::from_secs(1_000);
        for n in 0..10 {
            s.push(frame(n, n == 0, &a), t0).await.unwrap();
        }
        for n in 10..20 {
            s.push(frame(n, n == 10, &b), t0).await.unwrap();
        }
        s.finish_run().await.unwrap();
        let segs = catalog
            .segments_overlapping(cam, StreamKind::Main, Timestamp(0), Timestamp(i64::MAX))
            .await
            .unwrap();
        assert_eq!(segs.len(), 2);
        assert_ne!(
            segs[0].recorded.video_params_id,
            segs[1].recorded.video_params_id
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn timestamp_jump_starts_a_new_run() {
        let (mut s, catalog, cam, dir) = setup("jump").await;
        let p = params(1);
        let t0 = Timestamp::from_secs(1_000);
        for n in 0..5 {
            s.push(frame(n, n == 0, &p), t0).await.unwrap();
        }
        // 100 s later in stream time.
        let r = s
            .push(frame(1_500, true, &p), Timestamp::from_secs(1_100))
            .await
            .unwrap();
        assert_eq!(r, Pushed::RunStarted(Timestamp::from_secs(1_100)));
        s.finish_run().await.unwrap();
        let segs = catalog
            .segments_overlapping(cam, StreamKind::Main, Timestamp(0), Timestamp(i64::MAX))
            .await
            .unwrap();
        assert_eq!(segs.len(), 2);
        assert_ne!(segs[0].recorded.run_start, segs[1].recorded.run_start);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
