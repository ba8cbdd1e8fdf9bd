//! Safety checkers: each reads a finished [`History`] and reports the [`Violation`]s of one
//! property (scenario-format.md names the kinds; protocol.md section 10 the invariants).
//!
//! Architecture invariant: checkers see the run only through `&History` and `&Config`.
//! Findings are data, never panics: a malformed or incomplete history (a send without a
//! completion, no final events, an unknown partition id) gives fewer findings, not a crash.

pub mod aborted_read;
pub mod broker_shut_out;
pub mod cluster_state;
pub mod controller_split_brain;
pub mod controller_stall;
pub mod divergence;
pub mod duplicate;
pub mod facts;
pub mod inconsistent_offsets;
pub mod known_bugs;
pub mod known_quorum_bugs;
pub mod lost_write;
pub mod metadata_divergence;
pub mod metadata_log;
pub mod nonmonotonic_read;
pub mod nonmonotonic_send;
pub mod quorum_invariants;
pub mod read_above_hw;
pub mod slow_failover;
pub mod split_brain;
pub mod unavailable;
pub mod uncommitted_read;
pub mod unseen;

#[cfg(test)]
pub(crate) mod test_support;

use std::collections::BTreeMap;

use crate::config::Config;
use crate::history::{EventKind, History};
use crate::types::{MessageId, PartitionId};
use crate::violation::Violation;

pub use facts::Facts;

/// Most event indices one violation carries as evidence.
pub const EVIDENCE_MAX: usize = 8;

/// A checker's signature.
pub type Checker = fn(&History, &Config) -> Vec<Violation>;

/// Every checker, in report order.
pub const ALL: [(&str, Checker); 16] = [
    ("lost-write", lost_write::check),
    ("uncommitted-read", uncommitted_read::check),
    ("divergence", divergence::check),
    ("duplicate", duplicate::check),
    ("split-brain", split_brain::check),
    ("nonmonotonic-read", nonmonotonic_read::check),
    ("inconsistent-offsets", inconsistent_offsets::check),
    ("aborted-read", aborted_read::check),
    ("nonmonotonic-send", nonmonotonic_send::check),
    ("unavailable", unavailable::check),
    ("unseen", unseen::check),
    ("read-above-hw", read_above_hw::check),
    ("slow-failover", slow_failover::check),
    ("metadata-divergence", metadata_divergence::check),
    ("controller-split-brain", controller_split_brain::check),
    ("metadata-log invariants", quorum_invariants::check),
];

/// Runs every checker and returns their findings sorted by kind, then partition (in the
/// history's partition order), then first offset, each with the known bug that explains
/// it, if any ([`known_bugs`]).
pub fn check_all(history: &History, config: &Config) -> Vec<Violation> {
    let mut violations: Vec<Violation> = ALL
        .iter()
        .flat_map(|(_, check)| check(history, config))
        .collect();
    sort(history, &mut violations);
    known_bugs::attribute(history, config, &mut violations);
    known_quorum_bugs::attribute(history, config, &mut violations);
    violations
}

/// Sorts violations by kind, partition (history order; unnamed first) and first offset.
/// Stable, so ties keep the checker's own (deterministic) order.
pub fn sort(history: &History, violations: &mut [Violation]) {
    let rank = |name: &Option<String>| match name {
        None => (0, 0, String::new()),
        Some(n) => match history.partition_names.iter().position(|p| p == n) {
            Some(i) => (1, i, String::new()),
            None => (2, 0, n.clone()),
        },
    };
    violations.sort_by_cached_key(|v| (v.kind, rank(&v.partition), v.offsets.first().copied()));
}

/// The id of the partition `name`, if the history names it.
pub fn partition_id(history: &History, name: &str) -> Option<PartitionId> {
    let index = history.partition_names.iter().position(|n| n == name)?;
    u16::try_from(index).ok().map(PartitionId)
}

/// The name of a partition, without panicking on an id the history does not name.
pub fn partition_name(history: &History, partition: PartitionId) -> String {
    match history.partition_names.get(usize::from(partition.0)) {
        Some(name) => name.clone(),
        None => format!("partition-{}", partition.0),
    }
}

/// The committed log of one partition after the final convergence.
#[derive(Clone, Debug)]
pub struct FinalLog<'a> {
    /// Index of the `FinalPartition` event.
    pub index: usize,
    /// Records at offsets `0..hw`.
    pub records: &'a [MessageId],
    /// (value, offset) for every record, sorted: the offsets of one value are adjacent.
    offsets: Vec<(MessageId, u64)>,
}

