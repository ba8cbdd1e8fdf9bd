//! The story's partition as the history has it just before each event: who the
//! controller made leader in which epoch, the ISR and ELR, every replica's HW, and where
//! the focus message was appended, which replicas hold it, which brokers are down. Replayed event by event, so that a step can say
//! "broker-1 (the leader of events-0)" or "below its high watermark 20".

use std::collections::{BTreeMap, BTreeSet};

use super::Focus;
use crate::fault_mark::{self, FaultMark};
use crate::history::{EventKind, History};
use crate::types::{BrokerId, LeaderEpoch, NodeId, Offset};
use crate::violation::ViolationKind;

/// The focus partition's state so far.
#[derive(Clone, Debug, Default)]
pub(super) struct State {
    /// The leader the controller named last (`None` before any election or when it named
    /// none).
    pub leader: Option<BrokerId>,
    /// The leader epoch of the latest election, once there was one.
    pub epoch: Option<LeaderEpoch>,
    /// The ISR the controller committed last.
    pub isr: Vec<BrokerId>,
    /// The ELR the controller committed last.
    pub elr: Vec<BrokerId>,
    /// Whether the ISR is known (the history names the partition's replicas, or the
    /// controller committed one).
    pub isr_known: bool,
    /// Every broker's latest HW of the partition.
    pub hw: BTreeMap<BrokerId, Offset>,
    /// The brokers that host a replica of the partition (over the whole run).
    pub hosts: BTreeSet<BrokerId>,
    /// The latest leader append of the focus message: (broker, its leader epoch).
    pub appended: Option<(BrokerId, LeaderEpoch)>,
    /// The brokers whose log holds the focus message, with its offset there.
    pub holders: BTreeMap<BrokerId, u64>,
    /// Whether any broker's log held the focus message so far.
    pub ever_held: bool,
    /// The brokers crashed, powered off or paused and not yet back.
    pub down: BTreeSet<BrokerId>,
    /// The brokers acting as leader of the partition by their own account (their latest
    /// `BecameLeader` in this process), whoever the controller has named since.
    pub acting: BTreeSet<BrokerId>,
}

impl State {
    /// The state before the first event (every replica in the ISR); `hosts` from one pass
    /// over the history.
    pub fn new(history: &History, focus: &Focus) -> State {
        let mut hosts = BTreeSet::new();
        for event in &history.events {
            let (EventKind::ReplicaRecovered {
                broker, partition, ..
            }
            | EventKind::FinalReplica {
                broker, partition, ..
            }
            | EventKind::BecameLeader {
                broker, partition, ..
            }
            | EventKind::BecameFollower {
                broker, partition, ..
            }) = &event.kind
            else {
                continue;
            };
            if focus.on(*partition) {
                hosts.insert(*broker);
            }
        }
        // A partition starts with every replica in its ISR.
        State {
            isr: hosts.iter().copied().collect(),
            isr_known: !hosts.is_empty(),
            hosts,
            ..State::default()
        }
    }

    /// Applies one event.
    pub fn apply(&mut self, kind: &EventKind, focus: &Focus) {
        match kind {
            EventKind::LeaderElected {
                partition,
                leader,
                leader_epoch,
                isr,
                elr,
                ..
            } if focus.on(*partition) => {
                self.leader = *leader;
                self.epoch = Some(*leader_epoch);
                self.isr = isr.clone();
                self.elr = elr.clone();
                self.isr_known = true;
            }
            EventKind::IsrChanged {
                partition,
                isr,
                elr,
                ..
            } if focus.on(*partition) => {
                self.isr = isr.clone();
                self.elr = elr.clone();
                self.isr_known = true;
            }
            EventKind::BecameLeader {
                broker,
                partition,
                leader_epoch,
                ..
            } if focus.on(*partition) => {
                self.acting.insert(*broker);
                // Partitions start led by their first replica without an election.
                if self.epoch.is_none() {
                    self.leader = Some(*broker);
                    self.epoch = Some(*leader_epoch);
                }
            }
            EventKind::BecameFollower {
                broker, partition, ..
            } if focus.on(*partition) => {
                self.acting.remove(broker);
            }
            EventKind::HwChanged {
                broker,
                partition,
                hw,
                ..
            }
            | EventKind::ReplicaRecovered {
                broker,
                partition,
                hw,
                ..
            }
            | EventKind::Truncated {
                broker,
                partition,
                hw,
                ..
            } if focus.on(*partition) => {
                self.hw.insert(*broker, *hw);
            }
            EventKind::Fault { description } => self.track_down(description),
            EventKind::Phase { name } if name == "heal" => self.down.clear(),
            _ => {}
        }
        self.track_holders(kind, focus);
    }

