//! docs/tutorial.md stays true: every `cargo run --release -- step ...` command it shows
//! is run through the binary, and the output block that follows the command must be what
//! the command prints. The tutorial may leave lines out (a `...` line, or a step shown
//! without its table), but every `step ...` line it shows must be printed verbatim, and
//! each run of lines it shows together (a step with its table, a violation with its
//! details) must be printed together, in that order.

use std::path::Path;

use super::kafkasim;

const COMMAND_PREFIX: &str = "cargo run --release -- ";

/// A `step` command of the tutorial and the output block shown after it.
struct Shown {
    /// Line number (1-based) of the command in the tutorial.
    line: usize,
    /// The command as written.
    command: String,
    /// The lines of the output block.
    block: Vec<String>,
}

/// Every `step` command in a fenced block of `text`, each with the next fenced block.
fn step_commands(text: &str) -> Vec<Shown> {
    // Fenced blocks: (line number of the opening fence, lines inside).
    let mut blocks: Vec<(usize, Vec<String>)> = Vec::new();
    let mut open: Option<(usize, Vec<String>)> = None;
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            match open.take() {
                Some(block) => blocks.push(block),
                None => open = Some((n + 1, Vec::new())),
            }
        } else if let Some((_, lines)) = open.as_mut() {
            lines.push(line.to_string());
        }
    }
    assert!(
        open.is_none(),
        "docs/tutorial.md: a code block is not closed"
    );
    let mut shown = Vec::new();
    for (i, (start, lines)) in blocks.iter().enumerate() {
        for (k, line) in lines.iter().enumerate() {
            let command = line.trim();
            let Some(args) = command.strip_prefix(COMMAND_PREFIX) else {
                continue;
            };
            if !args.starts_with("step ") {
                continue;
            }
            let (_, block) = blocks.get(i + 1).unwrap_or_else(|| {
                panic!(
                    "docs/tutorial.md:{}: `{command}` has no output block after it",
                    start + k + 1
                )
            });
            shown.push(Shown {
                line: start + k + 1,
                command: command.to_string(),
                block: block.clone(),
            });
        }
    }
    shown
}

/// Runs of consecutive lines shown together: split at blank lines and `...` lines.
fn runs(block: &[String]) -> Vec<Vec<&str>> {
    let mut runs = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    for line in block {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed == "..." {
            if !run.is_empty() {
                runs.push(std::mem::take(&mut run));
            }
        } else {
            run.push(line.trim_end());
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

/// Checks one command's block against its real output; returns the problems found.
fn check(shown: &Shown) -> Vec<String> {
    let args: Vec<&str> = shown.command[COMMAND_PREFIX.len()..]
        .split_whitespace()
        .collect();
    let out = kafkasim(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let where_ = format!("docs/tutorial.md:{}: `{}`", shown.line, shown.command);
    if out.status.code() != Some(0) {
        return vec![format!(
            "{where_} exited with {:?}:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )];
    }
    let printed: Vec<&str> = stdout.lines().map(str::trim_end).collect();
    let mut problems = Vec::new();
    let step_lines: Vec<&String> = shown
        .block
        .iter()
        .filter(|l| l.starts_with("step "))
        .collect();
    if step_lines.is_empty() {
        problems.push(format!("{where_}: the block after it shows no `step` line"));
    }
    for line in step_lines {
        if !printed.contains(&line.trim_end()) {
            problems.push(format!(
                "{where_} does not print this line that the tutorial shows:\n  {line}"
            ));
        }
    }
    for run in runs(&shown.block) {
        let together = printed.windows(run.len()).any(|w| w == run.as_slice());
        if together {
            continue;
        }
        // Name the first line that is not where the tutorial says it is.
        let starts: Vec<usize> = (0..printed.len())
            .filter(|&i| printed[i] == run[0])
            .collect();
        let detail = match starts.first() {
            // A missing `step` line is reported above.
            None if run[0].starts_with("step ") => continue,
            None => format!("this line is not printed at all:\n  {}", run[0]),
            Some(_) => {
                let best = starts
                    .iter()
                    .map(|&i| {
                        let same = run
                            .iter()
                            .zip(&printed[i..])
                            .take_while(|(a, b)| a == b)
                            .count();
                        (same, i)
                    })
                    .max()
                    .expect("non-empty");
                let (same, i) = best;
                let real = printed.get(i + same).copied().unwrap_or("(end of output)");
                format!(
                    "after\n  {}\nthe tutorial shows\n  {}\nbut the command prints\n  {real}",
                    run[same - 1],
                    run[same]
                )
            }
        };
        problems.push(format!("{where_}: {detail}"));
    }
    problems
}

#[test]
fn every_step_command_of_the_tutorial_prints_what_the_tutorial_shows() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/tutorial.md");
    let text = std::fs::read_to_string(&path).expect("docs/tutorial.md is readable");
    let shown = step_commands(&text);
    assert!(
        shown.len() >= 4,
        "docs/tutorial.md shows at least four `step` commands, found {}",
        shown.len()
    );
    let problems: Vec<String> = shown.iter().flat_map(check).collect();
    assert!(
        problems.is_empty(),
        "docs/tutorial.md is stale ({} problem(s)):\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

#[test]
fn a_stale_line_is_caught() {
    let text = "```sh\ncargo run --release -- step scenarios/leader-failover-small.json --until-ms 1000\n```\n\n```\nstep 20 [1000.001ms] crash: crash broker-1\n```\n";
    let shown = step_commands(text);
    assert_eq!(shown.len(), 1);
    let problems = check(&shown[0]);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("step 20 [1000.001ms] crash: crash broker-1")),
        "{problems:?}"
    );
}
