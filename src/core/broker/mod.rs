//! A broker: every partition replica it hosts, its registration with the controller, and
//! the requests it has parked. Implements [`StateMachine`].
//!
//! A broker acts on partition metadata only once registered (it has a broker epoch), as
//! a KRaft broker catches up metadata before serving. Everything volatile here dies with
//! the process; `Broker::recover` rebuilds from what the disk kept.

mod alter_partition;
mod coordinators;
mod follower;
mod leader;
pub mod metadata_observer;
pub mod producer_state;
pub mod replica;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use crate::config::{Config, FlushPolicy};
use crate::core::log::Record;
use crate::core::message::{ErrorCode, Message, MetadataImage};
use crate::core::prng::Prng;
use crate::core::{Disconnect, DiskOp, Effect, StateMachine};
use crate::history::EventKind;
use crate::layout::Layout;
use crate::types::{BrokerEpoch, BrokerId, NodeId, Offset, PartitionId, SimTime};

pub use follower::{FETCH_RESPONSE_GRACE_MS, Fetcher};
pub use leader::{ParkedFetch, ParkedProduce};
use metadata_observer::MetadataObserver;
use replica::{Replica, Role};

/// What survived on a broker's disk for one partition.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveredPartition {
    /// Records that survived.
    pub records: Vec<Record>,
    /// The last HW checkpoint.
    pub hw_checkpoint: Offset,
}

/// A broker.
#[derive(Clone, Debug)]
pub struct Broker {
    /// This broker's id.
    pub id: BrokerId,
    config: Config,
    incarnation: u64,
    /// Broker epoch once registered.
    pub broker_epoch: Option<BrokerEpoch>,
    /// Last metadata image applied.
    pub metadata: MetadataImage,
    /// Hosted replicas.
    pub replicas: BTreeMap<PartitionId, Replica>,
    fetchers: BTreeMap<BrokerId, Fetcher>,
    parked_produce: Vec<ParkedProduce>,
    parked_fetch: Vec<ParkedFetch>,
    next_correlation: u64,
    heartbeat_at: SimTime,
    isr_check_at: SimTime,
    hw_checkpoint_at: SimTime,
    flush_at: Option<SimTime>,
    alter_retry_at: Option<SimTime>,
    alter_channel: Option<alter_partition::AlterChannel>,
    /// The broker's replica of the metadata log when the controllers form a quorum.
    observer: Option<MetadataObserver>,
    /// The cluster's shape (which partitions are `__consumer_offsets`, and whose).
    layout: Layout,
    /// Group coordinators of the offsets partitions this broker leads.
    coordinators: BTreeMap<PartitionId, coordinators::Hosted>,
}

impl Broker {
    /// The incarnation id of a broker's first process, which the bootstrap metadata
    /// registers (fenced, broker epoch 0) as the initial leader of its partitions. Every
    /// later process draws a random one.
    pub const FIRST_INCARNATION: u64 = 0;

    /// Makes this the broker's first process (see [`Broker::FIRST_INCARNATION`]).
    pub fn first_process(&mut self) {
        self.incarnation = Broker::FIRST_INCARNATION;
    }

    /// A broker booting from its disk at `now`. `prng` supplies the incarnation id (and,
    /// with a controller quorum, its metadata log observer's seed).
    pub fn recover(
        id: BrokerId,
        config: Config,
        layout: &Layout,
        mut disk: BTreeMap<PartitionId, RecoveredPartition>,
        prng: &mut Prng,
        now: SimTime,
    ) -> Broker {
        let mut replicas = BTreeMap::new();
        for partition in layout.hosted_by(id) {
            let stored = disk.remove(&partition).unwrap_or_default();
            let assigned = layout.partition(partition).replicas.clone();
            replicas.insert(
                partition,
                Replica::recover(
                    id,
                    partition,
                    assigned,
                    stored.records,
                    stored.hw_checkpoint,
                ),
            );
        }
        let incarnation = prng.next_u64();
        let observer = layout
            .has_quorum()
            .then(|| MetadataObserver::new(id, &config, layout, now, prng.next_u64()));
        Broker {
            id,
            flush_at: None,
            config,
            incarnation,
            observer,
            broker_epoch: None,
            metadata: MetadataImage::default(),
            replicas,
            fetchers: BTreeMap::new(),
            parked_produce: Vec::new(),
            parked_fetch: Vec::new(),
            next_correlation: 1,
            heartbeat_at: SimTime::ZERO,
            isr_check_at: SimTime::ZERO,
            hw_checkpoint_at: SimTime::ZERO,
            alter_retry_at: None,
            alter_channel: None,
            layout: layout.clone(),
            coordinators: BTreeMap::new(),
        }
    }

