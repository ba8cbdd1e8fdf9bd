//! One event in plain words, with the roles its brokers had just before it (the state the
//! story replayed): the controller's decisions and the replicas' own events here, faults
//! in `fault_words.rs`, client operations and the final state in `client_words.rs`.
//! Events of other partitions, and kinds the story rarely shows, use the history's own
//! one-line description.

use super::state::State;
use super::{Focus, client_words, fault_words};
use crate::history::{EventKind, History, TruncationReason, render_brokers};
use crate::types::{BrokerId, Offset, PartitionId};

/// Event `index` in words, given the state just before it.
pub(super) fn describe(history: &History, focus: &Focus, state: &State, index: usize) -> String {
    let kind = &history.events[index].kind;
    if let EventKind::Fault { description } = kind {
        return fault_words::fault(description, state, &focus.name);
    }
    partition_event(focus, state, kind)
        .or_else(|| replica_event(focus, state, kind))
        .unwrap_or_else(|| client_words::describe(history, focus, state, kind))
}

/// The controller's decisions on the focus partition, its truncations, and the finale.
fn partition_event(focus: &Focus, state: &State, kind: &EventKind) -> Option<String> {
    let on = |p: &PartitionId| focus.on(*p);
    Some(match kind {
        EventKind::LeaderElected {
            partition,
            leader,
            leader_epoch,
            isr,
            elr,
            unclean,
            ..
        } if on(partition) => {
            let members = members(isr, elr);
            let elected = Elected {
                leader: *leader,
                epoch: leader_epoch.0,
                members: &members,
                unclean: *unclean,
            };
            election(focus, state, &elected)
        }
        EventKind::IsrChanged {
            partition,
            isr,
            elr,
            ..
        } if on(partition) => isr_change(state, &focus.name, isr, elr),
        EventKind::Truncated {
            broker,
            partition,
            from_leo,
            to,
            reason,
            ..
        } if on(partition) => truncation(focus, state, *broker, (*from_leo, *to), *reason),
        EventKind::Phase { name } if name == "heal" => {
            "the workload ended; the finale healed the network and restarted and resumed every \
             stopped node"
                .to_string()
        }
        _ => return None,
    })
}

/// What a broker did with the focus partition's log.
fn replica_event(focus: &Focus, state: &State, kind: &EventKind) -> Option<String> {
    let name = focus.name.as_str();
    Some(match kind {
        EventKind::HwChanged {
            broker,
            partition,
            hw,
            covered,
        } if focus.on(*partition) => {
            let committed = covered
                .iter()
                .find(|(_, v)| Some(*v) == focus.value)
                .map(|(o, v)| format!(": {v} at offset {o} counted as committed"))
                .unwrap_or_default();
            let role = state.role(*broker, name);
            format!("{role} moved its high watermark of {name} to {hw}{committed}")
        }
        EventKind::LeaderAppended {
            broker,
            partition,
            leader_epoch,
            base_offset,
            values,
        } if focus.on(*partition) => {
            let at = focus
                .value
                .and_then(|v| values.iter().position(|x| *x == v));
            let what = match at {
                Some(i) => format!("{} at offset {}", values[i], base_offset.plus(i as u64)),
                None => format!("{} records from offset {base_offset}", values.len()),
            };
            let role = state.role(*broker, name);
            format!("{role} appended {what} in epoch {}", leader_epoch.0)
        }
        EventKind::ConsumerServed {
            broker,
            partition,
            from,
            count,
            hw,
            leo,
        } if focus.on(*partition) => format!(
            "{} handed a consumer {} of {name} while its high watermark was {hw} (log end {leo})",
            state.role(*broker, name),
            offsets(*from, *count)
        ),
        _ => return leadership_event(focus, state, kind),
    })
}

/// A leader's own view: proposing an ISR member, starting to lead.
fn leadership_event(focus: &Focus, state: &State, kind: &EventKind) -> Option<String> {
    let name = focus.name.as_str();
    Some(match kind {
        EventKind::IsrExpansion {
            broker,
            partition,
            follower,
            follower_leo,
            leso,
        } if focus.on(*partition) => {
            let below = if follower_leo < leso {
                format!(", below the start {leso} of the leader's epoch")
            } else {
                String::new()
            };
            format!(
                "{} asked the controller to add broker-{follower} to the ISR (its log ends at \
                 {follower_leo}{below})",
                state.role(*broker, name)
            )
        }
        EventKind::BecameLeader {
            broker,
            partition,
            leader_epoch,
            ..
        } if focus.on(*partition) => format!(
            "broker-{broker} began acting as leader of {name} in epoch {}",
            leader_epoch.0
        ),
        _ => return None,
    })
}

/// `offset 10` or `offsets 10-12`.
pub(super) fn offsets(from: Offset, count: u64) -> String {
    match count {
        0 => format!("no records at offset {from}"),
        1 => format!("offset {from}"),
        n => format!("offsets {from}-{}", from.0 + n - 1),
    }
}

