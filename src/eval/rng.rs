//! The random draws of the prompted protocol.
//!
//! The protocol promises the same trials for the same seed in every version of this tool, so
//! the generator and the sampling algorithms are written out here instead of taken from a
//! crate whose streams may change between releases.

/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
/// OOPSLA 2014): a 64-bit state advanced by a Weyl sequence and scrambled per output.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// A generator for one named purpose, independent of the other purposes' streams, so
    /// that adding draws for one purpose leaves the others unchanged.
    pub fn for_purpose(seed: u64, purpose: &str) -> Self {
        // FNV-1a of the purpose mixes it into the seed.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in purpose.bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        let mut generator = SplitMix64::new(seed ^ hash);
        generator.next_u64();
        generator
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..bound` by Lemire's multiply-and-reject method ("Fast random
    /// integer generation in an interval", ACM TOMACS 2019), which has no modulo bias.
    ///
    /// Panics when `bound` is zero.
    pub fn below(&mut self, bound: usize) -> usize {
        assert!(bound > 0, "cannot draw from an empty range");
        let bound = bound as u64;
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(bound);
            if (product as u64) >= threshold {
                return (product >> 64) as usize;
            }
        }
    }

    /// Shuffles `items` in place (Fisher–Yates, from the back).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// `count` distinct indices from `0..len`, in the order drawn (a partial Fisher–Yates).
    ///
    /// Panics when `count > len`.
    pub fn sample_indices(&mut self, len: usize, count: usize) -> Vec<usize> {
        assert!(
            count <= len,
            "cannot draw {count} distinct items from {len}"
        );
        let mut indices: Vec<usize> = (0..len).collect();
        for i in 0..count {
            let j = i + self.below(len - i);
            indices.swap(i, j);
        }
        indices.truncate(count);
        indices
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_reference_stream() {
        // First outputs for seed 1234567 of Vigna's public-domain C code (splitmix64.c),
        // compiled with gcc.
        let mut generator = SplitMix64::new(1_234_567);
        let expected: [u64; 3] = [
            6_457_827_717_110_365_317,
            3_203_168_211_198_807_973,
            9_817_491_932_198_370_423,
        ];
        for value in expected {
            assert_eq!(generator.next_u64(), value);
        }
    }

    #[test]
    fn below_stays_in_range() {
        let mut generator = SplitMix64::new(59);
        for bound in 1..50 {
            for _ in 0..100 {
                assert!(generator.below(bound) < bound);
            }
        }
    }

    #[test]
    fn sample_indices_are_distinct() {
        let mut generator = SplitMix64::new(59);
        let mut drawn = generator.sample_indices(40, 9);
        drawn.sort_unstable();
        drawn.dedup();
        assert_eq!(drawn.len(), 9);
        assert!(drawn.iter().all(|&i| i < 40));
    }

    #[test]
    fn purposes_get_different_streams() {
        let mut a = SplitMix64::for_purpose(59, "enrolment");
        let mut b = SplitMix64::for_purpose(59, "trials");
        assert_ne!(a.next_u64(), b.next_u64());
    }
}
