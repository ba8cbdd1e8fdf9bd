//! `aborted-read` (Jepsen's G1a): a message whose send definitely failed (rejected before
//! append) became visible, in a poll or a final log. Indeterminate sends (`SendInfo`:
//! timeouts, lost replies, errors after append) may or may not appear and are never
//! flagged. Always a bug: nothing permits it.

use std::collections::{BTreeMap, BTreeSet};

use super::{Evidence, Facts, final_logs};
use crate::config::Config;
use crate::history::{EventKind, History};
use crate::types::{MessageId, PartitionId};
use crate::violation::{Violation, ViolationKind};

/// Where a failed value was seen: (partition, offset, event index, what saw it).
type Sightings = Vec<(PartitionId, u64, usize, String)>;

/// One violation per definitely failed value that was read or is in a final log.
pub fn check(history: &History, _config: &Config) -> Vec<Violation> {
    let mut failed: BTreeMap<MessageId, (usize, u8, PartitionId, &str)> = BTreeMap::new();
    for (index, event) in history.events.iter().enumerate() {
        if let EventKind::SendFail {
            producer,
            partition,
            value,
            error,
        } = &event.kind
        {
            failed
                .entry(*value)
                .or_insert((index, *producer, *partition, error.as_str()));
        }
    }
    if failed.is_empty() {
        return Vec::new();
    }
    let mut seen: BTreeMap<MessageId, Sightings> = BTreeMap::new();
    for (index, event) in history.events.iter().enumerate() {
        if let EventKind::Poll {
            consumer,
            partition,
            records,
            ..
        } = &event.kind
        {
            for (offset, value) in records.iter().filter(|(_, v)| failed.contains_key(v)) {
                let who = format!("consumer-{consumer} read it");
                seen.entry(*value)
                    .or_default()
                    .push((*partition, offset.0, index, who));
            }
        }
    }
    for (partition, log) in final_logs(history) {
        for (offset, value) in log
            .records
            .iter()
            .enumerate()
            .filter(|(_, v)| failed.contains_key(v))
        {
            let who = "the final log holds it".to_string();
            seen.entry(*value)
                .or_default()
                .push((partition, offset as u64, log.index, who));
        }
    }
    let facts = Facts::new(history);
    let mut violations = Vec::new();
    for (value, sightings) in seen {
        let Some((fail_index, producer, partition, error)) = failed.get(&value).copied() else {
            continue;
        };
        let mut evidence = Evidence::default();
        evidence.add_opt(facts.invoke(partition, value));
        evidence.add(fail_index);
        sightings
            .iter()
            .for_each(|(_, _, index, _)| evidence.add(*index));
        let offsets: BTreeSet<u64> = sightings.iter().map(|(_, o, _, _)| *o).collect();
        let (seen_in, seen_at, _, who) = &sightings[0];
        let name = super::partition_name(history, partition);
        let seen_name = super::partition_name(history, *seen_in);
        violations.push(Violation {
            kind: ViolationKind::AbortedRead,
            partition: Some(name.clone()),
            offsets: offsets.into_iter().collect(),
            values: vec![value.to_string()],
            message: format!(
                "producer-{producer}'s send of {value} to {name} definitely failed ({error}), \
                 but {who} at {seen_name}@{seen_at}"
            ),
            evidence: evidence.finish(),
            known_bug: None,
            permitted_by: None,
        });
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn flags_a_failed_value_that_was_read_and_kept() {
        let mut b = Builder::new();
        b.send_ok(1, 0, 0);
        let (invoke, fail) = b.send_fail(1, 1);
        let read = b.poll(1, &[(0, m(1, 0)), (1, m(1, 1))]);
        let last = b.final_partition(&[m(1, 0), m(1, 1)]);
        let found = check(&b.history, &Config::default());
        assert_eq!(
            summary(&found),
            vec![("aborted-read", "t-0".into(), vec![1])]
        );
        assert_eq!(found[0].values, vec!["p1-1"]);
        assert_eq!(found[0].evidence, vec![invoke, fail, read, last]);
        assert_eq!(found[0].permitted_by, None);
        assert!(
            found[0].message.contains("consumer-1 read it"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn quiet_for_indeterminate_sends_and_failures_that_stay_invisible() {
        let mut b = Builder::new();
        b.send_fail(1, 0);
        b.send_info(1, 1);
        b.poll(1, &[(0, m(1, 1))]);
        b.final_partition(&[m(1, 1)]);
        assert_eq!(check(&b.history, &Config::default()), vec![]);
    }
}
