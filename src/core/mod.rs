//! The protocol, as plain state machines: no IO, no clock, no madsim.
//!
//! Every role (broker, controller, producer, consumer) implements [`StateMachine`]:
//! the shell feeds it a message or a timeout together with the current simulated time,
//! and it pushes [`Effect`]s (messages to send, disk writes, trace events) into `out`.
//! It reports its next wake-up through [`StateMachine::next_deadline`] (quinn-proto's
//! `poll_timeout`). Architecture invariant: nothing under `core` imports madsim, serde,
//! `shell`, `harness` or `cli`, and nothing reads a clock or an OS random source.

pub mod broker;
pub mod client_metadata;
pub mod connection_states;
pub mod consumer;
pub mod group;
pub mod log;
pub mod message;
pub mod metadata;
pub mod prng;
pub mod producer;
pub mod quorum;
pub mod reader;

use crate::core::log::Record;
use crate::core::message::Message;
use crate::history::EventKind;
use crate::types::{NodeId, Offset, PartitionId, SimTime};

/// A write to a node's disk. The shell's disk model applies these in order; what reached
/// stable storage survives a power loss, the rest only a process crash.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)] // variant fields are named for what they hold; the variant doc explains them
pub enum DiskOp {
    /// Append records at the end of a partition's log (page cache).
    Append {
        partition: PartitionId,
        records: Vec<Record>,
    },
    /// Cut a partition's log to `len` records.
    Truncate { partition: PartitionId, len: Offset },
    /// fsync a partition's log: everything written so far becomes durable.
    Flush { partition: PartitionId },
    /// Write the HW checkpoint file (`replication-offset-checkpoint`), durably.
    CheckpointHw { partition: PartitionId, hw: Offset },
    /// The single controller's durable state (its metadata log, fsynced on commit).
    ControllerState(Box<quorum::records::ControllerState>),
    /// A write to a quorum controller's metadata log files.
    Quorum(quorum::metadata_log::QuorumDiskOp),
}

/// Something a state machine asks the outside world to do.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)] // variant fields are named for what they hold; the variant doc explains them
pub enum Effect {
    /// Send a message (delivery is at most once; may be delayed, reordered or lost).
    Send { to: NodeId, message: Message },
    /// Write to this node's disk.
    Disk(DiskOp),
    /// An observation for the history; never changes behaviour.
    Trace(EventKind),
    /// An observation every controller of a quorum makes of the same committed metadata
    /// record, at `offset` of the metadata log: the history keeps the first only (the
    /// moment the record first counted as committed anywhere).
    TraceOnce { offset: Offset, kind: EventKind },
}

/// Why a connection to a peer is gone (the shell models connections; the core only hears
/// of their end).
#[derive(Clone, Debug, PartialEq)]
pub enum Disconnect {
    /// The peer's host reset the connection: its process crashed while the host stayed
    /// up. Nothing in flight on it will be answered; a request may or may not have been
    /// handled before the crash.
    Reset,
    /// A connection attempt was refused (the peer's process is down, its host up), so
    /// `message`, the one that needed it, was never delivered.
    Refused(Box<Message>),
}

/// Implemented by every role.
pub trait StateMachine {
    /// A message arrived from `from`.
    fn on_message(&mut self, now: SimTime, from: NodeId, message: Message, out: &mut Vec<Effect>);
    /// The connection to `peer` is gone (see [`Disconnect`]). Only a process crash on a
    /// host that stays up gives this; power loss, pauses and network cuts stay silent and
    /// are noticed by timeouts alone.
    fn on_disconnect(
        &mut self,
        now: SimTime,
        peer: NodeId,
        cause: Disconnect,
        out: &mut Vec<Effect>,
    );
    /// The deadline returned by `next_deadline` has passed (may be called early or late).
    fn on_timeout(&mut self, now: SimTime, out: &mut Vec<Effect>);
    /// When `on_timeout` should next be called.
    fn next_deadline(&self) -> Option<SimTime>;
}
