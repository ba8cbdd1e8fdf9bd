//! The HW (majority, epoch-start rule, monotonic, voters only), check-quorum and the
//! parked fetches of the leader.

use super::*;
use crate::core::quorum::raft::message::CorrelationId;

fn leader(voters: &[u8], start: u64) -> Leader<u8> {
    let config = RaftConfig::new(voters.iter().copied());
    let mut leader = Leader::new(&config, 1, Epoch(2), Offset(start), SimTime::ZERO);
    leader.update_local(Offset(start + 1)); // the LeaderChange record
    leader
}

fn at(ms: u64) -> SimTime {
    SimTime::from_ms(ms)
}

#[test]
fn hw_is_the_largest_offset_on_a_majority() {
    let mut leader = leader(&[1, 2, 3, 4, 5], 0);
    leader.update_local(Offset(10));
    assert!(
        !leader.update_replica(2, at(1), Offset(8)),
        "2 of 5 is not a majority"
    );
    assert!(leader.update_replica(3, at(1), Offset(5)));
    assert_eq!(
        leader.hw(),
        Some(Offset(5)),
        "sorted [10, 8, 5, -, -]: index 2"
    );
    assert!(leader.update_replica(4, at(1), Offset(9)));
    assert_eq!(leader.hw(), Some(Offset(8)), "sorted [10, 9, 8, 5, -]");
    assert!(
        !leader.update_replica(9, at(1), Offset(10)),
        "observers never count"
    );
    assert_eq!(leader.hw(), Some(Offset(8)));
}

#[test]
fn hw_waits_for_the_epoch_start_record() {
    // epoch start 4: the LeaderChange record is at offset 4, so the HW must pass 4
    let mut leader = leader(&[1, 2, 3], 4);
    assert!(
        !leader.update_replica(2, at(1), Offset(4)),
        "offset 4 not yet on a majority"
    );
    assert_eq!(leader.hw(), None);
    assert!(leader.update_replica(2, at(2), Offset(5)));
    assert_eq!(leader.hw(), Some(Offset(5)));
}

#[test]
fn hw_off_by_one_knob_exposes_the_previous_epochs() {
    let mut config = RaftConfig::new([1u8, 2, 3]);
    config.hw_requires_current_epoch = false;
    let mut leader = Leader::new(&config, 1, Epoch(2), Offset(4), SimTime::ZERO);
    leader.update_local(Offset(5));
    assert!(
        leader.update_replica(2, at(1), Offset(4)),
        "pre-KAFKA-12619: >= epoch start"
    );
    assert_eq!(leader.hw(), Some(Offset(4)));
}

#[test]
fn hw_never_decreases() {
    let mut leader = leader(&[1, 2, 3], 0);
    leader.update_local(Offset(6));
    assert!(leader.update_replica(2, at(1), Offset(6)));
    assert_eq!(leader.hw(), Some(Offset(6)));
    assert!(
        !leader.update_replica(2, at(2), Offset(3)),
        "a voter that lost data"
    );
    assert_eq!(leader.hw(), Some(Offset(6)));
    assert!(!leader.update_replica(3, at(3), Offset(3)));
    assert_eq!(leader.end_offset_of(2), Some(Offset(3)));
}

#[test]
fn check_quorum_window_restarts_only_after_a_majority_fetched() {
    let mut leader = leader(&[1, 2, 3, 4, 5], 0);
    assert_eq!(leader.check_quorum_deadline(), Some(at(3_000)));
    leader.update_replica(2, at(1_000), Offset(0));
    assert_eq!(
        leader.check_quorum_deadline(),
        Some(at(3_000)),
        "1 of the 2 others needed"
    );
    leader.update_check_quorum(9, at(1_100)); // an observer does not count
    leader.update_replica(3, at(1_200), Offset(0));
    assert_eq!(leader.check_quorum_deadline(), Some(at(4_200)));
    leader.update_replica(2, at(2_000), Offset(0));
    assert_eq!(
        leader.check_quorum_deadline(),
        Some(at(4_200)),
        "a new window starts empty"
    );
}

#[test]
fn check_quorum_exemptions() {
    assert_eq!(
        leader(&[1], 0).check_quorum_deadline(),
        None,
        "a single voter (KAFKA-16144)"
    );
    let mut config = RaftConfig::new([1u8, 2, 3]);
    config.check_quorum = false;
    let leader = Leader::new(&config, 1, Epoch(2), Offset(0), SimTime::ZERO);
    assert_eq!(leader.check_quorum_deadline(), None, "pre-KAFKA-15489");
}

#[test]
fn begin_quorum_epoch_heartbeat_and_successors() {
    // `leader` starts at 0 ms with a fetch timeout of 2 s: a round at once, then every 1 s
    let mut leader = leader(&[1, 2, 3], 0);
    assert_eq!(leader.begin_quorum_epoch_round(at(0)), vec![2, 3]);
    assert_eq!(leader.begin_quorum_epoch_deadline(), at(1_000));
    leader.update_replica(3, at(1), Offset(1));
    assert!(leader.begin_quorum_epoch_round(at(999)).is_empty());
    assert_eq!(
        leader.begin_quorum_epoch_round(at(1_000)),
        vec![2, 3],
        "every voter, also one that fetched (KAFKA-16536)"
    );
    assert_eq!(leader.voters_by_descending_fetch_offset(), vec![3, 2]);
}

#[test]
fn parked_fetches_are_replaced_and_taken() {
    let mut leader = leader(&[1, 2, 3], 0);
    let request = |correlation: u64, offset: u64| FetchRequest {
        correlation: CorrelationId(correlation),
        replica: 2,
        fetch_offset: Offset(offset),
        last_fetched_epoch: Epoch(2),
        current_leader_epoch: Epoch(2),
        max_wait_ms: 500,
    };
    leader.park(ParkedFetch {
        from: 2,
        request: request(1, 1),
        deadline: at(500),
    });
    leader.park(ParkedFetch {
        from: 2,
        request: request(2, 1),
        deadline: at(600),
    });
    leader.park(ParkedFetch {
        from: 3,
        request: request(3, 1),
        deadline: at(550),
    });
    assert_eq!(leader.parked_deadline(), Some(at(550)));
    let due = leader.take_parked(|p| p.deadline <= at(560));
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].from, 3);
    assert_eq!(leader.parked_deadline(), Some(at(600)));
}
