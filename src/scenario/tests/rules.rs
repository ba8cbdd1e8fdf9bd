//! Validation rules checked after parsing.

use super::*;

#[test]
fn cluster_rules() {
    assert_rejected(
        &MINIMAL.replace("\"brokers\": 1", "\"brokers\": 10"),
        "cluster.brokers",
        "between 1 and 9",
    );
    assert_rejected(
        &MINIMAL.replace("\"brokers\": 1", "\"brokers\": 0"),
        "cluster.brokers",
        "between 1 and 9",
    );
    assert_rejected(
        &MINIMAL.replace("\"replication_factor\": 1", "\"replication_factor\": 2"),
        "cluster.topics[0].replication_factor",
        "number of brokers (1)",
    );
    assert_rejected(
        &MINIMAL.replace("\"name\": \"t\"", "\"name\": \"\""),
        "cluster.topics[0].name",
        "empty",
    );
    assert_rejected(
        &MINIMAL.replace("\"name\": \"t\"", "\"name\": \"a:b\""),
        "cluster.topics[0].name",
        "':'",
    );
    let twice = MINIMAL.replace(
        r#"{ "name": "t", "partitions": 1, "replication_factor": 1 }"#,
        r#"{ "name": "t", "partitions": 1, "replication_factor": 1 }, { "name": "t", "partitions": 2, "replication_factor": 1 }"#,
    );
    assert_rejected(&twice, "cluster.topics[1].name", "declared twice");
    let none = MINIMAL.replace(
        r#"{ "name": "t", "partitions": 1, "replication_factor": 1 }"#,
        "",
    );
    assert_rejected(&none, "cluster.topics", "at least one topic");
    assert_rejected(
        &MINIMAL.replace("\"name\": \"minimal\"", "\"name\": \" \""),
        "name",
        "empty",
    );
}

