//! Execution frames of a v1 control-flow graph, assigned the way TensorFlow's executor does.
//!
//! `Enter` moves its value into the child frame named by its `frame_name` attribute (whose
//! parent is the frame the entered value lives in), `Exit` moves a value from a frame back to
//! its parent, and every other node executes in the frame of its inputs. A node without inputs
//! runs in the root frame. The only cycles a valid graph has go through `NextIteration` into a
//! `Merge`, so frames are assigned in a topological order that ignores edges out of
//! `NextIteration`.
//!
//! TensorFlow requires all inputs of a node to come from the same frame. One relaxation is
//! accepted because frozen graphs contain it: a `Const` without inputs (root frame) read inside
//! a loop. Such a constant is loop-invariant, so it is copied into the extracted function.

use std::collections::{HashMap, VecDeque};

use crate::proto::NodeDef;

use super::V1ControlFlowError;
use super::graph::{Index, attr_string};

#[derive(Debug)]
pub(crate) struct FrameInfo {
    pub(crate) name: String,
    pub(crate) parent: Option<usize>,
    pub(crate) depth: usize,
}

/// Frame of every node: `None` is the root frame.
pub(crate) struct Frames {
    pub(crate) frames: Vec<FrameInfo>,
    /// The frame a node executes in (an `Enter` executes in the frame it enters).
    pub(crate) own: Vec<Option<usize>>,
}

impl Frames {
    pub(crate) fn analyze(nodes: &[NodeDef], index: &Index) -> Result<Frames, V1ControlFlowError> {
        let order = topo_order(nodes, index)?;
        let mut frames: Vec<FrameInfo> = Vec::new();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        let mut own: Vec<Option<usize>> = vec![None; nodes.len()];
        // The frame a node's outputs live in: the parent frame for `Exit`, else `own`.
        let mut out: Vec<Option<usize>> = vec![None; nodes.len()];
        for &n in &order {
            let node = &nodes[n];
            let (own_frame, out_frame) = match node.op.as_str() {
                "Enter" | "RefEnter" => {
                    let Some(&src) = index.data_inputs[n].first() else {
                        return Err(V1ControlFlowError::node(
                            &node.name,
                            &node.op,
                            "has no data input",
                        ));
                    };
                    let parent = out[src.node];
                    let Some(frame_name) = attr_string(node, "frame_name") else {
                        return Err(V1ControlFlowError::node(
                            &node.name,
                            &node.op,
                            "has no `frame_name` attribute",
                        ));
                    };
                    let id = match by_name.get(&frame_name) {
                        Some(&id) => {
                            if frames[id].parent != parent {
                                return Err(V1ControlFlowError::frame(
                                    &frame_name,
                                    format!(
                                        "entered from two different frames (`{}` and `{}`, at Enter `{}`)",
                                        frame_label(&frames, frames[id].parent),
                                        frame_label(&frames, parent),
                                        node.name
                                    ),
                                ));
                            }
                            id
                        }
                        None => {
                            let depth = parent.map_or(0, |p| frames[p].depth) + 1;
                            frames.push(FrameInfo { name: frame_name.clone(), parent, depth });
                            by_name.insert(frame_name, frames.len() - 1);
                            frames.len() - 1
                        }
                    };
                    check_inputs_frame(nodes, index, &out, n, parent, &frames)?;
                    (Some(id), Some(id))
                }
                "Exit" | "RefExit" => {
                    let frame = input_frame(nodes, index, &out, n, &frames)?;
                    let Some(f) = frame else {
                        return Err(V1ControlFlowError::node(
                            &node.name,
                            &node.op,
                            "is in the root frame: nothing to exit",
                        ));
                    };
                    (Some(f), frames[f].parent)
                }
                _ => {
                    let frame = input_frame(nodes, index, &out, n, &frames)?;
                    (frame, frame)
                }
            };
            own[n] = own_frame;
            out[n] = out_frame;
        }
        Ok(Frames { frames, own })
    }

    /// Frames that contain no other frame, deepest first.
    pub(crate) fn innermost(&self) -> Vec<usize> {
        let mut has_child = vec![false; self.frames.len()];
        for f in &self.frames {
            if let Some(p) = f.parent {
                has_child[p] = true;
            }
        }
        let mut leaves: Vec<usize> = (0..self.frames.len()).filter(|&f| !has_child[f]).collect();
        leaves.sort_by_key(|&f| std::cmp::Reverse(self.frames[f].depth));
        leaves
    }
}

