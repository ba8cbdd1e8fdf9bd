//! What an exploration produced: one small [`SeedResult`] per seed (histories are dropped
//! as soon as a seed is checked) and the [`Summary`] computed from them. Both serialize to
//! the `explore --json` file, whose field names are part of the README's contract, and
//! [`Exploration::merge`] combines the files of several shards.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::availability::{AvailabilityTotals, SeedAvailability};
use super::shrunk::ShrunkFile;
pub use super::stopwatch::WallSeconds;
use crate::coverage::{Coverage, Mark};
use crate::harness::RunReport;

/// One seed's outcome, kept after its history is dropped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// `"pass"` when the outcome matched the scenario's `expect`, `"fail"` otherwise.
    pub outcome: String,
    /// The kinds of violation found, each once, in report order.
    pub violations: Vec<String>,
    /// The run's trace hash (16 hex digits): equal for equal executions.
    pub trace_hash: String,
    /// Simulated milliseconds.
    pub sim_ms: u64,
    /// Datagrams the simulated network delivered.
    pub messages: u64,
    /// How often the seed reached each coverage mark (all zero in files written before
    /// coverage existed).
    #[serde(default)]
    pub coverage: Coverage,
    /// Produce latency and outages (`produce_latency`, `worst_outage`, `outage_lengths`;
    /// empty in files written before they existed).
    #[serde(flatten)]
    pub availability: SeedAvailability,
    /// Wall seconds the seed took (0 in files written before it was kept). A measurement,
    /// not part of the result: two results that differ only here are equal.
    #[serde(default)]
    pub wall_s: WallSeconds,
}

impl SeedResult {
    /// The small part of a run's report that an exploration keeps.
    pub fn of(report: &RunReport) -> SeedResult {
        let mut seen = BTreeSet::new();
        let violations = report
            .violations
            .iter()
            .filter(|v| seen.insert(v.kind))
            .map(|v| v.kind.as_str().to_string())
            .collect();
        SeedResult {
            seed: report.seed,
            outcome: if report.matched { "pass" } else { "fail" }.to_string(),
            violations,
            trace_hash: format!("{:016x}", report.trace_hash),
            sim_ms: report.sim_ms,
            messages: report.messages_delivered,
            coverage: report.coverage,
            availability: SeedAvailability::of(&report.history, &report.availability),
            wall_s: WallSeconds::default(),
        }
    }

    /// Whether the outcome matched `expect`.
    pub fn passed(&self) -> bool {
        self.outcome == "pass"
    }
}

/// A failing seed and the command that replays it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The seed.
    pub seed: u64,
    /// The kinds of violation found (empty when an expected kind was missing).
    pub violations: Vec<String>,
    /// `kafkasim run [SCENARIO] --seed N`.
    pub reproduce: String,
}

/// Totals over every seed that ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The scenario's `name`.
    pub scenario: String,
    /// The scenario file as given on the command line; empty for the built-in default.
    pub scenario_file: String,
    /// The seed range asked for, `A..B` (inclusive).
    pub seeds: String,
    /// The shard, `K/N`; several when merged, e.g. `1/2+2/2`.
    pub shard: String,
    /// Where the shard came from: `--shard`, or the environment variable `--shard auto`
    /// read its index from (`JOB_COMPLETION_INDEX`, `SLURM_ARRAY_TASK_ID`,
    /// `KAFKASIM_SHARD_INDEX`); `null` when the whole range ran. After a merge, the
    /// distinct sources joined by `+`.
    #[serde(default)]
    pub shard_from: Option<String>,
    /// The violation kinds the scenario's `expect` lists (empty: it expects a pass).
    #[serde(default)]
    pub expected_violations: Vec<String>,
    /// Worker threads (the largest of merged files).
    pub jobs: usize,
    /// Why the run stopped before every seed ran (`fail-fast`, `time-limit`), if it did.
    pub stopped: Option<String>,
    /// Seeds that ran to the end.
    pub seeds_run: u64,
    /// Seeds whose outcome matched `expect`.
    pub passed: u64,
    /// Seeds whose outcome did not.
    pub failed: u64,
    /// For each violation kind, how many seeds found it (whether expected or not).
    pub by_kind: BTreeMap<String, u64>,
    /// Wall-clock seconds (for merged shards, the slowest shard: they ran side by side).
    pub wall_s: f64,
    /// Simulated seconds, summed over seeds.
    pub sim_s: f64,
    /// `sim_s / wall_s`.
    pub sim_to_wall_total: f64,
    /// `sim_to_wall_total / jobs`: the speed of one core.
    pub sim_to_wall_per_core: f64,
    /// Datagrams delivered by the simulated network, summed over seeds.
    pub messages: u64,
    /// `messages / wall_s`.
    pub messages_per_wall_s: f64,
    /// Seeds per wall second.
    pub seeds_per_s: f64,
    /// Every failing seed, ascending, with its reproduce line.
    pub failures: Vec<Failure>,
    /// For every coverage mark (by name): the total count, the seeds that reached it, and
    /// why the scenario makes it possible (`null`: it cannot be reached).
    #[serde(default)]
    pub coverage: BTreeMap<String, MarkTotal>,
    /// Produce latency over all seeds, the worst outage and the time to recover per
    /// fault kind (`produce_latency_ms`, `outage_count`, `seeds_with_outage`,
    /// `worst_outage`, `recovery_ms`).
    #[serde(flatten)]
    pub availability: AvailabilityTotals,
    /// With `explore --shrink`: the first failing seed of each violation kind, shrunk
    /// (`kind`, `seed`, `file`, ...); absent without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shrunk: Option<Vec<ShrunkFile>>,
}

