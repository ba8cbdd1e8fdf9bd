//! `metadata-divergence`: two nodes hold different records at the same offset of the
//! metadata log below their high watermarks. Every time a node's HW rises, each record it
//! newly covers is compared with the record the first node to cover that offset held
//! there. Controllers and the brokers that replicate the log as observers are both
//! checked. Always a bug: nothing permits it.

use std::collections::BTreeMap;

use super::Evidence;
use super::metadata_log::{Step, UNKNOWN, replay};
use crate::config::Config;
use crate::history::History;
use crate::quorum_event::RecordStamp;
use crate::types::NodeId;
use crate::violation::{Violation, ViolationKind};

/// One violation per pair of nodes, at the first offset where they differ.
pub fn check(history: &History, _config: &Config) -> Vec<Violation> {
    // Per offset: the first committed record there, who held it and the event that set it.
    let mut committed: BTreeMap<u64, (RecordStamp, NodeId, usize)> = BTreeMap::new();
    let mut reported: Vec<(NodeId, NodeId)> = Vec::new();
    let mut violations = Vec::new();
    replay(history, |logs, index, node, step| {
        let Step::Hw { from, to } = step else { return };
        let log = &logs[&node];
        for offset in from.0..to.0.min(log.records.len() as u64) {
            let stamp = log.records[offset as usize];
            if stamp == UNKNOWN {
                continue; // inside a snapshot it installed
            }
            let (first, holder, set_by) =
                *committed
                    .entry(offset)
                    .or_insert((stamp, node, log.set_by[offset as usize]));
            let pair = (holder.min(node), holder.max(node));
            if first == stamp || reported.contains(&pair) {
                continue;
            }
            reported.push(pair);
            let mut evidence = Evidence::default();
            evidence.add(set_by);
            evidence.add(log.set_by[offset as usize]);
            evidence.add(index);
            let message = format!(
                "{holder} and {node} hold different metadata records at offset {offset} \
                     (epochs {} and {}), below both their high watermarks",
                first.0, stamp.0
            );
            let mut violation = Violation::of_cluster(
                ViolationKind::MetadataDivergence,
                message,
                evidence.finish(),
            );
            violation.offsets = vec![offset];
            violations.push(violation);
        }
    });
    violations
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::history::EventKind;
    use crate::quorum_event::QuorumEvent;
    use crate::types::{ControllerId, Offset};

    const C1: NodeId = NodeId::Controller(ControllerId(1));
    const C2: NodeId = NodeId::Controller(ControllerId(2));

    fn appended(b: &mut Builder, node: NodeId, base: u64, records: &[RecordStamp]) -> usize {
        b.push(EventKind::Quorum(QuorumEvent::Appended {
            node,
            base_offset: Offset(base),
            records: records.to_vec(),
        }))
    }

    fn hw(b: &mut Builder, node: NodeId, hw: u64) -> usize {
        b.push(EventKind::Quorum(QuorumEvent::HighWatermark {
            node,
            hw: Offset(hw),
        }))
    }

    #[test]
    fn flags_different_records_below_both_high_watermarks() {
        let mut b = Builder::new();
        let a = appended(&mut b, C1, 0, &[(1, 10), (1, 11)]);
        hw(&mut b, C1, 2);
        // C2 holds another record at offset 1 (as a leader restarted in its old epoch
        // after losing unflushed records would give it) and commits it.
        appended(&mut b, C2, 0, &[(1, 10)]);
        let other = appended(&mut b, C2, 1, &[(1, 99)]);
        let moved = hw(&mut b, C2, 2);
        let found = check(&b.history, &Config::default());
        assert_eq!(
            summary(&found),
            vec![("metadata-divergence", "".into(), vec![1])]
        );
        assert_eq!(found[0].evidence, vec![a, other, moved]);
        assert!(found[0].message.contains("controller-1 and controller-2"));
    }

    #[test]
    fn a_difference_above_a_high_watermark_or_repaired_before_it_is_allowed() {
        let mut b = Builder::new();
        appended(&mut b, C1, 0, &[(1, 10), (1, 11)]);
        hw(&mut b, C1, 2);
        appended(&mut b, C2, 0, &[(1, 10), (2, 50)]);
        hw(&mut b, C2, 1); // offset 1 differs, but C2 has not committed it
        b.push(EventKind::Quorum(QuorumEvent::Truncated {
            node: C2,
            to: Offset(1),
        }));
        appended(&mut b, C2, 1, &[(1, 11)]);
        hw(&mut b, C2, 2);
        assert!(check(&b.history, &Config::default()).is_empty());
    }
}
