//! Builders for small hand-written histories in checker tests.

use crate::config::{Config, FlushPolicy};
use crate::history::{EventKind, History, TruncationReason};
use crate::types::{
    BrokerId, LeaderEpoch, MessageId, Offset, PartitionEpoch, PartitionId, SimTime,
};
use crate::violation::Violation;

/// The first partition (`t-0`).
pub const P0: PartitionId = PartitionId(0);
/// The second partition (`t-1`, with [`Builder::with_partitions`]).
pub const P1: PartitionId = PartitionId(1);

/// Message `p{producer}-{index}`.
pub fn m(producer: u8, index: u32) -> MessageId {
    MessageId { producer, index }
}

/// acks=all, min.insync=2, unclean off, flush never: nothing permits a loss unless the
/// history shows an unclean election or a power loss.
pub fn safe_config() -> Config {
    Config {
        min_insync_replicas: 2,
        ..Config::default()
    }
}

/// [`safe_config`] with fsync on every message: nothing at all permits a loss.
pub fn strict_config() -> Config {
    Config {
        flush: FlushPolicy::EveryMessage,
        ..safe_config()
    }
}

/// `(kind, partition, offsets)` of each violation, for compact assertions.
pub fn summary(violations: &[Violation]) -> Vec<(&'static str, String, Vec<u64>)> {
    let partition = |v: &Violation| v.partition.clone().unwrap_or_default();
    violations
        .iter()
        .map(|v| (v.kind.as_str(), partition(v), v.offsets.clone()))
        .collect()
}

/// A history under construction; every event is 1 ms after the previous one.
#[derive(Default)]
pub struct Builder {
    /// The history so far.
    pub history: History,
    now_ms: u64,
}

impl Builder {
    /// A history with one partition, `t-0`.
    pub fn new() -> Builder {
        Builder::with_partitions(&["t-0"])
    }

    /// A history with these partition names.
    pub fn with_partitions(names: &[&str]) -> Builder {
        let names = names.iter().map(|n| n.to_string()).collect();
        Builder {
            history: History::new(names),
            now_ms: 0,
        }
    }

    /// Appends an event and returns its index.
    pub fn push(&mut self, kind: EventKind) -> usize {
        self.now_ms += 1;
        self.history.push(SimTime::from_ms(self.now_ms), kind);
        self.history.events.len() - 1
    }

    /// Lets `ms` milliseconds pass before the next event.
    pub fn wait_ms(&mut self, ms: u64) {
        self.now_ms += ms;
    }

    /// Producer `p` starts sending its `n`-th message to `t-0`.
    pub fn invoke(&mut self, p: u8, n: u32) -> usize {
        self.push(EventKind::SendInvoke {
            producer: p,
            partition: P0,
            value: m(p, n),
        })
    }

    /// The send of `p{p}-{n}` to `t-0` succeeds at `offset`.
    pub fn ok(&mut self, p: u8, n: u32, offset: u64) -> usize {
        self.ok_to(P0, p, n, offset)
    }

    /// The send of `p{p}-{n}` to `partition` succeeds at `offset`.
    pub fn ok_to(&mut self, partition: PartitionId, p: u8, n: u32, offset: u64) -> usize {
        let value = m(p, n);
        self.push(EventKind::SendOk {
            producer: p,
            partition,
            value,
            offset: Offset(offset),
            broker: crate::types::BrokerId(1),
            sent_at: crate::types::SimTime::ZERO,
        })
    }

    /// Invoke and success on `t-0`; returns both indices.
    pub fn send_ok(&mut self, p: u8, n: u32, offset: u64) -> (usize, usize) {
        self.send_ok_to(P0, p, n, offset)
    }

    /// Invoke and success on `partition`; returns both indices.
    pub fn send_ok_to(&mut self, part: PartitionId, p: u8, n: u32, offset: u64) -> (usize, usize) {
        let invoke = self.push(EventKind::SendInvoke {
            producer: p,
            partition: part,
            value: m(p, n),
        });
        (invoke, self.ok_to(part, p, n, offset))
    }

    /// Invoke and definite failure on `t-0`; returns both indices.
    pub fn send_fail(&mut self, p: u8, n: u32) -> (usize, usize) {
        let invoke = self.invoke(p, n);
        let error = "NOT_ENOUGH_REPLICAS".to_string();
        (
            invoke,
            self.push(EventKind::SendFail {
                producer: p,
                partition: P0,
                value: m(p, n),
                error,
            }),
        )
    }

    /// Invoke and indeterminate outcome on `t-0`; returns both indices.
    pub fn send_info(&mut self, p: u8, n: u32) -> (usize, usize) {
        let invoke = self.invoke(p, n);
        let error = "REQUEST_TIMED_OUT".to_string();
        (
            invoke,
            self.push(EventKind::SendInfo {
                producer: p,
                partition: P0,
                value: m(p, n),
                error,
            }),
        )
    }

