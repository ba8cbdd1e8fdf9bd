//! The controller (one KRaft controller node): broker registration with broker epochs,
//! liveness by heartbeats, fencing, leader election, AlterPartition validation, and
//! metadata propagation (`ClusterControlManager`, `ReplicationControlManager`,
//! `PartitionChangeBuilder`).
//!
//! Invariants: the leader is in the ISR (or the partition is offline); ELR and ISR are
//! disjoint; the leader epoch grows by one on every leader change and the partition
//! epoch on every change. Durable state is written to disk after every change, so a
//! controller crash loses nothing; while it is down nothing changes leadership.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::core::message::{ErrorCode, Message, MetadataImage};
use crate::core::metadata::{BrokerRegistration, PartitionRegistration};
use crate::core::{Disconnect, DiskOp, Effect, StateMachine};
use crate::history::EventKind;
use crate::layout::Layout;
use crate::types::{
    BrokerEpoch, BrokerId, LeaderEpoch, NodeId, PartitionEpoch, PartitionId, SimTime,
};

/// One broker's registration as the controller keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerInfo {
    /// Current broker epoch (0: never registered).
    pub broker_epoch: BrokerEpoch,
    /// Incarnation id of the registered process.
    pub incarnation: u64,
    /// Fenced brokers cannot lead or be in an ISR.
    pub fenced: bool,
    /// Metadata version written by the registration; unfenced once the broker has it.
    pub registered_version: u64,
}

/// Everything the controller keeps durably (KRaft's metadata log, condensed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerState {
    /// Per broker.
    pub brokers: BTreeMap<BrokerId, BrokerInfo>,
    /// Per partition, indexed by `PartitionId`.
    pub partitions: Vec<PartitionRegistration>,
    /// Next broker epoch to hand out.
    pub next_broker_epoch: u64,
    /// Bumped on every change.
    pub metadata_version: u64,
}

/// The controller.
#[derive(Clone, Debug)]
pub struct Controller {
    config: Config,
    state: ControllerState,
    last_heartbeat: BTreeMap<BrokerId, SimTime>,
    session_check_at: SimTime,
}

/// How often sessions are checked and leaderless partitions retried.
pub const SESSION_CHECK_INTERVAL_MS: u64 = 100;

impl Controller {
    /// A controller booting from its disk (`None`: a new cluster, partitions created with
    /// `replicas[0]` leading in epoch 0 and every replica in the ISR).
    pub fn recover(
        config: Config,
        layout: &Layout,
        stored: Option<ControllerState>,
        now: SimTime,
    ) -> Controller {
        let state = stored.unwrap_or_else(|| ControllerState {
            brokers: layout
                .brokers
                .iter()
                .map(|b| {
                    (
                        *b,
                        BrokerInfo {
                            broker_epoch: BrokerEpoch(0),
                            incarnation: 0,
                            fenced: true,
                            registered_version: 0,
                        },
                    )
                })
                .collect(),
            partitions: layout
                .partition_ids()
                .map(|p| {
                    let replicas = layout.partition(p).replicas.clone();
                    PartitionRegistration {
                        partition: p,
                        leader: Some(replicas[0]),
                        leader_epoch: LeaderEpoch(0),
                        partition_epoch: PartitionEpoch(0),
                        isr: replicas.clone(),
                        elr: Vec::new(),
                        last_known_elr: Vec::new(),
                        recovering: false,
                        replicas,
                    }
                })
                .collect(),
            next_broker_epoch: 1,
            metadata_version: 1,
        });
        // A restarted controller gives every registered broker a fresh session.
        let last_heartbeat = state.brokers.keys().map(|b| (*b, now)).collect();
        Controller {
            config,
            state,
            last_heartbeat,
            session_check_at: now,
        }
    }

    /// The durable state (for the final report and tests).
    pub fn state(&self) -> &ControllerState {
        &self.state
    }

