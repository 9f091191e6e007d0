//! `fold_constants`: evaluates nodes whose inputs are all constants and replaces them by
//! initializers; `Constant` nodes themselves become initializers.
//!
//! A value is constant when it is a dense initializer that is *not* a graph input (an
//! initializer that is also an input is a default the caller may override), or the output of a
//! `Constant` node or of a node already folded (those became initializers first). A folded node
//! is evaluated with `ferry_fold::evaluate_with`; each of its outputs becomes an initializer of
//! the same name, so readers, graph outputs and subgraphs reading it by name see the same name.
//! Initializers that only the folded nodes read are dropped.
//!
//! Guards (the node stays as it is):
//!
//! - nondeterministic operators are never folded: `RandomNormal`, `RandomUniform`,
//!   `RandomNormalLike`, `RandomUniformLike`, `Bernoulli`, `Multinomial`;
//! - neither are `QuantizeLinear`, `DequantizeLinear`, `DynamicQuantizeLinear` (quantized
//!   weights stay quantized for the runtime);
//! - nodes with subgraphs or reading outer-scope values, and nodes of any domain but the default
//!   one (custom operators, `ai.onnx.ml`);
//! - size: a fold whose outputs hold more elements than the inputs it frees (constant inputs
//!   that only this node reads) plus an allowance ([`FoldConstants::allowance`], 1024 elements)
//!   would grow the model and is not made; and no input or output may exceed
//!   [`FoldConstants::budget`] (`ferry_fold::Budget`, 1,000,000 elements by default). This is
//!   what keeps large `Tile`, `Expand` and `ConstantOfShape` results out of the file;
//! - initializers that are also graph inputs are not constants (a caller may pass another
//!   value), unless [`FoldConstants::with_input_defaults`] asks for it; even then they stay;
//! - with [`FoldConstants::with_max_bytes`] (the CLI's `--no-large-tensor`/`--size-threshold`,
//!   as onnxsim's), no folded output may take more bytes than that, whatever it frees;
//! - `ferry_fold` does not fold the op or the element type, or reports the inputs invalid for
//!   the op (the runtime would fail there too; the node is left for it to report);
//! - an output name training information mentions; in a subgraph (If/Loop/Scan body), a node
//!   producing one of the subgraph's outputs (those stay node outputs);
//! - a `Constant` whose value is a sparse tensor, an empty list, or a reference to a function
//!   attribute.
//!
//! Function bodies are not touched: a function has no initializers to fold into. The main graph
//! and every subgraph are, in models of IR version 3 or later. In IR 3 an initializer had to be
//! a graph input; a model of IR 3 in which something folds is moved to IR 4, the version that
//! lifted that rule and changed nothing else. Older models are left alone.

use crate::rebuild;
use crate::{Changed, Pass, PassCx, PassError};
use ferry_fold::Budget;
use ferry_ir::{
    AttrValue, DataType, DimValue, Graph, Initializer, Model, Node, NodeId, Tensor, TensorData,
    Type, ValueDef, ValueId,
};
use std::collections::HashSet;

pub struct FoldConstants {
    /// Largest tensor (in elements) folding may read or make.
    pub budget: Budget,
    /// How many elements a fold may add to the model beyond the inputs it frees.
    pub allowance: u64,
    /// Largest folded output in bytes (`None`: only the element limits apply).
    pub max_bytes: Option<u64>,
    /// Whether initializers that are also graph inputs count as constants (their defaults are
    /// folded in, so a caller's value for such an input is then ignored). Off by default.
    pub fold_input_defaults: bool,
}

impl Default for FoldConstants {
    fn default() -> Self {
        FoldConstants {
            budget: Budget::default(),
            allowance: 1024,
            max_bytes: None,
            fold_input_defaults: false,
        }
    }
}

impl FoldConstants {
    /// Refuses folds that would make a tensor of more than `bytes` bytes.
    pub fn with_max_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = Some(bytes);
        self
    }

    /// Folds the defaults of graph inputs too, as onnxsim does (the CLI's
    /// `--fold-input-initializers`): the result then ignores a value passed for such an input.
    pub fn with_input_defaults(mut self) -> Self {
        self.fold_input_defaults = true;
        self
    }
}

