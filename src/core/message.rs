//! Wire messages between nodes. Moved by the shell as values (no serialization).

use crate::core::log::Record;
use crate::core::metadata::{BrokerRegistration, PartitionRegistration};
use crate::types::{
    BrokerEpoch, BrokerId, LeaderEpoch, MessageId, Offset, PartitionEpoch, PartitionId,
    ProducerEpoch, ProducerId, Sequence, SimTime,
};

/// Kafka error codes the model uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// The receiver does not lead this partition (or does not know it).
    NotLeaderOrFollower,
    /// The request's leader epoch is older than the receiver's.
    FencedLeaderEpoch,
    /// The request's leader epoch is newer than the receiver's.
    UnknownLeaderEpoch,
    /// acks=all and |ISR| < min.insync.replicas: rejected before append.
    NotEnoughReplicas,
    /// Appended, but the ISR shrank below min.insync.replicas before the HW passed it.
    NotEnoughReplicasAfterAppend,
    /// An idempotent batch with a sequence gap: rejected before append.
    OutOfOrderSequenceNumber,
    /// The request was parked longer than its timeout.
    RequestTimedOut,
    /// The fetch offset is outside the log.
    OffsetOutOfRange,
    /// AlterPartition: the partition epoch is stale.
    InvalidUpdateVersion,
    /// AlterPartition: the sender is not the leader, or the new ISR is malformed.
    InvalidRequest,
    /// AlterPartition: a replica to add is fenced or has a stale broker epoch.
    IneligibleReplica,
    /// Registration while the previous incarnation's session is still valid.
    DuplicateBrokerRegistration,
    /// The broker epoch in the request is not the registered one.
    StaleBrokerEpoch,
    /// The receiving controller is not the active one (or stopped being it before the
    /// request's records committed): find the active controller and ask again.
    NotController,
}

impl ErrorCode {
    /// Kafka's name, e.g. `NOT_ENOUGH_REPLICAS`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            ErrorCode::FencedLeaderEpoch => "FENCED_LEADER_EPOCH",
            ErrorCode::UnknownLeaderEpoch => "UNKNOWN_LEADER_EPOCH",
            ErrorCode::NotEnoughReplicas => "NOT_ENOUGH_REPLICAS",
            ErrorCode::NotEnoughReplicasAfterAppend => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            ErrorCode::OutOfOrderSequenceNumber => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            ErrorCode::RequestTimedOut => "REQUEST_TIMED_OUT",
            ErrorCode::OffsetOutOfRange => "OFFSET_OUT_OF_RANGE",
            ErrorCode::InvalidUpdateVersion => "INVALID_UPDATE_VERSION",
            ErrorCode::InvalidRequest => "INVALID_REQUEST",
            ErrorCode::IneligibleReplica => "INELIGIBLE_REPLICA",
            ErrorCode::DuplicateBrokerRegistration => "DUPLICATE_BROKER_REGISTRATION",
            ErrorCode::StaleBrokerEpoch => "STALE_BROKER_EPOCH",
            ErrorCode::NotController => "NOT_CONTROLLER",
        }
    }

    /// Whether a produce attempt that got this error was definitely not appended.
    ///
    /// `NOT_LEADER_OR_FOLLOWER` is not: a leader that appended a batch and lost leadership
    /// before the ISR acknowledged it answers the parked request with that same error
    /// (Kafka's `DelayedProduce`), so the client cannot tell (known-failures 14).
    pub fn rejected_before_append(self) -> bool {
        matches!(
            self,
            ErrorCode::FencedLeaderEpoch
                | ErrorCode::UnknownLeaderEpoch
                | ErrorCode::NotEnoughReplicas
                | ErrorCode::OutOfOrderSequenceNumber
        )
    }
}

/// One partition's part of a fetch request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchPartition {
    /// Which partition.
    pub partition: PartitionId,
    /// The first offset wanted (a follower's LEO, a consumer's position).
    pub fetch_offset: Offset,
    /// The leader epoch the fetcher believes is current.
    pub current_leader_epoch: LeaderEpoch,
    /// Epoch of the fetcher's last record, for the divergence check (None: no check).
    pub last_fetched_epoch: Option<LeaderEpoch>,
}

/// One partition's part of a fetch response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchedPartition {
    /// Which partition.
    pub partition: PartitionId,
    /// Error, if any (then no records).
    pub error: Option<ErrorCode>,
    /// Offset of the first record: the request's fetch offset.
    pub base_offset: Offset,
    /// Records starting at `base_offset`.
    pub records: Vec<Record>,
    /// The leader's HW when the request was read.
    pub high_watermark: Offset,
    /// The leader's LEO (used on OFFSET_OUT_OF_RANGE).
    pub log_end_offset: Offset,
    /// Set when the fetcher's log diverges: truncate to the end of this epoch.
    pub diverging_epoch: Option<(LeaderEpoch, Offset)>,
}

/// A producer's batch for one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProduceBatch {
    /// Target partition.
    pub partition: PartitionId,
    /// Idempotent producer id.
    pub producer_id: ProducerId,
    /// Idempotent producer epoch.
    pub producer_epoch: ProducerEpoch,
    /// Sequence of the first record (idempotence), consecutive after it.
    pub base_sequence: Sequence,
    /// The messages, in order.
    pub values: Vec<MessageId>,
}

