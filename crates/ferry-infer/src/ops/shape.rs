//! Operators that compute or rearrange shapes, with their integer contents propagated: this is
//! where `Shape -> Gather -> Unsqueeze -> Concat -> Reshape` chains become concrete shapes.

use super::Registry;
use super::util::{
    axis, broadcast2, const_dims, const_ints, dtype_attr, insert_axis, show, tensor,
};
use crate::ctx::{Ctx, Res, invalid, need};
use crate::fact::{Data, Fact, Konst, MAX_TRACKED, Ty};
use crate::konst;
use crate::sym::{Dim, Expr};
use ferry_ir::{AttrValue, DataType};

pub fn register(r: &mut Registry) {
    r.add("", &["Shape"], shape);
    r.add("", &["Size"], size);
    r.add("", &["Constant"], constant);
    r.add("", &["ConstantOfShape"], constant_of_shape);
    r.add("", &["Reshape"], reshape);
    r.add("", &["Unsqueeze"], unsqueeze);
    r.add("", &["Squeeze"], squeeze);
    r.add("", &["Concat"], concat);
    r.add("", &["Gather"], gather);
    r.add("", &["Slice"], slice);
    r.add("", &["Cast"], cast);
    r.add("", &["CastLike"], cast_like);
    r.add("", &["Range"], range);
    r.add("", &["Expand"], expand);
    r.add("", &["Flatten"], flatten);
    r.add("", &["Transpose"], transpose);
    r.add("", &["Tile"], tile);
}

fn product(dims: &[Dim]) -> Dim {
    dims.iter().fold(Dim::known(1), |acc, d| acc.mul(d))
}

fn shape(ctx: &mut Ctx<'_>) -> Res {
    let Some(dims) = ctx.shape(0).map(<[Dim]>::to_vec) else {
        // Rank unknown: still a 1-D int64 tensor, of unknown length.
        ctx.set_tensor(0, Some(DataType::INT64), Some(vec![Dim::Unknown]));
        return Ok(());
    };
    let r = dims.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let start = clamp(ctx.attr_int("start").unwrap_or(0));
    let end = clamp(ctx.attr_int("end").unwrap_or(r));
    let part = if start < end { dims[start..end].to_vec() } else { Vec::new() };
    ctx.set(0, Fact::of_value(Konst::shape_vector(part)));
    Ok(())
}

fn size(ctx: &mut Ctx<'_>) -> Res {
    let mut fact = Fact::of_type(Ty::tensor(DataType::INT64, vec![]));
    if let Some(s) = ctx.shape(0) {
        fact.value = Some(Konst::scalar_int(DataType::INT64, product(s)));
    }
    ctx.set(0, fact);
    Ok(())
}

fn constant(ctx: &mut Ctx<'_>) -> Res {
    let a = need(ctx.attributes().first().cloned())?;
    let fact = match &a.value {
        AttrValue::Tensor(t) => konst::from_tensor(t),
        AttrValue::SparseTensor(s) => {
            let elem = s.values.as_ref().and_then(|v| v.dtype);
            Fact::of_type(tensor(elem, Some(s.dims.iter().map(|&d| Dim::known(d)).collect())))
        }
        AttrValue::Float(f) => Fact::of_value(Konst {
            elem: DataType::FLOAT,
            dims: vec![],
            data: Data::Float(vec![f64::from(*f)]),
        }),
        AttrValue::Floats(v) => Fact::of_value(Konst {
            elem: DataType::FLOAT,
            dims: vec![v.len() as i64],
            data: Data::Float(v.iter().map(|&f| f64::from(f)).collect()),
        }),
        AttrValue::Int(i) => Fact::of_value(Konst::scalar_int(DataType::INT64, Dim::known(*i))),
        AttrValue::Ints(v) => Fact::of_value(Konst {
            elem: DataType::INT64,
            dims: vec![v.len() as i64],
            data: Data::Int(v.iter().map(|&i| Dim::known(i)).collect()),
        }),
        AttrValue::String(s) => Fact::of_value(Konst {
            elem: DataType::STRING,
            dims: vec![],
            data: Data::Str(vec![s.to_vec()]),
        }),
        AttrValue::Strings(v) => Fact::of_value(Konst {
            elem: DataType::STRING,
            dims: vec![v.len() as i64],
            data: Data::Str(v.iter().map(|s| s.to_vec()).collect()),
        }),
        _ => return Ok(()),
    };
    ctx.set(0, fact);
    Ok(())
}

