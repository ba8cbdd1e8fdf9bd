//! Shrinking a failing seed into a minimal scenario that fails the same way.
//!
//! The input is a scenario with an explicit fault list (a nemesis is unrolled into one
//! first, `harness::unroll`) and a seed at which it fails. The failure's [`Signature`] is
//! its violation kind and partition. Candidates are the base scenario with fewer, weaker,
//! shorter or earlier faults and smaller sizes; each is run at the same seed and is
//! accepted when it still fails the same way ([`Outcome`]: a candidate that fails
//! differently is rejected and kept as a finding). The passes ([`passes`]) repeat until
//! none changes anything or the run budget is spent. The design follows Zeller's ddmin
//! over DEMi-style fault atoms, with Hypothesis-style alternating passes
//! (`../shared/reference/shrinking.md`, option (a)).
//!
//! Architecture invariant: like `explore`, this module prints nothing and touches no
//! files; progress goes to a callback. Its result does not depend on the number of jobs
//! (only the number of runs made for nothing does), as long as the budget is not spent.

pub mod atoms;
pub mod ddmin;
pub mod evaluate;
pub mod knobs;
pub mod outcome;
pub mod parallel;
pub mod passes;
pub mod weaken;

use std::ops::RangeInclusive;

use crate::explore::run_seed;
use crate::fault_mark;
use crate::harness::RunReport;
use crate::history::EventKind;
use crate::scenario::write::derive;
use crate::scenario::{Expect, Scenario, ScenarioError};
use crate::violation::ViolationKind;
use atoms::Schedule;
pub use evaluate::{Base, Candidate, Status};
use evaluate::{Evaluator, verdict};
pub use outcome::{Finding, Findings, Outcome, Signature};

/// The default run budget.
pub const DEFAULT_MAX_RUNS: usize = 400;

/// How hard to try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// At most this many simulation runs (the baseline included).
    pub max_runs: usize,
    /// Worker threads for one step's candidates.
    pub jobs: usize,
}

/// Why a shrink could not start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShrinkError {
    /// The base scenario shows no violation at the seed.
    DoesNotFail,
    /// The base scenario fails, but not as the run it stands for (an unrolled nemesis
    /// whose explicit faults do not replay its failure); what it did instead.
    NotReproduced(Outcome),
}

/// What a shrink found.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The failure kept.
    pub signature: Signature,
    /// The base scenario, as a candidate.
    pub before: Candidate,
    /// The smallest candidate that still fails the same way.
    pub after: Candidate,
    /// Its scenario text (the base's name and expect, the seed pinned).
    pub text: String,
    /// The kinds of violation its run shows.
    pub kinds: Vec<ViolationKind>,
    /// Simulation runs made, the baseline included.
    pub runs: usize,
    /// Candidates skipped because they were not valid scenarios.
    pub skipped: usize,
    /// Whether the run budget ran out before the passes were done.
    pub exhausted: bool,
    /// Rounds of passes made.
    pub rounds: usize,
    /// Other failures seen, the smallest candidate of each.
    pub findings: Findings,
}

/// The passes of one round, in order.
const PASSES: [fn(&mut Evaluator, &mut Candidate) -> bool; 7] = [
    passes::remove_atoms,
    passes::weaken_faults,
    passes::drop_ends,
    passes::shorten_faults,
    passes::shorten_workload,
    passes::shrink_knobs,
    passes::move_earlier,
];

