//! A violation told in plain words, from the recorded history: one sentence saying what
//! went wrong (the headline: the write that was lost, the read that should not have
//! happened, ...), then the story on its partition, oldest first: the faults, leader
//! elections, ISR changes, truncations and high-watermark moves that led to it, and the
//! acknowledgement or read itself. `kafkasim shrink` prints it for the shrunk run, `run`
//! for its first violation.
//!
//! - `headline.rs`: the sentence, by violation kind.
//! - `window.rs`: the span of the history the story is told from (for a lost write: from
//!   the append of the acknowledged copy until the last replica lost it).
//! - `story.rs`: which events of the window make the story (the violation's evidence, the
//!   faults and the partition's elections, ISR changes and truncations), and how much
//!   each matters.
//! - `state.rs`: the partition as the history has it at each event (leader, ISR, HWs),
//!   for the words "the leader", "in the ISR", "below its high watermark".
//! - `words.rs`, `fault_words.rs`, `client_words.rs`: one event in plain words.
//! - `cap.rs`: at most [`STEPS_MAX`] steps: runs of similar events collapse, then the
//!   least important steps are left out.
//!
//! Architecture invariant: like the checkers and the views, it reads a finished
//! `History` only; it never runs or changes a simulation.

mod cap;
mod client_words;
mod fault_words;
mod headline;
mod state;
mod story;
mod window;
mod words;

#[cfg(test)]
mod tests;

use std::fmt::Write as _;

use serde::{Serialize, Serializer};

use crate::history::{EventKind, History};
use crate::types::{MessageId, PartitionId, SimTime};
use crate::violation::{Violation, ViolationKind};

/// Most steps an explanation shows.
pub const STEPS_MAX: usize = 15;

/// A violation in plain words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// One sentence: what went wrong.
    pub headline: String,
    /// What led to it, oldest first (at most [`STEPS_MAX`]).
    pub steps: Vec<Step>,
    /// How many events of the story were left out to keep it short.
    pub left_out: usize,
}

/// One step of the story.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    /// When it happened (in the JSON: `time_ms`, simulated milliseconds).
    #[serde(rename = "time_ms", serialize_with = "time_ms")]
    pub time: SimTime,
    /// The history event it tells of (index into `History::events`); for a step that
    /// stands for several similar events, the last of them.
    pub event: Option<usize>,
    /// What happened, in plain words.
    pub text: String,
}

/// Explains `violation` from the `history` it was found in.
pub fn explain(history: &History, violation: &Violation) -> Explanation {
    let focus = Focus::of(history, violation);
    let story = story::gather(history, &focus);
    let (steps, left_out) = cap::cap(story, STEPS_MAX);
    Explanation {
        headline: headline::of(history, violation, &focus),
        steps,
        left_out,
    }
}

impl Explanation {
    /// The headline, then one numbered line per step with its time, e.g.
    /// `  1. at 3.012 s broker-1 (the leader of events-0) crashed`.
    pub fn render(&self) -> String {
        let mut text = format!("{}\n", self.headline);
        let width = self.steps.len().to_string().len();
        for (i, step) in self.steps.iter().enumerate() {
            let number = i + 1;
            let at = seconds(step.time);
            let _ = writeln!(text, "  {number:>width$}. at {at} {}", step.text);
        }
        if self.left_out > 0 {
            let n = self.left_out;
            let events = if n == 1 { "event" } else { "events" };
            let _ = writeln!(
                text,
                "  ({n} less important {events} left out; `kafkasim step` shows every event)"
            );
        }
        text
    }
}

/// A simulated time in seconds with millisecond precision: `3.012 s`.
pub fn seconds(time: SimTime) -> String {
    format!("{}.{:03} s", time.0 / 1_000_000, time.0 / 1000 % 1000)
}

fn time_ms<S: Serializer>(time: &SimTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(time.0 as f64 / 1000.0)
}

/// What the story is about, read from the violation.
#[derive(Clone, Debug)]
pub(crate) struct Focus {
    /// Which property broke.
    pub kind: ViolationKind,
    /// The violation's partition, if the history names it.
    pub partition: Option<PartitionId>,
    /// Its name (`events-0`), or `the cluster`.
    pub name: String,
    /// The first offset the violation names.
    pub offset: Option<u64>,
    /// The first message it names.
    pub value: Option<MessageId>,
    /// Its evidence events that the history holds, oldest first, without repeats.
    pub evidence: Vec<usize>,
}

impl Focus {
    fn of(history: &History, violation: &Violation) -> Focus {
        let partition = violation
            .partition
            .as_deref()
            .and_then(|name| crate::checkers::partition_id(history, name));
        let mut evidence: Vec<usize> = violation
            .evidence
            .iter()
            .copied()
            .filter(|i| *i < history.events.len())
            .collect();
        if reads_final_log(violation.kind) {
            evidence.extend(partition.and_then(|p| final_log_index(history, p)));
        }
        evidence.sort_unstable();
        evidence.dedup();
        Focus {
            kind: violation.kind,
            partition,
            name: violation
                .partition
                .clone()
                .unwrap_or_else(|| "the cluster".to_string()),
            offset: violation.offsets.first().copied(),
            value: violation.values.first().and_then(|v| parse_value(v)),
            evidence,
        }
    }

    /// Whether `partition` is the one the story is about.
    fn on(&self, partition: PartitionId) -> bool {
        self.partition == Some(partition)
    }
}

/// Violations whose checker compares with the final committed log: the story ends there.
fn reads_final_log(kind: ViolationKind) -> bool {
    matches!(
        kind,
        ViolationKind::LostWrite
            | ViolationKind::UncommittedRead
            | ViolationKind::AbortedRead
            | ViolationKind::Duplicate
            | ViolationKind::NonmonotonicSend
            | ViolationKind::Unseen
    )
}

/// The last `FinalPartition` event of `partition`.
fn final_log_index(history: &History, partition: PartitionId) -> Option<usize> {
    history.events.iter().rposition(
        |e| matches!(&e.kind, EventKind::FinalPartition { partition: p, .. } if *p == partition),
    )
}

/// `p1-17` back into a message id.
fn parse_value(text: &str) -> Option<MessageId> {
    let (producer, index) = text.strip_prefix('p')?.split_once('-')?;
    Some(MessageId {
        producer: producer.parse().ok()?,
        index: index.parse().ok()?,
    })
}
