//! The end of a run: heal every fault, restart every node, wait for the cluster to
//! converge, probe that every partition accepts writes, drain the consumers, and record
//! the final state of every replica.
//!
//! The drain has a window of its own ([`window_ms`] from its start, whatever the
//! convergence used up), so every consumer gets the same chance to read to the end. It
//! records how long it waited (`Drained`) and, when the window runs out, one
//! `DrainGaveUp` per consumer and partition still behind: never silently.

use std::collections::BTreeSet;

use crate::config::{Acks, Config};
use crate::core::broker::replica::Role;
use crate::history::EventKind;
use crate::shell::cluster::Cluster;
use crate::shell::{now, sleep_until};
use crate::types::{Offset, PartitionId, SimTime};

/// How often convergence is checked.
const POLL_MS: u64 = 100;

/// The convergence window after the final heal: generous enough for sessions to
/// expire, brokers to re-register and followers to rejoin the ISR.
pub fn window_ms(config: &Config) -> u64 {
    30_000 + 3 * config.broker_session_timeout_ms + config.replica_lag_time_max_ms
}

/// Heals, restarts, converges, probes, drains and records the final state.
pub async fn run(cluster: &mut Cluster, config: &Config, producers: u8) {
    cluster.record(EventKind::Phase {
        name: "heal".into(),
    });
    cluster.heal();
    cluster.set_packet_loss(0.0);
    for node in cluster.nodes() {
        cluster.resume(node);
        cluster.restart(node);
    }
    let deadline = now().plus_ms(window_ms(config));
    cluster.record(EventKind::Phase {
        name: "converge".into(),
    });
    wait(deadline, || converged(cluster)).await;
    // Producers write to the scenario's topics only (not `__consumer_offsets`).
    let partitions: Vec<PartitionId> = cluster.layout().user_partition_ids();
    if producers > 0 {
        let unacked = probe(cluster, config, &partitions, deadline).await;
        for p in unacked {
            let reason =
                "the probe write was not acknowledged within the convergence window".to_string();
            cluster.record(EventKind::Unavailable {
                partition: p,
                reason,
            });
        }
    }
    drain(cluster, config).await;
    record_final(cluster);
}

/// Waits until every consumer has read every partition to its leader's HW, or its own
/// window ran out, and records which.
async fn drain(cluster: &mut Cluster, config: &Config) {
    cluster.record(EventKind::Phase {
        name: "drain".into(),
    });
    let start = now();
    let deadline = start.plus_ms(window_ms(config));
    let drained = |c: &Cluster| lagging(c).is_some_and(|l| l.is_empty()) && groups_drained(c);
    wait(deadline, || drained(cluster)).await;
    let behind = lagging(cluster);
    for lag in behind.iter().flatten() {
        cluster.record(EventKind::DrainGaveUp {
            consumer: lag.consumer,
            partition: lag.partition,
            position: lag.position,
            end: lag.end,
        });
    }
    cluster.record(EventKind::Drained {
        waited_ms: now().ms_since(start),
        complete: behind.is_some_and(|l| l.is_empty()),
    });
}

/// Sends one probe write per partition, and sends it again while it fails (a producer
/// with `retries=0` gives up on the first stale-metadata error) until every partition
/// acknowledged one or `deadline` passed. Gives the partitions that never did (none
/// with `acks=0`, which acknowledges nothing).
async fn probe(
    cluster: &mut Cluster,
    config: &Config,
    partitions: &[PartitionId],
    deadline: SimTime,
) -> Vec<PartitionId> {
    let probe_from = cluster.with_history(|h| h.events.len());
    let mut unacked: Vec<PartitionId> = partitions.to_vec();
    loop {
        for p in &unacked {
            cluster.probe(1, *p);
        }
        wait(deadline, || cluster.producers_idle() && converged(cluster)).await;
        if config.acks == Acks::Zero {
            return Vec::new();
        }
        let acked: BTreeSet<PartitionId> = cluster.with_history(|h| {
            h.events[probe_from..]
                .iter()
                .filter_map(|e| match &e.kind {
                    EventKind::SendOk { partition, .. } => Some(*partition),
                    _ => None,
                })
                .collect()
        });
        unacked.retain(|p| !acked.contains(p));
        if unacked.is_empty() || now() >= deadline {
            return unacked;
        }
        sleep_until(now().plus_ms(config.retry_backoff_ms.max(1))).await;
    }
}

async fn wait(deadline: SimTime, mut done: impl FnMut() -> bool) {
    while !done() && now() < deadline {
        sleep_until(now().plus_ms(POLL_MS)).await;
    }
}

