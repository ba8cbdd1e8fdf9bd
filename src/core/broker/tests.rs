//! The leader's ISR expansion against the controller's answers: when the follower's
//! fetch is answered (ZooKeeper era or `AlterPartition`), and which answers count.

use std::collections::BTreeMap;

use super::{Broker, RecoveredPartition};
use crate::config::{Config, IsrUpdate};
use crate::core::broker::producer_state::{ProducerState, SequenceCheck};
use crate::core::log::{Record, test_batch as batch, test_record};
use crate::core::message::{ErrorCode, FetchPartition, Message, MetadataImage};
use crate::core::metadata::{BrokerRegistration, PartitionRegistration};
use crate::core::prng::Prng;
use crate::core::{Effect, StateMachine};
use crate::layout::Layout;
use crate::types::{
    BrokerEpoch, BrokerId, LeaderEpoch, NodeId, Offset, PartitionEpoch, PartitionId, ProducerEpoch,
    ProducerId, Sequence, SimTime,
};

const P: PartitionId = PartitionId(0);

fn registration(isr: &[u8], partition_epoch: u32) -> PartitionRegistration {
    PartitionRegistration {
        partition: P,
        replicas: vec![BrokerId(1), BrokerId(2), BrokerId(3)],
        leader: Some(BrokerId(1)),
        leader_epoch: LeaderEpoch(1),
        partition_epoch: PartitionEpoch(partition_epoch),
        isr: isr.iter().map(|b| BrokerId(*b)).collect(),
        elr: Vec::new(),
        last_known_elr: Vec::new(),
        recovering: false,
    }
}

/// Broker 1 leads the partition in epoch 1 with ISR {1, 2} (partition epoch 1), holding
/// two records of epoch 0 and HW 1; broker 3 is out of the ISR.
fn leader(isr_update: IsrUpdate) -> Broker {
    leader_holding(isr_update, vec![test_record(0, 0), test_record(0, 1)])
}

/// The same leader holding `records` (epoch 0) instead.
fn leader_holding(isr_update: IsrUpdate, records: Vec<Record>) -> Broker {
    let config = Config {
        isr_update,
        isr_join_requires_epoch_start: false,
        ..Config::default()
    };
    let layout = Layout::new(3, &[("t".to_string(), 1, 3)]);
    let disk = BTreeMap::from([(
        P,
        RecoveredPartition {
            records,
            hw_checkpoint: Offset(1),
        },
    )]);
    let now = SimTime::ZERO;
    let mut broker = Broker::recover(BrokerId(1), config, &layout, disk, &mut Prng::new(7), now);
    let mut out = Vec::new();
    broker.on_start(now, &mut out);
    let registered = Message::RegisterBrokerResponse {
        result: Ok(BrokerEpoch(1)),
    };
    broker.on_message(now, NodeId::CONTROLLER, registered, &mut out);
    let image = MetadataImage {
        version: 1,
        partitions: vec![registration(&[1, 2], 1)],
        brokers: (1..=3)
            .map(|b| BrokerRegistration {
                broker: BrokerId(b),
                broker_epoch: BrokerEpoch(u64::from(b)),
                fenced: false,
            })
            .collect(),
    };
    let update = Message::MetadataUpdate {
        metadata: Box::new(image),
    };
    broker.on_message(now, NodeId::CONTROLLER, update, &mut out);
    assert!(broker.replicas[&P].is_leader(), "the fixture leads");
    broker
}

/// `follower` fetches from `offset` in leader epoch 1.
fn fetch(broker: &mut Broker, follower: u8, offset: u64, now: SimTime) -> Vec<Effect> {
    let mut out = Vec::new();
    let fetch = Message::Fetch {
        correlation: 9,
        replica: Some(BrokerId(follower)),
        replica_epoch: BrokerEpoch(u64::from(follower)),
        max_wait_ms: 500,
        partitions: vec![FetchPartition {
            partition: P,
            fetch_offset: Offset(offset),
            current_leader_epoch: LeaderEpoch(1),
            last_fetched_epoch: Some(LeaderEpoch(0)),
        }],
    };
    broker.on_message(now, NodeId::Broker(BrokerId(follower)), fetch, &mut out);
    out
}

/// Broker 3 fetches from offset 1 (below the epoch start offset 2, at the HW 1): the old
/// rule lets it join.
fn fetch_from_broker_3(broker: &mut Broker, now: SimTime) -> Vec<Effect> {
    fetch(broker, 3, 1, now)
}

