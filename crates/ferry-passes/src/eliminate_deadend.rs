//! `eliminate_deadend`: dead-code elimination.
//!
//! Removes every node none of whose outputs is needed. An output is needed when it is a graph
//! output (for a subgraph: one of the subgraph's outputs, which its owner reads by position), when
//! any node reads it (including a subgraph that captures it by name: that shows as an implicit
//! use on the owning node), or when its name is protected (training-info bindings).
//!
//! Guards: a node with no outputs at all is kept (it can only exist for an effect ferry does not
//! know about). Liveness is marked backwards from the needed values, then every unmarked node
//! is removed, last first, so a dead chain goes in one run whatever the node order.
//! The `value_info` entries of removed values are dropped with them.

use crate::forward::Sweeper;
use crate::{Changed, Pass, PassCx, PassError};
use ferry_ir::{Graph, NodeId};
use std::collections::HashSet;

pub struct EliminateDeadend;

impl Pass for EliminateDeadend {
    fn name(&self) -> &'static str {
        "eliminate_deadend"
    }

    fn description(&self) -> &'static str {
        "remove nodes whose outputs reach no graph output"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        // Mark: every node a needed value depends on, through explicit and implicit inputs.
        let mut live: HashSet<NodeId> = HashSet::new();
        let mut work: Vec<NodeId> = Vec::new();
        for (id, n) in g.nodes() {
            let needed = n.outputs().is_empty()
                || (!cx.protected.is_empty()
                    && n.outputs()
                        .iter()
                        .flatten()
                        .any(|&v| cx.protected.contains(&g.value(v).name)));
            if needed && live.insert(id) {
                work.push(id);
            }
        }
        for &v in g.outputs() {
            if let Some(p) = g.value(v).producer()
                && live.insert(p)
            {
                work.push(p);
            }
        }
        while let Some(id) = work.pop() {
            let n = g.node(id);
            for &v in n.inputs().iter().flatten().chain(n.implicit_inputs()) {
                if let Some(p) = g.value(v).producer()
                    && live.insert(p)
                {
                    work.push(p);
                }
            }
        }
        if live.len() == g.node_count() {
            return Ok(Changed::NONE);
        }
        // Sweep, last node first (readers go before their producers).
        let mut dead: Vec<NodeId> = g.node_ids().filter(|id| !live.contains(id)).collect();
        dead.reverse();
        let mut sw = Sweeper::default();
        for id in dead {
            if !cx.allow() {
                break;
            }
            sw.remove_node(g, id);
        }
        let removed = sw.removed;
        sw.finish(g);
        Ok(Changed { rewrites: removed })
    }
}
