//! The client-visible history as JSON Lines (`run --history FILE`), in the format of the
//! contract (scenario-format.md, "History export"), so that an independent checker can
//! verify a run without our code.
//!
//! One object per line: every send invoke and completion (`ok` with `offset`, `fail` or
//! `info` with `error`) and every consumer poll, in history order; then one `final` line
//! per partition with its committed log. Field order is the declaration order of the
//! structs below (serde_json without `preserve_order` keeps it for structs).

use serde::Serialize;

use crate::group_event::GroupEvent;
use crate::history::{EventKind, History};
use crate::types::{MessageId, Offset, PartitionId};

/// A send invocation or completion.
#[derive(Serialize)]
struct SendLine<'a> {
    time_ms: u64,
    process: String,
    #[serde(rename = "type")]
    kind: &'static str,
    f: &'static str,
    partition: String,
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// A consumer poll.
#[derive(Serialize)]
struct PollLine {
    time_ms: u64,
    process: String,
    #[serde(rename = "type")]
    kind: &'static str,
    f: &'static str,
    partition: String,
    records: Vec<(u64, String)>,
}

/// A partition's committed log after the final convergence.
#[derive(Serialize)]
struct FinalLine {
    #[serde(rename = "type")]
    kind: &'static str,
    partition: String,
    leader: Option<u8>,
    high_watermark: u64,
    records: Vec<(u64, String)>,
}

/// A group member's assignment (`f: assign`).
#[derive(Serialize)]
struct AssignLine {
    time_ms: u64,
    process: String,
    #[serde(rename = "type")]
    kind: &'static str,
    f: &'static str,
    group: String,
    generation: u32,
    partitions: Vec<String>,
    positions: std::collections::BTreeMap<String, u64>,
}

/// A group member's poll or processing (`f: poll` with `group`, `f: process`).
#[derive(Serialize)]
struct MemberRecordsLine {
    time_ms: u64,
    process: String,
    #[serde(rename = "type")]
    kind: &'static str,
    f: &'static str,
    group: String,
    partition: String,
    records: Vec<(u64, String)>,
}

/// A group member's commit outcome.
#[derive(Serialize)]
struct CommitLine {
    time_ms: u64,
    process: String,
    #[serde(rename = "type")]
    kind: &'static str,
    f: &'static str,
    group: String,
    partition: String,
    offset: u64,
}

/// A group's committed offsets after the finale.
#[derive(Serialize)]
struct FinalOffsetsLine {
    #[serde(rename = "type")]
    kind: &'static str,
    group: String,
    offsets: std::collections::BTreeMap<String, u64>,
}

/// The contract's line for a group event, if it has one (`None`: trace only).
fn group_line(history: &History, time_ms: u64, event: &GroupEvent) -> Option<String> {
    let records =
        |rs: &[(Offset, MessageId)]| rs.iter().map(|(o, v)| (o.0, v.to_string())).collect();
    Some(match event {
        GroupEvent::Assign {
            member,
            group,
            generation,
            positions,
        } => to_line(&AssignLine {
            time_ms,
            process: member.to_string(),
            kind: "ok",
            f: "assign",
            group: group.to_string(),
            generation: *generation,
            partitions: positions.iter().map(|(p, _)| name(history, *p)).collect(),
            positions: positions
                .iter()
                .map(|(p, o)| (name(history, *p), o.0))
                .collect(),
        }),
        GroupEvent::Poll {
            member,
            group,
            partition,
            records: rs,
            ..
        }
        | GroupEvent::Process {
            member,
            group,
            partition,
            records: rs,
        } => to_line(&MemberRecordsLine {
            time_ms,
            process: member.to_string(),
            kind: "ok",
            f: if matches!(event, GroupEvent::Poll { .. }) {
                "poll"
            } else {
                "process"
            },
            group: group.to_string(),
            partition: name(history, *partition),
            records: records(rs),
        }),
        GroupEvent::Commit {
            member,
            group,
            partition,
            offset,
            outcome,
        } => to_line(&CommitLine {
            time_ms,
            process: member.to_string(),
            kind: outcome.as_str(),
            f: "commit",
            group: group.to_string(),
            partition: name(history, *partition),
            offset: offset.0,
        }),
        _ => return None,
    })
}

