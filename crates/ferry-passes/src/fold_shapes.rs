//! `fold_shapes`: replaces `Shape` and `Size` nodes (default domain) whose input has a fully
//! static inferred shape by initializers holding the answer (named as the node's output).
//!
//! Types come from `ferry_infer::infer` run on a copy of the model, so the model itself gets no
//! inferred `value_info`; in that copy, initializers that are also graph inputs lose their
//! default first, so no shape is derived from a default a caller may override. What the file
//! declares (graph input types, `value_info`) counts as known, as in inference.
//!
//! Guards (the node stays as it is):
//!
//! - a dimension of the input is symbolic or unknown, or its rank is unknown;
//! - the output name is one training information mentions; in a subgraph (If/Loop/Scan body),
//!   the output is one of the subgraph's outputs;
//! - models before IR version 4 are not touched (an initializer must be a graph input there);
//! - function bodies are not touched (no types without a caller; no initializers to hold the
//!   result).
//!
//! The `start`/`end` attributes of `Shape` (opset 15) are applied by `ferry_fold`. The node that
//! produced the input stays; `eliminate_deadend` removes it when nothing else reads it.

use crate::fold_constants::{Folder, for_each_subgraph, initializers_without_inputs};
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{DimValue, Graph, Initializer, Model, NodeId, Tensor, TensorData, ValueDef};

pub struct FoldShapes;

impl Pass for FoldShapes {
    fn name(&self) -> &'static str {
        "fold_shapes"
    }

    fn description(&self) -> &'static str {
        "replace Shape/Size of values with a static inferred shape by initializers"
    }

    /// The work happens in [`Pass::run_model`], which needs the model to infer types.
    fn run(&self, _graph: &mut Graph, _cx: &PassCx) -> Result<Changed, PassError> {
        Ok(Changed::NONE)
    }

    fn run_model(&self, model: &mut Model, cx: &PassCx) -> Result<Changed, PassError> {
        let Some(opset) = cx.opset else { return Ok(Changed::NONE) };
        let Some(g) = &model.graph else { return Ok(Changed::NONE) };
        if !initializers_without_inputs(model.ir_version) {
            return Ok(Changed::NONE);
        }
        if !has_shape_nodes(g) {
            return Ok(Changed::NONE);
        }
        let mut typed = model.clone();
        if let Some(tg) = &mut typed.graph {
            strip_input_defaults(tg);
        }
        ferry_infer::infer(&mut typed);
        let (Some(g), Some(tg)) = (&mut model.graph, &typed.graph) else {
            return Ok(Changed::NONE);
        };
        Ok(Changed { rewrites: fold_graph(g, tg, cx, opset, false) })
    }
}

fn is_shape_node(n: &ferry_ir::Node) -> bool {
    matches!(n.op_type.as_str(), "Shape" | "Size") && n.canonical_domain().is_empty()
}

fn has_shape_nodes(g: &Graph) -> bool {
    g.nodes().any(|(_, n)| is_shape_node(n) || n.subgraphs().any(has_shape_nodes))
}

/// Removes the defaults of initializers that are also graph inputs (in `g` and its subgraphs),
/// so that inference does not reason with them.
fn strip_input_defaults(g: &mut Graph) {
    let defaults: Vec<_> = g
        .values()
        .filter(|(_, v)| v.def() == ValueDef::Input && v.initializer.is_some())
        .map(|(id, _)| id)
        .collect();
    for v in defaults {
        g.value_mut(v).initializer = None;
    }
    for_each_subgraph(g, &mut |sub| {
        strip_input_defaults(sub);
        0
    });
}

/// Folds `g` using the types of `typed` (an inferred copy of `g`, so with the same handles),
/// then its subgraphs; returns the number of folds.
fn fold_graph(g: &mut Graph, typed: &Graph, cx: &PassCx, opset: i64, nested: bool) -> usize {
    let mut folder = Folder::new(g);
    // Decide everything first: the handles of `typed` are only valid for the original graph.
    let mut plan: Vec<(NodeId, Vec<Tensor>)> = Vec::new();
    for (id, node) in g.nodes() {
        if !is_shape_node(node) || !folder.replaceable(g, cx, id, nested) {
            continue;
        }
        let (Some(Some(input)), 1) = (node.inputs().first(), node.inputs().len()) else {
            continue;
        };
        let Some(dims) = static_dims(typed, *input) else { continue };
        // Shape and Size read only the dims of their input.
        let probe = Tensor {
            name: None,
            dtype: typed.value(*input).ty().and_then(|t| t.as_tensor()).and_then(|t| t.elem),
            dims,
            data: TensorData::None,
            segment: None,
            doc_string: None,
            metadata_props: Vec::new(),
            data_location: None,
        };
        if let Ok(Some(out)) = ferry_fold::evaluate(node, opset, &[Some(&probe)]) {
            plan.push((id, out));
        }
    }
    let mut folds = 0;
    for (id, out) in plan {
        if !cx.allow() {
            break;
        }
        folder.replace(g, id, out);
        folds += 1;
    }
    // Subgraph owners are not Shape/Size nodes, so they are still where `typed` has them.
    let owners: Vec<NodeId> = g.node_ids().filter(|&id| g.node(id).has_subgraphs()).collect();
    for id in owners {
        let mut attributes = std::mem::take(&mut g.node_mut(id).attributes);
        let typed_attrs = &typed.node(id).attributes;
        for (a, ta) in attributes.iter_mut().zip(typed_attrs) {
            for (sub, tsub) in a.value.graphs_mut().iter_mut().zip(ta.value.graphs()) {
                folds += fold_graph(sub, tsub, cx, opset, true);
            }
        }
        g.node_mut(id).attributes = attributes;
    }
    folder.finish(g, cx);
    folds
}

/// The dims of `v` in `typed` when its type is a tensor whose every dimension is known. A value
/// holding a constant (an initializer) also qualifies: its dims are its own.
fn static_dims(typed: &Graph, v: ferry_ir::ValueId) -> Option<Vec<i64>> {
    let val = typed.value(v);
    if let (ValueDef::Initializer, Some(Initializer::Dense(t))) = (val.def(), &val.initializer) {
        return Some(t.dims.clone());
    }
    let shape = val.ty()?.as_tensor()?.shape.as_ref()?;
    shape
        .dims
        .iter()
        .map(|d| match d.value {
            DimValue::Known(n) if n >= 0 => Some(n),
            _ => None,
        })
        .collect()
}
