//! A consumer-group member (the Java `KafkaConsumer` with `subscribe`, classic protocol):
//! finds its coordinator, joins and syncs, heartbeats, reads the partitions it owns,
//! processes each poll's records (`process_ms` each) and commits in its commit mode.
//!
//! Rules (`AbstractCoordinator.java`, `ConsumerCoordinator.java`):
//! - The heartbeat thread runs beside processing. `REBALANCE_IN_PROGRESS` asks for a
//!   rejoin, which happens at the next poll (`onJoinPrepare`): eager assignors revoke every
//!   partition first, cooperative-sticky keeps what it owns and revokes only what the new
//!   assignment moves, then rejoins. `ILLEGAL_GENERATION` and `UNKNOWN_MEMBER_ID` lose the
//!   partitions (the latter also the member id).
//! - No lease: a member that hears nothing from its coordinator for a session only looks
//!   for it again, and keeps reading and processing meanwhile. A member paused past its
//!   session is a zombie: it finishes what it had fetched, and its commits are refused.
//! - A poll later than `max.poll.interval.ms` after the previous one makes the heartbeat
//!   thread leave the group; the next poll rejoins as a new member.
//! - A newly owned partition starts at its committed offset or, without one, at
//!   `auto.offset.reset` (earliest: 0; latest: the HW, learnt from the leader's
//!   out-of-range answer).
//!
//! Deviation: the member fetches the next poll's records only once it has processed the
//! previous poll's (Kafka prefetches in the background).

mod commits;
mod protocol;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};

use super::assignor::{AssignorKind, TopicPartitions};
use super::{Generation, MemberId};
use crate::config::Config;
use crate::core::message::Message;
use crate::core::reader::{Read, Reader};
use crate::core::{Disconnect, Effect, StateMachine};
use crate::group_event::GroupEvent;
use crate::history::EventKind;
use crate::types::{BrokerId, GroupName, MessageId, NodeId, Offset, PartitionId, SimTime};

/// When a member commits (the scenario's `commit`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitMode {
    /// After each poll's records are processed, synchronously.
    AfterProcess,
    /// Kafka's auto-commit: every interval, at a poll, the positions of the poll before.
    Auto,
    /// Before processing a poll's records (at-most-once; for negative tests).
    BeforeProcess,
}

/// Where a partition without a committed offset starts (`auto.offset.reset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetReset {
    /// Offset 0.
    Earliest,
    /// The HW.
    Latest,
}

/// A member's settings.
#[derive(Clone, Debug)]
pub struct MemberConfig {
    /// Its group.
    pub group: GroupName,
    /// The topics it subscribes to, with their partitions.
    pub topics: TopicPartitions,
    /// `partition.assignment.strategy`.
    pub assignor: AssignorKind,
    /// When it commits.
    pub commit: CommitMode,
    /// Time to process one record.
    pub process_ms: u64,
    /// `session.timeout.ms`.
    pub session_timeout_ms: u64,
    /// `heartbeat.interval.ms`.
    pub heartbeat_interval_ms: u64,
    /// `max.poll.interval.ms` (also the rebalance timeout).
    pub max_poll_interval_ms: u64,
    /// `auto.commit.interval.ms`.
    pub auto_commit_interval_ms: u64,
    /// `auto.offset.reset`.
    pub offset_reset: OffsetReset,
}

/// The group protocol request in flight (one at a time).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pending {
    Find,
    Join,
    Sync(Generation),
    Offsets(Vec<PartitionId>),
}

/// One poll's records of one partition, as fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Batch {
    partition: PartitionId,
    records: Vec<(Offset, MessageId)>,
}

/// A consumer-group member.
#[derive(Clone, Debug)]
pub struct GroupMember {
    me: NodeId,
    config: MemberConfig,
    client: Config,
    reader: Reader,
    brokers: Vec<BrokerId>,
    next_broker: usize,
    coordinator: Option<BrokerId>,
    member: Option<MemberId>,
    generation: Option<Generation>,
    /// Partitions owned, and the generation they were assigned in.
    owned: Vec<PartitionId>,
    owned_generation: Option<Generation>,
    /// Partitions reading from `latest` whose position the leader has not told yet.
    resetting: Vec<PartitionId>,
    /// Newly owned partitions whose committed offsets are still to fetch.
    awaiting_offsets: Vec<PartitionId>,
    request: Option<(u64, SimTime, Pending)>,
    /// Where the request in flight went.
    request_to: Option<BrokerId>,
    retry_at: Option<SimTime>,
    rejoin: bool,
    heartbeat_at: SimTime,
    heartbeat_in_flight: Option<(u64, SimTime)>,
    last_heard: SimTime,
    /// Fetched, not yet handed to processing.
    queue: VecDeque<Batch>,
    /// Being processed, done at that time.
    processing: Option<(Batch, SimTime)>,
    last_poll: SimTime,
    /// The next offset after the last processed record of each owned partition.
    processed: BTreeMap<PartitionId, Offset>,
    commits: commits::Commits,
    next_correlation: u64,
}