pub(crate) fn frame_label(frames: &[FrameInfo], f: Option<usize>) -> String {
    match f {
        Some(id) => frames[id].name.clone(),
        None => "<root>".to_string(),
    }
}

pub(crate) fn is_back_edge(nodes: &[NodeDef], src: usize) -> bool {
    matches!(nodes[src].op.as_str(), "NextIteration" | "RefNextIteration")
}

/// The frame a node's inputs live in; see the module comment for the `Const` relaxation.
fn input_frame(
    nodes: &[NodeDef],
    index: &Index,
    out: &[Option<usize>],
    n: usize,
    frames: &[FrameInfo],
) -> Result<Option<usize>, V1ControlFlowError> {
    let sources = index.data_inputs[n]
        .iter()
        .map(|p| p.node)
        .chain(index.control_inputs[n].iter().copied())
        .filter(|&s| !is_back_edge(nodes, s));
    let mut deepest: Option<usize> = None;
    for s in sources.clone() {
        let f = out[s];
        let depth = |x: Option<usize>| x.map_or(0, |id| frames[id].depth);
        if depth(f) > depth(deepest) {
            deepest = f;
        }
    }
    for s in sources {
        let f = out[s];
        if f == deepest {
            continue;
        }
        let hoistable = nodes[s].op == "Const"
            && index.data_inputs[s].is_empty()
            && index.control_inputs[s].is_empty();
        if !hoistable || !is_ancestor(frames, f, deepest) {
            return Err(V1ControlFlowError::node(
                &nodes[n].name,
                &nodes[n].op,
                format!(
                    "reads `{}` from frame `{}` and other inputs from frame `{}` without an Enter",
                    nodes[s].name,
                    frame_label(frames, f),
                    frame_label(frames, deepest)
                ),
            ));
        }
    }
    Ok(deepest)
}

/// An `Enter`'s inputs must all live in the frame the loop is entered from.
fn check_inputs_frame(
    nodes: &[NodeDef],
    index: &Index,
    out: &[Option<usize>],
    n: usize,
    parent: Option<usize>,
    frames: &[FrameInfo],
) -> Result<(), V1ControlFlowError> {
    let actual = input_frame(nodes, index, out, n, frames)?;
    if actual != parent {
        return Err(V1ControlFlowError::node(
            &nodes[n].name,
            &nodes[n].op,
            format!(
                "has control inputs from frame `{}` but enters from frame `{}`",
                frame_label(frames, actual),
                frame_label(frames, parent)
            ),
        ));
    }
    Ok(())
}

fn is_ancestor(frames: &[FrameInfo], a: Option<usize>, mut b: Option<usize>) -> bool {
    loop {
        if a == b {
            return true;
        }
        match b {
            Some(id) => b = frames[id].parent,
            None => return false,
        }
    }
}

/// Kahn's algorithm over data and control edges, ignoring edges out of `NextIteration`; a cycle
/// that remains is reported with the nodes on it.
pub(crate) fn topo_order(
    nodes: &[NodeDef],
    index: &Index,
) -> Result<Vec<usize>, V1ControlFlowError> {
    let mut indegree = vec![0usize; nodes.len()];
    for (n, degree) in indegree.iter_mut().enumerate() {
        let sources = index.data_inputs[n].iter().map(|p| p.node);
        let sources = sources.chain(index.control_inputs[n].iter().copied());
        *degree = sources.filter(|&s| !is_back_edge(nodes, s)).count();
    }
    let mut queue: VecDeque<usize> = (0..nodes.len()).filter(|&n| indegree[n] == 0).collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(n) = queue.pop_front() {
        order.push(n);
        if is_back_edge(nodes, n) {
            continue;
        }
        let consumers = index.data_consumers[n]
            .iter()
            .map(|c| c.0)
            .chain(index.control_consumers[n].iter().copied());
        for c in consumers {
            indegree[c] -= 1;
            if indegree[c] == 0 {
                queue.push_back(c);
            }
        }
    }
    if order.len() != nodes.len() {
        let stuck: Vec<&str> = (0..nodes.len())
            .filter(|&n| indegree[n] > 0)
            .take(8)
            .map(|n| nodes[n].name.as_str())
            .collect();
        return Err(V1ControlFlowError::Graph(format!(
            "the graph has a cycle that does not pass through NextIteration (nodes on or after it: {})",
            stuck.join(", ")
        )));
    }
    Ok(order)
}
