//! Which events make a violation's story: in its window (`window.rs`), the faults that
//! touch the partition's brokers, the controller or the clients (or the whole network),
//! the partition's elections, ISR changes and truncations, the HW move that first covered
//! the message, the leader append of a message that was read, and the start of the
//! finale. Before the window: the faults still in effect when it opens and the
//! partition's latest election or ISR change. Every evidence event is in, whenever it
//! happened.

use super::state::State;
use super::{Focus, window, words};
use crate::availability::active::Active;
use crate::fault_mark::{self, FaultMark};
use crate::history::{EventKind, History};
use crate::types::{NodeId, SimTime};
use crate::violation::ViolationKind;

/// How much a step matters to the story; the cap leaves out the last kinds first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Weight {
    /// Evidence the checker chose (except faults, which it cites as a guess), and the
    /// event at which the last copy of the message went: always shown.
    Essential,
    /// What stopped, cut or replaced data: crashes and cuts of the leader or of a replica
    /// holding the message, elections while one holds it, unclean elections, truncations
    /// that removed it, the HW that covered it, the leadership in effect when the window
    /// opened, the finale.
    Key,
    /// Clean elections, restarts, heals, an ISR shrinking to one, other truncations.
    Context,
    /// Other ISR changes, packet loss and latency.
    Detail,
}

/// Which steps count as similar when a run of them collapses into one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Group {
    /// `Fault` events.
    Fault,
    /// Leader elections.
    Election,
    /// ISR changes.
    Isr,
    /// Truncations.
    Truncation,
    /// Anything else.
    Other,
}

impl Group {
    /// `3 more ISR changes`.
    pub fn plural(self) -> &'static str {
        match self {
            Group::Fault => "faults",
            Group::Election => "leader elections",
            Group::Isr => "ISR changes",
            Group::Truncation => "truncations",
            Group::Other => "events",
        }
    }
}

/// One event of the story, in words.
#[derive(Clone, Debug)]
pub(super) struct Candidate {
    /// Its index in the history.
    pub index: usize,
    /// When it happened.
    pub time: SimTime,
    /// How much it matters.
    pub weight: Weight,
    /// What it is similar to.
    pub group: Group,
    /// What happened.
    pub text: String,
}

/// The story of `focus`, in history order, before any cap.
pub(super) fn gather(history: &History, focus: &Focus) -> Vec<Candidate> {
    let (window, gone) = match window::of(history, focus) {
        Some(window) => (Some((window.start, window.end)), window.gone),
        None => (None, None),
    };
    let last = focus
        .evidence
        .last()
        .copied()
        .max(window.map(|(_, end)| end));
    let Some(last) = last else {
        return Vec::new();
    };
    let mut state = State::new(history, focus);
    let mut lead_in = LeadIn::default();
    let mut seen = Seen::default();
    let mut story = Vec::new();
    for (index, event) in history.events.iter().enumerate().take(last + 1) {
        let before = window.is_some_and(|(start, _)| index < start);
        let started = before && lead_in.observe(index, &event.kind);
        let evidence = focus.evidence.binary_search(&index).is_ok();
        let pick = if let (true, EventKind::Fault { description }) = (evidence, &event.kind) {
            // Checkers cite the latest fault before a cut as a guess at its cause.
            let weight = fault_weight(description, &state, focus).unwrap_or(Weight::Context);
            Some((weight.min(Weight::Context), Group::Fault))
        } else if evidence || gone == Some(index) {
            Some((Weight::Essential, group(&event.kind)))
        } else if before {
            LeadIn::pick(&event.kind, started, focus, &state)
        } else if window.is_some_and(|(_, end)| index <= end) {
            pick(&event.kind, focus, &state, &mut seen)
        } else {
            None
        };
        if let Some((weight, group)) = pick {
            let candidate = Candidate {
                index,
                time: event.time,
                weight,
                group,
                text: words::describe(history, focus, &state, index),
            };
            if before && weight != Weight::Essential {
                lead_in.keep(candidate);
            } else {
                story.push(candidate);
            }
        }
        state.apply(&event.kind, focus);
        if window.is_some_and(|(start, _)| index + 1 == start) {
            story.extend(lead_in.finish());
        }
    }
    story.sort_by_key(|c| c.index);
    story
}