    /// First step after boot: recovery truncation (old HW rule) and the first registration.
    pub fn on_start(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        for (p, replica) in &self.replicas {
            out.push(Effect::Trace(EventKind::ReplicaRecovered {
                broker: self.id,
                partition: *p,
                leo: replica.leo(),
                hw: replica.hw,
            }));
        }
        if self.config.truncation == crate::config::Truncation::HighWatermark {
            let partitions: Vec<PartitionId> = self.replicas.keys().copied().collect();
            for p in partitions {
                let hw = self.replicas[&p].hw;
                self.truncate(p, hw, crate::history::TruncationReason::HighWatermark, out);
            }
        }
        self.heartbeat_at = now;
        self.isr_check_at = now.plus_ms(self.isr_check_interval_ms());
        self.hw_checkpoint_at =
            now.plus_ms(self.config.replica_high_watermark_checkpoint_interval_ms);
        if let FlushPolicy::IntervalMs(ms) = self.config.flush {
            self.flush_at = Some(now.plus_ms(ms));
        }
        self.on_timeout(now, out);
    }

    fn isr_check_interval_ms(&self) -> u64 {
        (self.config.replica_lag_time_max_ms / 2).max(1)
    }

    /// Whether broker `b` is unfenced with broker epoch `epoch` in our metadata.
    fn eligible(metadata: &MetadataImage, b: BrokerId, epoch: BrokerEpoch) -> bool {
        metadata
            .broker(b)
            .is_some_and(|r| !r.fenced && r.broker_epoch == epoch)
    }

    /// Where registrations, heartbeats and AlterPartition go: the single controller, or
    /// the controller that leads the metadata log (none while this broker knows of none).
    fn controller(&self) -> Option<NodeId> {
        match &self.observer {
            None => Some(NodeId::CONTROLLER),
            Some(observer) => observer.active_controller(),
        }
    }

    fn on_heartbeat_timer(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        self.heartbeat_at = now.plus_ms(self.config.broker_heartbeat_interval_ms);
        let Some(controller) = self.controller() else {
            return;
        };
        let message = match self.broker_epoch {
            None => Message::RegisterBroker {
                broker: self.id,
                incarnation: self.incarnation,
                previous_broker_epoch: None, // every shutdown here is unclean
            },
            Some(epoch) => Message::Heartbeat {
                broker: self.id,
                broker_epoch: epoch,
                metadata_version: self.metadata.version,
            },
        };
        out.push(Effect::Send {
            to: controller,
            message,
        });
    }

    /// A controller answered `NOT_CONTROLLER`: ask the active one soon (the metadata log
    /// names it once this broker's observer learns of the new leader).
    fn on_not_controller(&mut self, now: SimTime) {
        let soon = now.plus_ms(self.config.retry_backoff_ms);
        self.heartbeat_at = self.heartbeat_at.min(soon);
    }

    /// Steps the metadata log observer (if the controllers form a quorum), then applies
    /// what committed; a newly known active controller hears from this broker at once.
    fn step_observer(
        &mut self,
        now: SimTime,
        out: &mut Vec<Effect>,
        step: impl FnOnce(&mut MetadataObserver, &mut Vec<Effect>),
    ) {
        let Some(observer) = &mut self.observer else {
            return;
        };
        let before = observer.active_controller();
        step(observer, out);
        let image = observer.catch_up();
        if observer.active_controller() != before && observer.active_controller().is_some() {
            self.heartbeat_at = now;
        }
        if let Some(image) = image {
            self.apply_metadata(now, image, out);
        }
    }

