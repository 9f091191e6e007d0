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
//!
//! The other way round, a `Squeeze`, `Unsqueeze` or `Flatten` of a Reshape's output folds into
//! that Reshape's shape: `Unsqueeze(Reshape(x, [6, 4]), [0])` is `Reshape(x, [1, 6, 4])`,
//! `Squeeze(Reshape(x, [6, 1, 4]), [1])` is `Reshape(x, [6, 4])`, `Flatten(Reshape(x, [2, 3, 4]),
//! 1)` is `Reshape(x, [2, 12])`. Guards:
//!
//! - the Reshape (default domain, two inputs, one output) has a constant int64 shape, and its
//!   output is read by the other node alone, is not a graph output, not read by name from a
//!   subgraph and not protected (its shape changes);
//! - the Squeeze/Unsqueeze names its axes (attribute or constant input; negative ones resolved
//!   against the known ranks); a Squeeze removes only entries the shape spells as `1` (one
//!   without axes needs every entry positive, so it knows which are 1);
//! - a `0` entry (which copies the input dim at its index, when `allowzero` is 0) must keep its
//!   index in the new shape; for Flatten, no `0` at all and the products must not overflow;
//! - the new shape can be stored (see `constants`).
//!
//! The Reshape keeps its name; its output takes over the other node's output, name and
//! declared type included (`forward::merge_into_producer`).

use crate::chain::pinned;
use crate::chain::{is_op, remove_if_unused};
use crate::constants::{Placer, int_param, int_values, int64_tensor, normalize_axes};
use crate::forward::{Sweeper, merge_into_producer};
use crate::fuse_bn::constant;
use crate::fuse_consecutive_squeezes::squeeze_axes;
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{DataType, DimValue, Graph, NodeId, Type, ValueId};

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

/// Whether every `0` of `s` (a copy of the input dim at its index, unless `allowzero`) is at
/// the same index in `out`, given `map[i]`, the index entry `i` of `s` moves to (`None`: gone).
fn zeros_stay(s: &[i64], map: &[Option<usize>], allowzero: i64) -> bool {
    allowzero == 1 || s.iter().zip(map).enumerate().all(|(i, (&v, &m))| v != 0 || m == Some(i))
}

/// The shape of `node(Reshape(x, s))` for a Squeeze, Unsqueeze or Flatten `node`, as one
/// Reshape target; `None` when it cannot be stated (see the module documentation).
fn absorbed(g: &Graph, node: NodeId, s: &[i64], allowzero: i64) -> Option<Vec<i64>> {
    let op = g.node(node).op_type.clone();
    // (new shape, new index of each entry of s)
    let (out, map): (Vec<i64>, Vec<Option<usize>>) = match op.as_str() {
        "Unsqueeze" => {
            let axes = squeeze_axes(g, node, "Unsqueeze")?;
            let r = s.len() + axes.len();
            let mut ins = normalize_axes(&axes, Some(r))?;
            ins.sort_unstable();
            let mut out = Vec::with_capacity(r);
            let mut map = Vec::with_capacity(s.len());
            let mut next = s.iter();
            for j in 0..r {
                if ins.contains(&j) {
                    out.push(1);
                } else {
                    out.push(*next.next()?);
                    map.push(Some(j));
                }
            }
            (out, map)
        }
        "Squeeze" => {
            let n = g.node(node);
            if n.outputs().len() != 1 || n.inputs().first().copied().flatten().is_none() {
                return None;
            }
            let removed: Vec<usize> = match int_param(g, node, "axes", 1)? {
                Some(axes) => {
                    let a = normalize_axes(&axes, Some(s.len()))?;
                    if a.iter().any(|&i| s[i] != 1) {
                        return None;
                    }
                    a
                }
                None => {
                    if s.iter().any(|&v| v <= 0) {
                        return None;
                    }
                    (0..s.len()).filter(|&i| s[i] == 1).collect()
                }
            };
            let mut out = Vec::with_capacity(s.len());
            let mut map = Vec::with_capacity(s.len());
            for (i, &v) in s.iter().enumerate() {
                if removed.contains(&i) {
                    map.push(None);
                } else {
                    map.push(Some(out.len()));
                    out.push(v);
                }
            }
            (out, map)
        }
        "Flatten" => {
            let n = g.node(node);
            if n.inputs().len() != 1 || n.outputs().len() != 1 || s.contains(&0) {
                return None;
            }
            let r = s.len() as i64;
            let axis = match n.attr("axis") {
                None => 1,
                Some(a) => a.as_int()?,
            };
            let axis = if axis < 0 { axis + r } else { axis };
            let axis = usize::try_from(axis).ok().filter(|&a| a <= s.len())?;
            let side = |part: &[i64]| -> Option<i64> {
                if part.contains(&-1) {
                    return Some(-1);
                }
                part.iter().try_fold(1i64, |acc, &v| acc.checked_mul(v))
            };
            (vec![side(&s[..axis])?, side(&s[axis..])?], vec![None; s.len()])
        }
        _ => return None,
    };
    if s.contains(&0) && !zeros_stay(s, &map, allowzero) {
        return None;
    }
    Some(out)
}