/// Records of the state after the finale, and run phases.
pub(super) fn is_final(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::FinalReplica { .. } | EventKind::FinalPartition { .. } | EventKind::Phase { .. }
    )
}

/// The group of any event.
fn group(kind: &EventKind) -> Group {
    match kind {
        EventKind::Fault { .. } => Group::Fault,
        EventKind::LeaderElected { .. } => Group::Election,
        EventKind::IsrChanged { .. } => Group::Isr,
        EventKind::Truncated { .. } => Group::Truncation,
        _ => Group::Other,
    }
}

/// What the window has already shown once.
#[derive(Default)]
struct Seen {
    /// The HW move that first covered the focus message.
    covered: bool,
    /// The first leader append of the focus message.
    appended: bool,
}

/// Whether an event inside the window is part of the story, and how much it matters.
fn pick(
    kind: &EventKind,
    focus: &Focus,
    state: &State,
    seen: &mut Seen,
) -> Option<(Weight, Group)> {
    let weight = match kind {
        EventKind::Fault { description } => fault_weight(description, state, focus)?,
        EventKind::LeaderElected {
            partition,
            leader,
            unclean,
            ..
        } if focus.on(*partition) => {
            // While replicas hold the message, every new leader decides its fate.
            if *unclean || leader.is_none() || !state.holders.is_empty() {
                Weight::Key
            } else {
                Weight::Context
            }
        }
        EventKind::IsrChanged {
            partition,
            isr,
            elr,
            ..
        } if focus.on(*partition) => {
            if state.isr_known && *isr == state.isr && *elr == state.elr {
                return None;
            }
            if isr.len() == 1 && isr.len() < state.isr.len() {
                Weight::Context
            } else {
                Weight::Detail
            }
        }
        EventKind::Phase { name } if name == "heal" => Weight::Key,
        _ => replica_weight(kind, focus, state, seen)?,
    };
    Some((weight, group(kind)))
}

/// How much a replica's event matters: a truncation (key when it removed the message),
/// the HW move that first covered the message, the first leader append of a message that
/// was read.
fn replica_weight(
    kind: &EventKind,
    focus: &Focus,
    state: &State,
    seen: &mut Seen,
) -> Option<Weight> {
    Some(match kind {
        EventKind::Truncated {
            broker,
            partition,
            from_leo,
            to,
            ..
        } if focus.on(*partition) => {
            let removes = match focus.value {
                Some(_) => state.holders.get(broker).is_some_and(|at| *at >= to.0),
                None => focus.offset.is_some_and(|o| to.0 <= o && o < from_leo.0),
            };
            // Committed records cut matter in their own right only when the story is
            // not about one message.
            let below_hw = state.hw.get(broker).is_some_and(|hw| *to < *hw);
            if removes || (below_hw && focus.value.is_none()) {
                Weight::Key
            } else {
                Weight::Context
            }
        }
        EventKind::HwChanged {
            partition, covered, ..
        } if focus.on(*partition)
            && !seen.covered
            && covered.iter().any(|(_, v)| Some(*v) == focus.value) =>
        {
            seen.covered = true;
            Weight::Key
        }
        EventKind::LeaderAppended {
            partition, values, ..
        } if focus.on(*partition)
            && focus.kind != ViolationKind::LostWrite
            && !seen.appended
            && focus.value.is_some_and(|v| values.contains(&v)) =>
        {
            seen.appended = true;
            Weight::Key
        }
        _ => return None,
    })
}

