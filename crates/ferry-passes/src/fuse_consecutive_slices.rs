//! `fuse_consecutive_slices`: `Slice(Slice(x, p1), p2)` becomes one `Slice(x, p)`.
//!
//! Axes that only one of the two slices touches keep their start, end and step (a dimension
//! the first Slice does not touch has the same size in `x`). An axis both touch is composed when
//! both steps are 1 and the four indices are non-negative (negative ones are first resolved
//! against the dimension's size when `x`'s declared type knows it): the first Slice keeps
//! `[b1, e1)`, the second `[b2, e2)` of that, so together `[b1 + b2, min(e1, b1 + e2))` (sums
//! saturate; Slice clamps both ends to the dimension, which gives the same elements, also when
//! a range comes out empty).
//!
//! Guards (the pair is left alone otherwise):
//!
//! - both nodes are default-domain `Slice`s with one output and the data input present;
//! - every parameter is known: the `starts`/`ends`/`axes` attributes (before opset 10) or
//!   constant int64/int32 `starts`, `ends`, `axes`, `steps` inputs (opset 10 on; an omitted
//!   `axes` means `0..n`, omitted `steps` all 1); the lists have matching lengths, no step is 0;
//! - negative axes are resolved only when the rank is known from a declared type or a constant;
//!   axes are not repeated within one Slice;
//! - the new parameters can be stored: as attributes when the second Slice uses them, else in
//!   each parameter's constant when only this Slice reads it, or in new initializers (see
//!   `constants`); all become int64.
//!
//! The second Slice keeps its name and output, so graph output names never change. The first
//! goes when nothing else reads its output and that is not a graph output, not read by name from
//! a subgraph and not protected.

use crate::chain::{is_op, producer, remove_if_unused};
use crate::constants::{
    Placer, declared_dim, declared_rank, int_param, int64_tensor, normalize_axes,
};
use crate::forward::Sweeper;
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{AttrValue, Graph, NodeId};

pub struct FuseConsecutiveSlices;

/// A Slice's parameters, one entry per sliced axis.
struct Params {
    starts: Vec<i64>,
    ends: Vec<i64>,
    axes: Vec<i64>,
    steps: Vec<i64>,
    /// The parameters are attributes (before opset 10).
    attributes: bool,
}

fn params(g: &Graph, node: NodeId) -> Option<Params> {
    let n = g.node(node);
    if !is_op(g, node, "Slice")
        || n.outputs().len() != 1
        || n.outputs()[0].is_none()
        || n.inputs().first().copied().flatten().is_none()
    {
        return None;
    }
    let attributes = n.attr("starts").is_some();
    if attributes && n.inputs().len() != 1 || !attributes && !(3..=5).contains(&n.inputs().len()) {
        return None;
    }
    let starts = int_param(g, node, "starts", 1)??;
    let ends = int_param(g, node, "ends", 2)??;
    let k = starts.len();
    let axes = int_param(g, node, "axes", 3)?.unwrap_or_else(|| (0..k as i64).collect());
    let steps = if attributes { None } else { int_param(g, node, "steps", 4)? };
    let steps = steps.unwrap_or_else(|| vec![1; k]);
    if ends.len() != k || axes.len() != k || steps.len() != k || steps.contains(&0) {
        return None;
    }
    Some(Params { starts, ends, axes, steps, attributes })
}

/// `v` resolved against a dimension of size `dim` (negative counts from the end), clamped to
/// `0..=dim`; without the size only non-negative `v` are kept.
fn resolve(v: i64, dim: Option<i64>) -> Option<i64> {
    match dim {
        Some(d) if v < 0 => Some(v.saturating_add(d).max(0)),
        Some(d) => Some(v.min(d)),
        None => (v >= 0).then_some(v),
    }
}

