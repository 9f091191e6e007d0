//! Element-wise ops: unary math and activations, binary arithmetic and comparisons, Cast,
//! Select. They keep a channels-first input channels-first; a binary op whose other operand is
//! a constant gets that constant laid out to match (reshaped to the full rank, permuted), so a
//! layout change never needs a Transpose just for an `x * scale`.

use super::{Rule, broadcast, dtype_of, native};
use crate::ctx::{Ctx, TfVal, float_attr, int_attr, to_cf_perm};
use crate::error::Result;
use crate::flatten::TfNode;
use crate::tensor;
use ferry_ir::{DataType, TypeClass, ValueId};

pub fn lookup(op: &str) -> Option<Rule> {
    Some(match op {
        "Identity" | "StopGradient" | "Snapshot" | "PreventGradient" | "EnsureShape"
        | "ReadVariableOp" | "CheckNumerics" => alias,
        "IdentityN" => identity_n,
        "Relu" | "Sigmoid" | "Tanh" | "Exp" | "Log" | "Sqrt" | "Neg" | "Abs" | "Floor" | "Ceil"
        | "Round" | "Erf" | "Sin" | "Cos" | "Tan" | "Asin" | "Acos" | "Atan" | "Sinh" | "Cosh"
        | "Softplus" | "Softsign" | "Sign" | "Reciprocal" | "Inv" | "LogicalNot" | "Elu"
        | "Selu" | "IsNan" | "IsInf" | "Rint" => unary,
        "IsFinite" => is_finite,
        "ClipByValue" => clip,
        "Rsqrt" | "Square" | "Relu6" | "LeakyRelu" | "Log1p" | "Erfc" => composite,
        "Cast" => cast,
        "Add" | "AddV2" | "Sub" | "Mul" | "RealDiv" | "Div" | "Maximum" | "Minimum" | "Pow"
        | "SquaredDifference" | "FloorDiv" | "Less" | "LessEqual" | "Greater" | "GreaterEqual"
        | "Equal" | "NotEqual" | "LogicalAnd" | "LogicalOr" | "DivNoNan" | "FloorMod" => binary,
        "AddN" => add_n,
        "Select" | "SelectV2" => select,
        _ => return None,
    })
}

fn alias(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    Ok(vec![cx.input(n, 0)?])
}

fn identity_n(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    (0..n.inputs.len()).map(|i| cx.input(n, i)).collect()
}

fn unary(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let op = match n.op.as_str() {
        "Inv" => "Reciprocal",
        "LogicalNot" => "Not",
        "IsNan" => "IsNaN",
        // Both round halves to even.
        "Rint" => "Round",
        o => o,
    };
    let mut attrs = Vec::new();
    if op == "Elu" {
        attrs.push(float_attr("alpha", 1.0));
    }
    let id = cx.emit1(op, &n.name, &[x.id], attrs);
    let dtype =
        if matches!(op, "IsNaN" | "IsInf") { Some(DataType::BOOL) } else { dtype_of(n, &x) };
    Ok(vec![TfVal { id, cf: x.cf, shape: x.shape, dtype }])
}

fn composite(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let dt = dtype_of(n, &x).ok_or_else(|| n.err("unknown element type"))?;
    let tmp = format!("{}/pre", n.name);
    let id = match n.op.as_str() {
        "Rsqrt" => {
            let s = cx.emit1("Sqrt", &tmp, &[x.id], vec![]);
            cx.emit1("Reciprocal", &n.name, &[s], vec![])
        }
        "Square" => cx.emit1("Mul", &n.name, &[x.id, x.id], vec![]),
        "Relu6" => {
            let lo = cx.const_scalar(&format!("{}/min", n.name), dt, 0.0)?;
            let hi = cx.const_scalar(&format!("{}/max", n.name), dt, 6.0)?;
            cx.emit1("Clip", &n.name, &[x.id, lo, hi], vec![])
        }
        "LeakyRelu" => {
            let alpha = n.attr_f("alpha").unwrap_or(0.2);
            cx.emit1("LeakyRelu", &n.name, &[x.id], vec![float_attr("alpha", alpha)])
        }
        "Erfc" => {
            let one = cx.const_scalar(&format!("{}/one", n.name), dt, 1.0)?;
            let e = cx.emit1("Erf", &tmp, &[x.id], vec![]);
            cx.emit1("Sub", &n.name, &[one, e], vec![])
        }
        "Log1p" => {
            let one = cx.const_scalar(&format!("{}/one", n.name), dt, 1.0)?;
            let s = cx.emit1("Add", &tmp, &[x.id, one], vec![]);
            cx.emit1("Log", &n.name, &[s], vec![])
        }
        _ => return Err(n.err("no composite rule")),
    };
    Ok(vec![TfVal { id, cf: x.cf, shape: x.shape, dtype: Some(dt) }])
}