/// The shape a 1-D shape input describes, with symbolic entries where known.
fn shape_input(ctx: &Ctx<'_>, i: usize) -> Option<Vec<Dim>> {
    const_dims(ctx, i).or_else(|| {
        // Contents unknown but length known: a shape of that rank with unknown dims.
        let s = ctx.shape(i)?;
        let n = s.first()?.as_const()?;
        (s.len() == 1).then(|| vec![Dim::Unknown; n.max(0) as usize])
    })
}

fn constant_of_shape(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.attr_tensor("value").and_then(|t| t.dtype).unwrap_or(DataType::FLOAT);
    let dims = shape_input(ctx, 0);
    let mut fact = Fact::of_type(tensor(Some(elem), dims.clone()));
    if let Some(dims) = dims
        && let Some(known) = dims.iter().map(Dim::as_const).collect::<Option<Vec<i64>>>()
    {
        let n = known.iter().try_fold(1usize, |acc, &d| acc.checked_mul(usize::try_from(d).ok()?));
        let fill = match ctx.attr_tensor("value") {
            Some(t) => konst::tensor_value(t).map(|k| k.data),
            None => Some(Data::Float(vec![0.0])),
        };
        if let (Some(n), Some(fill)) = (n, fill)
            && n <= MAX_TRACKED
        {
            let data = match fill {
                Data::Int(v) => Data::Int(vec![v.first().cloned().unwrap_or(Dim::known(0)); n]),
                Data::Float(v) => Data::Float(vec![v.first().copied().unwrap_or(0.0); n]),
                Data::Str(_) => {
                    ctx.set(0, fact);
                    return Ok(());
                }
            };
            fact.value = Some(Konst { elem, dims: known, data });
        }
    }
    ctx.set(0, fact);
    Ok(())
}

/// Keeps the contents of input 0 under a new shape (reshape-like ops preserve element order).
fn reshaped_value(ctx: &Ctx<'_>, dims: &[Dim]) -> Option<Konst> {
    let k = ctx.input(0)?.value.clone()?;
    let dims: Vec<i64> = dims.iter().map(Dim::as_const).collect::<Option<_>>()?;
    Some(Konst { dims, ..k })
}

fn reshape(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let target = if ctx.opset < 5 {
        ctx.attr_ints("shape").map(|v| v.into_iter().map(Dim::known).collect())
    } else {
        shape_input(ctx, 1)
    };
    let target = match target {
        Some(t) => t,
        None => {
            ctx.set_tensor(0, elem, None);
            return Ok(());
        }
    };
    let allow_zero = ctx.attr_int("allowzero").unwrap_or(0) != 0;
    let input = ctx.shape(0).map(<[Dim]>::to_vec);
    let mut out = Vec::with_capacity(target.len());
    let mut infer_at = None;
    for (i, d) in target.iter().enumerate() {
        match d.as_const() {
            Some(0) if !allow_zero => match &input {
                Some(s) => out.push(need(s.get(i).cloned()).or_else(|_| {
                    invalid(format!("shape entry {i} is 0 but the input has rank {}", s.len()))
                })?),
                None => out.push(Dim::Unknown),
            },
            Some(-1) => {
                if infer_at.replace(i).is_some() {
                    return invalid("the target shape has more than one -1");
                }
                out.push(Dim::Unknown);
            }
            Some(n) if n < -1 => return invalid(format!("shape entry {i} is {n}")),
            _ => out.push(d.clone()),
        }
    }
    if let (Some(at), Some(s)) = (infer_at, &input) {
        let total = product(s);
        let rest = product(
            &out.iter()
                .enumerate()
                .filter(|(i, _)| *i != at)
                .map(|(_, d)| d.clone())
                .collect::<Vec<_>>(),
        );
        out[at] = match (total.expr(), rest.expr()) {
            (Some(t), Some(r)) => match (t.as_const(), r.as_const()) {
                (Some(a), Some(b)) if b != 0 => {
                    if a % b != 0 {
                        return invalid(format!(
                            "cannot reshape {} ({a} elements) into {}",
                            show(s),
                            show(&target)
                        ));
                    }
                    Dim::known(a / b)
                }
                _ => divide(t, r),
            },
            _ => Dim::Unknown,
        };
    }
    let value = reshaped_value(ctx, &out);
    ctx.set(0, Fact { ty: Some(tensor(elem, Some(out))), value });
    Ok(())
}

