//! Sequences and optionals: the sequence operators keep one element type for all elements (the
//! join of what was put in), and `SequenceMap` infers its body on one element of each input
//! sequence. Optionals wrap and unwrap types; whether one holds a value is known when the input
//! is omitted (no value) or is not an optional at all (a value).

use super::Registry;
use super::util::{axis, const_ints, dtype_attr, insert_axis, show};
use crate::ctx::{Ctx, Res, invalid, need};
use crate::fact::{Fact, Konst, TensorTy, Ty};
use crate::merge::join_ty;
use crate::sym::Dim;
use ferry_ir::DataType;

pub fn register(r: &mut Registry) {
    r.add("", &["SequenceEmpty"], sequence_empty);
    r.add("", &["SequenceConstruct"], sequence_construct);
    r.add("", &["SequenceInsert"], sequence_insert);
    r.add("", &["SequenceAt"], sequence_at);
    r.add("", &["SequenceErase"], sequence_erase);
    r.add("", &["SequenceLength"], sequence_length);
    r.add("", &["ConcatFromSequence"], concat_from_sequence);
    r.add("", &["SplitToSequence"], split_to_sequence);
    r.add("", &["SequenceMap"], sequence_map);
    r.add("", &["Optional"], optional);
    r.add("", &["OptionalHasElement"], optional_has_element);
    r.add("", &["OptionalGetElement"], optional_get_element);
}

fn seq_of(t: Ty) -> Ty {
    Ty::Seq(Some(Box::new(t)))
}

/// The element type of sequence input `i`, when known.
fn elem_of(ctx: &Ctx<'_>, i: usize) -> Option<Ty> {
    match ctx.input(i)?.ty.as_ref()? {
        Ty::Seq(Some(e)) => Some((**e).clone()),
        _ => None,
    }
}

/// The element type of a tensor-typed `Ty`.
fn tensor_elem(t: &Ty) -> Option<DataType> {
    t.as_tensor().and_then(|t| t.elem)
}

fn sequence_empty(ctx: &mut Ctx<'_>) -> Res {
    let elem = dtype_attr(ctx, "dtype").unwrap_or(DataType::FLOAT);
    ctx.set_type(0, seq_of(Ty::Tensor(TensorTy { elem: Some(elem), shape: None })));
    Ok(())
}

/// Joins tensor types that must share an element type (sequence elements).
fn join_elements(types: &[Option<Ty>]) -> Result<Ty, crate::ctx::Stop> {
    let mut elem = None;
    for t in types.iter().flatten() {
        match (elem, tensor_elem(t)) {
            (Some(a), Some(b)) if a != b => {
                return invalid(format!("sequence elements of types {a} and {b}"));
            }
            (None, b) => elem = b,
            _ => {}
        }
    }
    if types.iter().any(Option::is_none) {
        return Ok(Ty::Tensor(TensorTy { elem, shape: None }));
    }
    let mut it = types.iter().flatten();
    let first = need(it.next())?.clone();
    Ok(it.fold(first, |acc, t| join_ty(&acc, t)))
}

fn sequence_construct(ctx: &mut Ctx<'_>) -> Res {
    let types: Vec<Option<Ty>> =
        (0..ctx.num_inputs()).map(|i| ctx.input(i).and_then(|f| f.ty.clone())).collect();
    if types.is_empty() {
        return invalid("SequenceConstruct needs at least one input");
    }
    let t = join_elements(&types)?;
    ctx.set_type(0, seq_of(t));
    Ok(())
}

fn sequence_insert(ctx: &mut Ctx<'_>) -> Res {
    let tensor = ctx.input(1).and_then(|f| f.ty.clone());
    let seq = elem_of(ctx, 0);
    let t = match (seq, tensor) {
        (Some(s), Some(t)) => join_elements(&[Some(s), Some(t)])?,
        (s, t) => {
            let elem = s.as_ref().or(t.as_ref()).and_then(tensor_elem);
            Ty::Tensor(TensorTy { elem: Some(need(elem)?), shape: None })
        }
    };
    ctx.set_type(0, seq_of(t));
    Ok(())
}

fn sequence_at(ctx: &mut Ctx<'_>) -> Res {
    let t = need(elem_of(ctx, 0))?;
    ctx.set_type(0, t);
    Ok(())
}

fn sequence_erase(ctx: &mut Ctx<'_>) -> Res {
    let t = need(ctx.input(0).and_then(|f| f.ty.clone()))?;
    ctx.set_type(0, t);
    Ok(())
}

fn sequence_length(ctx: &mut Ctx<'_>) -> Res {
    ctx.set_type(0, Ty::tensor(DataType::INT64, vec![]));
    Ok(())
}