    /// The metadata image brokers and clients see.
    pub fn image(&self) -> MetadataImage {
        MetadataImage {
            version: self.state.metadata_version,
            partitions: self.state.partitions.clone(),
            brokers: self
                .state
                .brokers
                .iter()
                .map(|(b, info)| BrokerRegistration {
                    broker: *b,
                    broker_epoch: info.broker_epoch,
                    fenced: info.fenced,
                })
                .collect(),
        }
    }

    /// Whether `broker` leads a partition. Only a fenced broker can be an initial leader
    /// (`replicas[0]`, before its first heartbeat unfenced it); one whose session
    /// expires is fenced again, which moves its leadership like any other.
    fn leads_any(&self, broker: BrokerId) -> bool {
        self.state
            .partitions
            .iter()
            .any(|p| p.leader == Some(broker))
    }

    fn acceptable_leader(&self, broker: BrokerId) -> bool {
        self.state
            .brokers
            .get(&broker)
            .is_some_and(|b| b.broker_epoch.0 > 0 && !b.fenced)
    }

    /// Commits a change: bump the version, persist, push metadata to every broker.
    fn commit(&mut self, out: &mut Vec<Effect>) {
        self.state.metadata_version += 1;
        out.push(Effect::Disk(DiskOp::ControllerState(Box::new(
            self.state.clone(),
        ))));
        let image = Box::new(self.image());
        for b in self.state.brokers.keys() {
            out.push(Effect::Send {
                to: NodeId::Broker(*b),
                message: Message::MetadataUpdate {
                    metadata: image.clone(),
                },
            });
        }
    }

    /// `PartitionChangeBuilder.build`: new ISR, ELR bookkeeping and (re-)election.
    /// Returns whether the partition record changed.
    fn change_partition(
        &mut self,
        p: PartitionId,
        target_isr: Vec<BrokerId>,
        out: &mut Vec<Effect>,
    ) -> bool {
        let min_isr = usize::from(self.config.min_insync_replicas);
        let current = self.state.partitions[p.0 as usize].clone();
        let mut isr = target_isr;
        let mut elr = current.elr.clone();
        if self.config.eligible_leader_replicas {
            if isr.len() >= min_isr {
                elr.clear();
            } else {
                for b in current.isr.iter().chain(current.elr.iter()) {
                    if !isr.contains(b) && !elr.contains(b) {
                        elr.push(*b);
                    }
                }
                elr.retain(|b| !isr.contains(b));
            }
        } else if isr.is_empty() {
            isr = current.isr.clone(); // without ELR the ISR is never made empty
        }
        let valid = |c: &Controller, b: BrokerId, isr: &[BrokerId], elr: &[BrokerId]| {
            (isr.contains(&b) || (isr.is_empty() && elr.contains(&b))) && c.acceptable_leader(b)
        };
        let mut leader = current.leader;
        let mut unclean = false;
        let keep = current.leader.is_some_and(|l| valid(self, l, &isr, &elr));
        if !keep {
            leader = current
                .replicas
                .iter()
                .copied()
                .find(|b| valid(self, *b, &isr, &elr));
            if leader.is_none()
                && self.config.eligible_leader_replicas
                && isr.is_empty()
                && elr.is_empty()
            {
                // KIP-966: with ISR and ELR empty, the single last known leader may lead,
                // recorded as an unclean election (`canElectLastKnownLeader`).
                if let [last] = current.last_known_elr[..]
                    && self.acceptable_leader(last)
                {
                    leader = Some(last);
                    unclean = true;
                }
            }
            if leader.is_none() && self.config.unclean_leader_election {
                leader = current
                    .replicas
                    .iter()
                    .copied()
                    .find(|b| self.acceptable_leader(*b));
                unclean = leader.is_some();
            }
        }
        let leader_changed = leader != current.leader;
        // `maybeUpdateLastKnownLeader`: remember the leader when the ISR first empties;
        // forget it once the partition has a leader again.
        let mut last_known_elr = current.last_known_elr.clone();
        if self.config.eligible_leader_replicas {
            if isr.is_empty() && leader.is_none() {
                if let Some(previous) = current.leader {
                    last_known_elr = vec![previous];
                }
            } else if leader.is_some() {
                last_known_elr.clear();
            }
        }
        let mut recovering = current.recovering;
        if leader_changed && let Some(l) = leader {
            if elr.contains(&l) {
                isr = vec![l];
                elr.retain(|b| *b != l);
            }
            if unclean {
                isr = vec![l];
                elr.clear();
                recovering = true;
            }
        }
        if !leader_changed
            && isr == current.isr
            && elr == current.elr
            && last_known_elr == current.last_known_elr
        {
            return false;
        }
        let registration = &mut self.state.partitions[p.0 as usize];
        registration.isr = isr.clone();
        registration.elr = elr.clone();
        registration.last_known_elr = last_known_elr;
        registration.recovering = recovering;
        registration.partition_epoch = PartitionEpoch(registration.partition_epoch.0 + 1);
        if leader_changed {
            registration.leader = leader;
            registration.leader_epoch = registration.leader_epoch.next();
            out.push(Effect::Trace(EventKind::LeaderElected {
                partition: p,
                leader,
                leader_epoch: registration.leader_epoch,
                partition_epoch: registration.partition_epoch,
                isr,
                elr,
                unclean,
            }));
        } else {
            out.push(Effect::Trace(EventKind::IsrChanged {
                partition: p,
                leader_epoch: registration.leader_epoch,
                partition_epoch: registration.partition_epoch,
                isr,
                elr,
            }));
        }
        let registration = &self.state.partitions[p.0 as usize];
        if let Some(l) = registration.leader {
            assert!(registration.isr.contains(&l), "leader must be in the ISR");
        }
        assert!(
            registration
                .elr
                .iter()
                .all(|b| !registration.isr.contains(b)),
            "ELR and ISR must be disjoint"
        );
        true
    }

