//! What starting each nemesis kind does to the cluster, with its target and severity
//! drawn from the nemesis' own random stream. The caller has checked the kind may start.
//! Broker faults aim at leaders and followers as often as the run's [`Profile`] says;
//! one aimed at a leader names it by role (`leader:T-P`).

use rand::Rng;

use super::partition_shapes::{self, random_partition};
use super::profile::Profile;
use super::{Actions, BOUNCES_MAX, Fault, node_target};
use crate::harness::faults;
use crate::scenario::{FaultAction, NemesisKind, Network, Target};
use crate::shell::cluster::Cluster;
use crate::types::{BrokerEpoch, BrokerId, NodeId, PartitionId};

/// Chance that an `isolate` cuts off the (active) controller rather than a broker.
const ISOLATE_CONTROLLER: f64 = 0.25;
/// With a controller quorum, the share of crashes, power losses and pauses that hit a
/// controller.
const CONTROLLER_SHARE: f64 = 0.3;
/// A packet-loss burst drops this many percent of messages, drawn uniformly.
const LOSS_PERCENT: std::ops::RangeInclusive<u32> = 5..=30;
/// Chance that a `disk_wipe` hits a follower a leader is asking the controller to add to
/// the ISR, when there is one (KIP-903's window), rather than a broker drawn as usual.
const WIPE_JOINING: f64 = 0.5;
/// Chance that a power loss drawn on the active controller waits for its next fsync of
/// the metadata log (a machine that loses power while its disk writes), for as long as a
/// fault would last, rather than striking at once.
const FSYNC_AIM: f64 = 0.5;
/// A latency spell's slowest message takes this many ms, drawn uniformly.
const SLOW_MAX_MS: std::ops::RangeInclusive<u64> = 20..=200;

/// Whether a node is running: neither crashed, powered off nor paused.
pub(super) fn is_up(cluster: &Cluster, node: NodeId) -> bool {
    !cluster.is_down(node) && !cluster.is_paused(node)
}

/// What a fault's start may draw from and act through.
pub(super) struct Draw<'a, R: Rng> {
    /// The scenario's normal network.
    pub network: &'a Network,
    /// The run's nemesis profile.
    pub profile: &'a Profile,
    /// The nemesis' own stream.
    pub rng: &'a mut R,
    /// Where actions are applied and kept.
    pub actions: &'a mut Actions,
    /// Whether one more controller of a quorum may be crashed, paused or cut off (under
    /// `max_controllers_down`); always false with a single controller.
    pub controllers_may_go: bool,
}

