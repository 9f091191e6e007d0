//! Indexing ops: StridedSlice (every mask), Slice, Pad/PadV2/MirrorPad, GatherV2.
//!
//! StridedSlice's masks are resolved at conversion (begin, end and strides must be constants,
//! the input's rank known): the spec becomes one ONNX Slice over the sliced axes, a Squeeze of
//! the shrunk axes and an Unsqueeze of the new ones, each only when needed.

use super::{Rule, as_i64, dtype_of, native, norm_axis};
use crate::ctx::{Ctx, TfVal, str_attr, to_cf_perm};
use crate::error::Result;
use crate::flatten::TfNode;

pub fn lookup(op: &str) -> Option<Rule> {
    Some(match op {
        "StridedSlice" => strided_slice,
        "Slice" => slice,
        "Pad" | "PadV2" | "MirrorPad" => pad,
        "GatherV2" | "Gather" | "ResourceGather" => gather,
        "TensorScatterUpdate" => scatter_update,
        _ => return None,
    })
}

/// Elements a slice `b:e:s` takes from a dim of size `d` (Python/ONNX clamping).
fn slice_len(d: i64, b: i64, e: i64, s: i64) -> i64 {
    let (d, b, e, s) = (d as i128, b as i128, e as i128, s as i128);
    let norm = |x: i128| if x < 0 { x + d } else { x };
    if s > 0 {
        let b = norm(b).clamp(0, d);
        let e = norm(e).clamp(0, d);
        (((e - b) + s - 1) / s).max(0) as i64
    } else {
        let b = norm(b).clamp(-1, d - 1);
        let e = norm(e).clamp(-1, d - 1);
        (((b - e) + (-s) - 1) / (-s)).max(0) as i64
    }
}

struct Plan {
    starts: Vec<i64>,
    ends: Vec<i64>,
    axes: Vec<i64>,
    steps: Vec<i64>,
    squeeze: Vec<i64>,
    unsqueeze: Vec<i64>,
    shape: Option<Vec<i64>>,
}

fn plan(
    n: &TfNode,
    r: usize,
    shape: Option<&Vec<i64>>,
    b: &[i64],
    e: &[i64],
    s: &[i64],
) -> Result<Plan> {
    let m = b.len();
    if e.len() != m || s.len() != m {
        return Err(n.err("begin, end and strides differ in length"));
    }
    let bit = |name: &str, i: usize| (n.attr_i(name).unwrap_or(0) >> i) & 1 == 1;
    let mut p = Plan {
        starts: vec![],
        ends: vec![],
        axes: vec![],
        steps: vec![],
        squeeze: vec![],
        unsqueeze: vec![],
        shape: shape.map(|_| vec![]),
    };
    let mut dim = 0usize;
    let mut out_pos = 0i64;
    let dim_size = |d: usize| shape.map(|s| s[d]);
    let mut seen_ellipsis = false;
    for i in 0..m {
        if bit("ellipsis_mask", i) && !seen_ellipsis {
            seen_ellipsis = true;
            let rest = (i + 1..m).filter(|&j| !bit("new_axis_mask", j)).count();
            let cover = r
                .checked_sub(dim + rest)
                .ok_or_else(|| n.err("slice spec longer than the input's rank"))?;
            for k in dim..dim + cover {
                if let (Some(sh), Some(d)) = (&mut p.shape, dim_size(k)) {
                    sh.push(d);
                }
            }
            dim += cover;
            out_pos += cover as i64;
        } else if bit("new_axis_mask", i) {
            p.unsqueeze.push(out_pos);
            out_pos += 1;
            if let Some(sh) = &mut p.shape {
                sh.push(1);
            }
        } else {
            if dim >= r {
                return Err(n.err("slice spec longer than the input's rank"));
            }
            if s[i] == 0 {
                return Err(n.err("stride 0"));
            }
            if bit("shrink_axis_mask", i) {
                let bi = b[i];
                p.starts.push(bi);
                p.ends.push(if bi == -1 { i64::MAX } else { bi.saturating_add(1) });
                p.axes.push(dim as i64);
                p.steps.push(1);
                p.squeeze.push(dim as i64);
            } else {
                let pos = s[i] > 0;
                let bi = if bit("begin_mask", i) { if pos { 0 } else { i64::MAX } } else { b[i] };
                let ei =
                    if bit("end_mask", i) { if pos { i64::MAX } else { i64::MIN } } else { e[i] };
                if !(bi == 0 && ei == i64::MAX && s[i] == 1) {
                    p.starts.push(bi);
                    p.ends.push(ei);
                    p.axes.push(dim as i64);
                    p.steps.push(s[i]);
                }
                if let Some(sh) = &mut p.shape {
                    let d = dim_size(dim).unwrap_or(-1);
                    sh.push(if d < 0 { -1 } else { slice_len(d, bi, ei, s[i]) });
                }
                out_pos += 1;
            }
            dim += 1;
        }
    }
    for k in dim..r {
        if let (Some(sh), Some(d)) = (&mut p.shape, dim_size(k)) {
            sh.push(d);
        }
    }
    Ok(p)
}

