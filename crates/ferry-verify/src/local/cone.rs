//! One side of the diff: a graph with its values by name and its nodes' positions, and the
//! cone of nodes that computes a value back to where the two graphs agree.

use ferry_ir::{
    AttrValue, Attribute, Graph, Initializer, Model, Node, NodeId, Tensor, TensorData, ValueDef,
    ValueId,
};
use std::collections::{HashMap, HashSet};

/// Cones larger than this are not local: the claim is checked with the whole model.
pub(super) const MAX_CONE_NODES: usize = 512;

/// How far back [`Side::reaches`] looks for a dependency between two cone inputs.
const ANCESTRY_NODES: usize = 64;

/// A model's main graph, indexed for the diff.
pub(super) struct Side<'m> {
    pub model: &'m Model,
    pub g: &'m Graph,
    by_name: HashMap<&'m str, ValueId>,
    /// Position of each node in graph order, by [`NodeId::index`].
    position: Vec<usize>,
    /// Whether each value (by [`ValueId::index`]) varies with the fed inputs; the others are
    /// constants or computed from constants only, and are never fed random values.
    varying: Vec<bool>,
}

/// What a cone reads that it does not compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Read {
    /// A value both graphs share and the cone is fed (by name).
    Boundary,
    /// A constant of this side, copied into the cone's model.
    Const,
    /// Computed by the cone.
    Inside,
}

/// The nodes that compute one claim on one side, in graph order.
pub(super) struct Cone {
    pub nodes: Vec<NodeId>,
    /// Boundary values read, by name, in first-read order.
    pub boundary: Vec<String>,
}

impl<'m> Side<'m> {
    pub fn new(model: &'m Model) -> Option<Side<'m>> {
        let g = model.graph.as_ref()?;
        // A rewrite can leave a dead value behind under the name it gave a new one: names
        // resolve to values that are defined.
        let by_name = g
            .values()
            .filter(|(_, v)| !matches!(v.def(), ValueDef::Undefined | ValueDef::Captured))
            .map(|(id, v)| (v.name.as_str(), id))
            .collect();
        let len = g.nodes().map(|(id, _)| id.index() + 1).max().unwrap_or(0);
        let mut position = vec![usize::MAX; len];
        for (i, (id, _)) in g.nodes().enumerate() {
            position[id.index()] = i;
        }
        let len = g.values().map(|(id, _)| id.index() + 1).max().unwrap_or(0);
        let mut varying = vec![false; len];
        // From the fed inputs forward through every reader (subgraph reads included), in any
        // node order.
        let mut queue: Vec<ValueId> =
            g.inputs().iter().copied().filter(|&v| g.value(v).initializer.is_none()).collect();
        for &v in &queue {
            varying[v.index()] = true;
        }
        while let Some(v) = queue.pop() {
            for u in g.value(v).uses() {
                for &o in g.node(u.node).outputs().iter().flatten() {
                    if !varying[o.index()] {
                        varying[o.index()] = true;
                        queue.push(o);
                    }
                }
            }
        }
        Some(Side { model, g, by_name, position, varying })
    }

    /// Whether value `v` varies with the fed inputs.
    pub fn varying(&self, v: ValueId) -> bool {
        self.varying.get(v.index()).copied().unwrap_or(true)
    }

    pub fn find(&self, name: &str) -> Option<ValueId> {
        self.by_name.get(name).copied()
    }

    pub fn position(&self, node: NodeId) -> usize {
        self.position[node.index()]
    }

    /// The initializer (or input default) bound to `v`, if any.
    pub fn init(&self, v: ValueId) -> Option<&'m Initializer> {
        self.g.value(v).initializer.as_ref()
    }

