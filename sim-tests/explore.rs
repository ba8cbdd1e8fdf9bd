//! `kafkasim explore`, `merge` and `bench` end to end, through the binary: results do not
//! depend on `--jobs` or sharding, an unsafe scenario fails with seeds that replay, bad
//! input exits 2.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::kafkasim;

/// A scratch directory for this test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("explore-{test}"));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("explore wrote its --json file");
    serde_json::from_str(&text).expect("valid JSON")
}

/// seed -> (outcome, kinds, trace_hash, coverage) from an `explore --json` document.
type SeedSummary = (String, Vec<String>, String, serde_json::Value);

fn per_seed(doc: &serde_json::Value) -> BTreeMap<u64, SeedSummary> {
    doc["seeds"]
        .as_array()
        .expect("a seeds list")
        .iter()
        .map(|s| {
            let kinds = s["violations"]
                .as_array()
                .expect("violation kinds")
                .iter()
                .map(|k| k.as_str().expect("kind").to_string())
                .collect();
            (
                s["seed"].as_u64().expect("seed"),
                (
                    s["outcome"].as_str().expect("outcome").to_string(),
                    kinds,
                    s["trace_hash"].as_str().expect("trace_hash").to_string(),
                    s["coverage"].clone(),
                ),
            )
        })
        .collect()
}

