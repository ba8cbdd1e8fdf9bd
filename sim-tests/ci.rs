//! CI output and scale-out through the binary: `explore --junit` and `merge --junit` agree
//! with the `--json` summary, and `--shard auto` takes its shard from a job engine's
//! environment (or exits 2 naming the variable that is wrong).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

/// Every variable `--shard auto` reads; each run starts with none of them set.
const SHARD_VARIABLES: [&str; 7] = [
    "KAFKASIM_SHARD_INDEX",
    "KAFKASIM_SHARD_COUNT",
    "JOB_COMPLETION_INDEX",
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_STEP",
];

/// A small scenario that fails on some seeds: it expects `lost-write`, which some seeds
/// do not reach.
const KNOWN_02: &str = "scenarios/known/02-acks1-leader-crash.json";

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("ci-{test}"));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// Runs the binary from the crate root with exactly `env` of the shard variables.
fn kafkasim_with(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kafkasim"));
    command.current_dir(env!("CARGO_MANIFEST_DIR")).args(args);
    for name in SHARD_VARIABLES {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    command.output().expect("binary runs")
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("a --json file");
    serde_json::from_str(&text).expect("valid JSON")
}

/// A testcase as a JUnit reader sees it: its attributes, and its failure's attributes
/// and text.
type Case = (
    BTreeMap<String, String>,
    Option<(BTreeMap<String, String>, String)>,
);

/// The root's and the suite's attributes, and the testcases.
struct Junit {
    root: BTreeMap<String, String>,
    suites: Vec<BTreeMap<String, String>>,
    cases: Vec<Case>,
}

fn attributes(e: &BytesStart) -> BTreeMap<String, String> {
    e.attributes()
        .map(|a| {
            let a = a.expect("well-formed attribute");
            let key = a.key.as_ref().to_string();
            (
                key,
                a.normalized_value(XmlVersion::Explicit1_0)
                    .expect("escaped")
                    .into_owned(),
            )
        })
        .collect()
}

fn read_junit(path: &Path) -> Junit {
    let xml = std::fs::read_to_string(path).expect("a --junit file");
    let mut reader = Reader::from_str(&xml);
    let (mut root, mut suites, mut cases) = (None, Vec::new(), Vec::<Case>::new());
    let mut in_failure = false;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                "testsuites" => root = Some(attributes(&e)),
                "testsuite" => suites.push(attributes(&e)),
                "testcase" => cases.push((attributes(&e), None)),
                "failure" => {
                    let case = cases.last_mut().expect("a failure inside a testcase");
                    case.1 = Some((attributes(&e), String::new()));
                    in_failure = true;
                }
                _ => {}
            },
            Event::Text(t) if in_failure => {
                let case = cases.last_mut().expect("a testcase");
                case.1
                    .as_mut()
                    .expect("a failure")
                    .1
                    .push_str(&t.xml10_content());
            }
            Event::GeneralRef(r) if in_failure => {
                let entity = quick_xml::escape::unescape(&format!("&{};", &*r))
                    .expect("a known entity")
                    .into_owned();
                let case = cases.last_mut().expect("a testcase");
                case.1.as_mut().expect("a failure").1.push_str(&entity);
            }
            Event::End(e) if e.name().as_ref() == "failure" => in_failure = false,
            Event::Eof => break,
            _ => {}
        }
    }
    Junit {
        root: root.expect("a <testsuites> root"),
        suites,
        cases,
    }
}

/// Checks that `junit` says what the `--json` document `doc` says: the counts, one
/// testcase per seed that ran, and a failure (kinds and reproduce line) per failing seed.
fn assert_agree(junit: &Junit, doc: &serde_json::Value) {
    let summary = &doc["summary"];
    assert_eq!(junit.suites.len(), 1, "one testsuite");
    for counts in [&junit.root, &junit.suites[0]] {
        assert_eq!(counts["tests"], summary["seeds_run"].to_string(), "tests");
        assert_eq!(
            counts["failures"],
            summary["failed"].to_string(),
            "failures"
        );
        assert_eq!(counts["errors"], "0");
    }
    assert_eq!(
        junit.suites[0]["name"],
        summary["scenario"].as_str().unwrap()
    );
    let seeds: Vec<String> = doc["seeds"]
        .as_array()
        .expect("seeds")
        .iter()
        .map(|s| format!("seed {}", s["seed"]))
        .collect();
    let names: Vec<&str> = junit
        .cases
        .iter()
        .map(|(a, _)| a["name"].as_str())
        .collect();
    assert_eq!(names, seeds, "one testcase per seed that ran, in order");
    let failures: BTreeMap<String, &serde_json::Value> = summary["failures"]
        .as_array()
        .expect("failures")
        .iter()
        .map(|f| (format!("seed {}", f["seed"]), f))
        .collect();
    for (case, failure) in &junit.cases {
        let expected = failures.get(&case["name"]);
        assert_eq!(failure.is_some(), expected.is_some(), "{}", case["name"]);
        let (Some((attributes, text)), Some(expected)) = (failure, expected) else {
            continue;
        };
        let reproduce = expected["reproduce"].as_str().expect("reproduce");
        let message = &attributes["message"];
        assert!(
            message.ends_with(&format!("; reproduce: {reproduce}")),
            "{message}"
        );
        assert!(
            text.contains(&format!("reproduce: {reproduce}\n")),
            "{text}"
        );
        for kind in expected["violations"].as_array().expect("kinds") {
            let kind = kind.as_str().expect("kind");
            assert!(
                message.contains(kind) && text.contains(kind),
                "{kind}: {message}"
            );
        }
    }
}

