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
use crate::core::quorum::partition_change::{self, ElectionRules};
use crate::core::quorum::records::{ControllerState, MetadataRecord};
use crate::core::{Disconnect, DiskOp, Effect, StateMachine};
use crate::history::EventKind;
use crate::layout::Layout;
use crate::types::{
    BrokerEpoch, BrokerId, LeaderEpoch, NodeId, Offset, PartitionEpoch, PartitionId, SimTime,
};

/// The controller.
#[derive(Clone, Debug)]
pub struct Controller {
    config: Config,
    state: ControllerState,
    last_heartbeat: BTreeMap<BrokerId, SimTime>,
    session_check_at: SimTime,
    sink: RecordSink,
}

/// Where the controller's records go.
#[derive(Clone, Debug)]
enum RecordSink {
    /// The single controller: records apply at once, and each commit persists the whole
    /// state and pushes it to every broker.
    Local,
    /// The active controller of a quorum: records apply speculatively and are collected
    /// for the metadata log, where the next one will land at `next_offset`; brokers learn
    /// them by fetching the log.
    Quorum {
        next_offset: Offset,
        written: Vec<MetadataRecord>,
    },
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
        let state = stored.unwrap_or_else(|| ControllerState::bootstrap(layout));
        // A restarted controller gives every registered broker a fresh session.
        Controller::with_sink(config, state, now, RecordSink::Local)
    }

    /// A controller taking over `state` at `now`, every registered broker with a fresh
    /// session.
    fn with_sink(config: Config, state: ControllerState, now: SimTime, sink: RecordSink) -> Self {
        let last_heartbeat = state.brokers.keys().map(|b| (*b, now)).collect();
        Controller {
            config,
            state,
            last_heartbeat,
            session_check_at: now,
            sink,
        }
    }

    /// The active controller of a quorum, taking over `state` (the metadata log replayed
    /// up to its epoch start) at `now`; its next record lands at `next_offset`. Every
    /// registered broker gets a fresh session (`ClusterControlManager.activate`).
    pub fn activate(
        config: Config,
        state: ControllerState,
        now: SimTime,
        next_offset: Offset,
    ) -> Controller {
        let sink = RecordSink::Quorum {
            next_offset,
            written: Vec::new(),
        };
        Controller::with_sink(config, state, now, sink)
    }

    /// The records written since the last call (a quorum's active controller proposes
    /// them to the metadata log). Always empty for the single controller.
    pub fn take_written(&mut self) -> Vec<MetadataRecord> {
        match &mut self.sink {
            RecordSink::Local => Vec::new(),
            RecordSink::Quorum { written, .. } => std::mem::take(written),
        }
    }

    /// Where the next record lands in the metadata log (a quorum's active controller).
    pub fn set_next_offset(&mut self, offset: Offset) {
        if let RecordSink::Quorum { next_offset, .. } = &mut self.sink {
            *next_offset = offset;
        }
    }

    /// The durable state (for the final report and tests).
    pub fn state(&self) -> &ControllerState {
        &self.state
    }

    /// The metadata image brokers and clients see.
    pub fn image(&self) -> MetadataImage {
        self.state.image(self.state.metadata_version)
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

    /// Commits a change: bump the version, persist, push metadata to every broker. In a
    /// quorum the metadata log does all of that.
    fn commit(&mut self, out: &mut Vec<Effect>) {
        if matches!(self.sink, RecordSink::Quorum { .. }) {
            return;
        }
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

    /// Applies one record to the metadata (the only way the state changes); in a quorum
    /// it also goes to the metadata log.
    fn write(&mut self, record: MetadataRecord) {
        self.state.apply(&record);
        if let RecordSink::Quorum {
            next_offset,
            written,
        } = &mut self.sink
        {
            written.push(record);
            *next_offset = next_offset.plus(1);
        }
    }

    /// The broker epoch a registration written now gets, and the metadata version a
    /// broker must have applied to be unfenced: the single controller counts both; in a
    /// quorum the epoch is the registration record's offset and the broker must have
    /// applied that record (KAFKA-13959's fix).
    fn registration_epoch(&self) -> (BrokerEpoch, u64) {
        match &self.sink {
            RecordSink::Local => (
                BrokerEpoch(self.state.next_broker_epoch),
                self.state.metadata_version + 1,
            ),
            RecordSink::Quorum { next_offset, .. } => {
                (BrokerEpoch(next_offset.0), next_offset.0 + 1)
            }
        }
    }

    /// The rules elections follow.
    fn election_rules(&self) -> ElectionRules {
        ElectionRules {
            min_insync_replicas: usize::from(self.config.min_insync_replicas),
            eligible_leader_replicas: self.config.eligible_leader_replicas,
            unclean_leader_election: self.config.unclean_leader_election,
        }
    }

    /// Changes partition `p` to `target_isr` ([`partition_change::build`]), writes the
    /// record and traces the election or ISR change. Returns whether anything changed.
    fn change_partition(
        &mut self,
        p: PartitionId,
        target_isr: Vec<BrokerId>,
        out: &mut Vec<Effect>,
    ) -> bool {
        let current = &self.state.partitions[p.0 as usize];
        let acceptable = |b: BrokerId| self.acceptable_leader(b);
        let Some(change) =
            partition_change::build(current, target_isr, &self.election_rules(), &acceptable)
        else {
            return false;
        };
        let r = change.registration.clone();
        self.write(MetadataRecord::PartitionChange {
            registration: change.registration,
            unclean: change.unclean,
        });
        out.push(Effect::Trace(if change.leader_changed {
            EventKind::LeaderElected {
                partition: p,
                leader: r.leader,
                leader_epoch: r.leader_epoch,
                partition_epoch: r.partition_epoch,
                isr: r.isr,
                elr: r.elr,
                unclean: change.unclean,
            }
        } else {
            EventKind::IsrChanged {
                partition: p,
                leader_epoch: r.leader_epoch,
                partition_epoch: r.partition_epoch,
                isr: r.isr,
                elr: r.elr,
            }
        }));
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
            // A fenced leader is an initial leader that died before its first unfencing
            // heartbeat; before its first registration, only its first process (the
            // incarnation the bootstrap metadata holds) may take that leadership up.
            let stale_leader = self.leads_any(broker)
                && (info.broker_epoch.0 > 0 || info.incarnation != incarnation);
            if !info.fenced || stale_leader {
                // The old incarnation's session expired before the periodic check noticed:
                // the new registration fences it, which takes it out of every ISR and
                // leadership in the same change, so no new process resumes an old
                // leadership in the same leader epoch.
                self.fence(broker, out);
                self.elect_leaderless(out);
            }
            let (epoch, registered_version) = self.registration_epoch();
            let unclean_shutdown = previous != Some(info.broker_epoch);
            self.write(MetadataRecord::RegisterBroker {
                broker,
                broker_epoch: epoch,
                incarnation,
                registered_version,
            });
            if !self.leads_any(broker) {
                // A fenced initial leader keeps the session it had (see `on_heartbeat`).
                self.last_heartbeat.insert(broker, now);
            }
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
            if self.state.partitions[i].elr.contains(&broker) {
                let mut registration = self.state.partitions[i].clone();
                registration.elr.retain(|b| *b != broker);
                registration.partition_epoch = PartitionEpoch(registration.partition_epoch.0 + 1);
                out.push(Effect::Trace(EventKind::IsrChanged {
                    partition: registration.partition,
                    leader_epoch: registration.leader_epoch,
                    partition_epoch: registration.partition_epoch,
                    isr: registration.isr.clone(),
                    elr: registration.elr.clone(),
                }));
                self.write(MetadataRecord::PartitionChange {
                    registration,
                    unclean: false,
                });
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
        let unfences = info.fenced && version >= info.registered_version;
        // Kafka never lets a fenced broker lead; an initial leader does until it unfences,
        // but only for the session it had when this controller took over: contact that
        // does not unfence it does not extend that session.
        if !info.fenced || unfences || !self.leads_any(broker) {
            self.last_heartbeat.insert(broker, now);
        }
        if unfences {
            self.write(MetadataRecord::BrokerFenced {
                broker,
                fenced: false,
            });
            out.push(Effect::Trace(EventKind::BrokerUnfenced { broker }));
            self.elect_leaderless(out);
            self.commit(out);
        }
        let pushes = matches!(self.sink, RecordSink::Local);
        let metadata =
            (pushes && version < self.state.metadata_version).then(|| Box::new(self.image()));
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
        self.write(MetadataRecord::BrokerFenced {
            broker,
            fenced: true,
        });
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
                let mut registration = self.state.partitions[p.0 as usize].clone();
                if registration.recovering {
                    // KIP-704: the recovering leader's first AlterPartition ends recovery.
                    registration.recovering = false;
                    self.write(MetadataRecord::PartitionChange {
                        registration,
                        unclean: false,
                    });
                }
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
            let epoch_ok =
                |r: BrokerEpoch| !self.config.alter_partition_checks_broker_epoch || r == *epoch;
            if !registered.is_some_and(|r| !r.fenced && epoch_ok(r.broker_epoch)) {
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
#[path = "controller_tests.rs"]
mod tests;
