//! How the producer recovers when things go wrong: disconnects, `delivery.timeout.ms`,
//! and the idempotent producer's sequence gaps (KIP-360).
//!
//! Kafka's own rules (clients' `Sender`, `TransactionManager`, `RecordAccumulator`):
//! - A disconnected request fails with the retriable `NETWORK_EXCEPTION`: one more attempt,
//!   and it may have been appended. Nothing is sent on a connection that is not ready, so
//!   a refused connection costs no attempt.
//! - A batch whose `delivery.timeout.ms` passed fails with a `TimeoutException`, queued or
//!   in flight.
//! - `OUT_OF_ORDER_SEQUENCE_NUMBER` for the next batch in sequence order: since 2.5
//!   (KIP-360, KAFKA-8805) the producer bumps its epoch, gives every batch of the partition
//!   still in flight a new sequence from 0 (`startSequencesAtBeginning`) and retries the
//!   batch; the batch fails only when it is out of retries or time, and later batches go
//!   on. Before 2.5 it failed the batch and took a new producer id, so every other batch
//!   in flight under the old id failed as well; later sends went on.

use crate::core::message::Message;
use crate::core::producer::outcome::report_failed;
use crate::core::producer::{InFlight, Producer};
use crate::core::{Disconnect, Effect};
use crate::types::{BrokerId, PartitionId, ProducerEpoch, Sequence, SimTime};

impl Producer {
    /// The connection to `broker` ended. A refused send never left: its batch waits for
    /// the reconnect backoff without using an attempt (Kafka sends nothing on a connection
    /// that is not ready). A reset fails every request in flight on it with a retriable
    /// `NETWORK_EXCEPTION` that may follow an append (Kafka's `Sender` on a disconnected
    /// response): one more attempt, retried after `retry.backoff.ms` if retries allow.
    pub(super) fn on_broker_disconnect(
        &mut self,
        now: SimTime,
        broker: BrokerId,
        cause: &Disconnect,
        out: &mut Vec<Effect>,
    ) {
        let refused = match cause {
            Disconnect::Refused(message) => match message.as_ref() {
                Message::Produce { correlation, .. } => Some(*correlation),
                _ => return, // a metadata request: `ClientMetadata` handled it
            },
            Disconnect::Reset => None,
        };
        let until = self
            .metadata
            .blocked_until(now, broker)
            .unwrap_or(now)
            .min(now.plus_ms(self.config.retry_backoff_ms));
        let partitions = self.partitions.clone();
        for p in partitions {
            let queue = self.queues.get_mut(&p).expect("known");
            for flight in &mut queue.in_flight {
                let Some((correlation, _, to)) = flight.request else {
                    continue;
                };
                if to != broker || refused.is_some_and(|c| c != correlation) {
                    continue;
                }
                flight.request = None;
                if refused.is_some() {
                    flight.retry_at = until;
                    continue;
                }
                flight.maybe_appended = true;
                flight.last_error =
                    format!("NETWORK_EXCEPTION (connection to broker-{broker} lost)");
                flight.attempts += 1;
                flight.retry_at = now.plus_ms(self.config.retry_backoff_ms);
            }
            self.give_up_exhausted(now, p, out);
        }
    }

    /// A request unanswered for `request.timeout.ms` closes its connection, as Kafka's
    /// `NetworkClient` does (`processTimeoutDisconnection`): it fails (maybe appended),
    /// every other request in flight to that broker fails as retriable, the broker is in
    /// its reconnect backoff and metadata is refreshed. This is how a silent failure
    /// (power loss, pause, a cut) is noticed: later than a crash.
    pub(super) fn expire_connections(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        let timed_out: std::collections::BTreeSet<BrokerId> = self
            .queues
            .values()
            .flat_map(|q| q.in_flight.iter())
            .filter_map(|f| f.request.filter(|(_, deadline, _)| now >= *deadline))
            .map(|(_, _, broker)| broker)
            .collect();
        if timed_out.is_empty() {
            return;
        }
        for p in self.partitions.clone() {
            self.expire_requests(now, p);
        }
        for broker in timed_out {
            self.metadata.on_disconnect(now, broker);
            self.on_broker_disconnect(now, broker, &Disconnect::Reset, out);
        }
    }

