//! Leader side of a broker: produce, fetch serving (followers and consumers), the HW,
//! ISR shrink/expand proposals, and parked (delayed) requests.

use crate::config::{Acks, ConsumerReadLimit, IsrUpdate, Truncation};
use crate::core::Effect;
use crate::core::broker::Broker;
use crate::core::broker::producer_state::SequenceCheck;
use crate::core::log::{Log, Record};
use crate::core::message::{ErrorCode, FetchPartition, FetchedPartition, Message, ProduceBatch};
use crate::history::EventKind;
use crate::types::{BrokerEpoch, BrokerId, NodeId, Offset, PartitionId, Sequence, SimTime};

/// Most records one fetch response carries per partition, in whole record batches
/// ([`Log::whole_batches_end`]).
pub const FETCH_RECORDS_MAX: usize = 1_000;

/// An acks=all produce waiting for the HW to pass its last record (`DelayedProduce`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParkedProduce {
    /// The producer.
    pub client: NodeId,
    /// Its correlation id.
    pub correlation: u64,
    /// Which partition.
    pub partition: PartitionId,
    /// Base offset of the batch.
    pub base_offset: Offset,
    /// HW needed: last offset + 1.
    pub required_hw: Offset,
    /// When it times out.
    pub deadline: SimTime,
}

/// A fetch with nothing to return yet, waiting for data (`DelayedFetch`), or, with
/// [`IsrUpdate::Zookeeper`], a follower fetch held until the ISR expansion it caused is
/// stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParkedFetch {
    /// The fetcher.
    pub client: NodeId,
    /// Its correlation id.
    pub correlation: u64,
    /// Follower id, or None for a consumer.
    pub replica: Option<BrokerId>,
    /// The request's partitions.
    pub partitions: Vec<FetchPartition>,
    /// When to answer anyway (a fetch held for the ISR waits past it).
    pub deadline: SimTime,
    /// It made this leader propose its follower for the ISR, in ZooKeeper mode: it is
    /// answered only once no ISR change of its partitions is pending.
    pub held_for_isr: bool,
}

impl Broker {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_produce(
        &mut self,
        now: SimTime,
        client: NodeId,
        correlation: u64,
        acks: Acks,
        timeout_ms: u64,
        batch: ProduceBatch,
        out: &mut Vec<Effect>,
    ) {
        let partition = batch.partition;
        let result = self.produce_append(acks, &batch, out);
        match (result, acks) {
            (_, Acks::Zero) => {} // acks=0: no response at all
            (Err(error), _) => {
                respond_produce(out, now, client, correlation, partition, Err(error))
            }
            (Ok(base), Acks::One) => {
                respond_produce(out, now, client, correlation, partition, Ok(base))
            }
            (Ok(base), Acks::All) => {
                let required_hw = base.plus(batch.values.len() as u64);
                self.parked_produce.push(ParkedProduce {
                    client,
                    correlation,
                    partition,
                    base_offset: base,
                    required_hw,
                    deadline: now.plus_ms(timeout_ms),
                });
            }
        }
        self.after_change(now, out);
    }

