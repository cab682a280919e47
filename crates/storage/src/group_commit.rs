//! Makes the checkpoints of every segment being written durable together. One
//! thread takes the checkpoints handed to it since it last worked, syncs each
//! filesystem they are on once (`syncfs`), appends their journal records, and syncs
//! again: two syncs a round for the whole store, instead of two `fdatasync` per
//! stream per second, each on a blocking thread of its own (issue 11: those syncs
//! and their hand-overs were a fifth of the recorder's CPU, most of it submitting
//! each file's pages to the disk alone).
//!
//! The order a checkpoint promises is kept: its journal record is written only
//! after the data it vouches for is on disk, and it is itself on disk before the
//! next round starts. A writer has at most one checkpoint in the group at a time, so
//! the records of one journal are appended in order and the queue is bounded by
//! the number of segments being written. A failure is kept for the writer, which
//! reports it at its next checkpoint or when it finishes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::Duration;

use crate::journal::PendingRecord;
use crate::{StorageError, err};

/// How long the thread waits after the first checkpoint of a round for the others:
/// streams checkpoint at the same second boundaries, within a frame of each other.
const GATHER: Duration = Duration::from_millis(25);

/// A writer's side of the group: whether a checkpoint of its is waiting, and what
/// went wrong with one.
#[derive(Debug, Default)]
pub(crate) struct CommitState {
    in_flight: AtomicBool,
    failed: Mutex<Option<StorageError>>,
}

impl CommitState {
    /// Whether a checkpoint of this writer is still waiting for its round.
    pub(crate) fn in_flight(&self) -> bool {
        self.in_flight.load(Ordering::Acquire)
    }

    /// The failure of an earlier checkpoint, once.
    pub(crate) fn take_failure(&self) -> Option<StorageError> {
        self.failed.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn settle(&self, result: Result<(), StorageError>) {
        if let Err(e) = result {
            *self.failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
        }
        self.in_flight.store(false, Ordering::Release);
    }
}

/// One checkpoint handed to the group.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The segment file (its filesystem is synced).
    pub data: File,
    pub partial: PathBuf,
    /// The record saying so, written once the data is durable. The journal sits
    /// beside the segment file, so on the same filesystem.
    pub journal: Option<PendingRecord>,
    pub state: Arc<CommitState>,
}

enum Job {
    Checkpoint(Pending),
    /// Answered once everything handed in before it is durable.
    Flush(mpsc::Sender<()>),
}

/// The group commit of one store; its thread starts with the first checkpoint.
#[derive(Default)]
pub(crate) struct GroupCommit {
    jobs: OnceLock<io::Result<mpsc::Sender<Job>>>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

impl GroupCommit {
    fn sender(&self) -> io::Result<&mpsc::Sender<Job>> {
        self.jobs
            .get_or_init(|| {
                let (tx, rx) = mpsc::channel();
                std::thread::Builder::new()
                    .name("group-commit".into())
                    .spawn(move || run(rx))
                    .map(|_| tx)
            })
            .as_ref()
            .map_err(|e| io::Error::new(e.kind(), e.to_string()))
    }

    /// Hands a checkpoint over; its writer hears of a failure later ([`CommitState`]).
    pub(crate) fn submit(&self, p: Pending) -> Result<(), StorageError> {
        p.state.in_flight.store(true, Ordering::Release);
        let partial = p.partial.clone();
        self.sender()
            .and_then(|tx| {
                tx.send(Job::Checkpoint(p))
                    .map_err(|_| io::Error::other("the group commit thread has ended"))
            })
            .map_err(err("handing the checkpoint of", &partial))
    }

    /// Returns once every checkpoint handed in before is durable (or failed).
    pub(crate) fn flush(&self) {
        let (tx, rx) = mpsc::channel();
        if let Ok(jobs) = self.sender()
            && jobs.send(Job::Flush(tx)).is_ok()
        {
            let _ = rx.recv();
        }
    }
}

fn run(jobs: mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        std::thread::sleep(GATHER);
        let mut round = vec![first];
        round.extend(jobs.try_iter());
        let mut flushes = Vec::new();
        let checkpoints = round
            .into_iter()
            .filter_map(|job| match job {
                Job::Checkpoint(p) => Some(p),
                Job::Flush(done) => {
                    flushes.push(done);
                    None
                }
            })
            .collect();
        commit_round(checkpoints);
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// Makes one round of checkpoints durable, filesystem by filesystem.
fn commit_round(round: Vec<Pending>) {
    let mut by_device: BTreeMap<u64, Vec<Pending>> = BTreeMap::new();
    for p in round {
        match p.data.metadata() {
            Ok(m) => by_device.entry(m.dev()).or_default().push(p),
            Err(e) => {
                let e = err("syncing", &p.partial)(e);
                p.state.settle(Err(e));
            }
        }
    }
    for (_, group) in by_device {
        commit_on_one_filesystem(group);
    }
}

fn commit_on_one_filesystem(group: Vec<Pending>) {
    let Some(first) = group.first() else {
        return;
    };
    // The data every record vouches for, first.
    if let Err(e) = syncfs(&first.data) {
        fail_all(group, "syncing", e);
        return;
    }
    let fs_handle = match first.data.try_clone() {
        Ok(f) => f,
        Err(e) => {
            fail_all(group, "syncing", e);
            return;
        }
    };
    let mut written = Vec::with_capacity(group.len());
    for mut p in group {
        match p.journal.take().map(PendingRecord::append).transpose() {
            Ok(_) => written.push(p),
            Err(e) => {
                let e = err("writing the journal of", &p.partial)(e);
                p.state.settle(Err(e));
            }
        }
    }
    // Then the records.
    match syncfs(&fs_handle) {
        Ok(()) => written.into_iter().for_each(|p| p.state.settle(Ok(()))),
        Err(e) => fail_all(written, "syncing the journal of", e),
    }
}

fn fail_all(group: Vec<Pending>, what: &'static str, e: io::Error) {
    for p in group {
        let e = err(what, &p.partial)(io::Error::new(e.kind(), e.to_string()));
        p.state.settle(Err(e));
    }
}

/// Syncs the whole filesystem holding `file`: every file's written data and size.
fn syncfs(file: &File) -> io::Result<()> {
    rustix::fs::syncfs(file).map_err(io::Error::from)
}
