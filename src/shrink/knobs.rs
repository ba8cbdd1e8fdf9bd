//! The sizes a shrunk scenario may lose besides faults: brokers, partitions per topic,
//! producers, consumers, the workload's length, the background packet loss, and an
//! unrolled file's `nemesis_looks_ms` (the harness wake-ups that keep madsim's random
//! stream as the nemesis run had it; clipped to the workload, or dropped).
//!
//! A candidate's knobs become replaced fields of the base scenario's JSON
//! ([`crate::scenario::write::Changes::fields`]); only the knobs that differ from the
//! base are written, so a shrunk file reads like its original. A smaller value that
//! breaks a rule (fewer brokers than a replication factor, a fault naming a removed
//! broker or partition) makes the candidate fail to load, and it is skipped.

use serde_json::{Value, json};

use crate::scenario::Scenario;

/// The knobs of one candidate.
#[derive(Clone, Debug, PartialEq)]
pub struct Knobs {
    /// `cluster.brokers`.
    pub brokers: u64,
    /// `cluster.topics[i].partitions`, in file order.
    pub partitions: Vec<u64>,
    /// `workload.producers`.
    pub producers: u64,
    /// `workload.consumers`.
    pub consumers: u64,
    /// `workload.duration_ms`.
    pub duration_ms: u64,
    /// `network.packet_loss`.
    pub packet_loss: f64,
    /// Whether the base's `nemesis_looks_ms` are kept (those within `duration_ms`).
    pub looks: bool,
}

/// One step towards a smaller scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    /// One broker fewer (down to 1).
    Broker,
    /// One partition fewer in topic `i` (down to 1).
    Partition(usize),
    /// One producer fewer (down to 1: without one nothing is written).
    Producer,
    /// One consumer fewer (down to 0).
    Consumer,
    /// No background packet loss.
    NoPacketLoss,
    /// No `nemesis_looks_ms`.
    NoLooks,
}

impl Knobs {
    /// The knobs of `scenario`, whose file's parsed JSON is `doc`.
    pub fn of(scenario: &Scenario, doc: &Value) -> Knobs {
        let topics = doc["cluster"]["topics"].as_array();
        let partitions = topics
            .map(|t| {
                t.iter()
                    .map(|t| t["partitions"].as_u64().unwrap_or(1))
                    .collect()
            })
            .unwrap_or_default();
        Knobs {
            brokers: scenario.layout.brokers.len() as u64,
            partitions,
            producers: u64::from(scenario.workload.producers),
            consumers: u64::from(scenario.workload.consumers),
            duration_ms: scenario.workload.duration_ms,
            packet_loss: scenario.network.packet_loss,
            looks: !scenario.looks_ms.is_empty(),
        }
    }

    /// Every move, in the order they are tried: the cluster first, then the clients,
    /// then the noise.
    pub fn moves(&self) -> Vec<Move> {
        let mut moves = vec![Move::Broker];
        moves.extend((0..self.partitions.len()).map(Move::Partition));
        moves.extend([
            Move::Producer,
            Move::Consumer,
            Move::NoPacketLoss,
            Move::NoLooks,
        ]);
        moves
    }

    /// These knobs after `step`, or `None` when that knob is already at its floor.
    pub fn after(&self, step: Move) -> Option<Knobs> {
        let mut next = self.clone();
        match step {
            Move::Broker if self.brokers > 1 => next.brokers -= 1,
            Move::Partition(i) if self.partitions.get(i).is_some_and(|p| *p > 1) => {
                next.partitions[i] -= 1;
            }
            Move::Producer if self.producers > 1 => next.producers -= 1,
            Move::Consumer if self.consumers > 0 => next.consumers -= 1,
            Move::NoPacketLoss if self.packet_loss > 0.0 => next.packet_loss = 0.0,
            Move::NoLooks if self.looks => next.looks = false,
            _ => return None,
        }
        Some(next)
    }

    /// The fields that differ from `base`, as JSON paths and values; `doc` is the base
    /// scenario's parsed JSON (its topic list is copied with new partition counts).
    pub fn fields(&self, base: &Knobs, doc: &Value) -> Vec<(Vec<&'static str>, Value)> {
        let mut fields = Vec::new();
        if self.brokers != base.brokers {
            fields.push((vec!["cluster", "brokers"], json!(self.brokers)));
        }
        if self.partitions != base.partitions {
            let mut topics = doc["cluster"]["topics"].clone();
            if let Value::Array(list) = &mut topics {
                for (topic, count) in list.iter_mut().zip(&self.partitions) {
                    topic["partitions"] = json!(count);
                }
            }
            fields.push((vec!["cluster", "topics"], topics));
        }
        if self.producers != base.producers {
            fields.push((vec!["workload", "producers"], json!(self.producers)));
        }
        if self.consumers != base.consumers {
            fields.push((vec!["workload", "consumers"], json!(self.consumers)));
        }
        if self.duration_ms != base.duration_ms {
            fields.push((vec!["workload", "duration_ms"], json!(self.duration_ms)));
        }
        if self.packet_loss != base.packet_loss {
            fields.push((vec!["network", "packet_loss"], json!(self.packet_loss)));
        }
        if let Some(looks) = doc["nemesis_looks_ms"].as_array() {
            let kept = match self.looks {
                true => clip(looks, self.duration_ms),
                false => Vec::new(),
            };
            if &kept != looks {
                fields.push((vec!["nemesis_looks_ms"], Value::Array(kept)));
            }
        }
        fields
    }

