//! Candidates and their runs: each candidate becomes a scenario file's text (the base
//! file with faults and knobs replaced, [`derive`]); texts that do not load are skipped;
//! outcomes are cached by text (runs are deterministic, so a text never needs a second
//! run); one step's candidates run on `jobs` threads and the first in order that fails
//! the same way wins ([`parallel::first_accepted`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use super::atoms::Schedule;
use super::knobs::Knobs;
use super::outcome::{Findings, Outcome, Signature};
use super::parallel;
use crate::explore::run_seed;
use crate::scenario::write::{Changes, derive};
use crate::scenario::{Expect, Scenario};
use crate::violation::ViolationKind;

/// The scenario every candidate is derived from: explicit faults, no nemesis.
#[derive(Debug)]
pub struct Base<'a> {
    /// Its file's JSON text.
    pub text: &'a str,
    /// The text, parsed as JSON.
    pub doc: Value,
    /// The text, loaded.
    pub scenario: &'a Scenario,
    /// Its knobs.
    pub knobs: Knobs,
    /// The `expect` that decides which violation of a run is its failure
    /// ([`Signature::of_run`]) and which kinds a shrunk file expects: the scenario the
    /// user gave's (an unrolled file's own lists every kind its run showed).
    pub expect: Expect,
}

impl<'a> Base<'a> {
    /// The base made of a loaded scenario and its text, whose failure is the one
    /// `expect` picks.
    pub fn new(text: &'a str, scenario: &'a Scenario, expect: Expect) -> Base<'a> {
        let doc: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let knobs = Knobs::of(scenario, &doc);
        Base {
            text,
            doc,
            scenario,
            knobs,
            expect,
        }
    }
}

/// One point of the search: which faults (in which versions) and which sizes.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The faults.
    pub schedule: Schedule,
    /// The sizes.
    pub knobs: Knobs,
}

impl Candidate {
    /// The changes that turn the base into this candidate, its seed pinned.
    pub fn changes(&self, base: &Base, seed: u64) -> Changes {
        Changes {
            seed: Some(seed),
            faults: Some(self.schedule.fault_list()),
            fields: self.knobs.fields(&base.knobs, &base.doc),
            ..Changes::default()
        }
    }
}

/// What a run of one text showed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// Accepted or not.
    pub outcome: Outcome,
    /// The kinds of every violation it found, each once, in report order.
    pub kinds: Vec<ViolationKind>,
}

/// Where a shrink stands, for progress displays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    /// Simulation runs made so far.
    pub runs: usize,
    /// The run budget.
    pub max_runs: usize,
    /// Faults in the smallest candidate accepted so far.
    pub faults: usize,
    /// The pass now running.
    pub pass: &'static str,
}

/// Runs candidates for one shrink: the cache, the budget, the findings.
pub struct Evaluator<'a> {
    base: &'a Base<'a>,
    seed: u64,
    target: Signature,
    jobs: usize,
    max_runs: usize,
    runs: AtomicUsize,
    skipped: usize,
    cache: BTreeMap<String, Verdict>,
    findings: Findings,
    /// The pass now running and the faults of the best candidate, for [`Status`].
    pub status: (&'static str, usize),
    on_run: &'a (dyn Fn(Status) + Sync),
}

