//! `kafkasim explore`: many seeds of one scenario, on every core, optionally one shard
//! of a range split across machines.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::availability::{FaultKind, MIN_OUTAGE_MS};
use crate::cli::explore_shrink::{Explored, ShrinkPlan, line, shrink_failures};
use crate::cli::progress::ProgressDisplay;
use crate::cli::report_arg::{DEFAULT_REPORT, ReportForm, page_path, resolve};
use crate::cli::run::load_with_text;
use crate::cli::{Outcome, print_stdout};
use crate::coverage::Mark;
use crate::explore::availability::RECOVERY_KINDS;
use crate::explore::seeds::{SeedPlan, SeedRange, Shard};
use crate::explore::shard_env::{self, ShardChoice};
use crate::explore::summary::{Exploration, Summary, reproduce_line};
use crate::explore::{self, Plan, junit};
use crate::html;
use crate::scenario::Scenario;

/// Arguments of `kafkasim explore`.
#[derive(Args, Debug)]
pub struct ExploreArgs {
    /// Scenario file (JSON). Without one, the built-in default (the scenario `kafkasim
    /// run` uses).
    pub(super) scenario: Option<PathBuf>,
    /// Seeds to run, inclusive: `1..2000` is 2000 seeds. A single number runs one seed.
    #[arg(long, default_value = "1..100", value_name = "A..B")]
    seeds: SeedRange,
    /// Worker threads, each running one simulation at a time [default: the number of
    /// cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Run only the seeds with `seed % N == K-1`, so that N machines (a CI matrix, a job
    /// array) split one range; `auto` takes K/N from the job engine's environment (see
    /// --help). Combine the shards' `--json` files with `kafkasim merge`.
    ///
    /// `--shard auto` reads K/N from the job engine's environment: K is its 0-based
    /// index + 1. The first of these whose index is set wins:
    ///
    /// 1. KAFKASIM_SHARD_INDEX (0-based) and KAFKASIM_SHARD_COUNT (or --shards N): set
    ///    them in a GitHub Actions matrix from strategy.job-index and
    ///    strategy.job-total, or from any other engine;
    ///
    /// 2. JOB_COMPLETION_INDEX (a Kubernetes Indexed Job), with --shards N (the Job's
    ///    completions: Kubernetes does not export them);
    ///
    /// 3. SLURM_ARRAY_TASK_ID (a Slurm array), less SLURM_ARRAY_TASK_MIN and divided
    ///    by SLURM_ARRAY_TASK_STEP when set, of SLURM_ARRAY_TASK_COUNT (--shards N, if
    ///    given, must agree).
    ///
    /// None set, a value that is not a number, an index not below the count, a count of
    /// 0 or a disagreeing --shards exits 2 naming the variable. The summary and --json
    /// say which shard ran and which variable it came from.
    #[arg(long, value_name = "K/N|auto")]
    shard: Option<ShardChoice>,
    /// With `--shard auto`: how many shards there are. Needed with JOB_COMPLETION_INDEX;
    /// stands in for KAFKASIM_SHARD_COUNT or SLURM_ARRAY_TASK_COUNT when they are unset,
    /// and must equal them when they are set.
    #[arg(long, value_name = "N", requires = "shard")]
    shards: Option<u64>,
    /// Write the summary and every seed's result as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write JUnit XML to FILE, for CI test reporters (GitLab, Jenkins, GitHub): one
    /// testsuite named after the scenario, one testcase `seed N` per seed that ran, and
    /// for each seed whose outcome did not match `expect` a failure carrying its violation
    /// kinds and its reproduce command.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// After the seeds ran, shrink the first failing seed of each violation kind the
    /// scenario does not expect, as `kafkasim shrink` does, and list the shrunk
    /// scenario files in the summary and in --json (`shrunk`). Files go to
    /// --shrink-out as <scenario>-<seed>-<kind>-shrunk.json.
    #[arg(long)]
    shrink: bool,
    /// With --shrink: the folder for the shrunk files (created if missing).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "reports",
        requires = "shrink"
    )]
    shrink_out: PathBuf,
    /// With --shrink: at most this many simulation runs per shrink.
    #[arg(long, value_name = "R", default_value_t = 400, requires = "shrink",
          value_parser = clap::value_parser!(u32).range(1..))]
    shrink_max_runs: u32,
    /// Stop starting new seeds after the first failing one.
    #[arg(long)]
    fail_fast: bool,
    /// Stop starting new seeds after S seconds of wall time (seeds already running
    /// finish); the summary says it stopped early.
    #[arg(long, value_name = "S", allow_negative_numbers = true)]
    time_limit_s: Option<f64>,
    /// No progress display on stderr.
    #[arg(long, short)]
    quiet: bool,
    /// Write a one-page self-contained HTML summary (violations by kind, latency and
    /// outage-length histograms, time to recover, coverage, failing seeds) to FILE
    /// (.html, or a folder for <scenario>-explore.html in it), or to
    /// reports/<scenario>-explore.html without one.
    ///
    /// As for `run --report`: `--report WORD` takes WORD as the page when it ends in
    /// .html or .htm or names a folder, a WORD ending in .json is the scenario, any other
    /// word is refused; `--report=FILE` always takes FILE.
    #[arg(
        long,
        value_name = "FILE",
        num_args = 0..=1,
        default_missing_value = DEFAULT_REPORT
    )]
    pub(super) report: Option<PathBuf>,
    /// How `--report` was written (set from the raw arguments, not parsed).
    #[arg(skip)]
    pub(super) report_form: ReportForm,
}

