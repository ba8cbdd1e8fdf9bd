//! The random nemesis: at jittered times it starts a fault of one of the configured kinds,
//! and ends each fault after its own drawn duration. Every choice (when, which kind, which
//! node, which partition shape, how long, how bad) comes from the run's seeded RNG.
//!
//! With `buggify` (the default) each seed first draws a [`profile::Profile`]: which kinds
//! it uses, how often broker faults aim at leaders or followers, and its pace.
//!
//! Timing, for the profile's interval I: the next action comes after a uniform draw in
//! `[I/2, 3I/2]` ms; a started fault lasts a uniform draw in `[I/2, 2I]` ms, except a
//! `restart` and a `bounce_leader`, a crash followed by a restart after `1..=I/4` ms.
//! A bounced leader stays down until the controller moved leadership (at most
//! [`BOUNCE_WAIT_INTERVALS`]). The bounce then goes on with chance [`BOUNCE_AGAIN`], up to
//! [`BOUNCES_MAX`] leaders: with the profile's `pile_up` chance (and room under
//! `max_down`) it crashes the new leader while the earlier ones stay down, otherwise it
//! restarts the crashed leader and crashes the new one. Brokers that are down together
//! (piled-up leaders, or every replica after `power_loss_all`) return oldest first, each
//! later one once the controller elected a running leader after the previous restart
//! (at most [`REJOIN_WAIT_INTERVALS`]), then after `1..=I/4` ms.
//!
//! Bounds: one bounce chain (or one-by-one return) at a time; at most `max_down` brokers
//! are down (crashed, powered off or paused) at once,
//! counting faults from the scenario's fault list too, except that `power_loss_all`
//! (only when no broker is down) takes every replica of one partition down together; at
//! most one network fault
//! (partition or isolation; its end heals every link), one packet-loss burst and one
//! latency spell at a time. An action whose drawn kind cannot start picks among the kinds
//! that can; if none can, it starts nothing.
//!
//! `crash_during_isr_change` watches, every [`ISR_WATCH_POLL_MS`] for a fault's duration,
//! for a leader whose proposed ISR the controller already stored while the leader still
//! waits for the answer, crashes it (when a broker may go down and no bounce chain runs)
//! and goes on as a one-leader bounce.
//!
//! The harness wakes the nemesis at [`Nemesis::next_wakeup`] until `workload.duration_ms`;
//! faults still active then are left for the finale, which heals and restarts everything,
//! except the latency spell, which [`Nemesis::finish`] ends (the finale does not know the
//! scenario's latency).

mod kinds;
pub mod partition_shapes;
pub mod profile;
#[cfg(test)]
mod tests;

use madsim::rand::Rng;

use crate::history::EventKind;
use crate::scenario::{NemesisKind, NemesisSpec, Network};
use crate::shell::cluster::Cluster;
use crate::types::{LeaderEpoch, NodeId, PartitionId, SimTime};
use profile::Profile;

/// Chance that a `bounce_leader` also bounces the next leader of its partition.
const BOUNCE_AGAIN: f64 = 0.6;
/// Most leaders one `bounce_leader` crashes in a row.
const BOUNCES_MAX: u8 = 3;
/// A bounced leader stays down until the controller moved leadership, at most this many
/// intervals.
const BOUNCE_WAIT_INTERVALS: u64 = 4;
/// Brokers that return one by one wait for the partition to have a running leader again,
/// at most this many intervals.
const REJOIN_WAIT_INTERVALS: u64 = 1;
/// How often `crash_during_isr_change` looks for a leader with an ISR change pending,
/// in ms: a proposal is answered within one round trip to the controller (2 to 20 ms
/// with the default latency).
const ISR_WATCH_POLL_MS: u64 = 1;

/// Whether the controller, as it stands now, has `broker` leading `partition`.
fn still_leads(cluster: &Cluster, partition: PartitionId, broker: crate::types::BrokerId) -> bool {
    cluster
        .controller_state()
        .is_some_and(|s| s.partitions[usize::from(partition.0)].leader == Some(broker))
}

