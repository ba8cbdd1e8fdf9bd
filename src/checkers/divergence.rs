//! `divergence`: two replicas held different records at one offset below both their HWs
//! at the same time (invariant I4, log matching).
//!
//! Replays `HwChanged` and `Truncated` per (broker, partition), keeping each replica's
//! committed prefix: the values below its HW. A rising HW appends what it `covered` (a
//! restart lowers the HW to its checkpoint without an event, so a `covered` list starting
//! below the tracked prefix first cuts the prefix there); a falling HW, or a truncation
//! below the prefix, cuts it. Each time a prefix grows, its new entries are compared with
//! every other replica's prefix at the same offsets. The final replica logs are compared
//! pairwise below both HWs as well. One finding per (partition, offset).

use std::collections::{BTreeMap, BTreeSet};

use super::{Evidence, Facts};
use crate::config::Config;
use crate::history::{EventKind, History};
use crate::types::{BrokerId, MessageId, PartitionId};
use crate::violation::{Violation, ViolationKind};

/// Offsets at or above this are ignored: no real run gets near it, and a malformed
/// history must not make the checker allocate without bound.
const OFFSET_LIMIT: u64 = 1 << 26;

/// One replica's committed prefix: per offset, (value, index of the event that covered
/// it), dense from offset 0 (`None` where no `covered` list named the offset).
#[derive(Debug, Default)]
struct Prefix {
    len: u64,
    entries: Vec<Option<(MessageId, usize)>>,
}

impl Prefix {
    fn cut(&mut self, to: u64) {
        if to < self.len {
            self.entries.truncate(to as usize);
            self.len = to;
        }
    }

    fn insert(&mut self, offset: u64, entry: (MessageId, usize)) {
        let at = offset as usize;
        if self.entries.len() <= at {
            self.entries.resize(at + 1, None);
        }
        self.entries[at] = Some(entry);
    }

    fn get(&self, offset: u64) -> Option<(MessageId, usize)> {
        self.entries
            .get(usize::try_from(offset).ok()?)
            .copied()
            .flatten()
    }
}

/// Two replicas that disagree at one offset.
struct Clash {
    partition: PartitionId,
    offset: u64,
    first: (BrokerId, MessageId, usize),
    second: (BrokerId, MessageId, usize),
    /// Found in the final logs, after convergence: the logs never reconciled.
    settled: bool,
}

/// The findings so far, one per (partition, offset).
#[derive(Default)]
struct Findings {
    reported: BTreeSet<(PartitionId, u64)>,
    clashes: Vec<Clash>,
}

impl Findings {
    fn add(&mut self, clash: Clash) {
        if self.reported.insert((clash.partition, clash.offset)) {
            self.clashes.push(clash);
        } else if clash.settled
            && let Some(earlier) = self
                .clashes
                .iter_mut()
                .find(|c| (c.partition, c.offset) == (clash.partition, clash.offset))
        {
            *earlier = clash; // the lasting disagreement is the one to report
        }
    }
}

/// One violation per (partition, offset) where two replicas' committed prefixes differed.
pub fn check(history: &History, config: &Config) -> Vec<Violation> {
    let mut findings = Findings::default();
    replay(history, &mut findings);
    compare_final_replicas(history, &mut findings);
    let facts = Facts::new(history);
    let violation = |clash| violation(history, config, &facts, clash);
    findings.clashes.iter().map(violation).collect()
}

fn replay(history: &History, findings: &mut Findings) {
    let mut prefixes: BTreeMap<(PartitionId, BrokerId), Prefix> = BTreeMap::new();
    for (index, event) in history.events.iter().enumerate() {
        match &event.kind {
            EventKind::HwChanged {
                broker,
                partition,
                hw,
                covered,
            } => {
                let prefix = prefixes.entry((*partition, *broker)).or_default();
                if hw.0 < prefix.len {
                    prefix.cut(hw.0);
                    continue;
                }
                if let Some((first, _)) = covered.first() {
                    prefix.cut(first.0);
                }
                let grown: Vec<(u64, MessageId)> = covered
                    .iter()
                    .filter(|(o, _)| *o < *hw && o.0 < OFFSET_LIMIT)
                    .map(|(o, v)| (o.0, *v))
                    .collect();
                for (offset, value) in &grown {
                    prefix.insert(*offset, (*value, index));
                }
                prefix.len = hw.0;
                for (offset, value) in grown {
                    let others =
                        prefixes.range((*partition, BrokerId(0))..=(*partition, BrokerId(u8::MAX)));
                    for ((_, other), prefix) in others.filter(|((_, b), _)| b != broker) {
                        let Some((theirs, at)) = prefix.get(offset) else {
                            continue;
                        };
                        if theirs != value && offset < prefix.len {
                            findings.add(Clash {
                                partition: *partition,
                                offset,
                                first: (*other, theirs, at),
                                settled: false,
                                second: (*broker, value, index),
                            });
                        }
                    }
                }
            }
            EventKind::Truncated {
                broker,
                partition,
                to,
                ..
            } => {
                prefixes.entry((*partition, *broker)).or_default().cut(to.0);
            }
            _ => {}
        }
    }
}

