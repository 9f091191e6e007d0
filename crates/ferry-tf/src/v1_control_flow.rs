//! TensorFlow v1 control flow (`Enter`/`Exit`/`Switch`/`Merge`/`NextIteration`/`LoopCond`)
//! rewritten into the functional ops (`While`, `If`) that the importer maps to ONNX `Loop` and
//! `If`.
//!
//! Frozen graphs carry v1 control flow for two reasons: models built with `tf.compat.v1`
//! (`tf.while_loop`, `tf.cond`, `dynamic_rnn`) have it natively, and
//! `convert_variables_to_constants_v2` lowers every functional `While`/`If` of a TF2 model
//! (Keras LSTMs and GRUs included) into it. ONNX has no dataflow frames, so the frames are
//! folded back into functions here, on the GraphDef, before import:
//!
//! 1. Unconsumed `unused_control_flow_input*` placeholders, left behind by that lowering, are
//!    removed (they are not model inputs: nothing reads them).
//! 2. TensorList and TensorArray values become plain dense tensors ([`tensor_lists`]): ONNX has
//!    no list type, and a list of equally shaped elements with a fixed length is exactly a
//!    tensor with one more leading axis, so reads become gathers and writes scatter updates.
//! 3. v1 conds (`Switch`/`Merge` pairs on one predicate) become `If` nodes ([`cond`]).
//! 4. While-loop frames become `While` nodes, innermost frame first ([`while_loop`]).
//!
//! Every step either rewrites exactly (same values, same iteration counts) or fails with an
//! error naming the frame or node; nothing is approximated.

mod cond;
mod dense_ops;
mod frames;
mod function;
mod graph;
mod names;
mod tensor_lists;
#[cfg(test)]
mod tests;
mod while_loop;

use std::fmt;

use crate::proto::GraphDef;

/// Why a graph's v1 control flow could not be rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V1ControlFlowError {
    /// One node is malformed or of an unsupported form.
    Node { node: String, op: String, detail: String },
    /// A while-loop frame does not have the structure `tf.while_loop` builds.
    Frame { frame: String, detail: String },
    /// Constructs the rewrite does not support, all of them at once.
    Unsupported(Vec<String>),
    /// A graph-wide problem (a cycle, a dangling input).
    Graph(String),
}

impl V1ControlFlowError {
    pub(crate) fn node(node: &str, op: &str, detail: impl Into<String>) -> Self {
        V1ControlFlowError::Node {
            node: node.to_string(),
            op: op.to_string(),
            detail: detail.into(),
        }
    }

    pub(crate) fn frame(frame: &str, detail: impl Into<String>) -> Self {
        V1ControlFlowError::Frame { frame: frame.to_string(), detail: detail.into() }
    }
}

impl fmt::Display for V1ControlFlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            V1ControlFlowError::Node { node, op, detail } if op.is_empty() => {
                write!(f, "v1 control flow: node `{node}`: {detail}")
            }
            V1ControlFlowError::Node { node, op, detail } => {
                write!(f, "v1 control flow: node `{node}` ({op}): {detail}")
            }
            V1ControlFlowError::Frame { frame, detail } => {
                write!(f, "v1 control flow: while loop `{frame}`: {detail}")
            }
            V1ControlFlowError::Unsupported(items) => {
                write!(f, "v1 control flow: {} unsupported construct(s):", items.len())?;
                for item in items {
                    write!(f, "\n  {item}")?;
                }
                Ok(())
            }
            V1ControlFlowError::Graph(msg) => write!(f, "v1 control flow: {msg}"),
        }
    }
}

impl std::error::Error for V1ControlFlowError {}

/// One while loop folded into a `While` node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoweredLoop {
    /// The v1 frame name.
    pub frame: String,
    /// The `While` node that replaced it.
    pub node: String,
    pub cond: String,
    pub body: String,
    /// Loop-carried values (`Enter` with `is_constant = false`).
    pub loop_vars: usize,
    /// Loop-invariant values (`Enter` with `is_constant = true`), carried through unchanged.
    pub invariants: usize,
    /// Frame nodes no loop result depended on (dead code inside the loop), dropped.
    pub dropped_nodes: usize,
}

