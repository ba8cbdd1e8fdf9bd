//! A member's OffsetCommits: sending them with its identity, their answers and timeouts,
//! and the auto-commit timer.

use std::collections::BTreeMap;

use super::GroupMember;
use crate::core::group::GroupError;
use crate::core::group::messages::GroupMessage;
use crate::core::{Effect, message::Message};
use crate::group_event::{CommitOutcome, GroupEvent};
use crate::types::{NodeId, Offset, PartitionId, SimTime};

/// One commit in flight: its offsets, its give-up time, and whether the member waits for
/// the answer before its next poll (a synchronous commit).
type InFlight = (Vec<(PartitionId, Offset)>, SimTime, bool);

/// Commits in flight, by correlation id, and the auto-commit timer.
#[derive(Clone, Debug)]
pub(super) struct Commits {
    in_flight: BTreeMap<u64, InFlight>,
    /// Commits waiting for a coordinator to be found (`commitSync` blocks in
    /// `ensureCoordinatorReady` until its timeout), in the order they were made.
    unsent: Vec<u64>,
    next_auto: SimTime,
}

impl Commits {
    pub(super) fn new(next_auto: SimTime) -> Commits {
        Commits {
            in_flight: BTreeMap::new(),
            unsent: Vec::new(),
            next_auto,
        }
    }

    /// Whether a synchronous commit is unanswered.
    pub(super) fn blocking(&self) -> bool {
        self.in_flight.values().any(|(_, _, sync)| *sync)
    }

    /// Synchronous commits in flight are to be sent again (to the next coordinator).
    pub(super) fn requeue_sync(&mut self) {
        for (correlation, (_, _, sync)) in &self.in_flight {
            if *sync && !self.unsent.contains(correlation) {
                self.unsent.push(*correlation);
            }
        }
    }

    pub(super) fn auto_due(&self, now: SimTime) -> bool {
        now >= self.next_auto
    }

    pub(super) fn auto_done(&mut self, now: SimTime, interval_ms: u64) {
        self.next_auto = now.plus_ms(interval_ms);
    }

    pub(super) fn next_deadline(&self, auto: bool) -> Option<SimTime> {
        let timeouts = self.in_flight.values().map(|(_, at, _)| *at);
        timeouts.chain(auto.then_some(self.next_auto)).min()
    }
}

impl GroupMember {
    /// Commits `offsets` with the member's identity; without a generation or a
    /// coordinator it fails at once, unsent (Kafka's "the group has already rebalanced").
    pub(super) fn commit(
        &mut self,
        now: SimTime,
        offsets: Vec<(PartitionId, Offset)>,
        sync: bool,
        out: &mut Vec<Effect>,
    ) {
        if offsets.is_empty() {
            return;
        }
        if self.member.is_none() || self.generation.is_none() {
            self.commit_outcome(&offsets, CommitOutcome::Fail, out);
            return;
        }
        let correlation = self.correlation();
        let deadline = now.plus_ms(self.client.request_timeout_ms);
        (self.commits.in_flight).insert(correlation, (offsets, deadline, sync));
        self.commits.unsent.push(correlation);
        self.send_commits(out);
    }

    /// Sends the commits waiting for a coordinator, once one is known.
    pub(super) fn send_commits(&mut self, out: &mut Vec<Effect>) {
        let (Some(member), Some(generation), Some(coordinator)) =
            (self.member, self.generation, self.coordinator)
        else {
            return;
        };
        for correlation in std::mem::take(&mut self.commits.unsent) {
            let Some((offsets, _, _)) = self.commits.in_flight.get(&correlation) else {
                continue;
            };
            self.send_commit(
                correlation,
                (member, generation),
                offsets.clone(),
                coordinator,
                out,
            );
        }
    }

    fn send_commit(
        &self,
        correlation: u64,
        (member, generation): (crate::core::group::MemberId, crate::core::group::Generation),
        offsets: Vec<(PartitionId, Offset)>,
        coordinator: crate::types::BrokerId,
        out: &mut Vec<Effect>,
    ) {
        let request = GroupMessage::OffsetCommit {
            correlation,
            group: self.config.group,
            member: Some((member, generation)),
            offsets,
        };
        out.push(Effect::Send {
            to: NodeId::Broker(coordinator),
            message: Message::Group(Box::new(request)),
        });
    }

    fn commit_outcome(
        &self,
        offsets: &[(PartitionId, Offset)],
        outcome: CommitOutcome,
        out: &mut Vec<Effect>,
    ) {
        for (partition, offset) in offsets {
            let event = GroupEvent::Commit {
                member: self.me,
                group: self.config.group,
                partition: *partition,
                offset: *offset,
                outcome,
            };
            self.trace(out, event);
        }
    }

    /// A commit's answer: its outcome, and what a refusal says about the membership.
    pub(super) fn on_commit_response(
        &mut self,
        now: SimTime,
        correlation: u64,
        result: Result<(), GroupError>,
        out: &mut Vec<Effect>,
    ) {
        let Some((offsets, _, _)) = self.commits.in_flight.remove(&correlation) else {
            return;
        };
        let outcome = match result {
            Ok(()) => CommitOutcome::Ok,
            Err(_) => CommitOutcome::Fail,
        };
        self.commit_outcome(&offsets, outcome, out);
        match result {
            Ok(()) => {}
            Err(GroupError::UnknownMemberId) => {
                self.lose(out);
                self.member = None;
            }
            Err(GroupError::IllegalGeneration) => self.lose(out),
            Err(GroupError::RebalanceInProgress) => self.rejoin = true,
            Err(_) => self.coordinator_lost(now),
        }
    }

    /// Commits unanswered past their timeout: unknown outcome.
    pub(super) fn expire_commits(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        let expired: Vec<u64> = (self.commits.in_flight.iter())
            .filter(|(_, (_, at, _))| now >= *at)
            .map(|(c, _)| *c)
            .collect();
        self.commits.unsent.retain(|c| !expired.contains(c));
        for correlation in expired {
            let (offsets, _, _) = self.commits.in_flight.remove(&correlation).expect("listed");
            self.commit_outcome(&offsets, CommitOutcome::Info, out);
        }
    }
}