/// The history as JSON Lines, each line terminated by `\n`. The same history always gives
/// the same text.
pub fn history_jsonl(history: &History) -> String {
    let mut out = String::new();
    let mut finals = Vec::new();
    for event in &history.events {
        let time_ms = event.time.as_ms();
        let line = match &event.kind {
            EventKind::SendInvoke {
                producer,
                partition,
                value,
            } => send(
                history, time_ms, *producer, "invoke", *partition, *value, None, None,
            ),
            EventKind::SendOk {
                producer,
                partition,
                value,
                offset,
                ..
            } => send(
                history,
                time_ms,
                *producer,
                "ok",
                *partition,
                *value,
                Some(*offset),
                None,
            ),
            EventKind::SendFail {
                producer,
                partition,
                value,
                error,
            } => send(
                history,
                time_ms,
                *producer,
                "fail",
                *partition,
                *value,
                None,
                Some(error),
            ),
            EventKind::SendInfo {
                producer,
                partition,
                value,
                error,
            } => send(
                history,
                time_ms,
                *producer,
                "info",
                *partition,
                *value,
                None,
                Some(error),
            ),
            EventKind::Poll {
                consumer,
                partition,
                records,
                ..
            } => to_line(&PollLine {
                time_ms,
                process: format!("consumer-{consumer}"),
                kind: "ok",
                f: "poll",
                partition: name(history, *partition),
                records: records.iter().map(|(o, v)| (o.0, v.to_string())).collect(),
            }),
            EventKind::Group(GroupEvent::FinalOffsets { group, offsets }) => {
                finals.push(to_line(&FinalOffsetsLine {
                    kind: "final-offsets",
                    group: group.to_string(),
                    offsets: offsets
                        .iter()
                        .map(|(p, o)| (name(history, *p), o.0))
                        .collect(),
                }));
                continue;
            }
            EventKind::Group(event) => match group_line(history, time_ms, event) {
                Some(line) => line,
                None => continue,
            },
            EventKind::FinalPartition { partition, .. }
                if name(history, *partition).starts_with(crate::layout::OFFSETS_TOPIC) =>
            {
                continue; // internal: no client sends to or reads it
            }
            EventKind::FinalPartition {
                partition,
                leader,
                hw,
                records,
            } => {
                finals.push(to_line(&FinalLine {
                    kind: "final",
                    partition: name(history, *partition),
                    leader: leader.map(|b| b.0),
                    high_watermark: hw.0,
                    records: records
                        .iter()
                        .enumerate()
                        .map(|(o, v)| (o as u64, v.to_string()))
                        .collect(),
                }));
                continue;
            }
            _ => continue,
        };
        out.push_str(&line);
        out.push('\n');
    }
    for line in finals {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[allow(clippy::too_many_arguments)] // one line's fields, each named at the call
fn send(
    history: &History,
    time_ms: u64,
    producer: u8,
    kind: &'static str,
    partition: PartitionId,
    value: MessageId,
    offset: Option<Offset>,
    error: Option<&str>,
) -> String {
    to_line(&SendLine {
        time_ms,
        process: format!("producer-{producer}"),
        kind,
        f: "send",
        partition: name(history, partition),
        value: value.to_string(),
        offset: offset.map(|o| o.0),
        error,
    })
}

fn to_line<T: Serialize>(line: &T) -> String {
    // Plain structs of strings and integers cannot fail to serialize.
    serde_json::to_string(line).expect("history line serializes")
}

/// The partition's name; an id the history does not name still gets one (no panic).
fn name(history: &History, partition: PartitionId) -> String {
    match history.partition_names.get(usize::from(partition.0)) {
        Some(name) => name.clone(),
        None => format!("partition-{}", partition.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::TruncationReason;
    use crate::types::{BrokerId, SimTime};

    fn m(producer: u8, index: u32) -> MessageId {
        MessageId { producer, index }
    }

    #[test]
    fn exports_the_client_visible_events_then_the_final_logs() {
        let (p0, p1) = (PartitionId(0), PartitionId(1));
        let mut h = History::new(vec!["events-0".into(), "events-1".into()]);
        let at = |h: &mut History, us: u64, kind| h.push(SimTime(us), kind);
        at(
            &mut h,
            12_400,
            EventKind::SendInvoke {
                producer: 1,
                partition: p0,
                value: m(1, 17),
            },
        );
        at(
            &mut h,
            13_000,
            EventKind::Fault {
                description: "crash broker-2".into(),
            },
        );
        at(
            &mut h,
            14_000,
            EventKind::SendOk {
                producer: 1,
                partition: p0,
                value: m(1, 17),
                offset: Offset(0),
                broker: crate::types::BrokerId(1),
                sent_at: crate::types::SimTime::ZERO,
            },
        );
        at(
            &mut h,
            15_000,
            EventKind::SendInvoke {
                producer: 2,
                partition: p1,
                value: m(2, 0),
            },
        );
        let error = "NOT_ENOUGH_REPLICAS".to_string();
        at(
            &mut h,
            16_000,
            EventKind::SendFail {
                producer: 2,
                partition: p1,
                value: m(2, 0),
                error,
            },
        );
        at(
            &mut h,
            17_000,
            EventKind::SendInvoke {
                producer: 2,
                partition: p1,
                value: m(2, 1),
            },
        );
        let error = "REQUEST_TIMED_OUT".to_string();
        at(
            &mut h,
            18_000,
            EventKind::SendInfo {
                producer: 2,
                partition: p1,
                value: m(2, 1),
                error,
            },
        );
        let records = vec![(Offset(0), m(1, 17))];
        at(
            &mut h,
            20_000,
            EventKind::Poll {
                consumer: 1,
                partition: p0,
                records,
                broker: crate::types::BrokerId(1),
                sent_at: crate::types::SimTime::ZERO,
            },
        );
        let (from_leo, to, hw, reason) =
            (Offset(1), Offset(0), Offset(0), TruncationReason::PowerLoss);
        at(
            &mut h,
            21_000,
            EventKind::Truncated {
                broker: BrokerId(3),
                partition: p1,
                from_leo,
                to,
                hw,
                reason,
            },
        );
        let records = vec![m(1, 17)];
        at(
            &mut h,
            30_000,
            EventKind::FinalPartition {
                partition: p0,
                leader: Some(BrokerId(2)),
                hw: Offset(1),
                records,
            },
        );
        at(
            &mut h,
            30_000,
            EventKind::FinalPartition {
                partition: p1,
                leader: None,
                hw: Offset(0),
                records: vec![],
            },
        );
        let expected = [
            r#"{"time_ms":12,"process":"producer-1","type":"invoke","f":"send","partition":"events-0","value":"p1-17"}"#,
            r#"{"time_ms":14,"process":"producer-1","type":"ok","f":"send","partition":"events-0","value":"p1-17","offset":0}"#,
            r#"{"time_ms":15,"process":"producer-2","type":"invoke","f":"send","partition":"events-1","value":"p2-0"}"#,
            r#"{"time_ms":16,"process":"producer-2","type":"fail","f":"send","partition":"events-1","value":"p2-0","error":"NOT_ENOUGH_REPLICAS"}"#,
            r#"{"time_ms":17,"process":"producer-2","type":"invoke","f":"send","partition":"events-1","value":"p2-1"}"#,
            r#"{"time_ms":18,"process":"producer-2","type":"info","f":"send","partition":"events-1","value":"p2-1","error":"REQUEST_TIMED_OUT"}"#,
            r#"{"time_ms":20,"process":"consumer-1","type":"ok","f":"poll","partition":"events-0","records":[[0,"p1-17"]]}"#,
            r#"{"type":"final","partition":"events-0","leader":2,"high_watermark":1,"records":[[0,"p1-17"]]}"#,
            r#"{"type":"final","partition":"events-1","leader":null,"high_watermark":0,"records":[]}"#,
        ];
        let text = history_jsonl(&h);
        assert_eq!(text, expected.join("\n") + "\n");
        for line in text.lines() {
            serde_json::from_str::<serde_json::Value>(line).expect("every line is JSON");
        }
    }

    #[test]
    fn an_empty_history_exports_nothing() {
        assert_eq!(history_jsonl(&History::new(vec!["t-0".into()])), "");
    }
}
