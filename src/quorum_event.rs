//! What the history records of the controller quorum (KRaft's metadata log): which
//! controller was active in which quorum epoch, and each node's metadata log (appends,
//! truncations, high watermark). The `metadata-divergence` and `controller-split-brain`
//! checkers and the quorum's white-box invariants read only these. Like `history`, it
//! depends only on `types`.

use crate::types::{NodeId, Offset};

/// One metadata record as the history keeps it: its Raft epoch and a digest of its
/// contents (two different records have different digests).
pub type RecordStamp = (u32, u64);

/// An event of the controller quorum. `node` is a controller or, for the metadata log
/// events, a broker that replicates the log as an observer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum QuorumEvent {
    /// `node` became the active controller in quorum epoch `epoch`: it leads the metadata
    /// log and has replayed it up to the start of its epoch, or, with KAFKA-15345 back,
    /// not yet: `unreplayed` entries below its epoch start were still to apply.
    Activated {
        /// The controller.
        node: NodeId,
        /// The quorum (Raft) epoch.
        epoch: u32,
        /// Entries below the epoch start it had not applied yet (0 in today's Kafka).
        unreplayed: u64,
    },
    /// `node` became the Raft leader of the metadata log in quorum epoch `epoch` (it acts
    /// as active controller once it has replayed the log: [`QuorumEvent::Activated`]).
    Led {
        /// The controller.
        node: NodeId,
        /// The quorum epoch it leads.
        epoch: u32,
        /// Where its epoch-start record sits.
        epoch_start: Offset,
    },
    /// `node` stopped acting as the active controller of `epoch`.
    Renounced {
        /// The controller.
        node: NodeId,
        /// The quorum epoch it had led.
        epoch: u32,
    },
    /// Records were appended to `node`'s metadata log at `base_offset`.
    Appended {
        /// The node.
        node: NodeId,
        /// Offset of the first record.
        base_offset: Offset,
        /// The records, in offset order.
        records: Vec<RecordStamp>,
    },
    /// `node`'s metadata log was cut to `to` records.
    Truncated {
        /// The node.
        node: NodeId,
        /// The new log end offset.
        to: Offset,
    },
    /// `node`'s metadata high watermark moved to `hw`.
    HighWatermark {
        /// The node.
        node: NodeId,
        /// The new high watermark (exclusive).
        hw: Offset,
    },
}

impl QuorumEvent {
    /// The history line (without time and index).
    pub fn describe(&self) -> String {
        match self {
            QuorumEvent::Activated {
                node,
                epoch,
                unreplayed: 0,
            } => format!("{node} active controller in quorum epoch {epoch}"),
            QuorumEvent::Activated {
                node,
                epoch,
                unreplayed,
            } => format!(
                "{node} active controller in quorum epoch {epoch} before replaying \
                 {unreplayed} metadata log entries below its epoch start"
            ),
            QuorumEvent::Led {
                node,
                epoch,
                epoch_start,
            } => format!(
                "{node} leads the metadata log in quorum epoch {epoch} from offset {}",
                epoch_start.0
            ),
            QuorumEvent::Renounced { node, epoch } => {
                format!("{node} no longer active controller (quorum epoch {epoch})")
            }
            QuorumEvent::Appended {
                node,
                base_offset,
                records,
            } => {
                let epochs: Vec<String> = records.iter().map(|(e, _)| e.to_string()).collect();
                format!(
                    "{node} metadata log appended {} at {} (epochs {})",
                    records.len(),
                    base_offset.0,
                    epochs.join(",")
                )
            }
            QuorumEvent::Truncated { node, to } => {
                format!("{node} metadata log truncated to {}", to.0)
            }
            QuorumEvent::HighWatermark { node, hw } => {
                format!("{node} metadata hw -> {}", hw.0)
            }
        }
    }

    /// The node the event is about.
    pub fn node(&self) -> NodeId {
        match self {
            QuorumEvent::Activated { node, .. }
            | QuorumEvent::Led { node, .. }
            | QuorumEvent::Renounced { node, .. }
            | QuorumEvent::Appended { node, .. }
            | QuorumEvent::Truncated { node, .. }
            | QuorumEvent::HighWatermark { node, .. } => *node,
        }
    }
}
