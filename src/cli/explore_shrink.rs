//! `explore --shrink`: after the seeds ran, shrink the first failing seed of each
//! violation kind (`explore::shrunk::targets`) as `kafkasim shrink` would, write each
//! shrunk scenario to the `--shrink-out` folder and say what was written.

use std::path::{Path, PathBuf};

use crate::cli::run::parse_scenario_file;
use crate::cli::shrink::{display_file, explicit, shrink_error, write_shrunk};
use crate::explore::shrunk::{ShrunkFile, targets};
use crate::explore::stopwatch::Stopwatch;
use crate::explore::summary::Exploration;
use crate::scenario::Scenario;
use crate::shrink::{self, Base, Options, Shrunk};
use crate::violation::ViolationKind;

/// How `explore --shrink` shrinks.
pub struct ShrinkPlan {
    /// The folder the shrunk files go to.
    pub folder: PathBuf,
    /// The run budget of each shrink.
    pub max_runs: usize,
    /// Worker threads for each shrink's candidates.
    pub jobs: usize,
    /// No progress lines on stderr.
    pub quiet: bool,
}

/// The scenario explored: loaded, its text, and its file as given (empty: built-in).
pub struct Explored<'a> {
    /// The scenario.
    pub scenario: &'a Scenario,
    /// Its JSON text.
    pub text: &'a str,
    /// Its file, as given on the command line.
    pub file: &'a str,
}

/// Shrinks the first failing seed of each violation kind of `exploration`, one after
/// the other, and returns what each shrink wrote.
pub fn shrink_failures(
    exploration: &Exploration,
    explored: &Explored,
    plan: &ShrinkPlan,
) -> Vec<ShrunkFile> {
    let targets = targets(exploration);
    let mut files = Vec::new();
    for (i, (kind, seed)) in targets.iter().enumerate() {
        if !plan.quiet {
            eprintln!(
                "shrink {}/{}      {kind}: seed {seed} (at most {} runs)",
                i + 1,
                targets.len(),
                plan.max_runs
            );
        }
        let file = shrink_one(kind, *seed, explored, plan);
        if !plan.quiet {
            eprintln!("                {}", line(&file));
        }
        files.push(file);
    }
    files
}

/// One shrink; what went wrong goes in the result's `error`.
fn shrink_one(kind: &str, seed: u64, explored: &Explored, plan: &ShrinkPlan) -> ShrunkFile {
    let clock = Stopwatch::start();
    let mut result = ShrunkFile {
        kind: kind.to_string(),
        seed,
        file: None,
        partition: None,
        faults: None,
        runs: 0,
        wall_s: 0.0,
        reproduces: false,
        error: None,
    };
    if let Err(message) = shrink_into(&mut result, explored, plan) {
        result.error = Some(message);
    }
    result.wall_s = clock.elapsed().as_secs_f64();
    result
}

/// Shrinks `result.seed` for `result.kind`, filling in `result`.
fn shrink_into(
    result: &mut ShrunkFile,
    explored: &Explored,
    plan: &ShrinkPlan,
) -> Result<(), String> {
    let (file, seed) = (display_file(explored.file), result.seed);
    let kind = ViolationKind::parse(&result.kind)
        .ok_or_else(|| format!("`{}` is not a violation kind", result.kind))?;
    let start = explicit(file, explored.text, explored.scenario, seed, Some(kind))
        .map_err(|e| format!("{e:#}"))??;
    let original = explored.scenario;
    let base = Base::new(&start.text, &start.scenario, original.expect.clone());
    let options = Options {
        max_runs: plan.max_runs,
        jobs: plan.jobs,
    };
    let shrunk = shrink::shrink(&base, seed, start.target, options, &|_| {})
        .map_err(|e| shrink_error(file, seed, &e))?;
    record(result, &shrunk);
    let name = format!("{}-{seed}-{kind}-shrunk.json", original.name);
    let path = plan.folder.join(name);
    write_shrunk(&shrunk, &base, (original, explored.file, seed), &path)
        .map_err(|e| format!("{e:#}"))?;
    result.file = Some(path.display().to_string());
    result.reproduces = reproduces(&path, &shrunk)?;
    Ok(())
}

/// Copies what `shrunk` found into `result`.
fn record(result: &mut ShrunkFile, shrunk: &Shrunk) {
    result.partition = shrunk.signature.partition.clone();
    result.faults = Some([
        shrunk.before.schedule.fault_count(),
        shrunk.after.schedule.fault_count(),
    ]);
    result.runs = shrunk.runs;
}

/// Whether the file written at `path` fails as `shrunk` did at its own seed.
fn reproduces(path: &Path, shrunk: &Shrunk) -> Result<bool, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read back {}: {e}", path.display()))?;
    let scenario = parse_scenario_file(path, &text).map_err(|e| format!("{e:#}"))?;
    Ok(shrink::fails_same(&scenario, scenario.seed, &shrunk.signature).0)
}

/// One shrink, as the summary lists it.
pub fn line(file: &ShrunkFile) -> String {
    let on = file
        .partition
        .as_ref()
        .map_or_else(String::new, |p| format!(" on {p}"));
    let head = format!("{} seed {}{on}", file.kind, file.seed);
    let Some(path) = &file.file else {
        let why = file.error.as_deref().unwrap_or("no file written");
        return format!("{head}: not shrunk: {why}");
    };
    let faults = file
        .faults
        .map_or_else(String::new, |[a, b]| format!("{a} -> {b} faults, "));
    let check = if file.reproduces {
        "reproduces"
    } else {
        "DOES NOT REPRODUCE (a bug in shrink)"
    };
    format!(
        "{head}: {faults}{} runs, {:.1} s, {check}: kafkasim run {path}",
        file.runs, file.wall_s
    )
}
