//! `split-brain`: two brokers acted as leader of one partition in the same leader epoch
//! (invariant I3), by `BecameLeader` or `LeaderAppended`. Two brokers believing they lead
//! in different epochs (a zombie) is allowed. Always a bug: nothing permits it.

use std::collections::BTreeMap;

use super::{Evidence, Facts};
use crate::config::Config;
use crate::history::{EventKind, History};
use crate::types::{BrokerId, LeaderEpoch, PartitionId};
use crate::violation::{Violation, ViolationKind};

/// One violation per (partition, leader epoch) led by more than one broker.
pub fn check(history: &History, _config: &Config) -> Vec<Violation> {
    // Per (partition, epoch): each broker that acted as leader, with its first such event.
    let mut leaders: BTreeMap<(PartitionId, LeaderEpoch), Vec<(BrokerId, usize)>> = BTreeMap::new();
    for (index, event) in history.events.iter().enumerate() {
        let (broker, partition, epoch) = match &event.kind {
            EventKind::BecameLeader {
                broker,
                partition,
                leader_epoch,
                ..
            }
            | EventKind::LeaderAppended {
                broker,
                partition,
                leader_epoch,
                ..
            } => (*broker, *partition, *leader_epoch),
            _ => continue,
        };
        let brokers = leaders.entry((partition, epoch)).or_default();
        if !brokers.iter().any(|(b, _)| *b == broker) {
            brokers.push((broker, index));
        }
    }
    let facts = Facts::new(history);
    let mut violations = Vec::new();
    for ((partition, epoch), brokers) in leaders {
        if brokers.len() < 2 {
            continue;
        }
        let name = super::partition_name(history, partition);
        let mut evidence = Evidence::default();
        evidence.add_opt(facts.election_before(partition, brokers[1].1));
        brokers.iter().for_each(|(_, index)| evidence.add(*index));
        let names: Vec<String> = brokers.iter().map(|(b, _)| format!("broker-{b}")).collect();
        violations.push(Violation {
            kind: ViolationKind::SplitBrain,
            partition: Some(name.clone()),
            offsets: Vec::new(),
            values: Vec::new(),
            message: format!(
                "{} all acted as leader of {name} in {epoch}",
                names.join(" and ")
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
    fn flags_two_brokers_leading_one_epoch() {
        let mut b = Builder::new();
        let elected = b.elected(1, 1, false);
        let one = b.became_leader(1, 1);
        b.appended(1, 1, 0, &[m(1, 0)]);
        let two = b.appended(2, 1, 1, &[m(1, 1)]);
        let found = check(&b.history, &Config::default());
        assert_eq!(summary(&found), vec![("split-brain", "t-0".into(), vec![])]);
        assert_eq!(found[0].evidence, vec![elected, one, two]);
        assert_eq!(found[0].permitted_by, None);
        assert!(
            found[0].message.contains("broker-1 and broker-2"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn quiet_for_a_zombie_in_an_older_epoch() {
        let mut b = Builder::new();
        b.became_leader(1, 1);
        b.appended(1, 1, 0, &[m(1, 0)]);
        b.became_leader(2, 2);
        b.appended(1, 1, 1, &[m(1, 1)]); // zombie: still epoch 1
        b.appended(2, 2, 1, &[m(2, 0)]);
        b.became_leader(2, 2); // the same broker again
        assert_eq!(check(&b.history, &Config::default()), vec![]);
    }
}