    /// Checks and appends a produce batch; returns its base offset.
    fn produce_append(
        &mut self,
        acks: Acks,
        batch: &ProduceBatch,
        out: &mut Vec<Effect>,
    ) -> Result<Offset, ErrorCode> {
        let min_isr = self.config.min_insync_replicas;
        let Some(replica) = self.replicas.get_mut(&batch.partition) else {
            return Err(ErrorCode::NotLeaderOrFollower);
        };
        if !replica.is_leader() {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        let required = usize::from(min_isr).min(replica.replicas.len());
        if acks == Acks::All && replica.isr.len() < required {
            return Err(ErrorCode::NotEnoughReplicas); // nothing is appended
        }
        let count = batch.values.len() as u32;
        let check = replica.producers.check(
            batch.producer_id,
            batch.producer_epoch,
            batch.base_sequence,
            count,
        );
        match check {
            SequenceCheck::OutOfOrder => return Err(ErrorCode::OutOfOrderSequenceNumber),
            SequenceCheck::Duplicate(offset) => return Ok(offset),
            SequenceCheck::Append => {}
        }
        let base = replica.leo();
        let epoch = replica.leader_epoch;
        let records: Vec<Record> = batch
            .values
            .iter()
            .enumerate()
            .map(|(i, value)| Record {
                leader_epoch: epoch,
                producer_id: batch.producer_id,
                producer_epoch: batch.producer_epoch,
                sequence: Sequence(batch.base_sequence.0 + i as u32),
                batch_base_sequence: batch.base_sequence,
                value: *value,
                group: None,
            })
            .collect();
        replica.log.append(&records);
        replica.producers.observe(base, &records);
        out.push(Effect::Trace(EventKind::LeaderAppended {
            broker: self.id,
            partition: batch.partition,
            leader_epoch: epoch,
            base_offset: base,
            values: batch.values.clone(),
        }));
        self.persist_append(batch.partition, records, out);
        Ok(base)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_fetch(
        &mut self,
        now: SimTime,
        client: NodeId,
        correlation: u64,
        replica: Option<BrokerId>,
        replica_epoch: BrokerEpoch,
        max_wait_ms: u64,
        partitions: Vec<FetchPartition>,
        out: &mut Vec<Effect>,
    ) {
        let response = self.read_fetch(replica, &partitions);
        let mut expanded = false;
        if let Some(follower) = replica {
            for (request, answer) in partitions.iter().zip(&response) {
                if answer.error.is_none() && answer.diverging_epoch.is_none() {
                    let r = self
                        .replicas
                        .get_mut(&request.partition)
                        .expect("answered without error");
                    r.record_follower_fetch(now, follower, request.fetch_offset, replica_epoch);
                    expanded |= self.maybe_expand_isr(now, request.partition, follower, out);
                }
            }
        }
        // Before KIP-497 the fetch handler wrote the new ISR to ZooKeeper and answered
        // only afterwards (`Partition.maybeExpandIsr` ran inside the fetch).
        let held_for_isr = expanded && self.config.isr_update == IsrUpdate::Zookeeper;
        let ready = response
            .iter()
            .any(|p| p.error.is_some() || p.diverging_epoch.is_some() || !p.records.is_empty());
        if !held_for_isr && (ready || max_wait_ms == 0) {
            self.answer_fetch(now, client, correlation, replica.is_none(), response, out);
        } else {
            self.parked_fetch.push(ParkedFetch {
                client,
                correlation,
                replica,
                partitions,
                deadline: now.plus_ms(max_wait_ms),
                held_for_isr,
            });
        }
        self.after_change(now, out);
    }

    /// Reads a fetch request against the current state (4.2 steps 1-3).
    fn read_fetch(
        &self,
        replica: Option<BrokerId>,
        partitions: &[FetchPartition],
    ) -> Vec<FetchedPartition> {
        partitions
            .iter()
            .map(|request| self.read_partition(replica, request))
            .collect()
    }

    fn read_partition(
        &self,
        replica: Option<BrokerId>,
        request: &FetchPartition,
    ) -> FetchedPartition {
        let mut answer = FetchedPartition {
            partition: request.partition,
            error: None,
            base_offset: request.fetch_offset,
            records: Vec::new(),
            high_watermark: Offset(0),
            log_end_offset: Offset(0),
            diverging_epoch: None,
        };
        let Some(local) = self
            .replicas
            .get(&request.partition)
            .filter(|r| r.is_leader())
        else {
            answer.error = Some(ErrorCode::NotLeaderOrFollower);
            return answer;
        };
        answer.high_watermark = local.hw;
        answer.log_end_offset = local.leo();
        if request.current_leader_epoch < local.leader_epoch {
            answer.error = Some(ErrorCode::FencedLeaderEpoch);
            return answer;
        }
        if request.current_leader_epoch > local.leader_epoch {
            answer.error = Some(ErrorCode::UnknownLeaderEpoch);
            return answer;
        }
        if replica.is_some_and(|b| !local.replicas.contains(&b)) {
            answer.error = Some(ErrorCode::UnknownLeaderEpoch);
            return answer;
        }
        let lookup = match self.config.truncation {
            Truncation::LeaderEpochV0 => Log::end_offset_for_v0,
            Truncation::LeaderEpoch | Truncation::HighWatermark => Log::end_offset_for,
        };
        if let Some(last_epoch) = request.last_fetched_epoch
            && let Some((epoch, end)) = lookup(&local.log, last_epoch)
            && (epoch < last_epoch || end < request.fetch_offset)
        {
            answer.diverging_epoch = Some((epoch, end));
            return answer;
        }
        if request.fetch_offset > local.leo() {
            answer.error = Some(ErrorCode::OffsetOutOfRange);
            return answer;
        }
        let limit = match (replica, self.config.consumer_read_limit) {
            (Some(_), _) | (None, ConsumerReadLimit::LogEnd) => local.leo(),
            (None, ConsumerReadLimit::HighWatermark) => local.hw,
        };
        let to = limit.min(
            local
                .log
                .whole_batches_end(request.fetch_offset, FETCH_RECORDS_MAX),
        );
        if request.fetch_offset < to {
            answer.records = local.log.slice(request.fetch_offset, to).to_vec();
        }
        answer
    }

    fn answer_fetch(
        &mut self,
        now: SimTime,
        client: NodeId,
        correlation: u64,
        consumer: bool,
        partitions: Vec<FetchedPartition>,
        out: &mut Vec<Effect>,
    ) {
        if consumer {
            for p in partitions.iter().filter(|p| !p.records.is_empty()) {
                let local = &self.replicas[&p.partition];
                out.push(Effect::Trace(EventKind::ConsumerServed {
                    broker: self.id,
                    partition: p.partition,
                    from: p.base_offset,
                    count: p.records.len() as u64,
                    hw: local.hw,
                    leo: local.leo(),
                }));
            }
        }
        out.push(Effect::Send {
            to: client,
            message: Message::FetchResponse {
                correlation,
                sent_at: now,
                partitions,
            },
        });
    }

    /// Answers parked requests that can complete (or, with `expire`, have timed out).
    pub(super) fn complete_parked(&mut self, now: SimTime, expire: bool, out: &mut Vec<Effect>) {
        let min_isr = usize::from(self.config.min_insync_replicas);
        let parked = std::mem::take(&mut self.parked_produce);
        for p in parked {
            let local = &self.replicas[&p.partition];
            if !local.is_leader() {
                respond_produce(
                    out,
                    now,
                    p.client,
                    p.correlation,
                    p.partition,
                    Err(ErrorCode::NotLeaderOrFollower),
                );
            } else if local.hw >= p.required_hw {
                let enough = local.maximal_isr().len() >= min_isr.min(local.replicas.len());
                let result = if enough {
                    Ok(p.base_offset)
                } else {
                    Err(ErrorCode::NotEnoughReplicasAfterAppend)
                };
                respond_produce(out, now, p.client, p.correlation, p.partition, result);
            } else if expire && now >= p.deadline {
                respond_produce(
                    out,
                    now,
                    p.client,
                    p.correlation,
                    p.partition,
                    Err(ErrorCode::RequestTimedOut),
                );
            } else {
                self.parked_produce.push(p);
            }
        }
        let parked = std::mem::take(&mut self.parked_fetch);
        for mut p in parked {
            if p.held_for_isr {
                if self.isr_change_pending(&p) {
                    self.parked_fetch.push(p);
                    continue;
                }
                p.held_for_isr = false;
            }
            let response = self.read_fetch(p.replica, &p.partitions);
            let ready = response
                .iter()
                .any(|r| r.error.is_some() || r.diverging_epoch.is_some() || !r.records.is_empty());
            if ready || (expire && now >= p.deadline) {
                self.answer_fetch(
                    now,
                    p.client,
                    p.correlation,
                    p.replica.is_none(),
                    response,
                    out,
                );
            } else {
                self.parked_fetch.push(p);
            }
        }
    }

    /// Leader HW advance (4.3).
    pub(super) fn maybe_advance_hw(
        &mut self,
        now: SimTime,
        partition: PartitionId,
        out: &mut Vec<Effect>,
    ) {
        let metadata = &self.metadata;
        let replica = &self.replicas[&partition];
        let eligible = |b: BrokerId, e: BrokerEpoch| Broker::eligible(metadata, b, e);
        let Some(candidate) = replica.hw_candidate(now, &self.config, eligible) else {
            return;
        };
        if candidate > replica.hw {
            self.set_hw(partition, candidate, out);
        }
    }

    /// Whether an ISR change of a partition `fetch` asks for is still pending here.
    fn isr_change_pending(&self, fetch: &ParkedFetch) -> bool {
        fetch.partitions.iter().any(|request| {
            self.replicas
                .get(&request.partition)
                .is_some_and(|r| r.pending_alter().is_some())
        })
    }

    /// ISR expansion (4.6) after a follower fetch; says whether it proposed one.
    fn maybe_expand_isr(
        &mut self,
        now: SimTime,
        partition: PartitionId,
        follower: BrokerId,
        out: &mut Vec<Effect>,
    ) -> bool {
        let replica = &self.replicas[&partition];
        let epoch = replica
            .leader_state()
            .and_then(|s| s.followers.get(&follower))
            .map(|p| p.broker_epoch);
        let eligible = epoch.is_some_and(|e| Broker::eligible(&self.metadata, follower, e));
        if !replica.may_join_isr(follower, &self.config, eligible) {
            return false;
        }
        let state = replica.leader_state().expect("may_join_isr: leading");
        out.push(Effect::Trace(EventKind::IsrExpansion {
            broker: self.id,
            partition,
            follower,
            follower_leo: state.followers[&follower].leo.expect("may_join_isr: known"),
            leso: state.leso,
        }));
        let mut isr = replica.isr.clone();
        isr.push(follower);
        self.propose_isr(now, partition, isr, out);
        true
    }

    /// ISR shrink (4.5), on the periodic check.
    pub(super) fn maybe_shrink_isr(&mut self, now: SimTime, out: &mut Vec<Effect>) {
        let partitions: Vec<PartitionId> = self.replicas.keys().copied().collect();
        for p in partitions {
            let replica = &self.replicas[&p];
            let pending = replica
                .leader_state()
                .is_none_or(|s| s.pending_alter.is_some());
            if pending {
                continue;
            }
            let out_of_sync =
                replica.out_of_sync_followers(now, self.config.replica_lag_time_max_ms);
            if out_of_sync.is_empty() {
                continue;
            }
            let isr: Vec<BrokerId> = replica
                .isr
                .iter()
                .filter(|b| !out_of_sync.contains(b))
                .copied()
                .collect();
            self.propose_isr(now, p, isr, out);
        }
    }
}

fn respond_produce(
    out: &mut Vec<Effect>,
    now: SimTime,
    client: NodeId,
    correlation: u64,
    partition: PartitionId,
    result: Result<Offset, ErrorCode>,
) {
    out.push(Effect::Send {
        to: client,
        message: Message::ProduceResponse {
            correlation,
            sent_at: now,
            partition,
            result,
        },
    });
}
