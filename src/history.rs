//! The recorded execution: every client operation, protocol event and fault, in simulated
//! time order. The shell appends; checkers, reports and the trace hash only read.
//!
//! Architecture invariant: this module depends only on `types`. Checkers see the run
//! through a `&History` and nothing else, so a checker cannot change an outcome.

use std::fmt::Write as _;
use std::hash::{Hash, Hasher};

use crate::group_event::GroupEvent;
use crate::quorum_event::QuorumEvent;
use crate::types::{
    BrokerEpoch, BrokerId, LeaderEpoch, MessageId, NodeId, Offset, PartitionEpoch, PartitionId,
    SimTime,
};

/// Why a replica's log got shorter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TruncationReason {
    /// The leader answered a fetch with a diverging epoch (KIP-101/279/KAFKA-10554).
    DivergingEpoch,
    /// Old rule: truncate to the local HW on becoming follower or after restart.
    HighWatermark,
    /// The leader's log is shorter than the follower's fetch offset (KAFKA-7414).
    OffsetOutOfRange,
    /// Power loss dropped unflushed records; recovery cut the log here.
    PowerLoss,
    /// The broker's drive was replaced (`disk_wipe`): the whole log is gone.
    DiskWipe,
}

impl TruncationReason {
    /// Short lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            TruncationReason::DivergingEpoch => "diverging-epoch",
            TruncationReason::HighWatermark => "high-watermark",
            TruncationReason::OffsetOutOfRange => "offset-out-of-range",
            TruncationReason::PowerLoss => "power-loss",
            TruncationReason::DiskWipe => "disk-wipe",
        }
    }
}

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // variant fields are named for what they hold; the variant doc explains them
pub enum EventKind {
    // ---- client-visible (exported by `run --history`) ----
    /// A producer starts sending `value` to `partition`.
    SendInvoke {
        producer: u8,
        partition: PartitionId,
        value: MessageId,
    },
    /// Definite success: the leader appended `value` at `offset`. `broker` is the broker
    /// whose answer the producer took and `sent_at` when that broker sent it (after a
    /// retry, possibly a later leader acknowledging a duplicate); both only traced (the
    /// space-time diagram's ack arrows), not part of the exported client history.
    SendOk {
        producer: u8,
        partition: PartitionId,
        value: MessageId,
        offset: Offset,
        broker: BrokerId,
        sent_at: SimTime,
    },
    /// Definite failure: rejected before append (e.g. NOT_ENOUGH_REPLICAS).
    SendFail {
        producer: u8,
        partition: PartitionId,
        value: MessageId,
        error: String,
    },
    /// Indeterminate: timeout, lost reply, or an error after append. May or may not exist.
    SendInfo {
        producer: u8,
        partition: PartitionId,
        value: MessageId,
        error: String,
    },
    /// A producer sent a batch again after an earlier attempt of it failed or timed out.
    /// `first` is the batch's first value, `records` its size, `attempt` the 1-based
    /// number of this retry. Not part of the exported client history.
    SendRetry {
        producer: u8,
        partition: PartitionId,
        first: MessageId,
        records: u32,
        attempt: u32,
    },
    /// A consumer was handed these records (consecutive offsets, in order). `broker`
    /// answered the fetch and sent the answer at `sent_at` (its `ConsumerServed`); both
    /// only traced (the space-time diagram's consume arrows), not part of the exported
    /// client history.
    Poll {
        consumer: u8,
        partition: PartitionId,
        records: Vec<(Offset, MessageId)>,
        broker: BrokerId,
        sent_at: SimTime,
    },
    /// A consumer was told its position is invalid and moved it (KIP-320 truncation
    /// detection, or offset out of range). Not a silent skip.
    ConsumerReset {
        consumer: u8,
        partition: PartitionId,
        from: Offset,
        to: Offset,
        reason: String,
    },

    // ---- the controller quorum ----
    /// The metadata log and the active controller ([`QuorumEvent`]).
    Quorum(QuorumEvent),

