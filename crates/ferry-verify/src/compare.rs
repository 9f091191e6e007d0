//! Comparing one output of the original with the same output of the result.
//!
//! Floating-point elements agree when `|result - original| <= atol + rtol * |original|` (numpy's
//! `isclose` with the original as the reference), when both are NaN, or when both are the same
//! infinity. Integers, bools and strings must be equal. Element type and shape must match first.

use crate::tensor::{Elem, HostTensor};

/// How two versions of one output differ.
#[derive(Clone, Debug, PartialEq)]
pub enum Difference {
    Type { original: String, result: String },
    Shape { original: Vec<usize>, result: Vec<usize> },
    Values(ValueDiff),
}

/// The elements of one output outside the tolerance.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueDiff {
    /// Index of the first element outside the tolerance (row-major order).
    pub index: Vec<usize>,
    /// The original's and the result's element there, as text (`1.5e0`, `7`, `"a"`).
    pub original: String,
    pub result: String,
    /// How many elements are outside the tolerance, of how many.
    pub count: usize,
    pub total: usize,
    /// Largest absolute and relative difference over the whole output (floats; for integers
    /// the absolute difference, `None` for strings).
    pub max_abs: Option<f64>,
    pub max_rel: Option<f64>,
}

/// Largest differences seen in outputs that agreed, for the report.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Agreement {
    pub max_abs: f64,
    pub max_rel: f64,
}

impl Agreement {
    pub fn merge(&mut self, o: Agreement) {
        self.max_abs = self.max_abs.max(o.max_abs);
        self.max_rel = self.max_rel.max(o.max_rel);
    }
}

/// Tolerances for floating-point elements.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerance {
    pub rtol: f64,
    pub atol: f64,
}

impl Default for Tolerance {
    /// onnxsim's defaults (`--check-rtol 1e-4`, `--check-atol 1e-5`).
    fn default() -> Self {
        Tolerance { rtol: 1e-4, atol: 1e-5 }
    }
}

/// Compares `result` with `original`; `Ok` carries the largest differences seen.
pub fn compare(
    original: &HostTensor,
    result: &HostTensor,
    tol: Tolerance,
) -> Result<Agreement, Difference> {
    if original.data.elem_type() != result.data.elem_type() {
        return Err(Difference::Type {
            original: original.type_name(),
            result: result.type_name(),
        });
    }
    if original.shape != result.shape || original.data.len() != result.data.len() {
        return Err(Difference::Shape {
            original: original.shape.clone(),
            result: result.shape.clone(),
        });
    }
    let total = original.data.len();
    let mut first: Option<usize> = None;
    let mut count = 0usize;
    let mut agree = Agreement::default();
    let mut strings = false;
    for i in 0..total {
        let (b, a) = (original.data.elem(i), result.data.elem(i));
        let ok = match (&b, &a) {
            (Elem::Float(b), Elem::Float(a)) => {
                let ok = close(*a, *b, tol);
                let abs = (a - b).abs();
                if abs.is_finite() {
                    agree.max_abs = agree.max_abs.max(abs);
                    if *b != 0.0 {
                        agree.max_rel = agree.max_rel.max(abs / b.abs());
                    }
                } else if !ok {
                    agree.max_abs = f64::INFINITY;
                    agree.max_rel = f64::INFINITY;
                }
                ok
            }
            (Elem::Int(b), Elem::Int(a)) => {
                let abs = (a - b).unsigned_abs() as f64;
                agree.max_abs = agree.max_abs.max(abs);
                if *b != 0 {
                    agree.max_rel = agree.max_rel.max(abs / (*b as f64).abs());
                }
                a == b
            }
            (b, a) => {
                strings = true;
                a == b
            }
        };
        if !ok {
            count += 1;
            first.get_or_insert(i);
        }
    }
    let Some(i) = first else { return Ok(agree) };
    let (max_abs, max_rel) =
        if strings { (None, None) } else { (Some(agree.max_abs), Some(agree.max_rel)) };
    Err(Difference::Values(ValueDiff {
        index: original.unravel(i),
        original: original.data.elem(i).to_string(),
        result: result.data.elem(i).to_string(),
        count,
        total,
        max_abs,
        max_rel,
    }))
}