/// `t / r` for symbolic products: exact when `r` is a factor of `t` term by term.
fn divide(t: &Expr, r: &Expr) -> Dim {
    if let Some(c) = r.as_const() {
        return t.div_exact(c).map_or(Dim::Unknown, Dim::Expr);
    }
    if t == r {
        return Dim::known(1);
    }
    Dim::Unknown
}

fn axes_of(ctx: &Ctx<'_>, input: usize) -> Option<Vec<i64>> {
    if ctx.opset >= 13 {
        if ctx.has_input(input) { const_ints(ctx, input) } else { None }
    } else {
        ctx.attr_ints("axes")
    }
}

fn unsqueeze(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let axes = need(axes_of(ctx, 1))?;
    let Some(s) = ctx.shape(0).map(<[Dim]>::to_vec) else {
        {
            ctx.set_tensor(0, elem, None);
            return Ok(());
        }
    };
    let rank = s.len() + axes.len();
    let mut pos: Vec<usize> = axes
        .iter()
        .map(|&a| {
            insert_axis(a, rank - 1)
                .map(|_| if a < 0 { (a + rank as i64) as usize } else { a as usize })
        })
        .collect::<Result<_, _>>()?;
    pos.sort_unstable();
    if pos.windows(2).any(|w| w[0] == w[1]) || pos.iter().any(|&p| p >= rank) {
        return invalid(format!("Unsqueeze axes {axes:?} repeat or fall outside rank {rank}"));
    }
    let mut out = Vec::with_capacity(rank);
    let mut it = s.into_iter();
    for i in 0..rank {
        if pos.binary_search(&i).is_ok() {
            out.push(Dim::known(1));
        } else {
            out.push(need(it.next())?);
        }
    }
    let value = reshaped_value(ctx, &out);
    ctx.set(0, Fact { ty: Some(tensor(elem, Some(out))), value });
    Ok(())
}

fn squeeze(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let axes = axes_of(ctx, 1);
    let Some(s) = ctx.shape(0).map(<[Dim]>::to_vec) else {
        {
            ctx.set_tensor(0, elem, None);
            return Ok(());
        }
    };
    let drop: Vec<usize> = match axes {
        Some(a) if !a.is_empty() => {
            a.iter().map(|&x| axis(x, s.len())).collect::<Result<_, _>>()?
        }
        _ => {
            if ctx.opset >= 13 && ctx.has_input(1) {
                {
                    ctx.set_tensor(0, elem, None);
                    return Ok(());
                }
            }
            let mut v = Vec::new();
            for (i, d) in s.iter().enumerate() {
                match d.as_const() {
                    Some(1) => v.push(i),
                    Some(_) => {}
                    None => {
                        ctx.set_tensor(0, elem, None);
                        return Ok(());
                    }
                }
            }
            v
        }
    };
    for &i in &drop {
        if let Some(n) = s[i].as_const()
            && n != 1
        {
            return invalid(format!("cannot squeeze axis {i} of size {n}"));
        }
    }
    let out: Vec<Dim> =
        s.iter().enumerate().filter(|(i, _)| !drop.contains(i)).map(|(_, d)| d.clone()).collect();
    let value = reshaped_value(ctx, &out);
    ctx.set(0, Fact { ty: Some(tensor(elem, Some(out))), value });
    Ok(())
}

