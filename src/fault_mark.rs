//! Reads the `Fault` events' descriptions back into structure, for the views and the
//! checkers that replay process and network state (`slow-failover`).
//!
//! The harness records each fault as one line (`crash broker-2`,
//! `partition [broker-1] | [broker-2, controller]`, `heal`, `packet_loss 0.2`,
//! `latency [4, 120]`); the lines are the history's contract with people and tools. This
//! module parses exactly the shapes that `harness::faults` and `harness::nemesis` write;
//! the tests below use those writers, so a change in wording breaks a test here rather
//! than the readers silently. Like `history`, it depends only on `types`.

use crate::types::{BrokerId, ControllerId, NodeId};

/// A fault, structured.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultMark {
    /// A process crash.
    Crash(Vec<NodeId>),
    /// A power loss: the unflushed tail of the disk may be gone.
    PowerLoss(Vec<NodeId>),
    /// A drive replaced (`disk_wipe`): a running broker stopped and started again at once
    /// on an empty disk; one that was down stays down, with the empty disk.
    DiskWipe(Vec<NodeId>),
    /// A (re)start.
    Restart(Vec<NodeId>),
    /// Frozen.
    Pause(Vec<NodeId>),
    /// Let go on.
    Resume(Vec<NodeId>),
    /// Cut off from every other node and client.
    Isolate(Vec<NodeId>),
    /// Links between different groups cut.
    Partition(Vec<Vec<NodeId>>),
    /// Every link restored.
    Heal,
    /// Every link loses this share of datagrams from now on (0.0..=1.0).
    PacketLoss(f64),
    /// Every message sent from now on takes `[low, high]` milliseconds.
    Latency(u64, u64),
}

/// Parses one `Fault` description; `None` for a shape this module does not know.
pub fn parse(description: &str) -> Option<FaultMark> {
    let (verb, rest) = description.split_once(' ').unwrap_or((description, ""));
    let nodes = || parse_nodes(rest);
    Some(match verb {
        "crash" => FaultMark::Crash(nodes()?),
        "power_loss" => FaultMark::PowerLoss(nodes()?),
        "restart" => FaultMark::Restart(nodes()?),
        "disk_wipe" => FaultMark::DiskWipe(nodes()?),
        "pause" => FaultMark::Pause(nodes()?),
        "resume" => FaultMark::Resume(nodes()?),
        "isolate" => FaultMark::Isolate(nodes()?),
        "partition" => FaultMark::Partition(
            rest.split(" | ")
                .map(parse_nodes)
                .collect::<Option<Vec<_>>>()?,
        ),
        "heal" => FaultMark::Heal,
        "packet_loss" => FaultMark::PacketLoss(rest.trim().parse().ok()?),
        "latency" => {
            let range = rest.trim().strip_prefix('[')?.strip_suffix(']')?;
            let (low, high) = range.split_once(',')?;
            FaultMark::Latency(low.trim().parse().ok()?, high.trim().parse().ok()?)
        }
        _ => return None,
    })
}

/// `broker-1`, `[broker-1, controller]` or `[]`.
fn parse_nodes(text: &str) -> Option<Vec<NodeId>> {
    let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse_node)
        .collect()
}

/// `broker-3`, `controller`, `controller-2`, `producer-1`, `consumer-2`.
pub fn parse_node(name: &str) -> Option<NodeId> {
    if name == "controller" {
        return Some(NodeId::CONTROLLER);
    }
    let (kind, number) = name.rsplit_once('-')?;
    let number: u8 = number.parse().ok()?;
    match kind {
        "controller" if number > 0 => Some(NodeId::Controller(ControllerId(number))),
        "broker" => Some(NodeId::Broker(BrokerId(number))),
        "producer" => Some(NodeId::Producer(number)),
        "consumer" => Some(NodeId::Consumer(number)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::faults::{describe_partition, names};

    const B1: NodeId = NodeId::Broker(BrokerId(1));
    const B2: NodeId = NodeId::Broker(BrokerId(2));

    #[test]
    fn parses_what_the_harness_writes() {
        let both = names(&[B1, NodeId::CONTROLLER]);
        assert_eq!(
            parse(&format!("crash {both}")),
            Some(FaultMark::Crash(vec![B1, NodeId::CONTROLLER]))
        );
        assert_eq!(
            parse(&format!("power_loss {}", names(&[B2]))),
            Some(FaultMark::PowerLoss(vec![B2]))
        );
        assert_eq!(
            parse(&format!("restart {B2}")),
            Some(FaultMark::Restart(vec![B2]))
        );
        let groups = vec![vec![B1], vec![B2, NodeId::CONTROLLER]];
        assert_eq!(
            parse(&describe_partition(&groups)),
            Some(FaultMark::Partition(groups))
        );
        assert_eq!(
            parse(&format!("disk_wipe {B2}")),
            Some(FaultMark::DiskWipe(vec![B2]))
        );
        assert_eq!(parse("heal"), Some(FaultMark::Heal));
        assert_eq!(parse("latency [4, 120]"), Some(FaultMark::Latency(4, 120)));
        assert_eq!(parse("packet_loss 0.25"), Some(FaultMark::PacketLoss(0.25)));
        assert_eq!(parse("packet_loss 0"), Some(FaultMark::PacketLoss(0.0)));
        assert_eq!(parse("latency [4]"), None);
        assert_eq!(parse("explode broker-1"), None);
        assert_eq!(parse("crash toaster-1"), None);
    }
}
