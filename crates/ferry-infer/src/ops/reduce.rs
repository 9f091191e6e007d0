//! Reductions: `Reduce*` (axes as an attribute before the opset that made them an input: 13 for
//! `ReduceSum`, 18 for the others), and `ArgMax`/`ArgMin`. Integer contents are reduced too
//! (`ReduceProd` of a shape vector is an element count, `ReduceSum`/`Max`/`Min` turn up in shape
//! arithmetic), symbolically where the arithmetic allows.

use super::Registry;
use super::util::{axis, const_ints, tensor};
use crate::ctx::{Ctx, Res};
use crate::fact::{Data, Fact, Konst, TensorTy};
use crate::sym::Dim;
use ferry_ir::DataType;

const REDUCE: &[&str] = &[
    "ReduceSum",
    "ReduceMean",
    "ReduceMax",
    "ReduceMin",
    "ReduceProd",
    "ReduceL1",
    "ReduceL2",
    "ReduceLogSum",
    "ReduceLogSumExp",
    "ReduceSumSquare",
];

pub fn register(r: &mut Registry) {
    r.add("", REDUCE, reduce);
    r.add("", &["ArgMax", "ArgMin"], arg_reduce);
}

/// Which axes a reduction reduces.
enum Axes {
    /// These (resolved, sorted, deduplicated) axes.
    Some(Vec<usize>),
    /// Every axis (no axes given, `noop_with_empty_axes` off).
    All,
    /// None: the output is the input (`noop_with_empty_axes` on and no axes).
    Noop,
    /// Given by an input whose contents are not known; its length, when known.
    Unknown(Option<usize>),
}

fn reduce_axes(ctx: &Ctx<'_>, rank: usize) -> Result<Axes, crate::ctx::Stop> {
    let noop = ctx.attr_int("noop_with_empty_axes").unwrap_or(0) != 0;
    let given = if ctx.has_input(1) {
        match const_ints(ctx, 1) {
            Some(v) => v,
            None => {
                let len = ctx.shape(1).and_then(|s| match s {
                    [d] => d.as_const().map(|n| n.max(0) as usize),
                    _ => None,
                });
                return Ok(match len {
                    Some(0) if noop => Axes::Noop,
                    Some(0) => Axes::All,
                    n => Axes::Unknown(n),
                });
            }
        }
    } else {
        ctx.attr_ints("axes").unwrap_or_default()
    };
    if given.is_empty() {
        return Ok(if noop { Axes::Noop } else { Axes::All });
    }
    let mut axes = given.iter().map(|&a| axis(a, rank)).collect::<Result<Vec<_>, _>>()?;
    axes.sort_unstable();
    axes.dedup();
    Ok(Axes::Some(axes))
}

/// The output shape when `axes` are reduced.
fn reduced_shape(s: &[Dim], axes: &[usize], keep: bool) -> Vec<Dim> {
    let mut out = Vec::with_capacity(s.len());
    for (i, d) in s.iter().enumerate() {
        if axes.contains(&i) {
            if keep {
                out.push(Dim::known(1));
            }
        } else {
            out.push(d.clone());
        }
    }
    out
}

/// Reduces integer contents over `axes` with `f` (`None` when a step cannot be computed).
fn reduce_ints(
    k: &Konst,
    axes: &[usize],
    keep: bool,
    f: impl Fn(&Dim, &Dim) -> Option<Dim>,
) -> Option<Konst> {
    let Data::Int(v) = &k.data else { return None };
    let dims: Vec<usize> =
        k.dims.iter().map(|&d| usize::try_from(d).ok()).collect::<Option<_>>()?;
    let out_dims: Vec<usize> =
        dims.iter().enumerate().map(|(i, &d)| if axes.contains(&i) { 1 } else { d }).collect();
    let n_out: usize = out_dims.iter().product();
    let mut acc: Vec<Option<Dim>> = vec![None; n_out];
    let mut idx = vec![0usize; dims.len()];
    for x in v {
        // Output position of this element: its index with the reduced axes set to 0.
        let mut pos = 0;
        for (i, &j) in idx.iter().enumerate() {
            pos = pos * out_dims[i] + if axes.contains(&i) { 0 } else { j };
        }
        acc[pos] = Some(match acc[pos].take() {
            None => x.clone(),
            Some(a) => f(&a, x)?,
        });
        for i in (0..dims.len()).rev() {
            idx[i] += 1;
            if idx[i] < dims[i] {
                break;
            }
            idx[i] = 0;
        }
    }
    // Reducing an empty set yields the operator's identity, which the caller does not give us.
    let data: Vec<Dim> = acc.into_iter().collect::<Option<_>>()?;
    let out_shape: Vec<i64> = dims
        .iter()
        .enumerate()
        .filter(|&(i, _)| keep || !axes.contains(&i))
        .map(|(i, &d)| if axes.contains(&i) { 1 } else { d as i64 })
        .collect();
    Some(Konst { elem: k.elem, dims: out_shape, data: Data::Int(data) })
}

