//! Whole runs with a busy nemesis: the bounds hold, every kind shows up, and every
//! partition it draws has two non-empty sides.

use std::collections::BTreeSet;

use crate::harness::{self, RunReport};
use crate::history::EventKind;
use crate::scenario::Scenario;
use crate::types::SimTime;

/// 5 brokers, at most 2 down, every kind, a short interval.
const BUSY: &str = r#"{
  "name": "busy-nemesis",
  "cluster": { "brokers": 5, "topics": [ { "name": "t", "partitions": 3, "replication_factor": 3 } ] },
  "config": { "acks": "all", "min_insync_replicas": 2, "broker_session_timeout_ms": 1500,
              "broker_heartbeat_interval_ms": 300, "flush": "every-message" },
  "network": { "latency_ms": [2, 8], "packet_loss": 0.01 },
  "workload": { "duration_ms": 6000, "producers": 1, "produce_interval_ms": 20, "consumers": 1 },
  "nemesis": { "kinds": ["crash", "power_loss", "restart", "pause", "partition", "isolate",
                         "packet_loss", "latency"], "interval_ms": 300, "max_down": 2 }
}"#;

/// One run on a fresh thread (madsim seeds std's hasher per thread).
fn run(scenario: &Scenario, seed: u64) -> RunReport {
    std::thread::scope(|s| {
        s.spawn(|| harness::run(scenario, seed))
            .join()
            .expect("no panic")
    })
}

