//! Availability over many seeds: what each seed keeps of its produce latency and
//! outages ([`SeedAvailability`], small and bounded), and the totals the summary shows
//! ([`AvailabilityTotals`]: latency percentiles over all seeds, the worst outage, and
//! the time to recover per fault kind). The totals are a function of the seeds' entries
//! alone, so `merge` recomputes them exactly from the shard files.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::availability::{Availability, FaultKind, Histogram};
use crate::harness::report::us_to_ms;
use crate::history::History;

/// One outage as an exploration keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutageEntry {
    /// The partition, `topic-index`.
    pub partition: String,
    /// Start (the last acknowledgement before it), simulated ms.
    pub from_ms: u64,
    /// End, simulated ms.
    pub to_ms: u64,
    /// `to_ms - from_ms`.
    pub length_ms: u64,
    /// What began it.
    pub cause: String,
    /// The kind of fault ([`FaultKind::as_str`]).
    pub kind: String,
}

/// What one seed keeps of its availability.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedAvailability {
    /// Produce latency of the acknowledged workload sends, bucketed (µs).
    #[serde(default)]
    pub produce_latency: Histogram,
    /// The seed's longest outage, if it had one.
    #[serde(default)]
    pub worst_outage: Option<OutageEntry>,
    /// Outage lengths (µs) per kind of fault that began them, by kind name.
    #[serde(default)]
    pub outage_lengths: BTreeMap<String, Histogram>,
}

impl SeedAvailability {
    /// The part of a run's availability an exploration keeps.
    pub fn of(history: &History, availability: &Availability) -> SeedAvailability {
        let worst_outage = availability.worst_outage().map(|o| OutageEntry {
            partition: history.partition_name(o.partition).to_string(),
            from_ms: o.from.as_ms(),
            to_ms: o.to.as_ms(),
            length_ms: o.length_ms(),
            cause: o.cause.clone(),
            kind: o.kind.as_str().to_string(),
        });
        let outage_lengths = availability
            .outage_lengths_by_kind()
            .into_iter()
            .map(|(kind, h)| (kind.as_str().to_string(), h))
            .collect();
        SeedAvailability {
            produce_latency: availability.latency_histogram(),
            worst_outage,
            outage_lengths,
        }
    }
}

/// Produce latency over every seed, in ms, estimated from the merged histograms (p50 and
/// p99 within 6.25%; the maximum exact). `null` when no send was acknowledged.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyMs {
    /// Acknowledged sends counted.
    pub count: u64,
    /// Median.
    pub p50: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Largest.
    pub max: Option<f64>,
}

/// The longest outage of an exploration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorstOutage {
    /// The seed it happened in.
    pub seed: u64,
    /// The outage.
    #[serde(flatten)]
    pub outage: OutageEntry,
}

/// How long outages begun by one kind of fault lasted, over every seed (ms; p50 within
/// 6.25%, the maximum exact).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RecoveryMs {
    /// Outages of this kind.
    pub outages: u64,
    /// Median length.
    pub p50: Option<f64>,
    /// Longest.
    pub max: Option<f64>,
}

/// The summary's availability figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AvailabilityTotals {
    /// Produce latency over every seed.
    #[serde(default)]
    pub produce_latency_ms: LatencyMs,
    /// Outages, summed over seeds.
    #[serde(default)]
    pub outage_count: u64,
    /// Seeds with at least one outage.
    #[serde(default)]
    pub seeds_with_outage: u64,
    /// The longest outage (the lowest seed of equally long ones), if any.
    #[serde(default)]
    pub worst_outage: Option<WorstOutage>,
    /// Time to recover per kind of fault (by kind name): the lengths of the outages it
    /// began. Always lists the five fault kinds, and `network` and `other` when they
    /// began an outage.
    #[serde(default)]
    pub recovery_ms: BTreeMap<String, RecoveryMs>,
}

/// The fault kinds the recovery table always lists.
pub const RECOVERY_KINDS: [FaultKind; 5] = [
    FaultKind::Crash,
    FaultKind::PowerLoss,
    FaultKind::Pause,
    FaultKind::Isolation,
    FaultKind::Partition,
];