    fn on_register(
        &mut self,
        now: SimTime,
        broker: BrokerId,
        incarnation: u64,
        previous: Option<BrokerEpoch>,
        out: &mut Vec<Effect>,
    ) {
        let Some(info) = self.state.brokers.get(&broker).cloned() else {
            return;
        };
        let session_valid = !info.fenced
            && self
                .last_heartbeat
                .get(&broker)
                .is_some_and(|t| now.ms_since(*t) <= self.config.broker_session_timeout_ms);
        let result = if info.broker_epoch.0 > 0 && info.incarnation == incarnation {
            Ok(info.broker_epoch) // a retried registration
        } else if info.broker_epoch.0 > 0 && session_valid {
            Err(ErrorCode::DuplicateBrokerRegistration)
        } else {
            if !info.fenced || (info.broker_epoch.0 > 0 && self.leads_any(broker)) {
                // The old incarnation's session expired before the periodic check noticed:
                // the new registration fences it, which takes it out of every ISR and
                // leadership in the same change, so no new process resumes an old
                // leadership in the same leader epoch. (A fenced leader is an initial
                // leader that died before its first unfencing heartbeat.)
                self.fence(broker, out);
                self.elect_leaderless(out);
            }
            let epoch = BrokerEpoch(self.state.next_broker_epoch);
            self.state.next_broker_epoch += 1;
            let unclean_shutdown = previous != Some(info.broker_epoch);
            let registered_version = self.state.metadata_version + 1;
            self.state.brokers.insert(
                broker,
                BrokerInfo {
                    broker_epoch: epoch,
                    incarnation,
                    fenced: true,
                    registered_version,
                },
            );
            self.last_heartbeat.insert(broker, now);
            out.push(Effect::Trace(EventKind::BrokerRegistered {
                broker,
                broker_epoch: epoch,
            }));
            if unclean_shutdown {
                self.remove_from_elr(broker, out); // KIP-966: unclean restart leaves the ELR
            }
            self.commit(out);
            Ok(epoch)
        };
        out.push(Effect::Send {
            to: NodeId::Broker(broker),
            message: Message::RegisterBrokerResponse { result },
        });
    }