/// Whether `a` (result) is within tolerance of `b` (original), NaN equal to NaN.
fn close(a: f64, b: f64, tol: Tolerance) -> bool {
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    // An infinity against anything else differs (with `b` infinite the bound below would be
    // infinite too); a NaN against a number differs because the comparison is false.
    if a.is_infinite() || b.is_infinite() {
        return false;
    }
    (a - b).abs() <= tol.atol + tol.rtol * b.abs()
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Difference::Type { original, result } => {
                write!(f, "element type {result}, the original's is {original}")
            }
            Difference::Shape { original, result } => {
                write!(f, "shape {result:?}, the original's is {original:?}")
            }
            Difference::Values(d) => {
                write!(
                    f,
                    "{} of {} elements differ; first at {:?}: {} (result) vs {} (original)",
                    d.count, d.total, d.index, d.result, d.original
                )?;
                if let (Some(a), Some(r)) = (d.max_abs, d.max_rel) {
                    write!(f, "; max abs error {a:.3e}, max rel error {r:.3e}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Data;

    fn f32s(shape: &[usize], v: &[f32]) -> HostTensor {
        HostTensor { shape: shape.to_vec(), data: Data::F32(v.to_vec()) }
    }

    #[test]
    fn floats_within_tolerance_and_nans_agree() {
        let tol = Tolerance::default();
        let a = f32s(&[4], &[1.0, f32::NAN, f32::INFINITY, 0.0]);
        let b = f32s(&[4], &[1.00005, f32::NAN, f32::INFINITY, 5e-6]);
        let agree = compare(&a, &b, tol).unwrap();
        assert!(agree.max_abs > 4e-5 && agree.max_abs < 6e-5, "{agree:?}");
    }

    #[test]
    fn the_first_element_outside_is_reported_with_the_worst_errors() {
        let tol = Tolerance::default();
        let a = f32s(&[2, 2], &[1.0, 2.0, 3.0, 4.0]);
        let b = f32s(&[2, 2], &[1.0, 2.1, 3.0, 4.4]);
        let Err(Difference::Values(d)) = compare(&a, &b, tol) else { panic!() };
        assert_eq!((d.index, d.count, d.total), (vec![0, 1], 2, 4));
        assert!((d.max_abs.unwrap() - 0.4).abs() < 1e-5);
        assert!((d.max_rel.unwrap() - 0.1).abs() < 1e-5);
        assert_eq!(d.original, "2e0");
        // a NaN against a number, and opposite infinities, differ
        let a = f32s(&[2], &[f32::NAN, f32::INFINITY]);
        let b = f32s(&[2], &[0.0, f32::NEG_INFINITY]);
        let Err(Difference::Values(d)) = compare(&a, &b, tol) else { panic!() };
        assert_eq!(d.count, 2);
    }

    #[test]
    fn integers_must_be_exact_and_types_and_shapes_must_match() {
        let tol = Tolerance { rtol: 1.0, atol: 10.0 };
        let a = HostTensor { shape: vec![2], data: Data::I64(vec![1, 100]) };
        let b = HostTensor { shape: vec![2], data: Data::I64(vec![1, 101]) };
        let Err(Difference::Values(d)) = compare(&a, &b, tol) else { panic!() };
        assert_eq!((d.index, d.max_abs), (vec![1], Some(1.0)));
        let c = HostTensor { shape: vec![2], data: Data::I32(vec![1, 100]) };
        assert!(matches!(compare(&a, &c, tol), Err(Difference::Type { .. })));
        let s = HostTensor { shape: vec![1, 2], data: Data::I64(vec![1, 100]) };
        assert!(matches!(compare(&a, &s, tol), Err(Difference::Shape { .. })));
        let t = HostTensor { shape: vec![1], data: Data::Str(vec!["a".into()]) };
        let u = HostTensor { shape: vec![1], data: Data::Str(vec!["b".into()]) };
        let Err(Difference::Values(d)) = compare(&t, &u, tol) else { panic!() };
        assert_eq!((d.max_abs, d.original.as_str()), (None, "\"a\""));
    }
}
