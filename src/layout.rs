//! The static shape of a cluster: brokers, topics, partitions and replica assignments.

use crate::types::{BrokerId, ControllerId, GroupName, NodeId, PartitionId};

/// The internal topic group coordinators write to.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// One partition's name and assigned replicas (AR; `replicas[0]` is the preferred leader).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionLayout {
    /// Topic name.
    pub topic: String,
    /// Partition index within the topic.
    pub index: u32,
    /// Assigned replicas in assignment order.
    pub replicas: Vec<BrokerId>,
}

impl PartitionLayout {
    /// `topic-index`, as scenarios and histories name partitions.
    pub fn name(&self) -> String {
        format!("{}-{}", self.topic, self.index)
    }
}

/// Brokers and the flat partition table (topic order, then partition index).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Broker ids, 1..=N.
    pub brokers: Vec<BrokerId>,
    /// Every partition of every topic; `PartitionId(i)` indexes this.
    pub partitions: Vec<PartitionLayout>,
    /// The controller nodes: the single `controller`, or `controller-1` … `controller-N`
    /// forming a KRaft quorum.
    pub controllers: Vec<NodeId>,
}

impl Layout {
    /// Builds the layout Kafka's default assignment would give: partition `p` of a topic
    /// starts at broker `(p + topic_offset) % N` and takes the next `replication_factor`
    /// brokers round robin, so preferred leaders spread over the brokers.
    pub fn new(brokers: u8, topics: &[(String, u32, u8)]) -> Layout {
        let broker_ids: Vec<BrokerId> = (1..=brokers).map(BrokerId).collect();
        let mut partitions = Vec::new();
        let mut start = 0usize;
        for (topic, count, replication_factor) in topics {
            for index in 0..*count {
                let first = start + index as usize;
                let replicas = (0..*replication_factor as usize)
                    .map(|r| broker_ids[(first + r) % broker_ids.len()])
                    .collect();
                partitions.push(PartitionLayout {
                    topic: topic.clone(),
                    index,
                    replicas,
                });
            }
            start += *count as usize;
        }
        Layout {
            brokers: broker_ids,
            partitions,
            controllers: vec![NodeId::CONTROLLER],
        }
    }

    /// The same layout with `count` controllers: one is the single `controller`; more
    /// form a quorum of `controller-1` … `controller-N`.
    pub fn with_controllers(mut self, count: u8) -> Layout {
        self.controllers = if count <= 1 {
            vec![NodeId::CONTROLLER]
        } else {
            (1..=count)
                .map(|n| NodeId::Controller(ControllerId(n)))
                .collect()
        };
        self
    }

    /// The same layout with the internal `__consumer_offsets` topic appended (`partitions`
    /// partitions of `replication_factor` replicas, assigned as any topic's), for runs with
    /// consumer groups.
    pub fn with_offsets_topic(mut self, partitions: u32, replication_factor: u8) -> Layout {
        let start = self.partitions.len();
        for index in 0..partitions {
            let first = start + index as usize;
            let replicas = (0..usize::from(replication_factor))
                .map(|r| self.brokers[(first + r) % self.brokers.len()])
                .collect();
            let topic = OFFSETS_TOPIC.to_string();
            self.partitions.push(PartitionLayout {
                topic,
                index,
                replicas,
            });
        }
        self
    }

    /// Whether the layout has the `__consumer_offsets` topic (appended last).
    pub fn has_offsets_topic(&self) -> bool {
        self.partitions
            .last()
            .is_some_and(|p| p.topic == OFFSETS_TOPIC)
    }

    /// Whether `id` belongs to an internal topic (clients do not produce to or read it).
    pub fn is_internal(&self, id: PartitionId) -> bool {
        self.partition(id).topic == OFFSETS_TOPIC
    }

    /// The partitions of the scenario's own topics.
    pub fn user_partition_ids(&self) -> Vec<PartitionId> {
        self.partition_ids()
            .filter(|p| !self.is_internal(*p))
            .collect()
    }

    /// The `__consumer_offsets` partition that holds `group`, as Kafka picks it:
    /// `abs(groupId.hashCode) % partitions` (`GroupMetadataManager.partitionFor`), with
    /// Java's `String.hashCode`; None without the topic.
    pub fn offsets_partition(&self, group: GroupName) -> Option<PartitionId> {
        let offsets: Vec<PartitionId> = self
            .partition_ids()
            .filter(|p| self.is_internal(*p))
            .collect();
        if offsets.is_empty() {
            return None;
        }
        let hash = (group.as_str().encode_utf16()).fold(0i32, |h, c| {
            h.wrapping_mul(31).wrapping_add(i32::from(c as i16))
        });
        let index = (hash & 0x7fff_ffff) as usize % offsets.len(); // Utils.abs
        Some(offsets[index])
    }

    /// Whether the controllers form a quorum (more than one).
    pub fn has_quorum(&self) -> bool {
        self.controllers.len() > 1
    }

    /// Every partition id.
    pub fn partition_ids(&self) -> impl Iterator<Item = PartitionId> + '_ {
        (0..self.partitions.len()).map(|i| PartitionId(i as u16))
    }

    /// The layout of one partition.
    pub fn partition(&self, id: PartitionId) -> &PartitionLayout {
        &self.partitions[id.0 as usize]
    }

    /// `topic-index` of a partition.
    pub fn partition_name(&self, id: PartitionId) -> String {
        self.partition(id).name()
    }

    /// Looks a partition up by its `topic-index` name.
    pub fn find_partition(&self, name: &str) -> Option<PartitionId> {
        self.partitions
            .iter()
            .position(|p| p.name() == name)
            .map(|i| PartitionId(i as u16))
    }

    /// Partitions for which `broker` is an assigned replica.
    pub fn hosted_by(&self, broker: BrokerId) -> Vec<PartitionId> {
        self.partition_ids()
            .filter(|&p| self.partition(p).replicas.contains(&broker))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_spreads_preferred_leaders() {
        let layout = Layout::new(3, &[("events".into(), 2, 3)]);
        assert_eq!(
            layout.partitions[0].replicas,
            vec![BrokerId(1), BrokerId(2), BrokerId(3)]
        );
        assert_eq!(
            layout.partitions[1].replicas,
            vec![BrokerId(2), BrokerId(3), BrokerId(1)]
        );
        assert_eq!(layout.find_partition("events-1"), Some(PartitionId(1)));
        assert_eq!(layout.find_partition("events-2"), None);
    }

    #[test]
    fn groups_hash_to_offsets_partitions_as_kafka_does() {
        let layout = Layout::new(3, &[("events".into(), 2, 3)]).with_offsets_topic(50, 3);
        assert_eq!(
            layout.user_partition_ids(),
            vec![PartitionId(0), PartitionId(1)]
        );
        assert!(layout.is_internal(PartitionId(2)));
        // "g1".hashCode() = 103 * 31 + 49 = 3242; 3242 % 50 = 42.
        let p = layout
            .offsets_partition(GroupName::intern("g1"))
            .expect("the topic exists");
        assert_eq!(layout.partition_name(p), "__consumer_offsets-42");
        assert_eq!(
            Layout::new(3, &[]).offsets_partition(GroupName::intern("g1")),
            None
        );
    }
}
