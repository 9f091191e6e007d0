//! `eliminate_if_with_const_cond`: an `If` (default domain) whose condition is a constant is
//! replaced by the nodes of the branch it always takes (what onnxsim and onnxslim do after
//! constant folding has decided the condition).
//!
//! The branch's nodes move into the enclosing graph, just before the If, in their order; their
//! nested subgraphs move with them. Names:
//!
//! - each branch output made by a branch node takes the name of the If output it feeds, so the
//!   If's readers, graph outputs and subgraphs reading it by name see the same name. A branch
//!   output that is not made by a branch node (an outer value, a branch initializer, or a value
//!   already output at an earlier position) gets an `Identity` of that name instead;
//! - other values keep their names unless the name is taken in the enclosing graph or any of its
//!   subgraphs (sibling branches may reuse names; the enclosing graph may not), in which case
//!   they get a fresh `<name>__N`; nested subgraphs reading a renamed value by name are rebound
//!   (`scope::rebind`);
//! - the branch's outer-scope reads become reads of the enclosing graph's values of those names
//!   (the If's implicit inputs).
//!
//! Branch initializers become `Constant` nodes (an initializer needs IR 4 in a main graph and is
//! not allowed in a function body; `fold_constants` turns them back where it can).
//!
//! Guards (the If stays):
//!
//! - the condition is not a constant: an initializer that is also a graph input (a caller may
//!   override it), a computed value, anything but a one-element bool initializer or `Constant`;
//! - the taken branch is missing, has inputs, has a different number of outputs than the If,
//!   has sparse initializers, or reads a value it does not define (an ill-formed body), or a
//!   name it reads from outer scope is not among the If's implicit inputs;
//! - a branch value's name is protected (training information names it);
//! - a nested subgraph would have to be rebound to a name it defines itself;
//! - the rewrite budget is spent.

use crate::forward::Sweeper;
use crate::fuse_bn::constant;
use crate::scope::{can_rebind, drop_unused_captures_below, implicit_readers, rebind};
use crate::{Changed, Pass, PassCx, PassError};
use ferry_infer::konst::tensor_value;
use ferry_ir::{
    AttrValue, Attribute, DataType, Graph, Initializer, Node, NodeId, ValueDef, ValueId,
};
use std::collections::{HashMap, HashSet};

pub struct EliminateIfWithConstCond;

/// Counts of value names in a graph and all its subgraphs.
type Names = HashMap<String, usize>;

fn count_names(g: &Graph, names: &mut Names, delta: isize) {
    for (_, v) in g.values() {
        let e = names.entry(v.name.clone()).or_insert(0);
        *e = e.saturating_add_signed(delta);
    }
    for (_, n) in g.nodes() {
        for sg in n.subgraphs() {
            count_names(sg, names, delta);
        }
    }
}

/// The branch an If with a constant condition takes (`then_branch` or `else_branch`).
fn taken_branch(g: &Graph, id: NodeId) -> Option<&'static str> {
    let n = g.node(id);
    if n.op_type != "If" || !n.canonical_domain().is_empty() {
        return None;
    }
    let [Some(cond)] = n.inputs() else { return None };
    let k = tensor_value(constant(g, *cond)?)?;
    if k.elem != DataType::BOOL {
        return None;
    }
    let [v] = k.ints()?[..] else { return None };
    Some(if v != 0 { "then_branch" } else { "else_branch" })
}

/// Where every value of the branch goes, decided before anything changes.
struct Plan {
    /// New names for the branch's own values (node outputs and initializers).
    names: HashMap<ValueId, String>,
    /// Branch captures and the enclosing graph's values they stand for.
    captures: HashMap<ValueId, ValueId>,
    /// Per If output position: whether the branch output is made by a branch node and takes
    /// the If output's name directly (else an Identity gives the name).
    direct: Vec<bool>,
}

