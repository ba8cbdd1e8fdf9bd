//! Loader tests: the contract's examples (inline copies) and many bad inputs.
//!
//! The contract examples are copied here because the project must not read the shared
//! contract directory at run time.

mod fuzz;
mod invalid;
mod rules;
mod valid;

use super::*;

/// Contract example `valid/minimal.json`.
const MINIMAL: &str = r#"{
  "name": "minimal",
  "cluster": { "brokers": 1, "topics": [ { "name": "t", "partitions": 1, "replication_factor": 1 } ] },
  "workload": { "duration_ms": 2000, "producers": 1, "produce_interval_ms": 10, "consumers": 1 }
}"#;

/// Contract example `valid/every-config-field.json`.
const EVERY_CONFIG_FIELD: &str = r#"{
  "name": "every-config-field",
  "description": "Sets every config and network field.",
  "seed": 7,
  "cluster": { "brokers": 3, "topics": [ { "name": "orders", "partitions": 2, "replication_factor": 3 } ] },
  "config": {
    "acks": "all",
    "min_insync_replicas": 2,
    "unclean_leader_election": false,
    "replica_lag_time_max_ms": 2000,
    "broker_session_timeout_ms": 1500,
    "broker_heartbeat_interval_ms": 300,
    "flush": { "interval_ms": 100 },
    "truncation": "leader-epoch",
    "consumer_read_limit": "high-watermark",
    "idempotent_producer": true,
    "producer_retries": 5
  },
  "network": { "latency_ms": [2, 4], "packet_loss": 0.01 },
  "workload": { "duration_ms": 5000, "producers": 2, "produce_interval_ms": 20, "consumers": 2 },
  "expect": "pass"
}"#;

/// Contract example `valid/every-fault-and-target.json`.
const EVERY_FAULT: &str = r#"{
  "name": "every-fault-and-target",
  "description": "Each fault kind and each target form once.",
  "cluster": { "brokers": 3, "topics": [ { "name": "orders", "partitions": 2, "replication_factor": 3 } ] },
  "config": { "acks": "all", "min_insync_replicas": 2, "broker_session_timeout_ms": 1500, "broker_heartbeat_interval_ms": 300 },
  "workload": { "duration_ms": 12000, "producers": 1, "produce_interval_ms": 10, "consumers": 1 },
  "faults": [
    { "at_ms": 1000, "pause": "replica:orders-0:2" },
    { "at_ms": 1500, "resume": "replica:orders-0:2" },
    { "at_ms": 2000, "crash": "leader:orders-0" },
    { "at_ms": 4000, "restart": [1, 2, 3] },
    { "at_ms": 5000, "isolate": "controller" },
    { "at_ms": 6000, "heal": true },
    { "at_ms": 6500, "partition": [["leader:orders-1"], ["followers:orders-1"]] },
    { "at_ms": 7500, "heal": true },
    { "at_ms": 8000, "power_loss": 2 },
    { "at_ms": 9000, "restart": 2 },
    { "at_ms": 9500, "packet_loss": 0.05 },
    { "at_ms": 10500, "packet_loss": 0.0 }
  ],
  "expect": "pass"
}"#;

/// Contract example `valid/expect-violation.json`.
const EXPECT_VIOLATION: &str = r#"{
  "name": "expect-violation",
  "description": "acks=1 and an isolated, then crashed leader: acknowledged writes are lost.",
  "cluster": { "brokers": 3, "topics": [ { "name": "orders", "partitions": 1, "replication_factor": 3 } ] },
  "config": { "acks": "1", "replica_lag_time_max_ms": 10000, "broker_session_timeout_ms": 1500, "broker_heartbeat_interval_ms": 300 },
  "workload": { "duration_ms": 8000, "producers": 1, "produce_interval_ms": 5, "consumers": 1 },
  "faults": [
    { "at_ms": 2000, "partition": [["leader:orders-0"], ["followers:orders-0"]] },
    { "at_ms": 3000, "crash": "leader:orders-0" },
    { "at_ms": 5000, "heal": true },
    { "at_ms": 5000, "restart": [1, 2, 3] }
  ],
  "expect": { "violations": ["lost-write"] }
}"#;

