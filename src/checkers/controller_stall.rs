//! The quorum half of `slow-failover` (liveness, white box): a controller quorum had no
//! usable active controller for longer than the election bound while a majority of its
//! controllers ran and every datagram between them arrived, so it could have elected one.
//! The state comes from the history alone ([`ClusterState`]).
//!
//! No usable active controller: none has activated since the last one renounced, or the
//! last one stopped running or is cut off from a majority of controllers. The clock stops
//! while the majority cannot talk (packet loss, cuts, too few running) and starts again
//! when it can; the finale's `heal` ends the check, as for partitions.
//!
//! The bound, with F = `controller_quorum_fetch_timeout_ms`, T =
//! `controller_quorum_election_timeout_ms` and d the largest per-message latency so far:
//!
//! `bound = F + 4T + 10d`
//!
//! - F: the followers notice that the leader is gone when their fetch timeout expires
//!   (a leader cut off from the majority keeps acting until check-quorum, 1.5 F, but the
//!   majority elects without it).
//! - 4T: a pre-vote and a vote round end within an election timeout (T + rand(T) < 2T)
//!   each; one lost round and its backoff (at most T with the defaults) fit in the rest.
//! - 10d: the pre-vote and vote round trips, the new leader's LeaderChange record
//!   committing (a fetch round trip), and the replay before it activates.

use super::Evidence;
use super::cluster_state::ClusterState;
use crate::config::Config;
use crate::history::{EventKind, History};
use crate::types::SimTime;
use crate::violation::{Violation, ViolationKind};

/// The election bound in milliseconds (module doc).
pub fn bound_ms(config: &Config, latency_max_ms: u64) -> u64 {
    config.controller_quorum_fetch_timeout_ms
        + 4 * config.controller_quorum_election_timeout_ms
        + 10 * latency_max_ms
}

/// One violation per stall of the quorum longer than the bound, during the workload.
pub fn check(history: &History, config: &Config) -> Vec<Violation> {
    let mut state = ClusterState::new(history);
    if !state.quorum() {
        return Vec::new();
    }
    let mut violations = Vec::new();
    let mut stall: Option<(SimTime, usize)> = None;
    for (index, event) in history.events.iter().enumerate() {
        let heal = matches!(&event.kind, EventKind::Phase { name } if name == "heal");
        if !heal && !state.apply(&event.kind) {
            continue;
        }
        let stalled = !heal && state.quorum_could_elect();
        match (stall, stalled) {
            (None, true) => stall = Some((event.time, index)),
            (Some((since, begun)), false) => {
                stall = None;
                let lasted_ms = event.time.ms_since(since);
                let bound = bound_ms(config, state.latency_max_ms());
                if lasted_ms > bound {
                    violations.push(violation(since, begun, event.time, index, lasted_ms, bound));
                }
            }
            _ => {}
        }
        if heal {
            break;
        }
    }
    violations
}

fn violation(
    since: SimTime,
    begun: usize,
    until: SimTime,
    ended: usize,
    lasted_ms: u64,
    bound: u64,
) -> Violation {
    let mut evidence = Evidence::default();
    evidence.add(begun);
    evidence.add(ended);
    let message = format!(
        "no usable active controller for {lasted_ms} ms (from {since} to {until}), longer \
         than the election bound of {bound} ms, while a majority of controllers ran and \
         could talk"
    );
    Violation::of_cluster(ViolationKind::SlowFailover, message, evidence.finish())
}
