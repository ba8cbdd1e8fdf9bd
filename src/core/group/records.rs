//! What a group coordinator writes to its `__consumer_offsets` partition, one record per
//! fact, as Kafka's `OffsetCommitKey/Value` and `GroupMetadataKey/Value` (here the group
//! metadata is one record per member plus one per generation). Kept `Copy`, so records
//! stay plain values in every log.

use super::{Generation, MemberId};
use crate::types::{GroupName, Offset, PartitionId};

/// A set of partition ids below 64, as a bit set (a member's assignment).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartitionSet(pub u64);

impl PartitionSet {
    /// The set of `partitions`; ids of 64 and up do not fit (the scenario rules keep a
    /// group's topics below that).
    pub fn of(partitions: &[PartitionId]) -> PartitionSet {
        PartitionSet(partitions.iter().fold(0, |bits, p| bits | (1u64 << p.0)))
    }

    /// Its members, in id order.
    pub fn to_vec(self) -> Vec<PartitionId> {
        (0..64u16)
            .filter(|i| self.0 & (1 << i) != 0)
            .map(PartitionId)
            .collect()
    }
}

/// One record of a coordinator's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupRecord {
    /// An accepted OffsetCommit of one partition.
    OffsetCommit {
        /// The group.
        group: GroupName,
        /// The committed partition.
        partition: PartitionId,
        /// The next offset to consume.
        offset: Offset,
    },
    /// A generation's assignment begins: `members` [`GroupRecord::Member`] records follow.
    Generation {
        /// The group.
        group: GroupName,
        /// Which generation.
        generation: Generation,
        /// Its leader.
        leader: MemberId,
        /// How many member records follow.
        members: u8,
    },
    /// One member of a stored generation and its assignment.
    Member {
        /// The group.
        group: GroupName,
        /// Which generation.
        generation: Generation,
        /// The member.
        member: MemberId,
        /// Its partitions.
        partitions: PartitionSet,
    },
}

impl GroupRecord {
    /// The group it belongs to.
    pub fn group(&self) -> GroupName {
        match self {
            GroupRecord::OffsetCommit { group, .. }
            | GroupRecord::Generation { group, .. }
            | GroupRecord::Member { group, .. } => *group,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{GroupRecord, PartitionSet};
    use crate::core::log::Record;
    use crate::types::PartitionId;

    #[test]
    fn partition_sets_round_trip() {
        let ps = vec![PartitionId(0), PartitionId(5), PartitionId(63)];
        assert_eq!(PartitionSet::of(&ps).to_vec(), ps);
    }

    #[test]
    fn group_records_stay_small() {
        assert!(std::mem::size_of::<Option<GroupRecord>>() <= 24);
        assert!(
            std::mem::size_of::<Record>() <= 56,
            "32 bytes and the group field"
        );
    }
}
