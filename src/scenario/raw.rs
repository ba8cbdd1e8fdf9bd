//! The scenario file as serde sees it: a plain mirror of the JSON, before any validation.
//!
//! Every object denies unknown fields. Counts are read as `u64` so that range errors come
//! from validation with a clear rule rather than from serde's "expected u8". Targets are
//! kept as raw JSON values; [`super::target`] resolves them against the layout.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, StrDeserializer};
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Unexpected, Visitor};
use serde_json::Value;

use super::ScenarioError;
use super::serde_error::from_serde;
use crate::config::{Acks, FlushPolicy};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a scenario object")]
pub(super) struct RawScenario {
    pub name: String,
    pub description: Option<String>,
    pub seed: Option<u64>,
    pub cluster: RawCluster,
    pub config: Option<RawConfig>,
    pub network: Option<RawNetwork>,
    pub workload: RawWorkload,
    pub faults: Option<Vec<RawFault>>,
    pub nemesis: Option<RawNemesis>,
    pub nemesis_looks_ms: Option<Vec<Value>>,
    pub expect: Option<RawExpect>,
}

/// `cluster`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a cluster object")]
pub(super) struct RawCluster {
    pub brokers: u64,
    pub controllers: Option<u64>,
    pub topics: Vec<RawTopic>,
}

/// One entry of `cluster.topics`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a topic object")]
pub(super) struct RawTopic {
    pub name: String,
    pub partitions: u64,
    pub replication_factor: u64,
}

/// `config`: every field optional; a missing one takes `Config::default()`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a config object")]
pub(super) struct RawConfig {
    pub kafka_version: Option<String>,
    pub acks: Option<RawAcks>,
    pub min_insync_replicas: Option<u64>,
    pub unclean_leader_election: Option<bool>,
    pub replica_lag_time_max_ms: Option<u64>,
    pub broker_session_timeout_ms: Option<u64>,
    pub broker_heartbeat_interval_ms: Option<u64>,
    pub flush: Option<RawFlush>,
    pub truncation: Option<Named<RawTruncation>>,
    pub consumer_read_limit: Option<Named<RawReadLimit>>,
    pub idempotent_producer: Option<bool>,
    pub producer_retries: Option<u32>,
    pub max_in_flight: Option<u64>,
    pub linger_ms: Option<u64>,
    pub request_timeout_ms: Option<u64>,
    pub controller_socket_timeout_ms: Option<u64>,
    pub group_protocol: Option<Named<RawGroupProtocol>>,
    pub session_timeout_ms: Option<u64>,
    pub heartbeat_interval_ms: Option<u64>,
    pub max_poll_interval_ms: Option<u64>,
    pub auto_commit_interval_ms: Option<u64>,
    pub auto_offset_reset: Option<Named<RawOffsetReset>>,
    pub offsets_topic_partitions: Option<u64>,
    pub offsets_topic_replication_factor: Option<u64>,
    pub group_initial_rebalance_delay_ms: Option<u64>,
    pub delivery_timeout_ms: Option<u64>,
    pub retry_backoff_ms: Option<u64>,
    pub replica_fetch_wait_max_ms: Option<u64>,
    pub replica_fetch_backoff_ms: Option<u64>,
    pub fetch_max_wait_ms: Option<u64>,
    pub replica_high_watermark_checkpoint_interval_ms: Option<u64>,
    pub metadata_max_age_ms: Option<u64>,
    pub reconnect_backoff_ms: Option<u64>,
    pub controller_quorum_election_timeout_ms: Option<u64>,
    pub controller_quorum_fetch_timeout_ms: Option<u64>,
    pub idempotent_epoch_bump: Option<bool>,
    pub eligible_leader_replicas: Option<bool>,
    pub hw_requires_min_isr: Option<bool>,
    pub isr_join_requires_epoch_start: Option<bool>,
    pub alter_partition_checks_broker_epoch: Option<bool>,
    pub check_quorum: Option<bool>,
    pub pre_vote: Option<bool>,
    pub restart_leader_resigned: Option<bool>,
    pub hw_requires_current_epoch: Option<bool>,
    pub voters_flush_before_fetch: Option<bool>,
    pub activate_after_replay: Option<bool>,
    pub isr_update: Option<Named<RawIsrUpdate>>,
}

