//! One simulated run: replicas with their disks, the network, the fault schedule, the
//! proposals and snapshots, and the event loop that checks the invariants after every
//! step. A chaos phase (faults) is followed by a liveness phase (everything healed).

use std::collections::BTreeMap;

use crate::core::prng::Prng;
use crate::core::quorum::raft::{RaftConfig, RaftEffect, ResignReason, RoleKind};
use crate::types::{Offset, SimTime};

use super::checker::{Checker, Kind, View, Violation};
use super::disk::Disk;
use super::faults::Fault;
use super::net::Net;
use super::scenario::{LIVENESS_BOUND_MS, Scenario, Stats, stale_leader_bound_ms};
use super::{Effect, Ledger, Node, Record};

pub(super) struct Replica {
    pub(super) node: Option<Node>,
    pub(super) disk: Disk,
    pub(super) restart_at: Option<SimTime>,
    pub(super) voter: bool,
    /// Power fails in the middle of this replica's next step.
    pub(super) cut_next_step: bool,
    /// Power fails in the step in which this leader's HW first moves, right after the
    /// HW is exposed: before the fetch answers that would carry it.
    pub(super) cut_at_first_commit: bool,
}

pub(super) struct World {
    pub(super) prng: Prng,
    pub(super) now: SimTime,
    pub(super) scenario: Scenario,
    pub(super) config: RaftConfig<u8>,
    pub(super) net: Net,
    pub(super) replicas: BTreeMap<u8, Replica>,
    pub(super) checker: Checker,
    pub(super) stats: Stats,
    pub(super) partition_until: Option<SimTime>,
    /// The partition in force ends only at `partition_until` (or the final heal).
    pub(super) partition_sticky: bool,
    pub(super) next_fault: SimTime,
    /// Faults due at a set time (a fragile leader's failure).
    pub(super) scheduled: BTreeMap<(SimTime, u64), Fault>,
    pub(super) scheduled_count: u64,
    pub(super) next_propose: SimTime,
    pub(super) next_snapshot: SimTime,
    pub(super) next_record: Record,
    pub(super) healed_at: Option<SimTime>,
    /// Print every step (RAFT_TRACE set).
    pub(super) trace: bool,
    /// The step in progress is a `snapshot` call (not an install).
    pub(super) taking_snapshot: bool,
    pub(super) probe: Option<(u8, crate::core::quorum::raft::Epoch, Offset)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Heal,
    Restart(u8),
    HealPartition,
    Fault,
    Scheduled,
    Deliver,
    Timeout(u8),
    Propose,
    Snapshot,
}

impl World {
    pub(super) fn new(seed: u64, tweak: &dyn Fn(&mut RaftConfig<u8>)) -> World {
        let mut prng = Prng::new(seed);
        let scenario = Scenario::pick(&mut prng);
        let voters: Vec<u8> = (1..=scenario.voters).collect();
        let mut config = RaftConfig::new(voters.iter().copied());
        config.fetch_max_entries = scenario.fetch_max_entries;
        tweak(&mut config);
        let stale_bound_ms = stale_leader_bound_ms(&config, scenario.net.delay_max_ms);
        let checker = Checker::new(config.majority(), stale_bound_ms);
        let mut world = World {
            net: Net::new(scenario.net),
            prng,
            now: SimTime::ZERO,
            config,
            replicas: BTreeMap::new(),
            checker,
            stats: Stats::default(),
            partition_until: None,
            partition_sticky: false,
            next_fault: SimTime::from_ms(3_000),
            scheduled: BTreeMap::new(),
            scheduled_count: 0,
            next_propose: SimTime::from_ms(100),
            next_snapshot: SimTime::from_ms(2_000),
            next_record: 1,
            healed_at: None,
            taking_snapshot: false,
            trace: std::env::var("RAFT_TRACE").is_ok(),
            probe: None,
            scenario,
        };
        let ids = 1..=world.scenario.voters + world.scenario.observers;
        for id in ids {
            let voter = id <= world.scenario.voters;
            let replica = Replica {
                node: None,
                disk: Disk::default(),
                restart_at: Some(SimTime::ZERO),
                voter,
                cut_next_step: false,
                cut_at_first_commit: false,
            };
            world.replicas.insert(id, replica);
        }
        world
    }

    /// Runs the whole scenario; the first violation ends it.
    pub(super) fn run(&mut self) -> Result<(), Violation> {
        let chaos_end = SimTime::from_ms(self.scenario.chaos_ms);
        for _ in 0..5_000_000u32 {
            let (at, event) = self.next_event(chaos_end);
            if let Some(healed) = self.healed_at
                && at.ms_since(healed) > LIVENESS_BOUND_MS
            {
                let detail = format!(
                    "no leader with a new commit on every replica {LIVENESS_BOUND_MS} ms after healing; {}",
                    self.describe()
                );
                return Err(Violation {
                    kind: Kind::Liveness,
                    at,
                    detail,
                });
            }
            self.now = self.now.max(at);
            self.stats.steps += 1;
            self.handle(event)?;
            self.check()?;
            if self.live_again() {
                self.stats.liveness_ms = self.now.ms_since(self.healed_at.expect("healed"));
                self.stats.committed = self.checker.committed_len() as u64;
                return Ok(());
            }
        }
        panic!("the run did not end");
    }

