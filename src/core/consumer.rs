//! A consumer client: fetches every partition from its leader (one long-poll fetch per
//! leader broker), follows leader changes, detects log truncation (KIP-320) and records
//! every delivered record in the history.
//!
//! Invariant: positions only move forward by delivered records, or by a reset the
//! consumer logs (`ConsumerReset`), never silently.

use crate::config::Config;
use crate::core::message::Message;
use crate::core::reader::{Read, Reader};
use crate::core::{Disconnect, Effect, StateMachine};
use crate::history::EventKind;
use crate::types::{BrokerId, NodeId, Offset, PartitionId, SimTime};

/// A consumer client.
#[derive(Clone, Debug)]
pub struct Consumer {
    id: u8,
    config: Config,
    reader: Reader,
}

impl Consumer {
    /// Consumer client number `id` (1-based) reading these partitions from offset 0.
    pub fn new(
        id: u8,
        config: Config,
        partitions: Vec<PartitionId>,
        brokers: Vec<BrokerId>,
    ) -> Consumer {
        let mut reader = Reader::new(config.clone(), brokers, usize::from(id) + 1);
        for p in partitions {
            reader.read_from(p, Offset(0));
        }
        Consumer { id, config, reader }
    }

    /// The next offset this consumer will read from `partition`.
    pub fn position(&self, partition: PartitionId) -> Offset {
        self.reader.position(partition)
    }

    /// Logs what a fetch answer did: deliveries as `Poll`, resets as `ConsumerReset`.
    fn log(&self, reads: Vec<Read>, out: &mut Vec<Effect>) {
        for read in reads {
            let event = match read {
                Read::Delivered {
                    partition,
                    records,
                    broker,
                    sent_at,
                } => EventKind::Poll {
                    consumer: self.id,
                    partition,
                    records,
                    broker,
                    sent_at,
                },
                Read::Reset {
                    partition,
                    from,
                    to,
                    reason,
                } => EventKind::ConsumerReset {
                    consumer: self.id,
                    partition,
                    from,
                    to,
                    reason,
                },
            };
            out.push(Effect::Trace(event));
        }
    }
}

impl StateMachine for Consumer {
    fn on_message(&mut self, now: SimTime, from: NodeId, message: Message, out: &mut Vec<Effect>) {
        if let NodeId::Broker(broker) = from {
            self.reader.metadata.on_answer(broker);
        }
        match (message, from) {
            (
                Message::FetchResponse {
                    correlation,
                    sent_at,
                    partitions,
                },
                NodeId::Broker(leader),
            ) => {
                let at = (sent_at, correlation);
                let reads = self.reader.on_fetch_response(now, leader, at, partitions);
                self.log(reads, out);
            }
            (
                Message::MetadataResponse {
                    correlation,
                    metadata,
                },
                _,
            ) => {
                // Test hook: a consumer that stops following leader changes (unseen's test).
                let frozen = self.config.hooks.consumer_ignores_leader_changes
                    && (self.reader.partitions().iter())
                        .any(|p| self.reader.metadata.leader(*p).is_some());
                if !frozen {
                    self.reader.metadata.on_response(correlation, *metadata);
                }
            }
            _ => {}
        }
        self.reader.send_fetches(now, out);
    }

    /// The connection to a broker ended: the reader handles it (see
    /// [`Reader::on_disconnect`]).
    fn on_disconnect(&mut self, now: SimTime, peer: NodeId, _: Disconnect, out: &mut Vec<Effect>) {
        if let NodeId::Broker(broker) = peer {
            self.reader.on_disconnect(now, broker);
        }
        self.reader.send_fetches(now, out);
    }

    fn on_timeout(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        self.reader.on_timeout(now);
        self.reader.send_fetches(now, out);
    }

    fn next_deadline(&self) -> Option<SimTime> {
        self.reader.next_deadline()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::message::{ErrorCode, FetchedPartition, MetadataImage};

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
