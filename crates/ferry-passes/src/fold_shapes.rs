//! `fold_shapes`: folds the shape computations of a graph with what type and shape inference
//! knows about their values, also when some dimensions are symbolic.
//!
//! Exporters compute shapes at run time: `Shape -> Gather -> Unsqueeze -> Concat -> Reshape`.
//! Inference (`ferry_infer::facts`) tracks the integers flowing through such chains as
//! dimensions, possibly symbolic (`[batch, 16, 4, 8]`). Two rewrites use that:
//!
//! 1. **Known values.** A node whose every output is an integer or boolean tensor whose contents
//!    inference knows exactly (`Shape` of a value with a static shape, `Gather(Shape(x), 1)` when
//!    dimension 1 of `x` is known, arithmetic on those) is replaced by initializers holding them,
//!    named as its outputs. Integer contents are computed exactly by inference; floating-point
//!    contents are approximations and are left to `fold_constants`, which runs real kernels.
//! 2. **Partly known `Reshape` targets.** A `Reshape` (with `allowzero` 0) whose target is
//!    computed and known as dimensions, some of them symbolic, gets a constant target instead:
//!    a known dimension is written as is, a symbolic one equal to the input's dimension at the
//!    same position as `0` (copy it), and at most one other dimension as `-1`. At run time the
//!    copied dimensions equal the computed ones and the element count is unchanged, so `-1`
//!    resolves to the computed value. The computation of the old target is then dead and
//!    `eliminate_deadend` removes it.
//!
//! Graphs rewritten: the main graph and the subgraphs inference sees in general (If branches);
//! Loop and Scan bodies are inferred per iteration, so nothing is assumed there. Facts treat
//! initializers that are also graph inputs as unknown inputs (a caller may override them); what
//! the file declares (graph input types, `value_info`) counts as known, as in inference.
//!
//! Guards (the node stays as it is):
//!
//! - nodes outside the default domain, with subgraphs, or that `fold_constants` never folds
//!   (random and quantization operators); `Constant` nodes (left to `fold_constants`);
//! - outputs of more than [`MAX_ELEMENTS`] elements (shape tensors are short; larger results
//!   would grow the model);
//! - the output name is one training information mentions; in a subgraph, the output is one of
//!   the subgraph's outputs;
//! - a `Reshape` target with a known `0` and `allowzero` set, with two dimensions neither known
//!   nor copied, or one that is already an initializer;
//! - models before IR version 4 (an initializer must be a graph input there) and function
//!   bodies (no types without a caller, no initializers to hold the result).
//!
//! One caveat of rewrite 2, shared with onnxslim: a target using both `0` and `-1` cannot be
//! resolved by a runtime when a copied dimension is 0 at run time (an empty tensor); the
//! computed target could.

use crate::constants::{Placer, int64_tensor};
use crate::fold_constants::{Folder, NEVER_FOLDED, initializers_without_inputs};
use crate::{Changed, Pass, PassCx, PassError};
use bytes::Bytes;
use ferry_infer::{Data, Dim, Fact, Facts};
use ferry_ir::{AttrValue, DataType, Graph, Initializer, Model, NodeId, Tensor, ValueDef, ValueId};

pub struct FoldShapes;

/// Largest output (in elements) replaced by an initializer.
pub const MAX_ELEMENTS: usize = 64;

impl Pass for FoldShapes {
    fn name(&self) -> &'static str {
        "fold_shapes"
    }

    fn description(&self) -> &'static str {
        "fold shape computations with inferred (symbolic) shapes: known values to initializers, \
         Reshape targets to constants"
    }

    /// The work happens in [`Pass::run_model`], which needs the model to infer types.
    fn run(&self, _graph: &mut Graph, _cx: &PassCx) -> Result<Changed, PassError> {
        Ok(Changed::NONE)
    }

    fn run_model(&self, model: &mut Model, cx: &PassCx) -> Result<Changed, PassError> {
        if cx.opset.is_none() || model.graph.is_none() {
            return Ok(Changed::NONE);
        }
        if !initializers_without_inputs(model.ir_version) {
            return Ok(Changed::NONE);
        }
        if !model.graph.as_ref().is_some_and(has_candidates) {
            return Ok(Changed::NONE);
        }
        let facts = cx.facts(model);
        let Some(g) = &mut model.graph else { return Ok(Changed::NONE) };
        Ok(Changed { rewrites: fold_graph(g, &facts, cx, false) })
    }
}

/// Whether `g` or a subgraph has a node that computes integers at run time from something that
/// is not a constant: without one there is nothing to fold.
fn has_candidates(g: &Graph) -> bool {
    g.nodes().any(|(_, n)| {
        matches!(n.op_type.as_str(), "Shape" | "Size" | "Reshape")
            || n.subgraphs().any(has_candidates)
    })
}

/// What to do with one node.
enum Plan {
    /// Replace it by initializers holding these outputs.
    Fold(Vec<Tensor>),
    /// Give this `Reshape` a constant target.
    Target(Vec<i64>),
}

