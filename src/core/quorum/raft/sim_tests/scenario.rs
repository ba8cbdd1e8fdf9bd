//! What one seed picks (every knob of a run comes from its seed, VOPR style), the bounds
//! the liveness and stale-leader checks allow, and the counts of what happened.

use crate::core::prng::Prng;
use crate::core::quorum::raft::RaftConfig;

use super::net::NetConfig;

/// Time allowed, after healing, for a leader to be elected and a new record to commit on
/// every replica. Stale leaders resign within 3.5 s (check-quorum plus a parked fetch),
/// an election takes one or two timeouts of 1-2 s plus up to 1 s of backoff, requests cut
/// by the partition time out after 2 s, and an observer may wait one fetch timeout (2 s)
/// before it looks for the new leader.
pub(super) const LIVENESS_BOUND_MS: u64 = 20_000;

/// How long a leader may go on after a newer epoch has a leader, with check-quorum.
/// Its window restarts once a majority has fetched since the last restart, so one restart
/// may still count a fetch sent just before the new election (late by up to the network
/// delay, or parked for up to `fetch_max_wait_ms`): the old leader can last until the end
/// of the window after that one, two check-quorum timeouts later.
pub(super) fn stale_leader_bound_ms(config: &RaftConfig<u8>, delay_max_ms: u64) -> u64 {
    2 * config.check_quorum_timeout_ms() + config.fetch_max_wait_ms + 2 * delay_max_ms + 200
}

/// What one seed picks (all knobs of the run come from the seed, VOPR style).
#[derive(Clone, Debug)]
pub(super) struct Scenario {
    pub(super) voters: u8,
    pub(super) observers: u8,
    pub(super) net: NetConfig,
    pub(super) chaos_ms: u64,
    pub(super) fault_every_ms: (u64, u64),
    pub(super) down_ms: (u64, u64),
    pub(super) partition_ms: (u64, u64),
    /// How long `Fault::StrandLeader` lasts: past two check-quorum windows.
    pub(super) long_partition_ms: (u64, u64),
    /// Entries per fetch response: small values make followers catch up in steps that
    /// can end exactly at a new leader's epoch start offset.
    pub(super) fetch_max_entries: usize,
    /// Chance that a newly elected leader fails within 30 ms (frequent leader turnover,
    /// the Raft paper's Figure 8).
    pub(super) fragile_leader_percent: u64,
}

impl Scenario {
    /// Draws every knob of a run from the seed's PRNG.
    pub(super) fn pick(prng: &mut Prng) -> Scenario {
        let delay_max_ms = [5, 20, 60][prng.below(3) as usize];
        let loss_per_million = [0, 10_000, 50_000][prng.below(3) as usize];
        Scenario {
            voters: if prng.below(2) == 0 { 3 } else { 5 },
            observers: 1 + prng.below(2) as u8,
            net: NetConfig {
                delay_min_ms: 1,
                delay_max_ms,
                loss_per_million,
            },
            chaos_ms: 30_000,
            fault_every_ms: (200, 1_500),
            down_ms: (50, 4_000),
            partition_ms: (1_000, 15_000),
            long_partition_ms: (8_000, 20_000),
            fetch_max_entries: [1, 2, 8, 64][prng.below(4) as usize],
            fragile_leader_percent: [0, 25, 50, 80][prng.below(4) as usize],
        }
    }
}

/// Counts of interesting things that happened (Sometimes properties).
#[derive(Clone, Debug, Default)]
pub(in crate::core::quorum::raft) struct Stats {
    pub(super) steps: u64,
    pub(super) elections: u64,
    pub(super) truncations: u64,
    pub(super) snapshots_taken: u64,
    pub(super) snapshots_installed: u64,
    pub(super) check_quorum_resigns: u64,
    pub(super) crashes: u64,
    pub(super) power_losses: u64,
    pub(super) mid_step_cuts: u64,
    pub(super) committed: u64,
    pub(super) liveness_ms: u64,
}

impl Stats {
    /// Adds another run's counts (liveness: the larger).
    pub(super) fn add(&mut self, other: &Stats) {
        self.steps += other.steps;
        self.elections += other.elections;
        self.truncations += other.truncations;
        self.snapshots_taken += other.snapshots_taken;
        self.snapshots_installed += other.snapshots_installed;
        self.check_quorum_resigns += other.check_quorum_resigns;
        self.crashes += other.crashes;
        self.power_losses += other.power_losses;
        self.mid_step_cuts += other.mid_step_cuts;
        self.committed += other.committed;
        self.liveness_ms = self.liveness_ms.max(other.liveness_ms);
    }
}
