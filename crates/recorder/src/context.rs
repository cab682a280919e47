//! What a recorder task needs and where recorder tasks run: the settings from the
//! config file, the catalog, store, keys, clock and status hub, and the dedicated
//! thread whose runtime carries them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use mimamori_base::SharedClock;
use mimamori_catalog::Catalog;
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
/// Packets wait in the kernel's socket buffers meanwhile (at 2 Mbit/s, 10 kB per
/// stream) and are then read in one round for every stream: the thread wakes 25
/// times a second whatever the number of cameras, instead of once for nearly every
/// packet of every camera (issue 11: the switches into and out of `epoll_wait` were
/// the largest single cost). Each round costs every stream two reads (the data,
/// then the one that finds the socket empty), so a longer rest costs fewer
/// system calls per byte: 40 ms took a quarter off the CPU of 20 ms at 32 cameras.
/// Live view gets at most this much later.
pub const READ_ROUND: std::time::Duration = std::time::Duration::from_millis(40);

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
