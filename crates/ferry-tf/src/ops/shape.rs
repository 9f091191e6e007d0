//! Constants and shape ops: Const, Reshape, Transpose, Squeeze, ExpandDims, Shape, Size, Rank,
//! Fill, Range, ZerosLike/OnesLike, BroadcastTo, Tile.
//!
//! Shape, Size and Rank of a tensor whose shape is fully known become constants, so shape
//! arithmetic downstream stays constant and foldable.

use super::{Rule, as_i64, dtype_of, native};
use crate::ctx::{Ctx, TfVal, from_cf_perm, int_attr, ints_attr};
use crate::error::Result;
use crate::flatten::TfNode;
use crate::proto::attr_value::Value as AV;
use crate::tensor;
use ferry_ir::{AttrValue, Attribute, DataType};

pub fn lookup(op: &str) -> Option<Rule> {
    Some(match op {
        "Const" | "HostConst" => constant,
        "PlaceholderWithDefault" => default_value,
        "Reshape" => reshape,
        "Transpose" => transpose,
        "Squeeze" => squeeze,
        "ExpandDims" => expand_dims,
        "Shape" | "Size" | "Rank" => shape_of,
        "Fill" | "BroadcastTo" => fill,
        "Range" => range,
        "ZerosLike" | "OnesLike" => like,
        "Tile" => tile,
        _ => return None,
    })
}

fn constant(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let t = match &n.tensor {
        Some(t) => t.clone(),
        None => match n.attrs.get("value").and_then(|a| a.value.as_ref()) {
            Some(AV::Tensor(t)) => tensor::to_ir(t, &n.name, &format!("node {}", n.name))?,
            _ => return Err(n.err("no tensor value")),
        },
    };
    let (dims, dt) = (t.dims.clone(), t.dtype);
    let id = cx.add_const(&n.name, t);
    Ok(vec![native(id, Some(dims), dt)])
}

fn default_value(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    Ok(vec![cx.input(n, 0)?])
}

fn reshape(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let s = cx.input(n, 1)?;
    let xi = cx.native(&x)?;
    let known = cx.const_of(s.id).and_then(tensor::ints);
    let si = as_i64(cx, &s, &format!("{}/shape", n.name))?;
    let mut attrs = Vec::new();
    // In TensorFlow a 0 in the shape is a zero-sized dim; in ONNX it copies the input's dim
    // unless allowzero is set.
    if known.as_ref().is_some_and(|k| k.contains(&0)) {
        attrs.push(int_attr("allowzero", 1));
    }
    let id = cx.emit1("Reshape", &n.name, &[xi, si], attrs);
    let shape = known.map(|mut k| {
        let total: Option<i64> = x.shape.as_ref().and_then(|s| {
            s.iter().try_fold(1i64, |a, &d| if d < 0 { None } else { a.checked_mul(d) })
        });
        let rest =
            k.iter().filter(|&&d| d >= 0).try_fold(1i64, |a, &d| a.checked_mul(d)).unwrap_or(0);
        if let (Some(t), Some(p)) = (total, k.iter().position(|&d| d == -1))
            && rest > 0
        {
            k[p] = t / rest;
        }
        k
    });
    Ok(vec![native(id, shape, dtype_of(n, &x))])
}

/// A Transpose of a channels-first value composes with the pending layout change; when they
/// cancel (a model that itself transposes NHWC to NCHW) no node is made at all.
fn transpose(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let perm = cx.const_ints(n, 1, "permutation")?;
    let r = perm.len();
    if x.rank().is_some_and(|xr| xr != r) || perm.iter().any(|&p| p < 0 || p as usize >= r) {
        return Err(n.err(format!("permutation {perm:?} does not fit the input")));
    }
    let shape = x.shape.as_ref().map(|s| perm.iter().map(|&p| s[p as usize]).collect());
    let dt = dtype_of(n, &x);
    let (src, eff) = if x.cf {
        let from = from_cf_perm(r);
        (x.id, perm.iter().map(|&p| from[p as usize]).collect::<Vec<_>>())
    } else {
        (x.id, perm.clone())
    };
    if eff.iter().enumerate().all(|(i, &p)| p == i as i64) {
        return Ok(vec![native(src, shape, dt)]);
    }
    let id = cx.emit1("Transpose", &n.name, &[src], vec![ints_attr("perm", &eff)]);
    Ok(vec![native(id, shape, dt)])
}

