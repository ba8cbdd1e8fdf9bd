//! The controller quorum's known bugs (`known_bug`), read from the history's quorum events
//! like every checker. Unlike a replication bug, a controller bug is not tied to one
//! partition: the controller decides for all of them, so a decision made on a wrong state
//! can break any partition, its failover or the quorum itself.
//!
//! A knob set to its pre-fix value makes its bug possible; the history must then show the
//! bug's mechanism before the violation's last evidence event:
//! - `KAFKA-15345` (`kafka_version` before 3.6: the active controller acts before it has
//!   replayed the log): a controller became active with entries below its epoch start
//!   still unapplied (`… active controller in quorum epoch E before replaying N metadata
//!   log entries …`). What it then decides rests on a stale state: an ISR or leader
//!   epoch a committed record had already changed.
//! - `KAFKA-10527` (`restart_leader_resigned: false`: a restarted leader leads again in
//!   its old epoch): a controller led the metadata log again in a quorum epoch it had
//!   already led. If it lost unflushed entries meanwhile, it writes new ones at offsets
//!   its followers hold in that same epoch, and they never see the difference. The
//!   evidence is the second leadership.
//! - `KAFKA-15489` (`kafka_version` before 3.7: no check-quorum): a controller stayed
//!   active, running and unrenounced, for longer than the check-quorum window (1.5 x
//!   `controller_quorum_fetch_timeout_ms`) after another controller activated in a later
//!   quorum epoch. The evidence is the later activation: the brokers that still follow
//!   the old one never hear of it.
//! - `KIP-996` (`kafka_version` before 4.0: no pre-vote): a controller ran cut off from
//!   a majority of the quorum for longer than twice the election timeout
//!   (`controller_quorum_election_timeout_ms`; each timer is drawn below 2 T), so it
//!   stood for election in a new quorum epoch at least once; brokers that hear its epoch
//!   ignore the leader of the lower one, and once back it unseats that leader. Only
//!   liveness kinds (`slow-failover`, `unavailable`) are laid to it. The evidence is the
//!   fault that cut it off.
//!
//! The mechanism's event joins the violation's evidence.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::history::{EventKind, History};
use crate::quorum_event::QuorumEvent;
use crate::types::{NodeId, SimTime};
use crate::violation::{Violation, ViolationKind};

use super::cluster_state::{ClusterState, Process};
use super::known_bugs::KnownBug;

/// The active controller acted before replaying the log (fixed in 3.6; KAFKA-17333,
/// the same from the Resigned state, in 3.9).
pub const KAFKA_15345: KnownBug = KnownBug {
    tag: "KAFKA-15345",
    fixed_in: "3.6",
};

/// A restarted leader leads again in the same epoch (fixed in 2.7, before KRaft shipped).
pub const KAFKA_10527: KnownBug = KnownBug {
    tag: "KAFKA-10527",
    fixed_in: "2.7",
};

/// An active controller cut off from the other controllers stays active (no check-quorum;
/// fixed in 3.7).
pub const KAFKA_15489: KnownBug = KnownBug {
    tag: "KAFKA-15489",
    fixed_in: "3.7",
};

/// A voter cut off from the quorum bumps the epoch at every election timeout (no pre-vote,
/// fixed in 4.0).
pub const KIP_996: KnownBug = KnownBug {
    tag: "KIP-996",
    fixed_in: "4.0",
};

/// Every known controller-quorum bug.
pub const ALL: [KnownBug; 4] = [KAFKA_15345, KAFKA_10527, KAFKA_15489, KIP_996];

/// What a voter that disrupts the quorum with its epochs can cause: liveness only.
const LIVENESS_KINDS: [ViolationKind; 2] =
    [ViolationKind::SlowFailover, ViolationKind::Unavailable];

/// The kinds a controller deciding on a wrong state can cause: lost or divergent data, a
/// partition led twice or not at all, and a quorum that misbehaves. Client-side kinds
/// (duplicates, reordering, aborted reads) are never attributed to it.
const KINDS: [ViolationKind; 11] = [
    ViolationKind::LostWrite,
    ViolationKind::UncommittedRead,
    ViolationKind::Divergence,
    ViolationKind::InconsistentOffsets,
    ViolationKind::NonmonotonicRead,
    ViolationKind::SplitBrain,
    ViolationKind::Unavailable,
    ViolationKind::Unseen,
    ViolationKind::SlowFailover,
    ViolationKind::MetadataDivergence,
    ViolationKind::ControllerSplitBrain,
];

