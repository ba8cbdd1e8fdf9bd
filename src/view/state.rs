//! The replayed state of every partition and node at one point of a recorded run, and the
//! small state changes ([`Op`]) that move it forward.
//!
//! An [`Op`] is deliberately dumb (append these records at this offset, set this HW, this
//! ISR): the protocol meaning of an event is decided once, in `fold.rs`, and both the
//! terminal step view and the HTML report's script only apply ops.

use std::collections::BTreeMap;

use crate::layout::Layout;
use crate::quorum_event::QuorumEvent;
use crate::types::{BrokerId, LeaderEpoch, MessageId, NodeId, Offset, PartitionId};

/// What a broker believes its own role is for one partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Not known (before metadata, or since a restart).
    Unknown,
    /// Acting as leader in this epoch.
    Leader(LeaderEpoch),
    /// Following `leader` (if any) in this epoch.
    Follower(LeaderEpoch, Option<BrokerId>),
}

/// Whether a node's process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeStatus {
    /// Running.
    Up,
    /// Crashed or powered off.
    Down,
    /// Frozen (SIGSTOP, GC pause).
    Paused,
}

impl NodeStatus {
    /// `up`, `down` or `paused`.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeStatus::Up => "up",
            NodeStatus::Down => "down",
            NodeStatus::Paused => "paused",
        }
    }
}

/// One state change.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // fields are named for what they hold; the variant doc explains them
pub enum Op {
    /// Cut `broker`'s log of `partition` to `base`, then append `records` there.
    Append {
        partition: PartitionId,
        broker: BrokerId,
        base: Offset,
        records: Vec<(LeaderEpoch, MessageId)>,
    },
    /// Cut `broker`'s log to `to` records (no-op when already shorter).
    Truncate {
        partition: PartitionId,
        broker: BrokerId,
        to: Offset,
    },
    /// Set `broker`'s high watermark.
    Hw {
        partition: PartitionId,
        broker: BrokerId,
        hw: Offset,
    },
    /// The controller's leader and leader epoch.
    Leader {
        partition: PartitionId,
        leader: Option<BrokerId>,
        epoch: LeaderEpoch,
    },
    /// The controller's ISR and ELR.
    Isr {
        partition: PartitionId,
        isr: Vec<BrokerId>,
        elr: Vec<BrokerId>,
    },
    /// What `broker` believes its role is.
    Role {
        partition: PartitionId,
        broker: BrokerId,
        role: Role,
    },
    /// A consumer has read `partition` up to (not including) `upto`.
    Consumer {
        partition: PartitionId,
        consumer: u8,
        upto: Offset,
    },
    /// A node's process status.
    Node { node: NodeId, status: NodeStatus },
    /// The network cut in force (`""` when every link works).
    Network { cut: String },
    /// A quorum event: a controller's metadata log, HW or activation changed.
    Quorum(QuorumEvent),
}

/// One controller's replica of the metadata log, as the quorum events show it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuorumNodeView {
    /// Its log end offset.
    pub log_end: Offset,
    /// Its high watermark.
    pub hw: Offset,
}

/// The controller quorum: who is active in which epoch, and each controller's log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuorumView {
    /// The active controller and its quorum epoch (None: none active).
    pub active: Option<(NodeId, u32)>,
    /// Per controller.
    pub nodes: BTreeMap<NodeId, QuorumNodeView>,
}

impl QuorumView {
    fn apply(&mut self, event: &QuorumEvent) {
        let node = self.nodes.entry(event.node()).or_default();
        match event {
            QuorumEvent::Activated { node, epoch, .. } => self.active = Some((*node, *epoch)),
            QuorumEvent::Led { .. } => {}
            QuorumEvent::Renounced { node, .. } => {
                if self.active.is_some_and(|(a, _)| a == *node) {
                    self.active = None;
                }
            }
            QuorumEvent::Appended {
                base_offset,
                records,
                ..
            } => node.log_end = base_offset.plus(records.len() as u64),
            QuorumEvent::Truncated { to, .. } => node.log_end = *to,
            QuorumEvent::HighWatermark { hw, .. } => node.hw = *hw,
        }
    }
}

/// One replica's log and HW.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaView {
    /// Leader epoch and message per offset.
    pub log: Vec<(LeaderEpoch, MessageId)>,
    /// High watermark.
    pub hw: Offset,
    /// The broker's own idea of its role.
    pub role: Role,
}

impl ReplicaView {
    /// Log end offset.
    pub fn leo(&self) -> Offset {
        Offset(self.log.len() as u64)
    }
}

/// One partition: the controller's decisions, every replica, every consumer's position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionView {
    /// The leader the controller chose (None before the first election or with none).
    pub leader: Option<BrokerId>,
    /// Its leader epoch.
    pub epoch: LeaderEpoch,
    /// In-sync replicas, as the controller committed them.
    pub isr: Vec<BrokerId>,
    /// Eligible leader replicas (KIP-966).
    pub elr: Vec<BrokerId>,
    /// Replicas in assignment order.
    pub replicas: BTreeMap<BrokerId, ReplicaView>,
    /// Consumer number -> next offset it will read.
    pub consumers: BTreeMap<u8, Offset>,
}

/// The whole cluster as replayed so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterView {
    /// Indexed by `PartitionId`.
    pub partitions: Vec<PartitionView>,
    /// Process status of every node that a fault touched (others are up).
    pub nodes: BTreeMap<NodeId, NodeStatus>,
    /// The network cut in force, `""` for none.
    pub network: String,
    /// The controller quorum (empty with a single controller).
    pub quorum: QuorumView,
}

