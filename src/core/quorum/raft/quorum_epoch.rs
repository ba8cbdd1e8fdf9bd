//! BeginQuorumEpoch (a new leader announces itself) and EndQuorumEpoch (a resigned leader
//! asks for a successor): `handleBeginQuorumEpochRequest`/`Response`,
//! `handleEndQuorumEpochRequest`/`Response`, `maybeSendBeginQuorumEpochRequests`,
//! `pollResigned`, `endEpochElectionBackoff`.
//!
//! Invariants: the leader sends BeginQuorumEpoch to every other voter each
//! `fetch_timeout / 2` for as long as it leads (KAFKA-16536), so a voter that moved to a
//! newer epoch is heard of even if it never fetches again; a resigned leader resends
//! EndQuorumEpoch until each voter acknowledges.

use crate::types::SimTime;

use super::client::Raft;
use super::effect::RaftEffect;
use super::message::{BeginQuorumEpoch, EndQuorumEpoch, RaftMessage, Reply};
use super::roles::Role;
use super::{Payload, ReplicaId};

type Out<I, R, S> = Vec<RaftEffect<I, R, S>>;

/// `strictExponentialElectionBackoffMs`: position 0 of the preferred successors runs at
/// once, later positions wait exponentially longer; a voter not in the list waits the most.
pub(super) fn strict_exponential_backoff_ms(
    position: usize,
    successors: usize,
    backoff_max_ms: u64,
) -> u64 {
    if position == 0 {
        return 0;
    }
    if position >= successors {
        return backoff_max_ms;
    }
    let base_ms = backoff_max_ms
        .checked_shr((successors - 1) as u32)
        .unwrap_or(0);
    let shifted = base_ms
        .checked_shl((position - 1) as u32)
        .unwrap_or(u64::MAX);
    backoff_max_ms.min(shifted)
}

impl<I: ReplicaId, R: Payload, S: Payload> Raft<I, R, S> {
    /// `handleBeginQuorumEpochRequest`: learn the leader (and its epoch) and acknowledge.
    pub(super) fn on_begin_quorum_epoch(
        &mut self,
        now: SimTime,
        from: I,
        request: BeginQuorumEpoch<I>,
        out: &mut Out<I, R, S>,
    ) {
        let error = self.validate_voter_only(request.leader_epoch);
        if error.is_none() {
            self.maybe_transition(now, Some(request.leader), request.leader_epoch, out);
        }
        let reply = self.reply(request.correlation, error);
        out.push(RaftEffect::Send {
            to: from,
            message: RaftMessage::BeginQuorumEpochResponse(reply),
        });
    }

    /// `handleBeginQuorumEpochResponse`: a response naming a newer epoch moves us there
    /// (this is how a leader learns that a voter it cannot otherwise hear from has moved on).
    pub(super) fn on_begin_quorum_epoch_response(
        &mut self,
        now: SimTime,
        reply: Reply<I>,
        out: &mut Out<I, R, S>,
    ) -> bool {
        self.handle_reply(now, &reply, out).unwrap_or(true)
    }

    /// `handleEndQuorumEpochRequest`: a follower of the resigned leader shortens its fetch
    /// timeout to its position among the preferred successors, so the best-placed voter
    /// starts the next election first.
    pub(super) fn on_end_quorum_epoch(
        &mut self,
        now: SimTime,
        from: I,
        request: EndQuorumEpoch<I>,
        out: &mut Out<I, R, S>,
    ) {
        let error = self.validate_voter_only(request.leader_epoch);
        if error.is_none() {
            self.maybe_transition(now, Some(request.leader), request.leader_epoch, out);
            let backoff_max_ms = self.config.election_backoff_max_ms;
            let id = self.id;
            if let Role::Follower(follower) = &mut self.role
                && follower.leader == request.leader
            {
                let successors = &request.preferred_successors;
                let position = successors
                    .iter()
                    .position(|&s| s == id)
                    .unwrap_or(successors.len());
                let backoff_ms =
                    strict_exponential_backoff_ms(position, successors.len(), backoff_max_ms);
                follower.fetch_deadline = now.plus_ms(backoff_ms);
            }
        }
        let reply = self.reply(request.correlation, error);
        out.push(RaftEffect::Send {
            to: from,
            message: RaftMessage::EndQuorumEpochResponse(reply),
        });
    }

    /// `handleEndQuorumEpochResponse`: that voter heard of our resignation.
    pub(super) fn on_end_quorum_epoch_response(
        &mut self,
        now: SimTime,
        from: I,
        reply: Reply<I>,
        out: &mut Out<I, R, S>,
    ) -> bool {
        if let Some(ok) = self.handle_reply(now, &reply, out) {
            return ok;
        }
        if let Role::Resigned(resigned) = &mut self.role {
            resigned.unacked.remove(&from);
        }
        true
    }

    /// `maybeSendBeginQuorumEpochRequests`: every `fetch_timeout / 2` the leader announces
    /// itself to every other voter that has no request of ours in flight (KAFKA-16536).
    pub(super) fn send_begin_quorum_epochs(&mut self, now: SimTime, out: &mut Out<I, R, S>) {
        let Role::Leader(leader) = &mut self.role else {
            return;
        };
        let epoch = leader.epoch;
        for voter in leader.begin_quorum_epoch_round(now) {
            if !self.requests.is_ready(voter) {
                continue;
            }
            let request = BeginQuorumEpoch {
                correlation: self.next_correlation(),
                leader_epoch: epoch,
                leader: self.id,
            };
            self.send_request(now, voter, RaftMessage::BeginQuorumEpoch(request), out);
        }
    }

    /// A resigned leader tells every voter that has not acknowledged it yet.
    pub(super) fn send_end_quorum_epochs(&mut self, now: SimTime, out: &mut Out<I, R, S>) {
        let Role::Resigned(resigned) = &self.role else {
            return;
        };
        let epoch = resigned.epoch;
        let successors = resigned.preferred_successors.clone();
        let targets: Vec<I> = resigned.unacked.iter().copied().collect();
        for voter in targets {
            if !self.requests.is_ready(voter) {
                continue;
            }
            let request = EndQuorumEpoch {
                correlation: self.next_correlation(),
                leader_epoch: epoch,
                leader: self.id,
                preferred_successors: successors.clone(),
            };
            self.send_request(now, voter, RaftMessage::EndQuorumEpoch(request), out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::strict_exponential_backoff_ms;

    #[test]
    fn strict_exponential_backoff_table() {
        // 3 successors, max 1000: positions 0, 1, 2 and "not listed"
        assert_eq!(strict_exponential_backoff_ms(0, 3, 1_000), 0);
        assert_eq!(strict_exponential_backoff_ms(1, 3, 1_000), 250);
        assert_eq!(strict_exponential_backoff_ms(2, 3, 1_000), 500);
        assert_eq!(strict_exponential_backoff_ms(3, 3, 1_000), 1_000);
        assert_eq!(strict_exponential_backoff_ms(0, 0, 1_000), 0);
        assert_eq!(strict_exponential_backoff_ms(1, 1, 1_000), 1_000);
    }
}
