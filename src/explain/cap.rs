//! Keeps a story short. First a run of three or more similar steps (same group, neither
//! essential nor key) becomes its first step and one step standing for
//! the rest, told by the last of them ("…; the last of 3 more ISR changes since 4.100 s").
//! Then, while the story is longer than the cap, the least important step goes: the
//! lowest weight first, faults before outcomes, and the farthest (in events) from an
//! essential step first.

use super::Step;
use super::seconds;
use super::story::{Candidate, Group, Weight};

/// A step with what the cap needs to know about it.
struct Shown {
    step: Step,
    weight: Weight,
    /// Faults go before outcomes (elections, truncations) of the same weight.
    fault: bool,
    /// How many events of the story it stands for.
    stands_for: usize,
    /// Its history index.
    index: usize,
}

impl Shown {
    fn one(candidate: &Candidate) -> Shown {
        Shown {
            step: Step {
                time: candidate.time,
                event: Some(candidate.index),
                text: candidate.text.clone(),
            },
            weight: candidate.weight,
            fault: candidate.group == Group::Fault,
            stands_for: 1,
            index: candidate.index,
        }
    }
}

/// At most `max` steps of `story` (history order), and how many events were left out.
pub(super) fn cap(story: Vec<Candidate>, max: usize) -> (Vec<Step>, usize) {
    let mut shown = collapse(&story);
    let mut left_out = 0;
    while shown.len() > max {
        let Some(drop) = least_important(&shown) else {
            break;
        };
        left_out += shown.remove(drop).stands_for;
    }
    (shown.into_iter().map(|s| s.step).collect(), left_out)
}

/// Whether a candidate may be folded into a run of similar ones.
fn foldable(c: &Candidate) -> bool {
    matches!(c.weight, Weight::Context | Weight::Detail) && c.group != Group::Other
}

/// Runs of three or more similar foldable steps become two.
fn collapse(story: &[Candidate]) -> Vec<Shown> {
    let mut shown = Vec::new();
    let mut i = 0;
    while i < story.len() {
        let first = &story[i];
        let mut end = i + 1;
        while foldable(first)
            && end < story.len()
            && foldable(&story[end])
            && story[end].group == first.group
        {
            end += 1;
        }
        if end - i >= 3 {
            let (rest, last) = (end - i - 1, &story[end - 1]);
            let weight = story[i + 1..end].iter().map(|c| c.weight).min();
            shown.push(Shown::one(first));
            shown.push(Shown {
                step: Step {
                    time: last.time,
                    event: Some(last.index),
                    text: format!(
                        "{}; the last of {rest} more {} since {}",
                        last.text,
                        first.group.plural(),
                        seconds(story[i + 1].time)
                    ),
                },
                weight: weight.unwrap_or(first.weight),
                fault: first.group == Group::Fault,
                stands_for: rest,
                index: last.index,
            });
        } else {
            story[i..end].iter().for_each(|c| shown.push(Shown::one(c)));
        }
        i = end;
    }
    shown
}

/// The step to leave out next: the lowest weight, then a fault before an outcome (an
/// election says who leads and whether it has the message; the fault only why), then the
/// farthest from an essential step, then the latest. `None` when every step is essential.
fn least_important(shown: &[Shown]) -> Option<usize> {
    let essential: Vec<usize> = shown
        .iter()
        .filter(|s| s.weight == Weight::Essential)
        .map(|s| s.index)
        .collect();
    let distance = |index: usize| {
        essential
            .iter()
            .map(|e| e.abs_diff(index))
            .min()
            .unwrap_or(0)
    };
    shown
        .iter()
        .enumerate()
        .filter(|(_, s)| s.weight != Weight::Essential)
        .max_by_key(|(_, s)| (s.weight, s.fault, distance(s.index), s.index))
        .map(|(i, _)| i)
}
