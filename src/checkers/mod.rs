//! Safety checkers: each reads a finished [`History`] and reports the [`Violation`]s of one
//! property (scenario-format.md names the kinds; protocol.md section 10 the invariants).
//!
//! Architecture invariant: checkers see the run only through `&History` and `&Config`.
//! Findings are data, never panics: a malformed or incomplete history (a send without a
//! completion, no final events, an unknown partition id) gives fewer findings, not a crash.

pub mod aborted_read;
pub mod divergence;
pub mod duplicate;
pub mod inconsistent_offsets;
pub mod lost_write;
pub mod nonmonotonic_read;
pub mod nonmonotonic_send;
pub mod split_brain;
pub mod unavailable;
pub mod uncommitted_read;

#[cfg(test)]
mod test_support;

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{Acks, Config, ConsumerReadLimit, FlushPolicy};
use crate::history::{EventKind, History};
use crate::types::{MessageId, PartitionId};
use crate::violation::Violation;

/// Most event indices one violation carries as evidence.
pub const EVIDENCE_MAX: usize = 8;

/// A checker's signature.
pub type Checker = fn(&History, &Config) -> Vec<Violation>;

/// Every checker, in report order.
pub const ALL: [(&str, Checker); 10] = [
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
];

/// Runs every checker and returns their findings sorted by kind, then partition (in the
/// history's partition order), then first offset.
pub fn check_all(history: &History, config: &Config) -> Vec<Violation> {
    let mut violations: Vec<Violation> =
        ALL.iter().flat_map(|(_, check)| check(history, config)).collect();
    sort(history, &mut violations);
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
}

impl FinalLog<'_> {
    /// Every offset holding `value` (more than one only for duplicates).
    pub fn positions(&self, value: MessageId) -> Vec<u64> {
        let found = self.records.iter().enumerate().filter(|(_, v)| **v == value);
        found.map(|(o, _)| o as u64).collect()
    }

    /// The record at `offset`, if below the final HW.
    pub fn at(&self, offset: u64) -> Option<MessageId> {
        usize::try_from(offset).ok().and_then(|o| self.records.get(o)).copied()
    }
}

/// The final committed log of every partition that has one (the last `FinalPartition`
/// event per partition wins).
pub fn final_logs(history: &History) -> BTreeMap<PartitionId, FinalLog<'_>> {
    let mut logs = BTreeMap::new();
    for (index, event) in history.events.iter().enumerate() {
        if let EventKind::FinalPartition { partition, records, .. } = &event.kind {
            logs.insert(*partition, FinalLog { index, records });
        }
    }
    logs
}

