//! `disk_wipe`: a broker's drive replaced. It comes back at once with an empty log,
//! refetches everything from the leader and rejoins the ISR; acks=all loses nothing. The
//! nemesis draws it, and unroll writes it back as an explicit fault that replays the run.

use kafkasim::harness::unroll::unroll;
use kafkasim::history::{EventKind, TruncationReason};
use kafkasim::scenario::Scenario;
use kafkasim::types::{BrokerId, Offset};

use super::run_seed;

const FOLLOWER_WIPED: &str = r#"{
  "name": "follower-disk-wipe",
  "cluster": { "brokers": 3, "topics": [ { "name": "events", "partitions": 1, "replication_factor": 3 } ] },
  "config": { "acks": "all", "min_insync_replicas": 2, "replica_lag_time_max_ms": 1000,
              "broker_session_timeout_ms": 1500, "broker_heartbeat_interval_ms": 300 },
  "workload": { "duration_ms": 8000, "producers": 1, "produce_interval_ms": 5, "consumers": 1 },
  "faults": [ { "at_ms": 3000, "disk_wipe": "replica:events-0:2" } ],
  "expect": "pass"
}"#;

#[test]
fn a_wiped_follower_refetches_everything_rejoins_the_isr_and_nothing_is_lost() {
    let scenario = Scenario::from_json(FOLLOWER_WIPED).expect("valid");
    let report = run_seed(&scenario, 1);
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    let wiped = BrokerId(3);
    let events = &report.history.events;
    let fault = events
        .iter()
        .position(|e| matches!(&e.kind, EventKind::Fault { description } if description == "disk_wipe broker-3"))
        .expect("the fault is recorded");
    let truncated = events[fault..].iter().find_map(|e| match &e.kind {
        EventKind::Truncated {
            broker,
            from_leo,
            to,
            reason: TruncationReason::DiskWipe,
            ..
        } if *broker == wiped => Some((*from_leo, *to)),
        _ => None,
    });
    let (from_leo, to) = truncated.expect("the wiped log is traced as truncated");
    assert!(
        from_leo > Offset(100),
        "it held the log before: {from_leo:?}"
    );
    assert_eq!(to, Offset(0));
    let recovered = events[fault..].iter().find_map(|e| match &e.kind {
        EventKind::ReplicaRecovered {
            broker, leo, hw, ..
        } if *broker == wiped => Some((*leo, *hw)),
        _ => None,
    });
    assert_eq!(
        recovered,
        Some((Offset(0), Offset(0))),
        "it boots on an empty disk"
    );
    let refetched = events[fault..].iter().any(|e| {
        matches!(&e.kind, EventKind::FollowerAppended { broker, base_offset, .. }
            if *broker == wiped && *base_offset == Offset(0))
    });
    assert!(refetched, "it fetches the log again from offset 0");
    let isr_changes = events[fault..].iter().filter_map(|e| match &e.kind {
        EventKind::IsrChanged { isr, .. } | EventKind::LeaderElected { isr, .. } => Some(isr),
        _ => None,
    });
    let (mut left, mut rejoined) = (false, false);
    for isr in isr_changes {
        left |= !isr.contains(&wiped);
        rejoined |= left && isr.contains(&wiped);
    }
    assert!(
        left,
        "the wiped broker leaves the ISR (its new incarnation is fenced)"
    );
    assert!(
        rejoined,
        "the wiped broker rejoins the ISR once it caught up"
    );
}

#[test]
fn the_nemesis_draws_disk_wipes_and_unroll_replays_them() {
    let text = r#"{
  "name": "disk-wipe-nemesis",
  "cluster": { "brokers": 3, "topics": [ { "name": "events", "partitions": 2, "replication_factor": 3 } ] },
  "config": { "acks": "all", "min_insync_replicas": 2, "replica_lag_time_max_ms": 1000,
              "broker_session_timeout_ms": 1500, "broker_heartbeat_interval_ms": 300 },
  "workload": { "duration_ms": 10000, "producers": 1, "produce_interval_ms": 10, "consumers": 1 },
  "nemesis": { "kinds": ["disk_wipe", "pause"], "interval_ms": 1000, "max_down": 1 },
  "expect": "pass"
}"#;
    let scenario = Scenario::from_json(text).expect("valid");
    let mut wiped = 0;
    for seed in 1..=5 {
        let unrolled = unroll(text, &scenario, seed).expect("unrolls");
        wiped += unrolled.text.matches("\"disk_wipe\"").count();
        let replay = run_seed(&unrolled.scenario, seed);
        assert_eq!(
            replay.trace_hash, unrolled.report.trace_hash,
            "seed {seed}: the unrolled faults replay the same execution"
        );
    }
    assert!(wiped > 0, "the nemesis drew no disk_wipe in 5 seeds");
}

