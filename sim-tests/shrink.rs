//! `kafkasim shrink` end to end, through the binary: a scenario whose lost write needs
//! one or two of its twelve faults shrinks to a smaller file that `run` reproduces, the
//! same for any `--jobs`; a seed that does not fail exits 1; bad input exits 2.

use std::path::{Path, PathBuf};

use kafkasim::scenario::Scenario;

use super::kafkasim;

/// acks=1: the leader of events-0 cut off from its followers and the controller, then
/// powered off, among noise (a latency spell, a follower pause, a loss burst, the
/// controller isolated after the fact).
const NOISY: &str = r#"{
  "name": "acks1-noisy",
  "description": "acks=1, the leader of events-0 cut off and powered off, among noise faults",
  "seed": 5,
  "cluster": { "brokers": 3, "topics": [ { "name": "events", "partitions": 2, "replication_factor": 3 } ] },
  "config": { "acks": "1", "replica_lag_time_max_ms": 10000, "broker_session_timeout_ms": 1500,
              "broker_heartbeat_interval_ms": 300, "request_timeout_ms": 3000 },
  "workload": { "duration_ms": 6000, "producers": 1, "produce_interval_ms": 5, "consumers": 1 },
  "faults": [
    { "at_ms": 500, "latency": [20, 60] },
    { "at_ms": 900, "latency": [1, 10] },
    { "at_ms": 1000, "pause": "followers:events-1" },
    { "at_ms": 1300, "resume": "followers:events-1" },
    { "at_ms": 1500, "packet_loss": 0.05 },
    { "at_ms": 1800, "packet_loss": 0.0 },
    { "at_ms": 2000, "partition": [["leader:events-0"], ["followers:events-0", "controller"]] },
    { "at_ms": 3000, "power_loss": "leader:events-0" },
    { "at_ms": 4000, "heal": true },
    { "at_ms": 4000, "restart": [1, 2, 3] },
    { "at_ms": 4500, "isolate": "controller" },
    { "at_ms": 4800, "heal": true }
  ],
  "expect": { "violations": ["lost-write"] }
}"#;

/// A scratch directory for this test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("shrink-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn noisy(dir: &Path) -> PathBuf {
    let path = dir.join("noisy.json");
    std::fs::write(&path, NOISY).expect("write the scenario");
    path
}

