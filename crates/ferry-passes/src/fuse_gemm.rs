//! `fuse_matmul_add_into_gemm` (onnxoptimizer's `fuse_matmul_add_bias_into_gemm`):
//! `Add(MatMul(A, B), C)` (or `Add(C, MatMul(A, B))`) becomes `Gemm(A, B, C)` with the default
//! `alpha = beta = 1` and no transposes.
//!
//! Guards (the pair is left alone otherwise):
//!
//! - both nodes are in the default domain, the MatMul has two inputs and one output, the Add two
//!   inputs, one output and no attributes; the opset is known and at least 7 (Gemm's
//!   unidirectional broadcast of C);
//! - `A` has rank 2, known without guessing: its declared type (a graph input or `value_info`
//!   entry) has rank 2, or it is made by `Flatten` or `Gemm` (always 2-D), or the MatMul output's
//!   declared type has rank 2 (with a 2-D `B` that needs a 2-D `A`), or type inference
//!   (`ferry_infer::facts`, for the main graph and the subgraphs it infers) derived rank 2 for
//!   `A` or the MatMul output; anything else is not fused;
//! - `B` is a constant (a dense initializer that is not a graph input, or a `Constant` node) of
//!   shape `[K, N]` and element type float32 or float64 (in float16/bfloat16 MatMul rounds its
//!   result before the Add, which a Gemm need not do);
//! - `C` is a constant of the same element type whose shape, right-aligned to two dims, is
//!   `[c0, c1]` with `c1` in {1, N} and `c0` 1 or equal to A's first dim when that is known
//!   (declared, or inferred as a number): so
//!   C broadcasts to `[M, N]` without making the Add's output larger than the product;
//! - the MatMul output is read only by this Add, is not a graph output, not read by name from a
//!   subgraph and not protected; the Add's output is not read by name from a subgraph and not
//!   protected.
//!
//! The MatMul node becomes the Gemm (in its place, keeping its name) and the Add goes; the
//! Gemm's output takes the Add's output's name (`forward::merge_into_producer`). A `Constant` node making C that sits
//! between the two is moved before the Gemm.
//!
//! Inference runs (once per round, shared with other passes through `PassCx::facts`) only when a
//! MatMul + Add pair is left that declared types do not settle; graphs without facts (function
//! bodies, Loop/Scan bodies) use declared types alone.

use crate::fold_constants::for_each_subgraph;
use crate::forward::{Sweeper, captured, merge_into_producer};
use crate::fuse_bn::constant;
use crate::{Changed, Pass, PassCx, PassError};
use ferry_infer::{Fact, Facts};
use ferry_ir::{DataType, DimValue, Graph, Model, NodeId, Use, UseSlot, ValueId};

pub struct FuseMatmulAddIntoGemm;

/// The declared shape of `v`, when it has a tensor type with a shape.
fn declared_dims(g: &Graph, v: ValueId) -> Option<&[ferry_ir::Dim]> {
    let shape = g.value(v).ty()?.as_tensor()?.shape.as_ref()?;
    Some(&shape.dims)
}

fn is_default_op(g: &Graph, node: NodeId, op: &str) -> bool {
    let n = g.node(node);
    n.op_type == op && n.canonical_domain().is_empty()
}

/// Whether `a` (an input of a MatMul with a 2-D `B`, whose output is `mid`) is known to be 2-D.
fn rank_two(g: &Graph, a: ValueId, mid: ValueId, facts: Option<&[Fact]>) -> bool {
    if declared_dims(g, a).is_some_and(|d| d.len() == 2) {
        return true;
    }
    let inferred = |v: ValueId| facts.and_then(|f| f.get(v.index())).and_then(Fact::rank);
    if inferred(a) == Some(2) || inferred(mid) == Some(2) {
        return true;
    }
    if let Some(p) = g.value(a).producer()
        && (is_default_op(g, p, "Flatten") || is_default_op(g, p, "Gemm"))
    {
        return true;
    }
    declared_dims(g, mid).is_some_and(|d| d.len() == 2)
}

struct Plan {
    matmul: NodeId,
    mid: ValueId,
    c: ValueId,
    out: ValueId,
}

