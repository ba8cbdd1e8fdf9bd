//! A member's side of the group protocol: finding the coordinator, joining, syncing,
//! heartbeats, fetching committed offsets, and losing or revoking partitions.

use std::collections::BTreeMap;

use super::{GroupMember, OffsetReset, Pending};
use crate::core::Effect;
use crate::core::group::assignor::{self, AssignorKind, Subscription};
use crate::core::group::classic::Joined;
use crate::core::group::messages::GroupMessage;
use crate::core::group::{Generation, GroupError};
use crate::core::message::Message;
use crate::group_event::GroupEvent;
use crate::types::{BrokerId, NodeId, Offset, PartitionId, SimTime};

impl GroupMember {
    fn send(
        &mut self,
        now: SimTime,
        to: BrokerId,
        pending: Pending,
        request: GroupMessage,
        out: &mut Vec<Effect>,
    ) {
        let correlation = match &request {
            GroupMessage::FindCoordinator { correlation, .. }
            | GroupMessage::Join { correlation, .. }
            | GroupMessage::Sync { correlation, .. }
            | GroupMessage::OffsetFetch { correlation, .. } => *correlation,
            _ => 0,
        };
        let deadline = now.plus_ms(self.client.request_timeout_ms);
        self.request = Some((correlation, deadline, pending));
        self.request_to = Some(to);
        out.push(Effect::Send {
            to: NodeId::Broker(to),
            message: Message::Group(Box::new(request)),
        });
    }

    /// Sends the next group request the member needs, if none is in flight.
    pub(super) fn protocol_step(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        if self.request.is_some() || self.retry_at.is_some_and(|at| now < at) {
            return;
        }
        self.retry_at = None;
        let group = self.config.group;
        let Some(coordinator) = self.coordinator else {
            let broker = self.brokers[self.next_broker % self.brokers.len()];
            self.next_broker += 1;
            let correlation = self.correlation();
            let request = GroupMessage::FindCoordinator { correlation, group };
            self.send(now, broker, Pending::Find, request, out);
            return;
        };
        if !self.awaiting_offsets.is_empty() {
            let correlation = self.correlation();
            let partitions = self.awaiting_offsets.clone();
            let request = GroupMessage::OffsetFetch {
                correlation,
                group,
                partitions: partitions.clone(),
            };
            self.send(now, coordinator, Pending::Offsets(partitions), request, out);
        } else if self.rejoin && self.generation.is_none() {
            let correlation = self.correlation();
            let topics = self.config.topics.keys().cloned().collect();
            let request = GroupMessage::Join {
                correlation,
                group,
                member: self.member,
                topics,
                owned: (self.owned.clone(), self.owned_generation),
                session_timeout_ms: self.config.session_timeout_ms,
                rebalance_timeout_ms: self.config.max_poll_interval_ms,
            };
            self.send(now, coordinator, Pending::Join, request, out);
        }
    }

    /// `onJoinPrepare`, at the poll after a rejoin was asked for: auto-commit what was
    /// processed, revoke everything (eager assignors) and leave the generation.
    pub(super) fn prepare_rejoin(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        if self.config.commit == super::CommitMode::Auto {
            let positions = self.positions_processed();
            self.commit(now, positions, false, out);
        }
        if self.config.assignor != AssignorKind::CooperativeSticky {
            let partitions = std::mem::take(&mut self.owned);
            self.release(&partitions, false, out);
            self.owned_generation = None;
        }
        self.generation = None;
    }

    /// Stops reading `partitions` and drops what was fetched of them.
    fn release(&mut self, partitions: &[PartitionId], lost: bool, out: &mut Vec<Effect>) {
        if partitions.is_empty() {
            return;
        }
        for p in partitions {
            self.reader.stop(*p);
            self.processed.remove(p);
        }
        self.owned.retain(|p| !partitions.contains(p));
        self.queue.retain(|b| !partitions.contains(&b.partition));
        self.resetting.retain(|p| !partitions.contains(p));
        self.awaiting_offsets.retain(|p| !partitions.contains(p));
        let (group, member) = (self.config.group, self.me);
        let partitions = partitions.to_vec();
        self.trace(
            out,
            GroupEvent::Revoke {
                member,
                group,
                partitions,
                lost,
            },
        );
    }

    /// `onPartitionsLost`: the generation is gone; rejoin.
    pub(super) fn lose(&mut self, out: &mut Vec<Effect>) {
        let partitions = std::mem::take(&mut self.owned);
        self.release(&partitions, true, out);
        self.owned_generation = None;
        self.generation = None;
        self.rejoin = true;
    }

