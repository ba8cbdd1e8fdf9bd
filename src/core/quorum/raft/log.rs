//! The replicated log of one replica (Kafka's `ReplicatedLog`, as `KafkaMetadataLog` and
//! the test `MockLog` implement it): entries with their epochs, the epoch cache, the log
//! start offset after a snapshot, truncation, and the flushed offset.
//!
//! Invariants kept here: entry offsets are dense from `start`; entry epochs never decrease;
//! the epoch cache holds one `(epoch, first offset)` per epoch present in the entries, in
//! increasing order of both; `start <= flushed <= end` (the flushed prefix is what a power
//! loss keeps); a snapshot, when present, ends exactly at `start`.

use crate::types::Offset;

use super::epoch::{Epoch, OffsetAndEpoch};

/// What a log entry holds.
#[derive(Clone, Debug, PartialEq, Hash)]
pub enum Entry<I, R> {
    /// A record of the caller's state machine.
    Data(R),
    /// The `LeaderChangeMessage` control record a new leader appends at once
    /// (`LeaderState.appendStartOfEpochControlRecords`): committing it commits the epoch.
    LeaderChange {
        /// The new leader.
        leader: I,
        /// The voters of the quorum.
        voters: Vec<I>,
    },
}

/// One entry of the log at its offset, stamped with the epoch of the leader that appended it.
#[derive(Clone, Debug, PartialEq)]
pub struct LogEntry<I, R> {
    /// Its offset.
    pub offset: Offset,
    /// The epoch of the leader that first appended it.
    pub epoch: Epoch,
    /// Its content.
    pub entry: Entry<I, R>,
}

/// A snapshot's identity (KIP-630): it holds every entry below `end_offset`, and
/// `epoch` is the epoch of the entry at `end_offset - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SnapshotId {
    /// Exclusive end offset.
    pub end_offset: Offset,
    /// Epoch of the last entry it holds.
    pub epoch: Epoch,
}

/// A snapshot of the caller's state machine at `id.end_offset`.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot<S> {
    /// Where it ends.
    pub id: SnapshotId,
    /// The caller's state machine, as the caller produced it.
    pub payload: S,
}

/// The leader's verdict on a follower's `(fetch_offset, last_fetched_epoch)`
/// (`ValidOffsetAndEpoch`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchValidation {
    /// The follower's log matches the leader's up to the fetch offset.
    Valid,
    /// The logs diverge: the follower truncates to this position and fetches again.
    Diverging(OffsetAndEpoch),
    /// The follower must download this snapshot first.
    Snapshot(SnapshotId),
}

/// One replica's log.
#[derive(Clone, Debug, PartialEq)]
pub struct RaftLog<I, R, S> {
    start: Offset,
    entries: Vec<LogEntry<I, R>>,
    /// `(epoch, first offset of that epoch in the log)`, increasing (`LeaderEpochFileCache`).
    epochs: Vec<(Epoch, Offset)>,
    snapshot: Option<Snapshot<S>>,
    flushed: Offset,
}

impl<I: Clone, R: Clone, S: Clone> RaftLog<I, R, S> {
    /// An empty log at offset 0.
    pub fn new() -> RaftLog<I, R, S> {
        RaftLog {
            start: Offset(0),
            entries: Vec::new(),
            epochs: Vec::new(),
            snapshot: None,
            flushed: Offset(0),
        }
    }

    /// The log as it comes back from disk after a restart: entries below the snapshot are
    /// dropped. Nothing counts as flushed, so the first flush covers everything (we do not
    /// know what the page cache had written out).
    pub fn restore(snapshot: Option<Snapshot<S>>, entries: Vec<LogEntry<I, R>>) -> Self {
        let mut log = RaftLog::new();
        if let Some(snapshot) = snapshot {
            log.start = snapshot.id.end_offset;
            log.flushed = log.start;
            log.snapshot = Some(snapshot);
        }
        let start = log.start;
        let kept: Vec<LogEntry<I, R>> = entries.into_iter().filter(|e| e.offset >= start).collect();
        log.append(kept);
        log.flushed = log.start;
        log
    }

    /// The log start offset: the first offset still held as an entry.
    pub fn start_offset(&self) -> Offset {
        self.start
    }

    /// The LEO: the offset the next entry gets.
    pub fn end_offset(&self) -> Offset {
        self.start.plus(self.entries.len() as u64)
    }