/// The nemesis' fault texts before the finale, with their times.
fn faults(report: &RunReport) -> Vec<(SimTime, String)> {
    report
        .history
        .events
        .iter()
        .take_while(|e| !matches!(&e.kind, EventKind::Phase { name } if name == "heal"))
        .filter_map(|e| match &e.kind {
            EventKind::Fault { description } => Some((e.time, description.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn bounds_hold_and_every_kind_is_drawn() {
    let scenario = Scenario::from_json(BUSY).expect("parses");
    let mut seen = BTreeSet::new();
    for seed in 1..=6 {
        let report = run(&scenario, seed);
        assert!(
            report.violations.is_empty(),
            "seed {seed}: {:?}",
            report.violations
        );
        let (mut down, mut cut, mut lossy, mut slow) = (BTreeSet::new(), false, false, false);
        let mut starts = Vec::new();
        for (time, text) in faults(&report) {
            let (verb, rest) = text.split_once(' ').unwrap_or((text.as_str(), ""));
            match verb {
                "crash" | "power_loss" | "pause" => assert!(down.insert(rest.to_string())),
                "restart" | "resume" => assert!(down.remove(rest)),
                "partition" | "isolate" => {
                    assert!(!cut, "seed {seed} at {time}: two network faults at once");
                    cut = true;
                }
                "heal" => cut = false,
                "packet_loss" if rest == "0.01" => lossy = false,
                "packet_loss" => {
                    assert!(!lossy, "seed {seed} at {time}: two loss bursts at once");
                    lossy = true;
                }
                "latency" if rest == "[2, 8]" => slow = false,
                "latency" => {
                    assert!(!slow, "seed {seed} at {time}: two latency spells at once");
                    slow = true;
                }
                other => panic!("unexpected fault `{text}` ({other})"),
            }
            assert!(down.len() <= 2, "seed {seed} at {time}: {down:?} down");
            if verb == "partition" {
                let sides: Vec<&str> = rest.split(" | ").collect();
                assert_eq!(sides.len(), 2, "{text}");
                assert!(sides.iter().all(|s| s.len() > 2), "an empty side: {text}");
            }
            if verb != "restart" && verb != "resume" && verb != "heal" {
                seen.insert(verb.to_string());
            }
            starts.push(time);
        }
        let mut distinct = starts.clone();
        distinct.dedup();
        assert!(distinct.len() > 10, "seed {seed}: the nemesis acts");
    }
    for kind in [
        "crash",
        "power_loss",
        "pause",
        "partition",
        "isolate",
        "packet_loss",
    ] {
        assert!(seen.contains(kind), "{kind} never drawn: {seen:?}");
    }
    assert!(seen.contains("latency"), "latency never drawn");
}

#[test]
fn action_times_are_jittered() {
    let scenario = Scenario::from_json(BUSY).expect("parses");
    let report = run(&scenario, 3);
    let times: Vec<u64> = faults(&report).iter().map(|(t, _)| t.as_ms()).collect();
    let gaps: BTreeSet<u64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.len() > 5,
        "fault times are not on a fixed grid: {times:?}"
    );
    assert!(times.iter().any(|t| t % 300 != 0));
}

/// Bounces only, on 3 brokers with at most 2 down, so that bounces can pile up.
const BOUNCES: &str = r#"{
  "name": "bounces",
  "cluster": { "brokers": 3, "topics": [ { "name": "t", "partitions": 1, "replication_factor": 3 } ] },
  "config": { "acks": "all", "min_insync_replicas": 1, "broker_session_timeout_ms": 600,
              "broker_heartbeat_interval_ms": 150, "unclean_leader_election": true },
  "network": { "latency_ms": [1, 5], "packet_loss": 0.0 },
  "workload": { "duration_ms": 8000, "producers": 1, "produce_interval_ms": 20, "consumers": 1 },
  "nemesis": { "kinds": ["bounce_leader"], "interval_ms": 500, "max_down": 2 }
}"#;

#[test]
fn piled_up_leaders_return_oldest_first() {
    let scenario = Scenario::from_json(BOUNCES).expect("parses");
    let mut piled_up = 0;
    for seed in 1..=8 {
        let report = run(&scenario, seed);
        // One bounce chain at a time: its crashed leaders, oldest first.
        let mut down: Vec<String> = Vec::new();
        for (time, text) in faults(&report) {
            let (verb, node) = text.split_once(' ').expect("verb and node");
            match verb {
                "crash" => {
                    down.push(node.to_string());
                    piled_up += usize::from(down.len() == 2);
                }
                "restart" => {
                    assert_eq!(
                        down.first().map(String::as_str),
                        Some(node),
                        "seed {seed} at {time}"
                    );
                    down.remove(0);
                }
                other => panic!("unexpected fault `{text}` ({other})"),
            }
            assert!(down.len() <= 2, "seed {seed} at {time}: {down:?} down");
        }
    }
    assert!(piled_up > 0, "no pile-up in 8 seeds");
}

/// Power loss of every replica only: one fault at a time, so its boots can be followed.
const POWER_CYCLES: &str = r#"{
  "name": "power-cycles",
  "cluster": { "brokers": 3, "topics": [ { "name": "t", "partitions": 1, "replication_factor": 3 } ] },
  "config": { "acks": "all", "min_insync_replicas": 1, "broker_session_timeout_ms": 600,
              "broker_heartbeat_interval_ms": 150, "flush": "never" },
  "network": { "latency_ms": [1, 5], "packet_loss": 0.0 },
  "workload": { "duration_ms": 8000, "producers": 1, "produce_interval_ms": 20, "consumers": 1 },
  "nemesis": { "kinds": ["power_loss_all"], "interval_ms": 1000, "max_down": 1 }
}"#;

#[test]
fn powered_off_replicas_boot_in_the_drawn_order_each_after_an_election_or_a_wait() {
    let scenario = Scenario::from_json(POWER_CYCLES).expect("parses");
    let mut waited_for_election = 0;
    for seed in 1..=6 {
        let report = run(&scenario, seed);
        let mut order: Vec<String> = Vec::new();
        let mut last_restart: Option<SimTime> = None;
        for (time, text) in faults(&report) {
            if let Some(list) = text.strip_prefix("power_loss [") {
                assert!(
                    order.is_empty(),
                    "seed {seed} at {time}: overlapping power losses"
                );
                order = list
                    .trim_end_matches(']')
                    .split(", ")
                    .map(String::from)
                    .collect();
                last_restart = None;
                continue;
            }
            let node = text
                .strip_prefix("restart ")
                .expect("only power losses and restarts");
            assert_eq!(
                order.first().map(String::as_str),
                Some(node),
                "seed {seed} at {time}"
            );
            order.remove(0);
            if let Some(previous) = last_restart {
                let elected = report.history.events.iter().any(|e| {
                    e.time > previous
                        && e.time <= time
                        && matches!(
                            &e.kind,
                            EventKind::LeaderElected {
                                leader: Some(_),
                                ..
                            }
                        )
                });
                waited_for_election += usize::from(elected);
            }
            last_restart = Some(time);
        }
    }
    assert!(waited_for_election > 0, "no boot followed an election");
}

/// Pauses make leaders shrink and expand the ISR; the watcher crashes leaders then.
const ISR_CHANGES: &str = r#"{
  "name": "isr-changes",
  "cluster": { "brokers": 3, "topics": [ { "name": "t", "partitions": 1, "replication_factor": 3 } ] },
  "config": { "acks": "all", "min_insync_replicas": 2, "broker_session_timeout_ms": 1500,
              "broker_heartbeat_interval_ms": 300, "replica_lag_time_max_ms": 400 },
  "network": { "latency_ms": [1, 10], "packet_loss": 0.0 },
  "workload": { "duration_ms": 8000, "producers": 1, "produce_interval_ms": 20, "consumers": 1 },
  "nemesis": { "kinds": ["pause", "crash_during_isr_change"], "interval_ms": 300, "max_down": 1,
               "buggify": false }
}"#;

#[test]
fn crash_during_isr_change_hits_a_leader_between_the_controllers_change_and_its_answer() {
    let scenario = Scenario::from_json(ISR_CHANGES).expect("parses");
    let mut crashes = 0;
    for seed in 1..=4 {
        let report = run(&scenario, seed);
        let events = &report.history.events;
        for (time, text) in faults(&report) {
            let Some(node) = text.strip_prefix("crash ") else {
                continue;
            };
            crashes += 1;
            // The controller stored an ISR with this leader in it at most one answer's
            // flight (10 ms) and one look (1 ms) earlier.
            let changed = events.iter().any(|e| match &e.kind {
                EventKind::IsrChanged { isr, .. } => {
                    e.time <= time
                        && time.ms_since(e.time) <= 11
                        && isr.iter().any(|b| format!("broker-{}", b.0) == node)
                }
                _ => false,
            });
            assert!(
                changed,
                "seed {seed}: {text} at {time} without an ISR change"
            );
        }
    }
    assert!(crashes > 0, "the watcher never crashed a leader");
}

/// 3 brokers, a quorum of 3 controllers, partitions only.
const QUORUM_PARTITIONS: &str = r#"{
  "name": "quorum-partitions",
  "cluster": { "brokers": 3, "controllers": 3,
               "topics": [ { "name": "t", "partitions": 1, "replication_factor": 3 } ] },
  "config": { "acks": "all", "min_insync_replicas": 2, "broker_session_timeout_ms": 1500,
              "broker_heartbeat_interval_ms": 300 },
  "network": { "latency_ms": [1, 5], "packet_loss": 0.0 },
  "workload": { "duration_ms": 8000, "producers": 1, "produce_interval_ms": 50, "consumers": 0 },
  "nemesis": { "kinds": ["partition"], "interval_ms": 400, "max_down": 1, "buggify": false }
}"#;

