//! Reductions (Mean, Sum, Max, Min, Prod, All, Any) and ArgMax/ArgMin.
//!
//! A reduction over constant axes of a channels-first value reduces the corresponding
//! channels-first axes. Without keep_dims the result is TensorFlow-layout again when the axes
//! left over are in TensorFlow's order -- Keras's global average pooling (Mean over H and W)
//! leaves [N, C] in both layouts, so no Transpose is needed after a CNN's last conv.

use super::{Rule, dtype_of, native, norm_axis};
use crate::ctx::{Ctx, TfVal, from_cf_perm, int_attr, ints_attr};
use crate::error::Result;
use crate::flatten::TfNode;
use ferry_ir::DataType;

pub fn lookup(op: &str) -> Option<Rule> {
    Some(match op {
        "Mean" | "Sum" | "Max" | "Min" | "Prod" | "All" | "Any" => reduce,
        "ArgMax" | "ArgMin" => arg,
        _ => return None,
    })
}

fn reduce(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let axes = cx.const_ints(n, 1, "reduction axes")?;
    let keep = n.attr_b("keep_dims").unwrap_or(false);
    let r = x.rank().ok_or_else(|| n.err("input of unknown rank"))?;
    let mut axes: Vec<usize> = axes.iter().map(|&a| norm_axis(n, a, r)).collect::<Result<_>>()?;
    axes.sort();
    axes.dedup();
    if axes.is_empty() {
        return Ok(vec![x]);
    }
    let shape =
        x.shape.as_ref().map(|s| {
            s.iter()
                .enumerate()
                .filter_map(|(i, &d)| {
                    if axes.contains(&i) { if keep { Some(1) } else { None } } else { Some(d) }
                })
                .collect::<Vec<_>>()
        });
    // Which layout to reduce in, and the layout of the result.
    let (input, onnx_axes, out_cf) = if x.cf {
        let pos = from_cf_perm(r);
        let cf_axes: Vec<i64> = axes.iter().map(|&a| pos[a]).collect();
        let rest: Vec<i64> = (0..r).filter(|a| !axes.contains(a)).map(|a| pos[a]).collect();
        if keep {
            (x.id, cf_axes, true)
        } else if rest.windows(2).all(|w| w[0] < w[1]) {
            (x.id, cf_axes, false)
        } else {
            (cx.native(&x)?, axes.iter().map(|&a| a as i64).collect(), false)
        }
    } else {
        (x.id, axes.iter().map(|&a| a as i64).collect(), false)
    };
    let dt = dtype_of(n, &x);
    let keep_attr = int_attr("keepdims", i64::from(keep));
    let boolean = matches!(n.op.as_str(), "All" | "Any");
    let op = match n.op.as_str() {
        "Mean" => "ReduceMean",
        "Sum" => "ReduceSum",
        "Max" | "Any" => "ReduceMax",
        "Min" | "All" => "ReduceMin",
        _ => "ReduceProd",
    };
    let mut data = input;
    if boolean {
        let to = int_attr("to", i64::from(DataType::INT32.0));
        data = cx.emit1("Cast", &format!("{}/as_int", n.name), &[input], vec![to]);
    }
    let red_name = if boolean { format!("{}/int", n.name) } else { n.name.clone() };
    let mut id = if op == "ReduceSum" || cx.opset >= 18 {
        let ax = cx.const_i64(&format!("{}/axes", n.name), &onnx_axes);
        cx.emit1(op, &red_name, &[data, ax], vec![keep_attr])
    } else {
        cx.emit1(op, &red_name, &[data], vec![ints_attr("axes", &onnx_axes), keep_attr])
    };
    if boolean {
        let to = int_attr("to", i64::from(DataType::BOOL.0));
        id = cx.emit1("Cast", &n.name, &[id], vec![to]);
    }
    Ok(vec![TfVal {
        id,
        cf: out_cf,
        shape,
        dtype: if boolean { Some(DataType::BOOL) } else { dt },
    }])
}

fn arg(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let axis = cx.const_ints(n, 1, "dimension")?;
    let [axis] = axis[..] else { return Err(n.err("dimension must be a scalar")) };
    let r = x.rank().ok_or_else(|| n.err("input of unknown rank"))?;
    let axis = norm_axis(n, axis, r)?;
    let xi = cx.native(&x)?;
    let out_t = n.onnx_type("output_type").unwrap_or(DataType::INT64);
    let name = if out_t == DataType::INT64 { n.name.clone() } else { format!("{}/i64", n.name) };
    let attrs = vec![int_attr("axis", axis as i64), int_attr("keepdims", 0)];
    let mut id = cx.emit1(&n.op, &name, &[xi], attrs);
    if out_t != DataType::INT64 {
        id = cx.emit1("Cast", &n.name, &[id], vec![int_attr("to", i64::from(out_t.0))]);
    }
    let shape = x
        .shape
        .as_ref()
        .map(|s| s.iter().enumerate().filter(|(i, _)| *i != axis).map(|(_, &d)| d).collect());
    Ok(vec![native(id, shape, Some(out_t))])
}