impl ClusterView {
    /// The state before the first event: empty logs; as the controller starts, every
    /// partition's first assigned replica leads in epoch 0 with every replica in the ISR.
    pub fn new(layout: &Layout) -> ClusterView {
        let partitions = layout
            .partitions
            .iter()
            .map(|p| PartitionView {
                leader: p.replicas.first().copied(),
                epoch: LeaderEpoch(0),
                isr: p.replicas.clone(),
                elr: Vec::new(),
                replicas: p
                    .replicas
                    .iter()
                    .map(|b| {
                        let replica = ReplicaView {
                            log: Vec::new(),
                            hw: Offset(0),
                            role: Role::Unknown,
                        };
                        (*b, replica)
                    })
                    .collect(),
                consumers: BTreeMap::new(),
            })
            .collect();
        ClusterView {
            partitions,
            nodes: BTreeMap::new(),
            network: String::new(),
            quorum: QuorumView::default(),
        }
    }

    /// A node's status (up unless a fault said otherwise).
    pub fn status(&self, node: NodeId) -> NodeStatus {
        self.nodes.get(&node).copied().unwrap_or(NodeStatus::Up)
    }

    /// Applies one op. Ops naming an unknown partition or replica are ignored, so a
    /// malformed history gives a partial view, never a panic.
    pub fn apply(&mut self, op: &Op) {
        match op {
            Op::Node { node, status } => {
                self.nodes.insert(*node, *status);
            }
            Op::Network { cut } => self.network.clone_from(cut),
            Op::Quorum(event) => self.quorum.apply(event),
            _ => self.apply_partition(op),
        }
    }

    fn apply_partition(&mut self, op: &Op) {
        let partition = match op {
            Op::Append { partition, .. }
            | Op::Truncate { partition, .. }
            | Op::Hw { partition, .. }
            | Op::Leader { partition, .. }
            | Op::Isr { partition, .. }
            | Op::Role { partition, .. }
            | Op::Consumer { partition, .. } => *partition,
            Op::Node { .. } | Op::Network { .. } | Op::Quorum(_) => return,
        };
        let Some(view) = self.partitions.get_mut(partition.0 as usize) else {
            return;
        };
        match op {
            Op::Leader { leader, epoch, .. } => {
                view.leader = *leader;
                view.epoch = *epoch;
            }
            Op::Isr { isr, elr, .. } => {
                view.isr.clone_from(isr);
                view.elr.clone_from(elr);
            }
            Op::Consumer { consumer, upto, .. } => {
                view.consumers.insert(*consumer, *upto);
            }
            _ => apply_replica(view, op),
        }
    }
}

fn apply_replica(view: &mut PartitionView, op: &Op) {
    let broker = match op {
        Op::Append { broker, .. }
        | Op::Truncate { broker, .. }
        | Op::Hw { broker, .. }
        | Op::Role { broker, .. } => *broker,
        _ => return,
    };
    let Some(replica) = view.replicas.get_mut(&broker) else {
        return;
    };
    match op {
        Op::Append { base, records, .. } => {
            replica.log.truncate(base.0 as usize);
            replica.log.extend_from_slice(records);
        }
        Op::Truncate { to, .. } => replica.log.truncate(to.0 as usize),
        Op::Hw { hw, .. } => replica.hw = *hw,
        Op::Role { role, .. } => replica.role = *role,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout::new(3, &[("t".to_string(), 1, 3)])
    }

    fn m(index: u32) -> MessageId {
        MessageId { producer: 1, index }
    }

    #[test]
    fn append_truncate_and_hw_move_one_replica_only() {
        let mut view = ClusterView::new(&layout());
        let p = PartitionId(0);
        let b = BrokerId(1);
        let e1 = LeaderEpoch(1);
        let records = vec![(e1, m(0)), (e1, m(1)), (e1, m(2))];
        view.apply(&Op::Append {
            partition: p,
            broker: b,
            base: Offset(0),
            records,
        });
        view.apply(&Op::Hw {
            partition: p,
            broker: b,
            hw: Offset(2),
        });
        let replica = &view.partitions[0].replicas[&b];
        assert_eq!((replica.leo(), replica.hw), (Offset(3), Offset(2)));
        assert_eq!(view.partitions[0].replicas[&BrokerId(2)].leo(), Offset(0));
        // An append at an offset below the LEO replaces the tail, as a follower's log does.
        view.apply(&Op::Append {
            partition: p,
            broker: b,
            base: Offset(1),
            records: vec![(LeaderEpoch(2), m(9))],
        });
        let log = &view.partitions[0].replicas[&b].log;
        assert_eq!(log, &vec![(e1, m(0)), (LeaderEpoch(2), m(9))]);
        view.apply(&Op::Truncate {
            partition: p,
            broker: b,
            to: Offset(1),
        });
        assert_eq!(view.partitions[0].replicas[&b].leo(), Offset(1));
    }

    #[test]
    fn unknown_partition_or_replica_is_ignored() {
        let mut view = ClusterView::new(&layout());
        let before = view.clone();
        view.apply(&Op::Hw {
            partition: PartitionId(7),
            broker: BrokerId(1),
            hw: Offset(3),
        });
        view.apply(&Op::Hw {
            partition: PartitionId(0),
            broker: BrokerId(9),
            hw: Offset(3),
        });
        assert_eq!(view, before);
    }
}
