//! TensorLists (what `tf.TensorArray` and Keras RNNs use inside functional `While` loops) as
//! dense tensors: a list of `n` equally shaped elements is a tensor with a leading axis of `n`.
//! Reading an element is a Gather, writing one a ScatterND, stacking is the tensor itself.
//! Lists whose elements do not share a fully known shape at creation are refused.

use super::{Rule, as_i64, native};
use crate::ctx::{Ctx, TfVal, int_attr};
use crate::error::Result;
use crate::flatten::TfNode;
use crate::tensor;
use ferry_ir::{AttrValue, Attribute, DataType};

pub fn lookup(op: &str) -> Option<Rule> {
    Some(match op {
        "TensorListReserve" => reserve,
        "TensorListFromTensor" | "TensorListStack" => as_tensor,
        "TensorListGetItem" | "TensorListGather" => get,
        "TensorListSetItem" => set,
        "TensorListScatterIntoExistingList" => scatter,
        "TensorListLength" => length,
        _ => return None,
    })
}

fn elem_type(n: &TfNode) -> Option<DataType> {
    n.onnx_type("element_dtype")
}

/// `TensorListReserve(element_shape, num_elements)`: zeros of shape [num, *element_shape].
fn reserve(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let shape = cx.const_ints(n, 0, "element_shape")?;
    let num = cx.const_ints(n, 1, "num_elements")?;
    let [num] = num[..] else { return Err(n.err("num_elements must be a scalar")) };
    if num < 0 || shape.iter().any(|&d| d < 0) {
        return Err(n.err(format!(
            "a list of {num} elements of shape {shape:?}: the length and element shape must be known"
        )));
    }
    let dt = elem_type(n).ok_or_else(|| n.err("element_dtype has no ONNX type"))?;
    let mut dims = vec![num];
    dims.extend(&shape);
    let s = cx.const_i64(&format!("{}/shape", n.name), &dims);
    let mut zero =
        tensor::scalar_tensor("value", dt, 0.0).ok_or_else(|| n.err("unsupported element type"))?;
    zero.dims = vec![1];
    let id = cx.emit1(
        "ConstantOfShape",
        &n.name,
        &[s],
        vec![Attribute::new("value", AttrValue::Tensor(Box::new(zero)))],
    );
    Ok(vec![native(id, Some(dims), Some(dt))])
}

fn as_tensor(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let t = cx.input(n, 0)?;
    let id = cx.native(&t)?;
    Ok(vec![TfVal { id, cf: false, dtype: elem_type(n).or(t.dtype), ..t }])
}

/// `TensorListGetItem(list, index)` / `TensorListGather(list, indices)`: Gather on axis 0.
fn get(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let l = cx.input(n, 0)?;
    let i = cx.input(n, 1)?;
    let li = cx.native(&l)?;
    let ii = cx.native(&i)?;
    let id = cx.emit1("Gather", &n.name, &[li, ii], vec![int_attr("axis", 0)]);
    let shape = match (&l.shape, &i.shape) {
        (Some(s), Some(is)) if !s.is_empty() => Some([&is[..], &s[1..]].concat()),
        _ => None,
    };
    Ok(vec![native(id, shape, elem_type(n).or(l.dtype))])
}

/// `TensorListSetItem(list, index, item)`: ScatterND of `[item]` at `[[index]]`.
fn set(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    if n.attr_b("resize_if_index_out_of_bounds").unwrap_or(false) {
        return Err(n.err("growing lists (resize_if_index_out_of_bounds) are not supported"));
    }
    let l = cx.input(n, 0)?;
    let i = cx.input(n, 1)?;
    let item = cx.input(n, 2)?;
    let li = cx.native(&l)?;
    let ii = as_i64(cx, &i, &format!("{}/index", n.name))?;
    let shape = cx.const_i64(&format!("{}/index_shape", n.name), &[1, 1]);
    let idx = cx.emit1("Reshape", &format!("{}/indices", n.name), &[ii, shape], vec![]);
    let it = cx.native(&item)?;
    let ax = cx.const_i64(&format!("{}/axis", n.name), &[0]);
    let upd = cx.emit1("Unsqueeze", &format!("{}/update", n.name), &[it, ax], vec![]);
    let id = cx.emit1("ScatterND", &n.name, &[li, idx, upd], vec![]);
    Ok(vec![native(id, l.shape.clone(), l.dtype.or(elem_type(n)))])
}

/// `TensorListScatterIntoExistingList(list, tensor, indices)`: rows of `tensor` at `indices`.
fn scatter(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let l = cx.input(n, 0)?;
    let t = cx.input(n, 1)?;
    let i = cx.input(n, 2)?;
    let li = cx.native(&l)?;
    let ti = cx.native(&t)?;
    let ii = as_i64(cx, &i, &format!("{}/indices", n.name))?;
    let ax = cx.const_i64(&format!("{}/axis", n.name), &[-1]);
    let idx = cx.emit1("Unsqueeze", &format!("{}/indices2", n.name), &[ii, ax], vec![]);
    let id = cx.emit1("ScatterND", &n.name, &[li, idx, ti], vec![]);
    Ok(vec![native(id, l.shape.clone(), l.dtype.or(elem_type(n)))])
}

fn length(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let l = cx.input(n, 0)?;
    if let Some(len) = l.shape.as_ref().and_then(|s| s.first()).filter(|&&d| d >= 0) {
        let t = tensor::scalar_tensor(&n.name, DataType::INT32, *len as f64)
            .ok_or_else(|| n.err("length"))?;
        let id = cx.add_const(&n.name, t);
        return Ok(vec![native(id, Some(vec![]), Some(DataType::INT32))]);
    }
    let li = cx.native(&l)?;
    let s = cx.emit1("Shape", &format!("{}/shape", n.name), &[li], vec![]);
    let zero = cx.const_i64(&format!("{}/zero", n.name), &[0]);
    let g = cx.emit1("Gather", &format!("{}/len", n.name), &[s, zero], vec![int_attr("axis", 0)]);
    let ax = cx.const_i64(&format!("{}/axes", n.name), &[0]);
    let g = cx.emit1("Squeeze", &format!("{}/scalar", n.name), &[g, ax], vec![]);
    let id = cx.emit1("Cast", &n.name, &[g], vec![int_attr("to", i64::from(DataType::INT32.0))]);
    Ok(vec![native(id, Some(vec![]), Some(DataType::INT32))])
}