fn answer(attempt: u64, result: Result<PartitionRegistration, ErrorCode>) -> Message {
    Message::AlterPartitionResponse {
        partition: P,
        attempt,
        result,
    }
}

/// The `attempt` of the pending proposal's latest send.
fn latest_attempt(broker: &Broker) -> u64 {
    broker.replicas[&P]
        .pending_alter()
        .expect("a proposal is pending")
        .attempt
}

fn deliver(broker: &mut Broker, at_ms: u64, message: Message) -> Vec<Effect> {
    let mut out = Vec::new();
    broker.on_message(
        SimTime::from_ms(at_ms),
        NodeId::CONTROLLER,
        message,
        &mut out,
    );
    out
}

fn fetch_answered(out: &[Effect]) -> bool {
    out.iter().any(|e| {
        matches!(
            e,
            Effect::Send {
                to: NodeId::Broker(BrokerId(3)),
                message: Message::FetchResponse { .. },
            }
        )
    })
}

fn proposed(out: &[Effect]) -> bool {
    out.iter().any(|e| {
        matches!(
            e,
            Effect::Send {
                message: Message::AlterPartition { .. },
                ..
            }
        )
    })
}

fn pending(broker: &Broker) -> bool {
    broker.replicas[&P].pending_alter().is_some()
}

#[test]
fn zookeeper_era_answers_the_joining_follower_only_after_the_isr_is_stored() {
    let mut broker = leader(IsrUpdate::Zookeeper);
    let out = fetch_from_broker_3(&mut broker, SimTime::from_ms(10));
    assert!(proposed(&out), "broker 3 is proposed for the ISR");
    assert!(!fetch_answered(&out), "held while the ISR write is pending");
    assert!(
        broker.next_deadline() > Some(SimTime::from_ms(510)),
        "no wake-up for the held fetch's own deadline"
    );
    let mut out = Vec::new();
    broker.on_timeout(SimTime::from_ms(900), &mut out);
    assert!(
        !fetch_answered(&out),
        "the fetch deadline does not release it"
    );
    let attempt = latest_attempt(&broker);
    let out = deliver(
        &mut broker,
        901,
        answer(attempt, Ok(registration(&[1, 2, 3], 2))),
    );
    assert!(fetch_answered(&out), "answered once the ISR is stored");
    assert_eq!(broker.replicas[&P].isr.len(), 3);
}

#[test]
fn alter_partition_answers_the_joining_follower_at_once() {
    let mut broker = leader(IsrUpdate::AlterPartition);
    let out = fetch_from_broker_3(&mut broker, SimTime::from_ms(10));
    assert!(proposed(&out));
    assert!(
        fetch_answered(&out),
        "KIP-497: the proposal does not hold the fetch"
    );
}

#[test]
fn a_refusal_of_an_older_send_leaves_the_pending_proposal_alone() {
    let mut broker = leader(IsrUpdate::AlterPartition);
    fetch_from_broker_3(&mut broker, SimTime::from_ms(10));
    let first = latest_attempt(&broker);
    // Unanswered for a second: the proposal is sent again.
    broker.on_timeout(SimTime::from_ms(1_010), &mut Vec::new());
    let resent = latest_attempt(&broker);
    assert_ne!(first, resent, "a resend is a new attempt");
    // The first send is refused (say broker 3 re-registered meanwhile) ...
    deliver(
        &mut broker,
        1_012,
        answer(first, Err(ErrorCode::IneligibleReplica)),
    );
    assert!(pending(&broker), "the refusal was of an older send");
    // ... so broker 2, with everything, cannot move the HW past broker 3's offset 1.
    fetch(&mut broker, 2, 2, SimTime::from_ms(1_013));
    assert_eq!(
        broker.replicas[&P].hw,
        Offset(1),
        "the proposed member still holds the HW back"
    );
    // The resend is applied.
    deliver(
        &mut broker,
        1_014,
        answer(resent, Ok(registration(&[1, 2, 3], 2))),
    );
    assert!(!pending(&broker));
    assert_eq!(broker.replicas[&P].isr.len(), 3);
}

#[test]
fn a_newer_state_in_any_answer_is_adopted() {
    let mut broker = leader(IsrUpdate::AlterPartition);
    fetch_from_broker_3(&mut broker, SimTime::from_ms(10));
    let attempt = latest_attempt(&broker);
    broker.on_timeout(SimTime::from_ms(1_010), &mut Vec::new());
    // The first send's success arrives after the resend went out.
    deliver(
        &mut broker,
        1_012,
        answer(attempt, Ok(registration(&[1, 2, 3], 2))),
    );
    assert!(!pending(&broker), "settled by the newer state");
    assert_eq!(broker.replicas[&P].isr.len(), 3);
}

