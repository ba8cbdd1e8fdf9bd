//! What each recorded event means for the replayed state: a label for the step, the
//! partition and node it concerns, and the [`Op`]s it applies. A pure function of the
//! event and the state before it.

use crate::fault_mark::{self as fault, FaultMark};
use crate::history::EventKind;
use crate::types::{NodeId, Offset, PartitionId};
use crate::view::state::{ClusterView, NodeStatus, Op, Role};

/// One event as a step of the replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meaning {
    /// Short name of the step (`produce appended`, `ISR shrink`, `crash`...).
    pub label: &'static str,
    /// The partition it concerns; `None` for cluster-wide steps (faults, fencing).
    pub partition: Option<PartitionId>,
    /// The node where it happened (its lane in the space-time diagram).
    pub node: Option<NodeId>,
    /// State changes, in order.
    pub ops: Vec<Op>,
}

/// The step for `kind`, or `None` for events that are not steps of their own (a send's
/// invocation, the leader's side of a consumer fetch, the final-state records).
pub fn meaning(kind: &EventKind, before: &ClusterView) -> Option<Meaning> {
    use EventKind::*;
    match kind {
        SendInvoke { .. } | ConsumerServed { .. } | FinalReplica { .. } | FinalPartition { .. } => {
            None
        }
        BrokerRegistered { .. } => Some(cluster_step("broker registered", vec![])),
        BrokerFenced { .. } => Some(cluster_step("broker fenced", vec![])),
        BrokerUnfenced { .. } => Some(cluster_step("broker unfenced", vec![])),
        Fault { description } => Some(fault_step(description, before)),
        Disconnected { node, refused, .. } => Some(Meaning {
            label: if *refused {
                "connection refused"
            } else {
                "connection reset"
            },
            partition: None,
            node: Some(*node),
            ops: vec![],
        }),
        Phase { name } => Some(phase_step(name, before)),
        Quorum(event) => Some(Meaning {
            label: quorum_label(event),
            partition: None,
            node: Some(event.node()),
            ops: vec![Op::Quorum(event.clone())],
        }),
        Unavailable { partition, .. } => Some(Meaning {
            label: "unavailable",
            partition: Some(*partition),
            node: None,
            ops: vec![],
        }),
        DrainGaveUp {
            consumer,
            partition,
            ..
        } => Some(step(
            "drain gave up",
            partition,
            NodeId::Consumer(*consumer),
            vec![],
        )),
        Drained { .. } => Some(Meaning {
            label: "drained",
            partition: None,
            node: None,
            ops: vec![],
        }),
        _ => client_step(kind)
            .or_else(|| log_step(kind, before))
            .or_else(|| cut_step(kind))
            .or_else(|| role_step(kind))
            .or_else(|| controller_step(kind, before)),
    }
}

/// The step name of a quorum event.
fn quorum_label(event: &crate::quorum_event::QuorumEvent) -> &'static str {
    use crate::quorum_event::QuorumEvent::*;
    match event {
        Activated { .. } => "controller activated",
        Led { .. } => "metadata leader",
        Renounced { .. } => "controller renounced",
        Appended { .. } => "metadata appended",
        Truncated { .. } => "metadata truncated",
        HighWatermark { .. } => "metadata hw",
    }
}

/// A step about one partition, seen at `node`.
fn step(label: &'static str, partition: &PartitionId, node: NodeId, ops: Vec<Op>) -> Meaning {
    Meaning {
        label,
        partition: Some(*partition),
        node: Some(node),
        ops,
    }
}

/// Producer and consumer outcomes.
fn client_step(kind: &EventKind) -> Option<Meaning> {
    use EventKind::*;
    Some(match kind {
        SendOk {
            producer,
            partition,
            ..
        } => step("ack", partition, NodeId::Producer(*producer), vec![]),
        SendFail {
            producer,
            partition,
            ..
        } => step(
            "send failed",
            partition,
            NodeId::Producer(*producer),
            vec![],
        ),
        SendInfo {
            producer,
            partition,
            ..
        } => step(
            "send indeterminate",
            partition,
            NodeId::Producer(*producer),
            vec![],
        ),
        Poll {
            consumer,
            partition,
            records,
            ..
        } => {
            let upto = records.last().map_or(Offset(0), |(o, _)| o.plus(1));
            let op = Op::Consumer {
                partition: *partition,
                consumer: *consumer,
                upto,
            };
            step(
                "consumer read",
                partition,
                NodeId::Consumer(*consumer),
                vec![op],
            )
        }
        ConsumerReset {
            consumer,
            partition,
            to,
            ..
        } => {
            let op = Op::Consumer {
                partition: *partition,
                consumer: *consumer,
                upto: *to,
            };
            step(
                "consumer reset",
                partition,
                NodeId::Consumer(*consumer),
                vec![op],
            )
        }
        _ => return None,
    })
}