    /// Requests whose `request.timeout.ms` passed get no answer any more (they may have
    /// been appended); a request outstanding past the batch's `delivery.timeout.ms` is
    /// abandoned too (Kafka's `getExpiredInflightBatches`).
    pub(super) fn expire_requests(&mut self, now: SimTime, p: PartitionId) {
        let delivery_timeout_ms = self.config.delivery_timeout_ms;
        let queue = self.queues.get_mut(&p).expect("known");
        for flight in &mut queue.in_flight {
            let Some((_, deadline, _)) = flight.request else {
                continue;
            };
            let expired = now.ms_since(flight.first_enqueued) >= delivery_timeout_ms;
            if now < deadline && !expired {
                continue;
            }
            flight.request = None; // no answer: it may have been appended
            flight.maybe_appended = true;
            flight.last_error = if expired {
                format!("delivery timeout: {delivery_timeout_ms} ms since the batch was created")
            } else {
                "request timed out (no response)".to_string()
            };
            flight.attempts += 1;
            flight.retry_at = now;
        }
    }

    /// Messages still queued (never sent) past `delivery.timeout.ms` fail for certain
    /// (Kafka's `RecordAccumulator.expiredBatches`).
    pub(super) fn expire_queued(&mut self, now: SimTime, p: PartitionId, out: &mut Vec<Effect>) {
        let delivery_timeout_ms = self.config.delivery_timeout_ms;
        let queue = self.queues.get_mut(&p).expect("known");
        let expired = queue
            .queued
            .iter()
            .take_while(|(_, at)| now.ms_since(*at) >= delivery_timeout_ms)
            .count();
        if expired == 0 {
            return;
        }
        let values = queue.queued.drain(..expired).map(|(v, _)| v).collect();
        let error = format!("delivery timeout: {delivery_timeout_ms} ms queued, never sent");
        report_failed(self.id, p, values, &error, false, out);
    }

    /// When the next queued or in-flight batch of `p` reaches its delivery timeout.
    pub(super) fn delivery_deadline(&self, p: PartitionId) -> Option<SimTime> {
        let queue = &self.queues[&p];
        let oldest_flight = queue.in_flight.iter().map(|f| f.first_enqueued).min();
        let oldest_queued = queue.queued.front().map(|(_, at)| *at);
        [oldest_flight, oldest_queued]
            .into_iter()
            .flatten()
            .min()
            .map(|t| t.plus_ms(self.config.delivery_timeout_ms))
    }

    /// `OUT_OF_ORDER_SEQUENCE_NUMBER` for the oldest batch of `p` (it already counts the
    /// attempt): the leader does not hold the sequence before it, so it lost our last
    /// batches (a failover after acks=1, an unclean election) or our state. Since 2.5 the
    /// batch waits until every batch behind it is answered, then the epoch is bumped
    /// ([`Producer::resolve_gap`]).
    pub(super) fn on_sequence_gap(&mut self, now: SimTime, p: PartitionId, out: &mut Vec<Effect>) {
        if !self.config.idempotent_epoch_bump {
            self.give_up(p, 0, out); // before 2.5: fail it and every batch behind it
            return;
        }
        self.queues.get_mut(&p).expect("known").in_flight[0].gap = true;
        self.resolve_gap(now, p, out);
    }

    /// Once no batch behind a refused oldest batch awaits an answer: bump the epoch and
    /// renumber (the batch is retried from sequence 0, or fails alone when out of retries
    /// or time). Waiting matters because our datagrams may reorder what Kafka's TCP
    /// connection keeps in order: a broker without state for this producer accepts a
    /// later batch that overtook the oldest, and then the oldest can no longer be placed
    /// in send order ([`Producer::fail_gap`]).
    pub(super) fn resolve_gap(&mut self, now: SimTime, p: PartitionId, out: &mut Vec<Effect>) {
        let queue = &self.queues[&p];
        if !queue.in_flight.front().is_some_and(|f| f.gap)
            || queue.in_flight.iter().skip(1).any(|f| f.request.is_some())
        {
            return;
        }
        // A batch behind it that may be in the log (its answer never came) got there
        // ahead of it: renumbering would append it twice. The refused batch fails alone
        // and the rest keep their numbers (their retries find themselves in the log).
        if queue.in_flight.iter().skip(1).any(|f| f.maybe_appended) {
            self.fail_gap(p, out);
            return;
        }
        if self.retry_allowed(now, &queue.in_flight[0]) {
            self.queues.get_mut(&p).expect("known").in_flight[0].gap = false;
        } else {
            self.fail_gap(p, out); // out of retries or time: OutOfOrderSequenceException
        }
        self.bump_epoch(p); // the rest (and a retried oldest) start again at sequence 0
    }

