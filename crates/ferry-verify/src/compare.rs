//! Comparing one output of the original with the same output of the result.
//!
//! Floating-point elements agree when `|result - original| <= atol + rtol * |original|` (numpy's
//! `isclose` with the original as the reference), when both are NaN, or when both are the same
//! infinity. Integers, bools and strings must be equal. Element type and shape must match first.

use crate::tensor::{Data, Elem, HostTensor};

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
    compare_with_floor(original, result, tol, false)
}

/// Like [`compare`], but with `rtol` relative to the original tensor's scale where that exceeds
/// the element's own magnitude: `|result - original| <= atol + rtol * max(|original|, scale)`,
/// where `scale` is the largest finite magnitude that is not an outlier (at most
/// [`OUTLIER`] times the median nonzero magnitude, so that a mask of -1e9 does not set it). For
/// intermediate values (the local check compares those), whose elements are sums of many terms
/// of either sign: an element that cancels to near zero carries the rounding of its terms,
/// which are of the tensor's scale, not its own. A wrong rewrite moves values by far more than
/// `rtol` of the tensor's scale.
pub fn compare_scaled(
    original: &HostTensor,
    result: &HostTensor,
    tol: Tolerance,
) -> Result<Agreement, Difference> {
    compare_with_floor(original, result, tol, true)
}

fn compare_with_floor(
    original: &HostTensor,
    result: &HostTensor,
    tol: Tolerance,
    scaled: bool,
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
    let (agree, first, count, strings) = match (&original.data, &result.data) {
        // Typed loops for the float types: outputs and intermediate values run to millions of
        // elements, and going through `Elem` per element cost more than running the regions.
        (Data::F32(b), Data::F32(a)) => floats(b, a, |x| x as f64, tol, scaled),
        (Data::F64(b), Data::F64(a)) => floats(b, a, |x| x, tol, scaled),
        (Data::F16(b), Data::F16(a)) => floats(b, a, |x| x.to_f64(), tol, scaled),
        _ => elementwise(original, result, tol),
    };
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

/// How many times the median magnitude a value may be and still count toward a tensor's scale.
pub const OUTLIER: f64 = 1e3;

/// What a comparison found: the largest differences, the first element outside the tolerance,
/// how many are, and whether the elements were strings (no error sizes then).
type Found = (Agreement, Option<usize>, usize, bool);

/// Compares float slices; `scaled` as in [`compare_scaled`].
fn floats<T: Copy>(
    bs: &[T],
    a: &[T],
    to: impl Fn(T) -> f64,
    tol: Tolerance,
    scaled: bool,
) -> Found {
    // The floor only widens the bound, so it is computed when an element first needs it.
    let mut floor = 0.0;
    let mut floor_known = !scaled;
    let scale = || {
        let mut m: Vec<f64> =
            bs.iter().map(|&x| to(x).abs()).filter(|x| x.is_finite() && *x > 0.0).collect();
        if m.is_empty() {
            return 0.0;
        }
        let mid = m.len() / 2;
        let median = *m.select_nth_unstable_by(mid, f64::total_cmp).1;
        m.into_iter().filter(|&x| x <= OUTLIER * median).fold(0.0, f64::max)
    };
    let mut agree = Agreement::default();
    let (mut first, mut count) = (None, 0usize);
    for (i, (&b, &a)) in bs.iter().zip(a).enumerate() {
        let (b, a) = (to(b), to(a));
        let d = (a - b).abs();
        // The common case, finite and within the bound, without a division per element: the
        // relative error is computed only when it is a new maximum.
        // (An infinite original makes the bound infinite: those go the careful way.)
        let mut within = b.is_finite() && d <= tol.atol + tol.rtol * b.abs().max(floor);
        if !within && b.is_finite() && !floor_known {
            floor = scale();
            floor_known = true;
            within = d <= tol.atol + tol.rtol * b.abs().max(floor);
        }
        if within {
            agree.max_abs = agree.max_abs.max(d);
            if d > agree.max_rel * b.abs() && b != 0.0 {
                agree.max_rel = d / b.abs();
            }
            continue;
        }
        let ok = close(a, b, tol, floor);
        note_float(&mut agree, a, b, ok);
        if !ok {
            count += 1;
            first.get_or_insert(i);
        }
    }
    (agree, first, count, false)
}

/// Folds one float pair into the largest differences seen.
fn note_float(agree: &mut Agreement, a: f64, b: f64, ok: bool) {
    let abs = (a - b).abs();
    if abs.is_finite() {
        agree.max_abs = agree.max_abs.max(abs);
        if b != 0.0 {
            agree.max_rel = agree.max_rel.max(abs / b.abs());
        }
    } else if !ok {
        agree.max_abs = f64::INFINITY;
        agree.max_rel = f64::INFINITY;
    }
}

/// Compares any two tensors of one element type element by element (exactly but for floats).
fn elementwise(original: &HostTensor, result: &HostTensor, tol: Tolerance) -> Found {
    let mut first: Option<usize> = None;
    let mut count = 0usize;
    let mut agree = Agreement::default();
    let mut strings = false;
    for i in 0..original.data.len() {
        let (b, a) = (original.data.elem(i), result.data.elem(i));
        let ok = match (&b, &a) {
            (Elem::Float(b), Elem::Float(a)) => {
                let ok = close(*a, *b, tol, 0.0);
                note_float(&mut agree, *a, *b, ok);
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
    (agree, first, count, strings)
}

/// Whether `a` (result) is within tolerance of `b` (original), NaN equal to NaN.
fn close(a: f64, b: f64, tol: Tolerance, floor: f64) -> bool {
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    // An infinity against anything else differs (with `b` infinite the bound below would be
    // infinite too); a NaN against a number differs because the comparison is false.
    if a.is_infinite() || b.is_infinite() {
        return false;
    }
    (a - b).abs() <= tol.atol + tol.rtol * b.abs().max(floor)
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
    fn scaled_comparison_forgives_cancellation_but_not_outliers() {
        let tol = Tolerance::default();
        // An element that cancels to near zero in a tensor of scale 10 may be off by rtol * 10.
        let a = f32s(&[3], &[10.0, -8.0, 0.001]);
        let b = f32s(&[3], &[10.0, -8.0, 0.0015]);
        assert!(compare(&a, &b, tol).is_err());
        assert!(compare_scaled(&a, &b, tol).is_ok());
        // A mask of -1e9 does not set the scale of the others.
        let a = f32s(&[4], &[1.0, 2.0, 3.0, -1e9]);
        let b = f32s(&[4], &[1.0, 2.5, 3.0, -1e9]);
        assert!(compare_scaled(&a, &b, tol).is_err());
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
