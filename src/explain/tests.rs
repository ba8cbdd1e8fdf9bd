//! Explanations of small hand-written histories: what each step says, in which order, and
//! that a long story is capped.

use super::*;
use crate::checkers::test_support::*;
use crate::checkers::{lost_write, read_above_hw, uncommitted_read};
use crate::config::{Config, ConsumerReadLimit};
use crate::history::{EventKind, TruncationReason};
use crate::types::{BrokerId, LeaderEpoch, Offset, PartitionEpoch};

fn brokers(ids: &[u8]) -> Vec<BrokerId> {
    ids.iter().map(|b| BrokerId(*b)).collect()
}

/// The controller elects `leader` for `t-0` in `epoch` with this ISR.
fn elect(b: &mut Builder, leader: u8, epoch: u32, isr: &[u8], unclean: bool) -> usize {
    b.push(EventKind::LeaderElected {
        partition: P0,
        leader: Some(BrokerId(leader)),
        leader_epoch: LeaderEpoch(epoch),
        partition_epoch: PartitionEpoch(epoch),
        isr: brokers(isr),
        elr: vec![],
        unclean,
    })
}

/// The controller sets the ISR of `t-0`.
fn isr(b: &mut Builder, epoch: u32, isr: &[u8]) -> usize {
    b.push(EventKind::IsrChanged {
        partition: P0,
        leader_epoch: LeaderEpoch(epoch),
        partition_epoch: PartitionEpoch(epoch),
        isr: brokers(isr),
        elr: vec![],
    })
}

/// Broker `broker` fetched `values` of epoch `epoch` from `leader` at `base`.
fn fetched(b: &mut Builder, broker: u8, leader: u8, base: u64, values: &[MessageId]) -> usize {
    b.push(EventKind::FollowerAppended {
        broker: BrokerId(broker),
        partition: P0,
        leader: BrokerId(leader),
        sent_at: SimTime::ZERO,
        base_offset: Offset(base),
        records: values.iter().map(|v| (LeaderEpoch(1), *v)).collect(),
    })
}

/// Broker `broker` starts with an empty `t-0`.
fn recovered(b: &mut Builder, broker: u8) -> usize {
    b.push(EventKind::ReplicaRecovered {
        broker: BrokerId(broker),
        partition: P0,
        leo: Offset(0),
        hw: Offset(0),
    })
}

/// Brokers 1 and 2 host `t-0`; broker 1 leads in epoch 1 with ISR [1, 2]; p1-0 is
/// committed on both.
fn two_replicas() -> Builder {
    let mut b = Builder::new();
    recovered(&mut b, 1);
    recovered(&mut b, 2);
    elect(&mut b, 1, 1, &[1, 2], false);
    b.send_ok(1, 0, 0);
    b.appended(1, 1, 0, &[m(1, 0)]);
    fetched(&mut b, 2, 1, 0, &[m(1, 0)]);
    b.hw(1, 1, 0, &[m(1, 0)]);
    b
}

/// p1-1 is acknowledged by broker 1 after the ISR shrank to [1]; broker 1 crashes,
/// broker 2 wins an unclean election without p1-1, broker 1 comes back and truncates it.
fn lost_after_unclean_election() -> Builder {
    let mut b = two_replicas();
    isr(&mut b, 1, &[1]);
    b.invoke(1, 1);
    b.appended(1, 1, 1, &[m(1, 1)]);
    b.hw(1, 2, 1, &[m(1, 1)]);
    b.ok(1, 1, 1);
    b.fault("crash broker-1");
    elect(&mut b, 2, 2, &[2], true);
    b.fault("restart broker-1");
    b.push(EventKind::Truncated {
        broker: BrokerId(1),
        partition: P0,
        from_leo: Offset(2),
        to: Offset(1),
        hw: Offset(1),
        reason: TruncationReason::DivergingEpoch,
    });
    b.final_partition(&[m(1, 0), m(2, 0)]);
    b
}

#[test]
fn a_lost_write_after_an_unclean_election_is_told_in_order() {
    let b = lost_after_unclean_election();
    let found = lost_write::check(&b.history, &safe_config());
    assert_eq!(found.len(), 1, "{found:?}");
    let explanation = explain(&b.history, &found[0]);
    let expected = "\
producer-1's write p1-1, acknowledged at 0.013 s at offset 1 of t-0, is missing from the final log.
  1. at 0.009 s the ISR of t-0 shrank to [1] (broker-2 dropped out): a write now needs only broker-1 to be committed
  2. at 0.010 s producer-1 sent p1-1 to t-0
  3. at 0.012 s broker-1 (the leader of t-0) moved its high watermark of t-0 to 2: p1-1 at offset 1 counted as committed
  4. at 0.013 s producer-1's write p1-1 was acknowledged at offset 1 of t-0, appended by broker-1 as leader in epoch 1
  5. at 0.014 s broker-1 (the leader of t-0) crashed
  6. at 0.015 s broker-2 was elected leader of t-0 in epoch 2, replacing broker-1 (ISR [2]); unclean: chosen from outside the ISR and ELR; it lacks p1-1
  7. at 0.016 s broker-1 (a follower outside the ISR, down) restarted
  8. at 0.017 s broker-1 (a follower outside the ISR) truncated its log of t-0 from 2 records to 1, below its high watermark 2: its log had diverged from the new leader's; this removed p1-1 (offset 1)
  9. at 0.018 s after the finale the committed log of t-0, led by broker-1, ended at offset 2, without p1-1
";
    assert_eq!(explanation.render(), expected);
    let events: Vec<Option<usize>> = explanation.steps.iter().map(|s| s.event).collect();
    assert_eq!(events, [8, 9, 11, 12, 13, 14, 15, 16, 17].map(Some));
    assert_eq!(explanation.left_out, 0);
}

