//! The group coordinator of one `__consumer_offsets` partition, on the broker that leads
//! it (`GroupCoordinator.scala` with `GroupMetadataManager.scala`, Kafka ≤ 3.x; the 4.x
//! runtime keeps the rules).
//!
//! - Loading: a broker that becomes the partition's leader replays its whole log, to the
//!   log end, into groups and committed offsets (`doLoadGroupsAndOffsets`), and answers
//!   `COORDINATOR_LOAD_IN_PROGRESS` until then (here the load is instant).
//! - Writes: an accepted OffsetCommit and a generation's assignment are appended to the
//!   partition with acks=all (`appendForGroup`, `requiredAcks = -1`). The commit is
//!   answered, and becomes what OffsetFetch returns, only once the HW has passed it; the
//!   assignment's SyncGroup answers wait likewise. A refused append answers
//!   `COORDINATOR_NOT_AVAILABLE`.
//! - Losing the leadership unloads everything; pending writes answer `NOT_COORDINATOR`.

use std::collections::BTreeMap;

use super::assignor::Subscription;
use super::classic::{ClassicGroup, GroupOutput, JoinRequest, StoredMember};
use super::messages::GroupMessage;
use super::records::{GroupRecord, PartitionSet};
use super::{Generation, GroupError, MemberId};
use crate::core::Effect;
use crate::core::message::{ErrorCode, Message};
use crate::types::{GroupName, NodeId, Offset, PartitionId, SimTime};

/// Where an answer goes: the client and its request's correlation id.
pub type Reply = (NodeId, u64);

/// The leader's replica of the offsets partition, as the coordinator writes to it.
pub trait OffsetsLog {
    /// Appends `records` under the acks=all rules; the log end offset after them, or why
    /// the leader refused them.
    fn append(&mut self, records: &[GroupRecord]) -> Result<Offset, ErrorCode>;
}

/// What waits for the HW to pass a write.
#[derive(Clone, Debug)]
enum Done {
    Commit {
        to: Reply,
        group: GroupName,
        offsets: Vec<(PartitionId, Offset)>,
    },
    Stored {
        group: GroupName,
        generation: Generation,
        assignment: BTreeMap<MemberId, Vec<PartitionId>>,
    },
}

#[derive(Clone, Debug)]
struct Group {
    classic: ClassicGroup<Reply>,
    offsets: BTreeMap<PartitionId, Offset>,
}

/// The group settings a coordinator needs of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoordinatorConfig {
    /// `group.initial.rebalance.delay.ms`.
    pub initial_delay_ms: u64,
    /// The session timeout of members restored from the log (the scenario's
    /// `session_timeout_ms`; Kafka stores each member's own).
    pub session_timeout_ms: u64,
    /// Their rebalance timeout (`max_poll_interval_ms`).
    pub rebalance_timeout_ms: u64,
}

/// The coordinator of one offsets partition.
#[derive(Clone, Debug)]
pub struct GroupCoordinator {
    config: CoordinatorConfig,
    next_member_base: u64,
    groups: BTreeMap<GroupName, Group>,
    /// Writes in log order, each with the log end offset the HW must reach.
    writes: Vec<(Offset, Done)>,
}

