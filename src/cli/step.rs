//! `kafkasim step`: a run replayed one protocol event at a time, each followed by the
//! state of the partition it concerns.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;

use crate::cli::run::load;
use crate::cli::{Outcome, quiet_broken_pipe};
use crate::explore::run_seed;
use crate::harness::RunReport;
use crate::scenario::Scenario;
use crate::types::SimTime;
use crate::view::text::{Scope, step_block, violations_text};
use crate::view::violations::{Placement, place};
use crate::view::{self, ClusterView, Step};
use crate::violation::Violation;

/// Arguments of `kafkasim step`.
#[derive(Args, Debug)]
pub struct StepArgs {
    /// Scenario file (JSON). Without one, the built-in default (scenarios/default.json).
    pub(super) scenario: Option<PathBuf>,
    /// Seed for the run; overrides the scenario's `seed`.
    #[arg(long)]
    seed: Option<u64>,
    /// Show only the steps of this partition (e.g. `events-0`), plus cluster-wide steps
    /// such as crashes and partitions. Default: every partition.
    #[arg(long, value_name = "TOPIC-P")]
    partition: Option<String>,
    /// Show only steps at or after this simulated time, in milliseconds. The state
    /// tables still include everything that happened before.
    #[arg(long, value_name = "T")]
    from_ms: Option<u64>,
    /// Show only steps at or before this simulated time, in milliseconds.
    #[arg(long, value_name = "T")]
    until_ms: Option<u64>,
    /// On a terminal, wait after each step: Enter or `n` for the next step, `p` for the
    /// previous one, `q` to quit. Without a terminal every step is printed.
    #[arg(long, short)]
    interactive: bool,
}

/// What to show, resolved from the arguments.
struct Selection {
    scope: Scope,
    from: SimTime,
    until: SimTime,
}

fn select(args: &StepArgs, scenario: &Scenario, path: &str) -> anyhow::Result<Selection> {
    let partition = match &args.partition {
        None => None,
        Some(name) => Some(scenario.layout.find_partition(name).ok_or_else(|| {
            let names: Vec<String> = scenario
                .layout
                .partition_ids()
                .map(|p| scenario.layout.partition_name(p))
                .collect();
            let file = if path.is_empty() {
                "the built-in default scenario"
            } else {
                path
            };
            anyhow::anyhow!(
                "--partition {name}: {file} has no such partition (it has {})",
                names.join(", ")
            )
        })?),
    };
    let from = args.from_ms.unwrap_or(0);
    let until = args.until_ms.unwrap_or(u64::MAX / 1000);
    if from > until {
        anyhow::bail!("--from-ms {from} is after --until-ms {until}: nothing to show");
    }
    Ok(Selection {
        scope: Scope { partition },
        from: SimTime::from_ms(from),
        until: SimTime::from_ms(until),
    })
}

/// Runs the command.
pub fn run(args: StepArgs) -> anyhow::Result<Outcome> {
    let (scenario, path) = load(args.scenario.as_ref())?;
    let selection = select(&args, &scenario, &path)?;
    let seed = args.seed.unwrap_or(scenario.seed);
    let report = run_seed(&scenario, seed);
    let steps = view::steps(&report.history, &scenario.layout);
    let shown: Vec<usize> = (0..steps.len())
        .filter(|n| {
            let step = &steps[*n];
            selection.scope.shows(step.meaning.partition)
                && step.time >= selection.from
                && step.time <= selection.until
        })
        .collect();
    let placements: Vec<Placement> = report
        .violations
        .iter()
        .map(|v| place(&report.history, v))
        .collect();
    let reproduce = match path.as_str() {
        "" => format!("kafkasim step --seed {seed}"),
        file => format!("kafkasim step {file} --seed {seed}"),
    };
    let show = Show {
        report: &report,
        scenario: &scenario,
        selection: &selection,
        steps: &steps,
        shown: &shown,
        placements: &placements,
    };
    let header = format!(
        "scenario {} · seed {seed} · {} of {} steps shown · reproduce: {reproduce}\n",
        scenario.name,
        shown.len(),
        steps.len()
    );
    // A reader that stops early (`| head`) is not an error.
    quiet_broken_pipe(show.print(&header, args.interactive))?;
    Ok(if report.matched {
        Outcome::Matched
    } else {
        Outcome::Mismatched
    })
}

