//! Epochs and log positions: the Raft term, and the `(epoch, offset)` pair that a vote and a
//! fetch compare. Invariant: positions order by epoch first, offset second (Kafka's
//! `OffsetAndEpoch.compareTo`), so a log whose last entry has a larger epoch is "more up to
//! date" even when it is shorter.

use std::cmp::Ordering;
use std::fmt;

use crate::types::Offset;

/// A KRaft epoch (the Raft term): +1 on every election, stamped on every log entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Epoch(pub u32);

impl Epoch {
    /// The epoch after this one.
    pub fn next(self) -> Epoch {
        Epoch(self.0.checked_add(1).expect("epoch fits in u32"))
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "e{}", self.0)
    }
}

/// A position in a replicated log: an end offset and the epoch of the entry before it.
/// `endOffset()` in `KafkaRaftClient` builds `(LEO, lastFetchedEpoch)` this way; a
/// diverging-epoch answer and a snapshot id are positions too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct OffsetAndEpoch {
    /// The exclusive end offset.
    pub offset: Offset,
    /// The epoch of the last entry before `offset` (0 for an empty log).
    pub epoch: Epoch,
}

impl OffsetAndEpoch {
    /// A position.
    pub fn new(offset: Offset, epoch: Epoch) -> OffsetAndEpoch {
        OffsetAndEpoch { offset, epoch }
    }
}

/// `OffsetAndEpoch.compareTo`: epoch first, then offset. A vote is granted only if the
/// candidate's position is `>=` the voter's (`handleVoteRequest`).
impl Ord for OffsetAndEpoch {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then(self.offset.cmp(&other.offset))
    }
}

impl PartialOrd for OffsetAndEpoch {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for OffsetAndEpoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.offset, self.epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: u64, epoch: u32) -> OffsetAndEpoch {
        OffsetAndEpoch::new(Offset(offset), Epoch(epoch))
    }

    /// Table of vote comparisons: (candidate, voter, candidate up to date?).
    #[test]
    fn vote_comparison_is_lexicographic_by_epoch_then_offset() {
        let cases = [
            (at(5, 2), at(5, 2), true),  // equal logs: grant
            (at(6, 2), at(5, 2), true),  // same epoch, longer
            (at(4, 2), at(5, 2), false), // same epoch, shorter
            (at(1, 3), at(9, 2), true),  // larger last epoch wins even if much shorter
            (at(9, 2), at(1, 3), false), // longer but older epoch loses
            (at(0, 0), at(0, 0), true),  // two empty logs
            (at(0, 0), at(1, 1), false), // empty log against a non-empty one
        ];
        for (candidate, voter, expected) in cases {
            assert_eq!(candidate >= voter, expected, "{candidate} vs {voter}");
        }
    }

    #[test]
    fn epoch_next_and_display() {
        assert_eq!(Epoch(3).next(), Epoch(4));
        assert_eq!(Epoch(3).to_string(), "e3");
        assert_eq!(at(7, 2).to_string(), "(7, e2)");
    }
}
