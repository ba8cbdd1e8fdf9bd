//! The simplification passes, each taking a candidate that fails the same way to a
//! simpler one that still does (or leaving it as it is):
//! - [`remove_atoms`]: ddmin over the kept atoms;
//! - [`weaken_faults`]: power loss → crash → pause, one atom at a time;
//! - [`drop_ends`]: leave an atom's end to the finale (which restarts, resumes and heals
//!   everything), one fault fewer;
//! - [`shorten_faults`]: move an atom's end earlier (binary search down to its start);
//! - [`shorten_workload`]: a shorter `workload.duration_ms`, never before the last fault;
//! - [`shrink_knobs`]: fewer brokers, partitions, producers, consumers; no background
//!   packet loss;
//! - [`move_earlier`]: an atom, start and end together, earlier in the run.
//!
//! Every pass is deterministic given the evaluator's answers, which do not depend on the
//! number of jobs; each returns whether it changed the candidate.

use super::atoms::Schedule;
use super::ddmin::ddmin;
use super::evaluate::{Candidate, Evaluator};
use super::knobs::Knobs;
use super::weaken::weaken;

/// Binary searches stop when the interval is this narrow (ms).
const SEARCH_STEP_MS: u64 = 100;

/// ddmin over the kept atoms.
pub fn remove_atoms(eval: &mut Evaluator, best: &mut Candidate) -> bool {
    eval.status.0 = "ddmin";
    let kept = best.schedule.kept.clone();
    let base = best.clone();
    let result = ddmin(&kept, &mut |subsets: &[Vec<usize>]| {
        let candidates: Vec<Candidate> = subsets
            .iter()
            .map(|kept| Candidate {
                schedule: base.schedule.keeping(kept.clone()),
                knobs: base.knobs.clone(),
            })
            .collect();
        eval.first_same(&candidates)
    });
    let changed = result != kept;
    best.schedule = best.schedule.keeping(result);
    eval.status.1 = best.schedule.fault_count();
    changed
}

/// Tries `change(best, slot)` for slots `0..slots` in order and takes the first that
/// fails the same way, then goes on from that slot (it may change again) with the rest.
fn sweep(
    eval: &mut Evaluator,
    best: &mut Candidate,
    slots: usize,
    change: &dyn Fn(&Candidate, usize) -> Option<Candidate>,
) -> bool {
    let mut from = 0;
    let mut changed = false;
    loop {
        let tries: Vec<(usize, Candidate)> = (from..slots)
            .filter_map(|slot| change(best, slot).map(|c| (slot, c)))
            .collect();
        let candidates: Vec<Candidate> = tries.iter().map(|(_, c)| c.clone()).collect();
        let Some(i) = eval.first_same(&candidates) else {
            return changed;
        };
        from = tries[i].0;
        *best = candidates[i].clone();
        eval.status.1 = best.schedule.fault_count();
        changed = true;
    }
}

/// The kept atom a sweep's `slot` names: the last atom first.
fn atom_at(schedule: &Schedule, slot: usize) -> usize {
    schedule.kept[schedule.kept.len() - 1 - slot]
}

/// Power loss → crash → pause, later atoms first.
pub fn weaken_faults(eval: &mut Evaluator, best: &mut Candidate) -> bool {
    eval.status.0 = "weaken";
    let slots = best.schedule.kept.len();
    sweep(eval, best, slots, &|c, slot| {
        let schedule = weaken(&c.schedule, atom_at(&c.schedule, slot))?;
        Some(Candidate {
            schedule,
            knobs: c.knobs.clone(),
        })
    })
}

/// Leaves an atom's own ends to the finale, later atoms first.
pub fn drop_ends(eval: &mut Evaluator, best: &mut Candidate) -> bool {
    eval.status.0 = "drop ends";
    let slots = best.schedule.kept.len();
    sweep(eval, best, slots, &|c, slot| {
        let atom = atom_at(&c.schedule, slot);
        if c.schedule.atoms[atom].ends.is_empty() || c.schedule.has_shared_end(atom) {
            return None;
        }
        let mut next = c.clone();
        next.schedule.atoms[atom].ends.clear();
        Some(next)
    })
}

