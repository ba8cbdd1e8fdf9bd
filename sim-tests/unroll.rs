//! `run --unroll`: the unrolled file of a failing nemesis run replays the same violation
//! kinds with the same seed (and, since the nemesis draws from a stream of its own and
//! the file keeps its looks, the same trace).

use std::path::Path;

use kafkasim::harness::unroll::unrolled;
use kafkasim::violation::ViolationKind;

use crate::{kafkasim, load, run_seed};

fn kinds(report: &kafkasim::harness::RunReport) -> Vec<ViolationKind> {
    let mut kinds: Vec<ViolationKind> = report.violations.iter().map(|v| v.kind).collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

#[test]
fn unrolled_failing_seeds_replay_with_equal_kinds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut failing = 0;
    let mut identical = 0;
    // acks=1 under the nemesis, then an unclean election under it.
    for file in [
        "scenarios/known/02-acks1-leader-crash.json",
        "scenarios/known/01-unclean-election.json",
    ] {
        let path = root.join(file);
        let source = std::fs::read_to_string(&path).expect("readable");
        let scenario = load(&path);
        for seed in 1..=40 {
            let original = run_seed(&scenario, seed);
            if original.violations.is_empty() || failing >= 24 {
                continue;
            }
            failing += 1;
            let (text, replay) = unrolled(&source, &scenario, file, &original)
                .unwrap_or_else(|e| panic!("{file} seed {seed}: {e}"));
            assert!(replay.nemesis.is_none(), "{text}");
            assert_eq!(replay.faults.len(), original.faults_applied.len());
            let again = run_seed(&replay, replay.seed);
            assert_eq!(
                kinds(&again),
                kinds(&original),
                "{file} seed {seed}:\n{text}"
            );
            identical += usize::from(again.trace_hash == original.trace_hash);
        }
    }
    assert!(failing >= 20, "only {failing} failing seeds");
    assert_eq!(identical, failing, "every replay is the same execution");
}

#[test]
fn run_unroll_writes_a_file_that_run_reproduces() {
    let dir = std::env::temp_dir().join(format!("kafkasim-unroll-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/known/02-acks1-leader-crash.json");
    let scenario = scenario.to_str().expect("utf-8");
    let dir_arg = format!("{}/", dir.display());
    let out = kafkasim(&["run", scenario, "--seed", "2", "--unroll", &dir_arg]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = dir.join("known-02-acks1-leader-crash-2-unrolled.json");
    let text = std::fs::read_to_string(&file).expect("written");
    assert!(!text.contains("\"nemesis\":"), "{text}");
    assert!(
        text.contains("\"leader:events-0\""),
        "role targets kept: {text}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unrolled"),
        "says where it wrote"
    );
    let again = kafkasim(&["run", file.to_str().expect("utf-8")]);
    assert_eq!(
        again.status.code(),
        Some(0),
        "the unrolled file expects and reproduces the kinds:\n{}",
        String::from_utf8_lossy(&again.stdout)
    );
    let bad = kafkasim(&["run", scenario, "--unroll", "/nonexistent-dir/x/y.json"]);
    assert_eq!(
        bad.status.code(),
        Some(2),
        "an unwritable path is bad input"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
