//! The terminal step view's text: one block per step (the event, then the state tables
//! of the partitions it concerns, then any violation that becomes visible there).

use std::fmt::Write as _;

use crate::history::History;
use crate::layout::Layout;
use crate::types::PartitionId;
use crate::view::Step;
use crate::view::state::ClusterView;
use crate::view::state::Op;
use crate::view::table::{partition_table, quorum_line};
use crate::view::violations::Placement;
use crate::violation::Violation;

/// Which partitions a step view shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// Only this partition, or every partition.
    pub partition: Option<PartitionId>,
}

impl Scope {
    /// Whether a step about `partition` (None: cluster-wide) is shown.
    pub fn shows(&self, partition: Option<PartitionId>) -> bool {
        match (self.partition, partition) {
            (Some(want), Some(p)) => want == p,
            _ => true,
        }
    }

    /// The partitions whose tables follow a cluster-wide step.
    fn partitions(&self, layout: &Layout) -> Vec<PartitionId> {
        match self.partition {
            Some(p) => vec![p],
            None => layout.partition_ids().collect(),
        }
    }
}

/// The block for `step` with `state` the state after it. `number` is the step's position
/// among all steps (what `--from-ms` and the report's slider count).
pub fn step_block(
    history: &History,
    layout: &Layout,
    scope: &Scope,
    (number, step): (usize, &Step),
    state: &ClusterView,
) -> String {
    let meaning = &step.meaning;
    let event = &history.events[step.index];
    let mut text = format!(
        "step {number} [{}] {}: {}\n",
        event.time,
        meaning.label,
        history.describe(&event.kind)
    );
    if meaning.ops.iter().all(|op| matches!(op, Op::Quorum(_))) && !meaning.ops.is_empty() {
        text.push_str(&quorum_line(state));
        return text;
    }
    let tables = match meaning.partition {
        Some(p) => vec![p],
        None if meaning.ops.is_empty() => vec![],
        None => scope.partitions(layout),
    };
    for p in tables {
        let name = layout.partition_name(p);
        text.push_str(&partition_table(state, p.0 as usize, &name));
    }
    text
}

/// The note for a violation that becomes visible at the step just printed.
pub fn violation_block(history: &History, violation: &Violation, placement: &Placement) -> String {
    let partition = violation.partition.as_deref().unwrap_or("-");
    let mut text = format!(
        "  !! VIOLATION {} on {partition}: {}\n",
        violation.kind, violation.message
    );
    if !violation.values.is_empty() || !violation.offsets.is_empty() {
        let offsets: Vec<String> = violation.offsets.iter().map(u64::to_string).collect();
        let _ = writeln!(
            text,
            "     involved: messages [{}] at offsets [{}]",
            violation.values.join(", "),
            offsets.join(", ")
        );
    }
    if let Some(setting) = &violation.permitted_by {
        let _ = writeln!(text, "     permitted by the configuration: {setting}");
    }
    let visible = placement.visible_at.unwrap_or(usize::MAX);
    let (before, after): (Vec<usize>, Vec<usize>) =
        placement.causes.iter().partition(|i| **i < visible);
    for (title, events) in [
        ("caused by the earlier events", before),
        ("seen in the final state", after),
    ] {
        if !events.is_empty() {
            let _ = writeln!(text, "     {title}:");
        }
        for i in events {
            let _ = writeln!(text, "       {}", history.render(i));
        }
    }
    text
}

/// Notes for violations that become visible together: the first of each kind in full,
/// the others of that kind summarised on one line (a lost leader tail can lose hundreds
/// of writes at one step).
pub fn violations_text(history: &History, items: &[(&Violation, &Placement)]) -> String {
    let mut text = String::new();
    let mut kinds: Vec<crate::violation::ViolationKind> =
        items.iter().map(|(v, _)| v.kind).collect();
    kinds.dedup();
    kinds.sort();
    kinds.dedup();
    for kind in kinds {
        let same: Vec<&(&Violation, &Placement)> =
            items.iter().filter(|(v, _)| v.kind == kind).collect();
        let (first, placement) = same[0];
        text.push_str(&violation_block(history, first, placement));
        if same.len() > 1 {
            let values: Vec<&str> = same[1..]
                .iter()
                .flat_map(|(v, _)| v.values.iter().map(String::as_str))
                .collect();
            let shown = match values.len() {
                0 => String::new(),
                1..=4 => format!(": {}", values.join(", ")),
                n => format!(
                    ": {}, {}, … {} ({n} messages)",
                    values[0],
                    values[1],
                    values[n - 1]
                ),
            };
            let _ = writeln!(
                text,
                "  !! and {} more {kind} violation(s) here{shown}",
                same.len() - 1
            );
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::violation::ViolationKind;

    fn lost(value: &str) -> Violation {
        Violation {
            kind: ViolationKind::LostWrite,
            partition: Some("t-0".into()),
            offsets: vec![1],
            values: vec![value.into()],
            message: format!("{value} is lost"),
            evidence: vec![],
            permitted_by: None,
            known_bug: None,
        }
    }

    #[test]
    fn violations_of_one_kind_at_one_step_are_summarised_after_the_first() {
        let history = History::new(vec!["t-0".into()]);
        let placement = Placement {
            visible_at: None,
            causes: vec![],
        };
        let all: Vec<Violation> = (0..6).map(|i| lost(&format!("p1-{i}"))).collect();
        let items: Vec<(&Violation, &Placement)> = all.iter().map(|v| (v, &placement)).collect();
        let text = violations_text(&history, &items);
        assert!(text.contains("p1-0 is lost"), "{text}");
        assert!(!text.contains("p1-1 is lost"), "{text}");
        assert!(
            text.contains(
                "and 5 more lost-write violation(s) here: p1-1, p1-2, … p1-5 (5 messages)"
            ),
            "{text}"
        );
    }
}
