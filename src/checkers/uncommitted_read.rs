//! `uncommitted-read`: a consumer received a record that is not in the final committed log
//! at that offset (invariant I2): either the final HW ends below it or another record
//! holds it. Partitions without a final log are skipped.

use std::collections::BTreeMap;

use super::{Evidence, Facts, final_logs};
use crate::config::Config;
use crate::history::{EventKind, History};
use crate::types::{MessageId, PartitionId};
use crate::violation::{Violation, ViolationKind};

/// Polls that read one (offset, value) of a partition: (event index, consumer).
type Reads = BTreeMap<(PartitionId, u64, MessageId), Vec<(usize, u8)>>;

/// One violation per (partition, offset, value) read but not in the final log there.
pub fn check(history: &History, config: &Config) -> Vec<Violation> {
    let finals = final_logs(history);
    let mut reads = Reads::new();
    for (index, event) in history.events.iter().enumerate() {
        let EventKind::Poll {
            consumer,
            partition,
            records,
            ..
        } = &event.kind
        else {
            continue;
        };
        let Some(log) = finals.get(partition) else {
            continue;
        };
        for (offset, value) in records {
            if log.at(offset.0) != Some(*value) {
                reads
                    .entry((*partition, offset.0, *value))
                    .or_default()
                    .push((index, *consumer));
            }
        }
    }
    let facts = Facts::new(history);
    let mut violations = Vec::new();
    for ((partition, offset, value), polls) in reads {
        let Some(log) = finals.get(&partition) else {
            continue;
        };
        let name = super::partition_name(history, partition);
        let there = match log.at(offset) {
            Some(other) => format!("holds {other} there"),
            None => format!("ends at hw {}", log.records.len()),
        };
        let (first, consumer) = polls[0];
        let mut evidence = Evidence::default();
        polls
            .iter()
            .take(2)
            .for_each(|(index, _)| evidence.add(*index));
        facts.add_cut_evidence(&mut evidence, partition, offset, first);
        evidence.add(log.index);
        violations.push(Violation {
            kind: ViolationKind::UncommittedRead,
            partition: Some(name.clone()),
            offsets: vec![offset],
            values: vec![value.to_string()],
            message: format!(
                "consumer-{consumer} read {value} at {name}@{offset}, but the final log of \
                 {name} {there}"
            ),
            evidence: evidence.finish(),
            known_bug: None,
            permitted_by: facts.read_permitted_by(config, partition),
        });
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::config::ConsumerReadLimit;

    #[test]
    fn flags_reads_missing_or_replaced_in_the_final_log() {
        let mut b = Builder::new();
        b.send_ok(1, 0, 0);
        let read = b.poll(1, &[(0, m(1, 0)), (1, m(1, 1)), (2, m(1, 2))]);
        let crash = b.fault("crash broker-1");
        let elected = b.elected(2, 2, false);
        let cut = b.truncated(1, 3, 1);
        let last = b.final_partition(&[m(1, 0), m(2, 0)]);
        let found = check(&b.history, &strict_config());
        assert_eq!(
            summary(&found),
            vec![
                ("uncommitted-read", "t-0".into(), vec![1]),
                ("uncommitted-read", "t-0".into(), vec![2]),
            ]
        );
        assert_eq!(found[0].values, vec!["p1-1"]);
        assert!(
            found[0].message.contains("holds p2-0"),
            "{}",
            found[0].message
        );
        assert!(
            found[1].message.contains("ends at hw 2"),
            "{}",
            found[1].message
        );
        assert_eq!(found[0].evidence, vec![read, crash, elected, cut, last]);
        assert_eq!(found[0].permitted_by, None);
    }

    #[test]
    fn permitted_by_a_broker_serving_up_to_the_log_end() {
        let mut b = Builder::new();
        b.poll(1, &[(0, m(1, 0))]);
        b.final_partition(&[]);
        let log_end = Config {
            consumer_read_limit: ConsumerReadLimit::LogEnd,
            ..strict_config()
        };
        let found = check(&b.history, &log_end);
        assert_eq!(
            found[0].permitted_by.as_deref(),
            Some("consumer_read_limit=log-end")
        );
    }

    #[test]
    fn quiet_when_every_read_is_in_the_final_log() {
        let mut b = Builder::new();
        b.poll(1, &[(0, m(1, 0)), (1, m(1, 1))]);
        b.poll(2, &[(0, m(1, 0))]);
        b.final_partition(&[m(1, 0), m(1, 1), m(1, 2)]);
        assert_eq!(check(&b.history, &strict_config()), vec![]);
    }
}