/// Everything needed to print steps.
struct Show<'a> {
    report: &'a RunReport,
    scenario: &'a Scenario,
    selection: &'a Selection,
    steps: &'a [Step],
    shown: &'a [usize],
    placements: &'a [Placement],
}

impl Show<'_> {
    /// Prints the header, the steps (waiting between them when asked to and on a
    /// terminal), the violations after the last step shown and the outcome.
    fn print(&self, header: &str, interactive: bool) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{header}")?;
        let on_terminal = interactive && std::io::stdin().is_terminal();
        if interactive && !on_terminal {
            eprintln!("kafkasim step: stdin is not a terminal; printing every step");
        }
        if on_terminal {
            self.interactive(&mut out)?;
        } else {
            self.all(&mut out)?;
        }
        let last = self.shown.last().map(|n| self.steps[*n].index);
        let unshown = self.violations_after(last);
        if !unshown.is_empty() {
            writeln!(out, "\nviolations visible after the last step shown:")?;
            out.write_all(unshown.as_bytes())?;
        }
        let report = self.report;
        let verdict = if report.matched {
            "the outcome matches the scenario's expect"
        } else {
            "the outcome does NOT match the scenario's expect"
        };
        writeln!(out, "\n{} violation(s); {verdict}", report.violations.len())
    }

    /// Step `k` of the shown ones, with the state after it and the violations that
    /// become visible between the previous shown step and this one.
    fn block(&self, k: usize, state: &ClusterView) -> String {
        let n = self.shown[k];
        let step = &self.steps[n];
        let history = &self.report.history;
        let layout = &self.scenario.layout;
        let mut text = step_block(history, layout, &self.selection.scope, (n, step), state);
        let after = k.checked_sub(1).map(|j| self.steps[self.shown[j]].index);
        let here: Vec<(&Violation, &Placement)> = self
            .report
            .violations
            .iter()
            .zip(self.placements)
            .filter(|(_, placement)| {
                let visible = placement.visible_at.unwrap_or(usize::MAX);
                after.is_none_or(|a| visible > a) && visible <= step.index
            })
            .collect();
        text.push_str(&violations_text(history, &here));
        text
    }

    /// Violations visible after event `last` (or all, with no step shown).
    fn violations_after(&self, last: Option<usize>) -> String {
        let rest: Vec<(&Violation, &Placement)> = self
            .report
            .violations
            .iter()
            .zip(self.placements)
            .filter(|(_, placement)| {
                last.is_none_or(|l| placement.visible_at.unwrap_or(usize::MAX) > l)
            })
            .collect();
        violations_text(&self.report.history, &rest)
    }

    fn all(&self, out: &mut impl Write) -> std::io::Result<()> {
        let mut state = ClusterView::new(&self.scenario.layout);
        let mut applied = 0;
        for k in 0..self.shown.len() {
            for step in &self.steps[applied..=self.shown[k]] {
                for op in &step.meaning.ops {
                    state.apply(op);
                }
            }
            applied = self.shown[k] + 1;
            writeln!(out, "{}", self.block(k, &state))?;
        }
        Ok(())
    }

    fn interactive(&self, out: &mut impl Write) -> std::io::Result<()> {
        let stdin = std::io::stdin();
        let mut k = 0;
        while k < self.shown.len() {
            let state = view::state_after(&self.scenario.layout, self.steps, self.shown[k] + 1);
            writeln!(out, "{}", self.block(k, &state))?;
            write!(out, "[Enter/n] next  [p] previous  [q] quit > ")?;
            out.flush()?;
            let mut line = String::new();
            if stdin.lock().read_line(&mut line)? == 0 {
                break; // end of input
            }
            match line.trim() {
                "q" => break,
                "p" => k = k.saturating_sub(1),
                _ => k += 1,
            }
        }
        Ok(())
    }
}
