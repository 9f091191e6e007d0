//! `fuse_consecutive_squeezes`: `Squeeze(Squeeze(x, a1), a2)` becomes `Squeeze(x, a)`, where `a`
//! holds `a1` and the axes of `x` that `a2` names in the first Squeeze's output.
//!
//! Guards (the pair is left alone otherwise):
//!
//! - both nodes are default-domain `Squeeze`s with one output and their data input present;
//! - both name their axes, as the `axes` attribute (before opset 13) or a constant int64/int32
//!   `axes` input (opset 13 on): a Squeeze without axes removes every dimension of size 1, which
//!   depends on the shape;
//! - negative axes are resolved only when the rank of `x` is known from a declared type or a
//!   constant (of `x`, the intermediate or the output); the axes are valid and not repeated;
//! - the merged axes can be stored: in the attribute when the second node uses one, else in its
//!   `axes` constant when only it reads that, else in a new initializer (see `constants`).
//!
//! The second node keeps its name and output, so graph output names never change. The first
//! goes when nothing else reads its output and that is not a graph output, not read by name from
//! a subgraph and not protected.

use crate::chain::{is_op, producer, remove_if_unused};
use crate::constants::{Placer, declared_rank, int_param, int64_tensor, normalize_axes};
use crate::forward::Sweeper;
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{AttrValue, Graph, NodeId};

pub struct FuseConsecutiveSqueezes;

/// The explicit axes of a `Squeeze` (attribute or constant input), when it has readable ones.
pub(crate) fn squeeze_axes(g: &Graph, node: NodeId, op: &str) -> Option<Vec<i64>> {
    let n = g.node(node);
    if !is_op(g, node, op)
        || n.outputs().len() != 1
        || n.inputs().first().copied().flatten().is_none()
    {
        return None;
    }
    int_param(g, node, "axes", 1)?
}

/// Stores `axes` as the axes of `node` (attribute or input 1); `false` when it cannot.
pub(crate) fn can_set_axes(g: &Graph, cx: &PassCx, placer: &mut Placer, node: NodeId) -> bool {
    g.node(node).attr("axes").is_some() || placer.can_place(g, cx, node, 1)
}

pub(crate) fn set_axes(
    g: &mut Graph,
    cx: &PassCx,
    placer: &mut Placer,
    node: NodeId,
    axes: Vec<i64>,
) {
    let n = g.node_mut(node);
    if let Some(a) = n.attributes.iter_mut().find(|a| a.name == "axes") {
        a.value = AttrValue::Ints(axes);
        return;
    }
    let base = match g.node(node).outputs()[0] {
        Some(o) => format!("{}_axes", g.value(o).name),
        None => "axes".into(),
    };
    placer.place(g, cx, node, 1, &base, int64_tensor(&axes));
}

/// The axes of `x` that `Squeeze(Squeeze(x, a1), a2)` removes, in increasing order.
fn merged(g: &Graph, first: NodeId, second: NodeId, a1: &[i64], a2: &[i64]) -> Option<Vec<i64>> {
    let x = g.node(first).inputs()[0]?;
    let mid = g.node(first).outputs()[0]?;
    let out = g.node(second).outputs()[0]?;
    let (k1, k2) = (a1.len(), a2.len());
    let rank = declared_rank(g, x)
        .or_else(|| declared_rank(g, mid).map(|r| r + k1))
        .or_else(|| declared_rank(g, out).map(|r| r + k1 + k2));
    let n1 = normalize_axes(a1, rank)?;
    let n2 = normalize_axes(a2, rank.and_then(|r| r.checked_sub(k1)))?;
    // The axes of x that survive the first Squeeze, in order; a2 indexes into them.
    let max = n1.iter().chain(&n2).copied().max().unwrap_or(0) + k1 + 1;
    let r = rank.unwrap_or(max);
    let kept: Vec<usize> = (0..r).filter(|i| !n1.contains(i)).collect();
    let mut all = n1.clone();
    for &j in &n2 {
        all.push(*kept.get(j)?);
    }
    all.sort_unstable();
    Some(all.into_iter().map(|a| a as i64).collect())
}

impl Pass for FuseConsecutiveSqueezes {
    fn name(&self) -> &'static str {
        "fuse_consecutive_squeezes"
    }

    fn description(&self) -> &'static str {
        "merge a Squeeze of a Squeeze into one"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        let mut sw = Sweeper::default();
        let mut placer = Placer::default();
        let mut rewrites = 0;
        let mut cur = g.first_node();
        while let Some(id) = cur {
            cur = g.next_node(id);
            let Some(a2) = squeeze_axes(g, id, "Squeeze") else { continue };
            let Some((first, mid)) = producer(g, id, 0, "Squeeze") else { continue };
            let Some(a1) = squeeze_axes(g, first, "Squeeze") else { continue };
            let Some(axes) = merged(g, first, id, &a1, &a2) else { continue };
            if !can_set_axes(g, cx, &mut placer, id) || !cx.allow() {
                continue;
            }
            let x = g.node(first).inputs()[0];
            g.set_node_input(id, 0, x);
            set_axes(g, cx, &mut placer, id, axes);
            rewrites += 1;
            remove_if_unused(g, &mut sw, cx, first, mid, &mut cur);
        }
        sw.finish(g);
        Ok(Changed { rewrites })
    }
}
