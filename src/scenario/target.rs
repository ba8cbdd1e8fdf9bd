//! Fault targets and fault actions: raw JSON values resolved against the cluster layout.

use serde_json::Value;

use super::raw::RawFault;
use super::{FaultAction, ScenarioError, Target, TimedFault, invalid};
use crate::layout::Layout;
use crate::types::{BrokerId, PartitionId};

/// The accepted target forms, for error messages.
const TARGET_FORMS: &str = "a broker id, \"controller\", \"controller:N\", \"controllers\", \
                            \"replica:TOPIC-P:I\", \"leader:TOPIC-P\", \"followers:TOPIC-P\" \
                            or a list of targets";

/// Resolves targets and faults against one layout.
pub(super) struct Resolver<'a> {
    /// The validated cluster layout.
    pub layout: &'a Layout,
}

impl Resolver<'_> {
    /// Resolves `faults[index]`: `at_ms` within the run and exactly one action key.
    pub fn fault(
        &self,
        raw: &RawFault,
        index: usize,
        duration_ms: u64,
    ) -> Result<TimedFault, ScenarioError> {
        let field = format!("faults[{index}]");
        if raw.at_ms > duration_ms {
            return Err(invalid(
                format!("{field}.at_ms"),
                format!(
                    "{} is after the end of the run (workload.duration_ms = {duration_ms}); \
                     the fault would never fire",
                    raw.at_ms
                ),
            ));
        }
        let actions = raw.actions();
        let (key, value) = match actions.as_slice() {
            [one] => *one,
            [] => {
                return Err(invalid(
                    field,
                    "a fault needs exactly one action: crash, power_loss, disk_wipe, restart, \
                     pause, resume, isolate, partition, heal, packet_loss or latency (found \
                     none)",
                ));
            }
            many => {
                let keys: Vec<String> = many.iter().map(|(k, _)| format!("`{k}`")).collect();
                return Err(invalid(
                    field,
                    format!(
                        "a fault needs exactly one action, found {}: {}; write one fault per \
                         action (same at_ms fires in file order)",
                        keys.len(),
                        keys.join(", ")
                    ),
                ));
            }
        };
        let action_field = format!("{field}.{key}");
        let action = match key {
            "crash" => FaultAction::Crash(self.target(value, &action_field)?),
            "power_loss" => FaultAction::PowerLoss(self.target(value, &action_field)?),
            "disk_wipe" => FaultAction::DiskWipe(brokers_only(
                self.target(value, &action_field)?,
                &action_field,
            )?),
            "restart" => FaultAction::Restart(self.target(value, &action_field)?),
            "pause" => FaultAction::Pause(self.target(value, &action_field)?),
            "resume" => FaultAction::Resume(self.target(value, &action_field)?),
            "isolate" => FaultAction::Isolate(self.target(value, &action_field)?),
            "partition" => FaultAction::Partition(self.groups(value, &action_field)?),
            "heal" => match value {
                Value::Bool(true) => FaultAction::Heal,
                _ => {
                    return Err(invalid(
                        action_field,
                        format!("must be `true`, got {value}"),
                    ));
                }
            },
            "packet_loss" => FaultAction::PacketLoss(rate(value, &action_field)?),
            "latency" => {
                let (low, high) = latency(value, &action_field)?;
                FaultAction::Latency(low, high)
            }
            other => unreachable!("RawFault::actions returned unknown key {other}"),
        };
        Ok(TimedFault {
            at_ms: raw.at_ms,
            action,
        })
    }

    /// The groups of a `partition` fault: a list of at least two non-empty groups, each a
    /// target or a list of targets.
    fn groups(&self, value: &Value, field: &str) -> Result<Vec<Target>, ScenarioError> {
        let Value::Array(groups) = value else {
            return Err(invalid(
                field,
                format!("expected a list of groups, e.g. [[1], [2, 3]], got {value}"),
            ));
        };
        if groups.len() < 2 {
            return Err(invalid(
                field,
                format!(
                    "needs at least two groups (links are cut only between groups), got {}; \
                     use `isolate` to cut one node off",
                    groups.len()
                ),
            ));
        }
        groups
            .iter()
            .enumerate()
            .map(|(i, group)| {
                let group_field = format!("{field}[{i}]");
                if group.as_array().is_some_and(Vec::is_empty) {
                    return Err(invalid(group_field, "a partition group must not be empty"));
                }
                self.target(group, &group_field)
            })
            .collect()
    }

    /// One target: an integer broker id, a string form, or a non-empty (nested) list.
    pub fn target(&self, value: &Value, field: &str) -> Result<Target, ScenarioError> {
        match value {
            Value::Number(n) => {
                let brokers = self.layout.brokers.len();
                match n.as_u64() {
                    Some(id) if (1..=brokers as u64).contains(&id) => {
                        Ok(Target::Broker(BrokerId(id as u8)))
                    }
                    Some(id) => Err(invalid(
                        field,
                        format!("broker {id} does not exist (brokers = {brokers})"),
                    )),
                    None => Err(invalid(
                        field,
                        format!("`{n}` is not a broker id (brokers are numbered 1..={brokers})"),
                    )),
                }
            }
            Value::String(s) => self.named_target(s, field),
            Value::Array(items) => {
                if items.is_empty() {
                    return Err(invalid(field, "an empty list names no target"));
                }
                let targets = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.target(item, &format!("{field}[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Target::List(targets))
            }
            _ => Err(invalid(
                field,
                format!("expected {TARGET_FORMS}, got {value}"),
            )),
        }
    }

    /// The string forms: `controller`, `replica:T-P:I`, `leader:T-P`, `followers:T-P`.
    fn named_target(&self, text: &str, field: &str) -> Result<Target, ScenarioError> {
        if text == "controller" {
            return Ok(Target::Controller);
        }
        if text == "controllers" {
            return Ok(Target::Controllers);
        }
        if let Some(rest) = text.strip_prefix("controller:") {
            let count = self.layout.controllers.len();
            return match rest.parse::<u64>() {
                Ok(n) if (1..=count as u64).contains(&n) => Ok(Target::ControllerN(n as u8)),
                Ok(n) => Err(invalid(
                    field,
                    format!(
                        "controller {n} does not exist (cluster.controllers = {count}; numbered from 1)"
                    ),
                )),
                Err(_) => Err(invalid(
                    field,
                    format!(
                        "`{text}`: the controller number `{rest}` is not a number; write \"controller:N\""
                    ),
                )),
            };
        }
        if let Some(rest) = text.strip_prefix("leader:") {
            return Ok(Target::Leader(self.partition(rest, field)?));
        }
        if let Some(rest) = text.strip_prefix("followers:") {
            return Ok(Target::Followers(self.partition(rest, field)?));
        }
        if let Some(rest) = text.strip_prefix("replica:") {
            let Some((name, index_text)) = rest.rsplit_once(':') else {
                return Err(invalid(
                    field,
                    format!("`{text}` is missing the replica index: write \"replica:TOPIC-P:I\""),
                ));
            };
            let partition = self.partition(name, field)?;
            let replication_factor = self.layout.partition(partition).replicas.len();
            // More digits than a usize holds name an index that does not exist; they are
            // a number all the same (a string the loader's fuzz test tries).
            let index: usize = match index_text.parse() {
                Ok(i) => i,
                Err(_) if all_digits(index_text) => usize::MAX,
                Err(_) => {
                    return Err(invalid(
                        field,
                        format!("replica index `{index_text}` in `{text}` is not a number"),
                    ));
                }
            };
            if index >= replication_factor {
                return Err(invalid(
                    field,
                    format!(
                        "replica index {index_text} does not exist (partition `{name}` has \
                         replication factor {replication_factor}; indexes are 0-based)"
                    ),
                ));
            }
            return Ok(Target::Replica { partition, index });
        }
        if text.parse::<u64>().is_ok() {
            return Err(invalid(
                field,
                format!("broker ids are JSON integers: write {text}, not \"{text}\""),
            ));
        }
        Err(invalid(
            field,
            format!("`{text}` is not a target; expected {TARGET_FORMS}"),
        ))
    }

    /// A `TOPIC-P` partition name, split at the last '-' (topic names may contain '-').
    fn partition(&self, name: &str, field: &str) -> Result<PartitionId, ScenarioError> {
        let Some((topic, index)) = name.rsplit_once('-') else {
            return Err(invalid(
                field,
                format!("`{name}` is not a partition name TOPIC-P"),
            ));
        };
        let index = match index.parse::<u32>() {
            Ok(i) => Some(i),
            Err(_) if all_digits(index) => None, // too large: no such partition
            Err(_) => {
                return Err(invalid(
                    field,
                    format!("`{name}` is not a partition name TOPIC-P (`{index}` is not a number)"),
                ));
            }
        };
        let count = self
            .layout
            .partitions
            .iter()
            .filter(|p| p.topic == topic)
            .count();
        if count == 0 {
            let mut topics: Vec<String> = self
                .layout
                .partitions
                .iter()
                .map(|p| format!("`{}`", p.topic))
                .collect();
            topics.dedup();
            return Err(invalid(
                field,
                format!(
                    "topic `{topic}` does not exist (topics: {})",
                    topics.join(", ")
                ),
            ));
        }
        // Look the partition up by its parts, not by re-rendering: "t-01" means "t-1".
        self.layout
            .partitions
            .iter()
            .position(|p| p.topic == topic && Some(p.index) == index)
            .map(|i| PartitionId(i as u16))
            .ok_or_else(|| {
                invalid(
                    field,
                    format!(
                        "partition `{name}` does not exist (topic `{topic}` has {count} \
                         partitions)"
                    ),
                )
            })
    }
}

/// Only ASCII digits, at least one.
fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// A rate in 0.0..=1.0 (the `packet_loss` fault).
/// A `latency` fault's `[min, max]` in ms, under the rules of `network.latency_ms`.
fn latency(value: &Value, field: &str) -> Result<(u64, u64), ScenarioError> {
    let numbers: Option<Vec<u64>> = value
        .as_array()
        .map(|items| items.iter().map(Value::as_u64).collect())
        .unwrap_or(None);
    let Some(numbers) = numbers else {
        return Err(invalid(
            field,
            format!("expected [min, max] in ms (two whole numbers), got {value}"),
        ));
    };
    super::validate::latency_range(&numbers, field)
}

fn rate(value: &Value, field: &str) -> Result<f64, ScenarioError> {
    match value.as_f64() {
        Some(r) if (0.0..=1.0).contains(&r) => Ok(r),
        Some(r) => Err(invalid(field, format!("{r} is not a rate in 0.0..=1.0"))),
        None => Err(invalid(
            field,
            format!("expected a rate in 0.0..=1.0, got {value}"),
        )),
    }
}

/// `target` when it can only name brokers (what `disk_wipe` hits): not the controller.
fn brokers_only(target: Target, field: &str) -> Result<Target, ScenarioError> {
    fn names_controller(t: &Target) -> bool {
        match t {
            Target::Controller => true,
            Target::List(list) => list.iter().any(names_controller),
            _ => false,
        }
    }
    if names_controller(&target) {
        return Err(invalid(
            field,
            "disk_wipe hits brokers only (a broker id, leader:, followers: or replica: \
             target), not the controller",
        ));
    }
    Ok(target)
}
