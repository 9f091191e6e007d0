//! Convolutions and pooling: Conv2D, DepthwiseConv2dNative, Conv2DBackpropInput (to
//! ConvTranspose), MaxPool, AvgPool.
//!
//! ONNX convolves channels-first, so an NHWC input is taken channels-first (see `ctx`) and the
//! output stays channels-first. Filters go from TensorFlow's HWIO (depthwise: HWCM) to ONNX's
//! OIHW (depthwise: (C*M)1HW with `group = C`); a constant filter is rearranged once here, a
//! computed one gets a Transpose. TensorFlow's SAME padding puts the odd pixel at the end, which
//! is ONNX's SAME_UPPER.

use super::{Rule, dtype_of};
use crate::ctx::{Ctx, TfVal, int_attr, ints_attr, str_attr};
use crate::error::Result;
use crate::flatten::TfNode;
use crate::tensor;
use ferry_ir::{Attribute, ValueId};

pub fn lookup(op: &str) -> Option<Rule> {
    Some(match op {
        "Conv2D" => conv2d,
        "DepthwiseConv2dNative" => depthwise,
        "Conv2DBackpropInput" => conv2d_transpose,
        "MaxPool" | "AvgPool" => pool,
        _ => return None,
    })
}

/// Spatial entries of a 4-element NHWC/NCHW attribute list (strides, dilations, ksize).
fn spatial(n: &TfNode, name: &str, default: i64) -> Result<Vec<i64>> {
    let v = n.attr_ints(name).unwrap_or_else(|| vec![default; 4]);
    if v.len() != 4 {
        return Err(n.err(format!("{name} has {} entries, expected 4", v.len())));
    }
    Ok(if n.is_nchw() { vec![v[2], v[3]] } else { vec![v[1], v[2]] })
}

/// `auto_pad`/`pads` attributes from `padding` (and `explicit_paddings`).
fn padding_attrs(n: &TfNode) -> Result<Vec<Attribute>> {
    match n.attr_s("padding").as_deref() {
        Some("SAME") => Ok(vec![str_attr("auto_pad", "SAME_UPPER")]),
        Some("VALID") | None => Ok(vec![str_attr("auto_pad", "VALID")]),
        Some("EXPLICIT") => {
            let p = n.attr_ints("explicit_paddings").unwrap_or_default();
            if p.len() != 8 {
                return Err(n.err("explicit_paddings must have 8 entries"));
            }
            let (h, w) = if n.is_nchw() { (4, 6) } else { (2, 4) };
            Ok(vec![ints_attr("pads", &[p[h], p[w], p[h + 1], p[w + 1]])])
        }
        Some(other) => Err(n.err(format!("padding {other} is not supported"))),
    }
}

/// Output spatial size of a window op, when the input size is known.
fn out_size(n: &TfNode, input: i64, k: i64, s: i64, d: i64) -> i64 {
    if input < 0 || s <= 0 {
        return -1;
    }
    // i128: sizes and attributes come from the file.
    let (input, k, s, d) = (input as i128, k as i128, s as i128, d as i128);
    let out = match n.attr_s("padding").as_deref() {
        Some("SAME") => (input + s - 1) / s,
        Some("VALID") => {
            let eff = (k - 1) * d + 1;
            if input < eff { -1 } else { (input - eff) / s + 1 }
        }
        _ => -1,
    };
    i64::try_from(out).unwrap_or(-1)
}

/// The data input in ONNX's channels-first layout and whether the output is channels-first
/// (true for NHWC ops; an NCHW op works on TensorFlow's own layout).
fn data_input(cx: &mut Ctx, n: &TfNode, x: &TfVal) -> Result<(ValueId, bool)> {
    if n.is_nchw() { Ok((cx.native(x)?, false)) } else { Ok((cx.channels_first(x, n)?, true)) }
}

/// TensorFlow's NHWC (or NCHW) shape from N, C and the spatial sizes.
fn tf_shape(n: &TfNode, batch: i64, c: i64, hw: &[i64]) -> Vec<i64> {
    if n.is_nchw() { vec![batch, c, hw[0], hw[1]] } else { vec![batch, hw[0], hw[1], c] }
}

