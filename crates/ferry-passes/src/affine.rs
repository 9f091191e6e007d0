//! Shared steps of the passes that fold a constant `Add` or `Mul` after a `Conv`,
//! `ConvTranspose` or `Gemm` into that node's weights and bias: finding the producer, telling
//! whether a constant acts per output channel without broadcasting the result any larger, and
//! scaling weights by output channel in each operator's weight layout.

use crate::chain::{is_op, pinned};
use crate::constants::Placer;
use crate::forward::{Sweeper, merge_into_producer};
use crate::fuse_bn::{constant, f32_values};
use crate::{Changed, PassCx};
use ferry_ir::{Graph, NodeId, Tensor, Use, UseSlot, ValueId};

/// An element-wise node `op(mid, c)` or `op(c, mid)` with a constant `c`: (mid, c, output) for
/// each order in which `mid` is made by a node, tried in input order.
pub(crate) fn binary_with_constant(
    g: &Graph,
    node: NodeId,
    op: &str,
) -> Vec<(ValueId, ValueId, ValueId)> {
    let n = g.node(node);
    if !is_op(g, node, op)
        || n.inputs().len() != 2
        || n.outputs().len() != 1
        || !n.attributes.is_empty()
    {
        return Vec::new();
    }
    let (Some(a), Some(b), Some(out)) = (n.inputs()[0], n.inputs()[1], n.outputs()[0]) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (mid, c) in [(a, b), (b, a)] {
        if mid != c && g.value(mid).producer().is_some() && constant(g, c).is_some() {
            found.push((mid, c, out));
        }
    }
    found
}

/// Whether `mid` has one reader, `reader` (at one input), and is not a graph output, read by
/// name from a subgraph or protected.
pub(crate) fn sole_reader(g: &Graph, cx: &PassCx, mid: ValueId, reader: NodeId) -> bool {
    let uses = g.value(mid).uses();
    uses.len() == 1
        && matches!(uses[0], Use { node, slot: UseSlot::Input(_) } if node == reader)
        && !pinned(g, cx, mid)
}

/// A `Conv` or `ConvTranspose` with constant float32 weights whose only output is read by one
/// node alone.
pub(crate) struct ConvLike {
    pub conv: NodeId,
    pub w: ValueId,
    pub w_dims: Vec<i64>,
    pub w_values: Vec<f32>,
    /// The bias input and its values, when present (a constant float32 `[C]`).
    pub b: Option<(ValueId, Vec<f32>)>,
    /// Output channels.
    pub channels: usize,
    pub transpose: bool,
    pub group: usize,
}

/// The Conv/ConvTranspose making `mid`, when `mid` is read by `reader` alone and the weights
/// and bias are constants this crate can rewrite.
pub(crate) fn conv_before(
    g: &Graph,
    cx: &PassCx,
    mid: ValueId,
    reader: NodeId,
) -> Option<ConvLike> {
    let conv = g.value(mid).producer()?;
    let transpose = if is_op(g, conv, "Conv") {
        false
    } else if is_op(g, conv, "ConvTranspose") {
        true
    } else {
        return None;
    };
    let c = g.node(conv);
    if c.outputs().len() != 1
        || !(2..=3).contains(&c.inputs().len())
        || !sole_reader(g, cx, mid, reader)
    {
        return None;
    }
    c.inputs()[0]?;
    let w = c.inputs()[1]?;
    let wt = constant(g, w)?;
    let w_dims = wt.dims.clone();
    if w_dims.len() < 3 {
        return None;
    }
    let w_values = f32_values(wt)?;
    let group = match c.attr("group") {
        None => 1,
        Some(a) => usize::try_from(a.as_int()?).ok().filter(|&g| g >= 1)?,
    };
    let d0 = usize::try_from(w_dims[0]).ok()?;
    let d1 = usize::try_from(w_dims[1]).ok()?;
    let channels = if transpose {
        if d0 % group != 0 {
            return None;
        }
        group.checked_mul(d1)?
    } else {
        d0
    };
    let b = match c.inputs().get(2).copied().flatten() {
        None => None,
        Some(b) => {
            let bt = constant(g, b)?;
            if bt.dims != [channels as i64] {
                return None;
            }
            Some((b, f32_values(bt)?))
        }
    };
    Some(ConvLike { conv, w, w_dims, w_values, b, channels, transpose, group })
}

/// The values of `t` (float32) per channel when it broadcasts against an output of rank
/// `out_rank` along axis `axis` only: right-aligned, every dim is 1 except the one at `axis`,
/// which is 1 or `channels`, and `t` has no more dims than the output (so the result is no
/// larger than the output). A single value is repeated for every channel.
pub(crate) fn per_channel(
    t: &Tensor,
    out_rank: usize,
    axis: usize,
    channels: usize,
) -> Option<Vec<f32>> {
    let r = t.dims.len();
    if r > out_rank {
        return None;
    }
    let mut along = 1usize;
    for (i, &d) in t.dims.iter().enumerate() {
        let out_axis = out_rank - r + i;
        if out_axis == axis && d == channels as i64 {
            along = channels;
        } else if d != 1 {
            return None;
        }
    }
    let v = f32_values(t)?;
    match (along, v.len()) {
        (a, n) if a == channels && n == channels => Some(v),
        (1, 1) => Some(vec![v[0]; channels]),
        _ => None,
    }
}

