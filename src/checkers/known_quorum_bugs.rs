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
//!
//! The mechanism's event joins the violation's evidence.

use crate::config::Config;
use crate::history::{EventKind, History};
use crate::quorum_event::QuorumEvent;
use crate::violation::{Violation, ViolationKind};

use super::known_bugs::KnownBug;

/// The active controller acted before replaying the log (fixed in 3.6; KAFKA-17333,
/// the same from the Resigned state, in 3.9).
pub const KAFKA_15345: KnownBug = KnownBug {
    tag: "KAFKA-15345",
    fixed_in: "3.6",
};

/// Every known controller-quorum bug.
pub const ALL: [KnownBug; 1] = [KAFKA_15345];

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
    let early = early_activations(history, config);
    if early.is_empty() {
        return;
    }
    for v in violations.iter_mut() {
        if !KINDS.contains(&v.kind) || v.known_bug.is_some() || v.permitted_by.is_some() {
            continue;
        }
        let last = v.evidence.last().copied().unwrap_or(usize::MAX);
        let Some(i) = early.iter().rev().copied().find(|i| *i <= last) else {
            continue;
        };
        v.known_bug = Some(KAFKA_15345.tag.to_string());
        super::known_bugs::add_evidence(v, i);
    }
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
}
