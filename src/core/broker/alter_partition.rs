//! The AlterPartition path of a partition leader: proposing an ISR change to the
//! controller, and the channel that carries it (Kafka's `AlterPartitionManager` over a
//! `NodeToControllerChannelManager` whose requests never expire).
//!
//! The channel is bound to one controller, the one metadata named when it was bound, and
//! stays bound until that controller answers NOT_CONTROLLER, its connection resets, or a
//! request on it has gone unanswered for `controller_socket_timeout_ms` (Kafka's
//! `controller.socket.timeout.ms`, 30 s: the network client's request timeout, after which
//! the request is queued again and sent to whichever controller metadata names then). So
//! a request sent to an active controller that loses power or is cut off waits that long
//! even when another controller has taken over: the window in which KIP-903's stale
//! AlterPartition arrives. While bound, an unanswered request is resent to the same
//! controller every second, standing in for TCP retransmission over our datagrams.

use crate::core::Effect;
use crate::core::broker::Broker;
use crate::core::broker::replica::{PendingAlter, Role};
use crate::core::message::{ErrorCode, Message};
use crate::core::metadata::PartitionRegistration;
use crate::types::{BrokerId, NodeId, PartitionId, SimTime};

/// How often an unanswered AlterPartition is resent on a bound channel (our stand-in for
/// TCP retransmission).
const ALTER_RETRANSMIT_MS: u64 = 1_000;

/// The controller a broker's AlterPartition channel is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct AlterChannel {
    /// Where every (re)send goes while bound.
    controller: NodeId,
    /// When the oldest send it has not answered since went out.
    unanswered_since: Option<SimTime>,
}

impl Broker {
    /// Proposes `isr` for `partition` (this broker leads it), with each member's broker
    /// epoch as this leader knows it (KIP-903), and sends it.
    pub(super) fn propose_isr(
        &mut self,
        now: SimTime,
        partition: PartitionId,
        isr: Vec<BrokerId>,
        out: &mut Vec<Effect>,
    ) {
        let replica = self.replicas.get_mut(&partition).expect("hosted");
        let based_on = replica.partition_epoch;
        let own_epoch = self.broker_epoch.unwrap_or_default();
        let Role::Leader(state) = &mut replica.role else {
            return;
        };
        let isr = isr
            .into_iter()
            .map(|b| {
                let epoch = if b == self.id {
                    own_epoch
                } else {
                    state
                        .followers
                        .get(&b)
                        .map(|p| p.broker_epoch)
                        .unwrap_or_default()
                };
                (b, epoch)
            })
            .collect();
        state.pending_alter = Some(PendingAlter {
            isr,
            based_on,
            attempt: 0,
        });
        self.send_alter(now, partition, out);
        self.alter_retry_at = Some(now.plus_ms(ALTER_RETRANSMIT_MS));
    }

    /// Sends the pending proposal of `partition` on the channel, binding it first to the
    /// controller metadata names if it is unbound.
    fn send_alter(&mut self, now: SimTime, partition: PartitionId, out: &mut Vec<Effect>) {
        if self.alter_channel.is_none() {
            let Some(controller) = self.controller() else {
                return; // resent once a controller is known (`alter_retry_at`)
            };
            self.alter_channel = Some(AlterChannel {
                controller,
                unanswered_since: None,
            });
        }
        let channel = self.alter_channel.as_mut().expect("bound above");
        let controller = channel.controller;
        channel.unanswered_since.get_or_insert(now);
        self.next_correlation += 1;
        let attempt = self.next_correlation;
        let replica = self.replicas.get_mut(&partition).expect("hosted");
        let (Role::Leader(state), Some(broker_epoch)) = (&mut replica.role, self.broker_epoch)
        else {
            return;
        };
        let Some(pending) = &mut state.pending_alter else {
            return;
        };
        pending.attempt = attempt;
        let new_isr = pending.isr.clone();
        out.push(Effect::Send {
            to: controller,
            message: Message::AlterPartition {
                broker: self.id,
                broker_epoch,
                partition,
                leader_epoch: replica.leader_epoch,
                partition_epoch: pending.based_on,
                new_isr,
                attempt,
            },
        });
    }

    /// Resends every pending proposal; first unbinds the channel if its controller has
    /// not answered for `controller_socket_timeout_ms`.
    pub(super) fn resend_pending_alters(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        self.alter_retry_at = None;
        let timeout_ms = self.config.controller_socket_timeout_ms;
        let timed_out = (self.alter_channel.as_ref())
            .and_then(|c| c.unanswered_since)
            .is_some_and(|since| now >= since.plus_ms(timeout_ms));
        if timed_out {
            self.alter_channel = None;
        }
        let partitions: Vec<PartitionId> = self.replicas.keys().copied().collect();
        for p in partitions {
            if self.replicas[&p].pending_alter().is_some() {
                self.send_alter(now, p, out);
                self.alter_retry_at = Some(now.plus_ms(ALTER_RETRANSMIT_MS));
            }
        }
    }

    /// The connection to `peer` reset: if the channel is bound to it, rebind (after
    /// `retry_backoff_ms`) to whichever controller metadata names.
    pub(super) fn on_alter_channel_disconnect(&mut self, now: SimTime, peer: NodeId) {
        if self
            .alter_channel
            .as_ref()
            .is_some_and(|c| c.controller == peer)
        {
            self.unbind_alter_channel(now);
        }
    }

    /// Unbinds the channel and resends pending proposals after `retry_backoff_ms`.
    fn unbind_alter_channel(&mut self, now: SimTime) {
        self.alter_channel = None;
        let any_pending = self.replicas.values().any(|r| r.pending_alter().is_some());
        if any_pending {
            self.alter_retry_at = Some(now.plus_ms(self.config.retry_backoff_ms));
        }
    }

    pub(super) fn on_alter_partition_response(
        &mut self,
        now: SimTime,
        from: NodeId,
        (partition, attempt): (PartitionId, u64),
        result: Result<PartitionRegistration, ErrorCode>,
        out: &mut Vec<Effect>,
    ) {
        if let Some(channel) = self.alter_channel.as_mut().filter(|c| c.controller == from) {
            channel.unanswered_since = None;
            if result == Err(ErrorCode::NotController) {
                self.unbind_alter_channel(now);
                return;
            }
        }
        let Some(replica) = self.replicas.get_mut(&partition) else {
            return;
        };
        let Role::Leader(state) = &mut replica.role else {
            return;
        };
        let latest = state
            .pending_alter
            .as_ref()
            .is_some_and(|p| p.attempt == attempt);
        match result {
            // A newer state of this leader's term, whichever send it answers, is the
            // controller's truth (as metadata would bring it); a pending proposal, based
            // on an older state, is settled by it (applied, or bound to be refused).
            Ok(registration)
                if registration.leader_epoch == replica.leader_epoch
                    && registration.partition_epoch > replica.partition_epoch =>
            {
                replica.partition_epoch = registration.partition_epoch;
                replica.isr = registration.isr.clone();
                state.pending_alter = None;
            }
            Ok(_) if latest => state.pending_alter = None,
            // Not applied, and our partition epoch is current: back to the committed ISR
            // (`handleAlterPartitionError`), but only for the latest send: an older one
            // may be refused while a resend is applied.
            Err(ErrorCode::IneligibleReplica) if latest => state.pending_alter = None,
            // Anything else: an older answer, or whether it was applied is unknown
            // (INVALID_UPDATE_VERSION: our state is stale). The proposal stays pending, so
            // the HW keeps waiting for the members it adds, until metadata brings the
            // partition's new state or a resend is answered.
            _ => return,
        }
        self.after_change(now, out);
    }
}
