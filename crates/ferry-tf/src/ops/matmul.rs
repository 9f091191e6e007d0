//! MatMul, BatchMatMul(V2/V3) and Einsum.
//!
//! ONNX's MatMul has no transpose flags: a constant operand is transposed once at conversion,
//! a computed one gets a Transpose of its last two axes.

use super::{Rule, dtype_of, native};
use crate::ctx::{Ctx, TfVal, ints_attr, str_attr};
use crate::error::Result;
use crate::flatten::TfNode;
use crate::tensor;
use ferry_ir::ValueId;

pub fn lookup(op: &str) -> Option<Rule> {
    Some(match op {
        "MatMul" | "BatchMatMul" | "BatchMatMulV2" | "BatchMatMulV3" => matmul,
        "Einsum" => einsum,
        _ => return None,
    })
}

/// `v` with its last two axes swapped, and its shape.
fn swap_last(
    cx: &mut Ctx,
    n: &TfNode,
    v: &TfVal,
    which: &str,
) -> Result<(ValueId, Option<Vec<i64>>)> {
    let r = v
        .rank()
        .or_else(|| cx.const_of(v.id).map(|t| t.dims.len()))
        .ok_or_else(|| n.err(format!("{which} is transposed but its rank is unknown")))?;
    if r < 2 {
        return Err(n.err(format!("{which} has rank {r}, cannot transpose")));
    }
    let mut perm: Vec<usize> = (0..r).collect();
    perm.swap(r - 1, r - 2);
    let shape = v.shape.as_ref().map(|s| perm.iter().map(|&p| s[p]).collect::<Vec<_>>());
    if let Some(t) = cx.const_of(v.id).cloned() {
        let name = format!("{}/{which}_t", n.name);
        let tt = tensor::transpose(&t, &perm, &name)
            .ok_or_else(|| n.err("cannot transpose constant"))?;
        return Ok((cx.add_const(&name, tt), shape));
    }
    let id = cx.native(v)?;
    let p: Vec<i64> = perm.iter().map(|&p| p as i64).collect();
    Ok((
        cx.emit1("Transpose", &format!("{}/{which}_t", n.name), &[id], vec![ints_attr("perm", &p)]),
        shape,
    ))
}

fn matmul(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let a = cx.input(n, 0)?;
    let b = cx.input(n, 1)?;
    let (ta, tb) = if n.op == "MatMul" {
        (n.attr_b("transpose_a").unwrap_or(false), n.attr_b("transpose_b").unwrap_or(false))
    } else {
        (n.attr_b("adj_x").unwrap_or(false), n.attr_b("adj_y").unwrap_or(false))
    };
    let (ai, ashape) =
        if ta { swap_last(cx, n, &a, "a")? } else { (cx.native(&a)?, a.shape.clone()) };
    let (bi, bshape) =
        if tb { swap_last(cx, n, &b, "b")? } else { (cx.native(&b)?, b.shape.clone()) };
    let bshape = bshape.or_else(|| cx.const_of(b.id).map(|t| t.dims.clone()));
    let id = cx.emit1("MatMul", &n.name, &[ai, bi], vec![]);
    let shape = match (&ashape, &bshape) {
        (Some(sa), Some(sb)) if sa.len() >= 2 && sb.len() >= 2 => {
            let batch = super::broadcast(
                &Some(sa[..sa.len() - 2].to_vec()),
                &Some(sb[..sb.len() - 2].to_vec()),
            );
            batch.map(|mut bt| {
                bt.push(sa[sa.len() - 2]);
                bt.push(sb[sb.len() - 1]);
                bt
            })
        }
        _ => None,
    };
    let dt = n.onnx_type("Tout").or_else(|| dtype_of(n, &a));
    Ok(vec![native(id, shape, dt)])
}

fn einsum(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let eq = n.attr_s("equation").ok_or_else(|| n.err("no equation"))?;
    let vals: Vec<TfVal> = (0..n.inputs.len()).map(|i| cx.input(n, i)).collect::<Result<_>>()?;
    if vals.is_empty() {
        return Err(n.err("no inputs"));
    }
    let mut ids = Vec::new();
    for v in &vals {
        ids.push(cx.native(v)?);
    }
    let id = cx.emit1("Einsum", &n.name, &ids, vec![str_attr("equation", &eq)]);
    // Output shape from the equation when every input shape is known.
    let shape = (|| {
        let (lhs, rhs) = eq.split_once("->")?;
        if eq.contains("...") {
            return None;
        }
        let mut sizes = std::collections::HashMap::new();
        for (term, v) in lhs.split(',').zip(&vals) {
            let s = v.shape.as_ref()?;
            if term.len() != s.len() {
                return None;
            }
            for (c, &d) in term.chars().zip(s) {
                sizes.insert(c, d);
            }
        }
        rhs.chars().map(|c| sizes.get(&c).copied()).collect::<Option<Vec<i64>>>()
    })();
    Ok(vec![native(id, shape, dtype_of(n, &vals[0]))])
}