fn strided_slice(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let b = cx.const_ints(n, 1, "begin")?;
    let e = cx.const_ints(n, 2, "end")?;
    let s = cx.const_ints(n, 3, "strides")?;
    // Without an ellipsis the spec covers its leading axes and leaves the rest: the rank is
    // only needed when there is one.
    let r = match x.rank() {
        Some(r) => r,
        None if n.attr_i("ellipsis_mask").unwrap_or(0) == 0 => {
            let new_axes = n.attr_i("new_axis_mask").unwrap_or(0);
            (0..b.len()).filter(|&i| (new_axes >> i) & 1 == 0).count()
        }
        None => return Err(n.err("an ellipsis on an input of unknown rank")),
    };
    let p = plan(n, r, x.shape.as_ref(), &b, &e, &s)?;
    // A slice that keeps every axis works on a channels-first value directly, with its axes
    // mapped (the common `y[..., :4]` or `y[:, ::2, ::2, :]` of image code).
    let keep_layout = x.cf && x.rank() == Some(r) && p.squeeze.is_empty() && p.unsqueeze.is_empty();
    let mut p = p;
    if keep_layout {
        let pos = crate::ctx::from_cf_perm(r);
        p.axes = p.axes.iter().map(|&a| pos[a as usize]).collect();
    }
    let mut id = if keep_layout { x.id } else { cx.native(&x)? };
    // Only the last node of the chain carries the TensorFlow node's name.
    let last = |later: bool| if later { format!("{}/part", n.name) } else { n.name.clone() };
    if !p.axes.is_empty() {
        let name = last(!p.squeeze.is_empty() || !p.unsqueeze.is_empty());
        let st = cx.const_i64(&format!("{}/starts", n.name), &p.starts);
        let en = cx.const_i64(&format!("{}/ends", n.name), &p.ends);
        let ax = cx.const_i64(&format!("{}/axes", n.name), &p.axes);
        let sp = cx.const_i64(&format!("{}/steps", n.name), &p.steps);
        id = cx.emit1("Slice", &name, &[id, st, en, ax, sp], vec![]);
    }
    if !p.squeeze.is_empty() {
        let name = last(!p.unsqueeze.is_empty());
        let ax = cx.const_i64(&format!("{}/squeeze", n.name), &p.squeeze);
        id = cx.emit1("Squeeze", &name, &[id, ax], vec![]);
    }
    if !p.unsqueeze.is_empty() {
        let ax = cx.const_i64(&format!("{}/unsqueeze", n.name), &p.unsqueeze);
        id = cx.emit1("Unsqueeze", &n.name, &[id, ax], vec![]);
    }
    if p.axes.is_empty() && p.squeeze.is_empty() && p.unsqueeze.is_empty() {
        return Ok(vec![x]);
    }
    Ok(vec![TfVal { id, cf: keep_layout, shape: p.shape, dtype: dtype_of(n, &x) }])
}

fn slice(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let b = cx.const_ints(n, 1, "begin")?;
    let size = cx.const_ints(n, 2, "size")?;
    if b.len() != size.len() {
        return Err(n.err("begin and size differ in length"));
    }
    let ends: Vec<i64> = b
        .iter()
        .zip(&size)
        .map(|(&b, &s)| if s < 0 { i64::MAX } else { b.saturating_add(s) })
        .collect();
    let axes: Vec<i64> = (0..b.len() as i64).collect();
    let xi = cx.native(&x)?;
    let st = cx.const_i64(&format!("{}/starts", n.name), &b);
    let en = cx.const_i64(&format!("{}/ends", n.name), &ends);
    let ax = cx.const_i64(&format!("{}/axes", n.name), &axes);
    let id = cx.emit1("Slice", &n.name, &[xi, st, en, ax], vec![]);
    let shape = x.shape.as_ref().map(|s| {
        s.iter()
            .zip(b.iter().zip(&size))
            .map(|(&d, (&b, &sz))| {
                if sz >= 0 {
                    sz
                } else if d >= 0 {
                    d - b
                } else {
                    -1
                }
            })
            .collect()
    });
    Ok(vec![native(id, shape, dtype_of(n, &x))])
}

