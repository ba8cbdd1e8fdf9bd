//! `explore --shrink`: which failing seeds to shrink (the first of each violation kind the
//! scenario does not expect) and what the summary keeps of each shrink. The shrinking
//! itself, which writes files, is the command line's (`cli::explore_shrink`).

use serde::{Deserialize, Serialize};

use super::summary::Exploration;

/// One shrink that `explore --shrink` made, as its summary and `--json` list it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShrunkFile {
    /// The violation kind kept.
    pub kind: String,
    /// The failing seed shrunk: the lowest that showed `kind`.
    pub seed: u64,
    /// The shrunk scenario written; `null` when the shrink could not be made.
    pub file: Option<String>,
    /// The partition the kept violation is about, when it is about one.
    #[serde(default)]
    pub partition: Option<String>,
    /// Faults before shrinking (the nemesis unrolled) and after.
    #[serde(default)]
    pub faults: Option<[usize; 2]>,
    /// Simulation runs the shrink made.
    #[serde(default)]
    pub runs: usize,
    /// Wall seconds it took.
    #[serde(default)]
    pub wall_s: f64,
    /// Whether the written file, run again at its seed, fails the same way.
    #[serde(default)]
    pub reproduces: bool,
    /// Why no file was written (the seed did not replay, a file could not be written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The seeds to shrink: for each violation kind the scenario does not expect, in kind
/// order, the lowest failing seed that showed it. A kind the scenario expects is not a
/// failure, so it is not shrunk.
pub fn targets(exploration: &Exploration) -> Vec<(String, u64)> {
    let expected = &exploration.summary.expected_violations;
    let mut targets: Vec<(String, u64)> = Vec::new();
    for seed in exploration.seeds.iter().filter(|s| !s.passed()) {
        for kind in &seed.violations {
            let known = targets.iter().any(|(k, _)| k == kind);
            if !known && !expected.contains(kind) {
                targets.push((kind.clone(), seed.seed));
            }
        }
    }
    targets.sort();
    targets
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::explore::summary::{Origin, SeedResult};

    fn seed(seed: u64, pass: bool, kinds: &[&str]) -> SeedResult {
        SeedResult {
            seed,
            outcome: if pass { "pass" } else { "fail" }.into(),
            violations: kinds.iter().map(|k| k.to_string()).collect(),
            trace_hash: String::new(),
            sim_ms: 1,
            messages: 1,
            coverage: Default::default(),
            availability: Default::default(),
            wall_s: Default::default(),
        }
    }

    fn exploration(expected: &[&str], seeds: Vec<SeedResult>) -> Exploration {
        let origin = Origin {
            scenario: "s".into(),
            scenario_file: String::new(),
            seeds: "1..9".into(),
            shard: "1/1".into(),
            shard_from: None,
            expected_violations: expected.iter().map(|k| k.to_string()).collect(),
            jobs: 1,
            possible: BTreeMap::new(),
        };
        Exploration::new(origin, seeds, 1.0, None)
    }

    #[test]
    fn the_lowest_failing_seed_of_each_kind_in_kind_order() {
        let e = exploration(
            &[],
            vec![
                seed(7, false, &["lost-write"]),
                seed(3, false, &["uncommitted-read", "lost-write"]),
                seed(2, true, &[]),
                seed(5, false, &["divergence", "lost-write"]),
            ],
        );
        let want = [
            ("divergence", 5),
            ("lost-write", 3),
            ("uncommitted-read", 3),
        ];
        let want: Vec<(String, u64)> = want.iter().map(|(k, s)| (k.to_string(), *s)).collect();
        assert_eq!(targets(&e), want);
    }

    #[test]
    fn expected_kinds_and_passing_seeds_are_not_shrunk() {
        let e = exploration(
            &["lost-write"],
            vec![
                seed(1, true, &["lost-write"]),
                seed(2, false, &[]),
                seed(4, false, &["lost-write", "divergence"]),
            ],
        );
        assert_eq!(targets(&e), vec![("divergence".to_string(), 4)]);
    }
}
