//! `slow-failover` (liveness, white box): a partition had no running leader for longer
//! than the failover bound while the controller could have given it one. The state comes
//! from the history alone ([`ClusterState`]).
//!
//! The rule. A partition is *stalled* while, all at once:
//! - no running broker leads it in its current leader epoch (the epoch of its latest
//!   `LeaderElected`; a broker leads from its `BecameLeader` in that epoch until it
//!   follows, crashes or loses power; a paused leader does not run);
//! - the controller runs (not crashed, powered off or paused);
//! - a member of its ISR or ELR, as the controller last recorded them, is *electable*: it
//!   runs, it registered with the controller since it last started and is not fenced,
//!   and it is reachable from the controller: no cut between them either way and no
//!   packet loss on the network.
//!
//! A stall begins when the partition becomes stalled and ends when it no longer is. Two
//! things end it and begin a new one at once, because they begin a new failover:
//! - an election that names a broker the controller holds unfenced: the controller
//!   acted on what it knows; if that broker had stopped or was cut off, or fails before
//!   the metadata reaches it, the controller next waits for its session;
//! - the named leader stops running or being reachable from the controller (it may have
//!   been elected while cut off and not yet have learned that it leads): the controller
//!   next waits for its session.
//!
//! Only the workload counts: a stall still going at the finale's `heal` phase ends there
//! (the finale restarts and heals everything at once and has its own verdict,
//! `unavailable`). A stall longer than the bound is a violation.
//!
//! The bound, with S = `broker_session_timeout_ms`, H = `broker_heartbeat_interval_ms`,
//! C = the controller's session check interval ([`SESSION_CHECK_INTERVAL_MS`]) and d =
//! the largest per-message latency the network has had so far (the scenario's
//! `network.latency_ms` maximum, or a latency spell's), all in milliseconds:
//!
//! `bound = max(S + 1 + C + 3d, H + 2d)`
//!
//! - S + 1 + C + 2d: the leader stops; its last heartbeat reaches the controller at most
//!   d later; the controller fences it at the first session check more than S whole
//!   milliseconds after that (+1 for the rounding to whole milliseconds, + C), elects an
//!   electable member in the same step and pushes the metadata, which arrives within d
//!   and makes that member lead.
//! - The third d: the elected broker had stopped or been cut off before the election
//!   (its last heartbeat arrives at most d into the new stall) or fails before the push
//!   reached it (within d of the election; its last heartbeat arrives at most 2d into the
//!   stall). Elected while cut off and reachable again before its session expired, it
//!   gets the metadata in the answer to a heartbeat that arrived before the expiry, so no
//!   later.
//! - H + 2d: the push was lost while the link was cut or lossy, before the stall began;
//!   the broker's next heartbeat, at most H later, is answered with the metadata.
//!
//! With a controller quorum the controller's records commit before brokers learn them,
//! and a follower controller's fetch lost to a cut is sent again only after the Raft
//! request timeout R (2000 ms) and its backoff B (20 ms):
//! `bound = max(S + 1 + C + 3d, H + 2d, R + B) + 3d`.
//! When a broker's fetch from the leader failed that way, the broker (a Raft observer)
//! asks a random voter next; if some controller was stopped, paused or cut off from a
//! broker during the stall, that voter may not answer either, and the broker waits a
//! second request timeout before it asks the leader again (as Kafka's
//! `maybeSendAnyVoterFetch` does): the R + B term counts twice then.
//!
//! Packet loss stops the clock: while datagrams may be lost, heartbeats and pushes can be
//! lost any number of times in a row, so no bound holds (nor in Kafka); the clock starts
//! again when the loss ends, and what was lost comes with the next heartbeat (the H + 2d
//! path). Latency spells slow links without breaking them: they count, and widen d.

use std::collections::BTreeMap;

use super::Evidence;
use super::broker_shut_out::ShutOutWatch;
use super::cluster_state::ClusterState;
use super::controller_stall::QuorumWatch;
use crate::config::Config;
use crate::core::quorum::controller::SESSION_CHECK_INTERVAL_MS;
use crate::core::quorum::raft;
use crate::history::{EventKind, History};
use crate::types::{BrokerId, PartitionId, SimTime};
use crate::violation::{Violation, ViolationKind};