fn plan(g: &Graph, id: NodeId, b: &Graph, taken: &Names, cx: &PassCx) -> Option<Plan> {
    let n = g.node(id);
    if !b.inputs().is_empty()
        || b.outputs().len() != n.outputs().len()
        || !b.sparse_initializers().is_empty()
    {
        return None;
    }
    let mut captures = HashMap::new();
    for &c in b.captures() {
        if b.value(c).uses().is_empty() && !b.is_graph_output(c) {
            continue;
        }
        let name = &b.value(c).name;
        let outer = n.implicit_inputs().iter().copied().find(|&v| g.value(v).name == *name)?;
        captures.insert(c, outer);
    }
    for (_, v) in b.values() {
        if cx.protected.contains(&v.name) {
            return None;
        }
    }
    // Every value the branch reads or outputs is defined by it or captured.
    let defined = |v: ValueId| match b.value(v).def() {
        ValueDef::Node { .. } | ValueDef::Initializer => true,
        ValueDef::Captured => captures.contains_key(&v),
        ValueDef::Input | ValueDef::Undefined => false,
    };
    for (_, node) in b.nodes() {
        let reads = node.inputs().iter().flatten().chain(node.implicit_inputs());
        if !reads.copied().all(defined) {
            return None;
        }
    }
    if !b.outputs().iter().copied().all(defined) {
        return None;
    }
    // Names: If outputs first (their values go away with the If), then the rest.
    let mut names = HashMap::new();
    let mut direct = Vec::with_capacity(b.outputs().len());
    for (i, &o) in b.outputs().iter().enumerate() {
        let node_made = matches!(b.value(o).def(), ValueDef::Node { .. });
        let take = node_made && !names.contains_key(&o);
        match n.outputs()[i] {
            Some(y) if take => {
                names.insert(o, g.value(y).name.clone());
                direct.push(true);
            }
            _ => direct.push(false),
        }
    }
    let own = b
        .values()
        .filter(|(_, v)| matches!(v.def(), ValueDef::Node { .. } | ValueDef::Initializer));
    let mut assigned: HashSet<String> = HashSet::new();
    for (v, val) in own {
        if names.contains_key(&v) {
            continue;
        }
        let mut name = val.name.clone();
        let mut k = 1;
        while taken.get(&name).is_some_and(|&c| c > 0) || assigned.contains(&name) {
            name = format!("{}__{k}", val.name);
            k += 1;
        }
        assigned.insert(name.clone());
        names.insert(v, name);
    }
    // Nested subgraphs read branch values by name: renamed ones must be rebindable.
    for (&v, new) in &names {
        let old = &b.value(v).name;
        if old != new && !implicit_readers(b, v).iter().all(|&o| can_rebind(b, o, old, new)) {
            return None;
        }
    }
    Some(Plan { names, captures, direct })
}

/// A `Constant` node holding a branch initializer.
fn constant_node(t: ferry_ir::Tensor) -> Node {
    let mut t = t;
    t.name = None;
    Node::new("Constant").with_attr(Attribute::new("value", AttrValue::Tensor(Box::new(t))))
}

/// Moves branch `b` (taken out of If node `id`) into `g` before the If, following `p`, and
/// removes the If.
fn inline(g: &mut Graph, sw: &mut Sweeper, id: NodeId, mut b: Graph, p: Plan) {
    let mut map: HashMap<ValueId, ValueId> = p.captures;
    let dense: Vec<ValueId> = b.initializers().to_vec();
    for v in dense {
        let Some(Initializer::Dense(t)) = b.value_mut(v).initializer.take() else { continue };
        let name = p.names[&v].clone();
        let (_, outs) = g.insert_node_before(id, constant_node(t), &[], &[Some(&name)]);
        let nv = outs[0].expect("one output was asked for");
        g.value_mut(nv).info = b.value(v).info.clone();
        map.insert(v, nv);
    }
    // Nodes first without inputs (a body may be unsorted), then wire.
    let ids: Vec<NodeId> = b.node_ids().collect();
    let mut moved = Vec::with_capacity(ids.len());
    for &bid in &ids {
        let attributes = std::mem::take(&mut b.node_mut(bid).attributes);
        let mut node = b.node(bid).clone();
        node.attributes = attributes;
        let outs = b.node(bid).outputs().to_vec();
        let names: Vec<Option<&str>> =
            outs.iter().map(|o| o.map(|v| p.names[&v].as_str())).collect();
        let (nid, new_outs) = g.insert_node_before(id, node, &[], &names);
        for (o, nv) in outs.iter().zip(new_outs) {
            if let (Some(o), Some(nv)) = (o, nv) {
                g.value_mut(nv).info = b.value(*o).info.clone();
                map.insert(*o, nv);
            }
        }
        moved.push(nid);
    }
    for (&bid, &nid) in ids.iter().zip(&moved) {
        for &input in b.node(bid).inputs() {
            g.push_node_input(nid, input.map(|v| map[&v]));
        }
        let implicit: Vec<ValueId> = b.node(bid).implicit_inputs().iter().map(|v| map[v]).collect();
        g.add_implicit_inputs(nid, &implicit);
    }
    for &v in b.value_info() {
        if let Some(&nv) = map.get(&v)
            && matches!(b.value(v).def(), ValueDef::Node { .. })
        {
            g.add_value_info(nv);
        }
    }
    // Nested subgraphs reading a renamed branch value.
    for (&bid, &nid) in ids.iter().zip(&moved) {
        for &v in b.node(bid).implicit_inputs() {
            let (old, new) = (&b.value(v).name, &g.value(map[&v]).name);
            if old != new {
                rebind(g, nid, old, &new.clone());
            }
        }
    }
    // The If's outputs.
    let outs: Vec<Option<ValueId>> = g.node(id).outputs().to_vec();
    for (i, y) in outs.into_iter().enumerate() {
        let Some(y) = y else { continue };
        let src = map[&b.outputs()[i]];
        let target = if p.direct[i] {
            src
        } else {
            let name = g.value(y).name.clone();
            let (_, o) =
                g.insert_node_before(id, Node::new("Identity"), &[Some(src)], &[Some(&name)]);
            o[0].expect("one output was asked for")
        };
        let mut info = g.value(y).info.clone();
        if info.ty.is_none() {
            info.ty = g.value(target).info.ty.clone();
        }
        g.value_mut(target).info = info;
        g.replace_all_uses(y, target);
        g.replace_implicit_uses(y, target);
    }
    sw.remove_node(g, id);
}