    /// The tensor `v` always holds: its dense initializer, or the `value` of the `Constant`
    /// node making it (passes turn those into initializers; the value is the same).
    pub fn konst(&self, v: ValueId) -> Option<&'m Tensor> {
        let value = self.g.value(v);
        match &value.initializer {
            Some(Initializer::Dense(t)) => return Some(t),
            Some(Initializer::Sparse(_)) => return None,
            None => {}
        }
        let n = self.g.node(value.producer()?);
        if n.op_type != "Constant" || !n.canonical_domain().is_empty() || !n.inputs().is_empty() {
            return None;
        }
        match n.attributes.as_slice() {
            [a] if a.name == "value" && a.ref_attr_name.is_none() => match &a.value {
                AttrValue::Tensor(t) => Some(t),
                _ => None,
            },
            _ => None,
        }
    }

    /// The nodes computing `root` back to the values `read` classifies as boundary or constant.
    /// `Err` when the cone is not local (too large, or it reaches a value defined nowhere).
    pub fn cone(
        &self,
        root: ValueId,
        read: &dyn Fn(&Side, ValueId) -> Read,
    ) -> Result<Cone, String> {
        let mut seen_nodes = HashSet::new();
        let mut seen_values = HashSet::new();
        let mut boundary = Vec::new();
        let mut stack = vec![root];
        while let Some(v) = stack.pop() {
            if !seen_values.insert(v) {
                continue;
            }
            let kind = if v == root { Read::Inside } else { read(self, v) };
            match kind {
                Read::Boundary => {
                    boundary.push(self.g.value(v).name.clone());
                    continue;
                }
                Read::Const => continue,
                Read::Inside => {}
            }
            let value = self.g.value(v);
            let ValueDef::Node { node, .. } = value.def() else {
                if v == root && value.initializer.is_some() {
                    continue;
                }
                return Err(format!("value '{}' is read but not computed", value.name));
            };
            if !seen_nodes.insert(node) {
                continue;
            }
            if seen_nodes.len() > MAX_CONE_NODES {
                return Err(format!(
                    "value '{}' depends on more than {MAX_CONE_NODES} rewritten nodes",
                    self.g.value(root).name
                ));
            }
            let n = self.g.node(node);
            if n.has_subgraphs() {
                return Err(format!("node {} has subgraphs", n.label()));
            }
            stack.extend(n.inputs().iter().rev().flatten().copied());
        }
        let mut nodes: Vec<NodeId> = seen_nodes.into_iter().collect();
        nodes.sort_by_key(|&n| self.position(n));
        Ok(Cone { nodes, boundary })
    }

    /// Whether `from` is computed (within [`ANCESTRY_NODES`] nodes back) from a value named in
    /// `targets`.
    pub fn reaches(&self, from: &str, targets: &HashSet<&str>) -> bool {
        let Some(start) = self.find(from) else { return false };
        let mut stack = vec![start];
        let mut seen = HashSet::new();
        while let Some(v) = stack.pop() {
            let ValueDef::Node { node, .. } = self.g.value(v).def() else { continue };
            if !seen.insert(node) || seen.len() > ANCESTRY_NODES {
                continue;
            }
            for &u in self.g.node(node).inputs().iter().flatten() {
                if targets.contains(self.g.value(u).name.as_str()) {
                    return true;
                }
                stack.push(u);
            }
        }
        false
    }
}

/// Whether two tensors hold the same elements (whatever fields they are stored in). Values
/// loaded from one file share its memory, so equal slices are recognized without reading them.
pub(super) fn tensor_eq(x: &Tensor, y: &Tensor) -> bool {
    if x.dtype != y.dtype || x.dims != y.dims || x.segment.is_some() || y.segment.is_some() {
        return false;
    }
    if let (TensorData::Raw(p), TensorData::Raw(q)) = (&x.data, &y.data)
        && p.as_ptr() == q.as_ptr()
        && p.len() == q.len()
    {
        return true;
    }
    match (x.le_bytes(), y.le_bytes()) {
        (Ok(p), Ok(q)) => p == q,
        // Unreadable (external data not resolved): equal entries may name different files.
        _ => false,
    }
}

/// Whether two nodes compute the same function of their inputs: same operator, same
/// attributes, subgraphs equal node for node ([`graph_eq`]; a subgraph rewritten in any way,
/// even equivalently, makes the node differ).
pub(super) fn same_operator(a: &Node, b: &Node) -> bool {
    a.op_type == b.op_type
        && a.canonical_domain() == b.canonical_domain()
        && a.overload == b.overload
        && a.attributes.len() == b.attributes.len()
        && a.attributes.iter().zip(&b.attributes).all(|(x, y)| attr_eq(x, y))
}

