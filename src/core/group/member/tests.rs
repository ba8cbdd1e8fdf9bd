//! Members against a real coordinator in a small world without a network: every message
//! arrives 1 ms after it is sent; broker 1 leads every partition and coordinates; the
//! offsets log's HW follows its end at once.

use std::collections::BTreeMap;

use super::{CommitMode, GroupMember, MemberConfig, OffsetReset};
use crate::config::Config;
use crate::core::group::assignor::AssignorKind;
use crate::core::group::coordinator::{CoordinatorConfig, GroupCoordinator, OffsetsLog};
use crate::core::group::messages::GroupMessage;
use crate::core::group::records::GroupRecord;
use crate::core::log::test_record;
use crate::core::message::{ErrorCode, FetchedPartition, Message, MetadataImage};
use crate::core::metadata::PartitionRegistration;
use crate::core::{Effect, StateMachine};
use crate::group_event::{CommitOutcome, GroupEvent};
use crate::history::EventKind;
use crate::types::{
    BrokerId, GroupName, LeaderEpoch, NodeId, Offset, PartitionEpoch, PartitionId, SimTime,
};

const BROKER: NodeId = NodeId::Broker(BrokerId(1));
const SESSION_MS: u64 = 600;

#[derive(Default)]
struct Log(Vec<GroupRecord>);

impl OffsetsLog for Log {
    fn append(&mut self, records: &[GroupRecord]) -> Result<Offset, ErrorCode> {
        self.0.extend_from_slice(records);
        Ok(Offset(self.0.len() as u64))
    }
}

fn group() -> GroupName {
    GroupName::intern("g1")
}

fn image() -> MetadataImage {
    let partition = |p: u16| PartitionRegistration {
        partition: PartitionId(p),
        replicas: vec![BrokerId(1)],
        leader: Some(BrokerId(1)),
        leader_epoch: LeaderEpoch(0),
        partition_epoch: PartitionEpoch(0),
        isr: vec![BrokerId(1)],
        elr: vec![],
        last_known_elr: vec![],
        recovering: false,
    };
    MetadataImage {
        version: 1,
        partitions: vec![partition(0), partition(1)],
        brokers: vec![],
    }
}

struct World {
    now: SimTime,
    coordinator: GroupCoordinator,
    log: Log,
    members: Vec<GroupMember>,
    /// Members that hear nothing and do nothing (paused).
    frozen: Vec<usize>,
    /// Records per partition (each partition holds `len` records).
    len: u64,
    in_flight: Vec<(SimTime, NodeId, NodeId, Message)>,
    events: Vec<GroupEvent>,
}

impl World {
    fn new(members: u8, commit: CommitMode) -> World {
        let config = MemberConfig {
            group: group(),
            topics: BTreeMap::from([("events".to_string(), vec![PartitionId(0), PartitionId(1)])]),
            assignor: AssignorKind::Range,
            commit,
            process_ms: 1,
            session_timeout_ms: SESSION_MS,
            heartbeat_interval_ms: 100,
            max_poll_interval_ms: 5_000,
            auto_commit_interval_ms: 200,
            offset_reset: OffsetReset::Earliest,
        };
        let client = Config {
            request_timeout_ms: 1_000,
            ..Config::default()
        };
        let coordinator_config = CoordinatorConfig {
            initial_delay_ms: 50,
            session_timeout_ms: SESSION_MS,
            rebalance_timeout_ms: 5_000,
        };
        World {
            now: SimTime::ZERO,
            coordinator: GroupCoordinator::load(SimTime::ZERO, &[], coordinator_config, 1),
            log: Log::default(),
            members: (1..=members)
                .map(|n| {
                    GroupMember::new(
                        NodeId::Member(group(), n),
                        config.clone(),
                        client.clone(),
                        vec![BrokerId(1)],
                    )
                })
                .collect(),
            frozen: Vec::new(),
            len: 30,
            in_flight: Vec::new(),
            events: Vec::new(),
        }
    }

