//! The invariants checked after every step, as in Kafka's `RaftEventSimulationTest` and the
//! kafka-tlaplus specs:
//! - ElectionSafety (SingleLeader): at most one leader per epoch, in memory or persisted.
//! - MonotonicHighWatermark: a replica's HW never decreases within one incarnation.
//! - ConsistentCommittedData (LogMatching up to the HW): every replica's committed prefix,
//!   snapshot included, equals the first value ever committed at each offset; so committed
//!   data is never changed, and never lost once the liveness phase commits past it.
//! - MajorityReachedHighWatermark: a majority of voters holds the leader's HW (for a down
//!   voter: what its disk holds).
//! - LeaderCompleteness: a replica that starts leading an epoch holds the newest
//!   committed entry (with its epoch), so by log matching every committed entry.
//! - Durability (kafka-tlaplus `AckedValueNotLost`): a majority of voters holds the
//!   newest committed entry with its epoch (a down voter: on its disk), so no fault
//!   schedule the protocol claims to survive can lose it.
//! - ElectableWithoutCommit: no voter that lacks the newest committed entry could win an
//!   election, i.e. fewer than a majority of voters have a log `(last epoch, LEO)` at or
//!   below its own (the vote rule of `handleVoteRequest`). This is the induction step of
//!   Raft's leader completeness: it fails as soon as a commit is unsafe (the Figure 8
//!   hazard of KAFKA-12619), not only once a conflicting leader is elected later.
//! - BoundedStaleLeader: a leader of an epoch older than one someone has been elected in
//!   steps down within check-quorum's bound (`stale_leader_bound_ms`, two check-quorum
//!   windows): the split brain of KAFKA-15489 must end.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::core::quorum::raft::{Entry, Epoch, LogEntry, OffsetAndEpoch, RaftEffect, RoleKind};
use crate::types::{Offset, SimTime};

use super::disk::Disk;
use super::{Ledger, Node, Record};

/// Which invariant failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(in crate::core::quorum::raft) enum Kind {
    ElectionSafety,
    MonotonicHighWatermark,
    ConsistentCommittedData,
    MajorityReachedHighWatermark,
    LeaderCompleteness,
    Durability,
    ElectableWithoutCommit,
    BoundedStaleLeader,
    Liveness,
}

/// A failed invariant with the facts to debug it.
#[derive(Clone, Debug)]
pub(in crate::core::quorum::raft) struct Violation {
    pub(super) kind: Kind,
    pub(super) at: SimTime,
    pub(super) detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} at {}: {}", self.kind, self.at, self.detail)
    }
}

/// One committed offset as the ledger remembers it.
pub(super) type Digest = (Epoch, Option<Record>);

/// The digest of a log entry.
pub(super) fn digest(entry: &LogEntry<u8, Record>) -> Digest {
    let record = match entry.entry {
        Entry::Data(record) => Some(record),
        Entry::LeaderChange { .. } => None,
    };
    (entry.epoch, record)
}

#[derive(Clone, Debug, Default)]
struct Tracked {
    last_hw: Offset,
    checked: Offset,
}

/// What one replica looks like to the checker in a step.
pub(super) struct View<'a> {
    pub(super) id: u8,
    pub(super) node: Option<&'a Node>,
    pub(super) disk: &'a Disk,
    pub(super) voter: bool,
}

impl View<'_> {
    /// Its LEO: in memory if it is up, else what its disk holds.
    fn end(&self) -> Offset {
        self.node.map_or(self.disk.end(), |n| n.log_end_offset())
    }

    /// Its `(LEO, last epoch)`, as a vote compares it.
    fn position(&self) -> OffsetAndEpoch {
        self.node.map_or(self.disk.position(), |n| {
            OffsetAndEpoch::new(n.log_end_offset(), n.last_fetched_epoch())
        })
    }

    /// Whether it holds the entry at `offset` in `epoch` (a snapshot covering `offset`
    /// counts: snapshots are checked against the ledger when they are written).
    fn holds(&self, offset: Offset, epoch: Epoch) -> bool {
        let Some(node) = self.node else {
            return self
                .disk
                .epoch_at(offset)
                .is_some_and(|e| e.is_none_or(|e| e == epoch));
        };
        if offset < node.log_start_offset() {
            return node.latest_snapshot().is_some();
        }
        let index = usize::try_from(offset.0 - node.log_start_offset().0).expect("fits");
        node.log_entries()
            .get(index)
            .is_some_and(|e| e.epoch == epoch)
    }
}

/// The checker's memory across steps.
pub(super) struct Checker {
    leaders: BTreeMap<Epoch, u8>,
    pub(super) ledger: Vec<Digest>,
    tracked: BTreeMap<u8, Tracked>,
    stale_since: BTreeMap<(u8, Epoch), SimTime>,
    /// Epochs whose leader has been checked for completeness.
    complete_leaders: BTreeSet<Epoch>,
    stale_bound_ms: u64,
    majority: usize,
}

