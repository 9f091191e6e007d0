//! Data movement: Concat, Gather, Slice, Expand, Tile, Transpose, Split, Pad (constant, edge,
//! reflect, wrap).

use crate::array::{Arr, Elem, W, dispatch, from_vec, reshaped};
use crate::elementwise::broadcast_shapes;
use crate::{Cx, Fail, R, invalid, norm_axes, norm_axis, to_shape};
use ndarray::{ArrayD, Axis, IxDyn, Slice};

pub(crate) fn run(cx: &Cx) -> R<Vec<Arr>> {
    Ok(match cx.op() {
        "Concat" => vec![concat(cx)?],
        "Gather" => vec![gather(cx)?],
        "Slice" => vec![slice(cx)?],
        "Expand" => vec![expand(cx)?],
        "Tile" => vec![tile(cx)?],
        "Transpose" => vec![transpose(cx)?],
        "Split" => split(cx)?,
        "Pad" => vec![pad(cx)?],
        _ => return Err(Fail::Unsupported),
    })
}

fn concat(cx: &Cx) -> R<Arr> {
    let mut arrs = Vec::with_capacity(cx.n_inputs());
    for i in 0..cx.n_inputs() {
        arrs.push(cx.arr(i)?);
    }
    if arrs.is_empty() {
        return invalid("no inputs");
    }
    let rank = arrs[0].shape().len();
    let axis = cx.attr_int("axis")?.ok_or_else(|| Fail::Invalid("axis is missing".into()))?;
    let axis = norm_axis(axis, rank)?;
    let mut total = 0usize;
    for a in &arrs {
        let s = a.shape();
        if s.len() != rank
            || s.iter().zip(arrs[0].shape()).enumerate().any(|(i, (x, y))| i != axis && x != y)
        {
            return invalid(format!("cannot concatenate {:?} and {:?}", arrs[0].shape(), s));
        }
        total = total.checked_add(s[axis]).ok_or(Fail::Unsupported)?;
    }
    let mut shape = arrs[0].shape().to_vec();
    shape[axis] = total;
    cx.check_shape(&shape)?;
    Ok(dispatch!(all, vec arrs, v => {
        let views: Vec<_> = v.iter().map(|a| a.view()).collect();
        wrap(
            ndarray::concatenate(Axis(axis), &views)
                .map_err(|e| Fail::Invalid(format!("concatenation failed: {e}")))?,
        )
    }))
}

/// Wraps a typed array in its [`Arr`] variant.
pub(crate) fn wrap<T>(a: ArrayD<T>) -> Arr
where
    Arr: FromTyped<T>,
{
    <Arr as FromTyped<T>>::wrap(a)
}

/// Wraps a typed array in its [`Arr`] variant.
pub(crate) trait FromTyped<T> {
    fn wrap(a: ArrayD<T>) -> Arr;
}

macro_rules! from_typed {
    ($($var:ident $t:ty),*) => {$(
        impl FromTyped<$t> for Arr {
            fn wrap(a: ArrayD<$t>) -> Arr {
                Arr::$var(a)
            }
        }
    )*};
}
from_typed!(Bool bool, U8 u8, I8 i8, U16 u16, I16 i16, I32 i32, I64 i64, U32 u32, U64 u64,
    F16 half::f16, BF16 half::bf16, F32 f32, F64 f64);

fn gather(cx: &Cx) -> R<Arr> {
    let a = cx.arr(0)?;
    let idx = cx.arr(1)?;
    let rank = a.shape().len();
    if rank == 0 {
        return invalid("data must have rank >= 1");
    }
    let axis = norm_axis(cx.attr_int_or("axis", 0)?, rank)?;
    let dim = a.shape()[axis];
    let indices: Vec<usize> = idx
        .to_i64s()?
        .into_iter()
        .map(|i| {
            let j = if i < 0 { i + dim as i64 } else { i };
            if j < 0 || j >= dim as i64 {
                return invalid(format!("index {i} is out of range for a dim of {dim}"));
            }
            Ok(j as usize)
        })
        .collect::<R<_>>()?;
    let mut shape = a.shape()[..axis].to_vec();
    shape.extend_from_slice(idx.shape());
    shape.extend_from_slice(&a.shape()[axis + 1..]);
    cx.check_shape(&shape)?;
    Ok(dispatch!(all, map a, x => reshaped(&x.select(Axis(axis), &indices), &shape)?))
}

