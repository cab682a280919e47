//! `mimamori bench export`: builds the evidence package of a request for
//! `--cameras` cameras × `--minutes` of synthetic footage, and compares its
//! speed with reading and decrypting the same segments one after another (what
//! the build cannot do faster); then times `verify-export` on the package.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt as _;
use mimamori_base::{Clock, SystemClock, Timestamp};
use mimamori_catalog::{CameraSource, NewCamera};
use mimamori_governance::provisions::{DecisionText, ExtractText, IdentityText, RequestText};
use mimamori_governance::{Actor, Origin, Person};

use crate::datadir::{Installation, refused};

#[derive(clap::Args)]
pub struct ExportArgs {
    /// Cameras in the package.
    #[arg(long, default_value_t = 4)]
    pub cameras: u32,
    /// Minutes of footage per camera.
    #[arg(long, default_value_t = 60)]
    pub minutes: u32,
    /// Bit rate of the synthetic footage, Mbit/s.
    #[arg(long, default_value_t = 1.0)]
    pub mbps: f64,
}

const FPS: u32 = 15;

pub async fn run(a: ExportArgs) -> anyhow::Result<ExitCode> {
    let data = std::env::temp_dir().join(format!("mimamori-bench-export-{}", std::process::id()));
    super::init::initialize(&data, "chiba-guideline", "bench", "bench-password").await?;
    let result = bench(&data, &a).await;
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_dir_all(crate::config::default_keys_dir(&data));
    result
}

