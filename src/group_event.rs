//! What the history records of consumer groups: members' assignments, reads, processing
//! and commits, and the coordinators' decisions. The group checkers read only these.
//! Like `history`, it depends only on `types`.

use crate::types::{BrokerId, GroupName, MessageId, NodeId, Offset, PartitionId, SimTime};

/// How a commit ended, as the member saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommitOutcome {
    /// The coordinator stored it.
    Ok,
    /// Refused: it is not stored.
    Fail,
    /// No answer (timeout, coordinator gone): it may or may not be stored.
    Info,
}

impl CommitOutcome {
    /// The history's `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            CommitOutcome::Ok => "ok",
            CommitOutcome::Fail => "fail",
            CommitOutcome::Info => "info",
        }
    }
}

/// An event of a consumer group. `member` is a member's client node.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GroupEvent {
    /// `member` starts owning `partitions` in `generation`, each from the position given.
    Assign {
        /// The member.
        member: NodeId,
        /// Its group.
        group: GroupName,
        /// The generation (classic) or member epoch (KIP-848).
        generation: u32,
        /// Each newly owned partition and the offset it starts from.
        positions: Vec<(PartitionId, Offset)>,
    },
    /// `member` stopped owning `partitions` (revoked in a rebalance, or lost).
    Revoke {
        /// The member.
        member: NodeId,
        /// Its group.
        group: GroupName,
        /// The partitions.
        partitions: Vec<PartitionId>,
        /// Lost (fenced, expired) rather than revoked in order.
        lost: bool,
    },
    /// `member` was handed these records (consecutive offsets) by `broker`, sent at
    /// `sent_at` (both traced only).
    Poll {
        /// The member.
        member: NodeId,
        /// Its group.
        group: GroupName,
        /// The partition.
        partition: PartitionId,
        /// The records.
        records: Vec<(Offset, MessageId)>,
        /// Who answered.
        broker: BrokerId,
        /// When it sent the answer.
        sent_at: SimTime,
    },
    /// `member` finished processing these records.
    Process {
        /// The member.
        member: NodeId,
        /// Its group.
        group: GroupName,
        /// The partition.
        partition: PartitionId,
        /// The records.
        records: Vec<(Offset, MessageId)>,
    },
    /// A commit's outcome, as `member` saw it.
    Commit {
        /// The member.
        member: NodeId,
        /// Its group.
        group: GroupName,
        /// The partition.
        partition: PartitionId,
        /// The committed offset (the next to consume).
        offset: Offset,
        /// How it ended.
        outcome: CommitOutcome,
    },
    /// The coordinator on `broker` accepted (and will store) a commit.
    CommitAccepted {
        /// The coordinator.
        broker: BrokerId,
        /// The group.
        group: GroupName,
        /// The partition.
        partition: PartitionId,
        /// The offset.
        offset: Offset,
    },
    /// A generation began at the coordinator on `broker`.
    Generation {
        /// The coordinator.
        broker: BrokerId,
        /// The group.
        group: GroupName,
        /// Which.
        generation: u32,
        /// How many members it has.
        members: u32,
    },
    /// After the finale: the group's committed offsets.
    FinalOffsets {
        /// The group.
        group: GroupName,
        /// Each partition's committed offset.
        offsets: Vec<(PartitionId, Offset)>,
    },
}

fn records_text(records: &[(Offset, MessageId)]) -> String {
    let parts: Vec<String> = records.iter().map(|(o, v)| format!("{o}={v}")).collect();
    parts.join(" ")
}

impl GroupEvent {
    /// One line for the trace; `name` names partitions (`events-0`).
    pub fn describe(&self, name: impl Fn(PartitionId) -> String) -> String {
        let list = |ps: &[PartitionId]| ps.iter().map(|p| name(*p)).collect::<Vec<_>>().join(", ");
        match self {
            GroupEvent::Assign {
                member,
                group,
                generation,
                positions,
            } => {
                let from: Vec<String> = positions
                    .iter()
                    .map(|(p, o)| format!("{} from {o}", name(*p)))
                    .collect();
                format!(
                    "{member} of {group} owns [{}] in generation {generation}",
                    from.join(", ")
                )
            }
            GroupEvent::Revoke {
                member,
                group,
                partitions,
                lost,
            } => {
                let how = if *lost { "lost" } else { "revoked" };
                format!("{member} of {group} {how} [{}]", list(partitions))
            }
            GroupEvent::Poll {
                member,
                partition,
                records,
                ..
            } => {
                format!(
                    "{member} read {}: {}",
                    name(*partition),
                    records_text(records)
                )
            }
            GroupEvent::Process {
                member,
                partition,
                records,
                ..
            } => {
                format!(
                    "{member} processed {}: {}",
                    name(*partition),
                    records_text(records)
                )
            }
            GroupEvent::Commit {
                member,
                group,
                partition,
                offset,
                outcome,
            } => format!(
                "{member} commit of {group} {}@{offset}: {}",
                name(*partition),
                outcome.as_str()
            ),
            GroupEvent::CommitAccepted {
                broker,
                group,
                partition,
                offset,
            } => format!(
                "coordinator broker-{broker} accepted {group}'s commit {}@{offset}",
                name(*partition)
            ),
            GroupEvent::Generation {
                broker,
                group,
                generation,
                members,
            } => format!(
                "coordinator broker-{broker}: {group} generation {generation} with {members} members"
            ),
            GroupEvent::FinalOffsets { group, offsets } => {
                let parts: Vec<String> = offsets
                    .iter()
                    .map(|(p, o)| format!("{}={o}", name(*p)))
                    .collect();
                format!("final offsets of {group}: {}", parts.join(" "))
            }
        }
    }
}
