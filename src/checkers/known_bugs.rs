//! Which known Kafka bug of the configured protocol version explains a violation
//! (`known_bug`), read from the history like every checker.
//!
//! A knob set to a pre-fix value makes its bug possible; the history must then show the
//! bug's mechanism on the violation's partition:
//! - `KAFKA-7128` (`isr_join_requires_epoch_start: false`): a leader proposed a follower
//!   for the ISR whose LEO was below the leader epoch start offset.
//! - `KIP-966` (`eligible_leader_replicas: false`): a clean election chose the ISR's only
//!   member although it had lost records to a power loss since it last led.
//! - `KAFKA-15583` (`hw_requires_min_isr: false`): a leader advanced its HW while the ISR
//!   was smaller than `min_insync_replicas`.
//! - `KIP-101` (`truncation: high-watermark`) and `KIP-279` (`truncation:
//!   leader-epoch-v0`): the partition changed leader, so followers reconciled their logs
//!   by the old rule. (Their exact moment is not visible in the history: a rule, not an
//!   event, goes wrong.)
//!
//! The precise mechanisms are tried first. Violations of other kinds (duplicates,
//! reordering, aborted reads, split brain) are never attributed to these bugs. A bug
//! seen in an event (the first three) adds that event to the violation's evidence: the
//! last one before the violation's own last event, preferring, for KAFKA-7128, a
//! follower that lacked one of the violation's offsets.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{Config, Truncation};
use crate::history::{EventKind, History, TruncationReason};
use crate::types::{BrokerId, PartitionId};
use crate::violation::{Violation, ViolationKind};

/// A known bug: its tag and the release that fixed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownBug {
    /// KIP or JIRA id, e.g. `KIP-101`.
    pub tag: &'static str,
    /// The Kafka release that shipped the fix.
    pub fixed_in: &'static str,
}

/// Truncation to the high watermark (fixed in 0.11).
pub const KIP_101: KnownBug = KnownBug {
    tag: "KIP-101",
    fixed_in: "0.11",
};
/// Leader-epoch lookup of an epoch the leader never had (fixed in 2.0).
pub const KIP_279: KnownBug = KnownBug {
    tag: "KIP-279",
    fixed_in: "2.0",
};
/// ISR join below the leader epoch start offset (fixed in 2.1).
pub const KAFKA_7128: KnownBug = KnownBug {
    tag: "KAFKA-7128",
    fixed_in: "2.1",
};
/// HW advancing while the ISR is below min.insync (fixed in 3.7).
pub const KAFKA_15583: KnownBug = KnownBug {
    tag: "KAFKA-15583",
    fixed_in: "3.7",
};
/// Last replica standing: a lossy sole ISR member re-elected (fixed by ELR, 4.1).
pub const KIP_966: KnownBug = KnownBug {
    tag: "KIP-966",
    fixed_in: "4.1",
};

/// Every known bug, most precise mechanism first (the order attribution tries them).
pub const ALL: [KnownBug; 5] = [KAFKA_7128, KIP_966, KAFKA_15583, KIP_101, KIP_279];

/// The kinds a replication bug can produce.
const DATA_KINDS: [ViolationKind; 5] = [
    ViolationKind::LostWrite,
    ViolationKind::UncommittedRead,
    ViolationKind::Divergence,
    ViolationKind::InconsistentOffsets,
    ViolationKind::NonmonotonicRead,
];

/// Sets `known_bug` on every violation a known bug of `config`'s version explains.
pub fn attribute(history: &History, config: &Config, violations: &mut [Violation]) {
    if violations.is_empty() {
        return;
    }
    let seen = mechanisms(history, config);
    for v in violations.iter_mut() {
        if !DATA_KINDS.contains(&v.kind) {
            continue;
        }
        let partition = v
            .partition
            .as_deref()
            .and_then(|name| super::partition_id(history, name));
        let Some((p, found)) = partition.and_then(|p| seen.get(&p).map(|f| (p, f))) else {
            continue;
        };
        let Some((bug, events)) = preferred(v.kind, found) else {
            continue;
        };
        v.known_bug = Some(bug.tag.to_string());
        if let Some(i) = mechanism_event(history, p, *bug, events, v) {
            add_evidence(v, i);
        }
    }
}

