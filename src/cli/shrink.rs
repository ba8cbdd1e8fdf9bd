//! `kafkasim shrink`: a failing seed into a minimal scenario file that fails the same way.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::explore::default_jobs;
use crate::cli::run::parse_scenario_file;
use crate::cli::shrink_output::{Checks, Origin, ShrinkReport};
use crate::cli::{Outcome, print_stdout};
use crate::explore::run_seed;
use crate::explore::stopwatch::Stopwatch;
use crate::harness::unroll::unroll;
use crate::scenario::Scenario;
use crate::shrink::{self, Base, Options, ShrinkError, Shrunk, Signature, Status};
use crate::violation::{Violation, ViolationKind};

/// How many other seeds the robustness figure runs.
const OTHER_SEEDS: u64 = 20;

/// Arguments of `kafkasim shrink`.
#[derive(Args, Debug)]
pub struct ShrinkArgs {
    /// Scenario file (JSON) with explicit `faults` or a `nemesis` (which is unrolled into
    /// the faults it drew at the seed first).
    scenario: PathBuf,
    /// The failing seed [default: the scenario's `seed`].
    #[arg(long)]
    seed: Option<u64>,
    /// Where to write the shrunk scenario: a file, or a folder (existing, or ending in
    /// `/`) for <scenario>-<seed>-shrunk.json in it [default: reports/].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// At most this many simulation runs while shrinking (the first run included).
    #[arg(long, value_name = "R", default_value_t = 400,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_runs: u32,
    /// Worker threads, each running one candidate at a time [default: the number of
    /// cores]. The result does not depend on it.
    #[arg(long, value_name = "J", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Print one JSON object instead of the summary (and no progress display).
    #[arg(long)]
    json: bool,
}

/// The scenario shrinking starts from: explicit faults, no nemesis.
pub(super) struct Explicit {
    /// Its JSON text.
    pub(super) text: String,
    /// The text, loaded.
    pub(super) scenario: Scenario,
    /// The failure to keep, when the explicit scenario stands for another run.
    pub(super) target: Option<Signature>,
}

/// Runs the command.
pub fn run(args: ShrinkArgs) -> anyhow::Result<Outcome> {
    let file = args.scenario.display().to_string();
    let text =
        std::fs::read_to_string(&args.scenario).with_context(|| format!("cannot read {file}"))?;
    let original = parse_scenario_file(&args.scenario, &text)?;
    if original.faults.is_empty() && original.nemesis.is_none() {
        anyhow::bail!("{file}: nothing to shrink: the scenario has neither `faults` nor `nemesis`");
    }
    let seed = args.seed.unwrap_or(original.seed);
    let jobs = args.jobs.map_or_else(default_jobs, usize::from);
    let options = Options {
        max_runs: args.max_runs as usize,
        jobs,
    };
    let clock = Stopwatch::start();
    let explicit = match explicit(&file, &text, &original, seed, None)? {
        Ok(explicit) => explicit,
        Err(message) => return does_not_fail(&message),
    };
    let base = Base::new(&explicit.text, &explicit.scenario, original.expect.clone());
    let display = Display::new(options.max_runs, args.json);
    let result = shrink::shrink(&base, seed, explicit.target, options, &|s| display.run(s));
    display.finish();
    let shrunk = match result {
        Ok(shrunk) => shrunk,
        Err(error) => return does_not_fail(&shrink_error(&file, seed, &error)),
    };
    let wall_s = clock.elapsed().as_secs_f64();
    let path = out_path(args.out.as_deref(), &original.name, seed)?;
    write_shrunk(&shrunk, &base, (&original, &file, seed), &path)?;
    let checks = check(&path, &original, seed, &shrunk.signature, jobs)?;
    let origin = Origin {
        scenario: &original.name,
        file: &file,
        seed,
        jobs,
        wall_s,
    };
    let report = ShrinkReport::new(&origin, &shrunk, &base, &path, &checks);
    let output = if args.json {
        serde_json::to_string_pretty(&report).expect("plain data serializes") + "\n"
    } else {
        report.to_text()
    };
    print_stdout(&output)?;
    if !checks.reproduces {
        eprintln!(
            "error: {} does not fail as {} at seed {seed} (a bug in shrink: please report it)",
            path.display(),
            shrunk.signature
        );
        return Ok(Outcome::Mismatched);
    }
    Ok(Outcome::Matched)
}

/// The explicit scenario for `original` (the file `file`, text `text`) at `seed`: the
/// file itself when it has no nemesis, else the faults the nemesis drew. The failure to
/// keep is the run's first violation of `kind` when given, else the one
/// [`Signature::of_run`] picks. `Ok(Err(message))` when the seed does not fail (so).
pub(super) fn explicit(
    file: &str,
    text: &str,
    original: &Scenario,
    seed: u64,
    kind: Option<ViolationKind>,
) -> anyhow::Result<Result<Explicit, String>> {
    if original.nemesis.is_none() {
        let target = match kind {
            None => None,
            Some(kind) => match first_of(&run_seed(original, seed).violations, kind) {
                Some(target) => Some(target),
                None => return Ok(Err(not_of_kind(file, seed, kind))),
            },
        };
        return Ok(Ok(Explicit {
            text: text.to_string(),
            scenario: original.clone(),
            target,
        }));
    }
    unroll_nemesis(file, text, original, seed, kind)
}