fn cast(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let to = n.onnx_type("DstT").ok_or_else(|| n.err("DstT has no ONNX type"))?;
    let id = cx.emit1("Cast", &n.name, &[x.id], vec![int_attr("to", i64::from(to.0))]);
    Ok(vec![TfVal { id, cf: x.cf, shape: x.shape, dtype: Some(to) }])
}

/// The two operands of a binary op in a common layout, and whether it is channels-first.
pub fn common_layout(
    cx: &mut Ctx,
    n: &TfNode,
    a: &TfVal,
    b: &TfVal,
) -> Result<(ValueId, ValueId, bool)> {
    if a.cf == b.cf && (!a.cf || a.rank() == b.rank()) {
        return Ok((a.id, b.id, a.cf));
    }
    let (c, o, c_first) = if a.cf { (a, b, true) } else { (b, a, false) };
    let r = c.rank().unwrap_or(0);
    if let Some(t) = cx.const_of(o.id).filter(|t| t.dims.len() <= r).cloned() {
        // Lay the constant out channels-first: pad its dims to rank r, then permute.
        let id = if t.dims.iter().product::<i64>() == 1 {
            o.id
        } else {
            let mut padded = t.clone();
            padded.dims = std::iter::repeat_n(1, r - t.dims.len()).chain(t.dims.clone()).collect();
            let perm: Vec<usize> = to_cf_perm(r).iter().map(|&p| p as usize).collect();
            match tensor::transpose(&padded, &perm, &format!("{}/cf", n.name)) {
                Some(tt) => {
                    let name = format!("{}_nchw", cx.g.value(o.id).name);
                    cx.add_const(&name, tt)
                }
                None => {
                    let a = cx.native(a)?;
                    let b = cx.native(b)?;
                    return Ok((a, b, false));
                }
            }
        };
        return Ok(if c_first { (c.id, id, true) } else { (id, c.id, true) });
    }
    if o.rank() == Some(0) {
        return Ok(if c_first { (c.id, o.id, true) } else { (o.id, c.id, true) });
    }
    if o.rank() == Some(r) {
        // Bring the other operand over (in a squeeze-and-excite block it is the small [N,1,1,C]
        // gate) rather than the channels-first one back: the conv chain stays channels-first.
        let oi = cx.channels_first(o, n)?;
        return Ok(if c_first { (c.id, oi, true) } else { (oi, c.id, true) });
    }
    let a = cx.native(a)?;
    let b = cx.native(b)?;
    Ok((a, b, false))
}

fn binary(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let a = cx.input(n, 0)?;
    let b = cx.input(n, 1)?;
    let dt = dtype_of(n, &a);
    let is_float = dt.and_then(|d| d.info()).is_some_and(|i| i.class == TypeClass::Float);
    let (x, y, cf) = common_layout(cx, n, &a, &b)?;
    let shape = broadcast(&a.shape, &b.shape);
    let tmp = format!("{}/pre", n.name);
    let (id, out_dt) = match n.op.as_str() {
        "Add" | "AddV2" => (cx.emit1("Add", &n.name, &[x, y], vec![]), dt),
        "Sub" => (cx.emit1("Sub", &n.name, &[x, y], vec![]), dt),
        "Mul" => (cx.emit1("Mul", &n.name, &[x, y], vec![]), dt),
        "RealDiv" => (cx.emit1("Div", &n.name, &[x, y], vec![]), dt),
        "Div" if is_float => (cx.emit1("Div", &n.name, &[x, y], vec![]), dt),
        "Div" | "FloorDiv" if !is_float => {
            return Err(n.err("integer division (TensorFlow rounds toward -inf) is not supported"));
        }
        "FloorDiv" => {
            let d = cx.emit1("Div", &tmp, &[x, y], vec![]);
            (cx.emit1("Floor", &n.name, &[d], vec![]), dt)
        }
        "DivNoNan" => {
            let dtv = dt.ok_or_else(|| n.err("unknown element type"))?;
            let zero = cx.const_scalar(&format!("{}/zero", n.name), dtv, 0.0)?;
            let is0 = cx.emit1("Equal", &format!("{}/is0", n.name), &[y, zero], vec![]);
            let d = cx.emit1("Div", &tmp, &[x, y], vec![]);
            (cx.emit1("Where", &n.name, &[is0, zero, d], vec![]), dt)
        }
        // Python's modulo (the result has the divisor's sign): ONNX Mod with fmod=0 for
        // integers; for floats ONNX only has C's fmod, so x - floor(x / y) * y.
        "FloorMod" if !is_float => {
            (cx.emit1("Mod", &n.name, &[x, y], vec![int_attr("fmod", 0)]), dt)
        }
        "FloorMod" => {
            let d = cx.emit1("Div", &tmp, &[x, y], vec![]);
            let f = cx.emit1("Floor", &format!("{}/floor", n.name), &[d], vec![]);
            let m = cx.emit1("Mul", &format!("{}/mul", n.name), &[f, y], vec![]);
            (cx.emit1("Sub", &n.name, &[x, m], vec![]), dt)
        }
        "Maximum" => (cx.emit1("Max", &n.name, &[x, y], vec![]), dt),
        "Minimum" => (cx.emit1("Min", &n.name, &[x, y], vec![]), dt),
        "Pow" => (cx.emit1("Pow", &n.name, &[x, y], vec![]), dt),
        "SquaredDifference" => {
            let d = cx.emit1("Sub", &tmp, &[x, y], vec![]);
            (cx.emit1("Mul", &n.name, &[d, d], vec![]), dt)
        }
        "Less" | "LessEqual" | "Greater" | "GreaterEqual" | "Equal" => {
            let op = if n.op == "LessEqual" {
                "LessOrEqual"
            } else if n.op == "GreaterEqual" {
                "GreaterOrEqual"
            } else {
                n.op.as_str()
            };
            (cx.emit1(op, &n.name, &[x, y], vec![]), Some(DataType::BOOL))
        }
        "NotEqual" => {
            let e = cx.emit1("Equal", &tmp, &[x, y], vec![]);
            (cx.emit1("Not", &n.name, &[e], vec![]), Some(DataType::BOOL))
        }
        "LogicalAnd" => (cx.emit1("And", &n.name, &[x, y], vec![]), Some(DataType::BOOL)),
        "LogicalOr" => (cx.emit1("Or", &n.name, &[x, y], vec![]), Some(DataType::BOOL)),
        _ => return Err(n.err("no binary rule")),
    };
    Ok(vec![TfVal { id, cf, shape, dtype: out_dt }])
}

