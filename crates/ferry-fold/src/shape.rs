//! Shape arithmetic and type changes: Shape, Size, Identity, Reshape, Squeeze, Unsqueeze,
//! Flatten, ConstantOfShape, Cast, CastLike, Range.

use crate::array::{Arr, W, dispatch, reshaped};
use crate::{Cx, Fail, R, invalid, norm_axes, norm_axis, to_shape};
use ferry_ir::DataType;

pub(crate) fn run(cx: &Cx) -> R<Vec<Arr>> {
    Ok(vec![match cx.op() {
        "Shape" => shape(cx)?,
        "Size" => {
            let t = cx.req_tensor(0)?;
            let n = t.element_count().ok_or_else(|| Fail::Invalid("invalid dims".into()))?;
            let n = i64::try_from(n).map_err(|_| Fail::Unsupported)?;
            Arr::i64s(&[], vec![n])?
        }
        "Identity" => cx.arr(0)?,
        "Reshape" => reshape(cx)?,
        "Squeeze" => squeeze(cx)?,
        "Unsqueeze" => unsqueeze(cx)?,
        "Flatten" => {
            let a = cx.arr(0)?;
            let rank = a.shape().len();
            let axis = cx.attr_int_or("axis", 1)?;
            let axis = if axis == rank as i64 { rank } else { norm_axis(axis, rank.max(1))? };
            let axis = axis.min(rank);
            let outer: usize = a.shape()[..axis].iter().product();
            let inner: usize = a.shape()[axis..].iter().product();
            reshape_to(&a, &[outer, inner])?
        }
        "ConstantOfShape" => constant_of_shape(cx)?,
        "Cast" => {
            let to = cx.attr_int("to")?.ok_or_else(|| Fail::Invalid("'to' is missing".into()))?;
            let to = DataType(i32::try_from(to).map_err(|_| Fail::Unsupported)?);
            cx.arr(0)?.cast(to)?
        }
        "CastLike" => {
            let to = cx
                .req_tensor(1)?
                .dtype
                .ok_or_else(|| Fail::Invalid("target_type has no element type".into()))?;
            cx.arr(0)?.cast(to)?
        }
        "Range" => range(cx)?,
        _ => return Err(Fail::Unsupported),
    }])
}

fn shape(cx: &Cx) -> R<Arr> {
    let dims = &cx.req_tensor(0)?.dims;
    let rank = dims.len() as i64;
    let clamp = |v: i64| -> usize {
        let v = if v < 0 { v.saturating_add(rank) } else { v };
        v.clamp(0, rank) as usize
    };
    let start = clamp(cx.attr_int_or("start", 0)?);
    let end = match cx.attr_int("end")? {
        Some(e) => clamp(e),
        None => rank as usize,
    };
    let part: Vec<i64> = if start < end { dims[start..end].to_vec() } else { Vec::new() };
    let n = part.len();
    Arr::i64s(&[n], part)
}

pub(crate) fn reshape_to(a: &Arr, shape: &[usize]) -> R<Arr> {
    let n: Option<usize> = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if n != Some(a.len()) {
        return invalid(format!("cannot reshape {:?} to {shape:?}", a.shape()));
    }
    Ok(dispatch!(all, map a, x => reshaped(x, shape)?))
}

fn reshape(cx: &Cx) -> R<Arr> {
    let a = cx.arr(0)?;
    let target = match cx.opset {
        ..5 => cx.attr_ints("shape")?.ok_or(Fail::Unsupported)?,
        _ => cx.opt_ints(1)?.ok_or_else(|| Fail::Invalid("shape input is missing".into()))?,
    };
    let allowzero = cx.attr_int_or("allowzero", 0)? != 0;
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &d) in target.iter().enumerate() {
        match d {
            -1 => {
                if infer.replace(i).is_some() {
                    return invalid("more than one -1 in the shape");
                }
                out.push(1);
            }
            0 if !allowzero => match a.shape().get(i) {
                Some(&d) => out.push(d),
                None => {
                    return invalid(format!("shape entry {i} is 0 but the input has no dim {i}"));
                }
            },
            d if d < 0 => return invalid(format!("shape entry {d} is invalid")),
            d => out.push(usize::try_from(d).map_err(|_| Fail::Unsupported)?),
        }
    }
    if let Some(i) = infer {
        let known =
            out.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).ok_or(Fail::Unsupported)?;
        if known == 0 || a.len() % known != 0 {
            return invalid(format!("cannot reshape {:?} to {target:?}", a.shape()));
        }
        out[i] = a.len() / known;
    }
    reshape_to(&a, &out)
}

