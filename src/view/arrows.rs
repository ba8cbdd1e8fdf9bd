//! The messages of the space-time diagram, derived from protocol events rather than from
//! recorded datagrams (recording every datagram would slow every seed down):
//!
//! - produce: producer → leader, from the latest invocation among the batch's messages
//!   (the request leaves then or later) to the leader's append;
//! - ack: leader → producer, from the moment the leader could answer (its append, or the
//!   HW covering the message when that came later) to the producer's `ok`;
//! - replicate: leader → follower, from the leader's send time (carried in the fetch
//!   response) to the follower's append;
//! - consume: leader → consumer, from the broker serving the records to the poll;
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
    appended: BTreeMap<MessageId, (BrokerId, SimTime)>,
    covered: BTreeMap<(BrokerId, MessageId), SimTime>,
    served: BTreeMap<(PartitionId, Offset), Vec<(BrokerId, SimTime)>>,
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
            EventKind::LeaderAppended { broker, values, .. } => {
                for v in values {
                    self.appended.insert(*v, (*broker, t));
                }
            }
            EventKind::HwChanged {
                broker, covered, ..
            } => {
                for (_, v) in covered {
                    self.covered.insert((*broker, *v), t);
                }
            }
            EventKind::ConsumerServed {
                broker,
                partition,
                from,
                ..
            } => {
                let queue = self.served.entry((*partition, *from)).or_default();
                queue.push((*broker, t));
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
                producer, value, ..
            } => {
                let (broker, appended) = *self.appended.get(value)?;
                let covered = self.covered.get(&(broker, *value)).copied();
                let sent = covered.map_or(appended, |c| c.max(appended));
                let to = NodeId::Producer(*producer);
                Some((NodeId::Broker(broker), to, sent, ArrowKind::Ack))
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
            } => {
                let (first, _) = records.first()?;
                let queue = self.served.get_mut(&(*partition, *first))?;
                if queue.is_empty() {
                    return None;
                }
                let (broker, sent) = queue.remove(0);
                let to = NodeId::Consumer(*consumer);
                Some((NodeId::Broker(broker), to, sent, ArrowKind::Consume))
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
}
