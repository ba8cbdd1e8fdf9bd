//! Availability as clients saw it: every send's latency, and the outages of each
//! partition with the fault that began them.
//!
//! [`Availability::of`] reads a finished `&History` in one pass, like a checker (it sees
//! nothing else, so it depends only on the run's history):
//! - **produce latency**: per send, `SendInvoke` to the completion with the same
//!   producer, partition and value ([`SendTiming`]); the percentiles (nearest rank) are
//!   over the acknowledged sends invoked during the workload ([`sends::produce_latency`]);
//! - **outages**: per partition, the stretches of the workload, at least
//!   [`MIN_OUTAGE_MS`] long, in which it acknowledged none of the writes its producers
//!   had outstanding ([`Outage`] has the exact definition), each with its cause and
//!   [`FaultKind`] ([`cause`] has the rules).
//!
//! The workload is the history up to the finale's `heal` phase (the scenario's
//! `duration_ms`; a history without one: all of it). With `acks=0` no send is ever
//! acknowledged: the latency figures are empty (`null` in JSON) and no outage is
//! reported. [`Histogram`] keeps the same figures small enough to sum over many seeds.

pub mod active;
pub mod cause;
pub mod histogram;
pub mod outages;
pub mod sends;

use std::collections::BTreeMap;

pub use cause::{Cause, FaultKind};
pub use histogram::Histogram;
pub use outages::Outage;
pub use sends::{Percentiles, SendOutcome, SendTiming};

use crate::history::{Event, EventKind, History};
use crate::types::{MessageId, PartitionId, SimTime};
use cause::CauseLog;
use outages::OutageTracker;
use sends::SendBook;

/// The shortest silence counted as an outage. In the calm scenario (no faults, a write
/// every 5 ms) the longest gap between two acknowledgements of a partition is about
/// 120 ms (an idempotent batch that overtook the one before it is refused with
/// `OUT_OF_ORDER_SEQUENCE_NUMBER` and resent); ordinary gaps are 5 to 30 ms. 250 ms is
/// twice the calm worst, and still well below what any fault costs (a heartbeat
/// interval, a replica lag or session timeout, a request timeout: 300 ms and more in
/// every shipped scenario).
pub const MIN_OUTAGE_MS: u64 = 250;

/// A run's sends and outages.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Availability {
    /// Where the workload ended (the finale's `heal` phase).
    pub workload_end: SimTime,
    /// Every send of the history (the finale's probes too, `in_workload: false`), in
    /// invocation order.
    pub sends: Vec<SendTiming>,
    /// Latency of the acknowledged workload sends.
    pub produce_latency: Percentiles,
    /// Every outage, by start time (then partition).
    pub outages: Vec<Outage>,
}

impl Availability {
    /// Reads `history` in one pass.
    pub fn of(history: &History) -> Availability {
        let mut pass = Pass::default();
        for (index, event) in history.events.iter().enumerate() {
            pass.event(index, event);
        }
        let end = history.events.last().map_or(SimTime::ZERO, |e| e.time);
        pass.end_workload(end); // without a `heal` phase, the whole history
        let outages = pass
            .spans
            .iter()
            .map(|span| {
                let cause = pass
                    .causes
                    .attribute(history, span.partition, span.from, span.to);
                Outage {
                    partition: span.partition,
                    from: span.from,
                    to: span.to,
                    open: span.open,
                    cause: cause.description,
                    kind: cause.kind,
                    cause_event: cause.event,
                }
            })
            .collect();
        Availability {
            workload_end: pass.workload_end.unwrap_or(end),
            produce_latency: sends::produce_latency(&pass.book.sends),
            sends: pass.book.sends,
            outages,
        }
    }

    /// The produce latencies of [`Self::produce_latency`], bucketed for summing over seeds.
    pub fn latency_histogram(&self) -> Histogram {
        sends::latency_histogram(&self.sends)
    }

    /// The longest outage (the earliest of equally long ones).
    pub fn worst_outage(&self) -> Option<&Outage> {
        self.outages.iter().rev().max_by_key(|o| o.length_us())
    }

    /// The outage lengths per kind of fault that began them.
    pub fn outage_lengths_by_kind(&self) -> BTreeMap<FaultKind, Histogram> {
        let mut by_kind: BTreeMap<FaultKind, Histogram> = BTreeMap::new();
        for outage in &self.outages {
            by_kind
                .entry(outage.kind)
                .or_default()
                .record(outage.length_us());
        }
        by_kind
    }
}

/// The state of [`Availability::of`]'s pass.
#[derive(Default)]
struct Pass {
    book: SendBook,
    tracker: OutageTracker,
    causes: CauseLog,
    /// Set at the finale's `heal` phase.
    workload_end: Option<SimTime>,
    /// The unacknowledged stretches long enough to be outages, once the workload ended.
    spans: Vec<outages::Span>,
}

impl Pass {
    fn event(&mut self, index: usize, event: &Event) {
        let t = event.time;
        match &event.kind {
            EventKind::SendInvoke {
                producer,
                partition,
                value,
            } => {
                let in_workload = self.workload_end.is_none();
                self.book
                    .invoke(t, (*producer, *partition, *value), in_workload);
                if in_workload {
                    self.tracker.invoke(*partition, t);
                }
            }
            EventKind::SendOk {
                producer,
                partition,
                value,
                ..
            } => self.complete(t, (*producer, *partition, *value), SendOutcome::Ok),
            EventKind::SendFail {
                producer,
                partition,
                value,
                ..
            } => self.complete(t, (*producer, *partition, *value), SendOutcome::Fail),
            EventKind::SendInfo {
                producer,
                partition,
                value,
                ..
            } => {
                let send = (*producer, *partition, *value);
                self.complete(t, send, SendOutcome::Indeterminate)
            }
            EventKind::Fault { description } => self.causes.fault(t, index, description),
            EventKind::LeaderElected { partition, .. } => {
                self.causes.election(t, *partition, index)
            }
            EventKind::ReplicaRecovered {
                broker, partition, ..
            }
            | EventKind::BecameLeader {
                broker, partition, ..
            }
            | EventKind::BecameFollower {
                broker, partition, ..
            } => self.causes.replica(*partition, *broker),
            EventKind::Phase { name } if name == "heal" => self.end_workload(t),
            _ => {}
        }
    }

    /// A send completed; during the workload it moves its partition's clock.
    fn complete(&mut self, t: SimTime, send: (u8, PartitionId, MessageId), outcome: SendOutcome) {
        let matched = self.book.complete(t, send, outcome).is_some();
        if !matched || self.workload_end.is_some() {
            return;
        }
        match outcome {
            SendOutcome::Ok => self.tracker.ack(send.1, t),
            _ => self.tracker.unacknowledged(send.1, t),
        }
    }

    /// The workload ended at `t` (only the first call counts).
    fn end_workload(&mut self, t: SimTime) {
        if self.workload_end.is_none() {
            self.workload_end = Some(t);
            self.spans = std::mem::take(&mut self.tracker).finish(t);
        }
    }
}

#[cfg(test)]
mod tests;
