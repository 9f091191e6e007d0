//! Control flow: `If`, `Loop` and `Scan`, inferred through their subgraphs.
//!
//! `If` joins what its two branches produce (or takes the branch a known condition selects,
//! contents included). `Loop` and `Scan` carry values from one iteration to the next, so their
//! bodies are first inferred on copies until the carried facts are stable: a dimension that
//! changes between iterations becomes a fresh symbol inside the body (`y_in__d0`), so relations
//! between the body's values survive, and an unknown dimension outside it (the fresh symbol
//! names no value the enclosing graph can see). Only the final, stable inference is recorded in
//! the body. A `Loop` whose trip count is a small known number is also run iteration by
//! iteration, so that a carried tensor that grows gets its exact final shape.

use super::Registry;
use crate::ctx::{Ctx, Res, Stop, invalid, need};
use crate::fact::{Data, Fact, Konst, TensorTy, Ty};
use crate::merge::{join_ty, merge};
use crate::sym::Dim;
use ferry_ir::{AttrValue, DataType, Graph};
use std::collections::HashSet;

pub fn register(r: &mut Registry) {
    r.add("", &["If"], if_);
    r.add("", &["Loop"], loop_);
    r.add("", &["Scan"], scan);
}

/// Passes over a body before its carried facts are declared unstable and reduced to types
/// without shapes.
const MAX_PASSES: usize = 5;
/// A `Loop` with a known trip count up to this is run iteration by iteration...
const UNROLL_MAX_TRIPS: i64 = 64;
/// ...when trips times the body's node count (nested bodies included) stays under this.
const UNROLL_BUDGET: usize = 2048;

/// Graph attribute `name` of the node being inferred.
pub(super) fn graph_attr<'a>(ctx: &'a Ctx<'_>, name: &str) -> Option<&'a Graph> {
    ctx.attributes().iter().find(|a| a.name == name).and_then(|a| match &a.value {
        AttrValue::Graph(g) => Some(&**g),
        _ => None,
    })
}

/// Infers a copy of graph attribute `name` for `inputs`: what its outputs would be, without
/// recording anything in the graph itself (the copy carries the recorded types; see
/// [`install`]).
fn probe(ctx: &mut Ctx<'_>, name: &str, inputs: Vec<Fact>) -> Result<(Vec<Fact>, Graph), Stop> {
    let Some(g) = graph_attr(ctx, name) else {
        return invalid(format!("no graph attribute '{name}'"));
    };
    let mut g = g.clone();
    let outs = (ctx.subgraph)(&mut g, inputs, false).map_err(Stop::Invalid)?;
    Ok((outs, g))
}

/// Replaces graph attribute `name` with an inferred copy of it from [`probe`].
fn install(ctx: &mut Ctx<'_>, name: &str, inferred: Graph) {
    if let Some(a) = ctx.attrs.iter_mut().find(|a| a.name == name)
        && let AttrValue::Graph(g) = &mut a.value
    {
        **g = inferred;
    }
}

/// What two possible values of one output have in common: their joined type, and their
/// contents when equal.
pub(super) fn join_fact(a: &Fact, b: &Fact) -> Fact {
    let ty = match (&a.ty, &b.ty) {
        (Some(x), Some(y)) => Some(join_ty(x, y)),
        _ => None,
    };
    let value = if a.value == b.value { a.value.clone() } else { None };
    Fact { ty, value }
}

/// What a loop-carried value may be after the loop: its value before (if the body may not run)
/// or after the body. A body that turns an optional into what it holds yields the body's type.
fn join_carried(before: &Fact, after: &Fact) -> Fact {
    match (&before.ty, &after.ty) {
        (Some(a), Some(b)) if std::mem::discriminant(a) != std::mem::discriminant(b) => {
            Fact::of_type(b.clone())
        }
        _ => join_fact(before, after),
    }
}

/// A scalar boolean or integer input's value, when known.
fn const_scalar(ctx: &Ctx<'_>, i: usize) -> Option<Dim> {
    let k = ctx.input(i)?.value.as_ref()?;
    match &k.data {
        Data::Int(v) if v.len() == 1 => Some(v[0].clone()),
        Data::Float(v) if v.len() == 1 => Some(Dim::known(i64::from(v[0] != 0.0))),
        _ => None,
    }
}

