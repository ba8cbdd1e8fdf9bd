//! `unseen` (delivery; Jepsen's name): a record of the final committed log that a
//! standalone consumer never received, although the finale let it drain to the end of
//! every partition it reads.
//!
//! The rule, exactly:
//! - It applies only to a history whose finale drained: it has a `Drained` event. The
//!   drain has its own window and waits until every consumer read every partition that
//!   has a leader up to that leader's HW; a consumer still behind when the window ran
//!   out gets a `DrainGaveUp` and is judged all the same (it had its chance).
//! - It applies to every partition with a final log (`FinalPartition`) and no
//!   `Unavailable` event: a partition that did not converge had no end to drain to.
//! - The consumers are those the history names (`Poll`, `ConsumerReset`, `DrainGaveUp`);
//!   every standalone consumer reads every partition from offset 0.
//! - Consumer `c` received record `v` at offset `o` of partition `p` when a `Poll` of `c`
//!   on `p` delivered `(o, v)`. Every final record `c` never received is unseen.
//!
//! One violation per (consumer, partition) for the records it never read at all
//! (nothing permits that: positions only move by delivered records or by a logged reset
//! backwards), and one for those at offsets where it had read other records and did not
//! read again (an uncommitted read it never re-read, for instance after an unclean
//! election moved its position back only to the new, shorter log's HW), permitted by
//! what permits that read.

use std::collections::{BTreeMap, BTreeSet};

use super::{Evidence, Facts, FinalLog, final_logs};
use crate::config::Config;
use crate::history::{EventKind, History};
use crate::types::{MessageId, Offset, PartitionId};
use crate::violation::{Violation, ViolationKind};

/// Most offsets (and values) one violation lists; its message gives the count.
const LISTED_MAX: usize = 20;

/// What one consumer got at one offset of a final log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Got {
    /// Nothing was delivered at this offset.
    Nothing,
    /// Only records other than the final one (the event index of the first such poll).
    Other(usize),
    /// The final record.
    Final,
}

/// What the drain said about one (consumer, partition).
#[derive(Clone, Copy, Debug, Default)]
struct Reading {
    /// The consumer's last poll of the partition.
    last_poll: Option<usize>,
    /// The drain's `DrainGaveUp` for it, with the position and end it named.
    gave_up: Option<(usize, Offset, Offset)>,
}

/// One violation per (consumer, partition, never read / read replaced) with unseen
/// records, when the finale drained.
pub fn check(history: &History, config: &Config) -> Vec<Violation> {
    let Some(drained) = history
        .events
        .iter()
        .rposition(|e| matches!(e.kind, EventKind::Drained { .. }))
    else {
        return Vec::new();
    };
    let mut finals = final_logs(history);
    let mut consumers = BTreeSet::new();
    let mut readings: BTreeMap<(u8, PartitionId), Reading> = BTreeMap::new();
    for (index, event) in history.events.iter().enumerate() {
        match &event.kind {
            EventKind::Unavailable { partition, .. } => {
                finals.remove(partition);
            }
            EventKind::Poll {
                consumer,
                partition,
                ..
            } => {
                consumers.insert(*consumer);
                readings
                    .entry((*consumer, *partition))
                    .or_default()
                    .last_poll = Some(index);
            }
            EventKind::ConsumerReset { consumer, .. } => {
                consumers.insert(*consumer);
            }
            EventKind::DrainGaveUp {
                consumer,
                partition,
                position,
                end,
            } => {
                consumers.insert(*consumer);
                let gave_up = Some((index, *position, *end));
                readings.entry((*consumer, *partition)).or_default().gave_up = gave_up;
            }
            _ => {}
        }
    }
    let received = received(history, &finals);
    let facts = Facts::new(history);
    let mut violations = Vec::new();
    for (partition, log) in &finals {
        let nothing = vec![Got::Nothing; log.records.len()];
        for consumer in &consumers {
            let got = received.get(&(*consumer, *partition)).unwrap_or(&nothing);
            let reading = readings
                .get(&(*consumer, *partition))
                .copied()
                .unwrap_or_default();
            let seen = Seen {
                history,
                consumer: *consumer,
                partition: *partition,
                log,
                drained,
                reading,
            };
            violations.extend(seen.never_read(got, &facts));
            violations.extend(seen.replaced(got, &facts, config));
        }
    }
    violations
}

