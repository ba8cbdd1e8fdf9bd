//! `kafkasim run`: one scenario, one seed.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use crate::cli::report_arg::{DEFAULT_REPORT, ReportForm, resolve, write_page};
use crate::cli::{DEFAULT_SCENARIO, Outcome, print_stdout};
use crate::explore::run_seed;
use crate::explore::summary::reproduce_line;
use crate::harness::{RunReport, report};
use crate::html;
use crate::scenario::{Expect, Scenario};

/// Arguments of `kafkasim run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Scenario file (JSON). Without one, the built-in default (scenarios/default.json):
    /// 3 brokers, 2 partitions with RF 3, acks=all, a random nemesis.
    pub(super) scenario: Option<PathBuf>,
    /// Seed for the run; overrides the scenario's `seed`.
    #[arg(long)]
    seed: Option<u64>,
    /// Print one JSON object (the result contract) instead of the summary.
    #[arg(long)]
    json: bool,
    /// Write the client-visible history as JSON Lines to FILE.
    #[arg(long, value_name = "FILE")]
    history: Option<PathBuf>,
    /// Write a self-contained HTML report (space-time diagram, every replica's log step
    /// by step, the verdict) to FILE (.html, or a folder for <scenario>-<seed>.html in it),
    /// or to reports/<scenario>-<seed>.html without one. `--report s.json` runs s.json
    /// (see --help).
    ///
    /// A FILE that is a folder or ends in `/` gets <scenario>-<seed>.html inside it. Open
    /// the report in any browser; it needs no network. `--report FILE` takes FILE as the report when it ends in .html or .htm or names a
    /// folder; a word ending in .json there is the scenario (`run --report s.json` is
    /// `run s.json --report`); any other word is refused. `--report=FILE` always takes
    /// FILE as the report path, whatever its name.
    #[arg(
        long,
        value_name = "FILE",
        num_args = 0..=1,
        default_missing_value = DEFAULT_REPORT
    )]
    pub(super) report: Option<PathBuf>,
    /// Write the scenario with its nemesis replaced by the faults it drew in this run (an
    /// explicit `faults` list: concrete times, targets by role where the nemesis chose by
    /// role) and this seed pinned, to FILE (or `<scenario>-<seed>-unrolled.json` in FILE
    /// when it is a folder). Its `expect` lists the kinds this run found, so `kafkasim run
    /// FILE` exits 0 when it reproduces them.
    #[arg(long, value_name = "FILE")]
    unroll: Option<PathBuf>,
    /// How `--report` was written (set from the raw arguments, not parsed).
    #[arg(skip)]
    pub(super) report_form: ReportForm,
}

/// Loads a scenario file or the built-in default; errors name the file and the field.
pub fn load(path: Option<&PathBuf>) -> anyhow::Result<(Scenario, String)> {
    load_with_text(path).map(|(scenario, path, _)| (scenario, path))
}

/// As [`load`], with the file's text too (the built-in default's for none).
pub fn load_with_text(path: Option<&PathBuf>) -> anyhow::Result<(Scenario, String, String)> {
    match path {
        None => {
            let scenario =
                Scenario::from_json(DEFAULT_SCENARIO).context("built-in default scenario")?;
            Ok((scenario, String::new(), DEFAULT_SCENARIO.to_string()))
        }
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let scenario = parse_scenario_file(path, &text)?;
            Ok((scenario, path.display().to_string(), text))
        }
    }
}

/// Parses `text`, the contents of the scenario file `path`. An error names the file, then
/// the field (`x.json: field `faults[0].at_ms`: ...`) or, for text that is not JSON, the
/// line and column. Every command's loading goes through it, and so does the loader's
/// fuzz test.
pub fn parse_scenario_file(path: &Path, text: &str) -> anyhow::Result<Scenario> {
    Scenario::from_json(text).with_context(|| path.display().to_string())
}

/// `pass` or `violations a, b`.
pub fn expect_text(expect: &Expect) -> String {
    match expect {
        Expect::Pass => "pass".to_string(),
        Expect::Violations(kinds) => {
            let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
            format!("violations {}", names.join(", "))
        }
    }
}

/// Runs the command.
pub fn run(args: RunArgs) -> anyhow::Result<Outcome> {
    let words = resolve("run", args.scenario, args.report, args.report_form)?;
    let (scenario, path, source) = load_with_text(words.scenario.as_ref())?;
    let seed = args.seed.unwrap_or(scenario.seed);
    let report = run_seed(&scenario, seed);
    let unrolled = match &args.unroll {
        Some(file) => Some(write_unrolled(file, &source, &scenario, &path, &report)?),
        None => None,
    };
    let reproduce = reproduce_line(&path, seed);
    if let Some(file) = &args.history {
        let lines = crate::export::history_jsonl(&report.history);
        std::fs::write(file, lines).with_context(|| format!("cannot write {}", file.display()))?;
    }
    let expect = expect_text(&scenario.expect);
    let written = match &words.report {
        Some(file) => Some(write_report(file, &scenario, &report, &reproduce, &expect)?),
        None => None,
    };
    let text = if args.json {
        format!("{}\n", report::to_json(&scenario.name, &report, &reproduce))
    } else {
        report::to_text(&scenario.name, &expect, &report, &reproduce)
    };
    print_stdout(&text)?;
    if let Some(path) = written {
        eprintln!("report        {} (open it in a browser)", path.display());
    }
    if let Some((path, faults, scripted)) = unrolled {
        eprintln!(
            "unrolled      {} ({faults} faults, {} drawn by the nemesis); replay: kafkasim run {}",
            path.display(),
            faults - scripted,
            path.display()
        );
    }
    Ok(if report.matched {
        Outcome::Matched
    } else {
        Outcome::Mismatched
    })
}

/// Writes the unrolled scenario of `report` to `file` (a folder gets
/// `<scenario>-<seed>-unrolled.json`). Returns the path, the fault count and how many of
/// them the scenario scripted.
fn write_unrolled(
    file: &Path,
    source: &str,
    scenario: &Scenario,
    path: &str,
    report: &RunReport,
) -> anyhow::Result<(PathBuf, usize, usize)> {
    let origin = if path.is_empty() {
        format!("the built-in default scenario seed {}", report.seed)
    } else {
        format!("{path} seed {}", report.seed)
    };
    let (text, _) = crate::harness::unroll::unrolled(source, scenario, &origin, report)
        .context("cannot unroll the run")?;
    let target = if file.is_dir() || file.to_string_lossy().ends_with('/') {
        std::fs::create_dir_all(file)
            .with_context(|| format!("cannot create {}", file.display()))?;
        file.join(format!("{}-{}-unrolled.json", scenario.name, report.seed))
    } else {
        file.to_path_buf()
    };
    std::fs::write(&target, text).with_context(|| format!("cannot write {}", target.display()))?;
    let faults = report.faults_applied.len();
    Ok((target, faults, scenario.faults.len().min(faults)))
}

/// Renders the HTML report and writes it to `file`; a folder (existing, or named with a
/// trailing `/`, then created) gets `<scenario>-<seed>.html` inside. Returns the path.
fn write_report(
    file: &Path,
    scenario: &Scenario,
    report: &RunReport,
    reproduce: &str,
    expect: &str,
) -> anyhow::Result<PathBuf> {
    let page = html::Page {
        scenario,
        report,
        reproduce,
        expect,
    };
    let text = html::render(&page).context("cannot render the report")?;
    let name = format!("{}-{}.html", scenario.name, report.seed);
    write_page(file, &name, &text)
}