/// Operators never folded (see the module documentation).
pub(crate) const NEVER_FOLDED: &[&str] = &[
    "RandomNormal",
    "RandomUniform",
    "RandomNormalLike",
    "RandomUniformLike",
    "Bernoulli",
    "Multinomial",
    "QuantizeLinear",
    "DequantizeLinear",
    "DynamicQuantizeLinear",
];

impl Pass for FoldConstants {
    fn name(&self) -> &'static str {
        "fold_constants"
    }

    fn description(&self) -> &'static str {
        "evaluate nodes whose inputs are all constants into initializers (Constant nodes too)"
    }

    /// The work happens in [`Pass::run_model`], which tells function bodies from subgraphs.
    fn run(&self, _graph: &mut Graph, _cx: &PassCx) -> Result<Changed, PassError> {
        Ok(Changed::NONE)
    }

    fn run_model(&self, model: &mut Model, cx: &PassCx) -> Result<Changed, PassError> {
        let (Some(opset), Some(g)) = (cx.opset, &mut model.graph) else {
            return Ok(Changed::NONE);
        };
        // Before IR 4 an initializer had to be a graph input; IR 4 lifted that rule and changed
        // nothing else. A model of IR 3 whose constants fold moves to IR 4, as onnxsim's and
        // onnxslim's results do in effect (they store such initializers without the version).
        // Older IR versions differ in more than that: they are left alone.
        let Some(ir) = model.ir_version.filter(|&v| v >= 3) else { return Ok(Changed::NONE) };
        let folds = self.fold_graph(g, cx, opset, false);
        if folds > 0 && !initializers_without_inputs(Some(ir)) {
            model.ir_version = Some(4);
        }
        Ok(Changed { rewrites: folds })
    }
}

impl FoldConstants {
    /// Folds `g`, then its subgraphs; returns the number of folds.
    fn fold_graph(&self, g: &mut Graph, cx: &PassCx, opset: i64, nested: bool) -> usize {
        let mut folder = Folder::new(g);
        let mut folds = 0;
        let mut cur = g.first_node();
        while let Some(id) = cur {
            cur = g.next_node(id);
            if cx.exhausted() {
                break;
            }
            if !folder.replaceable(g, cx, id, nested) {
                continue;
            }
            let Some(tensors) = self.evaluate(g, cx, id, opset) else { continue };
            if !cx.allow() {
                break;
            }
            folder.replace(g, id, tensors);
            folds += 1;
        }
        folds += for_each_subgraph(g, &mut |sub| self.fold_graph(sub, cx, opset, true));
        folder.finish(g, cx);
        folds
    }

    /// The outputs of node `id` when it can be folded under the guards, else `None`.
    fn evaluate(&self, g: &Graph, cx: &PassCx, id: NodeId, opset: i64) -> Option<Vec<Tensor>> {
        let node = g.node(id);
        if node.op_type == "Constant" && foldable_kind(node) {
            return constant_value(node).map(|t| vec![t]);
        }
        if !foldable_op(node) {
            return None;
        }
        let mut inputs: Vec<Option<&Tensor>> = Vec::with_capacity(node.inputs().len());
        let mut freed = 0u64;
        let mut seen: Vec<ValueId> = Vec::new();
        for slot in node.inputs() {
            let Some(v) = *slot else {
                inputs.push(None);
                continue;
            };
            let val = g.value(v);
            let t = match (val.def(), &val.initializer) {
                (ValueDef::Initializer, Some(Initializer::Dense(t))) => t,
                (ValueDef::Input, Some(Initializer::Dense(t))) if self.fold_input_defaults => t,
                _ => return None,
            };
            let n = t.element_count()?;
            if n > self.budget.max_elements {
                return None;
            }
            let kept = val.def() == ValueDef::Input
                || g.is_graph_output(v)
                || cx.protected.contains(&val.name);
            if !kept && !seen.contains(&v) {
                seen.push(v);
                freed = freed.saturating_add(freed_share(g, v, n));
            }
            inputs.push(Some(t));
        }
        if inputs.iter().all(Option::is_none) {
            return None;
        }
        let outs = ferry_fold::evaluate_with(node, opset, &inputs, self.budget).ok()??;
        if outs.len() != node.outputs().len() {
            return None;
        }
        let mut made = 0u64;
        for (slot, t) in node.outputs().iter().zip(&outs) {
            if slot.is_some() {
                made = made.saturating_add(t.element_count()?);
                if self.max_bytes.is_some_and(|max| t.nbytes().unwrap_or(t.stored_len()) > max) {
                    return None;
                }
            }
        }
        (made <= freed.saturating_add(self.allowance)).then_some(outs)
    }
}

