//! Horizontal coordinates by Brandes and Köpf's method ("Fast and Simple Horizontal Coordinate
//! Assignment", 2001), adapted to boxes of different widths and to edges that attach at ports.
//!
//! Why this method: a layered picture reads well when chains of boxes and long edges run
//! straight down. Placing each row by the mean of its neighbours (the simple approach) lets a
//! 40-layer model drift sideways a little per layer until it is thousands of pixels wide;
//! Brandes-Köpf instead lines nodes up with a median neighbour into vertical blocks (long edges
//! first, so they are never bent by a box) and packs the blocks as tightly as the row order
//! allows. It does that four times (aligning up or down, packing from the left or the right)
//! and takes, per node, the mean of the two middle results, which cancels the bias of each.

use crate::layout::Net;
use std::collections::HashSet;

/// One of the four passes: which neighbours to align with, and from which side to pack.
#[derive(Clone, Copy)]
struct Variant {
    /// Align with the layer above (preds) rather than below (succs).
    downward: bool,
    /// Pack from the left rather than the right.
    leftward: bool,
}

/// A neighbour in the aligning direction, and the port offset on it (which orders several links
/// to one node). Boxes are aligned by their centres, not their ports: following ports would
/// shift each box of a chain by a port's offset from the one above, and over a deep model
/// those shifts add up to a sideways drift.
type Neighbour = (usize, f64);

/// Centre x of every node, in the order `layers` gives. `gap(a, b)` is the room needed between
/// neighbours `a` (left) and `b` in a row, on top of their half widths.
pub fn place(net: &Net, layers: &[Vec<usize>], gap: &dyn Fn(usize, usize) -> f64) -> Vec<f64> {
    let n = net.width.len();
    let mut results = Vec::with_capacity(4);
    for downward in [true, false] {
        for leftward in [true, false] {
            results.push(one_pass(net, layers, gap, Variant { downward, leftward }));
        }
    }
    // Align the four to the narrowest: the left-packed ones at its left edge, the others at its
    // right edge, so the mean below does not smear them apart.
    let extent = |x: &[f64]| {
        let lo = (0..n).map(|v| x[v] - net.width[v] / 2.0).fold(f64::INFINITY, f64::min);
        let hi = (0..n).map(|v| x[v] + net.width[v] / 2.0).fold(f64::NEG_INFINITY, f64::max);
        (lo, hi)
    };
    let extents: Vec<(f64, f64)> = results.iter().map(|x| extent(x)).collect();
    let narrowest = (0..4)
        .min_by(|&a, &b| (extents[a].1 - extents[a].0).total_cmp(&(extents[b].1 - extents[b].0)))
        .unwrap_or(0);
    let (lo, hi) = extents[narrowest];
    for (i, x) in results.iter_mut().enumerate() {
        let leftward = i % 2 == 0;
        let shift = if leftward { lo - extents[i].0 } else { hi - extents[i].1 };
        x.iter_mut().for_each(|v| *v += shift);
    }
    (0..n)
        .map(|v| {
            let mut c = [results[0][v], results[1][v], results[2][v], results[3][v]];
            c.sort_by(f64::total_cmp);
            (c[1] + c[2]) / 2.0
        })
        .collect()
}