impl Pass for EliminateIfWithConstCond {
    fn name(&self) -> &'static str {
        "eliminate_if_with_const_cond"
    }

    fn description(&self) -> &'static str {
        "replace an If whose condition is a constant by the branch it takes"
    }

    fn run(&self, g: &mut Graph, cx: &PassCx) -> Result<Changed, PassError> {
        let mut taken: Option<Names> = None;
        let mut sw = Sweeper::default();
        let mut rewrites = 0;
        let mut cur = g.first_node();
        while let Some(id) = cur {
            cur = g.next_node(id);
            let Some(branch) = taken_branch(g, id) else { continue };
            let names = taken.get_or_insert_with(|| {
                let mut m = Names::new();
                count_names(g, &mut m, 1);
                m
            });
            let mut attributes = std::mem::take(&mut g.node_mut(id).attributes);
            let pos = attributes.iter().position(|a| a.name == branch);
            let b = match pos.map(|i| std::mem::replace(&mut attributes[i].value, AttrValue::Empty))
            {
                Some(AttrValue::Graph(b)) => b,
                other => {
                    if let (Some(i), Some(v)) = (pos, other) {
                        attributes[i].value = v;
                    }
                    g.node_mut(id).attributes = attributes;
                    continue;
                }
            };
            // The If's branches go with it, their names free again; the names inside the taken
            // branch's nested subgraphs stay taken.
            let shift = |names: &mut Names, attributes: &[Attribute], b: &Graph, delta: isize| {
                for a in attributes {
                    for sg in a.value.graphs() {
                        count_names(sg, names, -delta);
                    }
                }
                for (_, node) in b.nodes() {
                    for sg in node.subgraphs() {
                        count_names(sg, names, delta);
                    }
                }
            };
            // (The taken branch itself is out of `attributes` now: count it with the rest.)
            count_names(&b, names, -1);
            shift(names, &attributes, &b, 1);
            let Some(p) = plan(g, id, &b, names, cx).filter(|_| cx.allow()) else {
                shift(names, &attributes, &b, -1);
                count_names(&b, names, 1);
                if let Some(i) = pos {
                    attributes[i].value = AttrValue::Graph(b);
                }
                g.node_mut(id).attributes = attributes;
                continue;
            };
            for name in p.names.values() {
                *names.entry(name.clone()).or_insert(0) += 1;
            }
            g.node_mut(id).attributes = attributes;
            inline(g, &mut sw, id, *b, p);
            rewrites += 1;
        }
        sw.finish(g);
        if rewrites > 0 {
            drop_unused_captures_below(g);
        }
        Ok(Changed { rewrites })
    }
}