    fn member_node(i: usize) -> NodeId {
        NodeId::Member(group(), i as u8 + 1)
    }

    fn route(&mut self, from: NodeId, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Send { to, message } => {
                    self.in_flight
                        .push((self.now.plus_ms(1), from, to, message))
                }
                Effect::Trace(EventKind::Group(event)) => self.events.push(event),
                _ => {}
            }
        }
    }

    /// What broker 1 answers: metadata, fetches from the fixed logs, group requests.
    fn broker(&mut self, from: NodeId, message: Message) {
        let mut out = Vec::new();
        match message {
            Message::MetadataRequest { correlation } => out.push(Effect::Send {
                to: from,
                message: Message::MetadataResponse {
                    correlation,
                    metadata: Box::new(image()),
                },
            }),
            Message::Fetch {
                correlation,
                partitions,
                ..
            } => {
                let answers = partitions
                    .iter()
                    .map(|f| self.fetched(f.partition, f.fetch_offset))
                    .collect();
                let message = Message::FetchResponse {
                    correlation,
                    sent_at: self.now,
                    partitions: answers,
                };
                out.push(Effect::Send { to: from, message });
            }
            Message::Group(group_message) => match *group_message {
                GroupMessage::FindCoordinator { correlation, .. } => {
                    let answer = GroupMessage::FindCoordinatorResponse {
                        correlation,
                        result: Ok(BrokerId(1)),
                    };
                    out.push(Effect::Send {
                        to: from,
                        message: Message::Group(Box::new(answer)),
                    });
                }
                request => {
                    self.coordinator
                        .on_request(self.now, from, request, &mut self.log, &mut out);
                    let hw = Offset(self.log.0.len() as u64);
                    self.coordinator
                        .on_high_watermark(self.now, hw, &mut self.log, &mut out);
                }
            },
            _ => {}
        }
        self.route(BROKER, out);
    }

    fn fetched(&self, partition: PartitionId, offset: Offset) -> FetchedPartition {
        let end = Offset(self.len);
        let out_of_range = offset > end;
        let take = if out_of_range {
            0
        } else {
            (self.len - offset.0).min(5)
        };
        FetchedPartition {
            partition,
            error: out_of_range.then_some(ErrorCode::OffsetOutOfRange),
            base_offset: offset,
            records: (0..take)
                .map(|i| test_record(0, (offset.0 + i) as u32))
                .collect(),
            high_watermark: end,
            log_end_offset: end,
            diverging_epoch: None,
        }
    }

    fn run_until(&mut self, to_ms: u64) {
        while self.now < SimTime::from_ms(to_ms) {
            self.now = self.now.plus_ms(1);
            let now = self.now;
            let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.in_flight)
                .into_iter()
                .partition(|m| m.0 <= now);
            self.in_flight = later;
            for (_, from, to, message) in due {
                match to {
                    NodeId::Broker(_) => self.broker(from, message),
                    NodeId::Member(_, n) => {
                        let i = usize::from(n) - 1;
                        if self.frozen.contains(&i) {
                            continue; // lost while frozen (stands in for a timeout)
                        }
                        let mut out = Vec::new();
                        self.members[i].on_message(now, from, message, &mut out);
                        self.route(Self::member_node(i), out);
                    }
                    _ => {}
                }
            }
            for i in 0..self.members.len() {
                if !self.frozen.contains(&i)
                    && self.members[i].next_deadline().is_some_and(|d| d <= now)
                {
                    let mut out = Vec::new();
                    self.members[i].on_timeout(now, &mut out);
                    self.route(Self::member_node(i), out);
                }
            }
            if self.coordinator.next_deadline().is_some_and(|d| d <= now) {
                let mut out = Vec::new();
                self.coordinator.on_timeout(now, &mut self.log, &mut out);
                self.route(BROKER, out);
            }
        }
    }

    /// Offsets each member processed, per partition, in order.
    fn processed(&self, member: usize) -> BTreeMap<PartitionId, Vec<u64>> {
        let mut by_partition: BTreeMap<PartitionId, Vec<u64>> = BTreeMap::new();
        for event in &self.events {
            if let GroupEvent::Process {
                member: m,
                partition,
                records,
                ..
            } = event
                && *m == Self::member_node(member)
            {
                by_partition
                    .entry(*partition)
                    .or_default()
                    .extend(records.iter().map(|(o, _)| o.0));
            }
        }
        by_partition
    }
}

