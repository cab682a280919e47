//! Checks every MP4 a test fetches: ffprobe must read it, ffmpeg must decode it
//! without a single error line, and its duration must be what was asked for.

use std::path::Path;
use std::process::Command;

#[derive(Debug)]
pub struct Probe {
    pub duration: f64,
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub frames: u64,
}

pub fn probe(file: &Path) -> Probe {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "format=duration:stream=codec_name,width,height,nb_read_frames",
            "-of",
            "json",
        ])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffprobe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "ffprobe complained: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &v["streams"][0];
    Probe {
        duration: v["format"]["duration"].as_str().unwrap().parse().unwrap(),
        codec: s["codec_name"].as_str().unwrap().to_string(),
        width: s["width"].as_u64().unwrap() as u32,
        height: s["height"].as_u64().unwrap() as u32,
        frames: s["nb_read_frames"].as_str().unwrap_or("0").parse().unwrap(),
    }
}

/// Decodes every frame; any line ffmpeg prints at level "error" fails the test.
pub fn assert_decodes_cleanly(file: &Path) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(file)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.trim().is_empty(),
        "ffmpeg decode errors in {}:\n{err}",
        file.display()
    );
}

/// Fetches an MP4 from the app into the test's temporary directory.
pub async fn fetch_mp4(
    app: &crate::app::App,
    camera: i64,
    start: &str,
    end: &str,
    name: &str,
) -> std::path::PathBuf {
    let purpose = app.purpose().await;
    let r = app
        .client
        .get(app.url(&format!(
            "/api/cameras/{camera}/video.mp4?purpose={purpose}&start={}&end={}",
            crate::app::urlenc(start),
            crate::app::urlenc(end)
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let bytes = r.bytes().await.unwrap();
    let path = app.data.with_extension(name);
    std::fs::write(&path, &bytes).unwrap();
    path
}
