//! The driver: from a flat TensorFlow graph to an IR model.
//!
//! 1. The outputs (given, or every sink that produces a tensor) and the inputs (given, or every
//!    `Placeholder` the outputs depend on) fix the part of the graph to convert; the walk follows
//!    data edges only (control edges order side effects, which an inference graph does not have).
//! 2. The nodes are put in dependency order; a cycle (v1 control flow not lowered to functional
//!    `While`) is an error naming it.
//! 3. Every op without a conversion rule is collected first, and reported all at once (or, with
//!    `allow_custom_ops`, kept as a node of the `ai.ferry.tf` domain).
//! 4. Each node is converted by its rule in `ops/`, then the outputs are given back in
//!    TensorFlow's layout.

use crate::ctx::{Ctx, TfVal, to_cf_perm};
use crate::error::{Error, Result, UnsupportedOps, graph_err};
use crate::flatten::{TfGraph, TfNode, parse_ref};
use crate::ops;
use crate::tensor;
use ferry_ir::{DimValue, Model, Node, OpsetImport, Type, ValueInfo};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The domain of TensorFlow ops kept as they are (`allow_custom_ops`).
pub const CUSTOM_DOMAIN: &str = "ai.ferry.tf";

/// A graph input: a TensorFlow tensor (`x`, `x:0`, or any tensor to cut the graph at) and, to
/// override the placeholder's, its shape (`-1` for unknown sizes).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InputSpec {
    pub tensor: String,
    pub shape: Option<Vec<i64>>,
    /// The ONNX input name; default: the tensor name without `:0`.
    pub name: Option<String>,
}

/// A graph output: a TensorFlow tensor and, optionally, the ONNX output name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutputSpec {
    pub tensor: String,
    pub name: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Options {
    /// Empty: every placeholder the outputs depend on.
    pub inputs: Vec<InputSpec>,
    /// Empty: every sink of the graph.
    pub outputs: Vec<OutputSpec>,
    /// Inputs (by tensor or ONNX name) whose ONNX input is channels-first (NCHW) instead of
    /// TensorFlow's NHWC.
    pub inputs_as_nchw: Vec<String>,
    /// Keep ops without a conversion rule as `ai.ferry.tf` nodes instead of failing.
    pub allow_custom_ops: bool,
    /// The `ai.onnx` opset of the result.
    pub opset: i64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            inputs: Vec::new(),
            outputs: Vec::new(),
            inputs_as_nchw: Vec::new(),
            allow_custom_ops: false,
            opset: 17,
        }
    }
}

/// The `ai.onnx` opsets the rules write: from 14 (Reshape's allowzero, the input forms of
/// Squeeze/Unsqueeze/ReduceSum) to 21; 18 changes reductions and Split, which the rules follow.
pub const OPSETS: std::ops::RangeInclusive<i64> = 14..=21;

/// Ops that produce no tensor (and so are never default outputs).
fn produces_nothing(op: &str) -> bool {
    matches!(
        op,
        "NoOp"
            | "Assert"
            | "AssignVariableOp"
            | "AssignAddVariableOp"
            | "AssignSubVariableOp"
            | "SaveV2"
            | "Print"
            | "PrintV2"
            | "ControlTrigger"
    )
}

fn strip0(s: &str) -> String {
    s.strip_suffix(":0").unwrap_or(s).to_string()
}

