//! The mutation check: each knob of `RaftConfig` at the value that brings its Kafka bug
//! back, run over many seeds, counting the seeds on which the invariant checker catches
//! it (and which invariant did). Off by default; run it with
//! `RAFT_MUTATIONS=2000 cargo test --lib raft_mutations -- --nocapture`
//! (`RAFT_KNOB=check_quorum` picks one knob). Mutations go through knobs only: no rule
//! of the model is ever edited for this.

use super::*;

/// A knob at its buggy value, with the Kafka issue its default fixes.
type Mutation = (&'static str, &'static str, fn(&mut RaftConfig<u8>));

const MUTATIONS: [Mutation; 5] = [
    ("check_quorum", "KAFKA-15489", |c| c.check_quorum = false),
    ("restart_leader_resigned", "KAFKA-10527", |c| {
        c.restart_leader_resigned = false
    }),
    ("hw_requires_current_epoch", "KAFKA-12619", |c| {
        c.hw_requires_current_epoch = false
    }),
    ("voters_flush_before_fetch", "KAFKA-13884", |c| {
        c.voters_flush_before_fetch = false
    }),
    ("pre_vote", "KIP-996", |c| c.pre_vote = false),
];

/// One line per knob: seeds caught, and by which invariant (the first each seed broke).
fn report(name: &str, issue: &str, summary: &Summary) -> String {
    let caught: usize = summary.failures.values().map(Vec::len).sum();
    let mut line = format!(
        "{name}=buggy ({issue}): caught on {caught}/{} seeds",
        summary.seeds
    );
    for (kind, seeds) in &summary.failures {
        let first = &summary.first[kind];
        line.push_str(&format!("\n    {kind:?}: {} (e.g. {first})", seeds.len()));
    }
    line
}

#[test]
fn raft_mutations() {
    let Some(seeds) = std::env::var("RAFT_MUTATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
    else {
        return;
    };
    let only = std::env::var("RAFT_KNOB").ok();
    for (name, issue, mutate) in MUTATIONS {
        if only.as_deref().is_some_and(|only| only != name) {
            continue;
        }
        let summary = run_seeds(0..seeds, &|c| mutate(c));
        eprintln!("{}", report(name, issue, &summary));
    }
}