/// Adds the event `i` that shows a bug's mechanism to `v`'s sorted evidence, once.
pub(super) fn add_evidence(v: &mut Violation, i: usize) {
    if let Err(at) = v.evidence.binary_search(&i) {
        v.evidence.insert(at, i);
    }
}

/// The event of `events` (indices where `bug`'s mechanism showed on partition `p`) that
/// best explains `v`: the last one before `v`'s last evidence event, for KAFKA-7128
/// preferably one whose follower lacked an offset of `v`.
fn mechanism_event(
    history: &History,
    p: PartitionId,
    bug: KnownBug,
    events: &[usize],
    v: &Violation,
) -> Option<usize> {
    let last = v.evidence.last().copied().unwrap_or(usize::MAX);
    let before: Vec<usize> = events.iter().copied().filter(|i| *i <= last).collect();
    let lacked = |i: &usize| match &history.events[*i].kind {
        EventKind::IsrExpansion {
            partition,
            follower_leo,
            leso,
            ..
        } => {
            *partition == p
                && v.offsets
                    .iter()
                    .any(|o| (follower_leo.0..leso.0).contains(o))
        }
        _ => false,
    };
    let precise = (bug == KAFKA_7128)
        .then(|| before.iter().rev().find(|i| lacked(i)).copied())
        .flatten();
    precise.or_else(|| before.last().copied())
}

/// The bug that explains a violation of `kind` among those seen, most precise first;
/// except that two replicas holding different records below their HWs is what a
/// truncation rule gets wrong (an election bug alone loses records, the truncation rule
/// makes followers keep what the leader does not have), so for divergence KIP-101 and
/// KIP-279 come first.
fn preferred(kind: ViolationKind, bugs: &[Seen]) -> Option<&Seen> {
    let truncation = bugs.iter().find(|(b, _)| [KIP_101, KIP_279].contains(b));
    match (kind, truncation) {
        (ViolationKind::Divergence, Some(bug)) => Some(bug),
        _ => bugs.first(),
    }
}

/// A known bug seen on a partition, with the indices of the events that showed it (none
/// for the truncation rules).
type Seen = (KnownBug, Vec<usize>);

