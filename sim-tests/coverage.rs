//! Coverage marks on whole-cluster runs: shipped scenarios reach the marks their faults
//! lead to, never one their scenario makes impossible, `run` reports them, and `explore`
//! warns about a mark the scenario makes possible but no seed reached.

use std::path::Path;

use kafkasim::coverage::Mark;

use super::{kafkasim, load, run_seed, scenario_files};

fn shipped(name: &str) -> kafkasim::scenario::Scenario {
    load(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(name),
    )
}

#[test]
fn shipped_scenarios_reach_what_their_faults_lead_to() {
    let leader_crash = run_seed(&shipped("leader-crash.json"), 1).coverage;
    assert_eq!(
        leader_crash.get(Mark::LeaderChange),
        1,
        "one crash of the leader of events-0, one election: {leader_crash:?}"
    );
    assert!(
        leader_crash.get(Mark::ProducerRetry) > 0,
        "sends to the crashed leader are retried: {leader_crash:?}"
    );
    for mark in [
        Mark::UncleanElection,
        Mark::PowerLossUnflushed,
        Mark::TruncationBelowHw,
    ] {
        assert_eq!(leader_crash.get(mark), 0, "{mark}: {leader_crash:?}");
    }

    let power_loss = run_seed(&shipped("power-loss-all-flush-never.json"), 1).coverage;
    for mark in [
        Mark::PowerLossUnflushed,
        Mark::TruncationBelowHw,
        Mark::UncleanElection,
    ] {
        assert!(power_loss.get(mark) > 0, "{mark}: {power_loss:?}");
    }

    // Without faults only pipelined batches overtaking each other cause retries.
    let calm = run_seed(&shipped("calm.json"), 1).coverage;
    for (mark, count) in calm.reached() {
        assert_eq!(mark, Mark::ProducerRetry, "no fault, no {mark} ({count})");
    }
}

#[test]
fn no_shipped_scenario_reaches_a_mark_it_calls_impossible() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    for path in scenario_files(&dir) {
        let scenario = load(&path);
        let coverage = run_seed(&scenario, scenario.seed).coverage;
        for (mark, count) in coverage.reached() {
            assert!(
                mark.possible(&scenario).is_some(),
                "{}: reached {mark} {count} times, but Mark::possible says it cannot",
                path.display()
            );
        }
    }
}

#[test]
fn run_prints_the_marks_and_run_json_has_every_one() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/leader-crash.json");
    let file = file.to_str().expect("utf-8 path");
    let text = kafkasim(&["run", file]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("coverage"))
        .unwrap_or_else(|| panic!("a coverage line:\n{stdout}"));
    assert!(line.contains("leader-change 1"), "{line}");
    let json = kafkasim(&["run", file, "--json"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("run --json");
    let coverage = value["coverage"].as_object().expect("a coverage object");
    let names: Vec<&str> = Mark::ALL.iter().map(|m| m.as_str()).collect();
    let mut keys: Vec<&str> = coverage.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut expected = names.clone();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(value["coverage"]["leader-change"], 1);
}

/// A 100 ms pause of events-0's followers: a pause can fence brokers and move leaders,
/// but this one is far shorter than the session timeout, so no leader ever changes.
const SHORT_PAUSE: &str = r#"{
  "name": "short-pause",
  "cluster": { "brokers": 3, "topics": [ { "name": "events", "partitions": 1, "replication_factor": 3 } ] },
  "config": { "acks": "all", "min_insync_replicas": 2, "replica_lag_time_max_ms": 1000,
              "broker_session_timeout_ms": 1500, "broker_heartbeat_interval_ms": 300 },
  "workload": { "duration_ms": 3000, "producers": 1, "produce_interval_ms": 5, "consumers": 1 },
  "faults": [ { "at_ms": 1000, "pause": "followers:events-0" },
              { "at_ms": 1100, "resume": "followers:events-0" } ]
}"#;

#[test]
fn explore_warns_about_a_possible_mark_no_seed_reached() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("coverage-warn");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let file = dir.join("short-pause.json");
    std::fs::write(&file, SHORT_PAUSE).expect("write scenario");
    let file = file.to_str().expect("utf-8 path");
    let out = kafkasim(&["explore", file, "--seeds", "1..3", "--quiet"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "warnings do not fail: {stdout}");
    assert!(
        stdout.contains("warning: no seed reached leader-change (possible: pause faults)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("warning: no seed reached unclean-election"),
        "one pause cannot empty an ISR of three: no warning\n{stdout}"
    );

    let leader_crash = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/leader-crash.json");
    let out = kafkasim(&[
        "explore",
        leader_crash.to_str().expect("utf-8 path"),
        "--seeds",
        "1..3",
        "--quiet",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("leader-change") && !stdout.contains("reached leader-change"),
        "leader-crash reaches leader-change: no warning\n{stdout}"
    );
}
