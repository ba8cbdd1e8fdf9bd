//! The disk model, kept outside the nodes so it outlives every incarnation
//! (madsim's own `fs` cannot lose power: `power_fail` is a TODO there).
//!
//! Per broker and partition: the records written (the page cache) and how many of them
//! reached stable storage. A process crash keeps the page cache; a power loss cuts each
//! log to a random point between its durable length and its end. The HW checkpoint and
//! the controller's state are written durably.

use std::collections::BTreeMap;

use crate::core::DiskOp;
use crate::core::broker::RecoveredPartition;
use crate::core::log::Record;
use crate::core::quorum::metadata_log::{
    MetadataEntry, MetadataSnapshot, MetadataStored, QuorumDiskOp,
};
use crate::core::quorum::raft::ElectionState;
use crate::core::quorum::records::ControllerState;
use crate::types::{BrokerId, NodeId, Offset, PartitionId};

/// One partition's files on one broker.
#[derive(Clone, Debug, Default)]
pub struct PartitionDisk {
    /// Every record written, flushed or not.
    pub records: Vec<Record>,
    /// How many leading records are on stable storage.
    pub durable_len: usize,
    /// Last HW checkpoint (durable).
    pub hw_checkpoint: Offset,
}

/// One quorum controller's metadata log files: the quorum-state file and the snapshot are
/// written durably, log entries reach stable storage when flushed.
#[derive(Clone, Debug, Default)]
pub struct QuorumFiles {
    election: Option<ElectionState<NodeId>>,
    entries: Vec<MetadataEntry>,
    durable_end: Offset,
    snapshot: Option<MetadataSnapshot>,
}

impl QuorumFiles {
    fn apply(&mut self, op: QuorumDiskOp) {
        match op {
            QuorumDiskOp::Election(state) => self.election = Some(state),
            QuorumDiskOp::Append(entries) => self.entries.extend(entries),
            QuorumDiskOp::Truncate(to) => {
                self.entries.retain(|e| e.offset < to);
                self.durable_end = self.durable_end.min(to);
            }
            QuorumDiskOp::Flush(upto) => self.durable_end = self.durable_end.max(upto),
            QuorumDiskOp::Snapshot(snapshot) => {
                let end = snapshot.id.end_offset;
                self.entries.retain(|e| e.offset >= end);
                self.durable_end = self.durable_end.max(end);
                self.snapshot = Some(*snapshot);
            }
        }
    }

    /// How many leading entries are durable (entries are in offset order).
    fn durable_count(&self) -> usize {
        self.entries
            .partition_point(|e| e.offset < self.durable_end)
    }

    /// A power loss keeps the durable entries and a random part of the rest.
    fn power_loss(&mut self, pick: impl FnOnce(usize) -> usize) -> Option<(Offset, Offset)> {
        let durable = self.durable_count();
        let unflushed = self.entries.len() - durable;
        if unflushed == 0 {
            return None;
        }
        let from = self.entries.last().map(|e| e.offset.plus(1))?;
        self.entries.truncate(durable + pick(unflushed));
        let to = self
            .entries
            .last()
            .map_or(self.start(), |e| e.offset.plus(1));
        (to < from).then_some((from, to))
    }

    fn start(&self) -> Offset {
        self.snapshot
            .as_ref()
            .map_or(Offset(0), |s| s.id.end_offset)
    }
}

/// Every node's disk.
#[derive(Clone, Debug, Default)]
pub struct SimDisk {
    brokers: BTreeMap<BrokerId, BTreeMap<PartitionId, PartitionDisk>>,
    controller: Option<ControllerState>,
    quorum: BTreeMap<NodeId, QuorumFiles>,
}

/// What a power loss cut from one partition: `(partition, from_len, to_len)`.
pub type PowerLossCut = (PartitionId, Offset, Offset);

impl SimDisk {
    /// Applies one write from `node`.
    pub fn apply(&mut self, node: NodeId, op: DiskOp) {
        let op = match op {
            DiskOp::ControllerState(state) => {
                self.controller = Some(*state);
                return;
            }
            DiskOp::Quorum(op) => {
                self.quorum.entry(node).or_default().apply(op);
                return;
            }
            op => op,
        };
        let NodeId::Broker(broker) = node else { return };
        let disk = self.brokers.entry(broker).or_default();
        match op {
            DiskOp::Append { partition, records } => {
                disk.entry(partition).or_default().records.extend(records)
            }
            DiskOp::Truncate { partition, len } => {
                let files = disk.entry(partition).or_default();
                files.records.truncate(len.index());
                files.durable_len = files.durable_len.min(files.records.len());
            }
            DiskOp::Flush { partition } => {
                let files = disk.entry(partition).or_default();
                files.durable_len = files.records.len();
            }
            DiskOp::CheckpointHw { partition, hw } => {
                disk.entry(partition).or_default().hw_checkpoint = hw
            }
            DiskOp::ControllerState(_) | DiskOp::Quorum(_) => unreachable!("handled above"),
        }
    }

