//! Folding repeated blocks: `--collapse`.
//!
//! Deep models are mostly the same block many times over (a transformer layer, a residual
//! stage). Drawn in full, a 24-layer model is a very tall picture of the same thing 24 times.
//! Folding finds runs of consecutive alike blocks in the node order and draws the first of them,
//! inside a box marked `×N`.
//!
//! Two blocks are alike when their nodes have the same signatures in the same order (op
//! type, domain, shown attributes, shapes of folded constants: so layers whose weights differ
//! in shape stay apart) and the same edges among themselves. A run must also be a chain, as
//! stacked layers are: each block reads only itself, the block before it, and values from
//! outside that every block reads alike (an attention mask); only the last block feeds the rest
//! of the graph. Parallel branches that merely look alike in node order (a feature pyramid's
//! levels, interleaved) are not a chain and stay drawn out. Edges between consecutive blocks
//! disappear into the fold; edges from and to the rest of the graph attach to the fold's box.

use crate::block;
use crate::view::{Child, Edge, Item, ItemKind, Scene};
use std::collections::{HashMap, HashSet};

/// A fold must hide at least this many boxes; smaller repeats are clearer drawn out.
const MIN_HIDDEN: usize = 6;
/// Longest block looked for, in ops: a transformer layer exported op by op is well under this,
/// and the search costs grow with it.
const MAX_PERIOD: usize = 512;

/// A run of `count` consecutive blocks of `period` ops, starting at op number `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    start: usize,
    period: usize,
    count: usize,
}

/// Folds repeated blocks in `scene` and, recursively, in every scene drawn inside it.
pub fn collapse(scene: &mut Scene) {
    for item in &mut scene.items {
        for child in &mut item.children {
            collapse(&mut child.scene);
        }
    }
    let ops: Vec<usize> =
        (0..scene.items.len()).filter(|&i| scene.items[i].kind == ItemKind::Op).collect();
    let runs = find_runs(scene, &ops);
    if !runs.is_empty() {
        *scene = fold(scene, &ops, &runs);
    }
}

/// The edges among `members`, as (from, from port, to, to port) with positions inside the
/// block, sorted: two blocks are wired alike when these are equal.
fn internal_wiring(
    scene: &Scene,
    incident: &[Vec<usize>],
    members: &[usize],
) -> Vec<(usize, usize, usize, Option<usize>)> {
    let pos: HashMap<usize, usize> = members.iter().enumerate().map(|(p, &i)| (i, p)).collect();
    let mut w: Vec<_> = edges_at(incident, members)
        .map(|e| &scene.edges[e])
        .filter_map(|e| Some((*pos.get(&e.from)?, e.from_port, *pos.get(&e.to)?, e.to_port)))
        .collect();
    w.sort_unstable();
    w
}

/// The edges touching `items`, each once, by index into `Scene::edges`.
fn edges_at<'a>(incident: &'a [Vec<usize>], items: &[usize]) -> impl Iterator<Item = usize> + 'a {
    let mut edges: Vec<usize> = items.iter().flat_map(|&i| incident[i].iter().copied()).collect();
    edges.sort_unstable();
    edges.dedup();
    edges.into_iter()
}

fn find_runs(scene: &Scene, ops: &[usize]) -> Vec<Run> {
    // The edges of each item, so that checking a block looks at its own edges only.
    let mut incident = vec![Vec::new(); scene.items.len()];
    for (k, e) in scene.edges.iter().enumerate() {
        incident[e.from].push(k);
        if e.to != e.from {
            incident[e.to].push(k);
        }
    }
    let tokens: Vec<u64> = ops.iter().map(|&i| scene.items[i].signature).collect();
    let n = tokens.len();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < n {
        // Candidates (hidden boxes, period, count), best first.
        let mut candidates = Vec::new();
        for p in 1..=((n - i) / 2).min(MAX_PERIOD) {
            if tokens[i + p] != tokens[i] || tokens[i..i + p] != tokens[i + p..i + 2 * p] {
                continue;
            }
            let mut k = 2;
            while i + (k + 1) * p <= n && tokens[i..i + p] == tokens[i + k * p..i + (k + 1) * p] {
                k += 1;
            }
            if p * (k - 1) >= MIN_HIDDEN {
                candidates.push((p * (k - 1), p, k));
            }
        }
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut chosen = None;
        for (_, p, k) in candidates {
            // Cheap test first: do the first two blocks even chain?
            if chain_len(scene, &incident, &ops[i..i + 2 * p], p) < 2 {
                continue;
            }
            let first = internal_wiring(scene, &incident, &ops[i..i + p]);
            let mut same = 1;
            while same < k
                && internal_wiring(scene, &incident, &ops[i + same * p..i + (same + 1) * p])
                    == first
            {
                same += 1;
            }
            // The longest prefix of the alike blocks that is a chain.
            let count = chain_len(scene, &incident, &ops[i..i + same * p], p);
            if count >= 2 && p * (count - 1) >= MIN_HIDDEN {
                chosen = Some(Run { start: i, period: p, count });
                break;
            }
        }
        match chosen {
            Some(r) => {
                runs.push(r);
                i += r.period * r.count;
            }
            None => i += 1,
        }
    }
    runs
}