fn concat(ctx: &mut Ctx<'_>) -> Res {
    let elem = (0..ctx.num_inputs()).find_map(|i| ctx.elem(i));
    let a = need(ctx.attr_int("axis"))?;
    let shapes: Option<Vec<Vec<Dim>>> = (0..ctx.num_inputs())
        .filter(|&i| ctx.has_input(i))
        .map(|i| ctx.shape(i).map(<[Dim]>::to_vec))
        .collect();
    let Some(shapes) = shapes.filter(|s| !s.is_empty()) else {
        let rank = (0..ctx.num_inputs()).find_map(|i| ctx.rank(i));
        {
            ctx.set_tensor(0, elem, rank.map(|r| vec![Dim::Unknown; r]));
            return Ok(());
        }
    };
    let rank = shapes[0].len();
    if shapes.iter().any(|s| s.len() != rank) {
        return invalid("Concat inputs have different ranks");
    }
    let ax = axis(a, rank)?;
    let mut out = shapes[0].clone();
    out[ax] = Dim::known(0);
    for s in &shapes {
        for i in 0..rank {
            if i == ax {
                out[i] = out[i].add(&s[i]);
            } else {
                out[i] = out[i].unify(&s[i]).or_else(|(p, q)| {
                    invalid(format!("Concat inputs disagree on dimension {i}: {p} vs {q}"))
                })?;
            }
        }
    }
    let mut fact = Fact::of_type(tensor(elem, Some(out.clone())));
    // Concatenating shape vectors. A part whose contents are unknown but whose length is known
    // stands for that many unknown numbers (as in onnx's data propagation), so the known parts
    // still reach a `Reshape`: `Concat(n, [4], m)` is the shape `[?, 4, ?]`.
    if rank == 1 && elem.is_some_and(|e| matches!(e, DataType::INT64 | DataType::INT32)) {
        let inputs: Vec<usize> = (0..ctx.num_inputs()).filter(|&i| ctx.has_input(i)).collect();
        let parts: Option<Vec<Vec<Dim>>> = inputs
            .iter()
            .map(|&i| {
                const_dims(ctx, i).or_else(|| {
                    let n = ctx.shape(i)?.first()?.as_const()?;
                    Some(vec![Dim::Unknown; usize::try_from(n).ok()?])
                })
            })
            .collect();
        let any_known = inputs.iter().any(|&i| const_dims(ctx, i).is_some());
        if let (Some(parts), Some(elem), true) = (parts, elem, any_known) {
            let data: Vec<Dim> = parts.into_iter().flatten().collect();
            fact.value = Some(Konst { elem, dims: vec![data.len() as i64], data: Data::Int(data) });
        }
    }
    ctx.set(0, fact);
    Ok(())
}

fn gather(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let (Some(data), Some(idx)) =
        (ctx.shape(0).map(<[Dim]>::to_vec), ctx.shape(1).map(<[Dim]>::to_vec))
    else {
        {
            ctx.set_tensor(0, elem, None);
            return Ok(());
        }
    };
    if data.is_empty() {
        return invalid("Gather needs data of rank 1 or more");
    }
    let ax = axis(ctx.attr_int("axis").unwrap_or(0), data.len())?;
    let mut out: Vec<Dim> = data[..ax].to_vec();
    out.extend(idx.iter().cloned());
    out.extend(data[ax + 1..].iter().cloned());
    let mut fact = Fact::of_type(tensor(elem, Some(out.clone())));
    if data.len() == 1
        && let (Some(values), Some(indices)) = (const_dims(ctx, 0), const_ints(ctx, 1))
        && let Some(dims) = out.iter().map(Dim::as_const).collect::<Option<Vec<i64>>>()
    {
        let n = values.len() as i64;
        let picked: Option<Vec<Dim>> = indices
            .iter()
            .map(|&i| {
                let j = if i < 0 { i + n } else { i };
                values.get(usize::try_from(j).ok()?).cloned()
            })
            .collect();
        if let (Some(picked), Some(elem)) = (picked, elem) {
            fact.value = Some(Konst { elem, dims, data: Data::Int(picked) });
        }
    }
    ctx.set(0, fact);
    Ok(())
}

/// Size of `[start, end)` with `step` over a dimension of size `dim`, per ONNX's clamping rules.
fn slice_len(dim: &Dim, start: i64, end: i64, step: i64) -> Dim {
    if let Some(n) = dim.as_const() {
        let clamp = |v: i64, lo: i64, hi: i64| v.clamp(lo, hi);
        let (s, e) = if step > 0 {
            let s = if start < 0 { start.saturating_add(n) } else { start };
            let e = if end < 0 { end.saturating_add(n) } else { end };
            (clamp(s, 0, n), clamp(e, 0, n))
        } else {
            let s = if start < 0 { start.saturating_add(n) } else { start };
            let e = if end < 0 { end.saturating_add(n) } else { end };
            (clamp(s, -1, n - 1), clamp(e, -1, n - 1))
        };
        let len = if step > 0 {
            (e - s + step - 1).div_euclid(step)
        } else {
            (s - e + (-step) - 1).div_euclid(-step)
        };
        return Dim::known(len.max(0));
    }
    // Symbolic dimension: the common cases of shape slicing.
    const BIG: i64 = i64::MAX / 4;
    if step == 1 && start >= 0 && end >= BIG {
        return dim.sub(&Dim::known(start));
    }
    Dim::Unknown
}

