//! `nonmonotonic-read`: a consumer's offsets in one partition went backwards or skipped
//! data without it being told (invariant I7). Per (consumer, partition) the first poll
//! starts at 0, each poll continues exactly where the previous one ended, and offsets
//! within a poll are consecutive; a `ConsumerReset` moves the expected position to its
//! `to`. Always a bug: nothing permits it.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::history::{EventKind, History};
use crate::types::{MessageId, PartitionId};
use crate::violation::{Violation, ViolationKind};

/// Where a consumer must continue, and the event that set it (none at the start).
#[derive(Clone, Copy, Default)]
struct Position {
    expected: u64,
    set_by: Option<usize>,
}

/// One violation per position jump (between polls or inside one).
pub fn check(history: &History, _config: &Config) -> Vec<Violation> {
    let mut positions: BTreeMap<(u8, PartitionId), Position> = BTreeMap::new();
    let mut violations = Vec::new();
    for (index, event) in history.events.iter().enumerate() {
        match &event.kind {
            EventKind::ConsumerReset {
                consumer,
                partition,
                to,
                ..
            } => {
                let position = Position {
                    expected: to.0,
                    set_by: Some(index),
                };
                positions.insert((*consumer, *partition), position);
            }
            EventKind::Poll {
                consumer,
                partition,
                records,
                ..
            } => {
                let position = positions.entry((*consumer, *partition)).or_default();
                let mut expected = position.expected;
                let mut previous = position.set_by;
                for (offset, value) in records {
                    if offset.0 != expected {
                        let jump = Jump {
                            consumer: *consumer,
                            partition: *partition,
                            expected,
                        };
                        let mut evidence: Vec<usize> =
                            previous.into_iter().chain([index]).collect();
                        evidence.dedup();
                        violations.push(jump.violation(history, offset.0, *value, evidence));
                    }
                    expected = offset.0 + 1;
                    previous = Some(index);
                }
                if !records.is_empty() {
                    *position = Position {
                        expected,
                        set_by: Some(index),
                    };
                }
            }
            _ => {}
        }
    }
    violations
}

/// A consumer expected to read `expected` next.
struct Jump {
    consumer: u8,
    partition: PartitionId,
    expected: u64,
}

impl Jump {
    fn violation(
        &self,
        history: &History,
        got: u64,
        value: MessageId,
        evidence: Vec<usize>,
    ) -> Violation {
        let name = super::partition_name(history, self.partition);
        let how = if got < self.expected {
            "went back"
        } else {
            "skipped ahead"
        };
        Violation {
            kind: ViolationKind::NonmonotonicRead,
            partition: Some(name.clone()),
            offsets: vec![self.expected, got],
            values: vec![value.to_string()],
            message: format!(
                "consumer-{} {how} in {name}: expected offset {} next but was handed {value} at \
                 {got} without a reset",
                self.consumer, self.expected
            ),
            evidence,
            known_bug: None,
            permitted_by: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn flags_backward_and_skipping_reads() {
        let mut b = Builder::new();
        let first = b.poll(1, &[(0, m(1, 0)), (1, m(1, 1))]);
        let back = b.poll(1, &[(1, m(1, 1)), (2, m(1, 2))]);
        let gap = b.poll(1, &[(3, m(1, 3)), (5, m(1, 5))]);
        let late = b.poll(2, &[(4, m(1, 4))]);
        let found = check(&b.history, &Config::default());
        assert_eq!(
            summary(&found),
            vec![
                ("nonmonotonic-read", "t-0".into(), vec![2, 1]),
                ("nonmonotonic-read", "t-0".into(), vec![4, 5]),
                ("nonmonotonic-read", "t-0".into(), vec![0, 4]),
            ]
        );
        assert_eq!(found[0].evidence, vec![first, back]);
        assert_eq!(found[1].evidence, vec![gap]);
        assert_eq!(found[2].evidence, vec![late]);
        assert!(
            found[0].message.contains("went back"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn quiet_for_contiguous_reads_and_announced_resets() {
        let mut b = Builder::new();
        b.poll(1, &[(0, m(1, 0)), (1, m(1, 1)), (2, m(1, 2))]);
        b.poll(1, &[]);
        b.reset(1, 3, 1);
        b.poll(1, &[(1, m(2, 0))]);
        b.poll(1, &[(2, m(2, 1)), (3, m(2, 2))]);
        b.poll(2, &[(0, m(1, 0))]);
        assert_eq!(check(&b.history, &Config::default()), vec![]);
    }
}