#[test]
fn an_uncommitted_read_is_told_from_the_append_to_the_final_log() {
    let mut b = two_replicas();
    b.invoke(1, 1);
    b.appended(1, 1, 1, &[m(1, 1)]);
    b.poll(1, &[(0, m(1, 0)), (1, m(1, 1))]);
    b.fault("partition [broker-1] | [broker-2, controller]");
    elect(&mut b, 2, 2, &[2], false);
    b.send_ok(2, 0, 1);
    b.fault("heal");
    b.push(EventKind::Truncated {
        broker: BrokerId(1),
        partition: P0,
        from_leo: Offset(2),
        to: Offset(1),
        hw: Offset(1),
        reason: TruncationReason::DivergingEpoch,
    });
    b.final_partition(&[m(1, 0), m(2, 0)]);
    let found = uncommitted_read::check(&b.history, &safe_config());
    assert_eq!(found.len(), 1, "{found:?}");
    let explanation = explain(&b.history, &found[0]);
    let expected = "\
consumer-1 read p1-1 at offset 1 of t-0 at 0.011 s, but the final log holds p2-0 there.
  1. at 0.003 s broker-1 was elected leader of t-0 in epoch 1 (ISR [1, 2])
  2. at 0.010 s broker-1 (the leader of t-0) appended p1-1 at offset 1 in epoch 1
  3. at 0.011 s consumer-1 read p1-1 at offset 1 of t-0
  4. at 0.012 s the network split into [broker-1 (leader)] | [broker-2, controller]
  5. at 0.013 s broker-2 was elected leader of t-0 in epoch 2, replacing broker-1 (ISR [2]); it lacks p1-1
  6. at 0.016 s the network healed
  7. at 0.017 s broker-1 (a follower outside the ISR) truncated its log of t-0 from 2 records to 1: its log had diverged from the new leader's; this removed p1-1 (offset 1)
  8. at 0.018 s after the finale the committed log of t-0, led by broker-1, ended at offset 2, holding p2-0 at offset 1 instead of p1-1
";
    assert_eq!(explanation.render(), expected);
}

/// [`two_replicas`], then p1-1 acknowledged on both, `middle` adding events, then a power
/// loss of both brokers that cuts p1-1 from both logs.
fn lost_in_a_power_loss(middle: impl FnOnce(&mut Builder)) -> Builder {
    let mut b = two_replicas();
    b.invoke(1, 1);
    b.appended(1, 1, 1, &[m(1, 1)]);
    fetched(&mut b, 2, 1, 1, &[m(1, 1)]);
    b.hw(1, 2, 1, &[m(1, 1)]);
    b.ok(1, 1, 1);
    middle(&mut b);
    b.fault("power_loss [broker-1, broker-2]");
    for broker in [1, 2] {
        b.push(EventKind::Truncated {
            broker: BrokerId(broker),
            partition: P0,
            from_leo: Offset(2),
            to: Offset(1),
            hw: Offset(1),
            reason: TruncationReason::PowerLoss,
        });
    }
    b.final_partition(&[m(1, 0)]);
    b
}

fn texts(explanation: &Explanation) -> Vec<&str> {
    explanation.steps.iter().map(|s| s.text.as_str()).collect()
}

#[test]
fn runs_of_similar_events_collapse_into_two_steps() {
    let b = lost_in_a_power_loss(|b| {
        for round in 0..12 {
            isr(b, 1, if round % 2 == 0 { &[1] } else { &[1, 2] });
        }
        for round in 0..10 {
            b.fault(&format!("latency [1, {}]", 20 + round));
        }
    });
    let found = lost_write::check(&b.history, &safe_config());
    assert_eq!(found.len(), 1, "{found:?}");
    let explanation = explain(&b.history, &found[0]);
    let texts = texts(&explanation);
    assert_eq!(explanation.left_out, 0, "{texts:#?}");
    let isr_steps: Vec<&&str> = texts
        .iter()
        .filter(|t| t.contains("the ISR of t-0"))
        .collect();
    assert_eq!(
        isr_steps,
        [
            &"the ISR of t-0 shrank to [1] (broker-2 dropped out): a write now needs only \
              broker-1 to be committed",
            &"the ISR of t-0 grew to [1, 2] (broker-2 caught up); the last of 11 more ISR \
              changes since 0.015 s",
        ]
    );
    let delays: Vec<&&str> = texts
        .iter()
        .filter(|t| t.contains("message delays"))
        .collect();
    assert_eq!(
        delays,
        [
            &"message delays became 1-20 ms",
            &"message delays became 1-29 ms; the last of 9 more faults since 0.027 s",
        ]
    );
}