fn slice(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let Some(s) = ctx.shape(0).map(<[Dim]>::to_vec) else {
        {
            ctx.set_tensor(0, elem, None);
            return Ok(());
        }
    };
    let params = if ctx.opset < 10 {
        (ctx.attr_ints("starts"), ctx.attr_ints("ends"), ctx.attr_ints("axes"), None)
    } else {
        (
            const_ints(ctx, 1),
            const_ints(ctx, 2),
            if ctx.has_input(3) { const_ints(ctx, 3) } else { None },
            if ctx.has_input(4) { const_ints(ctx, 4) } else { None },
        )
    };
    let (Some(starts), Some(ends)) = (params.0, params.1) else {
        {
            ctx.set_tensor(0, elem, Some(vec![Dim::Unknown; s.len()]));
            return Ok(());
        }
    };
    let axes: Vec<i64> = match params.2 {
        Some(a) => a,
        None if ctx.opset >= 10 && ctx.has_input(3) => {
            ctx.set_tensor(0, elem, Some(vec![Dim::Unknown; s.len()]));
            return Ok(());
        }
        None => (0..starts.len() as i64).collect(),
    };
    let steps = params.3.unwrap_or_else(|| vec![1; starts.len()]);
    if starts.len() != ends.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return invalid("Slice starts, ends, axes and steps differ in length");
    }
    let mut out = s.clone();
    let mut picks: Vec<(usize, i64, i64, i64)> = Vec::new();
    for k in 0..starts.len() {
        let ax = axis(axes[k], s.len())?;
        if steps[k] == 0 {
            return invalid("Slice step is 0");
        }
        out[ax] = slice_len(&s[ax], starts[k], ends[k], steps[k]);
        picks.push((ax, starts[k], ends[k], steps[k]));
    }
    let mut fact = Fact::of_type(tensor(elem, Some(out.clone())));
    // Slicing a shape vector.
    if s.len() == 1
        && let (Some(values), Some(elem), Some(&(_, st, en, sp))) =
            (const_dims(ctx, 0), elem, picks.first())
    {
        let n = values.len() as i64;
        if let Some(len) = slice_len(&Dim::known(n), st, en, sp).as_const() {
            let first = if st < 0 {
                (st + n).clamp(if sp > 0 { 0 } else { -1 }, n - 1)
            } else {
                st.clamp(0, if sp > 0 { n } else { n - 1 })
            };
            let data: Option<Vec<Dim>> = (0..len)
                .map(|i| values.get(usize::try_from(first + i * sp).ok()?).cloned())
                .collect();
            if let Some(data) = data {
                fact.value = Some(Konst { elem, dims: vec![len], data: Data::Int(data) });
            }
        }
    }
    ctx.set(0, fact);
    Ok(())
}

fn cast_value(k: &Konst, to: DataType) -> Option<Konst> {
    let is_float = |d: DataType| {
        matches!(d, DataType::FLOAT | DataType::DOUBLE | DataType::FLOAT16 | DataType::BFLOAT16)
    };
    let data = match (&k.data, is_float(to)) {
        (Data::Int(v), false) => Data::Int(if to == DataType::BOOL {
            v.iter()
                .map(|d| d.as_const().map_or(Dim::Unknown, |x| Dim::known(i64::from(x != 0))))
                .collect()
        } else {
            v.clone()
        }),
        (Data::Int(v), true) => {
            Data::Float(v.iter().map(|d| d.as_const().map(|x| x as f64)).collect::<Option<_>>()?)
        }
        (Data::Float(v), false) => Data::Int(
            v.iter()
                .map(|f| {
                    Dim::known(if to == DataType::BOOL {
                        i64::from(*f != 0.0)
                    } else {
                        f.trunc() as i64
                    })
                })
                .collect(),
        ),
        (Data::Float(v), true) => Data::Float(v.clone()),
        (Data::Str(_), _) => return None,
    };
    Some(Konst { elem: to, dims: k.dims.clone(), data })
}

fn cast(ctx: &mut Ctx<'_>) -> Res {
    let to = need(dtype_attr(ctx, "to"))?;
    let shape = ctx.shape(0).map(<[Dim]>::to_vec);
    let value = ctx.input(0).and_then(|f| f.value.as_ref()).and_then(|k| cast_value(k, to));
    ctx.set(0, Fact { ty: Some(tensor(Some(to), shape)), value });
    Ok(())
}

fn cast_like(ctx: &mut Ctx<'_>) -> Res {
    let to = ctx.elem(1);
    let shape = ctx.shape(0).map(<[Dim]>::to_vec);
    let value = match to {
        Some(t) => ctx.input(0).and_then(|f| f.value.as_ref()).and_then(|k| cast_value(k, t)),
        None => None,
    };
    ctx.set(0, Fact { ty: Some(tensor(to, shape)), value });
    Ok(())
}