impl AvailabilityTotals {
    /// Totals over `seeds`: (seed, what it kept), any order.
    pub fn of<'a>(seeds: impl Iterator<Item = (u64, &'a SeedAvailability)>) -> AvailabilityTotals {
        let mut latency = Histogram::default();
        let mut lengths: BTreeMap<String, Histogram> = BTreeMap::new();
        let mut worst: Option<WorstOutage> = None;
        let mut seeds_with_outage = 0;
        for (seed, a) in seeds {
            latency.merge(&a.produce_latency);
            for (kind, h) in &a.outage_lengths {
                lengths.entry(kind.clone()).or_default().merge(h);
            }
            let Some(outage) = &a.worst_outage else {
                continue;
            };
            seeds_with_outage += 1;
            let longer = worst.as_ref().is_none_or(|w| {
                (outage.length_ms, std::cmp::Reverse(seed))
                    > (w.outage.length_ms, std::cmp::Reverse(w.seed))
            });
            if longer {
                let outage = outage.clone();
                worst = Some(WorstOutage { seed, outage });
            }
        }
        for kind in RECOVERY_KINDS {
            lengths.entry(kind.as_str().to_string()).or_default();
        }
        let ms = |h: &Histogram, percent: f64| h.percentile(percent).map(us_to_ms);
        let max = |h: &Histogram| (!h.is_empty()).then(|| us_to_ms(h.max_us));
        let recovery_ms = lengths
            .iter()
            .map(|(kind, h)| {
                let r = RecoveryMs {
                    outages: h.count,
                    p50: ms(h, 50.0),
                    max: max(h),
                };
                (kind.clone(), r)
            })
            .collect();
        AvailabilityTotals {
            produce_latency_ms: LatencyMs {
                count: latency.count,
                p50: ms(&latency, 50.0),
                p99: ms(&latency, 99.0),
                max: max(&latency),
            },
            outage_count: lengths.values().map(|h| h.count).sum(),
            seeds_with_outage,
            worst_outage: worst,
            recovery_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explore::summary::{Exploration, Origin, SeedResult};

    fn seed(latencies_ms: &[u64], outages: &[(&str, u64)]) -> SeedAvailability {
        let mut a = SeedAvailability::default();
        for ms in latencies_ms {
            a.produce_latency.record(ms * 1000);
        }
        for (kind, ms) in outages {
            a.outage_lengths
                .entry(kind.to_string())
                .or_default()
                .record(ms * 1000);
        }
        a.worst_outage = outages
            .iter()
            .max_by_key(|o| o.1)
            .map(|(kind, ms)| OutageEntry {
                partition: "events-0".into(),
                from_ms: 1000,
                to_ms: 1000 + ms,
                length_ms: *ms,
                cause: format!("{kind} broker-1"),
                kind: kind.to_string(),
            });
        a
    }

    #[test]
    fn totals_merge_every_seed() {
        let a = seed(&[10, 20, 30], &[("crash", 1500), ("pause", 800)]);
        let b = seed(&[40, 5000], &[("crash", 2500), ("crash", 1200)]);
        let c = seed(&[], &[("crash", 2500)]); // acks=0: no latency
        let t = AvailabilityTotals::of([(1, &a), (2, &b), (3, &c)].into_iter());
        let l = &t.produce_latency_ms;
        assert_eq!(l.count, 5);
        assert_eq!(l.max, Some(5000.0), "the maximum is exact");
        let p50 = l.p50.unwrap();
        assert!((p50 - 30.0).abs() <= 30.0 * 0.125, "p50 {p50}");
        assert_eq!((t.outage_count, t.seeds_with_outage), (5, 3));
        let worst = t.worst_outage.as_ref().unwrap();
        assert_eq!(
            (worst.seed, worst.outage.length_ms),
            (2, 2500),
            "the lowest seed of ties"
        );
        let crash = &t.recovery_ms["crash"];
        assert_eq!((crash.outages, crash.max), (4, Some(2500.0)));
        let p50 = crash.p50.unwrap();
        assert!((p50 - 1500.0).abs() <= 1500.0 * 0.125, "crash p50 {p50}");
        assert_eq!(t.recovery_ms["pause"].max, Some(800.0));
        let none = &t.recovery_ms["power_loss"];
        assert_eq!((none.outages, none.p50, none.max), (0, None, None));
        assert!(
            !t.recovery_ms.contains_key("other"),
            "listed only when it happened"
        );
        let text = serde_json::to_string(&t).unwrap();
        let back: AvailabilityTotals = serde_json::from_str(&text).unwrap();
        assert_eq!(back, t);
        assert!(
            text.contains("\"worst_outage\":{\"seed\":2,\"partition\":\"events-0\""),
            "{text}"
        );
    }

    #[test]
    fn merged_parts_give_the_same_totals_as_the_whole() {
        let seeds: Vec<SeedAvailability> = (0..10u64)
            .map(|i| {
                seed(
                    &[i + 1, 10 * i + 3, 700 * i + 5],
                    &[("partition", 300 + 97 * i)],
                )
            })
            .collect();
        let whole = AvailabilityTotals::of(seeds.iter().enumerate().map(|(i, s)| (i as u64, s)));
        let mut merged = SeedAvailability::default();
        for s in &seeds {
            merged.produce_latency.merge(&s.produce_latency);
        }
        assert_eq!(whole.produce_latency_ms.count, merged.produce_latency.count);
        assert_eq!(
            whole.produce_latency_ms.p99,
            merged.produce_latency.percentile(99.0).map(us_to_ms)
        );
        assert_eq!(whole.worst_outage.unwrap().seed, 9);
        assert_eq!(
            AvailabilityTotals::of(std::iter::empty()).worst_outage,
            None
        );
    }

    fn result(seed: u64) -> SeedResult {
        SeedResult {
            seed,
            outcome: "pass".into(),
            violations: Vec::new(),
            trace_hash: format!("{seed:016x}"),
            sim_ms: 1000,
            messages: 10,
            coverage: Default::default(),
            availability: SeedAvailability::default(),
            wall_s: Default::default(),
        }
    }

    fn origin(shard: &str) -> Origin {
        Origin {
            scenario: "s".into(),
            scenario_file: "s.json".into(),
            seeds: "1..4".into(),
            shard: shard.into(),
            shard_from: None,
            expected_violations: Vec::new(),
            jobs: 1,
            possible: BTreeMap::new(),
        }
    }

    #[test]
    fn merge_recomputes_latency_and_outages_from_the_seeds() {
        let with = |seed: u64, latency_ms: u64, outage_ms: u64| {
            let mut r = result(seed);
            let a = &mut r.availability;
            a.produce_latency.record(latency_ms * 1000);
            a.outage_lengths
                .entry("crash".into())
                .or_default()
                .record(outage_ms * 1000);
            a.worst_outage = Some(OutageEntry {
                partition: "events-1".into(),
                from_ms: 3000,
                to_ms: 3000 + outage_ms,
                length_ms: outage_ms,
                cause: "crash broker-2".into(),
                kind: "crash".into(),
            });
            r
        };
        let a = Exploration::new(
            origin("1/2"),
            vec![with(2, 20, 900), with(4, 40, 400)],
            1.0,
            None,
        );
        let b = Exploration::new(
            origin("2/2"),
            vec![with(1, 10, 1800), with(3, 30, 300)],
            1.0,
            None,
        );
        let whole = Exploration::merge(vec![a, b.clone()]).unwrap();
        let t = &whole.summary.availability;
        assert_eq!(t.produce_latency_ms.count, 4);
        assert_eq!(t.produce_latency_ms.max, Some(40.0));
        let worst = t.worst_outage.as_ref().unwrap();
        assert_eq!((worst.seed, worst.outage.length_ms), (1, 1800));
        assert_eq!(
            (t.recovery_ms["crash"].outages, t.recovery_ms["crash"].max),
            (4, Some(1800.0))
        );
        assert_eq!(t.outage_count, 4);
        // The figures survive the file: a merge of the merged file gives them again.
        let text = serde_json::to_string(&whole).unwrap();
        assert!(text.contains("\"recovery_ms\""), "{text}");
        assert!(text.contains("\"outage_lengths\""), "{text}");
        let back: Exploration = serde_json::from_str(&text).unwrap();
        assert_eq!(back, whole);
        assert_eq!(
            Exploration::merge(vec![back]).unwrap().summary.availability,
            *t
        );
        // A file from before these figures existed still reads, with none of them.
        let mut old: serde_json::Value = serde_json::to_value(&b).unwrap();
        for key in [
            "produce_latency_ms",
            "outage_count",
            "seeds_with_outage",
            "worst_outage",
            "recovery_ms",
        ] {
            old["summary"].as_object_mut().unwrap().remove(key);
        }
        for seed in old["seeds"].as_array_mut().unwrap() {
            for key in ["produce_latency", "worst_outage", "outage_lengths"] {
                seed.as_object_mut().unwrap().remove(key);
            }
        }
        let old: Exploration = serde_json::from_value(old).unwrap();
        assert_eq!(old.seeds[0].availability, SeedAvailability::default());
        assert_eq!(old.summary.availability, AvailabilityTotals::default());
    }
}
