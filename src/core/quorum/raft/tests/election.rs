//! Elections: vote granting, persistence before replies, higher epochs, pre-votes (KIP-996),
//! check-quorum (KAFKA-15489), EndQuorumEpoch and the election backoff.

use super::*;
use crate::core::quorum::raft::message::{CorrelationId, Reply, VoteRequest};
use crate::core::quorum::raft::{ElectionState, Entry, Epoch, LogEntry, ResignReason};
use crate::types::Offset;

fn vote(candidate: u8, epoch: u32, last_epoch: u32, last_offset: u64, pre_vote: bool) -> Message {
    RaftMessage::Vote(VoteRequest {
        correlation: CorrelationId(77),
        candidate_epoch: Epoch(epoch),
        candidate,
        last_epoch: Epoch(last_epoch),
        last_offset: Offset(last_offset),
        pre_vote,
    })
}

/// The VoteResponse in `out`, as (granted, responder epoch).
fn vote_answer(out: &[Effect]) -> (bool, Epoch) {
    let answers: Vec<(bool, Epoch)> = out
        .iter()
        .filter_map(|e| match e {
            RaftEffect::Send {
                message:
                    RaftMessage::VoteResponse {
                        reply,
                        vote_granted,
                    },
                ..
            } => Some((*vote_granted, reply.epoch)),
            _ => None,
        })
        .collect();
    assert_eq!(answers.len(), 1, "exactly one vote response in {out:?}");
    answers[0]
}

fn entries(epochs: &[u32]) -> Vec<LogEntry<u8, u32>> {
    let entry = |(i, &e): (usize, &u32)| LogEntry {
        offset: Offset(i as u64),
        epoch: Epoch(e),
        entry: Entry::Data(i as u32),
    };
    epochs.iter().enumerate().map(entry).collect()
}

fn node_with(id: u8, election: Option<ElectionState<u8>>, log_epochs: &[u32]) -> Node {
    let stored = Stored {
        election,
        entries: entries(log_epochs),
        snapshot: None,
    };
    let mut node = Node::new(RaftConfig::new([1, 2, 3]), id, stored, SimTime::ZERO, 9);
    node.on_timeout(SimTime::ZERO, &mut Vec::new());
    node
}

/// Three voters with a leader elected: (cluster, leader, a follower other than 3, the
/// leader's epoch, its LEO).
fn three_voters_with_a_leader() -> (Cluster, u8, u8, Epoch, Offset) {
    let mut cluster = Cluster::new(&[1, 2, 3], &[], |_| {});
    let leader = cluster.elect();
    let follower = if leader == 1 { 2 } else { 1 };
    let node = &cluster.nodes[&leader];
    let (epoch, end) = (node.epoch(), node.log_end_offset());
    (cluster, leader, follower, epoch, end)
}

#[test]
fn single_voter_elects_itself_and_commits_at_once() {
    let mut cluster = Cluster::new(&[1], &[], |_| {});
    let leader = cluster.elect();
    assert_eq!(leader, 1);
    let last = cluster.propose(1, vec![10, 11]);
    assert_eq!(cluster.nodes[&1].high_watermark(), last.next());
    assert_eq!(committed_data(&cluster.nodes[&1]), vec![10, 11]);
}

#[test]
fn three_voters_elect_one_leader_which_writes_leader_change_first() {
    let mut cluster = Cluster::new(&[1, 2, 3], &[], |_| {});
    let leader = cluster.elect();
    let node = &cluster.nodes[&leader];
    let start = node.epoch_start_offset().expect("leads");
    let first = &node.log_entries()[start.index()];
    assert!(matches!(first.entry, Entry::LeaderChange { leader: l, .. } if l == leader));
    assert!(
        node.high_watermark() > start,
        "the HW passed the LeaderChange record"
    );
    for (id, other) in &cluster.nodes {
        assert_eq!(other.epoch(), node.epoch());
        assert_eq!(other.leader(), Some(leader), "replica {id}");
    }
}

#[test]
fn vote_is_persisted_before_the_response() {
    let mut node = node_with(2, None, &[]);
    let mut out = Vec::new();
    node.on_message(SimTime::from_ms(5), 1, vote(1, 1, 0, 0, false), &mut out);
    let persist = out
        .iter()
        .position(|e| matches!(e, RaftEffect::PersistElection(s) if s.voted == Some(1)));
    let answer = out
        .iter()
        .position(|e| matches!(e, RaftEffect::Send { .. }));
    assert!(
        persist.expect("persisted") < answer.expect("answered"),
        "{out:?}"
    );
    assert_eq!(vote_answer(&out), (true, Epoch(1)));
    assert_eq!(node.voted(), Some(1));
}

