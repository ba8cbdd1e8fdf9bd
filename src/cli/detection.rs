//! `kafkasim bench --detection`: how fast the random nemesis finds each entry of the
//! known-failure catalogue, and that the fixed twins stay clean.
//!
//! For each affected scenario (`NN-slug.json`), 10 seed streams (stream k runs seeds
//! `k·1,000,000 + 1, + 2, …`) run until a seed shows the entry's violation (see
//! [`Role::hit`]), at most `--max-seeds` each. Each twin (`NN-slug-fixed.json`) and each
//! entry-14 scenario runs `--twin-seeds` seeds and counts the seeds where the entry comes
//! back (or, for entry 14, any violation). Streams and twin chunks share `--jobs`
//! worker threads; a stream's wall time is its own, so it does not depend on `--jobs`
//! as long as no other program competes for the cores.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Serialize;

use crate::catalogue::{Role, role_of};
use crate::cli::check::scenario_files;
use crate::cli::run::load;
use crate::cli::{Outcome, print_stdout};
use crate::explore::run_seed;
use crate::explore::stopwatch::Stopwatch;
use crate::scenario::{Expect, Scenario};
use crate::violation::ViolationKind;

/// Seeds of stream k start after `k * STREAM_STRIDE`.
const STREAM_STRIDE: u64 = 1_000_000;
/// Twins run in chunks of this many seeds, so that they spread over the workers.
const TWIN_CHUNK: u64 = 250;
/// Targets from the issue: median seeds and wall seconds to detection, worst seeds.
const MEDIAN_SEEDS_MAX: f64 = 200.0;
const MEDIAN_WALL_S_MAX: f64 = 30.0;

/// What `--detection` runs.
pub struct DetectionPlan {
    /// The catalogue folder.
    pub dir: PathBuf,
    /// Seed streams per affected scenario.
    pub streams: u64,
    /// Most seeds one stream tries.
    pub max_seeds: u64,
    /// Seeds per twin.
    pub twin_seeds: u64,
    /// Only these entry numbers (empty: all).
    pub only: Vec<String>,
    /// Worker threads.
    pub jobs: usize,
}

/// One catalogue file.
struct Item {
    name: String,
    scenario: Scenario,
    role: Role,
}

/// One unit of work.
#[derive(Clone, Copy)]
enum Task {
    /// Stream `k` of item `i`.
    Stream(usize, u64),
    /// Seeds `first..=last` of twin `i`.
    Twin(usize, u64, u64),
}

/// How one stream ended.
#[derive(Clone, Copy)]
struct StreamResult {
    item: usize,
    /// Seeds run until the first detection (None: not found within `max_seeds`).
    seeds: Option<u64>,
    /// The detecting seed.
    seed: Option<u64>,
    wall_s: f64,
}

/// How one twin chunk ended.
#[derive(Clone, Copy)]
struct TwinResult {
    item: usize,
    seeds: u64,
    hits: u64,
    first_hit: Option<u64>,
}

/// One JSON line per affected entry.
#[derive(Serialize)]
struct EntryLine {
    entry: String,
    explained_by: String,
    streams: u64,
    found: u64,
    median_seeds: Option<f64>,
    worst_seeds: Option<u64>,
    median_wall_s: Option<f64>,
    worst_wall_s: Option<f64>,
    detecting_seeds: Vec<u64>,
    twin: Option<String>,
    twin_seeds: u64,
    twin_hits: u64,
    first_twin_hit_seed: Option<u64>,
    meets_targets: bool,
}

/// One JSON line per entry-14 scenario.
#[derive(Serialize)]
struct NoFalseAlarmLine {
    entry: String,
    seeds: u64,
    seeds_with_violations: u64,
    first_seed_with_violation: Option<u64>,
    meets_targets: bool,
}

