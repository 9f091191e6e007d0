//! `fuse_consecutive_concats`: a `Concat` input made by another `Concat` on the same axis is
//! replaced by that Concat's own inputs: `Concat(a, Concat(b, c), d)` is `Concat(a, b, c, d)`.
//!
//! Guards (an inner Concat is left alone otherwise):
//!
//! - both are default-domain `Concat`s with one output and no omitted input;
//! - the axes are the same: equal as written, or equal after resolving negative ones against the
//!   rank of one of the tensors when a declared type or a constant gives it (an absent axis is 1
//!   before opset 4, and makes the node unusable after);
//! - the inner output is read only by the outer Concat (possibly at several inputs, all of which
//!   are replaced), is not a graph output, not read by name from a subgraph and not protected:
//!   otherwise the inner node stays and merging would only lengthen the outer one.
//!
//! The outer Concat keeps its name and output; the inner one is removed.

use crate::chain::{is_op, pinned};
use crate::constants::declared_rank;
use crate::forward::Sweeper;
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{Graph, NodeId, UseSlot, ValueId};

pub struct FuseConsecutiveConcats;

/// The written axis of a Concat with one output and every input present.
fn axis(g: &Graph, node: NodeId, opset: Option<i64>) -> Option<i64> {
    let n = g.node(node);
    if !is_op(g, node, "Concat")
        || n.outputs().len() != 1
        || n.outputs()[0].is_none()
        || n.inputs().is_empty()
        || n.inputs().iter().any(Option::is_none)
    {
        return None;
    }
    match n.attr("axis") {
        Some(a) => a.as_int(),
        None => opset.is_some_and(|v| v < 4).then_some(1),
    }
}

/// The rank of the tensors a Concat joins, when any of them (or its output) declares it.
fn rank(g: &Graph, node: NodeId) -> Option<usize> {
    let n = g.node(node);
    n.inputs()
        .iter()
        .flatten()
        .chain(n.outputs().iter().flatten())
        .find_map(|&v| declared_rank(g, v))
}

fn same_axis(g: &Graph, outer: NodeId, inner: NodeId, a: i64, b: i64) -> bool {
    if a == b {
        return true;
    }
    let Some(r) = rank(g, outer).or_else(|| rank(g, inner)) else { return false };
    let r = r as i64;
    let norm = |x: i64| if x < 0 { x + r } else { x };
    norm(a) == norm(b) && (0..r).contains(&norm(a))
}

/// The inner Concat feeding `v` when it can be flattened into `outer`.
fn inner_of(g: &Graph, cx: &PassCx, outer: NodeId, outer_axis: i64, v: ValueId) -> Option<NodeId> {
    let inner = g.value(v).producer()?;
    if inner == outer {
        return None;
    }
    let a = axis(g, inner, cx.opset)?;
    let only_outer =
        g.value(v).uses().iter().all(|u| u.node == outer && matches!(u.slot, UseSlot::Input(_)));
    (only_outer && !pinned(g, cx, v) && same_axis(g, outer, inner, outer_axis, a)).then_some(inner)
}

impl Pass for FuseConsecutiveConcats {
    fn name(&self) -> &'static str {
        "fuse_consecutive_concats"
    }

    fn description(&self) -> &'static str {
        "splice the inputs of a Concat into the Concat on the same axis that alone reads it"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        let mut sw = Sweeper::default();
        let mut rewrites = 0;
        let mut cur = g.first_node();
        while let Some(id) = cur {
            cur = g.next_node(id);
            let Some(ax) = axis(g, id, cx.opset) else { continue };
            let old: Vec<ValueId> = g.node(id).inputs().iter().flatten().copied().collect();
            let inners: Vec<Option<NodeId>> =
                old.iter().map(|&v| inner_of(g, cx, id, ax, v)).collect();
            if inners.iter().all(Option::is_none) || !cx.allow() {
                continue;
            }
            let mut new: Vec<ValueId> = Vec::with_capacity(old.len() + 4);
            let mut dead: Vec<NodeId> = Vec::new();
            for (&v, inner) in old.iter().zip(&inners) {
                match inner {
                    Some(i) => {
                        new.extend(g.node(*i).inputs().iter().flatten().copied());
                        if !dead.contains(i) {
                            dead.push(*i);
                        }
                    }
                    None => new.push(v),
                }
            }
            for (slot, &v) in new.iter().enumerate() {
                if slot < old.len() {
                    g.set_node_input(id, slot, Some(v));
                } else {
                    g.push_node_input(id, Some(v));
                }
            }
            for i in dead {
                if cur == Some(i) {
                    cur = g.next_node(i);
                }
                sw.remove_node(g, i);
            }
            rewrites += 1;
        }
        sw.finish(g);
        Ok(Changed { rewrites })
    }
}
