//! Index-producing and index-driven ops: TopKV2, OneHot, Where (the one-input form: indices of
//! true elements), Cumsum, ReverseV2.

use super::{Rule, as_i64, axis_in, dtype_of, native};
use crate::ctx::{Ctx, TfVal, int_attr, ints_attr};
use crate::error::Result;
use crate::flatten::TfNode;
use ferry_ir::DataType;

pub fn lookup(op: &str) -> Option<Rule> {
    Some(match op {
        "TopKV2" => top_k,
        "OneHot" => one_hot,
        "Where" => where_true,
        "Cumsum" => cumsum,
        "ReverseV2" => reverse,
        _ => return None,
    })
}

/// `TopKV2(input, k)`: the k largest along the last axis, values and int32 indices.
fn top_k(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let k = cx.input(n, 1)?;
    let xi = cx.native(&x)?;
    let ki = as_i64(cx, &k, &format!("{}/k", n.name))?;
    let shape1 = cx.const_i64(&format!("{}/k_shape", n.name), &[1]);
    let ki = cx.emit1("Reshape", &format!("{}/k1", n.name), &[ki, shape1], vec![]);
    let sorted = i64::from(n.attr_b("sorted").unwrap_or(true));
    let attrs = vec![int_attr("axis", -1), int_attr("largest", 1), int_attr("sorted", sorted)];
    let outs = cx.emit("TopK", &format!("{}/topk", n.name), &[xi, ki], attrs, 2);
    let values = cx.emit1("Identity", &n.name, &[outs[0]], vec![]);
    let to = int_attr("to", i64::from(DataType::INT32.0));
    let indices = cx.emit1("Cast", &format!("{}:1", n.name), &[outs[1]], vec![to]);
    let kv = cx.const_of(k.id).and_then(crate::tensor::ints).and_then(|v| v.first().copied());
    let shape = x.shape.as_ref().filter(|s| !s.is_empty()).map(|s| {
        let mut s = s.clone();
        let last = s.len() - 1;
        s[last] = kv.unwrap_or(-1);
        s
    });
    Ok(vec![
        native(values, shape.clone(), dtype_of(n, &x)),
        native(indices, shape, Some(DataType::INT32)),
    ])
}

/// `OneHot(indices, depth, on_value, off_value)`: ONNX OneHot takes `[off, on]` as one tensor.
fn one_hot(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let idx = cx.input(n, 0)?;
    let depth = cx.input(n, 1)?;
    let on = cx.input(n, 2)?;
    let off = cx.input(n, 3)?;
    // int64 indices and depth: the combination every runtime implements.
    let ii = as_i64(cx, &idx, &format!("{}/indices", n.name))?;
    let di = as_i64(cx, &depth, &format!("{}/depth", n.name))?;
    let shape1 = cx.const_i64(&format!("{}/one", n.name), &[1]);
    let on_i = cx.native(&on)?;
    let off_i = cx.native(&off)?;
    let on1 = cx.emit1("Reshape", &format!("{}/on", n.name), &[on_i, shape1], vec![]);
    let off1 = cx.emit1("Reshape", &format!("{}/off", n.name), &[off_i, shape1], vec![]);
    let values =
        cx.emit1("Concat", &format!("{}/values", n.name), &[off1, on1], vec![int_attr("axis", 0)]);
    let axis = n.attr_i("axis").unwrap_or(-1);
    let id = cx.emit1("OneHot", &n.name, &[ii, di, values], vec![int_attr("axis", axis)]);
    let d = cx.const_of(depth.id).and_then(crate::tensor::ints).and_then(|v| v.first().copied());
    let shape = idx.shape.as_ref().and_then(|s| {
        let r = s.len() as i64 + 1;
        let p = if axis < 0 { axis + r } else { axis };
        let mut s = s.clone();
        (0..r).contains(&p).then(|| {
            s.insert(p as usize, d.unwrap_or(-1));
            s
        })
    });
    Ok(vec![native(id, shape, n.onnx_type("T").or(on.dtype))])
}

/// One-input `Where`: the coordinates of the true (non-zero) elements, [count, rank], int64.
fn where_true(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    if n.inputs.len() != 1 {
        return Err(n.err("Where with three inputs is SelectV2's job; expected one input"));
    }
    let x = cx.input(n, 0)?;
    let xi = cx.native(&x)?;
    let nz = cx.emit1("NonZero", &format!("{}/nonzero", n.name), &[xi], vec![]);
    let id = cx.emit1("Transpose", &n.name, &[nz], vec![ints_attr("perm", &[1, 0])]);
    let shape = Some(vec![-1, x.rank().map_or(-1, |r| r as i64)]);
    Ok(vec![native(id, shape, Some(DataType::INT64))])
}

fn cumsum(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let a = cx.input(n, 1)?;
    let xi = cx.native(&x)?;
    let ai = as_i64(cx, &a, &format!("{}/axis", n.name))?;
    let attrs = vec![
        int_attr("exclusive", i64::from(n.attr_b("exclusive").unwrap_or(false))),
        int_attr("reverse", i64::from(n.attr_b("reverse").unwrap_or(false))),
    ];
    let id = cx.emit1("CumSum", &n.name, &[xi, ai], attrs);
    Ok(vec![native(id, x.shape.clone(), dtype_of(n, &x))])
}

/// `ReverseV2(tensor, axes)`: a Slice with step -1 over each axis.
fn reverse(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let axes = cx.const_ints(n, 1, "axes")?;
    let axes: Vec<i64> =
        axes.iter().map(|&a| axis_in(n, a, x.rank()).map(|a| a as i64)).collect::<Result<_>>()?;
    if axes.is_empty() {
        return Ok(vec![x]);
    }
    let xi = cx.native(&x)?;
    let k = axes.len();
    let st = cx.const_i64(&format!("{}/starts", n.name), &vec![-1; k]);
    let en = cx.const_i64(&format!("{}/ends", n.name), &vec![i64::MIN; k]);
    let ax = cx.const_i64(&format!("{}/axes", n.name), &axes);
    let sp = cx.const_i64(&format!("{}/steps", n.name), &vec![-1; k]);
    let id = cx.emit1("Slice", &n.name, &[xi, st, en, ax, sp], vec![]);
    Ok(vec![native(id, x.shape.clone(), dtype_of(n, &x))])
}
