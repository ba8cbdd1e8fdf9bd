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
use crate::core::controller::ControllerState;
use crate::core::log::Record;
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

/// Every node's disk.
#[derive(Clone, Debug, Default)]
pub struct SimDisk {
    brokers: BTreeMap<BrokerId, BTreeMap<PartitionId, PartitionDisk>>,
    controller: Option<ControllerState>,
}

/// What a power loss cut from one partition: `(partition, from_len, to_len)`.
pub type PowerLossCut = (PartitionId, Offset, Offset);

impl SimDisk {
    /// Applies one write from `node`.
    pub fn apply(&mut self, node: NodeId, op: DiskOp) {
        if let DiskOp::ControllerState(state) = op {
            self.controller = Some(*state);
            return;
        }
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
            DiskOp::ControllerState(_) => unreachable!("handled above"),
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
            let kept = files.durable_len + pick(unflushed);
            let from = Offset(files.records.len() as u64);
            files.records.truncate(kept);
            files.durable_len = kept;
            if (kept as u64) < from.0 {
                cuts.push((*partition, from, Offset(kept as u64)));
            }
        }
        cuts
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

    /// Records of one partition on one broker that are not yet durable.
    pub fn unflushed(&self, broker: BrokerId, partition: PartitionId) -> usize {
        self.brokers
            .get(&broker)
            .and_then(|d| d.get(&partition))
            .map(|f| f.records.len() - f.durable_len)
            .unwrap_or(0)
    }
}
