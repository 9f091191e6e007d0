//! Shared steps of passes that merge a node into the one reading its output (`B(A(x))`): find
//! the producer, and remove it once nothing needs its output any more.

use crate::PassCx;
use crate::forward::{Sweeper, captured};
use ferry_ir::{Graph, NodeId, ValueId};

/// Whether `node` is the default-domain operator `op`.
pub(crate) fn is_op(g: &Graph, node: NodeId, op: &str) -> bool {
    let n = g.node(node);
    n.op_type == op && n.canonical_domain().is_empty()
}

/// Input `slot` of `node` and its producer, when that is a default-domain `op` with exactly one
/// output slot.
pub(crate) fn producer(
    g: &Graph,
    node: NodeId,
    slot: usize,
    op: &str,
) -> Option<(NodeId, ValueId)> {
    let mid = g.node(node).inputs().get(slot).copied().flatten()?;
    let p = g.value(mid).producer()?;
    (is_op(g, p, op) && g.node(p).outputs().len() == 1).then_some((p, mid))
}

/// Whether `v` must stay although no node reads it: it is a graph output, read by name from a
/// subgraph, or protected.
pub(crate) fn pinned(g: &Graph, cx: &PassCx, v: ValueId) -> bool {
    g.is_graph_output(v) || captured(g, v) || cx.protected.contains(&g.value(v).name)
}

/// Removes `node` (whose only output is `mid`) when nothing reads `mid` and it is not pinned.
/// `cur`, the walk's next node, moves on when it is the removed one.
pub(crate) fn remove_if_unused(
    g: &mut Graph,
    sw: &mut Sweeper,
    cx: &PassCx,
    node: NodeId,
    mid: ValueId,
    cur: &mut Option<NodeId>,
) -> bool {
    if !g.value(mid).uses().is_empty() || pinned(g, cx, mid) {
        return false;
    }
    if *cur == Some(node) {
        *cur = g.next_node(node);
    }
    sw.remove_node(g, node);
    true
}
