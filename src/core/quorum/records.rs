//! The metadata records the controller writes (KRaft's `RegisterBrokerRecord`,
//! `BrokerRegistrationChangeRecord`, `PartitionChangeRecord`) and the state they build:
//! [`ControllerState`] is what replaying the records gives, and every change the
//! controller makes goes through [`ControllerState::apply`].

use std::collections::BTreeMap;

use crate::core::broker::Broker;
use crate::core::message::MetadataImage;
use crate::core::metadata::{BrokerRegistration, PartitionRegistration};
use crate::layout::Layout;
use crate::types::{BrokerEpoch, BrokerId, LeaderEpoch, PartitionEpoch};

/// One broker's registration as the controller keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerInfo {
    /// Current broker epoch (0: never registered).
    pub broker_epoch: BrokerEpoch,
    /// Incarnation id of the registered process.
    pub incarnation: u64,
    /// Fenced brokers cannot lead or be in an ISR.
    pub fenced: bool,
    /// Metadata version written by the registration; unfenced once the broker has it.
    pub registered_version: u64,
}

/// One change to the cluster's metadata.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MetadataRecord {
    /// `RegisterBrokerRecord`: a broker process registered and got `broker_epoch`. It
    /// starts fenced.
    RegisterBroker {
        /// The broker.
        broker: BrokerId,
        /// Its new broker epoch.
        broker_epoch: BrokerEpoch,
        /// The registering process's incarnation id.
        incarnation: u64,
        /// The metadata version the broker must have applied to be unfenced.
        registered_version: u64,
    },
    /// `BrokerRegistrationChangeRecord`: a broker fenced or unfenced.
    BrokerFenced {
        /// The broker.
        broker: BrokerId,
        /// Whether it is fenced now.
        fenced: bool,
    },
    /// `PartitionChangeRecord`: a partition's new leader, ISR, ELR and epochs. Kafka's
    /// record carries only the fields that changed; this one carries the whole
    /// registration, and whether the election it records was unclean, which only the
    /// history reads (deviations in encoding only).
    PartitionChange {
        /// The partition's new registration.
        registration: PartitionRegistration,
        /// Whether a new leader came from an unclean election.
        unclean: bool,
    },
}

/// The cluster's metadata: what replaying every record gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerState {
    /// Per broker.
    pub brokers: BTreeMap<BrokerId, BrokerInfo>,
    /// Per partition, indexed by `PartitionId`.
    pub partitions: Vec<PartitionRegistration>,
    /// Next broker epoch to hand out.
    pub next_broker_epoch: u64,
    /// Bumped on every committed batch of changes.
    pub metadata_version: u64,
}

impl ControllerState {
    /// A new cluster's metadata: every broker known but never registered (fenced),
    /// every partition led by `replicas[0]` in epoch 0 with every replica in the ISR.
    pub fn bootstrap(layout: &Layout) -> ControllerState {
        let unregistered = BrokerInfo {
            broker_epoch: BrokerEpoch(0),
            incarnation: Broker::FIRST_INCARNATION,
            fenced: true,
            registered_version: 0,
        };
        ControllerState {
            brokers: layout
                .brokers
                .iter()
                .map(|b| (*b, unregistered.clone()))
                .collect(),
            partitions: layout
                .partition_ids()
                .map(|p| {
                    let replicas = layout.partition(p).replicas.clone();
                    PartitionRegistration {
                        partition: p,
                        leader: Some(replicas[0]),
                        leader_epoch: LeaderEpoch(0),
                        partition_epoch: PartitionEpoch(0),
                        isr: replicas.clone(),
                        elr: Vec::new(),
                        last_known_elr: Vec::new(),
                        recovering: false,
                        replicas,
                    }
                })
                .collect(),
            next_broker_epoch: 1,
            metadata_version: 1,
        }
    }

    /// The metadata image brokers and clients see of this state, as `version`.
    pub fn image(&self, version: u64) -> MetadataImage {
        MetadataImage {
            version,
            partitions: self.partitions.clone(),
            brokers: self
                .brokers
                .iter()
                .map(|(b, info)| BrokerRegistration {
                    broker: *b,
                    broker_epoch: info.broker_epoch,
                    fenced: info.fenced,
                })
                .collect(),
        }
    }

    /// Replays one record.
    pub fn apply(&mut self, record: &MetadataRecord) {
        match record {
            MetadataRecord::RegisterBroker {
                broker,
                broker_epoch,
                incarnation,
                registered_version,
            } => {
                self.next_broker_epoch = self.next_broker_epoch.max(broker_epoch.0 + 1);
                let info = BrokerInfo {
                    broker_epoch: *broker_epoch,
                    incarnation: *incarnation,
                    fenced: true,
                    registered_version: *registered_version,
                };
                self.brokers.insert(*broker, info);
            }
            MetadataRecord::BrokerFenced { broker, fenced } => {
                if let Some(info) = self.brokers.get_mut(broker) {
                    info.fenced = *fenced;
                }
            }
            MetadataRecord::PartitionChange { registration, .. } => {
                let index = registration.partition.0 as usize;
                self.partitions[index] = registration.clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::PartitionId;

    #[test]
    fn replaying_records_registers_fences_and_changes_partitions() {
        let layout = Layout::new(2, &[("t".to_string(), 1, 2)]);
        let mut state = ControllerState::bootstrap(&layout);
        assert!(
            state
                .brokers
                .values()
                .all(|b| b.fenced && b.broker_epoch.0 == 0)
        );
        state.apply(&MetadataRecord::RegisterBroker {
            broker: BrokerId(2),
            broker_epoch: BrokerEpoch(4),
            incarnation: 9,
            registered_version: 3,
        });
        assert_eq!(state.next_broker_epoch, 5);
        state.apply(&MetadataRecord::BrokerFenced {
            broker: BrokerId(2),
            fenced: false,
        });
        assert!(!state.brokers[&BrokerId(2)].fenced);
        let mut changed = state.partitions[0].clone();
        changed.leader = Some(BrokerId(2));
        changed.isr = vec![BrokerId(2)];
        state.apply(&MetadataRecord::PartitionChange {
            registration: changed.clone(),
            unclean: false,
        });
        assert_eq!(state.partitions[PartitionId(0).0 as usize], changed);
    }
}