/// The controller's current leader epoch of `partition` (None while it is down).
fn leader_epoch(cluster: &Cluster, partition: PartitionId) -> Option<LeaderEpoch> {
    cluster
        .controller_state()
        .map(|s| s.partitions[usize::from(partition.0)].leader_epoch)
}

/// Whether the controller elected a running leader of `partition` after `epoch`.
fn elected_since(cluster: &Cluster, partition: PartitionId, epoch: Option<LeaderEpoch>) -> bool {
    cluster.controller_state().is_some_and(|s| {
        let p = &s.partitions[usize::from(partition.0)];
        Some(p.leader_epoch) > epoch
            && p.leader
                .is_some_and(|b| kinds::is_up(cluster, NodeId::Broker(b)))
    })
}

/// How many brokers are crashed, powered off or paused.
fn brokers_out(cluster: &Cluster) -> usize {
    let brokers = &cluster.layout().brokers;
    brokers
        .iter()
        .filter(|b| !kinds::is_up(cluster, NodeId::Broker(**b)))
        .count()
}

/// Restarts `node` and records it.
fn restart(cluster: &mut Cluster, node: NodeId) {
    cluster.restart(node);
    cluster.record(EventKind::Fault {
        description: format!("restart {node}"),
    });
}

/// A fault the nemesis started and will end.
#[derive(Clone, Debug, PartialEq)]
enum Fault {
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
    /// A partition or isolation; the end heals every link.
    Cut,
    /// A packet-loss burst; the end restores the scenario's loss rate.
    Lossy,
    /// A latency spell; the end restores the scenario's latency range.
    Slow,
    /// Watching, every [`ISR_WATCH_POLL_MS`] until `until`, for a leader with an ISR
    /// change pending, to crash it (it then becomes a one-leader [`Fault::Bounce`]).
    AwaitIsrChange { until: SimTime },
}

impl Fault {
    /// Whether the fault should wait a little longer before it ends: a bounce until
    /// leadership moved, a rejoin until the partition has a running leader, each within
    /// its bound of waiting.
    fn keeps_waiting(&self, cluster: &Cluster, now: SimTime, interval_ms: u64) -> bool {
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
            _ => false,
        }
    }
}

/// A started fault and when it ends.
#[derive(Clone, Debug, PartialEq)]
struct Active {
    fault: Fault,
    ends_at: SimTime,
}

/// The nemesis' schedule and the faults it has running.
#[derive(Debug)]
pub struct Nemesis {
    spec: NemesisSpec,
    profile: Profile,
    network: Network,
    next_action: SimTime,
    /// In start order.
    active: Vec<Active>,
}

impl Nemesis {
    /// A nemesis for `spec` over a network whose normal behaviour is `network` (what
    /// packet-loss bursts and latency spells go back to); its first action is drawn
    /// from `start`. Must run inside the madsim runtime.
    pub fn new(spec: &NemesisSpec, network: &Network, start: SimTime) -> Nemesis {
        let profile = Profile::draw(spec, &mut madsim::rand::thread_rng());
        let mut nemesis = Nemesis {
            spec: spec.clone(),
            profile,
            network: network.clone(),
            next_action: start,
            active: Vec::new(),
        };
        nemesis.next_action = start.plus_ms(nemesis.action_gap_ms());
        nemesis
    }

    /// When the nemesis next has something to do: its next action or the earliest end
    /// of an active fault.
    pub fn next_wakeup(&self) -> Option<SimTime> {
        let ends = self.active.iter().map(|a| a.ends_at);
        ends.chain([self.next_action]).min()
    }