/// Every message of the protocol.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    // ---- broker <-> controller ----
    /// A booting broker asks for a broker epoch.
    RegisterBroker {
        /// Sender.
        broker: BrokerId,
        /// Random per process lifetime; tells a restart from a retry.
        incarnation: u64,
        /// Broker epoch of the previous incarnation if it shut down cleanly (never, here).
        previous_broker_epoch: Option<BrokerEpoch>,
    },
    /// Registration result.
    RegisterBrokerResponse {
        /// The new broker epoch, or why not.
        result: Result<BrokerEpoch, ErrorCode>,
    },
    /// Periodic liveness signal.
    Heartbeat {
        /// Sender.
        broker: BrokerId,
        /// Its registered epoch.
        broker_epoch: BrokerEpoch,
        /// The metadata version the broker has applied.
        metadata_version: u64,
    },
    /// Heartbeat answer; carries the metadata image when the broker is behind.
    HeartbeatResponse {
        /// Error (e.g. stale broker epoch: register again).
        error: Option<ErrorCode>,
        /// Full metadata when the broker's version is older than the controller's.
        metadata: Option<Box<MetadataImage>>,
    },
    /// Pushed by the controller to every broker on each metadata change.
    MetadataUpdate {
        /// The full image.
        metadata: Box<MetadataImage>,
    },
    /// A leader proposes a new ISR.
    AlterPartition {
        /// Sender (must be the leader).
        broker: BrokerId,
        /// Sender's broker epoch.
        broker_epoch: BrokerEpoch,
        /// Which partition.
        partition: PartitionId,
        /// The leader epoch the proposal is made in.
        leader_epoch: LeaderEpoch,
        /// The partition epoch the proposal is based on (compare-and-set).
        partition_epoch: PartitionEpoch,
        /// The proposed ISR with each member's broker epoch as the leader saw it.
        new_isr: Vec<(BrokerId, BrokerEpoch)>,
        /// Which send this is (unique per broker incarnation): a resent proposal gets a
        /// new one.
        attempt: u64,
    },
    /// The controller's answer to AlterPartition.
    AlterPartitionResponse {
        /// Which partition.
        partition: PartitionId,
        /// The `attempt` answered. Kafka's callback closes over the request it answers
        /// and one request per partition is in flight; here proposals are resent, so the
        /// answer names its send and only the latest send's refusal rolls back.
        attempt: u64,
        /// The committed registration, or why not.
        result: Result<PartitionRegistration, ErrorCode>,
    },

    // ---- replication and client data ----
    /// Follower or consumer fetch. `replica` is None for consumers.
    Fetch {
        /// Correlation id chosen by the fetcher.
        correlation: u64,
        /// The fetching follower, or None for a consumer.
        replica: Option<BrokerId>,
        /// The follower's broker epoch (KIP-903).
        replica_epoch: BrokerEpoch,
        /// Longest time the leader may park the request.
        max_wait_ms: u64,
        /// The partitions fetched.
        partitions: Vec<FetchPartition>,
    },
    /// Fetch answer.
    FetchResponse {
        /// Echoes the request.
        correlation: u64,
        /// When the leader sent it. Only traced (the space-time diagram's arrows); no
        /// receiver decides anything on it.
        sent_at: SimTime,
        /// One entry per requested partition.
        partitions: Vec<FetchedPartition>,
    },
    /// A producer's request for one partition.
    Produce {
        /// Correlation id chosen by the producer.
        correlation: u64,
        /// Required acks: 0, 1 or all.
        acks: crate::config::Acks,
        /// How long the leader may park an acks=all request.
        timeout_ms: u64,
        /// The batch.
        batch: ProduceBatch,
    },
    /// Produce answer: the base offset, or an error.
    ProduceResponse {
        /// Echoes the request.
        correlation: u64,
        /// When the leader sent it. Only traced (the space-time diagram's ack arrows); no
        /// receiver decides anything on it.
        sent_at: SimTime,
        /// Which partition.
        partition: PartitionId,
        /// Base offset of the batch, or why not.
        result: Result<Offset, ErrorCode>,
    },
    /// A client asks a broker for its view of leadership.
    MetadataRequest {
        /// Correlation id.
        correlation: u64,
    },
    /// The broker's current view.
    MetadataResponse {
        /// Echoes the request.
        correlation: u64,
        /// The broker's image (may be stale).
        metadata: Box<MetadataImage>,
    },

    // ---- consumer groups ----
    /// A group protocol request or answer (client <-> coordinator).
    Group(Box<crate::core::group::messages::GroupMessage>),

    // ---- the controller quorum's metadata log ----
    /// A Raft message between controllers, or between a controller and a broker that
    /// fetches the metadata log as an observer.
    Raft(Box<MetadataRaftMessage>),
}

/// The metadata log's Raft messages: replicas are nodes, records are metadata records,
/// snapshots are the metadata state.
pub type MetadataRaftMessage = crate::core::quorum::raft::RaftMessage<
    crate::types::NodeId,
    crate::core::quorum::records::MetadataRecord,
    crate::core::quorum::records::ControllerState,
>;

/// What the controller publishes: every partition and broker registration.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MetadataImage {
    /// Bumped on every change.
    pub version: u64,
    /// Per partition state.
    pub partitions: Vec<PartitionRegistration>,
    /// Per broker registration state.
    pub brokers: Vec<BrokerRegistration>,
}

impl MetadataImage {
    /// The registration of one partition.
    pub fn partition(&self, id: PartitionId) -> Option<&PartitionRegistration> {
        self.partitions.get(id.0 as usize)
    }
    /// The registration of one broker.
    pub fn broker(&self, id: BrokerId) -> Option<&BrokerRegistration> {
        self.brokers.iter().find(|b| b.broker == id)
    }
}
