//! The messages of the space-time diagram, derived from protocol events rather than from
//! recorded datagrams (recording every datagram would slow every seed down):
//!
//! - produce: producer → leader, from the latest invocation among the batch's messages
//!   (the request leaves then or later) to the leader's append;
//! - ack: leader → producer, from the broker whose answer the producer took, at the time
//!   it sent it (both carried in `SendOk`; after a retry that is the broker that answered
//!   the retry, e.g. a new leader acknowledging a duplicate, not the first append), to
//!   the producer's `ok`;
//! - replicate: leader → follower, from the leader's send time (carried in the fetch
//!   response) to the follower's append;
//! - consume: leader → consumer, from the broker's `ConsumerServed` to the `Poll` that
//!   received that very answer (same broker, partition, first offset and send time, which
//!   `Poll` carries); a served answer that never arrived has no arrow;
//! - metadata: controller → broker, from the election to the broker taking up its role.
//!
//! Requests that carried nothing (empty fetches, heartbeats) have no arrow.

use std::collections::BTreeMap;

use crate::history::{EventKind, History};
use crate::types::{BrokerId, LeaderEpoch, MessageId, NodeId, Offset, PartitionId, SimTime};

/// What an arrow carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArrowKind {
    /// A produce request.
    Produce,
    /// A produce acknowledgement.
    Ack,
    /// Records a follower fetched.
    Replicate,
    /// Records a consumer fetched.
    Consume,
    /// The controller's leadership decision reaching a broker.
    Metadata,
}

impl ArrowKind {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ArrowKind::Produce => "produce",
            ArrowKind::Ack => "ack",
            ArrowKind::Replicate => "replicate",
            ArrowKind::Consume => "consume",
            ArrowKind::Metadata => "metadata",
        }
    }
}

/// One message drawn in the diagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arrow {
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// When it left.
    pub sent: SimTime,
    /// When it arrived (the receiving event's time).
    pub received: SimTime,
    /// What it carried.
    pub kind: ArrowKind,
    /// Index of the receiving event in the history.
    pub event: usize,
}

/// Facts remembered while walking the history.
#[derive(Default)]
struct Seen {
    invoked: BTreeMap<MessageId, SimTime>,
    /// Consumer answers sent and not yet matched to a `Poll`, by broker, partition,
    /// first offset and send time (several consumers may be served alike at once).
    served: BTreeMap<(BrokerId, PartitionId, Offset, SimTime), u32>,
    elected: BTreeMap<(PartitionId, LeaderEpoch), SimTime>,
}

/// Every arrow, in the order of the receiving events.
pub fn arrows(history: &History) -> Vec<Arrow> {
    let mut seen = Seen::default();
    let mut arrows = Vec::new();
    for (index, event) in history.events.iter().enumerate() {
        let t = event.time;
        if let Some((from, to, sent, kind)) = seen.arrow(&event.kind) {
            arrows.push(Arrow {
                from,
                to,
                sent: sent.min(t),
                received: t,
                kind,
                event: index,
            });
        }
        seen.remember(&event.kind, t);
    }
    arrows
}

/// Sender, receiver, send time and kind of an arrow.
type Drawn = (NodeId, NodeId, SimTime, ArrowKind);

impl Seen {
    /// Notes what later arrows need to know about `kind`, which happened at `t`.
    fn remember(&mut self, kind: &EventKind, t: SimTime) {
        match kind {
            EventKind::SendInvoke { value, .. } => {
                self.invoked.insert(*value, t);
            }
            EventKind::ConsumerServed {
                broker,
                partition,
                from,
                ..
            } => {
                *self
                    .served
                    .entry((*broker, *partition, *from, t))
                    .or_default() += 1;
            }
            EventKind::LeaderElected {
                partition,
                leader_epoch,
                ..
            } => {
                self.elected.insert((*partition, *leader_epoch), t);
            }
            _ => {}
        }
    }

