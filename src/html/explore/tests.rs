use super::*;
use crate::coverage::Coverage;
use crate::explore::availability::{OutageEntry, SeedAvailability};
use crate::explore::summary::{Origin, SeedResult};

fn seed(seed: u64, kinds: &[&str], pass: bool) -> SeedResult {
    let mut availability = SeedAvailability::default();
    for ms in [5, 12, 12, 30, 4000 + seed] {
        availability.produce_latency.record(ms * 1000);
    }
    let outage = |kind: &str, ms: u64| {
        let mut h = Histogram::default();
        h.record(ms * 1000);
        (kind.to_string(), h)
    };
    availability.outage_lengths = [outage("crash", 1500 + 400 * seed), outage("pause", 700)].into();
    availability.worst_outage = Some(OutageEntry {
        partition: "events-0".into(),
        from_ms: 2000,
        to_ms: 3500 + 400 * seed,
        length_ms: 1500 + 400 * seed,
        cause: "crash broker-2".into(),
        kind: "crash".into(),
    });
    let mut coverage = Coverage::default();
    coverage.add(Mark::LeaderChange);
    SeedResult {
        seed,
        outcome: if pass { "pass" } else { "fail" }.into(),
        violations: kinds.iter().map(|k| k.to_string()).collect(),
        trace_hash: format!("{seed:016x}"),
        sim_ms: 10_000,
        messages: 100,
        coverage,
        availability,
        wall_s: Default::default(),
    }
}