/// The failover bound in milliseconds (module doc) for a network whose largest
/// per-message latency so far is `latency_max_ms`.
///
/// `detour`: some controller of the quorum was out of a broker's reach during the stall,
/// so a broker's metadata may wait out two Raft request timeouts.
pub fn bound_ms(config: &Config, latency_max_ms: u64, quorum: bool, detour: bool) -> u64 {
    let d = latency_max_ms;
    let detect = config.broker_session_timeout_ms + 1 + SESSION_CHECK_INTERVAL_MS + 3 * d;
    let catch_up = config.broker_heartbeat_interval_ms + 2 * d;
    if !quorum {
        return detect.max(catch_up);
    }
    // A quorum's records commit before brokers learn them: the followers' parked fetches
    // return (d), their next fetches bring the HW up (d), and the brokers' parked fetches
    // return with it (d). A follower's fetch lost to a cut before the stall began is sent
    // again only after the Raft request timeout and its backoff.
    let timeouts = if detour { 2 } else { 1 };
    let refetch = timeouts
        * (raft::config::REQUEST_TIMEOUT_MS_DEFAULT + raft::config::RETRY_BACKOFF_MS_DEFAULT);
    detect.max(catch_up).max(refetch) + 3 * d
}

/// A stall in progress.
#[derive(Clone, Copy, Debug)]
struct Stall {
    /// When and at which event it began.
    since: SimTime,
    index: usize,
    /// An electable ISR or ELR member when it began.
    candidate: BrokerId,
    /// Some controller was out of a broker's reach during it ([`bound_ms`]).
    detour: bool,
}

/// What the check follows per partition.
#[derive(Clone, Copy, Debug, Default)]
struct Watch {
    stall: Option<Stall>,
    /// Whether the named leader ran and was reachable after the previous event.
    leader_in_reach: bool,
    /// The latest `LeaderElected` of the partition.
    election: Option<usize>,
}

/// One violation per stall longer than the bound, during the workload.
pub fn check(history: &History, config: &Config) -> Vec<Violation> {
    let mut state = ClusterState::new(history);
    let mut watches: BTreeMap<PartitionId, Watch> = BTreeMap::new();
    let mut violations = Vec::new();
    let last = history.events.len().checked_sub(1);
    let mut end = last.map(|i| (i, history.events[i].time));
    let (mut quorum, mut quorum_stalls) = (QuorumWatch::default(), Vec::new());
    let mut shut_out = ShutOutWatch::default();
    for (index, event) in history.events.iter().enumerate() {
        if matches!(&event.kind, EventKind::Phase { name } if name == "heal") {
            end = Some((index, event.time));
            let at = (index, event.time);
            quorum_stalls.extend(quorum.after(config, &state, at, true));
            quorum_stalls.extend(shut_out.after(config, &state, &event.kind, at, true));
            break;
        }
        if !state.apply(&event.kind) {
            continue;
        }
        let at = (index, event.time);
        quorum_stalls.extend(quorum.after(config, &state, at, false));
        quorum_stalls.extend(shut_out.after(config, &state, &event.kind, at, false));
        let mut acted = None;
        // A newly active controller gives every broker a fresh session: a new failover.
        let new_controller = matches!(
            &event.kind,
            EventKind::Quorum(crate::quorum_event::QuorumEvent::Activated { .. })
        );
        if let EventKind::LeaderElected {
            partition, leader, ..
        } = &event.kind
        {
            watches.entry(*partition).or_default().election = Some(index);
            acted = leader
                .filter(|l| state.unfenced_at_controller(*l))
                .map(|_| *partition);
        }
        let partitions: Vec<PartitionId> = state.partitions().map(|(p, _)| p).collect();
        let out_of_reach = state.controller_out_of_reach();
        for p in partitions {
            let watch = watches.entry(p).or_default();
            let in_reach = state.leader_in_reach(p);
            let leader_failed = watch.leader_in_reach && !in_reach;
            watch.leader_in_reach = in_reach;
            let candidate = stalled_with(&state, p);
            let restart = acted == Some(p) || leader_failed || new_controller;
            if let Some(stall) = watch.stall.as_mut() {
                stall.detour |= out_of_reach;
            }
            if let Some(stall) = watch.stall
                && (candidate.is_none() || restart)
            {
                watch.stall = None;
                let ended = Ended {
                    index,
                    time: event.time,
                    election: watch.election,
                };
                violations.extend(judge(history, config, &state, p, stall, ended));
            }
            if let Some(candidate) = candidate
                && watch.stall.is_none()
            {
                let since = event.time;
                watch.stall = Some(Stall {
                    since,
                    index,
                    candidate,
                    detour: out_of_reach,
                });
            }
        }
    }
    if let Some((index, time)) = end {
        for (p, watch) in watches {
            let Some(stall) = watch.stall else { continue };
            let election = watch.election;
            let ended = Ended {
                index,
                time,
                election,
            };
            violations.extend(judge(history, config, &state, p, stall, ended));
        }
    }
    violations.extend(quorum_stalls);
    violations
}