/// The number of cores, the default for `--jobs`.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs the command.
pub fn run(args: ExploreArgs) -> anyhow::Result<Outcome> {
    let words = resolve("explore", args.scenario, args.report, args.report_form)?;
    let (scenario, file, text) = load_with_text(words.scenario.as_ref())?;
    let report = match &words.report {
        Some(report) => Some(report_path(report, &scenario.name)?),
        None => None,
    };
    if let Some(path) = &args.junit {
        check_output("--junit", path)?;
    }
    if args.shrink && args.shrink_out.exists() && !args.shrink_out.is_dir() {
        anyhow::bail!(
            "--shrink-out: {} is a file, not a folder",
            args.shrink_out.display()
        );
    }
    let (shard, shard_from) = resolve_shard(args.shard, args.shards)?;
    let time_limit = match args.time_limit_s {
        Some(s) if !(s.is_finite() && s > 0.0) => {
            anyhow::bail!("--time-limit-s: {s} is not a positive number of seconds")
        }
        other => other.map(Duration::from_secs_f64),
    };
    let plan = Plan {
        range: args.seeds,
        shard,
        shard_from,
        jobs: args.jobs.map_or_else(default_jobs, usize::from),
        fail_fast: args.fail_fast,
        time_limit,
    };
    let total = SeedPlan::new(plan.range, plan.shard).len();
    if total == 0 {
        anyhow::bail!(
            "--seeds {} --shard {}{}: no seed to run",
            plan.range,
            plan.shard,
            from_text(plan.shard_from.as_deref())
        );
    }
    let mut exploration = explore_with_progress(&scenario, &file, &plan, total, args.quiet);
    if args.shrink {
        let shrink = ShrinkPlan {
            folder: args.shrink_out.clone(),
            max_runs: args.shrink_max_runs as usize,
            jobs: plan.jobs,
            quiet: args.quiet,
        };
        let explored = Explored {
            scenario: &scenario,
            text: &text,
            file: &file,
        };
        exploration.summary.shrunk = Some(shrink_failures(&exploration, &explored, &shrink));
    }
    print_stdout(&summary_text(&exploration))?;
    if let Some(path) = &args.json {
        write_json(path, &exploration)?;
    }
    if let Some(path) = &args.junit {
        write_junit(path, &exploration)?;
    }
    if let Some(path) = &report {
        let text = html::explore::render(&exploration).context("cannot render the report")?;
        std::fs::write(path, text)
            .with_context(|| format!("--report: cannot write {}", path.display()))?;
        eprintln!("report          {} (open it in a browser)", path.display());
    }
    Ok(outcome(&exploration))
}

/// The shard to run and where it came from: `--shard K/N`, the environment
/// (`--shard auto`, [`shard_env`]), or the whole range.
fn resolve_shard(
    choice: Option<ShardChoice>,
    shards: Option<u64>,
) -> anyhow::Result<(Shard, Option<String>)> {
    match (choice, shards) {
        (Some(ShardChoice::Auto), shards) => {
            let env = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
            let auto = shard_env::resolve(&env, shards)?;
            Ok((auto.shard, Some(auto.from.to_string())))
        }
        (_, Some(n)) => anyhow::bail!(
            "--shards {n} goes only with --shard auto (--shard K/N names the count itself)"
        ),
        (Some(ShardChoice::Fixed(shard)), None) => Ok((shard, Some("--shard".to_string()))),
        (None, None) => Ok((Shard::WHOLE, None)),
    }
}

