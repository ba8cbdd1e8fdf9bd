//! `kafkasim step` through the binary: the text of a small pinned run is a reviewed
//! snapshot (`cargo insta review` after an intended change), bad options exit 2.

use super::kafkasim;

#[test]
fn step_output_of_the_small_failover_is_the_reviewed_snapshot() {
    let out = kafkasim(&["step", "scenarios/leader-failover-small.json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}

#[test]
fn step_filters_by_partition_and_time_and_keeps_earlier_state() {
    let out = kafkasim(&[
        "step",
        "scenarios/leader-crash.json",
        "--partition",
        "events-1",
        "--from-ms",
        "1000",
        "--until-ms",
        "1100",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let blocks: Vec<&str> = text
        .split("\n\n")
        .filter(|b| b.starts_with("step "))
        .collect();
    assert!(!blocks.is_empty(), "{text}");
    for block in &blocks {
        assert!(!block.contains("events-0"), "only events-1: {block}");
        let ms: f64 = block
            .split(['[', ']'])
            .nth(1)
            .and_then(|t| t.trim_end_matches("ms").parse().ok())
            .expect("a step time");
        assert!((1000.0..=1100.0).contains(&ms), "{block}");
    }
    // State from before the window is kept: the log does not start empty at 1 s.
    assert!(!blocks[0].contains("(empty)"), "{}", blocks[0]);
}

#[test]
fn step_bad_options_exit_2_with_a_clear_message() {
    let cases: [(&[&str], &str); 3] = [
        (
            &[
                "step",
                "scenarios/leader-crash.json",
                "--partition",
                "nope-7",
            ],
            "--partition nope-7: scenarios/leader-crash.json has no such partition (it has events-0, events-1)",
        ),
        (
            &["step", "--from-ms", "5000", "--until-ms", "1000"],
            "--from-ms 5000 is after --until-ms 1000",
        ),
        (&["step", "missing.json"], "cannot read missing.json"),
    ];
    for (args, message) in cases {
        let out = kafkasim(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn step_shows_a_violation_where_it_becomes_visible_with_its_causes() {
    let out = kafkasim(&[
        "step",
        "scenarios/unclean-election-lost-write.json",
        "--partition",
        "events-0",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let (before, after) = text
        .split_once("!! VIOLATION lost-write")
        .expect("a lost write is shown");
    let block = before.rsplit("\nstep ").next().expect("a step before it");
    assert!(
        block.contains("truncation"),
        "visible at the truncation: {block}"
    );
    assert!(after.contains("caused by the earlier events"), "{after}");
    assert!(
        after.contains("UNCLEAN"),
        "the unclean election is named: {after}"
    );
}