/// Appends to a replica's log and changes of its HW.
fn log_step(kind: &EventKind, before: &ClusterView) -> Option<Meaning> {
    use EventKind::*;
    Some(match kind {
        LeaderAppended {
            broker,
            partition,
            leader_epoch,
            base_offset,
            values,
        } => {
            let records = values.iter().map(|v| (*leader_epoch, *v)).collect();
            let op = Op::Append {
                partition: *partition,
                broker: *broker,
                base: *base_offset,
                records,
            };
            step(
                "produce appended",
                partition,
                NodeId::Broker(*broker),
                vec![op],
            )
        }
        FollowerAppended {
            broker,
            partition,
            base_offset,
            records,
            ..
        } => {
            let op = Op::Append {
                partition: *partition,
                broker: *broker,
                base: *base_offset,
                records: records.clone(),
            };
            step("fetch", partition, NodeId::Broker(*broker), vec![op])
        }
        HwChanged {
            broker,
            partition,
            hw,
            ..
        } => {
            let old = replica_hw(before, *partition, *broker);
            let label = if old.is_some_and(|old| *hw < old) {
                "HW lowered"
            } else {
                "HW advanced"
            };
            let op = Op::Hw {
                partition: *partition,
                broker: *broker,
                hw: *hw,
            };
            step(label, partition, NodeId::Broker(*broker), vec![op])
        }
        _ => return None,
    })
}

/// A replica's log cut, by truncation or by what survived a restart.
fn cut_step(kind: &EventKind) -> Option<Meaning> {
    use EventKind::*;
    Some(match kind {
        Truncated {
            broker,
            partition,
            to,
            hw,
            ..
        } => {
            let (partition, broker) = (*partition, *broker);
            let ops = vec![
                Op::Truncate {
                    partition,
                    broker,
                    to: *to,
                },
                Op::Hw {
                    partition,
                    broker,
                    hw: *hw,
                },
            ];
            step("truncation", &partition, NodeId::Broker(broker), ops)
        }
        ReplicaRecovered {
            broker,
            partition,
            leo,
            hw,
        } => {
            let (partition, broker) = (*partition, *broker);
            let ops = vec![
                Op::Truncate {
                    partition,
                    broker,
                    to: *leo,
                },
                Op::Hw {
                    partition,
                    broker,
                    hw: *hw,
                },
                Op::Role {
                    partition,
                    broker,
                    role: Role::Unknown,
                },
            ];
            step("replica recovered", &partition, NodeId::Broker(broker), ops)
        }
        _ => return None,
    })
}

/// A broker taking up a role.
fn role_step(kind: &EventKind) -> Option<Meaning> {
    use EventKind::*;
    Some(match kind {
        BecameLeader {
            broker,
            partition,
            leader_epoch,
            ..
        } => {
            let op = Op::Role {
                partition: *partition,
                broker: *broker,
                role: Role::Leader(*leader_epoch),
            };
            step(
                "becomes leader",
                partition,
                NodeId::Broker(*broker),
                vec![op],
            )
        }
        BecameFollower {
            broker,
            partition,
            leader_epoch,
            leader,
        } => {
            let op = Op::Role {
                partition: *partition,
                broker: *broker,
                role: Role::Follower(*leader_epoch, *leader),
            };
            step(
                "becomes follower",
                partition,
                NodeId::Broker(*broker),
                vec![op],
            )
        }
        _ => return None,
    })
}

/// The controller's leadership and ISR decisions.
fn controller_step(kind: &EventKind, before: &ClusterView) -> Option<Meaning> {
    use EventKind::*;
    Some(match kind {
        LeaderElected {
            partition,
            leader,
            leader_epoch,
            isr,
            elr,
            unclean,
            ..
        } => {
            let ops = vec![
                Op::Leader {
                    partition: *partition,
                    leader: *leader,
                    epoch: *leader_epoch,
                },
                Op::Isr {
                    partition: *partition,
                    isr: isr.clone(),
                    elr: elr.clone(),
                },
            ];
            let label = if *unclean {
                "UNCLEAN leader election"
            } else {
                "leader elected"
            };
            step(label, partition, NodeId::CONTROLLER, ops)
        }
        IsrChanged {
            partition,
            isr,
            elr,
            ..
        } => {
            let old = before
                .partitions
                .get(partition.0 as usize)
                .map(|p| p.isr.clone());
            let label = match old {
                Some(old) if isr.len() < old.len() => "ISR shrink",
                Some(old) if isr.len() > old.len() => "ISR expand",
                _ => "ISR change",
            };
            let op = Op::Isr {
                partition: *partition,
                isr: isr.clone(),
                elr: elr.clone(),
            };
            step(label, partition, NodeId::CONTROLLER, vec![op])
        }
        _ => return None,
    })
}

fn cluster_step(label: &'static str, ops: Vec<Op>) -> Meaning {
    Meaning {
        label,
        partition: None,
        node: Some(NodeId::CONTROLLER),
        ops,
    }
}

/// A process that went down holds no role any more (its log stays on disk).
fn forget_roles(node: NodeId, before: &ClusterView) -> Vec<Op> {
    let NodeId::Broker(broker) = node else {
        return Vec::new();
    };
    (0..before.partitions.len())
        .filter(|i| before.partitions[*i].replicas.contains_key(&broker))
        .map(|i| Op::Role {
            partition: PartitionId(i as u16),
            broker,
            role: Role::Unknown,
        })
        .collect()
}