    /// What changed from `base`, for people: `workload.duration_ms 20000 -> 6100`.
    pub fn changes(&self, base: &Knobs) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = |field: String, from: String, to: String| {
            if from != to {
                lines.push(format!("{field} {from} -> {to}"));
            }
        };
        line(
            "cluster.brokers".into(),
            base.brokers.to_string(),
            self.brokers.to_string(),
        );
        for (i, (from, to)) in base.partitions.iter().zip(&self.partitions).enumerate() {
            line(
                format!("cluster.topics[{i}].partitions"),
                from.to_string(),
                to.to_string(),
            );
        }
        line(
            "workload.producers".into(),
            base.producers.to_string(),
            self.producers.to_string(),
        );
        line(
            "workload.consumers".into(),
            base.consumers.to_string(),
            self.consumers.to_string(),
        );
        line(
            "workload.duration_ms".into(),
            base.duration_ms.to_string(),
            self.duration_ms.to_string(),
        );
        line(
            "network.packet_loss".into(),
            base.packet_loss.to_string(),
            self.packet_loss.to_string(),
        );
        if base.looks && !self.looks {
            lines.push("nemesis_looks_ms dropped".into());
        }
        lines
    }
}

/// The `nemesis_looks_ms` entries (`t` or `[from, to]`) within `0..=duration_ms`.
fn clip(looks: &[Value], duration_ms: u64) -> Vec<Value> {
    looks
        .iter()
        .filter_map(|entry| match entry {
            Value::Array(pair) => {
                let from = pair.first()?.as_u64()?;
                let to = pair.get(1)?.as_u64()?;
                (from <= duration_ms).then(|| json!([from, to.min(duration_ms)]))
            }
            one => (one.as_u64()? <= duration_ms).then(|| one.clone()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::write::{Changes, derive};

    const SOURCE: &str = r#"{
      "name": "k",
      "cluster": { "brokers": 3, "topics": [
        { "name": "events", "partitions": 2, "replication_factor": 2 },
        { "name": "orders", "partitions": 1, "replication_factor": 3 } ] },
      "network": { "packet_loss": 0.01 },
      "workload": { "duration_ms": 5000, "producers": 2, "produce_interval_ms": 5, "consumers": 1 },
      "faults": [ { "at_ms": 1000, "crash": "leader:events-1" } ]
    }"#;

    #[test]
    fn moves_stop_at_their_floor_and_write_only_what_changed() {
        let scenario = Scenario::from_json(SOURCE).expect("valid");
        let doc: Value = serde_json::from_str(SOURCE).expect("json");
        let base = Knobs::of(&scenario, &doc);
        assert_eq!(base.partitions, vec![2, 1]);
        assert_eq!(base.after(Move::Partition(1)), None);
        let fewer = base
            .after(Move::Producer)
            .and_then(|k| k.after(Move::Consumer))
            .and_then(|k| k.after(Move::NoPacketLoss))
            .expect("each has room");
        assert_eq!(fewer.after(Move::Producer), None, "one producer stays");
        assert_eq!(fewer.after(Move::Consumer), None);
        let changes = Changes {
            fields: fewer.fields(&base, &doc),
            ..Changes::default()
        };
        let (_, derived) = derive(SOURCE, &scenario, &changes).expect("loads");
        assert_eq!(
            (derived.workload.producers, derived.workload.consumers),
            (1, 0)
        );
        assert_eq!(derived.network.packet_loss, 0.0);
        assert_eq!(derived.layout, scenario.layout, "cluster untouched");
        assert_eq!(
            fewer.changes(&base),
            vec![
                "workload.producers 2 -> 1",
                "workload.consumers 1 -> 0",
                "network.packet_loss 0.01 -> 0"
            ]
        );
    }

    #[test]
    fn looks_are_clipped_to_a_shorter_workload_or_dropped() {
        let source = SOURCE.replace(
            r#""faults""#,
            r#""nemesis_looks_ms": [400, [1200, 1300], [4000, 4999], 4500], "faults""#,
        );
        let scenario = Scenario::from_json(&source).expect("valid");
        let doc: Value = serde_json::from_str(&source).expect("json");
        let base = Knobs::of(&scenario, &doc);
        assert!(base.looks);
        let load = |knobs: &Knobs| {
            let changes = Changes {
                fields: knobs.fields(&base, &doc),
                ..Changes::default()
            };
            derive(&source, &scenario, &changes).expect("loads").1
        };
        let shorter = Knobs {
            duration_ms: 4100,
            ..base.clone()
        };
        let looks = load(&shorter).looks_ms;
        assert_eq!(looks.len(), 1 + 101 + 101, "{looks:?}");
        assert_eq!(looks.last(), Some(&4100));
        let none = shorter.after(Move::NoLooks).expect("room");
        assert!(load(&none).looks_ms.is_empty());
        assert_eq!(none.after(Move::NoLooks), None);
        assert!(
            none.changes(&base)
                .contains(&"nemesis_looks_ms dropped".to_string())
        );
    }

    #[test]
    fn a_smaller_cluster_that_breaks_a_rule_does_not_load() {
        let scenario = Scenario::from_json(SOURCE).expect("valid");
        let doc: Value = serde_json::from_str(SOURCE).expect("json");
        let base = Knobs::of(&scenario, &doc);
        let load = |knobs: &Knobs| {
            let changes = Changes {
                fields: knobs.fields(&base, &doc),
                ..Changes::default()
            };
            derive(SOURCE, &scenario, &changes)
        };
        let two_brokers = base.after(Move::Broker).expect("room");
        assert!(
            load(&two_brokers).is_err(),
            "orders has replication factor 3"
        );
        let one_partition = base.after(Move::Partition(0)).expect("room");
        let error = load(&one_partition).expect_err("the fault names events-1");
        assert!(error.to_string().contains("faults[0]"), "{error}");
    }
}
