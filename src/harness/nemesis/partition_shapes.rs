//! The shapes of network partition the nemesis draws. Every shape splits the server nodes
//! (brokers and the controller) into two non-empty groups and cuts every link between
//! them, both ways; nodes in no group (the clients) keep all their links.

use rand::Rng;

use crate::harness::faults;
use crate::shell::cluster::Cluster;
use crate::types::{NodeId, PartitionId};

/// One way of splitting the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A random split of brokers and controller into two non-empty halves.
    Halves,
    /// One node (a broker or the controller) cut off from every other server node.
    SingleNode,
    /// The current leader of a random partition cut off from that partition's followers.
    LeaderVsFollowers,
    /// The (active) controller cut off from every broker and every other controller.
    ControllerAlone,
    /// With a controller quorum: the active controller with a minority of the other
    /// controllers and some brokers, against the rest (the majority elects a new one).
    QuorumSplit,
    /// With a controller quorum: the active controller cut off from the other controllers
    /// only, every broker keeping its links to all of them (KAFKA-15489's case: without
    /// check-quorum the old leader stays active for the brokers while the other
    /// controllers elect a new one).
    ControllerFromQuorum,
}

/// Every shape, in the order the nemesis draws from.
pub const SHAPES: [Shape; 4] = [
    Shape::Halves,
    Shape::SingleNode,
    Shape::LeaderVsFollowers,
    Shape::ControllerAlone,
];

/// Draws a shape and resolves it against the cluster now: two non-empty groups, each in
/// the order brokers by id, then the controllers. A quorum adds [`Shape::QuorumSplit`]
/// and [`Shape::ControllerFromQuorum`].
pub fn draw(cluster: &Cluster, rng: &mut impl Rng) -> [Vec<NodeId>; 2] {
    let quorum: &[Shape] = if cluster.layout().has_quorum() {
        &[Shape::QuorumSplit, Shape::ControllerFromQuorum]
    } else {
        &[]
    };
    let shapes: Vec<Shape> = SHAPES.iter().chain(quorum).copied().collect();
    let shape = shapes[rng.gen_range(0..shapes.len())];
    groups(shape, cluster, rng)
}

/// The two groups of `shape` now. A leader-vs-followers split of a partition without
/// followers (replication factor 1) falls back to random halves.
pub fn groups(shape: Shape, cluster: &Cluster, rng: &mut impl Rng) -> [Vec<NodeId>; 2] {
    let nodes = server_nodes(cluster);
    match shape {
        Shape::Halves => {
            // Choose the left side's size, then its members by a partial Fisher-Yates
            // shuffle; both sides are non-empty because 1 <= size < nodes.
            let size = rng.gen_range(1..nodes.len());
            let mut order: Vec<usize> = (0..nodes.len()).collect();
            for i in 0..size {
                let j = rng.gen_range(i..order.len());
                order.swap(i, j);
            }
            let left: Vec<usize> = order[..size].to_vec();
            split(&nodes, |i, _| left.contains(&i))
        }
        Shape::SingleNode => {
            let alone = nodes[rng.gen_range(0..nodes.len())];
            split(&nodes, |_, n| n == alone)
        }
        Shape::LeaderVsFollowers => {
            let partition = random_partition(cluster, rng);
            let leader = NodeId::Broker(faults::current_leader(cluster, partition));
            let replicas: Vec<NodeId> = cluster
                .layout()
                .partition(partition)
                .replicas
                .iter()
                .map(|b| NodeId::Broker(*b))
                .collect();
            if replicas.iter().all(|r| *r == leader) {
                return groups(Shape::Halves, cluster, rng);
            }
            let followers = replicas.into_iter().filter(|r| *r != leader).collect();
            [vec![leader], followers]
        }
        Shape::ControllerAlone => {
            let active = cluster.active_controller();
            split(&nodes, |_, n| n == active)
        }
        Shape::QuorumSplit => quorum_split(cluster, &nodes, rng),
        Shape::ControllerFromQuorum => {
            let active = cluster.active_controller();
            let controllers = &cluster.layout().controllers;
            let others = controllers.iter().copied().filter(|c| *c != active);
            [vec![active], others.collect()]
        }
    }
}

/// The active controller, a random minority of the other controllers (possibly none) and
/// each broker with even odds, against the rest.
fn quorum_split(cluster: &Cluster, nodes: &[NodeId], rng: &mut impl Rng) -> [Vec<NodeId>; 2] {
    let controllers = &cluster.layout().controllers;
    let active = cluster.active_controller();
    let minority = (controllers.len() - 1) / 2;
    let mut others: Vec<NodeId> = controllers
        .iter()
        .copied()
        .filter(|c| *c != active)
        .collect();
    for i in (1..others.len()).rev() {
        others.swap(i, rng.gen_range(0..=i));
    }
    let with_active = rng.gen_range(0..minority);
    let mut left: Vec<NodeId> = vec![active];
    left.extend(others.into_iter().take(with_active));
    for node in nodes.iter().filter(|n| matches!(n, NodeId::Broker(_))) {
        if rng.gen_bool(0.5) {
            left.push(*node);
        }
    }
    split(nodes, |_, n| left.contains(&n))
}

/// A partition drawn uniformly.
pub(super) fn random_partition(cluster: &Cluster, rng: &mut impl Rng) -> PartitionId {
    let partitions: Vec<PartitionId> = cluster.layout().partition_ids().collect();
    partitions[rng.gen_range(0..partitions.len())]
}

/// Brokers by id, then the controllers.
fn server_nodes(cluster: &Cluster) -> Vec<NodeId> {
    let mut nodes: Vec<NodeId> = cluster
        .layout()
        .brokers
        .iter()
        .map(|b| NodeId::Broker(*b))
        .collect();
    nodes.extend(cluster.layout().controllers.iter().copied());
    nodes
}

/// `nodes` split into those `left` picks and the rest, keeping their order.
fn split(nodes: &[NodeId], left: impl Fn(usize, NodeId) -> bool) -> [Vec<NodeId>; 2] {
    let mut groups = [Vec::new(), Vec::new()];
    for (i, n) in nodes.iter().enumerate() {
        groups[usize::from(!left(i, *n))].push(*n);
    }
    groups
}