/// Starts a fault of `kind` and says how to end it (None: nothing to do, e.g. a bounce
/// whose partition has no running leader).
pub(super) fn start<R: Rng>(
    kind: NemesisKind,
    cluster: &mut Cluster,
    draw: Draw<'_, R>,
) -> Option<Fault> {
    let Draw {
        network,
        profile,
        rng,
        actions,
        controllers_may_go,
    } = draw;
    let target_node = |cluster: &Cluster, rng: &mut R| {
        controllers_may_go
            .then(|| target_controller(cluster, rng))
            .flatten()
            .unwrap_or_else(|| target_broker(cluster, profile, rng))
    };
    Some(match kind {
        NemesisKind::Crash | NemesisKind::Restart => {
            let (broker, target) = target_node(cluster, rng);
            actions.apply(cluster, FaultAction::Crash(target));
            Fault::Down(broker)
        }
        NemesisKind::BounceLeader => {
            let partition = random_partition(cluster, rng);
            let now = crate::shell::now();
            return bounce(cluster, partition, BOUNCES_MAX - 1, now, actions);
        }
        NemesisKind::PowerLoss => {
            let (node, target) = target_node(cluster, rng);
            if target == Target::Controller && rng.gen_bool(FSYNC_AIM) {
                return Some(Fault::AwaitFsync {
                    until: crate::shell::now().plus_ms(watch_ms(profile, rng)),
                    seen: false,
                });
            }
            actions.apply(cluster, FaultAction::PowerLoss(target));
            Fault::Down(node)
        }
        NemesisKind::PowerLossAll => return power_loss_all(cluster, rng, actions),
        NemesisKind::DiskWipe => {
            // The broker is back at once; it counts as out until it is in sync again.
            let joining = joining_follower(cluster, rng).filter(|n| may_wipe(cluster, *n));
            let node = match joining.filter(|_| rng.gen_bool(WIPE_JOINING)) {
                Some(node) => node,
                None => {
                    let (drawn, _) = target_broker(cluster, profile, rng);
                    let pool: Vec<NodeId> = (cluster.layout().brokers.iter())
                        .map(|b| NodeId::Broker(*b))
                        .filter(|n| may_wipe(cluster, *n))
                        .collect();
                    if pool.contains(&drawn) {
                        drawn
                    } else if pool.is_empty() {
                        return None;
                    } else {
                        pool[rng.gen_range(0..pool.len())]
                    }
                }
            };
            let epoch = broker_epoch(cluster, node);
            actions.apply(cluster, FaultAction::DiskWipe(node_target(node)));
            Fault::Rebuilding { node, epoch }
        }
        NemesisKind::Pause => {
            let (broker, target) = target_node(cluster, rng);
            actions.apply(cluster, FaultAction::Pause(target));
            Fault::Paused(broker)
        }
        NemesisKind::Isolate => {
            let controller_may_go = controllers_may_go || !cluster.layout().has_quorum();
            let target = if controller_may_go && rng.gen_bool(ISOLATE_CONTROLLER) {
                Target::Controller
            } else {
                target_broker(cluster, profile, rng).1
            };
            actions.apply(cluster, FaultAction::Isolate(target));
            Fault::Cut
        }
        NemesisKind::Partition => {
            let groups = partition_shapes::draw(cluster, rng);
            let groups = groups.iter().map(|g| nodes_target(g)).collect();
            actions.apply(cluster, FaultAction::Partition(groups));
            Fault::Cut
        }
        NemesisKind::PacketLoss => {
            let rate = f64::from(rng.gen_range(LOSS_PERCENT)) / 100.0;
            actions.apply(cluster, FaultAction::PacketLoss(rate));
            Fault::Lossy
        }
        NemesisKind::Latency => {
            let (low, high) = slow_range(network.latency_ms, rng);
            actions.apply(cluster, FaultAction::Latency(low, high));
            Fault::Slow
        }
        NemesisKind::CrashDuringIsrChange => Fault::AwaitIsrChange {
            until: crate::shell::now().plus_ms(watch_ms(profile, rng)),
        },
    })
}

/// How long a watch lasts: as long as a fault would, uniform in `[I/2, 2I]` ms.
fn watch_ms(profile: &Profile, rng: &mut impl Rng) -> u64 {
    let interval = profile.interval_ms;
    let low = (interval / 2).max(1);
    rng.gen_range(low..=(2 * interval).max(low))
}

/// The active controller, if it runs and is in an fsync of its metadata log with entries
/// not yet durable.
pub(super) fn active_in_fsync(cluster: &Cluster) -> Option<NodeId> {
    let active = cluster.active_controller();
    (is_up(cluster, active) && cluster.metadata_unflushed(active) > 0).then_some(active)
}

/// Powers off every running replica of a random partition, in a drawn order (the order
/// they come back in).
fn power_loss_all(
    cluster: &mut Cluster,
    rng: &mut impl Rng,
    actions: &mut Actions,
) -> Option<Fault> {
    let partition = random_partition(cluster, rng);
    let mut replicas: Vec<NodeId> = cluster
        .layout()
        .partition(partition)
        .replicas
        .iter()
        .map(|b| NodeId::Broker(*b))
        .filter(|n| is_up(cluster, *n))
        .collect();
    if replicas.is_empty() {
        return None;
    }
    for i in (1..replicas.len()).rev() {
        replicas.swap(i, rng.gen_range(0..=i)); // the boot order
    }
    actions.apply(cluster, FaultAction::PowerLoss(nodes_target(&replicas)));
    Some(Fault::Rejoin {
        nodes: replicas,
        partition,
        since: crate::shell::now(),
        epoch: None,
    })
}

/// One node's target, or a list of them.
fn nodes_target(nodes: &[NodeId]) -> Target {
    match nodes {
        [one] => node_target(*one),
        many => Target::List(many.iter().map(|n| node_target(*n)).collect()),
    }
}

