//! Restart states (`QuorumState.initialize`) and KAFKA-10527.

use super::*;
use crate::core::quorum::raft::{ElectionState, Entry, Epoch, LogEntry, ResignReason};
use crate::types::Offset;

fn election(epoch: u32, leader: Option<u8>, voted: Option<u8>) -> Option<ElectionState<u8>> {
    Some(ElectionState {
        epoch: Epoch(epoch),
        leader,
        voted,
    })
}

fn log(epochs: &[u32]) -> Vec<LogEntry<u8, u32>> {
    let entry = |(i, &e): (usize, &u32)| LogEntry {
        offset: Offset(i as u64),
        epoch: Epoch(e),
        entry: Entry::Data(0),
    };
    epochs.iter().enumerate().map(entry).collect()
}

/// Starts replica `id` and returns it with the effects of starting.
fn restart(
    id: u8,
    stored: Option<ElectionState<u8>>,
    epochs: &[u32],
    resigned_knob: bool,
) -> (Node, Vec<Effect>) {
    let mut config = RaftConfig::new([1u8, 2, 3]);
    config.restart_leader_resigned = resigned_knob;
    let stored = Stored {
        election: stored,
        entries: log(epochs),
        snapshot: None,
    };
    let node = Node::new(config, id, stored, SimTime::ZERO, 11);
    let mut out = Vec::new();
    let mut probe = node.clone();
    probe.on_timeout(SimTime::ZERO, &mut out);
    (node, out)
}

/// (name, replica, stored state, log epochs, knob, role, epoch, leader, voted)
#[test]
fn restart_state_table() {
    type Case = (
        &'static str,
        u8,
        Option<ElectionState<u8>>,
        &'static [u32],
        bool,
        RoleKind,
        u32,
        Option<u8>,
        Option<u8>,
    );
    let cases: Vec<Case> = vec![
        (
            "nothing stored",
            1,
            None,
            &[],
            true,
            RoleKind::Unattached,
            0,
            None,
            None,
        ),
        (
            "was leader",
            1,
            election(3, Some(1), Some(1)),
            &[3],
            true,
            RoleKind::Resigned,
            3,
            Some(1),
            Some(1),
        ),
        (
            "was leader, knob off",
            1,
            election(3, Some(1), Some(1)),
            &[3],
            false,
            RoleKind::Leader,
            3,
            Some(1),
            Some(1),
        ),
        (
            "was candidate",
            1,
            election(3, None, Some(1)),
            &[2],
            true,
            RoleKind::Candidate,
            3,
            None,
            Some(1),
        ),
        (
            "followed 2",
            1,
            election(3, Some(2), Some(3)),
            &[2],
            true,
            RoleKind::Follower,
            3,
            Some(2),
            Some(3),
        ),
        (
            "voted for 2",
            1,
            election(3, None, Some(2)),
            &[2],
            true,
            RoleKind::Unattached,
            3,
            None,
            Some(2),
        ),
        (
            "log newer than file",
            1,
            election(2, Some(1), Some(1)),
            &[2, 4],
            true,
            RoleKind::Unattached,
            4,
            None,
            None,
        ),
        (
            "observer followed 2",
            9,
            election(3, Some(2), None),
            &[3],
            true,
            RoleKind::Follower,
            3,
            Some(2),
            None,
        ),
    ];
    for (name, id, stored, epochs, knob, role, epoch, leader, voted) in cases {
        let (node, _) = restart(id, stored, epochs, knob);
        assert_eq!(node.role(), role, "{name}");
        assert_eq!(node.epoch(), Epoch(epoch), "{name}");
        assert_eq!(node.leader(), leader, "{name}");
        assert_eq!(node.voted(), voted, "{name}");
    }
}

#[test]
fn restart_effects_persist_only_what_changed_and_name_the_role() {
    let (_, out) = restart(1, None, &[], true);
    assert!(matches!(out[0], RaftEffect::PersistElection(ref s) if s.epoch == Epoch(0)));
    let (_, out) = restart(1, election(2, None, None), &[2, 4], true);
    assert!(matches!(out[0], RaftEffect::PersistElection(ref s) if s.epoch == Epoch(4)));
    let (_, out) = restart(1, election(3, Some(1), Some(1)), &[3], true);
    assert!(
        !out.iter()
            .any(|e| matches!(e, RaftEffect::PersistElection(_)))
    );
    assert!(out.contains(&RaftEffect::Resigned {
        epoch: Epoch(3),
        why: ResignReason::Restarted
    }));
    // pre-KAFKA-10527: lead again in epoch 3, with a fresh LeaderChange at the LEO
    let (node, out) = restart(1, election(3, Some(1), Some(1)), &[3, 3], false);
    assert!(out.contains(&RaftEffect::BecameLeader {
        epoch: Epoch(3),
        epoch_start_offset: Offset(2)
    }));
    assert_eq!(node.log_end_offset(), Offset(3));
}

#[test]
fn a_restarted_leader_resigns_and_the_quorum_moves_to_a_new_epoch() {
    for knob in [true, false] {
        let mut cluster = Cluster::new(&[1, 2, 3], &[], |c| c.restart_leader_resigned = knob);
        let leader = cluster.elect();
        let epoch = cluster.nodes[&leader].epoch();
        let node = &cluster.nodes[&leader];
        let stored = Stored {
            election: Some(node.election_state()),
            entries: node.log_entries().to_vec(),
            snapshot: None,
        };
        cluster.start(leader, stored);
        let restarted = &cluster.nodes[&leader];
        let expected = if knob {
            RoleKind::Resigned
        } else {
            RoleKind::Leader
        };
        assert_eq!((restarted.role(), restarted.epoch()), (expected, epoch));
        cluster.run_ms(5_000);
        let now_leader = cluster.leader().expect("a leader");
        let now_epoch = cluster.nodes[&now_leader].epoch();
        if knob {
            assert!(
                now_epoch > epoch,
                "Resigned, so a new election ({epoch} -> {now_epoch})"
            );
        }
    }
}

#[test]
fn a_resigned_replica_never_votes_in_its_epoch() {
    // the LeaderChange of epoch 3 was lost, so candidate 2's log (9, e2) is ahead of ours
    let (mut node, _) = restart(1, election(3, Some(1), Some(1)), &[2], true);
    let vote = RaftMessage::Vote(crate::core::quorum::raft::message::VoteRequest {
        correlation: crate::core::quorum::raft::message::CorrelationId(1),
        candidate_epoch: Epoch(3),
        candidate: 2,
        last_epoch: Epoch(2),
        last_offset: Offset(9),
        pre_vote: false,
    });
    let mut out = Vec::new();
    node.on_message(SimTime::ZERO, 2, vote, &mut out);
    let granted = out.iter().any(|e| {
        matches!(
            e,
            RaftEffect::Send {
                message: RaftMessage::VoteResponse {
                    vote_granted: true,
                    ..
                },
                ..
            }
        )
    });
    assert!(!granted);
}
