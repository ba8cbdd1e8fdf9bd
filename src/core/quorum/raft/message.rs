//! The KRaft RPCs of KIP-595 and KIP-630 (single partition, single snapshot chunk), as
//! plain values. Every request carries a correlation id and every response echoes it: a
//! replica only handles the response it is waiting for from that peer
//! (`RequestManager.isResponseExpected`), so late, duplicated or reordered responses are
//! dropped. Every response also carries the responder's epoch and leader, which is how
//! replicas learn about elections (`maybeHandleCommonResponse`).

use std::fmt;

use crate::types::Offset;

use super::epoch::Epoch;
use super::log::{LogEntry, Snapshot, SnapshotId};

/// Pairs a response with its request; unique per sender, also across restarts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CorrelationId(pub u64);

impl fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Errors as Kafka's `Errors` names them (only those the Raft RPCs return here).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RaftError {
    /// FENCED_LEADER_EPOCH: the request's epoch is older than the receiver's.
    FencedLeaderEpoch,
    /// UNKNOWN_LEADER_EPOCH: the request's epoch is newer than the receiver's.
    UnknownLeaderEpoch,
    /// NOT_LEADER_OR_FOLLOWER: the receiver is not the leader of that epoch.
    NotLeaderOrFollower,
    /// INVALID_REQUEST: inconsistent fields (say a last epoch above the candidate epoch).
    InvalidRequest,
    /// SNAPSHOT_NOT_FOUND: the leader no longer has the requested snapshot.
    SnapshotNotFound,
}

/// The part every response shares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply<I> {
    /// The request this answers.
    pub correlation: CorrelationId,
    /// `None` is Kafka's NONE.
    pub error: Option<RaftError>,
    /// The responder's current epoch.
    pub epoch: Epoch,
    /// The leader of that epoch as the responder knows it.
    pub leader: Option<I>,
}

/// Vote: a candidate (or, with `pre_vote`, a prospective) asks for a vote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoteRequest<I> {
    /// Pairs the response with this request.
    pub correlation: CorrelationId,
    /// The epoch the candidate runs in; a prospective sends its current epoch.
    pub candidate_epoch: Epoch,
    /// Who asks.
    pub candidate: I,
    /// Epoch of the candidate's last entry.
    pub last_epoch: Epoch,
    /// The candidate's LEO.
    pub last_offset: Offset,
    /// KIP-996: a non-binding pre-vote that changes nothing at the receiver.
    pub pre_vote: bool,
}

/// BeginQuorumEpoch: the leader announces itself to every other voter, at once and then every
/// `fetch_timeout / 2` (KAFKA-16536).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BeginQuorumEpoch<I> {
    /// Pairs the response with this request.
    pub correlation: CorrelationId,
    /// The leader's epoch.
    pub leader_epoch: Epoch,
    /// The leader.
    pub leader: I,
}

/// EndQuorumEpoch: a leader that resigned asks the voters to elect a successor now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndQuorumEpoch<I> {
    /// Pairs the response with this request.
    pub correlation: CorrelationId,
    /// The resigned leader's epoch.
    pub leader_epoch: Epoch,
    /// The resigned leader.
    pub leader: I,
    /// Voters by descending fetch offset: position 0 should run first.
    pub preferred_successors: Vec<I>,
}

/// Fetch: a follower (voter or observer) pulls entries from the leader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchRequest<I> {
    /// Pairs the response with this request.
    pub correlation: CorrelationId,
    /// Who fetches.
    pub replica: I,
    /// The follower's LEO; for a voter also a durable acknowledgement of what is below.
    pub fetch_offset: Offset,
    /// Epoch of the follower's last entry; the leader checks it against its epoch cache.
    pub last_fetched_epoch: Epoch,
    /// The epoch the follower believes current.
    pub current_leader_epoch: Epoch,
    /// How long the leader may park the request when there is nothing to return.
    pub max_wait_ms: u64,
}