/// ` (from SLURM_ARRAY_TASK_ID)`, or nothing.
fn from_text(shard_from: Option<&str>) -> String {
    shard_from.map_or_else(String::new, |from| format!(" (from {from})"))
}

/// Refuses, before any seed runs, an output FILE that is a folder or whose folder does
/// not exist, so that a long run does not end in a file it cannot write.
pub fn check_output(option: &str, path: &Path) -> anyhow::Result<()> {
    if path.is_dir() {
        anyhow::bail!("{option}: cannot write {}: it is a folder", path.display());
    }
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(folder) = folder.filter(|f| !f.is_dir()) {
        anyhow::bail!(
            "{option}: cannot write {}: there is no folder {}",
            path.display(),
            folder.display()
        );
    }
    Ok(())
}

/// Writes the `--junit` document.
pub fn write_junit(path: &Path, exploration: &Exploration) -> anyhow::Result<()> {
    std::fs::write(path, junit::render(exploration))
        .with_context(|| format!("--junit: cannot write {}", path.display()))
}

/// Where `--report` puts the page (`<scenario>-explore.html` in a folder), checked
/// before any seed runs: its folder must exist.
fn report_path(report: &Path, scenario: &str) -> anyhow::Result<PathBuf> {
    let path = page_path(report, &format!("{scenario}-explore.html"))?;
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(folder) = folder.filter(|f| !f.is_dir()) {
        anyhow::bail!(
            "--report: cannot write {}: there is no folder {}",
            path.display(),
            folder.display()
        );
    }
    Ok(path)
}

/// Runs `plan` with a progress display on stderr (none when `quiet`) for `total` seeds.
pub fn explore_with_progress(
    scenario: &Scenario,
    file: &str,
    plan: &Plan,
    total: u64,
    quiet: bool,
) -> Exploration {
    let display = ProgressDisplay::new(total, quiet);
    let exploration = explore::explore(scenario, file, plan, &|progress, result| {
        display.seed_done(progress, result, &reproduce_line(file, result.seed))
    });
    display.finish();
    exploration
}

/// 0 when every seed matched `expect`, 1 otherwise.
pub fn outcome(exploration: &Exploration) -> Outcome {
    if exploration.all_passed() {
        Outcome::Matched
    } else {
        Outcome::Mismatched
    }
}

/// Writes the `--json` document.
pub fn write_json(path: &PathBuf, exploration: &Exploration) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(exploration).expect("plain data serializes");
    std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))
}

/// The summary people read.
pub fn summary_text(exploration: &Exploration) -> String {
    let s = &exploration.summary;
    let scenario = if s.scenario_file.is_empty() {
        format!("{} (built-in)", s.scenario)
    } else {
        format!("{} ({})", s.scenario, s.scenario_file)
    };
    let mut text = format!(
        "explore {scenario}: seeds {}, shard {}{}, {} jobs\n",
        s.seeds,
        s.shard,
        from_text(s.shard_from.as_deref()),
        s.jobs
    );
    if let Some(why) = &s.stopped {
        text.push_str(&format!("stopped early   {why}\n"));
    }
    text.push_str(&format!(
        "seeds           {} run, {} passed, {} failed\n",
        s.seeds_run, s.passed, s.failed
    ));
    let kinds: Vec<String> = s.by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
    text.push_str(&format!(
        "by kind         {}\n",
        if kinds.is_empty() {
            "none".to_string()
        } else {
            kinds.join(", ")
        }
    ));
    text.push_str(&format!(
        "time            {:.1} simulated s in {:.2} wall s: {:.0}x real time, {:.0}x per core\n",
        s.sim_s, s.wall_s, s.sim_to_wall_total, s.sim_to_wall_per_core
    ));
    text.push_str(&format!(
        "messages        {} delivered, {:.0} per wall second; {:.1} seeds/s\n",
        s.messages, s.messages_per_wall_s, s.seeds_per_s
    ));
    text.push_str(&availability_text(s));
    text.push_str(&coverage_text(s));
    if !s.failures.is_empty() {
        text.push_str("failing seeds (each line replays one):\n");
        for f in &s.failures {
            let kinds = if f.violations.is_empty() {
                "expected violations not found".to_string()
            } else {
                f.violations.join(", ")
            };
            text.push_str(&format!("  {:<50} # {kinds}\n", f.reproduce));
        }
    }
    if let Some(shrunk) = &s.shrunk {
        text.push_str(&shrunk_text(shrunk));
    }
    text.push_str(&format!(
        "verdict         {}\n",
        if exploration.all_passed() {
            "PASS (every seed matched expect)"
        } else {
            "FAIL"
        }
    ));
    text
}

