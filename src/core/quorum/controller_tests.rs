//! Unit tests of the controller's registration and fencing rules.

use super::*;
use crate::core::metadata::PartitionRegistration;

fn register(c: &mut Controller, now: SimTime, broker: u8, incarnation: u64) -> BrokerEpoch {
    let previous = Some(c.state.brokers[&BrokerId(broker)].broker_epoch);
    let mut out = Vec::new();
    let message = Message::RegisterBroker {
        broker: BrokerId(broker),
        incarnation,
        previous_broker_epoch: previous.filter(|e| e.0 > 0),
    };
    c.on_message(now, NodeId::Broker(BrokerId(broker)), message, &mut out);
    c.state.brokers[&BrokerId(broker)].broker_epoch
}

/// The initial leader's first process: the incarnation the bootstrap metadata stands for.
const FIRST: u64 = crate::core::broker::Broker::FIRST_INCARNATION;

fn heartbeat(c: &mut Controller, now: SimTime, broker: u8) {
    let message = Message::Heartbeat {
        broker: BrokerId(broker),
        broker_epoch: c.state.brokers[&BrokerId(broker)].broker_epoch,
        metadata_version: c.state.metadata_version,
    };
    c.on_message(
        now,
        NodeId::Broker(BrokerId(broker)),
        message,
        &mut Vec::new(),
    );
}

fn session_check(c: &mut Controller, now: SimTime) {
    c.on_timeout(now, &mut Vec::new());
}

#[test]
fn an_initial_leader_that_dies_before_it_was_unfenced_loses_its_leadership() {
    let layout = Layout::new(3, &[("t".to_string(), 1, 3)]);
    let config = Config {
        broker_session_timeout_ms: 1000,
        ..Config::default()
    };
    let t0 = SimTime::ZERO;
    let fresh = || Controller::recover(config.clone(), &layout, None, t0);
    // Broker 1, the initial leader, registers and crashes before any heartbeat
    // unfenced it; brokers 2 and 3 heartbeat on.
    let mut c = fresh();
    register(&mut c, t0, 1, FIRST);
    for b in [2, 3] {
        register(&mut c, t0, b, 20 + u64::from(b));
    }
    for ms in (100..=1200).step_by(100) {
        heartbeat(&mut c, t0.plus_ms(ms), 2);
        heartbeat(&mut c, t0.plus_ms(ms), 3);
        session_check(&mut c, t0.plus_ms(ms));
    }
    assert!(c.state.brokers[&BrokerId(1)].fenced);
    assert_eq!(
        c.state.partitions[0].leader,
        Some(BrokerId(2)),
        "the session check moved it"
    );
    // Back before its session expired, it must not resume leading in the same epoch.
    let mut c = fresh();
    register(&mut c, t0, 1, FIRST);
    register(&mut c, t0, 2, 22);
    heartbeat(&mut c, t0.plus_ms(50), 2);
    register(&mut c, t0.plus_ms(300), 1, 12);
    let after = &c.state.partitions[0];
    assert_eq!(after.leader, Some(BrokerId(2)), "the registration moved it");
    assert!(after.leader_epoch > LeaderEpoch(0));
}

#[test]
fn an_initial_leaders_later_process_takes_up_no_leadership_nor_does_contact_extend_it() {
    let layout = Layout::new(2, &[("t".to_string(), 1, 2)]);
    let config = Config {
        broker_session_timeout_ms: 1000,
        ..Config::default()
    };
    let t0 = SimTime::ZERO;
    // Broker 1's first process died before registering; its next one registers.
    let mut c = Controller::recover(config.clone(), &layout, None, t0);
    register(&mut c, t0, 2, 22);
    heartbeat(&mut c, t0.plus_ms(10), 2);
    register(&mut c, t0.plus_ms(100), 1, 12);
    assert_eq!(c.state.partitions[0].leader, Some(BrokerId(2)), "moved");
    // The first process registers but never catches up: its registration and its
    // heartbeats that do not unfence it leave the session it had at the start.
    let mut c = Controller::recover(config, &layout, None, t0);
    register(&mut c, t0, 2, 22);
    heartbeat(&mut c, t0.plus_ms(10), 2);
    register(&mut c, t0.plus_ms(600), 1, FIRST);
    let behind = Message::Heartbeat {
        broker: BrokerId(1),
        broker_epoch: c.state.brokers[&BrokerId(1)].broker_epoch,
        metadata_version: 0,
    };
    c.on_message(
        t0.plus_ms(900),
        NodeId::Broker(BrokerId(1)),
        behind,
        &mut Vec::new(),
    );
    heartbeat(&mut c, t0.plus_ms(900), 2);
    session_check(&mut c, t0.plus_ms(1100));
    assert!(c.state.brokers[&BrokerId(1)].fenced);
    assert_eq!(
        c.state.partitions[0].leader,
        Some(BrokerId(2)),
        "its session ran out"
    );
}