fn fact_bool(f: &Fact) -> Option<bool> {
    match &f.value.as_ref()?.data {
        Data::Int(v) if v.len() == 1 => v[0].as_const().map(|x| x != 0),
        _ => None,
    }
}

fn if_(ctx: &mut Ctx<'_>) -> Res {
    let cond = const_scalar(ctx, 0).and_then(|d| d.as_const());
    let then = ctx.infer_subgraph("then_branch", vec![])?;
    let other = ctx.infer_subgraph("else_branch", vec![])?;
    if then.len() != other.len() {
        return invalid(format!(
            "then_branch has {} outputs and else_branch {}",
            then.len(),
            other.len()
        ));
    }
    if then.len() != ctx.num_outputs() {
        return invalid(format!(
            "If has {} outputs but its branches produce {}",
            ctx.num_outputs(),
            then.len()
        ));
    }
    for (i, (t, e)) in then.iter().zip(&other).enumerate() {
        let fact = match cond {
            Some(0) => e.clone(),
            Some(_) => t.clone(),
            None => join_fact(t, e),
        };
        ctx.set(i, fact);
    }
    Ok(())
}

/// The type with every shape removed, element types kept (what stays fixed across iterations
/// when nothing else is known).
fn strip_shapes(t: &Ty) -> Ty {
    match t {
        Ty::Tensor(x) => Ty::Tensor(TensorTy { elem: x.elem, shape: None }),
        Ty::Sparse(x) => Ty::Sparse(TensorTy { elem: x.elem, shape: None }),
        Ty::Seq(e) => Ty::Seq(e.as_ref().map(|e| Box::new(strip_shapes(e)))),
        Ty::Optional(e) => Ty::Optional(e.as_ref().map(|e| Box::new(strip_shapes(e)))),
        Ty::Map(k, v) => Ty::Map(*k, v.as_ref().map(|v| Box::new(strip_shapes(v)))),
        Ty::Other(_) => t.clone(),
    }
}

/// Fresh symbols of one loop: dimensions that change from one iteration to the next, named
/// after the body input that carries them.
#[derive(Default)]
struct Fresh {
    names: HashSet<String>,
}

impl Fresh {
    /// The symbol for dimension `path` of body input `input` (not yet registered as used).
    fn name(input: &str, path: &str) -> String {
        let clean: String = input
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '.' { c } else { '_' })
            .collect();
        format!("{clean}__{path}")
    }

    fn is_fresh(&self, d: &Dim) -> bool {
        d.expr().is_some_and(|e| e.symbols().any(|s| self.names.contains(s)))
    }

    /// Dimensions mentioning a fresh symbol become unknown: outside the body they name nothing.
    fn scrub_ty(&self, t: &Ty) -> Ty {
        let dims = |x: &TensorTy| TensorTy {
            elem: x.elem,
            shape: x.shape.as_ref().map(|s| {
                s.iter().map(|d| if self.is_fresh(d) { Dim::Unknown } else { d.clone() }).collect()
            }),
        };
        let inner = |e: &Option<Box<Ty>>| e.as_ref().map(|e| Box::new(self.scrub_ty(e)));
        match t {
            Ty::Tensor(x) => Ty::Tensor(dims(x)),
            Ty::Sparse(x) => Ty::Sparse(dims(x)),
            Ty::Seq(e) => Ty::Seq(inner(e)),
            Ty::Optional(e) => Ty::Optional(inner(e)),
            Ty::Map(k, v) => Ty::Map(*k, inner(v)),
            Ty::Other(_) => t.clone(),
        }
    }

    fn scrub(&self, f: &Fact) -> Fact {
        let ty = f.ty.as_ref().map(|t| self.scrub_ty(t));
        let value = f.value.clone().filter(|k| match &k.data {
            Data::Int(v) => !v.iter().any(|d| self.is_fresh(d)),
            _ => true,
        });
        Fact { ty, value }
    }

    /// The most specific type covering both `cur` (what the body input is now assumed to be)
    /// and `out` (what the body produces from it for the next iteration).
    fn widen_ty(&mut self, cur: &Ty, out: &Ty, input: &str, path: &str) -> Ty {
        let widen_tensor = |me: &mut Fresh, a: &TensorTy, b: &TensorTy| -> TensorTy {
            let elem = if a.elem == b.elem || b.elem.is_none() { a.elem } else { None };
            let shape = match (&a.shape, &b.shape) {
                (Some(p), Some(q)) if p.len() == q.len() => Some(
                    p.iter()
                        .zip(q)
                        .enumerate()
                        .map(|(k, (x, y))| {
                            let name = Fresh::name(input, &format!("{path}d{k}"));
                            let own = Dim::symbol(&name);
                            if x == y || *x == own || *x == Dim::Unknown {
                                x.clone()
                            } else {
                                me.names.insert(name);
                                own
                            }
                        })
                        .collect(),
                ),
                _ => None,
            };
            TensorTy { elem, shape }
        };
        match (cur, out) {
            (Ty::Tensor(a), Ty::Tensor(b)) => Ty::Tensor(widen_tensor(self, a, b)),
            (Ty::Sparse(a), Ty::Sparse(b)) => Ty::Sparse(widen_tensor(self, a, b)),
            (Ty::Seq(Some(a)), Ty::Seq(Some(b))) => {
                Ty::Seq(Some(Box::new(self.widen_ty(a, b, input, &format!("{path}s")))))
            }
            (Ty::Optional(Some(a)), Ty::Optional(Some(b))) => {
                Ty::Optional(Some(Box::new(self.widen_ty(a, b, input, &format!("{path}o")))))
            }
            (a, b) if a == b => a.clone(),
            (a, _) => strip_shapes(a),
        }
    }

    fn widen(&mut self, cur: &Fact, out: &Fact, input: &str) -> Fact {
        let ty = match (&cur.ty, &out.ty) {
            (Some(a), Some(b)) => Some(self.widen_ty(a, b, input, "")),
            (Some(a), None) => Some(strip_shapes(a)),
            (None, _) => None,
        };
        let value = if cur.value == out.value { cur.value.clone() } else { None };
        Fact { ty, value }
    }
}

