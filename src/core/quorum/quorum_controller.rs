//! One controller of a KRaft quorum (`QuorumController` over `KafkaRaftClient`): a voter of
//! the metadata log that replays every committed record, and, while it leads the log and
//! has replayed it up to the start of its epoch, the active controller.
//!
//! The active controller runs the single controller's rules ([`Controller`]) on a
//! speculative copy of the state: its records apply at once and go to the log, and the
//! answers that depend on them wait until the log commits them (`deferredEventQueue`). When
//! it stops leading it renounces: the speculative state is dropped (back to the committed
//! replay) and every waiting answer becomes `NOT_CONTROLLER`. A controller that does not
//! lead answers every broker request with `NOT_CONTROLLER`.
//!
//! Invariant: the history records a controller decision (leader elected, ISR changed,
//! broker registered, fenced or unfenced) when its record commits, derived from the record,
//! never when the active controller makes it: a decision whose record is lost never
//! happened.

use crate::config::Config;
use crate::core::message::{ErrorCode, Message};
use crate::core::quorum::controller::Controller;
use crate::core::quorum::metadata_log::{
    MetadataEffect, MetadataRaft, MetadataStored, QuorumDiskOp, Replay, stamp,
};
use crate::core::quorum::raft::{Epoch, RaftConfig, RaftEffect, RoleKind};
use crate::core::quorum::records::{ControllerState, MetadataRecord};
use crate::core::{Disconnect, DiskOp, Effect, StateMachine};
use crate::history::EventKind;
use crate::layout::Layout;
use crate::quorum_event::QuorumEvent;
use crate::types::{NodeId, Offset, SimTime};

/// The Raft configuration of the metadata log for every replica of `layout`.
pub fn raft_config(config: &Config, layout: &Layout) -> RaftConfig<NodeId> {
    let mut raft = RaftConfig::new(layout.controllers.iter().copied());
    raft.election_timeout_ms = config.controller_quorum_election_timeout_ms;
    raft.fetch_timeout_ms = config.controller_quorum_fetch_timeout_ms;
    let knobs = config.quorum;
    raft.check_quorum = knobs.check_quorum;
    raft.pre_vote = knobs.pre_vote;
    raft.restart_leader_resigned = knobs.restart_leader_resigned;
    raft.hw_requires_current_epoch = knobs.hw_requires_current_epoch;
    raft.voters_flush_before_fetch = knobs.voters_flush_before_fetch;
    raft
}

/// The active controller's part: the controller rules on the speculative state, and the
/// effects waiting for the log to commit what was written before them.
#[derive(Clone, Debug)]
struct Active {
    epoch: Epoch,
    controller: Controller,
    /// Effects released once the HW passes the offset beside them.
    held: Vec<(Offset, Effect)>,
}

/// One controller of a quorum.
#[derive(Clone, Debug)]
pub struct QuorumController {
    me: NodeId,
    config: Config,
    raft: MetadataRaft,
    replay: Replay,
    active: Option<Active>,
}

impl QuorumController {
    /// A controller starting from what its disk kept. `seed` drives its election timers.
    pub fn recover(
        me: NodeId,
        config: Config,
        layout: &Layout,
        stored: MetadataStored,
        now: SimTime,
        seed: u64,
    ) -> QuorumController {
        let replay = Replay::new(layout, stored.snapshot.as_ref());
        let raft = MetadataRaft::new(raft_config(&config, layout), me, stored, now, seed);
        QuorumController {
            me,
            config,
            raft,
            replay,
            active: None,
        }
    }

    /// What a booting controller's log holds, for the history: its end offset (as a
    /// `Truncated` event, which is what a power loss did to it).
    pub fn boot_events(&self) -> Vec<Effect> {
        let to = self.raft.log_end_offset();
        vec![Effect::Trace(EventKind::Quorum(QuorumEvent::Truncated {
            node: self.me,
            to,
        }))]
    }

    /// The committed metadata state this controller has replayed.
    pub fn committed(&self) -> &ControllerState {
        &self.replay.state
    }

    /// How far it has replayed the log.
    pub fn applied(&self) -> Offset {
        self.replay.applied
    }

    /// The quorum epoch it is active in, if it is the active controller.
    pub fn active_epoch(&self) -> Option<u32> {
        self.active.as_ref().map(|a| a.epoch.0)
    }

    /// Its replica of the metadata log (for views).
    pub fn raft(&self) -> &MetadataRaft {
        &self.raft
    }

    /// Performs what the Raft core asked, then catches up: replay, released answers,
    /// activation or renouncement, snapshot.
    fn absorb(&mut self, now: SimTime, effects: Vec<MetadataEffect>, out: &mut Vec<Effect>) {
        for effect in effects {
            self.perform(effect, out);
        }
        self.catch_up(now, out);
    }

