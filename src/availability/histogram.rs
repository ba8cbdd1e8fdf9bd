//! A small mergeable histogram of durations, for figures summed over many seeds (produce
//! latency, outage lengths) without keeping every value.
//!
//! Buckets are logarithmic with eight linear steps per power of two of microseconds
//! (HDR-histogram style, integer arithmetic only): bucket `i < 8` holds exactly `i` µs;
//! above, a value `v` with `2^e <= v < 2^(e+1)` goes to bucket `8(e-2) + s`, where `s` is
//! the three bits after the leading one. A bucket is at most 12.5% wide, so a percentile
//! read at a bucket's midpoint is within 6.25% of the true value; the maximum is kept
//! exactly. Only non-empty buckets are stored: a seed's latencies, from milliseconds to
//! tens of seconds, fill some 40 to 100, so the size per seed stays small and bounded
//! (at most 496 buckets, whatever the number of values).

use serde::{Deserialize, Serialize};

/// Linear steps per power of two: `2^SUB_BITS`.
const SUB_BITS: u32 = 3;
const SUB: u64 = 1 << SUB_BITS;

/// Durations in microseconds, bucketed. Merging two histograms gives exactly the
/// histogram of both sets of values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    /// Values recorded.
    pub count: u64,
    /// The largest value recorded, exact (0 when empty).
    pub max_us: u64,
    /// Non-empty buckets: (bucket index, values in it), ascending by index. In JSON one
    /// string of `index:count` pairs, `"54:2 55:6"`, so that a pretty-printed file keeps
    /// a histogram on one line.
    #[serde(with = "compact")]
    pub buckets: Vec<(u16, u64)>,
}

impl Histogram {
    /// Adds one value.
    pub fn record(&mut self, value_us: u64) {
        self.add(bucket_of(value_us), 1);
        self.count += 1;
        self.max_us = self.max_us.max(value_us);
    }