/// Folds `g` with its facts, after its subgraphs; returns the rewrites.
fn fold_graph(g: &mut Graph, facts: &Facts, cx: &PassCx, nested: bool) -> usize {
    let own = facts.graph(g);
    // Subgraphs first: rewriting `g` may renumber its nodes, and a subgraph's facts are found
    // by the subgraph's own address, which rewrites of `g` do not change.
    let mut rewrites = 0;
    let owners: Vec<NodeId> = g.node_ids().filter(|&id| g.node(id).has_subgraphs()).collect();
    for id in owners {
        let mut attributes = std::mem::take(&mut g.node_mut(id).attributes);
        for a in &mut attributes {
            for sub in a.value.graphs_mut() {
                rewrites += fold_graph(sub, facts, cx, true);
            }
        }
        g.node_mut(id).attributes = attributes;
    }
    if let Some(own) = own {
        let folder = Folder::new(g);
        let mut plans: Vec<(NodeId, Plan)> = Vec::new();
        for (id, node) in g.nodes() {
            if !node.canonical_domain().is_empty()
                || node.has_subgraphs()
                || node.op_type == "Constant"
                || NEVER_FOLDED.contains(&node.op_type.as_str())
            {
                continue;
            }
            if let Some(tensors) = known_outputs(g, own, id) {
                if folder.replaceable(g, cx, id, nested) {
                    plans.push((id, Plan::Fold(tensors)));
                }
            } else if node.op_type == "Reshape"
                && let Some(target) = reshape_target(g, own, id)
            {
                plans.push((id, Plan::Target(target)));
            }
        }
        rewrites += apply(g, folder, plans, cx);
    }
    rewrites
}

fn apply(g: &mut Graph, mut folder: Folder, plans: Vec<(NodeId, Plan)>, cx: &PassCx) -> usize {
    if plans.is_empty() {
        return 0;
    }
    let mut placer = Placer::default();
    let mut rewrites = 0;
    for (id, plan) in plans {
        if !cx.allow() {
            break;
        }
        match plan {
            Plan::Fold(tensors) => folder.replace(g, id, tensors),
            Plan::Target(target) => {
                let base = match g.node(id).outputs().first().copied().flatten() {
                    Some(o) => format!("{}_ferry_shape", g.value(o).name),
                    None => "ferry_shape".to_string(),
                };
                let name = placer.fresh(g, &base);
                let mut t = int64_tensor(&target);
                t.name = Some(name.clone());
                let v = g.add_initializer(name, Initializer::Dense(t));
                g.set_node_input(id, 1, Some(v));
            }
        }
        rewrites += 1;
    }
    folder.finish(g, cx);
    rewrites
}

/// The outputs of node `id` as tensors, when inference knows every one exactly and they are
/// integer or boolean tensors of at most [`MAX_ELEMENTS`] elements.
fn known_outputs(g: &Graph, facts: &[Fact], id: NodeId) -> Option<Vec<Tensor>> {
    let node = g.node(id);
    // A node reading only constants is `fold_constants`' (with its size rules); a node reading
    // nothing (ConstantOfShape's cousins without inputs) as well.
    let reads_runtime = node.inputs().iter().flatten().any(|&v| !is_constant(g, v));
    if !reads_runtime {
        return None;
    }
    let mut out = Vec::new();
    for slot in node.outputs() {
        let v = (*slot)?;
        let k = facts.get(v.index())?.value.as_ref()?;
        // The element count must match the dims: a fact whose contents disagree with its
        // shape is not trusted.
        let count = k.dims.iter().try_fold(1usize, |n, &d| n.checked_mul(usize::try_from(d).ok()?));
        if k.len() > MAX_ELEMENTS || count != Some(k.len()) {
            return None;
        }
        let Data::Int(dims) = &k.data else { return None };
        let ints: Vec<i64> = dims.iter().map(Dim::as_const).collect::<Option<_>>()?;
        out.push(int_tensor(k.elem, k.dims.clone(), &ints)?);
    }
    Some(out)
}

fn is_constant(g: &Graph, v: ValueId) -> bool {
    g.value(v).def() == ValueDef::Initializer
}

/// Little-endian packing of integers of type `elem` (`None` for other types).
fn int_tensor(elem: DataType, dims: Vec<i64>, ints: &[i64]) -> Option<Tensor> {
    let width = match elem {
        DataType::INT64 | DataType::UINT64 => 8,
        DataType::INT32 | DataType::UINT32 => 4,
        DataType::INT16 | DataType::UINT16 => 2,
        DataType::INT8 | DataType::UINT8 | DataType::BOOL => 1,
        _ => return None,
    };
    let mut bytes = Vec::with_capacity(ints.len() * width);
    for &x in ints {
        bytes.extend_from_slice(&x.to_le_bytes()[..width]);
    }
    Some(Tensor::from_raw(String::new(), elem, dims, Bytes::from(bytes)))
}

/// A constant target for `Reshape` node `id` (see the module documentation), when its computed
/// target is known as dimensions but not as numbers.
fn reshape_target(g: &Graph, facts: &[Fact], id: NodeId) -> Option<Vec<i64>> {
    let node = g.node(id);
    let allowzero = match node.attr("allowzero").map(|a| &a.value) {
        None => 0,
        Some(AttrValue::Int(i)) => *i,
        Some(_) => return None,
    };
    let (Some(Some(data)), Some(Some(shape))) = (node.inputs().first(), node.inputs().get(1))
    else {
        return None;
    };
    if is_constant(g, *shape) {
        return None;
    }
    let computed = facts.get(shape.index())?.value.as_ref()?;
    let Data::Int(want) = &computed.data else { return None };
    if computed.dims.len() != 1 {
        return None;
    }
    let input: Option<&[Dim]> = facts.get(data.index()).and_then(Fact::shape);
    let mut target = Vec::with_capacity(want.len());
    let mut free = 0;
    for (i, d) in want.iter().enumerate() {
        match d.as_const() {
            Some(0) if allowzero != 0 => return None,
            Some(-1) => {
                free += 1;
                target.push(-1);
            }
            Some(n) => target.push(n),
            None => {
                let copied = allowzero == 0
                    && matches!(d, Dim::Expr(_))
                    && input.and_then(|s| s.get(i)).is_some_and(|x| x == d);
                if copied {
                    target.push(0);
                } else {
                    free += 1;
                    target.push(-1);
                }
            }
        }
    }
    (free <= 1).then_some(target)
}