/// A body run to a fixed point over its loop-carried inputs.
struct Stable {
    /// The carried inputs' facts the body was finally inferred with (declarations merged in).
    carried: Vec<Fact>,
    outputs: Vec<Fact>,
    fresh: Fresh,
}

/// Infers graph attribute `body`, whose inputs are `lead`, then the loop-carried values
/// (initially `carried`, fed from body outputs starting at `out_at`), then `tail`. Carried facts
/// are widened until the body maps them into themselves; the final inference is recorded.
fn stabilize(
    ctx: &mut Ctx<'_>,
    lead: &[Fact],
    carried: Vec<Fact>,
    tail: &[Fact],
    out_at: usize,
) -> Result<Stable, Stop> {
    let Some(body) = graph_attr(ctx, "body") else {
        return invalid("no graph attribute 'body'");
    };
    let names: Vec<String> = body
        .inputs()
        .iter()
        .skip(lead.len())
        .take(carried.len())
        .map(|&v| body.value(v).name.clone())
        .collect();
    let declared: Vec<Fact> = (0..carried.len())
        .map(|j| Fact { ty: ctx.subgraph_input_type("body", lead.len() + j), value: None })
        .collect();
    let effective = |given: &[Fact]| -> Vec<Fact> {
        given
            .iter()
            .zip(&declared)
            .map(|(g, d)| merge(g, d).unwrap_or_else(|_| g.clone()))
            .collect()
    };
    let mut fresh = Fresh::default();
    let mut given = carried;
    for _ in 0..MAX_PASSES {
        let inputs: Vec<Fact> = lead.iter().chain(&given).chain(tail).cloned().collect();
        let (outputs, inferred) = probe(ctx, "body", inputs)?;
        let eff = effective(&given);
        if outputs.len() < out_at + given.len() {
            return invalid(format!(
                "the body has {} outputs, fewer than its {} loop-carried values need",
                outputs.len(),
                given.len()
            ));
        }
        let widened: Vec<Fact> = eff
            .iter()
            .zip(&outputs[out_at..])
            .zip(&names)
            .map(|((c, o), n)| fresh.widen(c, o, n))
            .collect();
        // Stable, or held in place by the body's declared input types.
        if widened == eff || widened == given {
            install(ctx, "body", inferred);
            return Ok(Stable { carried: eff, outputs, fresh });
        }
        given = widened;
    }
    // Still changing: keep only what cannot change (element types) and infer once more.
    given = effective(&given)
        .iter()
        .map(|f| Fact { ty: f.ty.as_ref().map(strip_shapes), value: None })
        .collect();
    let inputs: Vec<Fact> = lead.iter().chain(&given).chain(tail).cloned().collect();
    let (outputs, inferred) = probe(ctx, "body", inputs)?;
    install(ctx, "body", inferred);
    Ok(Stable { carried: effective(&given), outputs, fresh })
}

