//! The hash behind `trace_hash`: a word at a time, with FxHash's rotate-multiply mixing
//! (rustc's `FxHasher`). Fast, the same on every run and machine of one architecture,
//! and without per-process keys. It is not a cryptographic hash: it tells two runs apart,
//! which is all that replay checks and shard merging ask of it.

use std::hash::Hasher;

/// The seed of the state (FNV-1a's 64-bit offset basis: any non-zero constant would do).
const SEED: u64 = 0xcbf2_9ce4_8422_2325;
/// FxHash's multiplier.
const K: u64 = 0x517c_c1b7_2722_0a95;

/// A `Hasher` that mixes whole words: integers go in as one word each, byte strings
/// eight bytes at a time.
#[derive(Debug)]
pub struct TraceHasher(u64);

impl Default for TraceHasher {
    fn default() -> Self {
        TraceHasher(SEED)
    }
}

impl TraceHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for TraceHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("eight bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::Hash;

    fn hash<T: Hash>(value: &T) -> u64 {
        let mut hasher = TraceHasher::default();
        value.hash(&mut hasher);
        hasher.finish()
    }

    #[test]
    fn equal_values_hash_equal_and_small_changes_do_not() {
        assert_eq!(hash(&("abc", 1u32)), hash(&("abc", 1u32)));
        assert_ne!(hash(&("abc", 1u32)), hash(&("abd", 1u32)));
        assert_ne!(hash(&("abc", 1u32)), hash(&("abc", 2u32)));
        assert_ne!(hash(&[1u64, 2]), hash(&[2u64, 1]), "order matters");
        assert_ne!(hash(&"abcdefghi"), hash(&"abcdefgh"), "the tail counts");
        assert_ne!(hash(&(1u64 << 63)), hash(&0u64), "high bits count");
    }
}