    // ---- controller decisions ----
    /// A broker registered and got a new broker epoch.
    BrokerRegistered {
        broker: BrokerId,
        broker_epoch: BrokerEpoch,
    },
    /// The controller fenced a broker (session expired).
    BrokerFenced { broker: BrokerId },
    /// The controller unfenced a broker (heartbeat from a registered broker).
    BrokerUnfenced { broker: BrokerId },
    /// The controller set a new leader (or none) for a partition. `unclean` when chosen
    /// outside ISR and ELR.
    LeaderElected {
        partition: PartitionId,
        leader: Option<BrokerId>,
        leader_epoch: LeaderEpoch,
        partition_epoch: PartitionEpoch,
        isr: Vec<BrokerId>,
        elr: Vec<BrokerId>,
        unclean: bool,
    },
    /// The controller committed a new ISR/ELR without changing the leader.
    IsrChanged {
        partition: PartitionId,
        leader_epoch: LeaderEpoch,
        partition_epoch: PartitionEpoch,
        isr: Vec<BrokerId>,
        elr: Vec<BrokerId>,
    },

    // ---- broker (replica) events ----
    /// A broker started acting as leader of a partition in `leader_epoch` with LEO `leso`.
    BecameLeader {
        broker: BrokerId,
        partition: PartitionId,
        leader_epoch: LeaderEpoch,
        leso: Offset,
    },
    /// A broker started following `leader` in `leader_epoch`.
    BecameFollower {
        broker: BrokerId,
        partition: PartitionId,
        leader_epoch: LeaderEpoch,
        leader: Option<BrokerId>,
    },
    /// A leader asked the controller to add `follower` to the ISR: the follower's LEO and
    /// the leader epoch start offset then (KAFKA-7128 requires `follower_leo >= leso`).
    IsrExpansion {
        broker: BrokerId,
        partition: PartitionId,
        follower: BrokerId,
        follower_leo: Offset,
        leso: Offset,
    },
    /// A leader appended produced records stamped with `leader_epoch`.
    LeaderAppended {
        broker: BrokerId,
        partition: PartitionId,
        leader_epoch: LeaderEpoch,
        base_offset: Offset,
        values: Vec<MessageId>,
    },
    /// A follower appended records fetched from `leader`, which sent them at `sent_at`
    /// (epoch and value per offset from `base_offset`).
    FollowerAppended {
        broker: BrokerId,
        partition: PartitionId,
        leader: BrokerId,
        sent_at: SimTime,
        base_offset: Offset,
        records: Vec<(LeaderEpoch, MessageId)>,
    },
    /// A broker (re)started with this much of a partition's log and this HW checkpoint.
    ReplicaRecovered {
        broker: BrokerId,
        partition: PartitionId,
        leo: Offset,
        hw: Offset,
    },
    /// A replica's HW moved (either way). `covered` lists the records newly below the HW
    /// when it rose (offset order); empty when it fell.
    HwChanged {
        broker: BrokerId,
        partition: PartitionId,
        hw: Offset,
        covered: Vec<(Offset, MessageId)>,
    },
    /// A replica cut its log from `from_leo` down to `to`.
    Truncated {
        broker: BrokerId,
        partition: PartitionId,
        from_leo: Offset,
        to: Offset,
        hw: Offset,
        reason: TruncationReason,
    },
    /// A leader served a consumer `count` records from `from`, with its HW and LEO then.
    ConsumerServed {
        broker: BrokerId,
        partition: PartitionId,
        from: Offset,
        count: u64,
        hw: Offset,
        leo: Offset,
    },

    // ---- connections (the shell's; a process crash on a host that stays up) ----
    /// `node` learnt that its connection to `peer` is gone: reset by `peer`'s host (its
    /// process crashed), or, with `refused`, a connection attempt to the down process
    /// was refused.
    Disconnected {
        node: NodeId,
        peer: NodeId,
        refused: bool,
    },

