//! Role transitions (`QuorumState.transitionTo*` plus `KafkaRaftClient.onBecome*`).
//!
//! Invariants: every transition forgets in-flight requests (`resetConnections`); a
//! durable transition pushes `PersistElection` before anything that depends on it (only
//! if the election state changed: Kafka rewrites the same file content); a replica that
//! stops leading answers its parked fetches at once; a vote cast in an epoch survives
//! every transition within that epoch.

use std::collections::BTreeSet;

use crate::types::SimTime;

use super::client::Raft;
use super::effect::{RaftEffect, ResignReason};
use super::epoch::Epoch;
use super::leader::Leader;
use super::log::Entry;
use super::roles::{Candidate, Follower, Prospective, Resigned, Role, Unattached, VoteTally};
use super::{Payload, ReplicaId};

type Out<I, R, S> = Vec<RaftEffect<I, R, S>>;

impl<I: ReplicaId, R: Payload, S: Payload> Raft<I, R, S> {
    /// Replaces the role, persisting its election state if it changed.
    fn transition(&mut self, now: SimTime, role: Role<I>, out: &mut Out<I, R, S>) {
        let old = std::mem::replace(&mut self.role, role);
        self.generation += 1;
        self.requests.reset_all();
        self.persist_if_changed(out);
        if let Role::Leader(leader) = old {
            self.answer_parked_after_leadership(now, *leader, out);
        }
    }

    /// Pushes `PersistElection` if the role's election state differs from what is stored
    /// (`durableTransitionTo`; `memoryTransitionTo` cases never change it).
    pub(super) fn persist_if_changed(&mut self, out: &mut Out<I, R, S>) {
        let election = self.role.election(self.id);
        if self.persisted.as_ref() != Some(&election) {
            out.push(RaftEffect::PersistElection(election.clone()));
            self.persisted = Some(election);
        }
    }

    /// `transitionToUnattached`: a higher epoch without a known leader, or (from
    /// Prospective) the same epoch after losing the pre-vote. The election timer carries
    /// over from Candidate, Unattached, Resigned and a Prospective that was not rejected.
    pub(super) fn become_unattached(&mut self, now: SimTime, epoch: Epoch, out: &mut Out<I, R, S>) {
        let same_epoch = epoch == self.epoch();
        assert!(epoch > self.epoch() || (same_epoch && matches!(self.role, Role::Prospective(_))));
        let carried = match &self.role {
            Role::Candidate(s) => Some(s.election_deadline),
            Role::Unattached(s) => s.election_deadline,
            Role::Prospective(s) if !s.tally.is_rejected() => Some(s.election_deadline),
            Role::Resigned(s) => Some(s.election_deadline),
            _ => None,
        };
        let election_deadline = match (self.is_voter(), carried) {
            (false, _) => None,
            (true, Some(deadline)) => Some(deadline),
            (true, None) => Some(self.random_election_deadline(now)),
        };
        let voted = if same_epoch { self.voted() } else { None };
        self.transition(
            now,
            Role::Unattached(Unattached {
                epoch,
                voted,
                election_deadline,
            }),
            out,
        );
        out.push(RaftEffect::BecameUnattached { epoch, voted });
    }

    /// `unattachedAddVotedState` / `prospectiveAddVotedState`: grant a (binding) vote in
    /// the current epoch; the election timer restarts, because the candidate has at
    /// least as good a chance as we do.
    pub(super) fn record_vote(&mut self, now: SimTime, candidate: I, out: &mut Out<I, R, S>) {
        assert!(candidate != self.id);
        assert!(self.voted().is_none(), "one vote per epoch");
        let epoch = self.epoch();
        let election_deadline = self.random_election_deadline(now);
        let role = match &self.role {
            Role::Unattached(s) => {
                let election_deadline = s.election_deadline.map(|_| election_deadline);
                Role::Unattached(Unattached {
                    epoch,
                    voted: Some(candidate),
                    election_deadline,
                })
            }
            Role::Prospective(s) => Role::Prospective(Prospective {
                epoch,
                leader: s.leader,
                voted: Some(candidate),
                tally: VoteTally::new(&self.config.voters, self.id),
                retries: s.retries,
                election_deadline,
            }),
            _ => panic!("only Unattached and Prospective add a vote"),
        };
        self.transition(now, role, out);
    }

    /// `transitionToFollower`: the leader of `epoch` is known.
    pub(super) fn become_follower(
        &mut self,
        now: SimTime,
        epoch: Epoch,
        leader: I,
        out: &mut Out<I, R, S>,
    ) {
        assert!(leader != self.id, "a replica never follows itself");
        assert!(self.config.voters.contains(&leader), "leaders are voters");
        assert!(epoch >= self.epoch());
        let same_epoch = epoch == self.epoch();
        assert!(!same_epoch || !matches!(self.role, Role::Leader(_) | Role::Follower(_)));
        let voted = if same_epoch { self.voted() } else { None };
        let fetch_deadline = now.plus_ms(self.config.fetch_timeout_ms);
        let follower = Follower {
            epoch,
            leader,
            voted,
            fetch_deadline,
            has_fetched: false,
            fetching_snapshot: None,
        };
        self.transition(now, Role::Follower(follower), out);
        out.push(RaftEffect::BecameFollower { epoch, leader });
    }

