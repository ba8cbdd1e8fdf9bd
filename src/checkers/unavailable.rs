//! `unavailable`: after the final heal a partition did not accept and deliver writes within
//! the convergence window. The harness decides this and records an `Unavailable` event;
//! this checker turns each one into a violation so that every finding flows from the
//! history.

use crate::config::Config;
use crate::history::{EventKind, History};
use crate::violation::{Violation, ViolationKind};

/// One violation per `Unavailable` event.
pub fn check(history: &History, _config: &Config) -> Vec<Violation> {
    let facts = super::Facts::new(history);
    let mut violations = Vec::new();
    for (index, event) in history.events.iter().enumerate() {
        let EventKind::Unavailable { partition, reason } = &event.kind else {
            continue;
        };
        let name = super::partition_name(history, *partition);
        let mut evidence = super::Evidence::default();
        evidence.add_opt(facts.election_before(*partition, index));
        evidence.add_opt(facts.fault_before(index));
        evidence.add(index);
        violations.push(Violation {
            kind: ViolationKind::Unavailable,
            partition: Some(name.clone()),
            offsets: Vec::new(),
            values: Vec::new(),
            message: format!("{name} was unavailable after the final heal: {reason}"),
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
    fn turns_each_unavailable_event_into_a_violation() {
        let mut b = Builder::new();
        let elected = b.elected(1, 1, false);
        let crash = b.fault("crash broker-1");
        let event = b.unavailable(P0);
        let found = check(&b.history, &Config::default());
        assert_eq!(summary(&found), vec![("unavailable", "t-0".into(), vec![])]);
        assert_eq!(found[0].evidence, vec![elected, crash, event]);
        assert!(
            found[0].message.contains("no leader"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn quiet_without_unavailable_events() {
        let mut b = Builder::new();
        b.final_partition(&[m(1, 0)]);
        assert_eq!(check(&b.history, &Config::default()), vec![]);
    }
}
