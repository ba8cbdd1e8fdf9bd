//! Newtypes for every identifier and position, and the glossary.
//!
//! Kafka's own terms are used without expansion everywhere else:
//! - **LEO** (log end offset): the offset the next appended record will get.
//! - **HW** (high watermark): offsets below it are on every ISR member and visible to consumers.
//! - **ISR** (in-sync replicas): the replicas a write must reach before it is committed.
//! - **leader epoch**: bumped by the controller on every leader change; stamped on records.
//! - **partition epoch**: bumped on every change of leader/ISR/ELR; compare-and-set token.
//! - **broker epoch**: handed out by the controller at each broker registration.

use std::fmt;

/// A broker's id, 1..=9 as the scenario declares them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BrokerId(pub u8);

impl fmt::Display for BrokerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A controller node: 1..=5 in a quorum of `cluster.controllers` (named `controller-N`),
/// or [`ControllerId::SOLE`] when there is only one (named `controller`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ControllerId(pub u8);

impl ControllerId {
    /// The only controller of a one-controller cluster, named `controller`.
    pub const SOLE: ControllerId = ControllerId(0);
}

/// Any node of the simulated cluster: a controller, a broker or a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeId {
    /// A controller node.
    Controller(ControllerId),
    /// A broker.
    Broker(BrokerId),
    /// Producer client `n` (1-based), named `producer-n`.
    Producer(u8),
    /// Consumer client `n` (1-based), named `consumer-n`.
    Consumer(u8),
    /// Member `n` (1-based) of a consumer group, named `<group>-n`.
    Member(GroupName, u8),
}

impl NodeId {
    /// The only controller of a one-controller cluster.
    pub const CONTROLLER: NodeId = NodeId::Controller(ControllerId::SOLE);
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeId::Controller(ControllerId::SOLE) => write!(f, "controller"),
            NodeId::Controller(c) => write!(f, "controller-{}", c.0),
            NodeId::Broker(b) => write!(f, "broker-{}", b.0),
            NodeId::Producer(p) => write!(f, "producer-{p}"),
            NodeId::Consumer(c) => write!(f, "consumer-{c}"),
            NodeId::Member(g, n) => write!(f, "{g}-{n}"),
        }
    }
}

/// A partition, as an index into the cluster's flat partition table (topic order, then
/// partition index). Names such as `events-0` come from [`crate::layout::Layout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartitionId(pub u16);

/// A position in a partition log. Offsets are 0-based; every "end" value is exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Offset(pub u64);

impl Offset {
    /// The offset after this one.
    pub fn next(self) -> Offset {
        Offset(self.0 + 1)
    }
    /// This offset moved forward by `count` records.
    pub fn plus(self, count: u64) -> Offset {
        Offset(self.0 + count)
    }
    /// Usable as an index into a log vector.
    pub fn index(self) -> usize {
        usize::try_from(self.0).expect("offset fits in usize")
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A leader epoch: +1 on every leader change of a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LeaderEpoch(pub u32);

impl fmt::Display for LeaderEpoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "e{}", self.0)
    }
}

/// A partition epoch: +1 on any change of leader, ISR or ELR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PartitionEpoch(pub u32);

/// A broker epoch: one per broker registration (process lifetime).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BrokerEpoch(pub u64);

/// An idempotent producer's id (one per producer client).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProducerId(pub u64);

/// An idempotent producer's epoch: bumped when it abandons a sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ProducerEpoch(pub u16);

/// An idempotent producer's per-partition sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Sequence(pub u32);

/// The unique value of one produced message: producer `producer`, its `index`-th message.
/// Rendered `p1-17` in histories and reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId {
    /// The producer client number (1-based).
    pub producer: u8,
    /// The producer's message counter (0-based), unique within the producer.
    pub index: u32,
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}-{}", self.producer, self.index)
    }
}

/// Simulated time since the start of the run, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(pub u64);

impl SimTime {
    /// The start of the run.
    pub const ZERO: SimTime = SimTime(0);
    /// A time given in milliseconds.
    pub fn from_ms(ms: u64) -> SimTime {
        SimTime(ms * 1000)
    }
    /// Whole milliseconds since the start.
    pub fn as_ms(self) -> u64 {
        self.0 / 1000
    }
    /// This time plus `ms` milliseconds.
    pub fn plus_ms(self, ms: u64) -> SimTime {
        SimTime(self.0 + ms * 1000)
    }
    /// This time plus `us` microseconds.
    pub fn plus_us(self, us: u64) -> SimTime {
        SimTime(self.0 + us)
    }
    /// Milliseconds from `earlier` to `self` (0 if `earlier` is later).
    pub fn ms_since(self, earlier: SimTime) -> u64 {
        self.0.saturating_sub(earlier.0) / 1000
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}ms", self.0 / 1000, self.0 % 1000)
    }
}

/// A consumer group's name, as the scenario's `workload.groups` declares it: an index into
/// a process-wide table of interned names, so that records holding it stay small and
/// `Copy`. Order, hashes, Debug and Display go by the name, so nothing a run does or
/// traces depends on the order names were interned in (several scenarios may share one
/// process).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct GroupName(u8);

impl PartialOrd for GroupName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for GroupName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::hash::Hash for GroupName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

static GROUP_NAMES: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());

impl GroupName {
    /// The interned name: equal names give the same id, each name leaked once.
    ///
    /// # Panics
    /// When more than 256 distinct names were interned in one process.
    pub fn intern(name: &str) -> GroupName {
        let mut names = GROUP_NAMES.lock().expect("group names");
        if let Some(i) = names.iter().position(|n| *n == name) {
            return GroupName(i as u8);
        }
        let id = u8::try_from(names.len()).expect("at most 256 group names per process");
        names.push(Box::leak(name.to_string().into_boxed_str()));
        GroupName(id)
    }

    /// The name.
    pub fn as_str(self) -> &'static str {
        GROUP_NAMES.lock().expect("group names")[usize::from(self.0)]
    }
}

impl fmt::Display for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GroupName({:?})", self.as_str())
    }
}
