use std::collections::BTreeMap;

use super::{AssignorKind, Subscription, TopicPartitions, assign};
use crate::core::group::{Generation, MemberId};
use crate::types::PartitionId;

fn topics(spec: &[(&str, &[u16])]) -> TopicPartitions {
    (spec.iter())
        .map(|(t, ps)| (t.to_string(), ps.iter().map(|p| PartitionId(*p)).collect()))
        .collect()
}

fn sub(topics: &[&str], owned: &[u16], generation: u32) -> Subscription {
    Subscription {
        topics: topics.iter().map(|t| t.to_string()).collect(),
        owned: owned.iter().map(|p| PartitionId(*p)).collect(),
        owned_generation: (!owned.is_empty()).then_some(Generation(generation)),
    }
}

fn ids(assignment: &BTreeMap<MemberId, Vec<PartitionId>>) -> Vec<Vec<u16>> {
    (assignment.values())
        .map(|ps| ps.iter().map(|p| p.0).collect())
        .collect()
}

fn members(subs: Vec<Subscription>) -> BTreeMap<MemberId, Subscription> {
    (subs.into_iter().enumerate())
        .map(|(i, s)| (MemberId(i as u64 + 1), s))
        .collect()
}

#[test]
fn range_gives_each_member_a_contiguous_share_of_each_topic() {
    let t = topics(&[("a", &[0, 1, 2]), ("b", &[3, 4])]);
    let m = members(vec![sub(&["a", "b"], &[], 0), sub(&["a", "b"], &[], 0)]);
    assert_eq!(
        ids(&assign(AssignorKind::Range, &m, &t)),
        vec![vec![0, 1, 3], vec![2, 4]]
    );
}

#[test]
fn round_robin_deals_partitions_in_turn() {
    let t = topics(&[("a", &[0, 1, 2]), ("b", &[3, 4])]);
    let m = members(vec![sub(&["a", "b"], &[], 0), sub(&["a", "b"], &[], 0)]);
    assert_eq!(
        ids(&assign(AssignorKind::RoundRobin, &m, &t)),
        vec![vec![0, 2, 4], vec![1, 3]]
    );
}

#[test]
fn assignors_skip_members_not_subscribed_to_a_topic() {
    let t = topics(&[("a", &[0, 1]), ("b", &[2])]);
    let m = members(vec![sub(&["a"], &[], 0), sub(&["a", "b"], &[], 0)]);
    for kind in [
        AssignorKind::Range,
        AssignorKind::RoundRobin,
        AssignorKind::CooperativeSticky,
    ] {
        let a = assign(kind, &m, &t);
        assert!(!a[&MemberId(1)].contains(&PartitionId(2)), "{kind:?}");
        let all: usize = a.values().map(Vec::len).sum();
        assert_eq!(all, 3, "{kind:?}: every partition assigned once");
    }
}

#[test]
fn cooperative_sticky_keeps_owners_and_withholds_what_must_move() {
    let t = topics(&[("a", &[0, 1, 2, 3])]);
    // Member 1 owned everything; member 2 is new: two partitions must move, and they are
    // withheld this round (member 1 revokes them, then rejoins).
    let m = members(vec![sub(&["a"], &[0, 1, 2, 3], 3), sub(&["a"], &[], 0)]);
    assert_eq!(
        ids(&assign(AssignorKind::CooperativeSticky, &m, &t)),
        vec![vec![0, 1], vec![]]
    );
    // Next round: member 1 owns {0, 1}; the withheld two go to member 2.
    let m = members(vec![sub(&["a"], &[0, 1], 4), sub(&["a"], &[], 0)]);
    assert_eq!(
        ids(&assign(AssignorKind::CooperativeSticky, &m, &t)),
        vec![vec![0, 1], vec![2, 3]]
    );
}

#[test]
fn cooperative_sticky_balances_three_members_over_four_partitions() {
    let t = topics(&[("a", &[0, 1, 2, 3])]);
    let m = members(vec![
        sub(&["a"], &[0, 1], 2),
        sub(&["a"], &[2, 3], 2),
        sub(&["a"], &[], 0),
    ]);
    let a = assign(AssignorKind::CooperativeSticky, &m, &t);
    // One of the two owners keeps 2, the other keeps 1 and revokes 1 for the newcomer.
    assert_eq!(ids(&a), vec![vec![0, 1], vec![2], vec![]]);
}

#[test]
fn a_stale_claim_loses_to_a_newer_one_and_equal_claims_cancel() {
    let t = topics(&[("a", &[0, 1])]);
    // Member 1 claims partition 0 from generation 2, member 2 from generation 5.
    let m = members(vec![sub(&["a"], &[0], 2), sub(&["a"], &[0], 5)]);
    let a = assign(AssignorKind::CooperativeSticky, &m, &t);
    assert_eq!(a[&MemberId(2)], vec![PartitionId(0)]);
    // Both claim it in one generation (KAFKA-14639): neither keeps it, so it counts as
    // unowned and goes to exactly one member.
    let m = members(vec![sub(&["a"], &[0], 5), sub(&["a"], &[0], 5)]);
    let a = assign(AssignorKind::CooperativeSticky, &m, &t);
    let holders = a.values().filter(|ps| ps.contains(&PartitionId(0))).count();
    assert_eq!(holders, 1);
}
