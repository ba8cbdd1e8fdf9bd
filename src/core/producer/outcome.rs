//! How a batch ends without success: definite failure or indeterminate (protocol.md 3),
//! and, with the idempotent producer before KIP-360's renumbering, every batch behind it.

use crate::core::Effect;
use crate::core::producer::{InFlight, Producer};
use crate::history::EventKind;
use crate::types::{MessageId, PartitionId, ProducerEpoch, SimTime};

impl Producer {
    /// Gives up every batch of `p` that waits for a retry it may not have (out of retries
    /// or past `delivery.timeout.ms`).
    pub(super) fn give_up_exhausted(
        &mut self,
        now: SimTime,
        p: PartitionId,
        out: &mut Vec<Effect>,
    ) {
        while let Some(i) = (0..self.queues[&p].in_flight.len()).find(|i| {
            let flight = &self.queues[&p].in_flight[*i];
            flight.waiting() && !flight.gap && !self.retry_allowed(now, flight)
        }) {
            self.give_up(p, i, out);
        }
    }

    /// Ends batch `i` without success: fail if no attempt can have been appended. With
    /// the idempotent producer every later batch ends too, and the producer epoch is
    /// bumped so that sequences start again at 0 (KIP-360): the later batches' sequences
    /// followed the abandoned one and could never be accepted.
    pub(super) fn give_up(&mut self, p: PartitionId, i: usize, out: &mut Vec<Effect>) {
        let queue = self.queues.get_mut(&p).expect("known");
        let ended: Vec<InFlight> = if self.config.idempotent_producer {
            queue.in_flight.drain(i..).collect()
        } else {
            queue.in_flight.remove(i).into_iter().collect()
        };
        let cause = ended
            .first()
            .map(|f| f.last_error.clone())
            .unwrap_or_default();
        for (n, flight) in ended.into_iter().enumerate() {
            // A later batch still waiting for its answer may have been appended.
            let maybe_appended = flight.maybe_appended || (n > 0 && flight.request.is_some());
            let error = if n == 0 {
                flight.last_error.clone()
            } else {
                format!("an earlier batch failed ({cause})")
            };
            report_failed(self.id, p, flight.values, &error, maybe_appended, out);
        }
        let queue = self.queues.get_mut(&p).expect("known");
        if self.config.idempotent_producer {
            queue.producer_epoch = ProducerEpoch(queue.producer_epoch.0 + 1);
            queue.next_sequence = 0;
        }
    }
}

/// Reports every value of a batch that ended without success: indeterminate when an
/// attempt may have been appended, else a definite failure.
pub(super) fn report_failed(
    producer: u8,
    partition: PartitionId,
    values: Vec<MessageId>,
    error: &str,
    maybe_appended: bool,
    out: &mut Vec<Effect>,
) {
    for value in values {
        let error = error.to_string();
        let kind = if maybe_appended {
            EventKind::SendInfo {
                producer,
                partition,
                value,
                error,
            }
        } else {
            EventKind::SendFail {
                producer,
                partition,
                value,
                error,
            }
        };
        out.push(Effect::Trace(kind));
    }
}
