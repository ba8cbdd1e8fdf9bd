//! The story's window: from its start to its end, every event may be part of the story.
//!
//! For a violation about one message (a lost write, a read that should not have
//! happened) the window opens at the leader append of the copy that was acknowledged or
//! read (else at its send), so a producer's earlier retries do not crowd the story, and
//! closes when the last replica holding the message lost it, if that is after the
//! checker's latest evidence. For every other violation it runs from the oldest evidence
//! event to the latest one, final-state records left aside.

use super::Focus;
use super::state::State;
use super::story::is_final;
use crate::history::{EventKind, History};
use crate::violation::ViolationKind;

/// Where the story is told from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Window {
    /// The first event index in it.
    pub start: usize,
    /// The last event index in it.
    pub end: usize,
    /// The event at which the last replica holding the focus message lost it, if one did.
    pub gone: Option<usize>,
}

/// The window of `focus`, or `None` when every evidence event is a final-state record (or
/// there is none).
pub(super) fn of(history: &History, focus: &Focus) -> Option<Window> {
    let live: Vec<usize> = focus
        .evidence
        .iter()
        .copied()
        .filter(|i| !is_final(&history.events[*i].kind))
        .collect();
    let (first, last) = (*live.first()?, *live.last()?);
    if !about_one_message(focus.kind) {
        return Some(Window {
            start: first,
            end: last,
            gone: None,
        });
    }
    let start = appended(history, focus, &live)
        .or_else(|| sent(history, focus))
        .map_or(first, |start| start.min(last));
    let gone = gone(history, focus);
    Some(Window {
        start,
        end: gone.map_or(last, |gone| gone.max(last)),
        gone,
    })
}

/// Violations whose story is one message's.
pub(super) fn about_one_message(kind: ViolationKind) -> bool {
    matches!(
        kind,
        ViolationKind::LostWrite | ViolationKind::UncommittedRead | ViolationKind::AbortedRead
    )
}

/// The first send of the focus message.
fn sent(history: &History, focus: &Focus) -> Option<usize> {
    history.events.iter().position(|e| {
        matches!(&e.kind, EventKind::SendInvoke { partition, value, .. }
            if focus.on(*partition) && Some(*value) == focus.value)
    })
}

/// The latest leader append of the focus message (at the focus offset) before the first
/// evidence event that acknowledges or reads it.
fn appended(history: &History, focus: &Focus, live: &[usize]) -> Option<usize> {
    let value = focus.value?;
    let told = |kind: &EventKind| match kind {
        EventKind::SendOk {
            partition,
            value: v,
            ..
        } => focus.on(*partition) && *v == value,
        EventKind::Poll {
            partition, records, ..
        } => focus.on(*partition) && records.iter().any(|(_, v)| *v == value),
        _ => false,
    };
    let anchor = live
        .iter()
        .copied()
        .find(|i| told(&history.events[*i].kind))
        .unwrap_or(*live.last()?);
    (0..anchor).rev().find(|i| match &history.events[*i].kind {
        EventKind::LeaderAppended {
            partition,
            base_offset,
            values,
            ..
        } if focus.on(*partition) => values.iter().enumerate().any(|(k, v)| {
            *v == value && focus.offset.is_none_or(|o| base_offset.0 + k as u64 == o)
        }),
        _ => false,
    })
}

/// The event at which the last replica holding the focus message lost it.
fn gone(history: &History, focus: &Focus) -> Option<usize> {
    focus.value?;
    let mut state = State::new(history, focus);
    let mut gone = None;
    for (index, event) in history.events.iter().enumerate() {
        let held = !state.holders.is_empty();
        state.apply(&event.kind, focus);
        if held && state.holders.is_empty() {
            gone = Some(index);
        }
    }
    gone
}