/// Crashes a running leader whose ISR change the controller has applied but the leader
/// has not yet heard of (its proposal is pending; the controller, in the same leader
/// epoch and past the partition epoch the proposal was based on, holds the proposed ISR),
/// one drawn among them, and records it; gives it and the partition, or None when no
/// leader is in that window.
pub(super) fn crash_during_isr_change(
    cluster: &mut Cluster,
    rng: &mut impl Rng,
    actions: &mut Actions,
) -> Option<(NodeId, PartitionId)> {
    let controller = cluster.controller_state()?;
    let mut changing: Vec<(BrokerId, PartitionId)> = Vec::new();
    for partition in cluster.layout().partition_ids() {
        let registration = &controller.partitions[usize::from(partition.0)];
        let Some(leader) = registration.leader else {
            continue;
        };
        let mut committed = registration.isr.clone();
        committed.sort();
        let applied = cluster.with_broker(leader, |broker| {
            let Some(replica) = broker.replicas.get(&partition) else {
                return false;
            };
            replica.pending_alter().is_some_and(|p| {
                let mut proposed = p.members();
                proposed.sort();
                replica.leader_epoch == registration.leader_epoch
                    && registration.partition_epoch > p.based_on
                    && proposed == committed
            })
        });
        if applied == Some(true) && is_up(cluster, NodeId::Broker(leader)) {
            changing.push((leader, partition));
        }
    }
    if changing.is_empty() {
        return None;
    }
    let (broker, partition) = changing[rng.gen_range(0..changing.len())];
    actions.apply(cluster, FaultAction::Crash(Target::Leader(partition)));
    Some((NodeId::Broker(broker), partition))
}

/// Crashes the current leader of `partition`, if it runs; it restarts when the fault
/// ends, and `left` more leaders may follow.
pub(super) fn bounce(
    cluster: &mut Cluster,
    partition: PartitionId,
    left: u8,
    since: crate::types::SimTime,
    actions: &mut Actions,
) -> Option<Fault> {
    let node = crash_leader(cluster, partition, actions)?;
    Some(Fault::Bounce {
        nodes: vec![node],
        partition,
        left,
        since,
    })
}

/// Crashes the current leader of `partition`, if it runs.
pub(super) fn crash_leader(
    cluster: &mut Cluster,
    partition: PartitionId,
    actions: &mut Actions,
) -> Option<NodeId> {
    let node = NodeId::Broker(faults::current_leader(cluster, partition));
    if !is_up(cluster, node) {
        return None;
    }
    actions.apply(cluster, FaultAction::Crash(Target::Leader(partition)));
    Some(node)
}

/// Whether `node` may have its disk wiped: it runs, and every partition it hosts keeps
/// another in-sync replica in the controller's ISR that runs under the registration the
/// controller holds (a broker restarted but not yet registered again may be fenced out
/// of the ISR and the ELR any moment). Wiping the last in-sync copy destroys
/// acknowledged records by definition, as taking every replica down would; like
/// `max_down`, the nemesis leaves one.
pub(super) fn may_wipe(cluster: &Cluster, node: NodeId) -> bool {
    let NodeId::Broker(broker) = node else {
        return false;
    };
    let Some(state) = cluster.controller_state() else {
        return false;
    };
    is_up(cluster, node)
        && cluster.layout().hosted_by(broker).into_iter().all(|p| {
            let isr = &state.partitions[usize::from(p.0)].isr;
            isr.iter()
                .any(|b| *b != broker && registered_up(cluster, *b))
        })
}

/// Whether `broker` runs, and runs under the broker epoch the controller registered.
fn registered_up(cluster: &Cluster, broker: BrokerId) -> bool {
    let node = NodeId::Broker(broker);
    let own = cluster.with_broker(broker, |b| b.broker_epoch).flatten();
    is_up(cluster, node) && own.is_some() && own == broker_epoch(cluster, node)
}

/// The broker epoch the controller has registered for `node` (None while it knows none).
pub(super) fn broker_epoch(cluster: &Cluster, node: NodeId) -> Option<BrokerEpoch> {
    let NodeId::Broker(broker) = node else {
        return None;
    };
    let state = cluster.controller_state()?;
    state.brokers.get(&broker).map(|r| r.broker_epoch)
}

/// Whether a broker wiped while registered with `wiped_epoch` is in sync again: the
/// controller has its new registration, and it is in the ISR of every partition it hosts.
pub(super) fn back_in_sync(
    cluster: &Cluster,
    node: NodeId,
    wiped_epoch: Option<BrokerEpoch>,
) -> bool {
    let NodeId::Broker(broker) = node else {
        return true;
    };
    let Some(state) = cluster.controller_state() else {
        return false;
    };
    let registered = broker_epoch(cluster, node);
    registered.is_some()
        && registered != wiped_epoch
        && (cluster.layout().hosted_by(broker).into_iter())
            .all(|p| state.partitions[usize::from(p.0)].isr.contains(&broker))
}

