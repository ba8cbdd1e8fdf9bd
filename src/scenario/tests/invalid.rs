//! The contract's invalid examples, syntax errors and serde-level errors.

use super::*;

#[test]
fn invalid_fault_without_time() {
    assert_rejected(
        &with_faults(r#"{ "crash": 1 }"#),
        "faults[0].at_ms",
        "missing",
    );
}

#[test]
fn invalid_missing_workload() {
    let text = r#"{ "name": "x",
      "cluster": { "brokers": 3, "topics": [ { "name": "t", "partitions": 1, "replication_factor": 3 } ] } }"#;
    assert_rejected(text, "workload", "missing");
}

#[test]
fn invalid_partition_out_of_range() {
    assert_rejected(
        &with_faults(r#"{ "at_ms": 100, "crash": "leader:t-3" }"#),
        "faults[0].crash",
        "partition `t-3` does not exist (topic `t` has 1 partitions)",
    );
}

#[test]
fn invalid_unknown_config_field() {
    let text = minimal_with(r#""config": { "acks_mode": "all" }"#);
    assert_rejected(&text, "config.acks_mode", "unknown field");
    assert!(
        error(&text).contains("`min_insync_replicas`"),
        "lists the allowed fields"
    );
}

#[test]
fn invalid_unknown_truncation() {
    assert_rejected(
        &minimal_with(r#""config": { "truncation": "sometimes" }"#),
        "config.truncation",
        "`sometimes`",
    );
}

#[test]
fn invalid_zero_partitions() {
    let text = MINIMAL.replace("\"partitions\": 1", "\"partitions\": 0");
    assert_rejected(&text, "cluster.topics[0].partitions", "at least 1");
}

#[test]
fn syntax_errors_give_line_and_column() {
    let message = error("{ \"name\": \"x\",\n  \"seed\": }");
    assert!(message.starts_with("not valid JSON: "), "{message}");
    assert!(message.contains("line 2"), "{message}");
    assert!(error(&format!("{MINIMAL} extra")).starts_with("not valid JSON: "));
}

#[test]
fn serde_errors_name_the_path() {
    assert_rejected(&minimal_with(r#""seed": -1"#), "seed", "invalid value");
    assert_rejected(
        &minimal_with(r#""colour": "red""#),
        "colour",
        "unknown field",
    );
    assert_rejected(
        &minimal_with(r#""config": { "acks": "2" }"#),
        "config.acks",
        "\"all\"",
    );
    assert_rejected(
        &minimal_with(r#""config": { "flush": "sometimes" }"#),
        "config.flush",
        "every-message",
    );
    assert_rejected(
        &minimal_with(r#""config": { "flush": { "interval": 5 } }"#),
        "config.flush.interval",
        "unknown field",
    );
    assert_rejected(
        &minimal_with(r#""config": { "idempotent_producer": "yes" }"#),
        "config.idempotent_producer",
        "invalid type",
    );
    assert_rejected(
        &minimal_with(r#""config": { "kafka_version": "2.0", "idempotent_producer": true }"#),
        "config.producer_retries",
        "must be > 0 with idempotent_producer",
    );
    assert_rejected(
        &minimal_with(r#""network": { "latency_ms": [1, 2, 3] }"#),
        "network.latency_ms",
        "two numbers",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": 1, "heal": true, "why": 1 }"#),
        "faults[0].why",
        "unknown field",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": "soon", "heal": true }"#),
        "faults[0].at_ms",
        "invalid type",
    );
    assert_rejected(
        &minimal_with(r#""nemesis": { "kinds": ["crash", "meteor"] }"#),
        "nemesis.kinds[1]",
        "unknown variant `meteor`",
    );
    assert_rejected(
        &minimal_with(r#""nemesis": { "kinds": ["crash", "latency", "lag"] }"#),
        "nemesis.kinds[2]",
        "`packet_loss`, `latency`",
    );
    assert_rejected(
        &MINIMAL.replace("\"duration_ms\": 2000, ", ""),
        "workload.duration_ms",
        "required field is missing",
    );
    let no_topics = MINIMAL.replace(r#""topics""#, r#""topix""#);
    assert_rejected(&no_topics, "cluster.topix", "unknown field");
    assert_rejected("[]", "(top level)", "expected a scenario object");
    assert_rejected(
        &minimal_with(r#""expect": "fail""#),
        "expect",
        "\"pass\" or { \"violations\"",
    );
    assert_rejected(
        &minimal_with(r#""config": { "acks": "1", "acks": "all" }"#),
        "config.acks",
        "more than once",
    );
}
