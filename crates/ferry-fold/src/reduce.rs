//! Reductions and scans: ReduceSum, ReduceProd, ReduceMax, ReduceMin, ReduceMean, ArgMax,
//! ArgMin, CumSum, NonZero.

use crate::array::{Arr, dispatch, from_vec, reshaped};
use crate::elementwise::Num;
use crate::{Cx, Fail, R, invalid, norm_axes, norm_axis};
use ndarray::{ArrayD, Axis};

pub(crate) fn run(cx: &Cx) -> R<Vec<Arr>> {
    Ok(vec![match cx.op() {
        "ReduceSum" | "ReduceProd" | "ReduceMax" | "ReduceMin" | "ReduceMean" => reduce(cx)?,
        "ArgMax" | "ArgMin" => arg(cx)?,
        "CumSum" => cumsum(cx)?,
        "NonZero" => nonzero(cx)?,
        _ => return Err(Fail::Unsupported),
    }])
}

fn reduce(cx: &Cx) -> R<Arr> {
    let op = cx.op();
    let a = cx.arr(0)?;
    let rank = a.shape().len();
    // ReduceSum took its axes as an input from opset 13, the others from opset 18.
    let axes_from_input = cx.opset >= if op == "ReduceSum" { 13 } else { 18 };
    let axes = if axes_from_input { cx.opt_ints(1)? } else { cx.attr_ints("axes")? };
    let keepdims = cx.attr_int_or("keepdims", 1)? != 0;
    let noop = cx.attr_int_or("noop_with_empty_axes", 0)? != 0;
    let axes: Vec<usize> = match axes {
        Some(ax) if !ax.is_empty() => norm_axes(&ax, rank)?,
        _ if noop && axes_from_input => return Ok(a),
        _ => (0..rank).collect(),
    };
    let out_shape: Vec<usize> = (0..rank)
        .filter_map(|i| match (axes.contains(&i), keepdims) {
            (false, _) => Some(a.shape()[i]),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect();
    cx.check_shape(&out_shape)?;
    if let Arr::Bool(x) = a {
        // Bool ReduceMax/ReduceMin (opset 20): any / all.
        let r = match op {
            "ReduceMax" | "ReduceMin" => reduce_typed(op, x.mapv(u8::from), &axes, &out_shape)?,
            _ => return Err(Fail::Unsupported),
        };
        return Ok(Arr::Bool(r.mapv(|v| v != 0)));
    }
    Ok(dispatch!(num, with a, x => crate::movement::wrap(reduce_typed(op, x, &axes, &out_shape)?)))
}

fn reduce_typed<T: Num>(op: &str, x: ArrayD<T>, axes: &[usize], shape: &[usize]) -> R<ArrayD<T>> {
    let (init, f): (T, fn(T, T) -> T) = match op {
        "ReduceSum" | "ReduceMean" => (T::zero(), T::add),
        "ReduceProd" => (T::one(), T::mul),
        "ReduceMax" => (T::lowest(), T::max_),
        _ => (T::highest(), T::min_),
    };
    let mut count = 1usize;
    let mut r = x;
    for &ax in axes {
        count = count.saturating_mul(r.shape()[ax]);
        r = r.fold_axis(Axis(ax), init, |&acc, &v| f(acc, v)).insert_axis(Axis(ax));
    }
    if op == "ReduceMean" {
        let d = T::from_usize(count);
        r = r.mapv(|v| v.div(d).unwrap_or(v));
    }
    reshaped(&r, shape)
}

fn arg(cx: &Cx) -> R<Arr> {
    let a = cx.arr(0)?;
    let rank = a.shape().len();
    let axis = norm_axis(cx.attr_int_or("axis", 0)?, rank)?;
    if a.shape()[axis] == 0 {
        return invalid("ArgMax/ArgMin of an empty axis");
    }
    let keepdims = cx.attr_int_or("keepdims", 1)? != 0;
    let last = cx.attr_int_or("select_last_index", 0)? != 0;
    let max = cx.op() == "ArgMax";
    let idx: ArrayD<i64> = dispatch!(num, with a, x => x.map_axis(Axis(axis), |lane| {
        let mut best = 0usize;
        for (i, &v) in lane.iter().enumerate() {
            let b = lane[best];
            let better = if max { v > b } else { v < b };
            if better || (last && v == b) {
                best = i;
            }
        }
        best as i64
    }));
    Ok(Arr::I64(if keepdims { idx.insert_axis(Axis(axis)) } else { idx }))
}

fn cumsum(cx: &Cx) -> R<Arr> {
    let a = cx.arr(0)?;
    let axis = cx.opt_ints(1)?.ok_or_else(|| Fail::Invalid("axis is missing".into()))?;
    if axis.len() != 1 {
        return invalid("axis must be a scalar");
    }
    let axis = norm_axis(axis[0], a.shape().len())?;
    let exclusive = cx.attr_int_or("exclusive", 0)? != 0;
    let reverse = cx.attr_int_or("reverse", 0)? != 0;
    Ok(dispatch!(num, map a, x => {
        let mut out = x.clone();
        for (src, mut dst) in x.lanes(Axis(axis)).into_iter().zip(out.lanes_mut(Axis(axis))) {
            let n = src.len();
            let mut acc = Num::zero();
            for k in 0..n {
                let i = if reverse { n - 1 - k } else { k };
                if exclusive {
                    dst[i] = acc;
                    acc = Num::add(acc, src[i]);
                } else {
                    acc = Num::add(acc, src[i]);
                    dst[i] = acc;
                }
            }
        }
        out
    }))
}

fn nonzero(cx: &Cx) -> R<Arr> {
    let a = cx.arr(0)?;
    let rank = a.shape().len();
    if rank == 0 {
        return Err(Fail::Unsupported);
    }
    let shape = a.shape().to_vec();
    let flags: Vec<bool> = a
        .widened()
        .into_iter()
        .map(|w| match w {
            crate::array::W::I(i) => i != 0,
            crate::array::W::F(f) => f != 0.0,
            crate::array::W::B(b) => b,
        })
        .collect();
    let hits: Vec<usize> = flags.iter().enumerate().filter(|(_, f)| **f).map(|(i, _)| i).collect();
    let n = hits.len();
    let mut out = vec![0i64; rank * n];
    for (j, &flat) in hits.iter().enumerate() {
        let mut rest = flat;
        for d in (0..rank).rev() {
            out[d * n + j] = (rest % shape[d]) as i64;
            rest /= shape[d];
        }
    }
    Ok(Arr::I64(from_vec(&[rank, n], out)?))
}
