//! One classic consumer group at its coordinator: members, generations and the rebalance
//! protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), plus the generation check of
//! an OffsetCommit. Plain state machine: requests in, [`GroupOutput`]s out; the caller
//! (the coordinator on a broker) moves the answers and persists what [`GroupOutput::Store`]
//! asks for in `__consumer_offsets`.
//!
//! Rules, each from Kafka's `GroupCoordinator.scala` (≤ 3.x; `ClassicGroup.java` in 4.x
//! keeps them):
//! - States Empty → PreparingRebalance → CompletingRebalance → Stable.
//! - A JoinGroup without a member id gets `MEMBER_ID_REQUIRED` and a new id (KIP-394).
//! - A join starts a rebalance (`prepareRebalance`). It completes when every known member
//!   has rejoined, or at the largest rebalance timeout, which removes the members that did
//!   not (`onCompleteJoin`). The first rebalance of an empty group waits
//!   `group.initial.rebalance.delay.ms`, extended by as much for each member that joins
//!   meanwhile, up to the rebalance timeout (`InitialDelayedJoin`).
//! - Completing the join bumps the generation (`initNextGeneration`) and answers every
//!   member; only the leader gets the members' subscriptions.
//! - The leader's SyncGroup carries the assignment. The coordinator stores it and only then
//!   moves to Stable and answers every member (KAFKA-2017). A SyncGroup while preparing a
//!   rebalance gets `REBALANCE_IN_PROGRESS`.
//! - Heartbeats: unknown member → `UNKNOWN_MEMBER_ID`, another generation →
//!   `ILLEGAL_GENERATION`, preparing a rebalance → `REBALANCE_IN_PROGRESS`.
//! - A member whose session passes without a heartbeat is removed, which starts a
//!   rebalance; members waiting for a join or sync answer are kept alive meanwhile.

use std::collections::BTreeMap;

use super::assignor::Subscription;
use super::{Generation, GroupError, MemberId};
use crate::types::{PartitionId, SimTime};

/// Where a classic group is in its rebalance protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupState {
    /// No members.
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Joined; waiting for the leader's assignment to be stored.
    CompletingRebalance,
    /// Every member has its assignment.
    Stable,
}

/// What a member asked for when it joined, and where its answers go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JoinRequest<R> {
    /// Its id, if it has one.
    pub member: Option<MemberId>,
    /// Its topics and what it owned.
    pub subscription: Subscription,
    /// `session.timeout.ms`.
    pub session_timeout_ms: u64,
    /// The rebalance timeout (`max.poll.interval.ms` for the Java consumer).
    pub rebalance_timeout_ms: u64,
    /// Where the answer goes.
    pub reply: R,
}

/// A completed join, as one member hears it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Joined {
    /// The member's id.
    pub member: MemberId,
    /// The new generation.
    pub generation: Generation,
    /// The leader, who assigns.
    pub leader: MemberId,
    /// Every member's subscription: for the leader only, empty for the others.
    pub members: BTreeMap<MemberId, Subscription>,
}

/// What the group asks its coordinator to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupOutput<R> {
    /// Answer a JoinGroup.
    Join {
        /// Where to.
        to: R,
        /// The answer; `MEMBER_ID_REQUIRED` carries the new id.
        result: Result<Joined, (GroupError, Option<MemberId>)>,
    },
    /// Answer a SyncGroup with the member's assignment.
    Sync {
        /// Where to.
        to: R,
        /// The answer.
        result: Result<Vec<PartitionId>, GroupError>,
    },
    /// Persist this generation's assignment; call [`ClassicGroup::on_stored`] once durable.
    Store {
        /// The generation.
        generation: Generation,
        /// Each member's partitions.
        assignment: BTreeMap<MemberId, Vec<PartitionId>>,
    },
    /// A member left the group: its session expired, it left, or it missed a rebalance.
    Removed {
        /// Which.
        member: MemberId,
        /// Why, for the trace.
        reason: &'static str,
    },
    /// A generation began (its join phase completed).
    Generation {
        /// Which.
        generation: Generation,
        /// Its members.
        members: Vec<MemberId>,
    },
}

