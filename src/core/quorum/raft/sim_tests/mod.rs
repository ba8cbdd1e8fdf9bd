//! A randomized deterministic simulation of the Raft core, in the spirit of Kafka's
//! `RaftEventSimulationTest`: 3 or 5 voters and 1 or 2 observers, an in-test network with
//! seeded delay, loss, reordering and (one-way) partitions, crashes that keep the page
//! cache, power losses that keep only flushed entries (also in the middle of a step), and
//! restarts, while the leader proposes records and replicas take snapshots. The
//! invariants of `checker.rs` are checked after every step; after the chaos phase every
//! fault is healed and a leader must be elected and commit a new record on every replica
//! within `LIVENESS_BOUND_MS`. One seed is one exact run.

mod checker;
mod disk;
mod faults;
mod mutations;
mod net;
mod scenario;
mod workload;
mod world;

use std::collections::BTreeMap;

use super::{Raft, RaftConfig, RaftEffect, RaftMessage};

use checker::{Digest, Kind, Violation};
use scenario::Stats;
use world::World;

/// The records the simulated leader proposes: unique numbers.
pub(super) type Record = u64;
/// The test's state machine: the digest of every committed offset (also its snapshot).
pub(super) type Ledger = Vec<Digest>;
pub(super) type Node = Raft<u8, Record, Ledger>;
pub(super) type Effect = RaftEffect<u8, Record, Ledger>;
pub(super) type Message = RaftMessage<u8, Record, Ledger>;

/// Seeds the default test runs.
const SEEDS: u64 = 300;

/// Runs one seed.
pub(super) fn run_seed(
    seed: u64,
    tweak: &dyn Fn(&mut RaftConfig<u8>),
) -> (Result<(), Violation>, Stats, Ledger) {
    let mut world = World::new(seed, tweak);
    let result = world.run();
    let ledger = world.ledger();
    (result, world.stats, ledger)
}

/// What many seeds did.
#[derive(Debug, Default)]
pub(super) struct Summary {
    pub(super) seeds: u64,
    /// Failing seeds by the first invariant each broke.
    pub(super) failures: BTreeMap<Kind, Vec<u64>>,
    pub(super) first: BTreeMap<Kind, Violation>,
    pub(super) totals: Stats,
    pub(super) liveness_ms_max: u64,
}

/// Runs `seeds` with the config changed by `tweak`.
pub(super) fn run_seeds(
    seeds: std::ops::Range<u64>,
    tweak: &dyn Fn(&mut RaftConfig<u8>),
) -> Summary {
    let mut summary = Summary::default();
    for seed in seeds {
        let (result, stats, _) = run_seed(seed, tweak);
        summary.seeds += 1;
        summary.totals.add(&stats);
        summary.liveness_ms_max = summary.liveness_ms_max.max(stats.liveness_ms);
        if let Err(violation) = result {
            summary
                .failures
                .entry(violation.kind)
                .or_default()
                .push(seed);
            summary.first.entry(violation.kind).or_insert(violation);
        }
    }
    summary
}

impl Summary {
    fn report(&self) -> String {
        let mut lines = vec![format!(
            "{} seeds; totals {:?}; liveness max {} ms",
            self.seeds, self.totals, self.liveness_ms_max
        )];
        for (kind, seeds) in &self.failures {
            let first = &self.first[kind];
            lines.push(format!(
                "{kind:?}: {} seeds, e.g. seed {}: {first}",
                seeds.len(),
                seeds[0]
            ));
        }
        lines.join("\n")
    }
}

#[test]
fn raft_simulation_keeps_every_invariant_with_kafkas_defaults() {
    let summary = run_seeds(0..SEEDS, &|_| {});
    let report = summary.report();
    eprintln!("{report}");
    assert!(summary.failures.is_empty(), "{report}");
    // Sometimes properties: the faults reach the interesting states
    let totals = &summary.totals;
    assert!(totals.elections > SEEDS * 3, "{report}");
    assert!(totals.truncations > 0, "{report}");
    assert!(totals.snapshots_installed > 0, "{report}");
    assert!(totals.check_quorum_resigns > 0, "{report}");
    assert!(
        totals.mid_step_cuts > 0 && totals.power_losses > 0,
        "{report}"
    );
    assert!(totals.committed > SEEDS * 50, "{report}");
}

/// Many seeds on demand (CI runs `SEEDS`):
/// `RAFT_SEEDS=5000 cargo test --lib raft_simulation_many_seeds -- --nocapture`;
/// `RAFT_SEED_FIRST` moves the range.
#[test]
fn raft_simulation_many_seeds() {
    let number = |name: &str| std::env::var(name).ok().and_then(|s| s.parse::<u64>().ok());
    let Some(seeds) = number("RAFT_SEEDS") else {
        return;
    };
    let first = number("RAFT_SEED_FIRST").unwrap_or(0);
    let summary = run_seeds(first..first + seeds, &|_| {});
    let report = summary.report();
    eprintln!("{report}");
    assert!(summary.failures.is_empty(), "{report}");
}

/// Replays one seed with a trace: `RAFT_SEED=173 RAFT_TRACE=1 cargo test --release --lib
/// replay_one_seed -- --nocapture`.
#[test]
fn replay_one_seed() {
    let Some(seed) = std::env::var("RAFT_SEED").ok().and_then(|s| s.parse().ok()) else {
        return;
    };
    let (result, stats, _) = run_seed(seed, &|_| {});
    eprintln!("seed {seed}: {result:?}\n{stats:?}");
}

#[test]
fn raft_simulation_is_deterministic() {
    for seed in [3, 17] {
        let (first, stats, ledger) = run_seed(seed, &|_| {});
        let (second, stats_again, ledger_again) = run_seed(seed, &|_| {});
        assert_eq!(first.is_ok(), second.is_ok());
        assert_eq!(format!("{stats:?}"), format!("{stats_again:?}"));
        assert_eq!(ledger, ledger_again, "seed {seed}");
    }
}