    /// The coordinator is unknown (an error, a timeout, a silent session): find it again;
    /// a synchronous commit in flight goes to the next one (`commitSync` retries retriable
    /// errors until its timeout), an asynchronous one is left to time out.
    pub(super) fn coordinator_lost(&mut self, now: SimTime) {
        self.commits.requeue_sync();
        self.coordinator = None;
        self.request = None;
        self.heartbeat_in_flight = None;
        self.retry_at = Some(now.plus_ms(self.client.retry_backoff_ms));
    }

    pub(super) fn on_group_message(
        &mut self,
        now: SimTime,
        broker: BrokerId,
        message: GroupMessage,
        out: &mut Vec<Effect>,
    ) {
        let answers = |c: u64, request: &Option<(u64, SimTime, Pending)>| {
            request.as_ref().is_some_and(|(r, _, _)| *r == c)
        };
        match message {
            GroupMessage::FindCoordinatorResponse {
                correlation,
                result,
            } if answers(correlation, &self.request) => {
                self.request = None;
                match result {
                    Ok(coordinator) => {
                        self.coordinator = Some(coordinator);
                        self.last_heard = now;
                    }
                    Err(_) => self.retry_at = Some(now.plus_ms(self.client.retry_backoff_ms)),
                }
            }
            GroupMessage::JoinResponse {
                correlation,
                result,
            } if answers(correlation, &self.request) => {
                self.request = None;
                self.on_join(now, broker, result, out);
            }
            GroupMessage::SyncResponse {
                correlation,
                result,
            } if answers(correlation, &self.request) => {
                let Some((_, _, Pending::Sync(generation))) = self.request.take() else {
                    return;
                };
                self.on_sync(now, generation, result, out);
            }
            GroupMessage::OffsetFetchResponse {
                correlation,
                result,
            } if answers(correlation, &self.request) => {
                self.request = None;
                match result {
                    Ok(offsets) => self.on_offsets(offsets, out),
                    Err(_) => self.coordinator_lost(now),
                }
            }
            GroupMessage::HeartbeatResponse { correlation, error } => {
                self.on_heartbeat(now, correlation, error, out)
            }
            GroupMessage::OffsetCommitResponse {
                correlation,
                result,
            } => self.on_commit_response(now, correlation, result, out),
            _ => {}
        }
    }

    fn on_join(
        &mut self,
        now: SimTime,
        coordinator: BrokerId,
        result: Result<Joined, (GroupError, Option<crate::core::group::MemberId>)>,
        out: &mut Vec<Effect>,
    ) {
        let joined = match result {
            Ok(joined) => joined,
            Err((GroupError::MemberIdRequired, id)) => {
                self.member = id; // join again at once with it
                return;
            }
            Err((GroupError::UnknownMemberId, _)) => {
                self.member = None;
                return;
            }
            Err((GroupError::RebalanceInProgress, _)) => return,
            Err(_) => {
                self.coordinator_lost(now);
                return;
            }
        };
        self.member = Some(joined.member);
        let assignment = (joined.member == joined.leader).then(|| self.assign(&joined.members));
        let correlation = self.correlation();
        let request = GroupMessage::Sync {
            correlation,
            group: self.config.group,
            member: joined.member,
            generation: joined.generation,
            assignment,
        };
        self.send(
            now,
            coordinator,
            Pending::Sync(joined.generation),
            request,
            out,
        );
    }

    /// The leader's assignment over the members' subscriptions.
    fn assign(
        &self,
        members: &BTreeMap<crate::core::group::MemberId, Subscription>,
    ) -> BTreeMap<crate::core::group::MemberId, Vec<PartitionId>> {
        let mut topics = self.config.topics.clone();
        topics.retain(|t, _| members.values().any(|s| s.topics.contains(t)));
        assignor::assign(self.config.assignor, members, &topics)
    }

    fn on_sync(
        &mut self,
        now: SimTime,
        generation: Generation,
        result: Result<Vec<PartitionId>, GroupError>,
        out: &mut Vec<Effect>,
    ) {
        let partitions = match result {
            Ok(partitions) => partitions,
            Err(GroupError::RebalanceInProgress) => return, // join again
            Err(GroupError::UnknownMemberId) => {
                self.member = None;
                return;
            }
            Err(GroupError::IllegalGeneration) => return,
            Err(_) => {
                self.coordinator_lost(now);
                return;
            }
        };
        self.generation = Some(generation);
        self.rejoin = false;
        self.last_heard = now;
        self.heartbeat_at = now.plus_ms(self.config.heartbeat_interval_ms);
        let revoked: Vec<PartitionId> = self
            .owned
            .iter()
            .filter(|p| !partitions.contains(p))
            .copied()
            .collect();
        if !revoked.is_empty() {
            // Cooperative: revoke what moved, then rejoin so it can be handed over.
            self.release(&revoked, false, out);
            self.rejoin = true;
        }
        let added: Vec<PartitionId> = partitions
            .iter()
            .filter(|p| !self.owned.contains(p))
            .copied()
            .collect();
        self.owned.extend(&added);
        self.owned.sort();
        self.owned_generation = Some(generation);
        self.awaiting_offsets.extend(added);
    }

