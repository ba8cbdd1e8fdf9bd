//! The metadata log's white-box invariants, as Kafka's RaftEventSimulationTest checks
//! them (`MonotonicHighWatermark`, committed data never lost): a node's metadata high
//! watermark never falls, and no node truncates its metadata log below its high
//! watermark. Either is a bug of the model, reported as `model-invariant`.

use super::metadata_log::{Step, replay};
use crate::config::Config;
use crate::history::History;
use crate::violation::{Violation, ViolationKind};

/// One violation per broken rule and node (the first time).
pub fn check(history: &History, _config: &Config) -> Vec<Violation> {
    let mut seen = Vec::new();
    let mut violations = Vec::new();
    replay(history, |_, index, node, step| {
        let (rule, message) = match step {
            Step::Hw { from, to } if to < from => (
                "hw",
                format!(
                    "{node}'s metadata high watermark fell from {} to {}",
                    from.0, to.0
                ),
            ),
            Step::Truncated { below_hw: true } => (
                "truncate",
                format!("{node} truncated its metadata log below its high watermark"),
            ),
            _ => return,
        };
        if seen.contains(&(rule, node)) {
            return;
        }
        seen.push((rule, node));
        violations.push(Violation::of_cluster(
            ViolationKind::ModelInvariant,
            message,
            vec![index],
        ));
    });
    violations
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::history::EventKind;
    use crate::quorum_event::QuorumEvent;
    use crate::types::{ControllerId, NodeId, Offset};

    const C1: NodeId = NodeId::Controller(ControllerId(1));

    fn quorum(b: &mut Builder, event: QuorumEvent) -> usize {
        b.push(EventKind::Quorum(event))
    }

    #[test]
    fn a_falling_high_watermark_and_a_truncation_below_it_are_model_bugs() {
        let mut b = Builder::new();
        let records = vec![(1, 1), (1, 2), (1, 3)];
        quorum(
            &mut b,
            QuorumEvent::Appended {
                node: C1,
                base_offset: Offset(0),
                records,
            },
        );
        quorum(
            &mut b,
            QuorumEvent::HighWatermark {
                node: C1,
                hw: Offset(2),
            },
        );
        quorum(
            &mut b,
            QuorumEvent::Truncated {
                node: C1,
                to: Offset(2),
            },
        ); // at the HW: fine
        assert!(check(&b.history, &Config::default()).is_empty());
        let cut = quorum(
            &mut b,
            QuorumEvent::Truncated {
                node: C1,
                to: Offset(1),
            },
        );
        let fell = quorum(
            &mut b,
            QuorumEvent::HighWatermark {
                node: C1,
                hw: Offset(1),
            },
        );
        let found = check(&b.history, &Config::default());
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(
            found
                .iter()
                .all(|v| v.kind == ViolationKind::ModelInvariant)
        );
        assert_eq!(found[0].evidence, vec![cut]);
        assert_eq!(found[1].evidence, vec![fell]);
        assert!(found[1].message.contains("fell from 2 to 1"));
    }
}
