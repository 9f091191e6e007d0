//! `eliminate_duplicate_initializer`: initializers of one graph holding the same tensor (element
//! type, dims and bytes) are shared: readers of a later copy read the first, and the copy goes.
//!
//! Exporters often write one constant many times (a `1.0`, a shape vector, a weight tied between
//! layers); sharing them makes the file smaller and lets common-subexpression elimination see
//! that nodes reading them compute the same thing.
//!
//! Cost is linear in the bytes compared, and most bytes are never read: initializers are grouped
//! by element type and dims; in a group of two or more, a sample of each tensor (three short
//! windows) is hashed; only tensors whose samples agree are hashed whole (external data through
//! its memory map) and compared byte for byte when the hashes agree. Bytes are compared in their
//! packed little-endian form, so a tensor stored in `raw_data` equals the same numbers stored in
//! `float_data`; `-0.0` and `0.0` (or two NaN payloads) differ, as their bytes do.
//!
//! Guards (the initializer stays):
//!
//! - it is also a graph input (a default a caller may override), or sparse, or a string tensor,
//!   or a segment of a larger tensor, or its bytes cannot be read;
//! - the copy is a graph output, or protected (training information names it): its name must
//!   stay; the first one kept may be anything;
//! - a subgraph reads the copy by name and defines a value named as the first one (rebinding
//!   its read would be shadowed, see `scope`).
//!
//! Each graph is handled on its own (main graph and every subgraph); initializers of different
//! graphs are not merged.

use crate::scope::{can_rebind, drop_unused_captures_below, implicit_readers, rebind};
use crate::{Changed, Pass, PassCx, PassError, rebuild};
use bytes::Bytes;
use ferry_ir::{DataType, Graph, Initializer, ValueDef, ValueId};
use std::collections::{HashMap, HashSet};

pub struct EliminateDuplicateInitializer;

/// A dense initializer that is not a graph input and whose bytes can be compared.
fn comparable(g: &Graph, v: ValueId) -> Option<(DataType, &[i64])> {
    let val = g.value(v);
    let (ValueDef::Initializer, Some(Initializer::Dense(t))) = (val.def(), &val.initializer) else {
        return None;
    };
    let dtype = t.dtype?;
    if dtype == DataType::STRING || t.segment.is_some() {
        return None;
    }
    Some((dtype, &t.dims))
}

fn bytes_of(g: &Graph, v: ValueId) -> Option<Bytes> {
    match &g.value(v).initializer {
        Some(Initializer::Dense(t)) => t.le_bytes().ok(),
        _ => None,
    }
}

/// A fast 64-bit hash of `b` (multiply-rotate over 8-byte words). Equal hashes are confirmed by
/// comparing the bytes, so only speed depends on its quality.
fn fingerprint(b: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mix = |h: u64, w: u64| (h.rotate_left(5) ^ w).wrapping_mul(K);
    let mut chunks = b.chunks_exact(8);
    let mut h = mix(0, b.len() as u64);
    for c in &mut chunks {
        h = mix(h, u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
    }
    chunks.remainder().iter().fold(h, |h, &x| mix(h, u64::from(x)))
}

/// A hash of a few windows of `b` (start, middle, end): tensors that differ almost always differ
/// there, so only tensors whose samples agree are read whole.
fn sample(b: &[u8]) -> u64 {
    const W: usize = 64;
    if b.len() <= 3 * W {
        return fingerprint(b);
    }
    let mid = b.len() / 2 - W / 2;
    let parts = [&b[..W], &b[mid..mid + W], &b[b.len() - W..]];
    parts.iter().fold(b.len() as u64, |h, p| h.rotate_left(17) ^ fingerprint(p))
}

/// Pairs `(copy, first)` of initializers holding the same tensor, in file order.
fn duplicates(g: &Graph) -> Vec<(ValueId, ValueId)> {
    let mut groups: HashMap<(DataType, &[i64]), Vec<ValueId>> = HashMap::new();
    let mut order: Vec<(DataType, &[i64])> = Vec::new();
    for &v in g.initializers() {
        let Some(key) = comparable(g, v) else { continue };
        let group = groups.entry(key).or_default();
        if group.is_empty() {
            order.push(key);
        }
        group.push(v);
    }
    let mut pairs = Vec::new();
    for key in order {
        let group = &groups[&key];
        if group.len() < 2 {
            continue;
        }
        let items: Vec<(ValueId, Bytes, u64)> = group
            .iter()
            .filter_map(|&v| bytes_of(g, v).map(|b| (v, b.clone(), sample(&b))))
            .collect();
        let mut per_sample: HashMap<u64, usize> = HashMap::new();
        for (_, _, s) in &items {
            *per_sample.entry(*s).or_insert(0) += 1;
        }
        // Per full hash, the distinct tensors seen so far (the first of each, with its bytes).
        let mut seen: HashMap<u64, Vec<(ValueId, &Bytes)>> = HashMap::new();
        for (v, bytes, s) in &items {
            if per_sample[s] < 2 {
                continue;
            }
            let firsts = seen.entry(fingerprint(bytes)).or_default();
            match firsts.iter().find(|(_, b)| *b == bytes) {
                Some(&(first, _)) => pairs.push((*v, first)),
                None => firsts.push((*v, bytes)),
            }
        }
    }
    pairs
}

impl Pass for EliminateDuplicateInitializer {
    fn name(&self) -> &'static str {
        "eliminate_duplicate_initializer"
    }

    fn description(&self) -> &'static str {
        "share initializers holding the same tensor (type, dims and bytes)"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        if g.initializers().len() < 2 {
            return Ok(Changed::NONE);
        }
        let mut drop = HashSet::new();
        for (copy, first) in duplicates(g) {
            let name = g.value(copy).name.clone();
            if g.is_graph_output(copy) || cx.protected.contains(&name) {
                continue;
            }
            let first_name = g.value(first).name.clone();
            let readers = implicit_readers(g, copy);
            if !readers.iter().all(|&o| can_rebind(g, o, &name, &first_name)) || !cx.allow() {
                continue;
            }
            for o in readers {
                rebind(g, o, &name, &first_name);
            }
            g.replace_implicit_uses(copy, first);
            g.replace_all_uses(copy, first);
            drop.insert(copy);
        }
        let rewrites = drop.len();
        rebuild::drop_values(g, &drop);
        if rewrites > 0 {
            drop_unused_captures_below(g);
        }
        Ok(Changed { rewrites })
    }
}
