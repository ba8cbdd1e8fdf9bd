//! `nonmonotonic-send`: one producer's acknowledged messages to one partition appear out of
//! send order in the final log (invariant I9, second half). Without the idempotent
//! producer, retries with several batches in flight may reorder (known-failures 13): the
//! finding is then `permitted_by` that setting. Values missing from the final log are skipped (that is a
//! `lost-write`); each acked value is compared with the previous acked one still present.
//! Send order is the order of the producer's message numbers: a producer numbers its
//! messages as it first sends them (`p1-17` is producer 1's 17th), retries keep the number.

use std::collections::BTreeMap;

use super::{Evidence, Facts, final_logs};
use crate::config::Config;
use crate::history::{EventKind, History};
use crate::types::{MessageId, PartitionId};
use crate::violation::{Violation, ViolationKind};

/// One acknowledged send: its value, `SendOk` index and final position.
#[derive(Clone, Copy)]
struct Acked {
    value: MessageId,
    ok: usize,
    position: u64,
}

/// One violation per adjacent pair of acked sends whose final positions do not increase.
pub fn check(history: &History, config: &Config) -> Vec<Violation> {
    let permitted_by = match (config.idempotent_producer, config.max_in_flight) {
        (true, _) => None,
        (false, 1) => Some("idempotent_producer=false".to_string()),
        (false, _) => Some("idempotent_producer=false with max_in_flight>1".to_string()),
    };
    let finals = final_logs(history);
    let mut acked: BTreeMap<(u8, PartitionId), Vec<Acked>> = BTreeMap::new();
    for (index, event) in history.events.iter().enumerate() {
        let EventKind::SendOk {
            producer,
            partition,
            value,
            ..
        } = &event.kind
        else {
            continue;
        };
        let Some(log) = finals.get(partition) else {
            continue;
        };
        let Some(position) = log.positions(*value).next() else {
            continue;
        };
        let send = Acked {
            value: *value,
            ok: index,
            position,
        };
        acked.entry((*producer, *partition)).or_default().push(send);
    }
    let facts = Facts::new(history);
    let mut violations = Vec::new();
    for ((producer, partition), mut sends) in acked {
        sends.sort_by_key(|s| (s.value, s.ok)); // send order
        sends.dedup_by_key(|s| s.value);
        for pair in sends.windows(2) {
            let (before, after) = (pair[0], pair[1]);
            if after.position > before.position {
                continue;
            }
            let name = super::partition_name(history, partition);
            let mut evidence = Evidence::default();
            for send in [before, after] {
                evidence.add_opt(facts.invoke(partition, send.value));
                evidence.add(send.ok);
            }
            evidence.add_opt(finals.get(&partition).map(|log| log.index));
            violations.push(Violation {
                kind: ViolationKind::NonmonotonicSend,
                partition: Some(name.clone()),
                offsets: vec![before.position, after.position],
                values: vec![before.value.to_string(), after.value.to_string()],
                message: format!(
                    "producer-{producer} sent {} before {} to {name}, but the final log holds \
                     them at offsets {} and {}",
                    before.value, after.value, before.position, after.position
                ),
                evidence: evidence.finish(),
                known_bug: None,
                permitted_by: permitted_by.clone(),
            });
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn reordered() -> (Builder, Vec<usize>) {
        let mut b = Builder::new();
        b.send_ok(1, 0, 0);
        let first = b.invoke(1, 1);
        let second = b.invoke(1, 2);
        let second_ok = b.ok(1, 2, 1);
        let first_ok = b.ok(1, 1, 2);
        let last = b.final_partition(&[m(1, 0), m(1, 2), m(1, 1)]);
        (b, vec![first, second, second_ok, first_ok, last])
    }

    #[test]
    fn flags_acked_sends_that_land_out_of_send_order() {
        let (b, evidence) = reordered();
        let found = check(&b.history, &strict_config());
        assert_eq!(
            summary(&found),
            vec![("nonmonotonic-send", "t-0".into(), vec![2, 1])]
        );
        assert_eq!(found[0].values, vec!["p1-1", "p1-2"]);
        assert_eq!(found[0].evidence, evidence);
    }

    #[test]
    fn permitted_without_the_idempotent_producer() {
        let (b, _) = reordered();
        let config = Config {
            idempotent_producer: false,
            ..strict_config()
        };
        let found = check(&b.history, &config);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].permitted_by.as_deref(),
            Some("idempotent_producer=false with max_in_flight>1")
        );
        assert_eq!(check(&b.history, &strict_config())[0].permitted_by, None);
    }

    #[test]
    fn quiet_for_in_order_sends_and_values_missing_from_the_final_log() {
        let mut b = Builder::new();
        b.send_ok(1, 0, 0);
        b.send_ok(1, 1, 1); // lost: not in the final log, skipped here
        b.send_ok(2, 0, 1);
        b.send_ok(1, 2, 2);
        b.final_partition(&[m(1, 0), m(2, 0), m(1, 2)]);
        assert_eq!(check(&b.history, &strict_config()), vec![]);
    }
}
