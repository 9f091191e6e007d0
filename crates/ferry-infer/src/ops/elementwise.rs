//! Element-wise operators: unary ones keep their input's type; binary and variadic ones
//! broadcast; comparisons and logic produce booleans. Integer contents are propagated through
//! the arithmetic that shape computations use (`Add`, `Sub`, `Mul`, `Div`, comparisons, `Where`).

use super::Registry;
use super::util::{broadcast_inputs, optional, same_as_input, tensor};
use crate::ctx::{Ctx, Res, need};
use crate::fact::{Data, Fact, Konst};
use crate::sym::Dim;
use ferry_ir::DataType;

const UNARY: &[&str] = &[
    "Abs",
    "Acos",
    "Acosh",
    "Asin",
    "Asinh",
    "Atan",
    "Atanh",
    "BitwiseNot",
    "Ceil",
    "Celu",
    "Cos",
    "Cosh",
    "Elu",
    "Erf",
    "Exp",
    "Floor",
    "Gelu",
    "HardSigmoid",
    "HardSwish",
    "Hardmax",
    "LeakyRelu",
    "Log",
    "LogSoftmax",
    "Mish",
    "Neg",
    "Not",
    "Reciprocal",
    "Relu",
    "Round",
    "Selu",
    "Shrink",
    "Sigmoid",
    "Sign",
    "Sin",
    "Sinh",
    "Softmax",
    "Softplus",
    "Softsign",
    "Sqrt",
    "Tan",
    "Tanh",
    "ThresholdedRelu",
    "Clip",
    "LpNormalization",
    "MeanVarianceNormalization",
    "Swish",
];

const ARITH: &[&str] = &[
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Mod",
    "BitShift",
    "BitwiseAnd",
    "BitwiseOr",
    "BitwiseXor",
    "PRelu",
];
const COMPARE: &[&str] =
    &["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor"];
const VARIADIC: &[&str] = &["Sum", "Mean", "Max", "Min"];

pub fn register(r: &mut Registry) {
    r.add("", UNARY, unary);
    r.add("", ARITH, arith);
    r.add("", COMPARE, compare);
    r.add("", VARIADIC, variadic);
    r.add("", &["IsNaN", "IsInf"], is_class);
    r.add("", &["Where"], where_op);
    r.add("", &["Identity"], identity);
    // PRelu's output has X's shape: the slope broadcasts one way into X (and before opset 7
    // it followed older, channel-wise rules), so it never widens the result.
    r.add("", &["PRelu"], unary);
    r.add("", &["Dropout"], dropout);
}

fn unary(ctx: &mut Ctx<'_>) -> Res {
    same_as_input(ctx, 0, 0)
}

fn identity(ctx: &mut Ctx<'_>) -> Res {
    let f = need(ctx.input(0).cloned())?;
    ctx.set(0, f);
    Ok(())
}

fn dropout(ctx: &mut Ctx<'_>) -> Res {
    let f = need(ctx.input(0).cloned())?;
    if ctx.num_outputs() > 1 {
        let shape = f.shape().map(<[Dim]>::to_vec);
        ctx.set_type(1, tensor(Some(DataType::BOOL), shape));
    }
    ctx.set(0, Fact { ty: f.ty, value: None });
    Ok(())
}

/// Applies `op` element-wise to two integer contents with broadcasting of single elements, or
/// of equal shapes (what shape arithmetic needs); `None` for anything else. (Equal lengths are
/// not enough: `[5,1] - [1,5]` has 25 elements.)
fn zip_ints(a: &Konst, b: &Konst, op: impl Fn(&Dim, &Dim) -> Dim) -> Option<Vec<Dim>> {
    let (Data::Int(x), Data::Int(y)) = (&a.data, &b.data) else { return None };
    match (x.len(), y.len()) {
        (n, m) if n == m && a.dims == b.dims => {
            Some(x.iter().zip(y).map(|(p, q)| op(p, q)).collect())
        }
        (1, _) => Some(y.iter().map(|q| op(&x[0], q)).collect()),
        (_, 1) => Some(x.iter().map(|p| op(p, &y[0])).collect()),
        _ => None,
    }
}

fn arith(ctx: &mut Ctx<'_>) -> Res {
    let shape = optional(broadcast_inputs(ctx, [0, 1]))?;
    let elem = ctx.elem(0).or_else(|| ctx.elem(1));
    let ty = tensor(elem, shape.clone());
    let mut fact = Fact::of_type(ty);
    if let (Some(a), Some(b), Some(shape)) = (
        ctx.input(0).and_then(|f| f.value.clone()),
        ctx.input(1).and_then(|f| f.value.clone()),
        &shape,
    ) {
        let op = ctx.op().to_string();
        let data = match op.as_str() {
            "Add" => zip_ints(&a, &b, Dim::add),
            "Sub" => zip_ints(&a, &b, Dim::sub),
            "Mul" => zip_ints(&a, &b, Dim::mul),
            "Div" => zip_ints(&a, &b, |p, q| match (p.as_const(), q.as_const()) {
                // Integer division truncates toward zero, as ONNX's Div does for integers.
                (Some(x), Some(y)) if y != 0 => Dim::known(x / y),
                _ => p.div(q),
            }),
            _ => None,
        };
        if let (Some(data), Some(elem)) = (data, elem)
            && shape.iter().all(|d| d.as_const().is_some())
        {
            let dims: Vec<i64> = shape.iter().filter_map(Dim::as_const).collect();
            fact.value = Some(Konst { elem, dims, data: Data::Int(data) });
        }
    }
    ctx.set(0, fact);
    Ok(())
}

