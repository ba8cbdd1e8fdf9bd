//! What every request and response shares: epoch validation (`validateVoterOnlyRequest`,
//! `validateLeaderOnlyRequest`), learning of a new epoch or leader from any message
//! (`maybeTransition`, `maybeHandleCommonResponse`), and the reply header.
//!
//! Invariant: a replica moves to a higher epoch as soon as any message shows one, before
//! it handles the message's content; it never moves back.

use crate::types::SimTime;

use super::client::Raft;
use super::effect::RaftEffect;
use super::epoch::Epoch;
use super::message::{CorrelationId, RaftError, Reply};
use super::roles::Role;
use super::{Payload, ReplicaId};

type Out<I, R, S> = Vec<RaftEffect<I, R, S>>;

impl<I: ReplicaId, R: Payload, S: Payload> Raft<I, R, S> {
    /// The reply header: our epoch and the leader we know.
    pub(super) fn reply(&self, correlation: CorrelationId, error: Option<RaftError>) -> Reply<I> {
        Reply {
            correlation,
            error,
            epoch: self.epoch(),
            leader: self.leader(),
        }
    }

    /// `validateVoterOnlyRequest` (Vote, BeginQuorumEpoch, EndQuorumEpoch).
    pub(super) fn validate_voter_only(&self, request_epoch: Epoch) -> Option<RaftError> {
        (request_epoch < self.epoch()).then_some(RaftError::FencedLeaderEpoch)
    }

    /// `validateLeaderOnlyRequest` (Fetch, FetchSnapshot).
    pub(super) fn validate_leader_only(&self, request_epoch: Epoch) -> Option<RaftError> {
        if request_epoch < self.epoch() {
            Some(RaftError::FencedLeaderEpoch)
        } else if request_epoch > self.epoch() {
            Some(RaftError::UnknownLeaderEpoch)
        } else if !matches!(self.role, Role::Leader(_)) {
            Some(RaftError::NotLeaderOrFollower)
        } else {
            None
        }
    }

    /// `hasConsistentLeader`: a message naming a leader of our epoch agrees with ours, and
    /// one naming us leader arrives while we lead.
    fn has_consistent_leader(&self, epoch: Epoch, leader: Option<I>) -> bool {
        if leader == Some(self.id) {
            return matches!(self.role, Role::Leader(_));
        }
        let ours = self.leader();
        epoch != self.epoch() || leader.is_none() || ours.is_none() || leader == ours
    }

    /// `maybeTransition`: a message shows `epoch` with `leader`. A higher epoch moves us
    /// to Follower (leader known) or Unattached; our own epoch with a leader we did not
    /// know makes us Follower. Kafka throws on an inconsistent leader; we drop the
    /// message, and the ElectionSafety checker reports the split brain.
    pub(super) fn maybe_transition(
        &mut self,
        now: SimTime,
        leader: Option<I>,
        epoch: Epoch,
        out: &mut Out<I, R, S>,
    ) {
        if !self.has_consistent_leader(epoch, leader) {
            return;
        }
        let leader = leader.filter(|l| self.config.voters.contains(l));
        if epoch > self.epoch() {
            match leader {
                Some(leader) if leader != self.id => self.become_follower(now, epoch, leader, out),
                _ => self.become_unattached(now, epoch, out),
            }
        } else if epoch == self.epoch()
            && let Some(leader) = leader
            && leader != self.id
            && self.leader().is_none()
        {
            self.become_follower(now, epoch, leader, out);
        }
    }

    /// `maybeHandleCommonResponse`. `Some(ok)` if the response is fully handled here
    /// (`ok` false: back off before retrying that peer); `None` if the caller should go on.
    pub(super) fn handle_common_response(
        &mut self,
        now: SimTime,
        reply: &Reply<I>,
        out: &mut Out<I, R, S>,
    ) -> Option<bool> {
        let error = reply.error;
        if reply.epoch < self.epoch() || error == Some(RaftError::UnknownLeaderEpoch) {
            return Some(true); // we have a larger epoch: the response is no longer relevant
        }
        let stale = matches!(
            error,
            Some(RaftError::FencedLeaderEpoch | RaftError::NotLeaderOrFollower)
        );
        if reply.epoch > self.epoch() || stale {
            self.maybe_transition(now, reply.leader, reply.epoch, out);
            return Some(true);
        }
        if let Some(leader) = reply.leader
            && self.leader().is_none()
            && leader != self.id
            && self.config.voters.contains(&leader)
        {
            if !self.has_consistent_leader(reply.epoch, reply.leader) {
                return Some(true);
            }
            self.become_follower(now, reply.epoch, leader, out);
            return if error.is_none() { None } else { Some(true) };
        }
        match error {
            Some(RaftError::InvalidRequest) => Some(false),
            _ => None,
        }
    }

    /// `maybeHandleCommonResponse`, then any error it left fails the response (Kafka's
    /// `handleUnexpectedError`). `Some(ok)` if the response is fully handled here, `None`
    /// if the caller goes on with a response without error.
    pub(super) fn handle_reply(
        &mut self,
        now: SimTime,
        reply: &Reply<I>,
        out: &mut Out<I, R, S>,
    ) -> Option<bool> {
        let handled = self.handle_common_response(now, reply, out);
        handled.or(reply.error.map(|_| false))
    }
}
