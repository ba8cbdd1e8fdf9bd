//! Per-send timing: when each send was invoked, how and when it completed, and the
//! produce latency percentiles of the acknowledged ones.

use std::collections::BTreeMap;

use crate::availability::histogram::{Histogram, nearest_rank};
use crate::types::{MessageId, PartitionId, SimTime};

/// How a send ended, as the history records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SendOutcome {
    /// `SendOk`: acknowledged (definitely written).
    Ok,
    /// `SendFail`: definitely not written.
    Fail,
    /// `SendInfo`: indeterminate (timeout, lost reply, error after append; every send
    /// with acks=0).
    Indeterminate,
    /// No completion in the history (the run ended, or panicked, first).
    Pending,
}

impl SendOutcome {
    /// `ok`, `fail`, `info` (as the exported history names them) or `pending`.
    pub fn as_str(self) -> &'static str {
        match self {
            SendOutcome::Ok => "ok",
            SendOutcome::Fail => "fail",
            SendOutcome::Indeterminate => "info",
            SendOutcome::Pending => "pending",
        }
    }
}

/// One send, from its invocation to its completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendTiming {
    /// The producer client number.
    pub producer: u8,
    /// The partition it was sent to.
    pub partition: PartitionId,
    /// The message.
    pub value: MessageId,
    /// When the producer was asked to send it (`SendInvoke`).
    pub invoked: SimTime,
    /// When it completed (`SendOk`, `SendFail` or `SendInfo`), if it did.
    pub completed: Option<SimTime>,
    /// How it completed.
    pub outcome: SendOutcome,
    /// Whether it was invoked during the workload (before the finale's `heal` phase; the
    /// finale's probe writes are not).
    pub in_workload: bool,
}

impl SendTiming {
    /// Invocation to completion in microseconds, if it completed.
    pub fn latency_us(&self) -> Option<u64> {
        self.completed.map(|c| c.0.saturating_sub(self.invoked.0))
    }
}

/// p50, p99 and the maximum of a set of durations (exact, nearest rank), in
/// microseconds; all `None` when the set is empty.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Percentiles {
    /// How many values.
    pub count: u64,
    /// The median.
    pub p50_us: Option<u64>,
    /// The 99th percentile.
    pub p99_us: Option<u64>,
    /// The largest.
    pub max_us: Option<u64>,
}

impl Percentiles {
    /// The percentiles of `values` (any order).
    pub fn of(mut values: Vec<u64>) -> Percentiles {
        values.sort_unstable();
        let count = values.len() as u64;
        let at = |percent: f64| nearest_rank(percent, count).map(|r| values[r as usize - 1]);
        Percentiles {
            count,
            p50_us: at(50.0),
            p99_us: at(99.0),
            max_us: values.last().copied(),
        }
    }
}

/// Builds the [`SendTiming`] list during the availability pass.
#[derive(Default)]
pub(super) struct SendBook {
    /// Every send, in invocation order.
    pub sends: Vec<SendTiming>,
    /// Sends not completed yet: (producer, value) -> index into `sends`.
    open: BTreeMap<(u8, MessageId), usize>,
}

impl SendBook {
    /// A send was invoked.
    pub fn invoke(&mut self, at: SimTime, send: (u8, PartitionId, MessageId), in_workload: bool) {
        let (producer, partition, value) = send;
        self.open.insert((producer, value), self.sends.len());
        self.sends.push(SendTiming {
            producer,
            partition,
            value,
            invoked: at,
            completed: None,
            outcome: SendOutcome::Pending,
            in_workload,
        });
    }

    /// A send completed; gives it back, `None` for a completion without an invocation
    /// (or with a different partition), which a well-formed history does not have.
    pub fn complete(
        &mut self,
        at: SimTime,
        send: (u8, PartitionId, MessageId),
        outcome: SendOutcome,
    ) -> Option<&SendTiming> {
        let (producer, partition, value) = send;
        let index = self.open.remove(&(producer, value))?;
        let timing = &mut self.sends[index];
        if timing.partition != partition {
            return None;
        }
        timing.completed = Some(at);
        timing.outcome = outcome;
        Some(timing)
    }
}

/// Latency percentiles of the acknowledged sends invoked during the workload.
pub fn produce_latency(sends: &[SendTiming]) -> Percentiles {
    Percentiles::of(acknowledged_latencies(sends).collect())
}

/// The same latencies, bucketed for summing over seeds.
pub fn latency_histogram(sends: &[SendTiming]) -> Histogram {
    let mut histogram = Histogram::default();
    for us in acknowledged_latencies(sends) {
        histogram.record(us);
    }
    histogram
}

fn acknowledged_latencies(sends: &[SendTiming]) -> impl Iterator<Item = u64> + '_ {
    sends
        .iter()
        .filter(|s| s.in_workload && s.outcome == SendOutcome::Ok)
        .filter_map(SendTiming::latency_us)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P0: PartitionId = PartitionId(0);

    fn m(index: u32) -> MessageId {
        MessageId { producer: 1, index }
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let p = Percentiles::of((1..=200).rev().collect());
        assert_eq!(
            (p.count, p.p50_us, p.p99_us, p.max_us),
            (200, Some(100), Some(198), Some(200))
        );
        let one = Percentiles::of(vec![42]);
        assert_eq!(
            (one.p50_us, one.p99_us, one.max_us),
            (Some(42), Some(42), Some(42))
        );
        assert_eq!(Percentiles::of(Vec::new()), Percentiles::default());
    }

    #[test]
    fn the_book_pairs_completions_with_invocations_and_keeps_only_workload_acks() {
        let mut book = SendBook::default();
        let t = SimTime::from_ms;
        book.invoke(t(1), (1, P0, m(0)), true);
        book.invoke(t(2), (1, P0, m(1)), true);
        book.invoke(t(3), (1, P0, m(2)), true);
        book.invoke(t(4), (1, P0, m(3)), true);
        book.invoke(t(30), (1, P0, m(4)), false); // a finale probe
        let ok = book
            .complete(t(11), (1, P0, m(0)), SendOutcome::Ok)
            .unwrap();
        assert_eq!(ok.latency_us(), Some(10_000));
        book.complete(t(32), (1, P0, m(1)), SendOutcome::Ok);
        book.complete(t(5), (1, P0, m(2)), SendOutcome::Fail);
        book.complete(t(31), (1, P0, m(4)), SendOutcome::Ok);
        assert!(
            book.complete(t(40), (1, P0, m(9)), SendOutcome::Ok)
                .is_none()
        );
        let outcomes: Vec<SendOutcome> = book.sends.iter().map(|s| s.outcome).collect();
        use SendOutcome::*;
        assert_eq!(outcomes, vec![Ok, Ok, Fail, Pending, Ok]);
        let p = produce_latency(&book.sends);
        assert_eq!(
            (p.count, p.p50_us, p.max_us),
            (2, Some(10_000), Some(30_000))
        );
        let h = latency_histogram(&book.sends);
        assert_eq!((h.count, h.max_us), (2, 30_000));
    }
}
