//! A `Fault` event in words (`crash broker-2` → `broker-2 (the leader of events-0)
//! crashed`), from the structure `fault_mark` reads back.

use super::state::State;
use super::words::and_list;
use crate::fault_mark::{self, FaultMark};
use crate::types::NodeId;

/// A fault in words, naming the roles its brokers had.
pub(super) fn fault(description: &str, state: &State, name: &str) -> String {
    let Some(mark) = fault_mark::parse(description) else {
        return format!("fault: {description}");
    };
    let nodes = |nodes: &[NodeId]| {
        let named: Vec<String> = nodes.iter().map(|n| node(*n, state, name)).collect();
        and_list(&named)
    };
    let was = |n: &[NodeId]| if n.len() == 1 { "was" } else { "were" };
    match &mark {
        FaultMark::Crash(n) => format!("{} crashed", nodes(n)),
        FaultMark::PowerLoss(n) => format!(
            "{} lost power (writes not yet flushed to disk may be gone)",
            nodes(n)
        ),
        FaultMark::DiskWipe(n) => format!(
            "{} got a new, empty disk (its drive replaced: no log, no checkpoints)",
            nodes(n)
        ),
        FaultMark::Restart(n) => format!("{} restarted", nodes(n)),
        FaultMark::Pause(n) => format!("{} {} paused (frozen)", nodes(n), was(n)),
        FaultMark::Resume(n) => format!("{} resumed", nodes(n)),
        FaultMark::Isolate(n) => format!("{} {} cut off from every other node", nodes(n), was(n)),
        FaultMark::Partition(groups) => {
            let sides: Vec<String> = groups
                .iter()
                .map(|g| {
                    let named: Vec<String> = g.iter().map(|n| short(*n, state)).collect();
                    format!("[{}]", named.join(", "))
                })
                .collect();
            format!("the network split into {}", sides.join(" | "))
        }
        FaultMark::Heal => "the network healed".to_string(),
        FaultMark::PacketLoss(rate) if *rate > 0.0 => {
            format!(
                "every link began losing {:.0}% of its messages",
                rate * 100.0
            )
        }
        FaultMark::PacketLoss(_) => "packet loss ended".to_string(),
        FaultMark::Latency(low, high) => format!("message delays became {low}-{high} ms"),
    }
}

/// A node with its role: `broker-1 (the leader of events-0)`, `the controller`.
fn node(node: NodeId, state: &State, name: &str) -> String {
    match node {
        NodeId::Broker(b) => state.role(b, name),
        NodeId::Controller(_) => "the controller".to_string(),
        other => other.to_string(),
    }
}

/// A node in a partition's group: `broker-1 (leader)`.
fn short(node: NodeId, state: &State) -> String {
    match node {
        NodeId::Broker(b) if state.leader == Some(b) => format!("broker-{b} (leader)"),
        other => other.to_string(),
    }
}