#[test]
fn a_quorum_split_cuts_the_active_controller_from_the_other_controllers_only() {
    let scenario = Scenario::from_json(QUORUM_PARTITIONS).expect("parses");
    let mut from_quorum = 0;
    for seed in 1..=3 {
        let report = run(&scenario, seed);
        let events = &report.history.events;
        for (time, text) in faults(&report) {
            let Some(groups) = text.strip_prefix("partition ") else {
                continue;
            };
            let sides: Vec<&str> = groups.split(" | ").collect();
            assert_eq!(sides.len(), 2, "{text}");
            if sides[0].contains("broker") || sides[1].contains("broker") {
                continue;
            }
            // No broker named: one controller against the two others, and it was the
            // active one (the latest activation before the cut).
            let lone = sides[0].trim_matches(['[', ']']);
            assert!(!lone.contains(','), "one controller alone: {text}");
            assert_eq!(sides[1].matches("controller-").count(), 2, "{text}");
            let active = events
                .iter()
                .take_while(|e| e.time <= time)
                .filter_map(|e| match &e.kind {
                    EventKind::Quorum(crate::quorum_event::QuorumEvent::Activated {
                        node, ..
                    }) => Some(node.to_string()),
                    _ => None,
                })
                .last();
            assert_eq!(active.as_deref(), Some(lone), "seed {seed}: {text}");
            from_quorum += 1;
        }
    }
    assert!(from_quorum > 0, "never drew ControllerFromQuorum");
}