/// The smallest value in `lo..=hi` at which `make` fails the same way, by binary search
/// from `hi` (which does) down to within [`SEARCH_STEP_MS`] of `lo`; `None` when no value
/// below `hi` does.
fn search_down(
    eval: &mut Evaluator,
    (mut lo, mut hi): (u64, u64),
    make: &dyn Fn(u64) -> Candidate,
) -> Option<Candidate> {
    let mut found = None;
    while hi - lo > SEARCH_STEP_MS {
        let mid = lo + (hi - lo) / 2;
        let candidate = make(mid);
        if eval.first_same(std::slice::from_ref(&candidate)).is_some() {
            hi = mid;
            found = Some(candidate);
        } else if eval.exhausted() {
            break;
        } else {
            lo = mid;
        }
    }
    found
}

/// Moves each atom's own end earlier, towards its start, later atoms first.
pub fn shorten_faults(eval: &mut Evaluator, best: &mut Candidate) -> bool {
    eval.status.0 = "shorten faults";
    let mut changed = false;
    for slot in 0..best.schedule.kept.len() {
        let atom = atom_at(&best.schedule, slot);
        let Some(end) = best.schedule.own_end(atom) else {
            continue;
        };
        let start = best.schedule.faults[best.schedule.atoms[atom].start].at_ms;
        let base = best.clone();
        let make = |at_ms: u64| {
            let mut next = base.clone();
            next.schedule.faults[end].at_ms = at_ms;
            next
        };
        let now = base.schedule.faults[end].at_ms;
        if let Some(shorter) = search_down(eval, (start, now), &make) {
            *best = shorter;
            changed = true;
        }
    }
    changed
}

/// Moves each atom (start and own ends together) earlier in the run, later atoms first.
pub fn move_earlier(eval: &mut Evaluator, best: &mut Candidate) -> bool {
    eval.status.0 = "move earlier";
    let mut changed = false;
    for slot in 0..best.schedule.kept.len() {
        let atom = atom_at(&best.schedule, slot);
        if best.schedule.has_shared_end(atom) {
            continue;
        }
        let a = best.schedule.atoms[atom].clone();
        let start = best.schedule.faults[a.start].at_ms;
        let base = best.clone();
        let make = |at_ms: u64| {
            let mut next = base.clone();
            let shift = start - at_ms;
            for i in std::iter::once(a.start).chain(a.ends.iter().copied()) {
                next.schedule.faults[i].at_ms -= shift;
            }
            next
        };
        if let Some(earlier) = search_down(eval, (0, start), &make) {
            *best = earlier;
            changed = true;
        }
    }
    changed
}

/// A shorter workload, down to the time of the last fault.
pub fn shorten_workload(eval: &mut Evaluator, best: &mut Candidate) -> bool {
    eval.status.0 = "shorten workload";
    let last = best
        .schedule
        .fault_list()
        .iter()
        .map(|f| f.at_ms)
        .max()
        .unwrap_or(0)
        .max(1);
    let base = best.clone();
    let make = |duration_ms: u64| Candidate {
        schedule: base.schedule.clone(),
        knobs: Knobs {
            duration_ms,
            ..base.knobs.clone()
        },
    };
    match search_down(eval, (last, base.knobs.duration_ms), &make) {
        Some(shorter) => {
            *best = shorter;
            true
        }
        None => false,
    }
}

/// Fewer brokers, partitions, producers and consumers, and no background packet loss.
pub fn shrink_knobs(eval: &mut Evaluator, best: &mut Candidate) -> bool {
    eval.status.0 = "smaller cluster";
    let moves = best.knobs.moves();
    sweep(eval, best, moves.len(), &|c, slot| {
        Some(Candidate {
            schedule: c.schedule.clone(),
            knobs: c.knobs.after(moves[slot])?,
        })
    })
}
