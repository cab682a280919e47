//! What a recorder task needs and where recorder tasks run: the settings from the
//! config file, the catalog, store, keys, clock and status hub, the dedicated
//! thread whose runtime carries them, and the runtime their catalog questions
//! run on.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use mimamori_base::SharedClock;
use mimamori_catalog::{Catalog, CatalogError};
use mimamori_storage::SegmentStore;

use crate::hub::StatusHub;

/// Recorder settings (from the config file).
#[derive(Clone, Debug)]
pub struct RecorderConfig {
    /// Target segment length; segments are cut at the first key frame after it.
    pub segment_seconds: u32,
    /// A stream with no frame for this long is declared stalled.
    pub watchdog_seconds: u32,
    /// Wait after the camera refused our credentials.
    pub auth_retry_seconds: u32,
    /// This node's name in the catalog's camera leases.
    pub node: String,
    /// Where this node's web door listens (shown with the node).
    pub node_address: String,
    /// Whether this node takes cameras (false: a web node).
    pub records: bool,
    /// How long a camera lease lasts without renewal.
    pub lease_seconds: u32,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig {
            segment_seconds: 60,
            watchdog_seconds: 5,
            auth_retry_seconds: 30,
            node: "local".into(),
            node_address: String::new(),
            records: true,
            lease_seconds: 15,
        }
    }
}

/// Everything a recorder task needs.
#[derive(Clone)]
pub struct RecorderContext {
    pub catalog: Catalog,
    /// Where rows for the catalog go (kept locally while it is unreachable).
    pub rows: Arc<crate::rows::RowJournal>,
    pub store: SegmentStore,
    pub keys: Arc<mimamori_catalog::keys::KeyRing>,
    pub clock: SharedClock,
    pub hub: Arc<StatusHub>,
    pub config: RecorderConfig,
    /// Where recorder tasks run (see [`dedicated_runtime`]).
    pub runtime: tokio::runtime::Handle,
}

/// How long the recorder thread rests between rounds of reading its cameras.
/// Packets wait in the kernel's socket buffers meanwhile (at 2 Mbit/s, 20 kB per
/// stream; the buffers grow by themselves for faster streams, and TCP holds the
/// camera back rather than drop anything) and are then read in one round for
/// every stream: the thread wakes 12.5 times a second whatever the number of
/// cameras, instead of once for nearly every packet of every camera (issue 11:
/// the switches into and out of `epoll_wait` were the largest single cost). Each
/// round costs every stream two reads (the data, then the one that finds the
/// socket empty) and the thread a wake-up that costs as much as a stream's
/// reading at 8 cameras, so a longer rest costs less: 40 ms took a quarter off
/// the CPU of 20 ms at 32 cameras, 80 ms a fifth to a third off 40 ms at 8.
/// Live view gets at most this much later (a browser buffers a second anyway).
pub const READ_ROUND: std::time::Duration = std::time::Duration::from_millis(80);

/// A single-threaded runtime on its own OS thread for the recorder tasks: they are
/// many, small and I/O-bound, and one thread avoids the cross-thread wake-ups of a
/// work-stealing scheduler (measured: about a seventh less CPU per stream). The
/// thread lives as long as the process. It reads in rounds ([`READ_ROUND`]).
pub fn dedicated_runtime() -> std::io::Result<tokio::runtime::Handle> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let handle = rt.handle().clone();
    std::thread::Builder::new()
        .name("recorders".into())
        .spawn(move || rt.block_on(read_in_rounds()))?;
    Ok(handle)
}

/// Runs for ever on the recorder thread: rests a round, then yields, which lets
/// the runtime poll every socket and timer once (a yielded task runs again only
/// after the I/O driver was polled) and run every task that became ready, before
/// this one rests again. The thread therefore never waits in `epoll_wait` for a
/// single packet.
async fn read_in_rounds() {
    loop {
        if CATALOG_WAITS.load(Ordering::Acquire) > 0 {
            // A task waits on the catalog (a segment closing, a gap): each of its
            // steps must not wait a round, so rest only once none does.
            CATALOG_IDLE.notified().await;
            continue;
        }
        // Deliberately blocking: this thread's only other work is the tasks that
        // run between rests.
        std::thread::sleep(READ_ROUND);
        tokio::task::yield_now().await;
    }
}

