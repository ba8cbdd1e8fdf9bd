//! A consumer client: fetches every partition from its leader (one long-poll fetch per
//! leader broker), follows leader changes, detects log truncation (KIP-320) and records
//! every delivered record in the history.
//!
//! Invariant: positions only move forward by delivered records, or by a reset the
//! consumer logs (`ConsumerReset`), never silently.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::core::broker::FETCH_RESPONSE_GRACE_MS;
use crate::core::client_metadata::ClientMetadata;
use crate::core::message::{ErrorCode, FetchPartition, FetchedPartition, Message};
use crate::core::{Disconnect, Effect, StateMachine};
use crate::history::EventKind;
use crate::types::{BrokerEpoch, BrokerId, LeaderEpoch, NodeId, Offset, PartitionId, SimTime};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Position {
    offset: Offset,
    last_epoch: Option<LeaderEpoch>,
}

/// A consumer client.
#[derive(Clone, Debug)]
pub struct Consumer {
    id: u8,
    config: Config,
    metadata: ClientMetadata,
    positions: BTreeMap<PartitionId, Position>,
    /// Outstanding fetch per leader broker: correlation and give-up time.
    in_flight: BTreeMap<BrokerId, (u64, SimTime)>,
    backoff_until: BTreeMap<BrokerId, SimTime>,
    next_correlation: u64,
}

impl Consumer {
    /// Consumer client number `id` (1-based) reading these partitions from offset 0.
    pub fn new(
        id: u8,
        config: Config,
        partitions: Vec<PartitionId>,
        brokers: Vec<BrokerId>,
    ) -> Consumer {
        let reconnect_backoff_ms = config.reconnect_backoff_ms;
        Consumer {
            id,
            config,
            metadata: ClientMetadata::new(brokers, usize::from(id) + 1, reconnect_backoff_ms),
            positions: partitions
                .into_iter()
                .map(|p| (p, Position::default()))
                .collect(),
            in_flight: BTreeMap::new(),
            backoff_until: BTreeMap::new(),
            next_correlation: 0,
        }
    }

    /// The next offset this consumer will read from `partition`.
    pub fn position(&self, partition: PartitionId) -> Offset {
        self.positions
            .get(&partition)
            .map(|p| p.offset)
            .unwrap_or_default()
    }

    fn send_fetches(&mut self, now: SimTime, out: &mut Vec<Effect>) {
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
            self.in_flight.insert(
                leader,
                (
                    self.next_correlation,
                    now.plus_ms(wait_ms + FETCH_RESPONSE_GRACE_MS),
                ),
            );
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

    /// `sent_at`: when `leader` sent the answer (traced only).
    fn on_fetch_response(
        &mut self,
        now: SimTime,
        leader: BrokerId,
        sent_at: SimTime,
        correlation: u64,
        answers: Vec<FetchedPartition>,
        out: &mut Vec<Effect>,
    ) {
        if self.in_flight.get(&leader).map(|(c, _)| *c) != Some(correlation) {
            return;
        }
        self.in_flight.remove(&leader);
        for answer in answers {
            if let Some(error) = answer.error {
                self.on_partition_error(leader, now, answer, error, out);
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
                    out.push(Effect::Trace(EventKind::ConsumerReset {
                        consumer: self.id,
                        partition: p,
                        from: position.offset,
                        to: end,
                        reason,
                    }));
                    position.offset = end;
                }
                continue;
            }
            if answer.base_offset != position.offset || answer.records.is_empty() {
                continue;
            }
            let records: Vec<(Offset, crate::types::MessageId)> = answer
                .records
                .iter()
                .enumerate()
                .map(|(i, r)| (answer.base_offset.plus(i as u64), r.value))
                .collect();
            position.offset = position.offset.plus(records.len() as u64);
            position.last_epoch = answer.records.last().map(|r| r.leader_epoch);
            out.push(Effect::Trace(EventKind::Poll {
                consumer: self.id,
                partition: p,
                records,
                broker: leader,
                sent_at,
            }));
        }
    }

    fn on_partition_error(
        &mut self,
        leader: BrokerId,
        now: SimTime,
        answer: FetchedPartition,
        error: ErrorCode,
        out: &mut Vec<Effect>,
    ) {
        let p = answer.partition;
        if error == ErrorCode::OffsetOutOfRange {
            let Some(position) = self.positions.get_mut(&p) else {
                return;
            };
            let to = answer.high_watermark;
            let reason = format!(
                "offset out of range (leader log end {})",
                answer.log_end_offset
            );
            out.push(Effect::Trace(EventKind::ConsumerReset {
                consumer: self.id,
                partition: p,
                from: position.offset,
                to,
                reason,
            }));
            position.offset = to;
            position.last_epoch = None;
            return;
        }
        self.metadata.invalidate();
        self.backoff_until
            .insert(leader, now.plus_ms(self.config.retry_backoff_ms));
    }
}