    /// Ends every fault due by `now` (earliest end first; equal ends in start order),
    /// then, if the next action is due, maybe starts one fault and draws the next action.
    pub fn step(&mut self, now: SimTime, cluster: &mut Cluster) {
        while let Some(due) = self
            .active
            .iter()
            .enumerate()
            .filter(|(_, a)| a.ends_at <= now)
            .min_by_key(|(i, a)| (a.ends_at, *i))
            .map(|(i, _)| i)
        {
            let ended = self.active.remove(due);
            if ended
                .fault
                .keeps_waiting(cluster, now, self.profile.interval_ms)
            {
                let ends_at = now.plus_ms(self.quick_ms());
                self.active.push(Active { ends_at, ..ended });
                continue;
            }
            if let Some(next) = self.end(cluster, ended.fault) {
                let wait_ms = match next {
                    Fault::AwaitIsrChange { .. } => ISR_WATCH_POLL_MS,
                    _ => self.quick_ms(),
                };
                self.active.push(Active {
                    fault: next,
                    ends_at: now.plus_ms(wait_ms),
                });
            }
        }
        if self.next_action <= now {
            if let Some((fault, duration_ms)) = self.start(cluster) {
                let ends_at = now.plus_ms(duration_ms);
                self.active.push(Active { fault, ends_at });
            }
            self.next_action = now.plus_ms(self.action_gap_ms());
        }
    }

    /// Called at the end of the workload: restores the scenario's latency if a latency
    /// spell is still on. Every other fault is left for the finale.
    pub fn finish(&mut self, cluster: &mut Cluster) {
        if let Some(i) = self.active.iter().position(|a| a.fault == Fault::Slow) {
            let spell = self.active.remove(i);
            self.end(cluster, spell.fault);
        }
    }

    /// Draws a kind among those that can start now and starts it; gives the fault and
    /// its duration in ms.
    fn start(&mut self, cluster: &mut Cluster) -> Option<(Fault, u64)> {
        let startable: Vec<NemesisKind> = self
            .profile
            .kinds
            .iter()
            .copied()
            .filter(|k| self.can_start(*k, cluster))
            .collect();
        if startable.is_empty() {
            return None;
        }
        let mut rng = madsim::rand::thread_rng();
        let kind = startable[rng.gen_range(0..startable.len())];
        let fault = kinds::start(kind, cluster, &self.network, &self.profile, &mut rng)?;
        let interval = self.profile.interval_ms;
        let duration_ms = if kind == NemesisKind::CrashDuringIsrChange {
            ISR_WATCH_POLL_MS
        } else if matches!(kind, NemesisKind::Restart | NemesisKind::BounceLeader) {
            self.quick_ms()
        } else {
            let low = (interval / 2).max(1);
            rng.gen_range(low..=(2 * interval).max(low))
        };
        Some((fault, duration_ms))
    }

    /// Whether a fault of `kind` may start now without breaking a bound.
    fn can_start(&self, kind: NemesisKind, cluster: &Cluster) -> bool {
        let running = |f: &Fault| self.active.iter().any(|a| a.fault == *f);
        let watching = self
            .active
            .iter()
            .any(|a| matches!(a.fault, Fault::AwaitIsrChange { .. }));
        match kind {
            NemesisKind::Crash
            | NemesisKind::PowerLoss
            | NemesisKind::Restart
            | NemesisKind::Pause => self.may_take_one_down(cluster),
            // One chain of bounced leaders (and returns) at a time; a watcher becomes one.
            NemesisKind::BounceLeader | NemesisKind::CrashDuringIsrChange => {
                !watching && !self.chained() && self.may_take_one_down(cluster)
            }
            NemesisKind::PowerLossAll => brokers_out(cluster) == 0,
            NemesisKind::Partition | NemesisKind::Isolate => !running(&Fault::Cut),
            NemesisKind::PacketLoss => !running(&Fault::Lossy),
            NemesisKind::Latency => !running(&Fault::Slow),
        }
    }

