//! Replication: divergence truncation, flush before fetch, the follower HW, long-poll
//! fetches, and snapshots (KIP-630).

use super::*;
use crate::core::quorum::raft::message::{
    CorrelationId, FetchData, FetchRequest, FetchResponse, Reply,
};
use crate::core::quorum::raft::{ElectionState, Entry, Epoch, LogEntry, SnapshotRejected};
use crate::types::Offset;

fn entry(offset: u64, epoch: u32) -> LogEntry<u8, u32> {
    LogEntry {
        offset: Offset(offset),
        epoch: Epoch(epoch),
        entry: Entry::Data(offset as u32),
    }
}

/// Replica `id` (voter 2 or observer 9) following leader 1 in epoch 3, with `log`.
fn follower_of_1(id: u8, log: Vec<LogEntry<u8, u32>>) -> (Node, Vec<Effect>) {
    let election = ElectionState {
        epoch: Epoch(3),
        leader: Some(1),
        voted: None,
    };
    let stored = Stored {
        election: Some(election),
        entries: log,
        snapshot: None,
    };
    let mut node = Node::new(RaftConfig::new([1, 2, 3]), id, stored, SimTime::ZERO, 3);
    let mut out = Vec::new();
    node.on_timeout(SimTime::ZERO, &mut out);
    (node, out)
}

/// The single Fetch request in `out`.
fn fetch_in(out: &[Effect]) -> FetchRequest<u8> {
    let fetches: Vec<&FetchRequest<u8>> = out
        .iter()
        .filter_map(|e| match e {
            RaftEffect::Send {
                to: 1,
                message: RaftMessage::Fetch(request),
            } => Some(request),
            _ => None,
        })
        .collect();
    assert_eq!(fetches.len(), 1, "one fetch in {out:?}");
    fetches[0].clone()
}

fn answer(request: &FetchRequest<u8>, data: FetchData<u8, u32>, hw: u64) -> Message {
    let reply = Reply {
        correlation: request.correlation,
        error: None,
        epoch: Epoch(3),
        leader: Some(1),
    };
    let response = FetchResponse {
        reply,
        data,
        high_watermark: Some(Offset(hw)),
        log_start_offset: Offset(0),
    };
    RaftMessage::FetchResponse(response)
}

#[test]
fn follower_truncates_a_divergent_tail_then_fetches_again() {
    let (mut node, out) =
        follower_of_1(2, vec![entry(0, 1), entry(1, 1), entry(2, 2), entry(3, 2)]);
    let fetch = fetch_in(&out);
    assert_eq!(
        (fetch.fetch_offset, fetch.last_fetched_epoch),
        (Offset(4), Epoch(2))
    );
    let mut out = Vec::new();
    let diverging = FetchData::DivergingEpoch {
        epoch: Epoch(1),
        end_offset: Offset(2),
    };
    node.on_message(
        SimTime::from_ms(3),
        1,
        answer(&fetch, diverging, 1),
        &mut out,
    );
    assert_eq!(out[0], RaftEffect::Truncate { to: Offset(2) });
    assert_eq!(
        out[1],
        RaftEffect::Truncated {
            from: Offset(4),
            to: Offset(2)
        }
    );
    let again = fetch_in(&out);
    assert_eq!(
        (again.fetch_offset, again.last_fetched_epoch),
        (Offset(2), Epoch(1))
    );
    assert_eq!(node.log_end_offset(), Offset(2));
}

#[test]
fn a_voter_flushes_before_its_next_fetch_an_observer_does_not() {
    for (id, flushes) in [(2, true), (9, false)] {
        let (mut node, out) = follower_of_1(id, Vec::new());
        let fetch = fetch_in(&out);
        let mut out = Vec::new();
        let records = FetchData::Records(vec![entry(0, 3), entry(1, 3)]);
        node.on_message(SimTime::from_ms(3), 1, answer(&fetch, records, 9), &mut out);
        let append = out
            .iter()
            .position(|e| matches!(e, RaftEffect::Append(_)))
            .expect("append");
        let flush = out
            .iter()
            .position(|e| *e == RaftEffect::Flush { upto: Offset(2) });
        let send = out
            .iter()
            .position(|e| matches!(e, RaftEffect::Send { .. }))
            .expect("fetch");
        assert_eq!(flush.is_some(), flushes, "replica {id}: {out:?}");
        if let Some(flush) = flush {
            assert!(append < flush && flush < send, "append, flush, then fetch");
        }
        assert_eq!(node.high_watermark(), Offset(2), "min(leader HW 9, LEO 2)");
        assert_eq!(node.committed(Offset(0)).len(), 2);
    }
}

#[test]
fn a_parked_fetch_waits_for_data_or_max_wait() {
    let mut cluster = Cluster::new(&[1, 2, 3], &[], |_| {});
    let leader = cluster.elect();
    let node = cluster.nodes.get_mut(&leader).expect("node");
    let (epoch, end) = (node.epoch(), node.log_end_offset());
    let request = FetchRequest {
        correlation: CorrelationId(5),
        replica: 9,
        fetch_offset: end,
        last_fetched_epoch: epoch,
        current_leader_epoch: epoch,
        max_wait_ms: 500,
    };
    let t0 = cluster.now;
    let responded = |out: &[Effect]| {
        out.iter()
            .any(|e| matches!(e, RaftEffect::Send { to: 9, .. }))
    };
    let mut out = Vec::new();
    node.on_message(t0, 9, RaftMessage::Fetch(request.clone()), &mut out);
    assert!(!responded(&out), "nothing to return: parked");
    let mut out = Vec::new();
    node.on_timeout(t0.plus_ms(499), &mut out);
    assert!(!responded(&out));
    node.on_timeout(t0.plus_ms(500), &mut out);
    assert!(responded(&out), "answered at max wait");
    // parked again, then a proposal completes it at once
    let mut out = Vec::new();
    node.on_message(t0.plus_ms(600), 9, RaftMessage::Fetch(request), &mut out);
    assert!(!responded(&out));
    node.propose(t0.plus_ms(601), vec![42], &mut out)
        .expect("leader");
    let sent = out
        .iter()
        .position(|e| matches!(e, RaftEffect::Send { to: 9, .. }))
        .expect("answered");
    let flush = out
        .iter()
        .position(|e| matches!(e, RaftEffect::Flush { .. }))
        .expect("flushed");
    assert!(
        sent < flush,
        "parked fetches are answered before the leader's flush"
    );
}