    /// Adds every value of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (bucket, n) in &other.buckets {
            self.add(*bucket, *n);
        }
        self.count += other.count;
        self.max_us = self.max_us.max(other.max_us);
    }

    fn add(&mut self, bucket: u16, n: u64) {
        match self.buckets.binary_search_by_key(&bucket, |(b, _)| *b) {
            Ok(i) => self.buckets[i].1 += n,
            Err(i) => self.buckets.insert(i, (bucket, n)),
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The `percent`-th percentile (nearest rank: the value at rank `ceil(percent/100 *
    /// count)`), estimated as the midpoint of its bucket and never above the exact
    /// maximum; `None` when empty.
    pub fn percentile(&self, percent: f64) -> Option<u64> {
        let rank = nearest_rank(percent, self.count)?;
        let mut seen = 0;
        for (bucket, n) in &self.buckets {
            seen += n;
            if seen >= rank {
                let (low, high) = bounds(*bucket);
                return Some((low + (high - low) / 2).min(self.max_us));
            }
        }
        Some(self.max_us) // only if `count` and the buckets disagree (a hand-made file)
    }
}

/// The 1-based rank of the `percent`-th percentile of `count` values (nearest-rank
/// method), `None` for no values.
pub fn nearest_rank(percent: f64, count: u64) -> Option<u64> {
    if count == 0 {
        return None;
    }
    let rank = (percent / 100.0 * count as f64).ceil() as u64;
    Some(rank.clamp(1, count))
}

/// The bucket a value falls in.
pub fn bucket_of(value_us: u64) -> u16 {
    if value_us < SUB {
        return value_us as u16;
    }
    let e = 63 - value_us.leading_zeros(); // 2^e <= value < 2^(e+1), e >= SUB_BITS
    let step = (value_us >> (e - SUB_BITS)) & (SUB - 1);
    (SUB as u32 * (e - SUB_BITS + 1) + step as u32) as u16
}

/// The values bucket `index` holds: `[low, high)` in microseconds.
pub fn bounds(index: u16) -> (u64, u64) {
    let index = u64::from(index);
    if index < SUB {
        return (index, index + 1);
    }
    let e = (index / SUB) as u32 + SUB_BITS - 1;
    let width = 1u64 << (e - SUB_BITS);
    let low = (SUB + index % SUB) * width;
    (low, low.saturating_add(width))
}

/// Buckets as one string of `index:count` pairs.
mod compact {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(buckets: &[(u16, u64)], s: S) -> Result<S::Ok, S::Error> {
        let pairs: Vec<String> = buckets.iter().map(|(i, n)| format!("{i}:{n}")).collect();
        s.serialize_str(&pairs.join(" "))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(u16, u64)>, D::Error> {
        let text = String::deserialize(d)?;
        let mut buckets: Vec<(u16, u64)> = Vec::new();
        for pair in text.split_whitespace() {
            let parsed = pair
                .split_once(':')
                .and_then(|(i, n)| Some((i.parse().ok()?, n.parse().ok()?)));
            let Some((i, n)) = parsed else {
                return Err(D::Error::custom(format!("`{pair}` is not `index:count`")));
            };
            if buckets.last().is_some_and(|(last, _)| *last >= i) {
                return Err(D::Error::custom(format!("bucket {i} out of order")));
            }
            buckets.push((i, n));
        }
        Ok(buckets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_at_most_an_eighth_wide() {
        let mut expected_low = 0;
        let last = bucket_of(u64::MAX);
        for index in 0..=last {
            let (low, high) = bounds(index);
            assert_eq!(
                low,
                expected_low,
                "bucket {index} starts where {} ended",
                index.max(1) - 1
            );
            assert!(high > low);
            if low >= 8 {
                assert!(
                    (high - low) * 8 <= low,
                    "bucket {index} is at most 12.5% wide"
                );
            }
            assert_eq!(bucket_of(low), index);
            assert_eq!(bucket_of(high - 1), index);
            expected_low = high;
        }
        assert_eq!(last, 495);
    }

    #[test]
    fn percentiles_are_close_and_never_above_the_maximum() {
        let mut h = Histogram::default();
        for ms in 1..=100u64 {
            h.record(ms * 1000);
        }
        assert_eq!(h.count, 100);
        assert_eq!(h.max_us, 100_000);
        let p50 = h.percentile(50.0).unwrap() as f64;
        assert!((p50 - 50_000.0).abs() <= 0.0625 * 50_000.0, "p50 {p50}");
        let p99 = h.percentile(99.0).unwrap() as f64;
        assert!((p99 - 99_000.0).abs() <= 0.0625 * 99_000.0, "p99 {p99}");
        assert_eq!(h.percentile(100.0), Some(100_000));
        assert_eq!(Histogram::default().percentile(50.0), None);
        let mut one = Histogram::default();
        one.record(4_096); // bucket [4096, 4608): its midpoint is above the value
        assert_eq!(
            one.percentile(50.0),
            Some(4_096),
            "clamped to the exact maximum"
        );
    }

    #[test]
    fn merging_equals_recording_everything_in_one() {
        let (mut a, mut b, mut both) = (
            Histogram::default(),
            Histogram::default(),
            Histogram::default(),
        );
        for v in [3u64, 900, 12_000, 12_500, 4_000_000] {
            a.record(v);
            both.record(v);
        }
        for v in [12_100u64, 80_000, 30_000_000] {
            b.record(v);
            both.record(v);
        }
        let mut merged = a.clone();
        merged.merge(&b);
        assert_eq!(merged, both);
        assert_eq!(merged.count, 8);
        assert_eq!(merged.max_us, 30_000_000);
        assert_eq!(merged.percentile(50.0), both.percentile(50.0));
        let text = serde_json::to_string(&merged).unwrap();
        assert!(text.contains("\"buckets\":\"3:1 "), "{text}");
        let back: Histogram = serde_json::from_str(&text).unwrap();
        assert_eq!(back, merged);
        let bad = r#"{"count": 2, "max_us": 9, "buckets": "3:1 2:1"}"#;
        let err = serde_json::from_str::<Histogram>(bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("out of order"), "{err}");
        let bad = r#"{"count": 2, "max_us": 9, "buckets": "3-1"}"#;
        let err = serde_json::from_str::<Histogram>(bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`3-1` is not `index:count`"), "{err}");
    }

    #[test]
    fn nearest_rank_follows_the_textbook_definition() {
        assert_eq!(nearest_rank(50.0, 0), None);
        assert_eq!(nearest_rank(50.0, 1), Some(1));
        assert_eq!(nearest_rank(50.0, 4), Some(2));
        assert_eq!(nearest_rank(50.0, 5), Some(3));
        assert_eq!(nearest_rank(99.0, 100), Some(99));
        assert_eq!(nearest_rank(99.0, 101), Some(100));
        assert_eq!(nearest_rank(100.0, 7), Some(7));
    }
}
