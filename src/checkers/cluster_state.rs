//! The cluster as the history shows it, one event at a time, for white-box liveness
//! checks: which processes run (from `Fault` events: crash, power_loss, restart, pause,
//! resume), which links are cut (isolate, partition, heal), the network's packet loss and
//! the largest latency it has had (packet_loss, latency, and the start network), which
//! brokers the controller registered since they last started and whether it fenced them
//! (`BrokerRegistered`, `BrokerFenced`, `BrokerUnfenced`), each partition's leader epoch,
//! ISR and ELR at the controller (`LeaderElected`, `IsrChanged`), and which broker leads
//! which partition in which epoch (`BecameLeader`, `BecameFollower`).
//!
//! Every node runs when the run starts, and a partition's ISR is then all its replicas
//! (the brokers that recover a log of it, `ReplicaRecovered`) until the controller records
//! one. Faults follow the shell's rules: `restart` starts only a stopped process, `pause`
//! only a running one, `resume` only a paused one; cuts add up until `heal`.

use std::collections::{BTreeMap, BTreeSet};

use crate::fault_mark::{self, FaultMark};
use crate::history::{EventKind, History};
use crate::quorum_event::QuorumEvent;
use crate::types::{BrokerId, LeaderEpoch, NodeId, PartitionId};

/// Whether a process runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Process {
    /// Running.
    Up,
    /// Crashed or powered off.
    Down,
    /// Frozen.
    Paused,
}

/// One partition as the controller last recorded it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PartitionState {
    /// The current leader epoch (0 until the first election).
    pub leader_epoch: LeaderEpoch,
    /// The leader the controller named (before the first election: the broker that
    /// took up leadership in epoch 0, once it did).
    pub leader: Option<BrokerId>,
    /// In-sync replicas.
    pub isr: Vec<BrokerId>,
    /// Eligible leader replicas (KIP-966).
    pub elr: Vec<BrokerId>,
    /// Whether the controller recorded this partition yet (else the ISR is the replicas).
    recorded: bool,
}

/// The replayed cluster.
#[derive(Clone, Debug)]
pub struct ClusterState {
    processes: BTreeMap<NodeId, Process>,
    isolated: BTreeSet<NodeId>,
    cut: BTreeSet<(NodeId, NodeId)>,
    packet_loss: f64,
    latency_max_ms: u64,
    /// Brokers registered since their latest start: whether fenced.
    fenced: BTreeMap<BrokerId, bool>,
    /// Brokers the controller holds unfenced (whatever incarnation registered).
    unfenced_at_controller: BTreeSet<BrokerId>,
    partitions: BTreeMap<PartitionId, PartitionState>,
    /// The epoch each (broker, partition) leads in, since the broker last started.
    leading: BTreeMap<(BrokerId, PartitionId), LeaderEpoch>,
    /// The controllers form a quorum (the history has quorum events).
    quorum: bool,
    /// The active controller as last recorded: the single one, or the quorum controller
    /// that last activated and has not renounced.
    active: Option<NodeId>,
    /// A quorum's controllers (seen in its events).
    controllers: BTreeSet<NodeId>,
}

