//! Whole-cluster tests of the white-box and delivery checkers: `read-above-hw` catches a
//! broker serving consumers up to its log end where the black-box `uncommitted-read`
//! cannot tell, and `slow-failover` and `unseen` catch the deliberate bugs of
//! `Config::hooks` and stay quiet without them.

use std::path::Path;

use kafkasim::config::ConsumerReadLimit;
use kafkasim::harness::RunReport;
use kafkasim::history::EventKind;
use kafkasim::scenario::Scenario;
use kafkasim::violation::ViolationKind;

use super::{load, run_seed};

/// 3 brokers, one partition with RF 3, acks=all, min.insync 2, fast sessions; the
/// leader's process crashes at 2 s and stays down until the finale.
const LEADER_CRASH: &str = r#"{
  "name": "leader-crash-stays-down",
  "cluster": { "brokers": 3, "topics": [ { "name": "events", "partitions": 1, "replication_factor": 3 } ] },
  "config": { "acks": "all", "min_insync_replicas": 2, "replica_lag_time_max_ms": 1000,
              "broker_session_timeout_ms": 1500, "broker_heartbeat_interval_ms": 300,
              "request_timeout_ms": 3000 },
  "workload": { "duration_ms": 8000, "producers": 1, "produce_interval_ms": 10, "consumers": 1 },
  "faults": [ { "at_ms": 2000, "crash": "leader:events-0" } ],
  "expect": "pass"
}"#;

fn kinds(report: &RunReport) -> Vec<ViolationKind> {
    report.violations.iter().map(|v| v.kind).collect()
}

fn leader_crash(hooked: impl Fn(&mut Scenario)) -> Vec<RunReport> {
    let mut scenario = Scenario::from_json(LEADER_CRASH).expect("scenario parses");
    hooked(&mut scenario);
    (1..=3).map(|seed| run_seed(&scenario, seed)).collect()
}

#[test]
fn read_above_hw_sees_reads_past_the_hw_that_uncommitted_read_cannot() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/leader-isolated.json");
    let mut scenario = load(&path);
    scenario.config.consumer_read_limit = ConsumerReadLimit::LogEnd;
    let mut black_box_blind = 0;
    for seed in 1..=5 {
        let report = run_seed(&scenario, seed);
        let above: Vec<_> = report
            .violations
            .iter()
            .filter(|v| v.kind == ViolationKind::ReadAboveHw)
            .collect();
        assert!(!above.is_empty(), "seed {seed}: {:?}", kinds(&report));
        for v in above {
            assert_eq!(
                v.permitted_by.as_deref(),
                Some("consumer_read_limit=log-end")
            );
            let served_above = v.evidence.iter().any(|i| {
                matches!(report.history.events[*i].kind,
                    EventKind::ConsumerServed { from, count, hw, .. } if from.plus(count) > hw)
            });
            assert!(served_above, "seed {seed}: {}", v.message);
        }
        if !kinds(&report).contains(&ViolationKind::UncommittedRead) {
            black_box_blind += 1;
        }
    }
    assert!(
        black_box_blind > 0,
        "on some seed idempotent retries re-commit what the consumer read early"
    );
    scenario.config.consumer_read_limit = ConsumerReadLimit::HighWatermark;
    for seed in 1..=2 {
        let report = run_seed(&scenario, seed);
        assert_eq!(kinds(&report), vec![], "seed {seed}");
    }
}

#[test]
fn slow_failover_catches_a_controller_that_never_fences() {
    for report in leader_crash(|s| s.config.hooks.controller_never_fences = true) {
        let slow: Vec<_> = report
            .violations
            .iter()
            .filter(|v| v.kind == ViolationKind::SlowFailover)
            .collect();
        assert_eq!(slow.len(), 1, "seed {}: {:?}", report.seed, kinds(&report));
        assert_eq!(slow[0].partition.as_deref(), Some("events-0"));
        let crash = &report.history.events[slow[0].evidence[0]].kind;
        assert!(
            matches!(crash, EventKind::Fault { description } if description.starts_with("crash")),
            "the stall began with the crash: {crash:?}"
        );
    }
    for report in leader_crash(|_| {}) {
        assert_eq!(kinds(&report), vec![], "seed {}", report.seed);
    }
}

#[test]
fn unseen_catches_a_consumer_that_stops_following_leader_changes() {
    for report in leader_crash(|s| s.config.hooks.consumer_ignores_leader_changes = true) {
        assert!(
            kinds(&report).contains(&ViolationKind::Unseen),
            "seed {}: {:?}",
            report.seed,
            kinds(&report)
        );
        let gave_up = report
            .history
            .events
            .iter()
            .any(|e| matches!(e.kind, EventKind::DrainGaveUp { consumer: 1, .. }));
        assert!(gave_up, "seed {}: the drain says it gave up", report.seed);
    }
    for report in leader_crash(|_| {}) {
        assert_eq!(kinds(&report), vec![], "seed {}", report.seed);
        let drained = report
            .history
            .events
            .iter()
            .any(|e| matches!(e.kind, EventKind::Drained { complete: true, .. }));
        assert!(drained, "seed {}: the drain reached the end", report.seed);
    }
}
