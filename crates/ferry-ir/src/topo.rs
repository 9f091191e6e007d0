//! Topological order of a graph's nodes.
//!
//! The sort is a depth-first post-order that visits nodes in their current order, so a graph that
//! is already sorted comes out unchanged (which keeps import then export lossless), and an
//! unsorted one moves as little as possible. Implicit inputs (values captured by subgraphs)
//! count as edges.

use crate::{Graph, NodeId};
use std::collections::HashMap;

/// A true cycle: the nodes on it, in dependency order, described by name and op type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the graph has a cycle through {}", .nodes.join(" -> "))]
pub struct CycleError {
    pub nodes: Vec<String>,
}

/// Whether every node comes after the producers of all its inputs.
pub fn is_sorted(g: &Graph) -> bool {
    // Positions by arena slot: a plain vector, no hashing (this runs on every import).
    let slots = g.node_ids().map(|n| n.index() + 1).max().unwrap_or(0);
    let mut pos = vec![usize::MAX; slots];
    for (i, n) in g.node_ids().enumerate() {
        pos[n.index()] = i;
    }
    g.nodes().enumerate().all(|(i, (_, n))| deps(g, n).all(|p| pos[p.index()] < i))
}

fn deps<'g>(g: &'g Graph, n: &'g crate::Node) -> impl Iterator<Item = NodeId> + 'g {
    n.inputs()
        .iter()
        .flatten()
        .chain(n.implicit_inputs())
        .filter_map(move |&v| g.value(v).producer())
}

/// The nodes in a topological order that keeps the current order wherever it is already valid.
pub fn sorted_order(g: &Graph) -> Result<Vec<NodeId>, CycleError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let ids: Vec<NodeId> = g.node_ids().collect();
    let mut mark: HashMap<NodeId, Mark> = ids.iter().map(|&n| (n, Mark::New)).collect();
    let mut order = Vec::with_capacity(ids.len());
    // Explicit stack of (node, its dependencies, next dependency to visit): no recursion, so a
    // 100k-node chain cannot overflow the thread's stack.
    let mut stack: Vec<(NodeId, Vec<NodeId>, usize)> = Vec::new();
    for &root in &ids {
        if mark[&root] != Mark::New {
            continue;
        }
        mark.insert(root, Mark::Open);
        stack.push((root, deps(g, g.node(root)).collect(), 0));
        while let Some((node, ds, next)) = stack.last_mut() {
            if *next < ds.len() {
                let d = ds[*next];
                *next += 1;
                match mark.get(&d).copied() {
                    Some(Mark::New) => {
                        mark.insert(d, Mark::Open);
                        let dd = deps(g, g.node(d)).collect();
                        stack.push((d, dd, 0));
                    }
                    Some(Mark::Open) => {
                        let start = stack.iter().position(|(n, _, _)| *n == d).unwrap_or(0);
                        let nodes =
                            stack[start..].iter().map(|(n, _, _)| g.node(*n).label()).collect();
                        return Err(CycleError { nodes });
                    }
                    _ => {}
                }
            } else {
                let node = *node;
                mark.insert(node, Mark::Done);
                order.push(node);
                stack.pop();
            }
        }
    }
    Ok(order)
}

/// Puts the graph (not its subgraphs) in topological order. Returns whether anything moved.
pub fn sort(g: &mut Graph) -> Result<bool, CycleError> {
    if is_sorted(g) {
        return Ok(false);
    }
    let order = sorted_order(g)?;
    g.set_node_order(&order);
    Ok(true)
}
