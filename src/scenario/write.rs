//! Scenarios back to JSON: faults and targets as the contract writes them, and new
//! scenario files made from an existing one's text.
//!
//! A derived scenario (an unrolled run, a shrunk candidate) is the original file's JSON
//! with some fields replaced, so every field the author wrote (and every default they
//! left out) stays as it was; [`derive`] checks that the result loads.

use serde_json::{Map, Value, json};

use super::{Expect, FaultAction, Scenario, ScenarioError, Target, TimedFault};
use crate::layout::Layout;

/// A target as the contract writes it: `2`, `"controller"`, `"leader:events-0"`, ….
pub fn target_json(target: &Target, layout: &Layout) -> Value {
    match target {
        Target::Broker(b) => json!(b.0),
        Target::Controller => json!("controller"),
        Target::ControllerN(n) => json!(format!("controller:{n}")),
        Target::Controllers => json!("controllers"),
        Target::Replica { partition, index } => {
            json!(format!(
                "replica:{}:{index}",
                layout.partition_name(*partition)
            ))
        }
        Target::Leader(p) => json!(format!("leader:{}", layout.partition_name(*p))),
        Target::Followers(p) => json!(format!("followers:{}", layout.partition_name(*p))),
        Target::List(targets) => {
            Value::Array(targets.iter().map(|t| target_json(t, layout)).collect())
        }
    }
}

/// One `faults` entry: `{"at_ms": 3000, "crash": "leader:events-0"}`.
pub fn fault_json(fault: &TimedFault, layout: &Layout) -> Value {
    let target = |t: &Target| target_json(t, layout);
    let (key, value) = match &fault.action {
        FaultAction::Crash(t) => ("crash", target(t)),
        FaultAction::PowerLoss(t) => ("power_loss", target(t)),
        FaultAction::DiskWipe(t) => ("disk_wipe", target(t)),
        FaultAction::Restart(t) => ("restart", target(t)),
        FaultAction::Pause(t) => ("pause", target(t)),
        FaultAction::Resume(t) => ("resume", target(t)),
        FaultAction::Isolate(t) => ("isolate", target(t)),
        FaultAction::Partition(groups) => {
            let groups = groups.iter().map(|g| match target(g) {
                list @ Value::Array(_) => list,
                one => Value::Array(vec![one]),
            });
            ("partition", Value::Array(groups.collect()))
        }
        FaultAction::Heal => ("heal", json!(true)),
        FaultAction::PacketLoss(rate) => ("packet_loss", json!(rate)),
        FaultAction::Latency(low, high) => ("latency", json!([low, high])),
    };
    let mut object = Map::new();
    object.insert("at_ms".into(), json!(fault.at_ms));
    object.insert(key.into(), value);
    Value::Object(object)
}

/// `expect` as the contract writes it.
pub fn expect_json(expect: &Expect) -> Value {
    match expect {
        Expect::Pass => json!("pass"),
        Expect::Violations(kinds) => {
            let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
            json!({ "violations": kinds })
        }
    }
}