    // ---- faults and run phases ----
    /// A fault the scenario or nemesis applied, with its targets resolved, e.g.
    /// `crash broker-2` or `partition [broker-1] | [broker-2, broker-3]`.
    Fault { description: String },
    /// A run phase began (`heal`, `converge`, `drain`, `done`).
    Phase { name: String },
    /// A partition did not converge (accept and deliver writes) in the final window.
    Unavailable {
        partition: PartitionId,
        reason: String,
    },
    /// The finale's drain gave up on a consumer: when its window ran out, `consumer` had
    /// read `partition` only up to `position`, below `end` (the partition leader's HW).
    DrainGaveUp {
        consumer: u8,
        partition: PartitionId,
        position: Offset,
        end: Offset,
    },
    /// The finale's drain ended after `waited_ms`: every consumer had read every
    /// partition that has a leader up to that leader's HW (`complete`), or its window ran
    /// out (then a `DrainGaveUp` names each consumer and partition still behind).
    Drained { waited_ms: u64, complete: bool },

    // ---- final state, after convergence ----
    /// One replica's final log (epoch and value per offset), LEO and HW.
    FinalReplica {
        broker: BrokerId,
        partition: PartitionId,
        hw: Offset,
        records: Vec<(LeaderEpoch, MessageId)>,
    },
    /// The committed log of a partition as its final leader holds it (offsets 0..hw).
    FinalPartition {
        partition: PartitionId,
        leader: Option<BrokerId>,
        hw: Offset,
        records: Vec<MessageId>,
    },
    // ---- consumer groups (last: earlier variants keep their hash discriminants) ----
    /// Group members and coordinators ([`GroupEvent`]).
    Group(GroupEvent),
}

/// One recorded event with its simulated time.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Event {
    /// When it happened.
    pub time: SimTime,
    /// What happened.
    pub kind: EventKind,
}

/// The network every link had when the run started (the scenario's `network`). Later
/// changes are `Fault` events (`packet_loss 0.2`, `latency [4, 120]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StartNetwork {
    /// Per-message latency range in milliseconds.
    pub latency_ms: (u64, u64),
    /// Share of datagrams lost on every link.
    pub packet_loss: f64,
}

impl Default for StartNetwork {
    /// The scenario format's default: `[1, 10]` ms, no loss.
    fn default() -> Self {
        StartNetwork {
            latency_ms: (1, 10),
            packet_loss: 0.0,
        }
    }
}

/// The whole recorded run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// `topic-index` for every `PartitionId`, for rendering.
    pub partition_names: Vec<String>,
    /// The network at the start (an input of the run, like the partition names; not part
    /// of the trace hash, which covers what happened).
    pub network: StartNetwork,
    /// Events in the order they happened (simulated time is non-decreasing).
    pub events: Vec<Event>,
}

impl History {
    /// An empty history for a cluster with these partition names.
    pub fn new(partition_names: Vec<String>) -> History {
        History {
            partition_names,
            network: StartNetwork::default(),
            events: Vec::new(),
        }
    }

    /// Appends an event. Time must not go backwards.
    pub fn push(&mut self, time: SimTime, kind: EventKind) {
        if let Some(last) = self.events.last() {
            assert!(last.time <= time, "history time went backwards");
        }
        self.events.push(Event { time, kind });
    }

    /// `topic-index` of a partition.
    pub fn partition_name(&self, partition: PartitionId) -> &str {
        &self.partition_names[partition.0 as usize]
    }

    /// One line describing event `index`, e.g. `[  3012.004ms] #118 crash broker-2`.
    pub fn render(&self, index: usize) -> String {
        let event = &self.events[index];
        format!(
            "[{:>12}] #{index} {}",
            event.time.to_string(),
            self.describe(&event.kind)
        )
    }

