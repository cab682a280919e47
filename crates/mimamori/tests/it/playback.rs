//! HTTP semantics of the MP4 endpoint: Range, ETag, unsatisfiable ranges, bad times.

use crate::app::{rfc3339_offset, spawn_app, urlenc};
use crate::camera::{CameraOptions, TestCamera};
use crate::recording::wait_recorded;

#[tokio::test(flavor = "multi_thread")]
async fn mp4_supports_range_and_etag_and_rejects_bad_input() {
    let cam = TestCamera::start(CameraOptions::default());
    let app = spawn_app("range").await;
    let id = app.add_camera("range", &cam.url(1), None).await;
    let (start, end) = wait_recorded(&app, id, 4.0, 30).await;
    let url = app.url(&format!(
        "/api/cameras/{id}/video.mp4?purpose=crime-prevention&start={}&end={}",
        urlenc(&start),
        urlenc(&end)
    ));
    let full = app.client.get(&url).send().await.unwrap();
    assert_eq!(full.status(), 200);
    let etag = full.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(full.headers()["accept-ranges"], "bytes");
    let body = full.bytes().await.unwrap();
    // moov before mdat, so players can start at once.
    let moov = body.windows(4).position(|w| w == b"moov").unwrap();
    let mdat = body.windows(4).position(|w| w == b"mdat").unwrap();
    assert!(moov < mdat);

    let part = app
        .client
        .get(&url)
        .header("range", "bytes=100-1099")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()["content-range"].to_str().unwrap(),
        format!("bytes 100-1099/{}", body.len())
    );
    assert_eq!(&part.bytes().await.unwrap()[..], &body[100..1100]);
    let tail = app
        .client
        .get(&url)
        .header("range", "bytes=-500")
        .send()
        .await
        .unwrap();
    assert_eq!(&tail.bytes().await.unwrap()[..], &body[body.len() - 500..]);

    let same = app
        .client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 304);
    let beyond = app
        .client
        .get(&url)
        .header("range", format!("bytes={}-", body.len() + 10))
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), 416);

    // Malformed requests: a clear 4xx with a stable code, never a 500.
    for (q, want) in [
        ("start=yesterday&end=now".to_string(), 400),
        (
            format!("start={}&end={}", urlenc(&end), urlenc(&start)),
            400,
        ),
        (
            format!(
                "start={}&end={}",
                urlenc(&rfc3339_offset(-86_400 * 30)),
                // A day less a minute: the two instants are read a moment apart.
                urlenc(&rfc3339_offset(-86_400 * 29 - 60))
            ),
            404,
        ),
    ] {
        let r = app
            .client
            .get(app.url(&format!(
                "/api/cameras/{id}/video.mp4?purpose=crime-prevention&{q}"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want, "{q}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert!(
            v["error"]["code"].as_str().unwrap().starts_with("E-"),
            "{v}"
        );
    }
    let r = app
        .client
        .get(app.url("/api/cameras/999/video.mp4?start=a&end=b"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn fragmented_mp4_for_media_source_extensions_decodes() {
    let cam = TestCamera::start(CameraOptions::default());
    let app = spawn_app("frag").await;
    let id = app.add_camera("frag", &cam.url(1), None).await;
    let (start, _) = wait_recorded(&app, id, 5.0, 30).await;
    let a = crate::recording::plus(&start, 1.5);
    let b = crate::recording::plus(&start, 4.5);
    let r = app
        .client
        .get(app.url(&format!(
            "/api/cameras/{id}/fragmented.mp4?purpose=crime-prevention&start={}&end={}",
            urlenc(&a),
            urlenc(&b)
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["x-mimamori-codecs"]
            .to_str()
            .unwrap()
            .starts_with("avc1.64")
    );
    let lead: f64 = r.headers()["x-mimamori-lead-seconds"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((0.0..=1.0).contains(&lead), "lead {lead}");
    let body = r.bytes().await.unwrap();
    assert_eq!(&body[4..8], b"ftyp");
    assert!(body.windows(4).any(|w| w == b"moof"));
    let file = app.data.with_extension("frag.mp4");
    std::fs::write(&file, &body).unwrap();
    crate::media::assert_decodes_cleanly(&file);
    let p = crate::media::probe(&file);
    assert_eq!((p.codec.as_str(), p.width), ("h264", 640));
    // From the key frame before `start`: 3 s plus the lead, give or take a frame.
    assert!(
        ((p.frames as f64 / 15.0) - (3.0 + lead)).abs() <= 2.0 / 15.0,
        "frames {} lead {lead}",
        p.frames
    );
}
