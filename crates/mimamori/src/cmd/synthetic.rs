//! Synthetic footage for the benchmarks: one-minute segments of frames, encrypted
//! and catalogued as the recorder writes them (with the capture-time frames
//! commitment), without a camera.

/// The video parameters of synthetic footage (1280×720 H.264).
pub(super) async fn synthetic_video_params(
    catalog: &mimamori_catalog::Catalog,
) -> anyhow::Result<i64> {
    let entry = mimamori_media::h264::avc1_sample_entry(
        &[0x67, 0x64, 0x00, 0x1f],
        &[0x68, 0xee],
        1280,
        720,
    );
    Ok(catalog
        .video_params_id("avc1.64001F", 1280, 720, &entry, &[1; 32])
        .await?)
}

/// Where a synthetic one-minute segment goes.
#[derive(Clone, Copy)]
pub(super) struct Minute {
    pub camera: mimamori_base::CameraId,
    pub params: i64,
    pub run_start: mimamori_base::Timestamp,
    pub start: mimamori_base::Timestamp,
}

/// Writes one minute of synthetic frames (bytes, key frame) encrypted and
/// catalogued as the recorder does, with the capture-time frames commitment;
/// returns the file's name, its cipher and its plaintext length.
pub(super) async fn synthetic_segment(
    catalog: &mimamori_catalog::Catalog,
    store: &mimamori_storage::SegmentStore,
    keyring: &mimamori_catalog::keys::KeyRing,
    at: Minute,
    frames: impl Iterator<Item = (Vec<u8>, bool)>,
    duration_90k: u32,
) -> anyhow::Result<(String, mimamori_crypto::SegmentCipher, u64)> {
    use mimamori_catalog::{NewSegment, StreamKind};
    use mimamori_crypto::SegmentCipher;
    use mimamori_media::{SampleIndex, SampleInfo};

    let name = mimamori_storage::SegmentStore::file_name_for(at.camera, "main", at.start);
    let (key_id, key) = keyring.key_for_write(at.camera, at.start, at.start).await?;
    let nonce = SegmentCipher::random_nonce_prefix();
    let cipher = SegmentCipher::new(key, nonce, name.as_bytes());
    let mut w = store.create(&name, cipher.clone())?;
    let mut idx = SampleIndex::default();
    let mut commit = mimamori_crypto::frames::FramesCommitment::new(
        mimamori_crypto::frames::DigestKind::CURRENT,
    );
    for (frame, key) in frames {
        w.append(&frame)?;
        commit.push(&frame);
        idx.push(SampleInfo {
            size: u32::try_from(frame.len())?,
            duration_90k,
            key,
        });
    }
    let written = w.finish()?;
    catalog
        .segment_insert(&NewSegment {
            camera_id: at.camera,
            stream: StreamKind::Main,
            run_start: at.run_start,
            start: at.start,
            end: at.start.add_micros(60_000_000),
            duration_90k: idx.total_duration_90k(),
            frames: idx.len() as i64,
            key_frames: idx.key_frames() as i64,
            bytes: idx.total_bytes() as i64,
            video_params_id: at.params,
            file_name: name.clone(),
            sample_index: idx.encode(),
            stored_digest: written.stored_digest.to_vec(),
            stored_bytes: written.stored_bytes as i64,
            data_key_id: key_id,
            nonce_prefix: nonce.to_vec(),
            frames_digest: commit.finish().to_vec(),
            digest_kind: written.digest_kind,
        })
        .await?;
    Ok((name, cipher, written.bytes))
}
