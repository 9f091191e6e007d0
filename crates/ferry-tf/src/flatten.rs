//! One flat list of TensorFlow nodes from a `GraphDef` and its function library.
//!
//! Calls (`StatefulPartitionedCall`, `PartitionedCall`, or a node whose op is a library function)
//! are inlined: the body's nodes are copied under the call's name as a prefix, its arguments
//! bound to the call's inputs, and the call node itself becomes an `IdentityN` of the body's
//! results, so references to `call:k` keep working. Function bodies name tensors
//! `node:output_arg:index`; those become flat `node:k` references here, which needs to know how
//! the op's outputs are laid out (`output_offset`). Control inputs (`^node`) are dropped: they
//! order side effects, and a converted inference graph has none. `While`/`If` nodes are kept as
//! they are; their bodies stay in the library for the converter to build subgraphs from.

use crate::error::{Result, graph_err};
use crate::proto;
use ferry_ir::Tensor;
use std::collections::{BTreeMap, HashMap};

/// A TensorFlow node with its data inputs resolved to `node:k` references.
#[derive(Clone, Debug)]
pub struct TfNode {
    pub name: String,
    pub op: String,
    /// Data inputs as (node name, output index).
    pub inputs: Vec<(String, usize)>,
    pub attrs: BTreeMap<String, proto::AttrValue>,
    /// A constant's value when it was supplied from elsewhere (a checkpoint variable).
    pub tensor: Option<Tensor>,
}

/// The nodes of a graph plus the function library (for control-flow bodies).
#[derive(Debug, Default)]
pub struct TfGraph {
    pub nodes: Vec<TfNode>,
    pub library: HashMap<String, proto::FunctionDef>,
    /// Top-level nodes that some node reads through a control edge (`^name`): not sinks.
    pub control_read: std::collections::HashSet<String>,
}

/// Nesting limit for inlining, so that a (malformed) recursive library fails cleanly.
const MAX_DEPTH: usize = 64;

/// Parses a top-level input string: `node`, `node:k`, or `^node` (control, `None`).
pub fn parse_ref(s: &str) -> Option<(String, usize)> {
    if s.starts_with('^') {
        return None;
    }
    match s.rsplit_once(':') {
        Some((n, k)) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) => {
            Some((n.to_string(), k.parse().unwrap_or(usize::MAX)))
        }
        _ => Some((s.to_string(), 0)),
    }
}

/// Position of output argument `arg` of `op` in the flat output list, for ops whose outputs
/// are several single tensors (the others have one output argument, a tensor or a list).
fn output_offset(op: &str, arg: &str) -> usize {
    let args: &[&str] = match op {
        "FusedBatchNorm" | "FusedBatchNormV2" | "FusedBatchNormV3" => &[
            "y",
            "batch_mean",
            "batch_variance",
            "reserve_space_1",
            "reserve_space_2",
            "reserve_space_3",
        ],
        "Unique" => &["y", "idx"],
        "UniqueWithCounts" => &["y", "idx", "count"],
        "TopKV2" | "TopK" => &["values", "indices"],
        "Switch" | "RefSwitch" => &["output_false", "output_true"],
        "Merge" | "RefMerge" => &["output", "value_index"],
        "BroadcastGradientArgs" => &["r0", "r1"],
        _ => &[],
    };
    args.iter().position(|a| *a == arg).unwrap_or(0)
}

fn is_call(op: &str) -> bool {
    matches!(op, "StatefulPartitionedCall" | "PartitionedCall")
}

impl TfGraph {
    /// Flattens `graph`, inlining every function call.
    pub fn from_graphdef(graph: &proto::GraphDef) -> Result<TfGraph> {
        let library: HashMap<String, proto::FunctionDef> = graph
            .library
            .iter()
            .flat_map(|l| &l.function)
            .filter_map(|f| f.signature.as_ref().map(|s| (s.name.clone(), f.clone())))
            .collect();
        let mut f = Flattener { library: &library, nodes: Vec::with_capacity(graph.node.len()) };
        for n in &graph.node {
            let inputs = n.input.iter().filter_map(|s| parse_ref(s)).collect();
            f.push(n, inputs, "", 0)?;
        }
        let nodes = f.nodes;
        let control_read = graph
            .node
            .iter()
            .flat_map(|n| &n.input)
            .filter_map(|s| s.strip_prefix('^'))
            .map(str::to_string)
            .collect();
        Ok(TfGraph { nodes, library, control_read })
    }
}

/// A function's body as flat nodes: each argument is a node of op `_Arg` named after it
/// (attribute `index`), results are `node:k` references.
pub struct FunctionBody {
    pub nodes: Vec<TfNode>,
    /// (name, TensorFlow dtype) per argument.
    pub args: Vec<(String, i32)>,
    pub rets: Vec<(String, usize)>,
}

