use super::*;
use crate::types::{MessageId, PartitionId};

fn history(faults: &[(u64, &str)]) -> History {
    let mut h = History::new(vec!["t-0".into()]);
    for (ms, d) in faults {
        let description = d.to_string();
        h.push(SimTime::from_ms(*ms), EventKind::Fault { description });
    }
    h
}

fn span(from: u64, to: u64, open: bool, kind: FaultKind, text: &str) -> FaultSpan {
    FaultSpan {
        from: SimTime::from_ms(from),
        to: SimTime::from_ms(to),
        open,
        kind,
        text: text.into(),
    }
}

#[test]
fn faults_span_from_their_start_to_the_event_that_ends_them() {
    let h = history(&[
        (100, "crash broker-1"),
        (
            200,
            "partition [broker-2] | [broker-1, broker-3, controller]",
        ),
        (300, "restart broker-1"),
        (400, "packet_loss 0.2"),
        (500, "heal"),
        (600, "packet_loss 0"),
        (700, "explode broker-9"),
        (800, "pause broker-3"),
    ]);
    let spans = fault_spans(&h, SimTime::from_ms(1000));
    assert_eq!(
        spans,
        vec![
            span(100, 300, false, FaultKind::Crash, "crash broker-1"),
            span(
                200,
                500,
                false,
                FaultKind::Partition,
                "partition [broker-2] | [broker-1, broker-3, controller]"
            ),
            span(400, 600, false, FaultKind::Network, "packet_loss 0.2"),
            span(800, 1000, true, FaultKind::Pause, "pause broker-3"),
        ]
    );
}

#[test]
fn latency_spells_alternate_and_a_restart_ends_a_power_loss() {
    let h = history(&[
        (10, "latency [20, 150]"),
        (20, "power_loss broker-2"),
        (30, "latency [1, 10]"),
        (40, "restart broker-2"),
    ]);
    let spans = fault_spans(&h, SimTime::from_ms(50));
    assert_eq!(
        spans,
        vec![
            span(10, 30, false, FaultKind::Network, "latency [20, 150]"),
            span(20, 40, false, FaultKind::PowerLoss, "power_loss broker-2"),
        ]
    );
}

fn send(i: u32, invoked_ms: u64, latency_ms: Option<u64>, outcome: SendOutcome) -> SendTiming {
    SendTiming {
        producer: 1,
        partition: PartitionId(0),
        value: MessageId {
            producer: 1,
            index: i,
        },
        invoked: SimTime::from_ms(invoked_ms),
        completed: latency_ms.map(|l| SimTime::from_ms(invoked_ms + l)),
        outcome,
        in_workload: true,
    }
}

fn dot(invoked_ms: u64, latency_ms: Option<u64>) -> Dot {
    Dot {
        invoked_us: invoked_ms * 1000,
        latency_us: latency_ms.map(|l| l * 1000),
        outcome: SendOutcome::Ok,
    }
}

#[test]
fn thinning_keeps_the_quota_the_first_and_the_slowest_of_each_run() {
    let few: Vec<Dot> = (0..10).map(|i| dot(i, Some(5))).collect();
    assert_eq!(thin(few.clone(), 10), few, "what fits is kept whole");
    let mut many: Vec<Dot> = (0..10_000).map(|i| dot(i, Some(5 + i % 7))).collect();
    many[7777].latency_us = Some(9_000_000); // one spike
    many[4321].latency_us = None; // never completed: slower than any
    let kept = thin(many.clone(), 1000);
    assert_eq!(kept.len(), 1000, "the whole quota");
    assert_eq!(
        thin(many[..1224].to_vec(), 1210).len(),
        1210,
        "just over the quota"
    );
    assert_eq!(kept[0], many[0]);
    assert!(kept.contains(&many[7777]) && kept.contains(&many[4321]));
    assert!(
        kept.windows(2).all(|w| w[0].invoked_us < w[1].invoked_us),
        "in order, no dot twice"
    );
    assert_eq!(thin(many, 1).len(), 1);
}

#[test]
fn every_unacknowledged_send_is_drawn_and_the_acknowledged_fill_the_rest() {
    let mut sends: Vec<SendTiming> = (0..20_000)
        .map(|i| send(i, u64::from(i), Some(3), SendOutcome::Ok))
        .collect();
    sends[100] = send(100, 100, Some(3000), SendOutcome::Indeterminate);
    sends[200] = send(200, 200, Some(1), SendOutcome::Fail);
    sends[300] = send(300, 300, None, SendOutcome::Pending);
    let d = dots(&sends);
    assert_eq!(d.totals, [19_997, 1, 1, 1]);
    assert_eq!(d.not_ok_shown, 3);
    assert_eq!(d.ok_shown + d.not_ok_shown, d.shown.len());
    assert!(
        (DOTS_MAX - 1..=DOTS_MAX).contains(&d.shown.len()),
        "{}",
        d.shown.len()
    );
    let outcomes: Vec<SendOutcome> = d.shown[d.ok_shown..].iter().map(|d| d.outcome).collect();
    use SendOutcome::*;
    assert_eq!(outcomes, vec![Indeterminate, Fail, Pending]);
    assert_eq!(d.shown[d.ok_shown + 2].latency_us, None);
    // acks=0: every send indeterminate; the unacknowledged quota caps them.
    let info: Vec<SendTiming> = (0..9000)
        .map(|i| send(i, u64::from(i), Some(1), SendOutcome::Indeterminate))
        .collect();
    let d = dots(&info);
    assert!(d.not_ok_shown <= NOT_OK_DOTS_MAX && d.not_ok_shown > 3000);
    assert_eq!(d.ok_shown, 0);
}

#[test]
fn throughput_counts_completions_per_bucket_of_an_adaptive_length() {
    let sends = vec![
        send(0, 0, Some(50), SendOutcome::Ok),
        send(1, 10, Some(60), SendOutcome::Ok),
        send(2, 20, Some(150), SendOutcome::Fail),
        send(3, 30, None, SendOutcome::Pending),
        send(4, 21_000, Some(299), SendOutcome::Ok),
    ];
    let t = throughput(&sends, SimTime::from_ms(21_300));
    assert_eq!(t.bucket_ms, 100, "213 buckets of 100 ms");
    assert_eq!(t.ok.len(), 213);
    assert_eq!((t.ok[0], t.not_ok[1], t.ok[212]), (2, 1, 1));
    assert_eq!(t.ok.iter().sum::<u32>() + t.not_ok.iter().sum::<u32>(), 4);
    assert_eq!(throughput(&sends, SimTime::from_ms(2000)).bucket_ms, 10);
    let long = throughput(&[], SimTime::from_ms(100_000_000));
    assert!(long.ok.len() as u64 <= BUCKETS_MAX, "{}", long.ok.len());
}
