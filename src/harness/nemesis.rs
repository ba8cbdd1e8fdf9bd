//! The random nemesis: every `interval_ms` it either ends its oldest active fault or
//! starts a new one of the configured kinds, never taking more than `max_down` brokers
//! out at once. Every choice comes from the run's seeded RNG.

use madsim::rand::Rng;

use crate::harness::faults;
use crate::history::EventKind;
use crate::scenario::{NemesisKind, NemesisSpec};
use crate::shell::cluster::Cluster;
use crate::types::{BrokerId, NodeId};

/// A fault the nemesis started and will end.
#[derive(Clone, Debug, PartialEq)]
enum Active {
    Down(NodeId),
    Paused(NodeId),
    Cut,
    Lossy,
}

/// The nemesis' memory between steps.
#[derive(Debug, Default)]
pub struct Nemesis {
    active: Vec<Active>,
}

impl Nemesis {
    /// One nemesis step.
    pub fn step(&mut self, cluster: &mut Cluster, spec: &NemesisSpec) {
        let mut rng = madsim::rand::thread_rng();
        let capacity = usize::from(spec.max_down.max(1));
        let end_one =
            !self.active.is_empty() && (self.active.len() >= capacity || rng.gen_bool(0.5));
        if end_one {
            let fault = self.active.remove(0);
            self.end(cluster, fault);
            return;
        }
        if spec.kinds.is_empty() {
            return;
        }
        let kind = spec.kinds[rng.gen_range(0..spec.kinds.len())];
        let brokers: Vec<BrokerId> = cluster
            .layout()
            .brokers
            .iter()
            .copied()
            .filter(|b| {
                !cluster.is_down(NodeId::Broker(*b)) && !cluster.is_paused(NodeId::Broker(*b))
            })
            .collect();
        if brokers.is_empty() {
            return;
        }
        let broker = NodeId::Broker(brokers[rng.gen_range(0..brokers.len())]);
        let started = match kind {
            NemesisKind::Crash => {
                fault(cluster, &format!("crash {broker}"), |c| c.crash(broker));
                Active::Down(broker)
            }
            NemesisKind::PowerLoss => {
                cluster.record(EventKind::Fault {
                    description: format!("power_loss {broker}"),
                });
                faults::power_loss(cluster, broker);
                Active::Down(broker)
            }
            NemesisKind::Restart => {
                fault(cluster, &format!("crash {broker}"), |c| c.crash(broker));
                Active::Down(broker) // restarted by the next step
            }
            NemesisKind::Pause => {
                fault(cluster, &format!("pause {broker}"), |c| c.pause(broker));
                Active::Paused(broker)
            }
            NemesisKind::Isolate => {
                let target = if rng.gen_bool(0.25) {
                    NodeId::Controller
                } else {
                    broker
                };
                fault(cluster, &format!("isolate {target}"), |c| c.isolate(target));
                Active::Cut
            }
            NemesisKind::Partition => {
                let mut nodes: Vec<NodeId> = cluster
                    .layout()
                    .brokers
                    .iter()
                    .map(|b| NodeId::Broker(*b))
                    .collect();
                nodes.push(NodeId::Controller);
                let mut left = Vec::new();
                let mut right = Vec::new();
                for n in nodes {
                    if rng.gen_bool(0.5) {
                        left.push(n)
                    } else {
                        right.push(n)
                    }
                }
                let text = format!(
                    "partition [{}] | [{}]",
                    faults::names(&left).trim_matches(['[', ']']),
                    faults::names(&right).trim_matches(['[', ']'])
                );
                fault(cluster, &text, |c| {
                    c.partition(&[left.clone(), right.clone()])
                });
                Active::Cut
            }
            NemesisKind::PacketLoss => {
                let rate = f64::from(rng.gen_range(5u32..=20)) / 100.0;
                fault(cluster, &format!("packet_loss {rate}"), |c| {
                    c.set_packet_loss(rate)
                });
                Active::Lossy
            }
        };
        self.active.push(started);
    }

    fn end(&mut self, cluster: &mut Cluster, fault_to_end: Active) {
        match fault_to_end {
            Active::Down(n) => fault(cluster, &format!("restart {n}"), |c| c.restart(n)),
            Active::Paused(n) => fault(cluster, &format!("resume {n}"), |c| c.resume(n)),
            Active::Cut => fault(cluster, "heal", |c| c.heal()),
            Active::Lossy => fault(cluster, "packet_loss 0", |c| c.set_packet_loss(0.0)),
        }
    }
}

fn fault(cluster: &mut Cluster, description: &str, f: impl FnOnce(&mut Cluster)) {
    cluster.record(EventKind::Fault {
        description: description.to_string(),
    });
    f(cluster);
}
