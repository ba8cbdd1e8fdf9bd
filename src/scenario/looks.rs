//! `nemesis_looks_ms` (an addition to the contract, written by `run --unroll`): the times
//! a nemesis woke to look at the cluster and did nothing.
//!
//! The harness wakes at these times too and does nothing, so that a replay of an unrolled
//! run takes the same scheduling draws as the run it came from (each wake-up of the
//! harness task is one draw of madsim's random stream) and stays identical to it. The
//! list changes no fault and no rule; without it a replay is the same fault schedule on a
//! differently shuffled network. In the file: whole milliseconds, each entry a time or
//! `[from, to]` for every millisecond from `from` to `to`.

use serde_json::{Value, json};

use super::{ScenarioError, invalid};

/// The expanded, sorted, de-duplicated times of `nemesis_looks_ms`, each at most
/// `duration_ms`.
pub(super) fn parse(raw: &[Value], duration_ms: u64) -> Result<Vec<u64>, ScenarioError> {
    let mut times = Vec::new();
    for (i, entry) in raw.iter().enumerate() {
        let field = format!("nemesis_looks_ms[{i}]");
        let (from, to) = match entry {
            Value::Number(n) => {
                let t = n.as_u64().ok_or_else(|| not_a_time(&field, entry))?;
                (t, t)
            }
            Value::Array(pair) => match pair.as_slice() {
                [a, b] => {
                    let from = a.as_u64().ok_or_else(|| not_a_time(&field, entry))?;
                    let to = b.as_u64().ok_or_else(|| not_a_time(&field, entry))?;
                    (from, to)
                }
                _ => return Err(not_a_time(&field, entry)),
            },
            _ => return Err(not_a_time(&field, entry)),
        };
        if from > to {
            return Err(invalid(
                field,
                format!("[from, to] needs from <= to, got {entry}"),
            ));
        }
        if to > duration_ms {
            return Err(invalid(
                field,
                format!("{to} is after the end of the run (workload.duration_ms = {duration_ms})"),
            ));
        }
        times.extend(from..=to);
    }
    times.sort_unstable();
    times.dedup();
    Ok(times)
}

fn not_a_time(field: &str, entry: &Value) -> ScenarioError {
    invalid(
        field,
        format!("expected a time in ms or [from, to] (whole numbers), got {entry}"),
    )
}

/// The file form of sorted `times`: runs of consecutive milliseconds as `[from, to]`.
pub fn to_json(times: &[u64]) -> Value {
    let mut entries = Vec::new();
    let mut i = 0;
    while i < times.len() {
        let mut j = i;
        while j + 1 < times.len() && times[j + 1] == times[j] + 1 {
            j += 1;
        }
        entries.push(if j == i {
            json!(times[i])
        } else {
            json!([times[i], times[j]])
        });
        i = j + 1;
    }
    Value::Array(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_compress_and_expand_back() {
        let times = vec![5, 7, 8, 9, 10, 40];
        let written = to_json(&times);
        assert_eq!(written, json!([5, [7, 10], 40]));
        let Value::Array(entries) = written else {
            unreachable!()
        };
        assert_eq!(parse(&entries, 100).expect("valid"), times);
    }

    #[test]
    fn bad_entries_name_their_index() {
        let error = parse(&[json!(5), json!([9, 3])], 100).expect_err("from > to");
        assert!(error.to_string().contains("nemesis_looks_ms[1]"), "{error}");
        let error = parse(&[json!(500)], 100).expect_err("after the end");
        assert!(error.to_string().contains("after the end"), "{error}");
        let error = parse(&[json!("x")], 100).expect_err("not a time");
        assert!(error.to_string().contains("expected a time"), "{error}");
    }
}
