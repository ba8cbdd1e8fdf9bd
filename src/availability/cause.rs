//! What began an outage: the fault (or, failing one, the event) the history shows at its
//! start, and the kind of fault it is.
//!
//! The pass records every `Fault` event, every `LeaderElected` and which brokers hold
//! which partition; [`CauseLog::attribute`] then looks, for an outage of partition P from
//! `from` (its last acknowledgement) to `to`, for the first of:
//! 1. the earliest fault that **starts** something (a crash, power loss, pause,
//!    isolation, network partition, packet-loss burst or latency spell) in the window
//!    from [`CAUSE_LOOKBACK_MS`] before `from` to [`MIN_OUTAGE_MS`] after it: a fault
//!    that stops acknowledgements does so at once, except that the ones already on their
//!    way still arrive for about a round trip;
//! 2. any other fault event in that window (a `restart`, `resume` or `heal`: a returning
//!    broker registers again and is fenced, which moves leadership), with kind `other`;
//! 3. the most recently started fault still in effect at `from` (a cut controller
//!    fences brokers only after their session timeout, so the silence begins well after
//!    the fault);
//! 4. a leader election of P during the outage (no fault explains it), kind `other`;
//! 5. nothing: `no fault or leader election seen`, kind `other`.
//!
//! Steps 1 to 3 skip faults of nodes that cannot matter to P: a crash, power loss,
//! pause or isolation counts only when it names the controller, a producer or a broker
//! that holds a replica of P (a consumer's fault never stops writes). Network partitions
//! and network changes always count.

use std::collections::BTreeSet;

use crate::availability::MIN_OUTAGE_MS;
use crate::availability::active::Active;
use crate::fault_mark::{FaultMark, parse};
use crate::history::{EventKind, History};
use crate::types::{BrokerId, NodeId, PartitionId, SimTime};

/// How long before an outage's last acknowledgement a fault may have begun it: the
/// acknowledgements already under way when a fault hits still arrive for about one round
/// trip through producer, leader and followers (some 50 ms at the usual 1-10 ms per
/// message), so a fault up to 100 ms before the silence counts as its start.
pub const CAUSE_LOOKBACK_MS: u64 = 100;

/// The kind of fault that began an outage. `explore` reports the time to recover per kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// A process crash (`crash`; the nemesis' `restart` and leader bounces crash too).
    Crash,
    /// A machine losing power (`power_loss`).
    PowerLoss,
    /// A frozen process (`pause`).
    Pause,
    /// A node cut off from everything (`isolate`).
    Isolation,
    /// Links cut between groups of nodes (`partition`).
    Partition,
    /// A packet-loss burst or a latency spell.
    Network,
    /// No fault explains it: a restart, resume or heal, a leader election, or nothing seen.
    Other,
}

impl FaultKind {
    /// Every kind, in report order.
    pub const ALL: [FaultKind; 7] = [
        FaultKind::Crash,
        FaultKind::PowerLoss,
        FaultKind::Pause,
        FaultKind::Isolation,
        FaultKind::Partition,
        FaultKind::Network,
        FaultKind::Other,
    ];

    /// The name in JSON: the scenario's fault action (`crash`, `power_loss`, `pause`,
    /// `isolate`, `partition`), `network` or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Crash => "crash",
            FaultKind::PowerLoss => "power_loss",
            FaultKind::Pause => "pause",
            FaultKind::Isolation => "isolate",
            FaultKind::Partition => "partition",
            FaultKind::Network => "network",
            FaultKind::Other => "other",
        }
    }

    /// The kind of a parsed fault.
    pub fn of(mark: &FaultMark) -> FaultKind {
        match mark {
            // A disk wipe stops the process as a crash does (then it restarts at once).
            FaultMark::Crash(_) | FaultMark::DiskWipe(_) => FaultKind::Crash,
            FaultMark::PowerLoss(_) => FaultKind::PowerLoss,
            FaultMark::Pause(_) => FaultKind::Pause,
            FaultMark::Isolate(_) => FaultKind::Isolation,
            FaultMark::Partition(_) => FaultKind::Partition,
            FaultMark::PacketLoss(_) | FaultMark::Latency(..) => FaultKind::Network,
            FaultMark::Restart(_) | FaultMark::Resume(_) | FaultMark::Heal => FaultKind::Other,
        }
    }
}

impl std::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What began an outage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    /// Readable: the fault's description (`crash broker-2`), an election's, or `no fault
    /// or leader election seen`.
    pub description: String,
    /// The kind of fault.
    pub kind: FaultKind,
    /// The history event it comes from, if any.
    pub event: Option<usize>,
}

/// One `Fault` event of the history.
#[derive(Clone, Debug)]
struct FaultRecord {
    time: SimTime,
    event: usize,
    /// `None` for a description the view's parser does not know.
    mark: Option<FaultMark>,
}

/// What the availability pass keeps for attributing causes.
#[derive(Default)]
pub(super) struct CauseLog {
    faults: Vec<FaultRecord>,
    /// (time, partition, event index) of every `LeaderElected`.
    elections: Vec<(SimTime, PartitionId, usize)>,
    /// Per partition, the brokers seen holding a replica of it.
    replicas: Vec<BTreeSet<BrokerId>>,
}