/// Folds Squeeze/Unsqueeze/Flatten `node` into the Reshape making its input; whether it did.
fn absorb(g: &mut Graph, cx: &PassCx, sw: &mut Sweeper, placer: &mut Placer, node: NodeId) -> bool {
    if !g.node(node).canonical_domain().is_empty() {
        return false;
    }
    let (Some(Some(mid)), Some(Some(out))) =
        (g.node(node).inputs().first().copied(), g.node(node).outputs().first().copied())
    else {
        return false;
    };
    let Some(reshape) = g.value(mid).producer() else { return false };
    let r = g.node(reshape);
    if !is_op(g, reshape, "Reshape") || r.inputs().len() != 2 || r.outputs().len() != 1 {
        return false;
    }
    let Some(s) = r.inputs()[1] else { return false };
    if constant(g, s).is_none_or(|t| t.dtype != Some(DataType::INT64))
        || g.value(mid).uses().len() != 1
        || pinned(g, cx, mid)
    {
        return false;
    }
    let (Some(values), Some(az)) = (int_values(g, s), allowzero(g, reshape)) else { return false };
    let Some(shape) = absorbed(g, node, &values, az) else { return false };
    // The Reshape's output now holds what `node` made: it takes over that declaration, or, when
    // there is none, keeps its element type with the new shape (-1 and 0 entries unknown).
    let mut info = g.value(out).info.clone();
    if info.ty.is_none()
        && let Some(elem) = g.value(mid).ty().and_then(|t| t.as_tensor()?.elem)
    {
        let dims =
            shape.iter().map(|&d| if d > 0 { DimValue::Known(d) } else { DimValue::Unknown });
        info = g.value(mid).info.clone();
        info.ty = Some(Type::tensor(elem, dims));
    }
    if !placer.can_place(g, cx, reshape, 1) || !merge_into_producer(g, sw, cx, node, mid, out) {
        return false;
    }
    g.value_mut(mid).info = info;
    let base = format!("{}_shape", g.value(mid).name);
    placer.place(g, cx, reshape, 1, &base, int64_tensor(&shape));
    true
}

impl Pass for FuseConsecutiveReshapes {
    fn name(&self) -> &'static str {
        "fuse_consecutive_reshapes"
    }

    fn description(&self) -> &'static str {
        "merge Reshape with Reshape/Flatten/Squeeze/Unsqueeze before or after it"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        let mut sw = Sweeper::default();
        let mut placer = Placer::default();
        let mut rewrites = 0;
        let mut cur = g.first_node();
        while let Some(id) = cur {
            cur = g.next_node(id);
            if matches!(g.node(id).op_type.as_str(), "Squeeze" | "Unsqueeze" | "Flatten") {
                if absorb(g, cx, &mut sw, &mut placer, id) {
                    rewrites += 1;
                }
                continue;
            }
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