/// Index of the `SendInvoke` of `value` to `partition`, if recorded.
pub fn invoke_index(history: &History, partition: PartitionId, value: MessageId) -> Option<usize> {
    history.events.iter().position(|e| {
        matches!(&e.kind, EventKind::SendInvoke { partition: p, value: v, .. }
            if *p == partition && *v == value)
    })
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

/// Adds the protocol events that explain why `offset` of `partition` changed after event
/// `after`: the truncations on that partition that cut it (at most two), each with the
/// latest leader election on the partition and the latest fault before it. Without a
/// truncation, the latest election and fault after `after`.
pub fn add_cut_evidence(
    history: &History,
    evidence: &mut Evidence,
    partition: PartitionId,
    offset: u64,
    after: usize,
) {
    let mut cuts = 0;
    for (index, event) in history.events.iter().enumerate().skip(after) {
        if let EventKind::Truncated { partition: p, from_leo, to, .. } = &event.kind
            && *p == partition
            && to.0 <= offset
            && offset < from_leo.0
        {
            evidence.add_opt(last_election_before(history, partition, index));
            evidence.add_opt(last_fault_before(history, index));
            evidence.add(index);
            cuts += 1;
            if cuts == 2 {
                return;
            }
        }
    }
    if cuts == 0 {
        let end = history.events.len();
        evidence.add_opt(last_election_before(history, partition, end).filter(|i| *i > after));
        evidence.add_opt(last_fault_before(history, end).filter(|i| *i > after));
    }
}

/// The latest `LeaderElected` on `partition` before event `before`.
pub fn last_election_before(
    history: &History,
    partition: PartitionId,
    before: usize,
) -> Option<usize> {
    let end = before.min(history.events.len());
    history.events[..end].iter().rposition(
        |e| matches!(&e.kind, EventKind::LeaderElected { partition: p, .. } if *p == partition),
    )
}

/// The latest `Fault` before event `before`.
pub fn last_fault_before(history: &History, before: usize) -> Option<usize> {
    let end = before.min(history.events.len());
    history.events[..end].iter().rposition(|e| matches!(e.kind, EventKind::Fault { .. }))
}

/// The configuration setting that permits losing or replacing acknowledged or committed data
/// of `partition` (lost-write, inconsistent-offsets, divergence), if any.
pub fn loss_permitted_by(
    history: &History,
    config: &Config,
    partition: PartitionId,
) -> Option<String> {
    match config.acks {
        Acks::Zero => return Some("acks=0".to_string()),
        Acks::One => return Some("acks=1".to_string()),
        Acks::All => {}
    }
    if config.min_insync_replicas == 1 {
        return Some("min_insync_replicas=1".to_string());
    }
    let unclean = history.events.iter().any(|e| {
        matches!(&e.kind, EventKind::LeaderElected { partition: p, unclean: true, .. }
            if *p == partition)
    });
    if unclean {
        return Some("unclean_leader_election".to_string());
    }
    let power_loss = history.events.iter().any(
        |e| matches!(&e.kind, EventKind::Fault { description } if description.starts_with("power_loss")),
    );
    match config.flush {
        FlushPolicy::Never if power_loss => Some("flush=never with power loss".to_string()),
        FlushPolicy::IntervalMs(_) if power_loss => {
            Some("flush=interval with power loss".to_string())
        }
        _ => None,
    }
}

/// Like [`loss_permitted_by`], but a broker that serves consumers up to the LEO permits
/// reads of uncommitted data first.
pub fn read_permitted_by(
    history: &History,
    config: &Config,
    partition: PartitionId,
) -> Option<String> {
    if config.consumer_read_limit == ConsumerReadLimit::LogEnd {
        return Some("consumer_read_limit=log-end".to_string());
    }
    loss_permitted_by(history, config, partition)
}

/// Renders values as `p1-3, p2-0`.
pub fn render_values(values: &BTreeSet<MessageId>) -> String {
    values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ")
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
        let keys: Vec<(ViolationKind, Option<String>, Vec<u64>)> =
            found.iter().map(|v| (v.kind, v.partition.clone(), v.offsets.clone())).collect();
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
        });
        assert_eq!(check_all(&incomplete.history, &safe_config()), vec![]);
    }

    #[test]
    fn permitted_by_follows_the_configuration_in_order() {
        let mut b = Builder::new();
        b.fault("power_loss broker-2");
        let history = &b.history;
        let with = |c: Config| loss_permitted_by(history, &c, P0);
        assert_eq!(with(Config { acks: Acks::One, ..safe_config() }).as_deref(), Some("acks=1"));
        assert_eq!(with(Config { acks: Acks::Zero, ..safe_config() }).as_deref(), Some("acks=0"));
        assert_eq!(with(Config::default()).as_deref(), Some("min_insync_replicas=1"));
        assert_eq!(with(safe_config()).as_deref(), Some("flush=never with power loss"));
        let interval = Config { flush: FlushPolicy::IntervalMs(100), ..safe_config() };
        assert_eq!(with(interval).as_deref(), Some("flush=interval with power loss"));
        let fsync = Config { flush: FlushPolicy::EveryMessage, ..safe_config() };
        assert_eq!(with(fsync.clone()), None);
        b.elected(2, 3, true);
        assert_eq!(
            loss_permitted_by(&b.history, &fsync, P0).as_deref(),
            Some("unclean_leader_election")
        );
        let log_end = Config { consumer_read_limit: ConsumerReadLimit::LogEnd, ..fsync };
        assert_eq!(
            read_permitted_by(&b.history, &log_end, P0).as_deref(),
            Some("consumer_read_limit=log-end")
        );
    }
}