/// Whether every group has processed every partition it subscribes to up to the HW of
/// the partition's leader (some member owns it and has processed that far).
fn groups_drained(cluster: &Cluster) -> bool {
    let Some(state) = cluster.controller_state() else {
        return false;
    };
    cluster.group_partitions().into_iter().all(|(group, p)| {
        let registration = &state.partitions[p.0 as usize];
        let hw = registration
            .leader
            .and_then(|l| cluster.with_broker(l, |b| b.replicas[&p].hw));
        let Some(hw) = hw else {
            return true; // no leader: nothing more to read (reported as unavailable)
        };
        cluster
            .group_processed(group, p)
            .is_some_and(|processed| processed >= hw)
    })
}

/// Every partition has a leader with the full ISR, and every replica matches it.
fn converged(cluster: &Cluster) -> bool {
    let Some(state) = cluster.controller_state() else {
        return false;
    };
    for registration in &state.partitions {
        let Some(leader) = registration.leader else {
            return false;
        };
        if registration.isr.len() != registration.replicas.len() {
            return false;
        }
        let p = registration.partition;
        let lead = cluster.with_broker(leader, |broker| {
            let local = &broker.replicas[&p];
            let leading = local.is_leader() && local.leader_epoch == registration.leader_epoch;
            (leading && local.hw == local.leo()).then(|| local.leo())
        });
        let Some(Some(leo)) = lead else {
            return false;
        };
        for b in &registration.replicas {
            let same = cluster.with_broker(*b, |broker| {
                let replica = &broker.replicas[&p];
                replica.leo() == leo && replica.hw == leo
            });
            if same != Some(true) {
                return false;
            }
        }
    }
    true
}

/// A consumer that has not yet read a partition to its end.
struct Lag {
    consumer: u8,
    partition: PartitionId,
    position: Offset,
    end: Offset,
}

/// Every (consumer, partition) whose position is below the HW of the partition's leader,
/// for the partitions that have one (a partition without a leader has no end to reach;
/// the finale reports it `Unavailable`). `None` while the controller is down: then the
/// ends are unknown.
fn lagging(cluster: &Cluster) -> Option<Vec<Lag>> {
    let state = cluster.controller_state()?;
    let mut behind = Vec::new();
    for registration in &state.partitions {
        let p = registration.partition;
        if cluster.layout().is_internal(p) {
            continue; // consumers do not read __consumer_offsets
        }
        let leader_hw = registration
            .leader
            .and_then(|l| cluster.with_broker(l, |b| b.replicas[&p].hw));
        let Some(end) = leader_hw else {
            continue;
        };
        for consumer in cluster.consumer_ids() {
            let position = cluster.consumer_position(consumer, p);
            if position < end {
                behind.push(Lag {
                    consumer,
                    partition: p,
                    position,
                    end,
                });
            }
        }
    }
    Some(behind)
}

fn record_final(cluster: &Cluster) {
    let state = cluster.controller_state();
    for p in cluster.layout().partition_ids() {
        for b in cluster.layout().partition(p).replicas.clone() {
            let stored = cluster.with_broker(b, |broker| {
                let replica = &broker.replicas[&p];
                let records = replica
                    .log
                    .records()
                    .iter()
                    .map(|r| (r.leader_epoch, r.value))
                    .collect();
                (replica.hw, records)
            });
            if let Some((hw, records)) = stored {
                cluster.record(EventKind::FinalReplica {
                    broker: b,
                    partition: p,
                    hw,
                    records,
                });
            }
        }
        let leader = state
            .as_ref()
            .and_then(|s| s.partitions[p.0 as usize].leader);
        let committed = leader.and_then(|l| {
            cluster.with_broker(l, |broker| {
                let replica = &broker.replicas[&p];
                let leading = matches!(replica.role, Role::Leader(_));
                let records = replica
                    .log
                    .slice(Offset(0), replica.hw)
                    .iter()
                    .map(|r| r.value)
                    .collect();
                leading.then_some((replica.hw, records))
            })
        });
        match (leader, committed.flatten()) {
            (Some(leader), Some((hw, records))) => {
                cluster.record(EventKind::FinalPartition {
                    partition: p,
                    leader: Some(leader),
                    hw,
                    records,
                });
            }
            _ => {
                let reason = "no leader after the convergence window".to_string();
                cluster.record(EventKind::Unavailable {
                    partition: p,
                    reason,
                });
            }
        }
    }
    record_final_offsets(cluster, state.as_ref());
}

/// Each group's committed offsets, as the leader of its offsets partition holds them.
fn record_final_offsets(
    cluster: &Cluster,
    state: Option<&crate::core::quorum::records::ControllerState>,
) {
    for group in cluster.group_names() {
        let Some(p) = cluster.layout().offsets_partition(group) else {
            continue;
        };
        let leader = state.and_then(|s| s.partitions[p.0 as usize].leader);
        let committed = leader.and_then(|l| cluster.with_broker(l, |b| b.committed_offsets(group)));
        let offsets = committed
            .flatten()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let event = crate::group_event::GroupEvent::FinalOffsets { group, offsets };
        cluster.record(EventKind::Group(event));
    }
}
