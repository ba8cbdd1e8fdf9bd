//! `workload.groups` and the consumer-group settings of `config`, checked.

use std::collections::BTreeSet;

use super::raw::{RawAssignor, RawCommit, RawConfig, RawGroup, RawGroupProtocol, RawOffsetReset};
use super::{GroupSpec, ScenarioError, invalid, millis};
use crate::config::Config;
use crate::core::group::assignor::AssignorKind;
use crate::core::group::member::CommitMode;
use crate::layout::Layout;
use crate::types::GroupName;

/// Most members of one group, and most groups (member names stay short).
const MAX_MEMBERS: u64 = 9;
const MAX_GROUPS: usize = 9;

/// Applies the group settings of `config` to `c`.
pub(super) fn settings(raw: &RawConfig, c: &mut Config) -> Result<(), ScenarioError> {
    if raw
        .group_protocol
        .is_some_and(|p| p.0 == RawGroupProtocol::Consumer)
    {
        return Err(invalid(
            "config.group_protocol",
            "\"consumer\" (KIP-848) is not modelled yet; use \"classic\"",
        ));
    }
    let g = &mut c.group;
    let periods = [
        (
            "session_timeout_ms",
            raw.session_timeout_ms,
            &mut g.session_timeout_ms,
        ),
        (
            "heartbeat_interval_ms",
            raw.heartbeat_interval_ms,
            &mut g.heartbeat_interval_ms,
        ),
        (
            "max_poll_interval_ms",
            raw.max_poll_interval_ms,
            &mut g.max_poll_interval_ms,
        ),
        (
            "auto_commit_interval_ms",
            raw.auto_commit_interval_ms,
            &mut g.auto_commit_interval_ms,
        ),
    ];
    for (name, value, slot) in periods {
        if let Some(ms) = value {
            if ms == 0 {
                return Err(invalid(
                    format!("config.{name}"),
                    "must be at least 1, got 0",
                ));
            }
            *slot = millis(&format!("config.{name}"), ms)?;
        }
    }
    if let Some(ms) = raw.group_initial_rebalance_delay_ms {
        g.initial_rebalance_delay_ms = millis("config.group_initial_rebalance_delay_ms", ms)?;
    }
    if g.heartbeat_interval_ms >= g.session_timeout_ms {
        // Blame the field the scenario gave (as for the broker's session).
        let (field, note) = if raw.heartbeat_interval_ms.is_some() {
            ("config.heartbeat_interval_ms", "")
        } else {
            (
                "config.session_timeout_ms",
                " (heartbeat interval not set: Kafka's default)",
            )
        };
        return Err(invalid(
            field,
            format!(
                "heartbeat_interval_ms ({}) must be less than session_timeout_ms ({}){note}",
                g.heartbeat_interval_ms, g.session_timeout_ms
            ),
        ));
    }
    if let Some(reset) = raw.auto_offset_reset {
        g.offset_reset_earliest = reset.0 == RawOffsetReset::Earliest;
    }
    if let Some(n) = raw.offsets_topic_partitions {
        if !(1..=50).contains(&n) {
            return Err(invalid(
                "config.offsets_topic_partitions",
                format!("must be between 1 and 50, got {n}"),
            ));
        }
        g.offsets_topic_partitions = n as u32;
    }
    if let Some(rf) = raw.offsets_topic_replication_factor {
        if !(1..=9).contains(&rf) {
            return Err(invalid(
                "config.offsets_topic_replication_factor",
                format!("must be between 1 and 9, got {rf}"),
            ));
        }
        g.offsets_topic_replication_factor = rf as u8;
    }
    Ok(())
}

/// `workload.groups`: names, member counts, topics that exist, assignor, commit mode.
pub(super) fn groups(raw: &[RawGroup], layout: &Layout) -> Result<Vec<GroupSpec>, ScenarioError> {
    if raw.len() > MAX_GROUPS {
        return Err(invalid(
            "workload.groups",
            format!("at most {MAX_GROUPS} groups, got {}", raw.len()),
        ));
    }
    let mut names = BTreeSet::new();
    let topics: BTreeSet<&str> = layout.partitions.iter().map(|p| p.topic.as_str()).collect();
    raw.iter()
        .enumerate()
        .map(|(i, g)| {
            let field = |f: &str| format!("workload.groups[{i}].{f}");
            let valid_name = !g.name.is_empty()
                && g.name.len() <= 32
                && g.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
            if !valid_name {
                return Err(invalid(
                    field("name"),
                    "1..=32 ASCII letters, digits, `_` or `.`",
                ));
            }
            if !names.insert(g.name.as_str()) {
                return Err(invalid(
                    field("name"),
                    format!("group `{}` is declared twice", g.name),
                ));
            }
            if !(1..=MAX_MEMBERS).contains(&g.members) {
                return Err(invalid(
                    field("members"),
                    format!("must be between 1 and {MAX_MEMBERS}, got {}", g.members),
                ));
            }
            if g.topics.is_empty() {
                return Err(invalid(field("topics"), "at least one topic is required"));
            }
            if let Some(t) = g.topics.iter().find(|t| !topics.contains(t.as_str())) {
                return Err(invalid(
                    field("topics"),
                    format!("no topic `{t}` in cluster.topics"),
                ));
            }
            let assignor = match g.assignor.map_or(RawAssignor::Range, |a| a.0) {
                RawAssignor::Range => AssignorKind::Range,
                RawAssignor::RoundRobin => AssignorKind::RoundRobin,
                RawAssignor::CooperativeSticky => AssignorKind::CooperativeSticky,
            };
            let commit = match g.commit.map_or(RawCommit::AfterProcess, |c| c.0) {
                RawCommit::AfterProcess => CommitMode::AfterProcess,
                RawCommit::Auto => CommitMode::Auto,
                RawCommit::BeforeProcess => CommitMode::BeforeProcess,
            };
            Ok(GroupSpec {
                name: GroupName::intern(&g.name),
                members: g.members as u8,
                topics: g.topics.clone(),
                assignor,
                commit,
                process_ms: g.process_ms.unwrap_or(1),
            })
        })
        .collect()
}