    fn perform(&self, effect: MetadataEffect, out: &mut Vec<Effect>) {
        let node = self.me;
        let event = match &effect {
            RaftEffect::Append(entries) if !entries.is_empty() => Some(QuorumEvent::Appended {
                node,
                base_offset: entries[0].offset,
                records: entries.iter().map(stamp).collect(),
            }),
            RaftEffect::Truncated { to, .. } => Some(QuorumEvent::Truncated { node, to: *to }),
            RaftEffect::HighWatermark(hw) => Some(QuorumEvent::HighWatermark { node, hw: *hw }),
            RaftEffect::BecameLeader {
                epoch,
                epoch_start_offset,
            } => Some(QuorumEvent::Led {
                node,
                epoch: epoch.0,
                epoch_start: *epoch_start_offset,
            }),
            _ => None,
        };
        match effect {
            RaftEffect::Send { to, message } => out.push(Effect::Send {
                to,
                message: Message::Raft(Box::new(message)),
            }),
            other => {
                if let Some(op) = QuorumDiskOp::of(other) {
                    out.push(Effect::Disk(DiskOp::Quorum(op)));
                }
            }
        }
        if let Some(event) = event {
            out.push(Effect::Trace(EventKind::Quorum(event)));
        }
    }

    fn catch_up(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        self.replay.catch_up(&self.raft, |offset, record, before| {
            if let Some(kind) = committed_event(record, before) {
                out.push(Effect::TraceOnce { offset, kind });
            }
        });
        self.release_held(out);
        self.maybe_renounce(out);
        self.maybe_activate(now, out);
        if self.replay.snapshot_due(&self.raft) {
            let mut effects = Vec::new();
            let at = self.replay.applied;
            if self
                .raft
                .snapshot(at, self.replay.state.clone(), &mut effects)
                .is_ok()
            {
                for effect in effects {
                    self.perform(effect, out);
                }
            }
        }
    }

    fn release_held(&mut self, out: &mut Vec<Effect>) {
        let hw = self.raft.high_watermark();
        if let Some(active) = &mut self.active {
            let due = active.held.iter().take_while(|(at, _)| *at < hw).count();
            out.extend(active.held.drain(..due).map(|(_, effect)| effect));
        }
    }

    /// `QuorumController.renounce`: this controller no longer leads the epoch it was
    /// active in. Its speculative state goes; its waiting answers say `NOT_CONTROLLER`.
    fn maybe_renounce(&mut self, out: &mut Vec<Effect>) {
        let leads = self.raft.role() == RoleKind::Leader;
        let Some(active) = &self.active else { return };
        if leads && self.raft.epoch() == active.epoch {
            return;
        }
        let active = self.active.take().expect("checked above");
        out.push(Effect::Trace(EventKind::Quorum(QuorumEvent::Renounced {
            node: self.me,
            epoch: active.epoch.0,
        })));
        for (_, effect) in active.held {
            if let Effect::Send { to, message } = effect {
                let message = not_controller(&message).unwrap_or(message);
                out.push(Effect::Send { to, message });
            }
        }
    }

    /// `QuorumController.claim`: the leader of the log becomes the active controller once
    /// it has replayed every entry below its epoch start (KAFKA-15345, KAFKA-17333), or at
    /// once when the knob brings those bugs back.
    fn maybe_activate(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        if self.active.is_some() || self.raft.role() != RoleKind::Leader {
            return;
        }
        let Some(epoch_start) = self.raft.epoch_start_offset() else {
            return;
        };
        if self.config.quorum.activate_after_replay && self.replay.applied < epoch_start {
            return;
        }
        let epoch = self.raft.epoch();
        let unreplayed = epoch_start.0.saturating_sub(self.replay.applied.0);
        let next_offset = self.raft.log_end_offset();
        let controller = Controller::activate(
            self.config.clone(),
            self.replay.state.clone(),
            now,
            next_offset,
        );
        self.active = Some(Active {
            epoch,
            controller,
            held: Vec::new(),
        });
        out.push(Effect::Trace(EventKind::Quorum(QuorumEvent::Activated {
            node: self.me,
            epoch: epoch.0,
            unreplayed,
        })));
    }

