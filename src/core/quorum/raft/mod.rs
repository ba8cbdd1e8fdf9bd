//! The Raft core of KRaft's metadata log (KIP-595), as Kafka's `KafkaRaftClient` runs it:
//! pull-based replication (followers fetch, the leader never pushes entries), epochs and
//! votes persisted in a quorum-state file, BeginQuorumEpoch/EndQuorumEpoch, check-quorum,
//! pre-votes (KIP-996) and snapshots (KIP-630). It is sans-IO and generic: `I` is a
//! replica id, `R` a record of the caller's state machine, `S` that state machine's
//! snapshot. Voters are a fixed set given in [`RaftConfig`]; any other replica that
//! fetches is an observer (brokers).
//!
//! Architecture invariant: this module depends on nothing in the crate except
//! `types::{SimTime, Offset}` and `core::prng::Prng`. It reads no clock, does no IO and
//! draws randomness only from its seeded [`Prng`](crate::core::prng::Prng).
//!
//! Entry points: [`Raft::new`] (from [`Stored`]), [`Raft::on_message`],
//! [`Raft::on_timeout`], [`Raft::next_deadline`], [`Raft::propose`], [`Raft::snapshot`].
//! Outputs: [`RaftEffect`]s, performed by the caller in order. Each rule's doc comment names
//! the Kafka class or method it follows.

use std::fmt::{Debug, Display};

mod client;
mod common;
pub mod config;
pub mod effect;
pub mod epoch;
mod fetch;
mod follower;
mod leader;
pub mod log;
pub mod message;
mod poll;
mod quorum_epoch;
mod requests;
mod restart;
mod roles;
pub mod stored;
mod transition;
mod vote;

#[cfg(test)]
mod sim_tests;
#[cfg(test)]
mod tests;

pub use client::{NotLeader, Raft, SnapshotRejected};
pub use config::RaftConfig;
pub use effect::{RaftEffect, ResignReason};
pub use epoch::{Epoch, OffsetAndEpoch};
pub use log::{Entry, LogEntry, Snapshot, SnapshotId};
pub use message::{RaftError, RaftMessage};
pub use roles::RoleKind;
pub use stored::{ElectionState, Stored};

/// What a replica id must be: small, ordered (for deterministic maps) and printable.
pub trait ReplicaId: Copy + Ord + Debug + Display {}
impl<T: Copy + Ord + Debug + Display> ReplicaId for T {}

/// What records and snapshots must be: cloneable values that compare.
pub trait Payload: Clone + Debug + PartialEq {}
impl<T: Clone + Debug + PartialEq> Payload for T {}