    /// The event's description without time or index.
    pub fn describe(&self, kind: &EventKind) -> String {
        use EventKind::*;
        let name = |p: &PartitionId| self.partition_name(*p).to_string();
        match kind {
            SendInvoke {
                producer,
                partition,
                value,
            } => {
                format!("producer-{producer} send {value} to {}", name(partition))
            }
            SendOk {
                producer,
                partition,
                value,
                offset,
                ..
            } => {
                format!(
                    "producer-{producer} ok {value} at {}@{offset}",
                    name(partition)
                )
            }
            SendFail {
                producer,
                partition,
                value,
                error,
            } => {
                format!(
                    "producer-{producer} fail {value} to {}: {error}",
                    name(partition)
                )
            }
            SendInfo {
                producer,
                partition,
                value,
                error,
            } => {
                format!(
                    "producer-{producer} indeterminate {value} to {}: {error}",
                    name(partition)
                )
            }
            SendRetry {
                producer,
                partition,
                first,
                records,
                attempt,
            } => format!(
                "producer-{producer} retries {first} (+{} more) to {}, retry {attempt}",
                records.saturating_sub(1),
                name(partition)
            ),
            Poll {
                consumer,
                partition,
                records,
                ..
            } => {
                let mut s = format!("consumer-{consumer} read {}:", name(partition));
                for (o, v) in records {
                    let _ = write!(s, " {o}={v}");
                }
                s
            }
            ConsumerReset {
                consumer,
                partition,
                from,
                to,
                reason,
            } => {
                format!(
                    "consumer-{consumer} reset {} position {from} -> {to}: {reason}",
                    name(partition)
                )
            }
            BrokerRegistered {
                broker,
                broker_epoch,
            } => {
                format!(
                    "controller registered broker-{broker} with broker epoch {}",
                    broker_epoch.0
                )
            }
            Quorum(event) => event.describe(),
            Group(event) => event.describe(|p| self.partition_name(p).to_string()),
            BrokerFenced { broker } => format!("controller fenced broker-{broker}"),
            BrokerUnfenced { broker } => format!("controller unfenced broker-{broker}"),
            LeaderElected {
                partition,
                leader,
                leader_epoch,
                partition_epoch,
                isr,
                elr,
                unclean,
            } => {
                format!(
                    "controller elected {} leader of {} in {leader_epoch} (partition epoch {}) isr {} elr {}",
                    render_leader(*leader),
                    name(partition),
                    partition_epoch.0,
                    render_brokers(isr),
                    render_brokers(elr)
                ) + if *unclean { " UNCLEAN" } else { "" }
            }
            IsrChanged {
                partition,
                leader_epoch,
                partition_epoch,
                isr,
                elr,
            } => format!(
                "controller set isr of {} to {} elr {} ({leader_epoch}, partition epoch {})",
                name(partition),
                render_brokers(isr),
                render_brokers(elr),
                partition_epoch.0
            ),
            BecameLeader {
                broker,
                partition,
                leader_epoch,
                leso,
            } => {
                format!(
                    "broker-{broker} leads {} in {leader_epoch} from offset {leso}",
                    name(partition)
                )
            }
            IsrExpansion {
                broker,
                partition,
                follower,
                follower_leo,
                leso,
            } => {
                format!(
                    "broker-{broker} proposes broker-{follower} for the ISR of {} (its LEO \
                     {follower_leo}, epoch start {leso})",
                    name(partition)
                )
            }
            BecameFollower {
                broker,
                partition,
                leader_epoch,
                leader,
            } => format!(
                "broker-{broker} follows {} for {} in {leader_epoch}",
                render_leader(*leader),
                name(partition)
            ),
            LeaderAppended {
                broker,
                partition,
                leader_epoch,
                base_offset,
                values,
            } => {
                let mut s = format!(
                    "broker-{broker} appended to {} in {leader_epoch}:",
                    name(partition)
                );
                for (i, v) in values.iter().enumerate() {
                    let _ = write!(s, " {}={v}", base_offset.plus(i as u64));
                }
                s
            }
            FollowerAppended {
                broker,
                partition,
                leader,
                base_offset,
                records,
                ..
            } => {
                let mut s = format!(
                    "broker-{broker} fetched from broker-{leader} into {}:",
                    name(partition)
                );
                for (i, (epoch, v)) in records.iter().enumerate() {
                    let _ = write!(s, " {}={v}({epoch})", base_offset.plus(i as u64));
                }
                s
            }
            ReplicaRecovered {
                broker,
                partition,
                leo,
                hw,
            } => format!(
                "broker-{broker} started with {} leo {leo} hw {hw}",
                name(partition)
            ),
            HwChanged {
                broker,
                partition,
                hw,
                ..
            } => {
                format!("broker-{broker} hw of {} -> {hw}", name(partition))
            }
            Truncated {
                broker,
                partition,
                from_leo,
                to,
                hw,
                reason,
            } => format!(
                "broker-{broker} truncated {} from {from_leo} to {to} (hw {hw}, {})",
                name(partition),
                reason.as_str()
            ),
            ConsumerServed {
                broker,
                partition,
                from,
                count,
                hw,
                leo,
            } => format!(
                "broker-{broker} served consumer {} offsets {from}..{} (hw {hw}, leo {leo})",
                name(partition),
                from.plus(*count)
            ),
            Disconnected {
                node,
                peer,
                refused,
            } => {
                if *refused {
                    format!("{node} connection to {peer} refused ({peer} is down)")
                } else {
                    format!("{node} connection to {peer} reset ({peer} crashed)")
                }
            }
            Fault { description } => description.clone(),
            Phase { name } => format!("phase {name}"),
            Unavailable { partition, reason } => {
                format!("{} unavailable: {reason}", name(partition))
            }
            DrainGaveUp {
                consumer,
                partition,
                position,
                end,
            } => format!(
                "drain gave up on consumer-{consumer}: {} read to {position}, end {end}",
                name(partition)
            ),
            Drained {
                waited_ms,
                complete,
            } => {
                let how = if *complete {
                    "every consumer reached the end"
                } else {
                    "gave up"
                };
                format!("drain ended after {waited_ms} ms: {how}")
            }
            FinalReplica {
                broker,
                partition,
                hw,
                records,
            } => format!(
                "final broker-{broker} {} leo {} hw {hw}",
                name(partition),
                records.len()
            ),
            FinalPartition {
                partition,
                leader,
                hw,
                ..
            } => {
                format!(
                    "final {} leader {} hw {hw}",
                    name(partition),
                    render_leader(*leader)
                )
            }
        }
    }