fn replica_hw(
    view: &ClusterView,
    partition: PartitionId,
    broker: crate::types::BrokerId,
) -> Option<Offset> {
    let replica = view
        .partitions
        .get(partition.0 as usize)?
        .replicas
        .get(&broker)?;
    Some(replica.hw)
}

/// Steps for the finale's phases; `heal` also restarts, resumes and reconnects everything.
fn phase_step(name: &str, before: &ClusterView) -> Meaning {
    let mut ops = Vec::new();
    if name == "heal" {
        ops.push(Op::Network { cut: String::new() });
        for node in before.nodes.keys() {
            ops.push(Op::Node {
                node: *node,
                status: NodeStatus::Up,
            });
        }
    }
    Meaning {
        label: "phase",
        partition: None,
        node: None,
        ops,
    }
}

fn fault_step(description: &str, before: &ClusterView) -> Meaning {
    let status = |nodes: &[NodeId], status| {
        let mut ops = Vec::new();
        for node in nodes {
            ops.push(Op::Node {
                node: *node,
                status,
            });
            if status == NodeStatus::Down {
                ops.extend(forget_roles(*node, before));
            }
        }
        ops
    };
    let cut = |text: &str| {
        vec![Op::Network {
            cut: text.to_string(),
        }]
    };
    let (label, ops) = match fault::parse(description) {
        Some(FaultMark::Crash(n)) => ("crash", status(&n, NodeStatus::Down)),
        Some(FaultMark::PowerLoss(n)) => ("power loss", status(&n, NodeStatus::Down)),
        Some(FaultMark::Restart(n)) => ("restart", status(&n, NodeStatus::Up)),
        Some(FaultMark::DiskWipe(_)) => ("disk wipe", Vec::new()),
        Some(FaultMark::Pause(n)) => ("pause", status(&n, NodeStatus::Paused)),
        Some(FaultMark::Resume(n)) => ("resume", status(&n, NodeStatus::Up)),
        Some(FaultMark::Isolate(_)) => ("isolate", cut(description)),
        Some(FaultMark::Partition(_)) => ("partition", cut(description)),
        Some(FaultMark::Heal) => ("heal", cut("")),
        Some(FaultMark::PacketLoss(_) | FaultMark::Latency(..)) => ("network", vec![]),
        None => ("fault", vec![]),
    };
    Meaning {
        label,
        partition: None,
        node: None,
        ops,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Layout;
    use crate::types::{BrokerId, LeaderEpoch, PartitionEpoch};

    fn view() -> ClusterView {
        ClusterView::new(&Layout::new(3, &[("t".to_string(), 1, 3)]))
    }

    fn elected(isr: Vec<BrokerId>) -> EventKind {
        EventKind::LeaderElected {
            partition: PartitionId(0),
            leader: Some(BrokerId(1)),
            leader_epoch: LeaderEpoch(1),
            partition_epoch: PartitionEpoch(1),
            isr,
            elr: vec![],
            unclean: false,
        }
    }

    #[test]
    fn isr_changes_are_named_shrink_or_expand_against_the_state_before() {
        let mut state = view();
        let all = vec![BrokerId(1), BrokerId(2), BrokerId(3)];
        for op in meaning(&elected(all.clone()), &state).expect("a step").ops {
            state.apply(&op);
        }
        let change = |isr: Vec<BrokerId>| EventKind::IsrChanged {
            partition: PartitionId(0),
            leader_epoch: LeaderEpoch(1),
            partition_epoch: PartitionEpoch(2),
            isr,
            elr: vec![],
        };
        let shrink = meaning(&change(vec![BrokerId(1)]), &state).expect("a step");
        assert_eq!(shrink.label, "ISR shrink");
        for op in &shrink.ops {
            state.apply(op);
        }
        assert_eq!(state.partitions[0].isr, vec![BrokerId(1)]);
        let expand = meaning(&change(all), &state).expect("a step");
        assert_eq!(expand.label, "ISR expand");
    }

    #[test]
    fn crash_takes_a_node_down_and_the_final_heal_brings_it_back() {
        let mut state = view();
        let crash = EventKind::Fault {
            description: "crash broker-2".into(),
        };
        let step = meaning(&crash, &state).expect("a step");
        assert_eq!(step.label, "crash");
        for op in &step.ops {
            state.apply(op);
        }
        let b2 = NodeId::Broker(BrokerId(2));
        assert_eq!(state.status(b2), NodeStatus::Down);
        let heal = EventKind::Phase {
            name: "heal".into(),
        };
        for op in meaning(&heal, &state).expect("a step").ops {
            state.apply(&op);
        }
        assert_eq!(state.status(b2), NodeStatus::Up);
    }

    #[test]
    fn sends_and_final_records_are_not_steps() {
        let invoke = EventKind::SendInvoke {
            producer: 1,
            partition: PartitionId(0),
            value: crate::types::MessageId {
                producer: 1,
                index: 0,
            },
        };
        assert_eq!(meaning(&invoke, &view()), None);
    }
}
