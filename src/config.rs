//! The resolved protocol configuration every state machine reads.
//!
//! Plain values with Kafka's defaults; the scenario loader fills it from JSON. No serde here:
//! the core depends on this file, and the core does not know about file formats.

/// The producer's `acks` setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acks {
    /// Fire and forget: no response at all.
    Zero,
    /// The leader answers right after its local append.
    One,
    /// The leader answers once every ISR member has the record (HW passed it).
    All,
}

impl Acks {
    /// The setting as a scenario writes it: `"0"`, `"1"` or `"all"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Acks::Zero => "0",
            Acks::One => "1",
            Acks::All => "all",
        }
    }
}

/// When a broker's log reaches stable storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushPolicy {
    /// Page cache only (Kafka's default); a power loss drops every unflushed record.
    Never,
    /// fsync after every append, before any acknowledgement.
    EveryMessage,
    /// fsync every `interval_ms`.
    IntervalMs(u64),
}

/// How a follower reconciles its log with a new leader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Truncation {
    /// KIP-101 and later (today's Kafka): diverging epoch in the fetch response.
    LeaderEpoch,
    /// KIP-101 as first shipped (0.11 to 1.1): one OffsetsForLeaderEpoch round when the
    /// follower starts following, answered with the start offset of the first epoch
    /// after the asked one when the leader never had it; no iteration (fixed by KIP-279).
    LeaderEpochV0,
    /// Before 0.11: truncate to the local HW on becoming follower and after a restart.
    HighWatermark,
}

impl Truncation {
    /// The setting as a scenario writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Truncation::LeaderEpoch => "leader-epoch",
            Truncation::LeaderEpochV0 => "leader-epoch-v0",
            Truncation::HighWatermark => "high-watermark",
        }
    }
}

/// How a leader changes the ISR, and when it answers the follower fetch that made it
/// add that follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IsrUpdate {
    /// KIP-497 (2.7) and later: an `AlterPartition` request to the controller; the fetch
    /// is answered at once, the ISR changes when the controller's answer arrives.
    AlterPartition,
    /// Before 2.7: the leader wrote the new ISR to ZooKeeper itself, synchronously, while
    /// handling the follower's fetch, and answered that fetch only afterwards. Here the
    /// controller stands in for ZooKeeper: the fetch that made the leader propose an
    /// expansion waits until the proposal is answered.
    Zookeeper,
}

impl IsrUpdate {
    /// The setting as a scenario writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            IsrUpdate::AlterPartition => "alter-partition",
            IsrUpdate::Zookeeper => "zookeeper",
        }
    }
}

/// How far a broker serves consumers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumerReadLimit {
    /// Correct: up to the HW.
    HighWatermark,
    /// Deliberately broken: up to the LEO.
    LogEnd,
}

/// Deliberate bugs that exist only to prove that a checker catches them: every one is off
/// by default, and a scenario file cannot set them (the loader has no field for them; a
/// test sets them on a loaded `Scenario`'s `config`). Never turn one on outside a test.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TestHooks {
    /// The controller never fences a broker whose session expired (its periodic session
    /// check fences nobody), so a crashed leader keeps its leadership: `slow-failover`
    /// must catch it.
    pub controller_never_fences: bool,
    /// A consumer keeps the first metadata answer that named a leader and ignores every
    /// later one, so it stops following leader changes: `unseen` must catch it.
    pub consumer_ignores_leader_changes: bool,
}

