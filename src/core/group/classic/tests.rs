use std::collections::BTreeMap;

use super::{ClassicGroup, GroupOutput, GroupState, JoinRequest, Joined};
use crate::core::group::assignor::Subscription;
use crate::core::group::{Generation, GroupError, MemberId};
use crate::types::{PartitionId, SimTime};

const SESSION_MS: u64 = 1_000;
const REBALANCE_MS: u64 = 5_000;
const DELAY_MS: u64 = 300;

type Out = Vec<GroupOutput<u32>>;

fn at(ms: u64) -> SimTime {
    SimTime::from_ms(ms)
}

fn request(member: Option<MemberId>, reply: u32) -> JoinRequest<u32> {
    JoinRequest {
        member,
        subscription: Subscription {
            topics: vec!["events".to_string()],
            owned: Vec::new(),
            owned_generation: None,
        },
        session_timeout_ms: SESSION_MS,
        rebalance_timeout_ms: REBALANCE_MS,
        reply,
    }
}

/// A first join: the id handed out with MEMBER_ID_REQUIRED.
fn member_id(group: &mut ClassicGroup<u32>, ms: u64, reply: u32) -> MemberId {
    let mut out = Out::new();
    group.join(at(ms), request(None, reply), &mut out);
    match out.as_slice() {
        [
            GroupOutput::Join {
                result: Err((GroupError::MemberIdRequired, Some(id))),
                ..
            },
        ] => *id,
        other => panic!("expected MEMBER_ID_REQUIRED, got {other:?}"),
    }
}

fn joins(out: &Out) -> Vec<(u32, Joined)> {
    (out.iter())
        .filter_map(|o| match o {
            GroupOutput::Join { to, result: Ok(j) } => Some((*to, j.clone())),
            _ => None,
        })
        .collect()
}

fn syncs(out: &Out) -> Vec<(u32, Result<Vec<PartitionId>, GroupError>)> {
    (out.iter())
        .filter_map(|o| match o {
            GroupOutput::Sync { to, result } => Some((*to, result.clone())),
            _ => None,
        })
        .collect()
}

/// Runs the group's timers every ms up to `to_ms`.
fn run(group: &mut ClassicGroup<u32>, from_ms: u64, to_ms: u64, out: &mut Out) {
    for ms in from_ms..=to_ms {
        if group.next_deadline().is_some_and(|d| d <= at(ms)) {
            group.on_timeout(at(ms), out);
        }
    }
}

/// Two members join an empty group and sync: generation 1, Stable.
fn stable_pair() -> (ClassicGroup<u32>, MemberId, MemberId) {
    let mut group = ClassicGroup::new(DELAY_MS, 1);
    let a = member_id(&mut group, 0, 1);
    let b = member_id(&mut group, 0, 2);
    let mut out = Out::new();
    group.join(at(1), request(Some(a), 1), &mut out);
    group.join(at(2), request(Some(b), 2), &mut out);
    assert!(joins(&out).is_empty(), "the initial delay holds the join");
    run(&mut group, 3, 400, &mut out);
    let joined = joins(&out);
    assert_eq!(joined.len(), 2);
    assert!(
        joined
            .iter()
            .all(|(_, j)| j.generation == Generation(1) && j.leader == a)
    );
    assert_eq!(
        joined[0].1.members.len(),
        2,
        "the leader sees every subscription"
    );
    assert!(joined[1].1.members.is_empty());
    let mut out = Out::new();
    group.sync(b, Generation(1), None, 2, &mut out);
    assert!(
        syncs(&out).is_empty(),
        "a follower waits for the leader's assignment"
    );
    let assignment = BTreeMap::from([(a, vec![PartitionId(0)]), (b, vec![PartitionId(1)])]);
    group.sync(a, Generation(1), Some(assignment.clone()), 1, &mut out);
    assert!(
        syncs(&out).is_empty(),
        "answered only once the assignment is stored"
    );
    assert!(matches!(
        out.last(),
        Some(GroupOutput::Store {
            generation: Generation(1),
            ..
        })
    ));
    let mut out = Out::new();
    group.on_stored(Generation(1), &assignment, &mut out);
    assert_eq!(group.state(), GroupState::Stable);
    assert_eq!(syncs(&out).len(), 2);
    (group, a, b)
}

#[test]
fn two_members_join_sync_and_get_their_partitions() {
    let (group, a, b) = stable_pair();
    assert_eq!(group.assignment(a), &[PartitionId(0)]);
    assert_eq!(group.assignment(b), &[PartitionId(1)]);
}

#[test]
fn an_unknown_member_id_is_refused() {
    let mut group = ClassicGroup::new(DELAY_MS, 1);
    let mut out = Out::new();
    group.join(at(0), request(Some(MemberId(77)), 9), &mut out);
    assert!(matches!(
        out.as_slice(),
        [GroupOutput::Join {
            result: Err((GroupError::UnknownMemberId, None)),
            ..
        }]
    ));
}

