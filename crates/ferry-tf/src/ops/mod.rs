//! The op table: one rule per TensorFlow op, grouped by family, one file per family.
//!
//! A rule reads the node's converted inputs from the context, adds IR nodes, and returns the
//! node's outputs (with their layout, and shape and type where known).

use crate::ctx::{Ctx, TfVal};
use crate::error::Result;
use crate::flatten::TfNode;
use ferry_ir::{DataType, ValueId};

pub mod control;
pub mod conv;
pub mod custom;
pub mod elementwise;
pub mod image;
pub mod index;
pub mod list;
pub mod matmul;
pub mod nn;
pub mod reduce;
pub mod shape;
pub mod slice;
pub mod split;

pub type Rule = fn(&mut Ctx, &TfNode) -> Result<Vec<TfVal>>;

/// The rule for `op`, or `None` when ferry cannot convert it.
pub fn lookup(op: &str) -> Option<Rule> {
    elementwise::lookup(op)
        .or_else(|| nn::lookup(op))
        .or_else(|| conv::lookup(op))
        .or_else(|| matmul::lookup(op))
        .or_else(|| reduce::lookup(op))
        .or_else(|| shape::lookup(op))
        .or_else(|| slice::lookup(op))
        .or_else(|| split::lookup(op))
        .or_else(|| control::lookup(op))
        .or_else(|| image::lookup(op))
        .or_else(|| index::lookup(op))
        .or_else(|| list::lookup(op))
}

/// Every op type with a rule, for documentation and the CLI.
pub fn is_supported(op: &str) -> bool {
    lookup(op).is_some()
}

/// A TensorFlow-layout output.
pub fn native(id: ValueId, shape: Option<Vec<i64>>, dtype: Option<DataType>) -> TfVal {
    TfVal { id, cf: false, shape, dtype }
}

/// The element type of `n`'s output: its `T` attribute, else its first input's.
pub fn dtype_of(n: &TfNode, input: &TfVal) -> Option<DataType> {
    n.onnx_type("T").or(input.dtype)
}

/// `v` as an int64 tensor (TensorFlow shape/index tensors are often int32; ONNX wants int64):
/// a converted constant, or a Cast.
pub fn as_i64(cx: &mut Ctx, v: &TfVal, name: &str) -> Result<ValueId> {
    if v.dtype == Some(DataType::INT64) {
        return cx.native(v);
    }
    if let Some(vals) = cx.const_of(v.id).and_then(crate::tensor::ints) {
        let dims = cx.const_of(v.id).map(|t| t.dims.clone()).unwrap_or_default();
        let t = crate::tensor::i64_tensor(name, dims, &vals);
        return Ok(cx.add_const(name, t));
    }
    let id = cx.native(v)?;
    Ok(cx.emit1(
        "Cast",
        name,
        &[id],
        vec![crate::ctx::int_attr("to", i64::from(DataType::INT64.0))],
    ))
}

/// Numpy-style broadcast of two known shapes.
pub fn broadcast(a: &Option<Vec<i64>>, b: &Option<Vec<i64>>) -> Option<Vec<i64>> {
    let (a, b) = (a.as_ref()?, b.as_ref()?);
    let r = a.len().max(b.len());
    let mut out = vec![0; r];
    for (i, o) in out.iter_mut().enumerate() {
        let da = if i + a.len() >= r { a[i + a.len() - r] } else { 1 };
        let db = if i + b.len() >= r { b[i + b.len() - r] } else { 1 };
        *o = match (da, db) {
            (1, d) | (d, 1) => d,
            (x, y) if x == y => x,
            (x, y) if x < 0 || y < 0 => x.max(y),
            _ => return None,
        };
    }
    Some(out)
}

/// Normalizes a possibly negative axis against `rank`.
pub fn norm_axis(n: &TfNode, axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r.max(1) {
        return Err(n.err(format!("axis {axis} out of range for rank {rank}")));
    }
    Ok(a as usize)
}

/// `axis` as a non-negative index; a negative one needs the rank.
pub fn axis_in(n: &TfNode, axis: i64, rank: Option<usize>) -> Result<usize> {
    match rank {
        Some(r) => norm_axis(n, axis, r),
        None if axis >= 0 => Ok(axis as usize),
        None => Err(n.err(format!("negative axis {axis} on an input of unknown rank"))),
    }
}