/// Sets `known_bug` on every violation not yet explained that a quorum bug of `config`'s
/// version explains.
pub fn attribute(history: &History, config: &Config, violations: &mut [Violation]) {
    if violations
        .iter()
        .all(|v| v.known_bug.is_some() || v.permitted_by.is_some())
    {
        return; // nothing to explain: spare the history passes below
    }
    let mechanisms = [
        (KAFKA_15345, &KINDS[..], early_activations(history, config)),
        (
            KAFKA_10527,
            &KINDS[..],
            repeated_leaderships(history, config),
        ),
        (KAFKA_15489, &KINDS[..], lingering_leaders(history, config)),
        (
            KIP_996,
            &LIVENESS_KINDS[..],
            disruptive_voters(history, config),
        ),
    ];
    for (bug, kinds, indices) in mechanisms {
        for v in violations.iter_mut() {
            if !kinds.contains(&v.kind) || v.known_bug.is_some() || v.permitted_by.is_some() {
                continue;
            }
            let last = v.evidence.last().copied().unwrap_or(usize::MAX);
            let Some(i) = indices.iter().rev().copied().find(|i| *i <= last) else {
                continue;
            };
            v.known_bug = Some(bug.tag.to_string());
            super::known_bugs::add_evidence(v, i);
        }
    }
}

/// The indices of the faults that cut a running controller off from a majority of the
/// quorum for longer than twice the election timeout, when the configuration has no
/// pre-vote (KIP-996).
fn disruptive_voters(history: &History, config: &Config) -> Vec<usize> {
    if config.quorum.pre_vote {
        return Vec::new();
    }
    let long_ms = 2 * config.controller_quorum_election_timeout_ms;
    let mut state = ClusterState::new(history);
    // Controllers cut off now: since when, and the event that cut them off.
    let mut cut_off: BTreeMap<NodeId, (SimTime, usize)> = BTreeMap::new();
    let mut found = Vec::new();
    for (index, event) in history.events.iter().enumerate() {
        if !state.apply(&event.kind) {
            continue;
        }
        let now = state.controllers_cut_off();
        cut_off.retain(|c, (since, cause)| {
            let still = now.contains(c);
            if !still && event.time.ms_since(*since) > long_ms {
                found.push(*cause);
            }
            still
        });
        for c in now {
            cut_off.entry(c).or_insert((event.time, index));
        }
    }
    if let Some(last) = history.events.last() {
        let ended = cut_off
            .values()
            .filter(|(since, _)| last.time.ms_since(*since) > long_ms);
        found.extend(ended.map(|(_, cause)| *cause));
    }
    found.sort_unstable();
    found.dedup();
    found
}

/// The indices of activations after which the controller active before them stayed
/// active, running and unrenounced, longer than the check-quorum window, when the
/// configuration brings KAFKA-15489 back.
fn lingering_leaders(history: &History, config: &Config) -> Vec<usize> {
    if config.quorum.check_quorum {
        return Vec::new();
    }
    let window_ms = config.controller_quorum_fetch_timeout_ms * 3 / 2;
    let mut state = ClusterState::new(history);
    // Active controllers: node -> (its epoch, the later activation it outlived, if any).
    let mut active: BTreeMap<NodeId, (u32, Option<(usize, SimTime)>)> = BTreeMap::new();
    let mut found = Vec::new();
    let mut end = |outlived: Option<(usize, SimTime)>, now: SimTime| {
        if let Some((i, since)) = outlived
            && now.ms_since(since) > window_ms
        {
            found.push(i);
        }
    };
    for (index, event) in history.events.iter().enumerate() {
        if !state.apply(&event.kind) {
            continue;
        }
        match &event.kind {
            EventKind::Quorum(QuorumEvent::Activated { node, epoch, .. }) => {
                for (_, (older, outlived)) in active.iter_mut() {
                    if *older < *epoch && outlived.is_none() {
                        *outlived = Some((index, event.time));
                    }
                }
                active.insert(*node, (*epoch, None));
            }
            EventKind::Quorum(QuorumEvent::Renounced { node, .. }) => {
                if let Some((_, outlived)) = active.remove(node) {
                    end(outlived, event.time);
                }
            }
            _ => {}
        }
        // Crashed or powered off (a pause keeps it active, as before).
        active.retain(|node, (_, outlived)| {
            let down = state.process(*node) == Process::Down;
            if down {
                end(*outlived, event.time);
            }
            !down
        });
    }
    if let Some(last) = history.events.last() {
        for (_, outlived) in active.into_values() {
            end(outlived, last.time);
        }
    }
    found.sort_unstable();
    found.dedup();
    found
}

