//! `eliminate_reshape_around_elementwise`: `Reshape(f(Reshape(A, s1)), s2)` where `f` is made of
//! element-wise operations and `s2` is `A`'s own shape becomes `f(A)`: both Reshapes go. This
//! is the shape of TensorFlow's `Tensordot` as tf2onnx writes it (flatten to 2-D for a MatMul,
//! back to 3-D, an activation, flatten again for the next MatMul), where the activation in the
//! middle does not care about the shape.
//!
//! The region `f` is every node reached from the first Reshape's output through element-wise
//! nodes; it ends at Reshapes reading a region value ("exits"). Guards (nothing changes
//! otherwise):
//!
//! - the first Reshape is in the default domain with two inputs and one output, and `A`'s shape
//!   is fully known as numbers (a declared type, a constant or type inference);
//! - every region node is a default-domain element-wise operator: one of the unary ones listed
//!   in [`UNARY`], or `Add`/`Sub`/`Mul`/`Div`/`Pow`/`Max`/`Min` with two inputs, or `Clip`
//!   with constant bounds. Each input of a region node is the first Reshape's output, a region
//!   value, or a constant whose dims are all 1 and whose rank is at most `A`'s (so broadcasting
//!   it against `A` or against the reshaped tensor gives the same numbers and keeps the shape);
//! - every reader of the first Reshape's output and of every region value is a region node or an
//!   exit; no region value (nor the first Reshape's output) is a graph output, read by name from
//!   a subgraph or protected, since their shapes change;
//! - there is at least one exit, and every exit (default domain, two inputs, one output) has a
//!   result whose shape is fully known and equal to `A`'s;
//! - the region holds at most [`MAX_REGION`] nodes (the walk stays linear: every node is looked
//!   at by one search at most).
//!
//! The region then reads `A` directly, each exit's output is replaced by its input, which takes
//! the exit output's name (`forward::merge_into_producer`), and the first Reshape goes. Region
//! values get `A`'s dims in their declared types and, unless an exit renamed them, fresh names
//! (`<name>_unreshaped`): their shape changed, so their old names would now denote other
//! values. Inference (`PassCx::facts`, shared)
//! runs only when a candidate region exists and declared types do not give the shapes; graphs
//! without facts use declared types alone.

use crate::chain::{is_op, pinned};
use crate::constants::Placer;
use crate::fold_constants::for_each_subgraph;
use crate::forward::{Sweeper, merge_into_producer};
use crate::fuse_bn::constant;
use crate::{Changed, Pass, PassCx, PassError};
use ferry_infer::{Fact, Facts};
use ferry_ir::{DimValue, Graph, Model, NodeId, Shape, TypeKind, UseSlot, ValueId};
use std::collections::HashSet;

pub struct EliminateReshapeAroundElementwise;

/// Element-wise operators with one input (and attributes that do not involve axes).
const UNARY: &[&str] = &[
    "Abs",
    "Acos",
    "Acosh",
    "Asin",
    "Asinh",
    "Atan",
    "Atanh",
    "Cast",
    "Ceil",
    "Cos",
    "Cosh",
    "Elu",
    "Erf",
    "Exp",
    "Floor",
    "Gelu",
    "HardSigmoid",
    "HardSwish",
    "Identity",
    "IsInf",
    "IsNaN",
    "LeakyRelu",
    "Log",
    "Mish",
    "Neg",
    "Not",
    "Reciprocal",
    "Relu",
    "Round",
    "Selu",
    "Sigmoid",
    "Sign",
    "Sin",
    "Sinh",
    "Softplus",
    "Softsign",
    "Sqrt",
    "Tan",
    "Tanh",
    "ThresholdedRelu",
];

/// Element-wise operators with two inputs that broadcast.
const BINARY: &[&str] = &["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"];

/// The largest region looked at.
pub const MAX_REGION: usize = 4096;

/// A region found from one first Reshape.
struct Region {
    first: NodeId,
    a: ValueId,
    /// The first Reshape's output.
    head: ValueId,
    /// Values the region makes.
    values: Vec<ValueId>,
    /// (exit Reshape, its input, its output)
    exits: Vec<(NodeId, ValueId, ValueId)>,
}

