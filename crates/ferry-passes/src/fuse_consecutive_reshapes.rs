//! `fuse_consecutive_reshapes`: `Reshape(A(x), s)` becomes `Reshape(x, s')` when `A` only
//! changes the shape (`Reshape`, `Flatten`, `Squeeze` or `Unsqueeze`): the elements and their
//! order are the same, so only the final shape matters.
//!
//! `s'` is `s` unless `s` has a `0` entry and the second Reshape's `allowzero` is 0 (absent):
//! such a `0` copies the dimension of `A`'s output at that index, which `x` need not have. It is
//! then resolved when `A` is a `Reshape` with a constant shape `s1`: a positive `s1[i]` replaces
//! the `0`; an `s1[i]` of `0` (with `A`'s `allowzero` 0) copied `x`'s dimension `i`, so the `0`
//! stays and now copies the same dimension directly.
//!
//! Guards (the pair is left alone otherwise):
//!
//! - both nodes are in the default domain, each with one output and its data input present;
//!   the Reshape has two inputs;
//! - `s` is a constant int64 tensor, or the second Reshape has `allowzero = 1` (then its
//!   zeros are literal sizes, and even a computed `s` does not refer to `A`'s output);
//! - a `0` in `s` (with `allowzero` 0) is resolved as above, else nothing is done: an `s1[i]`
//!   of `-1`, an `A` with `allowzero = 1` whose `s1[i]` is `0` (a literal size), an index past
//!   `s1`, or an `A` that is not a Reshape with a constant shape;
//! - a changed `s'` can be stored (its constant when only this Reshape reads it, else a new
//!   initializer; see `constants`).
//!
//! The second Reshape keeps its name and output, so graph output names never change. `A` goes
//! when nothing else reads its output and that is not a graph output, not read by name from a
//! subgraph and not protected.

use crate::chain::{is_op, remove_if_unused};
use crate::constants::{Placer, int_values, int64_tensor};
use crate::forward::Sweeper;
use crate::fuse_bn::constant;
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{DataType, Graph, NodeId, ValueId};

pub struct FuseConsecutiveReshapes;

/// The ops whose output holds their input's elements in the same order.
const RESHAPING: &[&str] = &["Reshape", "Flatten", "Squeeze", "Unsqueeze"];

fn allowzero(g: &Graph, node: NodeId) -> Option<i64> {
    match g.node(node).attr("allowzero") {
        None => Some(0),
        Some(a) => a.as_int(),
    }
}

/// The first Reshape's shape for resolving zeros: its constant values and its `allowzero`.
fn first_shape(g: &Graph, first: NodeId) -> Option<(Vec<i64>, i64)> {
    if !is_op(g, first, "Reshape") || g.node(first).inputs().len() != 2 {
        return None;
    }
    let s1 = int_values(g, g.node(first).inputs()[1]?)?;
    Some((s1, allowzero(g, first)?))
}

/// What the second Reshape's shape becomes: `None` to leave the pair alone, `Some(None)` to keep
/// its shape input as it is, `Some(Some(s'))` for a new constant.
fn new_shape(g: &Graph, first: NodeId, second: NodeId, s: ValueId) -> Option<Option<Vec<i64>>> {
    let az = allowzero(g, second)?;
    let is_int64 = constant(g, s).is_some_and(|t| t.dtype == Some(DataType::INT64));
    let values = if is_int64 { int_values(g, s) } else { None };
    if az == 1 {
        return Some(None);
    }
    if az != 0 {
        return None;
    }
    let values = values?;
    if !values.contains(&0) {
        return Some(None);
    }
    let (s1, az1) = first_shape(g, first)?;
    let mut out = values.clone();
    for (i, v) in out.iter_mut().enumerate() {
        if *v != 0 {
            continue;
        }
        match s1.get(i).copied()? {
            d if d > 0 => *v = d,
            0 if az1 == 0 => {}
            _ => return None,
        }
    }
    Some((out != values).then_some(out))
}

impl Pass for FuseConsecutiveReshapes {
    fn name(&self) -> &'static str {
        "fuse_consecutive_reshapes"
    }

    fn description(&self) -> &'static str {
        "make a Reshape of a Reshape/Flatten/Squeeze/Unsqueeze read the original tensor"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        let mut sw = Sweeper::default();
        let mut placer = Placer::default();
        let mut rewrites = 0;
        let mut cur = g.first_node();
        while let Some(id) = cur {
            cur = g.next_node(id);
            let n = g.node(id);
            if !is_op(g, id, "Reshape")
                || n.inputs().len() != 2
                || n.outputs().len() != 1
                || n.outputs()[0].is_none()
            {
                continue;
            }
            let (Some(mid), Some(s)) = (n.inputs()[0], n.inputs()[1]) else { continue };
            let Some(first) = g.value(mid).producer() else { continue };
            let f = g.node(first);
            if !RESHAPING.iter().any(|op| is_op(g, first, op))
                || f.outputs().len() != 1
                || f.inputs().first().copied().flatten().is_none()
            {
                continue;
            }
            let Some(shape) = new_shape(g, first, id, s) else { continue };
            if shape.is_some() && !placer.can_place(g, cx, id, 1) {
                continue;
            }
            if !cx.allow() {
                continue;
            }
            let x = g.node(first).inputs()[0];
            g.set_node_input(id, 0, x);
            if let Some(shape) = shape {
                let base = format!("{}_shape", g.value(g.node(id).outputs()[0].expect("one")).name);
                placer.place(g, cx, id, 1, &base, int64_tensor(&shape));
            }
            rewrites += 1;
            remove_if_unused(g, &mut sw, cx, first, mid, &mut cur);
        }
        sw.finish(g);
        Ok(Changed { rewrites })
    }
}
