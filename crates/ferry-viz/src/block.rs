//! The body drawn inside a folded block's box: the first of the alike blocks, with pills
//! showing where values enter and leave it.
//!
//! Without the pills a block's picture would hide its most important wiring: the residual
//! connection that enters a transformer layer twice (once into the attention, once into the
//! add after it) shows up as two edges from one "block input" pill. Inputs are keyed the way
//! every block sees them: a value from the previous block is a "block input" (the first block
//! gets it from the stem instead, at the same place), a value from elsewhere (an attention mask
//! read by every layer) is named after its source.

use crate::view::{Edge, Item, ItemKind, Scene};
use std::collections::{BTreeMap, HashMap};

/// Where an input of the block comes from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    /// Output `port` of op `at` (position in the block) of the previous block.
    Previous { at: usize, port: usize },
    /// Output `port` of item `item` of the enclosing scene, outside the run.
    Outside { item: usize, port: usize },
}

/// The scene drawn inside the fold of `instances` (item indices of each block, in order, all of
/// the same length).
pub fn body(scene: &Scene, instances: &[&[usize]]) -> Scene {
    // (block number, position in block) of every folded item.
    let mut place: HashMap<usize, (usize, usize)> = HashMap::new();
    for (j, inst) in instances.iter().enumerate() {
        for (q, &item) in inst.iter().enumerate() {
            place.insert(item, (j, q));
        }
    }
    let mut body = Scene {
        items: instances[0].iter().map(|&i| scene.items[i].clone()).collect(),
        edges: Vec::new(),
    };
    // Per input slot of the block (position, port): its source and edge label, taken from the
    // second block when it has the slot (its view of "previous" is the true one), else the first.
    let mut slots: BTreeMap<(usize, Option<usize>), (usize, Source, &Edge)> = BTreeMap::new();
    // Outputs of the block (position, port) read outside their block, with an edge for labels.
    let mut leaving: BTreeMap<(usize, usize), &Edge> = BTreeMap::new();
    for e in &scene.edges {
        let from = place.get(&e.from).copied();
        let to = place.get(&e.to).copied();
        match (from, to) {
            (Some((jf, qf)), Some((jt, qt))) if jf == jt => {
                if jf == 0 {
                    body.edges.push(Edge { from: qf, to: qt, ..e.clone() });
                }
            }
            _ => {
                if let Some((jt, qt)) = to {
                    let source = match from {
                        Some((jf, qf)) if jf + 1 == jt => {
                            Source::Previous { at: qf, port: e.from_port }
                        }
                        _ => Source::Outside { item: e.from, port: e.from_port },
                    };
                    let key = (qt, e.to_port);
                    let better = slots.get(&key).is_none_or(|(j, _, _)| *j != 1 && jt == 1);
                    if better && jt <= 1 {
                        slots.insert(key, (jt, source, e));
                    }
                }
                if let Some((_, qf)) = from {
                    leaving.entry((qf, e.from_port)).or_insert(e);
                }
            }
        }
    }
    // One pill per distinct source, numbered when several are alike.
    let mut pills: BTreeMap<Source, usize> = BTreeMap::new();
    let mut distinct_previous: Vec<&Source> = Vec::new();
    for (_, s, _) in slots.values() {
        if matches!(s, Source::Previous { .. }) && !distinct_previous.contains(&s) {
            distinct_previous.push(s);
        }
    }
    for ((qt, port), (_, source, edge)) in &slots {
        let pill = *pills.entry(source.clone()).or_insert_with(|| {
            let title = match source {
                Source::Previous { .. } if distinct_previous.len() > 1 => {
                    let n = distinct_previous.iter().position(|s| *s == source).unwrap_or(0);
                    format!("block input {}", n + 1)
                }
                Source::Previous { .. } => "block input".to_string(),
                Source::Outside { item, .. } => scene.items[*item].title.clone(),
            };
            body.items.push(pill(ItemKind::Capture, title));
            body.items.len() - 1
        });
        body.edges.push(Edge {
            from: pill,
            from_port: 0,
            to: *qt,
            to_port: *port,
            ..(*edge).clone()
        });
    }
    let numbered = leaving.len() > 1;
    for (n, ((qf, port), edge)) in leaving.iter().enumerate() {
        let title =
            if numbered { format!("block output {}", n + 1) } else { "block output".to_string() };
        body.items.push(pill(ItemKind::Output, title));
        let to = body.items.len() - 1;
        body.edges.push(Edge {
            from: *qf,
            from_port: *port,
            to,
            to_port: Some(0),
            ..(*edge).clone()
        });
    }
    body
}

fn pill(kind: ItemKind, title: String) -> Item {
    Item {
        kind,
        tooltip: title.clone(),
        title,
        lines: Vec::new(),
        children: Vec::new(),
        signature: 0,
        in_ports: 1,
        out_ports: 1,
    }
}
