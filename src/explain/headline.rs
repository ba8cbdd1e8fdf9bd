//! The headline: one sentence saying what went wrong. Lost writes and the reads that
//! should not have happened are told from their evidence events; every other kind uses
//! the checker's own sentence, which is already in plain words.

use super::{Focus, seconds};
use crate::history::{Event, EventKind, History};
use crate::types::MessageId;
use crate::violation::{Violation, ViolationKind};

/// The headline of `violation`.
pub(super) fn of(history: &History, violation: &Violation, focus: &Focus) -> String {
    let told = match focus.kind {
        ViolationKind::LostWrite => lost_write(history, focus),
        ViolationKind::UncommittedRead => uncommitted_read(history, focus),
        ViolationKind::AbortedRead => aborted_read(history, focus),
        ViolationKind::ReadAboveHw => read_above_hw(history, focus),
        _ => None,
    };
    told.unwrap_or_else(|| sentence(&violation.message, focus))
}

/// The checker's message as a sentence.
fn sentence(message: &str, focus: &Focus) -> String {
    let text = message.trim().trim_end_matches('.');
    if text.is_empty() {
        format!("{} on {}.", focus.kind, focus.name)
    } else {
        format!("{text}.")
    }
}

/// The focus's evidence events, with their indices.
fn evidence<'a>(history: &'a History, focus: &'a Focus) -> impl Iterator<Item = &'a Event> + 'a {
    focus.evidence.iter().map(|i| &history.events[*i])
}

/// The final committed log of the focus partition, if it is evidence.
fn final_log<'a>(history: &'a History, focus: &'a Focus) -> Option<&'a [MessageId]> {
    evidence(history, focus).find_map(|e| match &e.kind {
        EventKind::FinalPartition {
            partition, records, ..
        } if focus.on(*partition) => Some(records.as_slice()),
        _ => None,
    })
}

/// `producer-1's write p1-17, acknowledged at 2.410 s at offset 41 of events-0, is missing
/// from the final log.`
fn lost_write(history: &History, focus: &Focus) -> Option<String> {
    let value = focus.value?;
    evidence(history, focus).find_map(|e| match &e.kind {
        EventKind::SendOk {
            producer,
            partition,
            value: v,
            offset,
            ..
        } if focus.on(*partition) && *v == value => Some(format!(
            "producer-{producer}'s write {value}, acknowledged at {} at offset {offset} of {}, \
             is missing from the final log.",
            seconds(e.time),
            focus.name
        )),
        _ => None,
    })
}

/// `consumer-1 read p1-5 at offset 5 of events-0 at 3.100 s, but the final log holds p2-0
/// there.` (It may have been committed for a while: a read is wrong when the record does
/// not stay.)
fn uncommitted_read(history: &History, focus: &Focus) -> Option<String> {
    let (value, offset) = (focus.value?, focus.offset?);
    let there = match final_log(history, focus) {
        Some(records) => match usize::try_from(offset).ok().and_then(|i| records.get(i)) {
            Some(other) => format!("the final log holds {other} there"),
            None => format!("the final log ends at offset {}", records.len()),
        },
        None => "it is not in the final log".to_string(),
    };
    evidence(history, focus).find_map(|e| match &e.kind {
        EventKind::Poll {
            consumer,
            partition,
            records,
            ..
        } if focus.on(*partition) && records.iter().any(|(o, v)| o.0 == offset && *v == value) => {
            Some(format!(
                "consumer-{consumer} read {value} at offset {offset} of {} at {}, but {there}.",
                focus.name,
                seconds(e.time)
            ))
        }
        _ => None,
    })
}

/// `producer-1's send of p1-5 to events-0 failed for certain at 2.000 s
/// (NOT_ENOUGH_REPLICAS), yet consumer-1 read it at offset 5 of events-0 at 2.500 s.`
fn aborted_read(history: &History, focus: &Focus) -> Option<String> {
    let value = focus.value?;
    let (failed_at, producer, error) = evidence(history, focus).find_map(|e| match &e.kind {
        EventKind::SendFail {
            producer,
            value: v,
            error,
            ..
        } if *v == value => Some((e.time, *producer, error.as_str())),
        _ => None,
    })?;
    let seen = evidence(history, focus).find_map(|e| match &e.kind {
        EventKind::Poll {
            consumer,
            partition,
            records,
            ..
        } => records.iter().find(|(_, v)| *v == value).map(|(o, _)| {
            let name = crate::checkers::partition_name(history, *partition);
            format!(
                "consumer-{consumer} read it at offset {o} of {name} at {}",
                seconds(e.time)
            )
        }),
        EventKind::FinalPartition {
            partition, records, ..
        } => records.iter().position(|v| *v == value).map(|o| {
            let name = crate::checkers::partition_name(history, *partition);
            format!("the final log of {name} holds it at offset {o}")
        }),
        _ => None,
    })?;
    Some(format!(
        "producer-{producer}'s send of {value} to {} failed for certain at {} ({error}), yet \
         {seen}.",
        focus.name,
        seconds(failed_at)
    ))
}

/// `broker-1 handed a consumer offsets 10-11 of events-0 at 3.000 s while its high
/// watermark was 10: records that were not yet committed.`
fn read_above_hw(history: &History, focus: &Focus) -> Option<String> {
    evidence(history, focus).find_map(|e| match &e.kind {
        EventKind::ConsumerServed {
            broker,
            partition,
            from,
            count,
            hw,
            ..
        } if focus.on(*partition) => Some(format!(
            "broker-{broker} handed a consumer {} of {} at {} while its high watermark was \
             {hw}: records that were not yet committed.",
            super::words::offsets(*from, *count),
            focus.name,
            seconds(e.time)
        )),
        _ => None,
    })
}