#[test]
fn two_members_split_the_partitions_process_everything_and_commit_it() {
    let mut world = World::new(2, CommitMode::AfterProcess);
    world.run_until(1_000);
    let a = world.members[0].owned().to_vec();
    let b = world.members[1].owned().to_vec();
    assert_eq!((a.len(), b.len()), (1, 1), "range gives each one partition");
    assert_ne!(a, b);
    for m in 0..2 {
        let processed = world.processed(m);
        let only = processed.values().next().expect("processed something");
        assert_eq!(
            only,
            &(0..30).collect::<Vec<u64>>(),
            "member {m}: every record once, in order"
        );
    }
    let committed = world.coordinator.committed(group());
    assert_eq!(
        committed.values().copied().collect::<Vec<_>>(),
        vec![Offset(30), Offset(30)]
    );
    let ok_commits = world
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                GroupEvent::Commit {
                    outcome: CommitOutcome::Ok,
                    ..
                }
            )
        })
        .count();
    assert!(ok_commits >= 12, "a commit after each poll ({ok_commits})");
}

#[test]
fn a_frozen_member_loses_its_partition_to_the_other_which_resumes_from_the_commit() {
    let mut world = World::new(2, CommitMode::AfterProcess);
    world.len = 10;
    world.run_until(600);
    let b_owned = world.members[1].owned().to_vec();
    world.frozen.push(1);
    world.len = 20; // more records arrive while member 2 is frozen
    world.run_until(3_000);
    let a = world.members[0].owned().to_vec();
    assert_eq!(a.len(), 2, "member 1 took over member 2's partition: {a:?}");
    let taken = world.processed(0)[&b_owned[0]].clone();
    assert_eq!(
        taken,
        (10..20).collect::<Vec<u64>>(),
        "resumed at member 2's last commit"
    );
}

#[test]
fn a_zombie_learns_it_was_removed_loses_its_partition_and_rejoins() {
    let mut world = World::new(2, CommitMode::AfterProcess);
    world.len = 10;
    world.run_until(600);
    world.frozen.push(1);
    world.run_until(2_000);
    world.frozen.clear();
    world.run_until(4_000);
    let zombie = World::member_node(1);
    let lost = world
        .events
        .iter()
        .any(|e| matches!(e, GroupEvent::Revoke { member, lost: true, .. } if *member == zombie));
    assert!(
        lost,
        "the zombie hears UNKNOWN_MEMBER_ID and loses its partition"
    );
    let owned: Vec<usize> = world.members.iter().map(|m| m.owned().len()).collect();
    assert_eq!(
        owned,
        vec![1, 1],
        "it rejoined as a new member and the group rebalanced"
    );
}

#[test]
fn auto_commit_commits_what_the_poll_before_processed() {
    let mut world = World::new(1, CommitMode::Auto);
    world.run_until(1_500);
    let committed = world.coordinator.committed(group());
    assert_eq!(
        committed.values().copied().collect::<Vec<_>>(),
        vec![Offset(30), Offset(30)]
    );
    let commits = world
        .events
        .iter()
        .filter(|e| matches!(e, GroupEvent::Commit { .. }))
        .count();
    assert!(
        commits <= 2 * 8,
        "one commit per interval, not per poll ({commits})"
    );
}
