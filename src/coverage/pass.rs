//! The one pass over a history that counts coverage marks (the rules are on [`Mark`]).

use std::collections::{BTreeMap, BTreeSet};

use super::{Coverage, Mark};
use crate::history::{EventKind, History, TruncationReason};
use crate::quorum_event::QuorumEvent;
use crate::types::{BrokerId, LeaderEpoch, NodeId, Offset, PartitionId};

/// What the pass remembers about one partition.
#[derive(Default)]
struct PartitionState {
    /// Brokers seen leading or following it (its initial ISR, before any ISR record).
    replicas: BTreeSet<BrokerId>,
    /// Size of the ISR the last `LeaderElected`/`IsrChanged` recorded.
    isr_len: Option<usize>,
    /// The epoch of the last election that named a leader, and whether the leader
    /// appended in it; `None` once a leaderless election closed it.
    open_epoch: Option<(LeaderEpoch, bool)>,
}

impl Coverage {
    /// Counts every mark reached in `history`, in one read-only pass.
    pub fn of(history: &History) -> Coverage {
        let mut coverage = Coverage::default();
        let mut partitions: BTreeMap<PartitionId, PartitionState> = BTreeMap::new();
        let mut hws: BTreeMap<(BrokerId, PartitionId), Offset> = BTreeMap::new();
        let mut quorum = QuorumMarks::default();
        for (index, event) in history.events.iter().enumerate() {
            quorum.see(index, &event.kind, &mut coverage);
            match &event.kind {
                EventKind::LeaderElected {
                    partition,
                    leader,
                    leader_epoch,
                    isr,
                    unclean,
                    ..
                } => {
                    let state = partitions.entry(*partition).or_default();
                    if let Some((_, false)) = state.open_epoch {
                        coverage.add(Mark::EmptyLeaderEpoch);
                    }
                    state.open_epoch = leader.map(|_| (*leader_epoch, false));
                    if leader.is_some() {
                        coverage.add(Mark::LeaderChange);
                    }
                    if *unclean {
                        coverage.add(Mark::UncleanElection);
                    }
                    isr_recorded(&mut coverage, state, isr.len());
                }
                EventKind::IsrChanged { partition, isr, .. } => {
                    let state = partitions.entry(*partition).or_default();
                    isr_recorded(&mut coverage, state, isr.len());
                }
                EventKind::BecameLeader {
                    broker, partition, ..
                }
                | EventKind::BecameFollower {
                    broker, partition, ..
                } => {
                    let state = partitions.entry(*partition).or_default();
                    state.replicas.insert(*broker);
                }
                EventKind::LeaderAppended {
                    partition,
                    leader_epoch,
                    ..
                } => {
                    if let Some(state) = partitions.get_mut(partition)
                        && let Some((epoch, appended)) = &mut state.open_epoch
                        && *epoch == *leader_epoch
                    {
                        *appended = true;
                    }
                }
                EventKind::HwChanged {
                    broker,
                    partition,
                    hw,
                    ..
                } => {
                    hws.insert((*broker, *partition), *hw);
                }
                EventKind::Truncated {
                    broker,
                    partition,
                    to,
                    reason,
                    ..
                } => {
                    if *reason == TruncationReason::PowerLoss {
                        coverage.add(Mark::PowerLossUnflushed);
                    } else {
                        coverage.add(Mark::FollowerTruncated);
                    }
                    if hws.get(&(*broker, *partition)).is_some_and(|hw| *to < *hw) {
                        coverage.add(Mark::TruncationBelowHw);
                    }
                }
                EventKind::SendRetry { .. } => coverage.add(Mark::ProducerRetry),
                _ => {}
            }
        }
        coverage
    }
}

/// What the quorum marks follow: the last controller to activate, the event of the
/// latest failover, each controller's metadata log end, and when each broker was last
/// unfenced.
#[derive(Default)]
struct QuorumMarks {
    active: Option<NodeId>,
    failover_at: Option<usize>,
    log_ends: BTreeMap<NodeId, Offset>,
    unfenced_at: BTreeMap<BrokerId, usize>,
}

impl QuorumMarks {
    fn see(&mut self, index: usize, kind: &EventKind, coverage: &mut Coverage) {
        match kind {
            EventKind::Quorum(QuorumEvent::Activated { node, .. }) => {
                if self.active.is_some_and(|a| a != *node) {
                    coverage.add(Mark::ControllerFailover);
                    self.failover_at = Some(index);
                }
                self.active = Some(*node);
            }
            EventKind::Quorum(QuorumEvent::Appended {
                node,
                base_offset,
                records,
            }) => {
                let end = base_offset.plus(records.len() as u64);
                self.log_ends.insert(*node, end);
            }
            EventKind::Quorum(QuorumEvent::Truncated { node, to }) => {
                if self.log_ends.get(node).is_some_and(|end| to < end) {
                    coverage.add(Mark::MetadataLogTruncated);
                }
                self.log_ends.insert(*node, *to);
            }
            EventKind::BrokerUnfenced { broker } => {
                self.unfenced_at.insert(*broker, index);
            }
            EventKind::BrokerFenced { broker } => {
                let before_failover = self
                    .unfenced_at
                    .get(broker)
                    .zip(self.failover_at)
                    .is_some_and(|(unfenced, failover)| *unfenced < failover);
                if before_failover {
                    coverage.add(Mark::BrokerFencedByNewController);
                }
                self.unfenced_at.remove(broker);
            }
            _ => {}
        }
    }
}