/// 3 brokers that fsync every write, a quorum of 3 controllers, power losses only.
const QUORUM_POWER_LOSSES: &str = r#"{
  "name": "quorum-power-losses",
  "cluster": { "brokers": 3, "controllers": 3,
               "topics": [ { "name": "t", "partitions": 2, "replication_factor": 3 } ] },
  "config": { "acks": "all", "min_insync_replicas": 2, "broker_session_timeout_ms": 1500,
              "broker_heartbeat_interval_ms": 300, "replica_lag_time_max_ms": 1000,
              "flush": "every-message" },
  "network": { "latency_ms": [1, 10], "packet_loss": 0.0 },
  "workload": { "duration_ms": 15000, "producers": 1, "produce_interval_ms": 5, "consumers": 0 },
  "nemesis": { "kinds": ["power_loss"], "interval_ms": 500, "max_down": 1, "buggify": false }
}"#;

#[test]
fn an_aimed_power_loss_takes_metadata_entries_a_follower_already_holds() {
    use crate::quorum_event::QuorumEvent;
    let scenario = Scenario::from_json(QUORUM_POWER_LOSSES).expect("parses");
    let mut lost_held = 0;
    for seed in 1..=6 {
        let report = run(&scenario, seed);
        // Per controller: its log end, and the time each offset was last appended.
        let mut ends: std::collections::BTreeMap<String, u64> = Default::default();
        let mut held: Vec<(String, u64)> = Vec::new();
        let mut powered_off: Option<(String, u64)> = None;
        for e in &report.history.events {
            match &e.kind {
                EventKind::Fault { description } => {
                    if let Some(node) = description.strip_prefix("power_loss controller-") {
                        let node = format!("controller-{node}");
                        powered_off = Some((node.clone(), ends.get(&node).copied().unwrap_or(0)));
                    }
                }
                EventKind::Quorum(QuorumEvent::Appended {
                    node,
                    base_offset,
                    records,
                }) => {
                    let end = base_offset.0 + records.len() as u64;
                    ends.insert(node.to_string(), end);
                    held.extend((base_offset.0..end).map(|o| (node.to_string(), o)));
                }
                EventKind::Quorum(QuorumEvent::Truncated { node, to }) => {
                    let node = node.to_string();
                    // The boot line of the controller that lost power: entries gone that
                    // another controller had appended.
                    if let Some((off, end_before)) = powered_off.take_if(|(n, _)| *n == node)
                        && to.0 < end_before
                        && held.iter().any(|(n, o)| *n != off && *o == to.0)
                    {
                        lost_held += 1;
                    }
                    ends.insert(node, to.0);
                }
                _ => {}
            }
        }
    }
    assert!(lost_held > 0, "no power loss took entries a follower held");
}