    /// Applies a metadata image newer than ours: KRaft brokers react to the resulting state.
    fn apply_metadata(&mut self, now: SimTime, image: MetadataImage, out: &mut Vec<Effect>) {
        if image.version <= self.metadata.version {
            return;
        }
        self.metadata = image;
        self.act_on_metadata(now, out);
    }

    /// Makes the replicas follow the partition states of the metadata held, once this
    /// process is registered and, with a quorum, has replayed the log past its own
    /// registration record (at the offset its broker epoch names): a restarted broker
    /// replays older states first, where its previous incarnation led partitions, and
    /// must not resume those leaderships (Kafka's `BrokerServer` starts its replica
    /// manager only after the initial metadata catch-up).
    fn act_on_metadata(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        let Some(epoch) = self.broker_epoch else {
            return;
        };
        if self.observer.is_some() && self.metadata.version <= epoch.0 {
            return;
        }
        let partitions: Vec<PartitionId> = self.replicas.keys().copied().collect();
        for p in partitions {
            if let Some(registration) = self.metadata.partition(p).cloned() {
                self.apply_partition(now, &registration, out);
            }
        }
        self.after_change(now, out);
    }

    fn apply_partition(
        &mut self,
        now: SimTime,
        registration: &crate::core::metadata::PartitionRegistration,
        out: &mut Vec<Effect>,
    ) {
        let me = self.id;
        let replica = self
            .replicas
            .get_mut(&registration.partition)
            .expect("hosted");
        if registration.leader_epoch < replica.leader_epoch {
            return; // stale
        }
        let same_term = registration.leader_epoch == replica.leader_epoch;
        if registration.leader == Some(me) {
            if same_term && replica.is_leader() {
                if registration.partition_epoch > replica.partition_epoch {
                    replica.partition_epoch = registration.partition_epoch;
                    replica.isr = registration.isr.clone();
                    if let Role::Leader(state) = &mut replica.role {
                        state.pending_alter = None;
                    }
                }
            } else if replica.make_leader(now, registration) {
                let leso = replica.leo();
                out.push(Effect::Trace(EventKind::BecameLeader {
                    broker: me,
                    partition: registration.partition,
                    leader_epoch: registration.leader_epoch,
                    leso,
                }));
            }
            return;
        }
        let was_leader = replica.is_leader();
        let leader_changed = !same_term || was_leader || matches!(replica.role, Role::None);
        if !leader_changed {
            replica.partition_epoch = registration.partition_epoch;
            replica.isr = registration.isr.clone();
            return;
        }
        replica.make_follower(registration);
        out.push(Effect::Trace(EventKind::BecameFollower {
            broker: me,
            partition: registration.partition,
            leader_epoch: registration.leader_epoch,
            leader: registration.leader,
        }));
        if self.config.truncation == crate::config::Truncation::HighWatermark {
            let hw = self.replicas[&registration.partition].hw;
            self.truncate(
                registration.partition,
                hw,
                crate::history::TruncationReason::HighWatermark,
                out,
            );
        }
    }

    /// Cuts a replica's log, mirrors it to disk and traces it.
    fn truncate(
        &mut self,
        partition: PartitionId,
        to: Offset,
        reason: crate::history::TruncationReason,
        out: &mut Vec<Effect>,
    ) {
        let replica = self.replicas.get_mut(&partition).expect("hosted");
        let from_leo = replica.leo();
        replica.log.truncate_to(to);
        if to >= from_leo {
            return;
        }
        replica.producers = producer_state::ProducerState::from_log(replica.log.records());
        let old_hw = replica.hw;
        replica.hw = replica.hw.min(to);
        out.push(Effect::Disk(DiskOp::Truncate { partition, len: to }));
        out.push(Effect::Trace(EventKind::Truncated {
            broker: self.id,
            partition,
            from_leo,
            to,
            hw: replica.hw,
            reason,
        }));
        if replica.hw < old_hw {
            out.push(Effect::Trace(EventKind::HwChanged {
                broker: self.id,
                partition,
                hw: replica.hw,
                covered: Vec::new(),
            }));
        }
    }

