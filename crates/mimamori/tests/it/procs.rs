//! Processes a test starts, stopped with everything they started in turn: each
//! runs in a process group of its own, and [`Group`] kills the whole group when it
//! is dropped — when the test ends, and when it fails (a panic unwinds through it).
//! A browser, which may leave its group, is also found by its profile directory.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A child process and its process group.
pub struct Group {
    child: Option<Child>,
}

impl Group {
    /// Starts `cmd` as the leader of a new process group.
    pub fn spawn(cmd: &mut Command) -> std::io::Result<Group> {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        Ok(Group {
            child: Some(cmd.spawn()?),
        })
    }

    pub fn id(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Whether the leader has exited, with its status.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Waits for the leader to exit by itself (after a signal the test sent).
    pub fn wait_exit(&mut self, secs: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if self.try_wait().is_some() {
                self.kill();
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Kills the group (the leader and everything it started) and reaps the leader.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", c.id())])
                .status();
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The processes whose command line contains `needle`.
pub fn processes_with(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in dir.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        if let Ok(cmdline) = std::fs::read(e.path().join("cmdline"))
            && String::from_utf8_lossy(&cmdline).contains(needle)
        {
            found.push(pid);
        }
    }
    found
}

/// The processes whose command line contains `needle` still there after up to
/// `secs` seconds: a killed process takes a moment to go (a signal is delivered
/// when it next runs; one busy in the kernel finishes its call first).
pub fn processes_left_with(needle: &str, secs: u64) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let left = processes_with(needle);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kills every process whose command line contains `needle`.
pub fn kill_processes_with(needle: &str) {
    for pid in processes_with(needle) {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
}

// The suite stops what it started, on failure too: a test that panics while a
// process group is running leaves none of its processes behind, not even the
// ones its process started.
#[test]
fn a_failing_test_leaves_no_process_behind() {
    // A sleep of a length no other process uses marks the two processes.
    let marker = format!("9{}7", std::process::id());
    let script = format!("sleep {marker} & sleep {marker}");
    let m = marker.clone();
    let result = std::thread::spawn(move || {
        let _group = Group::spawn(Command::new("sh").args(["-c", &script])).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while processes_with(&m).len() < 2 {
            assert!(Instant::now() < deadline, "the processes did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the test fails while its processes run");
    })
    .join();
    assert!(result.is_err(), "the thread panicked");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !processes_with(&marker).is_empty() {
        assert!(
            Instant::now() < deadline,
            "a process outlived its failing test: {:?}",
            processes_with(&marker)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The resident memory of a process, in MiB.
pub fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}
