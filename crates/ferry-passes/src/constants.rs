//! Small constant tensors for rewrites: reading integer parameters (axes, starts, shapes) that
//! an operator takes as an attribute in old opsets and as an input in new ones, and putting new
//! values in place of old ones without growing the graph.
//!
//! A rewrite that changes a constant input of a node either overwrites the constant in place
//! (when that node is its only reader, so nobody else sees the change) or binds a new
//! initializer with a fresh name. A new initializer is only made where it is provably legal and
//! cannot collide with a name: in a main graph (never in a subgraph or function body, whose
//! names share a scope with enclosing graphs this pass does not see) that already holds an
//! initializer that is not a graph input (so the IR version allows them, IR 4 and later). The
//! caller asks [`Placer::can_place`] for every change before making any, so a rewrite is all
//! or nothing.

use crate::PassCx;
use crate::fuse_bn::constant;
use ferry_ir::{
    AttrValue, Attribute, DataType, Graph, Initializer, NodeId, Tensor, UseSlot, ValueDef, ValueId,
};
use std::collections::HashSet;

/// The integers of a constant int64 or int32 tensor of rank 0 or 1 bound to `v`.
pub(crate) fn int_values(g: &Graph, v: ValueId) -> Option<Vec<i64>> {
    tensor_ints(constant(g, v)?)
}

/// The integers of an int64 or int32 tensor of rank 0 or 1 whose bytes can be read.
pub(crate) fn tensor_ints(t: &Tensor) -> Option<Vec<i64>> {
    if t.dims.len() > 1 || t.segment.is_some() {
        return None;
    }
    let n = usize::try_from(t.element_count()?).ok()?;
    let bytes = t.le_bytes().ok()?;
    match t.dtype? {
        DataType::INT64 if bytes.len() == n.checked_mul(8)? => Some(
            bytes
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
        ),
        DataType::INT32 if bytes.len() == n.checked_mul(4)? => Some(
            bytes
                .chunks_exact(4)
                .map(|c| i64::from(i32::from_le_bytes(c.try_into().expect("4 bytes"))))
                .collect(),
        ),
        _ => None,
    }
}

/// An integer-list parameter of a node: the attribute `name` when the node has it, else the
/// constant at input `slot`. `Some(None)` when neither is there (the parameter is omitted);
/// `None` when it is there but not a readable constant.
pub(crate) fn int_param(
    g: &Graph,
    node: NodeId,
    name: &str,
    slot: usize,
) -> Option<Option<Vec<i64>>> {
    let n = g.node(node);
    if let Some(a) = n.attr(name) {
        if a.ref_attr_name.is_some() {
            return None;
        }
        return a.as_ints().map(|v| Some(v.to_vec()));
    }
    match n.inputs().get(slot).copied().flatten() {
        None => Some(None),
        Some(v) => int_values(g, v).map(Some),
    }
}

/// The declared rank of `v`: its constant's, or its type's when that has a shape.
pub(crate) fn declared_rank(g: &Graph, v: ValueId) -> Option<usize> {
    if let Some(t) = constant(g, v) {
        return Some(t.dims.len());
    }
    let shape = g.value(v).ty()?.as_tensor()?.shape.as_ref()?;
    Some(shape.dims.len())
}

/// Normalizes `axes` of a tensor of rank `rank` to `0..rank`; `None` when one is out of range,
/// negative with an unknown rank, or repeated.
pub(crate) fn normalize_axes(axes: &[i64], rank: Option<usize>) -> Option<Vec<usize>> {
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let n = if a < 0 {
            let r = i64::try_from(rank?).ok()?;
            usize::try_from(a.checked_add(r)?).ok()?
        } else {
            usize::try_from(a).ok()?
        };
        if rank.is_some_and(|r| n >= r) || out.contains(&n) {
            return None;
        }
        out.push(n);
    }
    Some(out)
}

/// An int64 tensor of rank 1 holding `values`.
pub(crate) fn int64_tensor(values: &[i64]) -> Tensor {
    let bytes: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
    Tensor::from_raw("", DataType::INT64, vec![values.len() as i64], bytes.into())
}

/// A float32 tensor with the given dims holding `values`.
pub(crate) fn f32_tensor(dims: Vec<i64>, values: &[f32]) -> Tensor {
    let bytes: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
    Tensor::from_raw("", DataType::FLOAT, dims, bytes.into())
}

