//! What the report's two plots show, over simulated time, from a finished run: the
//! faults with their ends, the outages, the sends to draw as dots (thinned to a fixed
//! maximum) and the acknowledgements per time bucket. Read from the history and its
//! [`Availability`] only.

use crate::availability::active::Active;
use crate::availability::{Availability, FaultKind, Outage, SendOutcome, SendTiming};
use crate::fault_mark::parse;
use crate::history::{EventKind, History};
use crate::types::SimTime;

/// Most dots in the latency plot.
pub const DOTS_MAX: usize = 5000;
/// Most of those for sends that were not acknowledged (failed, indeterminate, never
/// completed); every one is drawn while there are at most this many.
pub const NOT_OK_DOTS_MAX: usize = 4000;
/// Most throughput buckets: the bucket is the shortest of [`BUCKETS_MS`] that keeps the
/// run within this many.
pub const BUCKETS_MAX: u64 = 300;
/// The throughput bucket lengths to choose from, in ms.
pub const BUCKETS_MS: [u64; 12] = [
    10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000,
];

/// One fault from its start to the event that ended it (as
/// [`crate::availability::active`] replays them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSpan {
    /// When it began.
    pub from: SimTime,
    /// When it ended, or the end of the history when `open`.
    pub to: SimTime,
    /// Still in effect when the history ended.
    pub open: bool,
    /// Its kind.
    pub kind: FaultKind,
    /// The history's description, `crash broker-2`.
    pub text: String,
}

/// Every fault of `history` that starts something, with its end; a fault never ended
/// runs to `end`.
pub fn fault_spans(history: &History, end: SimTime) -> Vec<FaultSpan> {
    let mut active = Active::default();
    let mut spans: Vec<FaultSpan> = Vec::new();
    let mut record_of: Vec<Option<usize>> = Vec::new(); // fault record -> span
    for event in &history.events {
        let EventKind::Fault { description } = &event.kind else {
            continue;
        };
        let mark = parse(description);
        let before = active.starts.clone();
        let record = record_of.len();
        record_of.push(None);
        if active.apply(record, mark.as_ref()) {
            record_of[record] = Some(spans.len());
            spans.push(FaultSpan {
                from: event.time,
                to: end,
                open: true,
                kind: mark.as_ref().map_or(FaultKind::Other, FaultKind::of),
                text: description.clone(),
            });
        }
        for ended in before.iter().filter(|s| !active.starts.contains(s)) {
            if let Some(span) = record_of[*ended].map(|i| &mut spans[i]) {
                span.to = event.time;
                span.open = false;
            }
        }
    }
    spans
}

/// One send as a dot: invocation time and latency (none: it never completed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dot {
    /// When it was invoked, µs.
    pub invoked_us: u64,
    /// Invocation to completion, µs; `None` when it never completed.
    pub latency_us: Option<u64>,
    /// How it ended.
    pub outcome: SendOutcome,
}

/// The dots drawn, and how many sends there were of each outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dots {
    /// The dots to draw, by invocation time within each group (acknowledged first).
    pub shown: Vec<Dot>,
    /// Sends per outcome: ok, fail, indeterminate, never completed.
    pub totals: [usize; 4],
    /// Acknowledged sends among `shown`.
    pub ok_shown: usize,
    /// The others among `shown`.
    pub not_ok_shown: usize,
}

/// Index of an outcome in [`Dots::totals`].
pub fn outcome_index(outcome: SendOutcome) -> usize {
    match outcome {
        SendOutcome::Ok => 0,
        SendOutcome::Fail => 1,
        SendOutcome::Indeterminate => 2,
        SendOutcome::Pending => 3,
    }
}