/// Whether two subgraphs are the same, as written: inputs, outputs and initializers by name
/// (initializers by contents too), and the same nodes in the same order reading and writing
/// the same names. Names inside a subgraph are local to it, except those it reads from outer
/// scope, which the caller compares as the node's implicit inputs.
fn graph_eq(a: &Graph, b: &Graph) -> bool {
    let names = |g: &Graph, vs: &[ValueId]| -> Vec<String> {
        vs.iter().map(|&v| g.value(v).name.clone()).collect()
    };
    let slots = |g: &Graph, vs: &[Option<ValueId>]| -> Vec<Option<String>> {
        vs.iter().map(|v| v.map(|v| g.value(v).name.clone())).collect()
    };
    let inits = |x: ValueId, y: ValueId| {
        let (p, q) = (a.value(x), b.value(y));
        p.name == q.name
            && match (&p.initializer, &q.initializer) {
                (Some(Initializer::Dense(s)), Some(Initializer::Dense(t))) => tensor_eq(s, t),
                (s, t) => s == t,
            }
    };
    names(a, a.inputs()) == names(b, b.inputs())
        && names(a, a.outputs()) == names(b, b.outputs())
        && a.initializers().len() == b.initializers().len()
        && a.initializers().iter().zip(b.initializers()).all(|(&x, &y)| inits(x, y))
        && a.sparse_initializers().len() == b.sparse_initializers().len()
        && a.sparse_initializers().iter().zip(b.sparse_initializers()).all(|(&x, &y)| inits(x, y))
        && a.node_count() == b.node_count()
        && a.nodes().zip(b.nodes()).all(|((_, m), (_, n))| {
            same_operator(m, n)
                && slots(a, m.inputs()) == slots(b, n.inputs())
                && slots(a, m.outputs()) == slots(b, n.outputs())
        })
}

fn attr_eq(a: &Attribute, b: &Attribute) -> bool {
    use AttrValue as A;
    a.name == b.name
        && a.ref_attr_name == b.ref_attr_name
        && match (&a.value, &b.value) {
            (A::Empty, A::Empty) => true,
            (A::Float(x), A::Float(y)) => x.to_bits() == y.to_bits(),
            (A::Int(x), A::Int(y)) => x == y,
            (A::String(x), A::String(y)) => x == y,
            (A::Tensor(x), A::Tensor(y)) => x == y,
            (A::SparseTensor(x), A::SparseTensor(y)) => x == y,
            (A::Type(x), A::Type(y)) => x == y,
            (A::Floats(x), A::Floats(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits())
            }
            (A::Ints(x), A::Ints(y)) => x == y,
            (A::Strings(x), A::Strings(y)) => x == y,
            (A::Tensors(x), A::Tensors(y)) => x == y,
            (A::SparseTensors(x), A::SparseTensors(y)) => x == y,
            (A::Types(x), A::Types(y)) => x == y,
            (A::Graph(x), A::Graph(y)) => graph_eq(x, y),
            (A::Graphs(x), A::Graphs(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(p, q)| graph_eq(p, q))
            }
            _ => false,
        }
}

/// A short description of an attribute for a cone's kind: values in full, except tensors (as
/// constants are: type, shape class, contents when small) and graphs (which make a cone
/// non-local).
pub(super) fn attr_summary(a: &Attribute, out: &mut String) {
    use std::fmt::Write;
    let _ = write!(out, "{}", a.name);
    match &a.value {
        AttrValue::Tensor(t) => {
            out.push('=');
            super::plan::const_summary(t, true, out);
        }
        AttrValue::Tensors(ts) => {
            let _ = write!(out, "=T{}", ts.len());
        }
        AttrValue::Graph(_) | AttrValue::Graphs(_) => out.push_str("=G"),
        v => {
            let _ = write!(out, "={v:?}");
        }
    }
    out.push(';');
}