/// A member as a stored generation keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMember {
    /// Its id.
    pub member: MemberId,
    /// Its subscription.
    pub subscription: Subscription,
    /// Its session timeout.
    pub session_timeout_ms: u64,
    /// Its rebalance timeout.
    pub rebalance_timeout_ms: u64,
    /// Its partitions.
    pub assignment: Vec<PartitionId>,
}

#[derive(Clone, Debug)]
struct Member<R> {
    subscription: Subscription,
    session_timeout_ms: u64,
    rebalance_timeout_ms: u64,
    last_heartbeat: SimTime,
    awaiting_join: Option<R>,
    awaiting_sync: Option<R>,
    assignment: Vec<PartitionId>,
}

/// One classic group.
#[derive(Clone, Debug)]
pub struct ClassicGroup<R> {
    state: GroupState,
    generation: Generation,
    leader: Option<MemberId>,
    members: BTreeMap<MemberId, Member<R>>,
    /// Ids handed out with `MEMBER_ID_REQUIRED`, until when they may join with them.
    pending: BTreeMap<MemberId, SimTime>,
    /// When the join phase completes at the latest (`DelayedJoin`).
    join_deadline: Option<SimTime>,
    /// For the initial delayed join: when it may extend to at most.
    initial_join_until: Option<SimTime>,
    initial_delay_ms: u64,
    next_member: u64,
}

impl<R: Clone> ClassicGroup<R> {
    /// An empty group; `initial_delay_ms` is `group.initial.rebalance.delay.ms` and
    /// member ids are drawn from `first_member_id` up.
    pub fn new(initial_delay_ms: u64, first_member_id: u64) -> ClassicGroup<R> {
        ClassicGroup {
            state: GroupState::Empty,
            generation: Generation(0),
            leader: None,
            members: BTreeMap::new(),
            pending: BTreeMap::new(),
            join_deadline: None,
            initial_join_until: None,
            initial_delay_ms,
            next_member: first_member_id,
        }
    }

    /// A group as a new coordinator loads it from its log: `generation` with its stored
    /// members and assignment, Stable (Empty without members), every session starting
    /// `now` (`GroupMetadataManager.loadGroup`).
    pub fn restore(
        &mut self,
        now: SimTime,
        generation: Generation,
        leader: MemberId,
        members: Vec<StoredMember>,
    ) {
        self.generation = generation;
        self.leader = Some(leader).filter(|l| members.iter().any(|m| m.member == *l));
        self.members = (members.into_iter())
            .map(|m| {
                let member = Member {
                    subscription: m.subscription,
                    session_timeout_ms: m.session_timeout_ms,
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    last_heartbeat: now,
                    awaiting_join: None,
                    awaiting_sync: None,
                    assignment: m.assignment,
                };
                (m.member, member)
            })
            .collect();
        self.state = if self.members.is_empty() {
            GroupState::Empty
        } else {
            GroupState::Stable
        };
    }

    /// The group's state.
    pub fn state(&self) -> GroupState {
        self.state
    }

    /// The current generation.
    pub fn generation(&self) -> Generation {
        self.generation
    }

    /// The members, in id order.
    pub fn members(&self) -> Vec<MemberId> {
        self.members.keys().copied().collect()
    }

    /// A member's current assignment (empty until its generation is stored).
    pub fn assignment(&self, member: MemberId) -> &[PartitionId] {
        self.members.get(&member).map_or(&[], |m| &m.assignment)
    }