/// Runs the detection benchmark and prints its lines.
pub fn run(plan: &DetectionPlan) -> anyhow::Result<Outcome> {
    let items = load_items(&plan.dir, &plan.only)?;
    let mut tasks = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match item.role {
            Role::Affected(_) => tasks.extend((0..plan.streams).map(|k| Task::Stream(i, k))),
            Role::Fixed(_) | Role::NoFalseAlarm => {
                let mut first = 1;
                while first <= plan.twin_seeds {
                    let last = (first + TWIN_CHUNK - 1).min(plan.twin_seeds);
                    tasks.push(Task::Twin(i, first, last));
                    first = last + 1;
                }
            }
        }
    }
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let streams: Mutex<Vec<StreamResult>> = Mutex::new(Vec::new());
    let twins: Mutex<Vec<TwinResult>> = Mutex::new(Vec::new());
    let clock = Stopwatch::start();
    let worker = || {
        while let Some(task) = tasks.get(next.fetch_add(1, Ordering::SeqCst)) {
            let line = match *task {
                Task::Stream(i, k) => {
                    let result = stream(&items[i], i, k, plan.max_seeds);
                    streams.lock().expect("streams").push(result);
                    match result.seed {
                        Some(seed) => format!(
                            "{}: stream {k} found it at seed {seed} ({} seeds, {:.1} s)",
                            items[i].name,
                            result.seeds.unwrap_or(0),
                            result.wall_s
                        ),
                        None => format!(
                            "{}: stream {k} did not find it in {} seeds",
                            items[i].name, plan.max_seeds
                        ),
                    }
                }
                Task::Twin(i, first, last) => {
                    let result = twin(&items[i], i, first, last);
                    twins.lock().expect("twins").push(result);
                    format!(
                        "{}: seeds {first}..{last}: {} with the entry back",
                        items[i].name, result.hits
                    )
                }
            };
            let n = done.fetch_add(1, Ordering::SeqCst) + 1;
            eprintln!(
                "[{n}/{} {:.0} s] {line}",
                tasks.len(),
                clock.elapsed().as_secs_f64()
            );
        }
    };
    std::thread::scope(|scope| {
        for _ in 0..plan.jobs.max(1) {
            scope.spawn(worker);
        }
    });
    let streams = streams.into_inner().expect("streams");
    let twins = twins.into_inner().expect("twins");
    let mut all_met = true;
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        let line = match item.role {
            Role::Affected(entry) => {
                let twin_name = item.name.replace(".json", "-fixed.json");
                let twin = items.iter().position(|x| x.name == twin_name);
                let mine: Vec<&StreamResult> = streams.iter().filter(|s| s.item == i).collect();
                let line = entry_line(item, entry.explained_by, plan, &mine, twin, &items, &twins);
                all_met &= line.meets_targets;
                serde_json::to_string(&line)
            }
            Role::Fixed(_) => continue, // reported on its entry's line
            Role::NoFalseAlarm => {
                let (seeds, hits, first) = twin_totals(&twins, i);
                let line = NoFalseAlarmLine {
                    entry: item.name.clone(),
                    seeds,
                    seeds_with_violations: hits,
                    first_seed_with_violation: first,
                    meets_targets: hits == 0,
                };
                all_met &= line.meets_targets;
                serde_json::to_string(&line)
            }
        };
        out.push_str(&line.expect("plain data serializes"));
        out.push('\n');
    }
    print_stdout(&out)?;
    Ok(if all_met {
        Outcome::Matched
    } else {
        Outcome::Mismatched
    })
}

/// The catalogue files under `dir` (only entries in `only`, if any), each with its role.
fn load_items(dir: &Path, only: &[String]) -> anyhow::Result<Vec<Item>> {
    let mut items = Vec::new();
    for path in scenario_files(dir)? {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let Some(role) = role_of(&name) else {
            anyhow::bail!(
                "{}: not a catalogue file (expected NN-slug.json or NN-slug-fixed.json, \
                 NN from 01 to 14)",
                path.display()
            );
        };
        if !only.is_empty() && !only.iter().any(|n| name.starts_with(&format!("{n}-"))) {
            continue;
        }
        let (scenario, _) = load(Some(&path))?;
        if matches!(role, Role::Affected(_)) && expected_kinds(&scenario).is_empty() {
            anyhow::bail!(
                "{}: field `expect`: an affected catalogue scenario must expect violations",
                path.display()
            );
        }
        items.push(Item {
            name,
            scenario,
            role,
        });
    }
    if items.is_empty() {
        anyhow::bail!("{}: no catalogue scenario found", dir.display());
    }
    Ok(items)
}

