//! Replication step by step, for people: the recorded [`History`] replayed into the state
//! of every replica (log with epochs, LEO, HW, ISR, leader, consumer positions) after each
//! protocol event. `kafkasim step` prints it; `run --report` embeds it in an HTML page.
//!
//! Architecture invariant: like the checkers, this module only reads a finished history;
//! it never runs or changes a simulation, and it prints and writes nothing (`cli` does).

pub mod arrows;
pub mod fold;
pub mod state;
pub mod table;
pub mod text;
pub mod violations;

use crate::history::History;
use crate::layout::Layout;
use crate::types::SimTime;

pub use fold::Meaning;
pub use state::{ClusterView, Op};

/// One step of the replay: a history event that changes or shows something.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Index of the event in `History::events`.
    pub index: usize,
    /// When it happened.
    pub time: SimTime,
    /// What it means.
    pub meaning: Meaning,
}

/// Every step of a history, in order.
pub fn steps(history: &History, layout: &Layout) -> Vec<Step> {
    let mut state = ClusterView::new(layout);
    let mut steps = Vec::new();
    for (index, event) in history.events.iter().enumerate() {
        if let Some(meaning) = fold::meaning(&event.kind, &state) {
            for op in &meaning.ops {
                state.apply(op);
            }
            steps.push(Step {
                index,
                time: event.time,
                meaning,
            });
        }
    }
    steps
}

/// The state after the first `count` steps.
pub fn state_after(layout: &Layout, steps: &[Step], count: usize) -> ClusterView {
    let mut state = ClusterView::new(layout);
    for step in steps.iter().take(count) {
        for op in &step.meaning.ops {
            state.apply(op);
        }
    }
    state
}
