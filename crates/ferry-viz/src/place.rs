//! Horizontal placement: where in its row each box goes, once the order is fixed.
//!
//! Brandes-Köpf (`bk`) does the work. Its final step averages four layouts per node, which can
//! leave two neighbours in a row slightly closer than their gap; a last repair moves each row
//! to the closest positions that respect the gaps. That is an isotonic regression: subtracting
//! each box's cumulative minimum offset turns "in order, at least this far apart" into
//! "non-decreasing", which the pool-adjacent-violators algorithm solves exactly in linear time.

use crate::bk;
use crate::layout::Net;

/// Horizontal gap between two boxes, a box and an edge, two edges.
const GAP_BOX: f64 = 22.0;
const GAP_MIXED: f64 = 12.0;
const GAP_EDGE: f64 = 8.0;

fn gap(net: &Net, a: usize, b: usize) -> f64 {
    match (net.is_dummy(a), net.is_dummy(b)) {
        (false, false) => GAP_BOX,
        (true, true) => GAP_EDGE,
        _ => GAP_MIXED,
    }
}

/// Centre x of every node, given the order of each layer; the leftmost box edge is at 0.
pub fn place(net: &Net, layers: &[Vec<usize>]) -> Vec<f64> {
    let mut x = bk::place(net, layers, &|a, b| gap(net, a, b));
    for layer in layers {
        repair(net, layer, &mut x);
    }
    let left =
        layers.iter().flatten().map(|&v| x[v] - net.width[v] / 2.0).fold(f64::INFINITY, f64::min);
    if left.is_finite() {
        for v in x.iter_mut() {
            *v -= left;
        }
    }
    x
}

/// Moves the nodes of `layer` as little as possible so that neighbours keep their gaps.
fn repair(net: &Net, layer: &[usize], x: &mut [f64]) {
    let mut offset = vec![0.0; layer.len()];
    for i in 1..layer.len() {
        let (a, b) = (layer[i - 1], layer[i]);
        offset[i] = offset[i - 1] + net.width[a] / 2.0 + gap(net, a, b) + net.width[b] / 2.0;
    }
    let target: Vec<f64> = layer.iter().zip(&offset).map(|(&v, o)| x[v] - o).collect();
    let fitted = isotonic(&target, &vec![1.0; layer.len()]);
    for (i, &v) in layer.iter().enumerate() {
        x[v] = fitted[i] + offset[i];
    }
}

/// The non-decreasing sequence closest to `target` in weighted least squares (pool adjacent
/// violators).
fn isotonic(target: &[f64], weight: &[f64]) -> Vec<f64> {
    // Blocks of (mean, total weight, length).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(target.len());
    for (&t, &w) in target.iter().zip(weight) {
        blocks.push((t, w, 1));
        while blocks.len() > 1 {
            let (m2, w2, n2) = blocks[blocks.len() - 1];
            let (m1, w1, n1) = blocks[blocks.len() - 2];
            if m1 <= m2 {
                break;
            }
            blocks.truncate(blocks.len() - 2);
            blocks.push(((m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, n1 + n2));
        }
    }
    blocks.iter().flat_map(|&(m, _, n)| std::iter::repeat_n(m, n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isotonic_pools_violators() {
        assert_eq!(isotonic(&[1.0, 2.0, 3.0], &[1.0; 3]), vec![1.0, 2.0, 3.0]);
        assert_eq!(isotonic(&[3.0, 1.0], &[1.0; 2]), vec![2.0, 2.0]);
        assert_eq!(isotonic(&[3.0, 1.0], &[3.0, 1.0]), vec![2.5, 2.5]);
    }
}
