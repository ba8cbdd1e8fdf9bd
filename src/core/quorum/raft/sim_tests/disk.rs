//! A replica's disk: the quorum-state file and the snapshot are written durably; log
//! entries sit in the page cache until a `Flush`. A process crash keeps the page cache, a
//! power loss keeps only the flushed prefix.

use crate::core::quorum::raft::{
    ElectionState, Epoch, LogEntry, OffsetAndEpoch, RaftEffect, Snapshot, Stored,
};
use crate::types::Offset;

use super::{Ledger, Record};

/// One replica's disk.
#[derive(Clone, Debug, Default)]
pub(super) struct Disk {
    election: Option<ElectionState<u8>>,
    start: Offset,
    entries: Vec<LogEntry<u8, Record>>,
    flushed: Offset,
    snapshot: Option<Snapshot<Ledger>>,
}

impl Disk {
    /// Applies one effect of the replica (non-disk effects are ignored).
    pub(super) fn apply(&mut self, effect: &RaftEffect<u8, Record, Ledger>) {
        match effect {
            RaftEffect::PersistElection(state) => self.election = Some(state.clone()),
            RaftEffect::Append(entries) => {
                for entry in entries {
                    assert_eq!(entry.offset, self.end(), "disk appends are contiguous");
                    self.entries.push(entry.clone());
                }
            }
            RaftEffect::Truncate { to } => {
                assert!(*to >= self.start, "never truncate below the log start");
                let keep = usize::try_from(to.0 - self.start.0).expect("fits");
                self.entries.truncate(keep);
                self.flushed = self.flushed.min(*to);
            }
            RaftEffect::Flush { upto } => {
                assert!(*upto <= self.end(), "flush within the log");
                self.flushed = self.flushed.max(*upto);
            }
            RaftEffect::PersistSnapshot(snapshot) => self.store_snapshot(snapshot.clone()),
            _ => {}
        }
    }

    fn store_snapshot(&mut self, snapshot: Snapshot<Ledger>) {
        let at = snapshot.id.end_offset;
        if at >= self.end() {
            self.entries.clear();
        } else {
            let drop = usize::try_from(at.0.saturating_sub(self.start.0)).expect("fits");
            self.entries.drain(..drop);
        }
        self.start = at;
        self.flushed = self.flushed.max(at);
        self.snapshot = Some(snapshot);
    }

    /// The LEO on disk (page cache included).
    pub(super) fn end(&self) -> Offset {
        self.start.plus(self.entries.len() as u64)
    }

    /// The epoch of the entry at `offset` as the disk holds it (page cache included);
    /// `Some(None)` if a snapshot covers it, `None` if the disk does not hold it.
    pub(super) fn epoch_at(&self, offset: Offset) -> Option<Option<Epoch>> {
        if offset < self.start {
            return self.snapshot.as_ref().map(|_| None);
        }
        let index = usize::try_from(offset.0 - self.start.0).expect("fits");
        self.entries.get(index).map(|e| Some(e.epoch))
    }

    /// `(LEO, last epoch)` as a vote would compare it after a restart from this disk.
    pub(super) fn position(&self) -> OffsetAndEpoch {
        let epoch = match (self.entries.last(), &self.snapshot) {
            (Some(last), _) => last.epoch,
            (None, Some(snapshot)) => snapshot.id.epoch,
            (None, None) => Epoch(0),
        };
        OffsetAndEpoch::new(self.end(), epoch)
    }

    /// A power loss: the unflushed tail is gone.
    pub(super) fn power_loss(&mut self) {
        let keep = usize::try_from(self.flushed.0.saturating_sub(self.start.0)).expect("fits");
        self.entries.truncate(keep);
    }

    /// What a restarting replica reads.
    pub(super) fn stored(&self) -> Stored<u8, Record, Ledger> {
        Stored {
            election: self.election.clone(),
            entries: self.entries.clone(),
            snapshot: self.snapshot.clone(),
        }
    }
}