/// Pads keep a channels-first input channels-first (the paddings are permuted to match).
fn pad(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let p = cx.const_ints(n, 1, "paddings")?;
    if p.len() % 2 != 0 {
        return Err(n.err("paddings must be [rank, 2]"));
    }
    let r = p.len() / 2;
    if x.rank().is_some_and(|xr| xr != r) {
        return Err(n.err(format!("{r} rows of paddings for an input of rank {:?}", x.rank())));
    }
    let mode = match (n.op.as_str(), n.attr_s("mode").as_deref()) {
        ("MirrorPad", Some("REFLECT")) => "reflect",
        ("MirrorPad", m) => {
            return Err(
                n.err(format!("MirrorPad mode {} has no ONNX equivalent", m.unwrap_or("?")))
            );
        }
        _ => "constant",
    };
    let (xi, cf, order) = if x.cf && x.rank() == Some(r) {
        (x.id, true, to_cf_perm(r).iter().map(|&i| i as usize).collect::<Vec<_>>())
    } else {
        (cx.native(&x)?, false, (0..r).collect())
    };
    let mut pads: Vec<i64> = order.iter().map(|&i| p[2 * i]).collect();
    pads.extend(order.iter().map(|&i| p[2 * i + 1]));
    let pi = cx.const_i64(&format!("{}/pads", n.name), &pads);
    let mut ins = vec![xi, pi];
    if n.op == "PadV2" {
        let c = cx.input(n, 2)?;
        ins.push(cx.native(&c)?);
    }
    let id = cx.emit1("Pad", &n.name, &ins, vec![str_attr("mode", mode)]);
    let shape = x.shape.as_ref().map(|s| {
        s.iter()
            .enumerate()
            .map(|(i, &d)| match (p.get(2 * i), p.get(2 * i + 1)) {
                (Some(&a), Some(&b)) if d >= 0 => {
                    d.checked_add(a).and_then(|x| x.checked_add(b)).unwrap_or(-1)
                }
                _ => -1,
            })
            .collect()
    });
    Ok(vec![TfVal { id, cf, shape, dtype: dtype_of(n, &x) }])
}

fn gather(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let params = cx.input(n, 0)?;
    let idx = cx.input(n, 1)?;
    if n.attr_i("batch_dims").unwrap_or(0) != 0 {
        return Err(n.err("batch_dims other than 0 is not supported"));
    }
    let axis = if n.op == "GatherV2" {
        cx.const_ints(n, 2, "axis")?.first().copied().unwrap_or(0)
    } else {
        0
    };
    let r = params.rank().or_else(|| cx.const_of(params.id).map(|t| t.dims.len()));
    let axis = match r {
        Some(r) => norm_axis(n, axis, r)?,
        None if axis >= 0 => axis as usize,
        None => return Err(n.err("negative axis on params of unknown rank")),
    };
    let pi = cx.native(&params)?;
    let ii = cx.native(&idx)?;
    let id =
        cx.emit1("Gather", &n.name, &[pi, ii], vec![crate::ctx::int_attr("axis", axis as i64)]);
    let shape = match (&params.shape, &idx.shape) {
        (Some(p), Some(i)) if axis < p.len() => Some([&p[..axis], &i[..], &p[axis + 1..]].concat()),
        _ => None,
    };
    let dt = n.onnx_type("Tparams").or(n.onnx_type("dtype")).or(params.dtype);
    Ok(vec![native(id, shape, dt)])
}

/// `TensorScatterUpdate(tensor, indices, updates)` is ONNX ScatterND (int64 indices).
fn scatter_update(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let t = cx.input(n, 0)?;
    let i = cx.input(n, 1)?;
    let u = cx.input(n, 2)?;
    let ti = cx.native(&t)?;
    let ii = as_i64(cx, &i, &format!("{}/indices", n.name))?;
    let ui = cx.native(&u)?;
    let id = cx.emit1("ScatterND", &n.name, &[ti, ii, ui], vec![]);
    Ok(vec![native(id, t.shape.clone(), dtype_of(n, &t))])
}
