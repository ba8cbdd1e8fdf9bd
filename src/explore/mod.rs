//! Exploration: many seeds of one scenario, on every core.
//!
//! Each seed is an independent simulation in its own madsim runtime on a fresh OS thread
//! (madsim seeds std's hasher only for a thread's first runtime), so a seed's result
//! depends only on the binary, the scenario and the seed: not on `--jobs`, not on which
//! shard ran it, not on what ran before. `jobs` worker threads take seeds from a shared
//! counter; a seed's history is dropped as soon as it is checked, so memory stays flat
//! however many seeds run.
//!
//! Architecture invariant: like the harness, this module prints nothing; progress goes to
//! a callback the command line supplies.

pub mod availability;
pub mod junit;
pub mod rss;
pub mod seeds;
pub mod shard_env;
pub mod shrunk;
pub mod stopwatch;
pub mod summary;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::coverage::Mark;
use crate::harness::{self, RunReport};
use crate::scenario::{Expect, Scenario};
use seeds::{SeedPlan, SeedRange, Shard};
use stopwatch::Stopwatch;
use summary::{Exploration, Origin, SeedResult, WallSeconds};

/// What to explore.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The seeds, inclusive.
    pub range: SeedRange,
    /// The part of them this machine runs.
    pub shard: Shard,
    /// Where the shard came from (`--shard`, or the environment variable `--shard auto`
    /// read), for the summary; `None` for the whole range.
    pub shard_from: Option<String>,
    /// Worker threads (at least 1).
    pub jobs: usize,
    /// Stop starting seeds after the first failure.
    pub fail_fast: bool,
    /// Stop starting seeds after this much wall time.
    pub time_limit: Option<Duration>,
}

/// Where an exploration stands, for progress displays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// Seeds finished.
    pub done: u64,
    /// Seeds planned.
    pub total: u64,
    /// Seeds whose outcome did not match `expect`.
    pub failed: u64,
    /// Wall time since the start.
    pub elapsed: Duration,
}

/// Runs one seed on a fresh thread and returns its full report (history included).
pub fn run_seed(scenario: &Scenario, seed: u64) -> RunReport {
    std::thread::scope(|scope| {
        scope
            .spawn(|| harness::run(scenario, seed))
            .join()
            .expect("the harness catches panics")
    })
}

/// Runs every seed of `plan`, calling `on_seed` after each (from the worker thread that
/// ran it). `scenario_file` is the path as the user gave it ("" for the built-in
/// scenario), used in reproduce lines.
pub fn explore(
    scenario: &Scenario,
    scenario_file: &str,
    plan: &Plan,
    on_seed: &(dyn Fn(Progress, &SeedResult) + Sync),
) -> Exploration {
    let seeds = SeedPlan::new(plan.range, plan.shard);
    let clock = Stopwatch::start();
    let next = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let failed = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let stopped: Mutex<Option<String>> = Mutex::new(None);
    let results: Mutex<Vec<SeedResult>> = Mutex::new(Vec::new());
    let halt = |why: &str| {
        stop.store(true, Ordering::SeqCst);
        let mut stopped = stopped.lock().expect("stopped");
        stopped.get_or_insert_with(|| why.to_string());
    };
    let worker = || {
        loop {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            if plan
                .time_limit
                .is_some_and(|limit| clock.elapsed() >= limit)
            {
                halt("time-limit");
                return;
            }
            let Some(seed) = seeds.get(next.fetch_add(1, Ordering::SeqCst)) else {
                return;
            };
            let started = clock.elapsed();
            let report = run_seed(scenario, seed);
            let mut result = SeedResult::of(&report);
            drop(report); // the history: the biggest thing a seed makes
            result.wall_s = WallSeconds((clock.elapsed() - started).as_secs_f64());
            if !result.passed() {
                failed.fetch_add(1, Ordering::SeqCst);
                if plan.fail_fast {
                    halt("fail-fast");
                }
            }
            let progress = Progress {
                done: done.fetch_add(1, Ordering::SeqCst) + 1,
                total: seeds.len(),
                failed: failed.load(Ordering::SeqCst),
                elapsed: clock.elapsed(),
            };
            on_seed(progress, &result);
            results.lock().expect("results").push(result);
        }
    };
    std::thread::scope(|scope| {
        for _ in 0..plan.jobs.max(1) {
            scope.spawn(worker);
        }
    });
    let origin = Origin {
        scenario: scenario.name.clone(),
        scenario_file: scenario_file.to_string(),
        seeds: plan.range.to_string(),
        shard: plan.shard.to_string(),
        shard_from: plan.shard_from.clone(),
        expected_violations: match &scenario.expect {
            Expect::Pass => Vec::new(),
            Expect::Violations(kinds) => kinds.iter().map(|k| k.as_str().to_string()).collect(),
        },
        jobs: plan.jobs.max(1),
        possible: Mark::ALL
            .into_iter()
            .filter_map(|mark| Some((mark, mark.possible(scenario)?)))
            .collect(),
    };
    Exploration::new(
        origin,
        results.into_inner().expect("results"),
        clock.elapsed().as_secs_f64(),
        stopped.into_inner().expect("stopped"),
    )
}