    /// A hash of every event (time and every field): changes whenever anything in the
    /// execution changes. It hashes the events' derived `Hash` output, so it is the same
    /// for the same binary on any machine of one architecture, which is what replay and
    /// shard merging compare; a different compiler may give different hashes.
    pub fn trace_hash(&self) -> u64 {
        let mut hasher = crate::trace_hasher::TraceHasher::default();
        self.events.hash(&mut hasher);
        hasher.finish()
    }
}

fn render_leader(leader: Option<BrokerId>) -> String {
    match leader {
        Some(b) => format!("broker-{b}"),
        None => "none".to_string(),
    }
}

/// `[1, 2, 3]`.
pub fn render_brokers(brokers: &[BrokerId]) -> String {
    let ids: Vec<String> = brokers.iter().map(|b| b.0.to_string()).collect();
    format!("[{}]", ids.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_hash_changes_with_any_event() {
        let mut a = History::new(vec!["t-0".into()]);
        a.push(
            SimTime::from_ms(1),
            EventKind::Fault {
                description: "crash broker-1".into(),
            },
        );
        let mut b = a.clone();
        assert_eq!(a.trace_hash(), b.trace_hash());
        b.push(
            SimTime::from_ms(2),
            EventKind::Phase {
                name: "heal".into(),
            },
        );
        assert_ne!(a.trace_hash(), b.trace_hash());
    }
}