/// An ISR of `len` members was recorded for the partition.
fn isr_recorded(coverage: &mut Coverage, state: &mut PartitionState, len: usize) {
    let previous = state.isr_len.unwrap_or(state.replicas.len());
    if len == 1 && previous > 1 {
        coverage.add(Mark::IsrShrankToOne);
    }
    state.isr_len = Some(len);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_support::*;
    use crate::types::PartitionEpoch;

    fn count(b: &Builder, mark: Mark) -> u64 {
        Coverage::of(&b.history).get(mark)
    }

    /// Brokers 1..=3 lead/follow `t-0` in epoch 0 (the initial ISR of three).
    fn three_replicas() -> Builder {
        let mut b = Builder::new();
        b.became_leader(1, 0);
        for follower in [2, 3] {
            b.push(EventKind::BecameFollower {
                broker: BrokerId(follower),
                partition: P0,
                leader_epoch: LeaderEpoch(0),
                leader: Some(BrokerId(1)),
            });
        }
        b
    }

    fn elected_none(b: &mut Builder, epoch: u32) {
        b.push(EventKind::LeaderElected {
            partition: P0,
            leader: None,
            leader_epoch: LeaderEpoch(epoch),
            partition_epoch: PartitionEpoch(epoch),
            isr: vec![],
            elr: vec![BrokerId(1)],
            unclean: false,
        });
    }

    fn power_cut(b: &mut Builder, broker: u8, from: u64, to: u64) {
        b.push(EventKind::Truncated {
            broker: BrokerId(broker),
            partition: P0,
            from_leo: Offset(from),
            to: Offset(to),
            hw: Offset(to),
            reason: TruncationReason::PowerLoss,
        });
    }

    #[test]
    fn an_empty_history_reaches_nothing() {
        assert_eq!(Coverage::of(&Builder::new().history), Coverage::default());
    }

    #[test]
    fn leader_change_counts_elections_that_name_a_leader() {
        let mut b = Builder::new();
        elected_none(&mut b, 1);
        assert_eq!(count(&b, Mark::LeaderChange), 0, "offline is no new leader");
        b.elected(2, 2, false);
        b.elected(3, 3, false);
        assert_eq!(count(&b, Mark::LeaderChange), 2);
    }

    #[test]
    fn isr_shrank_to_one_needs_a_larger_isr_before() {
        let mut b = three_replicas();
        b.isr_changed(&[1, 2]);
        assert_eq!(count(&b, Mark::IsrShrankToOne), 0, "two members left");
        b.isr_changed(&[1]);
        assert_eq!(count(&b, Mark::IsrShrankToOne), 1);
        b.elected(1, 1, false); // ISR [1] again: no new shrink
        assert_eq!(count(&b, Mark::IsrShrankToOne), 1);
        b.isr_changed(&[1, 3]);
        b.isr_changed(&[3]);
        assert_eq!(count(&b, Mark::IsrShrankToOne), 2);

        // The initial ISR is the replicas seen: three, so a first record of one shrank...
        let mut first = three_replicas();
        first.isr_changed(&[1]);
        assert_eq!(count(&first, Mark::IsrShrankToOne), 1);
        // ...but with a single replica, an ISR of one is no shrink.
        let mut single = Builder::new();
        single.became_leader(1, 0);
        single.elected(1, 1, false);
        assert_eq!(count(&single, Mark::IsrShrankToOne), 0);
    }

    #[test]
    fn unclean_election_counts_only_unclean_ones() {
        let mut b = Builder::new();
        b.elected(1, 1, false);
        assert_eq!(count(&b, Mark::UncleanElection), 0);
        b.elected(2, 2, true);
        assert_eq!(count(&b, Mark::UncleanElection), 1);
    }

    #[test]
    fn follower_truncated_excludes_power_loss_cuts() {
        let mut b = Builder::new();
        power_cut(&mut b, 2, 10, 4);
        assert_eq!(count(&b, Mark::FollowerTruncated), 0);
        assert_eq!(count(&b, Mark::PowerLossUnflushed), 1);
        b.truncated(2, 10, 8);
        assert_eq!(count(&b, Mark::FollowerTruncated), 1);
        assert_eq!(count(&b, Mark::PowerLossUnflushed), 1);
    }

    #[test]
    fn truncation_below_hw_compares_with_that_replicas_last_hw() {
        let mut b = Builder::new();
        b.truncated(2, 10, 3);
        assert_eq!(count(&b, Mark::TruncationBelowHw), 0, "no HW known: 0");
        b.hw(2, 5, 0, &[]);
        b.hw(3, 9, 0, &[]);
        b.truncated(2, 10, 5);
        assert_eq!(count(&b, Mark::TruncationBelowHw), 0, "down to the HW only");
        b.hw(2, 7, 5, &[]);
        b.truncated(2, 10, 6);
        assert_eq!(count(&b, Mark::TruncationBelowHw), 1, "broker 2's HW is 7");
        power_cut(&mut b, 3, 12, 8);
        assert_eq!(count(&b, Mark::TruncationBelowHw), 2, "broker 3's HW is 9");
    }

    #[test]
    fn empty_leader_epoch_needs_an_epoch_closed_without_appends() {
        let mut b = Builder::new();
        b.elected(1, 1, false);
        assert_eq!(count(&b, Mark::EmptyLeaderEpoch), 0, "still open");
        b.appended(1, 1, 0, &[m(1, 0)]);
        b.elected(2, 2, false);
        assert_eq!(count(&b, Mark::EmptyLeaderEpoch), 0, "epoch 1 had a record");
        b.appended(1, 1, 1, &[m(1, 1)]); // a stale leader's append in epoch 1
        elected_none(&mut b, 3);
        assert_eq!(count(&b, Mark::EmptyLeaderEpoch), 1, "epoch 2 had none");
        b.elected(1, 4, false);
        assert_eq!(count(&b, Mark::EmptyLeaderEpoch), 1, "leaderless epoch 3");
    }

    #[test]
    fn producer_retry_counts_send_retries() {
        let mut b = Builder::new();
        b.send_info(1, 0);
        assert_eq!(count(&b, Mark::ProducerRetry), 0);
        b.push(EventKind::SendRetry {
            producer: 1,
            partition: P0,
            first: m(1, 0),
            records: 1,
            attempt: 1,
        });
        assert_eq!(count(&b, Mark::ProducerRetry), 1);
    }

    #[test]
    fn quorum_marks_count_failovers_log_cuts_and_fencing_by_the_new_controller() {
        use crate::types::ControllerId;
        let (c1, c2) = (
            NodeId::Controller(ControllerId(1)),
            NodeId::Controller(ControllerId(2)),
        );
        let quorum = |b: &mut Builder, event: QuorumEvent| b.push(EventKind::Quorum(event));
        let mut b = Builder::new();
        quorum(
            &mut b,
            QuorumEvent::Activated {
                node: c1,
                epoch: 1,
                unreplayed: 0,
            },
        );
        b.push(EventKind::BrokerUnfenced {
            broker: BrokerId(1),
        });
        b.push(EventKind::BrokerFenced {
            broker: BrokerId(1),
        });
        b.push(EventKind::BrokerUnfenced {
            broker: BrokerId(1),
        });
        quorum(
            &mut b,
            QuorumEvent::Activated {
                node: c1,
                epoch: 2,
                unreplayed: 0,
            },
        );
        assert_eq!(count(&b, Mark::ControllerFailover), 0, "the same one again");
        assert_eq!(count(&b, Mark::BrokerFencedByNewController), 0);
        let appended = QuorumEvent::Appended {
            node: c2,
            base_offset: Offset(0),
            records: vec![(1, 7), (1, 8)],
        };
        quorum(&mut b, appended);
        quorum(
            &mut b,
            QuorumEvent::Truncated {
                node: c2,
                to: Offset(2),
            },
        );
        assert_eq!(
            count(&b, Mark::MetadataLogTruncated),
            0,
            "a boot at its end"
        );
        quorum(
            &mut b,
            QuorumEvent::Truncated {
                node: c2,
                to: Offset(1),
            },
        );
        assert_eq!(count(&b, Mark::MetadataLogTruncated), 1);
        quorum(
            &mut b,
            QuorumEvent::Activated {
                node: c2,
                epoch: 3,
                unreplayed: 0,
            },
        );
        assert_eq!(count(&b, Mark::ControllerFailover), 1);
        b.push(EventKind::BrokerFenced {
            broker: BrokerId(1),
        });
        assert_eq!(count(&b, Mark::BrokerFencedByNewController), 1);
        b.push(EventKind::BrokerUnfenced {
            broker: BrokerId(1),
        });
        b.push(EventKind::BrokerFenced {
            broker: BrokerId(1),
        });
        assert_eq!(
            count(&b, Mark::BrokerFencedByNewController),
            1,
            "unfenced by the new one itself"
        );
    }
}