/// `Loop`: inputs (M, cond, initial carried values...); body inputs (iteration number, cond,
/// carried...); body outputs (cond, carried..., scan outputs...); node outputs (final carried
/// values..., scan outputs stacked along a new leading axis of length the trip count).
fn loop_(ctx: &mut Ctx<'_>) -> Res {
    let n_in = ctx.num_inputs();
    if n_in < 2 {
        return invalid("Loop needs its M and cond inputs (either may be empty)");
    }
    let n_carried = n_in - 2;
    let n_out = ctx.num_outputs();
    if n_out < n_carried {
        return invalid(format!("Loop has {n_out} outputs for {n_carried} loop-carried values"));
    }
    let n_scan = n_out - n_carried;
    if let Some(n) = ctx.subgraph_input_count("body")
        && n != n_carried + 2
    {
        return invalid(format!(
            "the body has {n} inputs; it needs {} (iteration number, condition and {n_carried} loop-carried values)",
            n_carried + 2
        ));
    }
    let cond_given = ctx.has_input(1);
    let cond_in = if cond_given { const_scalar(ctx, 1).and_then(|d| d.as_const()) } else { None };
    let max_trips = if ctx.has_input(0) { const_scalar(ctx, 0) } else { None };
    let scalar = |elem| Fact::of_type(Ty::tensor(elem, vec![]));
    // The body only runs while the condition holds: when it is an input, the body sees true.
    let cond_fact = if cond_given {
        Fact::of_value(Konst::scalar_int(DataType::BOOL, Dim::known(1)))
    } else {
        scalar(DataType::BOOL)
    };
    let initial: Vec<Fact> =
        (0..n_carried).map(|j| ctx.input(j + 2).cloned().unwrap_or_default()).collect();
    let st =
        stabilize(ctx, &[scalar(DataType::INT64), cond_fact.clone()], initial.clone(), &[], 1)?;
    if st.outputs.len() != n_out + 1 {
        return invalid(format!(
            "the body has {} outputs; Loop with {n_out} outputs needs {}",
            st.outputs.len(),
            n_out + 1
        ));
    }

    // How many times the body runs, when that can be told.
    let m = max_trips.as_ref().map(|d| match d.as_const() {
        Some(n) if n < 0 => Dim::known(0),
        _ => d.clone(),
    });
    let trips: Option<Dim> = if cond_in == Some(0) || m.as_ref().and_then(Dim::as_const) == Some(0)
    {
        Some(Dim::known(0))
    } else if !cond_given {
        m.clone()
    } else if cond_in.is_some() {
        match fact_bool(&st.outputs[0]) {
            Some(true) => m.clone(),
            Some(false) => match m.as_ref().map(Dim::as_const) {
                None | Some(Some(_)) => Some(Dim::known(1)),
                Some(None) => None,
            },
            None => None,
        }
    } else {
        None
    };

    if trips.as_ref().and_then(Dim::as_const) == Some(0) {
        for (j, f) in initial.iter().enumerate() {
            ctx.set(j, f.clone());
        }
        for k in 0..n_scan {
            let per = st.fresh.scrub(&st.outputs[1 + n_carried + k]);
            ctx.set(n_carried + k, stacked(&per, 0, Dim::known(0)));
        }
        return Ok(());
    }

    // Run the body iteration by iteration when the number of iterations is small and each
    // iteration's condition can be told (a `for` loop, or a `while` whose condition depends on
    // counters only).
    let bound: Option<Option<i64>> = match &trips {
        Some(t) => t.as_const().map(Some),
        None if cond_in == Some(1) => match &m {
            Some(d) => d.as_const().map(Some),
            None => Some(None),
        },
        None => None,
    };
    if let Some(bound) = bound
        && let Some((t, finals, scans)) = unroll(ctx, bound, &cond_fact, &initial, n_scan)?
    {
        for (j, f) in finals.into_iter().enumerate() {
            ctx.set(j, f);
        }
        for (k, per) in scans.into_iter().enumerate() {
            ctx.set(n_carried + k, stacked(&per, 0, Dim::known(t)));
        }
        return Ok(());
    }

    let at_least_once = trips.as_ref().and_then(Dim::as_const).is_some_and(|t| t >= 1);
    for j in 0..n_carried {
        let body_out = st.fresh.scrub(&st.outputs[1 + j]);
        let fact = if at_least_once {
            body_out
        } else {
            join_carried(&st.fresh.scrub(&st.carried[j]), &body_out)
        };
        ctx.set(j, fact);
    }
    for k in 0..n_scan {
        let per = st.fresh.scrub(&st.outputs[1 + n_carried + k]);
        ctx.set(n_carried + k, stacked(&per, 0, trips.clone().unwrap_or(Dim::Unknown)));
    }
    Ok(())
}

