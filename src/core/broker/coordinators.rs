//! The group coordinators a broker hosts: one for each `__consumer_offsets` partition it
//! leads (`GroupCoordinator.onElection`/`onResignation`), loaded from that partition's log,
//! writing to it as its leader under the acks=all rules.

use super::Broker;
use crate::core::Effect;
use crate::core::broker::producer_state::NO_PRODUCER_ID;
use crate::core::group::GroupError;
use crate::core::group::coordinator::{CoordinatorConfig, GroupCoordinator, OffsetsLog};
use crate::core::group::messages::GroupMessage;
use crate::core::group::records::GroupRecord;
use crate::core::log::Record;
use crate::core::message::{ErrorCode, Message};
use crate::group_event::GroupEvent;
use crate::history::EventKind;
use crate::types::{
    LeaderEpoch, MessageId, NodeId, Offset, PartitionId, ProducerEpoch, Sequence, SimTime,
};

/// A loaded coordinator and the leader epoch it was loaded in.
#[derive(Clone, Debug)]
pub(super) struct Hosted {
    coordinator: GroupCoordinator,
    epoch: LeaderEpoch,
}

/// The leader's replica of an offsets partition, as a coordinator appends to it.
struct LeaderLog<'a> {
    broker: &'a mut Broker,
    partition: PartitionId,
    /// Its disk writes and traces, added to the broker's effects after the coordinator's.
    effects: Vec<Effect>,
}

impl OffsetsLog for LeaderLog<'_> {
    fn append(&mut self, records: &[GroupRecord]) -> Result<Offset, ErrorCode> {
        let min_isr = usize::from(self.broker.config.min_insync_replicas);
        let replica = (self.broker.replicas.get_mut(&self.partition))
            .ok_or(ErrorCode::NotLeaderOrFollower)?;
        if !replica.is_leader() {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        if replica.isr.len() < min_isr.min(replica.replicas.len()) {
            return Err(ErrorCode::NotEnoughReplicas);
        }
        let base = replica.leo();
        let epoch = replica.leader_epoch;
        let records: Vec<Record> = (records.iter().enumerate())
            .map(|(i, r)| Record {
                leader_epoch: epoch,
                producer_id: NO_PRODUCER_ID,
                producer_epoch: ProducerEpoch(0),
                sequence: Sequence(0),
                batch_base_sequence: Sequence(0),
                // The record's own offset: unique in the partition's log.
                value: MessageId {
                    producer: 0,
                    index: (base.0 + i as u64) as u32,
                },
                group: Some(*r),
            })
            .collect();
        replica.log.append(&records);
        let end = replica.leo();
        let broker = self.broker.id;
        for r in records.iter().filter_map(|r| r.group) {
            if let GroupRecord::OffsetCommit {
                group,
                partition,
                offset,
            } = r
            {
                let event = GroupEvent::CommitAccepted {
                    broker,
                    group,
                    partition,
                    offset,
                };
                self.effects.push(Effect::Trace(EventKind::Group(event)));
            }
        }
        self.broker
            .persist_append(self.partition, records, &mut self.effects);
        Ok(end)
    }
}

impl Broker {
    fn coordinator_config(&self) -> CoordinatorConfig {
        let g = &self.config.group;
        CoordinatorConfig {
            initial_delay_ms: g.initial_rebalance_delay_ms,
            session_timeout_ms: g.session_timeout_ms,
            rebalance_timeout_ms: g.max_poll_interval_ms,
        }
    }

    /// Loads a coordinator for each offsets partition this broker now leads (again, in a
    /// new leader epoch), unloads those it no longer leads, and tells the loaded ones the
    /// HW.
    pub(super) fn sync_coordinators(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        let offsets: Vec<PartitionId> = (self.replicas.keys().copied())
            .filter(|p| self.layout.is_internal(*p))
            .collect();
        for p in offsets {
            let replica = &self.replicas[&p];
            let leading = (replica.is_leader() && self.broker_epoch.is_some())
                .then_some(replica.leader_epoch);
            let current = self.coordinators.get(&p).map(|h| h.epoch);
            if current.is_some() && current != leading {
                let hosted = self.coordinators.remove(&p).expect("present");
                hosted.coordinator.unload(out);
            }
            if let (Some(epoch), None) = (leading, self.coordinators.get(&p)) {
                let records: Vec<GroupRecord> = replica
                    .log
                    .records()
                    .iter()
                    .filter_map(|r| r.group)
                    .collect();
                let base =
                    self.incarnation ^ (u64::from(epoch.0) << 40) ^ (u64::from(self.id.0) << 56);
                let coordinator =
                    GroupCoordinator::load(now, &records, self.coordinator_config(), base);
                self.coordinators.insert(p, Hosted { coordinator, epoch });
            }
            self.with_coordinator(p, out, |c, log, out| {
                let hw = log.broker.replicas[&p].hw;
                c.on_high_watermark(now, hw, log, out);
            });
        }
    }