fn compare_final_replicas(history: &History, findings: &mut Findings) {
    let mut finals: BTreeMap<(PartitionId, BrokerId), (usize, u64, Vec<MessageId>)> =
        BTreeMap::new();
    for (index, event) in history.events.iter().enumerate() {
        if let EventKind::FinalReplica {
            broker,
            partition,
            hw,
            records,
        } = &event.kind
        {
            let values = records.iter().map(|(_, v)| *v).collect();
            finals.insert((*partition, *broker), (index, hw.0, values));
        }
    }
    let replicas: Vec<_> = finals.iter().collect();
    for (i, ((partition, a), (index_a, hw_a, log_a))) in replicas.iter().enumerate() {
        for ((partition_b, b), (index_b, hw_b, log_b)) in &replicas[i + 1..] {
            if partition_b != partition {
                continue;
            }
            let below = (*hw_a)
                .min(*hw_b)
                .min(log_a.len() as u64)
                .min(log_b.len() as u64);
            for offset in 0..below {
                let (va, vb) = (log_a[offset as usize], log_b[offset as usize]);
                if va != vb {
                    findings.add(Clash {
                        partition: *partition,
                        offset,
                        first: (*a, va, *index_a),
                        second: (*b, vb, *index_b),
                        settled: true,
                    });
                }
            }
        }
    }
}

fn violation(history: &History, config: &Config, facts: &Facts, clash: &Clash) -> Violation {
    let name = super::partition_name(history, clash.partition);
    let (a, va, index_a) = clash.first;
    let (b, vb, index_b) = clash.second;
    let mut evidence = Evidence::default();
    evidence.add(index_a);
    evidence.add(index_b);
    evidence.add_opt(facts.election_before(clash.partition, index_b));
    evidence.add_opt(facts.fault_before(index_b));
    Violation {
        kind: ViolationKind::Divergence,
        partition: Some(name.clone()),
        offsets: vec![clash.offset],
        values: vec![va.to_string(), vb.to_string()],
        message: format!(
            "broker-{a} held {va} and broker-{b} held {vb} at {name}@{} below both their HWs{}",
            clash.offset,
            if clash.settled {
                " in the final logs, after convergence"
            } else {
                ""
            }
        ),
        evidence: evidence.finish(),
        known_bug: None,
        // Logs that never reconcile break I4 whatever the configuration; a transient
        // disagreement can follow an unclean election.
        permitted_by: if clash.settled {
            None
        } else {
            facts.divergence_permitted_by(config, clash.partition)
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn flags_two_replicas_committing_different_records_at_one_offset() {
        let mut b = Builder::new();
        b.hw(1, 1, 0, &[m(1, 0)]);
        b.hw(2, 1, 0, &[m(1, 0)]);
        let first = b.hw(1, 2, 1, &[m(1, 1)]);
        let power = b.fault("power_loss broker-1, broker-2");
        let elected = b.elected(2, 2, true);
        let second = b.hw(2, 3, 1, &[m(2, 0), m(2, 1)]);
        let unclean_on = Config {
            unclean_leader_election: true,
            ..strict_config()
        };
        let found = check(&b.history, &unclean_on);
        assert_eq!(summary(&found), vec![("divergence", "t-0".into(), vec![1])]);
        assert_eq!(found[0].values, vec!["p1-1", "p2-0"]);
        assert_eq!(found[0].evidence, vec![first, power, elected, second]);
        assert_eq!(
            found[0].permitted_by.as_deref(),
            Some("unclean_leader_election")
        );
    }

    #[test]
    fn quiet_when_the_old_prefix_was_cut_first() {
        let mut b = Builder::new();
        b.hw(1, 2, 0, &[m(1, 0), m(1, 1)]);
        b.hw(2, 1, 0, &[m(1, 0)]);
        b.truncated(1, 2, 1); // e.g. a power loss cut broker 1 back to 1
        b.hw(2, 2, 1, &[m(2, 0)]);
        b.hw(1, 0, 0, &[]);
        b.hw(1, 2, 0, &[m(1, 0), m(2, 0)]);
        b.final_replica(1, 2, &[m(1, 0), m(2, 0)]);
        b.final_replica(2, 2, &[m(1, 0), m(2, 0), m(2, 1)]);
        assert_eq!(check(&b.history, &strict_config()), vec![]);
    }

    #[test]
    fn a_restart_that_silently_lowered_the_hw_resyncs_on_the_next_cover() {
        let mut b = Builder::new();
        b.hw(1, 3, 0, &[m(1, 0), m(1, 1), m(1, 2)]);
        // broker 1 restarts with HW checkpoint 1 (no event), truncates nothing, and is
        // covered again from 1 with the same records: no divergence with itself.
        b.hw(1, 3, 1, &[m(1, 1), m(1, 2)]);
        b.hw(2, 3, 0, &[m(1, 0), m(1, 1), m(1, 2)]);
        assert_eq!(check(&b.history, &strict_config()), vec![]);
    }

    #[test]
    fn flags_final_replicas_that_differ_below_both_hws_once_per_offset() {
        let mut b = Builder::new();
        let one = b.final_replica(1, 2, &[m(1, 0), m(1, 1)]);
        let two = b.final_replica(2, 2, &[m(1, 0), m(2, 0)]);
        b.final_replica(3, 1, &[m(1, 0), m(3, 0)]); // differs only above its HW
        let found = check(
            &b.history,
            &Config {
                acks: crate::config::Acks::One,
                ..strict_config()
            },
        );
        assert_eq!(summary(&found), vec![("divergence", "t-0".into(), vec![1])]);
        assert_eq!(found[0].evidence, vec![one, two]);
        // acks=1 loses writes, but never lets committed logs disagree (I4).
        assert_eq!(found[0].permitted_by, None);
    }
}