    /// Ends one fault and records how; a bounce may hand over to the next one.
    fn end(&mut self, cluster: &mut Cluster, fault: Fault) -> Option<Fault> {
        let description = match fault {
            Fault::Down(n) => {
                cluster.restart(n);
                format!("restart {n}")
            }
            Fault::Rejoin {
                mut nodes,
                partition,
                ..
            } => {
                let first = nodes.remove(0);
                restart(cluster, first);
                return (!nodes.is_empty()).then(|| Fault::Rejoin {
                    nodes,
                    partition,
                    since: crate::shell::now(),
                    epoch: leader_epoch(cluster, partition),
                });
            }
            Fault::Bounce {
                nodes,
                partition,
                left,
                ..
            } => return self.bounce_on(cluster, nodes, partition, left),
            Fault::Paused(n) => {
                cluster.resume(n);
                format!("resume {n}")
            }
            Fault::Cut => {
                cluster.heal();
                "heal".to_string()
            }
            Fault::Lossy => {
                let rate = self.network.packet_loss;
                cluster.set_packet_loss(rate);
                format!("packet_loss {rate}")
            }
            Fault::Slow => {
                let (low, high) = self.network.latency_ms;
                cluster.set_latency_ms(low, high);
                format!("latency [{low}, {high}]")
            }
            Fault::AwaitIsrChange { until } => return self.watch_isr_change(cluster, until),
        };
        cluster.record(EventKind::Fault { description });
        None
    }

    /// A bounce whose latest leader lost leadership: maybe crash the next leader too
    /// (a pile-up keeps the earlier ones down), otherwise restart the crashed ones
    /// (oldest first, each later one once the partition has a running leader) and,
    /// after a single crash, maybe bounce the next leader.
    fn bounce_on(
        &mut self,
        cluster: &mut Cluster,
        mut nodes: Vec<NodeId>,
        partition: PartitionId,
        left: u8,
    ) -> Option<Fault> {
        let mut rng = madsim::rand::thread_rng();
        let again = left > 0 && rng.gen_bool(BOUNCE_AGAIN);
        let now = crate::shell::now();
        if again
            && rng.gen_bool(self.profile.pile_up)
            && self.can_start(NemesisKind::BounceLeader, cluster)
            && let Some(node) = kinds::crash_leader(cluster, partition)
        {
            nodes.push(node);
            return Some(Fault::Bounce {
                nodes,
                partition,
                left: left - 1,
                since: now,
            });
        }
        if nodes.len() > 1 {
            return self.end(
                cluster,
                Fault::Rejoin {
                    nodes,
                    partition,
                    since: now,
                    epoch: None,
                },
            );
        }
        restart(cluster, nodes[0]);
        let again = again && self.can_start(NemesisKind::BounceLeader, cluster);
        again
            .then(|| kinds::bounce(cluster, partition, left - 1, now))
            .flatten()
    }

    /// One look of `crash_during_isr_change`: crash a leader whose ISR change is pending
    /// if one is and a broker may go down now (then it returns like a bounced leader),
    /// otherwise watch on until `until`.
    fn watch_isr_change(&mut self, cluster: &mut Cluster, until: SimTime) -> Option<Fault> {
        let now = crate::shell::now();
        if !self.chained() && self.may_take_one_down(cluster) {
            let mut rng = madsim::rand::thread_rng();
            if let Some((node, partition)) = kinds::crash_during_isr_change(cluster, &mut rng) {
                return Some(Fault::Bounce {
                    nodes: vec![node],
                    partition,
                    left: 0,
                    since: now,
                });
            }
        }
        (now < until).then_some(Fault::AwaitIsrChange { until })
    }

    /// Whether a bounce chain (or a one-by-one return) is under way.
    fn chained(&self) -> bool {
        self.active
            .iter()
            .any(|a| matches!(a.fault, Fault::Bounce { .. } | Fault::Rejoin { .. }))
    }

    /// Whether one more broker may go down under `max_down` (and one stays up).
    fn may_take_one_down(&self, cluster: &Cluster) -> bool {
        let out = brokers_out(cluster);
        out < usize::from(self.spec.max_down) && out < cluster.layout().brokers.len()
    }

    /// How long a quick restart waits: uniform in `1..=I/4` ms.
    fn quick_ms(&self) -> u64 {
        let quarter = (self.profile.interval_ms / 4).max(1);
        madsim::rand::thread_rng().gen_range(1..=quarter)
    }

    /// The gap before the next action: uniform in `[I/2, 3I/2]` ms, at least 1.
    fn action_gap_ms(&self) -> u64 {
        let interval = self.profile.interval_ms.max(1);
        let low = (interval / 2).max(1);
        madsim::rand::thread_rng().gen_range(low..=(interval * 3 / 2).max(low))
    }
}