    /// Committed offsets of newly owned partitions: each starts there, or where
    /// `auto.offset.reset` says.
    fn on_offsets(&mut self, offsets: Vec<(PartitionId, Option<Offset>)>, out: &mut Vec<Effect>) {
        let mut positions = Vec::new();
        for (p, committed) in offsets {
            if !self.awaiting_offsets.contains(&p) {
                continue;
            }
            self.awaiting_offsets.retain(|q| *q != p);
            match (committed, self.config.offset_reset) {
                (Some(o), _) => positions.push((p, o)),
                (None, OffsetReset::Earliest) => positions.push((p, Offset(0))),
                (None, OffsetReset::Latest) => {
                    self.reader.read_from(p, Offset(u64::MAX));
                    self.resetting.push(p);
                }
            }
        }
        for (p, o) in &positions {
            self.reader.read_from(*p, *o);
            self.processed.insert(*p, *o);
        }
        if !positions.is_empty() {
            self.announce(positions, out);
        }
    }

    /// The heartbeat thread: leaves after a poll timeout, looks for a silent
    /// coordinator again, and sends the heartbeat when due.
    pub(super) fn heartbeat_step(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        let (Some(member), Some(generation)) = (self.member, self.generation) else {
            return;
        };
        let group = self.config.group;
        let stuck = self.processing.is_some()
            && now >= self.last_poll.plus_ms(self.config.max_poll_interval_ms);
        if stuck {
            if let Some(coordinator) = self.coordinator {
                let leave = GroupMessage::Leave { group, member };
                out.push(Effect::Send {
                    to: NodeId::Broker(coordinator),
                    message: Message::Group(Box::new(leave)),
                });
            }
            self.lose(out);
            self.member = None;
            return;
        }
        if now >= self.last_heard.plus_ms(self.config.session_timeout_ms)
            && self.coordinator.is_some()
        {
            self.coordinator_lost(now);
            self.last_heard = now;
        }
        let Some(coordinator) = self.coordinator else {
            return;
        };
        if self.heartbeat_in_flight.is_some() || now < self.heartbeat_at {
            return;
        }
        let correlation = self.correlation();
        let wait_ms = self
            .client
            .request_timeout_ms
            .min(self.config.session_timeout_ms);
        self.heartbeat_in_flight = Some((correlation, now.plus_ms(wait_ms)));
        let request = GroupMessage::Heartbeat {
            correlation,
            group,
            member,
            generation,
        };
        out.push(Effect::Send {
            to: NodeId::Broker(coordinator),
            message: Message::Group(Box::new(request)),
        });
    }

    fn on_heartbeat(
        &mut self,
        now: SimTime,
        correlation: u64,
        error: Option<GroupError>,
        out: &mut Vec<Effect>,
    ) {
        if self.heartbeat_in_flight.map(|(c, _)| c) != Some(correlation) {
            return;
        }
        self.heartbeat_in_flight = None;
        self.heartbeat_at = now.plus_ms(self.config.heartbeat_interval_ms);
        match error {
            None => self.last_heard = now,
            Some(GroupError::RebalanceInProgress) => {
                self.last_heard = now;
                self.rejoin = true;
            }
            Some(GroupError::IllegalGeneration) => self.lose(out),
            Some(GroupError::UnknownMemberId) => {
                self.lose(out);
                self.member = None;
            }
            Some(_) => self.coordinator_lost(now),
        }
    }

    /// Requests and heartbeats unanswered past their timeout.
    pub(super) fn expire(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        if self.request.as_ref().is_some_and(|(_, at, _)| now >= *at) {
            let (_, _, pending) = self.request.take().expect("checked");
            if pending != Pending::Find {
                self.coordinator_lost(now);
            }
        }
        if self.heartbeat_in_flight.is_some_and(|(_, at)| now >= at) {
            self.heartbeat_in_flight = None;
            self.heartbeat_at = now;
        }
        self.expire_commits(now, out);
    }
}
