//! Connections between nodes, as the hosts' TCP stacks would see them: who holds a
//! connection to whom, which processes are down on hosts that stay up, and which links
//! the network cut. The core never sees connections; it only hears that one ended
//! ([`crate::core::Disconnect`]).
//!
//! - A connection between two nodes opens with the first message either sends the other.
//! - When a **process** crashes its host stays up, so the host resets every connection
//!   the process held: each peer hears of it after one network latency (unless the
//!   network cut them apart: then the reset is lost and the peer notices by timeouts).
//! - A message to a node whose process is down (host up) is refused: the sender hears of
//!   it after a round trip (again, unless the network cut them apart).
//! - Power loss, pauses, isolation and partitions are silent: a powered-off host answers
//!   nothing, a paused process's host keeps its connections open, a cut link carries
//!   nothing.

use std::collections::{BTreeMap, BTreeSet};

use futures::channel::mpsc::UnboundedSender;

use crate::core::Disconnect;
use crate::types::NodeId;

/// Something the shell hands a node task besides datagrams.
#[derive(Debug)]
pub enum Control {
    /// Step the state machine now (a harness request such as a finale probe).
    Poke,
    /// The connection to this peer ended.
    Disconnect(NodeId, Disconnect),
}

/// Every node's connection state, shared by the node tasks and the cluster handle.
#[derive(Debug, Default)]
pub struct Links {
    /// Open connections, each as `(lower, higher)` node.
    open: BTreeSet<(NodeId, NodeId)>,
    /// Nodes whose process crashed on a host that stays up: connections are refused.
    refusing: BTreeSet<NodeId>,
    /// Nodes cut off from every other node.
    isolated: BTreeSet<NodeId>,
    /// Directed links the network cut.
    clogged: BTreeSet<(NodeId, NodeId)>,
    /// Each running incarnation's control channel.
    inboxes: BTreeMap<NodeId, UnboundedSender<Control>>,
    /// The network's latency range in ms, `[low, high]`.
    latency_ms: (u64, u64),
}

fn pair(a: NodeId, b: NodeId) -> (NodeId, NodeId) {
    if a <= b { (a, b) } else { (b, a) }
}

impl Links {
    /// No connections yet, with the scenario's latency range.
    pub fn new(latency_ms: (u64, u64)) -> Links {
        Links {
            latency_ms,
            ..Links::default()
        }
    }

    /// The current latency range in ms.
    pub fn latency_ms(&self) -> (u64, u64) {
        self.latency_ms
    }

    /// The latency range changed (a nemesis latency spell, or its end).
    pub fn set_latency_ms(&mut self, low: u64, high: u64) {
        self.latency_ms = (low, high);
    }

    /// A new incarnation of `node` started and reads controls from `inbox`.
    pub fn started(&mut self, node: NodeId, inbox: UnboundedSender<Control>) {
        self.refusing.remove(&node);
        self.inboxes.insert(node, inbox);
    }

    /// `node`'s process died. With `host_up` (a process crash) its connections are reset
    /// and later ones refused; returns the peers to tell and their control channels (only
    /// those the network still connects to `node`). A power loss returns nobody.
    pub fn died(&mut self, node: NodeId, host_up: bool) -> Vec<(NodeId, UnboundedSender<Control>)> {
        self.inboxes.remove(&node);
        let peers: Vec<NodeId> = self
            .open
            .iter()
            .filter_map(|&(a, b)| match (a == node, b == node) {
                (true, _) => Some(b),
                (_, true) => Some(a),
                _ => None,
            })
            .collect();
        self.open.retain(|&(a, b)| a != node && b != node);
        if !host_up {
            return Vec::new();
        }
        self.refusing.insert(node);
        peers
            .into_iter()
            .filter(|peer| self.reachable(node, *peer))
            .filter_map(|peer| self.inboxes.get(&peer).map(|inbox| (peer, inbox.clone())))
            .collect()
    }

