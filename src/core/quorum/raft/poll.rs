//! What each role does when time passes (`pollLeader`, `pollCandidate`,
//! `pollProspective`, `pollFollower`, `pollUnattached`, `pollResigned`), and when the
//! next timer of the role fires.
//!
//! Invariant: after a poll, no timer of the role is in the past (expired timers fired or
//! were re-armed), so `next_deadline` never asks for a call that would do nothing.

use crate::types::SimTime;

use super::client::Raft;
use super::effect::{RaftEffect, ResignReason};
use super::roles::Role;
use super::{Payload, ReplicaId};

type Out<I, R, S> = Vec<RaftEffect<I, R, S>>;

impl<I: ReplicaId, R: Payload, S: Payload> Raft<I, R, S> {
    /// One poll of the current role.
    pub(super) fn poll(&mut self, now: SimTime, out: &mut Out<I, R, S>) {
        match &self.role {
            Role::Leader(_) => self.poll_leader(now, out),
            Role::Candidate(_) => self.poll_candidate(now, out),
            Role::Prospective(_) => self.poll_prospective(now, out),
            Role::Follower(_) => self.poll_follower(now, out),
            Role::Unattached(_) => self.poll_unattached(now, out),
            Role::Resigned(_) => self.poll_resigned(now, out),
        }
    }

    /// The earliest timer of the current role.
    pub(super) fn role_deadline(&self) -> Option<SimTime> {
        match &self.role {
            Role::Unattached(s) => s.election_deadline,
            Role::Prospective(s) => Some(s.election_deadline),
            Role::Candidate(s) => Some(s.backoff_until.unwrap_or(s.election_deadline)),
            Role::Leader(s) => {
                let deadlines = [s.check_quorum_deadline(), s.parked_deadline()];
                let earliest = deadlines.into_iter().flatten().min();
                Some(earliest.map_or(s.begin_quorum_epoch_deadline(), |d| {
                    d.min(s.begin_quorum_epoch_deadline())
                }))
            }
            Role::Follower(s) => Some(s.fetch_deadline),
            Role::Resigned(s) => Some(s.election_deadline),
        }
    }

    /// `pollLeader`: resign on check-quorum expiry (KAFKA-15489), else send the
    /// BeginQuorumEpoch round when it is due.
    fn poll_leader(&mut self, now: SimTime, out: &mut Out<I, R, S>) {
        let Role::Leader(leader) = &self.role else {
            return;
        };
        if leader
            .check_quorum_deadline()
            .is_some_and(|deadline| now >= deadline)
        {
            return self.become_resigned(now, ResignReason::CheckQuorum, out);
        }
        self.send_begin_quorum_epochs(now, out);
    }

    /// `pollCandidate`: after the election timeout, back off; after the backoff, try again
    /// (with a pre-vote first when enabled); meanwhile ask the voters that have not answered.
    fn poll_candidate(&mut self, now: SimTime, out: &mut Out<I, R, S>) {
        self.maybe_become_leader(now, out);
        let Role::Candidate(candidate) = &self.role else {
            return;
        };
        let (backoff_until, deadline, retries) = (
            candidate.backoff_until,
            candidate.election_deadline,
            candidate.retries,
        );
        match backoff_until {
            Some(until) if now >= until => self.start_election(now, out),
            Some(_) => {}
            None if now >= deadline => {
                let backoff_ms = self.election_backoff_ms(retries);
                if backoff_ms == 0 {
                    return self.start_election(now, out);
                }
                if let Role::Candidate(candidate) = &mut self.role {
                    candidate.backoff_until = Some(now.plus_ms(backoff_ms));
                }
            }
            None => self.send_vote_requests(now, out),
        }
    }

    /// `pollProspective`: a won pre-vote runs for real; a lost or timed-out one returns
    /// to following or Unattached; meanwhile ask the voters that have not answered.
    fn poll_prospective(&mut self, now: SimTime, out: &mut Out<I, R, S>) {
        self.maybe_advance_prospective(now, out);
        let Role::Prospective(prospective) = &self.role else {
            return;
        };
        if now >= prospective.election_deadline {
            return self.prospective_lost(now, out);
        }
        self.send_vote_requests(now, out);
    }

    /// `pollFollowerAsVoter` / `pollFollowerAsObserver`: a voter whose fetch timeout
    /// expired starts an election; an observer asks a random voter instead, as it does
    /// while its requests to the leader back off after a failure. Otherwise fetch from the
    /// leader.
    fn poll_follower(&mut self, now: SimTime, out: &mut Out<I, R, S>) {
        let voter = self.is_voter();
        let timeout_ms = self.config.fetch_timeout_ms;
        let Role::Follower(follower) = &mut self.role else {
            return;
        };
        let leader = follower.leader;
        let expired = now >= follower.fetch_deadline;
        if expired && !voter {
            follower.fetch_deadline = now.plus_ms(timeout_ms);
            return self.fetch_any_voter(now, out);
        }
        if expired {
            return self.start_election(now, out);
        }
        if !voter && self.requests.is_backing_off(leader) {
            if !self.requests.any_in_flight() {
                self.fetch_any_voter(now, out);
            }
            return;
        }
        if voter || !self.requests.any_in_flight() {
            self.send_fetch_or_snapshot(now, leader, out);
        }
    }

    /// `pollUnattached`: a voter starts an election when its timer expires; an observer
    /// looks for the leader by fetching from a random voter.
    fn poll_unattached(&mut self, now: SimTime, out: &mut Out<I, R, S>) {
        let Role::Unattached(unattached) = &self.role else {
            return;
        };
        match unattached.election_deadline {
            Some(deadline) if now >= deadline => self.start_election(now, out),
            Some(_) => {}
            None if !self.requests.any_in_flight() => self.fetch_any_voter(now, out),
            None => {}
        }
    }

    /// `pollResigned`: tell the voters; when the election timer expires, move on. With
    /// pre-votes (4.0) that is Unattached in the next epoch, which asks for pre-votes at
    /// once; without, a Candidate in the next epoch (3.x).
    fn poll_resigned(&mut self, now: SimTime, out: &mut Out<I, R, S>) {
        let Role::Resigned(resigned) = &self.role else {
            return;
        };
        if now < resigned.election_deadline {
            return self.send_end_quorum_epochs(now, out);
        }
        if self.config.pre_vote {
            let next = resigned.epoch.next();
            self.become_unattached(now, next, out);
        } else {
            self.become_candidate(now, out);
        }
    }
}