/// A value's dims as numbers when all are known: constant, declared, or inferred.
fn static_dims(g: &Graph, v: ValueId, facts: Option<&[Fact]>) -> Option<Vec<i64>> {
    if let Some(t) = constant(g, v) {
        return Some(t.dims.clone());
    }
    if let Some(shape) = g.value(v).ty().and_then(|t| t.as_tensor()?.shape.as_ref())
        && let Some(d) = shape.known()
    {
        return Some(d);
    }
    let shape = facts?.get(v.index())?.shape()?;
    shape.iter().map(|d| d.as_const()).collect()
}

/// Whether `c` is a constant that broadcasts like a single number against a tensor of rank
/// `rank` (all dims 1, rank at most `rank`).
fn scalar_like(g: &Graph, c: ValueId, rank: usize) -> bool {
    constant(g, c).is_some_and(|t| t.dims.len() <= rank && t.dims.iter().all(|&d| d == 1))
}

fn is_reshape(g: &Graph, id: NodeId) -> bool {
    let n = g.node(id);
    is_op(g, id, "Reshape") && n.inputs().len() == 2 && n.outputs().len() == 1
}

/// Whether node `id` can be in a region: element-wise, with its non-region inputs constants
/// that act as one number. `inside` says whether a value is the head or a region value.
fn elementwise(g: &Graph, id: NodeId, rank: usize, inside: &dyn Fn(ValueId) -> bool) -> bool {
    let n = g.node(id);
    if !n.canonical_domain().is_empty() || n.outputs().len() != 1 || n.outputs()[0].is_none() {
        return false;
    }
    let op = n.op_type.as_str();
    let ok_input = |v: Option<ValueId>| v.is_none_or(|v| inside(v) || scalar_like(g, v, rank));
    let arity_ok = if UNARY.contains(&op) {
        n.inputs().len() == 1
    } else if BINARY.contains(&op) {
        n.inputs().len() == 2
    } else if op == "Clip" {
        // The bounds must be constants, not region values.
        (1..=3).contains(&n.inputs().len())
            && n.inputs()[1..].iter().flatten().all(|&b| constant(g, b).is_some())
    } else {
        false
    };
    arity_ok
        && n.inputs().first().copied().flatten().is_some()
        && n.inputs().iter().all(|&v| ok_input(v))
        && n.inputs().iter().flatten().any(|&v| inside(v))
}

/// The region starting at Reshape `first`, when every guard holds. `seen` collects every node a
/// search looked at, so no node is searched twice in one run.
fn region(
    g: &Graph,
    cx: &PassCx,
    first: NodeId,
    facts: Option<&[Fact]>,
    seen: &mut HashSet<NodeId>,
) -> Option<Region> {
    let f = g.node(first);
    let (Some(a), Some(head)) = (f.inputs()[0], f.outputs()[0]) else { return None };
    let a_dims = static_dims(g, a, facts)?;
    let rank = a_dims.len();
    if pinned(g, cx, head) {
        return None;
    }
    let mut values: Vec<ValueId> = vec![head];
    let mut in_region: HashSet<ValueId> = HashSet::from([head]);
    let mut nodes = Vec::new();
    let mut exits = Vec::new();
    // Region nodes and exits met so far (a node reading two region values is met twice).
    let mut visited: HashSet<NodeId> = HashSet::new();
    let mut queue = vec![head];
    while let Some(v) = queue.pop() {
        for u in g.value(v).uses() {
            let UseSlot::Input(slot) = u.slot else { return None };
            let id = u.node;
            if !visited.insert(id) {
                continue;
            }
            if is_reshape(g, id) && slot == 0 {
                let out = g.node(id).outputs()[0]?;
                exits.push((id, v, out));
                continue;
            }
            if !seen.insert(id) || nodes.len() >= MAX_REGION {
                return None;
            }
            // Inputs not yet known to be region values may be later ones: check at the end.
            nodes.push(id);
            let out = g.node(id).outputs().first().copied().flatten()?;
            if pinned(g, cx, out) {
                return None;
            }
            if in_region.insert(out) {
                values.push(out);
                queue.push(out);
            }
        }
    }
    let inside = |v: ValueId| in_region.contains(&v);
    if exits.is_empty() || !nodes.iter().all(|&id| elementwise(g, id, rank, &inside)) {
        return None;
    }
    for &(e, _, out) in &exits {
        if g.node(e).inputs()[1].is_none() || static_dims(g, out, facts)? != a_dims {
            return None;
        }
    }
    Some(Region { first, a, head, values, exits })
}

