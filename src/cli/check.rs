//! `kafkasim check [DIR]`: runs every scenario under DIR at its own seed and prints one
//! table row per scenario (expected, observed, seed, wall time). Exit code 1 on any
//! mismatch, 2 when a file cannot be read or parsed.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use crate::cli::run::{expect_text, load};
use crate::cli::{Outcome, print_stdout};
use crate::explore::run_seed;
use crate::explore::stopwatch::Stopwatch;
use crate::explore::summary::SeedResult;

/// Arguments of `kafkasim check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Folder of scenario files (searched recursively for `*.json`).
    #[arg(default_value = "scenarios")]
    dir: PathBuf,
}

/// Every `*.json` file under `dir`, sorted by path.
pub fn scenario_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let entries = std::fs::read_dir(&folder)
            .with_context(|| format!("cannot read {}", folder.display()))?;
        for entry in entries {
            let path = entry
                .with_context(|| format!("cannot read {}", folder.display()))?
                .path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|x| x == "json") {
                files.push(path);
            }
        }
    }
    files.sort(); // directory order is the file system's, not ours
    Ok(files)
}

/// Runs the command.
pub fn run(args: CheckArgs) -> anyhow::Result<Outcome> {
    let files = scenario_files(&args.dir)?;
    if files.is_empty() {
        anyhow::bail!("{}: no scenario (*.json) found", args.dir.display());
    }
    let mut rows = vec![[
        "scenario".to_string(),
        "expected".to_string(),
        "observed".to_string(),
        "seed".to_string(),
        "wall ms".to_string(),
        "verdict".to_string(),
    ]];
    let mut mismatches = 0;
    for path in &files {
        let (scenario, _) = load(Some(path))?;
        let clock = Stopwatch::start();
        let report = run_seed(&scenario, scenario.seed);
        let wall_ms = clock.elapsed().as_millis();
        let kinds = SeedResult::of(&report).violations;
        let observed = if kinds.is_empty() {
            "pass".to_string()
        } else {
            format!("violations {}", kinds.join(", "))
        };
        if !report.matched {
            mismatches += 1;
        }
        rows.push([
            path.display().to_string(),
            expect_text(&scenario.expect),
            observed,
            scenario.seed.to_string(),
            wall_ms.to_string(),
            if report.matched { "ok" } else { "MISMATCH" }.to_string(),
        ]);
    }
    print_stdout(&format!(
        "{}{} scenarios, {} matched, {mismatches} mismatched\n",
        table(&rows),
        files.len(),
        files.len() - mismatches
    ))?;
    Ok(if mismatches == 0 {
        Outcome::Matched
    } else {
        Outcome::Mismatched
    })
}

/// Left-aligned columns separated by two spaces.
fn table(rows: &[[String; 6]]) -> String {
    let mut widths = [0usize; 6];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    text
}
