//! TEMPORARY (not committed): each knob at its buggy value, and what the sim catches.
use super::*;

fn report(name: &str, tweak: &dyn Fn(&mut RaftConfig<u8>)) {
    let seeds: u64 = std::env::var("RAFT_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let summary = run_seeds(0..seeds, tweak);
    let mut caught = 0;
    for s in summary.failures.values() {
        caught += s.len();
    }
    eprintln!("== {name}: caught in {caught}/{} seeds", summary.seeds);
    for (kind, seeds) in &summary.failures {
        eprintln!(
            "   {kind:?}: {} seeds (first {:?}); {}",
            seeds.len(),
            &seeds[..seeds.len().min(8)],
            summary.first[kind]
        );
    }
}

#[test]
fn mutations() {
    if std::env::var("RAFT_MUTATIONS").is_err() {
        return;
    }
    report("check_quorum=false", &|c| c.check_quorum = false);
    report("restart_leader_resigned=false", &|c| {
        c.restart_leader_resigned = false
    });
    report("hw_requires_current_epoch=false", &|c| {
        c.hw_requires_current_epoch = false
    });
    report("voters_flush_before_fetch=false", &|c| {
        c.voters_flush_before_fetch = false
    });
    report("pre_vote=false", &|c| c.pre_vote = false);
}
