//! Our camera harness: GStreamer's RTSP server (tests/camera/rtsp_server.py, run
//! with Debian's python3) started and stopped by PID, with its fault switches:
//! kick (drop connections), stall (freeze media, keep the session), reboot.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::procs::Group;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    H264,
    H265,
}

pub struct CameraOptions {
    pub streams: u32,
    pub codec: Codec,
    pub user: Option<(String, String)>,
    pub width: u32,
    pub height: u32,
}

impl Default for CameraOptions {
    fn default() -> Self {
        CameraOptions {
            streams: 1,
            codec: Codec::H264,
            user: None,
            width: 640,
            height: 360,
        }
    }
}

pub struct TestCamera {
    pub port: u16,
    child: Option<Group>,
    args: Vec<String>,
    log: PathBuf,
}

fn cache_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("testcam");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A pre-encoded clip (15 fps, a key frame every second), made once per test run.
pub fn clip(codec: Codec, width: u32, height: u32) -> PathBuf {
    static LOCK: OnceLock<std::sync::Mutex<()>> = OnceLock::new();
    let _g = LOCK.get_or_init(Default::default).lock().unwrap();
    let name = format!("clip_{codec:?}_{width}x{height}.mp4");
    let out = cache_dir().join(&name);
    if out.exists() {
        return out;
    }
    let tmp = cache_dir().join(format!("{name}.tmp.mp4"));
    let venc: Vec<&str> = match codec {
        Codec::H264 => vec![
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-profile:v",
            "high",
            "-bf",
            "0",
            "-g",
            "15",
            "-keyint_min",
            "15",
            "-sc_threshold",
            "0",
            "-pix_fmt",
            "yuv420p",
        ],
        // x265 sends CRA (not IDR) key frames: the recorder must accept them.
        Codec::H265 => vec![
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
            "-tag:v",
            "hvc1",
            "-pix_fmt",
            "yuv420p",
            "-x265-params",
            "keyint=15:min-keyint=15:bframes=0:scenecut=0:log-level=error",
        ],
    };
    let src = format!("testsrc2=size={width}x{height}:rate=15");
    let status = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            &src,
            "-t",
            "20",
        ])
        .args(&venc)
        .args(["-b:v", "600k", "-an", "-movflags", "+faststart"])
        .arg(&tmp)
        .status()
        .expect("ffmpeg must be installed (scripts/test.sh installs it)");
    assert!(status.success(), "encoding the test clip failed");
    std::fs::rename(&tmp, &out).unwrap();
    out
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn server_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/camera/rtsp_server.py")
}

impl TestCamera {
    /// Starts a server with `opts.streams` mounts /cam1 … /camN and waits until it listens.
    pub fn start(opts: CameraOptions) -> TestCamera {
        let clip = clip(opts.codec, opts.width, opts.height);
        Self::start_with(opts, free_port(), &clip)
    }

    /// A camera on a given port serving a given H.264 clip (a "rebooted" camera with new settings).
    pub fn start_on_port_with_clip(port: u16, clip: &Path) -> TestCamera {
        Self::start_with(CameraOptions::default(), port, clip)
    }

    fn start_with(opts: CameraOptions, port: u16, clip: &Path) -> TestCamera {
        let mut args = vec![
            server_script().display().to_string(),
            "--port".into(),
            port.to_string(),
            "--streams".into(),
            opts.streams.to_string(),
            "--source".into(),
            "file".into(),
            "--file".into(),
            clip.display().to_string(),
            "--codec".into(),
            match opts.codec {
                Codec::H264 => "h264".into(),
                Codec::H265 => "h265".into(),
            },
            "--max-seconds".into(),
            "600".into(),
        ];
        if let Some((u, p)) = &opts.user {
            args.extend(["--user".into(), u.clone(), "--password".into(), p.clone()]);
        }
        let log = cache_dir().join(format!("server-{port}.log"));
        let mut cam = TestCamera {
            port,
            child: None,
            args,
            log,
        };
        cam.spawn();
        cam
    }

    fn spawn(&mut self) {
        let log = std::fs::File::create(&self.log).unwrap();
        let child = Group::spawn(
            Command::new("/usr/bin/python3")
                .args(&self.args)
                .stdout(Stdio::from(log.try_clone().unwrap()))
                .stderr(Stdio::from(log)),
        )
        .expect("/usr/bin/python3 with python3-gi (scripts/test.sh installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if text.contains("ready:") {
                return;
            }
            if let Some(Some(status)) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("camera server exited ({status}): {text}");
            }
            assert!(
                Instant::now() < deadline,
                "camera server did not start: {text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn url(&self, n: u32) -> String {
        format!("rtsp://127.0.0.1:{}/cam{n}", self.port)
    }

    fn signal(&self, sig: &str) {
        if let Some(c) = &self.child {
            let ok = Command::new("kill")
                .args([sig, &c.id().to_string()])
                .status()
                .unwrap()
                .success();
            assert!(ok, "kill {sig} failed");
        }
    }

    /// Drops every client connection (the server stays up).
    pub fn kick(&self) {
        self.signal("-USR1");
    }

    /// Toggles "frozen": the RTSP session stays alive but no media flows.
    pub fn toggle_stall(&self) {
        self.signal("-USR2");
    }

    /// Stops the server (connection refused until [`TestCamera::restart`]).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill();
        }
    }

    /// Starts the server again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for TestCamera {
    fn drop(&mut self) {
        self.stop();
    }
}
