//! A producer client: generates the workload's messages, batches them per partition with
//! `linger.ms`, keeps up to `max_in_flight` batches per partition in flight, retries with
//! the same idempotent sequence, and records every send's outcome in the history.
//!
//! Send times are not perfectly periodic: each gap between two messages is drawn from the
//! producer's own [`Prng`] (seeded by the shell), uniform in `[interval/2, 3*interval/2]`,
//! so the mean rate is the configured one.
//!
//! Outcome rules (protocol.md 3, known-failures.md 14): a reply without error is a
//! definite success; an error returned before append on *every* attempt is a definite
//! failure; anything else (timeouts, lost replies, errors after append) is indeterminate.

mod outcome;
mod recovery;

use std::collections::{BTreeMap, VecDeque};

use crate::config::{Acks, Config};
use crate::core::broker::producer_state::NO_PRODUCER_ID;
use crate::core::client_metadata::ClientMetadata;
use crate::core::message::{ErrorCode, Message, ProduceBatch};
use crate::core::prng::Prng;
use crate::core::{Disconnect, Effect, StateMachine};
use crate::history::EventKind;
use crate::types::{
    BrokerId, MessageId, NodeId, Offset, PartitionId, ProducerEpoch, ProducerId, Sequence, SimTime,
};

/// Most records in one batch.
pub const BATCH_RECORDS_MAX: usize = 500;

/// How the producer picks a partition for a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Partitioner {
    /// Cycle through the partitions.
    RoundRobin,
    /// Hash a key (the message index modulo 16 keys) to a partition.
    KeyHash,
}

/// The producer's part of the workload.
#[derive(Clone, Debug)]
pub struct ProducerWorkload {
    /// One message every this many ms on average (each gap is drawn uniform in
    /// `[interval/2, 3*interval/2]`).
    pub produce_interval_ms: u64,
    /// No new messages from this time on.
    pub stop_at: SimTime,
    /// Partition choice.
    pub partitioner: Partitioner,
}

#[derive(Clone, Debug)]
struct InFlight {
    values: Vec<MessageId>,
    base_sequence: Sequence,
    producer_epoch: ProducerEpoch,
    /// Set while a request is outstanding: its correlation, when it times out, and the
    /// broker it went to.
    request: Option<(u64, SimTime, BrokerId)>,
    retry_at: SimTime,
    attempts: u32,
    first_enqueued: SimTime,
    maybe_appended: bool,
    last_error: String,
    /// Given a new epoch and sequence (KIP-360) while an attempt under the old ones was
    /// outstanding: a sequence error answering that attempt is retried, not a new gap.
    reopened: bool,
    /// The oldest batch, refused with `OUT_OF_ORDER_SEQUENCE_NUMBER`, waiting for the
    /// batches behind it to be answered before the epoch bump (KIP-360).
    gap: bool,
    /// A later batch of the same epoch was acknowledged, so the leader appended this one
    /// too (it appends sequences in order) though its answer was lost. Kafka's TCP
    /// connection delivers answers in order; our datagrams can lose one alone.
    overtaken: bool,
}

impl InFlight {
    /// Waiting to be (re)sent rather than for an answer.
    fn waiting(&self) -> bool {
        self.request.is_none()
    }
}

#[derive(Clone, Debug, Default)]
struct PartitionQueue {
    queued: VecDeque<(MessageId, SimTime)>,
    /// Batches sent and not yet settled, oldest (lowest sequence) first; at most
    /// `max_in_flight` of them.
    in_flight: VecDeque<InFlight>,
    next_sequence: u32,
    producer_epoch: ProducerEpoch,
}
/// A producer client.
#[derive(Clone, Debug)]
pub struct Producer {
    id: u8,
    config: Config,
    workload: ProducerWorkload,
    partitions: Vec<PartitionId>,
    producer_id: ProducerId,
    metadata: ClientMetadata,
    queues: BTreeMap<PartitionId, PartitionQueue>,
    next_message_at: SimTime,
    /// Draws the gap before each next message.
    prng: Prng,
    next_index: u32,
    next_correlation: u64,
    probes: Vec<PartitionId>,
}

impl Producer {
    /// Producer client number `id` (1-based) over these partitions and brokers; its first
    /// message is due at `start`, each later one after a gap drawn from `prng`.
    pub fn new(
        id: u8,
        config: Config,
        workload: ProducerWorkload,
        partitions: Vec<PartitionId>,
        brokers: Vec<BrokerId>,
        start: SimTime,
        prng: Prng,
    ) -> Producer {
        let producer_id = if config.idempotent_producer {
            ProducerId(u64::from(id))
        } else {
            NO_PRODUCER_ID
        };
        let metadata = ClientMetadata::new(brokers, usize::from(id), config.reconnect_backoff_ms);
        Producer {
            id,
            config,
            queues: partitions
                .iter()
                .map(|p| (*p, PartitionQueue::default()))
                .collect(),
            workload,
            partitions,
            producer_id,
            metadata,
            next_message_at: start,
            prng,
            next_index: 0,
            next_correlation: 0,
            probes: Vec::new(),
        }
    }