/// The `--shrink` lines of the summary: one per shrink made.
fn shrunk_text(shrunk: &[crate::explore::shrunk::ShrunkFile]) -> String {
    if shrunk.is_empty() {
        return "shrunk          nothing (no failing seed showed a violation to shrink)\n"
            .to_string();
    }
    let mut text =
        "shrunk          the first failing seed of each kind (each line replays it):\n".to_string();
    for file in shrunk {
        text.push_str(&format!("  {}\n", line(file)));
    }
    text
}

/// The coverage lines of the summary: per mark the times reached and the seeds that
/// reached it (or that the scenario cannot reach it), then one warning per mark the
/// scenario makes possible but no seed reached.
fn coverage_text(s: &Summary) -> String {
    let mut text = String::new();
    if s.coverage.is_empty() {
        return text; // a file from before coverage existed
    }
    text.push_str("coverage        times reached (seeds that reached it)\n");
    for mark in Mark::ALL {
        let Some(total) = s.coverage.get(mark.as_str()) else {
            continue;
        };
        let seeds = if total.count == 0 && total.possible.is_none() {
            "(not possible here)".to_string()
        } else {
            let plural = if total.seeds == 1 { "" } else { "s" };
            format!("({} seed{plural})", total.seeds)
        };
        text.push_str(&format!(
            "  {:<22}{:>8} {seeds}\n",
            mark.as_str(),
            total.count
        ));
    }
    for (mark, why) in s.unreached() {
        text.push_str(&format!(
            "warning: no seed reached {mark} (possible: {why})\n"
        ));
    }
    text
}

/// `48.1 ms` or `2.97 s`.
fn duration(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// The latency, outage and time-to-recover lines of the summary.
fn availability_text(s: &Summary) -> String {
    let a = &s.availability;
    let l = &a.produce_latency_ms;
    let mut text = match (l.p50, l.p99, l.max) {
        (Some(p50), Some(p99), Some(max)) => format!(
            "latency         produce p50 {}, p99 {}, max {} over {} acknowledged sends\n",
            duration(p50),
            duration(p99),
            duration(max),
            l.count
        ),
        _ => "latency         no send acknowledged\n".to_string(),
    };
    match &a.worst_outage {
        None => text.push_str(&format!(
            "outages         none (no partition went {MIN_OUTAGE_MS} ms without an acknowledgement)\n"
        )),
        Some(w) => {
            let o = &w.outage;
            text.push_str(&format!(
                "outages         {} in {} seeds; worst {}: seed {}, {} {}-{} ms, {} [{}]\n",
                a.outage_count,
                a.seeds_with_outage,
                duration(o.length_ms as f64),
                w.seed,
                o.partition,
                o.from_ms,
                o.to_ms,
                o.cause,
                o.kind
            ));
        }
    }
    if a.recovery_ms.is_empty() {
        return text; // a file from before these figures existed
    }
    text.push_str(
        "time to recover (outage length by the fault kind that began it): p50 / max (outages)\n",
    );
    let extra = [FaultKind::Network, FaultKind::Other];
    for kind in RECOVERY_KINDS.iter().chain(extra.iter()) {
        let Some(r) = a.recovery_ms.get(kind.as_str()) else {
            continue;
        };
        let figures = match (r.p50, r.max) {
            (Some(p50), Some(max)) => {
                format!("{} / {} ({})", duration(p50), duration(max), r.outages)
            }
            _ => "no outage".to_string(),
        };
        text.push_str(&format!("  {:<22}{figures}\n", kind.as_str()));
    }
    text
}