/// `ISR [2, 3]`, with `, ELR [1]` when the ELR is not empty.
fn members(isr: &[BrokerId], elr: &[BrokerId]) -> String {
    let mut text = format!("ISR {}", render_brokers(isr));
    if !elr.is_empty() {
        text.push_str(&format!(", ELR {}", render_brokers(elr)));
    }
    text
}

/// What a `LeaderElected` event says.
struct Elected<'a> {
    leader: Option<BrokerId>,
    epoch: u32,
    members: &'a str,
    unclean: bool,
}

/// An election, with the leader it replaced and whether the new one has the focus
/// message.
fn election(focus: &Focus, state: &State, elected: &Elected) -> String {
    let Elected {
        leader,
        epoch,
        members,
        unclean,
    } = *elected;
    let name = focus.name.as_str();
    let Some(leader) = leader else {
        return format!(
            "{name} was left without a leader in epoch {epoch}: no replica of its ISR or ELR \
             could lead ({members})"
        );
    };
    let replacing = match state.leader {
        Some(old) if old != leader => format!(", replacing broker-{old}"),
        _ => String::new(),
    };
    let mut text = format!(
        "broker-{leader} was elected leader of {name} in epoch {epoch}{replacing} ({members})"
    );
    if unclean {
        text.push_str("; unclean: chosen from outside the ISR and ELR");
    }
    if let Some(v) = focus.value
        && state.ever_held
    {
        let has = if state.holds(leader) { "has" } else { "lacks" };
        text.push_str(&format!("; it {has} {v}"));
    }
    text
}

/// `a`, `a and b`, `a, b and c`.
pub(super) fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// `1 record`, `23 records`.
fn record_count(n: u64) -> String {
    if n == 1 {
        "1 record".to_string()
    } else {
        format!("{n} records")
    }
}

/// An ISR change: who dropped out and who caught up.
fn isr_change(state: &State, name: &str, isr: &[BrokerId], elr: &[BrokerId]) -> String {
    let listed = |brokers: &[BrokerId]| {
        let names: Vec<String> = brokers.iter().map(|b| format!("broker-{b}")).collect();
        and_list(&names)
    };
    let left: Vec<BrokerId> = state
        .isr
        .iter()
        .filter(|b| !isr.contains(b))
        .copied()
        .collect();
    let joined: Vec<BrokerId> = isr
        .iter()
        .filter(|b| !state.isr.contains(b))
        .copied()
        .collect();
    let isr_text = render_brokers(isr);
    let elr_changed = elr != state.elr.as_slice();
    let mut text = match (left.is_empty() || !state.isr_known, joined.is_empty()) {
        (true, true) if elr_changed => format!(
            "the ELR of {name} became {} (the ISR stayed {isr_text})",
            render_brokers(elr)
        ),
        (true, true) => format!("the ISR of {name} stayed {isr_text}"),
        (false, true) => format!(
            "the ISR of {name} shrank to {isr_text} ({} dropped out)",
            listed(&left)
        ),
        (true, false) if state.isr_known => format!(
            "the ISR of {name} grew to {isr_text} ({} caught up)",
            listed(&joined)
        ),
        (true, false) => format!("the ISR of {name} became {isr_text}"),
        (false, false) => format!(
            "the ISR of {name} changed to {isr_text} ({} dropped out, {} caught up)",
            listed(&left),
            listed(&joined)
        ),
    };
    if elr_changed && !(left.is_empty() && joined.is_empty()) {
        text.push_str(&format!(", ELR {}", render_brokers(elr)));
    }
    if let [only] = isr
        && state.isr.len() > 1
    {
        text.push_str(&format!(
            ": a write now needs only broker-{only} to be committed"
        ));
    }
    text
}

/// A truncation: how far, below which HW, why, and whether it cut the focus offset.
fn truncation(
    focus: &Focus,
    state: &State,
    broker: BrokerId,
    (from_leo, to): (Offset, Offset),
    reason: TruncationReason,
) -> String {
    let name = focus.name.as_str();
    let role = state.role(broker, name);
    let below = match state.hw.get(&broker) {
        Some(hw) if to < *hw => format!(", below its high watermark {hw}"),
        _ => String::new(),
    };
    let why = match reason {
        TruncationReason::DivergingEpoch => "its log had diverged from the new leader's",
        TruncationReason::HighWatermark => {
            "before KIP-101 a follower cut its log back to its high watermark"
        }
        TruncationReason::OffsetOutOfRange => "the leader's log was shorter than its own",
        TruncationReason::PowerLoss => "the power loss wiped records not yet flushed to disk",
        TruncationReason::DiskWipe => "its drive was replaced: it came back with an empty disk",
    };
    let cut = match (focus.value, state.holders.get(&broker)) {
        (Some(v), Some(at)) if *at >= to.0 => format!("; this removed {v} (offset {at})"),
        (Some(_), _) => String::new(),
        (None, _) => match focus.offset {
            Some(o) if to.0 <= o && o < from_leo.0 => format!("; this removed offset {o}"),
            _ => String::new(),
        },
    };
    format!(
        "{role} truncated its log of {name} from {} to {to}{below}: {why}{cut}",
        record_count(from_leo.0)
    )
}