/// What a successful fetch response carries besides the common fields.
#[derive(Clone, Debug, PartialEq)]
pub enum FetchData<I, R> {
    /// Entries from the fetch offset on (possibly none).
    Records(Vec<LogEntry<I, R>>),
    /// The follower's log diverges: truncate to this `(end_offset, epoch)`, fetch again.
    DivergingEpoch {
        /// The leader's epoch at the divergence.
        epoch: Epoch,
        /// Where that epoch ends in the leader's log.
        end_offset: Offset,
    },
    /// The fetch offset is below the leader's log start: download this snapshot.
    SnapshotId(SnapshotId),
}

/// The leader's answer to a fetch.
#[derive(Clone, Debug, PartialEq)]
pub struct FetchResponse<I, R> {
    /// Correlation, error, epoch and leader hints.
    pub reply: Reply<I>,
    /// Records, divergence or snapshot id (empty records on error).
    pub data: FetchData<I, R>,
    /// The leader's HW, `None` until it is known in this epoch.
    pub high_watermark: Option<Offset>,
    /// The leader's log start offset.
    pub log_start_offset: Offset,
}

/// FetchSnapshot: a follower downloads a snapshot (one chunk holds all of it here).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FetchSnapshotRequest<I> {
    /// Pairs the response with this request.
    pub correlation: CorrelationId,
    /// Who fetches.
    pub replica: I,
    /// The epoch the follower believes current.
    pub current_leader_epoch: Epoch,
    /// The snapshot the leader named in its fetch response.
    pub snapshot_id: SnapshotId,
}

/// The leader's answer to a FetchSnapshot.
#[derive(Clone, Debug, PartialEq)]
pub struct FetchSnapshotResponse<I, S> {
    /// Correlation, error, epoch and leader hints.
    pub reply: Reply<I>,
    /// The whole snapshot, unless there is an error.
    pub snapshot: Option<Snapshot<S>>,
}

/// Every message the Raft core sends or receives.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)] // each variant wraps the documented struct of the same name
pub enum RaftMessage<I, R, S> {
    Vote(VoteRequest<I>),
    VoteResponse { reply: Reply<I>, vote_granted: bool },
    BeginQuorumEpoch(BeginQuorumEpoch<I>),
    BeginQuorumEpochResponse(Reply<I>),
    EndQuorumEpoch(EndQuorumEpoch<I>),
    EndQuorumEpochResponse(Reply<I>),
    Fetch(FetchRequest<I>),
    FetchResponse(FetchResponse<I, R>),
    FetchSnapshot(FetchSnapshotRequest<I>),
    FetchSnapshotResponse(FetchSnapshotResponse<I, S>),
}

impl<I, R, S> RaftMessage<I, R, S> {
    /// The reply header, if this is a response.
    pub fn reply(&self) -> Option<&Reply<I>> {
        match self {
            RaftMessage::VoteResponse { reply, .. }
            | RaftMessage::BeginQuorumEpochResponse(reply)
            | RaftMessage::EndQuorumEpochResponse(reply) => Some(reply),
            RaftMessage::FetchResponse(response) => Some(&response.reply),
            RaftMessage::FetchSnapshotResponse(response) => Some(&response.reply),
            RaftMessage::Vote(_)
            | RaftMessage::BeginQuorumEpoch(_)
            | RaftMessage::EndQuorumEpoch(_)
            | RaftMessage::Fetch(_)
            | RaftMessage::FetchSnapshot(_) => None,
        }
    }

    /// A short name for traces ("Fetch", "VoteResponse", ...).
    pub fn name(&self) -> &'static str {
        match self {
            RaftMessage::Vote(request) if request.pre_vote => "PreVote",
            RaftMessage::Vote(_) => "Vote",
            RaftMessage::VoteResponse { .. } => "VoteResponse",
            RaftMessage::BeginQuorumEpoch(_) => "BeginQuorumEpoch",
            RaftMessage::BeginQuorumEpochResponse(_) => "BeginQuorumEpochResponse",
            RaftMessage::EndQuorumEpoch(_) => "EndQuorumEpoch",
            RaftMessage::EndQuorumEpochResponse(_) => "EndQuorumEpochResponse",
            RaftMessage::Fetch(_) => "Fetch",
            RaftMessage::FetchResponse(_) => "FetchResponse",
            RaftMessage::FetchSnapshot(_) => "FetchSnapshot",
            RaftMessage::FetchSnapshotResponse(_) => "FetchSnapshotResponse",
        }
    }
}