    /// Whether every message sent so far has an outcome.
    pub fn idle(&self) -> bool {
        self.probes.is_empty()
            && self
                .queues
                .values()
                .all(|q| q.queued.is_empty() && q.in_flight.is_empty())
    }

    /// Asks for one extra message to `partition` at the next timeout (the final
    /// availability probe); the shell wakes the producer right after.
    pub fn request_probe(&mut self, partition: PartitionId) {
        self.probes.push(partition);
    }

    fn enqueue(&mut self, now: SimTime, partition: PartitionId, out: &mut Vec<Effect>) {
        let value = MessageId {
            producer: self.id,
            index: self.next_index,
        };
        self.next_index += 1;
        out.push(Effect::Trace(EventKind::SendInvoke {
            producer: self.id,
            partition,
            value,
        }));
        self.queues
            .get_mut(&partition)
            .expect("known partition")
            .queued
            .push_back((value, now));
    }

    fn choose_partition(&self, index: u32) -> PartitionId {
        let n = self.partitions.len() as u64;
        let slot = match self.workload.partitioner {
            Partitioner::RoundRobin => u64::from(index) % n,
            Partitioner::KeyHash => {
                let key = u64::from(index % 16);
                key.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17) % n
            }
        };
        self.partitions[slot as usize]
    }

    fn generate(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        while self.next_message_at <= now && self.next_message_at < self.workload.stop_at {
            let partition = self.choose_partition(self.next_index);
            self.enqueue(now, partition, out);
            self.next_message_at = SimTime(self.next_message_at.0 + self.next_gap_us());
        }
    }

    /// The gap before the next message in µs: uniform in `[interval/2, 3*interval/2]`, so
    /// the mean is exactly the configured interval.
    fn next_gap_us(&mut self) -> u64 {
        let interval_us = self.workload.produce_interval_ms.max(1) * 1000;
        self.prng.between(interval_us / 2, interval_us * 3 / 2)
    }

    /// Moves every partition's batches along: timeouts, give-ups, sends.
    fn drive(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        self.expire_connections(now, out);
        for i in 0..self.partitions.len() {
            let p = self.partitions[i];
            let queue = &self.queues[&p];
            if queue.in_flight.is_empty() && queue.queued.is_empty() {
                continue; // nothing to expire, resend or open
            }
            self.drive_partition(now, p, out);
        }
        self.metadata.poll(now, out);
    }

    /// One partition: expire unanswered requests, give up on batches out of retries,
    /// resend due retries, then open a new batch if `linger.ms` passed and the pipeline
    /// has room (`max_in_flight`).
    ///
    /// With the idempotent producer, batches must reach the leader in sequence order
    /// (Kafka's `RecordAccumulator` keeps retries in sequence order): only the oldest
    /// batch is resent, and no new batch opens while any batch waits for a retry. Without
    /// it, every batch retries on its own, which is how retries reorder (known-failures
    /// 13).
    fn drive_partition(&mut self, now: SimTime, p: PartitionId, out: &mut Vec<Effect>) {
        self.expire_requests(now, p);
        self.expire_queued(now, p, out);
        self.resolve_gap(now, p, out);
        self.give_up_exhausted(now, p, out);
        let mut i = 0;
        while i < self.queues[&p].in_flight.len() {
            let flight = &self.queues[&p].in_flight[i];
            if !self.may_resend(i, flight) {
                break;
            }
            if flight.waiting() && now >= flight.retry_at && !self.send_batch(now, p, i, out) {
                continue; // settled: index `i` now holds the next batch
            }
            i += 1;
        }
        let queue = &self.queues[&p];
        let Some((_, oldest)) = queue.queued.front() else {
            return;
        };
        if !self.may_open_batch(queue) || now < oldest.plus_ms(self.config.linger_ms) {
            return;
        }
        let queue = self.queues.get_mut(&p).expect("known");
        let take = queue.queued.len().min(BATCH_RECORDS_MAX);
        let batch: Vec<(MessageId, SimTime)> = queue.queued.drain(..take).collect();
        let base_sequence = Sequence(queue.next_sequence);
        queue.next_sequence += batch.len() as u32;
        queue.in_flight.push_back(InFlight {
            values: batch.iter().map(|(v, _)| *v).collect(),
            base_sequence,
            producer_epoch: queue.producer_epoch,
            request: None,
            retry_at: now,
            attempts: 0,
            first_enqueued: batch[0].1,
            maybe_appended: false,
            last_error: String::new(),
            reopened: false,
            gap: false,
            overtaken: false,
        });
        let last = queue.in_flight.len() - 1;
        self.send_batch(now, p, last, out);
    }

    /// Whether in-flight batch `i` may be resent now that its retry is due: any batch
    /// without idempotence, only the oldest with it, and not while it waits out a
    /// sequence gap.
    fn may_resend(&self, i: usize, flight: &InFlight) -> bool {
        !self.config.idempotent_producer || (i == 0 && !flight.gap)
    }

    /// Whether `queue` may open a new batch: the pipeline has room and, with idempotence,
    /// no batch waits for a retry (a new one would overtake it).
    fn may_open_batch(&self, queue: &PartitionQueue) -> bool {
        let room = queue.in_flight.len() < usize::from(self.config.max_in_flight.max(1));
        let retrying =
            self.config.idempotent_producer && queue.in_flight.iter().any(InFlight::waiting);
        room && !retrying
    }

    fn retry_allowed(&self, now: SimTime, flight: &InFlight) -> bool {
        flight.attempts <= self.config.producer_retries
            && now.ms_since(flight.first_enqueued) < self.config.delivery_timeout_ms
    }

    /// Sends batch `i` of partition `p` to its leader. Returns false when the batch was
    /// settled instead (given up for lack of a leader, or acks=0).
    fn send_batch(
        &mut self,
        now: SimTime,
        p: PartitionId,
        i: usize,
        out: &mut Vec<Effect>,
    ) -> bool {
        let leader = self.metadata.leader(p).map(|(leader, _)| leader);
        if let Some(until) = leader.and_then(|l| self.metadata.blocked_until(now, l)) {
            // In its reconnect backoff: the batch waits, unsent (no attempt used), and
            // looks again after `retry.backoff.ms` in case metadata names a new leader.
            let flight = &mut self.queues.get_mut(&p).expect("known").in_flight[i];
            flight.retry_at = until.min(now.plus_ms(self.config.retry_backoff_ms));
            return true;
        }
        let Some(leader) = leader else {
            self.metadata.invalidate();
            let flight = &mut self.queues.get_mut(&p).expect("known").in_flight[i];
            flight.retry_at = now.plus_ms(self.config.retry_backoff_ms);
            if flight.last_error.is_empty() {
                flight.last_error = "no leader known".to_string();
            }
            if now.ms_since(flight.first_enqueued) >= self.config.delivery_timeout_ms {
                self.give_up(p, i, out);
                return false;
            }
            return true;
        };
        self.next_correlation += 1;
        let correlation = self.next_correlation;
        let queue = self.queues.get_mut(&p).expect("known");
        let flight = &mut queue.in_flight[i];
        let batch = ProduceBatch {
            partition: p,
            producer_id: self.producer_id,
            producer_epoch: flight.producer_epoch,
            base_sequence: flight.base_sequence,
            values: flight.values.clone(),
        };
        out.push(Effect::Send {
            to: NodeId::Broker(leader),
            message: Message::Produce {
                correlation,
                acks: self.config.acks,
                timeout_ms: self.config.request_timeout_ms,
                batch,
            },
        });
        if self.config.acks == Acks::Zero {
            let flight = queue.in_flight.remove(i).expect("present");
            for value in flight.values {
                let error = "acks=0: no acknowledgement".to_string();
                out.push(Effect::Trace(EventKind::SendInfo {
                    producer: self.id,
                    partition: p,
                    value,
                    error,
                }));
            }
            return false;
        }
        flight.request = Some((
            correlation,
            now.plus_ms(self.config.request_timeout_ms),
            leader,
        ));
        flight.reopened = false;
        if flight.attempts > 0 {
            out.push(Effect::Trace(EventKind::SendRetry {
                producer: self.id,
                partition: p,
                first: flight.values[0],
                records: flight.values.len() as u32,
                attempt: flight.attempts,
            }));
        }
        true
    }

    /// `answer`: the broker that answered and when it sent the answer (traced only).
    fn on_produce_response(
        &mut self,
        now: SimTime,
        answer: (BrokerId, SimTime),
        correlation: u64,
        p: PartitionId,
        result: Result<Offset, ErrorCode>,
        out: &mut Vec<Effect>,
    ) {
        let Some(queue) = self.queues.get_mut(&p) else {
            return;
        };
        let Some(i) = queue
            .in_flight
            .iter()
            .position(|f| f.request.map(|(c, _, _)| c) == Some(correlation))
        else {
            return; // a late answer to a request we stopped waiting for
        };
        match result {
            Ok(base) => {
                if i > 0 && queue.in_flight[0].gap {
                    self.fail_gap(p, out); // acked ahead of the refused oldest batch
                    return self.on_produce_response(now, answer, correlation, p, result, out);
                }
                let flight = queue.in_flight.remove(i).expect("present");
                // The leader appends one producer epoch's batches in sequence order, so
                // every earlier batch of this epoch is in its log too.
                for earlier in queue.in_flight.iter_mut().take(i) {
                    earlier.overtaken |= earlier.producer_epoch == flight.producer_epoch;
                }
                for (n, value) in flight.values.into_iter().enumerate() {
                    let offset = base.plus(n as u64);
                    out.push(Effect::Trace(EventKind::SendOk {
                        producer: self.id,
                        partition: p,
                        value,
                        offset,
                        broker: answer.0,
                        sent_at: answer.1,
                    }));
                }
            }
            Err(error) => {
                let flight = &mut queue.in_flight[i];
                flight.request = None;
                flight.maybe_appended |= !error.rejected_before_append();
                flight.last_error = error.as_str().to_string();
                flight.attempts += 1;
                flight.retry_at = now.plus_ms(self.config.retry_backoff_ms);
                if matches!(
                    error,
                    ErrorCode::NotLeaderOrFollower
                        | ErrorCode::FencedLeaderEpoch
                        | ErrorCode::UnknownLeaderEpoch
                ) {
                    self.metadata.invalidate();
                }
                // A sequence gap behind an earlier batch that has not landed yet is
                // retriable; for the oldest batch it means the leader lost our state.
                let flight = &self.queues[&p].in_flight[i];
                if error == ErrorCode::OutOfOrderSequenceNumber && flight.overtaken {
                    self.give_up_overtaken(p, i, out);
                    return;
                }
                let reopened = flight.reopened;
                if error == ErrorCode::OutOfOrderSequenceNumber && i == 0 && !reopened {
                    self.on_sequence_gap(now, p, out);
                    return;
                }
                let flight = &self.queues[&p].in_flight[i];
                if !self.retry_allowed(now, flight) {
                    self.give_up(p, i, out);
                }
            }
        }
    }
}