/// Per (consumer, partition with a final log) that polled it, what the consumer got at
/// each offset of the final log.
fn received(
    history: &History,
    finals: &BTreeMap<PartitionId, FinalLog>,
) -> BTreeMap<(u8, PartitionId), Vec<Got>> {
    let mut all: BTreeMap<(u8, PartitionId), Vec<Got>> = BTreeMap::new();
    for (index, event) in history.events.iter().enumerate() {
        let EventKind::Poll {
            consumer,
            partition,
            records,
            ..
        } = &event.kind
        else {
            continue;
        };
        let Some(log) = finals.get(partition) else {
            continue;
        };
        let got = all
            .entry((*consumer, *partition))
            .or_insert_with(|| vec![Got::Nothing; log.records.len()]);
        for (offset, value) in records {
            let Some(slot) = usize::try_from(offset.0).ok().and_then(|o| got.get_mut(o)) else {
                continue;
            };
            if log.at(offset.0) == Some(*value) {
                *slot = Got::Final;
            } else if *slot == Got::Nothing {
                *slot = Got::Other(index);
            }
        }
    }
    all
}

/// One (consumer, partition) being judged.
struct Seen<'a> {
    history: &'a History,
    consumer: u8,
    partition: PartitionId,
    log: &'a FinalLog<'a>,
    drained: usize,
    reading: Reading,
}

impl Seen<'_> {
    /// The final records at offsets where the consumer got nothing.
    fn never_read(&self, got: &[Got], facts: &Facts) -> Option<Violation> {
        let offsets: Vec<u64> = offsets_where(got, |g| g == Got::Nothing);
        let first = *offsets.first()?;
        let name = super::partition_name(self.history, self.partition);
        let how = match self.reading.gave_up {
            Some((_, position, end)) => {
                format!("the drain gave up with it at {position} of {end}")
            }
            None => "although the drain let it read to the end".to_string(),
        };
        let mut evidence = Evidence::default();
        evidence.add_opt(self.reading.gave_up.map(|(index, _, _)| index));
        evidence.add_opt(self.reading.last_poll);
        evidence.add_opt(facts.election_before(self.partition, self.log.index));
        evidence.add(self.drained);
        evidence.add(self.log.index);
        Some(self.violation(
            &offsets,
            format!(
                "consumer-{} never received {} of the {} records of {name}'s final log \
                 (first at offset {first}); {how}",
                self.consumer,
                offsets.len(),
                self.log.records.len()
            ),
            evidence,
            None,
        ))
    }

    /// The final records at offsets where the consumer got only other records.
    fn replaced(&self, got: &[Got], facts: &Facts, config: &Config) -> Option<Violation> {
        let offsets: Vec<u64> = offsets_where(got, |g| matches!(g, Got::Other(_)));
        let first = *offsets.first()?;
        let Got::Other(poll) = got[first as usize] else {
            return None;
        };
        let name = super::partition_name(self.history, self.partition);
        let mut evidence = Evidence::default();
        evidence.add(poll);
        facts.add_cut_evidence(&mut evidence, self.partition, first, poll);
        evidence.add(self.log.index);
        Some(self.violation(
            &offsets,
            format!(
                "consumer-{} never received {} records of {name}'s final log at offsets \
                 where it had read other records (first at offset {first}) and did not \
                 read them again",
                self.consumer,
                offsets.len()
            ),
            evidence,
            facts.read_permitted_by(config, self.partition),
        ))
    }

    fn violation(
        &self,
        offsets: &[u64],
        message: String,
        evidence: Evidence,
        permitted_by: Option<String>,
    ) -> Violation {
        let values: Vec<MessageId> = offsets.iter().filter_map(|o| self.log.at(*o)).collect();
        Violation {
            kind: ViolationKind::Unseen,
            partition: Some(super::partition_name(self.history, self.partition)),
            offsets: offsets.iter().take(LISTED_MAX).copied().collect(),
            values: values
                .iter()
                .take(LISTED_MAX)
                .map(|v| v.to_string())
                .collect(),
            message,
            evidence: evidence.finish(),
            permitted_by,
            known_bug: None,
        }
    }
}