    /// Runs `f` on the coordinator of `partition` with its log, if one is loaded.
    fn with_coordinator(
        &mut self,
        partition: PartitionId,
        out: &mut Vec<Effect>,
        f: impl FnOnce(&mut GroupCoordinator, &mut LeaderLog<'_>, &mut Vec<Effect>),
    ) -> bool {
        let Some(mut hosted) = self.coordinators.remove(&partition) else {
            return false;
        };
        let mut log = LeaderLog {
            broker: self,
            partition,
            effects: Vec::new(),
        };
        f(&mut hosted.coordinator, &mut log, out);
        out.append(&mut log.effects);
        self.coordinators.insert(partition, hosted);
        true
    }

    /// A group request: FindCoordinator is answered from metadata; the others go to the
    /// group's coordinator here, or are refused with NOT_COORDINATOR.
    pub(super) fn on_group_request(
        &mut self,
        now: SimTime,
        from: NodeId,
        message: GroupMessage,
        out: &mut Vec<Effect>,
    ) {
        let Some(group) = request_group(&message) else {
            return; // answers are not addressed to brokers
        };
        let partition = self.layout.offsets_partition(group);
        if let GroupMessage::FindCoordinator { correlation, .. } = message {
            let leader = partition
                .and_then(|p| self.metadata.partition(p))
                .and_then(|r| r.leader);
            let result = leader.ok_or(GroupError::CoordinatorNotAvailable);
            reply(
                out,
                from,
                GroupMessage::FindCoordinatorResponse {
                    correlation,
                    result,
                },
            );
            return;
        }
        let handled = partition.is_some_and(|p| {
            self.with_coordinator(p, out, |c, log, out| {
                c.on_request(now, from, message.clone(), log, out);
            })
        });
        if !handled {
            refuse(out, from, message);
        }
        self.after_change(now, out);
    }

    /// Timers of the loaded coordinators.
    pub(super) fn coordinator_timeouts(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        let due: Vec<PartitionId> = (self.coordinators.iter())
            .filter(|(_, h)| h.coordinator.next_deadline().is_some_and(|at| at <= now))
            .map(|(p, _)| *p)
            .collect();
        for p in due {
            self.with_coordinator(p, out, |c, log, out| c.on_timeout(now, log, out));
        }
    }

    /// `group`'s committed offsets, if this broker coordinates it.
    pub fn committed_offsets(
        &self,
        group: crate::types::GroupName,
    ) -> Option<std::collections::BTreeMap<PartitionId, Offset>> {
        let p = self.layout.offsets_partition(group)?;
        self.coordinators
            .get(&p)
            .map(|h| h.coordinator.committed(group))
    }

    /// The earliest timer of the loaded coordinators.
    pub(super) fn coordinator_deadline(&self) -> Option<SimTime> {
        self.coordinators
            .values()
            .filter_map(|h| h.coordinator.next_deadline())
            .min()
    }
}

fn request_group(message: &GroupMessage) -> Option<crate::types::GroupName> {
    match message {
        GroupMessage::FindCoordinator { group, .. }
        | GroupMessage::Join { group, .. }
        | GroupMessage::Sync { group, .. }
        | GroupMessage::Heartbeat { group, .. }
        | GroupMessage::Leave { group, .. }
        | GroupMessage::OffsetCommit { group, .. }
        | GroupMessage::OffsetFetch { group, .. } => Some(*group),
        _ => None,
    }
}

fn reply(out: &mut Vec<Effect>, to: NodeId, message: GroupMessage) {
    out.push(Effect::Send {
        to,
        message: Message::Group(Box::new(message)),
    });
}

/// NOT_COORDINATOR for a request this broker cannot serve.
fn refuse(out: &mut Vec<Effect>, to: NodeId, message: GroupMessage) {
    let e = GroupError::NotCoordinator;
    let answer = match message {
        GroupMessage::Join { correlation, .. } => GroupMessage::JoinResponse {
            correlation,
            result: Err((e, None)),
        },
        GroupMessage::Sync { correlation, .. } => GroupMessage::SyncResponse {
            correlation,
            result: Err(e),
        },
        GroupMessage::Heartbeat { correlation, .. } => GroupMessage::HeartbeatResponse {
            correlation,
            error: Some(e),
        },
        GroupMessage::OffsetCommit { correlation, .. } => GroupMessage::OffsetCommitResponse {
            correlation,
            result: Err(e),
        },
        GroupMessage::OffsetFetch { correlation, .. } => GroupMessage::OffsetFetchResponse {
            correlation,
            result: Err(e),
        },
        _ => return,
    };
    reply(out, to, answer);
}