    /// Steps the active controller with `step`, proposes what it wrote, and holds its
    /// answers until the log commits everything written so far.
    fn run_active(
        &mut self,
        now: SimTime,
        out: &mut Vec<Effect>,
        step: impl FnOnce(&mut Controller, &mut Vec<Effect>),
    ) {
        let Some(active) = &mut self.active else {
            return;
        };
        active
            .controller
            .set_next_offset(self.raft.log_end_offset());
        let mut effects = Vec::new();
        step(&mut active.controller, &mut effects);
        let records = active.controller.take_written();
        let mut raft_effects = Vec::new();
        if !records.is_empty() && self.raft.propose(now, records, &mut raft_effects).is_err() {
            unreachable!("the active controller leads the log");
        }
        let written_end = self.raft.log_end_offset();
        let hw = self.raft.high_watermark();
        for effect in effects {
            match effect {
                // Decisions are traced when their records commit (see the module doc).
                Effect::Trace(_) => {}
                effect if written_end > hw => active.held.push((Offset(written_end.0 - 1), effect)),
                effect => out.push(effect),
            }
        }
        self.absorb(now, raft_effects, out);
    }
}

/// The `NOT_CONTROLLER` answer to a broker's request (from a controller that is not
/// active), or in place of a waiting answer (of a controller that renounced); None for
/// other messages.
fn not_controller(message: &Message) -> Option<Message> {
    Some(match message {
        Message::RegisterBroker { .. } | Message::RegisterBrokerResponse { .. } => {
            Message::RegisterBrokerResponse {
                result: Err(ErrorCode::NotController),
            }
        }
        Message::Heartbeat { .. } | Message::HeartbeatResponse { .. } => {
            Message::HeartbeatResponse {
                error: Some(ErrorCode::NotController),
                metadata: None,
            }
        }
        Message::AlterPartition {
            partition, attempt, ..
        }
        | Message::AlterPartitionResponse {
            partition, attempt, ..
        } => Message::AlterPartitionResponse {
            partition: *partition,
            attempt: *attempt,
            result: Err(ErrorCode::NotController),
        },
        _ => return None,
    })
}

/// The history event of a committed record, given the state before it.
fn committed_event(record: &MetadataRecord, before: &ControllerState) -> Option<EventKind> {
    Some(match record {
        MetadataRecord::RegisterBroker {
            broker,
            broker_epoch,
            ..
        } => EventKind::BrokerRegistered {
            broker: *broker,
            broker_epoch: *broker_epoch,
        },
        MetadataRecord::BrokerFenced {
            broker,
            fenced: true,
        } => EventKind::BrokerFenced { broker: *broker },
        MetadataRecord::BrokerFenced {
            broker,
            fenced: false,
        } => EventKind::BrokerUnfenced { broker: *broker },
        MetadataRecord::PartitionChange {
            registration: r,
            unclean,
        } => {
            let previous = before.partitions.get(r.partition.0 as usize)?;
            if r.leader != previous.leader || r.leader_epoch != previous.leader_epoch {
                EventKind::LeaderElected {
                    partition: r.partition,
                    leader: r.leader,
                    leader_epoch: r.leader_epoch,
                    partition_epoch: r.partition_epoch,
                    isr: r.isr.clone(),
                    elr: r.elr.clone(),
                    unclean: *unclean,
                }
            } else {
                EventKind::IsrChanged {
                    partition: r.partition,
                    leader_epoch: r.leader_epoch,
                    partition_epoch: r.partition_epoch,
                    isr: r.isr.clone(),
                    elr: r.elr.clone(),
                }
            }
        }
    })
}

impl StateMachine for QuorumController {
    fn on_message(&mut self, now: SimTime, from: NodeId, message: Message, out: &mut Vec<Effect>) {
        if let Message::Raft(message) = message {
            let mut effects = Vec::new();
            self.raft.on_message(now, from, *message, &mut effects);
            self.absorb(now, effects, out);
            return;
        }
        if self.active.is_none() {
            if let Some(answer) = not_controller(&message) {
                out.push(Effect::Send {
                    to: from,
                    message: answer,
                });
            }
            return;
        }
        self.run_active(now, out, |c, effects| {
            c.on_message(now, from, message, effects)
        });
    }

    /// A metadata log request in flight to `peer` fails at once; the active controller
    /// fences brokers by heartbeats alone (see [`Controller`]).
    fn on_disconnect(&mut self, now: SimTime, peer: NodeId, _: Disconnect, out: &mut Vec<Effect>) {
        let mut effects = Vec::new();
        self.raft.on_disconnect(now, peer, &mut effects);
        self.absorb(now, effects, out);
    }

    fn on_timeout(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        let mut effects = Vec::new();
        self.raft.on_timeout(now, &mut effects);
        self.absorb(now, effects, out);
        let due = self
            .active
            .as_ref()
            .and_then(|a| a.controller.next_deadline())
            .is_some_and(|at| at <= now);
        if due {
            self.run_active(now, out, |c, effects| c.on_timeout(now, effects));
        }
    }

    fn next_deadline(&self) -> Option<SimTime> {
        let raft = self.raft.next_deadline();
        let active = self
            .active
            .as_ref()
            .and_then(|a| a.controller.next_deadline());
        match (raft, active) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
