//! Each node's metadata log as the history's quorum events build it ([`QuorumEvent`]):
//! the records it holds and its high watermark, replayed event by event. Shared by
//! `metadata-divergence` and the quorum's white-box invariants.

use std::collections::BTreeMap;

use crate::fault_mark::FaultMark;
use crate::history::{EventKind, History};
use crate::quorum_event::{QuorumEvent, RecordStamp};
use crate::types::{NodeId, Offset};

/// The stamp of an offset a node holds only inside a snapshot it installed.
pub const UNKNOWN: RecordStamp = (u32::MAX, 0);

/// One node's metadata log.
#[derive(Clone, Debug, Default)]
pub struct NodeLog {
    /// The records, by offset.
    pub records: Vec<RecordStamp>,
    /// The high watermark.
    pub hw: Offset,
    /// The event that last set each record.
    pub set_by: Vec<usize>,
}

/// What one quorum event did to its node's log.
pub enum Step {
    /// Records appended or overwritten.
    Appended,
    /// The log cut to `to`; `below_hw` when that removed records under the HW.
    Truncated {
        /// Whether records under the node's HW went.
        below_hw: bool,
    },
    /// The HW moved from `from` to `to`.
    Hw {
        /// The HW before.
        from: Offset,
        /// The HW after.
        to: Offset,
    },
    /// Not a log event (activation, renouncing).
    Other,
}

/// Replays the history's quorum events in order, calling `visit` after each with the
/// logs so far, the event's index, its node and what it did. A node's high watermark is
/// volatile: when its process dies (crash, power loss, wiped disk) it is forgotten, and the
/// node's next incarnation states what its log kept with a `Truncated` event.
pub fn replay(
    history: &History,
    mut visit: impl FnMut(&BTreeMap<NodeId, NodeLog>, usize, NodeId, Step),
) {
    let mut logs: BTreeMap<NodeId, NodeLog> = BTreeMap::new();
    for (index, event) in history.events.iter().enumerate() {
        if let EventKind::Fault { description } = &event.kind {
            forget_hw_of_dead(&mut logs, description);
            continue;
        }
        let EventKind::Quorum(q) = &event.kind else {
            continue;
        };
        let node = q.node();
        let log = logs.entry(node).or_default();
        let step = match q {
            QuorumEvent::Appended {
                base_offset,
                records,
                ..
            } => {
                let base = base_offset.index();
                log.records.truncate(base);
                log.set_by.truncate(base);
                // Entries below a snapshot the node installed were never appended to it.
                log.records.resize(base, UNKNOWN);
                log.set_by.resize(base, index);
                log.records.extend(records.iter().copied());
                log.set_by.extend(records.iter().map(|_| index));
                Step::Appended
            }
            QuorumEvent::Truncated { to, .. } => {
                let below_hw = *to < log.hw;
                log.records.truncate(to.index());
                log.set_by.truncate(to.index());
                Step::Truncated { below_hw }
            }
            QuorumEvent::HighWatermark { hw, .. } => {
                let from = log.hw;
                log.hw = *hw;
                Step::Hw { from, to: *hw }
            }
            QuorumEvent::Activated { .. }
            | QuorumEvent::Led { .. }
            | QuorumEvent::Renounced { .. } => Step::Other,
        };
        visit(&logs, index, node, step);
    }
}

/// A process that died takes its (volatile) high watermark with it.
fn forget_hw_of_dead(logs: &mut BTreeMap<NodeId, NodeLog>, description: &str) {
    let nodes = match crate::fault_mark::parse(description) {
        Some(
            FaultMark::Crash(nodes) | FaultMark::PowerLoss(nodes) | FaultMark::DiskWipe(nodes),
        ) => nodes,
        _ => return,
    };
    for node in nodes {
        if let Some(log) = logs.get_mut(&node) {
            log.hw = Offset(0);
        }
    }
}