impl StateMachine for Consumer {
    fn on_message(&mut self, now: SimTime, from: NodeId, message: Message, out: &mut Vec<Effect>) {
        if let NodeId::Broker(broker) = from {
            self.metadata.on_answer(broker);
        }
        match (message, from) {
            (
                Message::FetchResponse {
                    correlation,
                    sent_at,
                    partitions,
                },
                NodeId::Broker(leader),
            ) => self.on_fetch_response(now, leader, sent_at, correlation, partitions, out),
            (
                Message::MetadataResponse {
                    correlation,
                    metadata,
                },
                _,
            ) => {
                // Test hook: a consumer that stops following leader changes (unseen's test).
                let frozen = self.config.hooks.consumer_ignores_leader_changes
                    && self
                        .positions
                        .keys()
                        .any(|p| self.metadata.leader(*p).is_some());
                if !frozen {
                    self.metadata.on_response(correlation, *metadata);
                }
            }
            _ => {}
        }
        self.send_fetches(now, out);
    }

    /// The connection to a broker ended: a fetch in flight to it failed (nothing was
    /// delivered, so positions stay), fetches to it wait for the reconnect backoff, and
    /// metadata is refreshed, so the consumer finds a new leader as soon as one is known.
    fn on_disconnect(&mut self, now: SimTime, peer: NodeId, _: Disconnect, out: &mut Vec<Effect>) {
        if let NodeId::Broker(broker) = peer {
            self.metadata.on_disconnect(now, broker);
            self.in_flight.remove(&broker);
            if let Some(until) = self.metadata.blocked_until(now, broker) {
                self.backoff_until.insert(broker, until);
            }
        }
        self.send_fetches(now, out);
    }

    fn on_timeout(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        // An unanswered fetch: its leader may be gone silently, so ask where it is now.
        let before = self.in_flight.len();
        self.in_flight.retain(|_, (_, deadline)| now < *deadline);
        if self.in_flight.len() < before {
            self.metadata.invalidate();
        }
        self.send_fetches(now, out);
    }

    fn next_deadline(&self) -> Option<SimTime> {
        let mut deadline = self.metadata.deadline();
        for at in self
            .in_flight
            .values()
            .map(|(_, at)| *at)
            .chain(self.backoff_until.values().copied())
        {
            deadline = Some(deadline.map_or(at, |d: SimTime| d.min(at)));
        }
        deadline
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::message::MetadataImage;

    fn image(leader: u8) -> Box<MetadataImage> {
        // a newer image for each new leader
        Box::new(crate::core::client_metadata::test_image(
            u64::from(leader),
            leader,
        ))
    }

    /// Where the consumer sent its metadata requests, with their correlations.
    fn metadata_requests(out: &[Effect]) -> Vec<(NodeId, u64)> {
        out.iter()
            .filter_map(|e| match e {
                Effect::Send {
                    to,
                    message: Message::MetadataRequest { correlation },
                } => Some((*to, *correlation)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn an_expired_backoff_does_not_leave_a_deadline_in_the_past() {
        let config = Config::default();
        let mut consumer =
            Consumer::new(1, config.clone(), vec![PartitionId(0)], vec![BrokerId(1)]);
        let mut out = Vec::new();
        let t0 = SimTime::from_ms(0);
        consumer.on_timeout(t0, &mut out);
        let (to, correlation) = metadata_requests(&out)[0];
        out.clear();
        let metadata = Message::MetadataResponse {
            correlation,
            metadata: image(1),
        };
        consumer.on_message(t0.plus_ms(5), to, metadata, &mut out);
        let (leader, fetch) = out
            .iter()
            .find_map(|e| match e {
                Effect::Send {
                    to,
                    message: Message::Fetch { correlation, .. },
                } => Some((*to, *correlation)),
                _ => None,
            })
            .expect("a fetch to the leader");
        assert_eq!(leader, NodeId::Broker(BrokerId(1)));
        out.clear();
        // The leader says it no longer leads: back off from broker 1.
        let refused = Message::FetchResponse {
            correlation: fetch,
            sent_at: SimTime::ZERO,
            partitions: vec![FetchedPartition {
                partition: PartitionId(0),
                error: Some(ErrorCode::NotLeaderOrFollower),
                base_offset: Offset(0),
                records: vec![],
                high_watermark: Offset(0),
                log_end_offset: Offset(0),
                diverging_epoch: None,
            }],
        };
        consumer.on_message(t0.plus_ms(10), leader, refused, &mut out);
        // Broker 2 leads now. Answer metadata requests at once, leave fetches in flight,
        // and step time past broker 1's backoff.
        let mut now = t0.plus_ms(10);
        let until = now.plus_ms(config.retry_backoff_ms * 3);
        while now < until {
            now = now.plus_ms(1);
            out.clear();
            consumer.on_timeout(now, &mut out);
            for (to, correlation) in metadata_requests(&out) {
                let reply = Message::MetadataResponse {
                    correlation,
                    metadata: image(2),
                };
                consumer.on_message(now, to, reply, &mut out);
            }
        }
        let later = now;
        let deadline = consumer.next_deadline().expect("a fetch is in flight");
        assert!(
            deadline > later,
            "deadline {deadline} is not after {later}: the consumer would spin"
        );
    }
}