/// The signature of the first of `violations` of `kind`.
fn first_of(violations: &[Violation], kind: ViolationKind) -> Option<Signature> {
    violations
        .iter()
        .find(|v| v.kind == kind)
        .map(Signature::of)
}

/// The message for a seed that shows no violation of `kind`.
fn not_of_kind(file: &str, seed: u64, kind: ViolationKind) -> String {
    format!("{file} seed {seed} shows no {kind} violation, so there is no such failure to shrink")
}

/// A scenario with a nemesis, unrolled at `seed` into the faults the nemesis drew; the
/// failure to keep is the one of that (nemesis) run.
fn unroll_nemesis(
    file: &str,
    text: &str,
    original: &Scenario,
    seed: u64,
    kind: Option<ViolationKind>,
) -> anyhow::Result<Result<Explicit, String>> {
    let unrolled = unroll(text, original, seed)
        .with_context(|| format!("{file}: cannot unroll seed {seed}"))?;
    let violations = &unrolled.report.violations;
    let target = match kind {
        Some(kind) => first_of(violations, kind).ok_or_else(|| not_of_kind(file, seed, kind)),
        None => Signature::of_run(violations, &original.expect)
            .ok_or_else(|| shrink_error(file, seed, &ShrinkError::DoesNotFail)),
    };
    let target = match target {
        Ok(target) => target,
        Err(message) => return Ok(Err(message)),
    };
    Ok(Ok(Explicit {
        text: unrolled.text,
        scenario: unrolled.scenario,
        target: Some(target),
    }))
}

/// Writes the shrunk scenario of `base` at `seed` to `path`: named
/// `<scenario>-shrunk`, its description naming where it came from.
pub(super) fn write_shrunk(
    shrunk: &Shrunk,
    base: &Base,
    origin: (&Scenario, &str, u64),
    path: &Path,
) -> anyhow::Result<()> {
    let (original, file, seed) = origin;
    let description = format!(
        "shrunk from {} seed {seed}: {} faults -> {} ({})",
        display_file(file),
        shrunk.before.schedule.fault_count(),
        shrunk.after.schedule.fault_count(),
        shrunk.signature
    );
    let name = format!("{}-shrunk", original.name);
    let (written, _) = shrunk
        .file(base, seed, &name, &description)
        .context("the shrunk scenario does not load (a bug in shrink)")?;
    write_file(path, &written)
}

/// The scenario file as messages name it (`file` empty: the built-in default).
pub(super) fn display_file(file: &str) -> &str {
    if file.is_empty() {
        "the built-in default"
    } else {
        file
    }
}

/// Says why the shrink did not start; exit code 1.
fn does_not_fail(message: &str) -> anyhow::Result<Outcome> {
    eprintln!("{message}");
    Ok(Outcome::Mismatched)
}

/// The message for a shrink that could not start.
pub(super) fn shrink_error(file: &str, seed: u64, error: &ShrinkError) -> String {
    match error {
        ShrinkError::DoesNotFail => format!(
            "{file} seed {seed} does not fail: its run shows no violation, so there is \
             nothing to shrink (try a seed that `kafkasim explore` lists as failing)"
        ),
        ShrinkError::NotReproduced(outcome) => format!(
            "{file} seed {seed}: the unrolled faults do not replay the run's failure \
             (they give {outcome:?}), so shrink cannot start from them"
        ),
    }
}

/// Where the shrunk file goes: `out` (a file, or a folder for
/// `<scenario>-<seed>-shrunk.json`), by default in `reports/`.
fn out_path(out: Option<&Path>, scenario: &str, seed: u64) -> anyhow::Result<PathBuf> {
    let out = out.unwrap_or(Path::new("reports/"));
    let folder = out.is_dir() || out.as_os_str().to_string_lossy().ends_with('/');
    if folder {
        Ok(out.join(format!("{scenario}-{seed}-shrunk.json")))
    } else {
        Ok(out.to_path_buf())
    }
}

/// Writes `text` to `path`, creating its folder.
pub(super) fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("--out: cannot create {}", folder.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("--out: cannot write {}", path.display()))
}

/// Reads the written file back and runs it: does it reproduce? And on how many of the
/// next seeds do it and the original fail the same way?
fn check(
    path: &Path,
    original: &Scenario,
    seed: u64,
    signature: &Signature,
    jobs: usize,
) -> anyhow::Result<Checks> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read back {}", path.display()))?;
    let shrunk = parse_scenario_file(path, &text)?;
    let (reproduces, report) = shrink::fails_same(&shrunk, shrunk.seed, signature);
    let first = seed.saturating_add(1);
    let seeds = first..=seed.saturating_add(OTHER_SEEDS);
    Ok(Checks {
        reproduces,
        report,
        seeds: seeds.clone(),
        shrunk_robust: shrink::robustness(&shrunk, seeds.clone(), signature, jobs),
        original_robust: shrink::robustness(original, seeds, signature, jobs),
    })
}

/// Progress on stderr: a bar of runs on a terminal, nothing otherwise or with `--json`.
struct Display {
    bar: Option<ProgressBar>,
}

impl Display {
    fn new(max_runs: usize, quiet: bool) -> Display {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(max_runs as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{wide_bar}] {pos}/{len} runs, {msg}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar
        });
        Display { bar }
    }

    fn run(&self, status: Status) {
        if let Some(bar) = &self.bar {
            bar.set_position(status.runs as u64);
            bar.set_message(format!("{}, {} faults", status.pass, status.faults));
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