fn exploration(seeds: Vec<SeedResult>) -> Exploration {
    let origin = Origin {
        scenario: "acks1".into(),
        scenario_file: "acks1.json".into(),
        seeds: format!("1..{}", seeds.len()),
        shard: "1/1".into(),
        shard_from: None,
        expected_violations: Vec::new(),
        jobs: 2,
        possible: [
            (Mark::LeaderChange, "crash faults".to_string()),
            (Mark::UncleanElection, "unclean_leader_election".to_string()),
        ]
        .into(),
    };
    Exploration::new(origin, seeds, 2.0, None)
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[test]
fn the_page_summarises_kinds_histograms_recovery_coverage_and_failures() {
    let e = exploration(vec![
        seed(1, &["lost-write", "duplicate"], false),
        seed(2, &[], true),
        seed(3, &["lost-write"], false),
    ]);
    let page = render(&e).unwrap();
    assert!(page.contains("<h1>kafkasim explore · acks1 · seeds 1..3</h1>"));
    assert!(page.contains("<p>kafkasim explore acks1.json --seeds 1..3</p>"));
    assert!(page.contains("FAIL</span>: 2 of 3 seeds did not match"));
    // Violations by kind, with the seeds that found each.
    assert!(page.contains("data-kinds=\"2\""));
    assert_eq!(count(&page, "<tr class=\"kind\">"), 2);
    assert!(page.contains(
        "<td><b>lost-write</b></td><td class=\"num\">2</td><td class=\"num\">66.7%</td>"
    ));
    assert!(
        page.contains("<td class=\"mono\">1, 3</td>"),
        "lost-write's seeds"
    );
    // Histograms from the seeds' merged buckets: 15 latencies in 6 buckets.
    assert!(page.contains("<svg id=\"latency-histogram\""));
    assert!(
        page.contains(
            "p50 <b>11.8 ms</b>, p99 <b>4 s</b>, max <b>4 s</b> over 15 acknowledged sends"
        )
    );
    assert!(page.contains("data-bars=\"4\""), "4 latency buckets");
    assert!(page.contains(">p50 11.8 ms</text>"), "{page}");
    assert!(page.contains("<svg id=\"outage-histogram\""));
    assert_eq!(
        count(&page, "<rect class=\"bar f-crash\""),
        3,
        "one per seed's crash outage"
    );
    assert_eq!(
        count(&page, "<rect class=\"bar f-pause\""),
        1,
        "all three in one bucket"
    );
    assert!(page.contains("3 outages (pause 3)</title>") || page.contains(": 3 outages</title>"));
    // Time to recover per kind, and the longest outage with the command to look at it.
    assert!(
        page.contains("<tr><td>crash</td><td class=\"num\">3</td>"),
        "{page}"
    );
    assert!(
        page.contains("<tr><td>power_loss</td><td class=\"num\">0</td><td class=\"num\">-</td>")
    );
    assert!(page.contains("Longest: <b>2.7 s</b>, seed 3"));
    assert!(page.contains("<code>kafkasim run acks1.json --seed 3 --report</code>"));
    // Coverage: reached, possible but unreached, impossible.
    assert_eq!(count(&page, "<tr class=\"mark "), Mark::ALL.len());
    assert!(page.contains("<tr class=\"mark reached\"><td class=\"mono\">leader-change</td><td class=\"num\">3</td><td class=\"num\">3</td>"));
    assert!(page.contains("<tr class=\"mark unreached\"><td class=\"mono\">unclean-election</td>"));
    assert!(page.contains("<b>no seed reached it</b>"));
    assert!(
        page.contains("<tr class=\"mark impossible\"><td class=\"mono\">power-loss-unflushed</td>")
    );
    // Failing seeds with their reproduce lines.
    assert!(page.contains("data-failures=\"2\""));
    assert!(page.contains(
        "<li class=\"failure\"><code>kafkasim run acks1.json --seed 1</code> · lost-write, duplicate</li>"
    ));
    assert!(page.contains("<code>kafkasim run acks1.json --seed 3</code> · lost-write</li>"));
    assert!(!page.contains("--seed 2</code>"));
    let fetches = ["src=", "href=\"http", "<link", "url(http", "@import"];
    assert!(
        fetches.iter().all(|f| !page.contains(f)),
        "nothing fetched: no network"
    );
}

#[test]
fn a_clean_range_says_so_and_long_lists_are_cut() {
    let clean = exploration(vec![seed(1, &[], true)]);
    let page = render(&clean).unwrap();
    assert!(page.contains("PASS</span>: every seed matched"));
    assert!(page.contains("<p data-kinds=\"0\">No seed found a violation.</p>"));
    assert!(page.contains("<p data-failures=\"0\">None.</p>"));
    let many: Vec<SeedResult> = (1..=FAILURES_LISTED_MAX as u64 + 7)
        .map(|s| seed(s, &["lost-write"], false))
        .collect();
    let page = render(&exploration(many)).unwrap();
    assert_eq!(count(&page, "<li class=\"failure\">"), FAILURES_LISTED_MAX);
    assert!(page.contains("7 more: <code>explore --json</code> lists them all."));
    assert!(page.contains(&format!(
        "and {} more</td>",
        FAILURES_LISTED_MAX + 7 - SEEDS_NAMED_MAX
    )));
}

#[test]
fn the_command_line_names_the_file_and_shard() {
    let mut e = exploration(vec![seed(1, &[], true)]);
    e.summary.scenario_file = String::new();
    e.summary.shard = "2/4".into();
    assert_eq!(
        command_line(&e),
        "kafkasim explore --seeds 1..1 --shard 2/4"
    );
}

#[test]
fn shrunk_files_are_listed_with_their_replay_command() {
    use crate::explore::shrunk::ShrunkFile;
    let mut e = exploration(vec![
        seed(1, &["lost-write"], false),
        seed(2, &["duplicate"], false),
    ]);
    let page = render(&e).unwrap();
    assert!(
        !page.contains("id=\"shrunk\""),
        "no section without --shrink"
    );
    let file = |kind: &str, seed: u64, file: Option<&str>| ShrunkFile {
        kind: kind.into(),
        seed,
        file: file.map(str::to_string),
        partition: Some("events-0".into()),
        faults: file.map(|_| [14, 2]),
        runs: 90,
        wall_s: 1.5,
        reproduces: true,
        error: file
            .is_none()
            .then(|| "the unrolled faults do not replay".into()),
    };
    e.summary.shrunk = Some(vec![
        file("duplicate", 2, None),
        file(
            "lost-write",
            1,
            Some("reports/acks1-1-lost-write-shrunk.json"),
        ),
    ]);
    let page = render(&e).unwrap();
    assert!(page.contains("<h2>Shrunk (2)</h2>"));
    assert!(page.contains(
        "lost-write on events-0, seed 1: 14 → 2 faults · <code>kafkasim run reports&#x2f;acks1-1-lost-write-shrunk.json</code>"
    ));
    assert!(
        page.contains(
            "duplicate on events-0, seed 2: not shrunk: the unrolled faults do not replay"
        )
    );
    assert!(command_line(&e).ends_with(" --shrink"));
}
