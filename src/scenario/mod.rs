//! Scenario files: the JSON a user writes, parsed and validated into a [`Scenario`].
//!
//! The format is the project contract (cluster, config, network, workload, faults,
//! nemesis, expect). Parsing happens in two steps: serde reads the text into a plain
//! mirror (`raw`), with unknown fields denied and every error naming its JSON path; then
//! validation checks the rules serde cannot (ranges, existing brokers and partitions,
//! one action per fault) and resolves fault targets against the cluster [`Layout`].
//! Every error is a [`ScenarioError`] naming the field, e.g. `faults[0].at_ms`.

mod groups;
mod looks;
mod raw;
mod serde_error;
mod settings;
mod target;
mod validate;
pub mod write;

pub use looks::to_json as looks_json;

#[cfg(test)]
mod tests;

use crate::config::Config;
use crate::layout::Layout;
use crate::types::{BrokerId, PartitionId};
use crate::violation::ViolationKind;

/// One validated scenario: the cluster, its configuration, the load, the faults to inject
/// and the verdict expected.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// The scenario's name (non-empty), as reports show it.
    pub name: String,
    /// One line a person reads in reports; empty if the file has none.
    pub description: String,
    /// The simulation seed (default 1); the command line may override it.
    pub seed: u64,
    /// Brokers, topics, partitions and replica assignments.
    pub layout: Layout,
    /// The protocol configuration; fields the file leaves out keep `Config::default()`.
    pub config: Config,
    /// Message latency and loss.
    pub network: Network,
    /// How long the run lasts and how hard clients push.
    pub workload: Workload,
    /// Timed faults in file order (the runner sorts them stably by `at_ms`).
    pub faults: Vec<TimedFault>,
    /// Randomized faults drawn from the seed, if any.
    pub nemesis: Option<NemesisSpec>,
    /// Times the harness wakes and does nothing (`nemesis_looks_ms`, written by
    /// `run --unroll`: where the nemesis looked and did nothing), sorted.
    pub looks_ms: Vec<u64>,
    /// The verdict the run should give.
    pub expect: Expect,
}

impl Scenario {
    /// Parses and validates a scenario file's text.
    ///
    /// Errors name the JSON path of the offending field and the rule it breaks; a text
    /// that is not JSON at all gives [`ScenarioError::Syntax`] with line and column.
    pub fn from_json(text: &str) -> Result<Scenario, ScenarioError> {
        let raw = raw::parse(text)?;
        validate::scenario(raw)
    }
}

/// The simulated network's per-message behaviour.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// Per-message latency range `[min, max]` in milliseconds (default `(1, 10)`), min >= 1.
    pub latency_ms: (u64, u64),
    /// Probability in 0.0..=1.0 that a message is dropped (default 0.0).
    pub packet_loss: f64,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            latency_ms: (1, 10),
            packet_loss: 0.0,
        }
    }
}

/// How producers pick a partition for each message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Partitioner {
    /// Each producer cycles over every partition (JSON `"round-robin"`, the default).
    #[default]
    RoundRobin,
    /// A partition chosen from a hash of the message key (JSON `"key-hash"`).
    KeyHash,
}

/// The client load of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    /// Simulated run length before the final heal and convergence, in milliseconds (> 0).
    pub duration_ms: u64,
    /// Number of producer clients (0..=9).
    pub producers: u8,
    /// Each producer sends one message every this many milliseconds (>= 1).
    pub produce_interval_ms: u64,
    /// Number of consumer clients (0..=9).
    pub consumers: u8,
    /// How producers choose partitions.
    pub partitioner: Partitioner,
    /// Consumer groups (`workload.groups`).
    pub groups: Vec<GroupSpec>,
}

/// One consumer group of the workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSpec {
    /// Its name.
    pub name: crate::types::GroupName,
    /// How many members (`<name>-1` …).
    pub members: u8,
    /// The topics it subscribes to.
    pub topics: Vec<String>,
    /// Its assignor.
    pub assignor: crate::core::group::assignor::AssignorKind,
    /// When members commit.
    pub commit: crate::core::group::member::CommitMode,
    /// Time to process one record.
    pub process_ms: u64,
}

/// Who a fault hits. Dynamic forms (`Leader`, `Followers`) are resolved by the runner
/// when the fault fires; everything named here is known to exist in the layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A broker by id (JSON: an integer).
    Broker(BrokerId),
    /// The active controller when the fault fires (the single one when there is one;
    /// when none is active, the one that was active last) (JSON: `"controller"`).
    Controller,
    /// Controller N, 1-based (JSON: `"controller:N"`; `"controller:1"` is `controller`
    /// when there is one).
    ControllerN(u8),
    /// Every controller (JSON: `"controllers"`).
    Controllers,
    /// The `index`-th assigned replica of a partition, 0-based in assignment order
    /// (JSON: `"replica:TOPIC-P:I"`).
    Replica {
        /// The partition.
        partition: PartitionId,
        /// Position in the partition's assigned replicas (< replication factor).
        index: usize,
    },
    /// The broker leading the partition when the fault fires, or the one that last led it
    /// (JSON: `"leader:TOPIC-P"`).
    Leader(PartitionId),
    /// Every assigned replica of the partition except that leader (JSON:
    /// `"followers:TOPIC-P"`).
    Followers(PartitionId),
    /// Several targets (JSON: a non-empty list, possibly nested).
    List(Vec<Target>),
}