#[test]
fn a_silent_member_is_removed_and_the_survivor_rebalances_into_a_new_generation() {
    let (mut group, a, b) = stable_pair();
    let mut out = Out::new();
    for ms in (500..=1_300).step_by(100) {
        assert_eq!(group.heartbeat(at(ms), a, Generation(1)), Ok(()), "at {ms}");
    }
    run(&mut group, 401, 1_450, &mut out);
    assert!(out.contains(&GroupOutput::Removed {
        member: b,
        reason: "session expired"
    }));
    assert_eq!(group.state(), GroupState::PreparingRebalance);
    assert_eq!(
        group.heartbeat(at(1_450), a, Generation(1)),
        Err(GroupError::RebalanceInProgress)
    );
    assert_eq!(
        group.heartbeat(at(1_450), b, Generation(1)),
        Err(GroupError::UnknownMemberId)
    );
    let mut out = Out::new();
    group.join(at(1_460), request(Some(a), 1), &mut out);
    let joined = joins(&out);
    assert_eq!(
        joined.len(),
        1,
        "every remaining member rejoined: the join completes"
    );
    assert_eq!(joined[0].1.generation, Generation(2));
}

#[test]
fn a_member_that_does_not_rejoin_within_the_rebalance_timeout_is_dropped() {
    let (mut group, a, b) = stable_pair();
    let mut out = Out::new();
    group.join(at(500), request(Some(a), 1), &mut out);
    assert!(joins(&out).is_empty(), "waits for b");
    // b keeps heartbeating (it hears REBALANCE_IN_PROGRESS) but never rejoins.
    for ms in (600..=5_400).step_by(200) {
        let _ = group.heartbeat(at(ms), b, Generation(1));
    }
    run(&mut group, 501, 5_500, &mut out);
    assert!(out.contains(&GroupOutput::Removed {
        member: b,
        reason: "did not rejoin in time"
    }));
    assert_eq!(joins(&out).len(), 1);
    assert_eq!(group.generation(), Generation(2));
}

#[test]
fn commits_are_checked_against_member_and_generation() {
    let (mut group, a, _) = stable_pair();
    assert_eq!(group.check_commit(Some((a, Generation(1)))), Ok(()));
    assert_eq!(
        group.check_commit(Some((a, Generation(0)))),
        Err(GroupError::IllegalGeneration)
    );
    assert_eq!(
        group.check_commit(Some((MemberId(99), Generation(1)))),
        Err(GroupError::UnknownMemberId)
    );
    assert_eq!(
        group.check_commit(None),
        Err(GroupError::UnknownMemberId),
        "the group is not empty"
    );
    // Preparing a rebalance: the current generation may still commit (onPartitionsRevoked).
    let mut out = Out::new();
    group.join(at(500), request(Some(a), 1), &mut out);
    assert_eq!(group.state(), GroupState::PreparingRebalance);
    assert_eq!(group.check_commit(Some((a, Generation(1)))), Ok(()));
    assert_eq!(
        ClassicGroup::<u32>::new(DELAY_MS, 1).check_commit(None),
        Ok(())
    );
}

#[test]
fn a_rebalance_answers_waiting_syncs_with_rebalance_in_progress() {
    let mut group = ClassicGroup::new(DELAY_MS, 1);
    let a = member_id(&mut group, 0, 1);
    let b = member_id(&mut group, 0, 2);
    let mut out = Out::new();
    group.join(at(1), request(Some(a), 1), &mut out);
    group.join(at(1), request(Some(b), 2), &mut out);
    run(&mut group, 2, 400, &mut out);
    let mut out = Out::new();
    group.sync(b, Generation(1), None, 2, &mut out);
    let c = member_id(&mut group, 410, 3);
    group.join(at(411), request(Some(c), 3), &mut out);
    assert_eq!(syncs(&out), vec![(2, Err(GroupError::RebalanceInProgress))]);
    // The leader's late assignment of generation 1 is refused.
    let mut out = Out::new();
    group.sync(a, Generation(1), Some(BTreeMap::new()), 1, &mut out);
    assert_eq!(syncs(&out), vec![(1, Err(GroupError::RebalanceInProgress))]);
}

#[test]
fn a_follower_rejoining_a_stable_group_unchanged_hears_the_same_generation() {
    let (mut group, _, b) = stable_pair();
    let mut out = Out::new();
    group.join(at(500), request(Some(b), 2), &mut out);
    assert_eq!(group.state(), GroupState::Stable);
    assert_eq!(joins(&out)[0].1.generation, Generation(1));
}
