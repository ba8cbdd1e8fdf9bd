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
use crate::core::producer::{InFlight, Producer, report_failed};
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
                    format!("NETWORK_EXCEPTION (connection to broker-{broker} reset)");
                flight.attempts += 1;
                flight.retry_at = now.plus_ms(self.config.retry_backoff_ms);
            }
            self.give_up_exhausted(now, p, out);
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
