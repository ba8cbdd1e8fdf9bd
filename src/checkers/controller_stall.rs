//! The quorum half of `slow-failover` (liveness, white box): a controller quorum had no
//! usable active controller for longer than the election bound while a majority of its
//! controllers ran and every datagram between them arrived, so it could have elected one.
//! The state comes from the history alone ([`ClusterState`]), in `slow-failover`'s pass.
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
use crate::types::SimTime;
use crate::violation::{Violation, ViolationKind};

/// The election bound in milliseconds (module doc).
pub fn bound_ms(config: &Config, latency_max_ms: u64) -> u64 {
    config.controller_quorum_fetch_timeout_ms
        + 4 * config.controller_quorum_election_timeout_ms
        + 10 * latency_max_ms
}

/// The quorum stall in progress, if any: when and at which event it began. `slow-failover`
/// feeds it every event its pass applies ([`QuorumWatch::after`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct QuorumWatch {
    stall: Option<(SimTime, usize)>,
}

impl QuorumWatch {
    /// After event `index` at `time` changed `state` (or, with `heal`, the finale's heal
    /// phase ended the workload): a violation if a stall longer than the bound ended.
    pub fn after(
        &mut self,
        config: &Config,
        state: &ClusterState,
        (index, time): (usize, SimTime),
        heal: bool,
    ) -> Option<Violation> {
        if !state.quorum() {
            return None;
        }
        let stalled = !heal && state.quorum_could_elect();
        match (self.stall, stalled) {
            (None, true) => self.stall = Some((time, index)),
            (Some((since, begun)), false) => {
                self.stall = None;
                let lasted_ms = time.ms_since(since);
                let bound = bound_ms(config, state.latency_max_ms());
                if lasted_ms > bound {
                    return Some(violation(since, begun, time, index, lasted_ms, bound));
                }
            }
            _ => {}
        }
        None
    }
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

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::checkers::slow_failover;
    use crate::history::EventKind;
    use crate::quorum_event::QuorumEvent;
    use crate::types::{ControllerId, NodeId, Offset};

    fn controller(n: u8) -> NodeId {
        NodeId::Controller(ControllerId(n))
    }

    /// Three controllers that each booted; controller 1 is active in epoch 1; then it
    /// crashes, and after `wait_ms` controller 2 activates.
    fn failover_after(wait_ms: u64) -> Builder {
        let mut b = Builder::new();
        for n in 1..=3 {
            let to = Offset(0);
            b.push(EventKind::Quorum(QuorumEvent::Truncated {
                node: controller(n),
                to,
            }));
        }
        let (node, epoch) = (controller(1), 1);
        b.push(EventKind::Quorum(QuorumEvent::Activated {
            node,
            epoch,
            unreplayed: 0,
        }));
        b.wait_ms(1000);
        b.fault("crash controller-1");
        b.wait_ms(wait_ms);
        let (node, epoch) = (controller(2), 2);
        b.push(EventKind::Quorum(QuorumEvent::Activated {
            node,
            epoch,
            unreplayed: 0,
        }));
        b
    }

    #[test]
    fn no_active_controller_past_the_election_bound_while_a_majority_runs_is_caught() {
        let config = safe_config();
        let bound = super::bound_ms(&config, 10);
        let late = failover_after(bound + 1);
        let found = slow_failover::check(&late.history, &config);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("no usable active controller"));
        let in_time = failover_after(bound - 1);
        assert!(slow_failover::check(&in_time.history, &config).is_empty());
    }

    #[test]
    fn no_stall_while_no_majority_of_controllers_runs() {
        let config = safe_config();
        let mut b = failover_after(0);
        b.fault("crash controller-2");
        b.fault("crash controller-3");
        b.wait_ms(60_000);
        b.fault("restart [controller-1, controller-2, controller-3]");
        assert!(slow_failover::check(&b.history, &config).is_empty());
    }
}
