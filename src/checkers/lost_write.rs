//! `lost-write`: a write the producer saw acknowledged is missing from the final log
//! (invariant I1). Partitions without a final log are skipped: the harness reports them
//! as `unavailable`.

use std::collections::BTreeSet;

use super::{Evidence, Facts, final_logs};
use crate::config::Config;
use crate::history::{EventKind, History};
use crate::violation::{Violation, ViolationKind};

/// One violation per acknowledged value absent from its partition's final log.
pub fn check(history: &History, config: &Config) -> Vec<Violation> {
    let finals = final_logs(history);
    let facts = Facts::new(history);
    let mut seen = BTreeSet::new();
    let mut violations = Vec::new();
    for (index, event) in history.events.iter().enumerate() {
        let EventKind::SendOk {
            producer,
            partition,
            value,
            offset,
            ..
        } = &event.kind
        else {
            continue;
        };
        let Some(log) = finals.get(partition) else {
            continue;
        };
        if log.positions(*value).next().is_some() || !seen.insert((*partition, *value)) {
            continue;
        }
        let name = super::partition_name(history, *partition);
        let mut evidence = Evidence::default();
        evidence.add_opt(facts.invoke(*partition, *value));
        evidence.add(index);
        facts.add_cut_evidence(&mut evidence, *partition, offset.0, index);
        evidence.add(log.index);
        violations.push(Violation {
            kind: ViolationKind::LostWrite,
            partition: Some(name.clone()),
            offsets: vec![offset.0],
            values: vec![value.to_string()],
            message: format!(
                "producer-{producer}'s acknowledged {value} at {name}@{offset} is missing from \
                 the final log of {name} (hw {})",
                log.records.len()
            ),
            evidence: evidence.finish(),
            known_bug: None,
            permitted_by: facts.loss_permitted_by(config, *partition),
        });
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::config::Acks;

    /// p1-1 acked at 1 by broker 1, which crashes; broker 2 is elected, broker 1 truncates.
    fn lost_at_one() -> (Builder, Vec<usize>) {
        let mut b = Builder::new();
        b.elected(1, 1, false);
        b.send_ok(1, 0, 0);
        let (invoke, ok) = b.send_ok(1, 1, 1);
        let crash = b.fault("crash broker-1");
        let elected = b.elected(2, 2, false);
        b.send_ok(1, 2, 1);
        let cut = b.truncated(1, 2, 1);
        let last = b.final_partition(&[m(1, 0), m(1, 2)]);
        (b, vec![invoke, ok, crash, elected, cut, last])
    }

    #[test]
    fn flags_an_acknowledged_value_missing_from_the_final_log() {
        let (b, evidence) = lost_at_one();
        let found = check(&b.history, &strict_config());
        assert_eq!(summary(&found), vec![("lost-write", "t-0".into(), vec![1])]);
        assert_eq!(found[0].values, vec!["p1-1"]);
        assert_eq!(found[0].evidence, evidence);
        assert_eq!(found[0].permitted_by, None);
        assert!(found[0].message.contains("p1-1"), "{}", found[0].message);
    }

    #[test]
    fn permitted_by_acks_one_and_min_insync_one() {
        let (b, _) = lost_at_one();
        let acks_one = Config {
            acks: Acks::One,
            ..strict_config()
        };
        assert_eq!(
            check(&b.history, &acks_one)[0].permitted_by.as_deref(),
            Some("acks=1")
        );
        let default = check(&b.history, &Config::default());
        assert_eq!(
            default[0].permitted_by.as_deref(),
            Some("min_insync_replicas=1")
        );
    }

    #[test]
    fn quiet_when_every_ack_survives_or_there_is_no_final_log() {
        let mut b = Builder::new();
        b.send_ok(1, 0, 0);
        b.send_ok(1, 1, 1);
        b.send_info(1, 2);
        assert_eq!(check(&b.history, &strict_config()), vec![]); // no final log: skipped
        b.final_partition(&[m(1, 0), m(1, 1)]);
        assert_eq!(check(&b.history, &strict_config()), vec![]);
    }
}