/// One coverage mark summed over seeds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkTotal {
    /// Times reached, summed over seeds.
    pub count: u64,
    /// Seeds that reached it at least once.
    pub seeds: u64,
    /// Why the scenario can reach it ([`Mark::possible`]), or `None` if it cannot.
    pub possible: Option<String>,
}

impl Summary {
    /// The marks the scenario makes possible but no seed reached, in report order, each
    /// with why it is possible.
    pub fn unreached(&self) -> Vec<(Mark, &str)> {
        Mark::ALL
            .into_iter()
            .filter_map(|mark| {
                let total = self.coverage.get(mark.as_str())?;
                let why = total.possible.as_deref()?;
                (total.seeds == 0).then_some((mark, why))
            })
            .collect()
    }
}

/// Where the seeds came from, for the summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The scenario's `name`.
    pub scenario: String,
    /// The file given on the command line, empty for the built-in default.
    pub scenario_file: String,
    /// `A..B`.
    pub seeds: String,
    /// `K/N`.
    pub shard: String,
    /// Where the shard came from (`--shard` or an environment variable), `None` for the
    /// whole range.
    pub shard_from: Option<String>,
    /// The violation kinds the scenario's `expect` lists (empty: it expects a pass).
    pub expected_violations: Vec<String>,
    /// Worker threads.
    pub jobs: usize,
    /// For each mark the scenario can reach, why ([`Mark::possible`]).
    pub possible: BTreeMap<Mark, String>,
}

/// The whole `explore --json` document: the summary and every seed's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exploration {
    /// Totals.
    pub summary: Summary,
    /// One entry per seed that ran, ascending by seed.
    pub seeds: Vec<SeedResult>,
}

/// The command that replays `seed` of the scenario in `file` (empty: the built-in one).
pub fn reproduce_line(file: &str, seed: u64) -> String {
    if file.is_empty() {
        format!("kafkasim run --seed {seed}")
    } else {
        format!("kafkasim run {file} --seed {seed}")
    }
}

impl Exploration {
    /// Builds the document from per-seed results (any order) and the wall time.
    pub fn new(
        origin: Origin,
        mut seeds: Vec<SeedResult>,
        wall_s: f64,
        stopped: Option<String>,
    ) -> Exploration {
        seeds.sort_by_key(|s| s.seed);
        let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
        for seed in &seeds {
            for kind in &seed.violations {
                *by_kind.entry(kind.clone()).or_default() += 1;
            }
        }
        let failures: Vec<Failure> = seeds
            .iter()
            .filter(|s| !s.passed())
            .map(|s| Failure {
                seed: s.seed,
                violations: s.violations.clone(),
                reproduce: reproduce_line(&origin.scenario_file, s.seed),
            })
            .collect();
        let seeds_run = seeds.len() as u64;
        let sim_s = seeds.iter().map(|s| s.sim_ms).sum::<u64>() as f64 / 1000.0;
        let messages: u64 = seeds.iter().map(|s| s.messages).sum();
        let coverage = Mark::ALL
            .into_iter()
            .map(|mark| {
                let counts = seeds.iter().map(|s| s.coverage.get(mark));
                let total = MarkTotal {
                    count: counts.clone().sum(),
                    seeds: counts.filter(|n| *n > 0).count() as u64,
                    possible: origin.possible.get(&mark).cloned(),
                };
                (mark.as_str().to_string(), total)
            })
            .collect();
        let availability = AvailabilityTotals::of(seeds.iter().map(|s| (s.seed, &s.availability)));
        let per_wall = |x: f64| if wall_s > 0.0 { x / wall_s } else { 0.0 };
        let sim_to_wall_total = per_wall(sim_s);
        let summary = Summary {
            scenario: origin.scenario,
            scenario_file: origin.scenario_file,
            seeds: origin.seeds,
            shard: origin.shard,
            shard_from: origin.shard_from,
            expected_violations: origin.expected_violations,
            jobs: origin.jobs,
            stopped,
            seeds_run,
            passed: seeds_run - failures.len() as u64,
            failed: failures.len() as u64,
            by_kind,
            wall_s,
            sim_s,
            sim_to_wall_total,
            sim_to_wall_per_core: sim_to_wall_total / origin.jobs.max(1) as f64,
            messages,
            messages_per_wall_s: per_wall(messages as f64),
            seeds_per_s: per_wall(seeds_run as f64),
            failures,
            coverage,
            availability,
            shrunk: None,
        };
        Exploration { summary, seeds }
    }