    /// An election timeout expired: pre-vote first if enabled (KIP-996), else run now.
    pub(super) fn start_election(&mut self, now: SimTime, out: &mut Out<I, R, S>) {
        if self.config.pre_vote {
            self.become_prospective(now, out);
        } else {
            self.become_candidate(now, out);
        }
    }

    /// `transitionToProspective`: ask for pre-votes in the current epoch (memory only).
    pub(super) fn become_prospective(&mut self, now: SimTime, out: &mut Out<I, R, S>) {
        assert!(self.is_voter(), "observers never run");
        assert!(!matches!(self.role, Role::Leader(_) | Role::Prospective(_)));
        let retries = match &self.role {
            Role::Candidate(s) => s.retries + 1,
            _ => 1,
        };
        let epoch = self.epoch();
        let prospective = Prospective {
            epoch,
            leader: self.leader(),
            voted: self.voted(),
            tally: VoteTally::new(&self.config.voters, self.id),
            retries,
            election_deadline: self.random_election_deadline(now),
        };
        self.transition(now, Role::Prospective(prospective), out);
        out.push(RaftEffect::BecameProspective { epoch });
    }

    /// `transitionToCandidate`: bump the epoch and vote for ourselves (durable). A single
    /// voter wins at once.
    pub(super) fn become_candidate(&mut self, now: SimTime, out: &mut Out<I, R, S>) {
        assert!(self.is_voter(), "observers never run");
        assert!(!matches!(self.role, Role::Leader(_)));
        let retries = match &self.role {
            Role::Prospective(s) => s.retries,
            Role::Candidate(s) => s.retries + 1,
            _ => 1,
        };
        let epoch = self.epoch().next();
        let candidate = Candidate {
            epoch,
            tally: VoteTally::new(&self.config.voters, self.id),
            retries,
            election_deadline: self.random_election_deadline(now),
            backoff_until: None,
        };
        self.transition(now, Role::Candidate(candidate), out);
        out.push(RaftEffect::BecameCandidate { epoch });
        self.maybe_become_leader(now, out);
    }

    /// `maybeTransitionToLeader`: a candidate with a majority leads.
    pub(super) fn maybe_become_leader(&mut self, now: SimTime, out: &mut Out<I, R, S>) {
        if let Role::Candidate(candidate) = &self.role
            && candidate.tally.is_granted()
        {
            self.become_leader(now, out);
        }
    }

    /// `onBecomeLeader`: lead the candidate's epoch and append the LeaderChange record at
    /// once, since the HW can only move after an entry of this epoch commits.
    fn become_leader(&mut self, now: SimTime, out: &mut Out<I, R, S>) {
        let Role::Candidate(candidate) = &self.role else {
            panic!("only a candidate becomes leader");
        };
        assert!(candidate.tally.is_granted(), "a leader needs a majority");
        let epoch = candidate.epoch;
        self.lead(now, epoch, out);
    }

    /// Takes the Leader role in `epoch` at the current LEO and writes the LeaderChange
    /// record (also the pre-KAFKA-10527 restart path).
    pub(super) fn lead(&mut self, now: SimTime, epoch: Epoch, out: &mut Out<I, R, S>) {
        let epoch_start_offset = self.log.end_offset();
        let leader = Leader::new(&self.config, self.id, epoch, epoch_start_offset, now);
        self.transition(now, Role::Leader(Box::new(leader)), out);
        out.push(RaftEffect::BecameLeader {
            epoch,
            epoch_start_offset,
        });
        let voters = self.config.voters.iter().copied().collect();
        let change = Entry::LeaderChange {
            leader: self.id,
            voters,
        };
        let added = self.log.append_as_leader(epoch, vec![change]);
        assert_eq!(added[0].offset, epoch_start_offset);
        out.push(RaftEffect::Append(added));
        self.on_leader_append(now, out);
    }

    /// `transitionToResigned`: stop leading this epoch (memory only) and ask the voters to
    /// elect a successor, the most caught-up first.
    pub(super) fn become_resigned(
        &mut self,
        now: SimTime,
        why: ResignReason,
        out: &mut Out<I, R, S>,
    ) {
        let Role::Leader(leader) = &self.role else {
            panic!("only a leader resigns");
        };
        let preferred_successors = leader.voters_by_descending_fetch_offset();
        let epoch = self.epoch();
        let resigned = self.resigned(now, epoch, preferred_successors);
        self.transition(now, Role::Resigned(resigned), out);
        out.push(RaftEffect::Resigned { epoch, why });
    }

    /// The Resigned state in `epoch`; every other voter still has to acknowledge.
    pub(super) fn resigned(
        &mut self,
        now: SimTime,
        epoch: Epoch,
        preferred_successors: Vec<I>,
    ) -> Resigned<I> {
        let id = self.id;
        let unacked: BTreeSet<I> = self
            .config
            .voters
            .iter()
            .copied()
            .filter(|&v| v != id)
            .collect();
        let election_deadline = self.random_election_deadline(now);
        Resigned {
            epoch,
            election_deadline,
            unacked,
            preferred_successors,
        }
    }
}