/// One fault action.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultAction {
    /// Process crash: unflushed data survives in the page cache.
    Crash(Target),
    /// Power loss: data not yet flushed is lost.
    PowerLoss(Target),
    /// A replaced drive: each running broker named stops (its host stays up, so peers'
    /// connections are reset) and comes back at once with an empty new disk: no log, no
    /// checkpoints. A broker that is down gets the new disk and stays down. Brokers only.
    DiskWipe(Target),
    /// Start crashed or powered-off nodes again; running nodes are left alone.
    Restart(Target),
    /// Freeze processes (GC pause, SIGSTOP).
    Pause(Target),
    /// Let paused processes go on.
    Resume(Target),
    /// Cut nodes off from every other node and every client.
    Isolate(Target),
    /// Cut links between different groups both ways (at least two groups, one target
    /// each); nodes named in no group keep their links.
    Partition(Vec<Target>),
    /// Restore every link.
    Heal,
    /// Drop this fraction (0.0..=1.0) of messages on all links from now on.
    PacketLoss(f64),
    /// Every message from now on takes `[min, max]` ms (a latency spell, or its end):
    /// JSON `"latency": [min, max]`, under the rules of `network.latency_ms`.
    Latency(u64, u64),
}

/// A fault and the simulated time it fires at.
#[derive(Clone, Debug, PartialEq)]
pub struct TimedFault {
    /// Milliseconds from the start of the run (<= `workload.duration_ms`).
    pub at_ms: u64,
    /// What happens.
    pub action: FaultAction,
}

/// A kind of fault the nemesis may draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NemesisKind {
    /// `"crash"`.
    Crash,
    /// `"power_loss"`.
    PowerLoss,
    /// `"restart"`.
    Restart,
    /// `"pause"`.
    Pause,
    /// `"partition"`.
    Partition,
    /// `"isolate"`.
    Isolate,
    /// `"packet_loss"`.
    PacketLoss,
    /// `"latency"`: a spell of slower messages.
    Latency,
    /// `"bounce_leader"`: crash a partition's leader, restart it almost at once, and
    /// maybe crash the next leader of that partition too (fast leader changes).
    BounceLeader,
    /// `"power_loss_all"`: every replica of one partition loses power at once.
    PowerLossAll,
    /// `"crash_during_isr_change"`: wait for a leader to propose an ISR change and crash
    /// it before the controller's answer arrives, while the leader's and the controller's
    /// ISR disagree; it restarts once leadership moved.
    CrashDuringIsrChange,
    /// `"disk_wipe"`: a broker's drive replaced (it restarts at once with an empty disk).
    DiskWipe,
}

impl NemesisKind {
    /// The name a scenario writes, e.g. `"power_loss"`.
    pub fn as_str(self) -> &'static str {
        match self {
            NemesisKind::Crash => "crash",
            NemesisKind::PowerLoss => "power_loss",
            NemesisKind::Restart => "restart",
            NemesisKind::Pause => "pause",
            NemesisKind::Partition => "partition",
            NemesisKind::Isolate => "isolate",
            NemesisKind::PacketLoss => "packet_loss",
            NemesisKind::Latency => "latency",
            NemesisKind::BounceLeader => "bounce_leader",
            NemesisKind::PowerLossAll => "power_loss_all",
            NemesisKind::CrashDuringIsrChange => "crash_during_isr_change",
            NemesisKind::DiskWipe => "disk_wipe",
        }
    }
}

/// Randomized faults drawn from the seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NemesisSpec {
    /// The kinds to draw from (non-empty), in file order.
    pub kinds: Vec<NemesisKind>,
    /// Milliseconds between nemesis steps (> 0, default 2000).
    pub interval_ms: u64,
    /// At most this many brokers down at once (< brokers, default 1); `power_loss_all`
    /// alone may take down a whole partition's replicas.
    pub max_down: u8,
    /// At most this many controllers crashed, paused or cut off at once (< controllers;
    /// default the largest minority, `(controllers - 1) / 2`). With one controller the
    /// nemesis leaves it alone.
    pub max_controllers_down: u8,
    /// BUGGIFY-style bias (default on): each seed draws which kinds it uses and how
    /// often it aims at leaders and followers (see `harness::nemesis`).
    pub buggify: bool,
}

/// The verdict a scenario expects.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Expect {
    /// No violation at all (JSON `"pass"`, the default).
    #[default]
    Pass,
    /// Every listed kind must be found; others may appear too (non-empty).
    Violations(Vec<ViolationKind>),
}

/// Why a scenario file was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// The text is not JSON (the message includes line and column).
    #[error("not valid JSON: {0}")]
    Syntax(String),
    /// The JSON is well-formed but a field breaks the format or a rule.
    #[error("field `{field}`: {reason}")]
    Invalid {
        /// The JSON path of the field, e.g. `faults[0].at_ms` or `config.truncation`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Shorthand for a [`ScenarioError::Invalid`].
fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// The longest time any field may give, in milliseconds: 2^31 - 1 (about 24.8 days), the
/// limit of Kafka's `int` time settings. Sums of simulated times then stay far from
/// overflow (a time near `u64::MAX` ms made the simulation panic).
const MAX_MS: u64 = i32::MAX as u64;

/// `ms` unless it exceeds [`MAX_MS`].
fn millis(field: &str, ms: u64) -> Result<u64, ScenarioError> {
    if ms > MAX_MS {
        return Err(invalid(
            field,
            format!(
                "at most {MAX_MS} ms (about 24.8 days, Kafka's limit for time settings), got {ms}"
            ),
        ));
    }
    Ok(ms)
}