#[test]
fn a_new_incarnation_registering_after_its_session_expired_loses_its_leadership() {
    let layout = Layout::new(2, &[("t".to_string(), 1, 2)]);
    let config = Config {
        broker_session_timeout_ms: 1000,
        ..Config::default()
    };
    let mut c = Controller::recover(config, &layout, None, SimTime::ZERO);
    let t0 = SimTime::ZERO;
    register(&mut c, t0, 1, FIRST);
    register(&mut c, t0, 2, 22);
    heartbeat(&mut c, t0.plus_ms(10), 1);
    heartbeat(&mut c, t0.plus_ms(10), 2);
    let before = c.state.partitions[0].clone();
    assert_eq!(before.leader, Some(BrokerId(1)));
    assert!(!c.state.brokers[&BrokerId(1)].fenced);
    // Broker 1 loses power; broker 2 keeps heartbeating. Its successor registers
    // after the old session expired, before any session check ran.
    heartbeat(&mut c, t0.plus_ms(900), 2);
    register(&mut c, t0.plus_ms(1500), 1, 12);
    let after = &c.state.partitions[0];
    assert_eq!(after.leader, Some(BrokerId(2)), "leadership moved");
    assert!(
        after.leader_epoch > before.leader_epoch,
        "in a new leader epoch"
    );
    assert_eq!(after.isr, vec![BrokerId(2)]);
}

/// Sends broker 1's AlterPartition for partition 0 proposing `isr`, based on the
/// partition's current epochs; gives the controller's answer.
fn alter(
    c: &mut Controller,
    now: SimTime,
    isr: Vec<(BrokerId, BrokerEpoch)>,
) -> Result<PartitionRegistration, ErrorCode> {
    let current = c.state.partitions[0].clone();
    let message = Message::AlterPartition {
        broker: BrokerId(1),
        broker_epoch: c.state.brokers[&BrokerId(1)].broker_epoch,
        partition: PartitionId(0),
        leader_epoch: current.leader_epoch,
        partition_epoch: current.partition_epoch,
        new_isr: isr,
        attempt: 1,
    };
    let mut out = Vec::new();
    c.on_message(now, NodeId::Broker(BrokerId(1)), message, &mut out);
    out.into_iter()
        .find_map(|e| match e {
            Effect::Send {
                message: Message::AlterPartitionResponse { result, .. },
                ..
            } => Some(result),
            _ => None,
        })
        .expect("answered")
}

/// KIP-903's sequence: the leader proposes broker 2 with the broker epoch it saw, broker
/// 2 comes back with an empty disk and registers again, then the stale proposal arrives.
fn stale_join(checks_broker_epoch: bool) -> Result<PartitionRegistration, ErrorCode> {
    let layout = Layout::new(2, &[("t".to_string(), 1, 2)]);
    let config = Config {
        broker_session_timeout_ms: 1000,
        alter_partition_checks_broker_epoch: checks_broker_epoch,
        ..Config::default()
    };
    let mut c = Controller::recover(config, &layout, None, SimTime::ZERO);
    let t0 = SimTime::ZERO;
    let leader_epoch = register(&mut c, t0, 1, FIRST);
    let old_epoch = register(&mut c, t0, 2, 22);
    heartbeat(&mut c, t0.plus_ms(10), 1);
    heartbeat(&mut c, t0.plus_ms(10), 2);
    let shrunk = alter(&mut c, t0.plus_ms(20), vec![(BrokerId(1), leader_epoch)]);
    assert_eq!(shrunk.expect("shrink").isr, vec![BrokerId(1)]);
    // Broker 2's drive is replaced: its new incarnation registers once the old session
    // expired, and is unfenced.
    heartbeat(&mut c, t0.plus_ms(900), 1);
    let new_epoch = register(&mut c, t0.plus_ms(1500), 2, 23);
    assert_ne!(new_epoch, old_epoch);
    heartbeat(&mut c, t0.plus_ms(1600), 1);
    heartbeat(&mut c, t0.plus_ms(1600), 2);
    assert!(!c.state.brokers[&BrokerId(2)].fenced);
    let stale = vec![(BrokerId(1), leader_epoch), (BrokerId(2), old_epoch)];
    alter(&mut c, t0.plus_ms(1700), stale)
}

#[test]
fn a_join_carrying_a_replaced_brokers_old_epoch_is_refused_since_kip_903() {
    assert_eq!(stale_join(true), Err(ErrorCode::IneligibleReplica));
}

#[test]
fn without_kip_903_a_join_carrying_a_replaced_brokers_old_epoch_is_applied() {
    let applied = stale_join(false).expect("KIP-841 only checks that it is unfenced");
    assert_eq!(applied.isr, vec![BrokerId(1), BrokerId(2)]);
}