#[test]
fn a_long_story_is_capped_keeping_the_essential_steps_in_order() {
    let b = lost_in_a_power_loss(|b| {
        for round in 0..12 {
            let broker = 1 + round % 2;
            b.fault(&format!("pause broker-{broker}"));
            b.fault(&format!("resume broker-{broker}"));
        }
    });
    let found = lost_write::check(&b.history, &safe_config());
    assert_eq!(found.len(), 1, "{found:?}");
    let explanation = explain(&b.history, &found[0]);
    let texts = texts(&explanation);
    assert_eq!(explanation.steps.len(), STEPS_MAX, "{texts:#?}");
    // The 12 resumes go first (context), then the 5 pauses farthest from the ack and the
    // power loss (key, but faults before outcomes).
    assert_eq!(explanation.left_out, 12 + 5, "{texts:#?}");
    let kept: Vec<&str> = texts
        .iter()
        .copied()
        .filter(|t| t.contains("paused"))
        .collect();
    assert_eq!(kept.len(), 7, "{texts:#?}");
    let rendered = explanation.render();
    assert!(
        rendered.ends_with(
            "  (17 less important events left out; `kafkasim step` shows every event)\n"
        ),
        "{rendered}"
    );
    let events: Vec<usize> = explanation.steps.iter().filter_map(|s| s.event).collect();
    assert!(events.windows(2).all(|w| w[0] < w[1]), "{events:?}");
    for needle in [
        "producer-1 sent p1-1 to t-0",
        "producer-1's write p1-1 was acknowledged",
        "broker-1 (the leader of t-0) and broker-2 (a follower in the ISR) lost power",
        "broker-2 (a follower in the ISR, down) truncated its log of t-0 from 2 records to 1: \
         the power loss wiped records not yet flushed to disk; this removed p1-1 (offset 1)",
        "after the finale the committed log of t-0, led by broker-1, ended at offset 1, without \
         p1-1",
    ] {
        assert!(
            texts.iter().any(|t| t.contains(needle)),
            "{needle}: {texts:#?}"
        );
    }
    assert!(!texts.iter().any(|t| t.contains("resumed")), "{texts:#?}");
}

#[test]
fn a_read_above_the_hw_names_the_serve() {
    let mut b = Builder::new();
    b.push(EventKind::ConsumerServed {
        broker: BrokerId(1),
        partition: P0,
        from: Offset(2),
        count: 2,
        hw: Offset(2),
        leo: Offset(4),
    });
    let log_end = Config {
        consumer_read_limit: ConsumerReadLimit::LogEnd,
        ..safe_config()
    };
    let found = read_above_hw::check(&b.history, &log_end);
    let explanation = explain(&b.history, &found[0]);
    assert_eq!(
        explanation.headline,
        "broker-1 handed a consumer offsets 2-3 of t-0 at 0.001 s while its high watermark \
         was 2: records that were not yet committed."
    );
    assert_eq!(explanation.steps.len(), 1);
}

#[test]
fn every_kind_is_explained_without_a_panic_even_with_bad_evidence() {
    let b = lost_after_unclean_election();
    for kind in ViolationKind::ALL {
        let violation = Violation {
            kind,
            partition: Some("t-9".into()),
            offsets: vec![u64::MAX],
            values: vec!["p9-".into()],
            message: format!("something about {kind}."),
            evidence: vec![usize::MAX, 3, 100_000],
            permitted_by: None,
            known_bug: None,
        };
        let explanation = explain(&b.history, &violation);
        assert_eq!(explanation.headline, format!("something about {kind}."));
        assert_eq!(
            explanation.steps.len(),
            1,
            "only the evidence the history holds"
        );
        let empty = explain(&History::default(), &violation);
        assert!(empty.steps.is_empty(), "{kind}");
    }
}

#[test]
fn the_json_has_the_headline_and_steps_with_times_in_ms() {
    let b = lost_after_unclean_election();
    let found = lost_write::check(&b.history, &safe_config());
    let json = serde_json::to_value(explain(&b.history, &found[0])).expect("serializes");
    assert!(
        json["headline"]
            .as_str()
            .is_some_and(|h| h.contains("p1-1"))
    );
    assert_eq!(json["steps"][0]["time_ms"], 9.0);
    assert_eq!(json["steps"][0]["event"], 8);
    assert_eq!(json["left_out"], 0);
}
