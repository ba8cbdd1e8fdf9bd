//! One partition replica's log: records with offsets, and the leader epoch cache.
//!
//! Invariants kept here: the epoch cache is strictly increasing in both epoch and start
//! offset; every cache entry starts at or below the LEO. Record epochs are non-decreasing
//! along the log under leader-epoch truncation; under the pre-0.11 rule (truncate to the
//! HW) a follower can keep records of a newer epoch and then append older ones from its
//! leader (the divergence of KIP-101): the log holds them as Kafka's did, and the cache
//! ignores the older epoch as `LeaderEpochFileCache.assign` does. Nothing here does IO:
//! the broker mirrors each change to its disk.

use std::collections::BTreeMap;

use crate::core::broker::producer_state::NO_PRODUCER_ID;
use crate::types::{LeaderEpoch, MessageId, Offset, ProducerEpoch, ProducerId, Sequence};

/// One stored record. Offsets are implicit: the index in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    /// Epoch of the leader that first appended it.
    pub leader_epoch: LeaderEpoch,
    /// Idempotent producer id.
    pub producer_id: ProducerId,
    /// Idempotent producer epoch.
    pub producer_epoch: ProducerEpoch,
    /// Idempotent sequence number.
    pub sequence: Sequence,
    /// Sequence of the first record of the batch it was appended in.
    pub batch_base_sequence: Sequence,
    /// The message.
    pub value: MessageId,
    /// What a group coordinator wrote, in a `__consumer_offsets` partition (`value` is then
    /// the coordinator's own unique id for the record).
    pub group: Option<crate::core::group::records::GroupRecord>,
}

impl Record {
    /// Whether `next`, the record after this one in a log, was appended in the same
    /// record batch. Batches are told apart by the idempotent producer's (id, epoch, base
    /// sequence) and the leader epoch; records without a producer id count one by one.
    pub fn same_batch(&self, next: &Record) -> bool {
        self.producer_id != NO_PRODUCER_ID
            && self.producer_id == next.producer_id
            && self.producer_epoch == next.producer_epoch
            && self.batch_base_sequence == next.batch_base_sequence
            && self.leader_epoch == next.leader_epoch
    }
}

/// An append-only (but truncatable) log with its epoch cache.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Log {
    records: Vec<Record>,
    /// `leader_epoch -> start_offset` (Kafka's leader-epoch-checkpoint).
    epochs: BTreeMap<LeaderEpoch, Offset>,
}

impl Log {
    /// A log recovered from stored records; the epoch cache is rebuilt from them.
    pub fn from_records(records: Vec<Record>) -> Log {
        let mut log = Log {
            records: Vec::new(),
            epochs: BTreeMap::new(),
        };
        log.append(&records);
        log
    }

    /// Log end offset: the offset the next record will get.
    pub fn leo(&self) -> Offset {
        Offset(self.records.len() as u64)
    }

    /// The record at `offset`, if present.
    pub fn get(&self, offset: Offset) -> Option<&Record> {
        self.records.get(offset.index())
    }

    /// Records in `[from, to)`, clamped to the log.
    pub fn slice(&self, from: Offset, to: Offset) -> &[Record] {
        let end = to.index().min(self.records.len());
        let start = from.index().min(end);
        &self.records[start..end]
    }

    /// Where a read of at most `max_records` from `from` ends so that it carries whole
    /// record batches, as Kafka's fetch does: a log holds batches, a size-limited read may
    /// end inside one, and the reader drops a torn last batch (`ByteBufferLogInputStream`
    /// returns only complete batches) but always gets the first batch whole, even past the
    /// limit (KIP-74, `LogSegment.read` with `minOneMessage`).
    pub fn whole_batches_end(&self, from: Offset, max_records: usize) -> Offset {
        let records = &self.records;
        let start = from.index().min(records.len());
        let mut end = start.saturating_add(max_records).min(records.len());
        let torn = |end: usize| {
            end > 0 && end < records.len() && records[end - 1].same_batch(&records[end])
        };
        while end > start && torn(end) {
            end -= 1;
        }
        if end == start {
            end = start.saturating_add(max_records).min(records.len());
            while torn(end) {
                end += 1;
            }
        }
        Offset(end as u64)
    }

    /// Every record.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Appends records at the LEO; a record whose epoch is not the cache's latest opens
    /// a cache entry, unless it is older than the record before it (a diverged log).
    pub fn append(&mut self, records: &[Record]) {
        for record in records {
            let diverged = self
                .records
                .last()
                .is_some_and(|last| record.leader_epoch < last.leader_epoch);
            if !diverged && self.latest_epoch() != Some(record.leader_epoch) {
                self.assign_epoch(record.leader_epoch, self.leo());
            }
            self.records.push(*record);
        }
    }