#[test]
fn vote_needs_an_up_to_date_log_and_is_given_once_per_epoch() {
    // our log ends at (3, e2)
    let mut node = node_with(
        2,
        Some(ElectionState {
            epoch: Epoch(2),
            leader: None,
            voted: None,
        }),
        &[1, 2, 2],
    );
    // (candidate, candidate epoch, its last epoch, its LEO, granted, why), in order
    let cases = [
        (1, 3, 1, 10, false, "longer log but older last epoch"),
        (3, 3, 2, 3, true, "equal log"),
        (1, 3, 2, 9, false, "already voted for 3 in e3"),
        (3, 3, 2, 3, true, "the same candidate again"),
        (1, 2, 1, 0, false, "FENCED_LEADER_EPOCH for an old epoch"),
    ];
    for (candidate, epoch, last_epoch, last_offset, granted, why) in cases {
        let mut out = Vec::new();
        let request = vote(candidate, epoch, last_epoch, last_offset, false);
        node.on_message(SimTime::ZERO, candidate, request, &mut out);
        assert_eq!(vote_answer(&out), (granted, Epoch(3)), "{why}");
    }
}

#[test]
fn a_higher_epoch_vote_unseats_a_healthy_leader_and_a_follower_rejects_its_own_epoch() {
    let (mut cluster, leader, follower, epoch, end) = three_voters_with_a_leader();
    let mut out = Vec::new();
    let node = cluster.nodes.get_mut(&follower).expect("node");
    node.on_message(
        cluster.now,
        3,
        vote(3, epoch.0, epoch.0 - 1, 0, false),
        &mut out,
    );
    assert_eq!(
        vote_answer(&out),
        (false, epoch),
        "a follower rejects a vote in its epoch"
    );
    assert_eq!(node.role(), RoleKind::Follower);
    let mut out = Vec::new();
    let node = cluster.nodes.get_mut(&leader).expect("node");
    node.on_message(
        cluster.now,
        3,
        vote(3, epoch.0 + 1, epoch.0, end.0, false),
        &mut out,
    );
    assert_eq!(vote_answer(&out), (true, epoch.next()));
    assert_eq!(
        node.role(),
        RoleKind::Unattached,
        "Unattached(epoch) first, whatever the role"
    );
}

#[test]
fn pre_votes_change_nothing_and_follow_kip_996() {
    let (mut cluster, leader, follower, epoch, end) = three_voters_with_a_leader();
    let pre_vote = vote(3, epoch.0, epoch.0, end.0, true);
    for (id, expected) in [(leader, false), (follower, false)] {
        let mut out = Vec::new();
        let node = cluster.nodes.get_mut(&id).expect("node");
        node.on_message(cluster.now, 3, pre_vote.clone(), &mut out);
        assert_eq!(vote_answer(&out), (expected, epoch), "replica {id}");
        assert!(
            !out.iter()
                .any(|e| matches!(e, RaftEffect::PersistElection(_)))
        );
    }
    // a follower that has not fetched since it became follower grants (KAFKA-17641)
    let stored = Stored {
        election: Some(cluster.nodes[&follower].election_state()),
        entries: cluster.nodes[&follower].log_entries().to_vec(),
        snapshot: None,
    };
    let mut restarted = Node::new(cluster.config.clone(), follower, stored, cluster.now, 5);
    let mut out = Vec::new();
    restarted.on_message(cluster.now, 3, pre_vote, &mut out);
    assert_eq!(restarted.role(), RoleKind::Follower);
    assert_eq!(vote_answer(&out), (true, epoch));
    assert_eq!(restarted.epoch(), epoch, "a pre-vote bumps nothing");
}

/// Isolates a follower for 10 s and heals: with pre-votes the leader and epoch stay; without,
/// the returning voter's higher epoch forces a new election (KIP-996 motivation).
#[test]
fn an_isolated_voter_disturbs_the_quorum_only_without_pre_vote() {
    for (pre_vote, disturbed) in [(true, false), (false, true)] {
        let mut cluster = Cluster::new(&[1, 2, 3], &[], |c| c.pre_vote = pre_vote);
        let leader = cluster.elect();
        let epoch = cluster.nodes[&leader].epoch();
        let follower = if leader == 1 { 2 } else { 1 };
        cluster.isolate(follower);
        cluster.run_ms(10_000);
        cluster.heal();
        cluster.run_ms(10_000);
        let now_leader = cluster.leader().expect("a leader");
        let new_epoch = cluster.nodes[&now_leader].epoch();
        assert_eq!(
            new_epoch > epoch,
            disturbed,
            "pre_vote={pre_vote}: {epoch} -> {new_epoch}"
        );
        if !disturbed {
            assert_eq!(now_leader, leader);
        }
    }
}

