//! Coverage marks: how often a run reached the states that matter for a replicated log
//! (a leader change, an ISR of one, an unclean election, a truncation, ...), so that a
//! user of `explore` sees whether the nemesis gets there at all.
//!
//! [`Coverage::of`] counts the marks in one read-only pass over a run's `&History` (like
//! the checkers, it sees nothing else, so the coverage of a run depends only on its
//! history); `explore` sums them over seeds. [`Mark::possible`] says whether a scenario's
//! configuration and fault kinds make a mark reachable at all, so that `explore` can warn
//! about a mark it could reach but never did.

mod pass;
mod possible;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// An interesting state a run may reach. Each variant's doc is the exact rule
/// [`Coverage::of`] counts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mark {
    /// `leader-change`: a `LeaderElected` that names a leader (not `none`), i.e. a new
    /// leader epoch with a leader. Electing the same broker again after the partition was
    /// offline counts too: its followers must reconcile with a new epoch all the same.
    LeaderChange,
    /// `isr-shrank-to-one`: a `LeaderElected` or `IsrChanged` whose ISR has exactly one
    /// member while the partition's previous ISR had more. The previous ISR is the one the
    /// partition's last such event recorded; before the first, the partition's initial ISR
    /// (every assigned replica), which the history shows as the brokers that became its
    /// leader or follower so far.
    IsrShrankToOne,
    /// `unclean-election`: a `LeaderElected` marked `unclean` (a leader chosen outside ISR
    /// and ELR: `unclean_leader_election`, or KIP-966's last-known-leader fallback).
    UncleanElection,
    /// `follower-truncated`: a `Truncated` event for any reason but power loss (diverging
    /// epoch, the old high-watermark rule, offset out of range): a replica cut records
    /// while reconciling with a leader.
    FollowerTruncated,
    /// `truncation-below-hw`: a `Truncated` event (any reason) whose `to` is below the
    /// replica's HW just before it, the HW being the last `HwChanged` of that broker and
    /// partition. A restart's recovered HW checkpoint is not an `HwChanged`, so a recovery
    /// that cuts records the replica had seen committed before it went down counts too
    /// (KIP-101's scenario).
    TruncationBelowHw,
    /// `empty-leader-epoch`: a leader epoch in which a leader was elected (`LeaderElected`
    /// with a leader) but no `LeaderAppended` of that partition and epoch happened before
    /// the partition's next `LeaderElected`. The epoch still open when the history ends
    /// is not counted.
    EmptyLeaderEpoch,
    /// `power-loss-unflushed`: a power loss dropped at least one unflushed record: a
    /// `Truncated` event with reason `power-loss` (the shell records one per partition it
    /// cut, never for a power loss that kept everything).
    PowerLossUnflushed,
    /// `producer-retry`: a `SendRetry`: a producer sent a batch again after an earlier
    /// attempt failed or timed out.
    ProducerRetry,
    /// `controller-failover`: a quorum controller activated (`Activated`) while another
    /// had been the last to activate: the active controller changed.
    ControllerFailover,
    /// `metadata-log-truncated`: a controller's metadata log was cut below its end
    /// (`Truncated` to less than its last `Appended` end): a diverging tail removed, or a
    /// power loss that lost unflushed records.
    MetadataLogTruncated,
    /// `broker-fenced-by-new-controller`: a `BrokerFenced` of a broker last unfenced
    /// before the latest controller failover: the new active controller fenced a broker
    /// its predecessor had let in (its session started over at the failover).
    BrokerFencedByNewController,
}

impl Mark {
    /// Every mark, in report order.
    pub const ALL: [Mark; 11] = [
        Mark::LeaderChange,
        Mark::IsrShrankToOne,
        Mark::UncleanElection,
        Mark::FollowerTruncated,
        Mark::TruncationBelowHw,
        Mark::EmptyLeaderEpoch,
        Mark::PowerLossUnflushed,
        Mark::ProducerRetry,
        Mark::ControllerFailover,
        Mark::MetadataLogTruncated,
        Mark::BrokerFencedByNewController,
    ];

