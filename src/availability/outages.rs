//! Outages: the stretches of the workload in which a partition acknowledged none of the
//! writes its producers had outstanding (the definition is on [`Outage`]).

use crate::availability::MIN_OUTAGE_MS;
use crate::availability::cause::FaultKind;
use crate::types::{PartitionId, SimTime};

/// A stretch of the workload in which a partition acknowledged no write although its
/// producers had writes outstanding.
///
/// Exactly: after the partition's first acknowledgement, a stretch begins at an
/// acknowledgement that leaves writes of the partition outstanding (invoked, not yet
/// completed), or at the first invocation after an acknowledgement that left none; it
/// ends at the next acknowledgement. Failed and indeterminate completions do not end it
/// (a partition that refuses every write is down, not up), except that once nothing is
/// outstanding for at least [`MIN_OUTAGE_MS`] the stretch ends at the completion that
/// left nothing outstanding (no one was asking the partition for anything). A stretch
/// still running when the workload ends (`duration_ms`, where the finale's `heal` phase
/// begins) ends there and is `open`. A stretch is an outage when it lasts at least
/// [`MIN_OUTAGE_MS`].
///
/// Before a partition's first acknowledgement the cluster is starting (registrations,
/// the first elections and metadata): no outage is counted then. With `acks=0` nothing
/// is ever acknowledged, so no outage is reported at all: availability is invisible to
/// such a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outage {
    /// The partition.
    pub partition: PartitionId,
    /// The last acknowledgement before the silence (or the first write after it).
    pub from: SimTime,
    /// The acknowledgement that ended it, or the end of the workload when `open`.
    pub to: SimTime,
    /// Still unacknowledged when the workload ended.
    pub open: bool,
    /// What began it, readable (`crash broker-2`; rules in [`super::cause`]).
    pub cause: String,
    /// The kind of fault that began it.
    pub kind: FaultKind,
    /// The history event `cause` comes from, if any.
    pub cause_event: Option<usize>,
}

impl Outage {
    /// How long it lasted, in microseconds.
    pub fn length_us(&self) -> u64 {
        self.to.0.saturating_sub(self.from.0)
    }

    /// How long it lasted in whole milliseconds, as `to_ms - from_ms`.
    pub fn length_ms(&self) -> u64 {
        self.to.as_ms() - self.from.as_ms()
    }
}

/// An unacknowledged stretch long enough to be an outage, before its cause is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Span {
    pub partition: PartitionId,
    pub from: SimTime,
    pub to: SimTime,
    pub open: bool,
}

/// One partition's acknowledgement clock.
#[derive(Clone, Copy, Debug, Default)]
struct Clock {
    /// Workload writes invoked and not yet completed.
    outstanding: u32,
    /// Whether any write was acknowledged yet.
    acked_once: bool,
    /// The start of the current unacknowledged stretch.
    from: Option<SimTime>,
    /// When a failure or indeterminate completion left nothing outstanding in a stretch.
    idle_since: Option<SimTime>,
}

/// Follows every partition's clock through the workload and collects the spans.
#[derive(Default)]
pub(super) struct OutageTracker {
    clocks: Vec<Clock>,
    spans: Vec<Span>,
}

const MIN_OUTAGE_US: u64 = MIN_OUTAGE_MS * 1000;

impl OutageTracker {
    fn clock(&mut self, partition: PartitionId) -> &mut Clock {
        let i = partition.0 as usize;
        if self.clocks.len() <= i {
            self.clocks.resize(i + 1, Clock::default());
        }
        &mut self.clocks[i]
    }

    /// A write to `partition` was invoked at `at`.
    pub fn invoke(&mut self, partition: PartitionId, at: SimTime) {
        let clock = *self.clock(partition);
        let mut next = clock;
        next.outstanding += 1;
        if let Some(idle) = clock.idle_since {
            next.idle_since = None;
            if at.0 - idle.0 >= MIN_OUTAGE_US {
                let from = clock.from.expect("idle only within a stretch");
                self.close(partition, from, idle, false);
                next.from = Some(at);
            }
        } else if clock.from.is_none() && clock.acked_once {
            next.from = Some(at);
        }
        *self.clock(partition) = next;
    }

    /// A write to `partition` was acknowledged at `at`.
    pub fn ack(&mut self, partition: PartitionId, at: SimTime) {
        let clock = *self.clock(partition);
        if let Some(from) = clock.from {
            self.close(partition, from, at, false);
        }
        let outstanding = clock.outstanding.saturating_sub(1);
        *self.clock(partition) = Clock {
            outstanding,
            acked_once: true,
            from: (outstanding > 0).then_some(at),
            idle_since: None,
        };
    }

