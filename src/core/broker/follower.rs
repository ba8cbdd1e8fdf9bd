//! Follower side of a broker: one fetcher per leader broker (`ReplicaFetcherThread`),
//! long-poll fetches carrying the fetch offset and last fetched epoch, appends with the
//! leader's offsets and epochs, HW from the leader, and truncation on divergence.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::Truncation;
use crate::core::Effect;
use crate::core::broker::Broker;
use crate::core::broker::replica::Role;
use crate::core::message::{ErrorCode, FetchPartition, FetchedPartition, Message};
use crate::history::{EventKind, TruncationReason};
use crate::types::{BrokerId, NodeId, PartitionId, SimTime};

/// Extra time, beyond the long-poll wait, before a fetch with no answer is sent again.
/// Stands in for TCP retransmission over our lossy datagrams.
pub const FETCH_RESPONSE_GRACE_MS: u64 = 1_000;

/// Fetch state towards one leader broker.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fetcher {
    in_flight: Option<(u64, SimTime)>,
    backoff_until: Option<SimTime>,
}

impl Fetcher {
    /// When this fetcher next needs attention.
    pub fn wake_at(&self) -> Option<SimTime> {
        match (self.in_flight.map(|(_, at)| at), self.backoff_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

impl Broker {
    /// Partitions this broker follows, grouped by leader.
    fn followed(&self) -> BTreeMap<BrokerId, Vec<PartitionId>> {
        let mut by_leader: BTreeMap<BrokerId, Vec<PartitionId>> = BTreeMap::new();
        for (p, replica) in &self.replicas {
            if let Role::Follower {
                leader: Some(leader),
            } = replica.role
                && leader != self.id
            {
                by_leader.entry(leader).or_default().push(*p);
            }
        }
        by_leader
    }

    /// Sends a fetch to every leader that has none outstanding.
    pub(super) fn send_fetches(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        let Some(epoch) = self.broker_epoch else {
            return;
        };
        let followed = self.followed();
        let leaders: BTreeSet<BrokerId> = followed.keys().copied().collect();
        self.fetchers.retain(|leader, _| leaders.contains(leader));
        for (leader, partitions) in followed {
            let fetcher = self.fetchers.entry(leader).or_default();
            if fetcher.in_flight.is_some() || fetcher.backoff_until.is_some() {
                continue;
            }
            let requests = partitions
                .iter()
                .map(|p| {
                    let replica = &self.replicas[p];
                    FetchPartition {
                        partition: *p,
                        fetch_offset: replica.leo(),
                        current_leader_epoch: replica.leader_epoch,
                        last_fetched_epoch: match self.config.truncation {
                            Truncation::LeaderEpoch => replica.log.latest_epoch(),
                            // One epoch round per term, then plain offset fetches.
                            Truncation::LeaderEpochV0 if !replica.epoch_validated => {
                                replica.log.latest_epoch()
                            }
                            Truncation::LeaderEpochV0 | Truncation::HighWatermark => None,
                        },
                    }
                })
                .collect();
            self.next_correlation += 1;
            let correlation = self.next_correlation;
            let wait_ms = self.config.replica_fetch_wait_max_ms;
            let fetcher = self.fetchers.get_mut(&leader).expect("inserted above");
            fetcher.in_flight = Some((correlation, now.plus_ms(wait_ms + FETCH_RESPONSE_GRACE_MS)));
            out.push(Effect::Send {
                to: NodeId::Broker(leader),
                message: Message::Fetch {
                    correlation,
                    replica: Some(self.id),
                    replica_epoch: epoch,
                    max_wait_ms: wait_ms,
                    partitions: requests,
                },
            });
        }
    }

    /// The connection to `leader` ended: a fetch in flight to it failed, back off.
    pub(super) fn on_leader_disconnect(&mut self, now: SimTime, leader: BrokerId) {
        if let Some(fetcher) = self.fetchers.get_mut(&leader) {
            fetcher.in_flight = None;
            fetcher.backoff_until = Some(now.plus_ms(self.config.replica_fetch_backoff_ms));
        }
    }

    /// Forgets fetches that were never answered and ends elapsed back-offs.
    pub(super) fn expire_fetchers(&mut self, now: SimTime) {
        for fetcher in self.fetchers.values_mut() {
            if fetcher.in_flight.is_some_and(|(_, at)| now >= at) {
                fetcher.in_flight = None;
            }
            if fetcher.backoff_until.is_some_and(|at| now >= at) {
                fetcher.backoff_until = None;
            }
        }
    }

    pub(super) fn on_fetch_response(
        &mut self,
        now: SimTime,
        leader: BrokerId,
        (correlation, sent_at): (u64, SimTime),
        partitions: Vec<FetchedPartition>,
        out: &mut Vec<Effect>,
    ) {
        let Some(fetcher) = self.fetchers.get_mut(&leader) else {
            return;
        };
        if fetcher.in_flight.map(|(c, _)| c) != Some(correlation) {
            return; // a late answer to a fetch we already gave up on
        }
        fetcher.in_flight = None;
        let mut back_off = false;
        for answer in partitions {
            back_off |= self.on_fetched_partition(leader, sent_at, answer, out);
        }
        if back_off {
            let until = now.plus_ms(self.config.replica_fetch_backoff_ms);
            self.fetchers
                .get_mut(&leader)
                .expect("present")
                .backoff_until = Some(until);
        }
        self.after_change(now, out);
    }

    /// Applies one partition of a fetch response; returns whether to back off.
    fn on_fetched_partition(
        &mut self,
        leader: BrokerId,
        sent_at: SimTime,
        answer: FetchedPartition,
        out: &mut Vec<Effect>,
    ) -> bool {
        let p = answer.partition;
        let Some(replica) = self.replicas.get(&p) else {
            return false;
        };
        if replica.role
            != (Role::Follower {
                leader: Some(leader),
            })
        {
            return false;
        }
        if answer.error.is_none() {
            self.replicas.get_mut(&p).expect("checked").epoch_validated = true;
        }
        let replica = &self.replicas[&p];
        if let Some((epoch, end)) = answer.diverging_epoch {
            let own_end = replica
                .log
                .end_offset_for(epoch)
                .map(|(_, o)| o)
                .unwrap_or(replica.leo());
            let target = end.min(own_end).min(replica.leo());
            self.truncate(p, target, TruncationReason::DivergingEpoch, out);
            return false;
        }
        match answer.error {
            Some(ErrorCode::OffsetOutOfRange) => {
                if replica.leo() > answer.log_end_offset {
                    self.truncate(
                        p,
                        answer.log_end_offset,
                        TruncationReason::OffsetOutOfRange,
                        out,
                    );
                }
                return false;
            }
            Some(_) => return true,
            None => {}
        }
        if answer.base_offset != replica.leo() {
            return false; // stale: our log moved since the request
        }
        if !answer.records.is_empty() {
            let replica = self.replicas.get_mut(&p).expect("checked");
            let base = replica.leo();
            replica.log.append(&answer.records);
            replica.producers.observe(base, &answer.records);
            out.push(Effect::Trace(EventKind::FollowerAppended {
                broker: self.id,
                partition: p,
                leader,
                sent_at,
                base_offset: base,
                records: answer
                    .records
                    .iter()
                    .map(|r| (r.leader_epoch, r.value))
                    .collect(),
            }));
            self.persist_append(p, answer.records, out);
        }
        let hw = answer.high_watermark.min(self.replicas[&p].leo());
        self.set_hw(p, hw, out);
        false
    }
}