/// One v1 cond folded into an `If` node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoweredCond {
    pub node: String,
    pub then_branch: String,
    pub else_branch: String,
    /// How many `Merge` nodes (results) it replaced.
    pub outputs: usize,
}

/// What [`lower_v1_control_flow`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoweringReport {
    pub loops: Vec<LoweredLoop>,
    pub conds: Vec<LoweredCond>,
    /// TensorList / TensorArray nodes rewritten into dense-tensor ops.
    pub list_ops: usize,
    /// Removed `unused_control_flow_input*` placeholders.
    pub removed_placeholders: Vec<String>,
}

impl LoweringReport {
    /// True when the graph had no v1 control flow and nothing was changed.
    pub fn is_empty(&self) -> bool {
        self.loops.is_empty()
            && self.conds.is_empty()
            && self.list_ops == 0
            && self.removed_placeholders.is_empty()
    }
}

/// Rewrites all v1 control flow of `graph` into functional `While`/`If` nodes whose bodies are
/// added to `graph.library`. A graph without v1 control flow is left unchanged (except for
/// unconsumed `unused_control_flow_input*` placeholders, which are removed). On error the
/// graph may be partly rewritten; callers that want to fall back should work on a copy.
pub fn lower_v1_control_flow(graph: &mut GraphDef) -> Result<LoweringReport, V1ControlFlowError> {
    let mut report = LoweringReport {
        removed_placeholders: remove_unused_placeholders(graph)?,
        ..Default::default()
    };
    report.list_ops = tensor_lists::densify(graph)?;
    report.conds = cond::lower_conds(graph)?;
    let mut names = names::Names::of(graph);
    loop {
        let index = graph::Index::build(&graph.node)?;
        let frames = frames::Frames::analyze(&graph.node, &index)?;
        let Some(&f) = frames.innermost().first() else { break };
        let lowered = while_loop::lower_frame(graph, &index, &frames, f, &mut names)?;
        report.loops.push(lowered);
    }
    if !report.is_empty() {
        prune_colocation(graph);
    }
    Ok(report)
}

/// Drops colocation hints (`_class: ["loc:@node"]`) that name nodes the rewrite removed or
/// moved into a function: TensorFlow refuses a graph whose hints name unknown nodes, and a
/// hint is only a placement preference.
fn prune_colocation(graph: &mut GraphDef) {
    fn prune(nodes: &mut [crate::proto::NodeDef]) {
        let names: std::collections::HashSet<String> =
            nodes.iter().map(|n| n.name.clone()).collect();
        for n in nodes.iter_mut() {
            let Some(crate::proto::AttrValue {
                value: Some(crate::proto::attr_value::Value::List(list)),
            }) = n.attr.get_mut("_class")
            else {
                continue;
            };
            list.s.retain(|s| {
                let s: &[u8] = s.as_ref();
                match s.strip_prefix(b"loc:@") {
                    Some(target) => names.contains(String::from_utf8_lossy(target).as_ref()),
                    None => true,
                }
            });
            if list.s.is_empty() {
                n.attr.remove("_class");
            }
        }
    }
    prune(&mut graph.node);
    if let Some(library) = graph.library.as_mut() {
        for f in library.function.iter_mut() {
            prune(&mut f.node_def);
        }
    }
}

/// The prefix TensorFlow gives the placeholders that stand in for control-flow inputs its
/// lowering disconnected.
const UNUSED_PREFIX: &str = "unused_control_flow_input";

fn remove_unused_placeholders(graph: &mut GraphDef) -> Result<Vec<String>, V1ControlFlowError> {
    let index = graph::Index::build(&graph.node)?;
    let mut removed = Vec::new();
    let mut keep = Vec::with_capacity(graph.node.len());
    for (i, n) in graph.node.iter().enumerate() {
        let unused = n.op == "Placeholder"
            && n.name.starts_with(UNUSED_PREFIX)
            && index.data_consumers[i].is_empty()
            && index.control_consumers[i].is_empty();
        if unused {
            removed.push(n.name.clone());
        }
        keep.push(!unused);
    }
    if !removed.is_empty() {
        let mut k = keep.into_iter();
        graph.node.retain(|_| k.next().unwrap_or(true));
    }
    Ok(removed)
}
