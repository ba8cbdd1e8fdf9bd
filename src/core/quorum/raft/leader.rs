//! The leader's state (`LeaderState`): voter and observer progress from valid fetches, the
//! HW, check-quorum, the BeginQuorumEpoch heartbeat and the parked (long-poll) fetches.
//!
//! Invariants: the HW is the largest offset a majority of voters holds (sorted end
//! offsets, index `voters / 2`), it is exposed only once it is past the epoch start offset
//! (the LeaderChange record is committed), and it never decreases within the epoch. Only
//! valid fetches from voters move it; observers never count.

use std::collections::{BTreeMap, BTreeSet};

use crate::types::{Offset, SimTime};

use super::ReplicaId;
use super::config::RaftConfig;
use super::epoch::Epoch;
use super::message::FetchRequest;

/// What the leader knows of one replica (`LeaderState.ReplicaState`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct ReplicaProgress {
    /// The offset of its last valid fetch (its LEO then), or the leader's own LEO.
    pub(super) end_offset: Option<Offset>,
    /// When it last fetched.
    pub(super) last_fetch: Option<SimTime>,
}

/// A fetch with nothing to return, held until data or a new HW arrives or it expires
/// (Kafka's `fetchPurgatory`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ParkedFetch<I> {
    /// Who to answer.
    pub(super) from: I,
    /// The request as it came.
    pub(super) request: FetchRequest<I>,
    /// Answer by then at the latest (`max_wait_ms` after arrival).
    pub(super) deadline: SimTime,
}

/// `LeaderState`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Leader<I> {
    pub(super) epoch: Epoch,
    /// The offset of this epoch's LeaderChange record: the LEO when elected.
    pub(super) epoch_start_offset: Offset,
    local: I,
    hw: Option<Offset>,
    voters: BTreeMap<I, ReplicaProgress>,
    observers: BTreeMap<I, ReplicaProgress>,
    /// Voters (other than us) that fetched in the current check-quorum window.
    fetched_voters: BTreeSet<I>,
    /// `None`: exempt (a single voter, or check-quorum off).
    check_quorum_deadline: Option<SimTime>,
    check_quorum_timeout_ms: u64,
    /// When to send the next round of BeginQuorumEpoch to every other voter.
    begin_quorum_epoch_deadline: SimTime,
    /// `LeaderState.beginQuorumEpochTimeoutMs`: half the fetch timeout.
    begin_quorum_epoch_timeout_ms: u64,
    hw_requires_current_epoch: bool,
    parked: Vec<ParkedFetch<I>>,
}

impl<I: ReplicaId> Leader<I> {
    /// The leader of `epoch` elected with its LEO at `epoch_start_offset`.
    pub(super) fn new(
        config: &RaftConfig<I>,
        local: I,
        epoch: Epoch,
        epoch_start_offset: Offset,
        now: SimTime,
    ) -> Leader<I> {
        assert!(config.voters.contains(&local), "only a voter leads");
        let voters = config
            .voters
            .iter()
            .map(|&v| (v, ReplicaProgress::default()))
            .collect();
        let exempt = !config.check_quorum || config.voters.len() == 1;
        let timeout_ms = config.check_quorum_timeout_ms();
        Leader {
            epoch,
            epoch_start_offset,
            local,
            hw: None,
            voters,
            observers: BTreeMap::new(),
            fetched_voters: BTreeSet::new(),
            check_quorum_deadline: (!exempt).then(|| now.plus_ms(timeout_ms)),
            check_quorum_timeout_ms: timeout_ms,
            begin_quorum_epoch_deadline: now,
            begin_quorum_epoch_timeout_ms: config.fetch_timeout_ms / 2,
            hw_requires_current_epoch: config.hw_requires_current_epoch,
            parked: Vec::new(),
        }
    }

    /// The HW of this epoch, once known.
    pub(super) fn hw(&self) -> Option<Offset> {
        self.hw
    }

    /// `updateLocalState`: our own LEO moved. Returns true if the HW moved.
    pub(super) fn update_local(&mut self, end_offset: Offset) -> bool {
        let progress = self
            .voters
            .get_mut(&self.local)
            .expect("the leader is a voter");
        assert!(
            progress.end_offset.is_none_or(|old| old <= end_offset),
            "leader LEO shrank"
        );
        progress.end_offset = Some(end_offset);
        self.maybe_update_hw()
    }

    /// `updateReplicaState`: a valid fetch from `replica` at `fetch_offset`. Returns true if
    /// the HW moved. Observers are tracked but never count.
    pub(super) fn update_replica(
        &mut self,
        replica: I,
        now: SimTime,
        fetch_offset: Offset,
    ) -> bool {
        assert!(replica != self.local, "a leader does not fetch from itself");
        let leader_end = self.voters[&self.local].end_offset.unwrap_or_default();
        assert!(
            fetch_offset <= leader_end,
            "a valid fetch is within the leader's log"
        );
        let is_voter = self.voters.contains_key(&replica);
        let progress = match self.voters.get_mut(&replica) {
            Some(progress) => progress,
            None => self.observers.entry(replica).or_default(),
        };
        progress.end_offset = Some(fetch_offset);
        progress.last_fetch = Some(now);
        self.update_check_quorum(replica, now);
        is_voter && self.maybe_update_hw()
    }