impl<'a> FinalLog<'a> {
    /// Indexes the records of the `FinalPartition` event at `index`.
    pub fn new(index: usize, records: &'a [MessageId]) -> FinalLog<'a> {
        let mut offsets: Vec<(MessageId, u64)> = records
            .iter()
            .enumerate()
            .map(|(offset, value)| (*value, offset as u64))
            .collect();
        offsets.sort_unstable();
        FinalLog {
            index,
            records,
            offsets,
        }
    }

    /// Every offset holding `value`, ascending (more than one only for duplicates).
    pub fn positions(&self, value: MessageId) -> impl Iterator<Item = u64> + '_ {
        let start = self.offsets.partition_point(|(v, _)| *v < value);
        self.offsets[start..]
            .iter()
            .take_while(move |(v, _)| *v == value)
            .map(|(_, offset)| *offset)
    }

    /// The record at `offset`, if below the final HW.
    pub fn at(&self, offset: u64) -> Option<MessageId> {
        let index = usize::try_from(offset).ok()?;
        self.records.get(index).copied()
    }
}

/// The final committed log of every partition that has one (the last `FinalPartition`
/// event per partition wins).
pub fn final_logs(history: &History) -> BTreeMap<PartitionId, FinalLog<'_>> {
    let mut last = BTreeMap::new();
    for (index, event) in history.events.iter().enumerate() {
        if let EventKind::FinalPartition {
            partition, records, ..
        } = &event.kind
        {
            last.insert(*partition, (index, records.as_slice()));
        }
    }
    last.into_iter()
        .map(|(p, (index, records))| (p, FinalLog::new(index, records)))
        .collect()
}

/// Event indices, kept in the order of importance while collecting, at most
/// [`EVIDENCE_MAX`], returned oldest first.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    indices: Vec<usize>,
}

impl Evidence {
    /// Adds `index` unless already present or the evidence is full.
    pub fn add(&mut self, index: usize) {
        if self.indices.len() < EVIDENCE_MAX && !self.indices.contains(&index) {
            self.indices.push(index);
        }
    }

    /// Adds `index` if there is one.
    pub fn add_opt(&mut self, index: Option<usize>) {
        if let Some(index) = index {
            self.add(index);
        }
    }

    /// The indices, oldest first.
    pub fn finish(mut self) -> Vec<usize> {
        self.indices.sort_unstable();
        self.indices
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use crate::violation::ViolationKind;

    #[test]
    fn check_all_sorts_by_kind_then_partition_then_offset() {
        let mut b = Builder::with_partitions(&["t-0", "t-1"]);
        b.send_ok_to(P1, 1, 0, 0);
        b.send_ok_to(P0, 1, 1, 5);
        b.send_ok_to(P0, 1, 2, 3);
        b.unavailable(P0);
        b.final_partition_of(P1, &[]);
        b.final_partition_of(P0, &[]);
        let found = check_all(&b.history, &safe_config());
        let keys: Vec<(ViolationKind, Option<String>, Vec<u64>)> = found
            .iter()
            .map(|v| (v.kind, v.partition.clone(), v.offsets.clone()))
            .collect();
        assert_eq!(
            keys,
            vec![
                (ViolationKind::LostWrite, Some("t-0".into()), vec![3]),
                (ViolationKind::LostWrite, Some("t-0".into()), vec![5]),
                (ViolationKind::LostWrite, Some("t-1".into()), vec![0]),
                (ViolationKind::Unavailable, Some("t-0".into()), vec![]),
            ]
        );
    }

    #[test]
    fn check_all_is_quiet_on_a_clean_run_and_survives_an_incomplete_one() {
        let mut b = Builder::new();
        b.send_ok(1, 0, 0);
        b.send_ok(1, 1, 1);
        b.poll(1, &[(0, m(1, 0)), (1, m(1, 1))]);
        b.invoke(1, 2); // never completed
        b.final_partition(&[m(1, 0), m(1, 1)]);
        assert_eq!(check_all(&b.history, &safe_config()), vec![]);

        let mut incomplete = Builder::new();
        incomplete.send_ok(1, 0, 0);
        incomplete.poll(1, &[(0, m(1, 0))]);
        incomplete.push(EventKind::SendOk {
            producer: 9,
            partition: PartitionId(42),
            value: m(9, 0),
            offset: crate::types::Offset(0),
            broker: crate::types::BrokerId(1),
            sent_at: crate::types::SimTime::ZERO,
        });
        assert_eq!(check_all(&incomplete.history, &safe_config()), vec![]);
    }
}