    /// Cuts the log to `len` records; cache entries starting at or after `len` go too
    /// (also when `len >= LEO`: that removes a trailing empty epoch, KAFKA-10706).
    pub fn truncate_to(&mut self, len: Offset) {
        self.records.truncate(len.index());
        self.epochs.retain(|_, start| *start < len);
        self.check();
    }

    /// Records that `epoch` starts at `start` (leader election: before any write,
    /// KAFKA-7415). Conflicting tail entries are removed first.
    pub fn assign_epoch(&mut self, epoch: LeaderEpoch, start: Offset) {
        if self.latest_epoch() == Some(epoch) {
            return;
        }
        assert!(start <= self.leo(), "an epoch cannot start beyond the LEO");
        self.epochs.retain(|e, s| *e < epoch && *s < start);
        self.epochs.insert(epoch, start);
        self.check();
    }

    /// The newest epoch in the cache.
    pub fn latest_epoch(&self) -> Option<LeaderEpoch> {
        self.epochs.keys().next_back().copied()
    }

    /// Epoch of the last record (what a follower sends as `last_fetched_epoch`).
    pub fn last_record_epoch(&self) -> Option<LeaderEpoch> {
        self.records.last().map(|r| r.leader_epoch)
    }

    /// The epoch cache, oldest first.
    pub fn epoch_entries(&self) -> impl Iterator<Item = (LeaderEpoch, Offset)> + '_ {
        self.epochs.iter().map(|(e, o)| (*e, *o))
    }

    /// OffsetsForLeaderEpoch (`LeaderEpochFileCache.endOffsetFor`): the largest epoch
    /// <= `epoch` and where it ends. None when `epoch` is newer than every entry
    /// (or the cache is empty): UNDEFINED in Kafka.
    pub fn end_offset_for(&self, epoch: LeaderEpoch) -> Option<(LeaderEpoch, Offset)> {
        let latest = self.latest_epoch()?;
        if epoch == latest {
            return Some((epoch, self.leo()));
        }
        if epoch > latest {
            return None;
        }
        let (first_epoch, first_start) = self.epochs.iter().next().expect("cache not empty");
        if epoch < *first_epoch {
            return Some((epoch, *first_start));
        }
        let (found, _) = self
            .epochs
            .range(..=epoch)
            .next_back()
            .expect("an epoch <= query exists");
        let (_, next_start) = self
            .epochs
            .range(epoch.next_after()..)
            .next()
            .expect("a larger epoch exists");
        Some((*found, *next_start))
    }

    /// OffsetsForLeaderEpoch before KIP-279 (0.11 to 1.1): the asked epoch itself with the
    /// start offset of the first larger epoch (the LEO when `epoch` is the latest), even
    /// when this log never had `epoch`. The follower then truncates to `min(end, its LEO)`
    /// and keeps a record of an epoch the leader never had (known-failures 6). None when
    /// `epoch` is newer than every entry.
    pub fn end_offset_for_v0(&self, epoch: LeaderEpoch) -> Option<(LeaderEpoch, Offset)> {
        let latest = self.latest_epoch()?;
        if epoch > latest {
            return None;
        }
        if epoch == latest {
            return Some((epoch, self.leo()));
        }
        let (_, next_start) = self
            .epochs
            .range(epoch.next_after()..)
            .next()
            .expect("a larger epoch exists");
        Some((epoch, *next_start))
    }

    /// Paired assertions on the cache (TigerBeetle style): strictly increasing, below LEO.
    fn check(&self) {
        let mut previous: Option<Offset> = None;
        for start in self.epochs.values() {
            assert!(*start <= self.leo(), "epoch cache entry beyond LEO");
            if let Some(p) = previous {
                assert!(
                    p < *start,
                    "epoch cache start offsets must strictly increase"
                );
            }
            previous = Some(*start);
        }
    }
}

impl LeaderEpoch {
    /// The epoch after this one.
    pub fn next(self) -> LeaderEpoch {
        LeaderEpoch(self.0 + 1)
    }
    fn next_after(self) -> LeaderEpoch {
        LeaderEpoch(self.0 + 1)
    }
}

/// Producer 1's message `index`, appended in leader epoch `epoch` (for tests).
#[cfg(test)]
pub(crate) fn test_record(epoch: u32, index: u32) -> Record {
    Record {
        leader_epoch: LeaderEpoch(epoch),
        producer_id: ProducerId(1),
        producer_epoch: ProducerEpoch(0),
        sequence: Sequence(index),
        batch_base_sequence: Sequence(index),
        value: MessageId { producer: 1, index },
        group: None,
    }
}

