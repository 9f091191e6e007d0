//! Shared steps: removing a node that passes its input through, and removing nodes while
//! remembering the `value_info` entries they leave behind.

use crate::PassCx;
use crate::rebuild;
use ferry_ir::{Graph, NodeId, UseSlot, ValueDef, ValueId};
use std::collections::HashSet;

/// Removes nodes and, at the end, the `value_info` entries of the values they defined.
#[derive(Default)]
pub(crate) struct Sweeper {
    listed: Option<HashSet<ValueId>>,
    left: Vec<ValueId>,
    pub removed: usize,
}

impl Sweeper {
    pub fn remove_node(&mut self, g: &mut Graph, node: NodeId) {
        let listed = self.listed.get_or_insert_with(|| g.value_info().iter().copied().collect());
        for &o in g.node(node).outputs().iter().flatten() {
            if listed.contains(&o) {
                self.left.push(o);
            }
        }
        g.remove_node(node);
        self.removed += 1;
    }

    /// Values the pass made undefined by other means (a forwarded graph output).
    pub fn note_undefined(&mut self, g: &Graph, v: ValueId) {
        let listed = self.listed.get_or_insert_with(|| g.value_info().iter().copied().collect());
        if listed.contains(&v) {
            self.left.push(v);
        }
    }

    pub fn finish(self, g: &mut Graph) {
        let stale = rebuild::stale(g, &self.left);
        rebuild::drop_values(g, &stale);
    }
}

/// Whether a subgraph of some node reads `v` by name.
pub(crate) fn captured(g: &Graph, v: ValueId) -> bool {
    g.value(v).uses().iter().any(|u| u.slot == UseSlot::Implicit)
}

/// Removes `node` after a fusion made `inp`'s producer compute what `node` computed: readers
/// of `out` read `inp`, and `inp` takes `out`'s name and declared type, so that a name that
/// survives a rewrite still denotes the value it denoted before (the local numeric check and
/// anyone comparing intermediate values by name rely on that). `inp` keeps its own name when
/// it cannot be renamed (not made by a node of this graph, a graph output, read by name from
/// a subgraph, or protected); otherwise the guards are [`bypass`]'s.
pub(crate) fn merge_into_producer(
    g: &mut Graph,
    sw: &mut Sweeper,
    cx: &PassCx,
    node: NodeId,
    inp: ValueId,
    out: ValueId,
) -> bool {
    if !renamable(g, cx, inp)
        || inp == out
        || captured(g, out)
        || cx.protected.contains(&g.value(out).name)
    {
        return bypass(g, sw, cx, node, inp, out);
    }
    if !cx.allow() {
        return false;
    }
    hand_over(g, sw, node, inp, out);
    true
}

/// Whether `v` may take another value's name: made by a node of this graph, not a graph
/// output, not read by name from a subgraph, not protected.
fn renamable(g: &Graph, cx: &PassCx, v: ValueId) -> bool {
    matches!(g.value(v).def(), ValueDef::Node { .. })
        && !g.is_graph_output(v)
        && !captured(g, v)
        && !cx.protected.contains(&g.value(v).name)
}

/// Removes `node`; `inp` takes the place of its output `out`: its readers, its graph-output
/// slot, its name and its declared type (or keeps its own type when `out` declares none).
fn hand_over(g: &mut Graph, sw: &mut Sweeper, node: NodeId, inp: ValueId, out: ValueId) {
    let name = g.value(out).name.clone();
    let mut info = g.value(out).info.clone();
    if info.ty.is_none() {
        info.ty = g.value(inp).info.ty.clone();
    }
    // Readers first: removing a node drops its outputs that nothing reads.
    g.replace_all_uses(out, inp);
    sw.remove_node(g, node);
    let v = g.value_mut(inp);
    v.name = name;
    v.info = info;
}

/// Removes `node`, whose output `out` computes the same as its input `inp`, so that everything
/// that read `out` reads `inp`. Returns whether it did; nothing changes when a guard refuses:
///
/// - `out` is read by name from a subgraph (renaming it there is not done), or is protected;
/// - `out` is a graph output: then, to keep the output's name, `inp` takes over that name, which
///   needs `inp` to be made by a node of this graph (not a graph input, initializer or outer
///   value), not to be a graph output itself, not to be read by name from a subgraph and not
///   to be protected;
/// - the rewrite budget is spent.
pub(crate) fn bypass(
    g: &mut Graph,
    sw: &mut Sweeper,
    cx: &PassCx,
    node: NodeId,
    inp: ValueId,
    out: ValueId,
) -> bool {
    if inp == out || captured(g, out) || cx.protected.contains(&g.value(out).name) {
        return false;
    }
    if !g.is_graph_output(out) {
        if !cx.allow() {
            return false;
        }
        g.replace_all_uses(out, inp);
        sw.remove_node(g, node);
        return true;
    }
    if !renamable(g, cx, inp) || !cx.allow() {
        return false;
    }
    hand_over(g, sw, node, inp, out);
    true
}
