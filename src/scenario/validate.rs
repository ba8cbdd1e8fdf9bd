//! The rules serde cannot check, and the conversion from the raw mirror to [`Scenario`].

use std::collections::BTreeSet;

use super::raw::{
    RawCluster, RawExpect, RawNemesis, RawNemesisKind, RawNetwork, RawPartitioner, RawScenario,
    RawWorkload,
};
use super::settings;
use super::target::Resolver;
use super::{
    Expect, NemesisKind, NemesisSpec, Network, Partitioner, Scenario, ScenarioError, Workload,
    invalid, millis,
};
use crate::layout::Layout;
use crate::violation::ViolationKind;

/// Most brokers a cluster may have (ids are single digits).
const MAX_BROKERS: u64 = 9;
/// Most producer or consumer clients.
const MAX_CLIENTS: u64 = 9;
/// Most partitions over all topics (keeps runs small and `PartitionId` in range).
const MAX_PARTITIONS: u64 = 1000;
/// Default `nemesis.interval_ms`.
const DEFAULT_NEMESIS_INTERVAL_MS: u64 = 2000;
/// Default `nemesis.max_down`.
const DEFAULT_NEMESIS_MAX_DOWN: u64 = 1;

/// Validates every part in file order and builds the scenario.
pub(super) fn scenario(raw: RawScenario) -> Result<Scenario, ScenarioError> {
    if raw.name.trim().is_empty() {
        return Err(invalid("name", "must not be empty"));
    }
    let mut layout = cluster(&raw.cluster)?;
    let raw_config = raw.config.unwrap_or_default();
    let mut group_settings = crate::config::Config::default();
    super::groups::settings(&raw_config, &mut group_settings)?;
    let mut config = settings::config(raw_config)?;
    config.group = group_settings.group;
    let network = network(raw.network.unwrap_or_default())?;
    let mut workload = workload(&raw.workload)?;
    workload.groups =
        super::groups::groups(raw.workload.groups.as_deref().unwrap_or_default(), &layout)?;
    if !workload.groups.is_empty() {
        let g = &config.group;
        let rf = g
            .offsets_topic_replication_factor
            .min(layout.brokers.len() as u8);
        layout = layout.with_offsets_topic(g.offsets_topic_partitions, rf);
    }
    let resolver = Resolver { layout: &layout };
    let faults = raw
        .faults
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, fault)| resolver.fault(fault, i, workload.duration_ms))
        .collect::<Result<Vec<_>, _>>()?;
    let nemesis = raw
        .nemesis
        .map(|n| nemesis(&n, layout.brokers.len(), layout.controllers.len()))
        .transpose()?;
    let looks_ms = super::looks::parse(
        raw.nemesis_looks_ms.as_deref().unwrap_or_default(),
        workload.duration_ms,
    )?;
    let expect = expect(raw.expect.unwrap_or(RawExpect::Pass))?;
    Ok(Scenario {
        name: raw.name,
        description: raw.description.unwrap_or_default(),
        seed: raw.seed.unwrap_or(1),
        layout,
        config,
        network,
        workload,
        faults,
        nemesis,
        looks_ms,
        expect,
    })
}

/// `cluster`: broker count, topics, partitions and replication factors.
fn cluster(raw: &RawCluster) -> Result<Layout, ScenarioError> {
    if !(1..=MAX_BROKERS).contains(&raw.brokers) {
        return Err(invalid(
            "cluster.brokers",
            format!("must be between 1 and {MAX_BROKERS}, got {}", raw.brokers),
        ));
    }
    if raw.topics.is_empty() {
        return Err(invalid("cluster.topics", "at least one topic is required"));
    }
    let mut names = BTreeSet::new();
    let mut total_partitions = 0u64;
    let mut topics = Vec::new();
    for (i, topic) in raw.topics.iter().enumerate() {
        let field = format!("cluster.topics[{i}]");
        topic_name(&topic.name, &format!("{field}.name"))?;
        if !names.insert(topic.name.as_str()) {
            return Err(invalid(
                format!("{field}.name"),
                format!("topic `{}` is declared twice", topic.name),
            ));
        }
        if topic.partitions == 0 {
            return Err(invalid(
                format!("{field}.partitions"),
                "must be at least 1, got 0",
            ));
        }
        // Saturating: a count near u64::MAX must give the error below, not an overflow.
        total_partitions = total_partitions.saturating_add(topic.partitions);
        if total_partitions > MAX_PARTITIONS {
            return Err(invalid(
                format!("{field}.partitions"),
                format!("at most {MAX_PARTITIONS} partitions in total over all topics"),
            ));
        }
        if !(1..=raw.brokers).contains(&topic.replication_factor) {
            return Err(invalid(
                format!("{field}.replication_factor"),
                format!(
                    "must be between 1 and the number of brokers ({}), got {}",
                    raw.brokers, topic.replication_factor
                ),
            ));
        }
        topics.push((
            topic.name.clone(),
            topic.partitions as u32,
            topic.replication_factor as u8,
        ));
    }
    let controllers = raw.controllers.unwrap_or(1);
    if ![1, 3, 5].contains(&controllers) {
        return Err(invalid(
            "cluster.controllers",
            format!(
                "must be 1, 3 or 5 (a KRaft quorum has an odd number of voters), got {controllers}"
            ),
        ));
    }
    Ok(Layout::new(raw.brokers as u8, &topics).with_controllers(controllers as u8))
}

