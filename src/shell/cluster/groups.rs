//! The cluster's consumer-group members: starting them, and what the finale asks of
//! them.

use std::sync::{Arc, Mutex};

use super::Cluster;
use crate::config::Config;
use crate::core::group::member::{GroupMember, MemberConfig, OffsetReset};
use crate::layout::Layout;
use crate::types::{NodeId, Offset, PartitionId};

impl Cluster {
    /// Starts every member of every group.
    pub(super) fn start_members(&mut self, config: &Config, groups: &[crate::scenario::GroupSpec]) {
        crate::shell::set_groups(groups.iter().map(|g| g.name).collect());
        for spec in groups {
            let member_config = member_config(&self.layout, config, spec);
            for n in 1..=spec.members {
                let me = NodeId::Member(spec.name, n);
                let brokers = self.layout.brokers.clone();
                let member = GroupMember::new(me, member_config.clone(), config.clone(), brokers);
                let slot = Arc::new(Mutex::new(Some(member)));
                self.spawn_client(me, slot.clone());
                self.members.insert(me, slot);
            }
        }
    }

    /// The run's consumer groups, in name order.
    pub fn group_names(&self) -> Vec<crate::types::GroupName> {
        let mut names: Vec<crate::types::GroupName> = self
            .members
            .keys()
            .filter_map(|m| match m {
                NodeId::Member(g, _) => Some(*g),
                _ => None,
            })
            .collect();
        names.dedup();
        names
    }

    /// Every (group, partition) a group subscribes to.
    pub fn group_partitions(&self) -> Vec<(crate::types::GroupName, PartitionId)> {
        let mut pairs = Vec::new();
        for slot in self.members.values() {
            if let Some(member) = slot.lock().expect("slot").as_ref() {
                pairs.extend(member.subscribed().into_iter().map(|p| (member.group(), p)));
            }
        }
        pairs.sort();
        pairs.dedup();
        pairs
    }

    /// How far the member of `group` that owns `partition` has processed it (None when no
    /// running member owns it).
    pub fn group_processed(
        &self,
        group: crate::types::GroupName,
        partition: PartitionId,
    ) -> Option<Offset> {
        (self.members.values())
            .filter_map(|slot| {
                let member = slot.lock().expect("slot");
                let member = member.as_ref()?;
                (member.group() == group)
                    .then(|| member.processed_position(partition))
                    .flatten()
            })
            .max()
    }
}

/// A member's settings: the scenario's group and the run's group settings.
fn member_config(
    layout: &Layout,
    config: &Config,
    spec: &crate::scenario::GroupSpec,
) -> MemberConfig {
    let topics = (spec.topics.iter())
        .map(|t| {
            let partitions = layout
                .partition_ids()
                .filter(|p| layout.partition(*p).topic == *t)
                .collect();
            (t.clone(), partitions)
        })
        .collect();
    let g = &config.group;
    MemberConfig {
        group: spec.name,
        topics,
        assignor: spec.assignor,
        commit: spec.commit,
        process_ms: spec.process_ms,
        session_timeout_ms: g.session_timeout_ms,
        heartbeat_interval_ms: g.heartbeat_interval_ms,
        max_poll_interval_ms: g.max_poll_interval_ms,
        auto_commit_interval_ms: g.auto_commit_interval_ms,
        offset_reset: if g.offset_reset_earliest {
            OffsetReset::Earliest
        } else {
            OffsetReset::Latest
        },
    }
}
