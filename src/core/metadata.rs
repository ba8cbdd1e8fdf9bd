//! Controller-owned records: partition and broker registrations (KRaft's metadata).

use crate::types::{BrokerEpoch, BrokerId, LeaderEpoch, PartitionEpoch, PartitionId};

/// One partition's controller state (`PartitionRegistration` in Kafka).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PartitionRegistration {
    /// Which partition.
    pub partition: PartitionId,
    /// Assigned replicas; `replicas[0]` is the preferred leader.
    pub replicas: Vec<BrokerId>,
    /// The leader, or None when offline.
    pub leader: Option<BrokerId>,
    /// +1 on every leader change.
    pub leader_epoch: LeaderEpoch,
    /// +1 on every change of this record.
    pub partition_epoch: PartitionEpoch,
    /// In-sync replicas.
    pub isr: Vec<BrokerId>,
    /// Eligible leader replicas (KIP-966).
    pub elr: Vec<BrokerId>,
    /// ELR members last known before ELR emptied (KIP-966 fallback).
    pub last_known_elr: Vec<BrokerId>,
    /// The leader came from an unclean election and must be the only ISR member (KIP-704).
    pub recovering: bool,
}

impl PartitionRegistration {
    /// Whether `broker` is in the ISR.
    pub fn in_isr(&self, broker: BrokerId) -> bool {
        self.isr.contains(&broker)
    }
}

/// One broker's registration at the controller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerRegistration {
    /// Which broker.
    pub broker: BrokerId,
    /// Epoch of the current registration (0: never registered).
    pub broker_epoch: BrokerEpoch,
    /// Fenced brokers cannot lead or join an ISR.
    pub fenced: bool,
}