/// (N, C, H, W) of a known TensorFlow shape.
fn nchw_of(n: &TfNode, s: &Option<Vec<i64>>) -> Option<[i64; 4]> {
    let s = s.as_ref().filter(|s| s.len() == 4)?;
    Some(if n.is_nchw() { [s[0], s[1], s[2], s[3]] } else { [s[0], s[3], s[1], s[2]] })
}

/// A filter rearranged by `perm` (as a constant when it is one), plus its TensorFlow dims.
fn filter(
    cx: &mut Ctx,
    n: &TfNode,
    w: &TfVal,
    perm: &[usize],
) -> Result<(ValueId, Option<Vec<i64>>)> {
    if let Some(t) = cx.const_of(w.id).cloned() {
        let name = format!("{}/weights", n.name);
        let tt = tensor::transpose(&t, perm, &name)
            .ok_or_else(|| n.err("cannot rearrange the filter constant"))?;
        let dims = t.dims.clone();
        return Ok((cx.add_const(&name, tt), Some(dims)));
    }
    let id = cx.native(w)?;
    let p: Vec<i64> = perm.iter().map(|&p| p as i64).collect();
    let out =
        cx.emit1("Transpose", &format!("{}/weights", n.name), &[id], vec![ints_attr("perm", &p)]);
    Ok((out, w.shape.clone()))
}

fn conv2d(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let w = cx.input(n, 1)?;
    let (xi, cf) = data_input(cx, n, &x)?;
    let (wi, wdims) = filter(cx, n, &w, &[3, 2, 0, 1])?;
    let strides = spatial(n, "strides", 1)?;
    let dil = spatial(n, "dilations", 1)?;
    let mut attrs = vec![ints_attr("strides", &strides), ints_attr("dilations", &dil)];
    attrs.extend(padding_attrs(n)?);
    // A filter with fewer input channels than the data has is a grouped convolution.
    if let (Some(wd), Some([_, c, _, _])) = (&wdims, nchw_of(n, &x.shape))
        && wd.len() == 4
        && wd[2] > 0
        && c > 0
        && c != wd[2]
    {
        if c % wd[2] != 0 {
            return Err(n.err(format!("{c} input channels do not divide into groups of {}", wd[2])));
        }
        attrs.push(int_attr("group", c / wd[2]));
    }
    if let Some(wd) = wdims.as_ref().filter(|w| w.len() == 4) {
        attrs.push(ints_attr("kernel_shape", &[wd[0], wd[1]]));
    }
    let id = cx.emit1("Conv", &n.name, &[xi, wi], attrs);
    let shape = match (nchw_of(n, &x.shape), &wdims) {
        (Some([b, _, h, ww]), Some(wd)) if wd.len() == 4 => Some(tf_shape(
            n,
            b,
            wd[3],
            &[
                out_size(n, h, wd[0], strides[0], dil[0]),
                out_size(n, ww, wd[1], strides[1], dil[1]),
            ],
        )),
        _ => None,
    };
    Ok(vec![TfVal { id, cf, shape, dtype: dtype_of(n, &x) }])
}

fn depthwise(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let w = cx.input(n, 1)?;
    let t = cx.const_of(w.id).cloned().ok_or_else(|| {
        n.err("the depthwise filter must be a constant (its channel count sets the groups)")
    })?;
    if t.dims.len() != 4 {
        return Err(n.err(format!("depthwise filter of rank {}", t.dims.len())));
    }
    let (kh, kw, c, m) = (t.dims[0], t.dims[1], t.dims[2], t.dims[3]);
    let (xi, cf) = data_input(cx, n, &x)?;
    // HWCM -> CMHW, which read as (C*M)1HW is ONNX's grouped-conv weight.
    let name = format!("{}/weights", n.name);
    let mut wt = tensor::transpose(&t, &[2, 3, 0, 1], &name)
        .ok_or_else(|| n.err("cannot rearrange the filter constant"))?;
    let cm = c.checked_mul(m).ok_or_else(|| n.err("filter channel count overflows"))?;
    wt.dims = vec![cm, 1, kh, kw];
    let wi = cx.add_const(&name, wt);
    let strides = spatial(n, "strides", 1)?;
    let dil = spatial(n, "dilations", 1)?;
    let mut attrs = vec![
        ints_attr("strides", &strides),
        ints_attr("dilations", &dil),
        int_attr("group", c),
        ints_attr("kernel_shape", &[kh, kw]),
    ];
    attrs.extend(padding_attrs(n)?);
    let id = cx.emit1("Conv", &n.name, &[xi, wi], attrs);
    let shape = nchw_of(n, &x.shape).map(|[b, _, h, ww]| {
        tf_shape(
            n,
            b,
            cm,
            &[out_size(n, h, kh, strides[0], dil[0]), out_size(n, ww, kw, strides[1], dil[1])],
        )
    });
    Ok(vec![TfVal { id, cf, shape, dtype: dtype_of(n, &x) }])
}