/// Whether `v` has exactly one reader, input `slot` of `node`, and nothing else needs it: not a
/// graph output, not protected.
pub(crate) fn only_reader(g: &Graph, cx: &PassCx, v: ValueId, node: NodeId, slot: usize) -> bool {
    let val = g.value(v);
    val.uses().len() == 1
        && val.uses()[0].node == node
        && val.uses()[0].slot == UseSlot::Input(slot as u32)
        && !g.is_graph_output(v)
        && !cx.protected.contains(&val.name)
}

/// Puts new constants into node inputs (see the module documentation).
#[derive(Default)]
pub(crate) struct Placer {
    taken: Option<HashSet<String>>,
    free_initializers: Option<bool>,
}

impl Placer {
    /// Whether input `slot` of `node` can be given a new constant value: the constant there
    /// now can be overwritten, or a new initializer can be made.
    pub fn can_place(&mut self, g: &Graph, cx: &PassCx, node: NodeId, slot: usize) -> bool {
        self.in_place(g, cx, node, slot).is_some() || self.can_add(g, cx)
    }

    /// Whether a new initializer can be made in `g`.
    pub fn can_add(&mut self, g: &Graph, cx: &PassCx) -> bool {
        !cx.nested
            && *self.free_initializers.get_or_insert_with(|| {
                g.initializers().iter().any(|&v| g.value(v).def() == ValueDef::Initializer)
            })
    }

    /// The constant at input `slot` of `node` when it may be overwritten.
    fn in_place(&self, g: &Graph, cx: &PassCx, node: NodeId, slot: usize) -> Option<ValueId> {
        let v = g.node(node).inputs().get(slot).copied().flatten()?;
        constant(g, v)?;
        only_reader(g, cx, v, node, slot).then_some(v)
    }

    /// Sets input `slot` of `node` (appending omitted inputs up to it) to a constant holding
    /// `t`, named after `base` when new. Call only after [`Placer::can_place`] said yes.
    pub fn place(
        &mut self,
        g: &mut Graph,
        cx: &PassCx,
        node: NodeId,
        slot: usize,
        base: &str,
        mut t: Tensor,
    ) {
        if let Some(v) = self.in_place(g, cx, node, slot) {
            overwrite(g, v, t);
            return;
        }
        let name = self.fresh(g, base);
        t.name = Some(name.clone());
        let nv = g.add_initializer(name, Initializer::Dense(t));
        while g.node(node).inputs().len() <= slot {
            g.push_node_input(node, None);
        }
        g.set_node_input(node, slot, Some(nv));
    }

    /// A name no value of `g` or its subgraphs has, derived from `base`.
    pub fn fresh(&mut self, g: &Graph, base: &str) -> String {
        let taken = self.taken.get_or_insert_with(|| {
            let mut s = HashSet::new();
            all_names(g, &mut s);
            s
        });
        let mut name = base.to_string();
        let mut i = 1;
        while name.is_empty() || taken.contains(&name) {
            name = format!("{base}_{i}");
            i += 1;
        }
        taken.insert(name.clone());
        name
    }
}

/// Replaces the tensor bound to the constant `v` (an initializer or a `Constant` node's
/// `value`), keeping its name.
pub(crate) fn overwrite(g: &mut Graph, v: ValueId, mut t: Tensor) {
    match g.value(v).def() {
        ValueDef::Node { node, .. } => {
            t.name = None;
            let n = g.node_mut(node);
            n.attributes = vec![Attribute::new("value", AttrValue::Tensor(Box::new(t)))];
        }
        _ => {
            let val = g.value_mut(v);
            t.name = Some(val.name.clone());
            if let Some(ferry_ir::TypeKind::Tensor(tt)) =
                val.info.ty.as_mut().and_then(|ty| ty.kind.as_mut())
            {
                tt.shape = Some(ferry_ir::Shape::new(
                    t.dims.iter().map(|&d| ferry_ir::DimValue::Known(d)),
                ));
                tt.elem = t.dtype;
            }
            val.initializer = Some(Initializer::Dense(t));
        }
    }
}

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

/// The size of dimension `axis` of `v` when its constant or declared type says.
pub(crate) fn declared_dim(g: &Graph, v: ValueId, axis: usize) -> Option<i64> {
    if let Some(t) = constant(g, v) {
        return t.dims.get(axis).copied();
    }
    let shape = g.value(v).ty()?.as_tensor()?.shape.as_ref()?;
    match shape.dims.get(axis)?.value {
        ferry_ir::DimValue::Known(d) if d >= 0 => Some(d),
        _ => None,
    }
}