/// An input of a block: (position in the block, port).
type Slot = (usize, Option<usize>);

/// How many of the blocks of `period` items in `items`, from the first, form a chain (see the
/// module notes); at least 1. One pass: block `j` is checked for what it reads, and block
/// `j - 1` for what it feeds, before block `j` is admitted.
fn chain_len(scene: &Scene, incident: &[Vec<usize>], items: &[usize], period: usize) -> usize {
    let blocks: Vec<&[usize]> = items.chunks(period).collect();
    let place: HashMap<usize, (usize, usize)> =
        items.iter().enumerate().map(|(i, &item)| (item, (i / period, i % period))).collect();
    // Per input slot of the blocks after the first: where it is fed from.
    let mut outside: HashMap<Slot, (usize, usize)> = HashMap::new();
    let mut previous: HashMap<Slot, (usize, usize)> = HashMap::new();
    for j in 1..blocks.len() {
        for e in edges_at(incident, blocks[j]).map(|k| &scene.edges[k]) {
            match (place.get(&e.from), place.get(&e.to)) {
                // Read by block j.
                (from, Some(&(jt, qt))) if jt == j => {
                    let slot = (qt, e.to_port);
                    let ok = match from {
                        Some(&(jf, _)) if jf == j => true,
                        Some(&(jf, qf)) if jf + 1 == j => {
                            !outside.contains_key(&slot)
                                && *previous.entry(slot).or_insert((qf, e.from_port))
                                    == (qf, e.from_port)
                        }
                        Some(_) => false,
                        None => {
                            !previous.contains_key(&slot)
                                && *outside.entry(slot).or_insert((e.from, e.from_port))
                                    == (e.from, e.from_port)
                        }
                    };
                    if !ok {
                        return j;
                    }
                }
                _ => {}
            }
        }
        // Block j - 1 may feed only itself and block j, unless it is the last.
        for e in edges_at(incident, blocks[j - 1]).map(|k| &scene.edges[k]) {
            if let Some(&(jf, _)) = place.get(&e.from)
                && jf + 1 == j
                && !matches!(place.get(&e.to), Some(&(jt, _)) if jt + 1 == j || jt == j)
            {
                return j;
            }
        }
    }
    blocks.len()
}

fn fold(scene: &Scene, ops: &[usize], runs: &[Run]) -> Scene {
    // Which run each folded item belongs to, and the first item of each run.
    let mut run_of: HashMap<usize, usize> = HashMap::new();
    for (r, run) in runs.iter().enumerate() {
        for &item in &ops[run.start..run.start + run.period * run.count] {
            run_of.insert(item, r);
        }
    }
    let mut out = Scene::default();
    let mut new_index: HashMap<usize, usize> = HashMap::new();
    let mut block_index: Vec<usize> = vec![usize::MAX; runs.len()];
    for (i, item) in scene.items.iter().enumerate() {
        match run_of.get(&i) {
            Some(&r) => {
                if block_index[r] == usize::MAX {
                    block_index[r] = out.items.len();
                    out.items.push(block_item(scene, &ops[runs[r].start..], runs[r]));
                }
                new_index.insert(i, block_index[r]);
            }
            None => {
                new_index.insert(i, out.items.len());
                out.items.push(item.clone());
            }
        }
    }
    let mut seen = HashSet::new();
    for e in &scene.edges {
        let (from, to) = (new_index[&e.from], new_index[&e.to]);
        if from == to {
            continue;
        }
        let from_port = if run_of.contains_key(&e.from) { 0 } else { e.from_port };
        let to_port = if run_of.contains_key(&e.to) { Some(0) } else { e.to_port };
        if seen.insert((from, from_port, to, to_port)) {
            out.edges.push(Edge { from, from_port, to, to_port, ..e.clone() });
        }
    }
    out
}

