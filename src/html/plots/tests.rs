use super::*;
use crate::availability::{FaultKind, Outage, SendTiming};
use crate::html::timeline::{FaultSpan, dots, throughput};
use crate::types::{MessageId, PartitionId, SimTime};

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

/// 10 s, two partitions: a crash of broker-1 from 1 s to 3 s and a pause still in effect
/// at the end; one outage of t-0; 40 sends, one failed, one indeterminate, one pending.
fn timeline() -> Timeline {
    let mut sends: Vec<SendTiming> = (0..40)
        .map(|i| {
            send(
                i,
                u64::from(i) * 200,
                Some(5 + u64::from(i)),
                SendOutcome::Ok,
            )
        })
        .collect();
    sends[10] = send(10, 2000, Some(3000), SendOutcome::Indeterminate);
    sends[11] = send(11, 2200, Some(2), SendOutcome::Fail);
    sends[39] = send(39, 7800, None, SendOutcome::Pending);
    let end = SimTime::from_ms(10_000);
    let ms = SimTime::from_ms;
    Timeline {
        end_us: end.0,
        workload_end_us: ms(8000).0,
        partitions: vec!["t-0".into(), "t-1".into()],
        faults: vec![
            FaultSpan {
                from: ms(1000),
                to: ms(3000),
                open: false,
                kind: FaultKind::Crash,
                text: "crash broker-1".into(),
            },
            FaultSpan {
                from: ms(9000),
                to: end,
                open: true,
                kind: FaultKind::Pause,
                text: "pause controller".into(),
            },
        ],
        outages: vec![Outage {
            partition: PartitionId(0),
            from: ms(1200),
            to: ms(2700),
            open: false,
            cause: "crash broker-1".into(),
            kind: FaultKind::Crash,
            cause_event: None,
        }],
        dots: dots(&sends),
        throughput: throughput(&sends, end),
    }
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[test]
fn the_latency_plot_draws_every_send_the_faults_and_the_outages() {
    let svg = plots(&timeline()).latency;
    assert!(svg.starts_with("<svg id=\"latency-plot\""), "{svg}");
    assert!(svg.contains("data-dots=\"40\" data-faults=\"2\" data-outages=\"1\""));
    // One path per outcome, a segment per send.
    let path = |class: &str| -> &str {
        let start = svg
            .find(&format!("<path class=\"dots {class}\""))
            .expect(class);
        &svg[start..start + svg[start..].find("</path>").unwrap()]
    };
    assert!(path("ok").starts_with("<path class=\"dots ok\" data-n=\"37\" d=\"M84 "));
    assert_eq!(count(path("ok"), "h0"), 37);
    for class in ["fail", "info"] {
        assert_eq!(count(path(class), "h0"), 1, "{class}");
    }
    assert_eq!(count(path("pending"), "v8"), 1, "a tick in the top row");
    assert!(path("info").contains("<title>indeterminate: 1 sends drawn</title>"));
    assert!(
        svg.contains(">pending</text>"),
        "a row for sends never completed"
    );
    assert!(svg.contains("<title>crash broker-1 at 1000 ms, until 3000 ms (2 s)</title></rect>"));
    assert!(svg.contains("<title>pause controller at 9000 ms, still in effect at the end (1 s)"));
    assert!(svg.contains(">✕ b1<title>"), "{svg}");
    assert!(svg.contains(">❚❚ ctl<title>"));
    assert!(svg.contains("<title>t-0 outage 1200-2700 ms (1.5 s): crash broker-1 [crash]</title>"));
    assert_eq!(
        count(&svg, "class=\"outage-lane\""),
        2,
        "a row per partition"
    );
    assert_eq!(count(&svg, "class=\"fault f-"), 2, "a band per fault");
    assert_eq!(
        count(&svg, "class=\"fault-bar f-"),
        2,
        "a bar in its lane per fault"
    );
    assert!(
        svg.contains(">crash</text>") && svg.contains(">pause</text>"),
        "the lanes"
    );
    assert!(
        !svg.contains(">partition</text>"),
        "no lane for a kind the run lacks"
    );
    assert!(svg.contains("class=\"finale\""), "the workload's end");
    // Log scale, from 1 ms (below the fastest, 2 ms) to 10 s (above the slowest, 3 s).
    for label in [">1 ms<", ">10 ms<", ">100 ms<", ">1 s<", ">10 s<"] {
        assert!(svg.contains(label), "{label}");
    }
    assert!(!svg.contains(">100 µs<"));
}

#[test]
fn a_slower_send_is_drawn_higher_and_a_later_one_further_right() {
    let t = timeline();
    let x = x_scale(&t);
    assert_eq!((x.at(0.0), x.at(t.end_us as f64)), (LEFT, WIDTH - RIGHT));
    let area = (0.0, 100.0);
    let y = latency_scale(&t.dots.shown, area);
    assert_eq!(y.domain, (1000.0, 10_000_000.0));
    assert!(y.at(3_000_000.0) < y.at(5000.0));
    assert_eq!(y.at(1000.0), 100.0);
}

#[test]
fn the_throughput_plot_stacks_completions_per_bucket() {
    let t = timeline();
    let svg = plots(&t).throughput;
    assert!(svg.starts_with("<svg id=\"throughput-plot\""));
    let bars = t.throughput.ok.iter().chain(&t.throughput.not_ok);
    let drawn = bars.filter(|n| **n > 0).count();
    assert_eq!(count(&svg, "<rect class=\"bar "), drawn);
    assert!(svg.contains(&format!("data-bars=\"{drawn}\"")));
    assert_eq!(
        count(&svg, "class=\"bar not-ok\""),
        2,
        "the failed and the indeterminate"
    );
    assert!(
        svg.contains(">completions per 50 ms</text>"),
        "10 s in 50 ms buckets"
    );
    assert!(svg.contains("<title>0-50 ms: 1 acknowledged, 0 failed or indeterminate</title>"));
    assert_eq!(count(&svg, "class=\"fault f-"), 2);
    assert_eq!(count(&svg, "class=\"outage\""), 1);
}

#[test]
fn a_run_without_sends_still_draws_empty_plots() {
    let t = Timeline {
        end_us: 1000,
        partitions: vec!["t-0".into()],
        throughput: throughput(&[], SimTime(1000)),
        ..Timeline::default()
    };
    let drawn = plots(&t);
    assert!(drawn.latency.contains("data-dots=\"0\""));
    assert!(drawn.throughput.contains("data-bars=\"0\""));
    assert!(drawn.latency.ends_with("</svg>"));
}

#[test]
fn network_spells_keep_to_their_lane() {
    let mut t = timeline();
    t.faults = vec![FaultSpan {
        from: SimTime::from_ms(500),
        to: SimTime::from_ms(6000),
        open: false,
        kind: FaultKind::Network,
        text: "latency [20, 150]".into(),
    }];
    let svg = plots(&t).latency;
    assert_eq!(count(&svg, "class=\"fault-bar f-network\""), 1);
    assert_eq!(count(&svg, "class=\"fault f-"), 0, "no band over the plot");
    assert!(svg.contains(">~ latency [20, 150]<title>"), "{svg}");
    assert!(svg.contains(">network</text>"));
}
