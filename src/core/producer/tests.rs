//! The producer's send timing.

use super::*;

/// The times at which a producer with `interval_ms` invokes its first `count` sends.
fn send_times(interval_ms: u64, seed: u64, count: usize) -> Vec<SimTime> {
    let workload = ProducerWorkload {
        produce_interval_ms: interval_ms,
        stop_at: SimTime::from_ms(u64::MAX / 4000),
        partitioner: Partitioner::RoundRobin,
    };
    let mut producer = Producer::new(
        1,
        Config::default(),
        workload,
        vec![PartitionId(0), PartitionId(1)],
        vec![BrokerId(1)],
        SimTime::ZERO,
        Prng::new(seed),
    );
    let mut times = Vec::new();
    while times.len() < count {
        let at = producer.next_message_at;
        let mut out = Vec::new();
        producer.on_timeout(at, &mut out);
        let invoked = out
            .iter()
            .filter(|e| matches!(e, Effect::Trace(EventKind::SendInvoke { .. })))
            .count();
        assert_eq!(invoked, 1, "one message per due time");
        times.push(at);
    }
    times
}

#[test]
fn send_gaps_vary_and_average_the_interval() {
    let times = send_times(5, 42, 4001);
    let gaps: Vec<u64> = times.windows(2).map(|w| w[1].0 - w[0].0).collect();
    assert!(
        gaps.iter().all(|g| (2500..=7500).contains(g)),
        "every gap in [interval/2, 3*interval/2]"
    );
    let distinct: std::collections::BTreeSet<u64> = gaps.iter().copied().collect();
    assert!(
        distinct.len() > 1000,
        "gaps vary: {} distinct",
        distinct.len()
    );
    let mean = gaps.iter().sum::<u64>() as f64 / gaps.len() as f64;
    assert!(
        (mean - 5000.0).abs() < 100.0,
        "mean gap {mean} µs, expected ~5000"
    );
}

#[test]
fn send_times_are_a_function_of_the_seed() {
    assert_eq!(send_times(5, 7, 100), send_times(5, 7, 100));
    assert_ne!(send_times(5, 7, 100), send_times(5, 8, 100));
    // A 1 ms interval still averages 1 ms (gaps in µs, not whole ms).
    let times = send_times(1, 3, 2001);
    let mean = (times[2000].0 - times[0].0) as f64 / 2000.0;
    assert!((mean - 1000.0).abs() < 40.0, "mean gap {mean} µs");
}