/// A running follower that a running leader has proposed for the ISR, the controller not
/// having answered yet, one drawn among them; None when no join is pending.
fn joining_follower(cluster: &Cluster, rng: &mut impl Rng) -> Option<NodeId> {
    let mut joining: Vec<NodeId> = Vec::new();
    for partition in cluster.layout().partition_ids() {
        let leader = faults::current_leader(cluster, partition);
        if !is_up(cluster, NodeId::Broker(leader)) {
            continue;
        }
        let proposed = cluster.with_broker(leader, |broker| {
            let replica = broker.replicas.get(&partition)?;
            let pending = replica.pending_alter()?;
            let new: Vec<BrokerId> = pending
                .members()
                .into_iter()
                .filter(|b| !replica.isr.contains(b))
                .collect();
            Some(new)
        });
        let nodes = proposed.flatten().unwrap_or_default().into_iter();
        joining.extend(nodes.map(NodeId::Broker).filter(|n| is_up(cluster, *n)));
    }
    joining.dedup();
    (!joining.is_empty()).then(|| joining[rng.gen_range(0..joining.len())])
}

/// A running broker chosen as the profile biases: a random partition's current leader
/// (named by role), one of its other replicas, or any running broker.
fn target_broker(cluster: &Cluster, profile: &Profile, rng: &mut impl Rng) -> (NodeId, Target) {
    let roll: f64 = rng.r#gen();
    let aim_leader = roll < profile.leader_bias;
    let aim_follower = !aim_leader && rng.gen_bool(profile.follower_bias.clamp(0.0, 1.0));
    if aim_leader || aim_follower {
        let partition = random_partition(cluster, rng);
        let leader = faults::current_leader(cluster, partition);
        let pool: Vec<NodeId> = cluster
            .layout()
            .partition(partition)
            .replicas
            .iter()
            .filter(|b| (**b == leader) == aim_leader)
            .map(|b| NodeId::Broker(*b))
            .filter(|n| is_up(cluster, *n))
            .collect();
        if !pool.is_empty() {
            let node = pool[rng.gen_range(0..pool.len())];
            let target = if aim_leader {
                Target::Leader(partition)
            } else {
                node_target(node)
            };
            return (node, target);
        }
    }
    let node = running_broker(cluster, rng);
    (node, node_target(node))
}

/// With a quorum, a share [`CONTROLLER_SHARE`] of crashes, power losses and pauses hit a
/// running controller: the active one (named by role) half the time, else any. None: the
/// fault hits a broker.
fn target_controller(cluster: &Cluster, rng: &mut impl Rng) -> Option<(NodeId, Target)> {
    if !rng.gen_bool(CONTROLLER_SHARE) {
        return None;
    }
    let running: Vec<NodeId> = cluster
        .layout()
        .controllers
        .iter()
        .copied()
        .filter(|c| is_up(cluster, *c))
        .collect();
    if running.is_empty() {
        return None;
    }
    let active = cluster.active_controller();
    if rng.gen_bool(0.5) && running.contains(&active) {
        return Some((active, Target::Controller));
    }
    let node = running[rng.gen_range(0..running.len())];
    Some((node, node_target(node)))
}

/// A slower latency range than `normal`: the maximum drawn from [`SLOW_MAX_MS`] (raised
/// past the normal maximum if it is not above it), the minimum between the normal minimum
/// and half the new maximum.
fn slow_range((low, high): (u64, u64), rng: &mut impl Rng) -> (u64, u64) {
    let mut slow_high = rng.gen_range(SLOW_MAX_MS);
    if slow_high <= high {
        slow_high += high;
    }
    let slow_low = rng.gen_range(low..=low.max(slow_high / 2));
    (slow_low, slow_high)
}

/// A random running broker, or any broker if none runs.
fn running_broker(cluster: &Cluster, rng: &mut impl Rng) -> NodeId {
    let all: Vec<BrokerId> = cluster.layout().brokers.clone();
    let up: Vec<BrokerId> = all
        .iter()
        .copied()
        .filter(|b| is_up(cluster, NodeId::Broker(*b)))
        .collect();
    let pool = if up.is_empty() { all } else { up };
    NodeId::Broker(pool[rng.gen_range(0..pool.len())])
}