/// The sends as dots, at most [`DOTS_MAX`]: every unacknowledged one while there are at
/// most [`NOT_OK_DOTS_MAX`], and acknowledged ones for the rest; a group over its quota
/// is thinned by [`thin`], which keeps the slowest send of every stretch.
pub fn dots(sends: &[SendTiming]) -> Dots {
    let dot = |s: &SendTiming| Dot {
        invoked_us: s.invoked.0,
        latency_us: s.latency_us(),
        outcome: s.outcome,
    };
    let (ok, not_ok): (Vec<Dot>, Vec<Dot>) = sends
        .iter()
        .map(dot)
        .partition(|d| d.outcome == SendOutcome::Ok);
    let not_ok = thin(not_ok, NOT_OK_DOTS_MAX);
    let ok = thin(ok, DOTS_MAX - not_ok.len());
    let mut totals = [0; 4];
    for s in sends {
        totals[outcome_index(s.outcome)] += 1;
    }
    let (ok_shown, not_ok_shown) = (ok.len(), not_ok.len());
    let mut shown = ok;
    shown.extend(not_ok);
    Dots {
        shown,
        totals,
        ok_shown,
        not_ok_shown,
    }
}

/// At most `quota` of `dots` (in order): all of them if they fit, else from each of
/// `quota / 2` equal runs of consecutive dots the first and the slowest (a dot that never
/// completed counts as the slowest; the middle one when the first is the slowest), so
/// that latency spikes survive thinning.
pub fn thin(dots: Vec<Dot>, quota: usize) -> Vec<Dot> {
    if dots.len() <= quota {
        return dots;
    }
    if quota < 2 {
        return dots.into_iter().take(quota).collect();
    }
    let runs = quota / 2;
    let mut kept = Vec::with_capacity(quota);
    for run in 0..runs {
        let chunk = &dots[run * dots.len() / runs..(run + 1) * dots.len() / runs];
        let slowest = (0..chunk.len())
            .max_by_key(|i| {
                let latency = chunk[*i].latency_us.unwrap_or(u64::MAX);
                (latency, std::cmp::Reverse(*i))
            })
            .unwrap_or(0);
        kept.push(chunk[0]);
        let second = if slowest == 0 {
            chunk.len() / 2
        } else {
            slowest
        };
        if second != 0 {
            kept.push(chunk[second]);
        }
    }
    kept
}

/// Completions per time bucket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Throughput {
    /// The bucket length, ms.
    pub bucket_ms: u64,
    /// Acknowledgements completed in each bucket.
    pub ok: Vec<u32>,
    /// Failed and indeterminate completions in each bucket.
    pub not_ok: Vec<u32>,
}

/// The completions of `sends` per bucket over `0..end`.
pub fn throughput(sends: &[SendTiming], end: SimTime) -> Throughput {
    let end_ms = end.as_ms().max(1);
    let bucket_ms = BUCKETS_MS
        .into_iter()
        .find(|b| end_ms.div_ceil(*b) <= BUCKETS_MAX)
        .unwrap_or(end_ms.div_ceil(BUCKETS_MAX));
    let buckets = end_ms.div_ceil(bucket_ms) as usize;
    let mut t = Throughput {
        bucket_ms,
        ok: vec![0; buckets],
        not_ok: vec![0; buckets],
    };
    for s in sends {
        let Some(done) = s.completed else { continue };
        let i = ((done.as_ms() / bucket_ms) as usize).min(buckets - 1);
        match s.outcome {
            SendOutcome::Ok => t.ok[i] += 1,
            _ => t.not_ok[i] += 1,
        }
    }
    t
}

/// Everything the two plots draw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    /// The last event's time, µs: the plots' right edge.
    pub end_us: u64,
    /// Where the workload ended and the finale began, µs.
    pub workload_end_us: u64,
    /// Partition names, by partition id.
    pub partitions: Vec<String>,
    /// The faults.
    pub faults: Vec<FaultSpan>,
    /// The outages, by start.
    pub outages: Vec<Outage>,
    /// The latency plot's dots.
    pub dots: Dots,
    /// The throughput plot's bars.
    pub throughput: Throughput,
}

impl Timeline {
    /// The timeline of a finished run.
    pub fn of(history: &History, availability: &Availability) -> Timeline {
        let end = history.events.last().map_or(SimTime::ZERO, |e| e.time);
        Timeline {
            end_us: end.0,
            workload_end_us: availability.workload_end.0,
            partitions: history.partition_names.clone(),
            faults: fault_spans(history, end),
            outages: availability.outages.clone(),
            dots: dots(&availability.sends),
            throughput: throughput(&availability.sends, end),
        }
    }
}

#[cfg(test)]
mod tests;