/// The electable ISR or ELR member of `p`, if `p` is stalled (module doc).
fn stalled_with(state: &ClusterState, p: PartitionId) -> Option<BrokerId> {
    if state.usable_controller().is_none() || state.has_running_leader(p) {
        return None;
    }
    state.candidate(p)
}

/// How a stall ended: the event, its time, and the partition's latest election by then.
#[derive(Clone, Copy, Debug)]
struct Ended {
    index: usize,
    time: SimTime,
    election: Option<usize>,
}

/// A violation if the stall lasted longer than the bound.
fn judge(
    history: &History,
    config: &Config,
    state: &ClusterState,
    p: PartitionId,
    stall: Stall,
    ended: Ended,
) -> Option<Violation> {
    let lasted_ms = ended.time.ms_since(stall.since);
    let bound = bound_ms(config, state.latency_max_ms(), state.quorum(), stall.detour);
    if lasted_ms <= bound {
        return None;
    }
    let name = super::partition_name(history, p);
    let mut evidence = Evidence::default();
    evidence.add(stall.index);
    evidence.add_opt(ended.election);
    evidence.add(ended.index);
    Some(Violation {
        kind: ViolationKind::SlowFailover,
        partition: Some(name.clone()),
        offsets: Vec::new(),
        values: Vec::new(),
        message: format!(
            "{name} had no running leader for {lasted_ms} ms (from {} to {}), longer than \
             the failover bound of {bound} ms, while the controller was up and broker-{} \
             (in its ISR or ELR) was running, registered and reachable from it",
            stall.since, ended.time, stall.candidate
        ),
        evidence: evidence.finish(),
        permitted_by: None,
        known_bug: None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::types::{BrokerEpoch, Offset};

    /// Brokers 1..=3 host `t-0`, register and are unfenced; broker 1 leads in epoch 0.
    fn running_cluster() -> Builder {
        let mut b = Builder::new();
        for broker in 1..=3 {
            b.push(EventKind::ReplicaRecovered {
                broker: BrokerId(broker),
                partition: P0,
                leo: Offset(0),
                hw: Offset(0),
            });
        }
        for broker in 1..=3 {
            b.push(EventKind::BrokerRegistered {
                broker: BrokerId(broker),
                broker_epoch: BrokerEpoch(u64::from(broker)),
            });
            b.push(EventKind::BrokerUnfenced {
                broker: BrokerId(broker),
            });
        }
        b.became_leader(1, 0);
        b
    }

    fn heal(b: &mut Builder) -> usize {
        b.push(EventKind::Phase {
            name: "heal".into(),
        })
    }

    fn config() -> Config {
        Config {
            broker_session_timeout_ms: 1500,
            broker_heartbeat_interval_ms: 300,
            ..safe_config()
        }
    }

    #[test]
    fn the_bound_is_the_session_the_check_and_three_latencies() {
        assert_eq!(bound_ms(&config(), 10, false, false), 1500 + 1 + 100 + 30);
        assert_eq!(bound_ms(&config(), 10, true, false), 2000 + 20 + 30);
        // A second request timeout when a controller was out of a broker's reach.
        assert_eq!(bound_ms(&config(), 10, true, true), 2 * (2000 + 20) + 30);
        assert_eq!(bound_ms(&config(), 10, false, true), 1500 + 1 + 100 + 30);
        let slow_heartbeats = Config {
            broker_heartbeat_interval_ms: 5000,
            ..config()
        };
        assert_eq!(bound_ms(&slow_heartbeats, 10, false, false), 5020);
    }

    #[test]
    fn flags_a_crashed_leader_that_is_never_replaced() {
        let mut b = running_cluster();
        let crash = b.fault("crash broker-1");
        b.wait_ms(5000);
        let end = heal(&mut b);
        let found = check(&b.history, &config());
        assert_eq!(
            summary(&found),
            vec![("slow-failover", "t-0".into(), vec![])]
        );
        assert_eq!(found[0].evidence, vec![crash, end]);
        assert!(
            found[0].message.contains("bound of 1631 ms") && found[0].message.contains("broker-2"),
            "{}",
            found[0].message
        );
        assert_eq!(found[0].permitted_by, None);
    }

    #[test]
    fn flags_a_slow_election_and_is_quiet_on_one_within_the_bound() {
        let failover = |wait_ms: u64| {
            let mut b = running_cluster();
            b.fault("crash broker-1");
            b.wait_ms(wait_ms);
            b.push(EventKind::BrokerFenced {
                broker: BrokerId(1),
            });
            b.elected(2, 1, false);
            b.became_leader(2, 1);
            b.wait_ms(10_000);
            heal(&mut b);
            check(&b.history, &config())
        };
        assert_eq!(failover(1400), vec![]);
        let found = failover(2000);
        assert_eq!(
            summary(&found),
            vec![("slow-failover", "t-0".into(), vec![])]
        );
        assert!(
            found[0].message.contains("for 2002 ms"),
            "{}",
            found[0].message
        );
    }

    /// The leader crashes after `before`, and `after` lifts what stopped the clock 5 s
    /// later; broker 2 takes over 1 s after that.
    fn excused(before: &str, after: &str) -> Vec<Violation> {
        let mut b = running_cluster();
        b.fault(before);
        b.fault("crash broker-1");
        b.wait_ms(5000);
        b.fault(after);
        b.wait_ms(1000);
        b.elected(2, 1, false);
        b.became_leader(2, 1);
        heal(&mut b);
        check(&b.history, &config())
    }

    #[test]
    fn quiet_while_nobody_could_lead_the_controller_is_down_or_packets_are_lost() {
        let cut = "partition [broker-2, broker-3] | [broker-1, controller]";
        assert_eq!(excused(cut, "heal"), vec![]);
        assert_eq!(excused("isolate controller", "heal"), vec![]);
        assert_eq!(excused("crash controller", "restart controller"), vec![]);
        assert_eq!(excused("pause controller", "resume controller"), vec![]);
        assert_eq!(excused("packet_loss 0.2", "packet_loss 0"), vec![]);
        assert_eq!(
            excused("pause broker-2", "resume broker-2").len(),
            1,
            "broker-3"
        );
        assert_eq!(excused("latency [1, 10]", "heal").len(), 1);
    }

    #[test]
    fn a_new_failover_begins_when_the_elected_leader_fails_before_it_leads() {
        // Broker 3 is elected while cut off, is reachable again, then crashes before it
        // learned that it leads: two failovers in a row, each within the bound.
        let mut b = running_cluster();
        b.fault("crash broker-1");
        b.fault("isolate broker-3");
        b.wait_ms(1500);
        b.push(EventKind::BrokerFenced {
            broker: BrokerId(1),
        });
        b.elected(3, 1, false);
        b.wait_ms(400);
        b.fault("heal");
        b.wait_ms(130);
        b.fault("crash broker-3");
        b.wait_ms(1550);
        b.push(EventKind::BrokerFenced {
            broker: BrokerId(3),
        });
        b.elected(2, 2, false);
        b.became_leader(2, 2);
        heal(&mut b);
        assert_eq!(check(&b.history, &config()), vec![]);
    }

    #[test]
    fn an_elected_leader_in_reach_that_never_leads_is_flagged() {
        let mut b = running_cluster();
        b.fault("crash broker-1");
        b.wait_ms(1500);
        b.push(EventKind::BrokerFenced {
            broker: BrokerId(1),
        });
        let elected = b.elected(2, 1, false);
        b.wait_ms(3000);
        let end = heal(&mut b);
        let found = check(&b.history, &config());
        assert_eq!(
            summary(&found),
            vec![("slow-failover", "t-0".into(), vec![])]
        );
        assert_eq!(
            found[0].evidence,
            vec![elected, end],
            "the stall began at the election"
        );
    }

    #[test]
    fn a_latency_spell_widens_the_bound() {
        let failover_after_2_s = |spell: &str| {
            let mut b = running_cluster();
            b.fault(spell);
            b.fault("crash broker-1");
            b.wait_ms(2000);
            b.elected(2, 1, false);
            b.became_leader(2, 1);
            heal(&mut b);
            check(&b.history, &config())
        };
        assert_eq!(failover_after_2_s("latency [50, 200]"), vec![]);
        assert_eq!(failover_after_2_s("latency [1, 10]").len(), 1);
    }
}
