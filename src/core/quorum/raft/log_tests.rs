//! Unit tests of the log: epoch cache, `endOffsetForEpoch`, fetch validation, truncation on
//! divergence, snapshots and the flushed offset.

use super::*;

type Log = RaftLog<u8, u32, &'static str>;

fn at(offset: u64, epoch: u32) -> OffsetAndEpoch {
    OffsetAndEpoch::new(Offset(offset), Epoch(epoch))
}

/// A log with one data entry per epoch listed (offset i gets `epochs[i]`).
fn log_of(epochs: &[u32]) -> Log {
    let mut log = Log::new();
    for (i, &epoch) in epochs.iter().enumerate() {
        log.append_as_leader(Epoch(epoch), vec![Entry::Data(i as u32)]);
    }
    log.validate();
    log
}

#[test]
fn end_offset_for_epoch_follows_mock_log() {
    // offsets 0-1 in e1, 2-4 in e3, 5 in e4
    let log = log_of(&[1, 1, 3, 3, 3, 4]);
    let cases = [
        (0, at(0, 0)), // before every epoch: first start, epoch 0
        (1, at(2, 1)),
        (2, at(2, 1)), // an epoch with no entries answers with the one below
        (3, at(5, 3)),
        (4, at(6, 4)), // the latest epoch: the LEO
        (9, at(6, 4)), // above every epoch: the LEO and the last epoch
    ];
    for (epoch, expected) in cases {
        assert_eq!(
            log.end_offset_for_epoch(Epoch(epoch)),
            expected,
            "epoch {epoch}"
        );
    }
}

#[test]
fn validate_fetch_table() {
    let log = log_of(&[1, 1, 3, 3, 3, 4]);
    let cases = [
        (0, 0, FetchValidation::Valid),
        (2, 1, FetchValidation::Valid),
        (6, 4, FetchValidation::Valid),
        (4, 3, FetchValidation::Valid),
        (3, 2, FetchValidation::Diverging(at(2, 1))), // epoch 2 never had entries here
        (4, 1, FetchValidation::Diverging(at(2, 1))), // e1 ended at 2 here
        (7, 4, FetchValidation::Diverging(at(6, 4))), // beyond the LEO
        (8, 5, FetchValidation::Diverging(at(6, 4))), // an epoch we never saw
    ];
    for (offset, epoch, expected) in cases {
        assert_eq!(
            log.validate_offset_and_epoch(Offset(offset), Epoch(epoch)),
            expected,
            "({offset}, e{epoch})"
        );
    }
}

#[test]
fn truncate_on_divergence_table() {
    // follower log: 0-1 e1, 2-5 e2; leader answers with a diverging position
    let cases = [
        (at(2, 1), 2), // leader's e1 ended at 2: drop the e2 entries
        (at(4, 2), 4), // same epoch, leader's ended earlier
        (at(9, 2), 6), // same epoch, ours ended earlier: nothing to drop
        (at(3, 0), 3), // epoch 0: min(offset, LEO)
        (at(1, 1), 1),
    ];
    for (leader_end, expected) in cases {
        let mut log = log_of(&[1, 1, 2, 2, 2, 2]);
        assert_eq!(
            log.truncate_to_end_offset(leader_end),
            Offset(expected),
            "{leader_end}"
        );
        log.validate();
    }
}

#[test]
fn truncate_keeps_epoch_cache_and_flushed_consistent() {
    let mut log = log_of(&[1, 2, 2, 3]);
    assert_eq!(log.flush(), Some(Offset(4)));
    assert_eq!(log.flush(), None);
    log.truncate_to(Offset(1));
    log.validate();
    assert_eq!(log.end(), at(1, 1));
    assert_eq!(log.flushed_offset(), Offset(1));
    log.append_as_leader(Epoch(5), vec![Entry::Data(9)]);
    assert_eq!(log.end(), at(2, 5));
    assert_eq!(log.end_offset_for_epoch(Epoch(2)), at(1, 1));
    log.validate();
}

#[test]
fn snapshot_moves_log_start_and_changes_validation() {
    let mut log = log_of(&[1, 1, 2, 2, 3]);
    let id = log.snapshot_id_at(Offset(3)).expect("entry 2 exists");
    assert_eq!(
        id,
        SnapshotId {
            end_offset: Offset(3),
            epoch: Epoch(2)
        }
    );
    log.take_snapshot(Snapshot { id, payload: "s3" });
    log.validate();
    assert_eq!(log.start_offset(), Offset(3));
    assert_eq!(log.entries().len(), 2);
    let snap = FetchValidation::Snapshot(id);
    assert_eq!(log.validate_offset_and_epoch(Offset(1), Epoch(1)), snap); // below start
    assert_eq!(log.validate_offset_and_epoch(Offset(3), Epoch(1)), snap); // at start, other epoch
    assert_eq!(log.validate_offset_and_epoch(Offset(4), Epoch(1)), snap); // epoch below snapshot
    assert_eq!(
        log.validate_offset_and_epoch(Offset(3), Epoch(2)),
        FetchValidation::Valid
    );
    assert_eq!(
        log.validate_offset_and_epoch(Offset(5), Epoch(3)),
        FetchValidation::Valid
    );
    assert_eq!(log.end_offset_for_epoch(Epoch(2)), at(4, 2));
}

#[test]
fn snapshot_of_whole_log_then_install_and_restore() {
    let mut log = log_of(&[1, 2]);
    let id = log.snapshot_id_at(Offset(2)).expect("entry 1 exists");
    log.take_snapshot(Snapshot { id, payload: "all" });
    log.validate();
    assert_eq!(log.end(), at(2, 2)); // empty log: the snapshot's epoch
    let mut follower = log_of(&[1, 1, 1]);
    follower.install_snapshot(Snapshot { id, payload: "all" });
    follower.validate();
    assert_eq!(follower.end(), at(2, 2));
    assert!(follower.entries().is_empty());
    // restart: entries below the snapshot are dropped, nothing counts as flushed
    let entries = log_of(&[1, 2, 2, 2]).entries().to_vec();
    let restored = Log::restore(Some(Snapshot { id, payload: "all" }), entries);
    restored.validate();
    assert_eq!(restored.start_offset(), Offset(2));
    assert_eq!(restored.end(), at(4, 2));
    assert_eq!(restored.flushed_offset(), Offset(2));
}

#[test]
fn slice_clamps_to_the_log() {
    let log = log_of(&[1, 1, 1, 1]);
    assert_eq!(log.slice(Offset(1), Offset(3)).len(), 2);
    assert_eq!(log.slice(Offset(3), Offset(99)).len(), 1);
    assert!(log.slice(Offset(5), Offset(9)).is_empty());
    assert_eq!(log.entry(Offset(2)).map(|e| e.offset), Some(Offset(2)));
}