    fn next_event(&self, chaos_end: SimTime) -> (SimTime, Event) {
        let mut events: Vec<(SimTime, Event)> = Vec::new();
        if self.healed_at.is_none() {
            events.push((chaos_end, Event::Heal));
            events.push((self.next_fault, Event::Fault));
        }
        for (&id, replica) in &self.replicas {
            if let Some(at) = replica.restart_at {
                events.push((at, Event::Restart(id)));
            }
            if let Some(at) = replica.node.as_ref().and_then(|n| n.next_deadline()) {
                events.push((at, Event::Timeout(id)));
            }
        }
        if let Some(&(at, _)) = self.scheduled.keys().next() {
            events.push((at, Event::Scheduled));
        }
        if let Some(at) = self.partition_until {
            events.push((at, Event::HealPartition));
        }
        if let Some(at) = self.net.next_delivery() {
            events.push((at, Event::Deliver));
        }
        events.push((self.next_propose, Event::Propose));
        events.push((self.next_snapshot, Event::Snapshot));
        events.into_iter().min().expect("always a proposal ahead")
    }

    fn handle(&mut self, event: Event) -> Result<(), Violation> {
        if self.trace && !matches!(event, Event::Deliver | Event::Timeout(_)) {
            eprintln!("{} {event:?}", self.now);
        }
        match event {
            Event::Heal => self.heal(),
            Event::Restart(id) => return self.restart(id),
            Event::HealPartition => {
                self.net.heal();
                self.partition_until = None;
                self.partition_sticky = false;
            }
            Event::Fault => {
                let fault = Fault::pick(self);
                if self.trace {
                    eprintln!("{} {fault:?}", self.now);
                }
                self.apply_fault(fault);
                let (low, high) = self.scenario.fault_every_ms;
                self.next_fault = self.now.plus_ms(self.prng.between(low, high));
            }
            Event::Scheduled => {
                let (_, fault) = self.scheduled.pop_first().expect("a scheduled fault");
                if self.trace {
                    eprintln!("{} {fault:?}", self.now);
                }
                self.apply_fault(fault);
            }
            Event::Deliver => {
                if let Some((from, to, message)) = self.net.deliver(self.now) {
                    let now = self.now;
                    return self.act(to, |node, out| node.on_message(now, from, message, out));
                }
            }
            Event::Timeout(id) => {
                let now = self.now;
                return self.act(id, |node, out| node.on_timeout(now, out));
            }
            Event::Propose => return self.propose(),
            Event::Snapshot => return self.snapshot(),
        }
        Ok(())
    }

    /// Runs one input on replica `id` and performs its effects in order; a pending
    /// mid-step power loss performs only a prefix of them.
    pub(super) fn act(
        &mut self,
        id: u8,
        input: impl FnOnce(&mut Node, &mut Vec<Effect>),
    ) -> Result<(), Violation> {
        let replica = self.replicas.get_mut(&id).expect("replica");
        let Some(node) = replica.node.as_mut() else {
            return Ok(()); // down: the message is lost
        };
        let mut out = Vec::new();
        input(node, &mut out);
        let first_commit = if node.role() == RoleKind::Leader {
            replica
                .cut_at_first_commit
                .then(|| {
                    out.iter()
                        .position(|e| matches!(e, RaftEffect::HighWatermark(_)))
                })
                .flatten()
        } else {
            replica.cut_at_first_commit = false;
            None
        };
        let cut = std::mem::take(&mut replica.cut_next_step) || first_commit.is_some();
        let performed = match first_commit {
            Some(index) => index + 1,
            None if cut => self.prng.below(out.len() as u64 + 1) as usize,
            None => out.len(),
        };
        if self.trace {
            let node = self.replicas[&id].node.as_ref().expect("live");
            let shown: Vec<String> = out[..performed].iter().map(show).collect();
            eprintln!(
                "{} [{id} {:?} {} hw {}] {}",
                self.now,
                node.role(),
                node.epoch(),
                node.high_watermark(),
                shown.join(" | ")
            );
        }
        for effect in &out[..performed] {
            self.perform(id, effect);
        }
        self.checker.on_effects(self.now, id, &out[..performed])?;
        if cut {
            let node = self.replicas[&id].node.as_ref().expect("live");
            self.checker
                .on_power_cut(self.now, node, &out[..performed])?;
            self.stats.mid_step_cuts += 1;
            self.power_loss(id);
        }
        Ok(())
    }