fn expected_kinds(scenario: &Scenario) -> Vec<ViolationKind> {
    match &scenario.expect {
        Expect::Pass => Vec::new(),
        Expect::Violations(kinds) => kinds.clone(),
    }
}

/// Runs stream `k` of an affected item until the first detection.
fn stream(item: &Item, i: usize, k: u64, max_seeds: u64) -> StreamResult {
    let expected = expected_kinds(&item.scenario);
    let clock = Stopwatch::start();
    for n in 1..=max_seeds {
        let seed = k * STREAM_STRIDE + n;
        let report = run_seed(&item.scenario, seed);
        if item.role.hit(&expected, &report.violations) {
            return StreamResult {
                item: i,
                seeds: Some(n),
                seed: Some(seed),
                wall_s: clock.elapsed().as_secs_f64(),
            };
        }
    }
    StreamResult {
        item: i,
        seeds: None,
        seed: None,
        wall_s: clock.elapsed().as_secs_f64(),
    }
}

/// Runs seeds `first..=last` of a twin and counts those where the entry is back.
fn twin(item: &Item, i: usize, first: u64, last: u64) -> TwinResult {
    let mut result = TwinResult {
        item: i,
        seeds: 0,
        hits: 0,
        first_hit: None,
    };
    for seed in first..=last {
        let report = run_seed(&item.scenario, seed);
        result.seeds += 1;
        if item.role.hit(&[], &report.violations) {
            result.hits += 1;
            result.first_hit = result.first_hit.or(Some(seed));
        }
    }
    result
}

/// Seeds run, seeds with a hit and the first such seed over all chunks of item `i`.
fn twin_totals(twins: &[TwinResult], i: usize) -> (u64, u64, Option<u64>) {
    let mine = twins.iter().filter(|t| t.item == i);
    let seeds = mine.clone().map(|t| t.seeds).sum();
    let hits = mine.clone().map(|t| t.hits).sum();
    let first = mine.filter_map(|t| t.first_hit).min();
    (seeds, hits, first)
}

/// The middle of `values` (the mean of the two middle ones for an even count).
fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let mid = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    Some((mid * 100.0).round() / 100.0)
}

fn entry_line(
    item: &Item,
    explained_by: &str,
    plan: &DetectionPlan,
    streams: &[&StreamResult],
    twin: Option<usize>,
    items: &[Item],
    twins: &[TwinResult],
) -> EntryLine {
    let found: Vec<&&StreamResult> = streams.iter().filter(|s| s.seeds.is_some()).collect();
    let all_found = found.len() == streams.len();
    // A stream that found nothing counts as needing more than max_seeds.
    let seeds: Vec<f64> = streams
        .iter()
        .map(|s| s.seeds.unwrap_or(plan.max_seeds + 1) as f64)
        .collect();
    let walls: Vec<f64> = streams.iter().map(|s| s.wall_s).collect();
    let median_seeds = median(seeds);
    let median_wall_s = median(walls.clone());
    let worst_seeds = all_found
        .then(|| found.iter().filter_map(|s| s.seeds).max())
        .flatten();
    let worst_wall_s = walls
        .iter()
        .copied()
        .max_by(f64::total_cmp)
        .map(|w| (w * 100.0).round() / 100.0);
    let (twin_seeds, twin_hits, first_twin_hit_seed) = match twin {
        Some(t) => twin_totals(twins, t),
        None => (0, 0, None),
    };
    let meets_targets = all_found
        && median_seeds.is_some_and(|m| m <= MEDIAN_SEEDS_MAX)
        && median_wall_s.is_some_and(|m| m < MEDIAN_WALL_S_MAX)
        && twin.is_some()
        && twin_hits == 0;
    let mut detecting_seeds: Vec<u64> = found.iter().filter_map(|s| s.seed).collect();
    detecting_seeds.sort_unstable();
    EntryLine {
        entry: item.name.clone(),
        explained_by: explained_by.to_string(),
        streams: streams.len() as u64,
        found: found.len() as u64,
        median_seeds,
        worst_seeds,
        median_wall_s,
        worst_wall_s,
        detecting_seeds,
        twin: twin.map(|t| items[t].name.clone()),
        twin_seeds,
        twin_hits,
        first_twin_hit_seed,
        meets_targets,
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }
}
