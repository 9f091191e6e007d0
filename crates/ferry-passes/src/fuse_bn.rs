//! `fuse_bn_into_conv`: `BatchNormalization(Conv(X, W, B))` becomes `Conv(X, W', B')` with, per
//! output channel `o`, `s[o] = scale[o] / sqrt(var[o] + epsilon)`, `W'[o, ...] = W[o, ...] * s[o]`
//! and `B'[o] = (B[o] - mean[o]) * s[o] + bn_bias[o]` (`B` = 0 when the Conv has none). The same
//! for `ConvTranspose`, whose weight is laid out `[C_in, C_out / group, k...]`: input channel `i`
//! belongs to group `i / (C_in / group)`, and element `[i, j, ...]` feeds output channel
//! `group_of(i) * (C_out / group) + j`, so the scale runs along axis 1 within each group.
//!
//! Guards (the pair is left alone otherwise):
//!
//! - both nodes are in the default domain; the producer is `Conv` or `ConvTranspose` with one
//!   output; its output is read only by the BatchNormalization (as its `X`), is not a graph
//!   output, not read by name from a subgraph and not protected;
//! - the BatchNormalization runs in inference form: exactly one output present (the optional
//!   running-mean/var and saved-mean/var outputs absent), `training_mode` absent or 0, before
//!   opset 7 `is_test = 1`, the opset-7/8 `spatial` absent or 1; the model's opset is known;
//! - `W`, the Conv's `B` (when present) and the BN's scale, bias, mean and var are constants
//!   (a dense initializer that is not a graph input, or a `Constant` node's `value`) of element
//!   type float32 whose bytes can be read; other element types are not fused;
//! - `W` has rank 3 or more; the BN parameters and `B` have shape `[C]` with `C` the output
//!   channels (`W.dims[0]` for Conv; `group * W.dims[1]` for ConvTranspose, whose `C_in` must be
//!   divisible by `group`);
//! - `var + epsilon > 0` and every new number is finite;
//! - the BN's output is not read by name from a subgraph and is not protected (it takes over the
//!   Conv's output, which is renamed to it: `forward::merge_into_producer`).
//!
//! The new `W` and `B` replace the old constants in place when the Conv is their only reader
//! (and they are not graph outputs or protected); otherwise they become new tensors with fresh
//! names: initializers when the graph provably allows initializers that are not graph inputs
//! (IR 4 and later: it already has one), else `Constant` nodes, as long as the node count does
//! not grow. Inside subgraphs and function bodies, where fresh names could collide with outer
//! ones, a pair that needs a new tensor is not fused. The arithmetic is done in f64 and rounded
//! once to f32.

use crate::forward::{Sweeper, captured, merge_into_producer};
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{
    AttrValue, Attribute, DataType, Graph, Initializer, Node, NodeId, Tensor, TensorData, Use,
    UseSlot, ValueDef, ValueId,
};
use std::collections::HashSet;

pub struct FuseBnIntoConv;

/// The constant tensor bound to `v`: a dense initializer that is not a graph input, or the
/// `value` of a default-domain `Constant` node.
pub(crate) fn constant(g: &Graph, v: ValueId) -> Option<&Tensor> {
    let val = g.value(v);
    match val.def() {
        ValueDef::Initializer => match &val.initializer {
            Some(Initializer::Dense(t)) => Some(t),
            _ => None,
        },
        ValueDef::Node { node, .. } => constant_node_tensor(g.node(node)),
        _ => None,
    }
}

fn constant_node_tensor(n: &Node) -> Option<&Tensor> {
    if n.op_type != "Constant" || !n.canonical_domain().is_empty() || n.attributes.len() != 1 {
        return None;
    }
    let a = &n.attributes[0];
    if a.name != "value" || a.ref_attr_name.is_some() {
        return None;
    }
    a.as_tensor()
}