    /// `maybeUpdateHighWatermark`: the largest offset on a majority, exposed only past the
    /// epoch start offset (KAFKA-12619; `>=` when the knob brings back the off-by-one), and
    /// never lowered ("one of the voters has lost committed data" is only logged in Kafka).
    fn maybe_update_hw(&mut self) -> bool {
        let mut ends: Vec<Option<Offset>> = self.voters.values().map(|p| p.end_offset).collect();
        ends.sort_by(|a, b| b.cmp(a));
        let Some(candidate) = ends[self.voters.len() / 2] else {
            return false;
        };
        let past_start = if self.hw_requires_current_epoch {
            candidate > self.epoch_start_offset
        } else {
            candidate >= self.epoch_start_offset
        };
        if !past_start || self.hw.is_some_and(|hw| candidate <= hw) {
            return false;
        }
        self.hw = Some(candidate);
        true
    }

    /// `updateCheckQuorumForFollowingVoter`: a Fetch or FetchSnapshot from `replica`. Once
    /// a majority (counting us) has fetched in this window, a new window starts.
    pub(super) fn update_check_quorum(&mut self, replica: I, now: SimTime) {
        if !self.voters.contains_key(&replica) || replica == self.local {
            return;
        }
        self.fetched_voters.insert(replica);
        let majority_without_us = self.voters.len() / 2;
        if self.fetched_voters.len() >= majority_without_us {
            self.fetched_voters.clear();
            if self.check_quorum_deadline.is_some() {
                self.check_quorum_deadline = Some(now.plus_ms(self.check_quorum_timeout_ms));
            }
        }
    }

    /// When check-quorum makes this leader resign, unless a majority fetches first.
    pub(super) fn check_quorum_deadline(&self) -> Option<SimTime> {
        self.check_quorum_deadline
    }

    /// When the next BeginQuorumEpoch round is due (`timeUntilBeginQuorumEpochTimerExpires`).
    pub(super) fn begin_quorum_epoch_deadline(&self) -> SimTime {
        self.begin_quorum_epoch_deadline
    }

    /// A round is due: returns the voters to send BeginQuorumEpoch to (every voter but
    /// us, acknowledged or not, as since KAFKA-16536) and restarts the timer
    /// (`resetBeginQuorumEpochTimer`); nothing if the round is not due yet.
    pub(super) fn begin_quorum_epoch_round(&mut self, now: SimTime) -> Vec<I> {
        if now < self.begin_quorum_epoch_deadline {
            return Vec::new();
        }
        self.begin_quorum_epoch_deadline = now.plus_ms(self.begin_quorum_epoch_timeout_ms);
        assert!(self.begin_quorum_epoch_deadline > now || self.begin_quorum_epoch_timeout_ms == 0);
        let local = self.local;
        self.voters
            .keys()
            .copied()
            .filter(|&v| v != local)
            .collect()
    }

    /// `nonLeaderVotersByDescendingFetchOffset`: the preferred successors on resigning.
    pub(super) fn voters_by_descending_fetch_offset(&self) -> Vec<I> {
        let mut others: Vec<(Option<Offset>, I)> = self
            .voters
            .iter()
            .filter(|&(&v, _)| v != self.local)
            .map(|(&v, p)| (p.end_offset, v))
            .collect();
        others.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        others.into_iter().map(|(_, v)| v).collect()
    }

    /// The end offset the leader last saw from `replica`.
    #[cfg(test)]
    pub(super) fn end_offset_of(&self, replica: I) -> Option<Offset> {
        let progress = self
            .voters
            .get(&replica)
            .or_else(|| self.observers.get(&replica));
        progress.and_then(|p| p.end_offset)
    }

    /// Parks an empty fetch; a newer fetch from the same replica replaces an older one.
    pub(super) fn park(&mut self, fetch: ParkedFetch<I>) {
        self.parked.retain(|p| p.from != fetch.from);
        self.parked.push(fetch);
    }

    /// Removes and returns the parked fetches `select` picks.
    pub(super) fn take_parked(
        &mut self,
        select: impl Fn(&ParkedFetch<I>) -> bool,
    ) -> Vec<ParkedFetch<I>> {
        let (taken, kept): (Vec<_>, Vec<_>) = self.parked.drain(..).partition(|p| select(p));
        self.parked = kept;
        taken
    }

    /// The earliest parked fetch deadline.
    pub(super) fn parked_deadline(&self) -> Option<SimTime> {
        self.parked.iter().map(|p| p.deadline).min()
    }
}

#[cfg(test)]
#[path = "leader_tests.rs"]
mod tests;