    /// A JoinGroup.
    pub fn join(&mut self, now: SimTime, request: JoinRequest<R>, out: &mut Vec<GroupOutput<R>>) {
        let Some(id) = request.member else {
            // KIP-394: a pending member until it joins again with this id.
            let id = MemberId(self.next_member);
            self.next_member += 1;
            self.pending
                .insert(id, now.plus_ms(request.session_timeout_ms));
            let error = (GroupError::MemberIdRequired, Some(id));
            out.push(GroupOutput::Join {
                to: request.reply,
                result: Err(error),
            });
            return;
        };
        let is_new = self.pending.remove(&id).is_some();
        if is_new {
            self.members.insert(id, self.new_member(now, &request));
        }
        let Some(member) = self.members.get_mut(&id) else {
            let error = (GroupError::UnknownMemberId, None);
            out.push(GroupOutput::Join {
                to: request.reply,
                result: Err(error),
            });
            return;
        };
        member.last_heartbeat = now;
        member.session_timeout_ms = request.session_timeout_ms;
        member.rebalance_timeout_ms = request.rebalance_timeout_ms;
        let unchanged = !is_new && member.subscription == request.subscription;
        let is_leader = self.leader == Some(id);
        let settled = match self.state {
            GroupState::Stable => unchanged && !is_leader,
            GroupState::CompletingRebalance => unchanged,
            _ => false,
        };
        if settled {
            // Same metadata: the member hears the current generation again.
            let joined = self.joined(id);
            out.push(GroupOutput::Join {
                to: request.reply,
                result: Ok(joined),
            });
            return;
        }
        let member = self.members.get_mut(&id).expect("known");
        member.subscription = request.subscription;
        member.awaiting_join = Some(request.reply);
        match self.state {
            GroupState::PreparingRebalance => self.extend_initial_join(now),
            _ => self.prepare_rebalance(now, out),
        }
        self.maybe_complete_join(now, out);
    }

    /// The join answer of the current generation for `member`: the leader also gets every
    /// member's subscription.
    fn joined(&self, member: MemberId) -> Joined {
        let leader = self.leader.expect("a generation with members has a leader");
        let members = if member == leader {
            (self.members.iter())
                .map(|(id, m)| (*id, m.subscription.clone()))
                .collect()
        } else {
            BTreeMap::new()
        };
        Joined {
            member,
            generation: self.generation,
            leader,
            members,
        }
    }

    fn new_member(&self, now: SimTime, request: &JoinRequest<R>) -> Member<R> {
        Member {
            subscription: request.subscription.clone(),
            session_timeout_ms: request.session_timeout_ms,
            rebalance_timeout_ms: request.rebalance_timeout_ms,
            last_heartbeat: now,
            awaiting_join: None,
            awaiting_sync: None,
            assignment: Vec::new(),
        }
    }

    /// The leader, once a generation has one.
    pub fn leader(&self) -> Option<MemberId> {
        self.leader
    }

    /// The assignment could not be stored: the members waiting in SyncGroup get
    /// `COORDINATOR_NOT_AVAILABLE` and the group rebalances again
    /// (`resetAndPropagateAssignmentError`, then `prepareRebalance`).
    pub fn store_failed(&mut self, now: SimTime, out: &mut Vec<GroupOutput<R>>) {
        if self.state != GroupState::CompletingRebalance {
            return;
        }
        for member in self.members.values_mut() {
            if let Some(to) = member.awaiting_sync.take() {
                let result = Err(GroupError::CoordinatorNotAvailable);
                out.push(GroupOutput::Sync { to, result });
            }
        }
        self.prepare_rebalance(now, out);
    }

    /// A SyncGroup; the leader's carries the assignment.
    pub fn sync(
        &mut self,
        member: MemberId,
        generation: Generation,
        assignment: Option<BTreeMap<MemberId, Vec<PartitionId>>>,
        reply: R,
        out: &mut Vec<GroupOutput<R>>,
    ) {
        if let Err(error) = self.check_member(member, generation) {
            out.push(GroupOutput::Sync {
                to: reply,
                result: Err(error),
            });
            return;
        }
        match self.state {
            GroupState::Empty | GroupState::PreparingRebalance => {
                let error = Err(GroupError::RebalanceInProgress);
                out.push(GroupOutput::Sync {
                    to: reply,
                    result: error,
                });
            }
            GroupState::Stable => {
                let result = Ok(self.members[&member].assignment.clone());
                out.push(GroupOutput::Sync { to: reply, result });
            }
            GroupState::CompletingRebalance => {
                self.members
                    .get_mut(&member)
                    .expect("checked")
                    .awaiting_sync = Some(reply);
                if let Some(assignment) = assignment.filter(|_| self.leader == Some(member)) {
                    let assignment = (self.members.keys())
                        .map(|m| (*m, assignment.get(m).cloned().unwrap_or_default()))
                        .collect();
                    out.push(GroupOutput::Store {
                        generation,
                        assignment,
                    });
                }
            }
        }
    }

