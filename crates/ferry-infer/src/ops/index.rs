//! Indexing and rearranging operators (gathers, scatters, `Split`, `Pad`, `TopK`, `OneHot`,
//! `NonZero`, `Compress`, `Unique`, ...), and generators of tensors of a given shape (`EyeLike`,
//! the `Random*` family, `Bernoulli`, `Multinomial`).
//!
//! Sizes that depend on an input's contents (`OneHot`'s depth, `TopK`'s k, `Split`'s sizes,
//! `Pad`'s pads) are read from the input's tracked contents, symbolic ones included, so a depth
//! or pad computed from a shape still gives a dimension.

use super::Registry;
use super::util::{axis, const_dims, const_ints, dtype_attr, insert_axis, same_as_input};
use crate::ctx::{Ctx, Res, Stop, invalid, need};
use crate::fact::{Data, Fact, Konst};
use crate::sym::Dim;
use ferry_ir::DataType;

pub fn register(r: &mut Registry) {
    r.add("", &["GatherElements"], gather_elements);
    r.add("", &["GatherND"], gather_nd);
    r.add("", &["ScatterND", "ScatterElements", "Scatter", "TensorScatter"], scatter);
    r.add("", &["Trilu", "CumProd", "ReverseSequence"], same);
    r.add("", &["CumSum"], cum_sum);
    r.add("", &["OneHot"], one_hot);
    r.add("", &["NonZero"], non_zero);
    r.add("", &["Compress"], compress);
    r.add("", &["Unique"], unique);
    r.add("", &["TopK"], top_k);
    r.add("", &["EyeLike", "RandomNormalLike", "RandomUniformLike", "Bernoulli"], like);
    r.add("", &["RandomNormal", "RandomUniform"], random);
    r.add("", &["Multinomial"], multinomial);
    r.add("", &["Split"], split);
    r.add("", &["Pad"], pad);
    r.add("", &["Det"], det);
    r.add("", &["BitCast"], bit_cast);
}

fn shape_of(ctx: &Ctx<'_>, i: usize) -> Option<Vec<Dim>> {
    ctx.shape(i).map(<[Dim]>::to_vec)
}

/// The one number a scalar (or one-element) input holds, as a dimension.
fn scalar_dim(ctx: &Ctx<'_>, i: usize) -> Option<Dim> {
    let k = ctx.input(i)?.value.as_ref()?;
    match &k.data {
        Data::Int(v) if v.len() == 1 => Some(v[0].clone()),
        Data::Float(v) if v.len() == 1 && v[0].fract() == 0.0 => Some(Dim::known(v[0] as i64)),
        _ => None,
    }
}

fn same(ctx: &mut Ctx<'_>) -> Res {
    same_as_input(ctx, 0, 0)
}

/// `CumSum` keeps its input's type; over a vector of known integers it computes the sums (the
/// running offsets shape code builds this way).
fn cum_sum(ctx: &mut Ctx<'_>) -> Res {
    same_as_input(ctx, 0, 0)?;
    let Some(k) = ctx.input(0).and_then(|f| f.value.clone()).filter(|k| k.dims.len() == 1) else {
        return Ok(());
    };
    let axis_input = const_ints(ctx, 1);
    let (Data::Int(v), Some(&[a])) = (&k.data, axis_input.as_deref()) else {
        return Ok(());
    };
    if !matches!(a, 0 | -1) {
        return invalid(format!("CumSum axis {a} is out of range for rank 1"));
    }
    let exclusive = ctx.attr_int("exclusive").unwrap_or(0) != 0;
    let reverse = ctx.attr_int("reverse").unwrap_or(0) != 0;
    let mut order: Vec<usize> = (0..v.len()).collect();
    if reverse {
        order.reverse();
    }
    let mut out = vec![Dim::known(0); v.len()];
    let mut acc = Dim::known(0);
    for i in order {
        if exclusive {
            out[i] = acc.clone();
            acc = acc.add(&v[i]);
        } else {
            acc = acc.add(&v[i]);
            out[i] = acc.clone();
        }
    }
    if out.contains(&Dim::Unknown) {
        return Ok(());
    }
    let value = Konst { data: Data::Int(out), ..k };
    if let Some(f) = ctx.output_mut(0) {
        f.value = Some(value);
    }
    Ok(())
}