#[test]
fn per_seed_results_are_the_same_for_any_jobs_and_for_merged_shards() {
    let dir = scratch("jobs");
    let run = |name: &str, extra: &[&str]| {
        let file = dir.join(name);
        let mut args = vec![
            "explore",
            "--seeds",
            "1..12",
            "--quiet",
            "--json",
            path_str(&file),
        ];
        args.extend_from_slice(extra);
        let out = kafkasim(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        file
    };
    let one = read_json(&run("jobs1.json", &["--jobs", "1"]));
    let two = read_json(&run("jobs2.json", &["--jobs", "2"]));
    let first = run("shard1.json", &["--shard", "1/2", "--jobs", "2"]);
    let second = run("shard2.json", &["--shard", "2/2", "--jobs", "1"]);
    let merged_file = dir.join("merged.json");
    let out = kafkasim(&[
        "merge",
        path_str(&first),
        path_str(&second),
        "--json",
        path_str(&merged_file),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged = read_json(&merged_file);

    let expected = per_seed(&one);
    assert_eq!(
        expected.keys().copied().collect::<Vec<_>>(),
        (1..=12).collect::<Vec<_>>()
    );
    assert!(
        expected.values().all(|(_, _, _, c)| c.is_object()),
        "every seed has its coverage"
    );
    assert_eq!(per_seed(&two), expected, "--jobs 2 against --jobs 1");
    assert_eq!(per_seed(&merged), expected, "merged shards against one run");
    assert_eq!(
        per_seed(&read_json(&first)).len(),
        6,
        "shard 1/2 ran seeds 2, 4, .., 12"
    );
    for field in [
        "seeds_run",
        "passed",
        "failed",
        "by_kind",
        "wall_s",
        "sim_s",
        "messages",
        "failures",
    ] {
        assert!(
            merged["summary"].get(field).is_some(),
            "summary.{field} missing"
        );
    }
    assert_eq!(merged["summary"]["seeds_run"], 12);
    let coverage = &one["summary"]["coverage"];
    assert!(
        coverage["leader-change"]["count"].as_u64() > Some(0),
        "the default nemesis changes leaders: {coverage}"
    );
    assert_eq!(&two["summary"]["coverage"], coverage, "--jobs 2 coverage");
    assert_eq!(&merged["summary"]["coverage"], coverage, "merged coverage");
    assert_eq!(merged["summary"]["shard"], "1/2+2/2");
    assert!(merged["summary"]["messages"].as_u64().expect("messages") > 0);
    for field in [
        "produce_latency_ms",
        "outage_count",
        "seeds_with_outage",
        "worst_outage",
        "recovery_ms",
    ] {
        let whole = &one["summary"][field];
        assert!(!whole.is_null(), "summary.{field} missing");
        assert_eq!(&two["summary"][field], whole, "--jobs 2 summary.{field}");
        assert_eq!(&merged["summary"][field], whole, "merged summary.{field}");
    }
    let latency = &one["summary"]["produce_latency_ms"];
    let (p50, p99, max) = (&latency["p50"], &latency["p99"], &latency["max"]);
    assert!(
        p50.as_f64() > Some(0.0) && p50.as_f64() <= p99.as_f64() && p99.as_f64() <= max.as_f64(),
        "{latency}"
    );
    let recovery = &one["summary"]["recovery_ms"];
    for kind in ["crash", "power_loss", "pause", "isolate", "partition"] {
        assert!(
            recovery[kind]["outages"].is_u64(),
            "recovery_ms.{kind}: {recovery}"
        );
    }

    // The same seed one at a time with `run` gives the same trace.
    let (_, _, hash, coverage) = &expected[&5];
    let run5 = kafkasim(&["run", "--seed", "5", "--json"]);
    let value: serde_json::Value = serde_json::from_slice(&run5.stdout).expect("run --json");
    assert_eq!(value["trace_hash"].as_str(), Some(hash.as_str()));
    assert_eq!(
        &value["coverage"], coverage,
        "run --json gives explore's coverage"
    );
    // ... and the same outages: explore's worst one of seed 5 is run's longest.
    let seed5 = one["seeds"]
        .as_array()
        .expect("seeds")
        .iter()
        .find(|s| s["seed"] == 5)
        .expect("seed 5");
    let longest = value["outages"]
        .as_array()
        .expect("run --json has outages")
        .iter()
        .map(|o| o["length_ms"].as_u64().expect("length_ms"))
        .max();
    assert_eq!(seed5["worst_outage"]["length_ms"].as_u64(), longest);
}

/// acks=1 under a random nemesis loses acknowledged writes; the scenario claims "pass",
/// so explore must exit 1 and list seeds whose replay gives the same violations.
pub const UNSAFE: &str = r#"{
  "name": "acks1-nemesis",
  "description": "acks=1 with a random nemesis: leader failover loses acknowledged writes.",
  "seed": 2,
  "cluster": { "brokers": 3, "topics": [ { "name": "events", "partitions": 2, "replication_factor": 3 } ] },
  "config": { "acks": "1", "min_insync_replicas": 1, "replica_lag_time_max_ms": 1000,
              "broker_session_timeout_ms": 1500, "broker_heartbeat_interval_ms": 300,
              "request_timeout_ms": 3000 },
  "workload": { "duration_ms": 10000, "producers": 1, "produce_interval_ms": 5, "consumers": 1 },
  "nemesis": { "kinds": ["crash", "isolate", "partition"], "interval_ms": 1000, "max_down": 1 },
  "expect": "pass"
}"#;

#[test]
fn an_unsafe_scenario_fails_with_seeds_that_replay_to_the_same_violation() {
    let dir = scratch("unsafe");
    let scenario = dir.join("acks1-nemesis.json");
    std::fs::write(&scenario, UNSAFE).expect("write scenario");
    let json = dir.join("result.json");
    let out = kafkasim(&[
        "explore",
        path_str(&scenario),
        "--seeds",
        "1..8",
        "--jobs",
        "2",
        "--json",
        path_str(&json),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("failing seeds"), "{stdout}");
    let doc = read_json(&json);
    let failures = doc["summary"]["failures"].as_array().expect("failures");
    assert!(!failures.is_empty());
    assert!(
        doc["summary"]["by_kind"]["lost-write"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "{doc}"
    );
    let seeds = per_seed(&doc);
    for failure in failures.iter().take(3) {
        let seed = failure["seed"].as_u64().expect("seed");
        let reproduce = failure["reproduce"].as_str().expect("reproduce");
        assert_eq!(
            reproduce,
            format!("kafkasim run {} --seed {seed}", path_str(&scenario))
        );
        assert!(stdout.contains(reproduce), "the summary prints {reproduce}");
        // Replay exactly what the line says.
        let words: Vec<&str> = reproduce.split(' ').skip(1).collect();
        let mut args = words.clone();
        args.push("--json");
        let replay = kafkasim(&args);
        assert_eq!(replay.status.code(), Some(1), "{reproduce} fails again");
        let value: serde_json::Value = serde_json::from_slice(&replay.stdout).expect("run --json");
        let mut kinds: Vec<String> = value["violations"]
            .as_array()
            .expect("violations")
            .iter()
            .map(|v| v["kind"].as_str().expect("kind").to_string())
            .collect();
        kinds.dedup();
        let (outcome, explored_kinds, hash, _) = &seeds[&seed];
        assert_eq!(outcome, "fail");
        assert_eq!(&kinds, explored_kinds, "seed {seed}: same violations");
        assert_eq!(
            value["trace_hash"].as_str(),
            Some(hash.as_str()),
            "seed {seed}: same trace"
        );
    }

    // --fail-fast with one job stops at the first failing seed.
    let out = kafkasim(&[
        "explore",
        path_str(&scenario),
        "--seeds",
        "1..8",
        "--jobs",
        "1",
        "--fail-fast",
        "--quiet",
        "--json",
        path_str(&json),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc = read_json(&json);
    assert_eq!(doc["summary"]["stopped"], "fail-fast");
    assert_eq!(doc["summary"]["failed"], 1);
    let first_failure = failures[0]["seed"].as_u64().expect("seed");
    assert_eq!(doc["summary"]["seeds_run"].as_u64(), Some(first_failure));
}

#[test]
fn check_exits_1_when_a_scenario_does_not_give_its_expected_verdict() {
    let dir = scratch("check");
    std::fs::write(dir.join("acks1-nemesis.json"), UNSAFE).expect("write scenario");
    let out = kafkasim(&["check", path_str(&dir)]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("MISMATCH") && stdout.contains("acks1-nemesis.json"),
        "{stdout}"
    );
    let empty = scratch("check-empty");
    let out = kafkasim(&["check", path_str(&empty)]);
    assert_eq!(out.status.code(), Some(2), "an empty folder is bad input");
}

#[test]
fn bad_explore_and_merge_input_exits_2_with_a_reason() {
    let dir = scratch("bad");
    for (args, needle) in [
        (vec!["explore", "--seeds", "9..3"], "empty"),
        (vec!["explore", "--seeds", "1..3", "--shard", "3/2"], "K/N"),
        (vec!["explore", "--jobs", "0"], "jobs"),
        (vec!["explore", "--time-limit-s", "-1"], "time-limit"),
        (
            vec!["explore", "/nonexistent/s.json"],
            "/nonexistent/s.json",
        ),
        (vec!["merge", "/nonexistent/a.json"], "/nonexistent/a.json"),
    ] {
        let out = kafkasim(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?} names {needle}: {stderr}");
    }
    let not_explore = dir.join("not-explore.json");
    std::fs::write(&not_explore, r#"{"summary": {"scenario": 3}}"#).expect("write");
    let out = kafkasim(&["merge", path_str(&not_explore)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not-explore.json") && stderr.contains("summary.scenario"),
        "{stderr}"
    );
}

#[test]
fn bench_prints_one_json_line_with_the_throughput_figures() {
    let out = kafkasim(&["bench", "--seeds", "4", "--jobs", "2"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let line: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    for field in [
        "seeds_per_s",
        "sim_to_wall_per_core",
        "sim_to_wall_total",
        "messages_per_wall_s",
        "peak_rss_mb",
        "p99_produce_latency_ms",
    ] {
        assert!(
            line[field].as_f64().is_some_and(|x| x > 0.0),
            "{field}: {line}"
        );
    }
    assert_eq!(line["seeds"], 4);
    // The default nemesis stops acknowledgements for longer than the outage minimum.
    assert!(
        line["worst_outage_ms"].as_u64().is_some_and(|ms| ms >= 250),
        "worst_outage_ms: {line}"
    );
}
