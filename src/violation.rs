//! What a checker reports: one broken safety property, as data (never a panic).

use std::fmt;

/// The contract's violation kinds (names fixed by scenario-format.md), plus the model's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ViolationKind {
    /// An acknowledged write is missing from the final log.
    LostWrite,
    /// A consumer received a record that is not in the final committed log at that offset.
    UncommittedRead,
    /// Two replicas held different records at one offset below both their HWs.
    Divergence,
    /// One produced message appears at two offsets (idempotent producer).
    Duplicate,
    /// Two brokers acted as leader of one partition in the same leader epoch.
    SplitBrain,
    /// A consumer's offsets went backwards or skipped data without being told.
    NonmonotonicRead,
    /// Two different messages were observed (acked or read) at one offset.
    InconsistentOffsets,
    /// A message whose send definitely failed became visible.
    AbortedRead,
    /// One producer's acked messages to one partition appear out of send order.
    NonmonotonicSend,
    /// After the final heal a partition did not accept and deliver writes in time.
    Unavailable,
    /// A record of the final committed log that a consumer never received, although the
    /// finale let it drain to the end.
    Unseen,
    /// A broker served a consumer a record at or above its own HW (white box).
    ReadAboveHw,
    /// A partition had no running leader for longer than the failover bound while the
    /// controller could have elected one (liveness, white box).
    SlowFailover,
    /// Two nodes held different records at one offset of the metadata log below both
    /// their high watermarks (controller quorum).
    MetadataDivergence,
    /// Two controllers acted as active controller in the same quorum epoch.
    ControllerSplitBrain,
    /// A white-box invariant of our own model broke (protocol.md section 10): a simulator
    /// bug, never an allowed outcome.
    ModelInvariant,
}

impl ViolationKind {
    /// Every kind, in report order.
    pub const ALL: [ViolationKind; 16] = [
        ViolationKind::LostWrite,
        ViolationKind::UncommittedRead,
        ViolationKind::Divergence,
        ViolationKind::Duplicate,
        ViolationKind::SplitBrain,
        ViolationKind::NonmonotonicRead,
        ViolationKind::InconsistentOffsets,
        ViolationKind::AbortedRead,
        ViolationKind::NonmonotonicSend,
        ViolationKind::Unavailable,
        ViolationKind::Unseen,
        ViolationKind::ReadAboveHw,
        ViolationKind::SlowFailover,
        ViolationKind::MetadataDivergence,
        ViolationKind::ControllerSplitBrain,
        ViolationKind::ModelInvariant,
    ];

    /// The contract name, e.g. `lost-write`.
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationKind::LostWrite => "lost-write",
            ViolationKind::UncommittedRead => "uncommitted-read",
            ViolationKind::Divergence => "divergence",
            ViolationKind::Duplicate => "duplicate",
            ViolationKind::SplitBrain => "split-brain",
            ViolationKind::NonmonotonicRead => "nonmonotonic-read",
            ViolationKind::InconsistentOffsets => "inconsistent-offsets",
            ViolationKind::AbortedRead => "aborted-read",
            ViolationKind::NonmonotonicSend => "nonmonotonic-send",
            ViolationKind::Unavailable => "unavailable",
            ViolationKind::Unseen => "unseen",
            ViolationKind::ReadAboveHw => "read-above-hw",
            ViolationKind::SlowFailover => "slow-failover",
            ViolationKind::MetadataDivergence => "metadata-divergence",
            ViolationKind::ControllerSplitBrain => "controller-split-brain",
            ViolationKind::ModelInvariant => "model-invariant",
        }
    }

    /// Parses a contract name.
    pub fn parse(name: &str) -> Option<ViolationKind> {
        ViolationKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One broken property with the facts needed to debug it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which property.
    pub kind: ViolationKind,
    /// The partition (`topic-index`), when the property is about one.
    pub partition: Option<String>,
    /// The offsets involved.
    pub offsets: Vec<u64>,
    /// The messages involved, rendered (`p1-17`).
    pub values: Vec<String>,
    /// One sentence saying what went wrong.
    pub message: String,
    /// Indices into `History::events` of the events that led to it, oldest first.
    pub evidence: Vec<usize>,
    /// The configuration setting that permits this outcome (e.g. `acks=1`), if any.
    pub permitted_by: Option<String>,
    /// The known Kafka bug of the configured protocol version that explains it (e.g.
    /// `KIP-101`), if any; set by [`crate::checkers::known_bugs`].
    pub known_bug: Option<String>,
}

impl Violation {
    /// A violation about the cluster rather than one partition (the controller quorum's
    /// metadata log), with no offsets or values of a partition, nothing permitting it.
    pub fn of_cluster(kind: ViolationKind, message: String, evidence: Vec<usize>) -> Violation {
        Violation {
            kind,
            partition: None,
            offsets: Vec::new(),
            values: Vec::new(),
            message,
            evidence,
            permitted_by: None,
            known_bug: None,
        }
    }

    /// Neither the configuration nor a known bug of the chosen protocol version explains
    /// it: the model itself misbehaved.
    pub fn unexplained(&self) -> bool {
        self.permitted_by.is_none() && self.known_bug.is_none()
    }
}
