//! `run --unroll`: a run's scenario with its nemesis replaced by the faults the nemesis
//! drew, as an explicit `faults` list.
//!
//! Every fault action, scripted or the nemesis', is applied through
//! [`crate::harness::faults::apply`] and kept in [`RunReport::faults_applied`] with its
//! time and its target (by role where the nemesis aimed at a role, e.g. `leader:events-0`;
//! by broker id otherwise and for every end, e.g. the restart of the broker it crashed).
//! The unrolled file lists exactly those actions, in the order they were applied, and pins
//! the seed. Replaying it applies the same actions at the same times; the nemesis drew
//! from a random stream of its own, so madsim's stream (latencies, scheduling) is the
//! same in both runs for as long as their tasks wake alike. What can differ: the
//! nemesis' harness task also woke to look at the cluster (a bounce waiting for a new
//! leader, the ISR-change watcher polling every millisecond), and each such wake-up takes
//! one scheduling draw, so after the first of them the two runs draw different latencies.

use super::RunReport;
use crate::explore::run_seed;
use crate::scenario::write::{Changes, derive};
use crate::scenario::{Expect, Scenario, ScenarioError};

/// An unrolled run: the file's text, the scenario it loads as, and the original run.
#[derive(Debug)]
pub struct Unrolled {
    /// The unrolled scenario file (pretty JSON).
    pub text: String,
    /// What the text loads as: no nemesis, every fault explicit, `seed` pinned.
    pub scenario: Scenario,
    /// The run that was unrolled.
    pub report: RunReport,
}

/// Runs `scenario` (whose file text is `source`) with `seed` and unrolls the run.
pub fn unroll(source: &str, scenario: &Scenario, seed: u64) -> Result<Unrolled, ScenarioError> {
    let report = run_seed(scenario, seed);
    let origin = format!("{} seed {seed}", scenario.name);
    let (text, scenario) = unrolled(source, scenario, &origin, &report)?;
    Ok(Unrolled {
        text,
        scenario,
        report,
    })
}

/// The unrolled scenario of `report`, a run of `scenario` (file text `source`), and its
/// text. `origin` says where it came from (`scenarios/x.json seed 17`) in the new file's
/// description. `expect` lists the kinds the run found (or `pass` when it found none), so
/// that `kafkasim run FILE` exits 0 when it reproduces the run.
pub fn unrolled(
    source: &str,
    scenario: &Scenario,
    origin: &str,
    report: &RunReport,
) -> Result<(String, Scenario), ScenarioError> {
    if let Some(panic) = report
        .violations
        .iter()
        .find(|v| v.kind == crate::violation::ViolationKind::ModelInvariant)
    {
        return Err(ScenarioError::Invalid {
            field: "seed".into(),
            reason: format!(
                "this run stopped on a kafkasim bug, which an unrolled file cannot replay: {}",
                panic.message
            ),
        });
    }
    let from_nemesis = report
        .faults_applied
        .len()
        .saturating_sub(scenario.faults.len());
    let mut kinds: Vec<_> = report.violations.iter().map(|v| v.kind).collect();
    kinds.sort();
    kinds.dedup();
    let expect = if kinds.is_empty() {
        Expect::Pass
    } else {
        Expect::Violations(kinds)
    };
    let description = format!(
        "unrolled from {origin}: {} faults ({from_nemesis} drawn by the nemesis){}",
        report.faults_applied.len(),
        if scenario.description.is_empty() {
            String::new()
        } else {
            format!(". {}", scenario.description)
        }
    );
    let changes = Changes {
        name: Some(format!("{}-unrolled", scenario.name)),
        description: Some(description),
        seed: Some(report.seed),
        faults: Some(report.faults_applied.clone()),
        expect: Some(expect),
        fields: vec![(
            vec!["nemesis_looks_ms"],
            crate::scenario::looks_json(&report.looks_ms),
        )],
    };
    derive(source, scenario, &changes)
}