/// Axes from the attribute (before opset 13) or the second input.
fn axes_of(cx: &Cx) -> R<Option<Vec<i64>>> {
    if cx.opset < 13 { cx.attr_ints("axes") } else { cx.opt_ints(1) }
}

fn squeeze(cx: &Cx) -> R<Arr> {
    let a = cx.arr(0)?;
    let shape = a.shape().to_vec();
    let out: Vec<usize> = match axes_of(cx)? {
        None => shape.iter().copied().filter(|&d| d != 1).collect(),
        Some(axes) => {
            let axes = norm_axes(&axes, shape.len())?;
            for &ax in &axes {
                if shape[ax] != 1 {
                    return invalid(format!("cannot squeeze axis {ax} of size {}", shape[ax]));
                }
            }
            shape.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect()
        }
    };
    reshape_to(&a, &out)
}

fn unsqueeze(cx: &Cx) -> R<Arr> {
    let a = cx.arr(0)?;
    let axes = axes_of(cx)?.ok_or_else(|| Fail::Invalid("axes are missing".into()))?;
    let rank = a.shape().len() + axes.len();
    let axes = norm_axes(&axes, rank)?;
    let mut src = a.shape().iter();
    let out: Vec<usize> =
        (0..rank).map(|i| if axes.contains(&i) { 1 } else { *src.next().unwrap_or(&1) }).collect();
    reshape_to(&a, &out)
}

fn constant_of_shape(cx: &Cx) -> R<Arr> {
    let dims = cx.opt_ints(0)?.ok_or_else(|| Fail::Invalid("input is missing".into()))?;
    let shape = to_shape(&dims)?;
    let n = cx.check_shape(&shape)?;
    let value = match cx.attr_tensor("value")? {
        Some(t) => crate::array::decode(t, 1)?,
        None => Arr::F32(ndarray::ArrayD::zeros(ndarray::IxDyn(&[1]))),
    };
    if value.len() != 1 {
        return invalid("value must hold one element");
    }
    let w = value.widened()[0];
    Arr::from_widened(value.dtype(), &shape, &vec![w; n])
}

fn range(cx: &Cx) -> R<Arr> {
    let (s, l, d) = (cx.arr(0)?, cx.arr(1)?, cx.arr(2)?);
    if s.len() != 1 || l.len() != 1 || d.len() != 1 {
        return invalid("start, limit and delta must be scalars");
    }
    let dt = s.dtype();
    if l.dtype() != dt || d.dtype() != dt {
        return invalid("start, limit and delta differ in type");
    }
    let (s, l, d) = (s.widened()[0], l.widened()[0], d.widened()[0]);
    let vals: Vec<W> = match (s, l, d) {
        (W::I(s), W::I(l), W::I(d)) => {
            if d == 0 {
                return invalid("delta is 0");
            }
            let span = l - s;
            let n = if (span > 0) == (d > 0) && span != 0 {
                (span.abs() + d.abs() - 1) / d.abs()
            } else {
                0
            };
            let n = usize::try_from(n).map_err(|_| Fail::Unsupported)?;
            cx.check_shape(&[n])?;
            (0..n as i128).map(|i| W::I(s + i * d)).collect()
        }
        (W::F(s), W::F(l), W::F(d)) => {
            if d == 0.0 || !d.is_finite() || !s.is_finite() || !l.is_finite() {
                return Err(Fail::Unsupported);
            }
            let n = ((l - s) / d).ceil().max(0.0);
            if n > cx.budget.max_elements as f64 {
                return Err(Fail::Unsupported);
            }
            let n = n as usize;
            // ONNX computes the elements in the element type: start + i * delta.
            let v = Arr::from_widened(dt, &[3], &[W::F(s), W::F(d), W::F(0.0)])?.widened();
            let (W::F(s), W::F(d)) = (v[0], v[1]) else { return Err(Fail::Unsupported) };
            (0..n).map(|i| W::F(s + i as f64 * d)).collect()
        }
        _ => return Err(Fail::Unsupported),
    };
    let n = vals.len();
    Arr::from_widened(dt, &[n], &vals)
}
