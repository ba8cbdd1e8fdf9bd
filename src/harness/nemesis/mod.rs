//! The random nemesis: at jittered times it starts a fault of one of the configured kinds,
//! and ends each fault after its own drawn duration. Every choice (when, which kind, which
//! node, which partition shape, how long, how bad) comes from a random stream of its own,
//! seeded from the run's seed ([`NEMESIS_STREAM`]), never from madsim's: the nemesis takes
//! no draw away from message latencies and scheduling, so a run whose nemesis is replaced
//! by the faults it drew (`run --unroll`) draws the same latencies for as long as the two
//! runs' tasks wake alike.
//!
//! Every action goes through [`crate::harness::faults::apply`], as a scripted fault does,
//! and is kept ([`Nemesis::applied`]) with its time and its target: by role
//! (`leader:T-P`) where the nemesis aimed at a role, by broker id otherwise, and by id for
//! every end (the restart of the broker it crashed).
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
//! A power loss drawn on the active controller waits, with chance `FSYNC_AIM`, for its
//! next fsync of the metadata log: it watches every [`ISR_WATCH_POLL_MS`] for as long as
//! a fault would last, powers the controller off while entries are not yet durable, and
//! restarts it after a quick wait.
//!
//! The harness wakes the nemesis at [`Nemesis::next_wakeup`] until `workload.duration_ms`;
//! faults still active then are left for the finale, which heals and restarts everything,
//! except the latency spell, which [`Nemesis::finish`] ends (the finale does not know the
//! scenario's latency).

mod fault;
mod kinds;
pub mod partition_shapes;
pub mod profile;
#[cfg(test)]
mod tests;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::harness::faults;
use crate::scenario::{FaultAction, NemesisKind, NemesisSpec, Network, Target, TimedFault};
use crate::shell::cluster::Cluster;
use crate::types::{ControllerId, LeaderEpoch, NodeId, PartitionId, SimTime};
use fault::Fault;
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
/// Mixed into the run's seed to seed the nemesis' own random stream.
pub const NEMESIS_STREAM: u64 = 0x6e65_6d65_7369_7321;

/// The nemesis' actions, applied as scripted faults are and kept in order.
#[derive(Debug, Default)]
pub(super) struct Actions {
    applied: Vec<TimedFault>,
}

impl Actions {
    /// Applies `action` now and keeps it.
    pub(super) fn apply(&mut self, cluster: &mut Cluster, action: FaultAction) {
        // The nemesis acts at whole milliseconds; madsim's clock has moved on by a few
        // tens of nanoseconds per task run since, which the millisecond drops.
        let at_ms = crate::shell::now().as_ms();
        faults::apply(cluster, &action);
        self.applied.push(TimedFault { at_ms, action });
    }
}

/// The target naming one node.
pub(super) fn node_target(node: NodeId) -> Target {
    match node {
        NodeId::Broker(b) => Target::Broker(b),
        NodeId::Controller(ControllerId::SOLE) => Target::Controller,
        NodeId::Controller(ControllerId(n)) => Target::ControllerN(n),
        other => unreachable!("the nemesis never aims at client {other}"),
    }
}

/// The controller's current leader epoch of `partition` (None while it is down).
fn leader_epoch(cluster: &Cluster, partition: PartitionId) -> Option<LeaderEpoch> {
    cluster
        .controller_state()
        .map(|s| s.partitions[usize::from(partition.0)].leader_epoch)
}

/// Controllers crashed, powered off, paused or isolated now.
fn controllers_out(cluster: &Cluster) -> usize {
    cluster
        .layout()
        .controllers
        .iter()
        .filter(|c| !kinds::is_up(cluster, **c) || cluster.is_isolated(**c))
        .count()
}

/// How many brokers are crashed, powered off or paused.
fn brokers_out(cluster: &Cluster) -> usize {
    let brokers = &cluster.layout().brokers;
    brokers
        .iter()
        .filter(|b| !kinds::is_up(cluster, NodeId::Broker(**b)))
        .count()
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
    rng: StdRng,
    actions: Actions,
}

impl Nemesis {
    /// A nemesis for `spec` over a network whose normal behaviour is `network` (what
    /// packet-loss bursts and latency spells go back to), drawing from its own stream of
    /// the run's `seed`; its first action is drawn from `start`. Must run inside the
    /// madsim runtime.
    pub fn new(spec: &NemesisSpec, network: &Network, start: SimTime, seed: u64) -> Nemesis {
        let mut rng = StdRng::seed_from_u64(seed ^ NEMESIS_STREAM);
        let profile = Profile::draw(spec, &mut rng);
        let mut nemesis = Nemesis {
            spec: spec.clone(),
            profile,
            network: network.clone(),
            next_action: start,
            active: Vec::new(),
            rng,
            actions: Actions::default(),
        };
        nemesis.next_action = start.plus_ms(nemesis.action_gap_ms());
        nemesis
    }