/// Every protocol setting of one run, with Kafka's 4.x defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Producer `acks`.
    pub acks: Acks,
    /// `min.insync.replicas`.
    pub min_insync_replicas: u8,
    /// `unclean.leader.election.enable`.
    pub unclean_leader_election: bool,
    /// `replica.lag.time.max.ms`.
    pub replica_lag_time_max_ms: u64,
    /// `broker.session.timeout.ms`.
    pub broker_session_timeout_ms: u64,
    /// `broker.heartbeat.interval.ms`.
    pub broker_heartbeat_interval_ms: u64,
    /// `log.flush.*` settings, condensed.
    pub flush: FlushPolicy,
    /// Follower log reconciliation rule.
    pub truncation: Truncation,
    /// How far consumers are served.
    pub consumer_read_limit: ConsumerReadLimit,
    /// `enable.idempotence`.
    pub idempotent_producer: bool,
    /// `retries` (Kafka: effectively unbounded, limited by `delivery.timeout.ms`).
    pub producer_retries: u32,
    /// `max.in.flight.requests.per.connection`: produce batches per partition awaiting an
    /// answer at once (Kafka: 5).
    pub max_in_flight: u8,
    /// `eligible.leader.replicas.version` on (KIP-966; default on for new 4.1 clusters).
    pub eligible_leader_replicas: bool,
    /// HW moves only while |ISR| >= min.insync.replicas (KAFKA-15583, 3.7+).
    pub hw_requires_min_isr: bool,
    /// ISR expansion needs the follower to reach the leader epoch start offset (KAFKA-7128).
    pub isr_join_requires_epoch_start: bool,
    /// How a leader changes the ISR (ZooKeeper before 2.7, `AlterPartition` since).
    pub isr_update: IsrUpdate,
    /// KIP-903 (KAFKA-14139, fixed in 3.5): the controller admits a replica to the ISR only
    /// with the broker epoch the leader saw in its fetches. Off, it checks only that the
    /// replica is registered and unfenced (KIP-841, 3.3), so a stale AlterPartition can
    /// admit a broker that came back with an empty disk.
    pub alter_partition_checks_broker_epoch: bool,
    /// `linger.ms`: how long the producer waits to fill a batch (Kafka 4.0: 5).
    pub linger_ms: u64,
    /// `request.timeout.ms` of producers and consumers.
    pub request_timeout_ms: u64,
    /// `controller.socket.timeout.ms` (Kafka: 30 000): how long a broker's AlterPartition
    /// channel waits for an answer from the controller it is bound to before it sends the
    /// request to whichever controller metadata names then.
    pub controller_socket_timeout_ms: u64,
    /// `delivery.timeout.ms`: a send gives up after this long.
    pub delivery_timeout_ms: u64,
    /// `retry.backoff.ms`.
    pub retry_backoff_ms: u64,
    /// `replica.fetch.wait.max.ms`: how long a follower fetch may wait at the leader.
    pub replica_fetch_wait_max_ms: u64,
    /// `replica.fetch.backoff.ms`: pause after a failed follower fetch.
    pub replica_fetch_backoff_ms: u64,
    /// `fetch.max.wait.ms` of consumers.
    pub fetch_max_wait_ms: u64,
    /// `replica.high.watermark.checkpoint.interval.ms`.
    pub replica_high_watermark_checkpoint_interval_ms: u64,
    /// `metadata.max.age.ms` of clients, used as their periodic metadata refresh.
    pub metadata_max_age_ms: u64,
    /// The idempotent producer's answer to a sequence gap on its next batch
    /// (`OUT_OF_ORDER_SEQUENCE_NUMBER`): since 2.5 (KIP-360) it bumps its epoch, renumbers
    /// the partition's batches in flight and retries; before, it failed the batch and
    /// every batch in flight behind it.
    pub idempotent_epoch_bump: bool,
    /// `reconnect.backoff.ms` of clients: the wait before connecting again to a broker
    /// whose connection was reset or refused (doubling per failure up to
    /// `reconnect.backoff.max.ms`, 1 s).
    pub reconnect_backoff_ms: u64,
    /// `controller.quorum.election.timeout.ms`: a voter's election timer is drawn from
    /// `T + rand(T)`.
    pub controller_quorum_election_timeout_ms: u64,
    /// `controller.quorum.fetch.timeout.ms`: a follower controller that fetched nothing
    /// for this long starts an election (the leader's check-quorum window is 1.5 x it).
    pub controller_quorum_fetch_timeout_ms: u64,
    /// The controller quorum's protocol knobs (Kafka's fixes), set by `kafka_version`.
    pub quorum: QuorumKnobs,
    /// Consumer-group settings (clients and coordinators).
    pub group: GroupSettings,
    /// Deliberate bugs for checker tests; all off (see [`TestHooks`]).
    pub hooks: TestHooks,
}

