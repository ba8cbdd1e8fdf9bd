//! Client-side partition assignors of the classic protocol, as the group leader runs them
//! (`partition.assignment.strategy`): range, round-robin and cooperative-sticky.
//!
//! - `RangeAssignor`: per topic, the members subscribed to it in member-id order each take
//!   a contiguous range; the first `partitions % members` take one more.
//! - `RoundRobinAssignor`: every subscribed partition in (topic, partition) order goes to
//!   the next member, in member-id order, subscribed to its topic.
//! - `CooperativeStickyAssignor` (KIP-429): a balanced assignment that keeps each
//!   partition with its owner of the previous generation where balance allows; a
//!   partition that must move is withheld in this round (its owner revokes it, then
//!   rejoins) and assigned in the next one. Claims of a lower generation lose to a higher
//!   one, and two claims of one generation on one partition both count as none
//!   (KAFKA-14639's fix, `AbstractStickyAssignor`).

use std::collections::{BTreeMap, BTreeSet};

use super::{Generation, MemberId};
use crate::types::PartitionId;

/// Which assignor a group's members use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssignorKind {
    /// `range` (Kafka's default for the classic protocol).
    Range,
    /// `round-robin`.
    RoundRobin,
    /// `cooperative-sticky`: incremental rebalances.
    CooperativeSticky,
}

/// What a member tells the leader in its JoinGroup: the topics it subscribes to and, for
/// the sticky assignor, what it owned and in which generation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscription {
    /// Topic names.
    pub topics: Vec<String>,
    /// The partitions it owned (cooperative-sticky's `userData` / owned partitions).
    pub owned: Vec<PartitionId>,
    /// The generation those were owned in.
    pub owned_generation: Option<Generation>,
}

/// The topics a group may be assigned: each topic's partitions in partition order.
pub type TopicPartitions = BTreeMap<String, Vec<PartitionId>>;

/// Runs `kind` over `members` (in member-id order, as the map keeps them).
pub fn assign(
    kind: AssignorKind,
    members: &BTreeMap<MemberId, Subscription>,
    topics: &TopicPartitions,
) -> BTreeMap<MemberId, Vec<PartitionId>> {
    let mut result: BTreeMap<MemberId, Vec<PartitionId>> =
        members.keys().map(|m| (*m, Vec::new())).collect();
    match kind {
        AssignorKind::Range => range(members, topics, &mut result),
        AssignorKind::RoundRobin => round_robin(members, topics, &mut result),
        AssignorKind::CooperativeSticky => cooperative_sticky(members, topics, &mut result),
    }
    for partitions in result.values_mut() {
        partitions.sort();
    }
    result
}

fn subscribers<'a>(
    members: &'a BTreeMap<MemberId, Subscription>,
    topic: &str,
) -> Vec<&'a MemberId> {
    (members.iter())
        .filter(|(_, s)| s.topics.iter().any(|t| t == topic))
        .map(|(m, _)| m)
        .collect()
}

fn range(
    members: &BTreeMap<MemberId, Subscription>,
    topics: &TopicPartitions,
    result: &mut BTreeMap<MemberId, Vec<PartitionId>>,
) {
    for (topic, partitions) in topics {
        let subs = subscribers(members, topic);
        if subs.is_empty() {
            continue;
        }
        let per = partitions.len() / subs.len();
        let extra = partitions.len() % subs.len();
        let mut next = 0;
        for (i, member) in subs.into_iter().enumerate() {
            let take = per + usize::from(i < extra);
            let slot = result.get_mut(member).expect("every member has a slot");
            slot.extend_from_slice(&partitions[next..next + take]);
            next += take;
        }
    }
}

fn round_robin(
    members: &BTreeMap<MemberId, Subscription>,
    topics: &TopicPartitions,
    result: &mut BTreeMap<MemberId, Vec<PartitionId>>,
) {
    let order: Vec<&MemberId> = members.keys().collect();
    if order.is_empty() {
        return;
    }
    let mut turn = 0;
    for (topic, partitions) in topics {
        for p in partitions {
            // The next member (cyclically) subscribed to this topic, if any.
            let found = (0..order.len())
                .map(|k| (turn + k) % order.len())
                .find(|&i| members[order[i]].topics.iter().any(|t| t == topic));
            if let Some(i) = found {
                result.get_mut(order[i]).expect("slot").push(*p);
                turn = i + 1;
            }
        }
    }
}

/// The previous owner of each partition, by the highest generation claiming it; two
/// claims in that generation cancel out.
fn previous_owners(members: &BTreeMap<MemberId, Subscription>) -> BTreeMap<PartitionId, MemberId> {
    let mut best: BTreeMap<PartitionId, (Generation, Option<MemberId>)> = BTreeMap::new();
    for (member, sub) in members {
        let generation = sub.owned_generation.unwrap_or(Generation(0));
        for p in &sub.owned {
            match best.get_mut(p) {
                Some((g, _)) if *g > generation => {}
                Some((g, owner)) if *g == generation => *owner = None,
                _ => {
                    best.insert(*p, (generation, Some(*member)));
                }
            }
        }
    }
    (best.into_iter())
        .filter_map(|(p, (_, owner))| owner.map(|o| (p, o)))
        .collect()
}

fn cooperative_sticky(
    members: &BTreeMap<MemberId, Subscription>,
    topics: &TopicPartitions,
    result: &mut BTreeMap<MemberId, Vec<PartitionId>>,
) {
    let mut eligible: BTreeMap<PartitionId, BTreeSet<&MemberId>> = BTreeMap::new();
    for (topic, partitions) in topics {
        let subs: BTreeSet<&MemberId> = subscribers(members, topic).into_iter().collect();
        for p in partitions.iter().filter(|_| !subs.is_empty()) {
            eligible.insert(*p, subs.clone());
        }
    }
    let base = eligible.len() / members.len().max(1);
    let mut extra = eligible.len() % members.len().max(1);
    let owners = previous_owners(members);
    let owned_by = |m: &MemberId| -> Vec<PartitionId> {
        (owners.iter())
            .filter(|(p, o)| *o == m && eligible.get(*p).is_some_and(|s| s.contains(m)))
            .map(|(p, _)| *p)
            .collect()
    };
    // Each owner keeps up to `base` of its partitions, then one more while the remainder
    // lasts; the rest of what it owned is withheld this round (it revokes them first).
    for (member, slot) in result.iter_mut() {
        let owned = owned_by(member);
        let keep = if owned.len() > base && extra > 0 {
            extra -= 1;
            base + 1
        } else {
            base
        };
        slot.extend(owned.into_iter().take(keep));
    }
    // Unowned partitions fill the least loaded eligible members, up to the same quotas.
    for (p, subs) in &eligible {
        if owners.contains_key(p) {
            continue;
        }
        let least = |room: usize| {
            (subs.iter().copied())
                .filter(|m| result[*m].len() < room)
                .min_by_key(|m| (result[*m].len(), **m))
        };
        let target = *least(base)
            .or_else(|| {
                (extra > 0)
                    .then(|| least(base + 1))
                    .flatten()
                    .inspect(|_| extra -= 1)
            })
            .or_else(|| least(usize::MAX))
            .expect("eligible members");
        result.get_mut(&target).expect("slot").push(*p);
    }
}

#[cfg(test)]
mod tests;
