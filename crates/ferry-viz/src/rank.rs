//! Layer assignment: which row each box goes in.
//!
//! Longest-path layering from the sources, on a topological order that breaks any cycle (only
//! ill-formed graphs have them) by treating edges that point backwards in that order as
//! reversed. Boxes that depend on nothing drawn above them (graph inputs, captures, and ops
//! computing only from constants, like a TorchScript export's `Mul(16, 16)` feeding a Reshape's
//! shape) are then moved down to just above their first reader, last ones first so that such a
//! chain moves as a whole: otherwise they sit in the top rows and their long edges down to the
//! readers widen the whole picture.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A topological order of `n` nodes under `edges`, smallest index first among the ready ones,
/// so an already sorted graph keeps its order. Nodes on cycles follow in index order.
pub fn topo_order(n: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let mut indeg = vec![0usize; n];
    let mut succ = vec![Vec::new(); n];
    for &(u, v) in edges {
        succ[u].push(v);
        indeg[v] += 1;
    }
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&v| indeg[v] == 0).map(Reverse).collect();
    let mut placed = vec![false; n];
    let mut order = Vec::with_capacity(n);
    loop {
        while let Some(Reverse(u)) = ready.pop() {
            placed[u] = true;
            order.push(u);
            for &v in &succ[u] {
                // A node released from a cycle has indegree 0 already and is queued.
                if indeg[v] > 0 {
                    indeg[v] -= 1;
                    if indeg[v] == 0 {
                        ready.push(Reverse(v));
                    }
                }
            }
        }
        // A cycle: release its smallest unplaced node and carry on.
        match (0..n).find(|&v| !placed[v] && indeg[v] > 0) {
            Some(v) => {
                indeg[v] = 0;
                ready.push(Reverse(v));
            }
            None => break,
        }
    }
    order
}

/// Layers for `n` nodes under `edges`, which must all point forward in some order (see
/// [`topo_order`]): `edges[i] = (u, v)` puts `v` at least one layer below `u`.
pub fn layers(n: usize, edges: &[(usize, usize)], order: &[usize]) -> Vec<usize> {
    let mut preds = vec![Vec::new(); n];
    let mut succs = vec![Vec::new(); n];
    for &(u, v) in edges {
        preds[v].push(u);
        succs[u].push(v);
    }
    let mut layer = vec![0usize; n];
    for &v in order {
        layer[v] = preds[v].iter().map(|&u| layer[u] + 1).max().unwrap_or(0);
    }
    // Nodes fed only by such nodes (or by nothing) float.
    let mut floating = vec![false; n];
    for &v in order {
        floating[v] = preds[v].iter().all(|&u| floating[u]);
    }
    for &v in order.iter().rev() {
        if floating[v]
            && let Some(first_reader) = succs[v].iter().map(|&w| layer[w]).min()
        {
            layer[v] = first_reader.saturating_sub(1).max(layer[v]);
        }
    }
    layer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_graphs_keep_their_order_and_cycles_do_not_hang() {
        assert_eq!(topo_order(3, &[(0, 1), (1, 2)]), vec![0, 1, 2]);
        assert_eq!(topo_order(3, &[(2, 1), (1, 0)]), vec![2, 1, 0]);
        let o = topo_order(3, &[(0, 1), (1, 2), (2, 1)]);
        assert_eq!(o.len(), 3);
    }

    #[test]
    fn sources_sit_just_above_their_reader() {
        // 0 -> 1 -> 2 -> 3, and 4 (a constant) read by 3.
        let edges = [(0, 1), (1, 2), (2, 3), (4, 3)];
        let order = topo_order(5, &edges);
        assert_eq!(layers(5, &edges, &order), vec![0, 1, 2, 3, 2]);
        // 0 -> 1 -> 2 -> 3 -> 4, and the chain 5 -> 6 computed from constants, read by 4.
        let edges = [(0, 1), (1, 2), (2, 3), (3, 4), (5, 6), (6, 4)];
        let order = topo_order(7, &edges);
        assert_eq!(layers(7, &edges, &order), vec![0, 1, 2, 3, 4, 2, 3]);
    }
}
