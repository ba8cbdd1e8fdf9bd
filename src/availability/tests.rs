//! The availability pass over hand-written histories.

use super::*;
use crate::types::{BrokerId, LeaderEpoch, MessageId, Offset, PartitionId};

const P0: PartitionId = PartitionId(0);
const P1: PartitionId = PartitionId(1);

/// A history of two partitions (`t-0`, `t-1`), each replicated on brokers 1..=3, written
/// as events at explicit times in any order; [`Script::history`] sorts them by time
/// (events at the same time keep the order they were added in).
struct Script {
    events: Vec<(u64, EventKind)>,
    next: u32,
}

impl Script {
    fn new() -> Script {
        let mut s = Script {
            events: Vec::new(),
            next: 0,
        };
        for partition in [P0, P1] {
            for b in 1..=3 {
                s.at(
                    0,
                    EventKind::ReplicaRecovered {
                        broker: BrokerId(b),
                        partition,
                        leo: Offset(0),
                        hw: Offset(0),
                    },
                );
            }
        }
        s
    }

    fn history(&self) -> History {
        let mut events: Vec<&(u64, EventKind)> = self.events.iter().collect();
        events.sort_by_key(|(ms, _)| *ms); // stable
        let mut history = History::new(vec!["t-0".into(), "t-1".into()]);
        for (ms, kind) in events {
            history.push(SimTime::from_ms(*ms), kind.clone());
        }
        history
    }

    fn at(&mut self, ms: u64, kind: EventKind) {
        self.events.push((ms, kind));
    }

    /// A send to `partition` invoked at `ms`; returns its value.
    fn invoke(&mut self, ms: u64, partition: PartitionId) -> MessageId {
        let value = MessageId {
            producer: 1,
            index: self.next,
        };
        self.next += 1;
        self.at(
            ms,
            EventKind::SendInvoke {
                producer: 1,
                partition,
                value,
            },
        );
        value
    }

    fn ok(&mut self, ms: u64, partition: PartitionId, value: MessageId) {
        let offset = Offset(u64::from(value.index));
        self.at(
            ms,
            EventKind::SendOk {
                producer: 1,
                partition,
                value,
                offset,
                broker: crate::types::BrokerId(1),
                sent_at: crate::types::SimTime::ZERO,
            },
        );
    }

    fn info(&mut self, ms: u64, partition: PartitionId, value: MessageId) {
        let error = "acks=0: no acknowledgement".to_string();
        self.at(
            ms,
            EventKind::SendInfo {
                producer: 1,
                partition,
                value,
                error,
            },
        );
    }

    fn fault(&mut self, ms: u64, description: &str) {
        let description = description.to_string();
        self.at(ms, EventKind::Fault { description });
    }

    fn phase(&mut self, ms: u64, name: &str) {
        let name = name.to_string();
        self.at(ms, EventKind::Phase { name });
    }

    /// One write to each partition every 10 ms in `[from, to)`, acknowledged `latency`
    /// ms later, except that partition `silent.0` acknowledges nothing in
    /// `[silent.1, silent.2)` (those acknowledgements come at `silent.2`).
    fn steady(&mut self, from: u64, to: u64, latency: u64, silent: (PartitionId, u64, u64)) {
        for ms in (from..to).step_by(10) {
            for p in [P0, P1] {
                let v = self.invoke(ms, p);
                let mut ack = ms + latency;
                if p == silent.0 && ack >= silent.1 && ack < silent.2 {
                    ack = silent.2;
                }
                self.ok(ack, p, v);
            }
        }
    }
}

#[test]
fn latency_percentiles_of_acknowledged_workload_sends() {
    let mut s = Script::new();
    // 100 sends to t-0 acknowledged after 1..=100 ms, one refused, one probe after heal.
    let values: Vec<MessageId> = (0..100).map(|i| s.invoke(i, P0)).collect();
    let refused = s.invoke(100, P1);
    for (i, v) in values.iter().enumerate() {
        s.ok(2 * i as u64 + 1, P0, *v); // invoked at i, acked at 2i+1: latency i+1 ms
    }
    s.at(
        300,
        EventKind::SendFail {
            producer: 1,
            partition: P1,
            value: refused,
            error: "NOT_ENOUGH_REPLICAS".into(),
        },
    );
    s.phase(400, "heal");
    let probe = s.invoke(500, P0);
    s.ok(9000, P0, probe);
    let a = Availability::of(&s.history());
    let p = a.produce_latency;
    assert_eq!(
        p.count, 100,
        "the refused send and the probe are not counted"
    );
    assert_eq!(p.p50_us, Some(50_000));
    assert_eq!(p.p99_us, Some(99_000));
    assert_eq!(p.max_us, Some(100_000));
    assert_eq!(a.sends.len(), 102);
    let last = a.sends.last().unwrap();
    assert_eq!((last.outcome, last.in_workload), (SendOutcome::Ok, false));
    assert_eq!(a.sends[100].outcome, SendOutcome::Fail);
    assert_eq!(a.sends[100].latency_us(), Some(200_000));
    assert_eq!(a.workload_end, SimTime::from_ms(400));
    let h = a.latency_histogram();
    assert_eq!((h.count, h.max_us), (100, 100_000));
}

