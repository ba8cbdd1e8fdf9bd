//! `duplicate`: one produced message appears at two offsets of a partition's final log
//! (invariant I9, first half). Without the idempotent producer, retries may legitimately
//! write a message twice (known-failures 12): the finding is then `permitted_by`
//! `idempotent_producer=false`.

use std::collections::BTreeMap;

use super::{Evidence, Facts, final_logs};
use crate::config::Config;
use crate::history::{EventKind, History};
use crate::types::{MessageId, PartitionId};
use crate::violation::{Violation, ViolationKind};

/// One violation per value found at more than one offset of a final log.
pub fn check(history: &History, config: &Config) -> Vec<Violation> {
    let finals = final_logs(history);
    // (partition, value) -> its final offsets, for values at more than one offset.
    let mut duplicated: BTreeMap<(PartitionId, MessageId), Vec<u64>> = BTreeMap::new();
    for (partition, log) in &finals {
        for value in log.records {
            let offsets: Vec<u64> = log.positions(*value).collect();
            if offsets.len() > 1 {
                duplicated.insert((*partition, *value), offsets);
            }
        }
    }
    if duplicated.is_empty() {
        return Vec::new();
    }
    let facts = Facts::new(history);
    let mut completions: BTreeMap<(PartitionId, MessageId), Vec<usize>> = BTreeMap::new();
    for (index, event) in history.events.iter().enumerate() {
        if let EventKind::SendOk {
            partition, value, ..
        }
        | EventKind::SendInfo {
            partition, value, ..
        } = &event.kind
            && duplicated.contains_key(&(*partition, *value))
        {
            completions
                .entry((*partition, *value))
                .or_default()
                .push(index);
        }
    }
    let mut violations = Vec::new();
    for ((partition, value), offsets) in duplicated {
        let name = super::partition_name(history, partition);
        let mut evidence = Evidence::default();
        evidence.add_opt(facts.invoke(partition, value));
        let sends = completions
            .get(&(partition, value))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        sends.iter().for_each(|index| evidence.add(*index));
        evidence.add_opt(finals.get(&partition).map(|log| log.index));
        let rendered: Vec<String> = offsets.iter().map(|o| o.to_string()).collect();
        violations.push(Violation {
            kind: ViolationKind::Duplicate,
            partition: Some(name.clone()),
            message: format!(
                "{value} appears at offsets {} of the final log of {name}",
                rendered.join(", ")
            ),
            offsets,
            values: vec![value.to_string()],
            evidence: evidence.finish(),
            known_bug: None,
            permitted_by: (!config.idempotent_producer)
                .then(|| "idempotent_producer=false".to_string()),
        });
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn retried_twice() -> (Builder, Vec<usize>) {
        let mut b = Builder::new();
        b.send_ok(1, 0, 0);
        let (invoke, ok) = b.send_ok(1, 1, 2);
        let last = b.final_partition(&[m(1, 0), m(1, 1), m(1, 1)]);
        (b, vec![invoke, ok, last])
    }

    #[test]
    fn flags_a_value_at_two_offsets_with_the_idempotent_producer() {
        let (b, evidence) = retried_twice();
        let found = check(&b.history, &strict_config());
        assert_eq!(
            summary(&found),
            vec![("duplicate", "t-0".into(), vec![1, 2])]
        );
        assert_eq!(found[0].values, vec!["p1-1"]);
        assert_eq!(found[0].evidence, evidence);
    }

    #[test]
    fn permitted_without_the_idempotent_producer() {
        let (b, _) = retried_twice();
        let config = Config {
            idempotent_producer: false,
            ..strict_config()
        };
        let found = check(&b.history, &config);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].permitted_by.as_deref(),
            Some("idempotent_producer=false")
        );
        assert_eq!(check(&b.history, &strict_config())[0].permitted_by, None);
    }

    #[test]
    fn quiet_when_every_value_appears_once() {
        let mut b = Builder::new();
        b.final_partition(&[m(1, 0), m(1, 1), m(2, 0)]);
        assert_eq!(check(&b.history, &strict_config()), vec![]);
    }
}
