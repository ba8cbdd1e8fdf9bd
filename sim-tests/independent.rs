//! An independent black-box checker: reads only the exported JSON Lines history
//! (scenario-format.md, "History export") and none of kafkasim's types, so that a bug
//! shared by the simulator and its own checkers cannot hide a violation.
//!
//! It finds `lost-write`, `uncommitted-read`, `aborted-read` and `inconsistent-offsets`
//! (standalone consumers' polls), and `group-lost` from the consumer-group lines: a record
//! of a final log at or above where the group's first owner of that partition started
//! (its first `assign` line) that no member of the group ever processed.
//! A line it cannot read (not JSON, or missing a field it needs) adds the kind
//! `malformed-history` instead of panicking, so that a broken export fails loudly.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// Everything the checker needs from the file.
#[derive(Default)]
struct Observations {
    /// (partition, value, offset) of every `ok` send.
    acked: Vec<(String, String, u64)>,
    /// Values whose send definitely failed.
    failed: BTreeSet<String>,
    /// (partition, offset, value) of every polled record.
    read: Vec<(String, u64, String)>,
    /// Per partition with a `final` line: offset -> value.
    finals: BTreeMap<String, BTreeMap<u64, String>>,
    /// Per (group, partition): where its first owner started.
    group_starts: BTreeMap<(String, String), u64>,
    /// (group, partition, offset, value) of every processed record.
    processed: BTreeSet<(String, String, u64, String)>,
    malformed: bool,
}

/// The violation kinds found in a history export.
pub fn violation_kinds(jsonl: &str) -> BTreeSet<String> {
    let mut seen = Observations::default();
    for line in jsonl.lines().filter(|l| !l.trim().is_empty()) {
        let parsed = serde_json::from_str::<Value>(line).ok();
        if parsed
            .as_ref()
            .and_then(|v| observe(v, &mut seen))
            .is_none()
        {
            seen.malformed = true;
        }
    }
    judge(&seen)
}

/// Records one line; `None` when a needed field is missing or has the wrong type.
fn observe(line: &Value, seen: &mut Observations) -> Option<()> {
    let text = |field: &str| line.get(field).and_then(Value::as_str).map(str::to_string);
    let kind = text("type")?;
    if kind == "final-offsets" {
        text("group")?;
        return line.get("offsets")?.as_object().map(|_| ());
    }
    if let Some(group) = text("group") {
        return observe_group(line, &group, &kind, seen);
    }
    if kind == "final" {
        let records = records(line.get("records")?)?;
        seen.finals
            .insert(text("partition")?, records.into_iter().collect());
        return Some(());
    }
    let partition = text("partition")?;
    match (text("f")?.as_str(), kind.as_str()) {
        ("send", "ok") => {
            let offset = line.get("offset")?.as_u64()?;
            seen.acked.push((partition, text("value")?, offset));
        }
        ("send", "fail") => {
            seen.failed.insert(text("value")?);
        }
        ("send", "invoke" | "info") => {
            text("value")?;
        }
        ("poll", "ok") => {
            for (offset, value) in records(line.get("records")?)? {
                seen.read.push((partition.clone(), offset, value));
            }
        }
        _ => return None,
    }
    Some(())
}

/// A group member's line: `assign`, `poll`, `process` or `commit`.
fn observe_group(line: &Value, group: &str, kind: &str, seen: &mut Observations) -> Option<()> {
    let text = |field: &str| line.get(field).and_then(Value::as_str).map(str::to_string);
    match (text("f")?.as_str(), kind) {
        ("assign", "ok") => {
            for (partition, offset) in line.get("positions")?.as_object()? {
                let key = (group.to_string(), partition.clone());
                seen.group_starts.entry(key).or_insert(offset.as_u64()?);
            }
        }
        ("poll", "ok") => {
            records(line.get("records")?)?;
        }
        ("process", "ok") => {
            let partition = text("partition")?;
            for (offset, value) in records(line.get("records")?)? {
                seen.processed
                    .insert((group.to_string(), partition.clone(), offset, value));
            }
        }
        ("commit", "ok" | "fail" | "info") => {
            text("partition")?;
            line.get("offset")?.as_u64()?;
        }
        _ => return None,
    }
    Some(())
}

