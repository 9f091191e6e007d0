//! Ordering boxes within their layers to reduce edge crossings.
//!
//! Barycenter sweeps: going down, each box moves to the average position of the boxes (and the
//! ports on them) that feed it; going up, of the boxes it feeds. The order with the fewest
//! crossings seen is kept.

use crate::layout::Net;

const SWEEPS: usize = 12;

/// Reorders `layers` in place.
pub fn reduce_crossings(net: &Net, layers: &mut [Vec<usize>]) {
    let mut best = layers.to_vec();
    let mut best_crossings = total_crossings(net, layers);
    let mut frac = vec![f64::NAN; net.width.len()];
    for sweep in 0..SWEEPS {
        if best_crossings == 0 {
            break;
        }
        let down = sweep % 2 == 0;
        if down {
            for l in 1..layers.len() {
                let (above, rest) = layers.split_at_mut(l);
                sort_by_barycenter(net, &mut rest[0], &above[l - 1], true, &mut frac);
            }
        } else {
            for l in (0..layers.len().saturating_sub(1)).rev() {
                let (upto, below) = layers.split_at_mut(l + 1);
                sort_by_barycenter(net, &mut upto[l], &below[0], false, &mut frac);
            }
        }
        let c = total_crossings(net, layers);
        if c < best_crossings {
            best_crossings = c;
            best = layers.to_vec();
        }
    }
    layers.clone_from_slice(&best);
}

/// Sorts `layer` by the mean position of its links into `fixed` (its preds or its succs).
/// Positions are fractions of the layer's width, nudged by the port each link uses, so that the
/// readers of a Split's first output sort left of those of its second. `frac` is scratch space
/// of one entry per node, all NaN on entry and on return.
fn sort_by_barycenter(
    net: &Net,
    layer: &mut [usize],
    fixed: &[usize],
    use_preds: bool,
    frac: &mut [f64],
) {
    let nf = fixed.len().max(1) as f64;
    let nl = layer.len().max(1) as f64;
    for (i, &v) in fixed.iter().enumerate() {
        frac[v] = (i as f64 + 0.5) / nf;
    }
    let mut keyed: Vec<(f64, usize)> = layer
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let links = if use_preds { &net.preds[v] } else { &net.succs[v] };
            let (mut sum, mut count) = (0.0, 0usize);
            for l in links {
                let f = frac[l.other];
                if !f.is_nan() {
                    sum += f + 0.8 * (l.at_other / net.width[l.other].max(1.0)) / nf;
                    count += 1;
                }
            }
            // Nodes with no link to the fixed layer keep their place.
            let key = if count == 0 { (i as f64 + 0.5) / nl } else { sum / count as f64 };
            (key, v)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (slot, (_, v)) in layer.iter_mut().zip(keyed) {
        *slot = v;
    }
    for &v in fixed {
        frac[v] = f64::NAN;
    }
}

/// Crossings between consecutive layers, counting each pair of edges that swap sides once.
pub fn total_crossings(net: &Net, layers: &[Vec<usize>]) -> usize {
    let mut pos = vec![0.0; net.width.len()];
    for layer in layers {
        for (i, &v) in layer.iter().enumerate() {
            pos[v] = i as f64;
        }
    }
    let mut total = 0;
    // Every link joins a layer to the next, so a layer's out-links are one pair of layers.
    for layer in layers {
        let mut pairs: Vec<(f64, f64)> = Vec::new();
        for &u in layer {
            for link in &net.succs[u] {
                let a = pos[u] + 0.5 * link.at_self / net.width[u].max(1.0);
                let b = pos[link.other] + 0.5 * link.at_other / net.width[link.other].max(1.0);
                pairs.push((a, b));
            }
        }
        pairs.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.total_cmp(&y.1)));
        let lower: Vec<f64> = pairs.iter().map(|p| p.1).collect();
        total += inversions(&lower);
    }
    total
}

/// Pairs `i < j` with `v[i] > v[j]`, by merge sort.
fn inversions(v: &[f64]) -> usize {
    fn go(v: &mut Vec<f64>) -> usize {
        if v.len() < 2 {
            return 0;
        }
        let mut right = v.split_off(v.len() / 2);
        let mut count = go(v) + go(&mut right);
        let mut merged = Vec::with_capacity(v.len() + right.len());
        let (mut i, mut j) = (0, 0);
        while i < v.len() && j < right.len() {
            if right[j] < v[i] {
                count += v.len() - i;
                merged.push(right[j]);
                j += 1;
            } else {
                merged.push(v[i]);
                i += 1;
            }
        }
        merged.extend_from_slice(&v[i..]);
        merged.extend_from_slice(&right[j..]);
        *v = merged;
        count
    }
    go(&mut v.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inversions_count_swapped_pairs() {
        assert_eq!(inversions(&[1.0, 2.0, 3.0]), 0);
        assert_eq!(inversions(&[3.0, 2.0, 1.0]), 3);
        assert_eq!(inversions(&[1.0, 1.0]), 0);
    }
}