fn add_n(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let vals: Vec<TfVal> = (0..n.inputs.len()).map(|i| cx.input(n, i)).collect::<Result<_>>()?;
    if vals.is_empty() {
        return Err(n.err("no inputs"));
    }
    let all_cf = vals.iter().all(|v| v.cf && v.rank() == vals[0].rank());
    let mut ids = Vec::new();
    for v in &vals {
        ids.push(if all_cf { v.id } else { cx.native(v)? });
    }
    let id = cx.emit1("Sum", &n.name, &ids, vec![]);
    let shape = vals.iter().skip(1).fold(vals[0].shape.clone(), |s, v| broadcast(&s, &v.shape));
    Ok(vec![TfVal { id, cf: all_cf, shape, dtype: dtype_of(n, &vals[0]) }])
}

/// `Select` (rank-1 condition picks rows) and `SelectV2` (broadcasting) to `Where`.
fn select(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let c = cx.input(n, 0)?;
    let a = cx.input(n, 1)?;
    let b = cx.input(n, 2)?;
    let mut cond = cx.native(&c)?;
    let x = cx.native(&a)?;
    let y = cx.native(&b)?;
    if n.op == "Select" {
        match (c.rank(), a.rank()) {
            (Some(rc), Some(ra)) if rc == 1 && ra > 1 => {
                let axes: Vec<i64> = (1..ra as i64).collect();
                let ax = cx.const_i64(&format!("{}/axes", n.name), &axes);
                cond = cx.emit1("Unsqueeze", &format!("{}/cond", n.name), &[cond, ax], vec![]);
            }
            (Some(rc), Some(ra)) if rc == ra || rc == 0 => {}
            _ => return Err(n.err("Select needs the ranks of its condition and values")),
        }
    }
    let id = cx.emit1("Where", &n.name, &[cond, x, y], vec![]);
    let shape = broadcast(&broadcast(&c.shape, &a.shape), &b.shape);
    Ok(vec![native(id, shape, dtype_of(n, &a))])
}

/// Neither infinite nor NaN.
fn is_finite(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let inf = cx.emit1("IsInf", &format!("{}/inf", n.name), &[x.id], vec![]);
    let nan = cx.emit1("IsNaN", &format!("{}/nan", n.name), &[x.id], vec![]);
    let bad = cx.emit1("Or", &format!("{}/bad", n.name), &[inf, nan], vec![]);
    let id = cx.emit1("Not", &n.name, &[bad], vec![]);
    Ok(vec![TfVal { id, cf: x.cf, shape: x.shape, dtype: Some(DataType::BOOL) }])
}

/// `ClipByValue(t, min, max)`: ONNX Clip takes scalar bounds; tensor bounds broadcast through
/// Max and Min.
fn clip(cx: &mut Ctx, n: &TfNode) -> Result<Vec<TfVal>> {
    let x = cx.input(n, 0)?;
    let lo = cx.input(n, 1)?;
    let hi = cx.input(n, 2)?;
    let xi = cx.native(&x)?;
    let loi = cx.native(&lo)?;
    let hii = cx.native(&hi)?;
    let id = if lo.rank() == Some(0) && hi.rank() == Some(0) {
        cx.emit1("Clip", &n.name, &[xi, loi, hii], vec![])
    } else {
        let m = cx.emit1("Max", &format!("{}/lower", n.name), &[xi, loi], vec![]);
        cx.emit1("Min", &n.name, &[m, hii], vec![])
    };
    let shape = broadcast(&broadcast(&x.shape, &lo.shape), &hi.shape);
    Ok(vec![native(id, shape, dtype_of(n, &x))])
}
