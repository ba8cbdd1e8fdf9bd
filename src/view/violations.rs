//! Where a violation becomes visible in the replay, and which earlier events caused it.

use crate::history::{EventKind, History};
use crate::violation::Violation;

/// A violation pinned to the replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// Index of the event at which it becomes visible (the latest evidence event that is
    /// not a final-state record), or `None` when the checker named no evidence.
    pub visible_at: Option<usize>,
    /// The other evidence events, oldest first.
    pub causes: Vec<usize>,
}

/// Pins `violation` to the events of `history`. Evidence indices past the end of the
/// history are dropped, never trusted.
pub fn place(history: &History, violation: &Violation) -> Placement {
    let mut evidence: Vec<usize> = violation
        .evidence
        .iter()
        .copied()
        .filter(|i| *i < history.events.len())
        .collect();
    evidence.sort_unstable();
    evidence.dedup();
    let is_final = |i: &usize| {
        matches!(
            history.events[*i].kind,
            EventKind::FinalReplica { .. }
                | EventKind::FinalPartition { .. }
                | EventKind::Phase { .. }
        )
    };
    let visible_at = evidence
        .iter()
        .rev()
        .find(|i| !is_final(i))
        .or(evidence.last())
        .copied();
    let causes = evidence
        .into_iter()
        .filter(|i| Some(*i) != visible_at)
        .collect();
    Placement { visible_at, causes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Offset, PartitionId, SimTime};
    use crate::violation::ViolationKind;

    #[test]
    fn visible_at_the_last_evidence_before_the_final_records() {
        let mut history = History::new(vec!["t-0".into()]);
        let fault = |d: &str| EventKind::Fault {
            description: d.into(),
        };
        history.push(SimTime::from_ms(1), fault("crash broker-1"));
        history.push(SimTime::from_ms(2), fault("restart broker-1"));
        history.push(
            SimTime::from_ms(3),
            EventKind::FinalPartition {
                partition: PartitionId(0),
                leader: None,
                hw: Offset(0),
                records: vec![],
            },
        );
        let violation = Violation {
            kind: ViolationKind::LostWrite,
            partition: Some("t-0".into()),
            offsets: vec![],
            values: vec![],
            message: String::new(),
            evidence: vec![2, 0, 1, 99],
            permitted_by: None,
            known_bug: None,
        };
        let placed = place(&history, &violation);
        assert_eq!(placed.visible_at, Some(1));
        assert_eq!(placed.causes, vec![0, 2]);
    }
}
