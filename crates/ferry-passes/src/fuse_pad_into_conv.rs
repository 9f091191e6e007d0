//! `fuse_pad_into_conv` (onnxoptimizer's name): `Conv(Pad(x))` becomes `Conv(x)` with the
//! Pad's spatial pads added to the Conv's own `pads`, when the Pad adds zeros, which is what a
//! Conv's implicit padding adds.
//!
//! Guards (the pair is left alone otherwise):
//!
//! - the Pad is in the default domain, in `constant` mode (the default), its pads known from the
//!   attribute (before opset 11; `paddings` in opset 1) or a constant second input (an
//!   initializer that is not a graph input, or a `Constant` node), every pad non-negative (a
//!   negative pad crops, which Conv's pads cannot), and nothing padded on the batch and channel
//!   axes (0 and 1): Conv pads spatial axes only;
//! - the pad value is zero: the `value` attribute before opset 11 (default 0), else the third
//!   input omitted or a constant whose element is 0 (`-0.0` counts: a product with it adds
//!   nothing to a sum);
//! - from opset 18, an `axes` input must be a constant, and the rank it is read against must be
//!   known from the Conv's constant weight or its `kernel_shape`;
//! - the Pad's output is read by this Conv alone, as its data input (slot 0), and is not a graph
//!   output, not read by a subgraph and not protected (the padded tensor must not be needed
//!   anywhere else);
//! - the Conv is in the default domain with `auto_pad` absent or `NOTSET` (with SAME_* or VALID
//!   the explicit pads are ignored), and its `pads`, if present, have two entries per spatial
//!   axis; sums must not overflow;
//! - the opset is known.
//!
//! `ConvTranspose` is not fused (its pads remove output rather than add input), nor `ConvInteger`
//! or `QLinearConv` (their implicit padding is the zero point, not zero).

use crate::forward::{Sweeper, captured};
use crate::fuse_bn::constant;
use crate::{Changed, Pass, PassCx, PassError};
use ferry_infer::Data;
use ferry_infer::konst::tensor_value;
use ferry_ir::{AttrValue, Attribute, Graph, Node, NodeId, Use, UseSlot, ValueId};

pub struct FusePadIntoConv;

/// A Pad node read by one consumer, with its pads split into per-axis begin and end amounts.
pub(crate) struct PadInfo {
    pub pad: NodeId,
    /// The Pad's data input.
    pub x: ValueId,
    pub begin: Vec<i64>,
    pub end: Vec<i64>,
    /// The pad value's elements (`[0.0]` when omitted), `None` when not a known constant.
    pub value: Option<Vec<f64>>,
}

/// The `Pad` making input 0 of `consumer`, when it is in constant mode with known, non-negative
/// pads and read by `consumer` alone. `rank` gives the padded tensor's rank when the Pad has an
/// `axes` input (opset 18) and it is needed to place the pads.
pub(crate) fn pad_before(
    g: &Graph,
    cx: &PassCx,
    consumer: NodeId,
    rank: Option<usize>,
) -> Option<PadInfo> {
    let opset = cx.opset?;
    let mid = g.node(consumer).inputs().first().copied().flatten()?;
    let pad = g.value(mid).producer()?;
    let n = g.node(pad);
    if n.op_type != "Pad" || !n.canonical_domain().is_empty() || n.outputs().len() != 1 {
        return None;
    }
    let mode = n.attr("mode").and_then(|a| a.as_str()).unwrap_or("constant");
    if mode != "constant"
        || g.value(mid).uses() != [Use { node: consumer, slot: UseSlot::Input(0) }]
        || g.is_graph_output(mid)
        || captured(g, mid)
        || cx.protected.contains(&g.value(mid).name)
    {
        return None;
    }
    let x = n.inputs().first().copied().flatten()?;
    let const_input = |i: usize| -> Option<Option<ferry_infer::Konst>> {
        match n.inputs().get(i).copied().flatten() {
            None => Some(None),
            Some(v) => tensor_value(constant(g, v)?).map(Some),
        }
    };
    let (pads, value) = if opset < 11 {
        let pads = n.attr("pads").or_else(|| n.attr("paddings"))?.as_ints()?.to_vec();
        let value = n.attr("value").and_then(|a| a.as_float()).unwrap_or(0.0);
        (pads, Some(vec![f64::from(value)]))
    } else {
        let pads = const_input(1)??.ints()?;
        let value = match const_input(2) {
            Some(None) => Some(vec![0.0]),
            Some(Some(k)) => match k.data {
                Data::Float(v) => Some(v),
                Data::Int(v) => v.iter().map(|d| d.as_const().map(|i| i as f64)).collect(),
                Data::Str(_) => None,
            },
            None => None,
        };
        (pads, value)
    };
    if pads.len() % 2 != 0 || pads.iter().any(|&p| p < 0) {
        return None;
    }
    let half = pads.len() / 2;
    let (mut begin, mut end) = (pads[..half].to_vec(), pads[half..].to_vec());
    if let Some(axes) = const_input(3)? {
        // Pads given for the listed axes only: spread them over the full rank.
        let axes = axes.ints()?;
        let rank = rank?;
        if axes.len() != half {
            return None;
        }
        let (mut b, mut e) = (vec![0i64; rank], vec![0i64; rank]);
        for (i, &a) in axes.iter().enumerate() {
            let a = if a < 0 { a.checked_add(i64::try_from(rank).ok()?)? } else { a };
            let a = usize::try_from(a).ok().filter(|&a| a < rank)?;
            b[a] = b[a].checked_add(begin[i])?;
            e[a] = e[a].checked_add(end[i])?;
        }
        (begin, end) = (b, e);
    }
    Some(PadInfo { pad, x, begin, end, value })
}