impl<'a> Evaluator<'a> {
    /// An evaluator shrinking `target` at `seed`, with `max_runs` runs on `jobs` threads;
    /// `on_run` hears of every run, from the thread that made it.
    pub fn new(
        base: &'a Base<'a>,
        seed: u64,
        target: Signature,
        (jobs, max_runs): (usize, usize),
        on_run: &'a (dyn Fn(Status) + Sync),
    ) -> Evaluator<'a> {
        Evaluator {
            base,
            seed,
            target,
            jobs: jobs.max(1),
            max_runs,
            runs: AtomicUsize::new(0),
            skipped: 0,
            cache: BTreeMap::new(),
            findings: Findings::default(),
            status: ("baseline", 0),
            on_run,
        }
    }

    /// Records the outcome of a text run elsewhere (the baseline), as one run.
    pub fn record(&mut self, text: String, verdict: Verdict) {
        self.runs.fetch_add(1, Ordering::SeqCst);
        self.cache.insert(text, verdict);
    }

    /// The candidate's text and scenario, or `None` when it does not load.
    pub fn text(&self, candidate: &Candidate) -> Option<(String, Scenario)> {
        let changes = candidate.changes(self.base, self.seed);
        derive(self.base.text, self.base.scenario, &changes).ok()
    }

    /// The verdict of a text already run.
    pub fn verdict(&self, text: &str) -> Option<&Verdict> {
        self.cache.get(text)
    }

    /// Runs made so far.
    pub fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }

    /// Candidates skipped because they did not load.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Whether the run budget is spent.
    pub fn exhausted(&self) -> bool {
        self.runs() >= self.max_runs
    }

    /// The other failures seen.
    pub fn findings(&self) -> &Findings {
        &self.findings
    }

    /// The index of the first of `candidates` (in order) that fails the same way;
    /// `None` when none does, or when the budget ran out before one was found.
    pub fn first_same(&mut self, candidates: &[Candidate]) -> Option<usize> {
        let texts: Vec<Option<(String, Scenario)>> =
            candidates.iter().map(|c| self.text(c)).collect();
        self.skipped += texts.iter().filter(|t| t.is_none()).count();
        let pending = self.pending(&texts);
        let jobs = pending.iter().map(|&i| (i, &texts[i])).collect::<Vec<_>>();
        let limit = self.max_runs.saturating_sub(self.runs());
        let found = parallel::first_accepted(
            &jobs,
            self.jobs,
            limit,
            |(_, text)| {
                let (_, scenario) = text.as_ref().expect("pending texts load");
                self.run(scenario)
            },
            |verdict| verdict.outcome == Outcome::FailSame,
        );
        for ((i, _), verdict) in jobs.iter().zip(found.results) {
            let Some(verdict) = verdict else { continue };
            let (text, _) = texts[*i].as_ref().expect("pending texts load");
            if let Outcome::FailDifferent(signature) = &verdict.outcome {
                let faults = candidates[*i].schedule.fault_count();
                self.findings.record(signature.clone(), faults, text);
            }
            self.cache.insert(text.clone(), verdict);
        }
        for (i, text) in texts.iter().enumerate() {
            let Some((text, _)) = text else { continue };
            match self.cache.get(text).map(|v| &v.outcome) {
                Some(Outcome::FailSame) => return Some(i),
                Some(_) => {}
                None => return None, // not run: the budget ran out
            }
        }
        None
    }

    /// The indices of the loadable texts not yet run, each text once, up to the first
    /// text already known to fail the same way.
    fn pending(&self, texts: &[Option<(String, Scenario)>]) -> Vec<usize> {
        let mut pending: Vec<usize> = Vec::new();
        for (i, text) in texts.iter().enumerate() {
            let Some((text, _)) = text else { continue };
            match self.cache.get(text) {
                Some(v) if v.outcome == Outcome::FailSame => break,
                Some(_) => {}
                None => {
                    let seen = pending
                        .iter()
                        .any(|&p| texts[p].as_ref().is_some_and(|(t, _)| t == text));
                    if !seen {
                        pending.push(i);
                    }
                }
            }
        }
        pending
    }

    /// One run of a candidate scenario at the shrink's seed, on a fresh thread.
    fn run(&self, scenario: &Scenario) -> Verdict {
        let report = run_seed(scenario, self.seed);
        let runs = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
        (self.on_run)(Status {
            runs,
            max_runs: self.max_runs,
            faults: self.status.1,
            pass: self.status.0,
        });
        verdict(&report.violations, &self.target, &self.base.expect)
    }
}

/// The verdict of a run with `violations` when shrinking `target`.
pub fn verdict(
    violations: &[crate::violation::Violation],
    target: &Signature,
    expect: &Expect,
) -> Verdict {
    let mut kinds: Vec<ViolationKind> = Vec::new();
    for v in violations {
        if !kinds.contains(&v.kind) {
            kinds.push(v.kind);
        }
    }
    Verdict {
        outcome: Outcome::classify(violations, target, expect),
        kinds,
    }
}