/// `config.acks`: `"0"`, `"1"` or `"all"` (the integers 0 and 1 are accepted too).
#[derive(Debug)]
pub(super) struct RawAcks(pub Acks);

impl<'de> Deserialize<'de> for RawAcks {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AcksVisitor;
        impl Visitor<'_> for AcksVisitor {
            type Value = RawAcks;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"0\", \"1\" or \"all\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawAcks, E> {
                match v {
                    "0" => Ok(RawAcks(Acks::Zero)),
                    "1" => Ok(RawAcks(Acks::One)),
                    "all" | "-1" => Ok(RawAcks(Acks::All)),
                    _ => Err(E::invalid_value(Unexpected::Str(v), &self)),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawAcks, E> {
                match v {
                    0 => Ok(RawAcks(Acks::Zero)),
                    1 => Ok(RawAcks(Acks::One)),
                    _ => Err(E::invalid_value(Unexpected::Unsigned(v), &self)),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawAcks, E> {
                match v {
                    -1 => Ok(RawAcks(Acks::All)),
                    0.. => self.visit_u64(v as u64),
                    _ => Err(E::invalid_value(Unexpected::Signed(v), &self)),
                }
            }
        }
        deserializer.deserialize_any(AcksVisitor)
    }
}

/// `config.flush`: `"never"`, `"every-message"` or `{ "interval_ms": N }`.
#[derive(Debug)]
pub(super) struct RawFlush(pub FlushPolicy);

/// The object form of `config.flush`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "{ \"interval_ms\": N }")]
struct RawFlushInterval {
    interval_ms: u64,
}

impl<'de> Deserialize<'de> for RawFlush {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FlushVisitor;
        impl<'de> Visitor<'de> for FlushVisitor {
            type Value = RawFlush;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"never\", \"every-message\" or { \"interval_ms\": N }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawFlush, E> {
                match v {
                    "never" => Ok(RawFlush(FlushPolicy::Never)),
                    "every-message" => Ok(RawFlush(FlushPolicy::EveryMessage)),
                    _ => Err(E::invalid_value(Unexpected::Str(v), &self)),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawFlush, A::Error> {
                let interval = RawFlushInterval::deserialize(MapAccessDeserializer::new(map))?;
                Ok(RawFlush(FlushPolicy::IntervalMs(interval.interval_ms)))
            }
        }
        deserializer.deserialize_any(FlushVisitor)
    }
}

/// A choice given by name (`"leader-epoch"`), for the unit-variant enums below. serde_json
/// reads an enum from a JSON value that is not a string as a syntax error ("not valid
/// JSON: expected value"), which blames well-formed text and names no field; read as a
/// string first, a value of the wrong type is a type error at its field that lists the
/// names, and an unknown name lists them too.
#[derive(Debug, Clone, Copy)]
pub(super) struct Named<T>(pub T);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Named<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor<T>(PhantomData<T>);
        impl<T: DeserializeOwned> Visitor<'_> for NameVisitor<T> {
            type Value = Named<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a string: {}", names::<T>())
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Named<T>, E> {
                T::deserialize(StrDeserializer::<E>::new(v)).map(Named)
            }
        }
        deserializer.deserialize_str(NameVisitor(PhantomData))
    }
}

/// The names `T` accepts as serde lists them for an unknown one (`one of `a`, `b``), so
/// the list cannot drift from the enum's renames.
fn names<T: DeserializeOwned>() -> String {
    let probe = T::deserialize(StrDeserializer::<de::value::Error>::new(""));
    let message = probe.err().map(|e| e.to_string()).unwrap_or_default();
    message.split_once(", expected ").map_or_else(
        || "a known name".to_string(),
        |(_, names)| names.to_string(),
    )
}

/// `config.truncation`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawTruncation {
    LeaderEpoch,
    #[serde(rename = "leader-epoch-v0")]
    LeaderEpochV0,
    HighWatermark,
}

/// `config.isr_update`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawIsrUpdate {
    AlterPartition,
    Zookeeper,
}

/// `config.consumer_read_limit`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawReadLimit {
    HighWatermark,
    LogEnd,
}

/// `network`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a network object")]
pub(super) struct RawNetwork {
    pub latency_ms: Option<Vec<u64>>,
    pub packet_loss: Option<f64>,
}

