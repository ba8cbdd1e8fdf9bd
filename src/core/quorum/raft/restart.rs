//! The role a replica starts in, from its quorum-state file and its log
//! (`QuorumState.initialize`).
//!
//! Invariant: a restarted replica never holds a weaker promise than it persisted: it keeps
//! its epoch and its vote, and a former leader does not lead that epoch again (unless the
//! KAFKA-10527 knob is off).

use crate::types::SimTime;

use super::client::Raft;
use super::effect::{RaftEffect, ResignReason};
use super::roles::{Candidate, Follower, Role, Unattached, VoteTally};
use super::stored::ElectionState;
use super::{Payload, ReplicaId};

impl<I: ReplicaId, R: Payload, S: Payload> Raft<I, R, S> {
    /// `QuorumState.initialize`, in Kafka's order of checks:
    /// 1. the log has a newer epoch than the file: Unattached in the log's epoch;
    /// 2. the file names us leader: Resigned in that epoch (KAFKA-10527), so we cannot vote
    ///    again in it and never re-append different entries at an (offset, epoch) a
    ///    follower may hold; with the knob off, lead that epoch again;
    /// 3. we had voted for ourselves: Candidate in that epoch;
    /// 4. a leader is known: Follower of it, keeping our vote;
    /// 5. else Unattached, keeping our vote.
    pub(super) fn initialize(
        &mut self,
        now: SimTime,
        stored: Option<ElectionState<I>>,
        out: &mut Vec<RaftEffect<I, R, S>>,
    ) {
        let election = stored.unwrap_or_else(ElectionState::initial);
        let log_epoch = self.log.last_fetched_epoch();
        let id = self.id;
        let voter = self.is_voter();
        if election.epoch < log_epoch {
            self.start_unattached(now, log_epoch, None, out);
        } else if voter && election.leader == Some(id) {
            if self.config.restart_leader_resigned {
                let resigned = self.resigned(now, election.epoch, Vec::new());
                self.role = Role::Resigned(resigned);
                self.persist_if_changed(out);
                out.push(RaftEffect::Resigned {
                    epoch: election.epoch,
                    why: ResignReason::Restarted,
                });
            } else {
                self.lead(now, election.epoch, out);
            }
        } else if voter && election.voted == Some(id) {
            let candidate = Candidate {
                epoch: election.epoch,
                tally: VoteTally::new(&self.config.voters, id),
                retries: 1,
                election_deadline: self.random_election_deadline(now),
                backoff_until: None,
            };
            self.role = Role::Candidate(candidate);
            self.persist_if_changed(out);
            out.push(RaftEffect::BecameCandidate {
                epoch: election.epoch,
            });
        } else if let Some(leader) = election
            .leader
            .filter(|&l| l != id && self.config.voters.contains(&l))
        {
            let follower = Follower {
                epoch: election.epoch,
                leader,
                voted: election.voted,
                fetch_deadline: now.plus_ms(self.config.fetch_timeout_ms),
                has_fetched: false,
                fetching_snapshot: None,
            };
            self.role = Role::Follower(follower);
            self.persist_if_changed(out);
            out.push(RaftEffect::BecameFollower {
                epoch: election.epoch,
                leader,
            });
        } else {
            self.start_unattached(now, election.epoch, election.voted, out);
        }
        assert!(
            self.epoch() >= election.epoch,
            "a restart never goes back in epochs"
        );
    }

    fn start_unattached(
        &mut self,
        now: SimTime,
        epoch: super::epoch::Epoch,
        voted: Option<I>,
        out: &mut Vec<RaftEffect<I, R, S>>,
    ) {
        let election_deadline = if self.is_voter() {
            Some(self.random_election_deadline(now))
        } else {
            None
        };
        self.role = Role::Unattached(Unattached {
            epoch,
            voted,
            election_deadline,
        });
        self.persist_if_changed(out);
        out.push(RaftEffect::BecameUnattached { epoch, voted });
    }
}