impl GroupMember {
    /// Member `me` of `config.group`; `brokers` to ask for its coordinator.
    pub fn new(
        me: NodeId,
        config: MemberConfig,
        client: Config,
        brokers: Vec<BrokerId>,
    ) -> GroupMember {
        let seed = match me {
            NodeId::Member(_, n) => usize::from(n),
            _ => 0,
        };
        let next_auto_commit = SimTime::ZERO.plus_ms(config.auto_commit_interval_ms);
        GroupMember {
            me,
            reader: Reader::new(client.clone(), brokers.clone(), seed + 1),
            commits: commits::Commits::new(next_auto_commit),
            config,
            client,
            next_broker: seed,
            brokers,
            coordinator: None,
            member: None,
            generation: None,
            owned: Vec::new(),
            owned_generation: None,
            resetting: Vec::new(),
            awaiting_offsets: Vec::new(),
            request: None,
            request_to: None,
            retry_at: None,
            rejoin: true,
            heartbeat_at: SimTime::ZERO,
            heartbeat_in_flight: None,
            last_heard: SimTime::ZERO,
            queue: VecDeque::new(),
            processing: None,
            last_poll: SimTime::ZERO,
            processed: BTreeMap::new(),
            next_correlation: 0,
        }
    }

    /// The partitions it owns.
    pub fn owned(&self) -> &[PartitionId] {
        &self.owned
    }

    /// Its group.
    pub fn group(&self) -> GroupName {
        self.config.group
    }

    /// Every partition of the topics it subscribes to.
    pub fn subscribed(&self) -> Vec<PartitionId> {
        self.config.topics.values().flatten().copied().collect()
    }

    /// The offset after the last record of `partition` it processed, while it owns it and
    /// is not busy with a poll of it.
    pub fn processed_position(&self, partition: PartitionId) -> Option<Offset> {
        let busy = self
            .processing
            .as_ref()
            .is_some_and(|(b, _)| b.partition == partition)
            || self.queue.iter().any(|b| b.partition == partition);
        (self.owned.contains(&partition) && !busy)
            .then(|| self.processed.get(&partition).copied())
            .flatten()
    }

    fn trace(&self, out: &mut Vec<Effect>, event: GroupEvent) {
        out.push(Effect::Trace(EventKind::Group(event)));
    }

    /// Everything that may be due: requests, heartbeats, processing, fetches.
    fn drive(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        self.expire(now, out);
        self.finish_processing(now, out);
        self.maybe_poll(now, out);
        self.protocol_step(now, out);
        self.send_commits(out);
        self.heartbeat_step(now, out);
        let idle = self.processing.is_none() && self.queue.is_empty() && !self.commits.blocking();
        if idle && self.generation.is_some() && !self.rejoin {
            self.reader.send_fetches(now, out);
        }
    }

    /// Takes the next fetched batch to process (a poll), after the rejoin a rebalance
    /// asked for, and commits first when the mode says so.
    fn maybe_poll(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        if self.processing.is_some() || self.commits.blocking() {
            return;
        }
        if self.rejoin && self.generation.is_some() {
            self.prepare_rejoin(now, out);
        }
        if self.config.commit == CommitMode::Auto && self.commits.auto_due(now) {
            let positions = self.positions_processed();
            self.commit(now, positions, false, out);
            self.commits
                .auto_done(now, self.config.auto_commit_interval_ms);
        }
        let Some(batch) = self.queue.pop_front() else {
            return;
        };
        self.last_poll = now;
        if self.config.commit == CommitMode::BeforeProcess {
            let end = batch
                .records
                .last()
                .map(|(o, _)| o.plus(1))
                .expect("non-empty");
            self.commit(now, vec![(batch.partition, end)], true, out);
        }
        let done = now.plus_ms(self.config.process_ms * batch.records.len() as u64);
        self.processing = Some((batch, done));
    }

    fn finish_processing(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        if self.processing.as_ref().is_none_or(|(_, done)| now < *done) {
            return;
        }
        let (batch, _) = self.processing.take().expect("checked");
        let end = batch
            .records
            .last()
            .map(|(o, _)| o.plus(1))
            .expect("non-empty");
        let (group, member) = (self.config.group, self.me);
        let partition = batch.partition;
        let records = batch.records;
        self.trace(
            out,
            GroupEvent::Process {
                member,
                group,
                partition,
                records,
            },
        );
        if self.owned.contains(&partition) {
            self.processed.insert(partition, end);
        }
        if self.config.commit == CommitMode::AfterProcess {
            self.commit(now, vec![(partition, end)], true, out);
        }
    }

