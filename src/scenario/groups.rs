//! `workload.groups` and the consumer-group settings of `config`, checked.

use std::collections::BTreeSet;

use super::raw::{RawConfig, RawGroup};
use super::{GroupSpec, ScenarioError, invalid};
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
    match raw.group_protocol.as_deref() {
        None | Some("classic") => {}
        Some("consumer") => {
            return Err(invalid(
                "config.group_protocol",
                "\"consumer\" (KIP-848) is not modelled yet; use \"classic\"",
            ));
        }
        Some(other) => {
            return Err(invalid(
                "config.group_protocol",
                format!("must be \"classic\" or \"consumer\", got \"{other}\""),
            ));
        }
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
            *slot = ms;
        }
    }
    if let Some(ms) = raw.group_initial_rebalance_delay_ms {
        g.initial_rebalance_delay_ms = ms;
    }
    if g.heartbeat_interval_ms >= g.session_timeout_ms {
        return Err(invalid(
            "config.heartbeat_interval_ms",
            format!(
                "must be less than session_timeout_ms ({} >= {})",
                g.heartbeat_interval_ms, g.session_timeout_ms
            ),
        ));
    }
    match raw.auto_offset_reset.as_deref() {
        None | Some("latest") => g.offset_reset_earliest = false,
        Some("earliest") => g.offset_reset_earliest = true,
        Some(other) => {
            return Err(invalid(
                "config.auto_offset_reset",
                format!("must be \"latest\" or \"earliest\", got \"{other}\""),
            ));
        }
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
            let assignor = match g.assignor.as_deref() {
                None | Some("range") => AssignorKind::Range,
                Some("round-robin") => AssignorKind::RoundRobin,
                Some("cooperative-sticky") => AssignorKind::CooperativeSticky,
                Some(other) => {
                    let known = "\"range\", \"round-robin\" or \"cooperative-sticky\"";
                    return Err(invalid(
                        field("assignor"),
                        format!("must be {known}, got \"{other}\""),
                    ));
                }
            };
            let commit = match g.commit.as_deref() {
                None | Some("after-process") => CommitMode::AfterProcess,
                Some("auto") => CommitMode::Auto,
                Some("before-process") => CommitMode::BeforeProcess,
                Some(other) => {
                    let known = "\"after-process\", \"auto\" or \"before-process\"";
                    return Err(invalid(
                        field("commit"),
                        format!("must be {known}, got \"{other}\""),
                    ));
                }
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
