//! What a replica persists and gets back after a restart: the quorum-state file
//! (`ElectionState`, written on every epoch or vote change before any reply depends on it),
//! the log entries that survived, and the latest snapshot.

use super::epoch::Epoch;
use super::log::{LogEntry, Snapshot};

/// The persisted quorum state (`quorum-state`: leaderEpoch, leaderId, votedId).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElectionState<I> {
    /// The latest epoch this replica knows.
    pub epoch: Epoch,
    /// The leader of that epoch, if known.
    pub leader: Option<I>,
    /// Whom this replica voted for in that epoch (itself when it ran).
    pub voted: Option<I>,
}

impl<I> ElectionState<I> {
    /// Epoch 0 with no leader and no vote: a replica that never persisted anything.
    pub fn initial() -> ElectionState<I> {
        ElectionState {
            epoch: Epoch(0),
            leader: None,
            voted: None,
        }
    }
}

/// Everything a replica's disk gives back at start.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored<I, R, S> {
    /// The quorum-state file, if it was ever written.
    pub election: Option<ElectionState<I>>,
    /// The log entries that survived, in offset order (after a power loss: only the
    /// flushed prefix; after a process crash: everything, the page cache survives).
    pub entries: Vec<LogEntry<I, R>>,
    /// The latest snapshot, if any.
    pub snapshot: Option<Snapshot<S>>,
}

impl<I, R, S> Stored<I, R, S> {
    /// A fresh replica: nothing on disk.
    pub fn empty() -> Stored<I, R, S> {
        Stored {
            election: None,
            entries: Vec::new(),
            snapshot: None,
        }
    }
}
