//! Applies one fault action to the running cluster, resolving `leader:T-P`-style targets
//! at fire time, and records it in the history.

use crate::history::{EventKind, History, TruncationReason};
use crate::scenario::{FaultAction, Target};
use crate::shell::cluster::Cluster;
use crate::types::{BrokerId, NodeId, PartitionId};

/// The broker that leads `partition` now, or last led it.
pub fn current_leader(cluster: &Cluster, partition: PartitionId) -> BrokerId {
    if let Some(leader) = cluster
        .controller_state()
        .and_then(|s| s.partitions[partition.0 as usize].leader)
    {
        return leader;
    }
    let last = cluster.with_history(|h: &History| {
        h.events.iter().rev().find_map(|e| match &e.kind {
            EventKind::LeaderElected {
                partition: p,
                leader: Some(l),
                ..
            } if *p == partition => Some(*l),
            _ => None,
        })
    });
    last.unwrap_or(cluster.layout().partition(partition).replicas[0])
}

/// The nodes a target names right now.
pub fn resolve(cluster: &Cluster, target: &Target) -> Vec<NodeId> {
    let mut nodes = Vec::new();
    collect(cluster, target, &mut nodes);
    nodes
}

fn collect(cluster: &Cluster, target: &Target, nodes: &mut Vec<NodeId>) {
    let mut add = |n: NodeId| {
        if !nodes.contains(&n) {
            nodes.push(n);
        }
    };
    match target {
        Target::Broker(b) => add(NodeId::Broker(*b)),
        Target::Controller => add(cluster.active_controller()),
        Target::ControllerN(n) => add(cluster.layout().controllers[usize::from(*n) - 1]),
        Target::Controllers => {
            for c in &cluster.layout().controllers {
                add(*c);
            }
        }
        Target::Replica { partition, index } => add(NodeId::Broker(
            cluster.layout().partition(*partition).replicas[*index],
        )),
        Target::Leader(p) => add(NodeId::Broker(current_leader(cluster, *p))),
        Target::Followers(p) => {
            let leader = current_leader(cluster, *p);
            for b in cluster
                .layout()
                .partition(*p)
                .replicas
                .iter()
                .filter(|b| **b != leader)
            {
                add(NodeId::Broker(*b));
            }
        }
        Target::List(targets) => {
            for t in targets {
                collect(cluster, t, nodes);
            }
        }
    }
}

/// `broker-1` or `[broker-1, broker-2]`.
pub fn names(nodes: &[NodeId]) -> String {
    let names: Vec<String> = nodes.iter().map(|n| n.to_string()).collect();
    if names.len() == 1 {
        names[0].clone()
    } else {
        format!("[{}]", names.join(", "))
    }
}

/// A partition as the history records it: `partition [broker-1] | [broker-2, controller]`.
pub fn describe_partition(groups: &[Vec<NodeId>]) -> String {
    let parts: Vec<String> = groups
        .iter()
        .map(|g| format!("[{}]", names(g).trim_matches(['[', ']'])))
        .collect();
    format!("partition {}", parts.join(" | "))
}

/// Applies `action` now: records it (with its targets resolved to nodes), then does it,
/// so that what it causes (a power loss' log cuts) follows it in the history.
pub fn apply(cluster: &mut Cluster, action: &FaultAction) {
    let record = |cluster: &mut Cluster, description: String| {
        cluster.record(EventKind::Fault { description });
    };
    match action {
        FaultAction::Crash(t) => each(cluster, t, "crash", |c, n| c.crash(n)),
        FaultAction::PowerLoss(t) => each(cluster, t, "power_loss", power_loss),
        FaultAction::DiskWipe(t) => each(cluster, t, "disk_wipe", disk_wipe),
        FaultAction::Restart(t) => each(cluster, t, "restart", |c, n| c.restart(n)),
        FaultAction::Pause(t) => each(cluster, t, "pause", |c, n| c.pause(n)),
        FaultAction::Resume(t) => each(cluster, t, "resume", |c, n| c.resume(n)),
        FaultAction::Isolate(t) => each(cluster, t, "isolate", |c, n| c.isolate(n)),
        FaultAction::Partition(groups) => {
            // Groups may overlap: a node belongs to the first group that names it.
            let mut placed: Vec<NodeId> = Vec::new();
            let mut resolved: Vec<Vec<NodeId>> = Vec::new();
            for group in groups {
                let nodes: Vec<NodeId> = resolve(cluster, group)
                    .into_iter()
                    .filter(|n| !placed.contains(n))
                    .collect();
                placed.extend(&nodes);
                resolved.push(nodes);
            }
            resolved.retain(|g| !g.is_empty());
            record(cluster, describe_partition(&resolved));
            cluster.partition(&resolved);
        }
        FaultAction::Heal => {
            record(cluster, "heal".to_string());
            cluster.heal();
        }
        FaultAction::PacketLoss(rate) => {
            record(cluster, format!("packet_loss {rate}"));
            cluster.set_packet_loss(*rate);
        }
        FaultAction::Latency(low, high) => {
            record(cluster, format!("latency [{low}, {high}]"));
            cluster.set_latency_ms(*low, *high);
        }
    }
}

fn each(
    cluster: &mut Cluster,
    target: &Target,
    verb: &str,
    mut f: impl FnMut(&mut Cluster, NodeId),
) {
    let nodes = resolve(cluster, target);
    let description = format!("{verb} {}", names(&nodes));
    cluster.record(EventKind::Fault { description });
    for n in nodes {
        f(cluster, n);
    }
}

/// A broker's drive replaced: what its logs held is traced as truncated to 0.
pub fn disk_wipe(cluster: &mut Cluster, node: NodeId) {
    let NodeId::Broker(broker) = node else { return };
    for (partition, from_leo) in cluster.disk_wipe(broker) {
        cluster.record(EventKind::Truncated {
            broker,
            partition,
            from_leo,
            to: crate::types::Offset(0),
            hw: crate::types::Offset(0),
            reason: TruncationReason::DiskWipe,
        });
    }
}

/// Power loss of one node, with the resulting log cuts traced.
pub fn power_loss(cluster: &mut Cluster, node: NodeId) {
    let hws: Vec<(PartitionId, crate::types::Offset)> = match node {
        NodeId::Broker(b) => cluster
            .with_broker(b, |x| x.replicas.iter().map(|(p, r)| (*p, r.hw)).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let cuts = cluster.power_loss(node);
    let NodeId::Broker(broker) = node else { return };
    for (partition, from_leo, to) in cuts {
        let hw = hws
            .iter()
            .find(|(p, _)| *p == partition)
            .map(|(_, h)| *h)
            .unwrap_or_default()
            .min(to);
        cluster.record(EventKind::Truncated {
            broker,
            partition,
            from_leo,
            to,
            hw,
            reason: TruncationReason::PowerLoss,
        });
    }
}