/// The box standing for a run: one block drawn inside, the count in the title.
fn block_item(scene: &Scene, ops_from_start: &[usize], run: Run) -> Item {
    let members = &ops_from_start[..run.period];
    let instances: Vec<&[usize]> =
        ops_from_start[..run.period * run.count].chunks(run.period).collect();
    let mut body = block::body(scene, &instances);
    // A block can itself repeat a smaller pattern (a layer's q, k and v projections).
    collapse(&mut body);
    let ops = if run.period == 1 { "op".to_string() } else { format!("{} ops", run.period) };
    Item {
        kind: ItemKind::Block { count: run.count },
        title: format!("×{}", run.count),
        // Alike means equal ops, attributes, weight shapes and wiring; weight values may differ,
        // and the first block's are the ones shown.
        lines: vec![format!("{} alike blocks of {ops}; the first shown", run.count)],
        tooltip: format!(
            "{} consecutive blocks with the same ops, attributes, weight shapes and wiring \
             (weight values may differ; the first block's are shown)",
            run.count
        ),
        children: vec![Child { label: String::new(), scene: body }],
        signature: members
            .iter()
            .fold(run.count as u64, |h, &i| h.rotate_left(7) ^ scene.items[i].signature),
        in_ports: 1,
        out_ports: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(sig: u64) -> Item {
        Item {
            kind: ItemKind::Op,
            title: format!("op{sig}"),
            lines: Vec::new(),
            tooltip: String::new(),
            children: Vec::new(),
            signature: sig,
            in_ports: 1,
            out_ports: 1,
        }
    }

    /// A chain of items with the given signatures, each feeding the next.
    fn chain(sigs: &[u64]) -> Scene {
        let items: Vec<Item> = sigs.iter().map(|&s| op(s)).collect();
        let edges = (1..items.len())
            .map(|i| Edge {
                from: i - 1,
                from_port: 0,
                to: i,
                to_port: Some(0),
                label: String::new(),
                detail: String::new(),
            })
            .collect();
        Scene { items, edges }
    }

    #[test]
    fn a_repeated_chain_folds_into_one_block() {
        // stem, then the block [1,2,3] five times, then a head.
        let mut sigs = vec![9];
        for _ in 0..5 {
            sigs.extend([1, 2, 3]);
        }
        sigs.push(8);
        let mut s = chain(&sigs);
        collapse(&mut s);
        let kinds: Vec<_> = s.items.iter().map(|i| i.kind.clone()).collect();
        assert_eq!(kinds, vec![ItemKind::Op, ItemKind::Block { count: 5 }, ItemKind::Op]);
        // One block of three ops, fed by a "block input" pill, feeding a "block output" pill.
        let body = &s.items[1].children[0].scene;
        let titles: Vec<&str> = body.items.iter().map(|i| i.title.as_str()).collect();
        assert_eq!(titles, vec!["op1", "op2", "op3", "block input", "block output"]);
        let ends: Vec<_> = body.edges.iter().map(|e| (e.from, e.to)).collect();
        assert_eq!(ends, vec![(0, 1), (1, 2), (3, 0), (2, 4)]);
        // stem -> block -> head; the block-to-block edges are gone.
        let ends: Vec<_> = s.edges.iter().map(|e| (e.from, e.to)).collect();
        assert_eq!(ends, vec![(0, 1), (1, 2)]);
    }

    #[test]
    fn parallel_branches_are_not_a_chain() {
        // A stem op 0 feeding four alike branches [1,2,3], each read by a final op: the branches
        // follow each other in node order but none reads another.
        let mut sigs = vec![9];
        for _ in 0..4 {
            sigs.extend([1, 2, 3]);
        }
        sigs.push(8);
        let mut s = chain(&sigs);
        let last = sigs.len() - 1;
        s.edges.retain(|e| !(e.to == last || (e.to % 3 == 1 && e.to > 1)));
        for b in 0..4 {
            let first = 1 + 3 * b;
            s.edges.push(Edge {
                from: 0,
                from_port: 0,
                to: first,
                to_port: Some(0),
                label: String::new(),
                detail: String::new(),
            });
            s.edges.push(Edge {
                from: first + 2,
                from_port: 0,
                to: last,
                to_port: Some(b),
                label: String::new(),
                detail: String::new(),
            });
        }
        collapse(&mut s);
        assert!(s.items.iter().all(|i| i.kind == ItemKind::Op), "drawn out");
    }

    #[test]
    fn short_repeats_are_left_alone() {
        let mut s = chain(&[1, 2, 1, 2, 1, 2]);
        collapse(&mut s);
        assert_eq!(s.items.len(), 6);
    }

    #[test]
    fn blocks_wired_differently_do_not_fold() {
        let sigs = [1, 2, 3, 1, 2, 3, 1, 2, 3];
        let mut alike = chain(&sigs);
        collapse(&mut alike);
        assert_eq!(alike.items.len(), 1, "control: three alike blocks fold");
        assert!(matches!(alike.items[0].kind, ItemKind::Block { count: 3 }));
        let mut s = chain(&sigs);
        // Rewire the middle block: its third op reads the block's first op, not its second.
        let e = s.edges.iter_mut().find(|e| e.to == 5).unwrap();
        e.from = 3;
        collapse(&mut s);
        assert!(s.items.iter().all(|i| i.kind == ItemKind::Op));
    }
}
