//! The metadata log as controllers and brokers use it: the Raft core instantiated with
//! nodes as replicas, metadata records as entries and the metadata state as snapshot; the
//! disk writes a controller's replica asks for; and [`Replay`], the committed metadata
//! state every replica builds by applying the log up to its high watermark.

use std::hash::{Hash, Hasher};

use crate::core::quorum::raft::{Entry, LogEntry, Raft, RaftEffect, Snapshot, Stored};
use crate::core::quorum::records::{ControllerState, MetadataRecord};
use crate::layout::Layout;
use crate::quorum_event::RecordStamp;
use crate::trace_hasher::TraceHasher;
use crate::types::{NodeId, Offset};

/// One replica of the metadata log.
pub type MetadataRaft = Raft<NodeId, MetadataRecord, ControllerState>;
/// What the metadata log's Raft core asks for.
pub type MetadataEffect = RaftEffect<NodeId, MetadataRecord, ControllerState>;
/// One entry of the metadata log.
pub type MetadataEntry = LogEntry<NodeId, MetadataRecord>;
/// A snapshot of the metadata state.
pub type MetadataSnapshot = Snapshot<ControllerState>;
/// What a controller's disk gives back at start.
pub type MetadataStored = Stored<NodeId, MetadataRecord, ControllerState>;

/// How many committed entries a replica lets its log hold past its last snapshot before
/// it takes a new one (Kafka counts bytes, `metadata.log.max.record.bytes.between.snapshots`).
pub const SNAPSHOT_EVERY_ENTRIES: u64 = 200;

/// A write to a controller's metadata log files, in the order the Raft core asked.
#[derive(Clone, Debug, PartialEq)]
pub enum QuorumDiskOp {
    /// The quorum-state file, written durably.
    Election(crate::core::quorum::raft::ElectionState<NodeId>),
    /// Entries appended at the end of the log (page cache).
    Append(Vec<MetadataEntry>),
    /// Every entry at or above this offset removed.
    Truncate(Offset),
    /// fsync: every entry below this offset is durable.
    Flush(Offset),
    /// A snapshot stored durably; the log now starts at its end.
    Snapshot(Box<MetadataSnapshot>),
}

impl QuorumDiskOp {
    /// The disk write a Raft effect asks for, if it is one.
    pub fn of(effect: MetadataEffect) -> Option<QuorumDiskOp> {
        Some(match effect {
            RaftEffect::PersistElection(state) => QuorumDiskOp::Election(state),
            RaftEffect::Append(entries) => QuorumDiskOp::Append(entries),
            RaftEffect::Truncate { to } => QuorumDiskOp::Truncate(to),
            RaftEffect::Flush { upto } => QuorumDiskOp::Flush(upto),
            RaftEffect::PersistSnapshot(s) => QuorumDiskOp::Snapshot(Box::new(s)),
            _ => return None,
        })
    }
}

/// The history's stamp of an entry: its epoch and a digest of what it holds (the trace
/// hash's hasher, the same on every run).
pub fn stamp(entry: &MetadataEntry) -> RecordStamp {
    let mut hasher = TraceHasher::default();
    entry.entry.hash(&mut hasher);
    (entry.epoch.0, hasher.finish())
}

/// The committed metadata state of one replica: the bootstrap state (or the latest
/// snapshot) with every committed record applied, in offset order.
#[derive(Clone, Debug, PartialEq)]
pub struct Replay {
    /// The state so far.
    pub state: ControllerState,
    /// Every entry below this offset is applied.
    pub applied: Offset,
}

impl Replay {
    /// A replica starting from `snapshot`, or from a new cluster's state.
    pub fn new(layout: &Layout, snapshot: Option<&MetadataSnapshot>) -> Replay {
        match snapshot {
            Some(s) => Replay {
                state: s.payload.clone(),
                applied: s.id.end_offset,
            },
            None => Replay {
                state: ControllerState::bootstrap(layout),
                applied: Offset(0),
            },
        }
    }

    /// Applies every committed entry of `raft` not applied yet; `on_record` sees each
    /// record with its offset and the state before it. A replica whose log now starts
    /// past what it applied (it installed a leader's snapshot) starts over from that
    /// snapshot. Returns whether anything was applied.
    pub fn catch_up(
        &mut self,
        raft: &MetadataRaft,
        mut on_record: impl FnMut(Offset, &MetadataRecord, &ControllerState),
    ) -> bool {
        let before = self.applied;
        if raft.log_start_offset() > self.applied
            && let Some(snapshot) = raft.latest_snapshot()
        {
            self.state = snapshot.payload.clone();
            self.applied = snapshot.id.end_offset;
        }
        for entry in raft.committed(self.applied) {
            if let Entry::Data(record) = &entry.entry {
                on_record(entry.offset, record, &self.state);
                self.state.apply(record);
            }
            self.applied = entry.offset.plus(1);
        }
        self.applied != before
    }

    /// Whether the log holds enough applied entries past its start to snapshot them.
    pub fn snapshot_due(&self, raft: &MetadataRaft) -> bool {
        self.applied.0 >= raft.log_start_offset().0 + SNAPSHOT_EVERY_ENTRIES
    }
}