fn one_pass(
    net: &Net,
    layers: &[Vec<usize>],
    gap: &dyn Fn(usize, usize) -> f64,
    var: Variant,
) -> Vec<f64> {
    let n = net.width.len();
    // The variant's view: rows in aligning order, each row in packing order, mirrored ports.
    let mirror = if var.leftward { 1.0 } else { -1.0 };
    let mut rows: Vec<Vec<usize>> = layers.to_vec();
    if !var.downward {
        rows.reverse();
    }
    if !var.leftward {
        rows.iter_mut().for_each(|r| r.reverse());
    }
    let mut pos = vec![0usize; n];
    for row in &rows {
        for (i, &v) in row.iter().enumerate() {
            pos[v] = i;
        }
    }
    let neighbours = |v: usize| -> Vec<Neighbour> {
        let links = if var.downward { &net.preds[v] } else { &net.succs[v] };
        let mut nb: Vec<Neighbour> = links.iter().map(|l| (l.other, mirror * l.at_other)).collect();
        nb.sort_by(|a, b| pos[a.0].cmp(&pos[b.0]).then(a.1.total_cmp(&b.1)));
        nb
    };
    let conflicts = type1_conflicts(net, &rows, &pos, &neighbours);

    // Vertical alignment into blocks.
    let mut root: Vec<usize> = (0..n).collect();
    let mut align: Vec<usize> = (0..n).collect();
    for row in rows.iter().skip(1) {
        let mut r: isize = -1;
        for &v in row {
            let nb = neighbours(v);
            if nb.is_empty() {
                continue;
            }
            let d = nb.len();
            for m in [(d - 1) / 2, d / 2] {
                if align[v] != v {
                    break;
                }
                let u = nb[m].0;
                if !conflicts.contains(&(u, v)) && r < pos[u] as isize {
                    align[u] = v;
                    root[v] = root[u];
                    align[v] = root[v];
                    r = pos[u] as isize;
                }
            }
        }
    }

    // Horizontal compaction of the blocks.
    let mut left_of = vec![usize::MAX; n];
    for row in &rows {
        for w in row.windows(2) {
            left_of[w[1]] = w[0];
        }
    }
    let sep = |a: usize, b: usize| {
        let (l, r) = if var.leftward { (a, b) } else { (b, a) };
        net.width[a] / 2.0 + gap(l, r) + net.width[b] / 2.0
    };
    let mut x: Vec<Option<f64>> = vec![None; n];
    let mut sink: Vec<usize> = (0..n).collect();
    let mut shift = vec![f64::INFINITY; n];
    for v in 0..n {
        if root[v] == v {
            place_block(v, &root, &align, &left_of, &sep, &mut x, &mut sink, &mut shift);
        }
    }
    (0..n)
        .map(|v| {
            let r = root[v];
            let mut at = x[r].unwrap_or(0.0);
            let s = shift[sink[r]];
            if s.is_finite() {
                at += s;
            }
            mirror * at
        })
        .collect()
}

/// Links that cross a link between two bend points: aligning along them would bend a long
/// edge, so they are not used for alignment.
fn type1_conflicts(
    net: &Net,
    rows: &[Vec<usize>],
    pos: &[usize],
    neighbours: &dyn Fn(usize) -> Vec<Neighbour>,
) -> HashSet<(usize, usize)> {
    let mut marked = HashSet::new();
    for i in 1..rows.len() {
        let (upper, lower) = (&rows[i - 1], &rows[i]);
        let inner = |v: usize| -> Option<usize> {
            if !net.is_dummy(v) {
                return None;
            }
            neighbours(v).into_iter().map(|n| n.0).find(|&u| net.is_dummy(u))
        };
        let mut k0 = 0usize;
        let mut l = 0usize;
        for l1 in 0..lower.len() {
            let inner_upper = inner(lower[l1]);
            if l1 + 1 == lower.len() || inner_upper.is_some() {
                let k1 = inner_upper.map_or(upper.len().saturating_sub(1), |u| pos[u]);
                while l <= l1 {
                    let v = lower[l];
                    for (u, _) in neighbours(v) {
                        let k = pos[u];
                        if (k < k0 || k > k1) && !(net.is_dummy(u) && net.is_dummy(v)) {
                            marked.insert((u, v));
                        }
                    }
                    l += 1;
                }
                k0 = k1;
            }
        }
    }
    marked
}

/// Places the block rooted at `v` and, first, every block to its left that it depends on
/// (Brandes-Köpf's recursive `place_block`, with an explicit stack: blocks can depend on each
/// other thousands deep).
#[allow(clippy::too_many_arguments)]
fn place_block(
    start: usize,
    root: &[usize],
    align: &[usize],
    left_of: &[usize],
    sep: &dyn Fn(usize, usize) -> f64,
    x: &mut [Option<f64>],
    sink: &mut [usize],
    shift: &mut [f64],
) {
    // Frames: (block root, current member, waiting for the block left of the member).
    let mut stack: Vec<(usize, usize, bool)> = Vec::new();
    if x[start].is_none() {
        x[start] = Some(0.0);
        stack.push((start, start, false));
    }
    while let Some(&(v, w, waiting)) = stack.last() {
        let p = left_of[w];
        if p != usize::MAX {
            let u = root[p];
            if !waiting {
                if let Some(top) = stack.last_mut() {
                    top.2 = true;
                }
                if x[u].is_none() {
                    x[u] = Some(0.0);
                    stack.push((u, u, false));
                    continue;
                }
            }
            // The block of `p` is placed: keep `w` right of `p`.
            if sink[v] == v {
                sink[v] = sink[u];
            }
            let need = sep(p, w);
            let (xv, xu) = (x[v].unwrap_or(0.0), x[u].unwrap_or(0.0));
            if sink[v] != sink[u] {
                let su = sink[u];
                shift[su] = shift[su].min(xv - xu - need);
            } else {
                x[v] = Some(xv.max(xu + need));
            }
        }
        let next = align[w];
        let top = stack.len() - 1;
        if next == v {
            stack.pop();
        } else {
            stack[top] = (v, next, false);
        }
    }
}
