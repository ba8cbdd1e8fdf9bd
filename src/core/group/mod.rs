//! Consumer groups: the classic group coordinator's state machine (`classic.rs`) and the
//! client-side assignors (`assignor.rs`). The coordinator runs on the broker that leads
//! the group's `__consumer_offsets` partition; members are clients.
//!
//! Sources: Kafka's `GroupCoordinator.scala`/`GroupMetadata.scala` (≤ 3.x) and
//! `ClassicGroup.java`/`GroupMetadataManager.java` (4.x) for the coordinator,
//! `AbstractCoordinator.java`/`ConsumerCoordinator.java` for members, and the assignors in
//! `clients/.../consumer/`.

pub mod assignor;
pub mod classic;
pub mod coordinator;
pub mod member;
pub mod messages;
pub mod records;

use std::fmt;

/// A member id handed out by the coordinator (KIP-394: on a first JoinGroup without one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MemberId(pub u64);

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m{}", self.0)
    }
}

/// A classic group's generation: bumped each time a rebalance completes its join phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Generation(pub u32);

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The errors the group protocol answers with, by Kafka's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupError {
    /// `MEMBER_ID_REQUIRED`: a first join; rejoin with the id handed out.
    MemberIdRequired,
    /// `UNKNOWN_MEMBER_ID`: the coordinator does not know the member (expired or left).
    UnknownMemberId,
    /// `ILLEGAL_GENERATION`: the request's generation is not the group's.
    IllegalGeneration,
    /// `REBALANCE_IN_PROGRESS`: rejoin.
    RebalanceInProgress,
    /// `NOT_COORDINATOR`: the receiver does not coordinate the group.
    NotCoordinator,
    /// `COORDINATOR_LOAD_IN_PROGRESS`: the coordinator is still loading the group.
    CoordinatorLoadInProgress,
    /// `COORDINATOR_NOT_AVAILABLE`: the offsets partition has no leader, or refused the
    /// write (fewer in-sync replicas than `min.insync.replicas`).
    CoordinatorNotAvailable,
}

impl GroupError {
    /// Kafka's name.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupError::MemberIdRequired => "MEMBER_ID_REQUIRED",
            GroupError::UnknownMemberId => "UNKNOWN_MEMBER_ID",
            GroupError::IllegalGeneration => "ILLEGAL_GENERATION",
            GroupError::RebalanceInProgress => "REBALANCE_IN_PROGRESS",
            GroupError::NotCoordinator => "NOT_COORDINATOR",
            GroupError::CoordinatorLoadInProgress => "COORDINATOR_LOAD_IN_PROGRESS",
            GroupError::CoordinatorNotAvailable => "COORDINATOR_NOT_AVAILABLE",
        }
    }
}