/// A topic name as Kafka allows it: 1..=249 characters of ASCII letters, digits, `.`, `_`
/// and `-` (so targets such as `replica:TOPIC-P:I` stay unambiguous).
fn topic_name(name: &str, field: &str) -> Result<(), ScenarioError> {
    if name.is_empty() {
        return Err(invalid(field, "a topic name must not be empty"));
    }
    if name.len() > 249 {
        return Err(invalid(field, "a topic name has at most 249 characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "._-".contains(*c)))
    {
        return Err(invalid(
            field,
            format!(
                "topic `{name}` contains {c:?}; topic names use ASCII letters, digits, '.', \
                 '_' and '-'"
            ),
        ));
    }
    Ok(())
}

/// A latency range `[min, max]` in ms: two numbers, 1 <= min <= max.
pub(super) fn latency_range(range: &[u64], field: &str) -> Result<(u64, u64), ScenarioError> {
    let [min, max] = range[..] else {
        return Err(invalid(
            field,
            format!(
                "expected [min, max] (two numbers), got {} numbers",
                range.len()
            ),
        ));
    };
    if min < 1 {
        return Err(invalid(
            field,
            format!(
                "min must be at least 1 ms, got [{min}, {max}] (the simulated network needs \
                 a non-empty latency range, and zero-latency messages would let a reply \
                 arrive at the instant of its request)"
            ),
        ));
    }
    if min > max {
        return Err(invalid(
            field,
            format!("[min, max] needs min <= max, got [{min}, {max}]"),
        ));
    }
    millis(field, max)?;
    Ok((min, max))
}

/// `network`: latency range and packet loss.
fn network(raw: RawNetwork) -> Result<Network, ScenarioError> {
    let mut n = Network::default();
    if let Some(range) = raw.latency_ms {
        n.latency_ms = latency_range(&range, "network.latency_ms")?;
    }
    if let Some(loss) = raw.packet_loss {
        if !(0.0..=1.0).contains(&loss) {
            return Err(invalid(
                "network.packet_loss",
                format!("{loss} is not a rate in 0.0..=1.0"),
            ));
        }
        n.packet_loss = loss;
    }
    Ok(n)
}

/// `workload`: run length, client counts and send rate.
fn workload(raw: &RawWorkload) -> Result<Workload, ScenarioError> {
    if raw.duration_ms == 0 {
        return Err(invalid("workload.duration_ms", "must be > 0, got 0"));
    }
    if raw.produce_interval_ms == 0 {
        return Err(invalid(
            "workload.produce_interval_ms",
            "must be at least 1, got 0",
        ));
    }
    millis("workload.duration_ms", raw.duration_ms)?;
    millis("workload.produce_interval_ms", raw.produce_interval_ms)?;
    for (name, count) in [("producers", raw.producers), ("consumers", raw.consumers)] {
        if count > MAX_CLIENTS {
            return Err(invalid(
                format!("workload.{name}"),
                format!("at most {MAX_CLIENTS}, got {count}"),
            ));
        }
    }
    Ok(Workload {
        duration_ms: raw.duration_ms,
        producers: raw.producers as u8,
        produce_interval_ms: raw.produce_interval_ms,
        consumers: raw.consumers as u8,
        partitioner: match raw.partitioner.map(|p| p.0) {
            None | Some(RawPartitioner::RoundRobin) => Partitioner::RoundRobin,
            Some(RawPartitioner::KeyHash) => Partitioner::KeyHash,
        },
        groups: Vec::new(), // filled in by `scenario`, which knows the topics
    })
}

/// `nemesis`: kinds, step interval and how many brokers and controllers may be down at
/// once.
fn nemesis(
    raw: &RawNemesis,
    brokers: usize,
    controllers: usize,
) -> Result<NemesisSpec, ScenarioError> {
    if raw.kinds.is_empty() {
        return Err(invalid(
            "nemesis.kinds",
            "at least one kind is required (crash, power_loss, restart, pause, partition, \
             isolate, packet_loss, latency, bounce_leader, power_loss_all, \
             crash_during_isr_change, disk_wipe)",
        ));
    }
    let interval_ms = raw.interval_ms.unwrap_or(DEFAULT_NEMESIS_INTERVAL_MS);
    if interval_ms == 0 {
        return Err(invalid(
            "nemesis.interval_ms",
            "a period must be > 0, got 0",
        ));
    }
    millis("nemesis.interval_ms", interval_ms)?;
    let max_down = raw.max_down.unwrap_or(DEFAULT_NEMESIS_MAX_DOWN);
    if max_down >= brokers as u64 {
        let default = if raw.max_down.is_none() {
            " (not set: the default is 1)"
        } else {
            ""
        };
        return Err(invalid(
            "nemesis.max_down",
            format!("must be less than the number of brokers ({brokers}), got {max_down}{default}"),
        ));
    }
    let minority = (controllers as u64 - 1) / 2;
    let max_controllers_down = raw.max_controllers_down.unwrap_or(minority);
    if max_controllers_down >= controllers as u64 {
        return Err(invalid(
            "nemesis.max_controllers_down",
            format!(
                "must be less than the number of controllers ({controllers}), got \
                 {max_controllers_down}"
            ),
        ));
    }
    let kinds = raw
        .kinds
        .iter()
        .map(|kind| match kind.0 {
            RawNemesisKind::Crash => NemesisKind::Crash,
            RawNemesisKind::PowerLoss => NemesisKind::PowerLoss,
            RawNemesisKind::Restart => NemesisKind::Restart,
            RawNemesisKind::Pause => NemesisKind::Pause,
            RawNemesisKind::Partition => NemesisKind::Partition,
            RawNemesisKind::Isolate => NemesisKind::Isolate,
            RawNemesisKind::PacketLoss => NemesisKind::PacketLoss,
            RawNemesisKind::Latency => NemesisKind::Latency,
            RawNemesisKind::BounceLeader => NemesisKind::BounceLeader,
            RawNemesisKind::PowerLossAll => NemesisKind::PowerLossAll,
            RawNemesisKind::CrashDuringIsrChange => NemesisKind::CrashDuringIsrChange,
            RawNemesisKind::DiskWipe => NemesisKind::DiskWipe,
        })
        .collect();
    Ok(NemesisSpec {
        kinds,
        interval_ms,
        max_down: max_down as u8,
        max_controllers_down: max_controllers_down as u8,
        buggify: raw.buggify.unwrap_or(true),
    })
}

/// `expect`: `"pass"` or a non-empty list of contract violation kinds.
fn expect(raw: RawExpect) -> Result<Expect, ScenarioError> {
    let names = match raw {
        RawExpect::Pass => return Ok(Expect::Pass),
        RawExpect::Violations(names) => names,
    };
    if names.is_empty() {
        return Err(invalid(
            "expect.violations",
            "list at least one violation kind, or write \"expect\": \"pass\"",
        ));
    }
    let contract_kinds = || {
        ViolationKind::ALL
            .iter()
            .filter(|k| **k != ViolationKind::ModelInvariant)
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    names
        .iter()
        .enumerate()
        .map(|(i, name)| match ViolationKind::parse(name) {
            Some(kind) if kind != ViolationKind::ModelInvariant => Ok(kind),
            Some(_) => Err(invalid(
                format!("expect.violations[{i}]"),
                format!(
                    "`{name}` is a simulator bug, never an expected outcome; expected one of {}",
                    contract_kinds()
                ),
            )),
            None => Err(invalid(
                format!("expect.violations[{i}]"),
                format!(
                    "unknown violation kind `{name}`; expected one of {}",
                    contract_kinds()
                ),
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Expect::Violations)
}
