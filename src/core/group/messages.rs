//! The group protocol's requests and answers (carried as `Message::Group`). Each request
//! has a correlation id its answer repeats.

use std::collections::BTreeMap;

use super::classic::Joined;
use super::{Generation, GroupError, MemberId};
use crate::types::{BrokerId, GroupName, Offset, PartitionId};

/// A group protocol message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupMessage {
    /// Which broker coordinates `group` (any broker answers from its metadata).
    FindCoordinator {
        /// Request id.
        correlation: u64,
        /// The group.
        group: GroupName,
    },
    /// The answer: the leader of the group's offsets partition.
    FindCoordinatorResponse {
        /// Request id.
        correlation: u64,
        /// The coordinator, or `COORDINATOR_NOT_AVAILABLE`-like `NotCoordinator`.
        result: Result<BrokerId, GroupError>,
    },
    /// JoinGroup.
    Join {
        /// Request id.
        correlation: u64,
        /// The group.
        group: GroupName,
        /// Its member id, if it has one.
        member: Option<MemberId>,
        /// Subscribed topics.
        topics: Vec<String>,
        /// What it owned (cooperative-sticky) and in which generation.
        owned: (Vec<PartitionId>, Option<Generation>),
        /// `session.timeout.ms`.
        session_timeout_ms: u64,
        /// The rebalance timeout (`max.poll.interval.ms`).
        rebalance_timeout_ms: u64,
    },
    /// JoinGroup's answer.
    JoinResponse {
        /// Request id.
        correlation: u64,
        /// The generation joined, or the error (`MEMBER_ID_REQUIRED` with the new id).
        result: Result<Joined, (GroupError, Option<MemberId>)>,
    },
    /// SyncGroup: the leader's carries the assignment.
    Sync {
        /// Request id.
        correlation: u64,
        /// The group.
        group: GroupName,
        /// The member.
        member: MemberId,
        /// Its generation.
        generation: Generation,
        /// The leader's assignment.
        assignment: Option<BTreeMap<MemberId, Vec<PartitionId>>>,
    },
    /// SyncGroup's answer: the member's partitions.
    SyncResponse {
        /// Request id.
        correlation: u64,
        /// The partitions.
        result: Result<Vec<PartitionId>, GroupError>,
    },
    /// Heartbeat.
    Heartbeat {
        /// Request id.
        correlation: u64,
        /// The group.
        group: GroupName,
        /// The member.
        member: MemberId,
        /// Its generation.
        generation: Generation,
    },
    /// Heartbeat's answer.
    HeartbeatResponse {
        /// Request id.
        correlation: u64,
        /// `None` when all is well.
        error: Option<GroupError>,
    },
    /// LeaveGroup (no answer is awaited).
    Leave {
        /// The group.
        group: GroupName,
        /// The member.
        member: MemberId,
    },
    /// OffsetCommit.
    OffsetCommit {
        /// Request id.
        correlation: u64,
        /// The group.
        group: GroupName,
        /// The committing member and its generation; `None` for a commit without group
        /// identity.
        member: Option<(MemberId, Generation)>,
        /// Next offsets to consume.
        offsets: Vec<(PartitionId, Offset)>,
    },
    /// OffsetCommit's answer, once the commit is in the log below its HW.
    OffsetCommitResponse {
        /// Request id.
        correlation: u64,
        /// Whether it was stored.
        result: Result<(), GroupError>,
    },
    /// OffsetFetch.
    OffsetFetch {
        /// Request id.
        correlation: u64,
        /// The group.
        group: GroupName,
        /// Which partitions.
        partitions: Vec<PartitionId>,
    },
    /// OffsetFetch's answer: the committed offset of each, if any.
    OffsetFetchResponse {
        /// Request id.
        correlation: u64,
        /// The offsets.
        result: Result<Vec<(PartitionId, Option<Offset>)>, GroupError>,
    },
}