/// One batch of producer 1 in leader epoch 0: `count` records from sequence `base`
/// (for tests).
#[cfg(test)]
pub(crate) fn test_batch(base: u32, count: u32) -> Vec<Record> {
    (base..base + count)
        .map(|seq| Record {
            batch_base_sequence: Sequence(base),
            ..test_record(0, seq)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::test_batch as batch;
    use super::test_record as rec;
    use super::*;

    #[test]
    fn a_read_ends_on_a_batch_boundary_and_carries_the_first_batch_whole() {
        let mut records = batch(0, 3);
        records.extend(batch(3, 3));
        let log = Log::from_records(records);
        assert_eq!(
            log.whole_batches_end(Offset(0), 4),
            Offset(3),
            "torn: cut back"
        );
        assert_eq!(
            log.whole_batches_end(Offset(0), 6),
            Offset(6),
            "on a boundary"
        );
        assert_eq!(
            log.whole_batches_end(Offset(0), 2),
            Offset(3),
            "KIP-74: first whole"
        );
        assert_eq!(
            log.whole_batches_end(Offset(3), 9),
            Offset(6),
            "clamped to the log"
        );
        let plain = Log::from_records(vec![
            Record {
                producer_id: NO_PRODUCER_ID,
                ..rec(0, 0)
            };
            3
        ]);
        assert_eq!(
            plain.whole_batches_end(Offset(0), 2),
            Offset(2),
            "one by one"
        );
    }

    #[test]
    fn a_diverged_log_keeps_older_records_after_newer_ones_and_its_cache() {
        // KIP-101 scenario 2: A kept m1@e1 below its HW, became leader in e3 and wrote
        // m2; truncating to the HW, it then follows B and appends B's e2 record.
        let mut log = Log::from_records(vec![rec(1, 0), rec(3, 1)]);
        log.append(&[rec(2, 2)]);
        assert_eq!(log.leo(), Offset(3));
        assert_eq!(
            log.get(Offset(2)).map(|r| r.leader_epoch),
            Some(LeaderEpoch(2))
        );
        let cache: Vec<_> = log.epoch_entries().collect();
        assert_eq!(
            cache,
            vec![(LeaderEpoch(1), Offset(0)), (LeaderEpoch(3), Offset(1))]
        );
    }

    #[test]
    fn end_offset_for_follows_kafka_lookup() {
        // Protocol section 6 worked example: B = [0:e1, 1:e2], cache {1:0, 2:1}.
        let log = Log::from_records(vec![rec(1, 0), rec(2, 1)]);
        assert_eq!(
            log.end_offset_for(LeaderEpoch(1)),
            Some((LeaderEpoch(1), Offset(1)))
        );
        assert_eq!(
            log.end_offset_for(LeaderEpoch(2)),
            Some((LeaderEpoch(2), Offset(2)))
        );
        assert_eq!(log.end_offset_for(LeaderEpoch(3)), None);
        assert_eq!(
            log.end_offset_for(LeaderEpoch(0)),
            Some((LeaderEpoch(0), Offset(0)))
        );
    }

    #[test]
    fn epoch_the_leader_never_had_maps_to_the_largest_smaller_one() {
        // KIP-279: leader cache {1:0, 3:2}; asked for epoch 2 -> (1, 2).
        let mut log = Log::from_records(vec![rec(1, 0), rec(1, 1)]);
        log.assign_epoch(LeaderEpoch(3), Offset(2));
        log.append(&[rec(3, 2)]);
        assert_eq!(
            log.end_offset_for(LeaderEpoch(2)),
            Some((LeaderEpoch(1), Offset(2)))
        );
    }

    #[test]
    fn empty_epoch_is_replaced_and_truncation_drops_trailing_entries() {
        let mut log = Log::from_records(vec![rec(1, 0)]);
        log.assign_epoch(LeaderEpoch(2), Offset(1)); // elected, wrote nothing
        log.assign_epoch(LeaderEpoch(3), Offset(1)); // elected again at the same offset
        assert_eq!(
            log.epoch_entries().collect::<Vec<_>>(),
            vec![(LeaderEpoch(1), Offset(0)), (LeaderEpoch(3), Offset(1))]
        );
        log.truncate_to(Offset(1));
        assert_eq!(log.latest_epoch(), Some(LeaderEpoch(1)));
    }

    proptest::proptest! {
        #[test]
        fn cache_stays_consistent_under_appends_and_truncation(
            ops in proptest::collection::vec((0u8..3, 0u32..4, 0u64..12), 1..60)
        ) {
            let mut log = Log::default();
            let mut epoch = 0u32;
            for (op, bump, cut) in ops {
                match op {
                    0 => { epoch += bump; log.append(&[rec(epoch, 0)]); }
                    1 => { epoch += 1; let leo = log.leo(); log.assign_epoch(LeaderEpoch(epoch), leo); }
                    _ => log.truncate_to(Offset(cut)),
                }
                let entries: Vec<_> = log.epoch_entries().collect();
                for pair in entries.windows(2) {
                    proptest::prop_assert!(pair[0].0 < pair[1].0 && pair[0].1 < pair[1].1);
                }
                for (e, start) in &entries {
                    proptest::prop_assert!(*start <= log.leo());
                    if let Some(r) = log.get(*start) { proptest::prop_assert!(r.leader_epoch >= *e); }
                }
            }
        }
    }
}