    /// Every action the nemesis took so far, in order, as explicit faults.
    pub fn applied(&self) -> &[TimedFault] {
        &self.actions.applied
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
                    Fault::AwaitIsrChange { .. } | Fault::AwaitFsync { .. } => ISR_WATCH_POLL_MS,
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
        let kind = startable[self.rng.gen_range(0..startable.len())];
        let controllers_may_go = cluster.layout().has_quorum()
            && controllers_out(cluster) < usize::from(self.spec.max_controllers_down);
        let draw = kinds::Draw {
            network: &self.network,
            profile: &self.profile,
            rng: &mut self.rng,
            actions: &mut self.actions,
            controllers_may_go,
        };
        let fault = kinds::start(kind, cluster, draw)?;
        let interval = self.profile.interval_ms;
        let watching = matches!(
            fault,
            Fault::AwaitIsrChange { .. } | Fault::AwaitFsync { .. }
        );
        let duration_ms = if watching {
            ISR_WATCH_POLL_MS
        } else if matches!(kind, NemesisKind::Restart | NemesisKind::BounceLeader) {
            self.quick_ms()
        } else {
            let low = (interval / 2).max(1);
            self.rng.gen_range(low..=(2 * interval).max(low))
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
        let aiming = (self.active.iter()).any(|a| matches!(a.fault, Fault::AwaitFsync { .. }));
        match kind {
            NemesisKind::PowerLoss => !aiming && self.may_take_one_down(cluster),
            NemesisKind::Crash | NemesisKind::Restart | NemesisKind::Pause => {
                self.may_take_one_down(cluster)
            }
            NemesisKind::DiskWipe => {
                self.may_take_one_down(cluster)
                    && cluster
                        .layout()
                        .brokers
                        .iter()
                        .any(|b| kinds::may_wipe(cluster, NodeId::Broker(*b)))
            }
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
        let action = match fault {
            Fault::Down(n) => FaultAction::Restart(node_target(n)),
            Fault::Rejoin {
                mut nodes,
                partition,
                ..
            } => {
                let first = nodes.remove(0);
                self.restart(cluster, first);
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
            Fault::Paused(n) => FaultAction::Resume(node_target(n)),
            Fault::Rebuilding { .. } => return None,
            Fault::Cut => FaultAction::Heal,
            Fault::Lossy => FaultAction::PacketLoss(self.network.packet_loss),
            Fault::Slow => {
                let (low, high) = self.network.latency_ms;
                FaultAction::Latency(low, high)
            }
            Fault::AwaitIsrChange { until } => return self.watch_isr_change(cluster, until),
            Fault::AwaitFsync { until, seen } => return self.watch_fsync(cluster, until, seen),
        };
        self.actions.apply(cluster, action);
        None
    }

    /// Restarts `node`.
    fn restart(&mut self, cluster: &mut Cluster, node: NodeId) {
        self.actions
            .apply(cluster, FaultAction::Restart(node_target(node)));
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
        let again = left > 0 && self.rng.gen_bool(BOUNCE_AGAIN);
        let now = crate::shell::now();
        if again
            && self.rng.gen_bool(self.profile.pile_up)
            && self.can_start(NemesisKind::BounceLeader, cluster)
            && let Some(node) = kinds::crash_leader(cluster, partition, &mut self.actions)
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
        self.restart(cluster, nodes[0]);
        let again = again && self.can_start(NemesisKind::BounceLeader, cluster);
        if !again {
            return None;
        }
        kinds::bounce(cluster, partition, left - 1, now, &mut self.actions)
    }

    /// One look of `crash_during_isr_change`: crash a leader whose ISR change is pending
    /// if one is and a broker may go down now (then it returns like a bounced leader),
    /// otherwise watch on until `until`.
    fn watch_isr_change(&mut self, cluster: &mut Cluster, until: SimTime) -> Option<Fault> {
        let now = crate::shell::now();
        if !self.chained() && self.may_take_one_down(cluster) {
            let found = kinds::crash_during_isr_change(cluster, &mut self.rng, &mut self.actions);
            if let Some((node, partition)) = found {
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

    /// One look of an aimed power loss: power off the active controller if it is in an
    /// fsync, the previous look found it so too (`seen`) and a controller may go down now
    /// (it restarts after a quick wait), otherwise watch on until `until`.
    fn watch_fsync(&mut self, cluster: &mut Cluster, until: SimTime, seen: bool) -> Option<Fault> {
        let may_go = controllers_out(cluster) < usize::from(self.spec.max_controllers_down);
        let in_fsync = kinds::active_in_fsync(cluster).filter(|_| may_go);
        if let Some(node) = in_fsync.filter(|_| seen) {
            (self.actions).apply(cluster, FaultAction::PowerLoss(Target::Controller));
            return Some(Fault::Down(node));
        }
        let seen = in_fsync.is_some();
        (crate::shell::now() < until).then_some(Fault::AwaitFsync { until, seen })
    }

    /// Whether a bounce chain (or a one-by-one return) is under way.
    fn chained(&self) -> bool {
        self.active
            .iter()
            .any(|a| matches!(a.fault, Fault::Bounce { .. } | Fault::Rejoin { .. }))
    }

    /// Whether one more broker may go down under `max_down` (and one stays up).
    fn may_take_one_down(&self, cluster: &Cluster) -> bool {
        let rebuilding = self.active.iter().filter(|a| match a.fault {
            Fault::Rebuilding { node, .. } => kinds::is_up(cluster, node),
            _ => false,
        });
        let out = brokers_out(cluster) + rebuilding.count();
        out < usize::from(self.spec.max_down) && out < cluster.layout().brokers.len()
    }

    /// How long a quick restart waits: uniform in `1..=I/4` ms.
    fn quick_ms(&mut self) -> u64 {
        let quarter = (self.profile.interval_ms / 4).max(1);
        self.rng.gen_range(1..=quarter)
    }

    /// The gap before the next action: uniform in `[I/2, 3I/2]` ms, at least 1.
    fn action_gap_ms(&mut self) -> u64 {
        let interval = self.profile.interval_ms.max(1);
        let low = (interval / 2).max(1);
        self.rng.gen_range(low..=(interval * 3 / 2).max(low))
    }
}