/// Flattens the body of `f` (inlining the calls in it).
pub fn function_body(
    f: &proto::FunctionDef,
    library: &HashMap<String, proto::FunctionDef>,
) -> Result<FunctionBody> {
    let sig = f.signature.clone().unwrap_or_default();
    let mut fl = Flattener { library, nodes: Vec::new() };
    let mut args = Vec::new();
    for (i, a) in sig.input_arg.iter().enumerate() {
        let mut attrs = BTreeMap::new();
        attrs.insert(
            "index".to_string(),
            proto::AttrValue { value: Some(proto::attr_value::Value::I(i as i64)) },
        );
        fl.nodes.push(TfNode {
            name: a.name.clone(),
            op: "_Arg".into(),
            inputs: vec![],
            attrs,
            tensor: None,
        });
        args.push((a.name.clone(), a.r#type));
    }
    let args_map: HashMap<&str, (String, usize)> =
        sig.input_arg.iter().map(|a| (a.name.as_str(), (a.name.clone(), 0))).collect();
    let rets = fl.body(f, &args_map, "", 0)?;
    Ok(FunctionBody { nodes: fl.nodes, args, rets })
}

struct Flattener<'a> {
    library: &'a HashMap<String, proto::FunctionDef>,
    nodes: Vec<TfNode>,
}

impl Flattener<'_> {
    /// Adds `n` (already renamed, inputs resolved), inlining it when it calls a function.
    fn push(
        &mut self,
        n: &proto::NodeDef,
        inputs: Vec<(String, usize)>,
        prefix: &str,
        depth: usize,
    ) -> Result<()> {
        let name = format!("{prefix}{}", n.name);
        let callee = if is_call(&n.op) {
            match n.attr.get("f").and_then(|a| a.value.as_ref()) {
                Some(proto::attr_value::Value::Func(f)) => Some(f.name.clone()),
                _ => return Err(graph_err(format!("node {name} ({}): no function `f`", n.op))),
            }
        } else if self.library.contains_key(&n.op) {
            Some(n.op.clone())
        } else {
            None
        };
        let Some(callee) = callee else {
            self.nodes.push(TfNode {
                name,
                op: n.op.clone(),
                inputs,
                attrs: n.attr.clone(),
                tensor: None,
            });
            return Ok(());
        };
        if depth >= MAX_DEPTH {
            return Err(graph_err(format!(
                "node {name}: function calls nested deeper than {MAX_DEPTH} (recursive library?)"
            )));
        }
        let f = self.library.get(&callee).cloned().ok_or_else(|| {
            graph_err(format!("node {name} calls function {callee}, which the library lacks"))
        })?;
        let sig = f.signature.clone().unwrap_or_default();
        if sig.input_arg.len() != inputs.len() {
            return Err(graph_err(format!(
                "node {name} passes {} inputs to {callee}, which takes {}",
                inputs.len(),
                sig.input_arg.len()
            )));
        }
        let args: HashMap<&str, (String, usize)> =
            sig.input_arg.iter().map(|a| a.name.as_str()).zip(inputs).collect();
        let rets = self.body(&f, &args, &format!("{name}/"), depth + 1)?;
        self.nodes.push(TfNode {
            name,
            op: "IdentityN".into(),
            inputs: rets,
            attrs: BTreeMap::new(),
            tensor: None,
        });
        Ok(())
    }

    /// Adds the body of `f` under `prefix` with its arguments bound to `args`; returns the
    /// references of its results.
    fn body(
        &mut self,
        f: &proto::FunctionDef,
        args: &HashMap<&str, (String, usize)>,
        prefix: &str,
        depth: usize,
    ) -> Result<Vec<(String, usize)>> {
        let sig = f.signature.clone().unwrap_or_default();
        let callee = &sig.name;
        let ops: HashMap<&str, &str> =
            f.node_def.iter().map(|b| (b.name.as_str(), b.op.as_str())).collect();
        let resolve = |s: &str| -> Result<Option<(String, usize)>> {
            if s.starts_with('^') {
                return Ok(None);
            }
            let mut parts = s.split(':');
            let node = parts.next().unwrap_or("");
            match (parts.next(), parts.next()) {
                (None, _) => args.get(node).cloned().map(Some).ok_or_else(|| {
                    graph_err(format!("function {callee}: input {s} names no argument"))
                }),
                (Some(arg), Some(idx)) => {
                    let op = ops.get(node).ok_or_else(|| {
                        graph_err(format!("function {callee}: input {s} names no node"))
                    })?;
                    let idx: usize = idx.parse().map_err(|_| {
                        graph_err(format!("function {callee}: bad output index in {s}"))
                    })?;
                    Ok(Some((
                        format!("{prefix}{node}"),
                        output_offset(op, arg).saturating_add(idx),
                    )))
                }
                (Some(_), None) => {
                    Err(graph_err(format!("function {callee}: input {s} lacks an output index")))
                }
            }
        };
        for b in &f.node_def {
            let mut ins = Vec::with_capacity(b.input.len());
            for s in &b.input {
                if let Some(r) = resolve(s)? {
                    ins.push(r);
                }
            }
            self.push(b, ins, prefix, depth)?;
        }
        let mut rets = Vec::with_capacity(sig.output_arg.len());
        for o in &sig.output_arg {
            let r = f.ret.get(&o.name).ok_or_else(|| {
                graph_err(format!("function {callee}: output {} has no ret entry", o.name))
            })?;
            rets.push(resolve(r)?.ok_or_else(|| {
                graph_err(format!("function {callee}: output {} is a control edge", o.name))
            })?);
        }
        Ok(rets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs() {
        assert_eq!(parse_ref("a/b:2"), Some(("a/b".into(), 2)));
        assert_eq!(parse_ref("a/b"), Some(("a/b".into(), 0)));
        assert_eq!(parse_ref("^a"), None);
    }
}