fn plan(g: &Graph, cx: &PassCx, add: NodeId, facts: Option<&[Fact]>) -> Option<Plan> {
    let n = g.node(add);
    if !is_default_op(g, add, "Add")
        || n.inputs().len() != 2
        || n.outputs().len() != 1
        || !n.attributes.is_empty()
    {
        return None;
    }
    let out = n.outputs()[0]?;
    if captured(g, out) || cx.protected.contains(&g.value(out).name) {
        return None;
    }
    let (x, y) = (n.inputs()[0]?, n.inputs()[1]?);
    for (slot, mid, c) in [(0u32, x, y), (1, y, x)] {
        let Some(mm) = g.value(mid).producer() else { continue };
        let m = g.node(mm);
        if !is_default_op(g, mm, "MatMul")
            || m.inputs().len() != 2
            || m.outputs().len() != 1
            || g.value(mid).uses() != [Use { node: add, slot: UseSlot::Input(slot) }]
            || g.is_graph_output(mid)
            || cx.protected.contains(&g.value(mid).name)
        {
            continue;
        }
        let (Some(a), Some(b)) = (m.inputs()[0], m.inputs()[1]) else { continue };
        let Some(bt) = constant(g, b) else { continue };
        if bt.dims.len() != 2 || !matches!(bt.dtype, Some(DataType::FLOAT | DataType::DOUBLE)) {
            continue;
        }
        let Some(ct) = constant(g, c) else { continue };
        if ct.dtype != bt.dtype || ct.dims.len() > 2 || !rank_two(g, a, mid, facts) {
            continue;
        }
        let n_dim = bt.dims[1];
        let mut cd = vec![1i64; 2 - ct.dims.len()];
        cd.extend_from_slice(&ct.dims);
        let m_dim = declared_dims(g, a)
            .and_then(|d| match d.first()?.value {
                DimValue::Known(k) => Some(k),
                _ => None,
            })
            .or_else(|| {
                let shape = facts?.get(a.index())?.shape()?;
                if shape.len() == 2 { shape[0].as_const() } else { None }
            });
        let c1_ok = cd[1] == 1 || cd[1] == n_dim;
        let c0_ok = cd[0] == 1 || Some(cd[0]) == m_dim;
        if !c1_ok || !c0_ok {
            continue;
        }
        return Some(Plan { matmul: mm, mid, c, out });
    }
    None
}

impl Pass for FuseMatmulAddIntoGemm {
    fn name(&self) -> &'static str {
        "fuse_matmul_add_into_gemm"
    }

    fn description(&self) -> &'static str {
        "turn MatMul of a 2-D input and a constant 2-D weight plus a constant bias into Gemm"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        if cx.opset.is_none_or(|v| v < 7) {
            return Ok(Changed::NONE);
        }
        Ok(Changed { rewrites: fuse_graph(g, cx, None) })
    }

    /// The main graph and the subgraphs inference covers, with inferred ranks; only when a
    /// MatMul + Add pair is left that declared types do not settle.
    fn run_model(&self, model: &mut Model, cx: &PassCx) -> Result<Changed, PassError> {
        if cx.opset.is_none_or(|v| v < 7) || !model.graph.as_ref().is_some_and(|g| undecided(g, cx))
        {
            return Ok(Changed::NONE);
        }
        let facts = cx.facts(model);
        let Some(g) = &mut model.graph else { return Ok(Changed::NONE) };
        Ok(Changed { rewrites: fuse_with_facts(g, cx, &facts) })
    }
}

/// Whether `g` or one of its subgraphs has a MatMul + Add pair with a constant 2-D `B` and a
/// constant `C` that declared types leave unfused (more knowledge of ranks could fuse it).
fn undecided(g: &Graph, cx: &PassCx) -> bool {
    let constant_pair = |mid: ValueId, c: ValueId| {
        let Some(p) = g.value(mid).producer() else { return false };
        let b = g.node(p).inputs().get(1).copied().flatten();
        is_default_op(g, p, "MatMul")
            && b.and_then(|b| constant(g, b)).is_some_and(|t| t.dims.len() == 2)
            && constant(g, c).is_some()
    };
    g.node_ids().any(|id| {
        let n = g.node(id);
        let mut pair = false;
        if is_default_op(g, id, "Add")
            && let [Some(x), Some(y)] = *n.inputs()
        {
            pair = (constant_pair(x, y) || constant_pair(y, x)) && plan(g, cx, id, None).is_none();
        }
        pair || n.subgraphs().any(|sub| undecided(sub, cx))
    })
}

/// Fuses `g`'s subgraphs, then `g`, each with its own facts where inference has them.
fn fuse_with_facts(g: &mut Graph, cx: &PassCx, facts: &Facts) -> usize {
    // Subgraphs first: their facts are found by their address, which rewriting `g` (and the
    // rebuild that may end it) does not change, while `g`'s own handles may be renumbered.
    let rewrites = for_each_subgraph(g, &mut |sub| fuse_with_facts(sub, cx, facts));
    match facts.graph(g) {
        Some(own) => rewrites + fuse_graph(g, cx, Some(own)),
        None => rewrites,
    }
}

/// Fuses every pair of `g` the guards allow, reading ranks from `facts` when given.
fn fuse_graph(g: &mut Graph, cx: &PassCx, facts: Option<&[Fact]>) -> usize {
    let mut sw = Sweeper::default();
    let mut rewrites = 0;
    let mut cur = g.first_node();
    while let Some(id) = cur {
        cur = g.next_node(id);
        let Some(p) = plan(g, cx, id, facts) else { continue };
        // A Constant making C between the MatMul and the Add moves before the Gemm.
        let mut move_c = None;
        if let Some(cn) = g.value(p.c).producer() {
            let mut walk = g.next_node(p.matmul);
            while let Some(w) = walk.filter(|&w| w != id) {
                if w == cn {
                    move_c = Some(cn);
                    break;
                }
                walk = g.next_node(w);
            }
        }
        if !merge_into_producer(g, &mut sw, cx, id, p.mid, p.out) {
            continue;
        }
        if let Some(cn) = move_c {
            g.move_node_before(cn, Some(p.matmul));
        }
        g.node_mut(p.matmul).op_type = "Gemm".into();
        g.push_node_input(p.matmul, Some(p.c));
        rewrites += 1;
    }
    sw.finish(g);
    rewrites
}
