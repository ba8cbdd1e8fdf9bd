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

/// Found by the fuzz test: serde_json reads an enum from a value that is not a string as
/// a syntax error ("not valid JSON: expected value"), naming no field.
#[test]
fn a_choice_of_the_wrong_type_is_a_type_error_at_its_field() {
    assert_rejected(
        &minimal_with(r#""config": { "truncation": 5 }"#),
        "config.truncation",
        "invalid type: integer `5`, expected a string: one of `leader-epoch`, `leader-epoch-v0`, \
         `high-watermark` (line 2, column",
    );
    assert_rejected(
        &minimal_with(r#""config": { "consumer_read_limit": { "log-end": null } }"#),
        "config.consumer_read_limit",
        "invalid type: map, expected a string: `high-watermark` or `log-end`",
    );
    assert_rejected(
        &minimal_with(r#""config": { "isr_update": ["zookeeper"] }"#),
        "config.isr_update",
        "invalid type: sequence",
    );
    let partitioner = MINIMAL.replace(
        "\"consumers\": 1",
        "\"consumers\": 1, \"partitioner\": true",
    );
    assert_rejected(
        &partitioner,
        "workload.partitioner",
        "invalid type: boolean `true`",
    );
    assert_rejected(
        &minimal_with(r#""nemesis": { "kinds": ["crash", ["pause"]] }"#),
        "nemesis.kinds[1]",
        "invalid type: sequence, expected a string: one of `crash`,",
    );
    // Unknown names still list the names, with their position; null is still "not given".
    assert_rejected(
        &minimal_with(r#""config": { "truncation": "never" }"#),
        "config.truncation",
        "unknown variant `never`, expected one of `leader-epoch`, `leader-epoch-v0`, \
         `high-watermark` (line 2, column",
    );
    parse(&minimal_with(r#""config": { "truncation": null }"#));
}

/// Found by the fuzz test: a number too large for a float is well-formed JSON, yet was
/// reported as "not valid JSON: number out of range" without its field.
#[test]
fn a_number_out_of_range_is_named_at_its_field() {
    assert_rejected(
        &minimal_with(r#""network": { "packet_loss": 1e999 }"#),
        "network.packet_loss",
        "number out of range (beyond a 64-bit float) (line 2, column",
    );
    assert_rejected(
        &minimal_with(r#""seed": -1e400"#),
        "seed",
        "number out of range",
    );
}

/// Nesting deeper than serde_json's limit of 128 is well-formed JSON too (found by
/// reading serde_json's error list, next to the fuzz test's find above).
#[test]
fn nesting_too_deep_is_named_at_its_field() {
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let message = error(&with_faults(&format!(
        r#"{{ "at_ms": 1, "crash": {deep} }}"#
    )));
    assert!(
        message.starts_with("field `faults[0].crash[0][0]"),
        "{message}"
    );
    assert!(
        message.contains("nested more than 128 levels deep"),
        "{message}"
    );
}

/// Found by the fuzz test: the unknown key was cut at its first backquote
/// (`config.a`b.a`), and a key that is empty or holds `.` could not be told apart from
/// the path around it.
#[test]
fn an_unknown_key_that_is_not_a_plain_name_is_quoted() {
    assert_rejected(
        &minimal_with(r#""config": { "a`b": 1 }"#),
        r#"config."a`b""#,
        "unknown field; expected one of `kafka_version`, `acks`,",
    );
    assert_rejected(
        &minimal_with(r#""": 1"#),
        r#""""#,
        "unknown field; expected one of `name`,",
    );
    assert_rejected(
        &minimal_with(r#""network": { "a.b, c": 1 }"#),
        r#"network."a.b, c""#,
        "unknown field; expected `latency_ms` or `packet_loss`",
    );
    assert_rejected(
        &minimal_with(r#""network": { "x\ny": 1 }"#),
        r#"network."x\ny""#,
        "unknown field",
    );
}

#[test]
fn invalid_groups_name_their_field() {
    let group = |g: &str| {
        format!(
            r#"{{ "name": "x",
      "cluster": {{ "brokers": 1, "topics": [ {{ "name": "t", "partitions": 1, "replication_factor": 1 }} ] }},
      "workload": {{ "duration_ms": 100, "producers": 0, "produce_interval_ms": 1, "consumers": 0,
                    "groups": [ {g} ] }} }}"#
        )
    };
    let ok = r#""name": "g1", "members": 1"#;
    assert_rejected(
        &group(&format!(r#"{{ {ok}, "topics": ["nope"] }}"#)),
        "workload.groups[0].topics",
        "no topic `nope`",
    );
    assert_rejected(
        &group(&format!(
            r#"{{ {ok}, "topics": ["t"], "assignor": "sticky" }}"#
        )),
        "workload.groups[0].assignor",
        "unknown variant `sticky`",
    );
    assert_rejected(
        &group(&format!(
            r#"{{ {ok}, "topics": ["t"], "commit": "never" }}"#
        )),
        "workload.groups[0].commit",
        "unknown variant `never`",
    );
    assert_rejected(
        &group(r#"{ "name": "g1", "members": 0, "topics": ["t"] }"#),
        "workload.groups[0].members",
        "between 1 and 9",
    );
    assert_rejected(
        &group(&format!(
            r#"{{ {ok}, "topics": ["t"] }}, {{ {ok}, "topics": ["t"] }}"#
        )),
        "workload.groups[1].name",
        "declared twice",
    );
    let only_session = minimal_with(r#""config": { "session_timeout_ms": 3000 }"#);
    assert_rejected(
        &only_session,
        "config.session_timeout_ms",
        "heartbeat interval not set",
    );
    let kip848 = minimal_with(r#""config": { "group_protocol": "consumer" }"#);
    assert_rejected(&kip848, "config.group_protocol", "not modelled yet");
}