fn max_min(a: &Dim, b: &Dim, max: bool) -> Option<Dim> {
    match (a.as_const(), b.as_const()) {
        (Some(x), Some(y)) => Some(Dim::known(if max { x.max(y) } else { x.min(y) })),
        _ if a == b => Some(a.clone()),
        _ => None,
    }
}

fn reduce(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let Some(s) = ctx.shape(0).map(<[Dim]>::to_vec) else {
        ctx.set_tensor(0, elem, None);
        return Ok(());
    };
    let keep = ctx.attr_int("keepdims").unwrap_or(1) != 0;
    let axes = match reduce_axes(ctx, s.len())? {
        Axes::Noop => {
            let value = match ctx.op() {
                "ReduceSum" | "ReduceMax" | "ReduceMin" | "ReduceProd" | "ReduceMean" => {
                    ctx.input(0).and_then(|f| f.value.clone())
                }
                _ => None,
            };
            ctx.set(0, Fact { ty: Some(tensor(elem, Some(s))), value });
            return Ok(());
        }
        Axes::All => (0..s.len()).collect(),
        Axes::Some(a) => a,
        Axes::Unknown(n) => {
            // The rank is known when dims are kept, or when the number of (distinct) axes is.
            let shape = if keep {
                Some(
                    s.iter()
                        .map(|d| if d.as_const() == Some(1) { d.clone() } else { Dim::Unknown })
                        .collect(),
                )
            } else {
                n.filter(|&n| n > 0 && n <= s.len()).map(|n| vec![Dim::Unknown; s.len() - n])
            };
            ctx.set_tensor(0, elem, shape);
            return Ok(());
        }
    };
    let out = reduced_shape(&s, &axes, keep);
    let mut fact = Fact::of_type(tensor(elem, Some(out)));
    if let Some(k) = ctx.input(0).and_then(|f| f.value.as_ref()) {
        fact.value = match ctx.op() {
            "ReduceSum" => reduce_ints(k, &axes, keep, |a, b| Some(a.add(b))),
            "ReduceProd" => reduce_ints(k, &axes, keep, |a, b| Some(a.mul(b))),
            "ReduceMax" => reduce_ints(k, &axes, keep, |a, b| max_min(a, b, true)),
            "ReduceMin" => reduce_ints(k, &axes, keep, |a, b| max_min(a, b, false)),
            _ => None,
        }
        .filter(|k| match &k.data {
            Data::Int(v) => v.iter().all(|d| *d != Dim::Unknown),
            _ => true,
        });
    }
    ctx.set(0, fact);
    Ok(())
}

fn arg_reduce(ctx: &mut Ctx<'_>) -> Res {
    let Some(s) = ctx.shape(0).map(<[Dim]>::to_vec) else {
        ctx.set_tensor(0, Some(DataType::INT64), None);
        return Ok(());
    };
    let keep = ctx.attr_int("keepdims").unwrap_or(1) != 0;
    let ax = axis(ctx.attr_int("axis").unwrap_or(0), s.len())?;
    let out = reduced_shape(&s, &[ax], keep);
    ctx.set_type(0, crate::fact::Ty::Tensor(TensorTy::new(DataType::INT64, out)));
    Ok(())
}
