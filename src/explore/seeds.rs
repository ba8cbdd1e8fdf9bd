//! Which seeds an exploration runs: an inclusive range (`--seeds A..B`), optionally one
//! shard of it (`--shard K/N` keeps the seeds with `seed % N == K-1`).

use std::fmt;
use std::str::FromStr;

/// An inclusive range of seeds. `1..2000` is 2000 seeds, 1 and 2000 included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedRange {
    /// The first seed.
    pub first: u64,
    /// The last seed (included).
    pub last: u64,
}

impl FromStr for SeedRange {
    type Err = String;

    /// Accepts `A..B` and `A..=B` (both inclusive) and a single seed `N`.
    fn from_str(text: &str) -> Result<SeedRange, String> {
        let number = |s: &str| {
            s.trim()
                .parse::<u64>()
                .map_err(|_| format!("`{s}` is not a seed (a whole number >= 0)"))
        };
        let (first, last) = match text.split_once("..") {
            Some((a, b)) => (number(a)?, number(b.strip_prefix('=').unwrap_or(b))?),
            None => {
                let n = number(text)?;
                (n, n)
            }
        };
        if first > last {
            return Err(format!(
                "`{text}` is empty: the first seed is after the last"
            ));
        }
        Ok(SeedRange { first, last })
    }
}

impl fmt::Display for SeedRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.first, self.last)
    }
}

/// Shard `index` of `count` (1-based): the seeds with `seed % count == index - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, 1..=count.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

impl Shard {
    /// Every seed in one shard.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Whether `seed` belongs to this shard.
    pub fn contains(self, seed: u64) -> bool {
        seed % self.count == self.index - 1
    }
}

impl FromStr for Shard {
    type Err = String;

    /// Accepts `K/N` with `1 <= K <= N`.
    fn from_str(text: &str) -> Result<Shard, String> {
        let usage = || format!("`{text}` is not a shard: write K/N with 1 <= K <= N, e.g. 2/4");
        let (k, n) = text.split_once('/').ok_or_else(usage)?;
        let index: u64 = k.trim().parse().map_err(|_| usage())?;
        let count: u64 = n.trim().parse().map_err(|_| usage())?;
        if count == 0 || index == 0 || index > count {
            return Err(usage());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The seeds of `range` in `shard`, ascending, as an arithmetic progression (so a range
/// of billions costs nothing to describe).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedPlan {
    start: u64,
    step: u64,
    len: u64,
}

impl SeedPlan {
    /// The seeds of `range` that fall in `shard`.
    pub fn new(range: SeedRange, shard: Shard) -> SeedPlan {
        let wanted = shard.index - 1;
        let offset = (wanted + shard.count - range.first % shard.count) % shard.count;
        match range.first.checked_add(offset) {
            Some(start) if start <= range.last => SeedPlan {
                start,
                step: shard.count,
                len: ((range.last - start) / shard.count).saturating_add(1),
            },
            _ => SeedPlan {
                start: range.first,
                step: 1,
                len: 0,
            },
        }
    }

    /// How many seeds.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The `i`-th seed (0-based), if `i < len`.
    pub fn get(&self, i: u64) -> Option<u64> {
        (i < self.len).then(|| self.start + i * self.step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeds(range: &str, shard: &str) -> Vec<u64> {
        let plan = SeedPlan::new(range.parse().unwrap(), shard.parse().unwrap());
        (0..plan.len()).map(|i| plan.get(i).unwrap()).collect()
    }

    #[test]
    fn ranges_are_inclusive_and_shards_partition_them() {
        assert_eq!(seeds("1..5", "1/1"), vec![1, 2, 3, 4, 5]);
        assert_eq!(seeds("1..=5", "1/1"), vec![1, 2, 3, 4, 5]);
        assert_eq!(seeds("7", "1/1"), vec![7]);
        assert_eq!(seeds("1..10", "1/3"), vec![3, 6, 9]);
        assert_eq!(seeds("1..10", "2/3"), vec![1, 4, 7, 10]);
        assert_eq!(seeds("1..10", "3/3"), vec![2, 5, 8]);
        assert_eq!(seeds("5..5", "1/2"), Vec::<u64>::new());
        let mut all: Vec<u64> = (1..=4)
            .flat_map(|k| seeds("3..40", &format!("{k}/4")))
            .collect();
        all.sort();
        assert_eq!(all, (3..=40).collect::<Vec<_>>());
    }

    #[test]
    fn bad_ranges_and_shards_are_explained() {
        assert!("5..1".parse::<SeedRange>().unwrap_err().contains("empty"));
        assert!(
            "a..3"
                .parse::<SeedRange>()
                .unwrap_err()
                .contains("not a seed")
        );
        assert!("0/2".parse::<Shard>().is_err());
        assert!("3/2".parse::<Shard>().is_err());
        assert!("2".parse::<Shard>().unwrap_err().contains("K/N"));
    }

    #[test]
    fn the_last_possible_seed_does_not_overflow() {
        let plan = SeedPlan::new(
            SeedRange {
                first: u64::MAX - 1,
                last: u64::MAX,
            },
            Shard::WHOLE,
        );
        assert_eq!(plan.len(), 2);
        assert_eq!(plan.get(1), Some(u64::MAX));
    }
}