    /// A write to `partition` failed or became indeterminate at `at`.
    pub fn unacknowledged(&mut self, partition: PartitionId, at: SimTime) {
        let clock = self.clock(partition);
        clock.outstanding = clock.outstanding.saturating_sub(1);
        if clock.outstanding == 0 && clock.from.is_some() {
            clock.idle_since = Some(at);
        }
    }

    /// The workload ended at `end`: closes every running stretch and gives the spans in
    /// order of their start (then partition).
    pub fn finish(mut self, end: SimTime) -> Vec<Span> {
        let running: Vec<(PartitionId, Clock)> = self
            .clocks
            .iter()
            .enumerate()
            .map(|(i, c)| (PartitionId(i as u16), *c))
            .collect();
        for (partition, clock) in running {
            let Some(from) = clock.from else { continue };
            match clock.idle_since {
                Some(idle) => self.close(partition, from, idle, false),
                None => self.close(partition, from, end.max(from), true),
            }
        }
        self.spans.sort_by_key(|s| (s.from, s.partition));
        self.spans
    }

    fn close(&mut self, partition: PartitionId, from: SimTime, to: SimTime, open: bool) {
        if to.0.saturating_sub(from.0) >= MIN_OUTAGE_US {
            self.spans.push(Span {
                partition,
                from,
                to,
                open,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P0: PartitionId = PartitionId(0);
    const P1: PartitionId = PartitionId(1);

    fn t(ms: u64) -> SimTime {
        SimTime::from_ms(ms)
    }

    fn span(partition: PartitionId, from: u64, to: u64, open: bool) -> Span {
        Span {
            partition,
            from: t(from),
            to: t(to),
            open,
        }
    }

    /// Writes every 10 ms from `from` to `to`, each acknowledged 20 ms later (but none
    /// acknowledged in `[silent_from, silent_to)`: those all at `silent_to`).
    fn steady(tracker: &mut OutageTracker, p: PartitionId, from: u64, to: u64, silent: (u64, u64)) {
        let mut acks = Vec::new();
        let mut ms = from;
        while ms < to {
            let ack = ms + 20;
            acks.push(if ack >= silent.0 && ack < silent.1 {
                silent.1
            } else {
                ack
            });
            ms += 10;
        }
        let mut pending = acks.iter().peekable();
        let mut ms = from;
        while ms < to {
            while let Some(a) = pending.next_if(|a| **a <= ms) {
                tracker.ack(p, t(*a));
            }
            tracker.invoke(p, t(ms));
            ms += 10;
        }
        for a in pending {
            tracker.ack(p, t(*a));
        }
    }

    #[test]
    fn a_steady_partition_has_no_outage() {
        let mut tracker = OutageTracker::default();
        steady(&mut tracker, P0, 0, 5000, (0, 0));
        assert_eq!(tracker.finish(t(6000)), vec![]);
    }

    #[test]
    fn a_silence_runs_from_the_last_ack_to_the_next() {
        let mut tracker = OutageTracker::default();
        steady(&mut tracker, P0, 0, 5000, (3001, 4500));
        steady(&mut tracker, P1, 0, 5000, (2000, 2200)); // 210 ms: too short
        assert_eq!(tracker.finish(t(6000)), vec![span(P0, 3000, 4500, false)]);
    }

    #[test]
    fn a_stretch_still_running_at_the_end_of_the_workload_is_open() {
        let mut tracker = OutageTracker::default();
        tracker.invoke(P0, t(10));
        tracker.ack(P0, t(20));
        tracker.invoke(P0, t(100));
        tracker.invoke(P0, t(110));
        assert_eq!(tracker.finish(t(900)), vec![span(P0, 100, 900, true)]);
    }

    #[test]
    fn refused_writes_keep_it_down_until_nothing_is_asked_for_long() {
        let mut tracker = OutageTracker::default();
        tracker.invoke(P0, t(0));
        tracker.ack(P0, t(10));
        // Every write refused at once, one every 100 ms: one outage, not many.
        for i in 0..10 {
            tracker.invoke(P0, t(100 + 100 * i));
            tracker.unacknowledged(P0, t(101 + 100 * i));
        }
        // Then nothing for a second; a new write is acknowledged quickly.
        tracker.invoke(P0, t(2001));
        tracker.ack(P0, t(2010));
        assert_eq!(tracker.finish(t(3000)), vec![span(P0, 100, 1001, false)]);
    }

    #[test]
    fn nothing_before_the_first_acknowledgement_counts() {
        let mut tracker = OutageTracker::default();
        tracker.invoke(P0, t(1));
        tracker.invoke(P0, t(5));
        tracker.ack(P0, t(1100)); // start-up
        tracker.ack(P0, t(1101));
        tracker.unacknowledged(P1, t(50));
        for ms in [10, 20, 30] {
            tracker.invoke(P1, t(ms)); // acks=0: never acknowledged
            tracker.unacknowledged(P1, t(ms));
        }
        assert_eq!(tracker.finish(t(5000)), vec![]);
    }
}