/// Converts the flattened graph `g` to an IR model.
pub fn convert_graph(g: &TfGraph, opts: &Options) -> Result<Model> {
    if !OPSETS.contains(&opts.opset) {
        return Err(graph_err(format!(
            "opset {} is not one ferry-tf writes (it writes {} to {})",
            opts.opset,
            OPSETS.start(),
            OPSETS.end()
        )));
    }
    let index: HashMap<&str, usize> =
        g.nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect();
    let find = |name: &str| -> Result<usize> {
        index.get(name).copied().ok_or_else(|| graph_err(format!("no node named {name}")))
    };

    // Outputs.
    let outputs: Vec<((String, usize), String)> = if opts.outputs.is_empty() {
        default_outputs(g)?.into_iter().map(|n| ((n.clone(), 0), n)).collect()
    } else {
        opts.outputs
            .iter()
            .map(|o| {
                let r = parse_ref(&o.tensor).ok_or_else(|| graph_err("empty output name"))?;
                Ok((r, o.name.clone().unwrap_or_else(|| strip0(&o.tensor))))
            })
            .collect::<Result<_>>()?
    };
    if outputs.is_empty() {
        return Err(graph_err("the graph has no outputs (no node produces an unused tensor)"));
    }

    // Inputs given by name cut the graph there.
    let mut given: HashMap<String, (InputSpec, usize)> = HashMap::new();
    for spec in &opts.inputs {
        let (node, k) = parse_ref(&spec.tensor).ok_or_else(|| graph_err("empty input name"))?;
        find(&node)?;
        given.insert(node, (spec.clone(), k));
    }

    let targets: Vec<(String, usize)> = outputs.iter().map(|(r, _)| r.clone()).collect();
    let (order, placeholders) = dependency_order(&g.nodes, &index, &targets, &|n: &TfNode| {
        given.contains_key(&n.name) || n.op == "Placeholder"
    })?;

    // Unsupported ops, all of them.
    let mut unsupported: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut seen_functions = HashSet::new();
    for &i in &order {
        collect_unsupported(&g.nodes[i], "", &g.library, &mut seen_functions, &mut unsupported);
    }
    if !unsupported.is_empty() && !opts.allow_custom_ops {
        return Err(Error::Unsupported(UnsupportedOps { ops: unsupported.into_iter().collect() }));
    }

    let mut cx = Ctx::new(opts.opset, &g.library);
    cx.allow_custom = opts.allow_custom_ops;

    // Graph inputs: the given ones in the given order, else the placeholders in graph order.
    let mut input_nodes: Vec<(usize, Option<InputSpec>, usize)> = if opts.inputs.is_empty() {
        let mut p = placeholders.clone();
        p.sort();
        p.into_iter().map(|i| (i, None, 0)).collect()
    } else {
        opts.inputs
            .iter()
            .map(|s| {
                let (node, k) = parse_ref(&s.tensor).unwrap_or_default();
                Ok((find(&node)?, Some(s.clone()), k))
            })
            .collect::<Result<_>>()?
    };
    input_nodes.dedup_by_key(|(i, _, k)| (*i, *k));
    for (i, spec, k) in input_nodes {
        let n = &g.nodes[i];
        let dtype = n.onnx_type("dtype").or_else(|| n.onnx_type("T")).ok_or_else(|| {
            graph_err(format!("input {} ({}): unknown element type", n.name, n.op))
        })?;
        let shape =
            spec.as_ref().and_then(|s| s.shape.clone()).or_else(|| n.attr_shape("shape").flatten());
        let name = spec
            .as_ref()
            .and_then(|s| s.name.clone())
            .unwrap_or_else(|| if k == 0 { n.name.clone() } else { format!("{}:{k}", n.name) });
        let nchw = opts.inputs_as_nchw.iter().any(|x| {
            *x == name || strip0(x) == n.name || spec.as_ref().is_some_and(|s| s.tensor == *x)
        });
        if nchw && shape.as_ref().is_none_or(|s| s.len() < 3) {
            return Err(graph_err(format!(
                "input {name}: --inputs-as-nchw needs an input of known rank 3 or more"
            )));
        }
        let onnx_dims = match &shape {
            Some(s) if nchw => {
                to_cf_perm(s.len()).iter().map(|&p| s[p as usize]).collect::<Vec<_>>()
            }
            Some(s) => s.clone(),
            None => Vec::new(),
        };
        let ty = if shape.is_some() {
            Type::tensor(dtype, tensor::ir_dims(&onnx_dims))
        } else {
            let mut t = Type::tensor(dtype, Vec::<DimValue>::new());
            if let Some(ferry_ir::TypeKind::Tensor(tt)) = &mut t.kind {
                tt.shape = None;
            }
            t
        };
        let name = cx.fresh(&name);
        let id = cx.g.add_input(name, ValueInfo { ty: Some(ty), ..Default::default() });
        cx.vals.insert((n.name.clone(), k), TfVal { id, cf: nchw, shape, dtype: Some(dtype) });
    }

    convert_nodes(&mut cx, &g.nodes, &order)?;

    // Outputs, in TensorFlow's layout, named as asked.
    let mut out_ids = Vec::new();
    for ((node, k), name) in &outputs {
        let v = cx.vals.get(&(node.clone(), *k)).cloned().ok_or_else(|| {
            graph_err(format!("output {node}:{k}: node {node} has no output {k}"))
        })?;
        let mut id = cx.native(&v)?;
        let is_source = !matches!(cx.g.value(id).def(), ferry_ir::ValueDef::Node { .. })
            || out_ids.contains(&id);
        if cx.g.value(id).name != *name || is_source {
            let fresh = cx.fresh(name);
            let mut node = Node::new("Identity");
            node.name = Some(format!("{fresh}/Identity"));
            let (_, o) = cx.g.add_node(node, &[Some(id)], &[Some(fresh.as_str())]);
            id = o[0].unwrap_or(id);
        }
        let ty = v.dtype.map(|dt| match &v.shape {
            Some(s) => Type::tensor(dt, tensor::ir_dims(s)),
            None => {
                let mut t = Type::tensor(dt, Vec::<DimValue>::new());
                if let Some(ferry_ir::TypeKind::Tensor(tt)) = &mut t.kind {
                    tt.shape = None;
                }
                t
            }
        });
        cx.g.value_mut(id).info.ty = ty;
        out_ids.push(id);
    }
    cx.g.set_outputs(out_ids);

    let mut opset_imports =
        vec![OpsetImport { domain: Some(String::new()), version: Some(opts.opset) }];
    if cx.used_custom_domain {
        opset_imports.push(OpsetImport { domain: Some(CUSTOM_DOMAIN.into()), version: Some(1) });
    }
    let mut graph = without_unused_initializers(&cx.g);
    graph.name = Some("tensorflow".into());
    Ok(Model {
        // The IR version that came with the opset (onnx's table: 18 -> 8, 20 -> 9, 21 -> 10).
        ir_version: Some(match opts.opset {
            ..=18 => 8,
            19 | 20 => 9,
            _ => 10,
        }),
        opset_imports,
        producer_name: Some("ferry".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        graph: Some(graph),
        ..Default::default()
    })
}

/// Converts `nodes[i]` for each `i` of `order`, recording their outputs in `cx.vals`.
pub(crate) fn convert_nodes(cx: &mut Ctx, nodes: &[TfNode], order: &[usize]) -> Result<()> {
    for &i in order {
        let n = &nodes[i];
        let outs = match ops::lookup(&n.op) {
            Some(rule) => rule(cx, n)?,
            None if cx.allow_custom => custom_node(cx, n, nodes)?,
            None => return Err(n.err("no conversion rule")),
        };
        for (k, v) in outs.into_iter().enumerate() {
            cx.vals.insert((n.name.clone(), k), v);
        }
    }
    Ok(())
}

/// More outputs than any real op has: a reference past it is a broken file.
const MAX_CUSTOM_OUTPUTS: usize = 4096;

/// An op without a rule, kept as a node of the custom domain with its attributes (the number of
/// outputs is the highest one any consumer reads).
fn custom_node(cx: &mut Ctx, n: &TfNode, nodes: &[TfNode]) -> Result<Vec<TfVal>> {
    let mut n_out = 1usize;
    for m in nodes {
        for (src, k) in &m.inputs {
            if *src == n.name {
                n_out = n_out.max(k.saturating_add(1));
            }
        }
    }
    if n_out > MAX_CUSTOM_OUTPUTS {
        return Err(
            n.err(format!("a consumer reads output {}, past {MAX_CUSTOM_OUTPUTS}", n_out - 1))
        );
    }
    let mut ins = Vec::new();
    for i in 0..n.inputs.len() {
        let v = cx.input(n, i)?;
        ins.push(cx.native(&v)?);
    }
    let attrs = ops::custom::attributes(n);
    let outs = cx.emit(&n.op, &n.name, &ins, attrs, n_out);
    let last = cx.g.last_node();
    if let Some(id) = last {
        cx.g.node_mut(id).domain = Some(CUSTOM_DOMAIN.into());
    }
    cx.used_custom_domain = true;
    let dtype = n.onnx_type("T");
    Ok(outs.into_iter().map(|id| TfVal { id, cf: false, shape: None, dtype }).collect())
}

/// The nodes `targets` depend on through data edges, in dependency order (depth-first,
/// iterative: graphs can be deep), and separately the input nodes reached (`is_input`, where
/// the walk stops). A cycle is an error naming two of its nodes.
pub(crate) fn dependency_order(
    nodes: &[TfNode],
    index: &HashMap<&str, usize>,
    targets: &[(String, usize)],
    is_input: &dyn Fn(&TfNode) -> bool,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let find = |name: &str| -> Result<usize> {
        index.get(name).copied().ok_or_else(|| graph_err(format!("no node named {name}")))
    };
    let mut state = vec![0u8; nodes.len()]; // 0 new, 1 on the stack, 2 done
    let mut order = Vec::new();
    let mut inputs = Vec::new();
    for (out, _) in targets {
        let start = find(out)?;
        let mut stack = vec![(start, 0usize)];
        while let Some(&mut (i, ref mut next)) = stack.last_mut() {
            if *next == 0 {
                if state[i] == 2 {
                    stack.pop();
                    continue;
                }
                state[i] = 1;
            }
            let n = &nodes[i];
            let input = is_input(n);
            if !input && *next < n.inputs.len() {
                let src = &n.inputs[*next].0;
                *next += 1;
                let j = find(src).map_err(|_| {
                    graph_err(format!("node {} reads {src}, which does not exist", n.name))
                })?;
                match state[j] {
                    0 => stack.push((j, 0)),
                    1 => {
                        return Err(graph_err(format!(
                            "the graph has a cycle through {} ({}) and {} ({}): v1 control flow \
                             (Enter/Exit/Switch/Merge/NextIteration) must be lowered to functional \
                             While first",
                            n.name, n.op, nodes[j].name, nodes[j].op
                        )));
                    }
                    _ => {}
                }
                continue;
            }
            state[i] = 2;
            stack.pop();
            if input {
                inputs.push(i);
            } else {
                order.push(i);
            }
        }
    }
    Ok((order, inputs))
}

/// Records `n` if no rule converts it, and looks into the functions a control-flow node runs,
/// so that one error lists the unsupported ops of the bodies too.
fn collect_unsupported(
    n: &TfNode,
    within: &str,
    library: &HashMap<String, crate::proto::FunctionDef>,
    seen: &mut HashSet<String>,
    out: &mut BTreeMap<String, Vec<String>>,
) {
    if ops::lookup(&n.op).is_none() {
        out.entry(n.op.clone()).or_default().push(format!("{within}{}", n.name));
        return;
    }
    for attr in ["cond", "body", "then_branch", "else_branch"] {
        let Some(f) = n.attr_func(attr) else { continue };
        if !seen.insert(f.clone()) {
            continue;
        }
        let Some(def) = library.get(&f) else { continue };
        let Ok(body) = crate::flatten::function_body(def, library) else { continue };
        let index: HashMap<&str, usize> =
            body.nodes.iter().enumerate().map(|(i, b)| (b.name.as_str(), i)).collect();
        let is_arg = |b: &TfNode| b.op == "_Arg";
        let Ok((order, _)) = dependency_order(&body.nodes, &index, &body.rets, &is_arg) else {
            continue;
        };
        for i in order {
            collect_unsupported(&body.nodes[i], &format!("{f}/"), library, seen, out);
        }
    }
}

/// A copy of `g` without the initializers nothing reads: constants the converter consumed
/// itself (reduction axes, shapes, filters it rearranged) are not part of the model.
pub(crate) fn without_unused_initializers(g: &ferry_ir::Graph) -> ferry_ir::Graph {
    use ferry_ir::{Graph, Initializer};
    let mut out = Graph::new();
    out.name = g.name.clone();
    let mut map: HashMap<ferry_ir::ValueId, ferry_ir::ValueId> = HashMap::new();
    for &v in g.inputs() {
        let val = g.value(v);
        map.insert(v, out.add_input(val.name.clone(), val.info.clone()));
    }
    for &v in g.initializers() {
        let val = g.value(v);
        if val.uses().is_empty() && !g.is_graph_output(v) {
            continue;
        }
        if let Some(Initializer::Dense(t)) = &val.initializer {
            let nv = out.add_initializer(val.name.clone(), Initializer::Dense(t.clone()));
            out.value_mut(nv).info = val.info.clone();
            map.insert(v, nv);
        }
    }
    for &v in g.captures() {
        map.insert(v, out.add_capture(&g.value(v).name));
    }
    for (_, n) in g.nodes() {
        let mut node = Node::new(n.op_type.clone());
        node.domain = n.domain.clone();
        node.name = n.name.clone();
        node.attributes = n.attributes.clone();
        node.doc_string = n.doc_string.clone();
        let ins: Vec<Option<ferry_ir::ValueId>> =
            n.inputs().iter().map(|i| i.and_then(|v| map.get(&v).copied())).collect();
        let names: Vec<Option<String>> =
            n.outputs().iter().map(|o| o.map(|v| g.value(v).name.clone())).collect();
        let names_ref: Vec<Option<&str>> = names.iter().map(|s| s.as_deref()).collect();
        let (id, outs) = out.add_node(node, &ins, &names_ref);
        for (old, new) in n.outputs().iter().zip(outs) {
            if let (Some(old), Some(new)) = (old, new) {
                out.value_mut(new).info = g.value(*old).info.clone();
                map.insert(*old, new);
            }
        }
        let implicit: Vec<ferry_ir::ValueId> =
            n.implicit_inputs().iter().filter_map(|v| map.get(v).copied()).collect();
        out.add_implicit_inputs(id, &implicit);
    }
    out.set_outputs(g.outputs().iter().filter_map(|v| map.get(v).copied()).collect());
    out
}

/// The graph's sinks: nodes that produce a tensor and that nothing reads, through data or
/// control edges.
pub(crate) fn default_outputs(g: &TfGraph) -> Result<Vec<String>> {
    let mut consumed: HashSet<&str> = g.control_read.iter().map(|s| s.as_str()).collect();
    for n in &g.nodes {
        for (src, _) in &n.inputs {
            consumed.insert(src.as_str());
        }
    }
    let sinks: Vec<&TfNode> = g
        .nodes
        .iter()
        .filter(|n| {
            !consumed.contains(n.name.as_str())
                && !produces_nothing(&n.op)
                && !matches!(n.op.as_str(), "Const" | "Placeholder" | "VarHandleOp")
        })
        .collect();
    Ok(sinks.iter().map(|n| n.name.clone()).collect())
}
