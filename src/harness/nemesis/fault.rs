//! The faults the nemesis has running, and when each may end: a bounce once leadership
//! moved, a rejoin once the partition has a running leader, a wiped broker once it is in
//! sync again.

use super::{BOUNCE_WAIT_INTERVALS, REJOIN_WAIT_INTERVALS, kinds};
use crate::shell::cluster::Cluster;
use crate::types::{BrokerEpoch, BrokerId, LeaderEpoch, NodeId, PartitionId, SimTime};

/// Whether the controller, as it stands now, has `broker` leading `partition`.
pub(super) fn still_leads(cluster: &Cluster, partition: PartitionId, broker: BrokerId) -> bool {
    cluster
        .controller_state()
        .is_some_and(|s| s.partitions[usize::from(partition.0)].leader == Some(broker))
}

/// Whether the controller elected a running leader of `partition` after `epoch`.
pub(super) fn elected_since(
    cluster: &Cluster,
    partition: PartitionId,
    epoch: Option<LeaderEpoch>,
) -> bool {
    cluster.controller_state().is_some_and(|s| {
        let p = &s.partitions[usize::from(partition.0)];
        Some(p.leader_epoch) > epoch
            && p.leader
                .is_some_and(|b| kinds::is_up(cluster, NodeId::Broker(b)))
    })
}

/// A fault the nemesis started and will end.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Fault {
    /// A crashed or powered-off broker, restarted at the end.
    Down(NodeId),
    /// Brokers holding `partition` that are down, restarted one at a time in this order;
    /// after the first, each waits (at most [`REJOIN_WAIT_INTERVALS`] from `since`, the
    /// previous restart) until the controller elected a running leader after `epoch`,
    /// its leader epoch at that restart.
    Rejoin {
        nodes: Vec<NodeId>,
        partition: PartitionId,
        since: SimTime,
        epoch: Option<LeaderEpoch>,
    },
    /// Crashed leaders of `partition`, oldest first, the latest last. The fault ends once
    /// the controller moved leadership away from the latest (at most
    /// [`BOUNCE_WAIT_INTERVALS`] from `since`, its crash); `left` more leaders may follow.
    Bounce {
        nodes: Vec<NodeId>,
        partition: PartitionId,
        left: u8,
        since: SimTime,
    },
    /// A paused broker, resumed at the end.
    Paused(NodeId),
    /// A broker whose disk was wiped: it runs, but counts as out under `max_down` until
    /// it is back in the ISR of every partition it hosts. Nothing to do at the end.
    Rebuilding {
        node: NodeId,
        /// Its broker epoch at the wipe: the controller still trusts that registration.
        epoch: Option<BrokerEpoch>,
    },
    /// A partition or isolation; the end heals every link.
    Cut,
    /// A packet-loss burst; the end restores the scenario's loss rate.
    Lossy,
    /// A latency spell; the end restores the scenario's latency range.
    Slow,
    /// Watching, every [`ISR_WATCH_POLL_MS`] until `until`, for a leader with an ISR
    /// change pending, to crash it (it then becomes a one-leader [`Fault::Bounce`]).
    AwaitIsrChange { until: SimTime },
    /// Watching, every [`ISR_WATCH_POLL_MS`] until `until`, for the active controller to
    /// be in an fsync of its metadata log with entries not yet durable, to power it off
    /// then (it becomes a [`Fault::Down`] that ends with a quick restart). It strikes at
    /// the second look that finds it so (`seen`: the first did): what the controller sent
    /// just before the fsync is on the wire by then (a madsim send takes 1 ms to leave).
    AwaitFsync { until: SimTime, seen: bool },
}

impl Fault {
    /// Whether the fault should wait a little longer before it ends: a bounce until
    /// leadership moved, a rejoin until the partition has a running leader, each within
    /// its bound of waiting.
    pub(super) fn keeps_waiting(&self, cluster: &Cluster, now: SimTime, interval_ms: u64) -> bool {
        match self {
            Fault::Bounce {
                nodes,
                partition,
                since,
                ..
            } => {
                let latest = nodes.last().and_then(|n| match n {
                    NodeId::Broker(b) => Some(*b),
                    _ => None,
                });
                latest.is_some_and(|b| still_leads(cluster, *partition, b))
                    && now.ms_since(*since) < BOUNCE_WAIT_INTERVALS * interval_ms
            }
            Fault::Rejoin {
                partition,
                since,
                epoch,
                ..
            } => {
                !elected_since(cluster, *partition, *epoch)
                    && now.ms_since(*since) < REJOIN_WAIT_INTERVALS * interval_ms
            }
            Fault::Rebuilding { node, epoch } => !kinds::back_in_sync(cluster, *node, *epoch),
            _ => false,
        }
    }
}