fn squeeze(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let dims = n.attr_ints("squeeze_dims").or_else(|| n.attr_ints("axis")).unwrap_or_default();
    // Squeezing the spatial axes of a channels-first [N, C, 1, 1] leaves [N, C], TensorFlow's
    // order: no Transpose needed (as for reductions).
    if let (true, Some(r)) = (x.cf && !dims.is_empty(), x.rank()) {
        let axes: Vec<usize> =
            dims.iter().map(|&d| super::norm_axis(n, d, r)).collect::<Result<_>>()?;
        let pos = from_cf_perm(r);
        let rest: Vec<i64> = (0..r).filter(|a| !axes.contains(a)).map(|a| pos[a]).collect();
        if rest.windows(2).all(|w| w[0] < w[1]) {
            let cf_axes: Vec<i64> = axes.iter().map(|&a| pos[a]).collect();
            let ax = cx.const_i64(&format!("{}/axes", n.name), &cf_axes);
            let id = cx.emit1("Squeeze", &n.name, &[x.id, ax], vec![]);
            let shape = x.shape.as_ref().map(|s| {
                s.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect()
            });
            return Ok(vec![native(id, shape, dtype_of(n, &x))]);
        }
    }
    let xi = cx.native(&x)?;
    let dt = dtype_of(n, &x);
    let (id, shape) = if dims.is_empty() {
        let shape = x
            .shape
            .as_ref()
            .filter(|s| s.iter().all(|&d| d >= 0))
            .map(|s| s.iter().copied().filter(|&d| d != 1).collect::<Vec<_>>());
        (cx.emit1("Squeeze", &n.name, &[xi], vec![]), shape)
    } else {
        let ax = cx.const_i64(&format!("{}/axes", n.name), &dims);
        let shape = x.shape.as_ref().map(|s| {
            let r = s.len() as i64;
            let norm: Vec<i64> = dims.iter().map(|&d| if d < 0 { d + r } else { d }).collect();
            s.iter()
                .enumerate()
                .filter(|(i, _)| !norm.contains(&(*i as i64)))
                .map(|(_, &d)| d)
                .collect()
        });
        (cx.emit1("Squeeze", &n.name, &[xi, ax], vec![]), shape)
    };
    Ok(vec![native(id, shape, dt)])
}

fn expand_dims(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let dim = cx.const_ints(n, 1, "dim")?;
    let [d] = dim[..] else { return Err(n.err("dim must hold one value")) };
    let xi = cx.native(&x)?;
    let ax = cx.const_i64(&format!("{}/axes", n.name), &[d]);
    let id = cx.emit1("Unsqueeze", &n.name, &[xi, ax], vec![]);
    let shape = x.shape.as_ref().and_then(|s| {
        let r = s.len() as i64 + 1;
        let p = if d < 0 { d + r } else { d };
        if p < 0 || p >= r {
            return None;
        }
        let mut s = s.clone();
        s.insert(p as usize, 1);
        Some(s)
    });
    Ok(vec![native(id, shape, dtype_of(n, &x))])
}

fn shape_of(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let out_t = n.onnx_type("out_type").unwrap_or(DataType::INT32);
    let known = x.shape.clone().filter(|s| s.iter().all(|&d| d >= 0));
    let (vals, dims): (Option<Vec<i64>>, Vec<i64>) = match n.op.as_str() {
        "Shape" => (known.clone(), vec![x.rank().map_or(-1, |r| r as i64)]),
        "Size" => (
            known
                .as_ref()
                .and_then(|s| s.iter().try_fold(1i64, |a, &d| a.checked_mul(d)))
                .map(|p| vec![p]),
            vec![],
        ),
        _ => (x.rank().map(|r| vec![r as i64]), vec![]),
    };
    if let Some(v) = vals {
        let t = tensor::i64_tensor(&n.name, dims.iter().map(|&d| d.max(0)).collect(), &v);
        let t = if out_t == DataType::INT32 {
            let mut b = bytes::BytesMut::new();
            v.iter().for_each(|&x| b.extend_from_slice(&(x as i32).to_le_bytes()));
            ferry_ir::Tensor::from_raw(n.name.clone(), DataType::INT32, t.dims.clone(), b.freeze())
        } else {
            t
        };
        let id = cx.add_const(&n.name, t);
        return Ok(vec![native(id, Some(dims.iter().map(|&d| d.max(0)).collect()), Some(out_t))]);
    }
    let xi = cx.native(&x)?;
    let mut id = cx.emit1("Shape", &format!("{}/shape", n.name), &[xi], vec![]);
    if n.op == "Size" {
        id = cx.emit1(
            "ReduceProd",
            &format!("{}/size", n.name),
            &[id],
            vec![int_attr("keepdims", 0)],
        );
    } else if n.op == "Rank" {
        id = cx.emit1("Size", &format!("{}/rank", n.name), &[id], vec![]);
    }
    id = cx.emit1("Cast", &n.name, &[id], vec![int_attr("to", i64::from(out_t.0))]);
    let shape =
        if n.op == "Shape" { Some(vec![x.rank().map_or(-1, |r| r as i64)]) } else { Some(vec![]) };
    Ok(vec![native(id, shape, Some(out_t))])
}