async fn bench(data: &std::path::Path, a: &ExportArgs) -> anyhow::Result<ExitCode> {
    let inst = Installation::open(data).await?;
    let (catalog, store) = (&inst.dir.catalog, &inst.dir.store);
    let now = SystemClock.now();
    let t0 = Timestamp(now.0 / 1_000_000 * 1_000_000 - i64::from(a.minutes + 5) * 60_000_000);
    let frame_bytes = (a.mbps * 1e6 / 8.0 / f64::from(FPS)) as usize;
    let frames_per_segment = FPS * 60;
    let params = super::synthetic::synthetic_video_params(catalog).await?;
    let mut cameras = Vec::new();
    let mut files = Vec::new();
    for c in 0..a.cameras {
        let cam = catalog
            .camera_insert(
                &NewCamera {
                    name: format!("bench{c}"),
                    source: CameraSource::TestPattern,
                    record_audio: false,
                },
                now,
            )
            .await?;
        cameras.push(cam.0);
        for m in 0..i64::from(a.minutes) {
            let at = super::synthetic::Minute {
                camera: cam,
                params,
                run_start: t0,
                start: t0.add_micros(m * 60_000_000),
            };
            let frames =
                (0..frames_per_segment).map(|f| (vec![(f % 251) as u8; frame_bytes], f % 30 == 0));
            files.push(
                super::synthetic::synthetic_segment(
                    catalog,
                    store,
                    &inst.keyring,
                    at,
                    frames,
                    90_000 / FPS,
                )
                .await?,
            );
        }
    }
    mimamori_governance::integrity::sign_heads(catalog, &inst.signer, None, SystemClock.now())
        .await?;
    let mb = |b: u64| b as f64 / 1e6;

    // The floor: every segment read and decrypted, one after another.
    let t = Instant::now();
    let mut read = 0u64;
    for (name, cipher, len) in &files {
        read += store
            .read_range(name, cipher, *len, 0, *len as usize)?
            .len() as u64;
    }
    let read_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut raw = 0u64;
    for (name, _, _) in &files {
        raw += std::fs::read(store.path_of(name))?.len() as u64;
    }
    let raw_s = t.elapsed().as_secs_f64();

    // A request through the application layer, approved by the manager.
    let gov = &inst.gov;
    let user = catalog
        .user_by_name("bench")
        .await?
        .ok_or_else(|| anyhow::anyhow!("no bench user"))?;
    let (role, designation) =
        mimamori_governance::access::designation_at(catalog, gov.policy(), user.id, now)
            .await?
            .map_err(|r| anyhow::anyhow!("{r}"))?;
    let manager = Actor::Person(Box::new(Person {
        permissions: gov
            .policy()
            .role(role)
            .map(|r| r.permissions.clone())
            .unwrap_or_default(),
        user,
        role,
        designation,
        origin: Origin {
            ip: Some(std::net::Ipv4Addr::LOCALHOST.into()),
            client_cert_sha256: None,
        },
    }));
    let jst = |t: Timestamp| t.to_rfc3339(mimamori_base::time::jst());
    let (from, to) = (
        jst(t0),
        jst(t0.add_micros(i64::from(a.minutes) * 60_000_000)),
    );
    let p = gov
        .provision_register(
            &manager,
            &RequestText {
                received_on: &now.jst_date().format("%Y-%m-%d").to_string(),
                requester_organisation: "bench",
                cameras: cameras.clone(),
                from: &from,
                to: &to,
                reason: "bench",
                ground: "investigation",
                method: "medium",
                ..RequestText::default()
            },
        )
        .await
        .map_err(refused)?;
    gov.provision_identity(
        &manager,
        p.id,
        &IdentityText {
            method: "その他",
            detail: "bench",
        },
    )
    .await
    .map_err(refused)?;
    gov.provision_attach(
        &manager,
        p.id,
        &mimamori_governance::provisions::DocumentUpload {
            original_name: "bench.pdf",
            bytes: b"%PDF-1.4\n%%EOF\n",
        },
    )
    .await
    .map_err(refused)?;
    gov.provision_decide(
        &manager,
        p.id,
        &DecisionText {
            approve: true,
            reason: "bench",
            extractor: None,
        },
    )
    .await
    .map_err(refused)?;
    let gov = Arc::clone(gov);
    let t = Instant::now();
    let pkg = gov
        .provision_extract(&manager, p.id, &ExtractText::default())
        .await
        .map_err(refused)?
        .await?
        .map_err(refused)?;
    let build_s = t.elapsed().as_secs_f64();
    let bytes = u64::try_from(pkg.bytes).unwrap_or(0);

    // The package as the recipient gets it, then verified.
    let body = gov
        .provision_package(&manager, p.id, pkg.id)
        .await
        .map_err(refused)?;
    let zip = data.join("package.zip");
    let mut out = std::fs::File::create(&zip)?;
    let mut stream = body.read(0..body.len);
    while let Some(chunk) = stream.next().await {
        std::io::Write::write_all(&mut out, &chunk?)?;
    }
    drop(out);
    let t = Instant::now();
    let report = tokio::task::spawn_blocking(move || {
        mimamori_evidence::verify::verify_package(&zip, None, None)
    })
    .await??;
    let verify_s = t.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.ok(),
        "the package does not verify: {:?}",
        report.problems
    );

    println!(
        "footage: {} cameras × {} min at {} Mbit/s = {:.0} MB in {} segments",
        a.cameras,
        a.minutes,
        a.mbps,
        mb(read),
        files.len()
    );
    println!("read the segment files (raw): {:.0} MB/s", mb(raw) / raw_s);
    println!(
        "read and decrypt the segments, one after another: {:.0} MB/s ({read_s:.2} s)",
        mb(read) / read_s
    );
    println!(
        "build the package ({:.0} MB, {} frames, every frame hashed, encrypted at rest): {:.0} MB/s ({build_s:.2} s) = {:.0} % of the decrypting read",
        mb(bytes),
        pkg.frames,
        mb(bytes) / build_s,
        100.0 * (mb(bytes) / build_s) / (mb(read) / read_s)
    );
    println!(
        "verify-export of the package: {:.0} MB/s ({verify_s:.2} s)",
        mb(bytes) / verify_s
    );
    Ok(ExitCode::SUCCESS)
}