    /// Batch `i` of `p`, known to be in the leader's log (`overtaken`), was refused on a
    /// retry because its sequence fell out of the leader's five-batch memory: it ends as
    /// indeterminate on its own (we know neither its offset nor, after a failover,
    /// whether it survived), and the sequences behind it stay valid: no epoch bump.
    pub(super) fn give_up_overtaken(&mut self, p: PartitionId, i: usize, out: &mut Vec<Effect>) {
        let queue = self.queues.get_mut(&p).expect("known");
        let flight = queue.in_flight.remove(i).expect("present");
        let error = format!("{} (a later batch was acknowledged)", flight.last_error);
        report_failed(self.id, p, flight.values, &error, true, out);
    }

    /// The refused oldest batch of `p` fails on its own.
    pub(super) fn fail_gap(&mut self, p: PartitionId, out: &mut Vec<Effect>) {
        let queue = self.queues.get_mut(&p).expect("known");
        let flight = queue.in_flight.pop_front().expect("the oldest batch");
        let error = flight.last_error.clone();
        report_failed(
            self.id,
            p,
            flight.values,
            &error,
            flight.maybe_appended,
            out,
        );
    }

    /// KIP-360: a new producer epoch for `p`, and every batch still in flight renumbered
    /// from sequence 0 in order; one with an attempt outstanding under the old numbers
    /// is `reopened`.
    fn bump_epoch(&mut self, p: PartitionId) {
        let queue = self.queues.get_mut(&p).expect("known");
        queue.producer_epoch = ProducerEpoch(queue.producer_epoch.0 + 1);
        let mut next = 0u32;
        for flight in &mut queue.in_flight {
            reassign(flight, queue.producer_epoch, Sequence(next));
            next += flight.values.len() as u32;
        }
        queue.next_sequence = next;
    }
}