/// Element indices one axis of Slice keeps, per ONNX's clamping rules.
fn slice_indices(dim: usize, start: i64, end: i64, step: i64) -> R<Vec<usize>> {
    if step == 0 {
        return invalid("slice step is 0");
    }
    let d = dim as i128;
    let (mut s, mut e) = (start as i128, end as i128);
    if s < 0 {
        s += d;
    }
    if e < 0 {
        e += d;
    }
    let step = step as i128;
    let mut out = Vec::new();
    if step > 0 {
        let (s, e) = (s.clamp(0, d), e.clamp(0, d));
        let mut i = s;
        while i < e {
            out.push(i as usize);
            i += step;
        }
    } else {
        let (s, e) = (s.clamp(0, d - 1), e.clamp(-1, d - 1));
        let mut i = s;
        while i > e {
            out.push(i as usize);
            i += step;
        }
    }
    Ok(out)
}

fn slice(cx: &Cx) -> R<Arr> {
    let a = cx.arr(0)?;
    let rank = a.shape().len();
    let (starts, ends, axes, steps) = if cx.opset < 10 {
        (
            cx.attr_ints("starts")?.ok_or_else(|| Fail::Invalid("starts are missing".into()))?,
            cx.attr_ints("ends")?.ok_or_else(|| Fail::Invalid("ends are missing".into()))?,
            cx.attr_ints("axes")?,
            None,
        )
    } else {
        (
            cx.opt_ints(1)?.ok_or_else(|| Fail::Invalid("starts are missing".into()))?,
            cx.opt_ints(2)?.ok_or_else(|| Fail::Invalid("ends are missing".into()))?,
            cx.opt_ints(3)?,
            cx.opt_ints(4)?,
        )
    };
    let n = starts.len();
    let axes = axes.unwrap_or_else(|| (0..n as i64).collect());
    let steps = steps.unwrap_or_else(|| vec![1; n]);
    if ends.len() != n || axes.len() != n || steps.len() != n {
        return invalid("starts, ends, axes and steps differ in length");
    }
    let axes = norm_axes(&axes, rank)?;
    let mut picks: Vec<Option<Vec<usize>>> = vec![None; rank];
    let mut shape = a.shape().to_vec();
    for k in 0..n {
        let ax = axes[k];
        let idx = slice_indices(a.shape()[ax], starts[k], ends[k], steps[k])?;
        shape[ax] = idx.len();
        picks[ax] = Some(idx);
    }
    cx.check_shape(&shape)?;
    Ok(dispatch!(all, map a, x => {
        let mut x = x;
        for (ax, p) in picks.iter().enumerate() {
            if let Some(p) = p {
                x = x.select(Axis(ax), p);
            }
        }
        x
    }))
}

fn expand(cx: &Cx) -> R<Arr> {
    let a = cx.arr(0)?;
    let target =
        to_shape(&cx.opt_ints(1)?.ok_or_else(|| Fail::Invalid("shape is missing".into()))?)?;
    let shape = broadcast_shapes(&[a.shape(), &target])?;
    cx.check_shape(&shape)?;
    Ok(dispatch!(all, map a, x => match x.broadcast(IxDyn(&shape)) {
        Some(v) => v.to_owned(),
        None => return invalid(format!("cannot expand {:?} to {shape:?}", x.shape())),
    }))
}

