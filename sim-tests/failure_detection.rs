//! Failure detection as on real hosts: a crashed process's host resets its connections, so
//! clients move to the new leader right after the election; a power loss, a pause or a
//! network cut is silent, so they wait for their timeouts.

use kafkasim::availability::FaultKind;
use kafkasim::harness::RunReport;
use kafkasim::history::{EventKind, History};
use kafkasim::scenario::Scenario;
use kafkasim::types::{NodeId, SimTime};

use super::run_seed;

/// 1 partition with RF 3, acks=all, session timeout 1.5 s; `fault` hits the leader at 3 s
/// and the broker stays down for the rest of the workload.
fn scenario(fault: &str) -> Scenario {
    let text = format!(
        r#"{{
  "name": "leader-{fault}",
  "cluster": {{ "brokers": 3, "topics": [ {{ "name": "events", "partitions": 1, "replication_factor": 3 }} ] }},
  "config": {{ "acks": "all", "min_insync_replicas": 2, "replica_lag_time_max_ms": 1000,
              "broker_session_timeout_ms": 1500, "broker_heartbeat_interval_ms": 300 }},
  "workload": {{ "duration_ms": 40000, "producers": 1, "produce_interval_ms": 5, "consumers": 1 }},
  "faults": [ {{ "at_ms": 3000, "{fault}": "leader:events-0" }} ],
  "expect": "pass"
}}"#
    );
    Scenario::from_json(&text).expect("valid scenario")
}

/// The first election after `after`, and the first acknowledgement after `after`.
fn election_and_first_ack(history: &History, after: SimTime) -> (SimTime, SimTime) {
    let later = || history.events.iter().filter(move |e| e.time > after);
    let elected = later()
        .find(|e| {
            matches!(
                e.kind,
                EventKind::LeaderElected {
                    leader: Some(_),
                    ..
                }
            )
        })
        .expect("a new leader is elected")
        .time;
    let acked = later()
        .find(|e| matches!(e.kind, EventKind::SendOk { .. }))
        .expect("a send is acknowledged after the fault")
        .time;
    (elected, acked)
}

/// The outage of events-0 that the fault at 3 s began: its length in ms.
fn outage_ms(report: &RunReport, kind: FaultKind) -> u64 {
    let outage = report
        .availability
        .outages
        .iter()
        .find(|o| o.from >= SimTime::from_ms(2900) && o.kind == kind)
        .unwrap_or_else(|| panic!("a {kind} outage: {:?}", report.availability.outages));
    assert!(outage.cause.contains("broker-"), "{}", outage.cause);
    outage.length_ms()
}

fn disconnects(history: &History) -> Vec<(NodeId, NodeId, bool)> {
    history
        .events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Disconnected {
                node,
                peer,
                refused,
            } => Some((node, peer, refused)),
            _ => None,
        })
        .collect()
}

#[test]
fn after_a_process_crash_the_producer_acks_within_two_seconds_of_the_election() {
    let report = run_seed(&scenario("crash"), 1);
    let crash = SimTime::from_ms(3000);
    let (elected, acked) = election_and_first_ack(&report.history, crash);
    assert!(
        acked.ms_since(elected) <= 2000 && acked > elected,
        "election at {elected}, first ack after the crash at {acked}"
    );
    let seen = disconnects(&report.history);
    for peer in ["producer-1", "consumer-1", "controller"] {
        assert!(
            seen.iter()
                .any(|(node, _, refused)| node.to_string() == peer && !refused),
            "{peer} hears the reset: {seen:?}"
        );
    }
    assert!(
        seen.iter().any(|(_, _, refused)| *refused),
        "a connection attempt to the down process is refused: {seen:?}"
    );
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    let length = outage_ms(&report, FaultKind::Crash);
    assert!(length < 3000, "the crash outage lasts {length} ms");
}

#[test]
fn after_a_power_loss_the_producer_waits_for_its_request_timeout() {
    let scenario = scenario("power_loss");
    let report = run_seed(&scenario, 1);
    let crash = SimTime::from_ms(3000);
    let (elected, acked) = election_and_first_ack(&report.history, crash);
    let timeout_ms = scenario.config.request_timeout_ms;
    assert!(
        elected.ms_since(crash) < 3000,
        "the controller still notices by the session timeout: {elected}"
    );
    assert!(
        acked.ms_since(crash) >= timeout_ms,
        "first ack at {acked}: before the {timeout_ms} ms request timeout"
    );
    assert_eq!(
        disconnects(&report.history),
        vec![],
        "a powered-off host is silent"
    );
}

#[test]
fn pauses_and_network_cuts_are_silent() {
    for fault in ["pause", "isolate"] {
        let report = run_seed(&scenario(fault), 1);
        assert_eq!(disconnects(&report.history), vec![], "{fault} is silent");
    }
}
