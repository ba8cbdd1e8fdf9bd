//! Facts about a history that several checkers look up per finding (where a send started,
//! which truncations, elections and faults happened, what the configuration permits),
//! gathered in one pass so that a run with many findings stays linear-ish. The pass runs
//! on the first lookup: a clean run, whose checkers find nothing, never pays for it.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};

use super::Evidence;
use crate::config::{Acks, Config, ConsumerReadLimit, FlushPolicy};
use crate::history::{EventKind, History, TruncationReason};
use crate::types::{BrokerId, MessageId, PartitionId};

/// Most truncations [`Facts::add_cut_evidence`] names for one offset.
const CUTS_MAX: usize = 2;

/// Indices of the events checkers cite as evidence, by partition, gathered on first use.
#[derive(Debug)]
pub struct Facts<'a> {
    history: &'a History,
    index: OnceCell<Index>,
}

/// What one pass over the history gathers.
#[derive(Debug, Default)]
struct Index {
    /// First `SendInvoke` per (partition, value).
    invokes: BTreeMap<(PartitionId, MessageId), usize>,
    /// `Truncated` events per partition: (index, to, from_leo), in history order.
    truncations: BTreeMap<PartitionId, Vec<(usize, u64, u64)>>,
    /// `LeaderElected` events per partition, in history order.
    elections: BTreeMap<PartitionId, Vec<usize>>,
    /// `Fault` events, in history order.
    faults: Vec<usize>,
    /// Partitions with an unclean election.
    unclean: BTreeSet<PartitionId>,
    /// Whether any fault was a power loss.
    power_loss: bool,
    /// Partitions a broker was elected to lead after its disk was wiped (its log of the
    /// partition cut to nothing) and before the controller added it to the ISR again: it
    /// had stayed in the ISR, whose other members stopped, so Kafka knew of no better
    /// leader (it has no directory ids here, KIP-858).
    wiped_leader: BTreeSet<PartitionId>,
}

impl<'a> Facts<'a> {
    /// Facts about `history`; the pass over it happens on the first lookup.
    pub fn new(history: &'a History) -> Facts<'a> {
        Facts {
            history,
            index: OnceCell::new(),
        }
    }

    fn index(&self) -> &Index {
        self.index.get_or_init(|| Index::new(self.history))
    }

    /// Index of the `SendInvoke` of `value` to `partition`, if recorded.
    pub fn invoke(&self, partition: PartitionId, value: MessageId) -> Option<usize> {
        self.index().invokes.get(&(partition, value)).copied()
    }

    /// The latest `LeaderElected` on `partition` before event `before`.
    pub fn election_before(&self, partition: PartitionId, before: usize) -> Option<usize> {
        latest_before(self.index().elections.get(&partition)?, before)
    }

    /// The latest `Fault` before event `before`.
    pub fn fault_before(&self, before: usize) -> Option<usize> {
        latest_before(&self.index().faults, before)
    }

    /// Adds the events that explain why `offset` of `partition` changed after event
    /// `after`: the truncations of that partition that cut it (at most two), each with the
    /// latest election on the partition and the latest fault before it. Without such a
    /// truncation, the latest election and fault after `after`.
    pub fn add_cut_evidence(
        &self,
        evidence: &mut Evidence,
        partition: PartitionId,
        offset: u64,
        after: usize,
    ) {
        let truncations = self
            .index()
            .truncations
            .get(&partition)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let cuts = truncations
            .iter()
            .filter(|(index, to, from_leo)| *index > after && *to <= offset && offset < *from_leo)
            .take(CUTS_MAX);
        let mut any = false;
        for (index, _, _) in cuts {
            evidence.add_opt(self.election_before(partition, *index));
            evidence.add_opt(self.fault_before(*index));
            evidence.add(*index);
            any = true;
        }
        if !any {
            evidence.add_opt(
                self.election_before(partition, usize::MAX)
                    .filter(|i| *i > after),
            );
            evidence.add_opt(self.fault_before(usize::MAX).filter(|i| *i > after));
        }
    }

    /// The configuration setting that permits losing or replacing acknowledged or
    /// committed data of `partition` (lost-write, inconsistent-offsets, divergence), if
    /// any: acks 0/1, then an unclean election on the partition (when
    /// `unclean_leader_election` is on), then min.insync=1, then a replica whose disk was
    /// wiped led the partition before it had been added to the ISR again, then a power
    /// loss without fsync per message.
    pub fn loss_permitted_by(&self, config: &Config, partition: PartitionId) -> Option<String> {
        let setting = match config.acks {
            Acks::Zero => "acks=0",
            Acks::One => "acks=1",
            // An unclean election that happened is the most specific reason. With the
            // setting off, an unclean election can only be ELR's last-known-leader
            // fallback after every replica shut down uncleanly: the power loss permits it.
            Acks::All
                if config.unclean_leader_election && self.index().unclean.contains(&partition) =>
            {
                "unclean_leader_election"
            }
            Acks::All if config.min_insync_replicas == 1 => "min_insync_replicas=1",
            Acks::All if self.index().wiped_leader.contains(&partition) => {
                "disk_wipe of an in-sync replica that then led"
            }
            Acks::All => self.power_loss_permitted_by(config)?,
        };
        Some(setting.to_string())
    }

    /// The flush setting, when a power loss happened and the setting let it drop data.
    fn power_loss_permitted_by(&self, config: &Config) -> Option<&'static str> {
        match config.flush {
            FlushPolicy::Never if self.index().power_loss => Some("flush=never with power loss"),
            FlushPolicy::IntervalMs(_) if self.index().power_loss => {
                Some("flush=interval with power loss")
            }
            _ => None,
        }
    }