fn tile(cx: &Cx) -> R<Arr> {
    let a = cx.arr(0)?;
    let reps = cx.opt_ints(1)?.ok_or_else(|| Fail::Invalid("repeats are missing".into()))?;
    if reps.len() != a.shape().len() {
        return invalid("repeats must have one entry per dim");
    }
    let reps = to_shape(&reps)?;
    let shape: Vec<usize> = a
        .shape()
        .iter()
        .zip(&reps)
        .map(|(&d, &r)| d.checked_mul(r).ok_or(Fail::Unsupported))
        .collect::<R<_>>()?;
    let n = cx.check_shape(&shape)?;
    Ok(dispatch!(all, map a, x => {
        if n == 0 {
            from_vec(&shape, Vec::new())?
        } else {
            let mut x = x;
            for (ax, &r) in reps.iter().enumerate() {
                if r != 1 {
                    let views = vec![x.view(); r];
                    x = ndarray::concatenate(Axis(ax), &views)
                        .map_err(|e| Fail::Invalid(format!("tile failed: {e}")))?;
                }
            }
            x
        }
    }))
}

fn transpose(cx: &Cx) -> R<Arr> {
    let a = cx.arr(0)?;
    let rank = a.shape().len();
    let perm = match cx.attr_ints("perm")? {
        Some(p) => p,
        None => (0..rank as i64).rev().collect(),
    };
    if perm.len() != rank {
        return invalid(format!("perm {perm:?} does not fit rank {rank}"));
    }
    let perm = norm_axes(&perm, rank)?;
    Ok(dispatch!(all, map a, x => x.permuted_axes(IxDyn(&perm)).as_standard_layout().into_owned()))
}

fn split(cx: &Cx) -> R<Vec<Arr>> {
    let a = cx.arr(0)?;
    let rank = a.shape().len();
    let axis = norm_axis(cx.attr_int_or("axis", 0)?, rank)?;
    let dim = a.shape()[axis];
    let given = if cx.opset < 13 { cx.attr_ints("split")? } else { cx.opt_ints(1)? };
    let n_out = cx.n_outputs();
    let sizes: Vec<usize> = match given {
        Some(s) if !s.is_empty() => to_shape(&s)?,
        _ => {
            let parts = match cx.attr_int("num_outputs")? {
                Some(k) if cx.opset >= 18 => usize::try_from(k).map_err(|_| Fail::Unsupported)?,
                _ => n_out,
            };
            if parts == 0 || parts != n_out {
                return invalid(format!("{parts} parts for {n_out} outputs"));
            }
            if cx.opset >= 18 && cx.attr_int("num_outputs")?.is_some() {
                let chunk = dim.div_ceil(parts);
                (0..parts).map(|i| chunk.min(dim.saturating_sub(i.saturating_mul(chunk)))).collect()
            } else {
                if dim % parts != 0 {
                    return invalid(format!("dim {dim} does not split evenly into {parts}"));
                }
                vec![dim / parts; parts]
            }
        }
    };
    if sizes.iter().try_fold(0usize, |acc, &s| acc.checked_add(s)) != Some(dim) {
        return invalid(format!("split sizes {sizes:?} do not add up to {dim}"));
    }
    if sizes.len() != n_out {
        return invalid(format!("{} split sizes for {n_out} outputs", sizes.len()));
    }
    let mut out = Vec::with_capacity(sizes.len());
    let mut at = 0usize;
    for &s in &sizes {
        let range = Slice::from(at..at + s);
        out.push(dispatch!(all, map &a, x => x.slice_axis(Axis(axis), range).to_owned()));
        at += s;
    }
    Ok(out)
}

