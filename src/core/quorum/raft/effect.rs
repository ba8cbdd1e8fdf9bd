//! What the Raft core asks its caller to do, in order. The caller maps `Send` to the network
//! and the disk effects to its disk model; a power loss may strike between any two
//! effects, and the core orders them so that this is safe: a `PersistElection` comes
//! before any reply that depends on it, a voter's `Flush` before its next fetch, and the
//! leader's `Flush` after the fetch answers it completes on append (as
//! `KafkaRaftClient.flushLeaderLog` updates the end offset "before flushing so that
//! parked fetches can return sooner").

use crate::types::Offset;

use super::epoch::Epoch;
use super::log::{LogEntry, Snapshot};
use super::message::RaftMessage;
use super::stored::ElectionState;

/// Why a leader stopped leading without seeing a higher epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResignReason {
    /// Check-quorum (KAFKA-15489): no fetch from a majority of voters in 1.5 x fetch timeout.
    CheckQuorum,
    /// It restarted while its persisted state named it leader (KAFKA-10527).
    Restarted,
    /// The caller asked it to (`Raft::resign`, Kafka's `RaftClient.resign`).
    Requested,
}

/// One effect of a step.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)] // variant fields are named for what they hold; the variant doc explains them
pub enum RaftEffect<I, R, S> {
    /// Send a message to a peer.
    Send {
        to: I,
        message: RaftMessage<I, R, S>,
    },
    /// Write the quorum-state file durably (`FileQuorumStateStore.writeElectionState`).
    PersistElection(ElectionState<I>),
    /// Append entries at the end of the log (page cache, not yet durable).
    Append(Vec<LogEntry<I, R>>),
    /// Remove every entry at or above `to`.
    Truncate { to: Offset },
    /// fsync the log: every entry below `upto` becomes durable.
    Flush { upto: Offset },
    /// Store the snapshot durably; the log now starts at its end offset (entries below it
    /// go away; if the log ended below it, the log is empty at that start).
    PersistSnapshot(Snapshot<S>),
    /// Observation: this replica became leader; its LeaderChange record is at
    /// `epoch_start_offset`.
    BecameLeader {
        epoch: Epoch,
        epoch_start_offset: Offset,
    },
    /// Observation: this replica follows `leader` in `epoch`.
    BecameFollower { epoch: Epoch, leader: I },
    /// Observation: this replica runs for leader in `epoch` (epoch bumped, voted for itself).
    BecameCandidate { epoch: Epoch },
    /// Observation: this replica asks for pre-votes, without bumping `epoch` (KIP-996).
    BecameProspective { epoch: Epoch },
    /// Observation: this replica knows `epoch` but no leader; `voted` is its vote in it.
    BecameUnattached { epoch: Epoch, voted: Option<I> },
    /// Observation: this leader resigned in `epoch`.
    Resigned { epoch: Epoch, why: ResignReason },
    /// Observation: this replica's HW is now this offset.
    HighWatermark(Offset),
    /// Observation: entries in `[to, from)` were removed from the log.
    Truncated { from: Offset, to: Offset },
}