fn scatter(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0).or_else(|| ctx.elem(if ctx.op() == "TensorScatter" { 1 } else { 2 }));
    ctx.set_tensor(0, elem, shape_of(ctx, 0));
    Ok(())
}

fn gather_elements(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    if let (Some(d), Some(i)) = (ctx.rank(0), ctx.rank(1))
        && d != i
    {
        return invalid(format!("GatherElements data has rank {d} and indices rank {i}"));
    }
    ctx.set_tensor(0, elem, shape_of(ctx, 1));
    Ok(())
}

fn gather_nd(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let (Some(data), Some(idx)) = (shape_of(ctx, 0), shape_of(ctx, 1)) else {
        ctx.set_tensor(0, elem, None);
        return Ok(());
    };
    let b = ctx.attr_int("batch_dims").unwrap_or(0);
    if data.is_empty() || idx.is_empty() {
        return invalid("GatherND needs data and indices of rank 1 or more");
    }
    let b = usize::try_from(b).or_else(|_| invalid(format!("batch_dims {b} is negative")))?;
    let Some(k) = idx[idx.len() - 1].as_const() else {
        ctx.set_tensor(0, elem, None);
        return Ok(());
    };
    let last = usize::try_from(k).ok().and_then(|k| k.checked_add(b));
    let Some(last) = last.filter(|&l| l <= data.len() && b < idx.len()) else {
        return invalid(format!(
            "GatherND indices' last dimension {k} plus batch_dims {b} exceeds data rank {}",
            data.len()
        ));
    };
    let mut out: Vec<Dim> = Vec::new();
    for (i, d) in idx[..idx.len() - 1].iter().enumerate() {
        out.push(if i < b {
            d.unify(&data[i]).or_else(|(p, q)| {
                invalid(format!("GatherND batch dimension {i} differs: {p} vs {q}"))
            })?
        } else {
            d.clone()
        });
    }
    out.extend(data[last..].iter().cloned());
    ctx.set_tensor(0, elem, Some(out));
    Ok(())
}

fn one_hot(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(2);
    let Some(s) = shape_of(ctx, 0) else {
        ctx.set_tensor(0, elem, None);
        return Ok(());
    };
    if let Some(r) = ctx.rank(1)
        && r > 1
    {
        return invalid("OneHot depth must be a scalar or a one-element vector");
    }
    let at = insert_axis(ctx.attr_int("axis").unwrap_or(-1), s.len())?;
    let depth = match scalar_dim(ctx, 1) {
        Some(d) => {
            if let Some(n) = d.as_const()
                && n < 1
            {
                return invalid(format!("OneHot depth is {n}"));
            }
            d
        }
        None => Dim::Unknown,
    };
    let mut out = s;
    out.insert(at, depth);
    ctx.set_tensor(0, elem, Some(out));
    Ok(())
}

/// Whether each element of known contents is non-zero (`None` if any is not known).
fn nonzero_flags(k: &Konst) -> Option<Vec<bool>> {
    match &k.data {
        Data::Int(v) => v.iter().map(|d| d.as_const().map(|x| x != 0)).collect(),
        Data::Float(v) => Some(v.iter().map(|&f| f != 0.0).collect()),
        Data::Str(v) => Some(v.iter().map(|s| !s.is_empty()).collect()),
    }
}

fn non_zero(ctx: &mut Ctx<'_>) -> Res {
    let Some(rank) = ctx.rank(0) else {
        ctx.set_tensor(0, Some(DataType::INT64), Some(vec![Dim::Unknown, Dim::Unknown]));
        return Ok(());
    };
    // Scalars are left to the type: runtimes disagree on how to index them.
    let k = ctx.input(0).and_then(|f| f.value.clone()).filter(|k| !k.dims.is_empty());
    let Some((k, flags)) = k.and_then(|k| nonzero_flags(&k).map(|f| (k, f))) else {
        ctx.set_tensor(0, Some(DataType::INT64), Some(vec![Dim::known(rank as i64), Dim::Unknown]));
        return Ok(());
    };
    // Known contents: the indices themselves, one row per axis.
    let dims = k.dims.clone();
    let rows = dims.len();
    let hits: Vec<usize> = flags.iter().enumerate().filter(|(_, f)| **f).map(|(i, _)| i).collect();
    let mut data = vec![Dim::known(0); rows * hits.len()];
    for (j, &flat) in hits.iter().enumerate() {
        let mut rest = flat;
        for r in (0..rows).rev() {
            let n = usize::try_from(dims[r]).unwrap_or(1).max(1);
            data[r * hits.len() + j] = Dim::known((rest % n) as i64);
            rest /= n;
        }
    }
    let value = Konst {
        elem: DataType::INT64,
        dims: vec![rows as i64, hits.len() as i64],
        data: Data::Int(data),
    };
    ctx.set(0, Fact::of_value(value));
    Ok(())
}

