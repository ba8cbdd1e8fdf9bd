//! Whole-cluster simulation tests: every scenario in `scenarios/` gives its expected
//! verdict, runs are deterministic, bad input exits with code 2, and output into a closed
//! pipe ends quietly.

mod availability;
mod checkers;
mod ci;
mod controller_quorum;
mod coverage;
mod disk_wipe;
mod explain;
mod explore;
mod explore_report;
mod failure_detection;
mod groups;
mod independent;
mod known;
mod report;
mod shrink;
mod step;
mod tutorial;
mod unroll;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use kafkasim::harness::RunReport;
use kafkasim::scenario::Scenario;

fn scenario_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("scenarios/ exists")
        .map(|e| e.expect("readable").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort(); // the OS hands back directory entries in any order
    files
}

fn load(path: &Path) -> Scenario {
    let text = std::fs::read_to_string(path).expect("readable scenario");
    Scenario::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn run_seed(scenario: &Scenario, seed: u64) -> RunReport {
    kafkasim::explore::run_seed(scenario, seed)
}

#[test]
fn every_shipped_scenario_gives_its_expected_verdict() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let out = kafkasim(&["check", dir.to_str().expect("utf-8 path")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "kafkasim check scenarios/:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = scenario_files(&dir);
    assert!(!files.is_empty(), "scenarios/ holds scenarios");
    for path in &files {
        let name = path.display().to_string();
        assert!(stdout.contains(&name), "check lists {name}:\n{stdout}");
    }
}

#[test]
fn same_seed_same_trace_hash_and_different_seed_different_hash() {
    let scenario = Scenario::from_json(kafkasim::cli::DEFAULT_SCENARIO).expect("default parses");
    let first = run_seed(&scenario, 42);
    let second = run_seed(&scenario, 42);
    let other = run_seed(&scenario, 43);
    assert_eq!(first.trace_hash, second.trace_hash);
    assert_eq!(first.history, second.history);
    assert_ne!(first.trace_hash, other.trace_hash);
    assert!(
        first.stats.acked > 0,
        "the default workload acknowledges writes"
    );
    // A controller quorum too: its Raft timers and elections draw from seeded streams.
    let text = std::fs::read_to_string("scenarios/controller-quorum.json").expect("shipped");
    let quorum = Scenario::from_json(&text).expect("parses");
    let (first, second) = (run_seed(&quorum, 42), run_seed(&quorum, 42));
    assert_eq!(first.trace_hash, second.trace_hash);
    assert_eq!(first.history, second.history);
    assert_ne!(first.trace_hash, run_seed(&quorum, 43).trace_hash);
}

fn kafkasim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kafkasim"))
        .args(args)
        .output()
        .expect("binary runs")
}

/// `kafkasim run … | head` and the like: a reader that goes away before the output is
/// written ends the command quietly, with its usual exit code and no panic.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let file = "scenarios/leader-failover-small.json";
    for args in [
        &["run", file][..],
        &["run", file, "--json"],
        &["step", file],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kafkasim"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("binary runs");
        // The reader closes its end long before the simulation has anything to print.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("binary ends");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            stderr.is_empty(),
            "{args:?} writes nothing to stderr: {stderr}"
        );
    }
}