#[test]
fn a_steady_history_has_no_outage() {
    let mut s = Script::new();
    s.steady(0, 5000, 25, (P0, 0, 0));
    s.phase(5000, "heal");
    let a = Availability::of(&s.history());
    assert_eq!(a.outages, vec![]);
    assert_eq!(a.produce_latency.max_us, Some(25_000));
    assert_eq!(a.worst_outage(), None);
}

#[test]
fn a_leader_crash_gives_an_outage_of_its_partition_with_the_crash_as_cause() {
    let mut s = Script::new();
    s.fault(1000, "pause consumer-1"); // cannot stop writes
    s.fault(3000, "crash broker-2");
    s.steady(0, 8000, 20, (P0, 3000, 4800));
    s.phase(8000, "heal");
    let history = s.history();
    let a = Availability::of(&s.history());
    assert_eq!(a.outages.len(), 1, "{:?}", a.outages);
    let o = &a.outages[0];
    assert_eq!(o.partition, P0);
    assert_eq!(
        (o.from.as_ms(), o.to.as_ms()),
        (2990, 4800),
        "last ack before, first after"
    );
    assert!(!o.open);
    assert_eq!(o.cause, "crash broker-2");
    assert_eq!(o.kind, FaultKind::Crash);
    let event = &history.events[o.cause_event.unwrap()];
    assert_eq!(event.time, SimTime::from_ms(3000));
    assert_eq!(o.length_ms(), 1810);
    assert_eq!(a.worst_outage(), Some(o));
    let by_kind = a.outage_lengths_by_kind();
    assert_eq!(
        by_kind.keys().copied().collect::<Vec<_>>(),
        vec![FaultKind::Crash]
    );
    assert_eq!(by_kind[&FaultKind::Crash].max_us, 1_810_000);
}

#[test]
fn an_outage_still_running_at_the_end_of_the_workload_ends_there_and_is_open() {
    let mut s = Script::new();
    s.fault(
        2000,
        "partition [broker-1] | [broker-2, broker-3, controller]",
    );
    // t-0 stops acknowledging; its writes are acknowledged only in the finale.
    s.steady(0, 6000, 20, (P0, 2000, 9000));
    s.phase(6000, "heal");
    let a = Availability::of(&s.history());
    assert_eq!(a.outages.len(), 1, "{:?}", a.outages);
    let o = &a.outages[0];
    assert_eq!((o.partition, o.open), (P0, true));
    assert_eq!((o.from.as_ms(), o.to.as_ms()), (1990, 6000));
    assert_eq!(o.kind, FaultKind::Partition);
    assert!(o.cause.starts_with("partition [broker-1]"), "{}", o.cause);
    // The late acknowledgements still count for latency: the write of 1980 ms waited
    // until 9000 ms.
    assert_eq!(a.produce_latency.max_us, Some(7_020_000));
}

#[test]
fn with_acks_0_nothing_is_acknowledged_and_no_outage_is_reported() {
    let mut s = Script::new();
    s.fault(1000, "crash broker-1");
    for ms in (0..3000).step_by(5) {
        let v = s.invoke(ms, P0);
        s.info(ms, P0, v);
    }
    s.phase(3000, "heal");
    let a = Availability::of(&s.history());
    assert_eq!(a.outages, vec![]);
    assert_eq!(a.produce_latency, Percentiles::default());
    assert!(
        a.sends
            .iter()
            .all(|x| x.outcome == SendOutcome::Indeterminate)
    );
}

#[test]
fn without_a_heal_phase_the_whole_history_is_the_workload() {
    let mut s = Script::new();
    let v = s.invoke(0, P0);
    s.ok(10, P0, v);
    s.invoke(100, P0);
    s.at(
        900,
        EventKind::LeaderElected {
            partition: P0,
            leader: None,
            leader_epoch: LeaderEpoch(3),
            partition_epoch: crate::types::PartitionEpoch(3),
            isr: vec![],
            elr: vec![],
            unclean: false,
        },
    );
    let a = Availability::of(&s.history());
    assert_eq!(a.workload_end, SimTime::from_ms(900));
    assert_eq!(a.outages.len(), 1);
    let o = &a.outages[0];
    assert_eq!((o.from.as_ms(), o.to.as_ms(), o.open), (100, 900, true));
    assert_eq!(o.kind, FaultKind::Other);
    assert!(
        o.cause.starts_with("controller elected none leader of t-0"),
        "{}",
        o.cause
    );
}