fn compress(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    // Number of selected entries when the condition is known and fits the selected length.
    let selected = |len: &Dim| -> Dim {
        let cond = ctx.input(1).and_then(|f| f.value.as_ref()).and_then(nonzero_flags);
        match (cond, len.as_const()) {
            (Some(c), Some(n)) if c.len() as i64 <= n => {
                Dim::known(c.iter().filter(|&&f| f).count() as i64)
            }
            _ => Dim::Unknown,
        }
    };
    let s = shape_of(ctx, 0);
    match ctx.attr("axis").and_then(ferry_ir::Attribute::as_int) {
        None => {
            let n =
                s.as_ref().map_or(Dim::Unknown, |s| s.iter().fold(Dim::known(1), |a, d| a.mul(d)));
            let out = selected(&n);
            ctx.set_tensor(0, elem, Some(vec![out]));
        }
        Some(a) => {
            let Some(mut s) = s else {
                ctx.set_tensor(0, elem, None);
                return Ok(());
            };
            let ax = axis(a, s.len())?;
            s[ax] = selected(&s[ax]);
            ctx.set_tensor(0, elem, Some(s));
        }
    }
    Ok(())
}

fn unique(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let s = shape_of(ctx, 0);
    let i64s = Some(DataType::INT64);
    // `n` is how many elements (or slices along the axis) there are. At most one of them is
    // distinct from the rest when there are 0 or 1: then the count of unique ones is `n` too.
    let (y, at, n) = match ctx.attr("axis").and_then(ferry_ir::Attribute::as_int) {
        None => {
            let n =
                s.as_ref().map_or(Dim::Unknown, |s| s.iter().fold(Dim::known(1), |a, d| a.mul(d)));
            (Some(vec![Dim::Unknown]), 0, n)
        }
        Some(a) => match s {
            Some(s) => {
                let ax = axis(a, s.len())?;
                let n = s[ax].clone();
                (Some(s), ax, n)
            }
            None => (None, 0, Dim::Unknown),
        },
    };
    let distinct = if n.as_const().is_some_and(|c| c <= 1) { n.clone() } else { Dim::Unknown };
    let y = y.map(|mut y| {
        y[at] = distinct.clone();
        y
    });
    ctx.set_tensor(0, elem, y);
    ctx.set_tensor(1, i64s, Some(vec![distinct.clone()]));
    // One inverse index per element (or slice) of the input.
    ctx.set_tensor(2, i64s, Some(vec![n]));
    ctx.set_tensor(3, i64s, Some(vec![distinct]));
    Ok(())
}

fn top_k(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let i64s = Some(DataType::INT64);
    let Some(mut s) = shape_of(ctx, 0) else {
        ctx.set_tensor(0, elem, None);
        ctx.set_tensor(1, i64s, None);
        return Ok(());
    };
    let ax = axis(ctx.attr_int("axis").unwrap_or(-1), s.len())?;
    let k = if ctx.opset < 10 {
        Some(Dim::known(need(ctx.attr_int("k"))?))
    } else {
        if let Some(r) = ctx.shape(1)
            && !(r.len() == 1 && r[0].as_const().is_none_or(|n| n == 1))
        {
            return invalid("TopK k must be a one-element 1-D tensor");
        }
        const_dims(ctx, 1).and_then(|v| v.first().cloned())
    };
    let k = k.unwrap_or(Dim::Unknown);
    if let (Some(kv), Some(n)) = (k.as_const(), s[ax].as_const())
        && (kv < 0 || kv > n)
    {
        return invalid(format!("TopK k {kv} is outside [0, {n}]"));
    }
    s[ax] = k;
    ctx.set_tensor(0, elem, Some(s.clone()));
    ctx.set_tensor(1, i64s, Some(s));
    Ok(())
}