    /// The assignment of `generation` is durable: the group becomes Stable and every
    /// member waiting in SyncGroup gets its partitions.
    pub fn on_stored(
        &mut self,
        generation: Generation,
        assignment: &BTreeMap<MemberId, Vec<PartitionId>>,
        out: &mut Vec<GroupOutput<R>>,
    ) {
        if self.state != GroupState::CompletingRebalance || generation != self.generation {
            return; // a rebalance began meanwhile; its members rejoin
        }
        self.state = GroupState::Stable;
        for (id, member) in &mut self.members {
            member.assignment = assignment.get(id).cloned().unwrap_or_default();
            if let Some(to) = member.awaiting_sync.take() {
                let result = Ok(member.assignment.clone());
                out.push(GroupOutput::Sync { to, result });
            }
        }
    }

    /// A heartbeat.
    pub fn heartbeat(
        &mut self,
        now: SimTime,
        member: MemberId,
        generation: Generation,
    ) -> Result<(), GroupError> {
        let known = self
            .members
            .get_mut(&member)
            .ok_or(GroupError::UnknownMemberId)?;
        known.last_heartbeat = now;
        if generation != self.generation {
            return Err(GroupError::IllegalGeneration);
        }
        match self.state {
            GroupState::PreparingRebalance => Err(GroupError::RebalanceInProgress),
            GroupState::Empty => Err(GroupError::UnknownMemberId),
            _ => Ok(()),
        }
    }

    /// A LeaveGroup.
    pub fn leave(&mut self, now: SimTime, member: MemberId, out: &mut Vec<GroupOutput<R>>) {
        if self.members.contains_key(&member) {
            self.remove(now, member, "left the group", out);
        }
    }

    /// Whether an OffsetCommit from `member` in `generation` may be applied (the classic
    /// validation, `ClassicGroup.validateOffsetCommit`): `None` is a commit without group
    /// identity (a standalone or admin commit), accepted only while the group is Empty.
    pub fn check_commit(&self, member: Option<(MemberId, Generation)>) -> Result<(), GroupError> {
        let Some((member, generation)) = member else {
            return match self.state {
                GroupState::Empty => Ok(()),
                _ => Err(GroupError::UnknownMemberId),
            };
        };
        self.check_member(member, generation)?;
        match self.state {
            GroupState::CompletingRebalance => Err(GroupError::RebalanceInProgress),
            // Commits of the current generation are accepted while preparing a rebalance:
            // the generation bumps only when the join completes.
            _ => Ok(()),
        }
    }

    fn check_member(&self, member: MemberId, generation: Generation) -> Result<(), GroupError> {
        if !self.members.contains_key(&member) {
            return Err(GroupError::UnknownMemberId);
        }
        if generation != self.generation {
            return Err(GroupError::IllegalGeneration);
        }
        Ok(())
    }

    /// Expired sessions and the join deadline.
    pub fn on_timeout(&mut self, now: SimTime, out: &mut Vec<GroupOutput<R>>) {
        self.pending.retain(|_, until| now < *until);
        let expired: Vec<MemberId> = (self.members.iter())
            .filter(|(_, m)| m.awaiting_join.is_none() && m.awaiting_sync.is_none())
            .filter(|(_, m)| now >= m.last_heartbeat.plus_ms(m.session_timeout_ms))
            .map(|(id, _)| *id)
            .collect();
        for member in expired {
            self.remove(now, member, "session expired", out);
        }
        if self.join_deadline.is_some_and(|at| now >= at) {
            self.complete_join(now, out);
        }
    }