impl GroupCoordinator {
    /// A coordinator loaded from `records`, the partition's whole log. Member ids it hands
    /// out start at `member_base` (drawn by the broker, so that two coordinators do not
    /// hand out the same ids).
    pub fn load<'a>(
        now: SimTime,
        records: impl IntoIterator<Item = &'a GroupRecord>,
        config: CoordinatorConfig,
        member_base: u64,
    ) -> GroupCoordinator {
        let mut coordinator = GroupCoordinator {
            config,
            next_member_base: member_base,
            groups: BTreeMap::new(),
            writes: Vec::new(),
        };
        let mut generations: BTreeMap<GroupName, (Generation, MemberId, Vec<StoredMember>)> =
            BTreeMap::new();
        for record in records {
            match *record {
                GroupRecord::OffsetCommit {
                    group,
                    partition,
                    offset,
                } => {
                    coordinator.group(group).offsets.insert(partition, offset);
                }
                GroupRecord::Generation {
                    group,
                    generation,
                    leader,
                    ..
                } => {
                    generations.insert(group, (generation, leader, Vec::new()));
                }
                GroupRecord::Member {
                    group,
                    generation,
                    member,
                    partitions,
                } => {
                    let Some((g, _, members)) = generations.get_mut(&group) else {
                        continue;
                    };
                    if *g == generation {
                        members.push(StoredMember {
                            member,
                            subscription: Subscription {
                                topics: Vec::new(),
                                owned: partitions.to_vec(),
                                owned_generation: Some(generation),
                            },
                            session_timeout_ms: config.session_timeout_ms,
                            rebalance_timeout_ms: config.rebalance_timeout_ms,
                            assignment: partitions.to_vec(),
                        });
                    }
                }
            }
        }
        for (name, (generation, leader, members)) in generations {
            coordinator
                .group(name)
                .classic
                .restore(now, generation, leader, members);
        }
        coordinator
    }

    fn group(&mut self, name: GroupName) -> &mut Group {
        let (delay, base) = (self.config.initial_delay_ms, &mut self.next_member_base);
        self.groups.entry(name).or_insert_with(|| {
            let first = *base;
            *base += 1 << 20; // each group its own range of ids
            Group {
                classic: ClassicGroup::new(delay, first),
                offsets: BTreeMap::new(),
            }
        })
    }

    /// The committed offsets of `group` (what OffsetFetch returns).
    pub fn committed(&self, group: GroupName) -> BTreeMap<PartitionId, Offset> {
        self.groups
            .get(&group)
            .map(|g| g.offsets.clone())
            .unwrap_or_default()
    }

    /// A group protocol request from `from`.
    pub fn on_request(
        &mut self,
        now: SimTime,
        from: NodeId,
        message: GroupMessage,
        log: &mut impl OffsetsLog,
        out: &mut Vec<Effect>,
    ) {
        let mut outputs = Vec::new();
        let group_name = match message {
            GroupMessage::Join {
                correlation,
                group,
                member,
                topics,
                owned,
                session_timeout_ms,
                rebalance_timeout_ms,
            } => {
                let subscription = Subscription {
                    topics,
                    owned: owned.0,
                    owned_generation: owned.1,
                };
                let request = JoinRequest {
                    member,
                    subscription,
                    session_timeout_ms,
                    rebalance_timeout_ms,
                    reply: (from, correlation),
                };
                self.group(group).classic.join(now, request, &mut outputs);
                group
            }
            GroupMessage::Sync {
                correlation,
                group,
                member,
                generation,
                assignment,
            } => {
                self.group(group).classic.sync(
                    member,
                    generation,
                    assignment,
                    (from, correlation),
                    &mut outputs,
                );
                group
            }
            GroupMessage::Heartbeat {
                correlation,
                group,
                member,
                generation,
            } => {
                let error = self
                    .group(group)
                    .classic
                    .heartbeat(now, member, generation)
                    .err();
                send(
                    out,
                    from,
                    GroupMessage::HeartbeatResponse { correlation, error },
                );
                return;
            }
            GroupMessage::Leave { group, member } => {
                self.group(group).classic.leave(now, member, &mut outputs);
                group
            }
            GroupMessage::OffsetCommit {
                correlation,
                group,
                member,
                offsets,
            } => {
                self.commit(group, member, offsets, (from, correlation), log, out);
                return;
            }
            GroupMessage::OffsetFetch {
                correlation,
                group,
                partitions,
            } => {
                let committed = self.committed(group);
                let offsets = partitions
                    .iter()
                    .map(|p| (*p, committed.get(p).copied()))
                    .collect();
                send(
                    out,
                    from,
                    GroupMessage::OffsetFetchResponse {
                        correlation,
                        result: Ok(offsets),
                    },
                );
                return;
            }
            _ => return, // answers are not addressed to coordinators
        };
        self.perform(now, group_name, outputs, log, out);
    }

    fn commit(
        &mut self,
        group: GroupName,
        member: Option<(MemberId, Generation)>,
        offsets: Vec<(PartitionId, Offset)>,
        to: Reply,
        log: &mut impl OffsetsLog,
        out: &mut Vec<Effect>,
    ) {
        if let Err(error) = self.group(group).classic.check_commit(member) {
            answer_commit(out, to, Err(error));
            return;
        }
        let records: Vec<GroupRecord> = (offsets.iter())
            .map(|(partition, offset)| GroupRecord::OffsetCommit {
                group,
                partition: *partition,
                offset: *offset,
            })
            .collect();
        match log.append(&records) {
            Ok(end) => self.writes.push((end, Done::Commit { to, group, offsets })),
            Err(_) => {
                let result = Err(GroupError::CoordinatorNotAvailable);
                answer_commit(out, to, result);
            }
        }
    }

    /// Moves a group's outputs: answers go out, a generation to store is appended.
    fn perform(
        &mut self,
        now: SimTime,
        group: GroupName,
        outputs: Vec<GroupOutput<Reply>>,
        log: &mut impl OffsetsLog,
        out: &mut Vec<Effect>,
    ) {
        for output in outputs {
            match output {
                GroupOutput::Join { to, result } => {
                    send(
                        out,
                        to.0,
                        GroupMessage::JoinResponse {
                            correlation: to.1,
                            result,
                        },
                    );
                }
                GroupOutput::Sync { to, result } => {
                    send(
                        out,
                        to.0,
                        GroupMessage::SyncResponse {
                            correlation: to.1,
                            result,
                        },
                    );
                }
                GroupOutput::Store {
                    generation,
                    assignment,
                } => {
                    self.store(now, group, generation, assignment, log, out);
                }
                GroupOutput::Removed { .. } | GroupOutput::Generation { .. } => {}
            }
        }
    }

    fn store(
        &mut self,
        now: SimTime,
        group: GroupName,
        generation: Generation,
        assignment: BTreeMap<MemberId, Vec<PartitionId>>,
        log: &mut impl OffsetsLog,
        out: &mut Vec<Effect>,
    ) {
        let classic = &self.group(group).classic;
        let leader = classic
            .leader()
            .expect("a generation being stored has a leader");
        let mut records = vec![GroupRecord::Generation {
            group,
            generation,
            leader,
            members: assignment.len() as u8,
        }];
        for (member, partitions) in &assignment {
            records.push(GroupRecord::Member {
                group,
                generation,
                member: *member,
                partitions: PartitionSet::of(partitions),
            });
        }
        match log.append(&records) {
            Ok(end) => self.writes.push((
                end,
                Done::Stored {
                    group,
                    generation,
                    assignment,
                },
            )),
            Err(_) => {
                // `storeGroup` failed: the members waiting in SyncGroup hear of it and
                // rejoin (Kafka answers them with the error and rebalances again).
                let mut outputs = Vec::new();
                self.group(group).classic.store_failed(now, &mut outputs);
                self.perform(now, group, outputs, log, out);
            }
        }
    }

    /// The offsets partition's HW moved to `hw`: writes below it are done.
    pub fn on_high_watermark(
        &mut self,
        now: SimTime,
        hw: Offset,
        log: &mut impl OffsetsLog,
        out: &mut Vec<Effect>,
    ) {
        let done = self.writes.iter().take_while(|(end, _)| *end <= hw).count();
        let finished: Vec<Done> = self.writes.drain(..done).map(|(_, d)| d).collect();
        for write in finished {
            match write {
                Done::Commit { to, group, offsets } => {
                    self.group(group).offsets.extend(offsets);
                    answer_commit(out, to, Ok(()));
                }
                Done::Stored {
                    group,
                    generation,
                    assignment,
                } => {
                    let mut outputs = Vec::new();
                    self.group(group)
                        .classic
                        .on_stored(generation, &assignment, &mut outputs);
                    self.perform(now, group, outputs, log, out);
                }
            }
        }
    }

    /// The broker stopped leading the partition: every pending commit answers
    /// NOT_COORDINATOR (members waiting in SyncGroup time out and find the new one).
    pub fn unload(self, out: &mut Vec<Effect>) {
        for (_, write) in self.writes {
            if let Done::Commit { to, .. } = write {
                let result = Err(GroupError::NotCoordinator);
                answer_commit(out, to, result);
            }
        }
    }

    /// Session expiries and join deadlines.
    pub fn on_timeout(&mut self, now: SimTime, log: &mut impl OffsetsLog, out: &mut Vec<Effect>) {
        let names: Vec<GroupName> = self.groups.keys().copied().collect();
        for name in names {
            let classic = &mut self.groups.get_mut(&name).expect("listed").classic;
            if classic.next_deadline().is_some_and(|at| at <= now) {
                let mut outputs = Vec::new();
                classic.on_timeout(now, &mut outputs);
                self.perform(now, name, outputs, log, out);
            }
        }
    }

    /// When `on_timeout` is next due.
    pub fn next_deadline(&self) -> Option<SimTime> {
        self.groups
            .values()
            .filter_map(|g| g.classic.next_deadline())
            .min()
    }
}

/// Answers the OffsetCommit of `to`.
fn answer_commit(out: &mut Vec<Effect>, to: Reply, result: Result<(), GroupError>) {
    send(
        out,
        to.0,
        GroupMessage::OffsetCommitResponse {
            correlation: to.1,
            result,
        },
    );
}

fn send(out: &mut Vec<Effect>, to: NodeId, message: GroupMessage) {
    out.push(Effect::Send {
        to,
        message: Message::Group(Box::new(message)),
    });
}

#[cfg(test)]
mod tests;
