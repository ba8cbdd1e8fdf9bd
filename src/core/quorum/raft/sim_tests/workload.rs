//! The workload: the leader proposes records, and replicas snapshot their committed
//! prefix (the test's state machine is the list of committed digests).

use crate::core::quorum::raft::RoleKind;

use super::checker::{Violation, digest};
use super::world::World;
use super::{Ledger, Node, Record};

impl World {
    /// Live replicas in the Leader role, highest epoch first.
    pub(super) fn leaders(&self) -> Vec<u8> {
        let mut leaders: Vec<&Node> = self
            .replicas
            .values()
            .filter_map(|r| r.node.as_ref())
            .filter(|n| n.role() == RoleKind::Leader)
            .collect();
        leaders.sort_by_key(|n| std::cmp::Reverse(n.epoch()));
        leaders.iter().map(|n| n.id()).collect()
    }

    /// The leader (during chaos: any replica that thinks it leads) proposes 1-3 records;
    /// after healing the first one is the liveness probe.
    pub(super) fn propose(&mut self) -> Result<(), Violation> {
        self.next_propose = self.now.plus_ms(self.prng.between(30, 300));
        let leaders = self.leaders();
        if leaders.is_empty() {
            return Ok(());
        }
        let id = if self.healed_at.is_some() {
            leaders[0]
        } else {
            leaders[self.prng.below(leaders.len() as u64) as usize]
        };
        let count = 1 + self.prng.below(3);
        let records: Vec<Record> = (0..count).map(|i| self.next_record + i).collect();
        self.next_record += count;
        let now = self.now;
        let mut last = None;
        self.act(id, |node, out| last = node.propose(now, records, out).ok())?;
        if let (Some(offset), Some(_)) = (last, self.healed_at) {
            let node = self.replicas[&id].node.as_ref();
            let epoch = node.map(|n| n.epoch());
            let stale = self
                .probe
                .is_none_or(|(leader, e, _)| leader != id || Some(e) != epoch);
            if stale && let Some(epoch) = epoch {
                self.probe = Some((id, epoch, offset));
            }
        }
        Ok(())
    }

    /// A random live replica snapshots its committed prefix (KIP-630: the state machine
    /// decides when; here every 0.5-3 s once 4 entries are committed past the log start).
    pub(super) fn snapshot(&mut self) -> Result<(), Violation> {
        self.next_snapshot = self.now.plus_ms(self.prng.between(500, 3_000));
        let ids: Vec<u8> = self
            .replicas
            .iter()
            .filter(|(_, r)| r.node.is_some())
            .map(|(&id, _)| id)
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let id = ids[self.prng.below(ids.len() as u64) as usize];
        let node = self.replicas[&id].node.as_ref().expect("live");
        let (start, hw) = (node.log_start_offset(), node.high_watermark());
        if hw.0 < start.0 + 4 {
            return Ok(());
        }
        let payload = committed_prefix(node);
        self.stats.snapshots_taken += 1;
        self.taking_snapshot = true;
        let result = self.act(id, |node, out| {
            node.snapshot(hw, payload, out)
                .expect("a committed snapshot");
        });
        self.taking_snapshot = false;
        result
    }
}

/// A replica's committed prefix as its state machine holds it: its snapshot, then its
/// committed entries (this is the snapshot payload the test's state machine produces).
pub(super) fn committed_prefix(node: &Node) -> Ledger {
    let mut prefix: Ledger = node
        .latest_snapshot()
        .map(|s| s.payload.clone())
        .unwrap_or_default();
    assert_eq!(prefix.len() as u64, node.log_start_offset().0);
    prefix.extend(node.committed(node.log_start_offset()).iter().map(digest));
    prefix
}