    /// Whether every seed that ran matched `expect` (and at least one ran).
    pub fn all_passed(&self) -> bool {
        self.summary.failed == 0 && self.summary.seeds_run > 0
    }

    /// Combines shard files of one scenario into one document. Errors when the files
    /// name different scenarios or seed ranges, or when one seed appears twice with
    /// different results (which would mean the simulation is not deterministic).
    pub fn merge(parts: Vec<Exploration>) -> Result<Exploration, String> {
        let Some(first) = parts.first() else {
            return Err("nothing to merge".to_string());
        };
        let (scenario, file, range) = (
            first.summary.scenario.clone(),
            first.summary.scenario_file.clone(),
            first.summary.seeds.clone(),
        );
        let possible = Mark::ALL
            .into_iter()
            .filter_map(|mark| {
                let why = first
                    .summary
                    .coverage
                    .get(mark.as_str())?
                    .possible
                    .clone()?;
                Some((mark, why))
            })
            .collect();
        let mut by_seed: BTreeMap<u64, SeedResult> = BTreeMap::new();
        let mut shards = Vec::new();
        let mut sources: Vec<String> = Vec::new();
        let expected_violations = first.summary.expected_violations.clone();
        let mut stopped = None;
        let mut shrunk: Option<Vec<ShrunkFile>> = None;
        let (mut wall_s, mut jobs) = (0.0f64, 0usize);
        for (i, part) in parts.into_iter().enumerate() {
            let s = &part.summary;
            if s.scenario != scenario || s.scenario_file != file {
                return Err(format!(
                    "file {} is for scenario `{}` ({}), the first for `{scenario}` ({})",
                    i + 1,
                    s.scenario,
                    display_file(&s.scenario_file),
                    display_file(&file)
                ));
            }
            if s.seeds != range {
                return Err(format!(
                    "file {} covers seeds {}, the first covers {range}",
                    i + 1,
                    s.seeds
                ));
            }
            wall_s = wall_s.max(s.wall_s);
            jobs = jobs.max(s.jobs);
            shards.push(s.shard.clone());
            if let Some(from) = s.shard_from.as_ref().filter(|f| !sources.contains(f)) {
                sources.push(from.clone());
            }
            stopped = stopped.or(s.stopped.clone());
            if let Some(files) = &s.shrunk {
                shrunk
                    .get_or_insert_with(Vec::new)
                    .extend(files.iter().cloned());
            }
            for seed in part.seeds {
                match by_seed.get(&seed.seed) {
                    Some(earlier) if *earlier != seed => {
                        return Err(format!(
                            "seed {} has two different results (trace {} and {}): the runs were not deterministic, or came from different binaries",
                            seed.seed, earlier.trace_hash, seed.trace_hash
                        ));
                    }
                    _ => {
                        by_seed.insert(seed.seed, seed);
                    }
                }
            }
        }
        let origin = Origin {
            scenario,
            scenario_file: file,
            seeds: range,
            shard: shards.join("+"),
            shard_from: (!sources.is_empty()).then(|| sources.join("+")),
            expected_violations,
            jobs,
            possible,
        };
        let mut merged = Exploration::new(origin, by_seed.into_values().collect(), wall_s, stopped);
        if let Some(files) = shrunk.as_mut() {
            files.sort_by(|a, b| (&a.kind, a.seed).cmp(&(&b.kind, b.seed)));
        }
        merged.summary.shrunk = shrunk;
        Ok(merged)
    }
}

