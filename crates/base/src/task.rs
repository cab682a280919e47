//! Handles of long-lived background tasks (recorders' camera sync, the retention
//! sweeper, the head signer): each starts from one function returning a
//! [`TaskHandle`], and stops when that handle is told to.

use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running background task. [`TaskHandle::stop`] asks it to stop and waits
/// until it has finished what it was doing (a sweep, a final signature).
#[derive(Debug)]
pub struct TaskHandle {
    stop: watch::Sender<bool>,
    join: JoinHandle<()>,
}

/// What a background task watches to know it must stop.
pub type StopSignal = watch::Receiver<bool>;

impl TaskHandle {
    /// Spawns `task` on the current runtime with a fresh stop signal.
    pub fn spawn<F, Fut>(task: F) -> TaskHandle
    where
        F: FnOnce(StopSignal) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let (stop, rx) = watch::channel(false);
        TaskHandle {
            stop,
            join: tokio::spawn(task(rx)),
        }
    }

    /// Asks the task to stop and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.join.await;
    }
}

/// Sleeps `d`, or less when asked to stop; returns whether to stop.
pub async fn sleep_or_stop(d: std::time::Duration, stop: &mut StopSignal) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}