/// The number of iterations, the final carried facts and each scan output's per-iteration fact
/// of an unrolled loop.
type Unrolled = Option<(i64, Vec<Fact>, Vec<Fact>)>;

/// Runs a `Loop` body on copies, iteration by iteration, with each iteration's number and the
/// previous iteration's carried facts, for at most `max` iterations (when given) and while the
/// condition (when the node has one) is known to be true. Returns `None` when the loop is too
/// large to run so, or an iteration's condition is not known.
fn unroll(
    ctx: &mut Ctx<'_>,
    max: Option<i64>,
    cond: &Fact,
    initial: &[Fact],
    n_scan: usize,
) -> Result<Unrolled, Stop> {
    let size = graph_attr(ctx, "body").map_or(usize::MAX, Graph::node_count_recursive).max(1);
    let limit = i64::try_from(UNROLL_BUDGET / size).unwrap_or(0).min(UNROLL_MAX_TRIPS);
    let cond_given = ctx.has_input(1);
    // Without a condition the loop runs exactly `max` times; with one, `max` is only a bound
    // (often a huge one) and the condition decides.
    if !cond_given && max.is_none_or(|m| m > limit) {
        return Ok(None);
    }
    let mut state = initial.to_vec();
    let mut scans: Vec<Option<Fact>> = vec![None; n_scan];
    let mut i = 0;
    loop {
        if max.is_some_and(|m| i >= m) {
            break;
        }
        if i >= limit {
            return Ok(None);
        }
        let iter = Fact::of_value(Konst::scalar_int(DataType::INT64, Dim::known(i)));
        let inputs: Vec<Fact> =
            [iter, cond.clone()].into_iter().chain(state.iter().cloned()).collect();
        let (outs, _) = probe(ctx, "body", inputs)?;
        if outs.len() != 1 + state.len() + n_scan {
            return Ok(None);
        }
        state = outs[1..1 + state.len()].to_vec();
        for (k, s) in scans.iter_mut().enumerate() {
            let per = &outs[1 + state.len() + k];
            *s = Some(match s.take() {
                None => per.clone(),
                Some(prev) => join_fact(&prev, per),
            });
        }
        i += 1;
        if cond_given {
            match fact_bool(&outs[0]) {
                Some(true) => {}
                Some(false) => break,
                None => return Ok(None),
            }
        }
    }
    Ok(Some((i, state, scans.into_iter().map(Option::unwrap_or_default).collect())))
}

/// A scan output: per-iteration tensors stacked along a new axis `at` of length `len`.
fn stacked(per: &Fact, at: usize, len: Dim) -> Fact {
    match per.tensor() {
        Some(t) => {
            let shape = t.shape.as_ref().and_then(|s| {
                (at <= s.len()).then(|| {
                    let mut out = s.clone();
                    out.insert(at, len);
                    out
                })
            });
            Fact::of_type(Ty::Tensor(TensorTy { elem: t.elem, shape }))
        }
        None => Fact::default(),
    }
}

/// The shape without the dimensions at `drop` (sorted, in range).
fn without(shape: &[Dim], drop: &[usize]) -> Vec<Dim> {
    shape.iter().enumerate().filter(|(i, _)| !drop.contains(i)).map(|(_, d)| d.clone()).collect()
}

