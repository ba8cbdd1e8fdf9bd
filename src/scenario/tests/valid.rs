//! The contract's valid examples and other accepted inputs.

use super::*;
use crate::config::{Acks, ConsumerReadLimit, FlushPolicy, Truncation};

#[test]
fn minimal_gets_every_default() {
    let s = parse(MINIMAL);
    assert_eq!(s.name, "minimal");
    assert_eq!(s.description, "");
    assert_eq!(s.seed, 1);
    assert_eq!(s.config, Config::default());
    assert_eq!(
        s.network,
        Network {
            latency_ms: (1, 10),
            packet_loss: 0.0
        }
    );
    assert_eq!(s.expect, Expect::Pass);
    assert_eq!(s.faults, vec![]);
    assert_eq!(s.nemesis, None);
    assert_eq!(s.layout, Layout::new(1, &[("t".into(), 1, 1)]));
    assert_eq!(
        s.workload,
        Workload {
            duration_ms: 2000,
            producers: 1,
            produce_interval_ms: 10,
            consumers: 1,
            partitioner: Partitioner::RoundRobin,
            groups: Vec::new(),
        }
    );
}

#[test]
fn every_config_field() {
    let s = parse(EVERY_CONFIG_FIELD);
    assert_eq!(s.seed, 7);
    assert_eq!(s.description, "Sets every config and network field.");
    let c = &s.config;
    assert_eq!(c.acks, Acks::All);
    assert_eq!(c.min_insync_replicas, 2);
    assert!(!c.unclean_leader_election);
    assert_eq!(c.replica_lag_time_max_ms, 2000);
    assert_eq!(c.broker_session_timeout_ms, 1500);
    assert_eq!(c.broker_heartbeat_interval_ms, 300);
    assert_eq!(c.flush, FlushPolicy::IntervalMs(100));
    assert_eq!(c.truncation, Truncation::LeaderEpoch);
    assert_eq!(c.consumer_read_limit, ConsumerReadLimit::HighWatermark);
    assert!(c.idempotent_producer);
    assert_eq!(c.producer_retries, 5);
    // Untouched fields keep Kafka's defaults.
    assert_eq!(c.linger_ms, Config::default().linger_ms);
    assert_eq!(
        s.network,
        Network {
            latency_ms: (2, 4),
            packet_loss: 0.01
        }
    );
    assert_eq!(s.workload.producers, 2);
    assert_eq!(s.workload.consumers, 2);
    assert_eq!(s.layout.partitions.len(), 2);
}

#[test]
fn every_fault_and_target() {
    let s = parse(EVERY_FAULT);
    let p0 = PartitionId(0);
    let p1 = PartitionId(1);
    let brokers =
        |ids: &[u8]| Target::List(ids.iter().map(|&b| Target::Broker(BrokerId(b))).collect());
    let expected = vec![
        (
            1000,
            FaultAction::Pause(Target::Replica {
                partition: p0,
                index: 2,
            }),
        ),
        (
            1500,
            FaultAction::Resume(Target::Replica {
                partition: p0,
                index: 2,
            }),
        ),
        (2000, FaultAction::Crash(Target::Leader(p0))),
        (4000, FaultAction::Restart(brokers(&[1, 2, 3]))),
        (5000, FaultAction::Isolate(Target::Controller)),
        (6000, FaultAction::Heal),
        (
            6500,
            FaultAction::Partition(vec![
                Target::List(vec![Target::Leader(p1)]),
                Target::List(vec![Target::Followers(p1)]),
            ]),
        ),
        (7500, FaultAction::Heal),
        (8000, FaultAction::PowerLoss(Target::Broker(BrokerId(2)))),
        (9000, FaultAction::Restart(Target::Broker(BrokerId(2)))),
        (9500, FaultAction::PacketLoss(0.05)),
        (10500, FaultAction::PacketLoss(0.0)),
    ];
    let expected: Vec<TimedFault> = expected
        .into_iter()
        .map(|(at_ms, action)| TimedFault { at_ms, action })
        .collect();
    assert_eq!(s.faults, expected);
    assert_eq!(s.seed, 1);
}

#[test]
fn expect_violation() {
    let s = parse(EXPECT_VIOLATION);
    assert_eq!(s.config.acks, Acks::One);
    assert_eq!(s.expect, Expect::Violations(vec![ViolationKind::LostWrite]));
    // Same at_ms keeps file order.
    assert_eq!(s.faults[2].action, FaultAction::Heal);
    assert!(matches!(s.faults[3].action, FaultAction::Restart(_)));
}