fn scalar(ctx: &Ctx<'_>, i: usize) -> Option<Dim> {
    let k = ctx.input(i)?.value.as_ref()?;
    match &k.data {
        Data::Int(v) if v.len() == 1 => Some(v[0].clone()),
        Data::Float(v) if v.len() == 1 => {
            Some(if v[0].fract() == 0.0 { Dim::known(v[0] as i64) } else { Dim::Unknown })
        }
        _ => None,
    }
}

fn range(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let len = match (scalar(ctx, 0), scalar(ctx, 1), scalar(ctx, 2)) {
        (Some(s), Some(l), Some(d)) => match (s.as_const(), l.as_const(), d.as_const()) {
            (Some(s), Some(l), Some(d)) if d != 0 => {
                let n = (l - s + d - d.signum()).div_euclid(d);
                let mut fact = Fact::of_type(tensor(elem, Some(vec![Dim::known(n.max(0))])));
                if let Some(elem) = elem
                    && n.max(0) as usize <= MAX_TRACKED
                    && !matches!(elem, DataType::FLOAT | DataType::DOUBLE)
                {
                    let data = (0..n.max(0)).map(|i| Dim::known(s + i * d)).collect();
                    fact.value = Some(Konst { elem, dims: vec![n.max(0)], data: Data::Int(data) });
                }
                ctx.set(0, fact);
                return Ok(());
            }
            // Range(0, N, 1) has N elements even for symbolic N.
            (Some(0), _, Some(1)) => l,
            _ if d.as_const() == Some(1) => l.sub(&s),
            _ => Dim::Unknown,
        },
        _ => Dim::Unknown,
    };
    ctx.set_tensor(0, elem, Some(vec![len]));
    Ok(())
}

fn expand(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let (Some(s), Some(target)) = (ctx.shape(0).map(<[Dim]>::to_vec), shape_input(ctx, 1)) else {
        {
            ctx.set_tensor(0, elem, None);
            return Ok(());
        }
    };
    let out = broadcast2(&s, &target)?;
    ctx.set_tensor(0, elem, Some(out));
    Ok(())
}

fn flatten(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let Some(s) = ctx.shape(0).map(<[Dim]>::to_vec) else {
        {
            ctx.set_tensor(0, elem, Some(vec![Dim::Unknown, Dim::Unknown]));
            return Ok(());
        }
    };
    let a = ctx.attr_int("axis").unwrap_or(1);
    let r = s.len() as i64;
    let ax = if a < 0 { a + r } else { a };
    if ax < 0 || ax > r {
        return invalid(format!("Flatten axis {a} is out of range for rank {r}"));
    }
    let ax = ax as usize;
    ctx.set_tensor(0, elem, Some(vec![product(&s[..ax]), product(&s[ax..])]));
    Ok(())
}

fn transpose(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let Some(s) = ctx.shape(0).map(<[Dim]>::to_vec) else {
        {
            ctx.set_tensor(0, elem, None);
            return Ok(());
        }
    };
    let perm = ctx
        .attr_ints("perm")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| (0..s.len() as i64).rev().collect());
    if perm.len() != s.len() {
        return invalid(format!("perm {perm:?} does not match rank {}", s.len()));
    }
    let mut seen = vec![false; s.len()];
    let mut out = Vec::with_capacity(s.len());
    for &p in &perm {
        let i = axis(p, s.len())?;
        if std::mem::replace(&mut seen[i], true) {
            return invalid(format!("perm {perm:?} repeats axis {p}"));
        }
        out.push(s[i].clone());
    }
    ctx.set_tensor(0, elem, Some(out));
    Ok(())
}

fn tile(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let Some(s) = ctx.shape(0).map(<[Dim]>::to_vec) else {
        {
            ctx.set_tensor(0, elem, None);
            return Ok(());
        }
    };
    let out = match const_dims(ctx, 1) {
        Some(r) if r.len() == s.len() => s.iter().zip(&r).map(|(d, k)| d.mul(k)).collect(),
        Some(r) => {
            return invalid(format!("Tile repeats has {} entries for rank {}", r.len(), s.len()));
        }
        None => vec![Dim::Unknown; s.len()],
    };
    ctx.set_tensor(0, elem, Some(out));
    Ok(())
}
