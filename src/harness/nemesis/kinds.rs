//! What starting each nemesis kind does to the cluster, with its target and severity
//! drawn from the seeded RNG. The caller has checked the kind may start. Broker faults
//! aim at leaders and followers as often as the run's [`Profile`] says.

use madsim::rand::Rng;

use super::partition_shapes::{self, random_partition};
use super::profile::Profile;
use super::{BOUNCES_MAX, Fault};
use crate::harness::faults;
use crate::history::EventKind;
use crate::scenario::{NemesisKind, Network};
use crate::shell::cluster::Cluster;
use crate::types::{BrokerId, NodeId, PartitionId};

/// Chance that an `isolate` cuts off the controller rather than a broker.
const ISOLATE_CONTROLLER: f64 = 0.25;
/// A packet-loss burst drops this many percent of messages, drawn uniformly.
const LOSS_PERCENT: std::ops::RangeInclusive<u32> = 5..=30;
/// A latency spell's slowest message takes this many ms, drawn uniformly.
const SLOW_MAX_MS: std::ops::RangeInclusive<u64> = 20..=200;

/// Whether a node is running: neither crashed, powered off nor paused.
pub(super) fn is_up(cluster: &Cluster, node: NodeId) -> bool {
    !cluster.is_down(node) && !cluster.is_paused(node)
}

/// Starts a fault of `kind`, records it, and says how to end it (None: nothing to do,
/// e.g. a bounce whose partition has no running leader).
pub(super) fn start(
    kind: NemesisKind,
    cluster: &mut Cluster,
    network: &Network,
    profile: &Profile,
    rng: &mut impl Rng,
) -> Option<Fault> {
    Some(match kind {
        NemesisKind::Crash | NemesisKind::Restart => {
            let broker = target_broker(cluster, profile, rng);
            crash(cluster, broker);
            Fault::Down(broker)
        }
        NemesisKind::BounceLeader => {
            let partition = random_partition(cluster, rng);
            let now = crate::shell::now();
            return bounce(cluster, partition, BOUNCES_MAX - 1, now);
        }
        NemesisKind::PowerLoss => {
            let broker = target_broker(cluster, profile, rng);
            record(cluster, format!("power_loss {broker}"));
            faults::power_loss(cluster, broker);
            Fault::Down(broker)
        }
        NemesisKind::PowerLossAll => {
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
            record(cluster, format!("power_loss {}", faults::names(&replicas)));
            for n in &replicas {
                faults::power_loss(cluster, *n);
            }
            Fault::Rejoin {
                nodes: replicas,
                partition,
                since: crate::shell::now(),
                epoch: None,
            }
        }
        NemesisKind::Pause => {
            let broker = target_broker(cluster, profile, rng);
            record(cluster, format!("pause {broker}"));
            cluster.pause(broker);
            Fault::Paused(broker)
        }
        NemesisKind::Isolate => {
            let target = if rng.gen_bool(ISOLATE_CONTROLLER) {
                NodeId::Controller
            } else {
                target_broker(cluster, profile, rng)
            };
            record(cluster, format!("isolate {target}"));
            cluster.isolate(target);
            Fault::Cut
        }
        NemesisKind::Partition => {
            let groups = partition_shapes::draw(cluster, rng);
            record(cluster, faults::describe_partition(&groups));
            cluster.partition(&groups);
            Fault::Cut
        }
        NemesisKind::PacketLoss => {
            let rate = f64::from(rng.gen_range(LOSS_PERCENT)) / 100.0;
            record(cluster, format!("packet_loss {rate}"));
            cluster.set_packet_loss(rate);
            Fault::Lossy
        }
        NemesisKind::Latency => {
            let (low, high) = slow_range(network.latency_ms, rng);
            record(cluster, format!("latency [{low}, {high}]"));
            cluster.set_latency_ms(low, high);
            Fault::Slow
        }
        NemesisKind::CrashDuringIsrChange => {
            let interval = profile.interval_ms;
            let low = (interval / 2).max(1);
            let watch_ms = rng.gen_range(low..=(2 * interval).max(low));
            Fault::AwaitIsrChange {
                until: crate::shell::now().plus_ms(watch_ms),
            }
        }
    })
}

/// Crashes a running leader whose ISR change the controller has applied but the leader
/// has not yet heard of (its proposal is pending; the controller, in the same leader
/// epoch and past the partition epoch the proposal was based on, holds the proposed ISR),
/// one drawn among them, and records it; gives it and the partition, or None when no
/// leader is in that window.
pub(super) fn crash_during_isr_change(
    cluster: &mut Cluster,
    rng: &mut impl Rng,
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
                let mut proposed = p.isr.clone();
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
    let node = NodeId::Broker(broker);
    crash(cluster, node);
    Some((node, partition))
}

/// Crashes the current leader of `partition`, if it runs; it restarts when the fault
/// ends, and `left` more leaders may follow.
pub(super) fn bounce(
    cluster: &mut Cluster,
    partition: PartitionId,
    left: u8,
    since: crate::types::SimTime,
) -> Option<Fault> {
    let node = crash_leader(cluster, partition)?;
    Some(Fault::Bounce {
        nodes: vec![node],
        partition,
        left,
        since,
    })
}

/// Crashes the current leader of `partition` and records it, if it runs.
pub(super) fn crash_leader(cluster: &mut Cluster, partition: PartitionId) -> Option<NodeId> {
    let node = NodeId::Broker(faults::current_leader(cluster, partition));
    if !is_up(cluster, node) {
        return None;
    }
    crash(cluster, node);
    Some(node)
}

/// A running broker chosen as the profile biases: a random partition's current leader,
/// one of its other replicas, or any running broker.
fn target_broker(cluster: &Cluster, profile: &Profile, rng: &mut impl Rng) -> NodeId {
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
            return pool[rng.gen_range(0..pool.len())];
        }
    }
    running_broker(cluster, rng)
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

/// Crashes `node` and records it.
fn crash(cluster: &mut Cluster, node: NodeId) {
    record(cluster, format!("crash {node}"));
    cluster.crash(node);
}

fn record(cluster: &Cluster, description: String) {
    cluster.record(EventKind::Fault { description });
}