/// `Scan`. Opset 8: inputs (sequence_lens, states..., scan inputs...), every input with a leading
/// batch axis and scan inputs iterated along axis 1. Opset 9 and later: inputs (states...,
/// scan inputs...), scan inputs iterated along `scan_input_axes`, scan outputs stacked along
/// `scan_output_axes`.
fn scan(ctx: &mut Ctx<'_>) -> Res {
    let v8 = ctx.opset < 9;
    let first = usize::from(v8);
    let n_scan_in = usize::try_from(need(ctx.attr_int("num_scan_inputs"))?)
        .or_else(|_| invalid("num_scan_inputs is negative"))?;
    let n_in = ctx.num_inputs().saturating_sub(first);
    if n_scan_in > n_in {
        return invalid(format!("num_scan_inputs is {n_scan_in} but Scan has {n_in} inputs"));
    }
    let n_state = n_in - n_scan_in;
    let n_out = ctx.num_outputs();
    if n_state > n_out {
        return invalid(format!("Scan has {n_out} outputs for {n_state} state values"));
    }
    let n_scan_out = n_out - n_state;
    let axes_attr = |name: &str, n: usize| -> Result<Vec<i64>, Stop> {
        match ctx.attr_ints(name) {
            Some(a) if !v8 && !a.is_empty() => {
                if a.len() != n {
                    return invalid(format!("{name} has {} entries for {n} values", a.len()));
                }
                Ok(a)
            }
            _ => Ok(vec![0; n]),
        }
    };
    let in_axes = axes_attr("scan_input_axes", n_scan_in)?;
    let out_axes = axes_attr("scan_output_axes", n_scan_out)?;

    let mut batch = Dim::Unknown;
    let mut seq_len = Dim::Unknown;
    let unify = |acc: &mut Dim, d: &Dim, what: &str| -> Res {
        *acc = acc
            .unify(d)
            .or_else(|(p, q)| invalid(format!("scan inputs disagree on the {what}: {p} vs {q}")))?;
        Ok(())
    };
    let mut states = Vec::with_capacity(n_state);
    for j in 0..n_state {
        let mut f = ctx.input(first + j).cloned().unwrap_or_default();
        if v8 {
            f.value = None;
            if let Some(Ty::Tensor(t)) = &mut f.ty
                && let Some(s) = &mut t.shape
            {
                if s.is_empty() {
                    return invalid("a Scan state has no batch axis");
                }
                unify(&mut batch, &s.remove(0), "batch size")?;
            }
        }
        states.push(f);
    }
    let mut slices = Vec::with_capacity(n_scan_in);
    for (j, &ax) in in_axes.iter().enumerate() {
        let f = ctx.input(first + n_state + j).cloned().unwrap_or_default();
        let slice = match f.tensor() {
            Some(t) => {
                let shape = match &t.shape {
                    Some(s) if v8 => {
                        if s.len() < 2 {
                            return invalid("a Scan input has no batch and sequence axes");
                        }
                        unify(&mut batch, &s[0], "batch size")?;
                        unify(&mut seq_len, &s[1], "sequence length")?;
                        Some(without(s, &[0, 1]))
                    }
                    Some(s) => {
                        let a = super::util::axis(ax, s.len())?;
                        unify(&mut seq_len, &s[a], "sequence length")?;
                        Some(without(s, &[a]))
                    }
                    None => None,
                };
                Fact::of_type(Ty::Tensor(TensorTy { elem: t.elem, shape }))
            }
            None => Fact::default(),
        };
        slices.push(slice);
    }
    let initial = states.clone();
    let st = stabilize(ctx, &[], states, &slices, 0)?;
    if st.outputs.len() != n_out {
        return invalid(format!(
            "the body has {} outputs; Scan with {n_out} outputs needs as many",
            st.outputs.len()
        ));
    }
    let nonempty = seq_len.as_const().is_some_and(|n| n >= 1);
    for (j, (init, carried)) in initial.iter().zip(&st.carried).enumerate() {
        let body_out = st.fresh.scrub(&st.outputs[j]);
        let mut fact = if nonempty {
            body_out
        } else if seq_len.as_const() == Some(0) {
            init.clone()
        } else {
            join_fact(&st.fresh.scrub(carried), &body_out)
        };
        if v8 {
            fact = stacked(&fact, 0, batch.clone());
        }
        ctx.set(j, fact);
    }
    for (k, &out_axis) in out_axes.iter().enumerate() {
        let per = st.fresh.scrub(&st.outputs[n_state + k]);
        let fact = if v8 {
            stacked(&stacked(&per, 0, seq_len.clone()), 0, batch.clone())
        } else {
            match per.rank() {
                Some(r) => {
                    let a = super::util::axis(out_axis, r + 1)?;
                    stacked(&per, a, seq_len.clone())
                }
                None => stacked(&per, 0, Dim::Unknown),
            }
        };
        ctx.set(n_state + k, fact);
    }
    Ok(())
}