    /// Everything below this offset has been flushed.
    pub fn flushed_offset(&self) -> Offset {
        self.flushed
    }

    /// `lastFetchedEpoch`: the epoch of the last entry, else of the snapshot, else 0.
    pub fn last_fetched_epoch(&self) -> Epoch {
        match (self.entries.last(), &self.snapshot) {
            (Some(last), _) => last.epoch,
            (None, Some(snapshot)) => snapshot.id.epoch,
            (None, None) => Epoch(0),
        }
    }

    /// `endOffset()` as votes compare it: `(LEO, last fetched epoch)`.
    pub fn end(&self) -> OffsetAndEpoch {
        OffsetAndEpoch::new(self.end_offset(), self.last_fetched_epoch())
    }

    /// All entries held (from the log start offset).
    pub fn entries(&self) -> &[LogEntry<I, R>] {
        &self.entries
    }

    /// Entries in `[from, to)`, clamped to what the log holds.
    pub fn slice(&self, from: Offset, to: Offset) -> &[LogEntry<I, R>] {
        let from = from.max(self.start).min(self.end_offset());
        let to = to.max(from).min(self.end_offset());
        &self.entries[self.index(from)..self.index(to)]
    }

    /// The entry at `offset`, if the log holds it.
    pub fn entry(&self, offset: Offset) -> Option<&LogEntry<I, R>> {
        if offset < self.start {
            return None;
        }
        self.entries.get(self.index(offset))
    }

    /// The latest snapshot.
    pub fn snapshot(&self) -> Option<&Snapshot<S>> {
        self.snapshot.as_ref()
    }

    fn index(&self, offset: Offset) -> usize {
        assert!(offset >= self.start);
        usize::try_from(offset.0 - self.start.0).expect("index fits in usize")
    }

    /// Appends entries that already carry their offsets and epochs (`appendAsFollower`).
    pub fn append(&mut self, entries: Vec<LogEntry<I, R>>) {
        for entry in entries {
            assert_eq!(
                entry.offset,
                self.end_offset(),
                "entries must be contiguous"
            );
            let last_epoch = self.epochs.last().map(|&(epoch, _)| epoch);
            assert!(last_epoch.is_none_or(|last| entry.epoch >= last));
            if last_epoch != Some(entry.epoch) {
                self.epochs.push((entry.epoch, entry.offset));
            }
            self.entries.push(entry);
        }
        assert!(self.flushed <= self.end_offset());
    }

    /// Appends new content at the LEO in `epoch` (`appendAsLeader`); returns what was added.
    pub fn append_as_leader(
        &mut self,
        epoch: Epoch,
        content: Vec<Entry<I, R>>,
    ) -> Vec<LogEntry<I, R>> {
        assert!(
            epoch >= self.last_fetched_epoch(),
            "a leader's epoch is the log's newest"
        );
        let base = self.end_offset();
        let added: Vec<LogEntry<I, R>> = content
            .into_iter()
            .enumerate()
            .map(|(i, entry)| LogEntry {
                offset: base.plus(i as u64),
                epoch,
                entry,
            })
            .collect();
        self.append(added.clone());
        added
    }

    /// Removes every entry at or above `offset` (clamped to the log start).
    pub fn truncate_to(&mut self, offset: Offset) {
        let offset = offset.max(self.start);
        if offset >= self.end_offset() {
            return;
        }
        let keep = self.index(offset);
        self.entries.truncate(keep);
        while self
            .epochs
            .last()
            .is_some_and(|&(_, first)| first >= offset)
        {
            self.epochs.pop();
        }
        self.flushed = self.flushed.min(offset);
        assert_eq!(self.end_offset(), offset);
    }

    /// `ReplicatedLog.truncateToEndOffset`: truncate after a diverging-epoch answer from the
    /// leader. Returns the new LEO.
    pub fn truncate_to_end_offset(&mut self, leader_end: OffsetAndEpoch) -> Offset {
        let truncation = if leader_end.epoch == Epoch(0) {
            leader_end.offset.min(self.end_offset())
        } else {
            let local = self.end_offset_for_epoch(leader_end.epoch);
            if local.epoch == leader_end.epoch {
                local.offset.min(leader_end.offset)
            } else {
                local.offset
            }
        };
        self.truncate_to(truncation);
        self.end_offset()
    }

