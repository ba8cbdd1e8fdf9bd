//! Timers and behaviour knobs of the Raft core. Every knob defaults to what Kafka does
//! today; turning one to its other value brings back the bug named in its doc, so a
//! simulation can show what the fix protects. Timer defaults come from `QuorumConfig.java`.

use std::collections::BTreeSet;

/// Kafka's `controller.quorum.election.timeout.ms` default.
pub const ELECTION_TIMEOUT_MS_DEFAULT: u64 = 1_000;
/// Kafka's `controller.quorum.fetch.timeout.ms` default.
pub const FETCH_TIMEOUT_MS_DEFAULT: u64 = 2_000;
/// Kafka's `controller.quorum.election.backoff.max.ms` default.
pub const ELECTION_BACKOFF_MAX_MS_DEFAULT: u64 = 1_000;
/// `KafkaRaftClient.MAX_FETCH_WAIT_MS`: how long the leader parks an empty fetch.
pub const FETCH_MAX_WAIT_MS_DEFAULT: u64 = 500;
/// Kafka's `controller.quorum.request.timeout.ms` default.
pub const REQUEST_TIMEOUT_MS_DEFAULT: u64 = 2_000;
/// Kafka's `controller.quorum.retry.backoff.ms` default.
pub const RETRY_BACKOFF_MS_DEFAULT: u64 = 20;
/// Most entries one fetch response carries (Kafka bounds bytes, `MAX_FETCH_SIZE_BYTES`).
pub const FETCH_MAX_ENTRIES_DEFAULT: usize = 64;
/// `RETRY_BACKOFF_BASE_MS` in `KafkaRaftClient`: the unit of the election backoff.
pub const ELECTION_BACKOFF_BASE_MS: u64 = 100;

/// Configuration of one replica of the metadata log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RaftConfig<I> {
    /// The fixed voter set (`controller.quorum.voters`); any other replica is an observer.
    pub voters: BTreeSet<I>,
    /// Base election timeout `T`; each timer is drawn from `T + rand(T)`
    /// (`QuorumState.randomElectionTimeoutMs`).
    pub election_timeout_ms: u64,
    /// A follower that has no successful fetch for this long starts an election; the
    /// leader's check-quorum window is 1.5 times this.
    pub fetch_timeout_ms: u64,
    /// Upper bound of the backoff after a lost election.
    pub election_backoff_max_ms: u64,
    /// How long the leader parks a fetch that has nothing to return (long poll).
    pub fetch_max_wait_ms: u64,
    /// A request without a response for this long is given up and retried.
    pub request_timeout_ms: u64,
    /// Wait before retrying a destination after a failed or timed-out request.
    pub retry_backoff_ms: u64,
    /// Most entries in one fetch response.
    pub fetch_max_entries: usize,
    /// KAFKA-15489 (fixed in 3.7): the leader resigns when a majority of voters has not
    /// fetched within 1.5 x `fetch_timeout_ms`. Off: a leader cut off from the quorum stays
    /// leader forever, next to the newly elected one (split brain).
    pub check_quorum: bool,
    /// KIP-996 (4.0, KAFKA-16164): before bumping its epoch a voter asks for pre-votes,
    /// which do not disturb a healthy leader. Off: a timed-out voter becomes Candidate at
    /// once and its higher epoch forces the quorum into a new election.
    pub pre_vote: bool,
    /// KAFKA-10527 (fixed in 2.7): a leader that restarts comes back Resigned in its epoch.
    /// Off: it leads again in the same epoch, so after losing its unflushed tail it can
    /// append different entries at offsets a follower already holds in that epoch.
    pub restart_leader_resigned: bool,
    /// KAFKA-12619 (fixed in 2.8/3.0): the HW moves only once it is past the epoch start
    /// offset, i.e. once the leader's LeaderChange record is committed. Off: the old
    /// off-by-one (`>=`), so a new leader can commit earlier epochs' entries by counting
    /// replicas alone (the Raft paper's Figure 8).
    pub hw_requires_current_epoch: bool,
    /// KAFKA-13884 (3.5): voters flush appended entries before their next fetch, so the
    /// fetch offset the leader counts is durable. Off: a power loss on a majority can lose
    /// committed entries.
    pub voters_flush_before_fetch: bool,
}

impl<I: Ord> RaftConfig<I> {
    /// Kafka's defaults for a quorum of `voters`.
    pub fn new(voters: impl IntoIterator<Item = I>) -> RaftConfig<I> {
        let voters: BTreeSet<I> = voters.into_iter().collect();
        assert!(!voters.is_empty(), "a quorum needs at least one voter");
        RaftConfig {
            voters,
            election_timeout_ms: ELECTION_TIMEOUT_MS_DEFAULT,
            fetch_timeout_ms: FETCH_TIMEOUT_MS_DEFAULT,
            election_backoff_max_ms: ELECTION_BACKOFF_MAX_MS_DEFAULT,
            fetch_max_wait_ms: FETCH_MAX_WAIT_MS_DEFAULT,
            request_timeout_ms: REQUEST_TIMEOUT_MS_DEFAULT,
            retry_backoff_ms: RETRY_BACKOFF_MS_DEFAULT,
            fetch_max_entries: FETCH_MAX_ENTRIES_DEFAULT,
            check_quorum: true,
            pre_vote: true,
            restart_leader_resigned: true,
            hw_requires_current_epoch: true,
            voters_flush_before_fetch: true,
        }
    }

    /// `LeaderState.CHECK_QUORUM_TIMEOUT_FACTOR` (1.5) times the fetch timeout.
    pub fn check_quorum_timeout_ms(&self) -> u64 {
        self.fetch_timeout_ms * 3 / 2
    }

    /// How many voters make a majority.
    pub fn majority(&self) -> usize {
        self.voters.len() / 2 + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_kafkas() {
        let config = RaftConfig::new([3u8, 1, 2]);
        assert_eq!(
            config.voters.iter().copied().collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert_eq!(config.check_quorum_timeout_ms(), 3_000);
        assert_eq!(config.majority(), 2);
        assert!(config.check_quorum && config.pre_vote && config.restart_leader_resigned);
        assert!(config.hw_requires_current_epoch && config.voters_flush_before_fetch);
        assert_eq!(RaftConfig::new([1u8, 2, 3, 4, 5]).majority(), 3);
        assert_eq!(RaftConfig::new([1u8, 2, 3, 4]).majority(), 3);
    }
}