/// Per partition, the known bugs whose mechanism the history shows, most precise first.
fn mechanisms(history: &History, config: &Config) -> BTreeMap<PartitionId, Vec<Seen>> {
    // Each bug found, by its rank in `ALL`, so that the map keeps them in order.
    let mut found: BTreeMap<PartitionId, BTreeMap<usize, Vec<usize>>> = BTreeMap::new();
    let mut mark = |p: PartitionId, bug: KnownBug, event: Option<usize>| {
        let rank = ALL
            .iter()
            .position(|b| *b == bug)
            .expect("every bug is in ALL");
        let events = found.entry(p).or_default().entry(rank).or_default();
        events.extend(event);
    };
    let min_isr = usize::from(config.min_insync_replicas);
    let mut isr: BTreeMap<PartitionId, usize> = BTreeMap::new();
    let mut leader: BTreeMap<PartitionId, BrokerId> = BTreeMap::new();
    let mut elections: BTreeMap<PartitionId, u32> = BTreeMap::new();
    // Brokers that lost records of a partition to a power loss since they last led it.
    let mut power_cut: BTreeSet<(PartitionId, BrokerId)> = BTreeSet::new();
    for (i, event) in history.events.iter().enumerate() {
        match &event.kind {
            EventKind::IsrExpansion {
                partition,
                follower_leo,
                leso,
                ..
            } if !config.isr_join_requires_epoch_start && follower_leo < leso => {
                mark(*partition, KAFKA_7128, Some(i));
            }
            EventKind::Truncated {
                broker,
                partition,
                reason: TruncationReason::PowerLoss,
                ..
            } => {
                power_cut.insert((*partition, *broker));
            }
            EventKind::LeaderElected {
                partition,
                leader: Some(new_leader),
                isr: new_isr,
                unclean,
                ..
            } => {
                let lossy = power_cut.remove(&(*partition, *new_leader));
                if !config.eligible_leader_replicas && !unclean && lossy && new_isr.len() == 1 {
                    mark(*partition, KIP_966, Some(i));
                }
                if leader.insert(*partition, *new_leader) != Some(*new_leader) {
                    let count = elections.entry(*partition).or_default();
                    *count += 1;
                    let changed = *count > 1;
                    if changed && config.truncation == Truncation::HighWatermark {
                        mark(*partition, KIP_101, None);
                    }
                    if changed && config.truncation == Truncation::LeaderEpochV0 {
                        mark(*partition, KIP_279, None);
                    }
                }
                isr.insert(*partition, new_isr.len());
            }
            EventKind::IsrChanged {
                partition,
                isr: new_isr,
                ..
            } => {
                isr.insert(*partition, new_isr.len());
            }
            EventKind::HwChanged {
                broker,
                partition,
                covered,
                ..
            } if !config.hw_requires_min_isr
                && !covered.is_empty()
                && leader.get(partition) == Some(broker)
                && isr.get(partition).is_some_and(|n| *n < min_isr) =>
            {
                mark(*partition, KAFKA_15583, Some(i));
            }
            _ => {}
        }
    }
    found
        .into_iter()
        .map(|(p, ranks)| {
            let bugs = ranks.into_iter().map(|(r, events)| (ALL[r], events));
            (p, bugs.collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::types::{LeaderEpoch, Offset, PartitionEpoch};

    fn lost(partition: &str) -> Violation {
        Violation {
            kind: ViolationKind::LostWrite,
            partition: Some(partition.to_string()),
            offsets: vec![1],
            values: vec!["p1-1".into()],
            message: String::new(),
            evidence: Vec::new(),
            permitted_by: None,
            known_bug: None,
        }
    }

    fn elect(b: &mut Builder, leader: u8, epoch: u32, isr: &[u8], unclean: bool) {
        b.push(EventKind::LeaderElected {
            partition: P0,
            leader: Some(BrokerId(leader)),
            leader_epoch: LeaderEpoch(epoch),
            partition_epoch: PartitionEpoch(epoch),
            isr: isr.iter().map(|i| BrokerId(*i)).collect(),
            elr: Vec::new(),
            unclean,
        });
    }

    fn attributed(b: &Builder, config: &Config) -> Option<String> {
        let mut found = vec![lost("t-0")];
        attribute(&b.history, config, &mut found);
        found[0].known_bug.clone()
    }

    #[test]
    fn isr_join_below_the_epoch_start_is_kafka_7128_only_with_the_old_rule() {
        let mut b = Builder::new();
        elect(&mut b, 1, 1, &[1], false);
        b.push(EventKind::IsrExpansion {
            broker: BrokerId(1),
            partition: P0,
            follower: BrokerId(2),
            follower_leo: Offset(3),
            leso: Offset(5),
        });
        let old = Config {
            isr_join_requires_epoch_start: false,
            ..safe_config()
        };
        assert_eq!(attributed(&b, &old).as_deref(), Some("KAFKA-7128"));
        assert_eq!(attributed(&b, &safe_config()), None);
    }

    #[test]
    fn the_admission_that_lacked_the_lost_offset_joins_the_evidence() {
        let mut b = Builder::new();
        elect(&mut b, 1, 1, &[1], false);
        let admit = |b: &mut Builder, follower: u8, leo: u64, leso: u64| {
            b.push(EventKind::IsrExpansion {
                broker: BrokerId(1),
                partition: P0,
                follower: BrokerId(follower),
                follower_leo: Offset(leo),
                leso: Offset(leso),
            });
        };
        admit(&mut b, 2, 0, 2); // lacked offset 1, the lost one
        admit(&mut b, 3, 4, 6); // later, but had offset 1
        elect(&mut b, 2, 2, &[2], false);
        let last = b.history.events.len() - 1;
        let old = Config {
            isr_join_requires_epoch_start: false,
            ..safe_config()
        };
        let mut found = vec![Violation {
            evidence: vec![0, last],
            ..lost("t-0")
        }];
        attribute(&b.history, &old, &mut found);
        assert_eq!(found[0].evidence, vec![0, 1, last]);
        // Without an admission that lacked it, the last one before the violation.
        let mut found = vec![Violation {
            offsets: vec![9],
            evidence: vec![0, last],
            ..lost("t-0")
        }];
        attribute(&b.history, &old, &mut found);
        assert_eq!(found[0].evidence, vec![0, 2, last]);
    }

    #[test]
    fn lossy_sole_isr_member_reelected_is_kip_966_without_elr() {
        let mut b = Builder::new();
        elect(&mut b, 3, 1, &[1, 2, 3], false);
        b.push(EventKind::Truncated {
            broker: BrokerId(3),
            partition: P0,
            from_leo: Offset(10),
            to: Offset(7),
            hw: Offset(7),
            reason: TruncationReason::PowerLoss,
        });
        elect(&mut b, 3, 2, &[3], false);
        let no_elr = Config {
            eligible_leader_replicas: false,
            ..safe_config()
        };
        assert_eq!(attributed(&b, &no_elr).as_deref(), Some("KIP-966"));
        assert_eq!(attributed(&b, &safe_config()), None);
    }

    #[test]
    fn divergence_goes_to_the_truncation_rule_when_an_election_bug_is_also_seen() {
        let mut b = Builder::new();
        elect(&mut b, 1, 1, &[1, 2], false);
        b.push(EventKind::Truncated {
            broker: BrokerId(2),
            partition: P0,
            from_leo: Offset(10),
            to: Offset(7),
            hw: Offset(7),
            reason: TruncationReason::PowerLoss,
        });
        elect(&mut b, 2, 2, &[2], false);
        let old = Config {
            eligible_leader_replicas: false,
            truncation: Truncation::HighWatermark,
            ..safe_config()
        };
        let mut found = vec![lost("t-0"), lost("t-0")];
        found[1].kind = ViolationKind::Divergence;
        attribute(&b.history, &old, &mut found);
        assert_eq!(found[0].known_bug.as_deref(), Some("KIP-966"));
        assert_eq!(found[1].known_bug.as_deref(), Some("KIP-101"));
    }

    #[test]
    fn hw_advance_below_min_isr_is_kafka_15583_before_3_7() {
        let mut b = Builder::new();
        elect(&mut b, 1, 1, &[1], false);
        b.push(EventKind::HwChanged {
            broker: BrokerId(1),
            partition: P0,
            hw: Offset(1),
            covered: vec![(Offset(0), m(1, 0))],
        });
        let old = Config {
            hw_requires_min_isr: false,
            min_insync_replicas: 2,
            ..safe_config()
        };
        assert_eq!(attributed(&b, &old).as_deref(), Some("KAFKA-15583"));
        let min_one = Config {
            min_insync_replicas: 1,
            ..old.clone()
        };
        assert_eq!(attributed(&b, &min_one), None);
    }

    #[test]
    fn a_leader_change_under_the_old_truncation_rules() {
        let mut b = Builder::new();
        elect(&mut b, 1, 1, &[1, 2], false);
        let hw = Config {
            truncation: Truncation::HighWatermark,
            ..safe_config()
        };
        assert_eq!(attributed(&b, &hw), None, "no leader change yet");
        elect(&mut b, 2, 2, &[2], false);
        assert_eq!(attributed(&b, &hw).as_deref(), Some("KIP-101"));
        let v0 = Config {
            truncation: Truncation::LeaderEpochV0,
            ..safe_config()
        };
        assert_eq!(attributed(&b, &v0).as_deref(), Some("KIP-279"));
        assert_eq!(attributed(&b, &safe_config()), None);
    }

    #[test]
    fn other_kinds_are_never_attributed() {
        let mut b = Builder::new();
        elect(&mut b, 1, 1, &[1, 2], false);
        elect(&mut b, 2, 2, &[2], false);
        let hw = Config {
            truncation: Truncation::HighWatermark,
            ..safe_config()
        };
        let mut found = vec![Violation {
            kind: ViolationKind::Duplicate,
            ..lost("t-0")
        }];
        attribute(&b.history, &hw, &mut found);
        assert_eq!(found[0].known_bug, None);
    }
}
