//! Rebuilding a graph without some values.
//!
//! The IR's editing API removes nodes but not entries of the initializer and `value_info` lists.
//! Passes that drop an initializer, or leave a `value_info` entry behind for a value they removed,
//! rebuild the graph once at the end instead: every list, node (in order, with its attributes and
//! subgraphs moved, not copied), value fact and declaration override is carried over, except the
//! values in `drop`, which must have no readers left, and captures nothing reads.

use ferry_ir::{DeclSite, Graph, ValueDef, ValueId};
use std::collections::{HashMap, HashSet};

/// Moves `old` into a new graph without the values in `drop` (removed from the initializer and
/// `value_info` lists). `old` is left empty.
pub(crate) fn without(old: &mut Graph, drop: &HashSet<ValueId>) -> Graph {
    let mut g = Graph::new();
    g.name = old.name.take();
    g.doc_string = old.doc_string.take();
    g.metadata_props = std::mem::take(&mut old.metadata_props);
    g.quantization_annotations = std::mem::take(&mut old.quantization_annotations);
    let mut map: HashMap<ValueId, ValueId> = HashMap::new();

    for &v in old.inputs() {
        let val = old.value(v);
        let nv = g.add_input(val.name.clone(), val.info.clone());
        map.insert(v, nv);
    }
    let dense = old.initializers().to_vec();
    let sparse = old.sparse_initializers().to_vec();
    for v in dense.into_iter().chain(sparse) {
        if drop.contains(&v) {
            continue;
        }
        let Some(init) = old.value_mut(v).initializer.take() else { continue };
        let val = old.value(v);
        if val.def() == ValueDef::Input {
            g.attach_initializer(map[&v], init);
        } else {
            let nv = g.add_initializer(val.name.clone(), init);
            g.value_mut(nv).info = val.info.clone();
            map.insert(v, nv);
        }
    }
    // A capture nothing reads (a rewrite rebound its readers to another name) is not carried
    // over: it would name an outer value that may no longer exist.
    let listed: HashSet<ValueId> = old.value_info().iter().copied().collect();
    for &v in old.captures() {
        let val = old.value(v);
        if val.uses().is_empty() && !old.is_graph_output(v) && !listed.contains(&v) {
            continue;
        }
        let nv = g.add_capture(&val.name);
        g.value_mut(nv).info = val.info.clone();
        map.insert(v, nv);
    }

    // Nodes first without inputs (an unsorted graph may read a later node's output), then wire.
    let ids: Vec<_> = old.node_ids().collect();
    let mut new_ids = Vec::with_capacity(ids.len());
    for &id in &ids {
        let attributes = std::mem::take(&mut old.node_mut(id).attributes);
        let mut node = old.node(id).clone();
        node.attributes = attributes;
        let outs = old.node(id).outputs();
        let names: Vec<Option<&str>> =
            outs.iter().map(|o| o.map(|v| old.value(v).name.as_str())).collect();
        let (nid, new_outs) = g.add_node(node, &[], &names);
        for (o, n) in outs.iter().zip(new_outs) {
            if let (Some(o), Some(n)) = (o, n) {
                g.value_mut(n).info = old.value(*o).info.clone();
                map.insert(*o, n);
            }
        }
        new_ids.push(nid);
    }
    let mut lookup = |g: &mut Graph, v: ValueId| -> ValueId {
        *map.entry(v).or_insert_with(|| {
            let val = old.value(v);
            let nv = g.add_undefined(val.name.clone());
            g.value_mut(nv).info = val.info.clone();
            nv
        })
    };
    for (&id, &nid) in ids.iter().zip(&new_ids) {
        for &input in old.node(id).inputs() {
            let mapped = input.map(|v| lookup(&mut g, v));
            g.push_node_input(nid, mapped);
        }
        let implicit: Vec<ValueId> =
            old.node(id).implicit_inputs().iter().map(|&v| lookup(&mut g, v)).collect();
        g.add_implicit_inputs(nid, &implicit);
    }
    for &v in old.outputs() {
        let nv = lookup(&mut g, v);
        g.add_output(nv);
    }
    let mut info_index = Vec::new();
    for (i, &v) in old.value_info().iter().enumerate() {
        if drop.contains(&v) {
            continue;
        }
        let nv = lookup(&mut g, v);
        g.add_value_info(nv);
        info_index.push(i);
    }
    for i in 0..old.inputs().len() {
        if let Some(info) = old.decl_override(DeclSite::Input, i) {
            g.set_decl_override(DeclSite::Input, i, info.clone());
        }
    }
    for i in 0..old.outputs().len() {
        if let Some(info) = old.decl_override(DeclSite::Output, i) {
            g.set_decl_override(DeclSite::Output, i, info.clone());
        }
    }
    for (new_i, &old_i) in info_index.iter().enumerate() {
        if let Some(info) = old.decl_override(DeclSite::ValueInfo, old_i) {
            g.set_decl_override(DeclSite::ValueInfo, new_i, info.clone());
        }
    }
    *old = Graph::new();
    g
}

/// Removes `drop` from `g` in place, when there is anything to drop (see
/// [`Graph::remove_values`]).
pub(crate) fn drop_values(g: &mut Graph, drop: &HashSet<ValueId>) {
    if drop.is_empty() {
        return;
    }
    g.remove_values(drop);
}

/// The values among `candidates` that a removal left undefined and unread, so only their
/// `value_info` entries keep them alive: these entries are dropped with them.
pub(crate) fn stale(g: &Graph, candidates: &[ValueId]) -> HashSet<ValueId> {
    candidates
        .iter()
        .copied()
        .filter(|&v| {
            let val = g.value(v);
            val.def() == ValueDef::Undefined && val.uses().is_empty() && !g.is_graph_output(v)
        })
        .collect()
}