#[test]
fn junit_counts_equal_the_json_summary_for_shards_and_their_merge() {
    let dir = scratch("junit");
    let mut shard_files = Vec::new();
    for k in 1..=2 {
        let json = dir.join(format!("shard-{k}.json"));
        let xml = dir.join(format!("shard-{k}.xml"));
        let report = dir.join(format!("shard-{k}.html"));
        let shard = format!("{k}/2");
        let out = kafkasim_with(
            &[],
            &[
                "explore",
                KNOWN_02,
                "--seeds",
                "1..8",
                "--shard",
                &shard,
                "--jobs",
                "2",
                "--quiet",
                "--json",
                path_str(&json),
                "--junit",
                path_str(&xml),
                "--report",
                path_str(&report),
            ],
        );
        let doc = read_json(&json);
        let failed = doc["summary"]["failed"].as_u64().expect("failed");
        assert_eq!(
            out.status.code(),
            Some(i32::from(failed > 0)),
            "shard {shard}"
        );
        assert!(report.is_file(), "--report composes with --junit");
        assert_agree(&read_junit(&xml), &doc);
        shard_files.push(json);
    }
    let merged_json = dir.join("all.json");
    let merged_xml = dir.join("all.xml");
    let out = kafkasim_with(
        &[],
        &[
            "merge",
            path_str(&shard_files[0]),
            path_str(&shard_files[1]),
            "--json",
            path_str(&merged_json),
            "--junit",
            path_str(&merged_xml),
        ],
    );
    let doc = read_json(&merged_json);
    assert_eq!(doc["summary"]["seeds_run"], 8);
    assert!(
        doc["summary"]["failed"].as_u64() > Some(0),
        "some seed of 1..8 misses the expected lost-write: {}",
        doc["summary"]
    );
    assert_eq!(out.status.code(), Some(1));
    let junit = read_junit(&merged_xml);
    assert_agree(&junit, &doc);
    let missing = junit
        .cases
        .iter()
        .filter_map(|(_, f)| f.as_ref())
        .find(|(a, _)| a["type"] == "missing-violation")
        .expect("a seed that did not find lost-write");
    assert!(
        missing.0["message"].starts_with("expected violations lost-write but the run passed"),
        "{:?}",
        missing.0
    );
}