    fn perform(&mut self, id: u8, effect: &Effect) {
        self.replicas
            .get_mut(&id)
            .expect("replica")
            .disk
            .apply(effect);
        match effect {
            RaftEffect::Send { to, message } => {
                self.net
                    .send(&mut self.prng, self.now, id, *to, message.clone())
            }
            RaftEffect::BecameLeader { .. } => {
                self.stats.elections += 1;
                self.maybe_schedule_leader_failure(id);
            }
            RaftEffect::Truncated { .. } => self.stats.truncations += 1,
            RaftEffect::PersistSnapshot(_) if !self.taking_snapshot => {
                self.stats.snapshots_installed += 1
            }
            RaftEffect::Resigned {
                why: ResignReason::CheckQuorum,
                ..
            } => self.stats.check_quorum_resigns += 1,
            _ => {}
        }
    }

    /// A fragile new leader crashes, loses power, or loses power mid-step soon.
    fn maybe_schedule_leader_failure(&mut self, id: u8) {
        if self.healed_at.is_some() || self.prng.below(100) >= self.scenario.fragile_leader_percent
        {
            return;
        }
        let at = self.now.plus_ms(self.prng.below(30));
        let fault = match self.prng.below(4) {
            0 => Fault::Crash(id),
            1 => Fault::PowerLoss(id),
            2 => Fault::PowerLossMidStep(id),
            _ => Fault::PowerLossAtFirstCommit(id),
        };
        self.scheduled_count += 1;
        self.scheduled.insert((at, self.scheduled_count), fault);
    }

    fn restart(&mut self, id: u8) -> Result<(), Violation> {
        let seed = self.prng.next_u64();
        let replica = self.replicas.get_mut(&id).expect("replica");
        replica.restart_at = None;
        let node = Node::new(
            self.config.clone(),
            id,
            replica.disk.stored(),
            self.now,
            seed,
        );
        self.checker.on_start(self.now, &node)?;
        replica.node = Some(node);
        Ok(())
    }

    /// A process crash: the page cache survives.
    pub(super) fn crash(&mut self, id: u8) {
        let (low, high) = self.scenario.down_ms;
        let down_ms = self.prng.between(low, high);
        let replica = self.replicas.get_mut(&id).expect("replica");
        if replica.node.take().is_some() {
            replica.restart_at = Some(self.now.plus_ms(down_ms));
            self.stats.crashes += 1;
        }
    }

    /// A power loss: only flushed entries and the durable files survive.
    pub(super) fn power_loss(&mut self, id: u8) {
        let (low, high) = self.scenario.down_ms;
        let down_ms = self.prng.between(low, high);
        let replica = self.replicas.get_mut(&id).expect("replica");
        replica.node = None;
        replica.disk.power_loss();
        replica.restart_at = Some(self.now.plus_ms(down_ms));
        self.stats.power_losses += 1;
    }

    fn heal(&mut self) {
        self.healed_at = Some(self.now);
        self.net.heal();
        self.net.config.loss_per_million = 0;
        self.partition_until = None;
        self.partition_sticky = false;
        self.scheduled.clear();
        for replica in self.replicas.values_mut() {
            replica.cut_next_step = false;
            replica.cut_at_first_commit = false;
            if replica.node.is_none() {
                replica.restart_at = Some(self.now);
            }
        }
    }

    fn check(&mut self) -> Result<(), Violation> {
        let views: Vec<View<'_>> = self
            .replicas
            .iter()
            .map(|(&id, r)| View {
                id,
                node: r.node.as_ref(),
                disk: &r.disk,
                voter: r.voter,
            })
            .collect();
        self.checker.check_step(self.now, &views)
    }

    /// After healing: one leader of the newest epoch, every replica following it, and a
    /// record proposed after healing committed everywhere.
    fn live_again(&self) -> bool {
        let Some((leader, epoch, offset)) = self.probe else {
            return false;
        };
        self.replicas.values().all(|r| {
            r.node.as_ref().is_some_and(|n| {
                let follows = n.epoch() == epoch && n.leader() == Some(leader);
                let role_ok = if n.id() == leader {
                    n.role() == RoleKind::Leader
                } else {
                    n.role() == RoleKind::Follower
                };
                follows && role_ok && n.high_watermark() > offset
            })
        })
    }

    /// Every offset ever committed, as first committed.
    pub(super) fn ledger(&self) -> Ledger {
        self.checker.ledger.clone()
    }

    fn describe(&self) -> String {
        let replicas: Vec<String> = self
            .replicas
            .iter()
            .map(|(id, r)| match &r.node {
                Some(n) => format!(
                    "{id}:{:?}/{}/leader {:?}/hw {}/leo {}",
                    n.role(),
                    n.epoch(),
                    n.leader(),
                    n.high_watermark(),
                    n.log_end_offset()
                ),
                None => format!("{id}:down"),
            })
            .collect();
        format!("probe {:?}; {}", self.probe, replicas.join(", "))
    }
}

/// One effect in a trace line.
fn show(effect: &Effect) -> String {
    match effect {
        RaftEffect::Send { to, message } => format!("->{to} {}", message.name()),
        RaftEffect::Append(entries) => format!(
            "append {}..{}",
            entries[0].offset,
            entries.last().expect("some").offset
        ),
        other => format!("{other:?}"),
    }
}