/// Recorder tasks waiting on the catalog now (see [`CatalogWait`]).
static CATALOG_WAITS: AtomicUsize = AtomicUsize::new(0);
static CATALOG_IDLE: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// The runtime that owns the catalog's connections (the server's main runtime),
/// on which every question a recorder task asks the catalog runs.
///
/// A PostgreSQL connection's socket belongs to the runtime that opened it, and
/// only that runtime notices its answers. A connection opened on the recorder
/// thread, which rests between read rounds, went back to the pool, and the next
/// page request that borrowed it waited up to a round per round trip. With 100
/// cameras, every recorder asked one question at start, and all eight of the
/// pool's connections were such connections. A 1-hour MP4's first byte then
/// took 240 ms instead of 8 (docs/BENCHMARKS.md).
#[derive(Clone, Debug)]
pub struct CatalogRuntime(tokio::runtime::Handle);

impl CatalogRuntime {
    /// `home` must not be the recorder thread's runtime.
    pub fn new(home: tokio::runtime::Handle) -> CatalogRuntime {
        CatalogRuntime(home)
    }

    /// Runs `question` on the catalog's runtime and waits for its answer. The
    /// recorder thread does not rest meanwhile ([`CatalogWait`]), so the answer
    /// is taken up at once. Dropped before the answer (a timeout), the question
    /// is dropped too, as it would be if it ran here. A runtime that has shut
    /// down answers as an unreachable catalog.
    pub(crate) async fn ask<T, Q>(&self, question: Q) -> Result<T, CatalogError>
    where
        T: Send + 'static,
        Q: std::future::Future<Output = Result<T, CatalogError>> + Send + 'static,
    {
        let _awake = CatalogWait::enter();
        let mut task = AbortOnDrop(self.0.spawn(question));
        match (&mut task.0).await {
            Ok(answer) => answer,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(CatalogError::closed()),
        }
    }
}

/// A spawned task that is aborted when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Held by a recorder task while it talks to the catalog: the recorder thread then
/// waits for events as usual instead of resting in rounds, so that a segment's
/// insert (several round trips to the catalog's own thread, and in a burst when
/// many segments close at once) is not slowed a round per step.
pub(crate) struct CatalogWait(());

impl CatalogWait {
    pub(crate) fn enter() -> CatalogWait {
        CATALOG_WAITS.fetch_add(1, Ordering::AcqRel);
        CatalogWait(())
    }
}

impl Drop for CatalogWait {
    fn drop(&mut self) {
        if CATALOG_WAITS.fetch_sub(1, Ordering::AcqRel) == 1 {
            CATALOG_IDLE.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalog's connections must never be opened by the recorder thread
    /// (see [`CatalogRuntime`]): a question a recorder task asks runs elsewhere.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_recorder_tasks_question_runs_on_the_catalogs_runtime() {
        let recorders = dedicated_runtime().unwrap();
        let home = CatalogRuntime::new(tokio::runtime::Handle::current());
        let (asked_from, answered_on) = recorders
            .spawn(async move {
                let here = std::thread::current().name().map(String::from);
                let there = home
                    .ask(async { Ok(std::thread::current().name().map(String::from)) })
                    .await
                    .unwrap();
                (here, there)
            })
            .await
            .unwrap();
        assert_eq!(asked_from.as_deref(), Some("recorders"));
        assert_ne!(answered_on.as_deref(), Some("recorders"));
    }

    /// A question given up (the journal's patience ran out) does not go on
    /// running on the catalog's runtime.
    #[tokio::test]
    async fn a_question_given_up_is_dropped() {
        struct Dropped(Arc<std::sync::atomic::AtomicBool>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let home = CatalogRuntime::new(tokio::runtime::Handle::current());
        let dropped = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Dropped(dropped.clone());
        let question = home.ask(async move {
            let _flag = flag;
            std::future::pending::<Result<(), CatalogError>>().await
        });
        let given_up = tokio::time::timeout(std::time::Duration::from_millis(50), question).await;
        assert!(given_up.is_err());
        // The abort takes effect when the runtime next runs the task.
        for _ in 0..100 {
            if dropped.load(Ordering::SeqCst) {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the question given up still runs");
    }
}
