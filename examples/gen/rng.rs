//! A tiny deterministic random number generator (SplitMix64), so generated weights are the same
//! on every machine and every run without pulling in a crate.

/// Sebastiano Vigna's SplitMix64: a 64-bit counter passed through a strong mixing function.
#[derive(Clone, Debug)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Derives an independent seed for item `index` of a stream seeded with `seed`.
pub fn derive_seed(seed: u64, index: u64) -> u64 {
    SplitMix64::new(seed ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93)).next_u64()
}

/// Maps 32 random bits to a float uniformly spread over [-1, 1).
pub fn signed_unit(bits: u32) -> f32 {
    // 24 bits are all an f32 mantissa holds; the conversion is exact.
    let u = (bits >> 8) as f32 * (1.0 / 16_777_216.0);
    2.0 * u - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_sequence() {
        // Reference values of SplitMix64 seeded with 0.
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        assert_ne!(derive_seed(1, 0), derive_seed(1, 1));
    }

    #[test]
    fn unit_range() {
        assert_eq!(signed_unit(0), -1.0);
        assert!(signed_unit(u32::MAX) < 1.0);
    }
}
