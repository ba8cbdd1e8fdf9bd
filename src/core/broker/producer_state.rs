//! Idempotent producer state of one partition replica (`ProducerStateManager`).
//!
//! Keeps, per producer id, its epoch and the last five batches' sequence ranges and
//! offsets. Derived from the log, so a new leader that replicated a batch recognises its
//! retry, and truncation rebuilds it.

use std::collections::{BTreeMap, VecDeque};

use crate::core::log::Record;
use crate::types::{Offset, ProducerEpoch, ProducerId, Sequence};

/// Batches remembered per producer (`ProducerStateEntry.NUM_BATCHES_TO_RETAIN`).
pub const BATCHES_RETAINED: usize = 5;

/// Producer id meaning "not idempotent": no sequence checks.
pub const NO_PRODUCER_ID: ProducerId = ProducerId(u64::MAX);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ProducerEntry {
    epoch: ProducerEpoch,
    /// `(first_sequence, last_sequence, base_offset)`, oldest first.
    batches: VecDeque<(Sequence, Sequence, Offset)>,
}

/// The decision for an incoming batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Append it.
    Append,
    /// Already in the log at this base offset: answer success without appending.
    Duplicate(Offset),
    /// Sequence gap or stale epoch: reject before append.
    OutOfOrder,
}

/// Per producer id state of one replica.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProducerState {
    entries: BTreeMap<ProducerId, ProducerEntry>,
}

impl ProducerState {
    /// Rebuilds the state by replaying a log.
    pub fn from_log(records: &[Record]) -> ProducerState {
        let mut state = ProducerState::default();
        state.observe(Offset(0), records);
        state
    }

    /// Checks a batch of `count` records before append.
    pub fn check(
        &self,
        id: ProducerId,
        epoch: ProducerEpoch,
        base: Sequence,
        count: u32,
    ) -> SequenceCheck {
        if id == NO_PRODUCER_ID {
            return SequenceCheck::Append;
        }
        let Some(entry) = self.entries.get(&id) else {
            return SequenceCheck::Append; // no state: any sequence is accepted
        };
        if epoch < entry.epoch {
            return SequenceCheck::OutOfOrder;
        }
        if epoch > entry.epoch {
            return if base == Sequence(0) {
                SequenceCheck::Append
            } else {
                SequenceCheck::OutOfOrder
            };
        }
        let last = Sequence(base.0 + count - 1);
        if let Some((_, _, offset)) = entry
            .batches
            .iter()
            .find(|(f, l, _)| *f == base && *l == last)
        {
            return SequenceCheck::Duplicate(*offset);
        }
        match entry.batches.back() {
            Some((_, previous_last, _)) if base.0 == previous_last.0 + 1 => SequenceCheck::Append,
            Some(_) => SequenceCheck::OutOfOrder,
            None => SequenceCheck::Append,
        }
    }

    /// Records appended records (leader or follower) that start at `base_offset`.
    pub fn observe(&mut self, base_offset: Offset, records: &[Record]) {
        for (i, record) in records.iter().enumerate() {
            if record.producer_id == NO_PRODUCER_ID {
                continue;
            }
            let offset = base_offset.plus(i as u64);
            let entry = self.entries.entry(record.producer_id).or_default();
            if record.producer_epoch != entry.epoch {
                entry.epoch = record.producer_epoch;
                entry.batches.clear();
            }
            let continues = entry.batches.back().is_some_and(|(first, last, _)| {
                *first == record.batch_base_sequence && last.0 + 1 == record.sequence.0
            });
            if continues {
                entry.batches.back_mut().expect("checked").1 = record.sequence;
            } else {
                entry
                    .batches
                    .push_back((record.sequence, record.sequence, offset));
                if entry.batches.len() > BATCHES_RETAINED {
                    entry.batches.pop_front();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{LeaderEpoch, MessageId};

    fn batch(base: u32, count: u32) -> Vec<Record> {
        (0..count)
            .map(|i| Record {
                leader_epoch: LeaderEpoch(0),
                producer_id: ProducerId(1),
                producer_epoch: ProducerEpoch(0),
                sequence: Sequence(base + i),
                batch_base_sequence: Sequence(base),
                value: MessageId {
                    producer: 1,
                    index: base + i,
                },
                group: None,
            })
            .collect()
    }

    #[test]
    fn retry_of_a_logged_batch_is_a_duplicate_and_a_gap_is_rejected() {
        let mut log = batch(0, 3);
        log.extend(batch(3, 2));
        let state = ProducerState::from_log(&log);
        let (id, epoch) = (ProducerId(1), ProducerEpoch(0));
        assert_eq!(
            state.check(id, epoch, Sequence(3), 2),
            SequenceCheck::Duplicate(Offset(3))
        );
        assert_eq!(
            state.check(id, epoch, Sequence(0), 3),
            SequenceCheck::Duplicate(Offset(0))
        );
        assert_eq!(
            state.check(id, epoch, Sequence(5), 1),
            SequenceCheck::Append
        );
        assert_eq!(
            state.check(id, epoch, Sequence(7), 1),
            SequenceCheck::OutOfOrder
        );
        assert_eq!(
            state.check(id, ProducerEpoch(1), Sequence(0), 1),
            SequenceCheck::Append
        );
        assert_eq!(
            state.check(id, ProducerEpoch(1), Sequence(4), 1),
            SequenceCheck::OutOfOrder
        );
        assert_eq!(
            state.check(ProducerId(2), epoch, Sequence(9), 1),
            SequenceCheck::Append
        );
    }
}
