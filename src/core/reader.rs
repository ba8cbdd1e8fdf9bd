//! The fetching half of a consumer client, shared by standalone consumers and group
//! members: one long-poll fetch in flight per leader broker for the partitions it reads,
//! leader changes followed through client metadata, log truncation detected from the
//! fetch's diverging epoch (KIP-320) and offset-out-of-range resets.
//!
//! Invariant: positions only move forward by delivered records, or by a [`Read::Reset`]
//! the caller logs, never silently.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::core::Effect;
use crate::core::broker::FETCH_RESPONSE_GRACE_MS;
use crate::core::client_metadata::ClientMetadata;
use crate::core::message::{ErrorCode, FetchPartition, FetchedPartition, Message};
use crate::types::{
    BrokerEpoch, BrokerId, LeaderEpoch, MessageId, NodeId, Offset, PartitionId, SimTime,
};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Position {
    offset: Offset,
    last_epoch: Option<LeaderEpoch>,
}

/// What a fetch answer did to one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Read {
    /// Records handed over, consecutive from the old position; `broker` answered and sent
    /// the answer at `sent_at`.
    Delivered {
        /// The partition.
        partition: PartitionId,
        /// The records.
        records: Vec<(Offset, MessageId)>,
        /// Who answered.
        broker: BrokerId,
        /// When it sent the answer.
        sent_at: SimTime,
    },
    /// The position moved without records: truncation detected, or out of range.
    Reset {
        /// The partition.
        partition: PartitionId,
        /// Old position.
        from: Offset,
        /// New position.
        to: Offset,
        /// Why.
        reason: String,
    },
}

/// Fetch state of a consumer client.
#[derive(Clone, Debug)]
pub struct Reader {
    config: Config,
    /// Where leaders are.
    pub metadata: ClientMetadata,
    positions: BTreeMap<PartitionId, Position>,
    /// Outstanding fetch per leader broker: correlation and give-up time.
    in_flight: BTreeMap<BrokerId, (u64, SimTime)>,
    backoff_until: BTreeMap<BrokerId, SimTime>,
    next_correlation: u64,
}

impl Reader {
    /// Reads nothing yet; `metadata_seed` picks which broker it asks for metadata first.
    pub fn new(config: Config, brokers: Vec<BrokerId>, metadata_seed: usize) -> Reader {
        let reconnect_backoff_ms = config.reconnect_backoff_ms;
        Reader {
            config,
            metadata: ClientMetadata::new(brokers, metadata_seed, reconnect_backoff_ms),
            positions: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            backoff_until: BTreeMap::new(),
            next_correlation: 0,
        }
    }

    /// Starts reading `partition` from `offset` (replacing any position it had).
    pub fn read_from(&mut self, partition: PartitionId, offset: Offset) {
        let position = Position {
            offset,
            last_epoch: None,
        };
        self.positions.insert(partition, position);
    }

    /// Stops reading `partition`; answers for it are ignored from now on.
    pub fn stop(&mut self, partition: PartitionId) {
        self.positions.remove(&partition);
    }

    /// The partitions it reads, in id order.
    pub fn partitions(&self) -> Vec<PartitionId> {
        self.positions.keys().copied().collect()
    }

    /// The next offset it will read from `partition`.
    pub fn position(&self, partition: PartitionId) -> Offset {
        (self.positions.get(&partition))
            .map(|p| p.offset)
            .unwrap_or_default()
    }

    /// Sends a fetch to each leader it reads from and has none in flight to (unless
    /// backing off), and a metadata request when one is due.
    pub fn send_fetches(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        // An expired backoff must go even when no fetch goes to that broker now (it has a
        // fetch in flight, or leads nothing any more): left behind, it would be a deadline
        // in the past and wake the consumer every millisecond.
        self.backoff_until.retain(|_, until| now < *until);
        let mut by_leader: BTreeMap<BrokerId, Vec<FetchPartition>> = BTreeMap::new();
        for (p, position) in &self.positions {
            let Some((leader, epoch)) = self.metadata.leader(*p) else {
                self.metadata.invalidate();
                continue;
            };
            by_leader.entry(leader).or_default().push(FetchPartition {
                partition: *p,
                fetch_offset: position.offset,
                current_leader_epoch: epoch,
                last_fetched_epoch: position.last_epoch,
            });
        }
        for (leader, partitions) in by_leader {
            if self.in_flight.contains_key(&leader)
                || self.backoff_until.get(&leader).is_some_and(|t| now < *t)
            {
                continue;
            }
            self.next_correlation += 1;
            let wait_ms = self.config.fetch_max_wait_ms;
            let give_up = now.plus_ms(wait_ms + FETCH_RESPONSE_GRACE_MS);
            self.in_flight
                .insert(leader, (self.next_correlation, give_up));
            out.push(Effect::Send {
                to: NodeId::Broker(leader),
                message: Message::Fetch {
                    correlation: self.next_correlation,
                    replica: None,
                    replica_epoch: BrokerEpoch(0),
                    max_wait_ms: wait_ms,
                    partitions,
                },
            });
        }
        self.metadata.poll(now, out);
    }