/// How much of constant `v` (`n` elements, not kept for a graph output or training) a fold of
/// one of its readers frees. All of it when that node is its only reader. When every reader
/// reads only constants, all of them fold in the same sweep and `v` goes with the last: each
/// is credited an equal share, so together they may replace `v` by at most its own size (plus
/// their allowances). That is what lets a weight sliced into gates (an LSTM's, split by four
/// `Slice`s) be replaced by its pieces. Otherwise a fold frees nothing of `v`.
fn freed_share(g: &Graph, v: ValueId, n: u64) -> u64 {
    let mut readers: Vec<NodeId> = g.value(v).uses().iter().map(|u| u.node).collect();
    readers.sort_unstable();
    readers.dedup();
    if readers.len() == 1 {
        return n;
    }
    let all_foldable = readers.iter().all(|&r| {
        let node = g.node(r);
        foldable_op(node)
            && node.inputs().iter().flatten().all(|&i| {
                let iv = g.value(i);
                iv.def() == ValueDef::Initializer
                    && matches!(iv.initializer, Some(Initializer::Dense(_)))
            })
    });
    if all_foldable { n / readers.len() as u64 } else { 0 }
}

/// Whether `node` is of a kind folding may evaluate: default domain, no subgraphs, no
/// outer-scope reads.
fn foldable_kind(node: &Node) -> bool {
    node.canonical_domain().is_empty() && !node.has_subgraphs() && node.implicit_inputs().is_empty()
}

/// Whether `node` may be folded when its inputs are constants (see the guards above).
fn foldable_op(node: &Node) -> bool {
    foldable_kind(node) && !NEVER_FOLDED.contains(&node.op_type.as_str())
}

/// Whether the model's IR version lets an initializer be something other than a graph input
/// (IR 4 and later); before that, every initializer is an input a caller may override, so no
/// folded result can be stored.
pub(crate) fn initializers_without_inputs(ir_version: Option<i64>) -> bool {
    ir_version.is_some_and(|v| v >= 4)
}

/// Runs `f` on every subgraph of `g`'s nodes (in node order) and sums what it returns.
pub(crate) fn for_each_subgraph(g: &mut Graph, f: &mut dyn FnMut(&mut Graph) -> usize) -> usize {
    let owners: Vec<NodeId> = g.node_ids().filter(|&id| g.node(id).has_subgraphs()).collect();
    let mut total = 0;
    for id in owners {
        let mut attributes = std::mem::take(&mut g.node_mut(id).attributes);
        for a in &mut attributes {
            for sub in a.value.graphs_mut() {
                total += f(sub);
            }
        }
        g.node_mut(id).attributes = attributes;
    }
    total
}

