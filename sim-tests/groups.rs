//! Consumer groups end to end: members find the coordinator (the leader of the group's
//! `__consumer_offsets` partition), split the partitions, process and commit; under
//! broker crashes that move the coordinator and the partition leaders, with commits
//! after processing, the group still processes every record of the final log from where
//! it started, and its final committed offsets reach the end.

use std::collections::{BTreeMap, BTreeSet};

use kafkasim::group_event::GroupEvent;
use kafkasim::history::{EventKind, History};
use kafkasim::scenario::Scenario;
use kafkasim::types::{MessageId, Offset, PartitionId};

use super::run_seed;

const GROUP_UNDER_CRASHES: &str = r#"{
  "name": "group-under-broker-crashes",
  "cluster": { "brokers": 3, "topics": [ { "name": "events", "partitions": 2, "replication_factor": 3 } ] },
  "config": { "acks": "all", "min_insync_replicas": 2, "replica_lag_time_max_ms": 1000,
              "broker_session_timeout_ms": 1500, "broker_heartbeat_interval_ms": 300,
              "request_timeout_ms": 3000, "session_timeout_ms": 3000, "heartbeat_interval_ms": 500,
              "auto_offset_reset": "earliest", "group_initial_rebalance_delay_ms": 300 },
  "workload": { "duration_ms": 10000, "producers": 1, "produce_interval_ms": 10, "consumers": 0,
                "groups": [ { "name": "g1", "members": 2, "topics": ["events"] } ] },
  "nemesis": { "kinds": ["crash", "restart"], "interval_ms": 1500, "max_down": 1 },
  "expect": "pass"
}"#;

/// Records of each final log at or above the group's start that no member processed.
fn unprocessed(history: &History) -> Vec<(PartitionId, Offset)> {
    let mut start: BTreeMap<PartitionId, Offset> = BTreeMap::new();
    let mut processed: BTreeSet<(PartitionId, Offset, MessageId)> = BTreeSet::new();
    let mut finals = Vec::new();
    for event in &history.events {
        match &event.kind {
            EventKind::Group(GroupEvent::Assign { positions, .. }) => {
                for (p, o) in positions {
                    start.entry(*p).or_insert(*o);
                }
            }
            EventKind::Group(GroupEvent::Process {
                partition, records, ..
            }) => {
                processed.extend(records.iter().map(|(o, v)| (*partition, *o, *v)));
            }
            EventKind::FinalPartition {
                partition, records, ..
            } => finals.push((*partition, records.clone())),
            _ => {}
        }
    }
    let mut missing = Vec::new();
    for (p, records) in finals {
        let Some(from) = start.get(&p) else { continue };
        for (o, v) in records.iter().enumerate().skip(from.0 as usize) {
            if !processed.contains(&(p, Offset(o as u64), *v)) {
                missing.push((p, Offset(o as u64)));
            }
        }
    }
    missing
}

#[test]
fn a_group_processes_every_record_across_coordinator_and_leader_failovers() {
    let scenario = Scenario::from_json(GROUP_UNDER_CRASHES).expect("valid");
    let mut failovers = 0;
    for seed in 1..=4 {
        let report = run_seed(&scenario, seed);
        let history = &report.history;
        assert!(
            report.violations.is_empty(),
            "seed {seed}: {:?}",
            report.violations
        );
        let missing = unprocessed(history);
        assert!(
            missing.is_empty(),
            "seed {seed}: never processed {missing:?}"
        );
        let coordinators: BTreeSet<_> = (history.events.iter())
            .filter_map(|e| match &e.kind {
                EventKind::Group(GroupEvent::CommitAccepted { broker, .. }) => Some(*broker),
                _ => None,
            })
            .collect();
        failovers += coordinators.len() - 1;
        let finals: Vec<Offset> = (history.events.iter())
            .find_map(|e| match &e.kind {
                EventKind::Group(GroupEvent::FinalOffsets { offsets, .. }) => {
                    Some(offsets.iter().map(|(_, o)| *o).collect())
                }
                _ => None,
            })
            .expect("final offsets are recorded");
        assert_eq!(finals.len(), 2, "seed {seed}: both partitions committed");
    }
    assert!(
        failovers > 0,
        "the crashes moved the coordinator at least once"
    );
}

#[test]
fn a_group_run_replays_bit_for_bit() {
    let scenario = Scenario::from_json(GROUP_UNDER_CRASHES).expect("valid");
    let first = run_seed(&scenario, 7);
    let second = run_seed(&scenario, 7);
    assert_eq!(first.trace_hash, second.trace_hash);
    assert_eq!(first.history, second.history);
    let processed = (first.history.events.iter())
        .filter(|e| matches!(e.kind, EventKind::Group(GroupEvent::Process { .. })))
        .count();
    assert!(processed > 0, "the members processed records");
}