#[test]
fn config_rules() {
    assert_rejected(
        &minimal_with(r#""config": { "min_insync_replicas": 0 }"#),
        "config.min_insync_replicas",
        "between 1",
    );
    assert_rejected(
        &minimal_with(r#""config": { "broker_heartbeat_interval_ms": 9000 }"#),
        "config.broker_heartbeat_interval_ms",
        "must be less than broker_session_timeout_ms (9000)",
    );
    assert_rejected(
        &minimal_with(r#""config": { "broker_session_timeout_ms": 1500 }"#),
        "config.broker_session_timeout_ms",
        "Kafka's default",
    );
    assert_rejected(
        &minimal_with(r#""config": { "replica_lag_time_max_ms": 0 }"#),
        "config.replica_lag_time_max_ms",
        "> 0",
    );
    assert_rejected(
        &minimal_with(r#""config": { "flush": { "interval_ms": 0 } }"#),
        "config.flush.interval_ms",
        "> 0",
    );
    assert_rejected(
        &minimal_with(r#""config": { "metadata_max_age_ms": 0 }"#),
        "config.metadata_max_age_ms",
        "> 0",
    );
}

#[test]
fn network_and_workload_rules() {
    assert_rejected(
        &minimal_with(r#""network": { "latency_ms": [0, 5] }"#),
        "network.latency_ms",
        "non-empty latency range",
    );
    assert_rejected(
        &minimal_with(r#""network": { "latency_ms": [5, 2] }"#),
        "network.latency_ms",
        "min <= max",
    );
    assert_rejected(
        &minimal_with(r#""network": { "packet_loss": 1.5 }"#),
        "network.packet_loss",
        "0.0..=1.0",
    );
    assert_rejected(
        &MINIMAL.replace("\"duration_ms\": 2000", "\"duration_ms\": 0"),
        "workload.duration_ms",
        "> 0",
    );
    assert_rejected(
        &MINIMAL.replace("\"produce_interval_ms\": 10", "\"produce_interval_ms\": 0"),
        "workload.produce_interval_ms",
        "at least 1",
    );
    assert_rejected(
        &MINIMAL.replace("\"producers\": 1", "\"producers\": 10"),
        "workload.producers",
        "at most 9",
    );
    assert_rejected(
        &MINIMAL.replace("\"consumers\": 1", "\"consumers\": 12"),
        "workload.consumers",
        "at most 9",
    );
    assert_rejected(
        &MINIMAL.replace(
            "\"consumers\": 1",
            "\"consumers\": 1, \"partitioner\": \"random\"",
        ),
        "workload.partitioner",
        "`round-robin`",
    );
}

#[test]
fn fault_rules() {
    assert_rejected(&with_faults(r#"{ "at_ms": 1 }"#), "faults[0]", "found none");
    assert_rejected(
        &with_faults(r#"{ "at_ms": 1, "crash": 1, "heal": true }"#),
        "faults[0]",
        "found 2: `crash`, `heal`",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": 2001, "heal": true }"#),
        "faults[0].at_ms",
        "never fire",
    );
    assert_rejected(
        &with_faults(
            r#"{ "at_ms": 1, "heal": true }, { "at_ms": 1, "heal": true }, { "at_ms": 1, "crash": 5 }"#,
        ),
        "faults[2].crash",
        "broker 5 does not exist (brokers = 3)",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": 1, "crash": 0 }"#),
        "faults[0].crash",
        "broker 0 does not exist",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": 1, "crash": 1.5 }"#),
        "faults[0].crash",
        "not a broker id",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": 1, "crash": "2" }"#),
        "faults[0].crash",
        "JSON integers",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": 1, "crash": null }"#),
        "faults[0].crash",
        "expected a broker id",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": 1, "crash": "leader" }"#),
        "faults[0].crash",
        "not a target",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": 1, "restart": [1, [2, 7]] }"#),
        "faults[0].restart[1][1]",
        "broker 7",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": 1, "restart": [] }"#),
        "faults[0].restart",
        "empty list",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": 1, "pause": "leader:u-0" }"#),
        "faults[0].pause",
        "topic `u` does not exist",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": 1, "pause": "leader:t" }"#),
        "faults[0].pause",
        "TOPIC-P",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": 1, "pause": "replica:t-0:3" }"#),
        "faults[0].pause",
        "replica index 3 does not exist",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": 1, "pause": "replica:t-0" }"#),
        "faults[0].pause",
        "missing the replica index",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": 1, "heal": false }"#),
        "faults[0].heal",
        "must be `true`",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": 1, "packet_loss": 2 }"#),
        "faults[0].packet_loss",
        "0.0..=1.0",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": 1, "packet_loss": "lots" }"#),
        "faults[0].packet_loss",
        "expected a rate",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": 1, "partition": [[1]] }"#),
        "faults[0].partition",
        "at least two groups",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": 1, "partition": [[1], []] }"#),
        "faults[0].partition[1]",
        "must not be empty",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": 1, "partition": "controller" }"#),
        "faults[0].partition",
        "list of groups",
    );
    // A group may be a bare target.
    let s = parse(&with_faults(
        r#"{ "at_ms": 1, "partition": ["controller", [1, 2]] }"#,
    ));
    assert!(matches!(&s.faults[0].action, FaultAction::Partition(g) if g[0] == Target::Controller));
}

#[test]
fn nemesis_and_expect_rules() {
    assert_rejected(
        &minimal_with(r#""nemesis": { "kinds": [] }"#),
        "nemesis.kinds",
        "at least one kind",
    );
    assert!(
        error(&minimal_with(r#""nemesis": { "kinds": [] }"#))
            .contains("bounce_leader, power_loss_all, crash_during_isr_change, disk_wipe)"),
        "the empty-kinds message lists every kind"
    );
    assert_rejected(
        &minimal_with(r#""nemesis": { "kinds": ["crash"], "interval_ms": 0, "max_down": 0 }"#),
        "nemesis.interval_ms",
        "> 0",
    );
    assert_rejected(
        &minimal_with(r#""nemesis": { "kinds": ["crash"] }"#),
        "nemesis.max_down",
        "default is 1",
    );
    assert_rejected(
        &minimal_with(r#""expect": { "violations": [] }"#),
        "expect.violations",
        "at least one",
    );
    assert_rejected(
        &minimal_with(r#""expect": { "violations": ["lost-write", "lost-writes"] }"#),
        "expect.violations[1]",
        "unknown violation kind `lost-writes`",
    );
    assert_rejected(
        &minimal_with(r#""expect": { "violations": ["model-invariant"] }"#),
        "expect.violations[0]",
        "simulator bug",
    );
    assert_rejected(
        &minimal_with(r#""expect": { "violation": ["lost-write"] }"#),
        "expect.violation",
        "unknown field",
    );
    let all = ViolationKind::ALL
        .iter()
        .filter(|k| **k != ViolationKind::ModelInvariant)
        .map(|k| format!("\"{k}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let s = parse(&minimal_with(&format!(
        r#""expect": {{ "violations": [{all}] }}"#
    )));
    assert!(matches!(s.expect, Expect::Violations(v) if v.len() == ViolationKind::ALL.len() - 1));
}

/// Found by reading while writing the fuzz test (the shipped scenarios have one topic
/// each, so the fuzzer never grew a second): the partition total overflowed and panicked.
#[test]
fn a_huge_partition_count_after_another_topic_is_an_error() {
    let text = MINIMAL.replace(
        r#"{ "name": "t", "partitions": 1, "replication_factor": 1 }"#,
        r#"{ "name": "t", "partitions": 1, "replication_factor": 1 }, { "name": "u", "partitions": 18446744073709551615, "replication_factor": 1 }"#,
    );
    assert_rejected(
        &text,
        "cluster.topics[1].partitions",
        "at most 1000 partitions",
    );
}

/// Found by running what the fuzzed loader accepted: a time near `u64::MAX` ms loaded
/// and then overflowed simulated time (a panic in the run). Every time field is capped
/// at Kafka's `int` limit.
#[test]
fn times_above_kafkas_int_limit_are_rejected() {
    let over = "2147483648";
    for (section, field) in [
        (
            r#""config": { "request_timeout_ms": N }"#,
            "config.request_timeout_ms",
        ),
        (r#""config": { "linger_ms": N }"#, "config.linger_ms"),
        (
            r#""config": { "fetch_max_wait_ms": N }"#,
            "config.fetch_max_wait_ms",
        ),
        (
            r#""config": { "flush": { "interval_ms": N } }"#,
            "config.flush.interval_ms",
        ),
        (
            r#""network": { "latency_ms": [1, N] }"#,
            "network.latency_ms",
        ),
        (
            r#""nemesis": { "kinds": ["crash"], "max_down": 0, "interval_ms": N }"#,
            "nemesis.interval_ms",
        ),
    ] {
        let text = minimal_with(&section.replace('N', over));
        assert_rejected(&text, field, "at most 2147483647 ms (about 24.8 days");
        parse(&minimal_with(&section.replace('N', "2147483647")));
    }
    let long = MINIMAL.replace("\"duration_ms\": 2000", &format!("\"duration_ms\": {over}"));
    assert_rejected(&long, "workload.duration_ms", "at most 2147483647 ms");
    let slow = MINIMAL.replace(
        "\"produce_interval_ms\": 10",
        "\"produce_interval_ms\": 18446744073709551615",
    );
    assert_rejected(
        &slow,
        "workload.produce_interval_ms",
        "at most 2147483647 ms",
    );
}

/// Indexes with more digits than the integer types hold are indexes that do not exist,
/// not "not a number" (strings the fuzz test tries; its rule only asks for a field, so
/// this was seen in its output, not flagged).
#[test]
fn a_too_large_index_in_a_target_does_not_exist() {
    assert_rejected(
        &with_faults(r#"{ "at_ms": 100, "crash": "replica:t-0:18446744073709551616" }"#),
        "faults[0].crash",
        "replica index 18446744073709551616 does not exist (partition `t-0` has replication \
         factor 3",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": 100, "crash": "leader:t-4294967296" }"#),
        "faults[0].crash",
        "partition `t-4294967296` does not exist (topic `t` has 1 partitions)",
    );
    assert_rejected(
        &with_faults(r#"{ "at_ms": 100, "crash": "replica:t-0:x" }"#),
        "faults[0].crash",
        "replica index `x` in `replica:t-0:x` is not a number",
    );
}
