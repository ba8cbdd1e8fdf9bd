//! `kafkasim merge`: combines the `--json` files of `explore --shard K/N` runs into one
//! summary, as if one machine had run the whole range.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::cli::explore::{check_output, outcome, summary_text, write_json, write_junit};
use crate::cli::{Outcome, print_stdout};
use crate::explore::summary::Exploration;

/// Arguments of `kafkasim merge`.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// `explore --json` files of one scenario and seed range (typically one per shard).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Write the merged summary and seeds as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the merged seeds as one JUnit XML file (as `explore --junit` writes it):
    /// one testcase per seed of every shard.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: MergeArgs) -> anyhow::Result<Outcome> {
    if let Some(path) = &args.junit {
        check_output("--junit", path)?;
    }
    let mut parts = Vec::new();
    for path in &args.files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut de = serde_json::Deserializer::from_str(&text);
        let part: Exploration = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            anyhow::anyhow!(
                "{}: not an `explore --json` file: field `{}`: {}",
                path.display(),
                e.path(),
                e.inner()
            )
        })?;
        parts.push(part);
    }
    let merged = Exploration::merge(parts).map_err(|e| anyhow::anyhow!("cannot merge: {e}"))?;
    print_stdout(&summary_text(&merged))?;
    if let Some(path) = &args.json {
        write_json(path, &merged)?;
    }
    if let Some(path) = &args.junit {
        write_junit(path, &merged)?;
    }
    Ok(outcome(&merged))
}