#[test]
fn nemesis() {
    let s = parse(NEMESIS);
    let n = s.nemesis.expect("nemesis");
    assert_eq!(
        n.kinds,
        vec![
            NemesisKind::Crash,
            NemesisKind::PowerLoss,
            NemesisKind::Partition,
            NemesisKind::Pause
        ]
    );
    assert_eq!(n.interval_ms, 2000);
    assert_eq!(n.max_down, 1);
    let defaults = parse(
        &minimal_with(r#""nemesis": { "kinds": ["restart", "isolate", "packet_loss"] }"#)
            .replace("\"brokers\": 1", "\"brokers\": 3"),
    );
    let n = defaults.nemesis.expect("nemesis");
    assert_eq!(n.interval_ms, 2000);
    assert_eq!(n.max_down, 1);
}

#[test]
fn nemesis_latency_kind() {
    let s = parse(
        &minimal_with(
            r#""nemesis": { "kinds": ["latency", "partition", "latency"], "interval_ms": 500 }"#,
        )
        .replace("\"brokers\": 1", "\"brokers\": 3"),
    );
    let n = s.nemesis.expect("nemesis");
    assert_eq!(
        n.kinds,
        vec![
            NemesisKind::Latency,
            NemesisKind::Partition,
            NemesisKind::Latency
        ]
    );
    assert_eq!(n.interval_ms, 500);
}

#[test]
fn format_sample() {
    let s = parse(FORMAT_SAMPLE);
    assert_eq!(s.config.flush, FlushPolicy::Never);
    assert_eq!(s.config.producer_retries, 3);
    assert_eq!(s.faults.len(), 4);
    assert_eq!(
        s.faults[0].action,
        FaultAction::Crash(Target::Leader(PartitionId(0)))
    );
}

#[test]
fn extra_kafka_settings_and_enums() {
    let s = parse(&minimal_with(
        r#""config": {
            "acks": 0, "flush": "every-message", "truncation": "high-watermark",
            "consumer_read_limit": "log-end", "linger_ms": 0, "request_timeout_ms": 1000,
            "delivery_timeout_ms": 5000, "retry_backoff_ms": 50, "replica_fetch_wait_max_ms": 100,
            "replica_fetch_backoff_ms": 200, "fetch_max_wait_ms": 0,
            "replica_high_watermark_checkpoint_interval_ms": 250, "metadata_max_age_ms": 3000,
            "eligible_leader_replicas": false, "hw_requires_min_isr": false,
            "isr_join_requires_epoch_start": false, "unclean_leader_election": true
        }"#,
    ));
    let c = &s.config;
    assert_eq!(c.acks, Acks::Zero);
    assert_eq!(c.flush, FlushPolicy::EveryMessage);
    assert_eq!(c.truncation, Truncation::HighWatermark);
    assert_eq!(c.consumer_read_limit, ConsumerReadLimit::LogEnd);
    assert_eq!(
        (
            c.linger_ms,
            c.request_timeout_ms,
            c.delivery_timeout_ms,
            c.retry_backoff_ms
        ),
        (0, 1000, 5000, 50)
    );
    assert_eq!(
        (
            c.replica_fetch_wait_max_ms,
            c.replica_fetch_backoff_ms,
            c.fetch_max_wait_ms
        ),
        (100, 200, 0)
    );
    assert_eq!(
        (
            c.replica_high_watermark_checkpoint_interval_ms,
            c.metadata_max_age_ms
        ),
        (250, 3000)
    );
    assert!(
        !c.eligible_leader_replicas && !c.hw_requires_min_isr && !c.isr_join_requires_epoch_start
    );
    assert!(c.unclean_leader_election);
}

#[test]
fn partitioner_and_dashed_topics() {
    let text = r#"{ "name": "dashes",
      "cluster": { "brokers": 3, "topics": [
        { "name": "a", "partitions": 2, "replication_factor": 2 },
        { "name": "my-topic-2", "partitions": 3, "replication_factor": 3 } ] },
      "workload": { "duration_ms": 1000, "producers": 0, "produce_interval_ms": 1, "consumers": 0,
                    "partitioner": "key-hash" },
      "faults": [ { "at_ms": 1000, "crash": ["replica:my-topic-2-2:2", ["followers:a-1", 3]] } ] }"#;
    let s = parse(text);
    assert_eq!(s.workload.partitioner, Partitioner::KeyHash);
    assert_eq!(
        s.faults[0].action,
        FaultAction::Crash(Target::List(vec![
            Target::Replica {
                partition: PartitionId(4),
                index: 2
            },
            Target::List(vec![
                Target::Followers(PartitionId(1)),
                Target::Broker(BrokerId(3))
            ]),
        ]))
    );
}

#[test]
fn groups_add_the_offsets_topic_and_their_settings() {
    use crate::core::group::assignor::AssignorKind;
    use crate::core::group::member::CommitMode;
    let text = r#"{ "name": "groups",
      "cluster": { "brokers": 2, "topics": [ { "name": "events", "partitions": 2, "replication_factor": 2 } ] },
      "config": { "session_timeout_ms": 6000, "heartbeat_interval_ms": 1000, "auto_offset_reset": "earliest",
                  "offsets_topic_partitions": 3 },
      "workload": { "duration_ms": 1000, "producers": 1, "produce_interval_ms": 5, "consumers": 0,
                    "groups": [ { "name": "g1", "members": 3, "topics": ["events"],
                                  "assignor": "cooperative-sticky", "commit": "auto", "process_ms": 2 } ] } }"#;
    let s = parse(text);
    let g = &s.workload.groups[0];
    assert_eq!((g.name.as_str(), g.members, g.process_ms), ("g1", 3, 2));
    assert_eq!(
        (g.assignor, g.commit),
        (AssignorKind::CooperativeSticky, CommitMode::Auto)
    );
    assert_eq!(s.layout.user_partition_ids().len(), 2);
    assert_eq!(
        s.layout.partitions.len(),
        5,
        "three __consumer_offsets partitions"
    );
    let p = &s.layout.partitions[4];
    assert_eq!(
        (p.topic.as_str(), p.replicas.len()),
        ("__consumer_offsets", 2),
        "RF capped at the brokers"
    );
    assert_eq!(s.config.group.session_timeout_ms, 6000);
    assert!(s.config.group.offset_reset_earliest);
    let plain = parse(&minimal_with(r#""config": {}"#));
    assert!(
        !plain.layout.has_offsets_topic(),
        "no groups, no offsets topic"
    );
}
