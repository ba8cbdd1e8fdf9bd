//! What "the same failure" means while shrinking: a [`Signature`] (violation kind and
//! partition), and the three-valued [`Outcome`] of a candidate run (Zeller's fail, pass
//! and unresolved), plus the [`Findings`]: the smallest candidate of every other
//! signature seen on the way.

use std::collections::BTreeMap;
use std::fmt;

use crate::scenario::Expect;
use crate::violation::{Violation, ViolationKind};

/// A failure, as shrinking keeps it: the violation kind and its partition, not offsets,
/// values or times, which move whenever a fault is removed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Signature {
    /// The violation kind.
    pub kind: ViolationKind,
    /// The partition it is about (`events-0`), when it is about one.
    pub partition: Option<String>,
}

impl Signature {
    /// The signature of one violation.
    pub fn of(violation: &Violation) -> Signature {
        Signature {
            kind: violation.kind,
            partition: violation.partition.clone(),
        }
    }

    /// The signature of a run's failure: its first violation whose kind `expect` lists,
    /// else its first violation; `None` when the run has none.
    pub fn of_run(violations: &[Violation], expect: &Expect) -> Option<Signature> {
        let listed = |v: &&Violation| match expect {
            Expect::Violations(kinds) => kinds.contains(&v.kind),
            Expect::Pass => false,
        };
        violations
            .iter()
            .find(listed)
            .or(violations.first())
            .map(Signature::of)
    }

    /// Whether `violation` is this failure.
    pub fn matches(&self, violation: &Violation) -> bool {
        violation.kind == self.kind && violation.partition == self.partition
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.partition {
            Some(p) => write!(f, "{} on {p}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

/// What one candidate did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It shows the failure being shrunk (among any others): accepted.
    FailSame,
    /// No violation at all: rejected.
    Pass,
    /// Violations, but not the one being shrunk: rejected, kept as a finding (its
    /// signature, as [`Signature::of_run`] picks it).
    FailDifferent(Signature),
    /// The candidate is not a valid scenario (e.g. a fault naming a removed broker):
    /// skipped without a run.
    Invalid,
}

impl Outcome {
    /// The outcome of a run with `violations` when shrinking `target`.
    pub fn classify(violations: &[Violation], target: &Signature, expect: &Expect) -> Outcome {
        if violations.iter().any(|v| target.matches(v)) {
            return Outcome::FailSame;
        }
        match Signature::of_run(violations, expect) {
            Some(other) => Outcome::FailDifferent(other),
            None => Outcome::Pass,
        }
    }
}

/// The smallest candidate seen for one other signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// How it failed.
    pub signature: Signature,
    /// Its number of faults.
    pub faults: usize,
    /// The candidate scenario's JSON text (its seed pinned).
    pub text: String,
}

/// Every other way candidates failed, the smallest candidate of each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Findings(BTreeMap<Signature, Finding>);

impl Findings {
    /// Records a candidate that failed as `signature`; keeps it if it is the smallest so
    /// far (fewest faults, then the shorter and lexically smaller text, so the choice
    /// does not depend on the order runs finished in).
    pub fn record(&mut self, signature: Signature, faults: usize, text: &str) {
        let key = |f: usize, t: &str| (f, t.len(), t.to_string());
        let better = match self.0.get(&signature) {
            Some(old) => key(faults, text) < key(old.faults, &old.text),
            None => true,
        };
        if better {
            let finding = Finding {
                signature: signature.clone(),
                faults,
                text: text.to_string(),
            };
            self.0.insert(signature, finding);
        }
    }

    /// The findings, by signature.
    pub fn iter(&self) -> impl Iterator<Item = &Finding> {
        self.0.values()
    }

    /// How many distinct signatures.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no candidate failed differently.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(kind: ViolationKind, partition: &str) -> Violation {
        Violation {
            kind,
            partition: Some(partition.to_string()),
            offsets: Vec::new(),
            values: Vec::new(),
            message: String::new(),
            evidence: Vec::new(),
            permitted_by: None,
            known_bug: None,
        }
    }

    #[test]
    fn the_signature_prefers_a_kind_the_scenario_expects() {
        let run = [
            violation(ViolationKind::Unseen, "events-1"),
            violation(ViolationKind::LostWrite, "events-0"),
        ];
        let expect = Expect::Violations(vec![ViolationKind::LostWrite]);
        let sig = Signature::of_run(&run, &expect).expect("fails");
        assert_eq!(sig.to_string(), "lost-write on events-0");
        let first = Signature::of_run(&run, &Expect::Pass).expect("fails");
        assert_eq!(first.to_string(), "unseen on events-1");
        assert_eq!(Signature::of_run(&[], &Expect::Pass), None);
    }

    #[test]
    fn outcomes_are_same_different_or_pass() {
        let target = Signature::of(&violation(ViolationKind::LostWrite, "events-0"));
        let expect = Expect::Pass;
        let same = [
            violation(ViolationKind::Unseen, "events-0"),
            violation(ViolationKind::LostWrite, "events-0"),
        ];
        assert_eq!(
            Outcome::classify(&same, &target, &expect),
            Outcome::FailSame
        );
        let other_partition = [violation(ViolationKind::LostWrite, "events-1")];
        assert_eq!(
            Outcome::classify(&other_partition, &target, &expect),
            Outcome::FailDifferent(Signature::of(&other_partition[0]))
        );
        assert_eq!(Outcome::classify(&[], &target, &expect), Outcome::Pass);
    }

    #[test]
    fn findings_keep_the_smallest_candidate_per_signature() {
        let sig = Signature::of(&violation(ViolationKind::Divergence, "events-0"));
        let mut findings = Findings::default();
        findings.record(sig.clone(), 5, "bbbbb");
        findings.record(sig.clone(), 3, "cc");
        findings.record(sig.clone(), 3, "ccc");
        findings.record(sig.clone(), 3, "ab");
        findings.record(sig.clone(), 4, "a");
        let kept: Vec<_> = findings.iter().collect();
        assert_eq!(kept.len(), 1);
        assert_eq!((kept[0].faults, kept[0].text.as_str()), (3, "ab"));
    }
}