/// Output 0 shaped like input 0, with element type from `dtype` or else the input's.
fn like(ctx: &mut Ctx<'_>) -> Res {
    let elem = dtype_attr(ctx, "dtype").or_else(|| ctx.elem(0));
    let s = shape_of(ctx, 0);
    if ctx.op() == "EyeLike"
        && let Some(s) = &s
        && s.len() != 2
    {
        return invalid(format!("EyeLike needs a 2-D input, not rank {}", s.len()));
    }
    ctx.set_tensor(0, elem, s);
    Ok(())
}

fn random(ctx: &mut Ctx<'_>) -> Res {
    let elem = dtype_attr(ctx, "dtype").unwrap_or(DataType::FLOAT);
    let shape = need(ctx.attr_ints("shape"))?;
    ctx.set_tensor(0, Some(elem), Some(shape.into_iter().map(Dim::known).collect()));
    Ok(())
}

fn multinomial(ctx: &mut Ctx<'_>) -> Res {
    let elem = dtype_attr(ctx, "dtype").unwrap_or(DataType::INT32);
    let n = ctx.attr_int("sample_size").unwrap_or(1);
    let batch = match ctx.shape(0) {
        Some([b, _]) => b.clone(),
        Some(s) => return invalid(format!("Multinomial input must be 2-D, not rank {}", s.len())),
        None => Dim::Unknown,
    };
    ctx.set_tensor(0, Some(elem), Some(vec![batch, Dim::known(n)]));
    Ok(())
}

/// The sizes a `Split` produces along its axis, when they can be told.
fn split_sizes(ctx: &Ctx<'_>, dim: &Dim, n_out: usize) -> Result<Option<Vec<Dim>>, Stop> {
    let given: Option<Option<Vec<Dim>>> = if ctx.has_input(1) {
        Some(const_dims(ctx, 1))
    } else {
        ctx.attr_ints("split")
            .filter(|v| !v.is_empty())
            .map(|v| Some(v.into_iter().map(Dim::known).collect()))
    };
    if let Some(given) = given {
        let Some(v) = given else { return Ok(None) };
        if v.len() != n_out {
            return invalid(format!("Split has {} sizes for {n_out} outputs", v.len()));
        }
        let total = v.iter().fold(Dim::known(0), |a, d| a.add(d));
        if let (Some(t), Some(d)) = (total.as_const(), dim.as_const())
            && t != d
        {
            return invalid(format!("Split sizes add up to {t}, the axis has {d}"));
        }
        return Ok(Some(v));
    }
    let parts = if ctx.opset >= 18 {
        match ctx.attr("num_outputs").and_then(ferry_ir::Attribute::as_int) {
            Some(n) if n < 1 => return invalid(format!("Split num_outputs is {n}")),
            Some(n) => n,
            None => n_out as i64,
        }
    } else {
        n_out as i64
    };
    if parts as usize != n_out {
        return invalid(format!("Split num_outputs {parts} but the node has {n_out} outputs"));
    }
    if let Some(d) = dim.as_const() {
        if d % parts == 0 {
            return Ok(Some(vec![Dim::known(d / parts); n_out]));
        }
        if ctx.opset < 18 {
            return invalid(format!("Split cannot divide {d} into {parts} equal parts"));
        }
        // Opset 18: chunks of ceil(d/n), the last one smaller.
        let chunk = d / parts + 1;
        let last = d - chunk * (parts - 1);
        if last < 0 {
            return Ok(None);
        }
        let mut v = vec![Dim::known(chunk); n_out - 1];
        v.push(Dim::known(last));
        return Ok(Some(v));
    }
    // A symbolic length divides exactly (or must, before opset 18).
    match dim.expr().and_then(|e| e.div_exact(parts)) {
        Some(e) => Ok(Some(vec![Dim::Expr(e); n_out])),
        None if ctx.opset < 18 => Ok(Some(vec![dim.floor_div(parts); n_out])),
        None => Ok(None),
    }
}

fn split(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let n_out = ctx.num_outputs();
    let Some(s) = shape_of(ctx, 0) else {
        for i in 0..n_out {
            ctx.set_tensor(i, elem, None);
        }
        return Ok(());
    };
    let ax = axis(ctx.attr_int("axis").unwrap_or(0), s.len())?;
    let sizes = split_sizes(ctx, &s[ax], n_out)?;
    // Splitting a vector of known contents (a shape, typically) splits the contents too.
    let values = ctx.input(0).and_then(|f| f.value.clone()).filter(|k| k.dims.len() == 1);
    let mut start = 0usize;
    for i in 0..n_out {
        let mut o = s.clone();
        o[ax] = sizes.as_ref().map_or(Dim::Unknown, |v| v[i].clone());
        let mut fact = Fact::of_type(super::util::tensor(elem, Some(o.clone())));
        if let (Some(k), Some(n)) = (&values, o[0].as_const().and_then(|n| usize::try_from(n).ok()))
        {
            fact.value = slice_values(k, start, n);
            start += n;
        }
        ctx.set(i, fact);
    }
    Ok(())
}