#[test]
fn disk_wipe_hits_brokers_only() {
    let text = FOLLOWER_WIPED.replace("\"replica:events-0:2\"", "\"controller\"");
    let error = Scenario::from_json(&text).expect_err("the controller has no broker disk");
    let message = error.to_string();
    assert!(message.contains("faults[0].disk_wipe"), "{message}");
    assert!(message.contains("brokers only"), "{message}");
}

/// The nemesis never wipes the last in-sync copy of a partition: a wiped broker counts as
/// down until it is back in every ISR, and a wipe needs another in-sync replica that runs
/// under its current registration. Without those bounds about one seed in five of this
/// scenario lost acknowledged records to wipes alone.
#[test]
fn nemesis_wipes_with_crashes_and_loss_keep_an_in_sync_copy_and_lose_nothing() {
    let text = r#"{
  "name": "disk-wipe-crash-nemesis",
  "cluster": { "brokers": 3, "topics": [ { "name": "events", "partitions": 2, "replication_factor": 3 } ] },
  "config": { "acks": "all", "min_insync_replicas": 2, "replica_lag_time_max_ms": 1000,
              "broker_session_timeout_ms": 1500, "broker_heartbeat_interval_ms": 300 },
  "workload": { "duration_ms": 20000, "producers": 1, "produce_interval_ms": 5, "consumers": 1 },
  "nemesis": { "kinds": ["disk_wipe", "crash", "packet_loss", "crash_during_isr_change"],
               "interval_ms": 2000, "max_down": 1 },
  "expect": "pass"
}"#;
    let scenario = Scenario::from_json(text).expect("valid");
    let mut wipes = 0;
    for seed in 1..=15 {
        let report = run_seed(&scenario, seed);
        assert!(
            report.violations.is_empty(),
            "seed {seed}: {:?}",
            report.violations.first()
        );
        wipes += report
            .history
            .events
            .iter()
            .filter(|e| matches!(&e.kind, EventKind::Fault { description } if description.starts_with("disk_wipe")))
            .count();
    }
    assert!(wipes >= 15, "only {wipes} wipes in 15 seeds");
}

/// With a controller quorum a restarted (here: wiped) broker replays the metadata log
/// from the start and passes through states in which its previous incarnation led
/// partitions; it must not act on them before it has replayed its own registration.
/// Seed 101 of this scenario once had a wiped broker lead again in a leader epoch the
/// controller had already replaced, truncating both followers to its empty log.
#[test]
fn a_restarted_broker_never_leads_in_a_leader_epoch_the_controller_already_replaced() {
    let text = r#"{"name": "disk-wipe-quorum-nemesis", "cluster": {"brokers": 3, "controllers": 3, "topics": [{"name": "events", "partitions": 2, "replication_factor": 3}]}, "config": {"kafka_version": "4.1", "acks": "all", "min_insync_replicas": 2, "unclean_leader_election": false, "replica_lag_time_max_ms": 1000, "broker_session_timeout_ms": 1500, "broker_heartbeat_interval_ms": 300, "request_timeout_ms": 3000}, "network": {"latency_ms": [1, 10], "packet_loss": 0.0}, "workload": {"duration_ms": 20000, "producers": 1, "produce_interval_ms": 5, "consumers": 1}, "nemesis": {"kinds": ["disk_wipe", "crash", "packet_loss", "pause", "partition", "crash_during_isr_change"], "interval_ms": 2000, "max_down": 1}, "expect": "pass"}"#;
    let scenario = Scenario::from_json(text).expect("valid");
    for seed in [101, 1, 2, 3] {
        let report = run_seed(&scenario, seed);
        let mut elected: std::collections::BTreeMap<_, kafkasim::types::LeaderEpoch> =
            std::collections::BTreeMap::new();
        for e in &report.history.events {
            match &e.kind {
                EventKind::LeaderElected {
                    partition,
                    leader_epoch,
                    ..
                } => {
                    let newest = elected.entry(*partition).or_insert(*leader_epoch);
                    *newest = (*newest).max(*leader_epoch);
                }
                EventKind::BecameLeader {
                    broker,
                    partition,
                    leader_epoch,
                    ..
                } => {
                    let newest = elected.get(partition).copied().unwrap_or(*leader_epoch);
                    assert!(
                        *leader_epoch >= newest,
                        "seed {seed}: broker {broker:?} leads {partition:?} in {leader_epoch:?} after {newest:?} was elected"
                    );
                }
                _ => {}
            }
        }
        assert!(
            report.violations.is_empty(),
            "seed {seed}: {:?}",
            report.violations.first()
        );
    }
}