/// The indices of leaderships of the metadata log in a quorum epoch the same controller
/// had already led (it restarted and led that epoch again), when the configuration
/// brings KAFKA-10527 back.
fn repeated_leaderships(history: &History, config: &Config) -> Vec<usize> {
    if config.quorum.restart_leader_resigned {
        return Vec::new();
    }
    let mut led = std::collections::BTreeSet::new();
    let leaderships = history
        .events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e.kind {
            EventKind::Quorum(QuorumEvent::Led { node, epoch, .. }) => Some((i, node, epoch)),
            _ => None,
        });
    leaderships
        .filter(|(_, node, epoch)| !led.insert((*node, *epoch)))
        .map(|(i, _, _)| i)
        .collect()
}

/// The indices of activations before the replay reached the epoch start, when the
/// configuration brings KAFKA-15345 back.
fn early_activations(history: &History, config: &Config) -> Vec<usize> {
    if config.quorum.activate_after_replay {
        return Vec::new();
    }
    history
        .events
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            matches!(
                e.kind,
                EventKind::Quorum(QuorumEvent::Activated { unreplayed, .. }) if unreplayed > 0
            )
        })
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::types::{ControllerId, NodeId};

    fn unavailable(evidence: Vec<usize>) -> Violation {
        Violation {
            kind: ViolationKind::Unavailable,
            partition: Some("t-0".to_string()),
            offsets: Vec::new(),
            values: Vec::new(),
            message: String::new(),
            evidence,
            permitted_by: None,
            known_bug: None,
        }
    }

    fn activate(b: &mut Builder, unreplayed: u64) -> usize {
        b.push(EventKind::Quorum(QuorumEvent::Activated {
            node: NodeId::Controller(ControllerId(2)),
            epoch: 3,
            unreplayed,
        }))
    }

    fn config(activate_after_replay: bool) -> Config {
        let mut c = Config::default();
        c.quorum.activate_after_replay = activate_after_replay;
        c
    }

    #[test]
    fn an_activation_before_the_replay_explains_what_follows_it() {
        let mut b = Builder::new();
        let early = activate(&mut b, 4);
        let later = b.fault("crash broker-1");
        let mut found = vec![unavailable(vec![later])];
        attribute(&b.history, &config(false), &mut found);
        assert_eq!(found[0].known_bug.as_deref(), Some("KAFKA-15345"));
        assert_eq!(found[0].evidence, vec![early, later]);
    }

    #[test]
    fn not_with_the_fix_nor_after_a_full_replay_nor_before_the_activation() {
        let mut b = Builder::new();
        let before = b.fault("crash broker-1");
        activate(&mut b, 4);
        let mut found = vec![unavailable(vec![before])];
        attribute(&b.history, &config(false), &mut found);
        assert_eq!(found[0].known_bug, None, "the violation came first");

        let mut b = Builder::new();
        activate(&mut b, 0);
        let later = b.fault("crash broker-1");
        for fixed in [false, true] {
            let mut found = vec![unavailable(vec![later])];
            attribute(&b.history, &config(fixed), &mut found);
            assert_eq!(found[0].known_bug, None);
        }
        let mut b = Builder::new();
        activate(&mut b, 4);
        let later = b.fault("crash broker-1");
        let mut found = vec![unavailable(vec![later])];
        attribute(&b.history, &config(true), &mut found);
        assert_eq!(found[0].known_bug, None, "the knob says the fix is in");
    }

    fn activate_controller(b: &mut Builder, n: u8, epoch: u32) -> usize {
        b.push(EventKind::Quorum(QuorumEvent::Activated {
            node: NodeId::Controller(ControllerId(n)),
            epoch,
            unreplayed: 0,
        }))
    }

    fn no_check_quorum() -> Config {
        let mut c = Config::default();
        c.quorum.check_quorum = false;
        c
    }

    #[test]
    fn an_old_controller_active_past_the_check_quorum_window_explains_what_follows() {
        let window_ms = Config::default().controller_quorum_fetch_timeout_ms * 3 / 2;
        let mut b = Builder::new();
        activate_controller(&mut b, 1, 1);
        let newer = activate_controller(&mut b, 2, 2);
        b.wait_ms(window_ms + 1);
        let later = b.fault("crash broker-1");
        let mut found = vec![unavailable(vec![later])];
        attribute(&b.history, &no_check_quorum(), &mut found);
        assert_eq!(found[0].known_bug.as_deref(), Some("KAFKA-15489"));
        assert_eq!(found[0].evidence, vec![newer, later]);
        let mut found = vec![unavailable(vec![later])];
        attribute(&b.history, &Config::default(), &mut found);
        assert_eq!(found[0].known_bug, None, "check-quorum is on");
    }

    #[test]
    fn not_when_the_old_controller_renounced_or_stopped_within_the_window() {
        let window_ms = Config::default().controller_quorum_fetch_timeout_ms * 3 / 2;
        for stop in ["renounce", "crash controller-1"] {
            let mut b = Builder::new();
            activate_controller(&mut b, 1, 1);
            activate_controller(&mut b, 2, 2);
            b.wait_ms(window_ms - 10);
            if stop == "renounce" {
                b.push(EventKind::Quorum(QuorumEvent::Renounced {
                    node: NodeId::Controller(ControllerId(1)),
                    epoch: 1,
                }));
            } else {
                b.fault(stop);
            }
            b.wait_ms(10_000);
            let later = b.fault("crash broker-1");
            let mut found = vec![unavailable(vec![later])];
            attribute(&b.history, &no_check_quorum(), &mut found);
            assert_eq!(found[0].known_bug, None, "{stop}");
        }
    }

    fn lead(b: &mut Builder, n: u8, epoch: u32) -> usize {
        b.push(EventKind::Quorum(QuorumEvent::Led {
            node: NodeId::Controller(ControllerId(n)),
            epoch,
            epoch_start: crate::types::Offset(7),
        }))
    }

    #[test]
    fn a_second_leadership_in_the_same_epoch_explains_what_follows_without_the_fix() {
        let mut b = Builder::new();
        lead(&mut b, 1, 1);
        let before = b.fault("crash broker-1");
        b.fault("power_loss controller-1");
        b.fault("restart controller-1");
        let again = lead(&mut b, 1, 1);
        let later = b.fault("crash broker-2");
        let mut buggy = Config::default();
        buggy.quorum.restart_leader_resigned = false;
        let mut found = vec![unavailable(vec![before]), unavailable(vec![later])];
        attribute(&b.history, &buggy, &mut found);
        assert_eq!(found[0].known_bug, None, "the violation came first");
        assert_eq!(found[1].known_bug.as_deref(), Some("KAFKA-10527"));
        assert_eq!(found[1].evidence, vec![again, later]);
        let mut found = vec![unavailable(vec![later])];
        attribute(&b.history, &Config::default(), &mut found);
        assert_eq!(found[0].known_bug, None, "a restarted leader resigns");
        let mut b = Builder::new();
        lead(&mut b, 1, 1);
        lead(&mut b, 1, 2);
        let later = b.fault("crash broker-2");
        let mut found = vec![unavailable(vec![later])];
        attribute(&b.history, &buggy, &mut found);
        assert_eq!(found[0].known_bug, None, "a new epoch each time");
    }

    fn no_pre_vote() -> Config {
        let mut c = Config::default();
        c.quorum.pre_vote = false;
        c
    }

    /// Three controllers; controller-3 is cut off from the other two for `ms`, then healed;
    /// later a slow failover. Returns the history, the cut's index and the violation.
    fn cut_off_for(ms: u64) -> (Builder, usize, Violation) {
        let mut b = Builder::new();
        for n in [1, 2, 3] {
            activate_controller(&mut b, n, u32::from(n));
        }
        let cut = b.fault("partition [controller-3] | [controller-1, controller-2]");
        b.wait_ms(ms);
        b.fault("heal");
        let later = b.fault("crash broker-1");
        let mut slow = unavailable(vec![later]);
        slow.kind = ViolationKind::SlowFailover;
        (b, cut, slow)
    }

    #[test]
    fn a_controller_cut_off_past_two_election_timeouts_without_pre_vote_explains_liveness() {
        let long_ms = 2 * Config::default().controller_quorum_election_timeout_ms;
        let (b, cut, slow) = cut_off_for(long_ms + 1);
        let mut found = vec![slow.clone()];
        attribute(&b.history, &no_pre_vote(), &mut found);
        assert_eq!(found[0].known_bug.as_deref(), Some("KIP-996"));
        assert!(found[0].evidence.contains(&cut));
        let mut found = vec![slow.clone()];
        attribute(&b.history, &Config::default(), &mut found);
        assert_eq!(found[0].known_bug, None, "pre-vote is on");
        let mut lost = slow;
        lost.kind = ViolationKind::LostWrite;
        let mut found = vec![lost];
        attribute(&b.history, &no_pre_vote(), &mut found);
        assert_eq!(found[0].known_bug, None, "not a liveness kind");
        let (b, _, slow) = cut_off_for(long_ms - 10);
        let mut found = vec![slow];
        attribute(&b.history, &no_pre_vote(), &mut found);
        assert_eq!(found[0].known_bug, None, "too short to stand for election");
    }
}
