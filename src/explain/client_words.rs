//! Client operations and the final state in words: sends, acknowledgements (with the
//! broker that appended the message, and whether the controller had deposed it), reads,
//! and what the final log holds of the focus message.

use super::Focus;
use super::state::State;
use super::words::offsets;
use crate::history::{EventKind, History};
use crate::types::{MessageId, PartitionId};
use crate::violation::ViolationKind;

/// Sends, reads and the final state, in words; anything else as the history describes it.
pub(super) fn describe(
    history: &History,
    focus: &Focus,
    state: &State,
    kind: &EventKind,
) -> String {
    let part = |p: &PartitionId| crate::checkers::partition_name(history, *p);
    match kind {
        EventKind::SendInvoke {
            producer,
            partition,
            value,
        } => format!("producer-{producer} sent {value} to {}", part(partition)),
        EventKind::SendOk {
            producer,
            partition,
            value,
            offset,
            ..
        } => {
            let by = if focus.on(*partition) && focus.value == Some(*value) {
                appended_by(state, &focus.name)
            } else {
                String::new()
            };
            format!(
                "producer-{producer}'s write {value} was acknowledged at offset {offset} of {}{by}",
                part(partition)
            )
        }
        EventKind::SendFail {
            producer,
            partition,
            value,
            error,
        } => format!(
            "producer-{producer}'s send of {value} to {} failed for certain ({error}): it must \
             never become visible",
            part(partition)
        ),
        EventKind::Poll {
            consumer,
            partition,
            records,
            ..
        } => {
            let what = match records.iter().find(|(_, v)| Some(*v) == focus.value) {
                Some((o, v)) => format!("{v} at offset {o}"),
                None => match (records.first(), records.last()) {
                    (Some((first, _)), Some((last, _))) => offsets(*first, last.0 + 1 - first.0),
                    _ => "nothing".to_string(),
                },
            };
            format!("consumer-{consumer} read {what} of {}", part(partition))
        }
        _ => final_state(history, focus, kind),
    }
}

/// The final state after the finale, in words.
fn final_state(history: &History, focus: &Focus, kind: &EventKind) -> String {
    let part = |p: &PartitionId| crate::checkers::partition_name(history, *p);
    match kind {
        EventKind::FinalPartition {
            partition,
            leader,
            hw,
            records,
        } => {
            let leader = leader
                .map(|b| format!(", led by broker-{b},"))
                .unwrap_or_default();
            let detail = if focus.on(*partition) {
                final_detail(focus, records)
            } else {
                String::new()
            };
            format!(
                "after the finale the committed log of {}{leader} ended at offset {hw}{detail}",
                part(partition)
            )
        }
        EventKind::FinalReplica {
            broker,
            partition,
            hw,
            records,
        } => format!(
            "after the finale broker-{broker}'s log of {} had {} records, high watermark {hw}",
            part(partition),
            records.len()
        ),
        _ => history.describe(kind),
    }
}

/// `, appended by broker-2 as leader in epoch 3`, and whether the controller had named
/// another leader since.
fn appended_by(state: &State, name: &str) -> String {
    let Some((broker, epoch)) = state.appended else {
        return String::new();
    };
    let mut text = format!(
        ", appended by broker-{broker} as leader in epoch {}",
        epoch.0
    );
    match (state.leader, state.epoch) {
        (Some(leader), Some(now)) if now > epoch && leader != broker => text.push_str(&format!(
            ", although the controller had since made broker-{leader} leader of {name} in \
             epoch {}",
            now.0
        )),
        (None, Some(now)) if now > epoch => text.push_str(&format!(
            ", although the controller had since left {name} without a leader (epoch {})",
            now.0
        )),
        _ => {}
    }
    text
}

/// What the final log shows about the focus message or offset.
fn final_detail(focus: &Focus, records: &[MessageId]) -> String {
    let held = |o: u64| usize::try_from(o).ok().and_then(|i| records.get(i));
    let value_at: Vec<String> = focus
        .value
        .map(|v| {
            let at = records.iter().enumerate().filter(|(_, x)| **x == v);
            at.map(|(o, _)| o.to_string()).collect()
        })
        .unwrap_or_default();
    match (focus.kind, focus.value, focus.offset) {
        (ViolationKind::LostWrite, Some(v), _) if value_at.is_empty() => format!(", without {v}"),
        (ViolationKind::UncommittedRead, Some(v), Some(o)) => match held(o) {
            Some(other) if *other != v => format!(", holding {other} at offset {o} instead of {v}"),
            Some(_) => String::new(),
            None => format!(", below offset {o}, so {v} is not in it"),
        },
        (_, Some(v), _) if !value_at.is_empty() => {
            format!(", holding {v} at offset {}", value_at.join(" and "))
        }
        _ => String::new(),
    }
}