    /// Consumer `c` reads these records of `t-0`.
    pub fn poll(&mut self, c: u8, records: &[(u64, MessageId)]) -> usize {
        let records = records.iter().map(|(o, v)| (Offset(*o), *v)).collect();
        self.push(EventKind::Poll {
            consumer: c,
            partition: P0,
            records,
            broker: crate::types::BrokerId(1),
            sent_at: crate::types::SimTime::ZERO,
        })
    }

    /// Consumer `c` is told to move its `t-0` position from `from` to `to`.
    pub fn reset(&mut self, c: u8, from: u64, to: u64) -> usize {
        self.push(EventKind::ConsumerReset {
            consumer: c,
            partition: P0,
            from: Offset(from),
            to: Offset(to),
            reason: "log truncation detected".into(),
        })
    }

    /// The controller elects `leader` for `t-0` in `epoch`.
    pub fn elected(&mut self, leader: u8, epoch: u32, unclean: bool) -> usize {
        self.push(EventKind::LeaderElected {
            partition: P0,
            leader: Some(BrokerId(leader)),
            leader_epoch: LeaderEpoch(epoch),
            partition_epoch: PartitionEpoch(epoch),
            isr: vec![BrokerId(leader)],
            elr: vec![],
            unclean,
        })
    }

    /// The controller sets the ISR of `t-0` to `members`, keeping its leader (epoch 0).
    pub fn isr_changed(&mut self, members: &[u8]) -> usize {
        self.push(EventKind::IsrChanged {
            partition: P0,
            leader_epoch: LeaderEpoch(0),
            partition_epoch: PartitionEpoch(1),
            isr: members.iter().map(|m| BrokerId(*m)).collect(),
            elr: vec![],
        })
    }

    /// Broker `b` starts leading `t-0` in `epoch`.
    pub fn became_leader(&mut self, b: u8, epoch: u32) -> usize {
        self.push(EventKind::BecameLeader {
            broker: BrokerId(b),
            partition: P0,
            leader_epoch: LeaderEpoch(epoch),
            leso: Offset(0),
        })
    }

    /// Broker `b`, leading `t-0` in `epoch`, appends `values` from `base`.
    pub fn appended(&mut self, b: u8, epoch: u32, base: u64, values: &[MessageId]) -> usize {
        self.push(EventKind::LeaderAppended {
            broker: BrokerId(b),
            partition: P0,
            leader_epoch: LeaderEpoch(epoch),
            base_offset: Offset(base),
            values: values.to_vec(),
        })
    }

    /// Broker `b`'s HW of `t-0` moves to `hw`, newly covering `covered` (from offset `from`).
    pub fn hw(&mut self, b: u8, hw: u64, from: u64, covered: &[MessageId]) -> usize {
        let covered = covered
            .iter()
            .enumerate()
            .map(|(i, v)| (Offset(from + i as u64), *v));
        self.push(EventKind::HwChanged {
            broker: BrokerId(b),
            partition: P0,
            hw: Offset(hw),
            covered: covered.collect(),
        })
    }

    /// Broker `b` cuts its `t-0` log from `from_leo` to `to`.
    pub fn truncated(&mut self, b: u8, from_leo: u64, to: u64) -> usize {
        self.push(EventKind::Truncated {
            broker: BrokerId(b),
            partition: P0,
            from_leo: Offset(from_leo),
            to: Offset(to),
            hw: Offset(to),
            reason: TruncationReason::DivergingEpoch,
        })
    }

    /// A fault, e.g. `crash broker-1`.
    pub fn fault(&mut self, description: &str) -> usize {
        self.push(EventKind::Fault {
            description: description.into(),
        })
    }

    /// `partition` did not converge.
    pub fn unavailable(&mut self, partition: PartitionId) -> usize {
        let reason = "no leader after the convergence window".to_string();
        self.push(EventKind::Unavailable { partition, reason })
    }

    /// Broker `b`'s final `t-0` log (all in epoch 1) with its HW.
    pub fn final_replica(&mut self, b: u8, hw: u64, values: &[MessageId]) -> usize {
        self.push(EventKind::FinalReplica {
            broker: BrokerId(b),
            partition: P0,
            hw: Offset(hw),
            records: values.iter().map(|v| (LeaderEpoch(1), *v)).collect(),
        })
    }

    /// The final committed log of `t-0`, led by broker 1.
    pub fn final_partition(&mut self, values: &[MessageId]) -> usize {
        self.final_partition_of(P0, values)
    }

    /// The final committed log of `partition`, led by broker 1.
    pub fn final_partition_of(&mut self, partition: PartitionId, values: &[MessageId]) -> usize {
        self.push(EventKind::FinalPartition {
            partition,
            leader: Some(BrokerId(1)),
            hw: Offset(values.len() as u64),
            records: values.to_vec(),
        })
    }
}
