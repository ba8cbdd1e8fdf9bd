//! `kafkasim run`: one scenario, one seed.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::cli::{DEFAULT_SCENARIO, Outcome};
use crate::explore::run_seed;
use crate::explore::summary::reproduce_line;
use crate::harness::report;
use crate::scenario::{Expect, Scenario};

/// Arguments of `kafkasim run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Scenario file (JSON). Without one, the built-in default (scenarios/default.json):
    /// 3 brokers, 2 partitions with RF 3, acks=all, a random nemesis.
    scenario: Option<PathBuf>,
    /// Seed for the run; overrides the scenario's `seed`.
    #[arg(long)]
    seed: Option<u64>,
    /// Print one JSON object (the result contract) instead of the summary.
    #[arg(long)]
    json: bool,
    /// Write the client-visible history as JSON Lines to FILE.
    #[arg(long, value_name = "FILE")]
    history: Option<PathBuf>,
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
            let scenario =
                Scenario::from_json(&text).with_context(|| path.display().to_string())?;
            Ok((scenario, path.display().to_string()))
        }
    }
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
    let (scenario, path) = load(args.scenario.as_ref())?;
    let seed = args.seed.unwrap_or(scenario.seed);
    let report = run_seed(&scenario, seed);
    let reproduce = reproduce_line(&path, seed);
    if let Some(file) = &args.history {
        let lines = crate::export::history_jsonl(&report.history);
        std::fs::write(file, lines).with_context(|| format!("cannot write {}", file.display()))?;
    }
    if args.json {
        println!("{}", report::to_json(&scenario.name, &report, &reproduce));
    } else {
        print!(
            "{}",
            report::to_text(
                &scenario.name,
                &expect_text(&scenario.expect),
                &report,
                &reproduce
            )
        );
    }
    Ok(if report.matched {
        Outcome::Matched
    } else {
        Outcome::Mismatched
    })
}