fn compare(ctx: &mut Ctx<'_>) -> Res {
    let shape = optional(broadcast_inputs(ctx, [0, 1]))?;
    let mut fact = Fact::of_type(tensor(Some(DataType::BOOL), shape.clone()));
    if let (Some(a), Some(b), Some(shape)) = (
        ctx.input(0).and_then(|f| f.value.clone()),
        ctx.input(1).and_then(|f| f.value.clone()),
        &shape,
    ) {
        let op = ctx.op().to_string();
        let known =
            |p: &Dim, q: &Dim, f: &dyn Fn(i64, i64) -> bool| match (p.as_const(), q.as_const()) {
                (Some(x), Some(y)) => Dim::known(i64::from(f(x, y))),
                // Equal symbols are equal even when unknown.
                // (An unknown number is not known to equal another unknown one.)
                _ if p == q && op == "Equal" && p.expr().is_some() => Dim::known(1),
                _ => Dim::Unknown,
            };
        let data = match op.as_str() {
            "Equal" => zip_ints(&a, &b, |p, q| known(p, q, &|x, y| x == y)),
            "Less" => zip_ints(&a, &b, |p, q| known(p, q, &|x, y| x < y)),
            "Greater" => zip_ints(&a, &b, |p, q| known(p, q, &|x, y| x > y)),
            "LessOrEqual" => zip_ints(&a, &b, |p, q| known(p, q, &|x, y| x <= y)),
            "GreaterOrEqual" => zip_ints(&a, &b, |p, q| known(p, q, &|x, y| x >= y)),
            "And" => zip_ints(&a, &b, |p, q| known(p, q, &|x, y| x != 0 && y != 0)),
            "Or" => zip_ints(&a, &b, |p, q| known(p, q, &|x, y| x != 0 || y != 0)),
            "Xor" => zip_ints(&a, &b, |p, q| known(p, q, &|x, y| (x != 0) != (y != 0))),
            _ => None,
        };
        if let Some(data) = data
            && let Some(dims) = shape.iter().map(Dim::as_const).collect::<Option<Vec<i64>>>()
        {
            fact.value = Some(Konst { elem: DataType::BOOL, dims, data: Data::Int(data) });
        }
    }
    ctx.set(0, fact);
    Ok(())
}

fn variadic(ctx: &mut Ctx<'_>) -> Res {
    let shape = optional(broadcast_inputs(ctx, 0..ctx.num_inputs()))?;
    let elem = (0..ctx.num_inputs()).find_map(|i| ctx.elem(i));
    ctx.set_type(0, tensor(elem, shape));
    Ok(())
}

fn is_class(ctx: &mut Ctx<'_>) -> Res {
    let shape = ctx.shape(0).map(<[Dim]>::to_vec);
    ctx.set_type(0, tensor(Some(DataType::BOOL), shape));
    Ok(())
}

fn where_op(ctx: &mut Ctx<'_>) -> Res {
    let shape = optional(broadcast_inputs(ctx, [0, 1, 2]))?;
    let elem = ctx.elem(1).or_else(|| ctx.elem(2));
    let mut fact = Fact::of_type(tensor(elem, shape.clone()));
    // Where over shape vectors: pick element-wise when the condition is known.
    if let (Some(c), Some(x), Some(y), Some(elem)) = (
        ctx.input(0).and_then(|f| f.value.clone()),
        ctx.input(1).and_then(|f| f.value.clone()),
        ctx.input(2).and_then(|f| f.value.clone()),
        elem,
    ) && let (Data::Int(c), Data::Int(xv), Data::Int(yv)) = (&c.data, &x.data, &y.data)
        && let Some(shape) = &shape
        && let Some(dims) = shape.iter().map(Dim::as_const).collect::<Option<Vec<i64>>>()
    {
        let n = dims.iter().product::<i64>().max(0) as usize;
        let pick = |v: &Vec<Dim>, i: usize| {
            if v.len() == 1 { v[0].clone() } else { v.get(i).cloned().unwrap_or(Dim::Unknown) }
        };
        let data: Option<Vec<Dim>> = (0..n)
            .map(|i| {
                let cond = if c.len() == 1 { &c[0] } else { c.get(i)? };
                Some(match cond.as_const() {
                    Some(0) => pick(yv, i),
                    Some(_) => pick(xv, i),
                    // Unknown condition: known only where both sides agree.
                    None => {
                        let (p, q) = (pick(xv, i), pick(yv, i));
                        if p == q && p.expr().is_some() { p } else { Dim::Unknown }
                    }
                })
            })
            .collect();
        if let Some(data) = data {
            fact.value = Some(Konst { elem, dims, data: Data::Int(data) });
        }
    }
    ctx.set(0, fact);
    Ok(())
}
