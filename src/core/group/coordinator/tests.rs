use super::{CoordinatorConfig, GroupCoordinator, OffsetsLog};
use crate::core::Effect;
use crate::core::group::messages::GroupMessage;
use crate::core::group::records::{GroupRecord, PartitionSet};
use crate::core::group::{Generation, GroupError, MemberId};
use crate::core::message::{ErrorCode, Message};
use crate::types::{GroupName, NodeId, Offset, PartitionId, SimTime};

/// A leader's log: records appended in order; refuses while `refusing`.
#[derive(Default)]
struct Log {
    records: Vec<GroupRecord>,
    refusing: bool,
}

impl OffsetsLog for Log {
    fn append(&mut self, records: &[GroupRecord]) -> Result<Offset, ErrorCode> {
        if self.refusing {
            return Err(ErrorCode::NotEnoughReplicas);
        }
        self.records.extend_from_slice(records);
        Ok(Offset(self.records.len() as u64))
    }
}

fn g() -> GroupName {
    GroupName::intern("g1")
}

const CONFIG: CoordinatorConfig = CoordinatorConfig {
    initial_delay_ms: 0,
    session_timeout_ms: 1_000,
    rebalance_timeout_ms: 5_000,
};

const CLIENT: NodeId = NodeId::Consumer(1);

fn answers(out: &[Effect]) -> Vec<GroupMessage> {
    (out.iter())
        .filter_map(|e| match e {
            Effect::Send {
                message: Message::Group(m),
                ..
            } => Some((**m).clone()),
            _ => None,
        })
        .collect()
}

fn commit(c: &mut GroupCoordinator, log: &mut Log, offset: u64) -> Vec<GroupMessage> {
    let mut out = Vec::new();
    let request = GroupMessage::OffsetCommit {
        correlation: 5,
        group: g(),
        member: None,
        offsets: vec![(PartitionId(0), Offset(offset))],
    };
    c.on_request(SimTime::ZERO, CLIENT, request, log, &mut out);
    answers(&out)
}

fn fetched(c: &mut GroupCoordinator, log: &mut Log) -> Option<Offset> {
    let mut out = Vec::new();
    let request = GroupMessage::OffsetFetch {
        correlation: 6,
        group: g(),
        partitions: vec![PartitionId(0)],
    };
    c.on_request(SimTime::ZERO, CLIENT, request, log, &mut out);
    match answers(&out).as_slice() {
        [
            GroupMessage::OffsetFetchResponse {
                result: Ok(offsets),
                ..
            },
        ] => offsets[0].1,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_commit_is_answered_and_visible_only_once_the_hw_passes_it() {
    let mut log = Log::default();
    let mut c = GroupCoordinator::load(SimTime::ZERO, &[], CONFIG, 1);
    assert!(commit(&mut c, &mut log, 17).is_empty(), "waits for the HW");
    assert_eq!(fetched(&mut c, &mut log), None);
    let mut out = Vec::new();
    c.on_high_watermark(SimTime::ZERO, Offset(1), &mut log, &mut out);
    let ok = GroupMessage::OffsetCommitResponse {
        correlation: 5,
        result: Ok(()),
    };
    assert_eq!(answers(&out), vec![ok]);
    assert_eq!(fetched(&mut c, &mut log), Some(Offset(17)));
}

#[test]
fn a_refused_append_answers_coordinator_not_available() {
    let mut log = Log {
        refusing: true,
        ..Log::default()
    };
    let mut c = GroupCoordinator::load(SimTime::ZERO, &[], CONFIG, 1);
    let refused = GroupMessage::OffsetCommitResponse {
        correlation: 5,
        result: Err(GroupError::CoordinatorNotAvailable),
    };
    assert_eq!(commit(&mut c, &mut log, 3), vec![refused]);
}

#[test]
fn a_new_coordinator_loads_offsets_and_the_stored_generation() {
    let mut log = Log::default();
    let mut c = GroupCoordinator::load(SimTime::ZERO, &[], CONFIG, 100);
    commit(&mut c, &mut log, 9);
    commit(&mut c, &mut log, 12);
    // The new leader replays the whole log, including what its HW has not passed yet.
    let mut loaded = GroupCoordinator::load(SimTime::ZERO, &log.records, CONFIG, 200);
    assert_eq!(fetched(&mut loaded, &mut log), Some(Offset(12)));
    let generation = [
        GroupRecord::Generation {
            group: g(),
            generation: Generation(4),
            leader: MemberId(7),
            members: 1,
        },
        GroupRecord::Member {
            group: g(),
            generation: Generation(4),
            member: MemberId(7),
            partitions: PartitionSet::of(&[PartitionId(1)]),
        },
    ];
    let mut loaded = GroupCoordinator::load(SimTime::ZERO, &generation, CONFIG, 300);
    let mut out = Vec::new();
    let heartbeat = GroupMessage::Heartbeat {
        correlation: 1,
        group: g(),
        member: MemberId(7),
        generation: Generation(4),
    };
    loaded.on_request(SimTime::from_ms(10), CLIENT, heartbeat, &mut log, &mut out);
    let fine = GroupMessage::HeartbeatResponse {
        correlation: 1,
        error: None,
    };
    assert_eq!(answers(&out), vec![fine]);
}

#[test]
fn unloading_answers_pending_commits_not_coordinator() {
    let mut log = Log::default();
    let mut c = GroupCoordinator::load(SimTime::ZERO, &[], CONFIG, 1);
    commit(&mut c, &mut log, 4);
    let mut out = Vec::new();
    c.unload(&mut out);
    let gone = GroupMessage::OffsetCommitResponse {
        correlation: 5,
        result: Err(GroupError::NotCoordinator),
    };
    assert_eq!(answers(&out), vec![gone]);
}