/// The elements of a float32 tensor, when its bytes are readable and match its dims.
pub(crate) fn f32_values(t: &Tensor) -> Option<Vec<f32>> {
    if t.dtype != Some(DataType::FLOAT) || t.segment.is_some() {
        return None;
    }
    let n = usize::try_from(t.element_count()?).ok()?;
    let bytes = t.le_bytes().ok()?;
    if bytes.len() != n.checked_mul(4)? {
        return None;
    }
    Some(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Every value name in `g` and its subgraphs.
fn all_names(g: &Graph, out: &mut HashSet<String>) {
    for (_, v) in g.values() {
        out.insert(v.name.clone());
    }
    for (_, n) in g.nodes() {
        for sg in n.subgraphs() {
            all_names(sg, out);
        }
    }
}

/// Fresh value names for one graph, computed once per run.
#[derive(Default)]
struct Names {
    taken: Option<HashSet<String>>,
}

impl Names {
    fn fresh(&mut self, g: &Graph, base: &str) -> String {
        let taken = self.taken.get_or_insert_with(|| {
            let mut s = HashSet::new();
            all_names(g, &mut s);
            s
        });
        let mut name = format!("{base}_bn_fused");
        let mut i = 1;
        while taken.contains(&name) {
            name = format!("{base}_bn_fused_{i}");
            i += 1;
        }
        taken.insert(name.clone());
        name
    }
}

/// Whether the graph has an initializer that is not a graph input, which IR versions before 4
/// forbid: then a new one is allowed too.
fn free_initializers_allowed(g: &Graph) -> bool {
    g.initializers().iter().any(|&v| g.value(v).def() == ValueDef::Initializer)
}

/// Overwrites the payload of `t` with float32 `values` (same dims).
fn overwrite(t: &mut Tensor, values: &[f32]) {
    t.data = TensorData::Raw(f32_bytes(values).into());
    t.data_location = None;
}

/// Puts `values` (dims `dims`) into input `slot` of `node`: in place over `old` when
/// `in_place`, else as a new constant named after `base`.
#[allow(clippy::too_many_arguments)]
fn install(
    g: &mut Graph,
    names: &mut Names,
    node: NodeId,
    slot: usize,
    old: Option<ValueId>,
    in_place: bool,
    as_initializer: bool,
    base: &str,
    dims: Vec<i64>,
    values: &[f32],
) {
    if let (Some(v), true) = (old, in_place) {
        match g.value(v).def() {
            ValueDef::Node { node: c, .. } => {
                if let AttrValue::Tensor(t) = &mut g.node_mut(c).attributes[0].value {
                    overwrite(t, values);
                }
            }
            _ => {
                if let Some(Initializer::Dense(t)) = &mut g.value_mut(v).initializer {
                    overwrite(t, values);
                }
            }
        }
        return;
    }
    let name = names.fresh(g, base);
    let t = Tensor::from_raw(name.clone(), DataType::FLOAT, dims, f32_bytes(values).into());
    let nv = if as_initializer {
        g.add_initializer(name, Initializer::Dense(t))
    } else {
        let mut t = t;
        t.name = None;
        let c = Node::new("Constant")
            .with_attr(Attribute::new("value", AttrValue::Tensor(Box::new(t))));
        let (_, outs) = g.insert_node_before(node, c, &[], &[Some(name.as_str())]);
        outs[0].expect("one output")
    };
    if slot < g.node(node).inputs().len() {
        g.set_node_input(node, slot, Some(nv));
    } else {
        g.push_node_input(node, Some(nv));
    }
}

/// A fusion worked out but not yet applied.
struct Plan {
    conv: NodeId,
    mid: ValueId,
    out: ValueId,
    w: ValueId,
    w_dims: Vec<i64>,
    w_new: Vec<f32>,
    b: Option<ValueId>,
    b_new: Vec<f32>,
}

fn bn_is_inference(g: &Graph, bn: NodeId, opset: i64) -> bool {
    let n = g.node(bn);
    let int = |name: &str| n.attr(name).map(|a| a.as_int());
    let outs = n.outputs();
    outs.first().is_some_and(|o| o.is_some())
        && outs[1..].iter().all(|o| o.is_none())
        && n.inputs().len() == 5
        && n.inputs().iter().all(|i| i.is_some())
        && matches!(int("training_mode"), None | Some(Some(0)))
        && matches!(int("spatial"), None | Some(Some(1)))
        && (opset >= 7 || int("is_test") == Some(Some(1)))
}

fn plan(g: &Graph, cx: &PassCx, bn: NodeId, opset: i64) -> Option<Plan> {
    if !bn_is_inference(g, bn, opset) {
        return None;
    }
    let n = g.node(bn);
    let ins: Vec<ValueId> = n.inputs().iter().map(|i| i.expect("checked")).collect();
    let out = n.outputs()[0]?;
    let eps = match n.attr("epsilon") {
        None => 1e-5,
        Some(a) => a.as_float()?,
    };
    let mid = ins[0];
    let conv = g.value(mid).producer()?;
    let c = g.node(conv);
    let transpose = match c.op_type.as_str() {
        "Conv" => false,
        "ConvTranspose" => true,
        _ => return None,
    };
    if !c.canonical_domain().is_empty()
        || c.outputs().len() != 1
        || !(2..=3).contains(&c.inputs().len())
        || g.value(mid).uses() != [Use { node: bn, slot: UseSlot::Input(0) }]
        || g.is_graph_output(mid)
        || cx.protected.contains(&g.value(mid).name)
        || captured(g, out)
        || cx.protected.contains(&g.value(out).name)
    {
        return None;
    }
    let w = c.inputs()[1]?;
    c.inputs()[0]?;
    let b = c.inputs().get(2).copied().flatten();
    let wt = constant(g, w)?;
    let w_dims = wt.dims.clone();
    if w_dims.len() < 3 {
        return None;
    }
    let mut w_new = f32_values(wt)?;
    let channels = if transpose {
        let group = match c.attr("group") {
            None => 1,
            Some(a) => a.as_int()?,
        };
        if group < 1 || w_dims[0] % group != 0 {
            return None;
        }
        group.checked_mul(w_dims[1])?
    } else {
        w_dims[0]
    };
    let cn = usize::try_from(channels).ok()?;
    let param = |v: ValueId| -> Option<Vec<f32>> {
        let t = constant(g, v)?;
        (t.dims == [channels]).then_some(())?;
        f32_values(t)
    };
    let (scale, bias, mean, var) = (param(ins[1])?, param(ins[2])?, param(ins[3])?, param(ins[4])?);
    let b_old = match b {
        Some(b) => param(b)?,
        None => vec![0.0; cn],
    };
    let mut s = vec![0f64; cn];
    let mut b_new = vec![0f32; cn];
    for o in 0..cn {
        let d = f64::from(var[o]) + f64::from(eps);
        if d.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return None;
        }
        s[o] = f64::from(scale[o]) / d.sqrt();
        let nb = (f64::from(b_old[o]) - f64::from(mean[o])) * s[o] + f64::from(bias[o]);
        b_new[o] = nb as f32;
        if !s[o].is_finite() || !b_new[o].is_finite() {
            return None;
        }
    }
    let dims_usize: Vec<usize> =
        w_dims.iter().map(|&d| usize::try_from(d).ok()).collect::<Option<_>>()?;
    let k: usize = dims_usize[2..].iter().product();
    if transpose {
        let (c_in, per_group_out) = (dims_usize[0], dims_usize[1]);
        let group = cn.checked_div(per_group_out)?;
        let per_group_in = c_in.checked_div(group)?;
        for (idx, x) in w_new.iter_mut().enumerate() {
            let i = idx / (per_group_out * k);
            let j = (idx / k) % per_group_out;
            let o = (i / per_group_in) * per_group_out + j;
            *x = (f64::from(*x) * s[o]) as f32;
        }
    } else {
        let inner = dims_usize[1] * k;
        for (idx, x) in w_new.iter_mut().enumerate() {
            *x = (f64::from(*x) * s[idx / inner]) as f32;
        }
    }
    if w_new.iter().any(|x| !x.is_finite()) {
        return None;
    }
    Some(Plan { conv, mid, out, w, w_dims, w_new, b, b_new })
}

impl Pass for FuseBnIntoConv {
    fn name(&self) -> &'static str {
        "fuse_bn_into_conv"
    }

    fn description(&self) -> &'static str {
        "fold an inference BatchNormalization into the Conv/ConvTranspose before it"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        let Some(opset) = cx.opset else { return Ok(Changed::NONE) };
        let mut sw = Sweeper::default();
        let mut names = Names::default();
        let mut rewrites = 0;
        let as_initializer = free_initializers_allowed(g);
        let mut cur = g.first_node();
        while let Some(id) = cur {
            cur = g.next_node(id);
            let n = g.node(id);
            if n.op_type != "BatchNormalization" || !n.canonical_domain().is_empty() {
                continue;
            }
            let Some(p) = plan(g, cx, id, opset) else { continue };
            // What can be overwritten once the BN is gone (it may read W or B itself).
            let sole = |g: &Graph, v: ValueId, slot: usize| {
                let val = g.value(v);
                let others = val.uses().iter().filter(|u| u.node != id).count();
                others == 1
                    && val.uses().contains(&Use { node: p.conv, slot: UseSlot::Input(slot as u32) })
                    && !g.is_graph_output(v)
                    && !cx.protected.contains(&val.name)
            };
            let w_in_place = sole(g, p.w, 1);
            let b_in_place = p.b.is_some_and(|b| sole(g, b, 2));
            let new_tensors = usize::from(!w_in_place) + usize::from(!b_in_place);
            if new_tensors > 0 && (cx.nested || (!as_initializer && new_tensors > 1)) {
                continue;
            }
            let base_w = g.value(p.w).name.clone();
            let base_b = match p.b {
                Some(b) => g.value(b).name.clone(),
                None => g.value(p.out).name.clone(),
            };
            if !merge_into_producer(g, &mut sw, cx, id, p.mid, p.out) {
                continue;
            }
            install(
                g,
                &mut names,
                p.conv,
                1,
                Some(p.w),
                w_in_place,
                as_initializer,
                &base_w,
                p.w_dims,
                &p.w_new,
            );
            let c = p.b_new.len() as i64;
            install(
                g,
                &mut names,
                p.conv,
                2,
                p.b,
                b_in_place,
                as_initializer,
                &base_b,
                vec![c],
                &p.b_new,
            );
            rewrites += 1;
        }
        sw.finish(g);
        Ok(Changed { rewrites })
    }
}
