//! `kafkasim bench`: the speed benchmark. Runs the built-in default scenario on seeds
//! `1..N` and prints one JSON line of throughput figures. With `--detection`, the
//! known-failure detection benchmark instead (see [`super::detection`]).

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use crate::cli::explore::{default_jobs, explore_with_progress, outcome};
use crate::cli::run::load;
use crate::cli::{Outcome, print_stdout};
use crate::explore::seeds::{SeedRange, Shard};
use crate::explore::{Plan, rss};

/// Arguments of `kafkasim bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// How many seeds (seeds 1..N of the built-in default scenario).
    #[arg(long, default_value_t = 1000, conflicts_with = "detection",
          value_parser = clap::value_parser!(u64).range(1..))]
    seeds: u64,
    /// Worker threads [default: the number of cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Instead: how many seeds the random nemesis needs to find each known-failure
    /// entry (10 seed streams per affected scenario, until the first detection), and
    /// whether the fixed twins stay clean. One JSON line per entry; exit code 1 when an
    /// entry misses the targets (median <= 200 seeds and < 30 s, every stream within
    /// --max-seeds, no twin seed with the entry back).
    #[arg(long)]
    detection: bool,
    /// With --detection: the catalogue folder.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "scenarios/known",
        requires = "detection"
    )]
    dir: PathBuf,
    /// With --detection: seed streams per affected scenario.
    #[arg(long, value_name = "N", default_value_t = 10, requires = "detection",
          value_parser = clap::value_parser!(u64).range(1..))]
    streams: u64,
    /// With --detection: most seeds one stream tries.
    #[arg(long, value_name = "N", default_value_t = 2000, requires = "detection",
          value_parser = clap::value_parser!(u64).range(1..))]
    max_seeds: u64,
    /// With --detection: seeds each fixed twin (and entry 14) runs.
    #[arg(long, value_name = "N", default_value_t = 2000, requires = "detection")]
    twin_seeds: u64,
    /// With --detection: only these entries, e.g. `--only 05,06`.
    #[arg(
        long,
        value_name = "NN,..",
        value_delimiter = ',',
        requires = "detection"
    )]
    only: Vec<String>,
}

/// The benchmark's one JSON line.
#[derive(Serialize)]
struct BenchLine {
    scenario: String,
    seeds: u64,
    jobs: usize,
    failed: u64,
    wall_s: f64,
    sim_s: f64,
    seeds_per_s: f64,
    sim_to_wall_per_core: f64,
    sim_to_wall_total: f64,
    messages: u64,
    messages_per_wall_s: f64,
    peak_rss_mb: Option<f64>,
    /// p99 produce latency over every seed (ms; `null` when nothing was acknowledged).
    p99_produce_latency_ms: Option<f64>,
    /// The longest outage of any seed (ms; 0 when none).
    worst_outage_ms: u64,
}

/// Runs the command. Build in release mode: debug builds are several times slower.
pub fn run(args: BenchArgs) -> anyhow::Result<Outcome> {
    let jobs = args.jobs.map_or_else(default_jobs, usize::from);
    if args.detection {
        return super::detection::run(&super::detection::DetectionPlan {
            dir: args.dir,
            streams: args.streams,
            max_seeds: args.max_seeds,
            twin_seeds: args.twin_seeds,
            only: args.only,
            jobs,
        });
    }
    let (scenario, file) = load(None)?;
    let plan = Plan {
        range: SeedRange {
            first: 1,
            last: args.seeds,
        },
        shard: Shard::WHOLE,
        shard_from: None,
        jobs,
        fail_fast: false,
        time_limit: None,
    };
    let exploration = explore_with_progress(&scenario, &file, &plan, args.seeds, false);
    let s = &exploration.summary;
    let round = |x: f64| (x * 100.0).round() / 100.0;
    let line = BenchLine {
        scenario: s.scenario.clone(),
        seeds: s.seeds_run,
        jobs: s.jobs,
        failed: s.failed,
        wall_s: round(s.wall_s),
        sim_s: round(s.sim_s),
        seeds_per_s: round(s.seeds_per_s),
        sim_to_wall_per_core: round(s.sim_to_wall_per_core),
        sim_to_wall_total: round(s.sim_to_wall_total),
        messages: s.messages,
        messages_per_wall_s: s.messages_per_wall_s.round(),
        peak_rss_mb: rss::peak_rss_mb().map(round),
        p99_produce_latency_ms: s.availability.produce_latency_ms.p99.map(round),
        worst_outage_ms: s
            .availability
            .worst_outage
            .as_ref()
            .map_or(0, |w| w.outage.length_ms),
    };
    let json = serde_json::to_string(&line).expect("plain data serializes");
    print_stdout(&format!("{json}\n"))?;
    Ok(outcome(&exploration))
}