    fn remove_from_elr(&mut self, broker: BrokerId, out: &mut Vec<Effect>) {
        for i in 0..self.state.partitions.len() {
            let registration = &mut self.state.partitions[i];
            if registration.elr.contains(&broker) {
                registration.elr.retain(|b| *b != broker);
                registration.partition_epoch = PartitionEpoch(registration.partition_epoch.0 + 1);
                out.push(Effect::Trace(EventKind::IsrChanged {
                    partition: registration.partition,
                    leader_epoch: registration.leader_epoch,
                    partition_epoch: registration.partition_epoch,
                    isr: registration.isr.clone(),
                    elr: registration.elr.clone(),
                }));
            }
        }
    }

    fn on_heartbeat(
        &mut self,
        now: SimTime,
        broker: BrokerId,
        epoch: BrokerEpoch,
        version: u64,
        out: &mut Vec<Effect>,
    ) {
        let Some(info) = self.state.brokers.get(&broker).cloned() else {
            return;
        };
        if info.broker_epoch != epoch {
            out.push(Effect::Send {
                to: NodeId::Broker(broker),
                message: Message::HeartbeatResponse {
                    error: Some(ErrorCode::StaleBrokerEpoch),
                    metadata: None,
                },
            });
            return;
        }
        self.last_heartbeat.insert(broker, now);
        if info.fenced && version >= info.registered_version {
            self.state.brokers.get_mut(&broker).expect("present").fenced = false;
            out.push(Effect::Trace(EventKind::BrokerUnfenced { broker }));
            self.elect_leaderless(out);
            self.commit(out);
        }
        let metadata = (version < self.state.metadata_version).then(|| Box::new(self.image()));
        out.push(Effect::Send {
            to: NodeId::Broker(broker),
            message: Message::HeartbeatResponse {
                error: None,
                metadata,
            },
        });
    }

    /// Tries to elect a leader for every partition without one.
    fn elect_leaderless(&mut self, out: &mut Vec<Effect>) -> bool {
        let mut changed = false;
        for i in 0..self.state.partitions.len() {
            if self.state.partitions[i].leader.is_none() {
                let isr = self.state.partitions[i].isr.clone();
                changed |= self.change_partition(PartitionId(i as u16), isr, out);
            }
        }
        changed
    }

    fn fence(&mut self, broker: BrokerId, out: &mut Vec<Effect>) {
        self.state.brokers.get_mut(&broker).expect("known").fenced = true;
        out.push(Effect::Trace(EventKind::BrokerFenced { broker }));
        for i in 0..self.state.partitions.len() {
            let registration = &self.state.partitions[i];
            if registration.isr.contains(&broker) || registration.leader == Some(broker) {
                let isr: Vec<BrokerId> = registration
                    .isr
                    .iter()
                    .filter(|b| **b != broker)
                    .copied()
                    .collect();
                self.change_partition(PartitionId(i as u16), isr, out);
            }
        }
    }

    fn on_session_check(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        let expired: Vec<BrokerId> =
            self.state
                .brokers
                .iter()
                .filter(|(b, info)| {
                    // Test hook: a controller that never fences (slow-failover's test).
                    !self.config.hooks.controller_never_fences
                        && (!info.fenced || self.leads_any(**b))
                        && self.last_heartbeat.get(b).is_some_and(|t| {
                            now.ms_since(*t) > self.config.broker_session_timeout_ms
                        })
                })
                .map(|(b, _)| *b)
                .collect();
        let mut changed = !expired.is_empty();
        for broker in expired {
            self.fence(broker, out);
        }
        changed |= self.elect_leaderless(out);
        if changed {
            self.commit(out);
        }
        self.session_check_at = now.plus_ms(SESSION_CHECK_INTERVAL_MS);
    }

    #[allow(clippy::too_many_arguments)]
    fn on_alter_partition(
        &mut self,
        broker: BrokerId,
        broker_epoch: BrokerEpoch,
        p: PartitionId,
        (leader_epoch, partition_epoch): (LeaderEpoch, PartitionEpoch),
        new_isr: Vec<(BrokerId, BrokerEpoch)>,
        attempt: u64,
        out: &mut Vec<Effect>,
    ) {
        let result = self.validate_alter(
            broker,
            broker_epoch,
            p,
            leader_epoch,
            partition_epoch,
            &new_isr,
        );
        let result = result.map(|isr| {
            if self.change_partition(p, isr, out) {
                self.state.partitions[p.0 as usize].recovering = false;
                self.commit(out);
            }
            self.state.partitions[p.0 as usize].clone()
        });
        out.push(Effect::Send {
            to: NodeId::Broker(broker),
            message: Message::AlterPartitionResponse {
                partition: p,
                attempt,
                result,
            },
        });
    }