    /// When `on_timeout` is next due.
    pub fn next_deadline(&self) -> Option<SimTime> {
        let sessions = (self.members.values())
            .filter(|m| m.awaiting_join.is_none() && m.awaiting_sync.is_none())
            .map(|m| m.last_heartbeat.plus_ms(m.session_timeout_ms));
        (sessions.chain(self.pending.values().copied()))
            .chain(self.join_deadline)
            .min()
    }

    fn remove(
        &mut self,
        now: SimTime,
        member: MemberId,
        reason: &'static str,
        out: &mut Vec<GroupOutput<R>>,
    ) {
        self.members.remove(&member);
        out.push(GroupOutput::Removed { member, reason });
        if self.leader == Some(member) {
            self.leader = None;
        }
        match self.state {
            GroupState::PreparingRebalance => self.maybe_complete_join(now, out),
            GroupState::Empty => {}
            _ => self.prepare_rebalance(now, out),
        }
    }

    /// Starts a rebalance: pending syncs learn of it, and the join phase gets its deadline.
    fn prepare_rebalance(&mut self, now: SimTime, out: &mut Vec<GroupOutput<R>>) {
        for member in self.members.values_mut() {
            if let Some(to) = member.awaiting_sync.take() {
                let result = Err(GroupError::RebalanceInProgress);
                out.push(GroupOutput::Sync { to, result });
            }
        }
        let timeout_ms = (self.members.values())
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0);
        if self.state == GroupState::Empty {
            self.join_deadline = Some(now.plus_ms(self.initial_delay_ms.min(timeout_ms)));
            self.initial_join_until = Some(now.plus_ms(timeout_ms));
        } else {
            self.join_deadline = Some(now.plus_ms(timeout_ms));
            self.initial_join_until = None;
        }
        self.state = GroupState::PreparingRebalance;
    }

    /// `InitialDelayedJoin`: a member joining during the initial delay extends it.
    fn extend_initial_join(&mut self, now: SimTime) {
        if let Some(until) = self.initial_join_until {
            let extended = now.plus_ms(self.initial_delay_ms).min(until);
            self.join_deadline = Some(self.join_deadline.map_or(extended, |d| d.max(extended)));
        }
    }

    /// Completes the join phase early once every member has rejoined (never during the
    /// initial delay, as `InitialDelayedJoin` does not).
    fn maybe_complete_join(&mut self, now: SimTime, out: &mut Vec<GroupOutput<R>>) {
        let all_joined = self.members.values().all(|m| m.awaiting_join.is_some());
        if self.state == GroupState::PreparingRebalance
            && self.initial_join_until.is_none()
            && all_joined
        {
            self.complete_join(now, out);
        }
    }

    /// `onCompleteJoin`: drops members that did not rejoin, bumps the generation and
    /// answers every member.
    fn complete_join(&mut self, now: SimTime, out: &mut Vec<GroupOutput<R>>) {
        self.join_deadline = None;
        self.initial_join_until = None;
        let missing: Vec<MemberId> = (self.members.iter())
            .filter(|(_, m)| m.awaiting_join.is_none())
            .map(|(id, _)| *id)
            .collect();
        for member in missing {
            self.members.remove(&member);
            out.push(GroupOutput::Removed {
                member,
                reason: "did not rejoin in time",
            });
        }
        self.generation = Generation(self.generation.0 + 1);
        if self.leader.is_none_or(|l| !self.members.contains_key(&l)) {
            self.leader = self.members.keys().next().copied();
        }
        if self.leader.is_none() {
            self.state = GroupState::Empty;
            out.push(GroupOutput::Generation {
                generation: self.generation,
                members: Vec::new(),
            });
            return;
        }
        self.state = GroupState::CompletingRebalance;
        out.push(GroupOutput::Generation {
            generation: self.generation,
            members: self.members(),
        });
        let ids = self.members();
        for id in ids {
            let joined = self.joined(id);
            let member = self.members.get_mut(&id).expect("listed");
            member.last_heartbeat = now;
            member.assignment.clear();
            let to = member.awaiting_join.take().expect("every member rejoined");
            out.push(GroupOutput::Join {
                to,
                result: Ok(joined),
            });
        }
    }
}

#[cfg(test)]
mod tests;