    /// Sets a replica's HW and traces the records it newly covers.
    fn set_hw(&mut self, partition: PartitionId, hw: Offset, out: &mut Vec<Effect>) {
        let replica = self.replicas.get_mut(&partition).expect("hosted");
        if hw == replica.hw {
            return;
        }
        assert!(hw <= replica.leo(), "hw must not pass the leo");
        let covered = if hw > replica.hw {
            let from = replica.hw;
            replica
                .log
                .slice(from, hw)
                .iter()
                .enumerate()
                .map(|(i, r)| (from.plus(i as u64), r.value))
                .collect()
        } else {
            Vec::new()
        };
        replica.hw = hw;
        out.push(Effect::Trace(EventKind::HwChanged {
            broker: self.id,
            partition,
            hw,
            covered,
        }));
    }

    /// Writes records to disk (and flushes them when every message must be durable).
    fn persist_append(
        &mut self,
        partition: PartitionId,
        records: Vec<Record>,
        out: &mut Vec<Effect>,
    ) {
        out.push(Effect::Disk(DiskOp::Append { partition, records }));
        if self.config.flush == FlushPolicy::EveryMessage {
            out.push(Effect::Disk(DiskOp::Flush { partition }));
        } else {
            self.replicas.get_mut(&partition).expect("hosted").unflushed = true;
        }
    }

    fn on_periodic(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        if now >= self.hw_checkpoint_at {
            for (p, replica) in self.replicas.iter_mut() {
                if replica.hw != replica.hw_checkpointed {
                    replica.hw_checkpointed = replica.hw;
                    out.push(Effect::Disk(DiskOp::CheckpointHw {
                        partition: *p,
                        hw: replica.hw,
                    }));
                }
            }
            self.hw_checkpoint_at =
                now.plus_ms(self.config.replica_high_watermark_checkpoint_interval_ms);
        }
        if let (Some(at), FlushPolicy::IntervalMs(ms)) = (self.flush_at, self.config.flush)
            && now >= at
        {
            for (p, replica) in self.replicas.iter_mut() {
                if replica.unflushed {
                    replica.unflushed = false;
                    out.push(Effect::Disk(DiskOp::Flush { partition: *p }));
                }
            }
            self.flush_at = Some(now.plus_ms(ms));
        }
    }

    /// Work that follows any state change: HW, parked requests, fetches.
    fn after_change(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        let partitions: Vec<PartitionId> = self.replicas.keys().copied().collect();
        for p in partitions {
            self.maybe_advance_hw(now, p, out);
        }
        self.complete_parked(now, false, out);
        if self.layout.has_offsets_topic() {
            self.sync_coordinators(now, out);
        }
        self.send_fetches(now, out);
    }
}

impl StateMachine for Broker {
    fn on_message(&mut self, now: SimTime, from: NodeId, message: Message, out: &mut Vec<Effect>) {
        match message {
            Message::Raft(message) => {
                self.step_observer(now, out, |o, out| o.on_message(now, from, *message, out))
            }
            Message::Group(message) => self.on_group_request(now, from, *message, out),
            Message::RegisterBrokerResponse {
                result: Err(ErrorCode::NotController),
            }
            | Message::HeartbeatResponse {
                error: Some(ErrorCode::NotController),
                ..
            } => self.on_not_controller(now),
            Message::RegisterBrokerResponse { result } => {
                if let (Ok(epoch), None) = (result, self.broker_epoch) {
                    self.broker_epoch = Some(epoch);
                    if self.observer.is_some() {
                        self.act_on_metadata(now, out); // its log may hold the registration
                    }
                    self.on_heartbeat_timer(now, out); // heartbeat at once to get metadata
                }
            }
            Message::HeartbeatResponse { error, metadata } => {
                if error.is_some() {
                    self.broker_epoch = None;
                }
                if let Some(image) = metadata {
                    self.apply_metadata(now, *image, out);
                }
            }
            Message::MetadataUpdate { metadata } => self.apply_metadata(now, *metadata, out),
            Message::AlterPartitionResponse {
                partition,
                attempt,
                result,
            } => self.on_alter_partition_response(now, from, (partition, attempt), result, out),
            Message::Produce {
                correlation,
                acks,
                timeout_ms,
                batch,
            } => self.on_produce(now, from, correlation, acks, timeout_ms, batch, out),
            Message::Fetch {
                correlation,
                replica,
                replica_epoch,
                max_wait_ms,
                partitions,
            } => self.on_fetch(
                now,
                from,
                correlation,
                replica,
                replica_epoch,
                max_wait_ms,
                partitions,
                out,
            ),
            Message::FetchResponse {
                correlation,
                sent_at,
                partitions,
            } => {
                if let NodeId::Broker(leader) = from {
                    let sent = (correlation, sent_at);
                    self.on_fetch_response(now, leader, sent, partitions, out);
                }
            }
            Message::MetadataRequest { correlation } => out.push(Effect::Send {
                to: from,
                message: Message::MetadataResponse {
                    correlation,
                    metadata: Box::new(self.metadata.clone()),
                },
            }),
            _ => {} // not addressed to brokers
        }
    }