    /// `ReplicationControlManager.validateAlterPartitionData`, in Kafka's order.
    fn validate_alter(
        &self,
        broker: BrokerId,
        broker_epoch: BrokerEpoch,
        p: PartitionId,
        leader_epoch: LeaderEpoch,
        partition_epoch: PartitionEpoch,
        new_isr: &[(BrokerId, BrokerEpoch)],
    ) -> Result<Vec<BrokerId>, ErrorCode> {
        let current = self
            .state
            .partitions
            .get(p.0 as usize)
            .ok_or(ErrorCode::InvalidRequest)?;
        if self.state.brokers.get(&broker).map(|b| b.broker_epoch) != Some(broker_epoch) {
            return Err(ErrorCode::StaleBrokerEpoch);
        }
        if leader_epoch < current.leader_epoch {
            return Err(ErrorCode::FencedLeaderEpoch);
        }
        if current.leader != Some(broker) || leader_epoch > current.leader_epoch {
            return Err(ErrorCode::InvalidRequest);
        }
        if partition_epoch != current.partition_epoch {
            return Err(ErrorCode::InvalidUpdateVersion);
        }
        let isr: Vec<BrokerId> = new_isr.iter().map(|(b, _)| *b).collect();
        if !isr.contains(&broker) || isr.iter().any(|b| !current.replicas.contains(b)) {
            return Err(ErrorCode::InvalidRequest);
        }
        for (b, epoch) in new_isr {
            if current.isr.contains(b) {
                continue;
            }
            let registered = self.state.brokers.get(b);
            if !registered.is_some_and(|r| !r.fenced && r.broker_epoch == *epoch) {
                return Err(ErrorCode::IneligibleReplica);
            }
        }
        Ok(isr)
    }
}

impl StateMachine for Controller {
    fn on_message(&mut self, now: SimTime, from: NodeId, message: Message, out: &mut Vec<Effect>) {
        match message {
            Message::RegisterBroker {
                broker,
                incarnation,
                previous_broker_epoch,
            } => self.on_register(now, broker, incarnation, previous_broker_epoch, out),
            Message::Heartbeat {
                broker,
                broker_epoch,
                metadata_version,
            } => self.on_heartbeat(now, broker, broker_epoch, metadata_version, out),
            Message::AlterPartition {
                broker,
                broker_epoch,
                partition,
                leader_epoch,
                partition_epoch,
                new_isr,
                attempt,
            } => self.on_alter_partition(
                broker,
                broker_epoch,
                partition,
                (leader_epoch, partition_epoch),
                new_isr,
                attempt,
                out,
            ),
            Message::MetadataRequest { correlation } => out.push(Effect::Send {
                to: from,
                message: Message::MetadataResponse {
                    correlation,
                    metadata: Box::new(self.image()),
                },
            }),
            _ => {}
        }
    }

    /// Nothing to do: a KRaft controller fences a broker when its heartbeats stop
    /// (`BrokerHeartbeatManager`), never because a connection ended, and keeps no request
    /// of its own in flight (metadata pushes are fire and forget; heartbeat answers carry
    /// what a broker missed).
    fn on_disconnect(&mut self, _: SimTime, _: NodeId, _: Disconnect, _: &mut Vec<Effect>) {}

    fn on_timeout(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        if now >= self.session_check_at {
            self.on_session_check(now, out);
        }
    }

