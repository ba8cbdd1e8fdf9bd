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
    /// How `--report` was written (set from the raw arguments, not parsed).
    #[arg(skip)]
    pub(super) report_form: ReportForm,
}

/// Loads a scenario file or the built-in default; errors name the file and the field.
pub fn load(path: Option<&PathBuf>) -> anyhow::Result<(Scenario, String)> {
    match path {
        None => {
            let scenario =
                Scenario::from_json(DEFAULT_SCENARIO).context("built-in default scenario")?;
            Ok((scenario, String::new()))
        }
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let scenario = parse_scenario_file(path, &text)?;
            Ok((scenario, path.display().to_string()))
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
    let (scenario, path) = load(words.scenario.as_ref())?;
    let seed = args.seed.unwrap_or(scenario.seed);
    let report = run_seed(&scenario, seed);
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
    Ok(if report.matched {
        Outcome::Matched
    } else {
        Outcome::Mismatched
    })
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