fn display_file(file: &str) -> &str {
    if file.is_empty() { "built-in" } else { file }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(seed: u64, pass: bool, kinds: &[&str]) -> SeedResult {
        SeedResult {
            seed,
            outcome: if pass { "pass" } else { "fail" }.into(),
            violations: kinds.iter().map(|k| k.to_string()).collect(),
            trace_hash: format!("{seed:016x}"),
            sim_ms: 1000,
            messages: 10,
            coverage: Coverage::default(),
            availability: SeedAvailability::default(),
            wall_s: WallSeconds(0.25),
        }
    }

    fn origin(shard: &str) -> Origin {
        Origin {
            scenario: "s".into(),
            scenario_file: "scenarios/s.json".into(),
            seeds: "1..4".into(),
            shard: shard.into(),
            shard_from: Some("--shard".into()),
            expected_violations: Vec::new(),
            jobs: 2,
            possible: BTreeMap::from([
                (Mark::LeaderChange, "crash faults".to_string()),
                (
                    Mark::UncleanElection,
                    "unclean_leader_election=true".to_string(),
                ),
            ]),
        }
    }

    #[test]
    fn summary_counts_kinds_failures_and_rates() {
        let e = Exploration::new(
            origin("1/1"),
            vec![
                result(3, false, &["lost-write", "divergence"]),
                result(1, true, &[]),
                result(2, true, &["lost-write"]),
            ],
            2.0,
            None,
        );
        let s = &e.summary;
        assert_eq!((s.seeds_run, s.passed, s.failed), (3, 2, 1));
        assert_eq!(s.by_kind["lost-write"], 2);
        assert_eq!(s.by_kind["divergence"], 1);
        assert_eq!(
            s.failures[0].reproduce,
            "kafkasim run scenarios/s.json --seed 3"
        );
        assert_eq!(
            (s.sim_s, s.sim_to_wall_total, s.sim_to_wall_per_core),
            (3.0, 1.5, 0.75)
        );
        assert_eq!(s.messages_per_wall_s, 15.0);
        assert_eq!(
            e.seeds.iter().map(|s| s.seed).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert!(!e.all_passed());
    }

    #[test]
    fn merge_combines_shards_and_refuses_conflicts() {
        let a = Exploration::new(
            origin("1/2"),
            vec![result(2, true, &[]), result(4, true, &[])],
            3.0,
            None,
        );
        let mut reached = result(1, true, &[]);
        reached.coverage.add(Mark::LeaderChange);
        reached.coverage.add(Mark::LeaderChange);
        reached.coverage.add(Mark::ProducerRetry);
        let b = Exploration::new(
            origin("2/2"),
            vec![reached, result(3, false, &["duplicate"])],
            5.0,
            None,
        );
        let whole = Exploration::merge(vec![a.clone(), b.clone()]).unwrap();
        assert_eq!(whole.summary.shard, "1/2+2/2");
        assert_eq!(whole.summary.shard_from.as_deref(), Some("--shard"));
        // The same seeds again, slower: wall time is a measurement, not a different result.
        let mut slower = a.clone();
        slower.seeds[0].wall_s = WallSeconds(9.0);
        let twice = Exploration::merge(vec![a.clone(), slower]).unwrap();
        assert_eq!(twice.summary.seeds_run, 2);
        assert_eq!(whole.summary.seeds_run, 4);
        assert_eq!(whole.summary.failed, 1);
        assert_eq!(whole.summary.wall_s, 5.0);
        let total = |mark: Mark| {
            let t = &whole.summary.coverage[mark.as_str()];
            (t.count, t.seeds, t.possible.clone())
        };
        assert_eq!(
            total(Mark::LeaderChange),
            (2, 1, Some("crash faults".to_string()))
        );
        assert_eq!(total(Mark::ProducerRetry), (1, 1, None));
        assert_eq!(total(Mark::UncleanElection).1, 0);
        assert_eq!(
            whole.summary.unreached(),
            vec![(Mark::UncleanElection, "unclean_leader_election=true")],
            "possible, never reached; impossible marks are not listed"
        );
        // The merged file reads back equal: coverage survives the JSON round trip.
        let text = serde_json::to_string(&whole).unwrap();
        let back: Exploration = serde_json::from_str(&text).unwrap();
        assert_eq!(back, whole);
        assert_eq!(
            Exploration::merge(vec![back]).unwrap().summary.coverage,
            whole.summary.coverage
        );
        assert_eq!(
            whole.seeds.iter().map(|s| s.seed).collect::<Vec<_>>(),
            vec![1, 2, 3, 4]
        );

        let mut other = b.clone();
        other.summary.scenario = "t".into();
        assert!(
            Exploration::merge(vec![a.clone(), other])
                .unwrap_err()
                .contains("scenario")
        );
        let mut clash = b;
        clash.seeds[0] = result(2, false, &["lost-write"]);
        assert!(
            Exploration::merge(vec![a, clash])
                .unwrap_err()
                .contains("seed 2")
        );
    }
}
