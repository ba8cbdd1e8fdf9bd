//! The brokers' half of `slow-failover` (liveness, white box): a running broker stayed
//! out of the cluster (not registered since it started, or fenced) for longer than the
//! rejoin bound while the active controller was usable and every datagram between the
//! two arrived. The state comes from the history alone ([`ClusterState`]), in
//! `slow-failover`'s pass.
//!
//! A fenced broker leads nothing and joins no ISR, so a broker kept out while it could
//! talk to the controller costs availability as surely as a partition without a leader:
//! with KAFKA-15489 (no check-quorum, before 3.7) an active controller cut off from the
//! other controllers, but not from the brokers, stays leader of its epoch; the brokers
//! keep fetching the metadata log from it and sending it heartbeats, never learn of the
//! controller the majority elected, and that controller fences them when their sessions
//! run out.
//!
//! The clock stops while the broker is not *shut out* ([`ClusterState::shut_out`]), and
//! begins again at a new activation (a new failover) and at the broker's restart or disk
//! wipe (a new registration). The finale's `heal` ends the check, as for partitions.
//!
//! The bound, with F = `controller_quorum_fetch_timeout_ms`, R and B the Raft request
//! timeout and retry backoff, W the leader's longest fetch park, H =
//! `broker_heartbeat_interval_ms` and d the largest per-message latency so far:
//!
//! `bound = 1.5 F + (R + B) + W + 2 H + 10 d`
//!
//! - 1.5 F: a controller that still leads its epoch for the broker but lost the other
//!   controllers resigns when check-quorum expires.
//! - R + B: a metadata fetch the broker sent before the spell began, lost to a cut, is
//!   given up after the request timeout and backoff. When some controller was out of a
//!   broker's reach during the spell ([`ClusterState::controller_out_of_reach`]), the
//!   broker's next fetch may go to that voter (a random one) and wait as long again: the
//!   term counts twice, as in `slow-failover`'s detour.
//! - W: a fetch parked at a leader that had nothing new.
//! - 2 H + 10 d: it learns the leader, catches up, registers if it must and heartbeats
//!   (a heartbeat interval each), and the records that unfence it commit: a few round
//!   trips.

use std::collections::BTreeMap;

use super::Evidence;
use super::cluster_state::ClusterState;
use crate::config::Config;
use crate::core::quorum::raft::config::{
    FETCH_MAX_WAIT_MS_DEFAULT, REQUEST_TIMEOUT_MS_DEFAULT, RETRY_BACKOFF_MS_DEFAULT,
};
use crate::fault_mark::{self, FaultMark};
use crate::history::EventKind;
#[cfg(test)]
use crate::history::History;
use crate::quorum_event::QuorumEvent;
use crate::types::{BrokerId, NodeId, SimTime};
use crate::violation::{Violation, ViolationKind};

/// The rejoin bound in milliseconds (module doc); `detour`: some controller was out of a
/// broker's reach during the spell.
pub fn bound_ms(config: &Config, latency_max_ms: u64, detour: bool) -> u64 {
    let timeouts = if detour { 2 } else { 1 };
    config.controller_quorum_fetch_timeout_ms * 3 / 2
        + timeouts * (REQUEST_TIMEOUT_MS_DEFAULT + RETRY_BACKOFF_MS_DEFAULT)
        + FETCH_MAX_WAIT_MS_DEFAULT
        + 2 * config.broker_heartbeat_interval_ms
        + 10 * latency_max_ms
}

/// A shut-out spell in progress: when and at which event it began, and whether some
/// controller was out of a broker's reach since.
#[derive(Clone, Copy, Debug)]
struct Begun {
    since: SimTime,
    index: usize,
    detour: bool,
}

/// Each broker seen so far, with its shut-out spell in progress if any. `slow-failover`
/// feeds it every event its pass applies.
#[derive(Clone, Debug, Default)]
pub struct ShutOutWatch {
    spells: BTreeMap<BrokerId, Option<Begun>>,
}

impl ShutOutWatch {
    /// After event `index` at `time` changed `state` (or, with `heal`, the finale's heal
    /// phase ended the workload): a violation per spell longer than the bound that ended.
    pub fn after(
        &mut self,
        config: &Config,
        state: &ClusterState,
        event: &EventKind,
        (index, time): (usize, SimTime),
        heal: bool,
    ) -> Vec<Violation> {
        if !state.quorum() {
            return Vec::new();
        }
        if let EventKind::BrokerRegistered { broker, .. } = event {
            self.spells.entry(*broker).or_default();
        }
        let restarted = restarted_brokers(event);
        let activated = matches!(event, EventKind::Quorum(QuorumEvent::Activated { .. }));
        let detour = state.controller_out_of_reach();
        let mut violations = Vec::new();
        for (broker, spell) in self.spells.iter_mut() {
            let out = !heal && state.shut_out(*broker);
            let restart = activated || restarted.contains(broker);
            if let Some(begun) = spell.as_mut() {
                begun.detour |= detour;
            }
            if let Some(begun) = *spell
                && (!out || restart)
            {
                *spell = None;
                let lasted_ms = time.ms_since(begun.since);
                let bound = bound_ms(config, state.latency_max_ms(), begun.detour);
                if lasted_ms > bound {
                    let spell = Spell {
                        broker: *broker,
                        since: begun.since,
                        begun: begun.index,
                        until: time,
                        ended: index,
                    };
                    violations.push(violation(spell, lasted_ms, bound));
                }
            }
            if out && spell.is_none() {
                *spell = Some(Begun {
                    since: time,
                    index,
                    detour,
                });
            }
        }
        violations
    }
}