#[test]
fn an_invalid_version_keeps_the_proposal_pending_and_an_ineligible_replica_rolls_it_back() {
    let mut broker = leader(IsrUpdate::AlterPartition);
    fetch_from_broker_3(&mut broker, SimTime::from_ms(10));
    let attempt = latest_attempt(&broker);
    deliver(
        &mut broker,
        12,
        answer(attempt, Err(ErrorCode::InvalidUpdateVersion)),
    );
    assert!(
        pending(&broker),
        "applied or not is unknown: wait for metadata"
    );
    deliver(
        &mut broker,
        14,
        answer(attempt, Err(ErrorCode::IneligibleReplica)),
    );
    assert!(
        !pending(&broker),
        "not applied, our epoch is current: roll back"
    );
    assert_eq!(broker.replicas[&P].isr.len(), 2);
}

/// The records of the fetch response to broker 2 in `out`.
fn fetched_by_broker_2(out: &[Effect]) -> Vec<Record> {
    out.iter()
        .find_map(|e| match e {
            Effect::Send {
                to: NodeId::Broker(BrokerId(2)),
                message: Message::FetchResponse { partitions, .. },
            } => Some(partitions[0].records.clone()),
            _ => None,
        })
        .expect("the fetch is answered")
}

/// A fetch carries whole record batches (Kafka's reader drops a torn last batch): with
/// two 600-record batches a 1000-record read returns the first batch alone. A follower
/// that kept 400 records of the second batch would, once leader, refuse the producer's
/// retry of that batch as out of order (neither a duplicate nor the next sequence), and
/// the producer's KIP-360 epoch bump would append it a second time.
#[test]
fn a_follower_fetch_carries_whole_batches() {
    let mut records = batch(0, 600);
    records.extend(batch(600, 600));
    let mut broker = leader_holding(IsrUpdate::AlterPartition, records);
    let first = fetched_by_broker_2(&fetch(&mut broker, 2, 0, SimTime::from_ms(10)));
    assert_eq!(first.len(), 600, "the first batch, not 1000 records");
    let follower = ProducerState::from_log(&first);
    assert_eq!(
        follower.check(ProducerId(1), ProducerEpoch(0), Sequence(600), 600),
        SequenceCheck::Append,
        "the retry of the second batch is the next sequence on the follower"
    );
    let second = fetched_by_broker_2(&fetch(&mut broker, 2, 600, SimTime::from_ms(20)));
    assert_eq!(second.len(), 600, "then the second batch whole");
}

/// When the leader's next AlterPartition goes out, stepping its timers every ms from
/// `from_ms` to `to_ms`: the first ms a send appears.
fn next_send_ms(broker: &mut Broker, from_ms: u64, to_ms: u64) -> Option<u64> {
    (from_ms..=to_ms).find(|ms| {
        let mut out = Vec::new();
        broker.on_timeout(SimTime::from_ms(*ms), &mut out);
        proposed(&out)
    })
}

#[test]
fn an_unanswered_alter_partition_is_resent_every_second() {
    let mut broker = leader(IsrUpdate::AlterPartition);
    assert!(proposed(&fetch_from_broker_3(
        &mut broker,
        SimTime::from_ms(10)
    )));
    assert_eq!(next_send_ms(&mut broker, 11, 3_000), Some(1_010));
    assert_eq!(next_send_ms(&mut broker, 1_011, 3_000), Some(2_010));
}

#[test]
fn not_controller_and_a_reset_connection_resend_after_the_retry_backoff() {
    let mut broker = leader(IsrUpdate::AlterPartition);
    assert!(proposed(&fetch_from_broker_3(
        &mut broker,
        SimTime::from_ms(10)
    )));
    let attempt = latest_attempt(&broker);
    deliver(
        &mut broker,
        20,
        answer(attempt, Err(ErrorCode::NotController)),
    );
    assert!(pending(&broker), "NOT_CONTROLLER settles nothing");
    assert_eq!(next_send_ms(&mut broker, 21, 3_000), Some(120));
    let mut out = Vec::new();
    let reset = crate::core::Disconnect::Reset;
    broker.on_disconnect(SimTime::from_ms(500), NodeId::CONTROLLER, reset, &mut out);
    assert_eq!(next_send_ms(&mut broker, 501, 3_000), Some(600));
}