impl Checker {
    pub(super) fn new(majority: usize, stale_bound_ms: u64) -> Checker {
        Checker {
            leaders: BTreeMap::new(),
            ledger: Vec::new(),
            tracked: BTreeMap::new(),
            stale_since: BTreeMap::new(),
            complete_leaders: BTreeSet::new(),
            stale_bound_ms,
            majority,
        }
    }

    fn fail(at: SimTime, kind: Kind, detail: String) -> Result<(), Violation> {
        Err(Violation { kind, at, detail })
    }

    /// A replica (re)started: its HW starts over; its snapshot must match the ledger.
    pub(super) fn on_start(&mut self, now: SimTime, node: &Node) -> Result<(), Violation> {
        let tracked = Tracked {
            last_hw: node.high_watermark(),
            checked: node.log_start_offset(),
        };
        self.tracked.insert(node.id(), tracked);
        match node.latest_snapshot() {
            Some(snapshot) => self.check_ledger(now, node.id(), &snapshot.payload),
            None => Ok(()),
        }
    }

    /// The effects a replica just produced.
    pub(super) fn on_effects(
        &mut self,
        now: SimTime,
        id: u8,
        effects: &[RaftEffect<u8, Record, Ledger>],
    ) -> Result<(), Violation> {
        for effect in effects {
            match effect {
                RaftEffect::PersistElection(state) => {
                    if let Some(leader) = state.leader {
                        self.claim_leader(now, state.epoch, leader, "persisted")?;
                    }
                }
                RaftEffect::PersistSnapshot(snapshot) => {
                    self.check_ledger(now, id, &snapshot.payload)?
                }
                RaftEffect::Truncated { to, .. } => {
                    let tracked = self.tracked.entry(id).or_default();
                    tracked.checked = tracked.checked.min(*to);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn claim_leader(
        &mut self,
        now: SimTime,
        epoch: Epoch,
        leader: u8,
        how: &str,
    ) -> Result<(), Violation> {
        match self.leaders.insert(epoch, leader) {
            Some(other) if other != leader => {
                let detail = format!("{leader} ({how}) and {other} both lead {epoch}");
                Self::fail(now, Kind::ElectionSafety, detail)
            }
            _ => Ok(()),
        }
    }

    /// Compares a committed prefix (a snapshot payload) with the ledger, extending it.
    fn check_ledger(&mut self, now: SimTime, id: u8, prefix: &[Digest]) -> Result<(), Violation> {
        for (offset, digest) in prefix.iter().enumerate() {
            self.check_offset(now, id, Offset(offset as u64), *digest, "snapshot")?;
        }
        Ok(())
    }

    fn check_offset(
        &mut self,
        now: SimTime,
        id: u8,
        offset: Offset,
        digest: Digest,
        how: &str,
    ) -> Result<(), Violation> {
        let index = offset.index();
        assert!(
            index <= self.ledger.len(),
            "committed offsets are checked in order"
        );
        if index == self.ledger.len() {
            self.ledger.push(digest);
            return Ok(());
        }
        if self.ledger[index] != digest {
            let first = self.ledger[index];
            let detail = format!(
                "replica {id} has {digest:?} committed at {offset} ({how}), first committed {first:?}"
            );
            return Self::fail(now, Kind::ConsistentCommittedData, detail);
        }
        Ok(())
    }

    /// Power failed in the middle of a step of `node`: an HW it exposed before the cut
    /// (a performed `HighWatermark` effect: its state machine saw the commit) counts as
    /// committed, although the replica is gone before `check_step` could see it.
    pub(super) fn on_power_cut(
        &mut self,
        now: SimTime,
        node: &Node,
        performed: &[RaftEffect<u8, Record, Ledger>],
    ) -> Result<(), Violation> {
        let exposed = performed.iter().rev().find_map(|e| match e {
            RaftEffect::HighWatermark(hw) => Some(*hw),
            _ => None,
        });
        let Some(exposed) = exposed else {
            return Ok(());
        };
        let id = node.id();
        let tracked = self.tracked.get(&id).cloned().unwrap_or_default();
        let from = tracked.checked.max(node.log_start_offset());
        let entries: Vec<(Offset, Digest)> = node
            .committed(from)
            .iter()
            .filter(|e| e.offset < exposed)
            .map(|e| (e.offset, digest(e)))
            .collect();
        for (offset, digest) in entries {
            self.check_offset(now, id, offset, digest, "exposed before a power cut")?;
        }
        Ok(())
    }

    /// Every invariant, after a step.
    pub(super) fn check_step(&mut self, now: SimTime, views: &[View<'_>]) -> Result<(), Violation> {
        self.check_new_leaders(now, views)?;
        for view in views {
            let Some(node) = view.node else { continue };
            if node.role() == RoleKind::Leader {
                self.claim_leader(now, node.epoch(), view.id, "in memory")?;
            }
            self.check_hw(now, node)?;
        }
        self.check_majority(now, views)?;
        self.check_durable(now, views)?;
        self.check_electable(now, views)?;
        self.check_stale_leaders(now, views)
    }

    /// The newest committed offset and the epoch it was committed in.
    fn newest_committed(&self) -> Option<(Offset, Epoch)> {
        let last = self.ledger.len().checked_sub(1)?;
        Some((Offset(last as u64), self.ledger[last].0))
    }

    /// LeaderCompleteness, once per epoch, when its leader is first seen leading.
    fn check_new_leaders(&mut self, now: SimTime, views: &[View<'_>]) -> Result<(), Violation> {
        for view in views {
            let Some(node) = view.node.filter(|n| n.role() == RoleKind::Leader) else {
                continue;
            };
            if !self.complete_leaders.insert(node.epoch()) {
                continue;
            }
            if let Some((offset, epoch)) = self.newest_committed()
                && !view.holds(offset, epoch)
            {
                let detail = format!(
                    "replica {} leads {} without the entry committed at {offset} in {epoch}",
                    view.id,
                    node.epoch()
                );
                return Self::fail(now, Kind::LeaderCompleteness, detail);
            }
        }
        Ok(())
    }

    /// ElectableWithoutCommit: a voter lacking the newest committed entry would get the
    /// vote of fewer than a majority of voters (itself included).
    fn check_electable(&self, now: SimTime, views: &[View<'_>]) -> Result<(), Violation> {
        let Some((offset, epoch)) = self.newest_committed() else {
            return Ok(());
        };
        let voters: Vec<&View<'_>> = views.iter().filter(|v| v.voter).collect();
        for lacking in voters.iter().filter(|v| !v.holds(offset, epoch)) {
            let position = lacking.position();
            let votes = voters.iter().filter(|v| v.position() <= position).count();
            if votes >= self.majority {
                let detail = format!(
                    "replica {} at {position} lacks the entry committed at {offset} in {epoch} \
                     but {votes} voters would vote for it",
                    lacking.id
                );
                return Self::fail(now, Kind::ElectableWithoutCommit, detail);
            }
        }
        Ok(())
    }

    /// Durability: a majority of voters holds the newest committed entry.
    fn check_durable(&self, now: SimTime, views: &[View<'_>]) -> Result<(), Violation> {
        let Some((offset, epoch)) = self.newest_committed() else {
            return Ok(());
        };
        let holding = views
            .iter()
            .filter(|v| v.voter && v.holds(offset, epoch))
            .count();
        if holding < self.majority {
            let detail =
                format!("the entry committed at {offset} in {epoch} is on {holding} voters");
            return Self::fail(now, Kind::Durability, detail);
        }
        Ok(())
    }

    fn check_hw(&mut self, now: SimTime, node: &Node) -> Result<(), Violation> {
        let id = node.id();
        let hw = node.high_watermark();
        let tracked = self.tracked.get(&id).cloned().unwrap_or_default();
        if hw < tracked.last_hw {
            let detail = format!("replica {id} HW {} -> {hw}", tracked.last_hw);
            return Self::fail(now, Kind::MonotonicHighWatermark, detail);
        }
        let from = tracked.checked.max(node.log_start_offset());
        let entries: Vec<(Offset, Digest)> = node
            .committed(from)
            .iter()
            .map(|e| (e.offset, digest(e)))
            .collect();
        for (offset, digest) in entries {
            self.check_offset(now, id, offset, digest, "log")?;
        }
        self.tracked.insert(
            id,
            Tracked {
                last_hw: hw,
                checked: hw,
            },
        );
        Ok(())
    }

    fn check_majority(&self, now: SimTime, views: &[View<'_>]) -> Result<(), Violation> {
        for leader in views
            .iter()
            .filter_map(|v| v.node)
            .filter(|n| n.role() == RoleKind::Leader)
        {
            let hw = leader.high_watermark();
            let holding = views.iter().filter(|v| v.voter && v.end() >= hw).count();
            if holding < self.majority {
                let detail = format!("leader {} HW {hw} held by {holding} voters", leader.id());
                return Self::fail(now, Kind::MajorityReachedHighWatermark, detail);
            }
        }
        Ok(())
    }

    fn check_stale_leaders(&mut self, now: SimTime, views: &[View<'_>]) -> Result<(), Violation> {
        let newest = self.leaders.keys().next_back().copied();
        let mut still_stale = BTreeMap::new();
        for node in views
            .iter()
            .filter_map(|v| v.node)
            .filter(|n| n.role() == RoleKind::Leader)
        {
            if newest.is_some_and(|newest| newest > node.epoch()) {
                let key = (node.id(), node.epoch());
                let since = self.stale_since.get(&key).copied().unwrap_or(now);
                still_stale.insert(key, since);
                if now.ms_since(since) > self.stale_bound_ms {
                    let detail = format!(
                        "replica {} still leads {} since {since}, after {newest:?} was elected",
                        key.0, key.1
                    );
                    return Self::fail(now, Kind::BoundedStaleLeader, detail);
                }
            }
        }
        self.stale_since = still_stale;
        Ok(())
    }

    /// The ledger length: how many offsets have ever been committed.
    pub(super) fn committed_len(&self) -> usize {
        self.ledger.len()
    }
}
