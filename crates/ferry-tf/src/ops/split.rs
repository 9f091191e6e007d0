//! Joining and splitting: ConcatV2/Concat, Pack, Unpack, Split, SplitV.
//!
//! A concatenation of channels-first values along a constant axis stays channels-first (the
//! axis is mapped), so Inception-style blocks need no Transposes around their joins.

use super::{Rule, axis_in, dtype_of, native, norm_axis};
use crate::ctx::{Ctx, TfVal, from_cf_perm, int_attr};
use crate::error::Result;
use crate::flatten::TfNode;

pub fn lookup(op: &str) -> Option<Rule> {
    Some(match op {
        "ConcatV2" | "Concat" => concat,
        "Pack" => pack,
        "Unpack" => unpack,
        "Split" | "SplitV" => split,
        _ => return None,
    })
}

fn concat(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let count =
        n.inputs.len().checked_sub(1).filter(|&c| c > 0).ok_or_else(|| n.err("no inputs"))?;
    // ConcatV2: values..., axis. Concat (v1): axis, values...
    let (axis_i, first) = if n.op == "ConcatV2" { (count, 0) } else { (0, 1) };
    let axis = cx.const_ints(n, axis_i, "axis")?;
    let [axis] = axis[..] else { return Err(n.err("axis must be a scalar")) };
    let vals: Vec<TfVal> = (first..first + count).map(|i| cx.input(n, i)).collect::<Result<_>>()?;
    let rank = vals.iter().find_map(|v| v.rank());
    let axis = axis_in(n, axis, rank)?;
    let r = rank.unwrap_or(0);
    let all_cf = vals.iter().all(|v| v.cf && v.rank() == Some(r));
    let mut ids = Vec::new();
    for v in &vals {
        ids.push(if all_cf { v.id } else { cx.native(v)? });
    }
    let onnx_axis = if all_cf { from_cf_perm(r)[axis] } else { axis as i64 };
    let id = cx.emit1("Concat", &n.name, &ids, vec![int_attr("axis", onnx_axis)]);
    let shape = vals
        .iter()
        .map(|v| v.shape.clone().filter(|s| axis < s.len()))
        .collect::<Option<Vec<_>>>()
        .map(|ss| {
            let mut s = ss[0].clone();
            s[axis] = ss
                .iter()
                .map(|x| x[axis])
                .try_fold(0i64, |a, d| if d < 0 { None } else { a.checked_add(d) })
                .unwrap_or(-1);
            s
        });
    Ok(vec![TfVal { id, cf: all_cf, shape, dtype: dtype_of(n, &vals[0]) }])
}

fn pack(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let vals: Vec<TfVal> = (0..n.inputs.len()).map(|i| cx.input(n, i)).collect::<Result<_>>()?;
    if vals.is_empty() {
        return Err(n.err("no inputs"));
    }
    let axis = n.attr_i("axis").unwrap_or(0);
    let ax = cx.const_i64(&format!("{}/axis", n.name), &[axis]);
    let mut ids = Vec::new();
    for (i, v) in vals.iter().enumerate() {
        let x = cx.native(v)?;
        ids.push(cx.emit1("Unsqueeze", &format!("{}/in{i}", n.name), &[x, ax], vec![]));
    }
    let r = vals[0].rank();
    let out_axis = match r {
        Some(r) => norm_axis(n, axis, r + 1)? as i64,
        None if axis >= 0 => axis,
        None => return Err(n.err("negative axis on inputs of unknown rank")),
    };
    let id = cx.emit1("Concat", &n.name, &ids, vec![int_attr("axis", out_axis)]);
    let shape = vals[0].shape.as_ref().map(|s| {
        let mut s = s.clone();
        s.insert(out_axis as usize, vals.len() as i64);
        s
    });
    Ok(vec![native(id, shape, dtype_of(n, &vals[0]))])
}

fn unpack(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let num =
        n.attr_i("num").filter(|&k| k > 0).ok_or_else(|| n.err("num must be positive"))? as usize;
    let axis = axis_in(n, n.attr_i("axis").unwrap_or(0), x.rank())?;
    let xi = cx.native(&x)?;
    let attrs = split_attrs(cx, axis, num, 1);
    let parts = cx.emit("Split", &format!("{}/split", n.name), &[xi], attrs, num);
    let ax = cx.const_i64(&format!("{}/axis", n.name), &[axis as i64]);
    let shape = x.shape.as_ref().filter(|s| axis < s.len()).map(|s| {
        let mut s = s.clone();
        s.remove(axis);
        s
    });
    let mut outs = Vec::new();
    for (i, p) in parts.into_iter().enumerate() {
        let name = if i == 0 { n.name.clone() } else { format!("{}:{i}", n.name) };
        let id = cx.emit1("Squeeze", &name, &[p, ax], vec![]);
        outs.push(native(id, shape.clone(), dtype_of(n, &x)));
    }
    Ok(outs)
}

/// `Split(axis, value)` into `num_split` equal parts; `SplitV(value, size_splits, axis)`.
fn split(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let (x, axis) = if n.op == "Split" {
        (cx.input(n, 1)?, cx.const_ints(n, 0, "axis")?)
    } else {
        (cx.input(n, 0)?, cx.const_ints(n, 2, "axis")?)
    };
    let [axis] = axis[..] else { return Err(n.err("axis must be a scalar")) };
    let axis = axis_in(n, axis, x.rank())?;
    let dim = x.shape.as_ref().and_then(|s| s.get(axis).copied()).unwrap_or(-1);
    let sizes: Vec<i64> = if n.op == "Split" {
        let k = n
            .attr_i("num_split")
            .filter(|&k| k > 0)
            .ok_or_else(|| n.err("num_split must be positive"))?;
        if dim >= 0 && dim % k != 0 {
            return Err(n.err(format!("dimension {dim} does not split into {k} equal parts")));
        }
        vec![if dim >= 0 { dim / k } else { -1 }; k as usize]
    } else {
        let mut s = cx.const_ints(n, 1, "size_splits")?;
        if let Some(p) = s.iter().position(|&v| v == -1) {
            if dim < 0 {
                return Err(n.err("a -1 split size needs the dimension's size"));
            }
            let rest: i64 = s.iter().filter(|&&v| v >= 0).sum();
            s[p] = dim - rest;
        }
        s
    };
    let xi = cx.native(&x)?;
    let mut ins = vec![xi];
    if n.op == "SplitV" {
        ins.push(cx.const_i64(&format!("{}/sizes", n.name), &sizes));
    }
    let ids =
        cx.emit("Split", &n.name, &ins, split_attrs(cx, axis, sizes.len(), ins.len()), sizes.len());
    Ok(ids
        .into_iter()
        .zip(&sizes)
        .map(|(id, &sz)| {
            let shape = x.shape.as_ref().filter(|s| axis < s.len()).map(|s| {
                let mut s = s.clone();
                s[axis] = sz;
                s
            });
            native(id, shape, dtype_of(n, &x))
        })
        .collect())
}

/// Split's attributes: from opset 18 an equal split (no sizes input) states its part count.
fn split_attrs(cx: &Ctx, axis: usize, parts: usize, inputs: usize) -> Vec<ferry_ir::Attribute> {
    let mut attrs = vec![int_attr("axis", axis as i64)];
    if cx.opset >= 18 && inputs == 1 {
        attrs.push(int_attr("num_outputs", parts as i64));
    }
    attrs
}
