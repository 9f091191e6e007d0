//! Rules for a graph as a whole: names, definitions before uses, outputs produced, declared types
//! where the format requires them, initializers; then each node, then each subgraph.

use crate::diag::Sink;
use crate::node::{NodeCtx, check_node};
use crate::{Report, Scope};
use ferry_ir::{Graph, Initializer, Type, TypeKind, ValueDef, ValueId};
use std::collections::HashSet;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum GraphKind {
    Main,
    Subgraph,
    Function,
    Training,
}

pub(crate) struct GraphCtx<'a> {
    pub nodes: NodeCtx<'a>,
    pub ir_version: Option<i64>,
    pub kind: GraphKind,
}

/// The type a value is known to have before inference: declared, or that of its initializer.
pub(crate) fn known_type(g: &Graph, v: ValueId) -> Option<Type> {
    let value = g.value(v);
    if let Some(t) = value.ty() {
        return Some(t.clone());
    }
    match &value.initializer {
        Some(Initializer::Dense(t)) => {
            Some(Type::tensor(t.dtype?, t.dims.iter().map(|&d| ferry_ir::DimValue::Known(d))))
        }
        _ => None,
    }
}

pub(crate) fn check_graph(
    g: &Graph,
    path: &str,
    ctx: &GraphCtx<'_>,
    outer: &Scope<'_>,
    report: &mut Report,
) {
    let mut sink = Sink { report, graph: path.to_string() };
    check_declarations(g, ctx, &mut sink);
    check_order(g, &mut sink);
    for (id, _) in g.nodes() {
        check_node(g, id, &ctx.nodes, &|v| known_type(g, v), &mut sink);
    }
    // Subgraphs: names visible to them are this graph's plus the enclosing ones.
    let names: HashSet<&str> = g.values().map(|(_, v)| v.name.as_str()).collect();
    let scope = Scope { names: &names, parent: Some(outer) };
    for (_, n) in g.nodes() {
        for a in &n.attributes {
            for (i, sub) in a.value.graphs().iter().enumerate() {
                let sub_path = format!("{path} / {}.{}[{i}]", n.label(), a.name);
                let sub_ctx = GraphCtx {
                    nodes: NodeCtx { ..ctx.nodes },
                    ir_version: ctx.ir_version,
                    kind: GraphKind::Subgraph,
                };
                for &c in sub.captures() {
                    let name = &sub.value(c).name;
                    if !scope.contains(name) {
                        sub_report(report_of(&mut sink), &sub_path).error(
                            "outer-scope",
                            None,
                            format!(
                                "'{name}' is read from an enclosing graph that does not define it"
                            ),
                        );
                    }
                }
                check_graph(sub, &sub_path, &sub_ctx, &scope, report_of(&mut sink));
            }
        }
    }
}

fn report_of<'s, 'r>(sink: &'s mut Sink<'r>) -> &'s mut Report {
    sink.report
}

fn sub_report<'r>(report: &'r mut Report, path: &str) -> Sink<'r> {
    Sink { report, graph: path.to_string() }
}

fn check_declarations(g: &Graph, ctx: &GraphCtx<'_>, sink: &mut Sink<'_>) {
    let main = ctx.kind == GraphKind::Main;
    for (what, list) in [("input", g.inputs()), ("output", g.outputs())] {
        for &v in list {
            let value = g.value(v);
            if value.name.is_empty() {
                sink.error("empty-name", None, format!("a graph {what} has an empty name"));
            }
            // ONNX requires the main graph's interface to be typed; subgraphs may leave it to
            // inference.
            if main && ctx.kind != GraphKind::Function {
                match value.ty() {
                    None => sink.error(
                        "missing-type",
                        None,
                        format!("graph {what} '{}' has no type", value.name),
                    ),
                    Some(t) if t.kind.is_none() => sink.error(
                        "missing-type",
                        None,
                        format!("the type of graph {what} '{}' is empty", value.name),
                    ),
                    Some(Type { kind: Some(TypeKind::Tensor(tt)), .. }) if tt.elem.is_none() => {
                        sink.error(
                            "missing-type",
                            None,
                            format!("graph {what} '{}' has no element type", value.name),
                        )
                    }
                    _ => {}
                }
            }
        }
    }
    for &v in g.outputs() {
        if g.value(v).def() == ValueDef::Undefined {
            sink.error(
                "output-not-produced",
                None,
                format!(
                    "graph output '{}' is not produced by any node, input or initializer",
                    g.value(v).name
                ),
            );
        }
    }
    let inputs: HashSet<ValueId> = g.inputs().iter().copied().collect();
    let old_ir = ctx.ir_version.is_some_and(|v| v < 4);
    for &v in g.initializers().iter().chain(g.sparse_initializers()) {
        let value = g.value(v);
        if old_ir && ctx.kind == GraphKind::Main && !inputs.contains(&v) {
            sink.error(
                "ir3-initializer-not-input",
                None,
                format!(
                    "initializer '{}' is not a graph input, which IR version {} requires (IR 4 lifted this)",
                    value.name,
                    ctx.ir_version.unwrap_or(0)
                ),
            );
        }
        if value.uses().is_empty() && !g.is_graph_output(v) && !inputs.contains(&v) {
            sink.warning(
                "unused-initializer",
                None,
                format!("initializer '{}' is never used", value.name),
            );
        }
    }
}

/// Every input must be defined, and defined by an earlier node (the format requires
/// topological order).
fn check_order(g: &Graph, sink: &mut Sink<'_>) {
    let mut done: HashSet<ferry_ir::NodeId> = HashSet::new();
    for (id, n) in g.nodes() {
        for v in n.inputs().iter().flatten().chain(n.implicit_inputs()) {
            let value = g.value(*v);
            match value.def() {
                ValueDef::Undefined => sink.error(
                    "undefined-value",
                    Some(n.label()),
                    format!("reads '{}', which nothing defines", value.name),
                ),
                ValueDef::Node { node, .. } if !done.contains(&node) => sink.error(
                    "topological-order",
                    Some(n.label()),
                    format!(
                        "reads '{}' before {} computes it: nodes must be in topological order",
                        value.name,
                        g.node(node).label()
                    ),
                ),
                _ => {}
            }
        }
        done.insert(id);
    }
}