    /// A broker loses power: every partition keeps its durable prefix plus a random part
    /// of its unflushed tail (`pick(len)` draws from `0..=len`).
    pub fn power_loss(
        &mut self,
        broker: BrokerId,
        mut pick: impl FnMut(usize) -> usize,
    ) -> Vec<PowerLossCut> {
        let mut cuts = Vec::new();
        for (partition, files) in self.brokers.entry(broker).or_default() {
            let unflushed = files.records.len() - files.durable_len;
            if unflushed == 0 {
                continue;
            }
            let kept = batch_start(
                &files.records,
                files.durable_len,
                files.durable_len + pick(unflushed),
            );
            let from = Offset(files.records.len() as u64);
            files.records.truncate(kept);
            files.durable_len = kept;
            if (kept as u64) < from.0 {
                cuts.push((*partition, from, Offset(kept as u64)));
            }
        }
        cuts
    }

    /// A broker's drive is replaced: every log and checkpoint of it is gone. Gives each
    /// partition that held records and how many.
    pub fn wipe(&mut self, broker: BrokerId) -> Vec<(PartitionId, Offset)> {
        let Some(disk) = self.brokers.remove(&broker) else {
            return Vec::new();
        };
        disk.iter()
            .filter(|(_, files)| !files.records.is_empty())
            .map(|(p, files)| (*p, Offset(files.records.len() as u64)))
            .collect()
    }

    /// What a booting broker finds.
    pub fn boot_broker(&self, broker: BrokerId) -> BTreeMap<PartitionId, RecoveredPartition> {
        let Some(disk) = self.brokers.get(&broker) else {
            return BTreeMap::new();
        };
        disk.iter()
            .map(|(p, files)| {
                let recovered = RecoveredPartition {
                    records: files.records.clone(),
                    hw_checkpoint: files.hw_checkpoint,
                };
                (*p, recovered)
            })
            .collect()
    }

    /// What a booting controller finds.
    pub fn boot_controller(&self) -> Option<ControllerState> {
        self.controller.clone()
    }

    /// What a booting quorum controller finds: its quorum-state file, the log entries
    /// that survived and its latest snapshot.
    pub fn boot_quorum(&self, node: NodeId) -> MetadataStored {
        let Some(files) = self.quorum.get(&node) else {
            return MetadataStored::empty();
        };
        MetadataStored {
            election: files.election.clone(),
            entries: files.entries.clone(),
            snapshot: files.snapshot.clone(),
        }
    }

    /// A quorum controller loses power: its metadata log keeps the flushed entries and a
    /// random part of the rest (`pick(len)` draws from `0..=len`). Gives the log end
    /// before and after when entries were lost.
    pub fn power_loss_quorum(
        &mut self,
        node: NodeId,
        pick: impl FnOnce(usize) -> usize,
    ) -> Option<(Offset, Offset)> {
        self.quorum.get_mut(&node)?.power_loss(pick)
    }

    /// Entries of a quorum controller's metadata log that are not yet durable (some only
    /// while the controller is in an fsync: a voter flushes before it goes on).
    pub fn metadata_unflushed(&self, node: NodeId) -> usize {
        (self.quorum.get(&node)).map_or(0, |files| files.entries.len() - files.durable_count())
    }

    /// Records of one partition on one broker that are not yet durable.
    pub fn unflushed(&self, broker: BrokerId, partition: PartitionId) -> usize {
        self.brokers
            .get(&broker)
            .and_then(|d| d.get(&partition))
            .map(|f| f.records.len() - f.durable_len)
            .unwrap_or(0)
    }
}

/// Where the record batch holding offset `at` begins: a power loss cuts a log at a batch
/// boundary, as Kafka's log recovery drops a torn batch whole (its CRC fails). Batches
/// are told apart by [`Record::same_batch`]. Never below `durable`.
fn batch_start(records: &[Record], durable: usize, mut at: usize) -> usize {
    while at > durable && at < records.len() && records[at - 1].same_batch(&records[at]) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod batch_tests {
    use super::*;
    use crate::core::broker::producer_state::NO_PRODUCER_ID;
    use crate::types::{LeaderEpoch, MessageId, ProducerEpoch, ProducerId, Sequence};

    fn record(producer: ProducerId, base: u32, seq: u32) -> Record {
        Record {
            leader_epoch: LeaderEpoch(0),
            producer_id: producer,
            producer_epoch: ProducerEpoch(0),
            sequence: Sequence(seq),
            batch_base_sequence: Sequence(base),
            value: MessageId {
                producer: 1,
                index: seq,
            },
            group: None,
        }
    }

    #[test]
    fn a_power_loss_cut_falls_on_a_batch_boundary() {
        let p = ProducerId(1);
        let log = vec![
            record(p, 0, 0),
            record(p, 0, 1),
            record(p, 2, 2),
            record(p, 2, 3),
        ];
        assert_eq!(batch_start(&log, 0, 3), 2, "inside the second batch");
        assert_eq!(batch_start(&log, 0, 1), 0, "inside the first");
        assert_eq!(batch_start(&log, 0, 2), 2, "already on a boundary");
        assert_eq!(batch_start(&log, 1, 1), 1, "never below the durable prefix");
        let plain = vec![record(NO_PRODUCER_ID, 0, 0); 3];
        assert_eq!(
            batch_start(&plain, 0, 2),
            2,
            "records without a producer id"
        );
    }
}