/// Whether `g` or a subgraph has a Reshape whose output only element-wise nodes read (so a
/// region might exist) that declared types alone do not settle.
fn undecided(g: &Graph, cx: &PassCx) -> bool {
    let mut seen = HashSet::new();
    g.node_ids().any(|id| {
        let n = g.node(id);
        let promising = is_reshape(g, id)
            && n.outputs()[0].is_some_and(|h| {
                let uses = g.value(h).uses();
                !uses.is_empty()
                    && uses.iter().all(|u| {
                        let op = g.node(u.node).op_type.as_str();
                        UNARY.contains(&op) || BINARY.contains(&op) || op == "Clip"
                    })
            });
        (promising && region(g, cx, id, None, &mut seen).is_none())
            || n.subgraphs().any(|sub| undecided(sub, cx))
    })
}

/// Rewrites the regions of `g`; returns the rewrites.
fn eliminate(g: &mut Graph, cx: &PassCx, facts: Option<&[Fact]>) -> usize {
    let mut seen = HashSet::new();
    let firsts: Vec<NodeId> = g.node_ids().filter(|&id| is_reshape(g, id)).collect();
    let mut plans = Vec::new();
    // Reshapes some accepted region removes (its first and its exits): a region using one of
    // them as well is left for a later round.
    let mut taken: HashSet<NodeId> = HashSet::new();
    for first in firsts {
        if taken.contains(&first) {
            continue;
        }
        let Some(r) = region(g, cx, first, facts, &mut seen) else { continue };
        if r.exits.iter().any(|(e, _, _)| taken.contains(e)) {
            continue;
        }
        taken.insert(r.first);
        taken.extend(r.exits.iter().map(|(e, _, _)| *e));
        plans.push(r);
    }
    let mut sw = Sweeper::default();
    let mut placer = Placer::default();
    let mut rewrites = 0;
    for r in plans {
        // Regions are disjoint and share no Reshape, so each is still as it was found.
        let Some(a_dims) = static_dims(g, r.a, facts) else { continue };
        if !cx.allow() {
            break;
        }
        let uses: Vec<_> = g.value(r.head).uses().to_vec();
        for u in uses {
            if let UseSlot::Input(slot) = u.slot {
                g.set_node_input(u.node, slot as usize, Some(r.a));
            }
        }
        for &v in r.values.iter().skip(1) {
            if let Some(ty) = &mut g.value_mut(v).info.ty
                && let Some(TypeKind::Tensor(t)) = &mut ty.kind
                && t.shape.is_some()
            {
                t.shape = Some(Shape::new(a_dims.iter().map(|&d| DimValue::Known(d))));
            }
            // Another shape, another value: a name that survives a rewrite keeps denoting
            // what it denoted. Exits below give theirs to the values they read.
            let name = placer.fresh(g, &format!("{}_unreshaped", g.value(v).name));
            g.value_mut(v).name = name;
        }
        for &(e, inp, out) in &r.exits {
            // An exit that cannot go (its output a graph output and its input not made here, or
            // the rewrite budget spent) stays: it now reshapes to the shape its input has.
            let inp = if inp == r.head { r.a } else { inp };
            let _ = merge_into_producer(g, &mut sw, cx, e, inp, out);
        }
        sw.remove_node(g, r.first);
        rewrites += 1;
    }
    sw.finish(g);
    rewrites
}

/// Rewrites `g`'s subgraphs, then `g`, each with its facts where inference has them.
fn eliminate_with_facts(g: &mut Graph, cx: &PassCx, facts: &Facts) -> usize {
    let rewrites = for_each_subgraph(g, &mut |sub| eliminate_with_facts(sub, cx, facts));
    match facts.graph(g) {
        Some(own) => rewrites + eliminate(g, cx, Some(own)),
        None => rewrites,
    }
}

impl Pass for EliminateReshapeAroundElementwise {
    fn name(&self) -> &'static str {
        "eliminate_reshape_around_elementwise"
    }

    fn description(&self) -> &'static str {
        "drop a Reshape and the Reshapes back to its input's shape around element-wise nodes"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        Ok(Changed { rewrites: eliminate(g, cx, None) })
    }

    fn run_model(&self, model: &mut Model, cx: &PassCx) -> Result<Changed, PassError> {
        if !model.graph.as_ref().is_some_and(|g| undecided(g, cx)) {
            return Ok(Changed::NONE);
        }
        let facts = cx.facts(model);
        let Some(g) = &mut model.graph else { return Ok(Changed::NONE) };
        Ok(Changed { rewrites: eliminate_with_facts(g, cx, &facts) })
    }
}