    /// The setting that permits two replicas to hold different committed records at one
    /// offset (divergence, invariant I4). Neither acks nor min.insync do: the HW only
    /// covers what the ISR holds, and epochs reconcile the rest. Only an unclean election
    /// on the partition replaces committed data while an old replica still holds it:
    /// chosen by `unclean_leader_election`, or ELR's last-known-leader fallback after
    /// every replica lost power (permitted by the flush setting).
    pub fn divergence_permitted_by(
        &self,
        config: &Config,
        partition: PartitionId,
    ) -> Option<String> {
        if !self.index().unclean.contains(&partition) {
            return None;
        }
        let setting = if config.unclean_leader_election {
            "unclean_leader_election"
        } else {
            self.power_loss_permitted_by(config)?
        };
        Some(setting.to_string())
    }

    /// Like [`Facts::loss_permitted_by`], but a broker that serves consumers up to the LEO
    /// permits reading uncommitted data first.
    pub fn read_permitted_by(&self, config: &Config, partition: PartitionId) -> Option<String> {
        if config.consumer_read_limit == ConsumerReadLimit::LogEnd {
            return Some("consumer_read_limit=log-end".to_string());
        }
        self.loss_permitted_by(config, partition)
    }
}

impl Index {
    /// One pass over `history`.
    fn new(history: &History) -> Index {
        let mut facts = Index::default();
        let mut wipes = Wipes::default();
        for (index, event) in history.events.iter().enumerate() {
            if let Some(partition) = wipes.apply(&event.kind) {
                facts.wiped_leader.insert(partition);
            }
            match &event.kind {
                EventKind::SendInvoke {
                    partition, value, ..
                } => {
                    facts.invokes.entry((*partition, *value)).or_insert(index);
                }
                EventKind::Truncated {
                    partition,
                    from_leo,
                    to,
                    ..
                } => {
                    let cut = (index, to.0, from_leo.0);
                    facts.truncations.entry(*partition).or_default().push(cut);
                }
                EventKind::LeaderElected {
                    partition, unclean, ..
                } => {
                    facts.elections.entry(*partition).or_default().push(index);
                    if *unclean {
                        facts.unclean.insert(*partition);
                    }
                }
                EventKind::Fault { description } => {
                    facts.faults.push(index);
                    facts.power_loss |= description.starts_with("power_loss");
                }
                _ => {}
            }
        }
        facts
    }
}

/// Per partition, the replicas whose disk was wiped and that the controller has not added
/// to the ISR since, with the ISR as last recorded.
#[derive(Default)]
struct Wipes {
    wiped: BTreeMap<PartitionId, BTreeSet<BrokerId>>,
    isr: BTreeMap<PartitionId, Vec<BrokerId>>,
}

impl Wipes {
    /// Follows one event; gives the partition when it elects a wiped replica leader.
    fn apply(&mut self, kind: &EventKind) -> Option<PartitionId> {
        let (partition, leader, isr) = match kind {
            EventKind::Truncated {
                broker,
                partition,
                reason: TruncationReason::DiskWipe,
                ..
            } => {
                self.wiped.entry(*partition).or_default().insert(*broker);
                return None;
            }
            EventKind::LeaderElected {
                partition,
                leader,
                isr,
                ..
            } => (partition, *leader, isr),
            EventKind::IsrChanged { partition, isr, .. } => (partition, None, isr),
            _ => return None,
        };
        // Before the first recorded change every replica is in the ISR (none was added).
        let before = (self.isr.insert(*partition, isr.clone())).unwrap_or_else(|| isr.clone());
        let wiped = self.wiped.entry(*partition).or_default();
        wiped.retain(|b| !isr.contains(b) || before.contains(b));
        leader.filter(|b| wiped.contains(b)).map(|_| *partition)
    }
}