/// The consumer's `pads` with the Pad's spatial pads (axes 2 and up) added, when the Pad pads no
/// batch or channel axis and the sums fit.
pub(crate) fn merged_pads(node: &Node, p: &PadInfo) -> Option<Vec<i64>> {
    let rank = p.begin.len();
    if rank < 2 || p.begin[..2].iter().chain(&p.end[..2]).any(|&x| x != 0) {
        return None;
    }
    let spatial = rank - 2;
    let own = match node.attr("pads") {
        Some(a) => a.as_ints()?.to_vec(),
        None => vec![0; 2 * spatial],
    };
    if own.len() != 2 * spatial {
        return None;
    }
    let mut out = own;
    for i in 0..spatial {
        out[i] = out[i].checked_add(p.begin[i + 2])?;
        out[i + spatial] = out[i + spatial].checked_add(p.end[i + 2])?;
    }
    Some(out)
}

/// Whether `auto_pad` is absent or `NOTSET`.
pub(crate) fn explicit_pads(node: &Node) -> bool {
    node.attr("auto_pad").and_then(|a| a.as_str()).is_none_or(|s| s == "NOTSET")
}

/// Sets attribute `name` of `node` to `value`, in place when present.
pub(crate) fn set_attr(node: &mut Node, name: &str, value: AttrValue) {
    match node.attributes.iter_mut().find(|a| a.name == name) {
        Some(a) => *a = Attribute::new(name, value),
        None => node.attributes.push(Attribute::new(name, value)),
    }
}

/// Rewires `consumer` to read the Pad's input and removes the Pad.
pub(crate) fn drop_pad(g: &mut Graph, sw: &mut Sweeper, consumer: NodeId, p: &PadInfo) {
    g.set_node_input(consumer, 0, Some(p.x));
    sw.remove_node(g, p.pad);
}

/// The rank of a Conv's input, from its weight (a constant) or its `kernel_shape`.
fn conv_rank(g: &Graph, n: &Node) -> Option<usize> {
    if let Some(w) = n.inputs().get(1).copied().flatten().and_then(|w| constant(g, w)) {
        return Some(w.dims.len());
    }
    n.attr("kernel_shape").and_then(|a| a.as_ints()).map(|k| k.len() + 2)
}

impl Pass for FusePadIntoConv {
    fn name(&self) -> &'static str {
        "fuse_pad_into_conv"
    }

    fn description(&self) -> &'static str {
        "fold a zero, spatial-only Pad read only by a Conv into the Conv's pads"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        let mut sw = Sweeper::default();
        let mut rewrites = 0;
        let mut cur = g.first_node();
        while let Some(id) = cur {
            cur = g.next_node(id);
            let n = g.node(id);
            if n.op_type != "Conv" || !n.canonical_domain().is_empty() || !explicit_pads(n) {
                continue;
            }
            let rank = conv_rank(g, n);
            let Some(p) = pad_before(g, cx, id, rank) else { continue };
            if rank.is_some_and(|r| r != p.begin.len()) {
                continue;
            }
            let zero = p.value.as_ref().is_some_and(|v| v.len() == 1 && v[0] == 0.0);
            let Some(pads) = merged_pads(g.node(id), &p).filter(|_| zero) else { continue };
            if !cx.allow() {
                break;
            }
            set_attr(g.node_mut(id), "pads", AttrValue::Ints(pads));
            drop_pad(g, &mut sw, id, &p);
            rewrites += 1;
        }
        sw.finish(g);
        Ok(Changed { rewrites })
    }
}