    fn positions_processed(&self) -> Vec<(PartitionId, Offset)> {
        (self.owned.iter())
            .filter_map(|p| self.processed.get(p).map(|o| (*p, *o)))
            .collect()
    }

    /// Handles what the reader read: deliveries queue for processing, resets are traced
    /// (a `latest` start becomes the partition's assignment position).
    fn on_reads(&mut self, reads: Vec<Read>, out: &mut Vec<Effect>) {
        for read in reads {
            match read {
                Read::Delivered {
                    partition,
                    records,
                    broker,
                    sent_at,
                } => {
                    if !self.owned.contains(&partition) {
                        continue;
                    }
                    let (group, member) = (self.config.group, self.me);
                    let event = GroupEvent::Poll {
                        member,
                        group,
                        partition,
                        records: records.clone(),
                        broker,
                        sent_at,
                    };
                    self.trace(out, event);
                    self.queue.push_back(Batch { partition, records });
                }
                Read::Reset { partition, to, .. } if self.resetting.contains(&partition) => {
                    self.resetting.retain(|p| *p != partition);
                    self.announce(vec![(partition, to)], out);
                }
                Read::Reset {
                    partition,
                    from,
                    to,
                    reason,
                } => {
                    let member = self.me;
                    out.push(Effect::Trace(EventKind::Fault {
                        description: format!(
                            "{member} reset {partition:?} from {from} to {to}: {reason}"
                        ),
                    }));
                }
            }
        }
    }

    /// Traces the start of ownership of `positions`.
    fn announce(&self, positions: Vec<(PartitionId, Offset)>, out: &mut Vec<Effect>) {
        let generation = self.owned_generation.map_or(0, |g| g.0);
        let (group, member) = (self.config.group, self.me);
        self.trace(
            out,
            GroupEvent::Assign {
                member,
                group,
                generation,
                positions,
            },
        );
    }

    fn correlation(&mut self) -> u64 {
        self.next_correlation += 1;
        self.next_correlation
    }
}

impl StateMachine for GroupMember {
    fn on_message(&mut self, now: SimTime, from: NodeId, message: Message, out: &mut Vec<Effect>) {
        let NodeId::Broker(broker) = from else {
            return;
        };
        self.reader.metadata.on_answer(broker);
        match message {
            Message::FetchResponse {
                correlation,
                sent_at,
                partitions,
            } => {
                let reads =
                    self.reader
                        .on_fetch_response(now, broker, (sent_at, correlation), partitions);
                self.on_reads(reads, out);
            }
            Message::MetadataResponse {
                correlation,
                metadata,
            } => {
                self.reader.metadata.on_response(correlation, *metadata);
            }
            Message::Group(message) => self.on_group_message(now, broker, *message, out),
            _ => {}
        }
        self.drive(now, out);
    }

    fn on_disconnect(&mut self, now: SimTime, peer: NodeId, _: Disconnect, out: &mut Vec<Effect>) {
        if let NodeId::Broker(broker) = peer {
            self.reader.on_disconnect(now, broker);
            if self.coordinator == Some(broker) {
                self.coordinator_lost(now);
            } else if self.request.is_some() && self.request_to == Some(broker) {
                // A FindCoordinator to a broker that went away: ask another.
                self.request = None;
                self.retry_at = Some(now.plus_ms(self.client.retry_backoff_ms));
            }
        }
        self.drive(now, out);
    }

    fn on_timeout(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        self.reader.on_timeout(now);
        self.drive(now, out);
    }

    fn next_deadline(&self) -> Option<SimTime> {
        let needs = self.coordinator.is_none()
            || !self.awaiting_offsets.is_empty()
            || (self.rejoin && self.generation.is_none());
        let request_due = self.request.is_none() && self.retry_at.is_none() && needs;
        let timers = [
            request_due.then_some(SimTime::ZERO),
            self.reader.next_deadline(),
            self.request.as_ref().map(|(_, at, _)| *at),
            self.retry_at,
            Some(self.heartbeat_at)
                .filter(|_| self.generation.is_some() && self.heartbeat_in_flight.is_none()),
            self.heartbeat_in_flight.map(|(_, at)| at),
            self.processing.as_ref().map(|(_, done)| *done),
            self.commits
                .next_deadline(self.config.commit == CommitMode::Auto && self.generation.is_some()),
        ];
        timers.into_iter().flatten().min()
    }
}