    /// A fetch answer from `leader` (sent at `sent_at`): what it did, partition by
    /// partition, in the answer's order.
    pub fn on_fetch_response(
        &mut self,
        now: SimTime,
        leader: BrokerId,
        (sent_at, correlation): (SimTime, u64),
        answers: Vec<FetchedPartition>,
    ) -> Vec<Read> {
        let mut reads = Vec::new();
        if self.in_flight.get(&leader).map(|(c, _)| *c) != Some(correlation) {
            return reads;
        }
        self.in_flight.remove(&leader);
        for answer in answers {
            if let Some(error) = answer.error {
                reads.extend(self.on_partition_error(leader, now, answer, error));
                continue;
            }
            let p = answer.partition;
            let Some(position) = self.positions.get_mut(&p) else {
                continue;
            };
            if let Some((epoch, end)) = answer.diverging_epoch {
                position.last_epoch = Some(epoch);
                if end < position.offset {
                    let reason =
                        format!("log truncation detected (epoch {} ends at {end})", epoch.0);
                    let from = position.offset;
                    position.offset = end;
                    reads.push(Read::Reset {
                        partition: p,
                        from,
                        to: end,
                        reason,
                    });
                }
                continue;
            }
            if answer.base_offset != position.offset || answer.records.is_empty() {
                continue;
            }
            let records: Vec<(Offset, MessageId)> = (answer.records.iter().enumerate())
                .map(|(i, r)| (answer.base_offset.plus(i as u64), r.value))
                .collect();
            position.offset = position.offset.plus(records.len() as u64);
            position.last_epoch = answer.records.last().map(|r| r.leader_epoch);
            reads.push(Read::Delivered {
                partition: p,
                records,
                broker: leader,
                sent_at,
            });
        }
        reads
    }

    fn on_partition_error(
        &mut self,
        leader: BrokerId,
        now: SimTime,
        answer: FetchedPartition,
        error: ErrorCode,
    ) -> Option<Read> {
        let p = answer.partition;
        if error == ErrorCode::OffsetOutOfRange {
            let position = self.positions.get_mut(&p)?;
            let to = answer.high_watermark;
            let reason = format!(
                "offset out of range (leader log end {})",
                answer.log_end_offset
            );
            let from = position.offset;
            position.offset = to;
            position.last_epoch = None;
            return Some(Read::Reset {
                partition: p,
                from,
                to,
                reason,
            });
        }
        self.metadata.invalidate();
        (self.backoff_until).insert(leader, now.plus_ms(self.config.retry_backoff_ms));
        None
    }

    /// The connection to `broker` ended: a fetch in flight to it failed (nothing was
    /// delivered, so positions stay), fetches to it wait for the reconnect backoff, and
    /// metadata is refreshed, so a new leader is found as soon as one is known.
    pub fn on_disconnect(&mut self, now: SimTime, broker: BrokerId) {
        self.metadata.on_disconnect(now, broker);
        self.in_flight.remove(&broker);
        if let Some(until) = self.metadata.blocked_until(now, broker) {
            self.backoff_until.insert(broker, until);
        }
    }

    /// An unanswered fetch: its leader may be gone silently, so ask where it is now.
    pub fn on_timeout(&mut self, now: SimTime) {
        let before = self.in_flight.len();
        self.in_flight.retain(|_, (_, deadline)| now < *deadline);
        if self.in_flight.len() < before {
            self.metadata.invalidate();
        }
    }

    /// When it next needs a timeout.
    pub fn next_deadline(&self) -> Option<SimTime> {
        let mut deadline = self.metadata.deadline();
        let fetches = self.in_flight.values().map(|(_, at)| *at);
        for at in fetches.chain(self.backoff_until.values().copied()) {
            deadline = Some(deadline.map_or(at, |d: SimTime| d.min(at)));
        }
        deadline
    }
}
