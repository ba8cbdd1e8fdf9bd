//! The end of a run: heal every fault, restart every node, wait for the cluster to
//! converge, probe that every partition accepts writes, drain the consumers, and record
//! the final state of every replica.

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
    let partitions: Vec<PartitionId> = cluster.layout().partition_ids().collect();
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
    cluster.record(EventKind::Phase {
        name: "drain".into(),
    });
    wait(deadline, || drained(cluster)).await;
    record_final(cluster);
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

/// Every consumer has read every partition up to its leader's HW.
fn drained(cluster: &Cluster) -> bool {
    let Some(state) = cluster.controller_state() else {
        return true;
    };
    state.partitions.iter().all(|registration| {
        let p = registration.partition;
        let leader_hw = registration
            .leader
            .and_then(|l| cluster.with_broker(l, |b| b.replicas[&p].hw));
        let Some(hw) = leader_hw else {
            return true;
        };
        cluster
            .consumer_ids()
            .iter()
            .all(|c| cluster.consumer_position(*c, registration.partition) >= hw)
    })
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
}