impl CauseLog {
    /// A `Fault` event.
    pub fn fault(&mut self, time: SimTime, event: usize, description: &str) {
        let mark = parse(description);
        self.faults.push(FaultRecord { time, event, mark });
    }

    /// A `LeaderElected` event.
    pub fn election(&mut self, time: SimTime, partition: PartitionId, event: usize) {
        self.elections.push((time, partition, event));
    }

    /// `broker` holds a replica of `partition`.
    pub fn replica(&mut self, partition: PartitionId, broker: BrokerId) {
        let i = partition.0 as usize;
        if self.replicas.len() <= i {
            self.replicas.resize_with(i + 1, BTreeSet::new);
        }
        self.replicas[i].insert(broker);
    }

    /// The cause of an outage of `partition` from `from` to `to` (the rules are in the
    /// module documentation).
    pub fn attribute(
        &self,
        history: &History,
        partition: PartitionId,
        from: SimTime,
        to: SimTime,
    ) -> Cause {
        let window_start = SimTime(from.0.saturating_sub(CAUSE_LOOKBACK_MS * 1000));
        let window_end = from.plus_ms(MIN_OUTAGE_MS).min(to);
        let mut active = Active::default();
        let mut before: Option<Vec<usize>> = None; // faults in effect at the window's start
        let mut other_in_window = None;
        for (i, record) in self.faults.iter().enumerate() {
            if record.time > window_end {
                break;
            }
            if record.time >= window_start && before.is_none() {
                before = Some(active.starts.clone());
            }
            let started = active.apply(i, record.mark.as_ref());
            if record.time < window_start {
                continue;
            }
            if !self.relevant(record, partition) {
                continue;
            }
            if started {
                return self.fault_cause(history, record);
            }
            other_in_window.get_or_insert(record);
        }
        if let Some(record) = other_in_window {
            return Cause {
                kind: FaultKind::Other,
                ..self.fault_cause(history, record)
            };
        }
        let before = before.unwrap_or(active.starts);
        let latest_active = before
            .iter()
            .rev()
            .map(|i| &self.faults[*i])
            .find(|r| self.relevant(r, partition));
        if let Some(record) = latest_active {
            return self.fault_cause(history, record);
        }
        self.election_cause(history, partition, from, to)
    }

    fn fault_cause(&self, history: &History, record: &FaultRecord) -> Cause {
        Cause {
            description: describe(history, record.event),
            kind: record.mark.as_ref().map_or(FaultKind::Other, FaultKind::of),
            event: Some(record.event),
        }
    }

    /// Steps 4 and 5: an election of the partition during the outage, or nothing.
    fn election_cause(
        &self,
        history: &History,
        partition: PartitionId,
        from: SimTime,
        to: SimTime,
    ) -> Cause {
        let election = self
            .elections
            .iter()
            .find(|(time, p, _)| *p == partition && *time >= from && *time <= to);
        match election {
            Some((_, _, event)) => Cause {
                description: describe(history, *event),
                kind: FaultKind::Other,
                event: Some(*event),
            },
            None => Cause {
                description: "no fault or leader election seen".to_string(),
                kind: FaultKind::Other,
                event: None,
            },
        }
    }

    /// Whether the fault can matter to writes of `partition`.
    fn relevant(&self, record: &FaultRecord, partition: PartitionId) -> bool {
        let nodes = match &record.mark {
            Some(
                FaultMark::Crash(n)
                | FaultMark::PowerLoss(n)
                | FaultMark::DiskWipe(n)
                | FaultMark::Pause(n)
                | FaultMark::Resume(n)
                | FaultMark::Restart(n)
                | FaultMark::Isolate(n),
            ) => n,
            _ => return true,
        };
        let replicas = self.replicas.get(partition.0 as usize);
        nodes.iter().any(|node| match node {
            NodeId::Controller(_) | NodeId::Producer(_) => true,
            NodeId::Consumer(_) | NodeId::Member(..) => false,
            NodeId::Broker(b) => replicas.is_none_or(|r| r.is_empty() || r.contains(b)),
        })
    }
}

