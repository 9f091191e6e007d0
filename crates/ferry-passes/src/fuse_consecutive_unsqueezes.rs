//! `fuse_consecutive_unsqueezes`: `Unsqueeze(Unsqueeze(x, a1), a2)` becomes `Unsqueeze(x, a)`
//! with `a` the positions, in the final output, of every inserted axis. Also the pairs that undo
//! each other go: `Squeeze(Unsqueeze(x, a), a)` and `Unsqueeze(Squeeze(x, a), a)` are `x`
//! (the axes compared after resolving negative ones, as sets).
//!
//! Guards (the pair is left alone otherwise):
//!
//! - both nodes are in the default domain with one output and their data input present, and
//!   both name their axes: the `axes` attribute (before opset 13) or a constant int64/int32
//!   `axes` input (opset 13 on); a Squeeze without axes depends on the shape and is not touched;
//! - negative axes are resolved only when the rank is known from a declared type or a constant
//!   (of `x`, the intermediate or the output); axes must be valid and not repeated;
//! - merging: the new axes can be stored (the attribute when the second node has one, else its
//!   axes constant when only it reads that, else a new initializer; see `constants`);
//! - cancelling: the second node's output is replaced by `x` as `eliminate_identity` does (see
//!   `forward::bypass`: a graph output keeps its name, which needs `x` to be made by a node of
//!   this graph; an output read by name from a subgraph stays).
//!
//! The first node goes when nothing else reads its output and that is not a graph output, not
//! read by name from a subgraph and not protected.

use crate::chain::{producer, remove_if_unused};
use crate::constants::{Placer, declared_rank, normalize_axes};
use crate::forward::{Sweeper, bypass};
use crate::fuse_consecutive_squeezes::{can_set_axes, set_axes, squeeze_axes};
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{Graph, NodeId, ValueId};

pub struct FuseConsecutiveUnsqueezes;

fn rank_of(g: &Graph, v: Option<ValueId>) -> Option<usize> {
    declared_rank(g, v?)
}

/// The output positions of every axis `Unsqueeze(Unsqueeze(x, a1), a2)` inserts, increasing.
fn merged(g: &Graph, first: NodeId, second: NodeId, a1: &[i64], a2: &[i64]) -> Option<Vec<i64>> {
    let x = g.node(first).inputs()[0];
    let mid = g.node(first).outputs()[0];
    let out = g.node(second).outputs()[0];
    let (k1, k2) = (a1.len(), a2.len());
    let rank = rank_of(g, x)
        .or_else(|| rank_of(g, mid).and_then(|r| r.checked_sub(k1)))
        .or_else(|| rank_of(g, out).and_then(|r| r.checked_sub(k1 + k2)));
    let n1 = normalize_axes(a1, rank.map(|r| r + k1))?;
    let n2 = normalize_axes(a2, rank.map(|r| r + k1 + k2))?;
    // The intermediate's axes fill the output positions a2 leaves free, in order.
    let need = n1.iter().copied().max().map_or(0, |m| m + 1);
    let free: Vec<usize> = (0..).filter(|i| !n2.contains(i)).take(need).collect();
    let mut all = n2.clone();
    for &i in &n1 {
        all.push(free[i]);
    }
    all.sort_unstable();
    if let Some(r) = rank
        && all.last().is_some_and(|&m| m >= r + k1 + k2)
    {
        return None;
    }
    Some(all.into_iter().map(|a| a as i64).collect())
}

/// Whether `second(first(x))` with these axes is `x`: the Squeeze and the Unsqueeze name the
/// same axes of the larger tensor. `squeeze_first` says which one `first` is.
fn cancels(
    g: &Graph,
    first: NodeId,
    second: NodeId,
    a1: &[i64],
    a2: &[i64],
    squeeze_first: bool,
) -> bool {
    if a1.len() != a2.len() {
        return false;
    }
    let k = a1.len();
    let (x, mid, out) =
        (g.node(first).inputs()[0], g.node(first).outputs()[0], g.node(second).outputs()[0]);
    // The rank of the tensor with the unit axes: x or out for Squeeze-first, mid otherwise.
    let big = if squeeze_first {
        rank_of(g, x).or_else(|| rank_of(g, out)).or_else(|| rank_of(g, mid).map(|r| r + k))
    } else {
        rank_of(g, mid)
            .or_else(|| rank_of(g, x).map(|r| r + k))
            .or_else(|| rank_of(g, out).map(|r| r + k))
    };
    match (normalize_axes(a1, big), normalize_axes(a2, big)) {
        (Some(mut n1), Some(mut n2)) => {
            n1.sort_unstable();
            n2.sort_unstable();
            n1 == n2
        }
        _ => false,
    }
}

impl Pass for FuseConsecutiveUnsqueezes {
    fn name(&self) -> &'static str {
        "fuse_consecutive_unsqueezes"
    }

    fn description(&self) -> &'static str {
        "merge an Unsqueeze of an Unsqueeze into one; drop Squeeze/Unsqueeze pairs that cancel"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        let mut sw = Sweeper::default();
        let mut placer = Placer::default();
        let mut rewrites = 0;
        let mut cur = g.first_node();
        while let Some(id) = cur {
            cur = g.next_node(id);
            let op = g.node(id).op_type.as_str();
            let other = match op {
                "Unsqueeze" => "Squeeze",
                "Squeeze" => "Unsqueeze",
                _ => continue,
            };
            let squeeze_second = op == "Squeeze";
            let Some(a2) = squeeze_axes(g, id, op) else { continue };
            let out = g.node(id).outputs()[0];
            let mut done = false;
            let mut first_mid = None;
            // An inverse pair: the second node's output is the first's input.
            if let Some((first, mid)) = producer(g, id, 0, other)
                && let Some(a1) = squeeze_axes(g, first, other)
                && cancels(g, first, id, &a1, &a2, !squeeze_second)
                && let (Some(x), Some(out)) = (g.node(first).inputs()[0], out)
                && bypass(g, &mut sw, cx, id, x, out)
            {
                done = true;
                first_mid = Some((first, mid));
            }
            // Two Unsqueezes.
            if !done
                && !squeeze_second
                && let Some((first, mid)) = producer(g, id, 0, "Unsqueeze")
                && let Some(a1) = squeeze_axes(g, first, "Unsqueeze")
                && let Some(axes) = merged(g, first, id, &a1, &a2)
                && can_set_axes(g, cx, &mut placer, id)
                && cx.allow()
            {
                let x = g.node(first).inputs()[0];
                g.set_node_input(id, 0, x);
                set_axes(g, cx, &mut placer, id, axes);
                done = true;
                first_mid = Some((first, mid));
            }
            if let (true, Some((first, mid))) = (done, first_mid) {
                rewrites += 1;
                remove_if_unused(g, &mut sw, cx, first, mid, &mut cur);
            }
        }
        sw.finish(g);
        Ok(Changed { rewrites })
    }
}