/// The output channel of each element of a Conv weight `[C_out, C_in / group, k...]` or a
/// ConvTranspose weight `[C_in, C_out / group, k...]` (input channel `i` belongs to group
/// `i / (C_in / group)` and element `[i, j, ...]` feeds output channel
/// `group_of(i) * (C_out / group) + j`).
pub(crate) fn output_channel(conv: &ConvLike) -> impl Fn(usize) -> usize + '_ {
    let d: Vec<usize> = conv.w_dims.iter().map(|&x| x as usize).collect();
    let k: usize = d[2..].iter().product();
    let inner = d[1] * k;
    let per_group_in = d[0] / conv.group;
    let per_group_out = d[1];
    move |idx| {
        if conv.transpose {
            let i = idx / inner;
            let j = (idx / k.max(1)) % per_group_out.max(1);
            (i / per_group_in.max(1)) * per_group_out + j
        } else {
            idx / inner.max(1)
        }
    }
}

/// A `Gemm` whose only output is read by one node alone.
pub(crate) struct GemmLike {
    pub gemm: NodeId,
    pub a: ValueId,
    pub b: ValueId,
    pub c: Option<ValueId>,
    pub trans_a: bool,
    pub trans_b: bool,
    pub alpha: f32,
    pub beta: f32,
}

/// The Gemm making `mid`, when `mid` is read by `reader` alone and the opset allows a
/// unidirectionally broadcast `C` (opset 7 on; an absent `C`, opset 11 on).
pub(crate) fn gemm_before(
    g: &Graph,
    cx: &PassCx,
    mid: ValueId,
    reader: NodeId,
) -> Option<GemmLike> {
    let gemm = g.value(mid).producer()?;
    let n = g.node(gemm);
    if !is_op(g, gemm, "Gemm")
        || n.outputs().len() != 1
        || !(2..=3).contains(&n.inputs().len())
        || !sole_reader(g, cx, mid, reader)
        || cx.opset.is_none_or(|v| v < 7)
    {
        return None;
    }
    let flag = |name: &str| match n.attr(name) {
        None => Some(false),
        Some(a) => match a.as_int()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        },
    };
    let float = |name: &str| match n.attr(name) {
        None => Some(1.0),
        Some(a) => a.as_float(),
    };
    let c = n.inputs().get(2).copied().flatten();
    if c.is_none() && cx.opset.is_none_or(|v| v < 11) {
        return None;
    }
    Some(GemmLike {
        gemm,
        a: n.inputs()[0]?,
        b: n.inputs()[1]?,
        c,
        trans_a: flag("transA")?,
        trans_b: flag("transB")?,
        alpha: float("alpha")?,
        beta: float("beta")?,
    })
}

/// The Gemm's output dims `[M, N]` as far as constants and declared types tell.
pub(crate) fn gemm_dims(g: &Graph, gemm: &GemmLike, out: ValueId) -> (Option<i64>, Option<i64>) {
    use crate::constants::declared_dim;
    let m = declared_dim(g, gemm.a, usize::from(gemm.trans_a)).or_else(|| declared_dim(g, out, 0));
    let n = declared_dim(g, gemm.b, usize::from(!gemm.trans_b)).or_else(|| declared_dim(g, out, 1));
    (m, n)
}

/// `dims` right-aligned to two dims (`[d0, d1]`), when it has at most two.
pub(crate) fn as_2d(dims: &[i64]) -> Option<[i64; 2]> {
    match *dims {
        [] => Some([1, 1]),
        [d1] => Some([1, d1]),
        [d0, d1] => Some([d0, d1]),
        _ => None,
    }
}

/// Element `[i, j]` of a tensor with 2-D (right-aligned) dims `d` and row-major `values`,
/// broadcasting dims of size 1.
pub(crate) fn at(values: &[f32], d: [i64; 2], i: usize, j: usize) -> f32 {
    let i = if d[0] == 1 { 0 } else { i };
    let j = if d[1] == 1 { 0 } else { j };
    values[i * d[1] as usize + j]
}

/// The loop of these passes: for each node that `plan` accepts, giving `(mid, out, plan)` with
/// `mid` its producer's output and `out` its own, the node is merged into the producer
/// (`merge_into_producer`: the producer's output takes `out`'s name) and `apply` edits the
/// producer; `apply` gets `<out's name><suffix>` to name a new constant by.
pub(crate) fn absorb_into_producers<P>(
    g: &mut Graph,
    cx: &PassCx,
    suffix: &str,
    mut plan: impl FnMut(&Graph, &mut Placer, NodeId) -> Option<(ValueId, ValueId, P)>,
    mut apply: impl FnMut(&mut Graph, &mut Placer, P, &str),
) -> Changed {
    let mut sw = Sweeper::default();
    let mut placer = Placer::default();
    let mut rewrites = 0;
    let mut cur = g.first_node();
    while let Some(id) = cur {
        cur = g.next_node(id);
        let Some((mid, out, p)) = plan(g, &mut placer, id) else { continue };
        let base = format!("{}{suffix}", g.value(out).name);
        if !merge_into_producer(g, &mut sw, cx, id, mid, out) {
            continue;
        }
        apply(g, &mut placer, p, &base);
        rewrites += 1;
    }
    sw.finish(g);
    Changed { rewrites }
}

/// Makes the constant `c` input 2 (the bias or C) of `node`, appending it when the node has
/// fewer inputs. A `Constant` node making `c` may sit after `node`: it moves before it.
pub(crate) fn wire_bias(g: &mut Graph, node: NodeId, c: ValueId) {
    if let Some(cn) = g.value(c).producer() {
        g.move_node_before(cn, Some(node));
    }
    if g.node(node).inputs().len() < 3 {
        g.push_node_input(node, Some(c));
    } else {
        g.set_node_input(node, 2, Some(c));
    }
}