fn pad(cx: &Cx) -> R<Arr> {
    let a = cx.arr(0)?;
    let rank = a.shape().len();
    let mode = cx.attr_str("mode")?.unwrap_or_else(|| "constant".into());
    if !matches!(mode.as_str(), "constant" | "edge" | "reflect" | "wrap") {
        return Err(Fail::Unsupported);
    }
    let (pads, value, axes) = if cx.opset < 11 {
        let pads = match cx.attr_ints("pads")? {
            Some(p) => p,
            None => {
                cx.attr_ints("paddings")?.ok_or_else(|| Fail::Invalid("pads missing".into()))?
            }
        };
        let v = cx.attr_float("value")?.unwrap_or(0.0);
        (pads, W::F(v as f64), None)
    } else {
        let pads = cx.opt_ints(1)?.ok_or_else(|| Fail::Invalid("pads are missing".into()))?;
        let v = match cx.opt_arr(2)? {
            Some(v) if v.len() == 1 => {
                if v.dtype() != a.dtype() {
                    return invalid("constant_value differs in type from data");
                }
                v.widened()[0]
            }
            Some(_) => return invalid("constant_value must hold one element"),
            None => W::I(0),
        };
        let axes = if cx.opset >= 18 { cx.opt_ints(3)? } else { None };
        (pads, v, axes)
    };
    let axes = match axes {
        Some(ax) => norm_axes(&ax, rank)?,
        None => (0..rank).collect(),
    };
    let k = axes.len();
    if pads.len() != 2 * k {
        return invalid(format!("{} pads for {k} axes", pads.len()));
    }
    let mut begin = vec![0i64; rank];
    let mut end = vec![0i64; rank];
    for (j, &ax) in axes.iter().enumerate() {
        begin[ax] = pads[j];
        end[ax] = pads[j + k];
    }
    let mut shape = Vec::with_capacity(rank);
    for ax in 0..rank {
        let d = (a.shape()[ax] as i64)
            .checked_add(begin[ax])
            .and_then(|d| d.checked_add(end[ax]))
            .ok_or(Fail::Unsupported)?;
        if d < 0 {
            return invalid(format!("pads make axis {ax} negative"));
        }
        shape.push(d as usize);
    }
    cx.check_shape(&shape)?;
    if mode != "constant" {
        // Every output position reads one input position per axis.
        let mut maps = Vec::with_capacity(rank);
        for ax in 0..rank {
            let d = a.shape()[ax] as i128;
            if d == 0 && shape[ax] > 0 {
                return invalid(format!("cannot {mode}-pad an empty axis"));
            }
            let b = i128::from(begin[ax]);
            let map: Vec<usize> = (0..shape[ax] as i128)
                .map(|o| {
                    let p = o - b;
                    (match mode.as_str() {
                        "edge" => p.clamp(0, d - 1),
                        "wrap" => p.rem_euclid(d),
                        _ if d == 1 => 0,
                        _ => {
                            let period = 2 * (d - 1);
                            let q = p.rem_euclid(period);
                            if q >= d { period - q } else { q }
                        }
                    }) as usize
                })
                .collect();
            maps.push(map);
        }
        return Ok(dispatch!(all, map a, x => {
            let mut x = x;
            for (ax, m) in maps.iter().enumerate() {
                x = x.select(Axis(ax), m);
            }
            x
        }));
    }
    // The part of the input that survives (negative pads crop) and where it lands.
    let mut src = Vec::with_capacity(rank);
    let mut dst = Vec::with_capacity(rank);
    for ax in 0..rank {
        // In i128: a pad of i64::MIN must not overflow on negation.
        let d = a.shape()[ax] as i128;
        let (b, e) = (i128::from(begin[ax]), i128::from(end[ax]));
        let lo = (-b).clamp(0, d);
        let hi = (d + e.min(0)).max(lo);
        src.push((lo as usize, hi as usize));
        let at = b.max(0) as usize;
        dst.push((at, at + (hi - lo) as usize));
    }
    Ok(dispatch!(all, map a, x => pad_fill(&x, &shape, &src, &dst, value)))
}

fn pad_fill<T: Elem>(
    x: &ArrayD<T>,
    shape: &[usize],
    src: &[(usize, usize)],
    dst: &[(usize, usize)],
    value: W,
) -> ArrayD<T> {
    let mut out = ArrayD::from_elem(IxDyn(shape), T::from_w(value));
    if src.iter().all(|(lo, hi)| hi > lo) {
        let part = x.slice_each_axis(|ad| {
            let (lo, hi) = src[ad.axis.index()];
            Slice::from(lo..hi)
        });
        out.slice_each_axis_mut(|ad| {
            let (lo, hi) = dst[ad.axis.index()];
            Slice::from(lo..hi)
        })
        .assign(&part);
    }
    out
}