/// How much a fault matters, or `None` when it touches only brokers that host no replica
/// of the partition. It is key when it stops or cuts off the leader or a broker holding
/// the focus message; before the message is in any log a fault can only delay its send.
fn fault_weight(description: &str, state: &State, focus: &Focus) -> Option<Weight> {
    let Some(mark) = fault_mark::parse(description) else {
        return Some(Weight::Context);
    };
    let hosted = |n: &NodeId| match n {
        NodeId::Broker(b) => state.hosts.is_empty() || state.hosts.contains(b),
        _ => true,
    };
    let matters = |n: &NodeId| match n {
        NodeId::Broker(b) => state.running_leader() == Some(*b) || state.holds(*b),
        _ => false,
    };
    let weight = match &mark {
        FaultMark::Crash(n)
        | FaultMark::PowerLoss(n)
        | FaultMark::DiskWipe(n)
        | FaultMark::Pause(n)
        | FaultMark::Isolate(n) => {
            if !n.iter().any(hosted) {
                return None;
            }
            if n.iter().any(matters) {
                Weight::Key
            } else {
                Weight::Context
            }
        }
        FaultMark::Restart(n) | FaultMark::Resume(n) => {
            if !n.iter().any(hosted) {
                return None;
            }
            Weight::Context
        }
        FaultMark::Partition(groups) if cuts_leader_off(groups, state) => Weight::Key,
        FaultMark::Partition(_) | FaultMark::Heal => Weight::Context,
        FaultMark::PacketLoss(_) | FaultMark::Latency(..) => Weight::Detail,
    };
    if focus.value.is_some() && !state.ever_held {
        return Some(weight.max(Weight::Context));
    }
    Some(weight)
}

/// Whether a partition puts the leader on another side than the controller, or a broker
/// holding the focus message on another side than the leader.
fn cuts_leader_off(groups: &[Vec<NodeId>], state: &State) -> bool {
    let side = |node: NodeId| groups.iter().position(|g| g.contains(&node));
    let Some(leader) = state.running_leader() else {
        return false;
    };
    let leader_side = side(NodeId::Broker(leader));
    leader_side != side(NodeId::CONTROLLER)
        || state
            .holders
            .keys()
            .any(|b| side(NodeId::Broker(*b)) != leader_side)
}

/// What happened before the window that still shapes it: the faults in effect when it
/// opens and the partition's latest election or ISR change.
#[derive(Default)]
struct LeadIn {
    /// Replays the faults, to know which are still in effect.
    active: Active,
    /// Every relevant fault start so far, in words.
    faults: Vec<Candidate>,
    /// The latest election or ISR change of the partition, in words.
    leadership: Option<Candidate>,
}

impl LeadIn {
    /// Replays a fault before the window; whether it started one.
    fn observe(&mut self, index: usize, kind: &EventKind) -> bool {
        let EventKind::Fault { description } = kind else {
            return false;
        };
        self.active
            .apply(index, fault_mark::parse(description).as_ref())
    }

    /// Whether an event before the window might be kept: a fault that `started` one, or
    /// an election or ISR change of the partition (kept only if still in effect when the
    /// window opens).
    fn pick(
        kind: &EventKind,
        started: bool,
        focus: &Focus,
        state: &State,
    ) -> Option<(Weight, Group)> {
        match kind {
            EventKind::Fault { description } if started => {
                Some((fault_weight(description, state, focus)?, Group::Fault))
            }
            EventKind::LeaderElected { partition, .. }
            | EventKind::IsrChanged { partition, .. }
                if focus.on(*partition) =>
            {
                Some((Weight::Key, group(kind)))
            }
            _ => None,
        }
    }

    /// Keeps a candidate picked before the window.
    fn keep(&mut self, candidate: Candidate) {
        if candidate.group == Group::Fault {
            self.faults.push(candidate);
        } else {
            self.leadership = Some(candidate);
        }
    }

    /// The lead-in steps, once the window opens.
    fn finish(&mut self) -> Vec<Candidate> {
        let active = &self.active.starts;
        let mut kept: Vec<Candidate> = std::mem::take(&mut self.faults)
            .into_iter()
            .filter(|c| active.contains(&c.index))
            .collect();
        kept.extend(self.leadership.take());
        kept
    }
}