/// `Fill(dims, value)` and `BroadcastTo(value, shape)`: ONNX Expand of the value.
fn fill(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let (si, vi) = if n.op == "Fill" { (0, 1) } else { (1, 0) };
    let s = cx.input(n, si)?;
    let v = cx.input(n, vi)?;
    let known = cx.const_of(s.id).and_then(tensor::ints);
    let shape = as_i64(cx, &s, &format!("{}/shape", n.name))?;
    let value = cx.native(&v)?;
    let id = cx.emit1("Expand", &n.name, &[value, shape], vec![]);
    let out_shape = if n.op == "Fill" { known } else { super::broadcast(&known, &v.shape) };
    Ok(vec![native(id, out_shape, n.onnx_type("T").or(v.dtype))])
}

fn range(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let mut ins = Vec::new();
    let mut consts = Vec::new();
    for i in 0..3 {
        let v = cx.input(n, i)?;
        consts.push(cx.const_of(v.id).and_then(|t| {
            tensor::ints(t)
                .or_else(|| tensor::floats(t).map(|f| f.iter().map(|&x| x as i64).collect()))
        }));
        ins.push(cx.native(&v)?);
    }
    let id = cx.emit1("Range", &n.name, &ins, vec![]);
    let len = match (&consts[0], &consts[1], &consts[2]) {
        (Some(a), Some(b), Some(d))
            if a.len() == 1 && b.len() == 1 && d.len() == 1 && d[0] != 0 =>
        {
            Some(((b[0] as f64 - a[0] as f64) / d[0] as f64).ceil().max(0.0) as i64)
        }
        _ => None,
    };
    let dt = n.onnx_type("Tidx");
    Ok(vec![native(id, Some(vec![len.unwrap_or(-1)]), dt)])
}

fn like(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let dt = dtype_of(n, &x).ok_or_else(|| n.err("unknown element type"))?;
    let v = if n.op == "OnesLike" { 1.0 } else { 0.0 };
    let value = tensor::scalar_tensor("value", dt, v).ok_or_else(|| n.err("unsupported type"))?;
    let mut value = value;
    value.dims = vec![1];
    let s = cx.emit1("Shape", &format!("{}/shape", n.name), &[x.id], vec![]);
    let id = cx.emit1(
        "ConstantOfShape",
        &n.name,
        &[s],
        vec![Attribute::new("value", AttrValue::Tensor(Box::new(value)))],
    );
    Ok(vec![TfVal { id, cf: x.cf, shape: x.shape, dtype: Some(dt) }])
}

fn tile(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let m = cx.input(n, 1)?;
    let known = cx.const_of(m.id).and_then(tensor::ints);
    let xi = cx.native(&x)?;
    let mi = as_i64(cx, &m, &format!("{}/multiples", n.name))?;
    let id = cx.emit1("Tile", &n.name, &[xi, mi], vec![]);
    let shape = match (&x.shape, known) {
        (Some(s), Some(k)) if s.len() == k.len() => Some(
            s.iter()
                .zip(&k)
                .map(|(&d, &m)| if d < 0 { -1 } else { d.checked_mul(m).unwrap_or(-1) })
                .collect(),
        ),
        _ => None,
    };
    Ok(vec![native(id, shape, dtype_of(n, &x))])
}