/// `[[offset, value], ...]`.
fn records(list: &Value) -> Option<Vec<(u64, String)>> {
    let pair = |record: &Value| {
        let pair = record.as_array()?;
        let value = pair.get(1)?.as_str()?.to_string();
        (pair.len() == 2).then_some((pair.first()?.as_u64()?, value))
    };
    list.as_array()?.iter().map(pair).collect()
}

fn judge(seen: &Observations) -> BTreeSet<String> {
    let mut kinds = BTreeSet::new();
    let mut found = |kind: &str| {
        kinds.insert(kind.to_string());
    };
    if seen.malformed {
        found("malformed-history");
    }
    let in_final = |partition: &str, value: &str| {
        seen.finals
            .get(partition)
            .map(|log| log.values().any(|v| v == value))
    };
    if seen
        .acked
        .iter()
        .any(|(p, v, _)| in_final(p, v) == Some(false))
    {
        found("lost-write");
    }
    let uncommitted = seen
        .read
        .iter()
        .any(|(p, o, v)| seen.finals.get(p).is_some_and(|log| log.get(o) != Some(v)));
    if uncommitted {
        found("uncommitted-read");
    }
    let visible = |value: &String| {
        seen.read.iter().any(|(_, _, v)| v == value)
            || seen
                .finals
                .values()
                .any(|log| log.values().any(|v| v == value))
    };
    if seen.failed.iter().any(visible) {
        found("aborted-read");
    }
    let mut observed: BTreeMap<(&str, u64), BTreeSet<&str>> = BTreeMap::new();
    let acked = seen.acked.iter().map(|(p, v, o)| (p, *o, v));
    for (partition, offset, value) in acked.chain(seen.read.iter().map(|(p, o, v)| (p, *o, v))) {
        observed
            .entry((partition.as_str(), offset))
            .or_default()
            .insert(value.as_str());
    }
    if observed.values().any(|values| values.len() > 1) {
        found("inconsistent-offsets");
    }
    let group_lost = seen.group_starts.iter().any(|((group, partition), start)| {
        let log = seen.finals.get(partition).into_iter().flatten();
        log.filter(|(offset, _)| *offset >= start)
            .any(|(offset, value)| {
                let key = (group.clone(), partition.clone(), *offset, value.clone());
                !seen.processed.contains(&key)
            })
    });
    if group_lost {
        found("group-lost");
    }
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(lines: &[&str]) -> Vec<String> {
        violation_kinds(&(lines.join("\n") + "\n"))
            .into_iter()
            .collect()
    }

    const INVOKE_0: &str = r#"{"time_ms":1,"process":"producer-1","type":"invoke","f":"send","partition":"t-0","value":"p1-0"}"#;
    const OK_0: &str = r#"{"time_ms":2,"process":"producer-1","type":"ok","f":"send","partition":"t-0","value":"p1-0","offset":0}"#;
    const INVOKE_1: &str = r#"{"time_ms":3,"process":"producer-1","type":"invoke","f":"send","partition":"t-0","value":"p1-1"}"#;
    const OK_1: &str = r#"{"time_ms":4,"process":"producer-1","type":"ok","f":"send","partition":"t-0","value":"p1-1","offset":1}"#;
    const FAIL_1: &str = r#"{"time_ms":4,"process":"producer-1","type":"fail","f":"send","partition":"t-0","value":"p1-1","error":"NOT_ENOUGH_REPLICAS"}"#;
    const INFO_1: &str = r#"{"time_ms":4,"process":"producer-1","type":"info","f":"send","partition":"t-0","value":"p1-1","error":"REQUEST_TIMED_OUT"}"#;
    const POLL_01: &str = r#"{"time_ms":5,"process":"consumer-1","type":"ok","f":"poll","partition":"t-0","records":[[0,"p1-0"],[1,"p1-1"]]}"#;
    const FINAL_01: &str = r#"{"type":"final","partition":"t-0","leader":1,"high_watermark":2,"records":[[0,"p1-0"],[1,"p1-1"]]}"#;
    const FINAL_0: &str = r#"{"type":"final","partition":"t-0","leader":2,"high_watermark":1,"records":[[0,"p1-0"]]}"#;
    const ASSIGN_1: &str = r#"{"time_ms":5,"process":"g1-1","type":"ok","f":"assign","group":"g1","generation":1,"partitions":["t-0"],"positions":{"t-0":1}}"#;
    const PROCESS_1: &str = r#"{"time_ms":6,"process":"g1-1","type":"ok","f":"process","group":"g1","partition":"t-0","records":[[1,"p1-1"]]}"#;
    const COMMIT_2: &str = r#"{"time_ms":7,"process":"g1-1","type":"ok","f":"commit","group":"g1","partition":"t-0","offset":2}"#;
    const OFFSETS_2: &str = r#"{"type":"final-offsets","group":"g1","offsets":{"t-0":2}}"#;
    const FINAL_0X: &str = r#"{"type":"final","partition":"t-0","leader":2,"high_watermark":2,"records":[[0,"p1-0"],[1,"p2-0"]]}"#;

    #[test]
    fn clean_history_has_no_violation() {
        let clean = [INVOKE_0, OK_0, INVOKE_1, OK_1, POLL_01, FINAL_01];
        assert_eq!(kinds(&clean), Vec::<String>::new());
        let indeterminate = [INVOKE_0, OK_0, INVOKE_1, INFO_1, FINAL_0];
        assert_eq!(kinds(&indeterminate), Vec::<String>::new());
        assert_eq!(kinds(&[]), Vec::<String>::new());
    }

    #[test]
    fn lost_write_only_with_a_final_line() {
        assert_eq!(
            kinds(&[INVOKE_0, OK_0, INVOKE_1, OK_1, FINAL_0]),
            vec!["lost-write"]
        );
        assert_eq!(
            kinds(&[INVOKE_0, OK_0, INVOKE_1, OK_1]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn uncommitted_read_when_the_final_log_ends_before_or_differs() {
        assert_eq!(
            kinds(&[INVOKE_0, OK_0, POLL_01, FINAL_0]),
            vec!["uncommitted-read"]
        );
        // The final log is not an observation: a different final record is no
        // inconsistent-offsets by itself.
        assert_eq!(
            kinds(&[INVOKE_0, OK_0, POLL_01, FINAL_0X]),
            vec!["uncommitted-read"]
        );
    }

    #[test]
    fn aborted_read_when_a_failed_value_is_visible() {
        assert_eq!(
            kinds(&[INVOKE_1, FAIL_1, POLL_01, FINAL_01]),
            vec!["aborted-read"]
        );
        assert_eq!(kinds(&[INVOKE_1, FAIL_1, FINAL_01]), vec!["aborted-read"]);
        assert_eq!(kinds(&[INVOKE_1, FAIL_1, FINAL_0]), Vec::<String>::new());
    }

    #[test]
    fn inconsistent_offsets_between_an_ack_and_a_read() {
        let other = r#"{"time_ms":6,"process":"consumer-2","type":"ok","f":"poll","partition":"t-0","records":[[1,"p2-0"]]}"#;
        assert_eq!(
            kinds(&[INVOKE_1, OK_1, other]),
            vec!["inconsistent-offsets"]
        );
    }

    #[test]
    fn unreadable_lines_are_reported_not_panicked_on() {
        assert_eq!(kinds(&["not json"]), vec!["malformed-history"]);
        let no_partition =
            r#"{"time_ms":6,"process":"g1-1","type":"ok","f":"process","group":"g1","records":[]}"#;
        assert_eq!(kinds(&[no_partition]), vec!["malformed-history"]);
        assert_eq!(
            kinds(&[r#"{"type":"ok","f":"send"}"#]),
            vec!["malformed-history"]
        );
    }

    #[test]
    fn group_lost_when_a_record_from_the_start_was_never_processed() {
        let clean = [
            INVOKE_0, OK_0, INVOKE_1, OK_1, ASSIGN_1, PROCESS_1, COMMIT_2, FINAL_01, OFFSETS_2,
        ];
        assert!(
            kinds(&clean).is_empty(),
            "offset 0 is below the group's start"
        );
        let skipped = r#"{"time_ms":6,"process":"g1-1","type":"ok","f":"process","group":"g1","partition":"t-0","records":[]}"#;
        let lost = [
            INVOKE_0, OK_0, INVOKE_1, OK_1, ASSIGN_1, skipped, FINAL_01, OFFSETS_2,
        ];
        assert_eq!(kinds(&lost), vec!["group-lost"]);
    }
}
