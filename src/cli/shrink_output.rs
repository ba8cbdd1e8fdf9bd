//! What `kafkasim shrink` prints: one [`ShrinkReport`], as a summary for people or as
//! one JSON object (`--json`), so both say the same.

use std::ops::RangeInclusive;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::harness::RunReport;
use crate::history::{EventKind, History};
use crate::scenario::write::fault_json;
use crate::shrink::{Base, Shrunk, Signature};
use crate::violation::Violation;

/// The command's context.
pub struct Origin<'a> {
    /// The scenario's name.
    pub scenario: &'a str,
    /// Its file, as given.
    pub file: &'a str,
    /// The seed shrunk.
    pub seed: u64,
    /// Worker threads.
    pub jobs: usize,
    /// Wall time of the shrink (unrolling included, checks excluded).
    pub wall_s: f64,
}

/// What the written file did when run again.
pub struct Checks {
    /// It fails the same way at its seed.
    pub reproduces: bool,
    /// That run.
    pub report: RunReport,
    /// The other seeds tried.
    pub seeds: RangeInclusive<u64>,
    /// On how many of them the shrunk file fails the same way.
    pub shrunk_robust: usize,
    /// On how many of them the original scenario does.
    pub original_robust: usize,
}

/// A failure signature in JSON.
#[derive(Serialize)]
struct SignatureJson {
    kind: &'static str,
    partition: Option<String>,
}

impl SignatureJson {
    fn of(s: &Signature) -> SignatureJson {
        SignatureJson {
            kind: s.kind.as_str(),
            partition: s.partition.clone(),
        }
    }
}

/// Robustness figures in JSON.
#[derive(Serialize)]
struct Robustness {
    /// `18..37`.
    seeds: String,
    /// How many seeds.
    of: usize,
    shrunk: usize,
    original: usize,
}

/// A finding in JSON.
#[derive(Serialize)]
struct FindingJson {
    failure: SignatureJson,
    faults: usize,
}

/// The result of one shrink, as `--json` prints it.
#[derive(Serialize)]
pub struct ShrinkReport {
    scenario: String,
    scenario_file: String,
    seed: u64,
    failure: SignatureJson,
    faults_before: usize,
    atoms_before: usize,
    faults_after: usize,
    atoms_after: usize,
    before: Vec<Value>,
    after: Vec<Value>,
    fault_events: Vec<String>,
    changes: Vec<String>,
    runs: usize,
    max_runs_spent: bool,
    skipped: usize,
    rounds: usize,
    jobs: usize,
    wall_s: f64,
    file: String,
    expect: Vec<&'static str>,
    reproduces: bool,
    robustness: Robustness,
    reproduce: String,
    explanation: String,
    findings: Vec<FindingJson>,
}

impl ShrinkReport {
    /// The report of `shrunk` (from `base`), written to `path` and checked.
    pub fn new(
        origin: &Origin,
        shrunk: &Shrunk,
        base: &Base,
        path: &Path,
        checks: &Checks,
    ) -> ShrinkReport {
        let layout = &base.scenario.layout;
        let json = |s: &crate::shrink::atoms::Schedule| -> Vec<Value> {
            s.fault_list()
                .iter()
                .map(|f| fault_json(f, layout))
                .collect()
        };
        let history = &checks.report.history;
        let fault_events = (0..history.events.len())
            .filter(|&i| matches!(history.events[i].kind, EventKind::Fault { .. }))
            .map(|i| history.render(i))
            .collect();
        let mut explanation = String::new();
        match checks
            .report
            .violations
            .iter()
            .find(|v| shrunk.signature.matches(v))
        {
            Some(v) => print_explanation(&mut explanation, history, v),
            None => explanation.push_str("the shrunk run did not show the failure\n"),
        }
        let file = path.display().to_string();
        ShrinkReport {
            scenario: origin.scenario.to_string(),
            scenario_file: origin.file.to_string(),
            seed: origin.seed,
            failure: SignatureJson::of(&shrunk.signature),
            faults_before: shrunk.before.schedule.fault_count(),
            atoms_before: shrunk.before.schedule.kept.len(),
            faults_after: shrunk.after.schedule.fault_count(),
            atoms_after: shrunk.after.schedule.kept.len(),
            before: json(&shrunk.before.schedule),
            after: json(&shrunk.after.schedule),
            fault_events,
            changes: shrunk.after.knobs.changes(&base.knobs),
            runs: shrunk.runs,
            max_runs_spent: shrunk.exhausted,
            skipped: shrunk.skipped,
            rounds: shrunk.rounds,
            jobs: origin.jobs,
            wall_s: origin.wall_s,
            expect: shrunk
                .expected_kinds(&base.expect)
                .iter()
                .map(|k| k.as_str())
                .collect(),
            reproduces: checks.reproduces,
            robustness: Robustness {
                seeds: format!("{}..{}", checks.seeds.start(), checks.seeds.end()),
                of: checks.seeds.clone().count(),
                shrunk: checks.shrunk_robust,
                original: checks.original_robust,
            },
            reproduce: format!("kafkasim run {file}"),
            file,
            explanation,
            findings: shrunk
                .findings
                .iter()
                .map(|f| FindingJson {
                    failure: SignatureJson::of(&f.signature),
                    faults: f.faults,
                })
                .collect(),
        }
    }