/// Consumer-group settings, by Kafka's names and with its defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSettings {
    /// `session.timeout.ms` (45 000).
    pub session_timeout_ms: u64,
    /// `heartbeat.interval.ms` (3 000).
    pub heartbeat_interval_ms: u64,
    /// `max.poll.interval.ms` (300 000), also the rebalance timeout.
    pub max_poll_interval_ms: u64,
    /// `auto.commit.interval.ms` (5 000).
    pub auto_commit_interval_ms: u64,
    /// `auto.offset.reset` is `earliest` (else `latest`, Kafka's default).
    pub offset_reset_earliest: bool,
    /// `offsets.topic.num.partitions` (Kafka: 50; here 1, which keeps runs small).
    pub offsets_topic_partitions: u32,
    /// `offsets.topic.replication.factor` (3, capped at the broker count).
    pub offsets_topic_replication_factor: u8,
    /// `group.initial.rebalance.delay.ms` (3 000).
    pub initial_rebalance_delay_ms: u64,
}

impl Default for GroupSettings {
    fn default() -> Self {
        GroupSettings {
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 3_000,
            max_poll_interval_ms: 300_000,
            auto_commit_interval_ms: 5_000,
            offset_reset_earliest: false,
            offsets_topic_partitions: 1,
            offsets_topic_replication_factor: 3,
            initial_rebalance_delay_ms: 3_000,
        }
    }
}

/// The controller quorum's protocol knobs: each defaults to what Kafka does today, and
/// its other value brings back the bug its doc names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuorumKnobs {
    /// KAFKA-15489 (fixed in 3.7): a leader that no majority fetched from within 1.5 x the
    /// fetch timeout resigns.
    pub check_quorum: bool,
    /// KIP-996 (4.0): pre-votes before an election.
    pub pre_vote: bool,
    /// KAFKA-10527 (fixed in 2.7): a restarted leader comes back resigned.
    pub restart_leader_resigned: bool,
    /// KAFKA-12619 (fixed in 3.0): the HW moves only past the leader's epoch start.
    pub hw_requires_current_epoch: bool,
    /// Voters flush their log before their next fetch.
    pub voters_flush_before_fetch: bool,
    /// KAFKA-15345 (fixed in 3.6) and KAFKA-17333 (3.9): the active controller acts only
    /// once it has replayed the log up to its epoch start.
    pub activate_after_replay: bool,
}

impl Default for QuorumKnobs {
    fn default() -> Self {
        QuorumKnobs {
            check_quorum: true,
            pre_vote: true,
            restart_leader_resigned: true,
            hw_requires_current_epoch: true,
            voters_flush_before_fetch: true,
            activate_after_replay: true,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            acks: Acks::All,
            min_insync_replicas: 1,
            unclean_leader_election: false,
            replica_lag_time_max_ms: 30_000,
            broker_session_timeout_ms: 9_000,
            broker_heartbeat_interval_ms: 2_000,
            flush: FlushPolicy::Never,
            truncation: Truncation::LeaderEpoch,
            consumer_read_limit: ConsumerReadLimit::HighWatermark,
            idempotent_producer: true,
            producer_retries: i32::MAX as u32,
            max_in_flight: 5,
            eligible_leader_replicas: true,
            hw_requires_min_isr: true,
            isr_join_requires_epoch_start: true,
            alter_partition_checks_broker_epoch: true,
            isr_update: IsrUpdate::AlterPartition,
            linger_ms: 5,
            request_timeout_ms: 30_000,
            controller_socket_timeout_ms: 30_000,
            delivery_timeout_ms: 120_000,
            retry_backoff_ms: 100,
            replica_fetch_wait_max_ms: 500,
            replica_fetch_backoff_ms: 1_000,
            fetch_max_wait_ms: 500,
            replica_high_watermark_checkpoint_interval_ms: 5_000,
            metadata_max_age_ms: 300_000,
            idempotent_epoch_bump: true,
            reconnect_backoff_ms: 50,
            controller_quorum_election_timeout_ms: 1_000,
            controller_quorum_fetch_timeout_ms: 2_000,
            quorum: QuorumKnobs::default(),
            group: GroupSettings::default(),
            hooks: TestHooks::default(),
        }
    }
}