    /// The stable kebab-case name reports and JSON files use.
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::LeaderChange => "leader-change",
            Mark::IsrShrankToOne => "isr-shrank-to-one",
            Mark::UncleanElection => "unclean-election",
            Mark::FollowerTruncated => "follower-truncated",
            Mark::TruncationBelowHw => "truncation-below-hw",
            Mark::EmptyLeaderEpoch => "empty-leader-epoch",
            Mark::PowerLossUnflushed => "power-loss-unflushed",
            Mark::ProducerRetry => "producer-retry",
            Mark::ControllerFailover => "controller-failover",
            Mark::MetadataLogTruncated => "metadata-log-truncated",
            Mark::BrokerFencedByNewController => "broker-fenced-by-new-controller",
        }
    }

    /// The mark called `name`, if any.
    pub fn from_name(name: &str) -> Option<Mark> {
        Mark::ALL.into_iter().find(|m| m.as_str() == name)
    }

    fn index(self) -> usize {
        Mark::ALL
            .iter()
            .position(|m| *m == self)
            .expect("every mark is in ALL")
    }
}

impl std::fmt::Display for Mark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How often each [`Mark`] was reached. Serializes as an object with every mark's name,
/// zeros included: `{"leader-change": 2, "isr-shrank-to-one": 0, ...}`; a missing name
/// reads as 0, an unknown one is an error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "BTreeMap<String, u64>", try_from = "BTreeMap<String, u64>")]
pub struct Coverage {
    counts: [u64; Mark::ALL.len()],
}

impl Coverage {
    /// How often `mark` was reached.
    pub fn get(&self, mark: Mark) -> u64 {
        self.counts[mark.index()]
    }

    /// Counts `mark` once more.
    pub fn add(&mut self, mark: Mark) {
        self.counts[mark.index()] += 1;
    }

    /// Adds every count of `other`.
    pub fn add_all(&mut self, other: &Coverage) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts) {
            *mine += theirs;
        }
    }

    /// `(mark, count)` for every mark reached at least once, in report order.
    pub fn reached(&self) -> impl Iterator<Item = (Mark, u64)> + '_ {
        Mark::ALL
            .into_iter()
            .map(|m| (m, self.get(m)))
            .filter(|(_, n)| *n > 0)
    }
}

impl From<Coverage> for BTreeMap<String, u64> {
    fn from(coverage: Coverage) -> Self {
        Mark::ALL
            .into_iter()
            .map(|m| (m.as_str().to_string(), coverage.get(m)))
            .collect()
    }
}

impl TryFrom<BTreeMap<String, u64>> for Coverage {
    type Error = String;

    fn try_from(map: BTreeMap<String, u64>) -> Result<Self, Self::Error> {
        let mut coverage = Coverage::default();
        for (name, count) in map {
            let mark = Mark::from_name(&name).ok_or_else(|| format!("unknown mark `{name}`"))?;
            coverage.counts[mark.index()] = count;
        }
        Ok(coverage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_json_lists_every_mark() {
        for mark in Mark::ALL {
            assert_eq!(Mark::from_name(mark.as_str()), Some(mark));
        }
        let mut c = Coverage::default();
        c.add(Mark::UncleanElection);
        c.add(Mark::UncleanElection);
        let text = serde_json::to_string(&c).unwrap();
        assert!(text.contains(r#""unclean-election":2"#), "{text}");
        assert!(text.contains(r#""producer-retry":0"#), "{text}");
        assert_eq!(serde_json::from_str::<Coverage>(&text).unwrap(), c);
        let partial: Coverage = serde_json::from_str(r#"{"leader-change": 3}"#).unwrap();
        assert_eq!(partial.get(Mark::LeaderChange), 3);
        assert_eq!(partial.reached().count(), 1);
        assert!(serde_json::from_str::<Coverage>(r#"{"leader-shuffle": 1}"#).is_err());
        let mut sum = partial;
        sum.add_all(&c);
        assert_eq!(
            sum.reached().collect::<Vec<_>>(),
            vec![(Mark::LeaderChange, 3), (Mark::UncleanElection, 2)]
        );
    }
}