impl StateMachine for Producer {
    fn on_message(&mut self, now: SimTime, from: NodeId, message: Message, out: &mut Vec<Effect>) {
        if let NodeId::Broker(broker) = from {
            self.metadata.on_answer(broker);
        }
        match message {
            Message::ProduceResponse {
                correlation,
                sent_at,
                partition,
                result,
            } => {
                if let NodeId::Broker(broker) = from {
                    let answer = (broker, sent_at);
                    self.on_produce_response(now, answer, correlation, partition, result, out);
                }
            }
            Message::MetadataResponse {
                correlation,
                metadata,
            } => {
                self.metadata.on_response(correlation, *metadata);
            }
            _ => {}
        }
        self.drive(now, out);
    }

    fn on_disconnect(
        &mut self,
        now: SimTime,
        peer: NodeId,
        cause: Disconnect,
        out: &mut Vec<Effect>,
    ) {
        if let NodeId::Broker(broker) = peer {
            self.metadata.on_disconnect(now, broker);
            self.on_broker_disconnect(now, broker, &cause, out);
        }
        self.drive(now, out);
    }

    fn on_timeout(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        for partition in std::mem::take(&mut self.probes) {
            self.enqueue(now, partition, out);
        }
        self.generate(now, out);
        self.drive(now, out);
    }

    fn next_deadline(&self) -> Option<SimTime> {
        let mut deadline = self.metadata.deadline();
        let mut consider = |t: SimTime| deadline = Some(deadline.map_or(t, |d| d.min(t)));
        if self.next_message_at < self.workload.stop_at {
            consider(self.next_message_at);
        }
        for p in &self.partitions {
            if let Some(at) = self.delivery_deadline(*p) {
                consider(at);
            }
        }
        for queue in self.queues.values() {
            // The same rules as `drive_partition`: a deadline that drive would not act on
            // would wake the producer in a loop at one instant.
            for (i, flight) in queue.in_flight.iter().enumerate() {
                match flight.request {
                    Some((_, at, _)) => consider(at),
                    None if self.may_resend(i, flight) => consider(flight.retry_at),
                    None => {}
                }
            }
            if self.may_open_batch(queue)
                && let Some((_, oldest)) = queue.queued.front()
            {
                consider(oldest.plus_ms(self.config.linger_ms));
            }
        }
        deadline
    }
}

#[cfg(test)]
mod tests;