fn describe(history: &History, event: usize) -> String {
    match history.events.get(event) {
        Some(e) => match &e.kind {
            EventKind::Fault { description } => description.clone(),
            kind => history.describe(kind),
        },
        None => "unknown event".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::History;

    const P0: PartitionId = PartitionId(0);

    /// A cause log and history from `(ms, fault description)` pairs; broker 1..=3 hold
    /// P0, broker 4 does not.
    fn log(faults: &[(u64, &str)]) -> (CauseLog, History) {
        let mut history = History::new(vec!["t-0".into()]);
        let mut log = CauseLog::default();
        for b in 1..=3 {
            log.replica(P0, BrokerId(b));
        }
        for (ms, description) in faults {
            let t = SimTime::from_ms(*ms);
            history.push(
                t,
                EventKind::Fault {
                    description: description.to_string(),
                },
            );
            log.fault(t, history.events.len() - 1, description);
        }
        (log, history)
    }

    fn cause(faults: &[(u64, &str)], from: u64, to: u64) -> (String, FaultKind) {
        let (log, history) = log(faults);
        let c = log.attribute(&history, P0, SimTime::from_ms(from), SimTime::from_ms(to));
        (c.description, c.kind)
    }

    #[test]
    fn a_fault_in_the_first_moments_began_the_outage() {
        let c = cause(
            &[(1000, "pause broker-1"), (3004, "crash broker-2")],
            3000,
            4500,
        );
        assert_eq!(c, ("crash broker-2".to_string(), FaultKind::Crash));
        let c = cause(&[(3100, "power_loss broker-3")], 3000, 4500);
        assert_eq!(c.1, FaultKind::PowerLoss);
        // Acknowledgements under way still arrived after this pause: the earliest start
        // of the window is the cause.
        let c = cause(
            &[(2930, "pause broker-1"), (3100, "crash broker-2")],
            3000,
            4500,
        );
        assert_eq!(c, ("pause broker-1".to_string(), FaultKind::Pause));
        let c = cause(
            &[(2850, "crash broker-1"), (2860, "restart broker-1")],
            3000,
            4500,
        );
        assert_eq!(c.1, FaultKind::Other, "over and done before the window");
        let c = cause(
            &[(
                3001,
                "partition [broker-1] | [broker-2, broker-3, controller]",
            )],
            3000,
            9000,
        );
        assert_eq!(c.1, FaultKind::Partition);
    }

    #[test]
    fn else_the_latest_fault_still_in_effect() {
        let c = cause(&[(5000, "isolate controller"), (9000, "heal")], 6500, 8000);
        assert_eq!(c, ("isolate controller".to_string(), FaultKind::Isolation));
        let ended = cause(
            &[(1000, "pause broker-1"), (1500, "resume broker-1")],
            3000,
            4000,
        );
        assert_eq!(
            ended.1,
            FaultKind::Other,
            "a resumed pause explains nothing later"
        );
        let c = cause(
            &[(1000, "crash broker-1"), (2000, "pause broker-2")],
            3000,
            4000,
        );
        assert_eq!(
            c,
            ("pause broker-2".to_string(), FaultKind::Pause),
            "the latest one"
        );
        let c = cause(
            &[
                (1000, "crash [broker-1, broker-2]"),
                (2000, "restart broker-2"),
            ],
            3000,
            4000,
        );
        assert_eq!(c.1, FaultKind::Crash, "broker-1 is still down");
    }

    #[test]
    fn faults_of_nodes_that_do_not_hold_the_partition_are_skipped() {
        let c = cause(
            &[(3010, "crash broker-4"), (3020, "pause consumer-1")],
            3000,
            4000,
        );
        assert_eq!(c.1, FaultKind::Other);
        let c = cause(
            &[(3010, "crash broker-4"), (3020, "pause producer-1")],
            3000,
            4000,
        );
        assert_eq!(c, ("pause producer-1".to_string(), FaultKind::Pause));
    }

    #[test]
    fn network_changes_start_and_end_in_turn() {
        let c = cause(&[(1000, "latency [20, 180]")], 3000, 3600);
        assert_eq!(c, ("latency [20, 180]".to_string(), FaultKind::Network));
        let c = cause(
            &[(1000, "latency [20, 180]"), (2000, "latency [1, 10]")],
            3000,
            3600,
        );
        assert_eq!(c.1, FaultKind::Other, "the spell ended");
        let c = cause(
            &[(1000, "packet_loss 0.2"), (2000, "packet_loss 0")],
            3000,
            3600,
        );
        assert_eq!(c.1, FaultKind::Other);
        let c = cause(&[(1000, "packet_loss 0.2")], 3000, 3600);
        assert_eq!(c.1, FaultKind::Network);
    }

    #[test]
    fn without_a_fault_a_restart_then_an_election_then_nothing() {
        let c = cause(
            &[(1000, "crash broker-1"), (3050, "restart broker-1")],
            3000,
            4000,
        );
        assert_eq!(c, ("restart broker-1".to_string(), FaultKind::Other));
        let (mut log, mut history) = log(&[]);
        history.push(
            SimTime::from_ms(3200),
            EventKind::LeaderElected {
                partition: P0,
                leader: None,
                leader_epoch: crate::types::LeaderEpoch(4),
                partition_epoch: crate::types::PartitionEpoch(9),
                isr: vec![],
                elr: vec![],
                unclean: false,
            },
        );
        log.election(SimTime::from_ms(3200), P0, 0);
        let c = log.attribute(&history, P0, SimTime::from_ms(3000), SimTime::from_ms(4000));
        assert!(
            c.description
                .starts_with("controller elected none leader of t-0"),
            "{c:?}"
        );
        assert_eq!((c.kind, c.event), (FaultKind::Other, Some(0)));
        let none = log.attribute(&history, P0, SimTime::from_ms(5000), SimTime::from_ms(6000));
        assert_eq!(none.description, "no fault or leader election seen");
        assert_eq!(none.event, None);
    }
}
