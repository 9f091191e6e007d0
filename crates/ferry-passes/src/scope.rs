//! Outer-scope references: subgraphs (If/Loop/Scan bodies) read values of enclosing graphs by
//! *name*. A rewrite that makes readers of one value read another therefore has to rename those
//! reads inside the subgraphs too. This module does that ("rebinding"), and builds on it the
//! forwarding step of the no-op eliminations: a node whose output equals its input goes, and
//! every reader, subgraphs included, reads the input.
//!
//! In the IR a read from outer scope is a `Captured` value of the subgraph, with an implicit use
//! on the owning node in the outer graph. Rebinding `old` to `new` in a subgraph makes its
//! readers of the capture `old` read a capture `new` (created, or the existing one), recursively
//! through the nested subgraphs that forward the read. The capture `old`, now unread, is
//! dropped afterwards ([`drop_unused_captures`]).
//!
//! Rebinding is refused when a subgraph on the way defines a value of its own named `new`: that
//! local value would shadow the outer one and the reads would silently change meaning.

use crate::PassCx;
use crate::forward::Sweeper;
use ferry_ir::{Graph, NodeId, UseSlot, ValueDef, ValueId};
use std::collections::HashSet;

/// Nodes of `g` whose subgraphs read `v` by name.
pub(crate) fn implicit_readers(g: &Graph, v: ValueId) -> Vec<NodeId> {
    let mut out: Vec<NodeId> =
        g.value(v).uses().iter().filter(|u| u.slot == UseSlot::Implicit).map(|u| u.node).collect();
    out.dedup();
    out
}

/// The capture of `g` named `name`, when `g` reads that name from outer scope.
fn capture_named(g: &Graph, name: &str) -> Option<ValueId> {
    g.captures().iter().copied().find(|&c| g.value(c).name == name && !g.value(c).uses().is_empty())
}

/// Whether the subgraphs of `owner` (a node of `g`) can have their reads of `old` rebound to
/// `new` without a local value of theirs shadowing `new`.
pub(crate) fn can_rebind(g: &Graph, owner: NodeId, old: &str, new: &str) -> bool {
    if new.is_empty() {
        return false;
    }
    g.node(owner).subgraphs().all(|sg| can_rebind_in(sg, old, new))
}

fn can_rebind_in(sg: &Graph, old: &str, new: &str) -> bool {
    let Some(c) = capture_named(sg, old) else { return true };
    let shadowed = sg.values().any(|(_, v)| v.name == new && v.def() != ValueDef::Captured);
    if shadowed {
        return false;
    }
    implicit_readers(sg, c).into_iter().all(|o| can_rebind(sg, o, old, new))
}

/// Makes the subgraphs of `owner` (a node of `g`) read `new` wherever they read `old` from outer
/// scope. The caller moves the owner's implicit input in `g` (see
/// [`Graph::replace_implicit_uses`]) and has checked [`can_rebind`].
pub(crate) fn rebind(g: &mut Graph, owner: NodeId, old: &str, new: &str) {
    let mut attributes = std::mem::take(&mut g.node_mut(owner).attributes);
    for a in &mut attributes {
        for sg in a.value.graphs_mut() {
            rebind_in(sg, old, new);
        }
    }
    g.node_mut(owner).attributes = attributes;
}

fn rebind_in(sg: &mut Graph, old: &str, new: &str) {
    let Some(c) = capture_named(sg, old) else { return };
    let fresh = !sg.captures().iter().any(|&v| sg.value(v).name == new);
    let c2 = sg.add_capture(new);
    if fresh {
        sg.value_mut(c2).info = sg.value(c).info.clone();
    }
    for o in implicit_readers(sg, c) {
        rebind(sg, o, old, new);
    }
    sg.replace_implicit_uses(c, c2);
    sg.replace_all_uses(c, c2);
}

/// Drops the captures of `g` nothing reads any more (left by [`rebind`]), in place: a capture
/// names an outer value, and a stale one would name a value that may be gone.
pub(crate) fn drop_unused_captures(g: &mut Graph) {
    let stale = g.captures().iter().any(|&c| g.value(c).uses().is_empty() && !g.is_graph_output(c));
    if stale {
        g.remove_values(&HashSet::new());
    }
}

/// Runs [`drop_unused_captures`] on every subgraph of `g`'s nodes, recursively.
pub(crate) fn drop_unused_captures_below(g: &mut Graph) {
    let owners: Vec<NodeId> = g.node_ids().filter(|&id| g.node(id).has_subgraphs()).collect();
    for id in owners {
        let mut attributes = std::mem::take(&mut g.node_mut(id).attributes);
        for a in &mut attributes {
            for sg in a.value.graphs_mut() {
                drop_unused_captures_below(sg);
                drop_unused_captures(sg);
            }
        }
        g.node_mut(id).attributes = attributes;
    }
}

/// Removes `node`, whose output `out` computes the same as its input `inp`: every reader of
/// `out` reads `inp`, subgraphs included (their outer-scope reads are rebound by name). Returns
/// whether it did; nothing changes when a guard refuses:
///
/// - `out` is protected (training information names it);
/// - `out` is a graph output: the output keeps its name by giving it to `inp`, which needs `inp`
///   to be made by a node of this graph (not a graph input, initializer or outer value, whose
///   names are fixed) that is not a graph output itself and not protected;
/// - a subgraph reading the name that goes away defines a local value with the name that
///   replaces it (see the module documentation);
/// - the rewrite budget is spent.
///
/// Subgraphs are left with unread captures; [`drop_unused_captures_below`] cleans them up.
pub(crate) fn forward(
    g: &mut Graph,
    sw: &mut Sweeper,
    cx: &PassCx,
    node: NodeId,
    inp: ValueId,
    out: ValueId,
) -> bool {
    if inp == out || cx.protected.contains(&g.value(out).name) {
        return false;
    }
    let out_name = g.value(out).name.clone();
    let inp_name = g.value(inp).name.clone();
    if !g.is_graph_output(out) {
        let readers = implicit_readers(g, out);
        if !readers.iter().all(|&o| can_rebind(g, o, &out_name, &inp_name)) || !cx.allow() {
            return false;
        }
        for o in readers {
            rebind(g, o, &out_name, &inp_name);
        }
        g.replace_implicit_uses(out, inp);
        g.replace_all_uses(out, inp);
        sw.remove_node(g, node);
        return true;
    }
    let inp_ok = matches!(g.value(inp).def(), ValueDef::Node { .. })
        && !g.is_graph_output(inp)
        && !cx.protected.contains(&inp_name);
    if !inp_ok {
        return false;
    }
    // `inp` takes the output's name: subgraphs reading `inp` by name must read that name.
    let readers = implicit_readers(g, inp);
    if !readers.iter().all(|&o| can_rebind(g, o, &inp_name, &out_name)) || !cx.allow() {
        return false;
    }
    for o in readers {
        rebind(g, o, &inp_name, &out_name);
    }
    sw.remove_node(g, node);
    g.replace_all_uses(out, inp);
    g.replace_implicit_uses(out, inp);
    let mut info = g.value(out).info.clone();
    if info.ty.is_none() {
        info.ty = g.value(inp).info.ty.clone();
    }
    let v = g.value_mut(inp);
    v.name = out_name;
    v.info = info;
    sw.note_undefined(g, out);
    true
}