/// The tensor a `Constant` node holds, when it is a dense one.
fn constant_value(node: &Node) -> Option<Tensor> {
    if node.outputs().len() != 1 || node.attributes.len() != 1 {
        return None;
    }
    let a = &node.attributes[0];
    if a.ref_attr_name.is_some() {
        return None;
    }
    let (dtype, dims, data) = match (a.name.as_str(), &a.value) {
        ("value", AttrValue::Tensor(t)) => {
            t.dtype?;
            return Some((**t).clone());
        }
        ("value_float", AttrValue::Float(x)) => {
            (DataType::FLOAT, vec![], TensorData::Float(vec![*x]))
        }
        ("value_floats", AttrValue::Floats(v)) => {
            (DataType::FLOAT, vec![v.len() as i64], TensorData::Float(v.clone()))
        }
        ("value_int", AttrValue::Int(x)) => (DataType::INT64, vec![], TensorData::Int64(vec![*x])),
        ("value_ints", AttrValue::Ints(v)) => {
            (DataType::INT64, vec![v.len() as i64], TensorData::Int64(v.clone()))
        }
        ("value_string", AttrValue::String(s)) => {
            (DataType::STRING, vec![], TensorData::String(vec![s.clone()]))
        }
        ("value_strings", AttrValue::Strings(v)) => {
            (DataType::STRING, vec![v.len() as i64], TensorData::String(v.clone()))
        }
        _ => return None,
    };
    Some(Tensor {
        name: None,
        dtype: Some(dtype),
        dims,
        data,
        segment: None,
        doc_string: None,
        metadata_props: Vec::new(),
        data_location: None,
    })
}

/// Replaces nodes by initializers holding their outputs, and cleans up once at the end.
pub(crate) struct Folder {
    /// Values with a `value_info` entry.
    listed: HashSet<ValueId>,
    /// Replaced outputs that had a `value_info` entry (now undefined).
    left: Vec<ValueId>,
    /// Inputs of replaced nodes: dropped at the end when they are initializers nothing reads.
    consumed: Vec<ValueId>,
}

impl Folder {
    pub fn new(g: &Graph) -> Folder {
        Folder {
            listed: g.value_info().iter().copied().collect(),
            left: Vec::new(),
            consumed: Vec::new(),
        }
    }

    /// Whether node `id`'s outputs may become initializers: it has at least one, and none is
    /// protected or (in a nested graph) an output of that graph.
    pub fn replaceable(&self, g: &Graph, cx: &PassCx, id: NodeId, nested: bool) -> bool {
        let outs = g.node(id).outputs();
        outs.iter().any(Option::is_some)
            && outs.iter().flatten().all(|&o| {
                let kept_output = nested && g.is_graph_output(o);
                !kept_output && !cx.protected.contains(&g.value(o).name)
            })
    }

    /// Replaces node `id` by one initializer per present output, named as the output.
    pub fn replace(&mut self, g: &mut Graph, id: NodeId, tensors: Vec<Tensor>) {
        let outs = g.node(id).outputs().to_vec();
        self.consumed.extend(g.node(id).inputs().iter().flatten().copied());
        for (slot, mut t) in outs.into_iter().zip(tensors) {
            let Some(old) = slot else { continue };
            let name = g.value(old).name.clone();
            t.name = Some(name.clone());
            let mut info = g.value(old).info.clone();
            if info.ty.is_none()
                && let Some(dtype) = t.dtype
            {
                info.ty = Some(Type::tensor(dtype, t.dims.iter().map(|&d| DimValue::Known(d))));
            }
            let new = g.add_initializer(name, Initializer::Dense(t));
            g.value_mut(new).info = info;
            g.replace_all_uses(old, new);
            g.replace_implicit_uses(old, new);
            if self.listed.contains(&old) {
                self.left.push(old);
            }
        }
        g.remove_node(id);
    }

    /// Drops the `value_info` entries of replaced outputs and the initializers only replaced
    /// nodes read (not graph outputs, not protected). Rebuilds `g` when there is anything to
    /// drop, which renumbers its values and nodes.
    pub fn finish(self, g: &mut Graph, cx: &PassCx) {
        let mut drop = rebuild::stale(g, &self.left);
        for v in self.consumed {
            let val = g.value(v);
            if val.def() == ValueDef::Initializer
                && val.uses().is_empty()
                && !g.is_graph_output(v)
                && !cx.protected.contains(&val.name)
            {
                drop.insert(v);
            }
        }
        rebuild::drop_values(g, &drop);
    }
}
