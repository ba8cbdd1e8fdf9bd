//! A tiny seeded PRNG (SplitMix64) for the few choices the core makes itself, such as a
//! broker's incarnation id. Pure `u64` state: seeded by the shell from the run's RNG.

/// SplitMix64 state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prng(u64);

impl Prng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Prng {
        Prng(seed)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// A value in `0..bound` (bound > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0);
        self.next_u64() % bound
    }
    /// A value in `low..=high` (`low <= high`).
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        assert!(low <= high);
        match (high - low).checked_add(1) {
            Some(span) => low + self.below(span),
            None => self.next_u64(),
        }
    }
}
