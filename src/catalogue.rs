//! The known-failure catalogue (`scenarios/known/`): for each entry of Kafka's historical
//! data-loss bugs, what explains its violations (a setting that permits them, or the
//! known bug of the chosen protocol version), and how to tell from a run's violations
//! whether the entry was found (affected scenarios) or came back (fixed twins).
//!
//! Files are named `NN-slug.json` (the affected setting) and `NN-slug-fixed.json` (the
//! twin with Kafka's fix); entry 14 (ambiguous producer outcomes) has no affected
//! setting: its scenarios must show no violation at all.

use crate::checkers::{known_bugs, known_quorum_bugs};
use crate::violation::{Violation, ViolationKind};

/// One catalogue entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The number in known-failures and the file name prefix, e.g. `"05"`.
    pub number: &'static str,
    /// What explains its violations: a `permitted_by` prefix (`acks=1`) or a
    /// `known_bug` tag (`KIP-101`).
    pub explained_by: &'static str,
}

/// Entries 1–13 and 15 onwards (the controller quorum's), in order.
pub const ENTRIES: [Entry; 16] = [
    entry("01", "unclean_leader_election"),
    entry("02", "acks=1"),
    entry("03", "min_insync_replicas=1"),
    entry("04", "KIP-101"),
    entry("05", "KIP-101"),
    entry("06", "KIP-279"),
    entry("07", "KAFKA-7128"),
    entry("08", "flush=never with power loss"),
    entry("09", "KIP-966"),
    entry("10", "acks=1"),
    entry("11", "consumer_read_limit=log-end"),
    entry("12", "idempotent_producer=false"),
    entry("13", "idempotent_producer=false"),
    entry("15", "KAFKA-15345"),
    entry("16", "KAFKA-15489"),
    entry("17", "KAFKA-10527"),
];

const fn entry(number: &'static str, explained_by: &'static str) -> Entry {
    Entry {
        number,
        explained_by,
    }
}

/// Which role a catalogue file plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The affected setting: the random nemesis must find the entry.
    Affected(Entry),
    /// The twin with Kafka's fix: the entry must not come back.
    Fixed(Entry),
    /// Entry 14: ambiguous outcomes are never a violation.
    NoFalseAlarm,
}

/// The role of a catalogue file, from its name (`05-…json`, `05-…-fixed.json`,
/// `14-…json`); None for files outside the catalogue's naming.
pub fn role_of(file_name: &str) -> Option<Role> {
    if file_name.starts_with("14-") {
        return Some(Role::NoFalseAlarm);
    }
    let entry = ENTRIES
        .into_iter()
        .find(|e| file_name.starts_with(&format!("{}-", e.number)))?;
    Some(if file_name.ends_with("-fixed.json") {
        Role::Fixed(entry)
    } else {
        Role::Affected(entry)
    })
}

impl Entry {
    /// Whether the entry explains `v`: the setting is what permits it, or it is the
    /// known bug. A divergence that a setting permits is one the logs reconciled later
    /// (one that persists is never permitted), so for a bug only a persisting one counts.
    pub fn explains(&self, v: &Violation) -> bool {
        // A known bug's tag; every other `explained_by` is a setting.
        let mut bugs = known_bugs::ALL.iter().chain(&known_quorum_bugs::ALL);
        if bugs.any(|b| b.tag == self.explained_by) {
            v.known_bug.as_deref() == Some(self.explained_by)
                && (v.kind != ViolationKind::Divergence || v.permitted_by.is_none())
        } else {
            v.permitted_by
                .as_deref()
                .is_some_and(|p| p.starts_with(self.explained_by))
        }
    }
}

impl Role {
    /// Whether a run with these violations found the entry (affected scenarios: one of
    /// the expected kinds, explained by the entry) or shows it back (twins: a violation
    /// the entry explains, or one nothing explains; entry 14: any violation).
    pub fn hit(&self, expected: &[ViolationKind], violations: &[Violation]) -> bool {
        match self {
            Role::Affected(entry) => violations
                .iter()
                .any(|v| expected.contains(&v.kind) && entry.explains(v)),
            Role::Fixed(entry) => violations
                .iter()
                .any(|v| entry.explains(v) || v.unexplained()),
            Role::NoFalseAlarm => !violations.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(kind: ViolationKind, permitted_by: Option<&str>, bug: Option<&str>) -> Violation {
        Violation {
            kind,
            partition: None,
            offsets: Vec::new(),
            values: Vec::new(),
            message: String::new(),
            evidence: Vec::new(),
            permitted_by: permitted_by.map(str::to_string),
            known_bug: bug.map(str::to_string),
        }
    }

    #[test]
    fn roles_come_from_file_names() {
        assert_eq!(
            role_of("05-kip-101-power-loss-divergence.json"),
            Some(Role::Affected(ENTRIES[4]))
        );
        assert_eq!(
            role_of("05-kip-101-power-loss-divergence-fixed.json"),
            Some(Role::Fixed(ENTRIES[4]))
        );
        assert_eq!(
            role_of("14-ambiguous-outcomes-3.6.json"),
            Some(Role::NoFalseAlarm)
        );
        assert_eq!(role_of("default.json"), None);
    }

    #[test]
    fn a_bug_entry_needs_its_bug_unpermitted_and_a_setting_entry_its_setting() {
        let divergence = ViolationKind::Divergence;
        let kip101 = Role::Affected(ENTRIES[4]);
        let bug = violation(divergence, None, Some("KIP-101"));
        let permitted = violation(divergence, Some("unclean_leader_election"), Some("KIP-101"));
        let lost = ViolationKind::LostWrite;
        let kip966 = Role::Affected(ENTRIES[8]);
        let lossy = violation(lost, Some("flush=never with power loss"), Some("KIP-966"));
        assert!(kip966.hit(&[lost], &[lossy]));
        assert!(kip101.hit(&[divergence], std::slice::from_ref(&bug)));
        assert!(!kip101.hit(&[divergence], std::slice::from_ref(&permitted)));
        assert!(!kip101.hit(&[ViolationKind::LostWrite], std::slice::from_ref(&bug)));
        let acks1 = Role::Affected(ENTRIES[1]);
        assert!(acks1.hit(&[lost], &[violation(lost, Some("acks=1"), None)]));
        assert!(!acks1.hit(
            &[lost],
            &[violation(lost, Some("min_insync_replicas=1"), None)]
        ));
        let twin = Role::Fixed(ENTRIES[4]);
        assert!(twin.hit(&[], &[bug]));
        assert!(!twin.hit(&[], &[permitted]));
        assert!(twin.hit(&[], &[violation(lost, None, None)]), "unexplained");
        assert!(Role::NoFalseAlarm.hit(&[], &[violation(lost, Some("acks=1"), None)]));
    }
}