    /// The summary people read.
    pub fn to_text(&self) -> String {
        let partition = self.failure.partition.as_deref();
        let failure = match partition {
            Some(p) => format!("{} on {p}", self.failure.kind),
            None => self.failure.kind.to_string(),
        };
        let mut t = format!(
            "shrink {} ({}) seed {}: {failure}\n",
            self.scenario, self.scenario_file, self.seed
        );
        t += &format!(
            "faults        {} ({}) -> {} ({})\n",
            self.faults_before,
            plural(self.atoms_before, "atom"),
            self.faults_after,
            plural(self.atoms_after, "atom")
        );
        if !self.changes.is_empty() {
            t += &format!("sizes         {}\n", self.changes.join("; "));
        }
        let spent = if self.max_runs_spent {
            ", the budget ran out"
        } else {
            ""
        };
        let rounds = plural(self.rounds, "round");
        t += &format!(
            "runs          {} ({rounds} of passes{spent}; {} candidates skipped as invalid), \
             {} jobs, {:.1} wall s\n",
            self.runs, self.skipped, self.jobs, self.wall_s
        );
        t += &format!(
            "wrote         {} (expect: {})\n",
            self.file,
            self.expect.join(", ")
        );
        let verdict = if self.reproduces { "yes" } else { "NO" };
        t += &format!("reproduces    {verdict}: {failure} at seed {}\n", self.seed);
        let r = &self.robustness;
        t += &format!(
            "robustness    fails the same way on {}/{} other seeds ({}); the original on {}/{}\n",
            r.shrunk, r.of, r.seeds, r.original, r.of
        );
        t += &format!("reproduce     {}\n", self.reproduce);
        t += "faults before\n";
        t += &fault_lines(&self.before);
        t += "faults after, as written\n";
        t += &fault_lines(&self.after);
        t += "faults after, as they fired\n";
        for line in &self.fault_events {
            t += &format!("  {line}\n");
        }
        t += "explanation\n";
        for line in self.explanation.lines() {
            t += &format!("  {line}\n");
        }
        if !self.findings.is_empty() {
            t += "other failures seen (candidates that failed differently; the smallest of each)\n";
            for f in &self.findings {
                let on = f.failure.partition.as_deref().map(|p| format!(" on {p}"));
                t += &format!(
                    "  {}{}: {} faults\n",
                    f.failure.kind,
                    on.unwrap_or_default(),
                    f.faults
                );
            }
        }
        t
    }
}

/// `1 atom`, `3 atoms`.
fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// One line per fault, as the file holds it.
fn fault_lines(faults: &[Value]) -> String {
    if faults.is_empty() {
        return "  (none)\n".to_string();
    }
    faults.iter().map(|f| format!("  {f}\n")).collect()
}

/// Writes the explanation of `violation` in `history` into `out`: the plain-words story
/// of `crate::explain`, then the setting that permits it.
pub fn print_explanation(out: &mut String, history: &History, violation: &Violation) {
    out.push_str(&crate::explain::explain(history, violation).render());
    if !out.ends_with('\n') {
        out.push('\n');
    }
    if let Some(setting) = &violation.permitted_by {
        out.push_str(&format!("permitted by the configuration: {setting}\n"));
    }
}