fn offsets_where(got: &[Got], keep: impl Fn(Got) -> bool) -> Vec<u64> {
    got.iter()
        .enumerate()
        .filter(|(_, g)| keep(**g))
        .map(|(o, _)| o as u64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::config::ConsumerReadLimit;

    fn drained(b: &mut Builder, complete: bool) -> usize {
        b.push(EventKind::Drained {
            waited_ms: 100,
            complete,
        })
    }

    fn gave_up(b: &mut Builder, consumer: u8, position: u64, end: u64) -> usize {
        b.push(EventKind::DrainGaveUp {
            consumer,
            partition: P0,
            position: Offset(position),
            end: Offset(end),
        })
    }

    #[test]
    fn flags_final_records_a_consumer_never_received_after_the_drain_gave_up() {
        let mut b = Builder::new();
        b.poll(1, &[(0, m(1, 0)), (1, m(1, 1))]);
        let last = b.poll(2, &[(0, m(1, 0))]);
        b.poll(1, &[(2, m(1, 2))]);
        let elected = b.elected(2, 1, false);
        let stuck = gave_up(&mut b, 2, 1, 3);
        let end = drained(&mut b, false);
        let log = b.final_partition(&[m(1, 0), m(1, 1), m(1, 2)]);
        let found = check(&b.history, &strict_config());
        assert_eq!(summary(&found), vec![("unseen", "t-0".into(), vec![1, 2])]);
        assert_eq!(found[0].values, vec!["p1-1", "p1-2"]);
        assert_eq!(found[0].evidence, vec![last, elected, stuck, end, log]);
        assert_eq!(found[0].permitted_by, None);
        assert!(
            found[0]
                .message
                .contains("consumer-2 never received 2 of the 3")
                && found[0].message.contains("gave up with it at 1 of 3"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn a_record_replaced_after_the_consumer_read_another_is_permitted_as_that_read_is() {
        let mut b = Builder::new();
        let read = b.poll(1, &[(0, m(1, 0)), (1, m(1, 1))]);
        drained(&mut b, true);
        b.final_partition(&[m(1, 0), m(2, 0)]);
        let log_end = Config {
            consumer_read_limit: ConsumerReadLimit::LogEnd,
            ..strict_config()
        };
        let found = check(&b.history, &log_end);
        assert_eq!(summary(&found), vec![("unseen", "t-0".into(), vec![1])]);
        assert_eq!(found[0].values, vec!["p2-0"]);
        assert!(found[0].evidence.contains(&read));
        assert_eq!(
            found[0].permitted_by.as_deref(),
            Some("consumer_read_limit=log-end")
        );
        assert_eq!(check(&b.history, &strict_config())[0].permitted_by, None);
    }

    #[test]
    fn quiet_when_every_consumer_read_everything_or_the_drain_never_ran() {
        let mut b = Builder::new();
        b.poll(1, &[(0, m(1, 0))]);
        b.poll(1, &[(0, m(9, 9)), (1, m(1, 1))]);
        b.poll(2, &[(0, m(1, 0)), (1, m(1, 1))]);
        let mut undrained = Builder::new();
        undrained.poll(1, &[(0, m(1, 0))]);
        undrained.final_partition(&[m(1, 0), m(1, 1)]);
        assert_eq!(check(&undrained.history, &strict_config()), vec![]);
        drained(&mut b, true);
        b.final_partition(&[m(1, 0), m(1, 1)]);
        assert_eq!(check(&b.history, &strict_config()), vec![]);
    }

    #[test]
    fn skips_partitions_the_finale_found_unavailable() {
        let mut b = Builder::new();
        b.poll(1, &[(0, m(1, 0))]);
        b.unavailable(P0);
        drained(&mut b, true);
        b.final_partition(&[m(1, 0), m(1, 1)]);
        assert_eq!(check(&b.history, &strict_config()), vec![]);
    }
}