/// Contract example `valid/nemesis.json`.
const NEMESIS: &str = r#"{
  "name": "nemesis",
  "description": "Random faults from the seed.",
  "cluster": { "brokers": 3, "topics": [ { "name": "orders", "partitions": 2, "replication_factor": 3 } ] },
  "config": { "acks": "all", "min_insync_replicas": 2, "broker_session_timeout_ms": 1500, "broker_heartbeat_interval_ms": 300 },
  "workload": { "duration_ms": 10000, "producers": 1, "produce_interval_ms": 10, "consumers": 1 },
  "nemesis": { "kinds": ["crash", "power_loss", "partition", "pause"], "interval_ms": 2000, "max_down": 1 },
  "expect": "pass"
}"#;

/// The contract's sample in scenario-format.md.
const FORMAT_SAMPLE: &str = r#"{
  "name": "acks-all-leader-crash",
  "description": "One line a person reads in reports.",
  "seed": 1,
  "cluster": { "brokers": 3, "topics": [ { "name": "events", "partitions": 2, "replication_factor": 3 } ] },
  "config": {
    "acks": "all", "min_insync_replicas": 2, "unclean_leader_election": false,
    "replica_lag_time_max_ms": 1000, "broker_session_timeout_ms": 1500,
    "broker_heartbeat_interval_ms": 300, "flush": "never", "truncation": "leader-epoch",
    "consumer_read_limit": "high-watermark", "idempotent_producer": true, "producer_retries": 3
  },
  "network": { "latency_ms": [1, 10], "packet_loss": 0.0 },
  "workload": { "duration_ms": 20000, "producers": 1, "produce_interval_ms": 5, "consumers": 1 },
  "faults": [
    { "at_ms": 3000, "crash": "leader:events-0" },
    { "at_ms": 5000, "restart": [1, 2, 3] },
    { "at_ms": 7000, "partition": [["followers:events-1"], ["leader:events-1"]] },
    { "at_ms": 9000, "heal": true }
  ],
  "expect": "pass"
}"#;

/// Parses `text`, which must be accepted.
fn parse(text: &str) -> Scenario {
    Scenario::from_json(text).unwrap_or_else(|e| panic!("should parse: {e}"))
}

/// The error text for `text`, which must be rejected.
fn error(text: &str) -> String {
    match Scenario::from_json(text) {
        Ok(s) => panic!("should be rejected: {s:?}"),
        Err(e) => e.to_string(),
    }
}

/// Asserts that `text` is rejected with a message starting `field `<field>`:` and
/// containing `needle`.
fn assert_rejected(text: &str, field: &str, needle: &str) {
    let message = error(text);
    assert!(
        message.starts_with(&format!("field `{field}`: ")),
        "expected field `{field}`, got: {message}"
    );
    assert!(
        message.contains(needle),
        "expected `{needle}` in: {message}"
    );
}

/// The minimal scenario with `section` (`"key": value` text) added at the top level.
fn minimal_with(section: &str) -> String {
    MINIMAL.replacen(
        "\"name\": \"minimal\",",
        &format!("\"name\": \"minimal\", {section},"),
        1,
    )
}

/// A 3-broker scenario (topic `t`, 1 partition, rf 3, 2000 ms) with these faults.
fn with_faults(faults: &str) -> String {
    format!(
        r#"{{ "name": "x",
  "cluster": {{ "brokers": 3, "topics": [ {{ "name": "t", "partitions": 1, "replication_factor": 3 }} ] }},
  "workload": {{ "duration_ms": 2000, "producers": 1, "produce_interval_ms": 10, "consumers": 1 }},
  "faults": [ {faults} ] }}"#
    )
}