    /// A leader this broker fetches from went away: its fetch failed, so the fetcher backs
    /// off `replica.fetch.backoff.ms` (Kafka's `AbstractFetcherThread` on a fetch error)
    /// and fetches again, from whichever leader metadata names by then. A controller that
    /// went away unbinds the AlterPartition channel if it was bound there. Other peers need
    /// nothing: heartbeats to the controller are periodic, and requests parked here for a
    /// client or follower that crashed complete as usual (their answers go nowhere, as
    /// Kafka's purgatory completes them regardless).
    fn on_disconnect(&mut self, now: SimTime, peer: NodeId, _: Disconnect, out: &mut Vec<Effect>) {
        if let NodeId::Controller(_) = peer {
            self.on_alter_channel_disconnect(now, peer);
            self.step_observer(now, out, |o, out| o.on_disconnect(now, peer, out));
        }
        if let NodeId::Broker(leader) = peer {
            self.on_leader_disconnect(now, leader);
            self.send_fetches(now, out);
        }
    }

    fn on_timeout(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        let observer_due = self.observer.as_ref().and_then(|o| o.next_deadline());
        if observer_due.is_some_and(|at| at <= now) {
            self.step_observer(now, out, |o, out| o.on_timeout(now, out));
        }
        if now >= self.heartbeat_at {
            self.on_heartbeat_timer(now, out);
        }
        if now >= self.isr_check_at {
            self.maybe_shrink_isr(now, out);
            self.isr_check_at = now.plus_ms(self.isr_check_interval_ms());
        }
        if self.alter_retry_at.is_some_and(|at| now >= at) {
            self.resend_pending_alters(now, out);
        }
        self.coordinator_timeouts(now, out);
        self.on_periodic(now, out);
        self.expire_fetchers(now);
        self.complete_parked(now, true, out);
        self.send_fetches(now, out);
    }

    fn next_deadline(&self) -> Option<SimTime> {
        let mut deadline = self
            .heartbeat_at
            .min(self.isr_check_at)
            .min(self.hw_checkpoint_at);
        let observer = self.observer.as_ref().and_then(|o| o.next_deadline());
        for at in [
            self.flush_at,
            self.alter_retry_at,
            observer,
            self.coordinator_deadline(),
        ]
        .into_iter()
        .flatten()
        {
            deadline = deadline.min(at);
        }
        for fetcher in self.fetchers.values() {
            if let Some(at) = fetcher.wake_at() {
                deadline = deadline.min(at);
            }
        }
        for parked in &self.parked_produce {
            deadline = deadline.min(parked.deadline);
        }
        // A fetch held for the ISR is released by the controller's answer (or the
        // metadata that ends the leadership), not by its deadline.
        for parked in self.parked_fetch.iter().filter(|p| !p.held_for_isr) {
            deadline = deadline.min(parked.deadline);
        }
        Some(deadline)
    }
}