/// The brokers a fault event restarts or wipes.
fn restarted_brokers(event: &EventKind) -> Vec<BrokerId> {
    let EventKind::Fault { description } = event else {
        return Vec::new();
    };
    match fault_mark::parse(description) {
        Some(FaultMark::Restart(nodes) | FaultMark::DiskWipe(nodes)) => nodes
            .into_iter()
            .filter_map(|n| match n {
                NodeId::Broker(b) => Some(b),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A shut-out spell that ended.
struct Spell {
    broker: BrokerId,
    since: SimTime,
    begun: usize,
    until: SimTime,
    ended: usize,
}

fn violation(spell: Spell, lasted_ms: u64, bound: u64) -> Violation {
    let mut evidence = Evidence::default();
    evidence.add(spell.begun);
    evidence.add(spell.ended);
    let Spell {
        broker,
        since,
        until,
        ..
    } = spell;
    let message = format!(
        "broker-{broker} ran but stayed fenced or unregistered for {lasted_ms} ms (from \
         {since} to {until}), longer than the rejoin bound of {bound} ms, while the active \
         controller was usable and every datagram between them arrived"
    );
    Violation::of_cluster(ViolationKind::SlowFailover, message, evidence.finish())
}

/// `slow-failover`'s findings of this half.
#[cfg(test)]
fn check(history: &History, config: &Config) -> Vec<Violation> {
    super::slow_failover::check(history, config)
        .into_iter()
        .filter(|v| v.message.contains("stayed fenced or unregistered"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::types::{BrokerEpoch, ControllerId, Offset};

    fn controller(n: u8) -> NodeId {
        NodeId::Controller(ControllerId(n))
    }

    /// Three controllers, controller 1 active in epoch 1, broker 1 registered and
    /// unfenced; then controller 2 activates in epoch 2, fences broker 1, and after
    /// `wait_ms` unfences it again; `fault`, if any, comes right after the fencing.
    fn fenced_for(wait_ms: u64, fault: Option<&str>) -> Builder {
        let mut b = Builder::new();
        for n in 1..=3 {
            let to = Offset(0);
            b.push(EventKind::Quorum(QuorumEvent::Truncated {
                node: controller(n),
                to,
            }));
        }
        let activated = |n: u8, epoch| {
            EventKind::Quorum(QuorumEvent::Activated {
                node: controller(n),
                epoch,
                unreplayed: 0,
            })
        };
        b.push(activated(1, 1));
        let broker = BrokerId(1);
        let broker_epoch = BrokerEpoch(1);
        b.push(EventKind::BrokerRegistered {
            broker,
            broker_epoch,
        });
        b.push(EventKind::BrokerUnfenced { broker });
        b.wait_ms(1000);
        b.fault("partition [controller-1] | [controller-2, controller-3]");
        b.wait_ms(3000);
        b.push(activated(2, 2));
        b.wait_ms(1500);
        b.push(EventKind::BrokerFenced { broker });
        if let Some(fault) = fault {
            b.fault(fault);
        }
        b.wait_ms(wait_ms);
        b.push(EventKind::BrokerUnfenced { broker });
        b
    }

    #[test]
    fn a_broker_fenced_past_the_bound_while_the_controller_reaches_it_is_caught() {
        let config = safe_config();
        let bound = bound_ms(&config, 10, false);
        let found = check(&fenced_for(bound + 1, None).history, &config);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("broker-1 ran but stayed fenced"));
        let found = check(&fenced_for(bound - 2, None).history, &config);
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn no_spell_while_the_active_controller_cannot_reach_the_broker() {
        let config = safe_config();
        let bound = bound_ms(&config, 10, false);
        let cut = Some("partition [controller-2] | [broker-1]");
        assert!(check(&fenced_for(3 * bound, cut).history, &config).is_empty());
    }

    #[test]
    fn a_controller_out_of_reach_during_the_spell_widens_the_bound() {
        let config = safe_config();
        let (short, long) = (bound_ms(&config, 10, false), bound_ms(&config, 10, true));
        assert!(short < long);
        let crash = Some("crash controller-1");
        assert!(check(&fenced_for(long - 3, crash).history, &config).is_empty());
        assert_eq!(
            check(&fenced_for(long + 1, crash).history, &config).len(),
            1
        );
    }

    #[test]
    fn a_restart_begins_a_new_spell() {
        let config = safe_config();
        let bound = bound_ms(&config, 10, false);
        let mut b = fenced_for(0, None);
        b.fault("crash broker-1");
        b.fault("restart broker-1");
        b.wait_ms(bound - 100);
        b.fault("disk_wipe broker-1");
        b.wait_ms(bound - 100);
        b.push(EventKind::BrokerRegistered {
            broker: BrokerId(1),
            broker_epoch: BrokerEpoch(2),
        });
        b.push(EventKind::BrokerUnfenced {
            broker: BrokerId(1),
        });
        assert!(check(&b.history, &config).is_empty());
        b.wait_ms(1000);
        b.fault("crash broker-1");
        b.fault("restart broker-1");
        b.wait_ms(bound + 1);
        let name = "heal".to_string();
        b.push(EventKind::Phase { name });
        let found = check(&b.history, &config);
        assert_eq!(found.len(), 1, "{found:?}");
    }
}