impl ClusterState {
    /// The cluster at the start of `history`: everything runs, the start network.
    pub fn new(history: &History) -> ClusterState {
        let controllers: BTreeSet<NodeId> = history
            .events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Quorum(q) if matches!(q.node(), NodeId::Controller(_)) => Some(q.node()),
                _ => None,
            })
            .collect();
        let quorum = !controllers.is_empty();
        ClusterState {
            processes: BTreeMap::new(),
            isolated: BTreeSet::new(),
            cut: BTreeSet::new(),
            packet_loss: history.network.packet_loss,
            latency_max_ms: history.network.latency_ms.1,
            fenced: BTreeMap::new(),
            unfenced_at_controller: BTreeSet::new(),
            partitions: BTreeMap::new(),
            leading: BTreeMap::new(),
            quorum,
            active: (!quorum).then_some(NodeId::CONTROLLER),
            controllers,
        }
    }

    /// Applies one event; returns whether it can have changed anything this module tracks.
    pub fn apply(&mut self, kind: &EventKind) -> bool {
        use EventKind::*;
        match kind {
            Quorum(QuorumEvent::Activated { node, .. }) => self.active = Some(*node),
            Quorum(QuorumEvent::Renounced { node, .. }) => {
                if self.active == Some(*node) {
                    self.active = None;
                }
            }
            Fault { description } => match fault_mark::parse(description) {
                Some(mark) => self.fault(mark),
                None => return false,
            },
            BrokerRegistered { broker, .. } => {
                self.fenced.insert(*broker, true);
                self.unfenced_at_controller.remove(broker);
            }
            BrokerFenced { broker } => {
                self.set_fenced(*broker, true);
                self.unfenced_at_controller.remove(broker);
            }
            BrokerUnfenced { broker } => {
                self.set_fenced(*broker, false);
                self.unfenced_at_controller.insert(*broker);
            }
            LeaderElected {
                partition,
                leader,
                leader_epoch,
                isr,
                elr,
                ..
            } => {
                let state = self.partitions.entry(*partition).or_default();
                state.leader_epoch = *leader_epoch;
                state.leader = *leader;
                state.isr.clone_from(isr);
                state.elr.clone_from(elr);
                state.recorded = true;
            }
            IsrChanged {
                partition,
                isr,
                elr,
                ..
            } => {
                let state = self.partitions.entry(*partition).or_default();
                state.isr.clone_from(isr);
                state.elr.clone_from(elr);
                state.recorded = true;
            }
            BecameLeader {
                broker,
                partition,
                leader_epoch,
                ..
            } => {
                self.leading.insert((*broker, *partition), *leader_epoch);
                let state = self.partitions.entry(*partition).or_default();
                if !state.recorded && *leader_epoch == state.leader_epoch {
                    state.leader = Some(*broker);
                }
            }
            BecameFollower {
                broker, partition, ..
            } => {
                self.leading.remove(&(*broker, *partition));
            }
            ReplicaRecovered {
                broker, partition, ..
            } => {
                let state = self.partitions.entry(*partition).or_default();
                if !state.recorded && !state.isr.contains(broker) {
                    state.isr.push(*broker);
                }
            }
            _ => return false,
        }
        true
    }

    fn set_fenced(&mut self, broker: BrokerId, fenced: bool) {
        if let Some(f) = self.fenced.get_mut(&broker) {
            *f = fenced;
        }
    }

    fn fault(&mut self, mark: FaultMark) {
        match mark {
            FaultMark::Crash(nodes) | FaultMark::PowerLoss(nodes) => {
                for node in nodes {
                    self.stop(node);
                }
            }
            FaultMark::Restart(nodes) => {
                for node in nodes {
                    if self.process(node) == Process::Down {
                        self.stop(node); // a new incarnation: nothing registered or led yet
                        self.processes.insert(node, Process::Up);
                    }
                }
            }
            FaultMark::DiskWipe(nodes) => {
                for node in nodes {
                    if self.process(node) != Process::Down {
                        self.stop(node); // a new incarnation, at once
                        self.processes.insert(node, Process::Up);
                    }
                }
            }
            FaultMark::Pause(nodes) => self.switch(&nodes, Process::Up, Process::Paused),
            FaultMark::Resume(nodes) => self.switch(&nodes, Process::Paused, Process::Up),
            FaultMark::Isolate(nodes) => self.isolated.extend(nodes),
            FaultMark::Partition(groups) => {
                for (i, left) in groups.iter().enumerate() {
                    for right in &groups[i + 1..] {
                        for a in left {
                            for b in right.iter().filter(|b| *b != a) {
                                self.cut.insert((*a, *b));
                                self.cut.insert((*b, *a));
                            }
                        }
                    }
                }
            }
            FaultMark::Heal => {
                self.isolated.clear();
                self.cut.clear();
            }
            FaultMark::PacketLoss(rate) => self.packet_loss = rate,
            FaultMark::Latency(_, high) => self.latency_max_ms = self.latency_max_ms.max(high),
        }
    }

    /// A process stops: it loses its registration and every leadership.
    fn stop(&mut self, node: NodeId) {
        self.processes.insert(node, Process::Down);
        if let NodeId::Broker(b) = node {
            self.fenced.remove(&b);
            self.leading.retain(|(broker, _), _| *broker != b);
        }
    }

    fn switch(&mut self, nodes: &[NodeId], from: Process, to: Process) {
        for node in nodes {
            if self.process(*node) == from {
                self.processes.insert(*node, to);
            }
        }
    }

    /// Whether `node` runs, is stopped or paused.
    pub fn process(&self, node: NodeId) -> Process {
        self.processes.get(&node).copied().unwrap_or(Process::Up)
    }

    /// The largest per-message latency the network has had so far, in milliseconds.
    pub fn latency_max_ms(&self) -> u64 {
        self.latency_max_ms
    }

    /// Every datagram between the controller and `broker` arrives, both ways: no cut, no
    /// packet loss anywhere.
    pub fn reachable_from_controller(&self, broker: BrokerId) -> bool {
        let Some(c) = self.active else {
            return false;
        };
        self.connected(c, NodeId::Broker(broker))
    }

    /// Every datagram between `a` and `b` arrives, both ways.
    fn connected(&self, c: NodeId, b: NodeId) -> bool {
        self.packet_loss == 0.0
            && !self.isolated.contains(&c)
            && !self.isolated.contains(&b)
            && !self.cut.contains(&(c, b))
            && !self.cut.contains(&(b, c))
    }

    /// The active controller as last recorded, if it can act: it runs, and in a quorum
    /// every datagram between it and a majority of controllers arrives (else its records
    /// cannot commit).
    pub fn usable_controller(&self) -> Option<NodeId> {
        let c = self.active.filter(|c| self.process(*c) == Process::Up)?;
        (!self.quorum || self.majority_group(c).is_some()).then_some(c)
    }

    /// The running controllers `c` reaches both ways (itself included), if they are a
    /// majority of the quorum.
    fn majority_group(&self, c: NodeId) -> Option<Vec<NodeId>> {
        let group: Vec<NodeId> = self
            .controllers
            .iter()
            .copied()
            .filter(|d| self.process(*d) == Process::Up && (*d == c || self.connected(c, *d)))
            .collect();
        (group.len() > self.controllers.len() / 2).then_some(group)
    }

    /// Whether some controller of a quorum is stopped or paused, or some broker registered
    /// since it last started cannot exchange datagrams with it: a broker's metadata fetch sent to that controller (an
    /// observer asks a random voter once its fetch from the leader failed) waits out the
    /// Raft request timeout.
    pub fn controller_out_of_reach(&self) -> bool {
        self.quorum
            && self.controllers.iter().any(|c| {
                self.process(*c) != Process::Up
                    || self
                        .fenced
                        .keys()
                        .any(|b| !self.connected(*c, NodeId::Broker(*b)))
            })
    }

    /// Whether `broker` runs but is not registered since it last started or is fenced,
    /// while the active controller is usable and every datagram between the two arrives:
    /// nothing stops the broker from getting (back) into the cluster.
    pub fn shut_out(&self, broker: BrokerId) -> bool {
        let node = NodeId::Broker(broker);
        self.process(node) == Process::Up
            && !self.registered(broker)
            && self
                .usable_controller()
                .is_some_and(|c| self.connected(c, node))
    }

    /// A quorum's controllers that run but cannot exchange datagrams with a majority of the
    /// quorum (themselves included): each stands for election again and again.
    pub fn controllers_cut_off(&self) -> Vec<NodeId> {
        self.controllers
            .iter()
            .copied()
            .filter(|c| self.process(*c) == Process::Up && self.majority_group(*c).is_none())
            .collect()
    }

    /// Whether the controllers form a quorum.
    pub fn quorum(&self) -> bool {
        self.quorum
    }

    /// Whether a quorum has no usable active controller (none recorded, or it stopped or
    /// is cut off from a majority of controllers) while a majority of controllers runs and
    /// every datagram between them arrives: the quorum could elect one.
    pub fn quorum_could_elect(&self) -> bool {
        if !self.quorum {
            return false;
        }
        if self.usable_controller().is_some() {
            return false;
        }
        self.controllers.iter().any(|c| {
            self.majority_group(*c).is_some_and(|g| {
                g.iter()
                    .all(|a| g.iter().all(|b| a == b || self.connected(*a, *b)))
            })
        })
    }

    /// Registered since it last started and not fenced.
    pub fn registered(&self, broker: BrokerId) -> bool {
        self.fenced.get(&broker) == Some(&false)
    }

    /// The controller holds `broker` unfenced: as far as it can tell, its session is
    /// alive (the process may have stopped since; its session has not expired yet).
    pub fn unfenced_at_controller(&self, broker: BrokerId) -> bool {
        self.unfenced_at_controller.contains(&broker)
    }

    /// The partitions seen so far, with their state.
    pub fn partitions(&self) -> impl Iterator<Item = (PartitionId, &PartitionState)> {
        self.partitions.iter().map(|(p, s)| (*p, s))
    }

    /// Whether a running broker leads `partition` in its current leader epoch.
    pub fn has_running_leader(&self, partition: PartitionId) -> bool {
        let Some(state) = self.partitions.get(&partition) else {
            return false;
        };
        self.leading.iter().any(|((b, p), epoch)| {
            *p == partition
                && *epoch == state.leader_epoch
                && self.process(NodeId::Broker(*b)) == Process::Up
        })
    }

    /// Whether the leader the controller named for `partition` runs and is reachable from
    /// the controller (it may not have learned yet that it leads).
    pub fn leader_in_reach(&self, partition: PartitionId) -> bool {
        self.partitions
            .get(&partition)
            .and_then(|s| s.leader)
            .is_some_and(|l| {
                self.process(NodeId::Broker(l)) == Process::Up && self.reachable_from_controller(l)
            })
    }

    /// Whether `broker` could lead now as far as the controller can tell: it runs, is
    /// registered and unfenced, and reachable from the controller.
    pub fn electable(&self, broker: BrokerId) -> bool {
        self.process(NodeId::Broker(broker)) == Process::Up
            && self.registered(broker)
            && self.reachable_from_controller(broker)
    }

    /// The first ISR member, else ELR member, of `partition` that is [`Self::electable`].
    pub fn candidate(&self, partition: PartitionId) -> Option<BrokerId> {
        let state = self.partitions.get(&partition)?;
        state
            .isr
            .iter()
            .chain(&state.elr)
            .copied()
            .find(|b| self.electable(*b))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::types::Offset;

    const B1: BrokerId = BrokerId(1);
    const B2: BrokerId = BrokerId(2);

    fn state_after(b: &Builder) -> ClusterState {
        let mut state = ClusterState::new(&b.history);
        for event in &b.history.events {
            state.apply(&event.kind);
        }
        state
    }

    fn recovered(b: &mut Builder, broker: u8) {
        b.push(EventKind::ReplicaRecovered {
            broker: BrokerId(broker),
            partition: P0,
            leo: Offset(0),
            hw: Offset(0),
        });
    }

    fn registered(b: &mut Builder, broker: u8) {
        b.push(EventKind::BrokerRegistered {
            broker: BrokerId(broker),
            broker_epoch: crate::types::BrokerEpoch(1),
        });
        b.push(EventKind::BrokerUnfenced {
            broker: BrokerId(broker),
        });
    }

    #[test]
    fn a_crashed_leader_loses_its_leadership_and_registration_until_it_registers_again() {
        let mut b = Builder::new();
        recovered(&mut b, 1);
        recovered(&mut b, 2);
        registered(&mut b, 1);
        registered(&mut b, 2);
        b.became_leader(1, 0);
        let state = state_after(&b);
        assert!(state.has_running_leader(P0));
        assert_eq!(
            state.candidate(P0),
            Some(B1),
            "the initial ISR is every replica"
        );

        b.fault("crash broker-1");
        let state = state_after(&b);
        assert!(!state.has_running_leader(P0));
        assert_eq!(state.candidate(P0), Some(B2));

        b.fault("restart broker-1");
        let state = state_after(&b);
        assert_eq!(state.process(NodeId::Broker(B1)), Process::Up);
        assert!(!state.registered(B1), "a new incarnation registers again");
        assert!(!state.has_running_leader(P0));

        b.elected(2, 1, false);
        b.became_leader(2, 1);
        assert!(state_after(&b).has_running_leader(P0));
    }

    #[test]
    fn a_paused_leader_is_not_running_and_a_restart_leaves_a_running_node_alone() {
        let mut b = Builder::new();
        recovered(&mut b, 1);
        registered(&mut b, 1);
        b.became_leader(1, 0);
        b.fault("pause broker-1");
        b.fault("restart broker-1");
        let state = state_after(&b);
        assert_eq!(state.process(NodeId::Broker(B1)), Process::Paused);
        assert!(!state.has_running_leader(P0));
        b.fault("resume broker-1");
        b.fault("restart broker-1");
        let state = state_after(&b);
        assert!(state.has_running_leader(P0), "it kept its leadership");
        assert!(state.registered(B1));
    }

    #[test]
    fn cuts_and_packet_loss_make_a_broker_unreachable_until_healed() {
        let mut b = Builder::new();
        recovered(&mut b, 1);
        registered(&mut b, 1);
        assert!(state_after(&b).electable(B1));
        b.fault("partition [broker-1] | [broker-2, controller]");
        assert!(!state_after(&b).reachable_from_controller(B1));
        b.fault("heal");
        b.fault("isolate controller");
        assert!(!state_after(&b).reachable_from_controller(B1));
        b.fault("heal");
        b.fault("packet_loss 0.1");
        assert!(!state_after(&b).reachable_from_controller(B1));
        b.fault("packet_loss 0");
        b.fault("latency [5, 150]");
        b.fault("latency [1, 10]");
        let state = state_after(&b);
        assert!(state.electable(B1));
        assert_eq!(state.latency_max_ms(), 150);
        b.push(EventKind::BrokerFenced { broker: B1 });
        assert!(!state_after(&b).electable(B1));
    }

    #[test]
    fn the_controller_record_replaces_the_initial_isr() {
        let mut b = Builder::new();
        recovered(&mut b, 1);
        recovered(&mut b, 2);
        registered(&mut b, 2);
        b.push(EventKind::IsrChanged {
            partition: P0,
            leader_epoch: LeaderEpoch(0),
            partition_epoch: crate::types::PartitionEpoch(1),
            isr: vec![B1],
            elr: vec![],
        });
        recovered(&mut b, 2);
        assert_eq!(state_after(&b).candidate(P0), None, "broker-2 left the ISR");
    }
}