    /// `endOffsetForEpoch` (as `MockLog` computes it): the start offset of the first epoch
    /// larger than `epoch`, paired with the largest epoch not above it; the LEO and the
    /// last epoch if no larger epoch is in the log.
    pub fn end_offset_for_epoch(&self, epoch: Epoch) -> OffsetAndEpoch {
        let mut lower = self.snapshot.as_ref().map_or(Epoch(0), |s| s.id.epoch);
        for &(cached, first) in &self.epochs {
            if cached > epoch {
                return OffsetAndEpoch::new(first, lower);
            }
            lower = cached;
        }
        self.end()
    }

    /// `ReplicatedLog.validateOffsetAndEpoch`: does a follower at `(offset, epoch)` match us?
    pub fn validate_offset_and_epoch(&self, offset: Offset, epoch: Epoch) -> FetchValidation {
        if self.start == Offset(0) && offset == Offset(0) {
            return FetchValidation::Valid;
        }
        if let Some(snapshot) = &self.snapshot {
            let id = snapshot.id;
            let below_start = offset < self.start;
            let at_start_other_epoch = offset == self.start && epoch != id.epoch;
            if below_start || at_start_other_epoch || epoch < id.epoch {
                return FetchValidation::Snapshot(id);
            }
        }
        let end = self.end_offset_for_epoch(epoch);
        if end.epoch != epoch || end.offset < offset {
            FetchValidation::Diverging(end)
        } else {
            FetchValidation::Valid
        }
    }

    /// Marks everything written as flushed; returns the new flushed offset if it moved.
    pub fn flush(&mut self) -> Option<Offset> {
        if self.flushed >= self.end_offset() {
            return None;
        }
        self.flushed = self.end_offset();
        Some(self.flushed)
    }

    /// The snapshot id a snapshot ending at `at` would get: the epoch of entry `at - 1`.
    pub fn snapshot_id_at(&self, at: Offset) -> Option<SnapshotId> {
        if at <= self.start {
            return None;
        }
        let last = self.entry(Offset(at.0 - 1))?;
        Some(SnapshotId {
            end_offset: at,
            epoch: last.epoch,
        })
    }

    /// Stores a snapshot the caller took at `id.end_offset` and drops the entries below it
    /// (the log start moves to the snapshot, as segment deletion does after KIP-630).
    pub fn take_snapshot(&mut self, snapshot: Snapshot<S>) {
        let at = snapshot.id.end_offset;
        assert_eq!(self.snapshot_id_at(at), Some(snapshot.id));
        let drop = self.index(at);
        self.entries.drain(..drop);
        self.start = at;
        self.flushed = self.flushed.max(at);
        while self.epochs.len() >= 2 && self.epochs[1].1 <= at {
            self.epochs.remove(0);
        }
        match self.entries.first() {
            Some(first) => self.epochs[0] = (first.epoch, at),
            None => self.epochs.clear(),
        }
        self.snapshot = Some(snapshot);
    }

    /// Replaces the whole log by a snapshot downloaded from the leader
    /// (`truncateToLatestSnapshot`): the log is empty and starts at the snapshot's end.
    pub fn install_snapshot(&mut self, snapshot: Snapshot<S>) {
        self.start = snapshot.id.end_offset;
        self.entries.clear();
        self.epochs.clear();
        self.flushed = self.start;
        self.snapshot = Some(snapshot);
    }

    /// Recomputes the epoch cache from the entries and checks it (O(n); for tests).
    pub fn validate(&self) {
        let mut expected: Vec<(Epoch, Offset)> = Vec::new();
        for (i, entry) in self.entries.iter().enumerate() {
            assert_eq!(entry.offset, self.start.plus(i as u64));
            if expected
                .last()
                .is_none_or(|&(epoch, _)| epoch != entry.epoch)
            {
                expected.push((entry.epoch, entry.offset));
            }
        }
        assert_eq!(self.epochs, expected);
        assert!(self.start <= self.flushed && self.flushed <= self.end_offset());
    }
}

impl<I: Clone, R: Clone, S: Clone> Default for RaftLog<I, R, S> {
    fn default() -> Self {
        RaftLog::new()
    }
}

#[cfg(test)]
#[path = "log_tests.rs"]
mod tests;
