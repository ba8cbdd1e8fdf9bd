//! The roles a replica can be in (Kafka's `EpochState` classes) and who may grant a vote
//! in each (`canGrantVote`). The leader's state lives in `leader.rs`.
//!
//! Invariants: every role holds exactly one epoch; a role's `election()` is what the
//! quorum-state file must hold while the replica is in it; within one epoch a vote once
//! cast is kept through every transition (`QuorumState.transitionToFollower` "should
//! preserve voted key"), so a replica never votes twice in an epoch.

use std::collections::BTreeSet;

use crate::types::SimTime;

use super::ReplicaId;
use super::epoch::Epoch;
use super::leader::Leader;
use super::log::SnapshotId;
use super::stored::ElectionState;

/// Which role a replica is in, for callers and views.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RoleKind {
    /// Knows an epoch but no leader; may hold a vote (`UnattachedState`).
    Unattached,
    /// Asks for pre-votes before running (`ProspectiveState`, KIP-996).
    Prospective,
    /// Runs for leader in a new epoch (`CandidateState`).
    Candidate,
    /// Leads its epoch (`LeaderState`).
    Leader,
    /// Fetches from the leader of its epoch (`FollowerState`).
    Follower,
    /// Led this epoch and stepped down (`ResignedState`).
    Resigned,
}

/// The votes of one election (Kafka's `EpochElection`): the local voter grants itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct VoteTally<I> {
    voters: BTreeSet<I>,
    granted: BTreeSet<I>,
    rejected: BTreeSet<I>,
}

impl<I: ReplicaId> VoteTally<I> {
    /// A new election among `voters`, with `local`'s own vote granted.
    pub(super) fn new(voters: &BTreeSet<I>, local: I) -> VoteTally<I> {
        assert!(voters.contains(&local), "only a voter runs an election");
        let granted = BTreeSet::from([local]);
        VoteTally {
            voters: voters.clone(),
            granted,
            rejected: BTreeSet::new(),
        }
    }

    /// Records `voter`'s answer; the first answer of a voter counts.
    pub(super) fn record(&mut self, voter: I, granted: bool) {
        if !self.voters.contains(&voter) || self.granted.contains(&voter) {
            return;
        }
        if self.rejected.contains(&voter) {
            return;
        }
        if granted {
            self.granted.insert(voter);
        } else {
            self.rejected.insert(voter);
        }
    }

    fn majority(&self) -> usize {
        self.voters.len() / 2 + 1
    }

    /// A majority granted (`isVoteGranted`).
    pub(super) fn is_granted(&self) -> bool {
        self.granted.len() >= self.majority()
    }

    /// A majority can no longer be reached (`isVoteRejected`).
    pub(super) fn is_rejected(&self) -> bool {
        self.rejected.len() > self.voters.len() - self.majority()
    }

    /// Voters that have not answered yet.
    pub(super) fn unrecorded(&self) -> Vec<I> {
        let recorded = |v: &I| self.granted.contains(v) || self.rejected.contains(v);
        self.voters
            .iter()
            .copied()
            .filter(|v| !recorded(v))
            .collect()
    }
}

/// Unattached: an epoch without a known leader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Unattached<I> {
    pub(super) epoch: Epoch,
    pub(super) voted: Option<I>,
    /// When to start an election; `None` for observers, which never run.
    pub(super) election_deadline: Option<SimTime>,
}

/// Prospective: collecting pre-votes in the current epoch, which stays unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Prospective<I> {
    pub(super) epoch: Epoch,
    /// The last known leader of this epoch (a follower that timed out keeps it).
    pub(super) leader: Option<I>,
    pub(super) voted: Option<I>,
    pub(super) tally: VoteTally<I>,
    pub(super) retries: u32,
    pub(super) election_deadline: SimTime,
}

/// Candidate: running in an epoch it bumped, having voted for itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Candidate<I> {
    pub(super) epoch: Epoch,
    pub(super) tally: VoteTally<I>,
    pub(super) retries: u32,
    pub(super) election_deadline: SimTime,
    /// Set once the election is lost: wait until then before the next attempt.
    pub(super) backoff_until: Option<SimTime>,
}

/// Follower: fetching from `leader`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Follower<I> {
    pub(super) epoch: Epoch,
    pub(super) leader: I,
    pub(super) voted: Option<I>,
    /// No successful fetch by then: the leader is presumed gone.
    pub(super) fetch_deadline: SimTime,
    /// `hasFetchedFromLeader`: a fetch succeeded since this replica became follower.
    pub(super) has_fetched: bool,
    /// A snapshot the leader told us to download first.
    pub(super) fetching_snapshot: Option<SnapshotId>,
}