fn reassign(flight: &mut InFlight, epoch: ProducerEpoch, base: Sequence) {
    flight.producer_epoch = epoch;
    flight.base_sequence = base;
    flight.reopened = flight.request.is_some();
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::core::message::{ErrorCode, Message};
    use crate::core::prng::Prng;
    use crate::core::producer::{Partitioner, Producer, ProducerWorkload};
    use crate::core::{Disconnect, Effect, StateMachine};
    use crate::history::EventKind;
    use crate::types::{BrokerId, NodeId, Offset, PartitionId, ProducerEpoch, Sequence, SimTime};

    const LEADER: NodeId = NodeId::Broker(BrokerId(1));

    /// A producer that knows broker 1 leads partition 0 and has sent its first batch;
    /// returns it with that batch's correlation.
    fn sending(config: Config) -> (Producer, u64) {
        let workload = ProducerWorkload {
            produce_interval_ms: 1000,
            stop_at: SimTime::from_ms(1),
            partitioner: Partitioner::RoundRobin,
        };
        let brokers = vec![BrokerId(1), BrokerId(2)];
        let mut producer = Producer::new(
            1,
            config,
            workload,
            vec![PartitionId(0)],
            brokers,
            SimTime::ZERO,
            Prng::new(1),
        );
        let mut out = Vec::new();
        producer.on_timeout(SimTime::ZERO, &mut out);
        let image = crate::core::client_metadata::test_image(1, 1);
        let correlation = metadata_correlation(&out);
        let answer = Message::MetadataResponse {
            correlation,
            metadata: Box::new(image),
        };
        out.clear();
        producer.on_message(
            SimTime::from_ms(1),
            NodeId::Broker(BrokerId(2)),
            answer,
            &mut out,
        );
        producer.on_timeout(SimTime::from_ms(10), &mut out);
        let (correlation, ..) = produced(&out).expect("the batch goes to the leader");
        (producer, correlation)
    }

    fn metadata_correlation(out: &[Effect]) -> u64 {
        out.iter()
            .find_map(|e| match e {
                Effect::Send {
                    message: Message::MetadataRequest { correlation },
                    ..
                } => Some(*correlation),
                _ => None,
            })
            .expect("a metadata request")
    }

    /// The last produce request in `out`: correlation, epoch, base sequence.
    fn produced(out: &[Effect]) -> Option<(u64, ProducerEpoch, Sequence)> {
        out.iter().rev().find_map(|e| match e {
            Effect::Send {
                message:
                    Message::Produce {
                        correlation, batch, ..
                    },
                ..
            } => Some((*correlation, batch.producer_epoch, batch.base_sequence)),
            _ => None,
        })
    }

    fn outcomes(out: &[Effect]) -> Vec<&'static str> {
        out.iter()
            .filter_map(|e| match e {
                Effect::Trace(EventKind::SendOk { .. }) => Some("ok"),
                Effect::Trace(EventKind::SendFail { .. }) => Some("fail"),
                Effect::Trace(EventKind::SendInfo { .. }) => Some("info"),
                _ => None,
            })
            .collect()
    }

    fn refuse(producer: &mut Producer, correlation: u64, now: SimTime) -> Vec<Effect> {
        let mut out = Vec::new();
        let answer = Message::ProduceResponse {
            correlation,
            partition: PartitionId(0),
            result: Err(ErrorCode::OutOfOrderSequenceNumber),
            sent_at: now,
        };
        producer.on_message(now, LEADER, answer, &mut out);
        producer.on_timeout(now.plus_ms(200), &mut out);
        out
    }

    #[test]
    fn since_kip_360_a_sequence_gap_bumps_the_epoch_and_the_batch_goes_on() {
        let (mut producer, correlation) = sending(Config::default());
        let out = refuse(&mut producer, correlation, SimTime::from_ms(20));
        assert_eq!(outcomes(&out), Vec::<&str>::new(), "nothing fails");
        let (resent, epoch, sequence) = produced(&out).expect("resent");
        assert_eq!((epoch, sequence), (ProducerEpoch(1), Sequence(0)));
        let mut out = Vec::new();
        let ok = Message::ProduceResponse {
            correlation: resent,
            partition: PartitionId(0),
            result: Ok(Offset(0)),
            sent_at: SimTime::from_ms(300),
        };
        producer.on_message(SimTime::from_ms(300), LEADER, ok, &mut out);
        assert_eq!(outcomes(&out), vec!["ok"]);
    }

    #[test]
    fn before_kip_360_a_sequence_gap_fails_the_batch() {
        let config = crate::kafka_version::KafkaVersion::V2_1.config();
        let config = Config {
            idempotent_producer: true,
            ..config
        };
        let (mut producer, correlation) = sending(config);
        let out = refuse(&mut producer, correlation, SimTime::from_ms(20));
        assert_eq!(
            outcomes(&out),
            vec!["fail"],
            "rejected before append: definite"
        );
    }

    #[test]
    fn a_reset_costs_an_attempt_and_may_have_appended_a_refusal_neither() {
        let config = Config {
            producer_retries: 1,
            ..Config::default()
        };
        let (mut producer, correlation) = sending(config);
        let mut out = Vec::new();
        let refused = Message::Produce {
            correlation,
            acks: crate::config::Acks::All,
            timeout_ms: 30_000,
            batch: crate::core::message::ProduceBatch {
                partition: PartitionId(0),
                producer_id: crate::types::ProducerId(1),
                producer_epoch: ProducerEpoch(0),
                base_sequence: Sequence(0),
                values: vec![],
            },
        };
        let now = SimTime::from_ms(20);
        producer.on_disconnect(
            now,
            LEADER,
            Disconnect::Refused(Box::new(refused)),
            &mut out,
        );
        producer.on_timeout(now.plus_ms(200), &mut out);
        assert_eq!(
            outcomes(&out),
            Vec::<&str>::new(),
            "a refusal uses no attempt"
        );
        let (correlation, ..) = produced(&out).expect("sent again after the backoff");
        let mut out = Vec::new();
        let now = SimTime::from_ms(300);
        producer.on_disconnect(now, LEADER, Disconnect::Reset, &mut out);
        producer.on_timeout(now.plus_ms(200), &mut out);
        let (again, ..) = produced(&out).expect("retried: one retry allowed");
        assert_ne!(again, correlation);
        let mut out = Vec::new();
        let now = SimTime::from_ms(600);
        producer.on_disconnect(now, LEADER, Disconnect::Reset, &mut out);
        assert_eq!(
            outcomes(&out),
            vec!["info"],
            "out of retries, maybe appended"
        );
    }
}
