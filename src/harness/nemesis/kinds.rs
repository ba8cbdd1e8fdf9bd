//! What starting each nemesis kind does to the cluster, with its target and severity
//! drawn from the seeded RNG. The caller has checked the kind may start.

use madsim::rand::Rng;

use super::Fault;
use super::partition_shapes;
use crate::harness::faults;
use crate::history::EventKind;
use crate::scenario::{NemesisKind, Network};
use crate::shell::cluster::Cluster;
use crate::types::{BrokerId, NodeId};

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

/// Starts a fault of `kind`, records it, and says how to end it.
pub(super) fn start(
    kind: NemesisKind,
    cluster: &mut Cluster,
    network: &Network,
    rng: &mut impl Rng,
) -> Fault {
    match kind {
        NemesisKind::Crash | NemesisKind::Restart => {
            let broker = running_broker(cluster, rng);
            record(cluster, format!("crash {broker}"));
            cluster.crash(broker);
            Fault::Down(broker)
        }
        NemesisKind::PowerLoss => {
            let broker = running_broker(cluster, rng);
            record(cluster, format!("power_loss {broker}"));
            faults::power_loss(cluster, broker);
            Fault::Down(broker)
        }
        NemesisKind::Pause => {
            let broker = running_broker(cluster, rng);
            record(cluster, format!("pause {broker}"));
            cluster.pause(broker);
            Fault::Paused(broker)
        }
        NemesisKind::Isolate => {
            let target = if rng.gen_bool(ISOLATE_CONTROLLER) {
                NodeId::Controller
            } else {
                running_broker(cluster, rng)
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
    }
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

fn record(cluster: &Cluster, description: String) {
    cluster.record(EventKind::Fault { description });
}