/// The merged parameters (starts, ends, axes, steps) of `Slice(Slice(x, p1), p2)`.
fn merge(g: &Graph, first: NodeId, second: NodeId, p1: &Params, p2: &Params) -> Option<Params> {
    let x = g.node(first).inputs()[0]?;
    let mid = g.node(first).outputs()[0]?;
    let out = g.node(second).outputs()[0]?;
    let rank =
        declared_rank(g, x).or_else(|| declared_rank(g, mid)).or_else(|| declared_rank(g, out));
    let ax1 = normalize_axes(&p1.axes, rank)?;
    let ax2 = normalize_axes(&p2.axes, rank)?;
    let mut m = Params {
        starts: p1.starts.clone(),
        ends: p1.ends.clone(),
        axes: ax1.iter().map(|&a| a as i64).collect(),
        steps: p1.steps.clone(),
        attributes: p2.attributes,
    };
    for (j, &axis) in ax2.iter().enumerate() {
        let Some(i) = ax1.iter().position(|&a| a == axis) else {
            m.starts.push(p2.starts[j]);
            m.ends.push(p2.ends[j]);
            m.axes.push(axis as i64);
            m.steps.push(p2.steps[j]);
            continue;
        };
        if p1.steps[i] != 1 || p2.steps[j] != 1 {
            return None;
        }
        let dim = declared_dim(g, x, axis);
        let (b1, e1) = (resolve(p1.starts[i], dim)?, resolve(p1.ends[i], dim)?);
        // The first Slice's output has e1 - b1 elements on this axis (when not empty).
        let len = dim.map(|_| (e1 - b1).max(0));
        let (b2, e2) = (resolve(p2.starts[j], len)?, resolve(p2.ends[j], len)?);
        m.starts[i] = b1.saturating_add(b2);
        m.ends[i] = e1.min(b1.saturating_add(e2));
    }
    if m.attributes && m.steps.iter().any(|&s| s != 1) {
        return None;
    }
    Some(m)
}

/// How many parameter inputs the merged Slice gets: starts, ends, axes, and steps unless they
/// are all 1 and the Slice had none.
fn slots(g: &Graph, node: NodeId, m: &Params) -> usize {
    if m.steps.iter().all(|&s| s == 1) && g.node(node).inputs().len() < 5 { 3 } else { 4 }
}

impl Pass for FuseConsecutiveSlices {
    fn name(&self) -> &'static str {
        "fuse_consecutive_slices"
    }

    fn description(&self) -> &'static str {
        "merge a Slice of a Slice into one"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        let mut sw = Sweeper::default();
        let mut placer = Placer::default();
        let mut rewrites = 0;
        let mut cur = g.first_node();
        while let Some(id) = cur {
            cur = g.next_node(id);
            let Some(p2) = params(g, id) else { continue };
            let Some((first, mid)) = producer(g, id, 0, "Slice") else { continue };
            let Some(p1) = params(g, first) else { continue };
            let Some(m) = merge(g, first, id, &p1, &p2) else { continue };
            let n = slots(g, id, &m);
            if !m.attributes && !(1..=n).all(|s| placer.can_place(g, cx, id, s)) {
                continue;
            }
            if !cx.allow() {
                continue;
            }
            let x = g.node(first).inputs()[0];
            g.set_node_input(id, 0, x);
            if m.attributes {
                let node = g.node_mut(id);
                node.attributes.retain(|a| !matches!(a.name.as_str(), "starts" | "ends" | "axes"));
                for (name, v) in [("starts", m.starts), ("ends", m.ends), ("axes", m.axes)] {
                    node.attributes.push(ferry_ir::Attribute::new(name, AttrValue::Ints(v)));
                }
            } else {
                let out = g.value(g.node(id).outputs()[0].expect("checked")).name.clone();
                let lists = [
                    ("starts", &m.starts),
                    ("ends", &m.ends),
                    ("axes", &m.axes),
                    ("steps", &m.steps),
                ];
                for (slot, (name, v)) in lists.into_iter().enumerate().take(n) {
                    placer.place(g, cx, id, slot + 1, &format!("{out}_{name}"), int64_tensor(v));
                }
            }
            rewrites += 1;
            remove_if_unused(g, &mut sw, cx, first, mid, &mut cur);
        }
        sw.finish(g);
        Ok(Changed { rewrites })
    }
}
