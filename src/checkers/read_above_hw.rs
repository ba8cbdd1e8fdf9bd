//! `read-above-hw` (white box): a broker served a consumer a record at or above its own
//! high watermark at that moment. The leader records every consumer fetch it answers with
//! records (`ConsumerServed`: offsets `from..from+count`, its HW then), so the rule is
//! `from + count > hw`. Only `consumer_read_limit: "log-end"` permits it.
//!
//! The black-box `uncommitted-read` sees such a read only when the final log ends up
//! holding something else at that offset; this check sees the serve itself, also when an
//! idempotent retry later commits the same values at the same offsets.

use std::collections::BTreeMap;

use super::Evidence;
use crate::config::{Config, ConsumerReadLimit};
use crate::history::{EventKind, History};
use crate::types::{BrokerId, PartitionId};
use crate::violation::{Violation, ViolationKind};

/// Most offsets one violation lists (the records above the HW in its first serve).
const OFFSETS_LISTED_MAX: u64 = 20;

/// Serves above the HW of one (partition, broker): event indices, in history order.
type Serves = BTreeMap<(PartitionId, BrokerId), Vec<usize>>;

/// One violation per (partition, broker) that served a consumer above its HW, naming the
/// first such serve and counting the rest.
pub fn check(history: &History, config: &Config) -> Vec<Violation> {
    let mut serves = Serves::new();
    for (index, event) in history.events.iter().enumerate() {
        if let EventKind::ConsumerServed {
            broker,
            partition,
            from,
            count,
            hw,
            ..
        } = &event.kind
            && from.plus(*count) > *hw
        {
            serves.entry((*partition, *broker)).or_default().push(index);
        }
    }
    let permitted_by = (config.consumer_read_limit == ConsumerReadLimit::LogEnd)
        .then(|| "consumer_read_limit=log-end".to_string());
    serves
        .into_iter()
        .filter_map(|((partition, _), indices)| {
            violation(history, partition, &indices, permitted_by.clone())
        })
        .collect()
}

fn violation(
    history: &History,
    partition: PartitionId,
    indices: &[usize],
    permitted_by: Option<String>,
) -> Option<Violation> {
    let first = *indices.first()?;
    let EventKind::ConsumerServed {
        broker,
        from,
        count,
        hw,
        leo,
        ..
    } = &history.events[first].kind
    else {
        return None;
    };
    let end = from.plus(*count);
    let above_from = hw.0.max(from.0);
    let offsets: Vec<u64> = (above_from..end.0)
        .take(OFFSETS_LISTED_MAX as usize)
        .collect();
    let name = super::partition_name(history, partition);
    let more = match indices.len() - 1 {
        0 => String::new(),
        n => format!("; {n} more serves of {name} by broker-{broker} went above its HW"),
    };
    let mut evidence = Evidence::default();
    indices.iter().for_each(|i| evidence.add(*i));
    Some(Violation {
        kind: ViolationKind::ReadAboveHw,
        partition: Some(name.clone()),
        offsets,
        values: Vec::new(),
        message: format!(
            "broker-{broker} served a consumer {name} offsets {from}..{end} while its high \
             watermark was {hw} (log end {leo}){more}"
        ),
        evidence: evidence.finish(),
        permitted_by,
        known_bug: None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;
    use crate::types::Offset;

    fn served(b: &mut Builder, broker: u8, from: u64, count: u64, hw: u64) -> usize {
        b.push(EventKind::ConsumerServed {
            broker: BrokerId(broker),
            partition: P0,
            from: Offset(from),
            count,
            hw: Offset(hw),
            leo: Offset(from + count),
        })
    }

    #[test]
    fn flags_a_serve_that_reaches_the_high_watermark() {
        let mut b = Builder::new();
        served(&mut b, 1, 0, 3, 3);
        let first = served(&mut b, 1, 3, 4, 5);
        let second = served(&mut b, 1, 7, 1, 7);
        served(&mut b, 2, 0, 2, 9);
        let found = check(&b.history, &strict_config());
        assert_eq!(
            summary(&found),
            vec![("read-above-hw", "t-0".into(), vec![5, 6])]
        );
        assert_eq!(found[0].evidence, vec![first, second]);
        assert_eq!(
            found[0].permitted_by, None,
            "a model bug under the HW limit"
        );
        assert!(
            found[0]
                .message
                .contains("offsets 3..7 while its high watermark was 5"),
            "{}",
            found[0].message
        );
        assert!(found[0].message.contains("1 more"), "{}", found[0].message);
    }

    #[test]
    fn permitted_by_a_broker_serving_up_to_the_log_end() {
        let mut b = Builder::new();
        served(&mut b, 1, 0, 2, 1);
        let log_end = Config {
            consumer_read_limit: ConsumerReadLimit::LogEnd,
            ..strict_config()
        };
        let found = check(&b.history, &log_end);
        assert_eq!(
            found[0].permitted_by.as_deref(),
            Some("consumer_read_limit=log-end")
        );
    }

    #[test]
    fn quiet_when_every_serve_stays_below_the_high_watermark() {
        let mut b = Builder::new();
        served(&mut b, 1, 0, 3, 3);
        served(&mut b, 1, 3, 2, 9);
        b.poll(1, &[(0, m(1, 0))]);
        assert_eq!(check(&b.history, &strict_config()), vec![]);
    }
}