fn concat_from_sequence(ctx: &mut Ctx<'_>) -> Res {
    let t = need(elem_of(ctx, 0))?;
    let t = need(t.as_tensor().cloned())?;
    let Some(s) = t.shape else {
        ctx.set_tensor(0, t.elem, None);
        return Ok(());
    };
    let a = need(ctx.attr_int("axis"))?;
    let new_axis = ctx.attr_int("new_axis").unwrap_or(0);
    let out = match new_axis {
        0 => {
            let ax = axis(a, s.len())?;
            let mut out = s.clone();
            // The sum over the elements, whose number is not known.
            out[ax] = Dim::Unknown;
            out
        }
        1 => {
            let ax = insert_axis(a, s.len())?;
            let mut out = s.clone();
            out.insert(ax, Dim::Unknown);
            out
        }
        n => return invalid(format!("new_axis must be 0 or 1, not {n}")),
    };
    ctx.set_tensor(0, t.elem, Some(out));
    Ok(())
}

fn split_to_sequence(ctx: &mut Ctx<'_>) -> Res {
    let elem = ctx.elem(0);
    let Some(s) = ctx.shape(0).map(<[Dim]>::to_vec) else {
        ctx.set_type(0, seq_of(Ty::Tensor(TensorTy { elem, shape: None })));
        return Ok(());
    };
    let ax = axis(ctx.attr_int("axis").unwrap_or(0), s.len())?;
    let dim = &s[ax];
    let mut out = s.clone();
    if !ctx.has_input(1) {
        if ctx.attr_int("keepdims").unwrap_or(1) == 0 {
            out.remove(ax);
        } else {
            out[ax] = Dim::known(1);
        }
    } else {
        let split_rank = ctx.rank(1);
        out[ax] = match (const_ints(ctx, 1), split_rank) {
            (Some(v), Some(0)) => {
                let n = need(v.first().copied())?;
                if n <= 0 {
                    return invalid(format!("split size {n} is not positive"));
                }
                match dim.as_const() {
                    Some(d) if d % n == 0 => Dim::known(n),
                    None if n == 1 => Dim::known(1),
                    _ => Dim::Unknown,
                }
            }
            (Some(v), Some(1)) => {
                if v.is_empty() {
                    return invalid("split is empty");
                }
                let total: i64 = v.iter().sum();
                if let Some(d) = dim.as_const()
                    && d != total
                {
                    return invalid(format!(
                        "split sizes {v:?} add up to {total}, not to dimension {ax} of {}",
                        show(&s)
                    ));
                }
                if v.windows(2).all(|w| w[0] == w[1]) { Dim::known(v[0]) } else { Dim::Unknown }
            }
            _ => Dim::Unknown,
        };
    }
    ctx.set_type(0, seq_of(Ty::Tensor(TensorTy { elem, shape: Some(out) })));
    Ok(())
}

fn sequence_map(ctx: &mut Ctx<'_>) -> Res {
    let mut inputs = Vec::with_capacity(ctx.num_inputs());
    for i in 0..ctx.num_inputs() {
        let f = ctx.input(i).cloned().unwrap_or_default();
        inputs.push(match &f.ty {
            Some(Ty::Seq(e)) => Fact { ty: e.as_ref().map(|e| (**e).clone()), value: None },
            Some(_) if i == 0 => return invalid("SequenceMap's first input is not a sequence"),
            _ => f,
        });
    }
    let outs = ctx.infer_subgraph("body", inputs)?;
    if outs.len() != ctx.num_outputs() {
        return invalid(format!(
            "the body has {} outputs; SequenceMap has {}",
            outs.len(),
            ctx.num_outputs()
        ));
    }
    for (i, o) in outs.into_iter().enumerate() {
        if let Some(t) = o.ty {
            ctx.set_type(i, seq_of(t));
        }
    }
    Ok(())
}

fn optional(ctx: &mut Ctx<'_>) -> Res {
    let t = if ctx.has_input(0) {
        need(ctx.input(0).and_then(|f| f.ty.clone()))?
    } else {
        match ctx.attr_type("type").and_then(Ty::from_ir) {
            Some(t) => t,
            None => return invalid("Optional without an input needs its 'type' attribute"),
        }
    };
    ctx.set_type(0, Ty::Optional(Some(Box::new(t))));
    Ok(())
}

fn optional_has_element(ctx: &mut Ctx<'_>) -> Res {
    let known = if !ctx.has_input(0) {
        Some(false)
    } else {
        match ctx.input(0).and_then(|f| f.ty.as_ref()) {
            Some(Ty::Optional(_)) | None => None,
            Some(_) => Some(true),
        }
    };
    let fact = match known {
        Some(b) => Fact::of_value(Konst::scalar_int(DataType::BOOL, Dim::known(i64::from(b)))),
        None => Fact::of_type(Ty::tensor(DataType::BOOL, vec![])),
    };
    ctx.set(0, fact);
    Ok(())
}

fn optional_get_element(ctx: &mut Ctx<'_>) -> Res {
    let f = need(ctx.input(0).cloned())?;
    match f.ty {
        Some(Ty::Optional(Some(e))) => ctx.set_type(0, *e),
        Some(Ty::Optional(None)) => {}
        Some(_) if ctx.opset < 18 => {
            return invalid("OptionalGetElement's input is not an optional");
        }
        Some(_) => ctx.set(0, f),
        None => {}
    }
    Ok(())
}