#[test]
fn shrink_writes_a_smaller_scenario_that_run_reproduces() {
    let dir = scratch("reproduces");
    let input = noisy(&dir);
    let out = dir.join("out.json");
    let shrunk = kafkasim(&[
        "shrink",
        path_str(&input),
        "--out",
        path_str(&out),
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&shrunk.stderr);
    assert_eq!(shrunk.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&shrunk.stdout).expect("one object");
    assert_eq!(report["failure"]["kind"], "lost-write");
    assert_eq!(report["failure"]["partition"], "events-0");
    assert_eq!(report["reproduces"], true);
    assert_eq!(report["faults_before"], 12);
    let runs = report["runs"].as_u64().expect("runs");
    assert!((2..=400).contains(&runs), "{runs} runs");

    let text = std::fs::read_to_string(&out).expect("the shrunk file is written");
    let scenario = Scenario::from_json(&text).expect("the shrunk file loads");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert!(doc.get("nemesis").is_none(), "{text}");
    assert!(
        scenario.faults.len() < 12,
        "{} faults",
        scenario.faults.len()
    );
    assert_eq!(report["faults_after"], scenario.faults.len());
    assert_eq!(scenario.seed, 5, "the seed is pinned");
    assert_eq!(scenario.name, "acks1-noisy-shrunk");
    assert!(
        scenario
            .description
            .contains("noisy.json seed 5: 12 faults -> "),
        "{}",
        scenario.description
    );

    let run = kafkasim(&["run", path_str(&out), "--json"]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "the shrunk file matches its expect"
    );
    let result: serde_json::Value = serde_json::from_slice(&run.stdout).expect("one object");
    let lost_on_events_0 = result["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .any(|v| v["kind"] == "lost-write" && v["partition"] == "events-0");
    assert!(lost_on_events_0, "{result}");
}

#[test]
fn the_shrunk_file_is_the_same_for_any_number_of_jobs() {
    let dir = scratch("jobs");
    let input = noisy(&dir);
    let files: Vec<String> = ["1", "2", "3"]
        .iter()
        .map(|jobs| {
            let folder = dir.join(format!("jobs-{jobs}/"));
            let out = kafkasim(&[
                "shrink",
                path_str(&input),
                "--jobs",
                jobs,
                "--out",
                &format!("{}/", path_str(&folder)),
            ]);
            assert_eq!(out.status.code(), Some(0), "--jobs {jobs}");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(stdout.contains("reproduces    yes"), "{stdout}");
            std::fs::read_to_string(folder.join("acks1-noisy-5-shrunk.json")).expect("written")
        })
        .collect();
    assert_eq!(files[0], files[1]);
    assert_eq!(files[0], files[2]);
}

#[test]
fn a_seed_that_does_not_fail_exits_1() {
    let dir = scratch("passes");
    let out = kafkasim(&[
        "shrink",
        "scenarios/controller-crash.json",
        "--out",
        path_str(&dir.join("never.json")),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("seed 1 does not fail"), "{stderr}");
    assert!(!dir.join("never.json").exists(), "nothing is written");
}

#[test]
fn bad_input_exits_2_and_says_what_is_wrong() {
    let dir = scratch("bad");
    let input = noisy(&dir);
    let input = path_str(&input);
    let invalid = dir.join("invalid.json");
    std::fs::write(
        &invalid,
        NOISY.replace(r#""at_ms": 3000"#, r#""at_ms": 9000"#),
    )
    .expect("write");
    let cases: [(&[&str], &str); 6] = [
        (
            &["shrink", "scenarios/calm.json"],
            "neither `faults` nor `nemesis`",
        ),
        (&["shrink", input, "--max-runs", "0"], "--max-runs"),
        (&["shrink", input, "--max-runs", "many"], "--max-runs"),
        (&["shrink", input, "--jobs", "0"], "--jobs"),
        (
            &["shrink", path_str(&invalid)],
            "invalid.json: field `faults[7].at_ms`",
        ),
        (
            &["shrink", "/nonexistent/scenario.json"],
            "/nonexistent/scenario.json",
        ),
    ];
    for (args, says) in cases {
        let out = kafkasim(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?} says {says:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_nemesis_scenario_is_unrolled_then_shrunk_to_a_file_without_nemesis() {
    let dir = scratch("nemesis");
    let file = "scenarios/known/01-unclean-election.json";
    let original = super::load(Path::new(file));
    let out = dir.join("unclean.json");
    let shrunk = kafkasim(&["shrink", file, "--out", path_str(&out), "--json"]);
    let stderr = String::from_utf8_lossy(&shrunk.stderr);
    assert_eq!(shrunk.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&shrunk.stdout).expect("one object");
    assert_eq!(report["failure"]["kind"], "lost-write");
    assert_eq!(report["seed"], original.seed);
    let text = std::fs::read_to_string(&out).expect("written");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert!(doc.get("nemesis").is_none(), "{text}");
    let scenario = Scenario::from_json(&text).expect("loads");
    let before = report["faults_before"].as_u64().expect("count") as usize;
    assert!(
        scenario.faults.len() < before,
        "{} of {before}",
        scenario.faults.len()
    );
    assert!(scenario.faults.len() <= 6, "{text}");
    let run = kafkasim(&["run", path_str(&out)]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stdout)
    );
}

/// The default scenario (its nemesis) with acks=1: most seeds lose a write.
fn default_acks1(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string("scenarios/default.json").expect("the default");
    let mut doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    doc["name"] = "default-acks1".into();
    doc["config"]["acks"] = "1".into();
    let path = dir.join("default-acks1.json");
    std::fs::write(&path, doc.to_string()).expect("write the scenario");
    path
}

#[test]
fn explore_shrink_lists_one_reproducing_file_per_kind_of_the_first_failing_seeds() {
    let dir = scratch("explore");
    let input = default_acks1(&dir);
    let (json, out) = (dir.join("explore.json"), dir.join("shrunk"));
    let args = [
        "explore",
        path_str(&input),
        "--seeds",
        "1..4",
        "--quiet",
        "--shrink",
    ];
    let extra = ["--shrink-out", path_str(&out), "--json", path_str(&json)];
    let explored = kafkasim(&[&args[..], &extra[..]].concat());
    let stdout = String::from_utf8_lossy(&explored.stdout);
    assert_eq!(explored.status.code(), Some(1), "{stdout}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("--json")).expect("JSON");
    let summary = &doc["summary"];
    let shrunk = summary["shrunk"].as_array().expect("a shrunk list");
    let kinds: Vec<&str> = summary["by_kind"]
        .as_object()
        .expect("by_kind")
        .keys()
        .map(String::as_str)
        .collect();
    let listed: Vec<&str> = shrunk.iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(listed, kinds, "one shrink per kind seen");
    for entry in shrunk {
        let (kind, seed) = (
            entry["kind"].as_str().unwrap(),
            entry["seed"].as_u64().unwrap(),
        );
        let first = summary["failures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| {
                f["violations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k == kind)
            })
            .expect("a failing seed of the kind");
        assert_eq!(
            first["seed"].as_u64(),
            Some(seed),
            "the first failing seed of {kind}"
        );
        assert_eq!(entry["reproduces"], true, "{entry}");
        let file = entry["file"].as_str().expect("a file");
        assert!(stdout.contains(&format!("kafkasim run {file}")), "{stdout}");
        let scenario = Scenario::from_json(&std::fs::read_to_string(file).expect("written"))
            .expect("the shrunk file loads");
        assert!(scenario.nemesis.is_none());
        assert!(entry["faults"][1].as_u64().unwrap() <= 6, "{entry}");
        assert!(scenario.description.contains(&format!("seed {seed}")));
        let replay = kafkasim(&["run", file]);
        assert_eq!(replay.status.code(), Some(0), "{file} fails as it expects");
    }
}

#[test]
fn explore_shrink_options_need_shrink() {
    let out = kafkasim(&["explore", "--seeds", "1..2", "--shrink-out", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--shrink"));
}
