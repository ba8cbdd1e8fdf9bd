//! Who may grant a vote in each role (`canGrantVote`) and the vote tally.

use std::collections::BTreeSet;

use super::*;
use crate::core::quorum::raft::config::RaftConfig;

fn unattached(voted: Option<u8>) -> Role<u8> {
    Role::Unattached(Unattached {
        epoch: Epoch(3),
        voted,
        election_deadline: None,
    })
}

fn follower(has_fetched: bool) -> Role<u8> {
    Role::Follower(Follower {
        epoch: Epoch(3),
        leader: 1,
        voted: None,
        fetch_deadline: SimTime::ZERO,
        has_fetched,
        fetching_snapshot: None,
    })
}

fn prospective(leader: Option<u8>, voted: Option<u8>) -> Role<u8> {
    let voters = BTreeSet::from([1, 2, 3]);
    Role::Prospective(Prospective {
        epoch: Epoch(3),
        leader,
        voted,
        tally: VoteTally::new(&voters, 2),
        retries: 1,
        election_deadline: SimTime::ZERO,
    })
}

fn candidate() -> Role<u8> {
    let voters = BTreeSet::from([1, 2, 3]);
    Role::Candidate(Candidate {
        epoch: Epoch(3),
        tally: VoteTally::new(&voters, 2),
        retries: 1,
        election_deadline: SimTime::ZERO,
        backoff_until: None,
    })
}

fn resigned() -> Role<u8> {
    Role::Resigned(Resigned {
        epoch: Epoch(3),
        election_deadline: SimTime::ZERO,
        unacked: BTreeSet::new(),
        preferred_successors: Vec::new(),
    })
}

fn leader() -> Role<u8> {
    let config = RaftConfig::new([1u8, 2, 3]);
    Role::Leader(Box::new(Leader::new(
        &config,
        2,
        Epoch(3),
        crate::types::Offset(0),
        SimTime::ZERO,
    )))
}

/// (role, candidate 3 up to date?, pre-vote?, granted?)
#[test]
fn can_grant_vote_table() {
    let cases: Vec<(&str, Role<u8>, bool, bool, bool)> = vec![
        ("unattached, no vote", unattached(None), true, false, true),
        (
            "unattached, log behind",
            unattached(None),
            false,
            false,
            false,
        ),
        (
            "unattached, voted for it",
            unattached(Some(3)),
            false,
            false,
            true,
        ),
        (
            "unattached, voted for another",
            unattached(Some(1)),
            true,
            false,
            false,
        ),
        (
            "unattached pre-vote despite vote",
            unattached(Some(1)),
            true,
            true,
            true,
        ),
        (
            "unattached pre-vote, log behind",
            unattached(None),
            false,
            true,
            false,
        ),
        (
            "prospective knowing a leader",
            prospective(Some(1), None),
            true,
            false,
            false,
        ),
        (
            "prospective, no leader",
            prospective(None, None),
            true,
            false,
            true,
        ),
        (
            "prospective pre-vote",
            prospective(Some(1), None),
            true,
            true,
            true,
        ),
        ("candidate vote", candidate(), true, false, false),
        ("candidate pre-vote", candidate(), true, true, true),
        (
            "candidate pre-vote, log behind",
            candidate(),
            false,
            true,
            false,
        ),
        (
            "follower vote in its epoch",
            follower(false),
            true,
            false,
            false,
        ),
        (
            "follower pre-vote before fetching",
            follower(false),
            true,
            true,
            true,
        ),
        (
            "follower pre-vote after fetching",
            follower(true),
            true,
            true,
            false,
        ),
        ("resigned vote", resigned(), true, false, false),
        ("resigned pre-vote", resigned(), true, true, true),
        ("leader vote", leader(), true, false, false),
        ("leader pre-vote", leader(), true, true, false),
    ];
    for (name, role, up_to_date, pre_vote, expected) in cases {
        assert_eq!(
            role.can_grant_vote(3, up_to_date, pre_vote),
            expected,
            "{name}"
        );
    }
}

#[test]
fn election_state_per_role() {
    assert_eq!(
        unattached(Some(1)).election(2),
        ElectionState {
            epoch: Epoch(3),
            leader: None,
            voted: Some(1)
        }
    );
    assert_eq!(
        candidate().election(2),
        ElectionState {
            epoch: Epoch(3),
            leader: None,
            voted: Some(2)
        }
    );
    assert_eq!(
        leader().election(2),
        ElectionState {
            epoch: Epoch(3),
            leader: Some(2),
            voted: Some(2)
        }
    );
    assert_eq!(
        follower(true).election(2),
        ElectionState {
            epoch: Epoch(3),
            leader: Some(1),
            voted: None
        }
    );
    assert_eq!(prospective(Some(1), Some(3)).election(2).leader, Some(1));
    assert_eq!(leader().kind(), RoleKind::Leader);
}

#[test]
fn vote_tally_majority_and_rejection() {
    let voters = BTreeSet::from([1u8, 2, 3, 4, 5]);
    let mut tally = VoteTally::new(&voters, 1);
    assert!(!tally.is_granted());
    assert_eq!(tally.unrecorded(), vec![2, 3, 4, 5]);
    tally.record(2, true);
    tally.record(3, false);
    tally.record(3, true); // the first answer counts
    tally.record(9, true); // not a voter
    assert!(!tally.is_granted() && !tally.is_rejected());
    tally.record(4, false);
    assert!(
        !tally.is_rejected(),
        "2 rejections of 5: a majority is still possible"
    );
    tally.record(5, false);
    assert!(tally.is_rejected());
    let mut tally = VoteTally::new(&voters, 1);
    tally.record(2, true);
    tally.record(3, true);
    assert!(tally.is_granted());
    let single = VoteTally::new(&BTreeSet::from([7u8]), 7);
    assert!(single.is_granted(), "a single voter elects itself");
}
