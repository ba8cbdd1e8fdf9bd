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
    /// The controller cut off from every broker.
    ControllerAlone,
}

/// Every shape, in the order the nemesis draws from.
pub const SHAPES: [Shape; 4] = [
    Shape::Halves,
    Shape::SingleNode,
    Shape::LeaderVsFollowers,
    Shape::ControllerAlone,
];

/// Draws a shape and resolves it against the cluster now: two non-empty groups, each in
/// the order brokers by id, then the controller.
pub fn draw(cluster: &Cluster, rng: &mut impl Rng) -> [Vec<NodeId>; 2] {
    let shape = SHAPES[rng.gen_range(0..SHAPES.len())];
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
        Shape::ControllerAlone => split(&nodes, |_, n| n == NodeId::CONTROLLER),
    }
}

/// A partition drawn uniformly.
pub(super) fn random_partition(cluster: &Cluster, rng: &mut impl Rng) -> PartitionId {
    let partitions: Vec<PartitionId> = cluster.layout().partition_ids().collect();
    partitions[rng.gen_range(0..partitions.len())]
}

/// Brokers by id, then the controller.
fn server_nodes(cluster: &Cluster) -> Vec<NodeId> {
    let mut nodes: Vec<NodeId> = cluster
        .layout()
        .brokers
        .iter()
        .map(|b| NodeId::Broker(*b))
        .collect();
    nodes.push(NodeId::CONTROLLER);
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