/// `Conv2DBackpropInput(input_sizes, filter, out_backprop)`: the gradient of a convolution,
/// which is a transposed convolution producing `input_sizes`. The padding is spelled out from
/// the known sizes (TensorFlow puts the smaller half first), so no runtime has to agree on how
/// SAME_UPPER splits for ConvTranspose.
fn conv2d_transpose(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let sizes = cx.const_ints(n, 0, "input_sizes")?;
    if sizes.len() != 4 {
        return Err(n.err("input_sizes must have 4 entries"));
    }
    let w = cx.input(n, 1)?;
    let x = cx.input(n, 2)?;
    let (xi, cf) = data_input(cx, n, &x)?;
    let (wi, wdims) = filter(cx, n, &w, &[3, 2, 0, 1])?;
    let wd = wdims.filter(|w| w.len() == 4).ok_or_else(|| n.err("filter of unknown shape"))?;
    let strides = spatial(n, "strides", 1)?;
    let dil = spatial(n, "dilations", 1)?;
    let out_hw = if n.is_nchw() { [sizes[2], sizes[3]] } else { [sizes[1], sizes[2]] };
    let [_, _, ih, iw] =
        nchw_of(n, &x.shape).ok_or_else(|| n.err("out_backprop of unknown shape"))?;
    if ih < 0 || iw < 0 {
        return Err(n.err("out_backprop has unknown spatial sizes"));
    }
    // ConvTranspose makes s*(in-1) + (k-1)*d + 1 + output_padding - pads; TensorFlow's SAME
    // padding puts the smaller half first. `output_shape` is not used: given it, runtimes
    // derive the pads themselves and split the odd one the other way.
    let mut pads = [0i64; 4];
    let mut extra = [0i64; 2];
    for (i, (inp, k)) in [(ih, wd[0]), (iw, wd[1])].into_iter().enumerate() {
        let total = i128::from(strides[i]) * (i128::from(inp) - 1)
            + (i128::from(k) - 1) * i128::from(dil[i])
            + 1
            - i128::from(out_hw[i]);
        let total = i64::try_from(total).map_err(|_| n.err("padding out of range"))?;
        if total < 0 {
            extra[i] = -total;
        } else {
            pads[i] = total / 2;
            pads[i + 2] = total - total / 2;
        }
    }
    let attrs = vec![
        ints_attr("strides", &strides),
        ints_attr("dilations", &dil),
        ints_attr("kernel_shape", &[wd[0], wd[1]]),
        ints_attr("pads", &pads),
        ints_attr("output_padding", &extra),
    ];
    let id = cx.emit1("ConvTranspose", &n.name, &[xi, wi], attrs);
    Ok(vec![TfVal { id, cf, shape: Some(sizes), dtype: dtype_of(n, &x) }])
}

fn pool(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let (xi, cf) = data_input(cx, n, &x)?;
    let k = spatial(n, "ksize", 1)?;
    let strides = spatial(n, "strides", 1)?;
    let mut attrs = vec![ints_attr("kernel_shape", &k), ints_attr("strides", &strides)];
    attrs.extend(padding_attrs(n)?);
    let op = if n.op == "MaxPool" { "MaxPool" } else { "AveragePool" };
    if op == "AveragePool" {
        // TensorFlow averages over the pixels inside the image only.
        attrs.push(int_attr("count_include_pad", 0));
    }
    let id = cx.emit1(op, &n.name, &[xi], attrs);
    let shape = nchw_of(n, &x.shape).map(|[b, c, h, w]| {
        tf_shape(
            n,
            b,
            c,
            &[out_size(n, h, k[0], strides[0], 1), out_size(n, w, k[1], strides[1], 1)],
        )
    });
    Ok(vec![TfVal { id, cf, shape, dtype: dtype_of(n, &x) }])
}
