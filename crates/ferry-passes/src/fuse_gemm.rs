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
//!   declared type has rank 2 (with a 2-D `B` that needs a 2-D `A`); anything else is not fused;
//! - `B` is a constant (a dense initializer that is not a graph input, or a `Constant` node) of
//!   shape `[K, N]` and element type float32 or float64 (in float16/bfloat16 MatMul rounds its
//!   result before the Add, which a Gemm need not do);
//! - `C` is a constant of the same element type whose shape, right-aligned to two dims, is
//!   `[c0, c1]` with `c1` in {1, N} and `c0` 1 or equal to A's first dim when that is known: so
//!   C broadcasts to `[M, N]` without making the Add's output larger than the product;
//! - the MatMul output is read only by this Add, is not a graph output, not read by name from a
//!   subgraph and not protected; the Add's output is not read by name from a subgraph and not
//!   protected.
//!
//! The MatMul node becomes the Gemm (in its place, keeping its name) and the Add goes; the Add's
//! output value lives on (a graph output keeps its name). A `Constant` node making C that sits
//! between the two is moved before the Gemm.

use crate::forward::{Sweeper, bypass, captured};
use crate::fuse_bn::constant;
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{DataType, DimValue, Graph, NodeId, Use, UseSlot, ValueId};

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
fn rank_two(g: &Graph, a: ValueId, mid: ValueId) -> bool {
    if declared_dims(g, a).is_some_and(|d| d.len() == 2) {
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

fn plan(g: &Graph, cx: &PassCx, add: NodeId) -> Option<Plan> {
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
        if ct.dtype != bt.dtype || ct.dims.len() > 2 || !rank_two(g, a, mid) {
            continue;
        }
        let n_dim = bt.dims[1];
        let mut cd = vec![1i64; 2 - ct.dims.len()];
        cd.extend_from_slice(&ct.dims);
        let m_dim = declared_dims(g, a).and_then(|d| match d.first()?.value {
            DimValue::Known(k) => Some(k),
            _ => None,
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
        let mut sw = Sweeper::default();
        let mut rewrites = 0;
        let mut cur = g.first_node();
        while let Some(id) = cur {
            cur = g.next_node(id);
            let Some(p) = plan(g, cx, id) else { continue };
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
            if !bypass(g, &mut sw, cx, id, p.mid, p.out) {
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
        Ok(Changed { rewrites })
    }
}