/// Resigned: led `epoch`, stepped down, tells the voters to elect a successor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Resigned<I> {
    pub(super) epoch: Epoch,
    pub(super) election_deadline: SimTime,
    /// Voters that have not acknowledged our EndQuorumEpoch.
    pub(super) unacked: BTreeSet<I>,
    pub(super) preferred_successors: Vec<I>,
}

/// The current role with its state.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Role<I> {
    Unattached(Unattached<I>),
    Prospective(Prospective<I>),
    Candidate(Candidate<I>),
    Leader(Box<Leader<I>>),
    Follower(Follower<I>),
    Resigned(Resigned<I>),
}

impl<I: ReplicaId> Role<I> {
    pub(super) fn kind(&self) -> RoleKind {
        match self {
            Role::Unattached(_) => RoleKind::Unattached,
            Role::Prospective(_) => RoleKind::Prospective,
            Role::Candidate(_) => RoleKind::Candidate,
            Role::Leader(_) => RoleKind::Leader,
            Role::Follower(_) => RoleKind::Follower,
            Role::Resigned(_) => RoleKind::Resigned,
        }
    }

    pub(super) fn epoch(&self) -> Epoch {
        match self {
            Role::Unattached(s) => s.epoch,
            Role::Prospective(s) => s.epoch,
            Role::Candidate(s) => s.epoch,
            Role::Leader(s) => s.epoch,
            Role::Follower(s) => s.epoch,
            Role::Resigned(s) => s.epoch,
        }
    }

    /// The leader of the epoch as this replica knows it (`leaderIdOrSentinel`).
    pub(super) fn leader(&self, local: I) -> Option<I> {
        match self {
            Role::Unattached(_) | Role::Candidate(_) => None,
            Role::Prospective(s) => s.leader,
            Role::Follower(s) => Some(s.leader),
            Role::Leader(_) | Role::Resigned(_) => Some(local),
        }
    }

    /// This replica's vote in the epoch (`votedKey`).
    pub(super) fn voted(&self, local: I) -> Option<I> {
        match self {
            Role::Unattached(s) => s.voted,
            Role::Prospective(s) => s.voted,
            Role::Follower(s) => s.voted,
            Role::Candidate(_) | Role::Leader(_) | Role::Resigned(_) => Some(local),
        }
    }

    /// What the quorum-state file must hold in this role (`EpochState.election`).
    pub(super) fn election(&self, local: I) -> ElectionState<I> {
        ElectionState {
            epoch: self.epoch(),
            leader: self.leader(local),
            voted: self.voted(local),
        }
    }

    /// `canGrantVote` of each `EpochState` (Kafka 4.0, with KIP-996 pre-votes):
    /// - Unattached and Prospective (`unattachedOrProspectiveCanGrantVote`): a pre-vote iff
    ///   the candidate's log is up to date; a vote iff we voted for it already, or have no
    ///   vote and no leader in this epoch and its log is up to date.
    /// - Candidate: only a pre-vote, with an up-to-date log.
    /// - Follower: only a pre-vote, with an up-to-date log, and only if it has not yet
    ///   fetched successfully from its leader (KAFKA-17641, the pre-vote ping-pong fix);
    ///   it always rejects a vote in its own epoch.
    /// - Resigned: only a pre-vote, with an up-to-date log (4.x; so after a graceful
    ///   resignation in a 3-voter quorum the first successor wins with the old leader's
    ///   pre-vote; KAFKA-20895, still open, is about 5 voters, where followers refuse).
    /// - Leader: never.
    pub(super) fn can_grant_vote(
        &self,
        candidate: I,
        log_up_to_date: bool,
        pre_vote: bool,
    ) -> bool {
        match self {
            Role::Unattached(s) => {
                unattached_can_grant(None, s.voted, candidate, log_up_to_date, pre_vote)
            }
            Role::Prospective(s) => {
                unattached_can_grant(s.leader, s.voted, candidate, log_up_to_date, pre_vote)
            }
            Role::Candidate(_) | Role::Resigned(_) => pre_vote && log_up_to_date,
            Role::Follower(s) => pre_vote && !s.has_fetched && log_up_to_date,
            Role::Leader(_) => false,
        }
    }
}

/// `QuorumState.unattachedOrProspectiveCanGrantVote`.
fn unattached_can_grant<I: ReplicaId>(
    leader: Option<I>,
    voted: Option<I>,
    candidate: I,
    log_up_to_date: bool,
    pre_vote: bool,
) -> bool {
    if pre_vote {
        return log_up_to_date;
    }
    match (voted, leader) {
        (Some(voted), _) => voted == candidate,
        (None, Some(_)) => false,
        (None, None) => log_up_to_date,
    }
}

#[cfg(test)]
#[path = "roles_tests.rs"]
mod tests;
