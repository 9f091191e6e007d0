//! Helpers shared by the inference functions: broadcasting, axes, propagation.

use crate::ctx::{Ctx, Stop, invalid, need};
use crate::fact::{Fact, Ty};
use crate::sym::Dim;
use ferry_ir::DataType;

/// Multidirectional (numpy) broadcasting of two shapes.
pub fn broadcast2(a: &[Dim], b: &[Dim]) -> Result<Vec<Dim>, Stop> {
    let rank = a.len().max(b.len());
    let mut out = Vec::with_capacity(rank);
    for i in 0..rank {
        let x = if i + a.len() >= rank { &a[i + a.len() - rank] } else { &Dim::known(1) };
        let y = if i + b.len() >= rank { &b[i + b.len() - rank] } else { &Dim::known(1) };
        out.push(match (x.as_const(), y.as_const()) {
            (Some(1), _) => y.clone(),
            (_, Some(1)) => x.clone(),
            (Some(p), Some(q)) if p != q => {
                return invalid(format!(
                    "shapes {} and {} cannot broadcast (dimension {p} vs {q})",
                    show(a),
                    show(b)
                ));
            }
            _ if x == y => x.clone(),
            // One is a known number other than 1 and the other symbolic: the number must hold.
            (Some(_), None) => x.clone(),
            (None, Some(_)) => y.clone(),
            // Two different symbols: either may be 1 at run time.
            _ => Dim::Unknown,
        });
    }
    Ok(out)
}

/// Broadcasts the shapes of all given inputs; quietly stops if any is unknown.
pub fn broadcast_inputs(
    ctx: &Ctx<'_>,
    inputs: impl IntoIterator<Item = usize>,
) -> Result<Vec<Dim>, Stop> {
    let mut shape: Option<Vec<Dim>> = None;
    for i in inputs {
        if !ctx.has_input(i) {
            continue;
        }
        let s = need(ctx.shape(i))?;
        shape = Some(match shape {
            None => s.to_vec(),
            Some(acc) => broadcast2(&acc, s)?,
        });
    }
    need(shape)
}

/// A readable `[N,3,224]`.
pub fn show(s: &[Dim]) -> String {
    let parts: Vec<String> = s.iter().map(Dim::to_string).collect();
    format!("[{}]", parts.join(","))
}

/// Resolves a possibly negative axis against `rank`.
pub fn axis(a: i64, rank: usize) -> Result<usize, Stop> {
    let r = rank as i64;
    if a < -r || a >= r {
        return invalid(format!("axis {a} is out of range for rank {rank}"));
    }
    Ok((if a < 0 { a + r } else { a }) as usize)
}

/// Like [`axis`] but for insertion positions (`0..=rank`).
pub fn insert_axis(a: i64, rank: usize) -> Result<usize, Stop> {
    let r = rank as i64;
    let v = if a < 0 { a + r + 1 } else { a };
    if v < 0 || v > r {
        return invalid(format!("axis {a} is out of range for inserting into rank {rank}"));
    }
    Ok(v as usize)
}

/// Output 0 gets input 0's type unchanged (element-wise unary ops).
pub fn same_as_input(ctx: &mut Ctx<'_>, input: usize, output: usize) -> Result<(), Stop> {
    let ty = need(ctx.input(input).and_then(|f| f.ty.clone()))?;
    ctx.set(output, Fact::of_type(ty));
    Ok(())
}

/// Input `i`'s contents as known integers (for shapes, axes, pads read from inputs).
pub fn const_ints(ctx: &Ctx<'_>, i: usize) -> Option<Vec<i64>> {
    ctx.input(i)?.value.as_ref()?.ints()
}

/// Input `i`'s contents as dimensions (possibly symbolic).
pub fn const_dims(ctx: &Ctx<'_>, i: usize) -> Option<Vec<Dim>> {
    ctx.input(i)?.value.as_ref()?.dims_data().map(<[Dim]>::to_vec)
}

/// The element type an attribute `to` (a `TensorProto.DataType` code) names.
pub fn dtype_attr(ctx: &Ctx<'_>, name: &str) -> Option<DataType> {
    ctx.attr_int(name).and_then(|c| i32::try_from(c).ok()).map(DataType)
}

/// A tensor type with the given element type and shape.
pub fn tensor(elem: Option<DataType>, shape: Option<Vec<Dim>>) -> Ty {
    Ty::Tensor(crate::fact::TensorTy { elem, shape })
}

/// `Ok(None)` for a quiet stop, the error for a real one: for results an op can do without.
pub fn optional<T>(r: Result<T, Stop>) -> Result<Option<T>, Stop> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(Stop::Unknown) => Ok(None),
        Err(e) => Err(e),
    }
}
