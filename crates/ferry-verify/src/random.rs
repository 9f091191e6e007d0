//! Seeded random inputs.
//!
//! The same seed gives the same inputs on every machine and in every version of ferry that keeps
//! this generator (SplitMix64, a public-domain algorithm with fixed constants), so a reported
//! mismatch can be reproduced with `--seed`. What each element type gets:
//!
//! - floating point: mean 0 and variance 1, bell-shaped (the sum of four uniforms, bounded by
//!   ±3.46), so both signs and magnitudes around 1 occur. One generator call per element: the
//!   local check feeds millions of elements to intermediate values, where Box-Muller's
//!   logarithm, root and cosine per element took longer than running the regions;
//! - `int8`, `uint8`: uniform over the whole type (usually image or quantized data);
//! - other integers: 0 or 1. Integer inputs are mostly indices, token ids, lengths or masks,
//!   and 0/1 is valid for all of them, where larger random values would make the original fail
//!   on an out-of-range index before anything is compared;
//! - bool: fair coin.
//!
//! Strings and the types without a plain `Vec` form (bfloat16, float8, complex, 4-bit) are not
//! made up: the check then says it cannot feed the input.

use crate::shapes::InputSpec;
use crate::tensor::{Data, HostTensor};
use ferry_ir::DataType;
use half::f16;

/// SplitMix64 (Steele, Lea, Flood 2014): 64 bits of state, good enough statistics for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Mean 0, variance 1, bell-shaped: the four 16-bit quarters of one draw, summed (Irwin-Hall
    /// with n = 4), centred and scaled. Bounded by ±sqrt(12) ≈ 3.46.
    pub fn bell(&mut self) -> f64 {
        let x = self.next_u64();
        let q = |k: u32| ((x >> (16 * k)) & 0xffff) as f64 + 0.5;
        // Each quarter is uniform over [0.5, 65535.5]: mean 32768, variance 65536^2 / 12.
        (q(0) + q(1) + q(2) + q(3) - 4.0 * 32768.0) * (3.0f64.sqrt() / 65536.0)
    }

    /// Standard normal (Box-Muller; one of the pair is used, which keeps the sequence simple).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit(); // (0, 1]: ln is finite
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// A random tensor for `spec`, or why none can be made for its element type.
pub fn random_tensor(spec: &InputSpec, rng: &mut Rng) -> Result<HostTensor, String> {
    let n = spec.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let n = n.filter(|&n| n <= MAX_ELEMENTS).ok_or_else(|| {
        format!(
            "input {} with shape {:?} would need more than {MAX_ELEMENTS} elements",
            spec.name, spec.shape
        )
    })?;
    let bits = |rng: &mut Rng| rng.next_u64() & 1;
    let data = match spec.elem {
        DataType::FLOAT => Data::F32((0..n).map(|_| rng.bell() as f32).collect()),
        DataType::DOUBLE => Data::F64((0..n).map(|_| rng.bell()).collect()),
        DataType::FLOAT16 => Data::F16((0..n).map(|_| f16::from_f64(rng.bell())).collect()),
        DataType::INT8 => Data::I8((0..n).map(|_| rng.next_u64() as u8 as i8).collect()),
        DataType::UINT8 => Data::U8((0..n).map(|_| rng.next_u64() as u8).collect()),
        DataType::INT16 => Data::I16((0..n).map(|_| bits(rng) as i16).collect()),
        DataType::INT32 => Data::I32((0..n).map(|_| bits(rng) as i32).collect()),
        DataType::INT64 => Data::I64((0..n).map(|_| bits(rng) as i64).collect()),
        DataType::UINT16 => Data::U16((0..n).map(|_| bits(rng) as u16).collect()),
        DataType::UINT32 => Data::U32((0..n).map(|_| bits(rng) as u32).collect()),
        DataType::UINT64 => Data::U64((0..n).map(|_| bits(rng)).collect()),
        DataType::BOOL => Data::Bool((0..n).map(|_| bits(rng) == 1).collect()),
        other => {
            return Err(format!(
                "input {} has element type {}, for which ferry makes no random values",
                spec.name,
                other.text_name().unwrap_or_else(|| format!("{other:?}"))
            ));
        }
    };
    Ok(HostTensor { shape: spec.shape.clone(), data })
}

/// The largest random input made (64 Mi elements: 256 MiB of float32).
pub const MAX_ELEMENTS: usize = 1 << 26;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_values_and_sane_statistics() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let xs: Vec<f64> = (0..20000).map(|_| a.normal()).collect();
        let ys: Vec<f64> = (0..20000).map(|_| b.normal()).collect();
        assert_eq!(xs, ys);
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.05 && (var - 1.0).abs() < 0.05, "{mean} {var}");
        assert_ne!(Rng::new(8).next_u64(), Rng::new(7).next_u64());
        let mut c = Rng::new(3);
        let zs: Vec<f64> = (0..200_000).map(|_| c.bell()).collect();
        let mean = zs.iter().sum::<f64>() / zs.len() as f64;
        let var = zs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / zs.len() as f64;
        assert!(mean.abs() < 0.01 && (var - 1.0).abs() < 0.01, "{mean} {var}");
        assert!(zs.iter().all(|z| z.abs() < 3.47) && zs.iter().any(|z| z.abs() > 2.5));
        let neg = zs.iter().filter(|&&z| z < 0.0).count() as f64 / zs.len() as f64;
        assert!((neg - 0.5).abs() < 0.01, "{neg}");
    }

    #[test]
    fn integer_inputs_are_zero_or_one_and_bytes_cover_their_range() {
        let spec = |elem, n| InputSpec { name: "x".into(), elem, shape: vec![n] };
        let mut rng = Rng::new(1);
        let t = random_tensor(&spec(DataType::INT64, 1000), &mut rng).unwrap();
        let Data::I64(v) = t.data else { panic!() };
        assert!(v.iter().all(|&x| x == 0 || x == 1) && v.contains(&0) && v.contains(&1));
        let t = random_tensor(&spec(DataType::UINT8, 4000), &mut rng).unwrap();
        let Data::U8(v) = t.data else { panic!() };
        assert!(v.contains(&0) && v.contains(&255));
        let e = random_tensor(&spec(DataType::STRING, 1), &mut rng).unwrap_err();
        assert!(e.contains("element type string"), "{e}");
        let e = random_tensor(&spec(DataType::FLOAT, usize::MAX), &mut rng).unwrap_err();
        assert!(e.contains("more than"), "{e}");
    }
}