#[test]
fn junit_failures_carry_the_violation_kinds_and_stopped_seeds_are_not_tests() {
    let dir = scratch("kinds");
    let scenario = dir.join("acks1-nemesis.json");
    std::fs::write(&scenario, super::explore::UNSAFE).expect("write scenario");
    let (json, xml) = (dir.join("s.json"), dir.join("s.xml"));
    let run = |extra: &[&str]| {
        let mut args = vec![
            "explore",
            path_str(&scenario),
            "--seeds",
            "1..8",
            "--quiet",
            "--json",
            path_str(&json),
            "--junit",
            path_str(&xml),
        ];
        args.extend_from_slice(extra);
        let out = kafkasim_with(&[], &args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (read_json(&json), read_junit(&xml))
    };
    let (doc, junit) = run(&["--jobs", "2"]);
    assert_agree(&junit, &doc);
    let (attributes, _) = junit
        .cases
        .iter()
        .find_map(|(_, f)| f.as_ref())
        .expect("a failing seed");
    assert_eq!(attributes["type"], "violation");
    assert!(
        attributes["message"].starts_with("lost-write"),
        "{attributes:?}"
    );

    let (doc, junit) = run(&["--jobs", "1", "--fail-fast"]);
    assert_eq!(doc["summary"]["stopped"], "fail-fast");
    assert!(
        doc["summary"]["seeds_run"].as_u64() < Some(8),
        "{}",
        doc["summary"]
    );
    assert_agree(&junit, &doc);
}

#[test]
fn a_junit_path_that_cannot_be_written_exits_2_before_any_seed_runs() {
    let dir = scratch("bad-junit");
    for args in [
        vec![
            "explore",
            KNOWN_02,
            "--seeds",
            "1..3",
            "--junit",
            "/nonexistent/j.xml",
        ],
        vec![
            "merge",
            "/nonexistent/a.json",
            "--junit",
            "/nonexistent/j.xml",
        ],
    ] {
        let out = kafkasim_with(&[], &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("--junit") && stderr.contains("no folder /nonexistent"),
            "{args:?}: {stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "no seed ran: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let out = kafkasim_with(&[], &["explore", KNOWN_02, "--junit", path_str(&dir)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is a folder"), "{stderr}");
}

/// Runs seeds 1..8 with `--shard auto` (and `extra`) under `env`; returns the seeds that
/// ran, the summary's `shard` and `shard_from`, and the first line of the summary.
fn auto_shard(
    test: &str,
    env: &[(&str, &str)],
    extra: &[&str],
) -> (Vec<u64>, String, String, String) {
    let json = scratch("auto").join(format!("{test}.json"));
    let mut args = vec![
        "explore",
        KNOWN_02,
        "--seeds",
        "1..8",
        "--shard",
        "auto",
        "--quiet",
        "--json",
        path_str(&json),
    ];
    args.extend_from_slice(extra);
    let out = kafkasim_with(env, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{env:?}: {stderr}"
    );
    let doc = read_json(&json);
    let seeds = doc["seeds"]
        .as_array()
        .expect("seeds")
        .iter()
        .map(|s| s["seed"].as_u64().expect("seed"))
        .collect();
    let text = |v: &serde_json::Value| v.as_str().expect("a string").to_string();
    let stdout = String::from_utf8_lossy(&out.stdout);
    (
        seeds,
        text(&doc["summary"]["shard"]),
        text(&doc["summary"]["shard_from"]),
        stdout.lines().next().expect("a summary").to_string(),
    )
}

#[test]
fn shard_auto_takes_the_shard_from_slurm_kubernetes_or_our_variables() {
    let slurm = [
        ("SLURM_ARRAY_TASK_ID", "3"),
        ("SLURM_ARRAY_TASK_MIN", "1"),
        ("SLURM_ARRAY_TASK_COUNT", "4"),
    ];
    let (seeds, shard, from, line) = auto_shard("slurm", &slurm, &[]);
    assert_eq!(
        (seeds, shard.as_str(), from.as_str()),
        (vec![2, 6], "3/4", "SLURM_ARRAY_TASK_ID")
    );
    assert!(
        line.contains("shard 3/4 (from SLURM_ARRAY_TASK_ID)"),
        "{line}"
    );

    let k8s = [("JOB_COMPLETION_INDEX", "0")];
    let (seeds, shard, from, _) = auto_shard("k8s", &k8s, &["--shards", "2"]);
    assert_eq!(
        (seeds, shard.as_str(), from.as_str()),
        (vec![2, 4, 6, 8], "1/2", "JOB_COMPLETION_INDEX")
    );

    // Ours come first, whatever else is set.
    let ours = [
        ("KAFKASIM_SHARD_INDEX", "1"),
        ("KAFKASIM_SHARD_COUNT", "4"),
        ("JOB_COMPLETION_INDEX", "0"),
    ];
    let (seeds, shard, from, _) = auto_shard("ours", &ours, &[]);
    assert_eq!(
        (seeds, shard.as_str(), from.as_str()),
        (vec![1, 5], "2/4", "KAFKASIM_SHARD_INDEX")
    );
}

#[test]
fn shard_auto_exits_2_naming_the_variable_that_is_wrong() {
    for (env, extra, needle) in [
        (vec![], vec![], "KAFKASIM_SHARD_INDEX is not set"),
        (
            vec![("JOB_COMPLETION_INDEX", "1")],
            vec![],
            "--shards is needed with JOB_COMPLETION_INDEX=1",
        ),
        (
            vec![("JOB_COMPLETION_INDEX", "2")],
            vec!["--shards", "2"],
            "JOB_COMPLETION_INDEX gives index 2",
        ),
        (
            vec![
                ("SLURM_ARRAY_TASK_ID", "1"),
                ("SLURM_ARRAY_TASK_COUNT", "3"),
            ],
            vec!["--shards", "4"],
            "SLURM_ARRAY_TASK_COUNT is 3, but --shards says 4",
        ),
        (
            vec![
                ("KAFKASIM_SHARD_INDEX", "one"),
                ("KAFKASIM_SHARD_COUNT", "4"),
            ],
            vec![],
            "KAFKASIM_SHARD_INDEX is `one`",
        ),
        (
            vec![("KAFKASIM_SHARD_INDEX", "0"), ("KAFKASIM_SHARD_COUNT", "0")],
            vec![],
            "KAFKASIM_SHARD_COUNT is 0",
        ),
    ] {
        let mut args = vec!["explore", KNOWN_02, "--seeds", "1..8", "--shard", "auto"];
        args.extend_from_slice(&extra);
        let out = kafkasim_with(&env, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {stderr}");
        assert!(stderr.contains(needle), "{env:?} names {needle}: {stderr}");
        assert!(out.stdout.is_empty(), "no seed ran");
    }
    let out = kafkasim_with(&[], &["explore", "--shard", "1/2", "--shards", "2"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--shards 2 goes only with --shard auto"),
        "{stderr}"
    );
}