    /// Follows which brokers are down.
    fn track_down(&mut self, description: &str) {
        let brokers = |nodes: &[NodeId]| -> Vec<BrokerId> {
            let brokers = nodes.iter().filter_map(|n| match n {
                NodeId::Broker(b) => Some(*b),
                _ => None,
            });
            brokers.collect()
        };
        match fault_mark::parse(description) {
            Some(FaultMark::Crash(n) | FaultMark::PowerLoss(n)) => {
                brokers(&n).iter().for_each(|b| {
                    self.acting.remove(b);
                });
                self.down.extend(brokers(&n));
            }
            Some(FaultMark::DiskWipe(n)) => brokers(&n).iter().for_each(|b| {
                self.acting.remove(b);
            }),
            Some(FaultMark::Pause(n)) => self.down.extend(brokers(&n)),
            Some(FaultMark::Restart(n) | FaultMark::Resume(n)) => {
                brokers(&n).iter().for_each(|b| {
                    self.down.remove(b);
                });
            }
            _ => {}
        }
    }

    /// Follows the focus message into and out of the replicas' logs.
    fn track_holders(&mut self, kind: &EventKind, focus: &Focus) {
        let Some(value) = focus.value else { return };
        match kind {
            EventKind::LeaderAppended {
                broker,
                partition,
                leader_epoch,
                base_offset,
                values,
            } if focus.on(*partition) => {
                if let Some(i) = values.iter().position(|v| *v == value) {
                    self.appended = Some((*broker, *leader_epoch));
                    self.hold(*broker, base_offset.0 + i as u64, focus);
                }
            }
            EventKind::FollowerAppended {
                broker,
                partition,
                base_offset,
                records,
                ..
            } if focus.on(*partition) => {
                if let Some(i) = records.iter().position(|(_, v)| *v == value) {
                    self.hold(*broker, base_offset.0 + i as u64, focus);
                }
            }
            EventKind::Truncated {
                broker,
                partition,
                to: end,
                ..
            }
            | EventKind::ReplicaRecovered {
                broker,
                partition,
                leo: end,
                ..
            } if focus.on(*partition)
                && self.holders.get(broker).is_some_and(|at| *at >= end.0) =>
            {
                self.holders.remove(broker);
            }
            _ => {}
        }
    }

    /// `broker` appended the focus message at `offset`. For a read that should not have
    /// happened only the offset read counts: a copy elsewhere is another record.
    fn hold(&mut self, broker: BrokerId, offset: u64, focus: &Focus) {
        if focus.kind == ViolationKind::UncommittedRead && focus.offset != Some(offset) {
            return;
        }
        self.holders.insert(broker, offset);
        self.ever_held = true;
    }

    /// Whether `broker`'s log holds the focus message.
    pub fn holds(&self, broker: BrokerId) -> bool {
        self.holders.contains_key(&broker)
    }

    /// `broker-1 (the leader of events-0)`, `broker-2 (the deposed leader of events-0,
    /// still acting as its leader)`, `broker-2 (a follower in the ISR)`, `broker-3 (a
    /// follower outside the ISR)`, or just `broker-4`.
    /// A down broker says so: `broker-2 (the leader of events-0, down)`.
    pub fn role(&self, broker: BrokerId, partition_name: &str) -> String {
        let mut role = if self.leader == Some(broker) {
            format!("the leader of {partition_name}")
        } else if self.acting.contains(&broker) {
            format!("the deposed leader of {partition_name}, still acting as its leader")
        } else if self.isr.contains(&broker) {
            "a follower in the ISR".to_string()
        } else if self.hosts.contains(&broker) && self.isr_known {
            "a follower outside the ISR".to_string()
        } else {
            String::new()
        };
        if self.down.contains(&broker) {
            role = if role.is_empty() {
                "down".to_string()
            } else {
                format!("{role}, down")
            };
        }
        if role.is_empty() {
            format!("broker-{broker}")
        } else {
            format!("broker-{broker} ({role})")
        }
    }

    /// The leader, if it is up.
    pub fn running_leader(&self) -> Option<BrokerId> {
        self.leader.filter(|b| !self.down.contains(b))
    }
}
