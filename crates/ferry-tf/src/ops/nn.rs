//! Layer ops: BiasAdd, FusedBatchNorm (inference), Softmax/LogSoftmax, DepthToSpace and
//! SpaceToDepth.

use super::{Rule, dtype_of, native};
use crate::ctx::{Ctx, TfVal, float_attr, int_attr, str_attr};
use crate::error::Result;
use crate::flatten::TfNode;

pub fn lookup(op: &str) -> Option<Rule> {
    Some(match op {
        "BiasAdd" | "BiasAddV1" => bias_add,
        "FusedBatchNorm" | "FusedBatchNormV2" | "FusedBatchNormV3" => batch_norm,
        "Softmax" | "LogSoftmax" => softmax,
        "DepthToSpace" | "SpaceToDepth" => depth_space,
        _ => return None,
    })
}

/// Adds the bias along the channel axis. On a channels-first value (or an NCHW op) the bias
/// is given trailing unit dims so it broadcasts over the spatial axes; a constant bias is just
/// relabelled (same bytes), a computed one unsqueezed.
fn bias_add(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let b = cx.input(n, 1)?;
    let channels_first = x.cf || n.is_nchw();
    let dt = dtype_of(n, &x);
    if !channels_first || x.rank().is_some_and(|r| r <= 2) {
        let xi = cx.native(&x)?;
        let bi = cx.native(&b)?;
        let id = cx.emit1("Add", &n.name, &[xi, bi], vec![]);
        return Ok(vec![native(id, x.shape, dt)]);
    }
    let r = x.rank().ok_or_else(|| n.err("NCHW BiasAdd on an input of unknown rank"))?;
    let ones = r - 2;
    let bias = match cx.const_of(b.id).cloned() {
        Some(mut t) if t.dims.len() == 1 => {
            t.dims.extend(std::iter::repeat_n(1, ones));
            cx.add_const(&format!("{}/bias", n.name), t)
        }
        _ => {
            let axes: Vec<i64> = (1..=ones as i64).collect();
            let ax = cx.const_i64(&format!("{}/axes", n.name), &axes);
            let bi = cx.native(&b)?;
            cx.emit1("Unsqueeze", &format!("{}/bias", n.name), &[bi, ax], vec![])
        }
    };
    let id = cx.emit1("Add", &n.name, &[x.id, bias], vec![]);
    Ok(vec![TfVal { id, cf: x.cf, shape: x.shape, dtype: dt }])
}

fn batch_norm(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    if n.attr_b("is_training").unwrap_or(true) {
        return Err(n.err("training-mode batch normalization (is_training=true) is not supported; freeze the model for inference"));
    }
    let x = cx.input(n, 0)?;
    let mut ins = Vec::new();
    let (xi, cf) =
        if n.is_nchw() { (cx.native(&x)?, false) } else { (cx.channels_first(&x, n)?, true) };
    ins.push(xi);
    // ONNX order: scale, bias, mean, var -- the same as TensorFlow's.
    let mut stats = Vec::new();
    for i in 1..5 {
        let v = cx.input(n, i)?;
        ins.push(cx.native(&v)?);
        stats.push(v);
    }
    let eps = n.attr_f("epsilon").unwrap_or(1e-4);
    let id = cx.emit1("BatchNormalization", &n.name, &ins, vec![float_attr("epsilon", eps)]);
    let dt = dtype_of(n, &x);
    let mut outs = vec![TfVal { id, cf, shape: x.shape.clone(), dtype: dt }];
    // batch_mean / batch_variance in inference mode are the moving statistics; the reserve
    // spaces are the same for any consumer that reads them.
    outs.push(stats[2].clone());
    outs.push(stats[3].clone());
    outs.push(stats[2].clone());
    outs.push(stats[3].clone());
    outs.push(stats[2].clone());
    Ok(outs)
}

/// Softmax over the last axis; on a channels-first value that axis (the channels) is axis 1.
fn softmax(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let axis = if x.cf { 1 } else { -1 };
    let id = cx.emit1(&n.op, &n.name, &[x.id], vec![int_attr("axis", axis)]);
    Ok(vec![TfVal { id, cf: x.cf, shape: x.shape.clone(), dtype: dtype_of(n, &x) }])
}

/// TensorFlow's NHWC DepthToSpace is ONNX's DCR mode on the channels-first tensor.
fn depth_space(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let b = n
        .attr_i("block_size")
        .filter(|&b| (2..=1 << 16).contains(&b))
        .ok_or_else(|| n.err("block_size must be 2 to 65536"))?;
    let (xi, cf) =
        if n.is_nchw() { (cx.native(&x)?, false) } else { (cx.channels_first(&x, n)?, true) };
    let mut attrs = vec![int_attr("blocksize", b)];
    if n.op == "DepthToSpace" {
        attrs.push(str_attr("mode", "DCR"));
    }
    let id = cx.emit1(&n.op, &n.name, &[xi], attrs);
    let shape = x.shape.as_ref().filter(|s| s.len() == 4 && !n.is_nchw()).map(|s| {
        let m = |d: i64, f: i64| if d < 0 { -1 } else { d.checked_mul(f).unwrap_or(-1) };
        let dv = |d: i64, f: i64| if d < 0 { -1 } else { d / f };
        if n.op == "DepthToSpace" {
            vec![s[0], m(s[1], b), m(s[2], b), dv(s[3], b * b)]
        } else {
            vec![s[0], dv(s[1], b), dv(s[2], b), m(s[3], b * b)]
        }
    });
    Ok(vec![TfVal { id, cf, shape, dtype: dtype_of(n, &x) }])
}