    fn next_deadline(&self) -> Option<SimTime> {
        Some(self.session_check_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn register(c: &mut Controller, now: SimTime, broker: u8, incarnation: u64) -> BrokerEpoch {
        let previous = Some(c.state.brokers[&BrokerId(broker)].broker_epoch);
        let mut out = Vec::new();
        let message = Message::RegisterBroker {
            broker: BrokerId(broker),
            incarnation,
            previous_broker_epoch: previous.filter(|e| e.0 > 0),
        };
        c.on_message(now, NodeId::Broker(BrokerId(broker)), message, &mut out);
        c.state.brokers[&BrokerId(broker)].broker_epoch
    }

    fn heartbeat(c: &mut Controller, now: SimTime, broker: u8) {
        let message = Message::Heartbeat {
            broker: BrokerId(broker),
            broker_epoch: c.state.brokers[&BrokerId(broker)].broker_epoch,
            metadata_version: c.state.metadata_version,
        };
        c.on_message(
            now,
            NodeId::Broker(BrokerId(broker)),
            message,
            &mut Vec::new(),
        );
    }

    fn session_check(c: &mut Controller, now: SimTime) {
        c.on_timeout(now, &mut Vec::new());
    }

    #[test]
    fn an_initial_leader_that_dies_before_it_was_unfenced_loses_its_leadership() {
        let layout = Layout::new(3, &[("t".to_string(), 1, 3)]);
        let config = Config {
            broker_session_timeout_ms: 1000,
            ..Config::default()
        };
        let t0 = SimTime::ZERO;
        let fresh = || Controller::recover(config.clone(), &layout, None, t0);
        // Broker 1, the initial leader, registers and crashes before any heartbeat
        // unfenced it; brokers 2 and 3 heartbeat on.
        let mut c = fresh();
        register(&mut c, t0, 1, 11);
        for b in [2, 3] {
            register(&mut c, t0, b, 20 + u64::from(b));
        }
        for ms in (100..=1200).step_by(100) {
            heartbeat(&mut c, t0.plus_ms(ms), 2);
            heartbeat(&mut c, t0.plus_ms(ms), 3);
            session_check(&mut c, t0.plus_ms(ms));
        }
        assert!(c.state.brokers[&BrokerId(1)].fenced);
        assert_eq!(
            c.state.partitions[0].leader,
            Some(BrokerId(2)),
            "the session check moved it"
        );
        // Back before its session expired, it must not resume leading in the same epoch.
        let mut c = fresh();
        register(&mut c, t0, 1, 11);
        register(&mut c, t0, 2, 22);
        heartbeat(&mut c, t0.plus_ms(50), 2);
        register(&mut c, t0.plus_ms(300), 1, 12);
        let after = &c.state.partitions[0];
        assert_eq!(after.leader, Some(BrokerId(2)), "the registration moved it");
        assert!(after.leader_epoch > LeaderEpoch(0));
    }

    #[test]
    fn a_new_incarnation_registering_after_its_session_expired_loses_its_leadership() {
        let layout = Layout::new(2, &[("t".to_string(), 1, 2)]);
        let config = Config {
            broker_session_timeout_ms: 1000,
            ..Config::default()
        };
        let mut c = Controller::recover(config, &layout, None, SimTime::ZERO);
        let t0 = SimTime::ZERO;
        register(&mut c, t0, 1, 11);
        register(&mut c, t0, 2, 22);
        heartbeat(&mut c, t0.plus_ms(10), 1);
        heartbeat(&mut c, t0.plus_ms(10), 2);
        let before = c.state.partitions[0].clone();
        assert_eq!(before.leader, Some(BrokerId(1)));
        assert!(!c.state.brokers[&BrokerId(1)].fenced);
        // Broker 1 loses power; broker 2 keeps heartbeating. Its successor registers
        // after the old session expired, before any session check ran.
        heartbeat(&mut c, t0.plus_ms(900), 2);
        register(&mut c, t0.plus_ms(1500), 1, 12);
        let after = &c.state.partitions[0];
        assert_eq!(after.leader, Some(BrokerId(2)), "leadership moved");
        assert!(
            after.leader_epoch > before.leader_epoch,
            "in a new leader epoch"
        );
        assert_eq!(after.isr, vec![BrokerId(2)]);
    }
}
