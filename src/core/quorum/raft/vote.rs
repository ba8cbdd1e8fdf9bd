//! Elections: Vote requests and responses, pre-votes (KIP-996) and the backoff after a
//! lost election (`handleVoteRequest`, `handleVoteResponse`, `maybeSendVoteRequests`,
//! `binaryExponentialElectionBackoffMs`).
//!
//! Invariants: a binding vote is granted only to a candidate whose `(last epoch, LEO)` is
//! at least ours, at most once per epoch, and is persisted before the response goes out;
//! a pre-vote changes nothing at the receiver (no epoch bump, nothing persisted).

use crate::types::SimTime;

use super::client::Raft;
use super::config::ELECTION_BACKOFF_BASE_MS;
use super::effect::RaftEffect;
use super::epoch::OffsetAndEpoch;
use super::message::{CorrelationId, RaftError, RaftMessage, Reply, VoteRequest};
use super::roles::Role;
use super::{Payload, ReplicaId};

type Out<I, R, S> = Vec<RaftEffect<I, R, S>>;

impl<I: ReplicaId, R: Payload, S: Payload> Raft<I, R, S> {
    /// `handleVoteRequest`. A standard vote with a higher epoch first moves us to
    /// Unattached in that epoch, whatever our role (even a healthy leader: this is what
    /// pre-votes avoid). The vote is granted iff the candidate's log is at least as up to
    /// date as ours and our role allows it (`canGrantVote`).
    pub(super) fn on_vote_request(
        &mut self,
        now: SimTime,
        from: I,
        request: VoteRequest<I>,
        out: &mut Out<I, R, S>,
    ) {
        let correlation = request.correlation;
        let epoch_too_new = request.last_epoch > request.candidate_epoch;
        let same_epoch_vote = !request.pre_vote && request.last_epoch == request.candidate_epoch;
        if epoch_too_new || same_epoch_vote {
            return self.respond_vote(
                from,
                correlation,
                Some(RaftError::InvalidRequest),
                false,
                out,
            );
        }
        if let Some(error) = self.validate_voter_only(request.candidate_epoch) {
            return self.respond_vote(from, correlation, Some(error), false, out);
        }
        if !request.pre_vote && request.candidate_epoch > self.epoch() {
            self.become_unattached(now, request.candidate_epoch, out);
        }
        let candidate_end = OffsetAndEpoch::new(request.last_offset, request.last_epoch);
        let up_to_date = candidate_end >= self.log.end();
        let candidate = request.candidate;
        let known_voter = self.config.voters.contains(&candidate) && candidate != self.id;
        let granted = known_voter
            && self
                .role
                .can_grant_vote(candidate, up_to_date, request.pre_vote);
        if granted && !request.pre_vote && self.voted().is_none() {
            self.record_vote(now, candidate, out);
        }
        assert!(!granted || request.pre_vote || self.voted() == Some(candidate));
        self.respond_vote(from, correlation, None, granted, out);
    }

    fn respond_vote(
        &mut self,
        to: I,
        correlation: CorrelationId,
        error: Option<RaftError>,
        vote_granted: bool,
        out: &mut Out<I, R, S>,
    ) {
        let reply = self.reply(correlation, error);
        out.push(RaftEffect::Send {
            to,
            message: RaftMessage::VoteResponse {
                reply,
                vote_granted,
            },
        });
    }

    /// `handleVoteResponse`: tally the answer. A Candidate with a majority leads; one
    /// rejected by a majority backs off before the next attempt. A Prospective with a
    /// majority of pre-votes runs for real; one rejected returns to following its last
    /// known leader, or to Unattached.
    pub(super) fn on_vote_response(
        &mut self,
        now: SimTime,
        from: I,
        reply: Reply<I>,
        granted: bool,
        out: &mut Out<I, R, S>,
    ) -> bool {
        if let Some(ok) = self.handle_reply(now, &reply, out) {
            return ok;
        }
        match &mut self.role {
            Role::Candidate(candidate) => {
                candidate.tally.record(from, granted);
                if candidate.tally.is_rejected() && candidate.backoff_until.is_none() {
                    let retries = candidate.retries;
                    let backoff_ms = self.election_backoff_ms(retries);
                    if let Role::Candidate(candidate) = &mut self.role {
                        candidate.backoff_until = Some(now.plus_ms(backoff_ms));
                    }
                }
                self.maybe_become_leader(now, out);
            }
            Role::Prospective(prospective) => {
                prospective.tally.record(from, granted);
                self.maybe_advance_prospective(now, out);
            }
            _ => {} // "Ignoring vote response since we are no longer a candidate"
        }
        true
    }

    /// A Prospective with a majority of pre-votes becomes Candidate; one that can no
    /// longer get a majority gives up (`prospectiveTransitionAfterElectionLoss`).
    pub(super) fn maybe_advance_prospective(&mut self, now: SimTime, out: &mut Out<I, R, S>) {
        let Role::Prospective(prospective) = &self.role else {
            return;
        };
        if prospective.tally.is_granted() {
            self.become_candidate(now, out);
        } else if prospective.tally.is_rejected() {
            self.prospective_lost(now, out);
        }
    }

    /// `prospectiveTransitionAfterElectionLoss`: follow the last known leader if there is
    /// one, else Unattached in the same epoch.
    pub(super) fn prospective_lost(&mut self, now: SimTime, out: &mut Out<I, R, S>) {
        let Role::Prospective(prospective) = &self.role else {
            panic!("only a prospective loses a pre-vote");
        };
        let epoch = prospective.epoch;
        match prospective.leader {
            Some(leader) => self.become_follower(now, epoch, leader, out),
            None => self.become_unattached(now, epoch, out),
        }
    }

    /// `binaryExponentialElectionBackoffMs`: `min(100 ms * rand(2^retries), backoff max)`.
    pub(super) fn election_backoff_ms(&mut self, retries: u32) -> u64 {
        assert!(retries >= 1, "retries count from 1");
        let bound = 2u64 << (retries - 1).min(20);
        let backoff_ms = ELECTION_BACKOFF_BASE_MS * self.prng.below(bound);
        backoff_ms.min(self.config.election_backoff_max_ms)
    }

    /// `maybeSendVoteRequests`: while the election can still be won, ask every voter that
    /// has not answered (and has no request in flight).
    pub(super) fn send_vote_requests(&mut self, now: SimTime, out: &mut Out<I, R, S>) {
        let (tally, pre_vote) = match &self.role {
            Role::Candidate(c) if c.backoff_until.is_none() => (&c.tally, false),
            Role::Prospective(p) => (&p.tally, true),
            _ => return,
        };
        if tally.is_rejected() {
            return;
        }
        let targets: Vec<I> = tally
            .unrecorded()
            .into_iter()
            .filter(|&v| v != self.id)
            .collect();
        let end = self.log.end();
        for voter in targets {
            if !self.requests.is_ready(voter) {
                continue;
            }
            let request = VoteRequest {
                correlation: self.next_correlation(),
                candidate_epoch: self.epoch(),
                candidate: self.id,
                last_epoch: end.epoch,
                last_offset: end.offset,
                pre_vote,
            };
            self.send_request(now, voter, RaftMessage::Vote(request), out);
        }
    }
}