    /// `from` sends to `to`: whether the message goes out (false: the connection is
    /// refused and `from` must hear of it). Opens the connection when it goes out.
    pub fn on_send(&mut self, from: NodeId, to: NodeId) -> bool {
        if self.refusing.contains(&to) {
            return !(self.reachable(from, to) && self.reachable(to, from));
        }
        self.open.insert(pair(from, to));
        true
    }

    /// Whether the network carries messages from `from` to `to`.
    pub fn reachable(&self, from: NodeId, to: NodeId) -> bool {
        !self.isolated.contains(&from)
            && !self.isolated.contains(&to)
            && !self.clogged.contains(&(from, to))
    }

    /// Whether `node` is cut off from everyone.
    pub fn is_isolated(&self, node: NodeId) -> bool {
        self.isolated.contains(&node)
    }

    /// Cuts `node` off from everyone; returns whether it was not cut off already.
    pub fn isolate(&mut self, node: NodeId) -> bool {
        self.isolated.insert(node)
    }

    /// Cuts the directed link; returns whether it was not cut already.
    pub fn clog(&mut self, from: NodeId, to: NodeId) -> bool {
        self.clogged.insert((from, to))
    }

    /// Restores every link; returns the isolated nodes and the cut links to restore.
    pub fn heal(&mut self) -> (BTreeSet<NodeId>, BTreeSet<(NodeId, NodeId)>) {
        (
            std::mem::take(&mut self.isolated),
            std::mem::take(&mut self.clogged),
        )
    }

    /// The control channel of `node`'s running incarnation.
    pub fn inbox(&self, node: NodeId) -> Option<UnboundedSender<Control>> {
        self.inboxes.get(&node).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::BrokerId;
    use futures::channel::mpsc::unbounded;

    const B1: NodeId = NodeId::Broker(BrokerId(1));
    const B2: NodeId = NodeId::Broker(BrokerId(2));
    const P1: NodeId = NodeId::Producer(1);

    fn links() -> Links {
        let mut links = Links::new((1, 10));
        for node in [B1, B2, P1] {
            let (tx, _rx) = unbounded();
            links.started(node, tx);
        }
        links
    }

    fn peers(told: Vec<(NodeId, UnboundedSender<Control>)>) -> Vec<NodeId> {
        told.into_iter().map(|(p, _)| p).collect()
    }

    #[test]
    fn a_process_crash_resets_the_connections_it_held_and_refuses_new_ones() {
        let mut links = links();
        assert!(links.on_send(P1, B1));
        assert!(links.on_send(B2, B1));
        assert_eq!(peers(links.died(B1, true)), vec![B2, P1]);
        assert!(!links.on_send(P1, B1), "refused while the process is down");
        let (tx, _rx) = unbounded();
        links.started(B1, tx);
        assert!(links.on_send(P1, B1), "accepted again after the restart");
    }

    #[test]
    fn power_loss_and_cut_links_are_silent() {
        let mut links = links();
        links.on_send(P1, B1);
        links.on_send(B2, B1);
        assert!(
            links.died(B1, false).is_empty(),
            "a powered-off host resets nothing"
        );
        assert!(
            links.on_send(P1, B1),
            "and refuses nothing: the send goes into the void"
        );
        let (tx, _rx) = unbounded();
        links.started(B1, tx);
        links.on_send(P1, B1);
        links.on_send(B2, B1);
        links.clog(B1, P1);
        assert_eq!(
            peers(links.died(B1, true)),
            vec![B2],
            "the reset to P1 is cut"
        );
        assert!(
            links.on_send(P1, B1),
            "a refusal cannot come back over a cut link"
        );
        assert!(!links.on_send(B2, B1));
        links.heal();
        assert!(!links.on_send(P1, B1));
    }

    #[test]
    fn a_paused_peer_keeps_its_connections() {
        // Pausing is not modelled here at all: only `died` ends connections.
        let mut links = links();
        links.on_send(P1, B1);
        assert!(links.on_send(P1, B1));
        assert_eq!(peers(links.died(P1, true)), vec![B1]);
    }
}