#[test]
fn bad_scenario_exits_2_naming_file_and_field() {
    let dir = std::env::temp_dir().join(format!("kafkasim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bad.json");
    let text = r#"{"name":"x","cluster":{"brokers":3,"topics":[{"name":"t","partitions":1,"replication_factor":3}]},
        "workload":{"duration_ms":2000,"producers":1,"produce_interval_ms":10,"consumers":1},
        "config":{"truncation":"sometimes"}}"#;
    std::fs::write(&path, text).expect("write");
    let out = kafkasim(&["run", path.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("bad.json"), "names the file: {stderr}");
    assert!(
        stderr.contains("config.truncation"),
        "names the field: {stderr}"
    );
    let missing = kafkasim(&["run", "/nonexistent/scenario.json"]);
    assert_eq!(missing.status.code(), Some(2));
}

/// Every time setting at its limit (2^31 - 1 ms) at once, with faults and a nemesis:
/// the run ends without a panic (the loader's cap keeps simulated time from
/// overflowing); one millisecond more is bad input.
#[test]
fn time_settings_at_their_limit_run_and_above_it_exit_2() {
    let dir = std::env::temp_dir().join(format!("kafkasim-limit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let limit = i32::MAX;
    let config: Vec<String> = [
        "request_timeout_ms",
        "linger_ms",
        "replica_fetch_wait_max_ms",
        "fetch_max_wait_ms",
        "retry_backoff_ms",
        "delivery_timeout_ms",
        "metadata_max_age_ms",
        "replica_high_watermark_checkpoint_interval_ms",
        "replica_fetch_backoff_ms",
    ]
    .iter()
    .map(|name| format!(r#""{name}": {limit}"#))
    .collect();
    let text = |latency: i64| {
        format!(
            r#"{{"name":"limits","cluster":{{"brokers":3,"topics":[{{"name":"t","partitions":1,"replication_factor":3}}]}},
            "config":{{{},"flush":{{"interval_ms":{limit}}}}},
            "network":{{"latency_ms":[1,{latency}]}},
            "workload":{{"duration_ms":3000,"producers":1,"produce_interval_ms":{limit},"consumers":1}},
            "faults":[{{"at_ms":1000,"crash":"leader:t-0"}},{{"at_ms":2000,"restart":[1,2,3]}}],
            "nemesis":{{"kinds":["crash","bounce_leader","latency","pause"],"interval_ms":{limit}}}}}"#,
            config.join(",")
        )
    };
    let path = dir.join("limits.json");
    std::fs::write(&path, text(i64::from(limit))).expect("write");
    let out = kafkasim(&["run", path.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1)) && !stderr.contains("panicked"),
        "{:?}: {stderr}",
        out.status
    );
    std::fs::write(&path, text(i64::from(limit) + 1)).expect("write");
    let out = kafkasim(&["run", path.to_str().expect("utf-8")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("field `network.latency_ms`: at most 2147483647 ms"),
        "{stderr}"
    );
}

#[test]
fn run_json_has_the_contract_fields_and_replays_bit_for_bit() {
    let first = kafkasim(&["run", "--seed", "7", "--json"]);
    let second = kafkasim(&["run", "--seed", "7", "--json"]);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(first.stdout, second.stdout);
    let value: serde_json::Value = serde_json::from_slice(&first.stdout).expect("one JSON object");
    for field in [
        "scenario",
        "seed",
        "outcome",
        "violations",
        "trace_hash",
        "sim_ms",
        "stats",
        "reproduce",
    ] {
        assert!(value.get(field).is_some(), "missing {field}");
    }
    for field in [
        "produced",
        "acked",
        "consumed",
        "leader_changes",
        "isr_changes",
    ] {
        assert!(value["stats"].get(field).is_some(), "missing stats.{field}");
    }
    assert_eq!(value["reproduce"], "kafkasim run --seed 7");
}

#[test]
fn independent_checker_on_the_history_export_agrees_with_the_run() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let black_box = [
        "lost-write",
        "uncommitted-read",
        "aborted-read",
        "inconsistent-offsets",
    ];
    let mut saw_violation = false;
    for path in scenario_files(&dir) {
        let scenario = load(&path);
        for seed in [scenario.seed, scenario.seed + 1] {
            let report = run_seed(&scenario, seed);
            let ours: std::collections::BTreeSet<String> = report
                .violations
                .iter()
                .map(|v| v.kind.as_str().to_string())
                .filter(|k| black_box.contains(&k.as_str()))
                .collect();
            let jsonl = kafkasim::export::history_jsonl(&report.history);
            let theirs = independent::violation_kinds(&jsonl);
            assert_eq!(ours, theirs, "{} seed {seed}", path.display());
            saw_violation |= !ours.is_empty();
        }
    }
    assert!(
        saw_violation,
        "at least one shipped scenario exercises the comparison with a violation"
    );
}

/// Issue acceptance: acks=all, min.insync=2, clean election and a random nemesis of
/// crashes, quick restarts, pauses, partitions, isolations, loss bursts and latency spells
/// (one broker down at a time): 500 seeds, no violation.
#[test]
fn five_hundred_random_nemesis_seeds_find_no_violation() {
    let scenario = Scenario::from_json(kafkasim::cli::DEFAULT_SCENARIO).expect("default parses");
    assert_eq!(scenario.config.acks, kafkasim::config::Acks::All);
    assert_eq!(scenario.config.min_insync_replicas, 2);
    assert!(!scenario.config.unclean_leader_election);
    let next = std::sync::atomic::AtomicU64::new(1);
    let failures = std::sync::Mutex::new(Vec::new());
    let leader_changes = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if seed > 500 {
                        break;
                    }
                    let report = run_seed(&scenario, seed);
                    leader_changes.fetch_add(
                        report.stats.leader_changes,
                        std::sync::atomic::Ordering::Relaxed,
                    );
                    if !report.violations.is_empty() {
                        let kinds: Vec<&str> =
                            report.violations.iter().map(|v| v.kind.as_str()).collect();
                        failures
                            .lock()
                            .expect("lock")
                            .push(format!("kafkasim run --seed {seed}: {kinds:?}"));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().expect("lock");
    failures.sort();
    assert!(
        failures.is_empty(),
        "{} seeds failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        leader_changes.into_inner() >= 500,
        "the nemesis moves leadership"
    );
}

/// `scenarios/regressions/`: shrunk failures, each an explicit schedule of at most six
/// faults that still gives its expected violations at its pinned seed.
#[test]
fn regression_scenarios_are_small_and_still_fail_as_expected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/regressions");
    let files = scenario_files(&dir);
    assert!(files.len() >= 3, "at least three regressions");
    for path in &files {
        let scenario = load(path);
        assert!(
            scenario.nemesis.is_none(),
            "{}: explicit faults only",
            path.display()
        );
        assert!(
            scenario.faults.len() <= 6,
            "{}: {} faults",
            path.display(),
            scenario.faults.len()
        );
        let report = run_seed(&scenario, scenario.seed);
        assert!(
            report.matched,
            "{}: {:?}",
            path.display(),
            report.violations
        );
    }
}