#[test]
fn proposals_commit_on_a_majority_and_reach_observers() {
    let mut cluster = Cluster::new(&[1, 2, 3], &[9], |_| {});
    let leader = cluster.elect();
    let last = cluster.propose(leader, vec![1, 2, 3]);
    // a voter whose fetch arrives after the HW moved learns it when its parked fetch
    // expires (no new data): at most fetch_max_wait_ms later, as in Kafka
    cluster.run_ms(600);
    for (id, node) in &cluster.nodes {
        assert_eq!(node.high_watermark(), last.next(), "replica {id}");
        assert_eq!(committed_data(node), vec![1, 2, 3], "replica {id}");
    }
    assert!(!cluster.nodes[&9].is_voter());
    let follower = if leader == 1 { 2 } else { 1 };
    let mut out = Vec::new();
    let refused =
        cluster
            .nodes
            .get_mut(&follower)
            .expect("node")
            .propose(cluster.now, vec![4], &mut out);
    assert_eq!(refused.map_err(|e| e.leader), Err(Some(leader)));
}

#[test]
fn a_fetch_below_the_log_start_gets_the_snapshot() {
    let mut cluster = Cluster::new(&[1, 2, 3], &[], |_| {});
    let leader = cluster.elect();
    let last = cluster.propose(leader, (0..10).collect());
    cluster.run_ms(50);
    let hw = cluster.nodes[&leader].high_watermark();
    assert_eq!(hw, last.next());
    let mut out = Vec::new();
    let node = cluster.nodes.get_mut(&leader).expect("node");
    let refused = node.snapshot(hw.next(), vec![], &mut out);
    assert_eq!(refused, Err(SnapshotRejected::AboveHighWatermark { hw }));
    let id = node
        .snapshot(hw, (0..10).collect(), &mut out)
        .expect("committed");
    assert!(matches!(&out[..], [RaftEffect::PersistSnapshot(s)] if s.id == id));
    assert_eq!(node.log_start_offset(), hw);
    // a new observer with an empty log downloads the snapshot, then fetches from its end
    cluster.start(9, Stored::empty());
    cluster.run_ms(3_000);
    let observer = &cluster.nodes[&9];
    assert_eq!(observer.log_start_offset(), hw);
    assert_eq!(
        observer.latest_snapshot().map(|s| s.payload.clone()),
        Some((0..10).collect())
    );
    assert_eq!(observer.high_watermark(), hw);
    let installs = cluster.effects[&9]
        .iter()
        .filter(|e| matches!(e, RaftEffect::PersistSnapshot(_)))
        .count();
    assert_eq!(installs, 1);
    let more = cluster.propose(leader, vec![99]);
    cluster.run_ms(50);
    assert_eq!(cluster.nodes[&9].high_watermark(), more.next());
    assert_eq!(committed_data(&cluster.nodes[&9]), vec![99]);
}

/// A parked fetch that expires is answered with what it would have got, and is not a new
/// fetch: Kafka's purgatory times out with the response computed on arrival
/// (`handleFetchRequest`, the REQUEST_TIMED_OUT branch), so only the arrival counts for
/// check-quorum. Before the fix the expiry re-ran `tryCompleteFetchRequest`, which moved
/// the check-quorum window by up to `fetch_max_wait_ms` for a voter that may be gone.
#[test]
fn an_expired_parked_fetch_does_not_count_again_for_check_quorum() {
    let mut cluster = Cluster::new(&[1, 2, 3], &[], |_| {});
    let leader = cluster.elect();
    let voter = if leader == 1 { 2 } else { 1 };
    let mut node = cluster.nodes[&leader].clone();
    let (epoch, end) = (node.epoch(), node.log_end_offset());
    let request = FetchRequest {
        correlation: CorrelationId(5),
        replica: voter,
        fetch_offset: end,
        last_fetched_epoch: epoch,
        current_leader_epoch: epoch,
        max_wait_ms: 500,
    };
    let t0 = cluster.now.plus_ms(10);
    let deadline = |node: &Node| match &node.role {
        crate::core::quorum::raft::roles::Role::Leader(l) => l.check_quorum_deadline(),
        _ => panic!("still leads"),
    };
    let mut out = Vec::new();
    node.on_message(t0, voter, RaftMessage::Fetch(request), &mut out);
    let window = node.config().check_quorum_timeout_ms();
    assert_eq!(deadline(&node), Some(t0.plus_ms(window)));
    let mut out = Vec::new();
    node.on_timeout(t0.plus_ms(500), &mut out);
    assert!(
        out.iter()
            .any(|e| matches!(e, RaftEffect::Send { to, .. } if *to == voter)),
        "answered at max wait"
    );
    assert_eq!(
        deadline(&node),
        Some(t0.plus_ms(window)),
        "the expiry is not a fetch"
    );
}