/// Shrinks `base` at `seed`. `target` is the failure to keep when the base stands for
/// another run (an unrolled nemesis); `None` takes the base run's own failure.
/// `on_run` hears of every run.
pub fn shrink(
    base: &Base,
    seed: u64,
    target: Option<Signature>,
    options: Options,
    on_run: &(dyn Fn(Status) + Sync),
) -> Result<Shrunk, ShrinkError> {
    let baseline = run_seed(base.scenario, seed);
    let expect = &base.expect;
    let target = match target {
        Some(t) => t,
        None => Signature::of_run(&baseline.violations, expect).ok_or(ShrinkError::DoesNotFail)?,
    };
    let first = verdict(&baseline.violations, &target, expect);
    if first.outcome != Outcome::FailSame {
        return Err(match first.outcome {
            Outcome::Pass if baseline.violations.is_empty() => ShrinkError::DoesNotFail,
            other => ShrinkError::NotReproduced(other),
        });
    }
    let schedule = Schedule::new(
        &base.scenario.faults,
        &fault_marks(&baseline),
        &base.scenario.network,
    );
    let before = Candidate {
        schedule,
        knobs: base.knobs.clone(),
    };
    let mut eval = Evaluator::new(
        base,
        seed,
        target.clone(),
        (options.jobs, options.max_runs),
        on_run,
    );
    let (text, _) = eval
        .text(&before)
        .expect("the base scenario with its own faults loads");
    eval.record(text, first);
    eval.status.1 = before.schedule.fault_count();
    let mut best = before.clone();
    let mut rounds = 0;
    while !eval.exhausted() {
        rounds += 1;
        let mut progress = false;
        for pass in PASSES {
            if eval.exhausted() {
                break;
            }
            progress |= pass(&mut eval, &mut best);
        }
        if !progress {
            break;
        }
    }
    let (text, _) = eval.text(&best).expect("an accepted candidate loads");
    let kinds = eval
        .verdict(&text)
        .map(|v| v.kinds.clone())
        .unwrap_or_default();
    Ok(Shrunk {
        signature: target,
        before,
        after: best,
        text,
        kinds,
        runs: eval.runs(),
        skipped: eval.skipped(),
        exhausted: eval.exhausted(),
        rounds,
        findings: eval.findings().clone(),
    })
}

/// The baseline run's `Fault` events, parsed, in order: one per applied fault.
fn fault_marks(report: &RunReport) -> Vec<Option<fault_mark::FaultMark>> {
    report
        .history
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Fault { description } => Some(fault_mark::parse(description)),
            _ => None,
        })
        .collect()
}

impl Shrunk {
    /// The kinds the shrunk file expects: the kept failure's kind, then every other kind
    /// `base_expect` lists that the shrunk run still shows.
    pub fn expected_kinds(&self, base_expect: &Expect) -> Vec<ViolationKind> {
        let mut kinds = vec![self.signature.kind];
        if let Expect::Violations(listed) = base_expect {
            for k in listed {
                if self.kinds.contains(k) && !kinds.contains(k) {
                    kinds.push(*k);
                }
            }
        }
        kinds
    }

    /// The shrunk scenario file: the candidate with `name`, `description` and an
    /// `expect` listing [`Shrunk::expected_kinds`], the seed pinned, no nemesis.
    pub fn file(
        &self,
        base: &Base,
        seed: u64,
        name: &str,
        description: &str,
    ) -> Result<(String, Scenario), ScenarioError> {
        let mut changes = self.after.changes(base, seed);
        changes.name = Some(name.to_string());
        changes.description = Some(description.to_string());
        changes.expect = Some(Expect::Violations(self.expected_kinds(&base.expect)));
        let (text, scenario) = derive(base.text, base.scenario, &changes)?;
        Ok((without_empty_looks(&text).unwrap_or(text), scenario))
    }
}

/// `text` without a `"nemesis_looks_ms": []` (the same scenario, one line less), if it
/// has one.
fn without_empty_looks(text: &str) -> Option<String> {
    let mut doc: serde_json::Value = serde_json::from_str(text).ok()?;
    let root = doc.as_object_mut()?;
    if root.get("nemesis_looks_ms")?.as_array()?.is_empty() {
        root.remove("nemesis_looks_ms");
    }
    Some(serde_json::to_string_pretty(&doc).ok()? + "\n")
}

/// Whether `scenario` fails as `signature` at `seed`, with the run's report.
pub fn fails_same(scenario: &Scenario, seed: u64, signature: &Signature) -> (bool, RunReport) {
    let report = run_seed(scenario, seed);
    let same = report.violations.iter().any(|v| signature.matches(v));
    (same, report)
}

/// On how many of `seeds` `scenario` fails as `signature`, on `jobs` threads.
pub fn robustness(
    scenario: &Scenario,
    seeds: RangeInclusive<u64>,
    signature: &Signature,
    jobs: usize,
) -> usize {
    let seeds: Vec<u64> = seeds.collect();
    parallel::test_all(&seeds, jobs, |&seed| {
        fails_same(scenario, seed, signature).0
    })
    .into_iter()
    .filter(|same| *same)
    .count()
}