#[test]
fn check_quorum_resigns_an_isolated_leader() {
    for check_quorum in [true, false] {
        let mut cluster = Cluster::new(&[1, 2, 3], &[], |c| c.check_quorum = check_quorum);
        let leader = cluster.elect();
        cluster.take_effects(leader);
        cluster.isolate(leader);
        // 1.5 x fetch timeout, plus up to fetch_max_wait_ms: completing a fetch parked
        // before the cut counts as a fetch again (`tryCompleteFetchRequest`)
        cluster.run_ms(3_600);
        let effects = cluster.take_effects(leader);
        let resigned = effects.iter().any(|e| {
            matches!(
                e,
                RaftEffect::Resigned {
                    why: ResignReason::CheckQuorum,
                    ..
                }
            )
        });
        assert_eq!(resigned, check_quorum, "check_quorum={check_quorum}");
        cluster.run_ms(20_000);
        let still_leader = cluster.nodes[&leader].role() == RoleKind::Leader;
        assert_eq!(
            still_leader, !check_quorum,
            "without check-quorum the old leader stays"
        );
        let new_leader = cluster.leader().expect("the majority elected someone");
        assert_ne!(new_leader, leader);
    }
}

#[test]
fn end_quorum_epoch_lets_the_first_successor_run_at_once() {
    let mut cluster = Cluster::new(&[1, 2, 3], &[], |_| {});
    let leader = cluster.elect();
    let epoch = cluster.nodes[&leader].epoch();
    let mut out = Vec::new();
    cluster
        .nodes
        .get_mut(&leader)
        .expect("node")
        .resign(cluster.now, &mut out);
    assert!(out.iter().any(|e| matches!(
        e,
        RaftEffect::Resigned {
            why: ResignReason::Requested,
            ..
        }
    )));
    cluster.apply(leader, out);
    cluster.run_ms(200);
    let new_leader = cluster
        .leader()
        .expect("elected well before the fetch timeout");
    assert_ne!(new_leader, leader);
    assert!(cluster.nodes[&new_leader].epoch() > epoch);
}

#[test]
fn election_backoff_is_bounded_binary_exponential() {
    let mut node = node_with(1, None, &[]);
    for retries in 1..=12u32 {
        for _ in 0..50 {
            let backoff = node.election_backoff_ms(retries);
            let bound = 100 * ((1u64 << retries) - 1);
            assert!(backoff <= bound.min(1_000), "retries {retries}: {backoff}");
            assert_eq!(backoff % 100, 0);
        }
    }
}

#[test]
fn a_stale_response_is_ignored() {
    let mut node = node_with(2, None, &[]);
    let reply = Reply {
        correlation: CorrelationId(1),
        error: None,
        epoch: Epoch(9),
        leader: Some(1),
    };
    let mut out = Vec::new();
    node.on_message(
        SimTime::ZERO,
        1,
        RaftMessage::VoteResponse {
            reply,
            vote_granted: true,
        },
        &mut out,
    );
    assert!(out.is_empty(), "no request of ours had that correlation id");
    assert_eq!(node.epoch(), Epoch(0), "not even its epoch is learned");
}

/// KAFKA-16536 (3.9): the leader resends BeginQuorumEpoch to every voter each
/// `fetch_timeout / 2`, not only until each acknowledged it once. A voter that moved to a
/// newer epoch without a leader (it persisted Unattached(e + 1) from a vote request whose
/// candidate then lost) cannot get back on its own with pre-votes: the leader and its
/// fetching followers reject its pre-votes, and a pre-vote never bumps their epoch. Only
/// the leader's BeginQuorumEpoch, answered with the newer epoch, ends the standoff. Before
/// the fix the leader stopped after the first acknowledgement and voter 3 stayed out.
#[test]
fn a_voter_stranded_in_a_newer_epoch_is_found_by_the_begin_quorum_epoch_heartbeat() {
    let mut cluster = Cluster::new(&[1, 2, 3], &[], |_| {});
    let leader = cluster.elect();
    let epoch = cluster.nodes[&leader].epoch();
    let stranded = if leader == 3 { 2 } else { 3 };
    cluster.run_ms(1_000);
    let node = &cluster.nodes[&stranded];
    let stored = Stored {
        election: Some(ElectionState {
            epoch: epoch.next(),
            leader: None,
            voted: None,
        }),
        entries: node.log_entries().to_vec(),
        snapshot: None,
    };
    cluster.start(stranded, stored);
    cluster.run_ms(30_000);
    let leader = cluster.leader().expect("a leader");
    let epoch_now = cluster.nodes[&leader].epoch();
    for node in cluster.nodes.values() {
        assert_eq!(
            (node.epoch(), node.leader()),
            (epoch_now, Some(leader)),
            "replica {} rejoined the quorum",
            node.id()
        );
    }
}