/// The last of the sorted `indices` below `before`.
fn latest_before(indices: &[usize], before: usize) -> Option<usize> {
    let below = indices.partition_point(|i| *i < before);
    below.checked_sub(1).map(|i| indices[i])
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn permitted_by_follows_the_configuration_in_order() {
        let mut b = Builder::new();
        b.fault("power_loss broker-2");
        let facts = Facts::new(&b.history);
        let with = |c: Config| facts.loss_permitted_by(&c, P0);
        assert_eq!(
            with(Config {
                acks: Acks::One,
                ..safe_config()
            })
            .as_deref(),
            Some("acks=1")
        );
        assert_eq!(
            with(Config {
                acks: Acks::Zero,
                ..safe_config()
            })
            .as_deref(),
            Some("acks=0")
        );
        assert_eq!(
            with(Config::default()).as_deref(),
            Some("min_insync_replicas=1")
        );
        assert_eq!(
            with(safe_config()).as_deref(),
            Some("flush=never with power loss")
        );
        let interval = Config {
            flush: FlushPolicy::IntervalMs(100),
            ..safe_config()
        };
        assert_eq!(
            with(interval).as_deref(),
            Some("flush=interval with power loss")
        );
        assert_eq!(with(strict_config()), None);
        assert_eq!(
            Facts::new(&Builder::new().history).loss_permitted_by(&safe_config(), P0),
            None
        );

        b.elected(2, 3, true);
        let facts = Facts::new(&b.history);
        let unclean_on = Config {
            unclean_leader_election: true,
            ..strict_config()
        };
        let unclean = facts.loss_permitted_by(&unclean_on, P0);
        assert_eq!(unclean.as_deref(), Some("unclean_leader_election"));
        let fallback = Config {
            unclean_leader_election: false,
            ..strict_config()
        };
        assert_eq!(
            facts.loss_permitted_by(&fallback, P0),
            None,
            "no setting permits it: a model bug"
        );
        assert_eq!(facts.loss_permitted_by(&strict_config(), P1), None);
        let log_end = Config {
            consumer_read_limit: ConsumerReadLimit::LogEnd,
            ..strict_config()
        };
        let read = facts.read_permitted_by(&log_end, P0);
        assert_eq!(read.as_deref(), Some("consumer_read_limit=log-end"));
    }

    #[test]
    fn finds_the_latest_election_and_fault_before_an_event() {
        let mut b = Builder::new();
        let first = b.elected(1, 1, false);
        let crash = b.fault("crash broker-1");
        let second = b.elected(2, 2, false);
        let facts = Facts::new(&b.history);
        assert_eq!(facts.election_before(P0, first), None);
        assert_eq!(facts.election_before(P0, second), Some(first));
        assert_eq!(facts.election_before(P0, usize::MAX), Some(second));
        assert_eq!(facts.election_before(P1, usize::MAX), None);
        assert_eq!(facts.fault_before(crash), None);
        assert_eq!(facts.fault_before(second), Some(crash));
    }
}

#[cfg(test)]
mod wipe_tests {
    use super::super::test_support::*;
    use super::*;
    use crate::types::Offset;

    fn wiped(b: &mut Builder, broker: u8) {
        b.push(EventKind::Truncated {
            broker: BrokerId(broker),
            partition: P0,
            from_leo: Offset(5),
            to: Offset(0),
            hw: Offset(0),
            reason: TruncationReason::DiskWipe,
        });
    }

    #[test]
    fn a_wiped_replica_that_stayed_in_the_isr_and_led_permits_the_loss() {
        let mut b = Builder::new();
        b.isr_changed(&[1, 2]);
        wiped(&mut b, 2);
        b.isr_changed(&[2]);
        b.elected(2, 1, false);
        let permitted = Facts::new(&b.history).loss_permitted_by(&strict_config(), P0);
        assert_eq!(
            permitted.as_deref(),
            Some("disk_wipe of an in-sync replica that then led")
        );
    }

    #[test]
    fn not_once_the_controller_added_it_to_the_isr_again_nor_for_another_leader() {
        let mut b = Builder::new();
        b.isr_changed(&[1]);
        wiped(&mut b, 2);
        b.isr_changed(&[1, 2]); // re-admitted: it had caught up, or a stale join did it
        b.elected(2, 1, false);
        assert_eq!(
            Facts::new(&b.history).loss_permitted_by(&strict_config(), P0),
            None
        );
        let mut b = Builder::new();
        wiped(&mut b, 2);
        b.elected(1, 1, false);
        assert_eq!(
            Facts::new(&b.history).loss_permitted_by(&strict_config(), P0),
            None
        );
    }
}