/// Elements `start..start + n` of 1-D contents.
fn slice_values(k: &Konst, start: usize, n: usize) -> Option<Konst> {
    let end = start.checked_add(n)?;
    let data = match &k.data {
        Data::Int(v) => Data::Int(v.get(start..end)?.to_vec()),
        Data::Float(v) => Data::Float(v.get(start..end)?.to_vec()),
        Data::Str(v) => Data::Str(v.get(start..end)?.to_vec()),
    };
    Some(Konst { elem: k.elem, dims: vec![n as i64], data })
}

fn pad(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let Some(s) = shape_of(ctx, 0) else {
        ctx.set_tensor(0, elem, None);
        return Ok(());
    };
    let r = s.len();
    let axes: Option<Vec<usize>> = if ctx.opset >= 18 && ctx.has_input(3) {
        match const_ints(ctx, 3) {
            Some(a) => {
                let mut v = a.iter().map(|&x| axis(x, r)).collect::<Result<Vec<_>, _>>()?;
                let n = v.len();
                v.sort_unstable();
                v.dedup();
                if v.len() != n {
                    return invalid(format!("Pad axes {a:?} repeat"));
                }
                Some(a.iter().map(|&x| axis(x, r)).collect::<Result<Vec<_>, _>>()?)
            }
            None => None,
        }
    } else {
        Some((0..r).collect())
    };
    let pads: Option<Vec<Dim>> = if ctx.opset < 11 {
        ctx.attr_ints("pads")
            .or_else(|| ctx.attr_ints("paddings"))
            .map(|v| v.into_iter().map(Dim::known).collect())
    } else {
        const_dims(ctx, 1)
    };
    let (Some(axes), Some(pads)) = (axes.clone(), pads) else {
        // Pads not known: the padded axes are unknown, the others keep their size.
        let out = match axes {
            Some(a) => s
                .iter()
                .enumerate()
                .map(|(i, d)| if a.contains(&i) { Dim::Unknown } else { d.clone() })
                .collect(),
            None => vec![Dim::Unknown; r],
        };
        ctx.set_tensor(0, elem, Some(out));
        return Ok(());
    };
    if pads.len() != 2 * axes.len() {
        return invalid(format!("Pad has {} pads for {} axes", pads.len(), axes.len()));
    }
    let mut out = s;
    let n = axes.len();
    for (i, &a) in axes.iter().enumerate() {
        let d = out[a].add(&pads[i]).add(&pads[n + i]);
        if let Some(v) = d.as_const()
            && v < 0
        {
            return invalid(format!("Pad makes axis {a} negative ({v})"));
        }
        out[a] = d;
    }
    ctx.set_tensor(0, elem, Some(out));
    Ok(())
}

fn det(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let Some(s) = shape_of(ctx, 0) else {
        ctx.set_tensor(0, elem, None);
        return Ok(());
    };
    if s.len() < 2 {
        return invalid(format!("Det needs rank 2 or more, not {}", s.len()));
    }
    let (m, n) = (&s[s.len() - 2], &s[s.len() - 1]);
    if let (Some(p), Some(q)) = (m.as_const(), n.as_const())
        && p != q
    {
        return invalid(format!("Det needs square matrices, not {p}x{q}"));
    }
    ctx.set_tensor(0, elem, Some(s[..s.len() - 2].to_vec()));
    Ok(())
}

fn bit_cast(ctx: &mut Ctx<'_>) -> Res {
    let to = need(dtype_attr(ctx, "to"))?;
    if let Some(from) = ctx.elem(0)
        && let (Some(a), Some(b)) = (from.bits(), to.bits())
        && a != b
    {
        return invalid(format!("BitCast from {a}-bit {from} to {b}-bit {to}"));
    }
    ctx.set_tensor(0, Some(to), shape_of(ctx, 0));
    Ok(())
}
