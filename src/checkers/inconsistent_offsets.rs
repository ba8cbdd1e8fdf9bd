//! `inconsistent-offsets`: two different messages were observed (acknowledged or read) at
//! one offset of a partition (invariant I8).
//!
//! `permitted_by` follows [`Facts::loss_permitted_by`]; when a consumer read one of the values and
//! brokers serve consumers up to the LEO, that setting is named first (the read saw data
//! that was never committed, as for `uncommitted-read`).

use super::{Evidence, Facts};
use crate::config::Config;
use crate::history::{EventKind, History};
use crate::types::{MessageId, PartitionId};
use crate::violation::{Violation, ViolationKind};

/// One observation: (partition, offset, event index, value, whether a `Poll` made it).
/// Sorted, the observations of one offset are adjacent and in history order.
type Observation = (PartitionId, u64, usize, MessageId, bool);

/// One violation per (partition, offset) observed with more than one value.
pub fn check(history: &History, config: &Config) -> Vec<Violation> {
    let mut observed: Vec<Observation> = Vec::new();
    for (index, event) in history.events.iter().enumerate() {
        match &event.kind {
            EventKind::SendOk {
                partition,
                value,
                offset,
                ..
            } => observed.push((*partition, offset.0, index, *value, false)),
            EventKind::Poll {
                partition, records, ..
            } => {
                for (offset, value) in records {
                    observed.push((*partition, offset.0, index, *value, true));
                }
            }
            _ => {}
        }
    }
    observed.sort_unstable();
    let facts = Facts::new(history);
    let mut violations = Vec::new();
    for group in observed.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
        let (partition, offset, _, first, _) = group[0];
        if group.iter().all(|o| o.3 == first) {
            continue; // the common case: one value, seen once or more
        }
        let was_read = group.iter().any(|o| o.4);
        // Each distinct value with the index of its first observation, in that order.
        let mut values: Vec<(MessageId, usize)> = Vec::new();
        for (_, _, index, value, _) in group {
            if !values.iter().any(|(v, _)| v == value) {
                values.push((*value, *index));
            }
        }
        let name = super::partition_name(history, partition);
        let mut evidence = Evidence::default();
        values
            .iter()
            .take(4)
            .for_each(|(_, index)| evidence.add(*index));
        facts.add_cut_evidence(&mut evidence, partition, offset, values[0].1);
        let rendered: Vec<String> = values.iter().map(|(v, _)| v.to_string()).collect();
        violations.push(Violation {
            kind: ViolationKind::InconsistentOffsets,
            partition: Some(name.clone()),
            offsets: vec![offset],
            message: format!(
                "different messages were observed at {name}@{offset}: {}",
                rendered.join(", ")
            ),
            values: rendered,
            evidence: evidence.finish(),
            known_bug: None,
            permitted_by: if was_read {
                facts.read_permitted_by(config, partition)
            } else {
                facts.loss_permitted_by(config, partition)
            },
        });
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::config::{Acks, ConsumerReadLimit};

    #[test]
    fn flags_an_offset_acknowledged_and_read_with_different_values() {
        let mut b = Builder::new();
        b.send_ok(1, 0, 0);
        let (_, acked) = b.send_ok(1, 1, 1);
        let crash = b.fault("crash broker-1");
        let elected = b.elected(2, 2, false);
        let (_, reacked) = b.send_ok(2, 0, 1);
        let cut = b.truncated(1, 2, 1);
        let read = b.poll(1, &[(0, m(1, 0)), (1, m(2, 0))]);
        let config = Config {
            acks: Acks::One,
            ..strict_config()
        };
        let found = check(&b.history, &config);
        assert_eq!(
            summary(&found),
            vec![("inconsistent-offsets", "t-0".into(), vec![1])]
        );
        assert_eq!(found[0].values, vec!["p1-1", "p2-0"]);
        assert_eq!(found[0].evidence, vec![acked, crash, elected, reacked, cut]);
        assert_eq!(found[0].permitted_by.as_deref(), Some("acks=1"));
        assert!(read > cut);
    }

    #[test]
    fn permitted_by_a_broker_serving_up_to_the_log_end_only_when_read() {
        let mut b = Builder::new();
        b.send_ok(1, 0, 0);
        b.poll(1, &[(0, m(1, 0)), (1, m(1, 1))]);
        b.send_ok(2, 0, 1);
        b.send_ok(2, 1, 2);
        b.send_ok(2, 2, 2);
        let config = Config {
            consumer_read_limit: ConsumerReadLimit::LogEnd,
            ..strict_config()
        };
        let found = check(&b.history, &config);
        assert_eq!(
            summary(&found),
            vec![
                ("inconsistent-offsets", "t-0".into(), vec![1]),
                ("inconsistent-offsets", "t-0".into(), vec![2]),
            ]
        );
        assert_eq!(
            found[0].permitted_by.as_deref(),
            Some("consumer_read_limit=log-end")
        );
        assert_eq!(found[1].permitted_by, None);
    }

    #[test]
    fn quiet_when_acks_and_reads_agree() {
        let mut b = Builder::new();
        b.send_ok(1, 0, 0);
        b.send_ok(1, 1, 1);
        b.poll(1, &[(0, m(1, 0)), (1, m(1, 1))]);
        b.poll(2, &[(1, m(1, 1))]);
        assert_eq!(check(&b.history, &strict_config()), vec![]);
    }
}