/// What a derived scenario changes in its original.
#[derive(Clone, Debug, Default)]
pub struct Changes {
    /// A new name (`name` is required, so it is always kept or replaced).
    pub name: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// The seed to pin.
    pub seed: Option<u64>,
    /// The explicit fault list to write (and the nemesis to drop).
    pub faults: Option<Vec<TimedFault>>,
    /// The verdict to expect.
    pub expect: Option<Expect>,
    /// Other fields to replace, by JSON path (`["workload", "duration_ms"]`).
    pub fields: Vec<(Vec<&'static str>, Value)>,
}

/// The JSON text of `original` (its file's text, `source`) with `changes` applied, and
/// the scenario it loads as. Setting `faults` also removes `nemesis`: the faults are then
/// the whole schedule.
pub fn derive(
    source: &str,
    original: &Scenario,
    changes: &Changes,
) -> Result<(String, Scenario), ScenarioError> {
    let mut doc: Value =
        serde_json::from_str(source).map_err(|e| ScenarioError::Syntax(e.to_string()))?;
    let Value::Object(root) = &mut doc else {
        return Err(ScenarioError::Syntax(
            "the scenario is not a JSON object".into(),
        ));
    };
    if let Some(name) = &changes.name {
        root.insert("name".into(), json!(name));
    }
    if let Some(description) = &changes.description {
        root.insert("description".into(), json!(description));
    }
    if let Some(seed) = changes.seed {
        root.insert("seed".into(), json!(seed));
    }
    if let Some(faults) = &changes.faults {
        let layout = &original.layout;
        let list = faults.iter().map(|f| fault_json(f, layout)).collect();
        root.insert("faults".into(), Value::Array(list));
        root.remove("nemesis");
    }
    if let Some(expect) = &changes.expect {
        root.insert("expect".into(), expect_json(expect));
    }
    for (path, value) in &changes.fields {
        set(&mut doc, path, value.clone());
    }
    let text = serde_json::to_string_pretty(&doc).expect("a JSON value serializes") + "\n";
    let scenario = Scenario::from_json(&text)?;
    Ok((text, scenario))
}

/// Sets the field at `path`, creating objects on the way.
fn set(doc: &mut Value, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = doc;
    for key in parents {
        let Value::Object(map) = at else { return };
        at = map.entry(key.to_string()).or_insert_with(|| json!({}));
    }
    if let Value::Object(map) = at {
        map.insert(last.to_string(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"{
      "name": "t", "seed": 4,
      "cluster": { "brokers": 3, "topics": [ { "name": "events", "partitions": 1, "replication_factor": 3 } ] },
      "config": { "acks": "1" },
      "workload": { "duration_ms": 5000, "producers": 1, "produce_interval_ms": 5, "consumers": 1 },
      "nemesis": { "kinds": ["crash"] },
      "faults": [
        { "at_ms": 1000, "crash": "leader:events-0" },
        { "at_ms": 1200, "partition": [["followers:events-0"], ["leader:events-0", 1]] },
        { "at_ms": 1300, "latency": [50, 200] },
        { "at_ms": 1400, "restart": [1, 2, 3] },
        { "at_ms": 1500, "packet_loss": 0.25 },
        { "at_ms": 1600, "heal": true },
        { "at_ms": 1700, "power_loss": "replica:events-0:2" },
        { "at_ms": 1800, "pause": "controller" }
      ]
    }"#;

    #[test]
    fn faults_written_back_load_as_the_same_faults() {
        let original = Scenario::from_json(SOURCE).expect("valid");
        let changes = Changes {
            seed: Some(9),
            faults: Some(original.faults.clone()),
            expect: Some(Expect::Violations(vec![
                crate::violation::ViolationKind::LostWrite,
            ])),
            fields: vec![(vec!["workload", "duration_ms"], json!(4000))],
            ..Changes::default()
        };
        let (text, derived) = derive(SOURCE, &original, &changes).expect("loads");
        assert_eq!(derived.faults, original.faults);
        assert_eq!(derived.seed, 9);
        assert!(derived.nemesis.is_none(), "{text}");
        assert_eq!(derived.workload.duration_ms, 4000);
        assert_eq!(derived.config, original.config, "config kept");
        assert!(text.contains("\"lost-write\""), "{text}");
    }

    #[test]
    fn a_change_that_breaks_a_rule_is_an_error_not_a_file() {
        let original = Scenario::from_json(SOURCE).expect("valid");
        let changes = Changes {
            fields: vec![(vec!["workload", "duration_ms"], json!(1000))],
            ..Changes::default()
        };
        let error = derive(SOURCE, &original, &changes).expect_err("faults after the end");
        assert!(error.to_string().contains("faults["), "{error}");
    }
}