    /// The arrow that ends at `kind`, if one does.
    fn arrow(&mut self, kind: &EventKind) -> Option<Drawn> {
        match kind {
            EventKind::LeaderAppended { broker, values, .. } => {
                let (sent, producer) = values
                    .iter()
                    .filter_map(|v| self.invoked.get(v).map(|at| (*at, v.producer)))
                    .max()?;
                let to = NodeId::Broker(*broker);
                Some((NodeId::Producer(producer), to, sent, ArrowKind::Produce))
            }
            EventKind::SendOk {
                producer,
                broker,
                sent_at,
                ..
            } => {
                let to = NodeId::Producer(*producer);
                Some((NodeId::Broker(*broker), to, *sent_at, ArrowKind::Ack))
            }
            EventKind::FollowerAppended {
                broker,
                leader,
                sent_at,
                ..
            } => {
                let (from, to) = (NodeId::Broker(*leader), NodeId::Broker(*broker));
                Some((from, to, *sent_at, ArrowKind::Replicate))
            }
            EventKind::Poll {
                consumer,
                partition,
                records,
                broker,
                sent_at,
            } => {
                let (first, _) = records.first()?;
                let key = (*broker, *partition, *first, *sent_at);
                let left = self.served.get_mut(&key)?;
                *left -= 1;
                if *left == 0 {
                    self.served.remove(&key);
                }
                let to = NodeId::Consumer(*consumer);
                Some((NodeId::Broker(*broker), to, *sent_at, ArrowKind::Consume))
            }
            EventKind::BecameLeader {
                broker,
                partition,
                leader_epoch,
                ..
            }
            | EventKind::BecameFollower {
                broker,
                partition,
                leader_epoch,
                ..
            } => {
                let sent = *self.elected.get(&(*partition, *leader_epoch))?;
                let to = NodeId::Broker(*broker);
                Some((NodeId::CONTROLLER, to, sent, ArrowKind::Metadata))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn produce_replicate_and_ack_arrows_follow_one_message() {
        let p = PartitionId(0);
        let v = MessageId {
            producer: 1,
            index: 0,
        };
        let (b1, b2) = (BrokerId(1), BrokerId(2));
        let mut h = History::new(vec!["t-0".into()]);
        let ms = SimTime::from_ms;
        let value = v;
        h.push(
            ms(1),
            EventKind::SendInvoke {
                producer: 1,
                partition: p,
                value,
            },
        );
        h.push(
            ms(3),
            EventKind::LeaderAppended {
                broker: b1,
                partition: p,
                leader_epoch: LeaderEpoch(1),
                base_offset: Offset(0),
                values: vec![v],
            },
        );
        h.push(
            ms(6),
            EventKind::FollowerAppended {
                broker: b2,
                partition: p,
                leader: b1,
                sent_at: ms(4),
                base_offset: Offset(0),
                records: vec![(LeaderEpoch(1), v)],
            },
        );
        h.push(
            ms(8),
            EventKind::HwChanged {
                broker: b1,
                partition: p,
                hw: Offset(1),
                covered: vec![(Offset(0), v)],
            },
        );
        let offset = Offset(0);
        h.push(
            ms(9),
            EventKind::SendOk {
                producer: 1,
                partition: p,
                value,
                offset,
                broker: b1,
                sent_at: ms(8),
            },
        );
        let got: Vec<(ArrowKind, SimTime, SimTime)> = arrows(&h)
            .iter()
            .map(|a| (a.kind, a.sent, a.received))
            .collect();
        assert_eq!(
            got,
            vec![
                (ArrowKind::Produce, ms(1), ms(3)),
                (ArrowKind::Replicate, ms(4), ms(6)),
                (ArrowKind::Ack, ms(8), ms(9)),
            ]
        );
    }

    /// (kind, from, to, sent, received) of every arrow.
    fn drawn(h: &History) -> Vec<(ArrowKind, NodeId, NodeId, SimTime, SimTime)> {
        arrows(h)
            .iter()
            .map(|a| (a.kind, a.from, a.to, a.sent, a.received))
            .collect()
    }

    #[test]
    fn ack_arrow_starts_at_the_broker_that_answered_the_retry() {
        // broker-1 appends and commits the value, then crashes before its answer leaves;
        // the producer retries to broker-2, which has the value (replicated) and
        // acknowledges the duplicate at its original offset.
        let p = PartitionId(0);
        let v = MessageId {
            producer: 1,
            index: 0,
        };
        let (b1, b2) = (BrokerId(1), BrokerId(2));
        let ms = SimTime::from_ms;
        let mut h = History::new(vec!["t-0".into()]);
        h.push(
            ms(1),
            EventKind::SendInvoke {
                producer: 1,
                partition: p,
                value: v,
            },
        );
        h.push(
            ms(3),
            EventKind::LeaderAppended {
                broker: b1,
                partition: p,
                leader_epoch: LeaderEpoch(1),
                base_offset: Offset(0),
                values: vec![v],
            },
        );
        h.push(
            ms(8),
            EventKind::HwChanged {
                broker: b1,
                partition: p,
                hw: Offset(1),
                covered: vec![(Offset(0), v)],
            },
        );
        h.push(
            ms(9),
            EventKind::Fault {
                description: "crash broker-1".into(),
            },
        );
        h.push(
            ms(2770),
            EventKind::SendRetry {
                producer: 1,
                partition: p,
                first: v,
                records: 1,
                attempt: 1,
            },
        );
        h.push(
            ms(2780),
            EventKind::SendOk {
                producer: 1,
                partition: p,
                value: v,
                offset: Offset(0),
                broker: b2,
                sent_at: ms(2775),
            },
        );
        let acks: Vec<_> = drawn(&h)
            .into_iter()
            .filter(|a| a.0 == ArrowKind::Ack)
            .collect();
        // Not (broker-1, 8 ms): broker-1's answer never left.
        assert_eq!(
            acks,
            vec![(
                ArrowKind::Ack,
                NodeId::Broker(b2),
                NodeId::Producer(1),
                ms(2775),
                ms(2780)
            )]
        );
    }

    #[test]
    fn consume_arrow_pairs_the_poll_with_the_answer_it_received() {
        // broker-1 serves offset 42 and crashes before the answer arrives; broker-2 serves
        // offset 42 twice, the first answer is lost too, the second is the one read.
        let p = PartitionId(0);
        let v = MessageId {
            producer: 1,
            index: 42,
        };
        let (b1, b2) = (BrokerId(1), BrokerId(2));
        let ms = SimTime::from_ms;
        let served = |broker| EventKind::ConsumerServed {
            broker,
            partition: p,
            from: Offset(42),
            count: 1,
            hw: Offset(43),
            leo: Offset(43),
        };
        let mut h = History::new(vec!["t-0".into()]);
        h.push(ms(4000), served(b1));
        h.push(
            ms(4001),
            EventKind::Fault {
                description: "crash broker-1".into(),
            },
        );
        h.push(ms(5800), served(b2));
        h.push(ms(5960), served(b2));
        h.push(
            ms(5970),
            EventKind::Poll {
                consumer: 1,
                partition: p,
                records: vec![(Offset(42), v)],
                broker: b2,
                sent_at: ms(5960),
            },
        );
        assert_eq!(
            drawn(&h),
            vec![(
                ArrowKind::Consume,
                NodeId::Broker(b2),
                NodeId::Consumer(1),
                ms(5960),
                ms(5970)
            )]
        );
        // A poll whose answer no `ConsumerServed` sent has no arrow.
        h.push(
            ms(5990),
            EventKind::Poll {
                consumer: 1,
                partition: p,
                records: vec![(Offset(43), v)],
                broker: b2,
                sent_at: ms(5980),
            },
        );
        assert_eq!(drawn(&h).len(), 1);
    }
}