/// `workload`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a workload object")]
pub(super) struct RawWorkload {
    pub duration_ms: u64,
    pub producers: u64,
    pub produce_interval_ms: u64,
    pub consumers: u64,
    pub partitioner: Option<Named<RawPartitioner>>,
    pub groups: Option<Vec<RawGroup>>,
}

/// One entry of `workload.groups`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a group object")]
pub(super) struct RawGroup {
    pub name: String,
    pub members: u64,
    pub topics: Vec<String>,
    pub assignor: Option<Named<RawAssignor>>,
    pub commit: Option<Named<RawCommit>>,
    pub process_ms: Option<u64>,
}

/// `config.group_protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawGroupProtocol {
    Classic,
    Consumer,
}

/// `config.auto_offset_reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawOffsetReset {
    Latest,
    Earliest,
}

/// `workload.groups[].assignor`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawAssignor {
    Range,
    RoundRobin,
    CooperativeSticky,
}

/// `workload.groups[].commit`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawCommit {
    AfterProcess,
    Auto,
    BeforeProcess,
}

/// `workload.partitioner`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawPartitioner {
    RoundRobin,
    KeyHash,
}

/// One entry of `faults`: `at_ms` and (after validation) exactly one action key.
/// Action values stay raw JSON; an explicit `null` is kept as `Some(Value::Null)` so that
/// it is reported as a bad value, not silently taken for an absent key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a fault object")]
pub(super) struct RawFault {
    pub at_ms: u64,
    #[serde(default, deserialize_with = "present")]
    pub crash: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub power_loss: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub disk_wipe: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub restart: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub pause: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub resume: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub isolate: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub partition: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub heal: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub packet_loss: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    pub latency: Option<Value>,
}

impl RawFault {
    /// The action keys present, in the contract's order, with their values.
    pub fn actions(&self) -> Vec<(&'static str, &Value)> {
        [
            ("crash", &self.crash),
            ("power_loss", &self.power_loss),
            ("disk_wipe", &self.disk_wipe),
            ("restart", &self.restart),
            ("pause", &self.pause),
            ("resume", &self.resume),
            ("isolate", &self.isolate),
            ("partition", &self.partition),
            ("heal", &self.heal),
            ("packet_loss", &self.packet_loss),
            ("latency", &self.latency),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.as_ref().map(|v| (key, v)))
        .collect()
    }
}

/// Any JSON value, `null` included, as `Some`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// `nemesis`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a nemesis object")]
pub(super) struct RawNemesis {
    pub kinds: Vec<Named<RawNemesisKind>>,
    pub interval_ms: Option<u64>,
    pub max_down: Option<u64>,
    pub max_controllers_down: Option<u64>,
    pub buggify: Option<bool>,
}

/// One of `nemesis.kinds`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum RawNemesisKind {
    Crash,
    PowerLoss,
    Restart,
    Pause,
    Partition,
    Isolate,
    PacketLoss,
    Latency,
    BounceLeader,
    PowerLossAll,
    CrashDuringIsrChange,
    DiskWipe,
}

/// `expect`: `"pass"` or `{ "violations": [...] }` (names checked in validation).
#[derive(Debug)]
pub(super) enum RawExpect {
    Pass,
    Violations(Vec<String>),
}

/// The object form of `expect`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "{ \"violations\": [...] }")]
struct RawViolations {
    violations: Vec<String>,
}

impl<'de> Deserialize<'de> for RawExpect {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExpectVisitor;
        impl<'de> Visitor<'de> for ExpectVisitor {
            type Value = RawExpect;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"pass\" or { \"violations\": [\"lost-write\", ...] }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawExpect, E> {
                match v {
                    "pass" => Ok(RawExpect::Pass),
                    _ => Err(E::invalid_value(Unexpected::Str(v), &self)),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawExpect, A::Error> {
                let object = RawViolations::deserialize(MapAccessDeserializer::new(map))?;
                Ok(RawExpect::Violations(object.violations))
            }
        }
        deserializer.deserialize_any(ExpectVisitor)
    }
}

/// Reads the JSON text into the raw mirror; every error names its JSON path.
pub(super) fn parse(text: &str) -> Result<RawScenario, ScenarioError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let raw: RawScenario =
        serde_path_to_error::deserialize(&mut deserializer).map_err(from_serde)?;
    deserializer
        .end()
        .map_err(|e| ScenarioError::Syntax(e.to_string()))?;
    Ok(raw)
}
